/* SPDX-License-Identifier: MIT */
/* The target's mapped modules: a Dwfl reported from its maps, whose CFI the
 * unwinders use, and for each module the ELF file that symbols/ symbolizes
 * its addresses with. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ftprof/util.h"
#include "native/native.h"
#include "process/process.h"

struct mod_entry {
	Dwfl_Module *mod;
	struct native_module pub;
};

struct native_modules {
	Dwfl *dwfl;
	pid_t pid;
	struct mod_entry *v;
	size_t n, cap;
	bool primed; /* every module's symbols and CFI are loaded */
};

static char *debuginfo_path; /* NULL: libdwfl's default search path */

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name);

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* The CRC-32 of a whole file, as .gnu_debuglink keeps it (zlib's); 0 when
 * it cannot be read. */
static GElf_Word file_crc32(int fd)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	return n < 0 ? 0 : (GElf_Word)crc;
}

/* The debug file a .gnu_debuglink names, where GDB and libdwfl look for it:
 * beside the file, in .debug/ beside it, and under /usr/lib/debug by the
 * file's directory; with the CRC the link gives, where it gives one. An open
 * descriptor with its path in *found, or -1. */
static int find_debuglink(const char *file_name, const char *link, GElf_Word crc, char **found)
{
	if (!file_name || !link || !*link || strchr(link, '/'))
		return -1;
	char dir[4096];
	const char *slash = strrchr(file_name, '/');
	size_t dlen = slash ? (size_t)(slash - file_name) : 0;
	if (!slash || dlen >= sizeof(dir))
		return -1;
	memcpy(dir, file_name, dlen);
	dir[dlen] = '\0';
	struct stat self;
	if (stat(file_name, &self) < 0)
		return -1;
	const char *const formats[] = { "%s/%s", "%s/.debug/%s", "/usr/lib/debug%s/%s" };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char path[8192];
		struct stat st;
		if (snprintf(path, sizeof(path), formats[i], dir, link) >= (int)sizeof(path))
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* not the file itself, and the file the link was made for */
		if (fstat(fd, &st) == 0 && (st.st_dev != self.st_dev || st.st_ino != self.st_ino) &&
		    (!crc || file_crc32(fd) == crc) && lseek(fd, 0, SEEK_SET) == 0 && (*found = strdup(path)))
			return fd;
		close(fd);
	}
	return -1;
}

/* Separate debug files are looked for only while the modules are primed,
 * with the target running. Later the unwinder still asks, at the outermost
 * frame of every thread where .eh_frame ends, but then the target is
 * stopped: a download must not keep it so. By build ID under
 * /usr/lib/debug, then by .gnu_debuglink; from a debuginfod server only
 * where DEBUGINFOD_URLS names one (libdwfl's standard search, which loads
 * the debuginfod client, with its HTTP and TLS libraries, even without). */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name)
{
	const struct native_modules *m = *userdata;
	if (!m || m->primed)
		return -1;
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (urls && *urls)
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
		                                    debuglink_crc, debuginfo_file_name);
	int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
	                                      debuglink_crc, debuginfo_file_name);
	if (fd >= 0)
		return fd;
	return find_debuglink(file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
}

int native_dwfl_fail(struct ftp_error *err, int r, const char *call, pid_t pid)
{
	if (r > 0) {
		int code = r == EPERM || r == EACCES   ? FTP_E_PERM
		           : r == ENOENT || r == ESRCH ? FTP_E_EXITED
		           : r == ENOMEM               ? FTP_E_NOMEM
		                                       : FTP_E_DWARF;
		return ftp_error_set(err, code, r, "%s(pid %d)", call, (int)pid);
	}
	int e = dwfl_errno();
	return ftp_error_set(err, FTP_E_DWARF, 0, "%s(pid %d): %s", call, (int)pid, dwfl_errmsg(e));
}

/* The ELF whose symbols name mod's functions: where libdwfl finds them, the
 * file's own .symtab, else its separate debug file's, else the file's
 * .dynsym. The vDSO has no file: its image, which libdwfl read from the
 * target. NULL when none opens. */
static struct ftp_elf *open_symbols(Dwfl_Module *mod, const char *name)
{
	const char *mainfile = NULL, *debugfile = NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
	struct ftp_elf *elf = NULL;
	if (mainfile) {
		if (ftp_elf_create(&elf, mainfile, NULL) < 0)
			return NULL;
	} else {
		GElf_Addr bias;
		Elf *image = dwfl_module_getelf(mod, &bias);
		size_t len = 0;
		const char *raw = image ? elf_rawfile(image, &len) : NULL;
		if (!raw || ftp_elf_create_image(&elf, name, raw, len, NULL) < 0)
			return NULL;
	}
	if (ftp_elf_section(elf, ".symtab", NULL, NULL) == 0)
		return elf;
	/* libdwfl looks for the separate debug file when it loads the symbols
	 * of a file without .symtab. */
	dwfl_module_getsymtab(mod);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &debugfile);
	struct ftp_elf *debug = NULL;
	if (debugfile && ftp_elf_create(&debug, debugfile, NULL) == 0 &&
	    ftp_elf_section(debug, ".symtab", NULL, NULL) == 0) {
		ftp_elf_destroy(elf);
		return debug;
	}
	ftp_elf_destroy(debug);
	return elf;
}

/* Whether elf's dynamic symbols (defined or imported) name any of Python's
 * C API; true when it has none to tell by. */
static bool links_python(Elf *elf)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = data ? data->d_size / sh.sh_entsize : 0;
		for (size_t i = 1; i < n; i++) {
			GElf_Sym sym;
			const char *name = gelf_getsym(data, (int)i, &sym)
			                           ? elf_strptr(elf, sh.sh_link, sym.st_name)
			                           : NULL;
			if (name && (strncmp(name, "Py", 2) == 0 || strncmp(name, "_Py", 3) == 0))
				return true;
		}
		return false;
	}
	return true;
}

/* Loads a module's ELF, CFI and functions now, while the target runs, rather
 * than at its first frame, while the target is stopped. A module whose
 * symbols cannot be had has no ELF: its frames are addresses. */
static int prime_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)start;
	struct native_modules *m = arg;
	*userdata = m;
	Dwarf_Addr bias = 0;
	dwfl_module_eh_cfi(mod, &bias);
	if (ftp_grow((void **)&m->v, &m->cap, m->n + 1, sizeof(*m->v), 64) < 0)
		return DWARF_CB_ABORT;
	struct mod_entry *e = &m->v[m->n++];
	memset(e, 0, sizeof(*e));
	e->mod = mod;
	e->pub.name = name;
	e->pub.python = true;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	if (!elf)
		return DWARF_CB_OK;
	e->pub.python = links_python(elf);
	e->pub.bias = bias;
	e->pub.elf = open_symbols(mod, name);
	if (e->pub.elf && ftp_elf_index_functions(e->pub.elf) < 0)
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

void native_modules_drop_pages(struct native_modules *m)
{
	if (!m || !m->n)
		return;
	const char **paths = calloc(2 * m->n, sizeof(*paths));
	if (!paths)
		return;
	for (size_t i = 0; i < m->n; i++)
		dwfl_module_info(m->v[i].mod, NULL, NULL, NULL, NULL, NULL, &paths[2 * i], &paths[2 * i + 1]);
	probe_file_pages_drop(paths, 2 * m->n);
	free(paths);
}

int native_modules_create(struct native_modules **out, pid_t pid, struct ftp_error *err)
{
	struct native_modules *m = calloc(1, sizeof(*m));
	if (!m)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "modules of pid %d", (int)pid);
	m->pid = pid;
	int ret;
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl) {
		ret = native_dwfl_fail(err, -1, "dwfl_begin", pid);
		goto fail;
	}
	dwfl_report_begin(m->dwfl);
	int r = dwfl_linux_proc_report(m->dwfl, pid);
	if (r != 0) {
		ret = native_dwfl_fail(err, r, "dwfl_linux_proc_report", pid);
		goto fail;
	}
	if (dwfl_report_end(m->dwfl, NULL, NULL) != 0) {
		ret = native_dwfl_fail(err, -1, "dwfl_report_end", pid);
		goto fail;
	}
	*out = m;
	return 0;
fail:
	native_modules_destroy(m);
	return ret;
}

int native_modules_prime(struct native_modules *m, struct ftp_error *err)
{
	if (dwfl_getmodules(m->dwfl, prime_module, m, 0) != 0)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "symbols of pid %d", (int)m->pid);
	m->primed = true;
	return 0;
}

void native_modules_destroy(struct native_modules *m)
{
	if (!m)
		return;
	if (m->dwfl)
		dwfl_end(m->dwfl);
	for (size_t i = 0; i < m->n; i++)
		ftp_elf_destroy(m->v[i].pub.elf);
	free(m->v);
	free(m);
}

const struct native_module *native_modules_find(struct native_modules *m, uint64_t addr)
{
	Dwfl_Module *mod = dwfl_addrmodule(m->dwfl, addr);
	if (!mod)
		return NULL;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].mod == mod)
			return &m->v[i].pub;
	return NULL;
}

Dwfl *native_modules_dwfl(struct native_modules *m)
{
	return m->dwfl;
}
