/* SPDX-License-Identifier: MIT */
/* Starting target interpreters and running commands for the integration tests. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

extern char **environ;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

const char *test_source_path(const char *rel)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/%s", FTPROF_SOURCE_DIR, rel);
	return buf;
}

int test_target_start(struct test_target *t, const char *interp, const char *script, const char *const *env)
{
	int pipefd[2];
	t->pid = 0;
	t->out_fd = -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* a test that fails an assertion (or times out) ends without
		 * test_target_stop: the target goes with it rather than hold
		 * ctest's output pipe open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipefd[1], 1);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execl(interp, interp, script, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", interp, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	t->pid = pid;
	t->out_fd = pipefd[0];
	char buf[256];
	size_t used = 0;
	long deadline = now_ms() + 30000;
	while (now_ms() < deadline) {
		struct pollfd pfd = { t->out_fd, POLLIN, 0 };
		int r = poll(&pfd, 1, 100);
		if (r <= 0)
			continue;
		ssize_t n = read(t->out_fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		buf[used] = '\0';
		if (strncmp(buf, "ready", 5) == 0 && strchr(buf, '\n'))
			return 0;
		if (used == sizeof(buf) - 1)
			break;
	}
	fprintf(stderr, "target %s %s did not get ready (output: %.*s)\n", interp, script, (int)used, buf);
	test_target_stop(t);
	return -1;
}

/* Whether task tid of pid sits in futex() with no timeout (its fourth
 * argument, in /proc/PID/task/TID/syscall: "NR ARG1 ... ARG6 SP PC"); the
 * line read goes to line. */
static bool parked(pid_t pid, const char *tid, char *line, size_t len)
{
	char path[300];
	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
	FILE *f = fopen(path, "r");
	line[0] = '\0';
	if (!f)
		return false;
	if (!fgets(line, (int)len, f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	long nr;
	unsigned long long arg[4];
	return sscanf(line, "%ld %llx %llx %llx %llx", &nr, &arg[0], &arg[1], &arg[2], &arg[3]) == 5 &&
	       nr == SYS_futex && arg[3] == 0;
}

int test_target_wait_parked(const struct test_target *t, int others, int timeout_s)
{
	char report[4096] = "";
	long deadline = now_ms() + timeout_s * 1000L;
	do {
		char dir[64];
		snprintf(dir, sizeof(dir), "/proc/%d/task", (int)t->pid);
		DIR *d = opendir(dir);
		if (!d)
			break;
		bool main_parked = false;
		int unparked = 0;
		size_t used = 0;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char line[256];
			bool p = parked(t->pid, e->d_name, line, sizeof(line));
			if (atoi(e->d_name) == t->pid)
				main_parked = p;
			else
				unparked += !p;
			if (used < sizeof(report))
				used += (size_t)snprintf(report + used, sizeof(report) - used,
				                         "  task %s: %s\n", e->d_name, line);
		}
		closedir(d);
		if (main_parked && unparked <= others)
			return 0;
		usleep(10 * 1000);
	} while (now_ms() < deadline);
	fprintf(stderr, "target %d: threads not parked after %d s (system calls):\n%s", (int)t->pid,
	        timeout_s, report);
	return -1;
}

void test_target_stop(struct test_target *t)
{
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	if (t->out_fd >= 0) {
		close(t->out_fd);
		t->out_fd = -1;
	}
}

struct buf {
	char *p;
	size_t n, cap;
};

static int append(struct buf *b, int fd)
{
	if (b->cap - b->n < 65536) {
		size_t cap = b->cap * 2 + 65536;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	ssize_t n = read(fd, b->p + b->n, b->cap - b->n - 1);
	if (n > 0)
		b->n += (size_t)n;
	return (int)n;
}

int test_run(struct test_run *r, const char *const argv[], int timeout_s)
{
	int out[2], err[2];
	memset(r, 0, sizeof(*r));
	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	struct buf bo = { 0 }, be = { 0 };
	bool open_out = true, open_err = true;
	long deadline = now_ms() + timeout_s * 1000L;
	while ((open_out || open_err) && now_ms() < deadline) {
		struct pollfd pfd[2] = { { open_out ? out[0] : -1, POLLIN, 0 },
			                 { open_err ? err[0] : -1, POLLIN, 0 } };
		if (poll(pfd, 2, 100) <= 0)
			continue;
		if (pfd[0].revents && append(&bo, out[0]) <= 0)
			open_out = false;
		if (pfd[1].revents && append(&be, err[0]) <= 0)
			open_err = false;
	}
	if (open_out || open_err)
		kill(pid, SIGKILL);
	close(out[0]);
	close(err[0]);
	int status;
	waitpid(pid, &status, 0);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = bo.p ? bo.p : calloc(1, 1);
	r->err = be.p ? be.p : calloc(1, 1);
	if (bo.p)
		bo.p[bo.n] = '\0';
	if (be.p)
		be.p[be.n] = '\0';
	return 0;
}

int test_run_ftprof(struct test_run *r, const char *const args[])
{
	const char *argv[32] = { FTPROF_BINARY };
	size_t n = 1;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return test_run(r, argv, 120);
}

void test_run_free(struct test_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

pid_t test_spawn_ftprof(const char *const args[], const char *out_path)
{
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* as a target's */
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 2);
		dup2(fd, 1);
		const char *argv[32] = { FTPROF_BINARY };
		for (size_t i = 0; args[i] && i < 30; i++)
			argv[i + 1] = args[i];
		execv(FTPROF_BINARY, (char **)argv);
		_exit(127);
	}
	return pid;
}

bool test_count_before(const char *text, const char *phrase, unsigned long long *out)
{
	const char *p = strstr(text, phrase), *start;
	if (!p)
		return false;
	for (start = p; start > text && start[-1] >= '0' && start[-1] <= '9'; start--)
		;
	if (start == p)
		return false;
	*out = strtoull(start, NULL, 10);
	return true;
}
