/* SPDX-License-Identifier: MIT */
/* Finding the interpreter in a process: its ELF, _PyRuntime, version and layout. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe_int.h"

#define VALIDATE_ATTEMPTS 8
#define VALIDATE_PAUSE_NS 2000000L

/* "3.X" in a file name like libpython3.10.so.1.0 or python3.9: 0 if absent. */
static uint32_t version_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *p = strstr(base, "python3.");
	if (!p)
		return 0;
	p += strlen("python3.");
	if (!isdigit((unsigned char)*p))
		return 0;
	unsigned minor = (unsigned)strtoul(p, NULL, 10);
	return minor < 100 ? (3u << 24) | (minor << 16) | 0xf0 : 0;
}

/* The full version of 3.8-3.10 from the buffer Py_GetVersion() fills at
 * start-up ("3.9.18 (main, ...)"), a local symbol of .symtab. Returns version
 * with micro and level filled in, or 0 when it cannot be read. */
static uint32_t version_from_buffer(struct ftp_probe *p, uint32_t version)
{
	static const char *const names[] = { "version.0", "version", "Py_GetVersion.version" };
	uint64_t addr;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char buf[33] = { 0 };
		if (ftp_elf_symbol(p->elf, names[i], &addr, NULL) < 0 ||
		    probe_mem_read_direct(&p->mem, addr + p->bias, buf, sizeof(buf) - 1, NULL) < 0)
			continue;
		unsigned major, minor, micro;
		char level[3] = "";
		int n = sscanf(buf, "%u.%u.%u%2[abrc]", &major, &minor, &micro, level);
		if (n < 3 || major != 3 || minor != ((version >> 16) & 0xff) || micro > 255)
			continue;
		unsigned lvl = 0xf, serial = 0;
		if (n == 4) {
			lvl = level[0] == 'a' ? 0xa : level[0] == 'b' ? 0xb : 0xc;
			const char *q = buf + strcspn(buf, "abrc") + strlen(level);
			serial = (unsigned)strtoul(q, NULL, 10) & 0xf;
		}
		return (version & 0xffff0000u) | micro << 8 | lvl << 4 | serial;
	}
	return 0;
}

/* Opens path as the target sees it: through /proc/PID/root when the target
 * lives in another mount namespace or the file was replaced. */
static int open_elf(struct ftp_probe *p, const char *path, struct ftp_elf **out, struct ftp_error *err)
{
	char rooted[4200];
	snprintf(rooted, sizeof(rooted), "/proc/%d/root%s", (int)p->pid, path);
	if (ftp_elf_create(out, rooted, NULL) == 0)
		return 0;
	return ftp_elf_create(out, path, err);
}

static bool is_candidate(const char *path, const char *exe)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strcmp(path, exe) == 0 || strncmp(base, "libpython", 9) == 0;
}

/* Looks for _PyRuntime in the executable and any libpython mapped. */
static int locate(struct ftp_probe *p, struct probe_maps *maps, struct ftp_error *err)
{
	const char *exe = p->info.executable;
	/* A libpython first: when present, it holds the interpreter. */
	for (int want_lib = 1; want_lib >= 0; want_lib--) {
		for (size_t i = 0; i < maps->n; i++) {
			const struct probe_map *m = &maps->v[i];
			if (!m->path || m->offset != 0 || !is_candidate(m->path, exe))
				continue;
			bool lib = strcmp(m->path, exe) != 0;
			if (lib != (bool)want_lib)
				continue;
			bool seen = false;
			for (size_t j = 0; j < i; j++)
				if (maps->v[j].path && maps->v[j].offset == 0 &&
				    strcmp(maps->v[j].path, m->path) == 0)
					seen = true;
			if (seen)
				continue;
			struct ftp_elf *elf;
			if (open_elf(p, m->path, &elf, NULL) < 0)
				continue;
			uint64_t addr = 0;
			if (ftp_elf_symbol(elf, "_PyRuntime", &addr, NULL) < 0 &&
			    ftp_elf_section(elf, ".PyRuntime", &addr, NULL) < 0) {
				ftp_elf_destroy(elf);
				continue;
			}
			p->elf = elf;
			p->bias = ftp_elf_is_dyn(elf) ? m->start - ftp_elf_base_vaddr(elf) : 0;
			p->runtime = addr + p->bias;
			snprintf(p->info.library, sizeof(p->info.library), "%s", m->path);
			return 0;
		}
	}
	const char *base = strrchr(exe, '/');
	return ftp_error_set(err, FTP_E_NOTPYTHON, 0,
	                     "process %d (%s) is not a Python process: no _PyRuntime in its executable "
	                     "or a libpython",
	                     (int)p->pid, base ? base + 1 : exe);
}

static uint64_t type_addr(struct ftp_probe *p, const char *name)
{
	uint64_t addr;
	return ftp_elf_symbol(p->elf, name, &addr, NULL) == 0 ? addr + p->bias : 0;
}

static int find_layout(struct ftp_probe *p, struct ftp_error *err)
{
	unsigned char blob[FTP_DEBUG_OFFSETS_MAX];
	int ret = probe_mem_read_direct(&p->mem, p->runtime, blob, sizeof(blob), err);
	if (ret < 0)
		return ret;
	if (memcmp(blob, "xdebugpy", 8) == 0) {
		ret = ftp_layout_from_debug_offsets(&p->L, blob, sizeof(blob), err);
		if (ret < 0)
			return ftp_error_wrap(err, "%s", p->info.library);
		return 0;
	}
	/* 3.8-3.12: no debug offsets. 3.11+ export Py_Version. */
	uint32_t version = 0;
	uint64_t addr;
	if (ftp_elf_symbol(p->elf, "Py_Version", &addr, NULL) == 0) {
		uint64_t v = 0;
		if (probe_mem_read_direct(&p->mem, addr + p->bias, &v, sizeof(v), NULL) == 0 &&
		    (v >> 24) == 3)
			version = (uint32_t)v;
	}
	bool micro_known = version != 0;
	if (!version) {
		version = version_from_path(p->info.library);
		if (!version)
			version = version_from_path(p->info.executable);
		uint32_t full = version ? version_from_buffer(p, version) : 0;
		micro_known = full != 0;
		if (full)
			version = full;
	}
	if (!version)
		return ftp_error_set(
		        err, FTP_E_UNSUPPORTED, 0,
		        "%s: cannot tell the Python version (no _Py_DebugOffsets, no Py_Version, "
		        "no version in the file name)",
		        p->info.library);
	ret = ftp_layout_builtin(&p->L, version, false, err);
	if (ret == 0 && !micro_known) {
		ftp_version_str(version, p->info.version_str, sizeof(p->info.version_str));
		*strrchr(p->info.version_str, '.') = '\0'; /* "3.9": the micro is unknown */
	}
	return ret;
}

/* A layout is trusted only when the process agrees with it: the runtime's
 * first interpreter has a thread whose state points back at it. */
static int validate_once(struct ftp_probe *p, struct ftp_error *err)
{
	const struct ftp_layout *L = &p->L;
	uint64_t interp = 0, tstate = 0, back = 0;
	if (probe_mem_u64(&p->mem, p->runtime + L->runtime.interpreters_head, &interp) < 0 || !interp)
		return ftp_error_set(err, FTP_E_NOTPYTHON, 0,
		                     "process %d: the Python runtime is not initialised (no interpreter yet, "
		                     "or it is shutting down)",
		                     (int)p->pid);
	if (probe_mem_u64(&p->mem, interp + L->interp.threads_head, &tstate) < 0 || !tstate)
		return ftp_error_set(err, FTP_E_NOTPYTHON, 0, "process %d: the interpreter has no threads",
		                     (int)p->pid);
	if (probe_mem_u64(&p->mem, tstate + L->tstate.interp, &back) < 0 || back != interp)
		return ftp_error_set(err, FTP_E_LAYOUT, 0,
		                     "process %d: Python %s layout does not match the process (thread state "
		                     "0x%llx does not point back at interpreter 0x%llx)",
		                     (int)p->pid, p->info.version_str, (unsigned long long)tstate,
		                     (unsigned long long)interp);
	if (L->tstate.native_thread_id == FTP_OFF_NONE)
		return 0;
	/* 3.11+: some thread state of the list names a task of the process. */
	char path[64];
	for (unsigned n = 0; tstate && n < 1024; n++) {
		uint64_t tid = 0;
		if (probe_mem_u64(&p->mem, tstate + L->tstate.native_thread_id, &tid) < 0)
			break;
		snprintf(path, sizeof(path), "/proc/%d/task/%llu", (int)p->pid, (unsigned long long)tid);
		if (tid && tid < INT32_MAX && access(path, F_OK) == 0)
			return 0;
		if (probe_mem_u64(&p->mem, tstate + L->tstate.next, &tstate) < 0)
			break;
	}
	return ftp_error_set(err, FTP_E_LAYOUT, 0,
	                     "process %d: Python %s layout does not match the process (no thread state "
	                     "holds the id of one of its threads)",
	                     (int)p->pid, p->info.version_str);
}

/* Threads that start and end meanwhile can fail a look at a running target
 * (a freed thread state, one whose thread has not started yet): look again,
 * in fresh reads, before calling the layout wrong. */
static int validate(struct ftp_probe *p, struct ftp_error *err)
{
	int ret = validate_once(p, err);
	for (int attempt = 1; attempt < VALIDATE_ATTEMPTS && ret == -FTP_E_LAYOUT; attempt++) {
		struct timespec pause = { 0, VALIDATE_PAUSE_NS };
		nanosleep(&pause, NULL);
		probe_mem_new_round(&p->mem);
		ret = validate_once(p, err);
	}
	return ret;
}

/* Where the C library's sched_yield lies in the target: a free-threaded
 * lock waiter calls it as it spins (docs/states.md). Not found: left 0. */
static void find_yield(struct ftp_probe *p, const struct probe_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++) {
		const struct probe_map *m = &maps->v[i];
		const char *base = m->path ? strrchr(m->path, '/') : NULL;
		base = base ? base + 1 : m->path;
		if (!base || m->offset != 0 ||
		    (strncmp(base, "libc.so", 7) != 0 && strncmp(base, "libc-", 5) != 0 &&
		     strncmp(base, "libc.musl", 9) != 0 && strncmp(base, "ld-musl", 7) != 0 &&
		     strcmp(m->path, p->info.executable) != 0))
			continue;
		struct ftp_elf *elf;
		if (open_elf(p, m->path, &elf, NULL) < 0)
			continue;
		uint64_t addr = 0, size = 0;
		if (ftp_elf_symbol(elf, "sched_yield", &addr, &size) == 0 && addr && size) {
			uint64_t bias = ftp_elf_is_dyn(elf) ? m->start - ftp_elf_base_vaddr(elf) : 0;
			p->yield_start = addr + bias;
			p->yield_end = addr + bias + size;
		}
		ftp_elf_destroy(elf);
		if (p->yield_start)
			return;
	}
}

int probe_runtime_find(struct ftp_probe *p, struct ftp_error *err)
{
	struct probe_maps maps;
	int ret = probe_maps_read(&maps, p->pid, err);
	if (ret < 0)
		return ret;
	ret = locate(p, &maps, err);
	if (ret == 0 && (ret = find_layout(p, err)) == 0 && p->L.free_threaded)
		find_yield(p, &maps);
	probe_maps_release(&maps);
	if (ret < 0)
		return ret;
	p->info.version = p->L.version;
	p->info.free_threaded = p->L.free_threaded;
	p->info.debug_offsets = p->L.from_debug_offsets;
	p->info.runtime_addr = p->runtime;
	if (!p->info.version_str[0])
		ftp_version_str(p->L.version, p->info.version_str, sizeof(p->info.version_str));
	p->code_type = type_addr(p, "PyCode_Type");
	p->str_type = type_addr(p, "PyUnicode_Type");
	p->bytes_type = type_addr(p, "PyBytes_Type");
	p->dict_type = type_addr(p, "PyDict_Type");
	return validate(p, err);
}
