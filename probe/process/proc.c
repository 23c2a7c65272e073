/* SPDX-License-Identifier: MIT */
/* What /proc tells about a process: existence, executable, maps, tasks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process/process.h"

int probe_proc_check(pid_t pid, struct ftp_error *err)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (pid <= 0 || stat(path, &st) < 0)
		return ftp_error_set(err, FTP_E_NOPROC, 0, "no process with pid %d", (int)pid);
	return 0;
}

int probe_perm_error(pid_t pid, struct ftp_error *err)
{
	return ftp_error_set(err, FTP_E_PERM, 0,
	                     "no permission to read process %d (another user's, or ptrace is restricted): "
	                     "run ftprof as root or as the process's user, or grant it CAP_SYS_PTRACE "
	                     "(see kernel.yama.ptrace_scope)",
	                     (int)pid);
}

int probe_proc_exe(pid_t pid, char *buf, size_t len, struct ftp_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, len - 1);
	if (n < 0) {
		int e = errno;
		if (e == ENOENT)
			return probe_proc_check(pid, err) < 0
			               ? -FTP_E_NOPROC
			               : ftp_error_set(
			                         err, FTP_E_NOTPYTHON, 0,
			                         "process %d has no executable (a kernel thread or a zombie)",
			                         (int)pid);
		if (e == EACCES || e == EPERM)
			return probe_perm_error(pid, err);
		return ftp_error_set(err, FTP_E_IO, e, "readlink(%s)", path);
	}
	buf[n] = '\0';
	return 0;
}

void probe_maps_release(struct probe_maps *maps)
{
	for (size_t i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	maps->v = NULL;
	maps->n = 0;
}

int probe_maps_read(struct probe_maps *maps, pid_t pid, struct ftp_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps->v = NULL;
	maps->n = 0;
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		if (e == ENOENT)
			return ftp_error_set(err, FTP_E_NOPROC, 0, "no process with pid %d", (int)pid);
		return ftp_error_set(err, e == EACCES || e == EPERM ? FTP_E_PERM : FTP_E_IO, e, "open(%s)",
		                     path);
	}
	size_t cap = 0;
	char *line = NULL;
	size_t line_cap = 0;
	int ret = 0;
	while (getline(&line, &line_cap, f) > 0) {
		unsigned long long start, end, off;
		char perms[5];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &start, &end, perms, &off, &name_at) < 4)
			continue;
		if (maps->n == cap) {
			cap = cap ? cap * 2 : 256;
			struct probe_map *v = realloc(maps->v, cap * sizeof(*v));
			if (!v) {
				ret = ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "reading %s", path);
				break;
			}
			maps->v = v;
		}
		struct probe_map *m = &maps->v[maps->n];
		m->start = start;
		m->end = end;
		m->offset = off;
		memcpy(m->perms, perms, sizeof(perms));
		m->path = NULL;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (name_at && name[0] == '/') {
			m->path = strdup(name);
			if (!m->path) {
				ret = ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "reading %s", path);
				break;
			}
		}
		maps->n++;
	}
	free(line);
	fclose(f);
	if (ret == 0 && maps->n == 0)
		ret = ftp_error_set(err, FTP_E_NOPROC, 0, "process %d has no memory mappings (it has exited)",
		                    (int)pid);
	if (ret < 0)
		probe_maps_release(maps);
	return ret;
}

long probe_tasks(pid_t pid, pid_t **tids, struct ftp_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d) {
		int e = errno;
		return ftp_error_set(err, e == ENOENT ? FTP_E_EXITED : FTP_E_IO, e, "opendir(%s)", path);
	}
	size_t n = 0, cap = 64;
	pid_t *v = malloc(cap * sizeof(*v));
	if (!v) {
		closedir(d);
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "listing %s", path);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long t = strtol(de->d_name, &end, 10);
		if (*end || t <= 0)
			continue;
		if (n == cap) {
			pid_t *nv = realloc(v, 2 * cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "listing %s", path);
			}
			v = nv;
			cap *= 2;
		}
		v[n++] = (pid_t)t;
	}
	closedir(d);
	*tids = v;
	return (long)n;
}

char probe_task_state(pid_t pid, pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may contain ')' : the state follows the last one. */
	char *paren = strrchr(buf, ')');
	if (!paren || paren[1] != ' ' || !paren[2])
		return 0;
	return paren[2];
}

/* A call interrupted by a signal or a ptrace stop (SIGSTOP, ftprof's own
 * --blocking stops) goes on as restart_syscall, whose arguments say nothing:
 * the kernel function it waits in does. Returns the system call it stands
 * for, or -1 (its first argument is unknown). */
static long restarted_as(pid_t pid, pid_t tid)
{
	char path[64], fn[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, fn, sizeof(fn) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	fn[n] = '\0';
	if (strstr(fn, "nanosleep") || strstr(fn, "nsleep"))
		return SYS_clock_nanosleep;
	if (strstr(fn, "futex"))
		return SYS_futex;
	if (strstr(fn, "poll") || strstr(fn, "select"))
		return SYS_poll;
	return -1;
}

int probe_task_syscall_open(pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

bool probe_task_syscall_read(int fd, pid_t pid, pid_t tid, struct task_syscall *out)
{
	char buf[256];
	memset(out, 0, sizeof(*out));
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0); /* each read at 0 is the state now */
	if (n <= 0)
		return false;
	buf[n] = '\0';
	out->running = strncmp(buf, "running", 7) == 0;
	/* "NR ARG0 ... ARG5 SP PC", the arguments and addresses in hex */
	char *end;
	long v = strtol(buf, &end, 10);
	if (end == buf || v < 0) /* "running" or -1 (not in a system call) */
		return false;
	out->nr = v;
	uint64_t word[8] = { 0 };
	for (int i = 0; i < 8; i++) {
		char *next;
		word[i] = strtoull(end, &next, 16);
		if (next == end)
			break;
		end = next;
	}
	out->arg0 = word[0];
	out->arg1 = word[1];
	out->sp = word[6];
	out->pc = word[7];
	if (v == SYS_restart_syscall) {
		long was = restarted_as(pid, tid);
		if (was < 0)
			return false;
		out->nr = was;
		out->arg0 = out->arg1 = 0;
		out->restarted = true;
	}
	return true;
}

bool probe_task_syscall(pid_t pid, pid_t tid, struct task_syscall *out)
{
	memset(out, 0, sizeof(*out));
	int fd = probe_task_syscall_open(pid, tid);
	if (fd < 0)
		return false;
	bool ok = probe_task_syscall_read(fd, pid, tid, out);
	close(fd);
	return ok;
}

bool probe_task_read(pid_t pid, struct task_info *t)
{
	t->state = probe_task_state(pid, t->tid);
	t->in_syscall = false;
	t->block_arg0 = t->in_ns = t->out_ns = t->on_cpu_for_ns = 0;
	t->yielded = false;
	t->ran_since_block_ns = UINT64_MAX; /* the context switches' to tell */
	struct task_syscall sc = { 0 };
	if ((t->state == 'S' || t->state == 'D') && probe_task_syscall(pid, t->tid, &sc)) {
		t->in_syscall = true;
		t->sys_nr = sc.nr;
		t->sys_arg0 = sc.arg0;
		t->sys_sp = sc.sp;
	}
	return sc.running;
}

static bool task_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct probe_task_list *l = ctx;
	return l->v[idx].tid == *(const pid_t *)key;
}

static uint64_t tid_hash(pid_t tid)
{
	return ftp_hash_mix(0, (uint64_t)(uint32_t)tid);
}

static uint64_t task_hash(const void *ctx, size_t idx)
{
	const struct probe_task_list *l = ctx;
	return tid_hash(l->v[idx].tid);
}

/* Indexes l->v[0..n-1] anew; the first of two tasks with one tid wins. */
static int task_list_index(struct probe_task_list *l, size_t n)
{
	ftp_hindex_clear(&l->index);
	l->n = 0;
	for (size_t i = 0; i < n; i++) {
		if (ftp_hindex_reserve(&l->index, i, 64, task_hash, l) < 0)
			return -FTP_E_NOMEM;
		uint32_t *slot =
		        ftp_hindex_find(&l->index, tid_hash(l->v[i].tid), task_same, l, &l->v[i].tid);
		if (!*slot)
			*slot = (uint32_t)i + 1;
	}
	l->n = n;
	return 0;
}

int probe_task_list_read(struct probe_task_list *l, pid_t pid, bool states, struct ftp_error *err)
{
	pid_t *tids = NULL;
	long n = probe_tasks(pid, &tids, err);
	if (n < 0)
		return (int)n;
	if (ftp_grow((void **)&l->v, &l->cap, (size_t)n, sizeof(*l->v), (size_t)n) < 0) {
		free(tids);
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "listing threads of pid %d", (int)pid);
	}
	for (long i = 0; i < n; i++) {
		struct task_info *t = &l->v[i];
		memset(t, 0, sizeof(*t));
		t->tid = tids[i];
		t->ran_since_block_ns = UINT64_MAX;
		if (states && probe_task_read(pid, t))
			t->state = 'R'; /* woken between the two reads */
	}
	free(tids);
	if (task_list_index(l, (size_t)n) < 0)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "listing threads of pid %d", (int)pid);
	return 0;
}

int probe_task_list_set(struct probe_task_list *l, const struct task_info *tasks, size_t n)
{
	if (ftp_grow((void **)&l->v, &l->cap, n, sizeof(*l->v), n) < 0)
		return -FTP_E_NOMEM;
	if (n)
		memcpy(l->v, tasks, n * sizeof(*tasks));
	return task_list_index(l, n);
}

const struct task_info *probe_task_list_find(const struct probe_task_list *l, pid_t tid)
{
	long i = ftp_hindex_get(&l->index, tid_hash(tid), task_same, l, &tid);
	return i < 0 || (size_t)i >= l->n ? NULL : &l->v[i];
}

void probe_task_list_release(struct probe_task_list *l)
{
	free(l->v);
	ftp_hindex_release(&l->index);
	memset(l, 0, sizeof(*l));
}

uint64_t probe_proc_exec_id(pid_t pid)
{
	char path[64];
	unsigned char buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return 0;                   /* a zombie has no auxiliary vector left */
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (ssize_t i = 0; i < n; i++)
		h = (h ^ buf[i]) * 0x100000001b3ull;
	return h ? h : 1;
}

void probe_proc_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return;
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
}
