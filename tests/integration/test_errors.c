/* SPDX-License-Identifier: MIT */
/* Bad input to ftprof: each gets a clear one-line message and a documented exit code. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftprof/probe.h"
#include "interp.h"
#include "target.h"

enum { EXIT_FATAL = 2, EXIT_USAGE = 64 };

static void expect_run(const char *const args[], int status, const char *needle)
{
	struct test_run r;
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, status, "ftprof %s %s: exit %d, expected %d (stderr: %s)", args[0],
	             args[1] ? args[1] : "", r.status, status, r.err);
	const char *where = status == 0 ? r.out : r.err;
	cr_expect(strstr(where, needle), "ftprof %s: expected '%s' in: %s", args[0], needle, where);
	if (status != 0) {
		/* one line, prefixed with the command */
		cr_expect(strncmp(r.err, "ftprof", 6) == 0, "message not prefixed: %s", r.err);
		cr_expect(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
	}
	test_run_free(&r);
}

/* A pid that existed a moment ago and now does not. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

Test(errors, no_such_pid)
{
	test_interp_none();
	char pid[16], msg[64];
	snprintf(pid, sizeof(pid), "%d", (int)dead_pid());
	snprintf(msg, sizeof(msg), "no process with pid %s", pid);
	const char *args[] = { "dump", pid, NULL };
	expect_run(args, EXIT_FATAL, msg);
}

Test(errors, pid_not_a_number)
{
	test_interp_none();
	const char *args[] = { "dump", "12abc", NULL };
	expect_run(args, EXIT_USAGE, "'12abc' is not a process id");
	const char *args2[] = { "dump", "-p", "-5", NULL };
	expect_run(args2, EXIT_USAGE, "'-5' is not a process id");
}

Test(errors, not_python)
{
	test_interp_none();
	struct test_target t = { 0 };
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	t.pid = pid;
	t.out_fd = -1;
	usleep(100 * 1000);
	char p[16];
	snprintf(p, sizeof(p), "%d", (int)pid);
	const char *args[] = { "dump", p, NULL };
	expect_run(args, EXIT_FATAL, "is not a Python process");
	test_target_stop(&t);
}

Test(errors, no_permission)
{
	const char *interp = test_interp_use("3.13");
	if (geteuid() != 0)
		cr_skip_test("needs root to run ftprof as another user");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs setpriv (util-linux) to drop privileges");
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/parked.py"), NULL), 0);
	char p[16];
	snprintf(p, sizeof(p), "%d", (int)t.pid);
	const char *argv[] = { "/usr/bin/setpriv",
		               "--reuid=65534",
		               "--regid=65534",
		               "--clear-groups",
		               FTPROF_BINARY,
		               "dump",
		               p,
		               NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 60), 0);
	cr_expect_eq(r.status, EXIT_FATAL, "exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "permission"), "no word of permission in: %s", r.err);
	cr_expect(strstr(r.err, "CAP_SYS_PTRACE") || strstr(r.err, "as root"),
	          "no advice on what to do in: %s", r.err);
	test_run_free(&r);
	test_target_stop(&t);
}

Test(errors, target_exits_during_dump, .timeout = 300)
{
	const char *interp = test_interp_use("3.13");
	/* A target that starts threads and exits at once, dumped while it goes:
	 * every run ends with a result or a clear error, never a crash. */
	for (int i = 0; i < 30; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl(interp, interp, "-c",
			      "import threading, time\n"
			      "ts = [threading.Thread(target=time.sleep, args=(0.002 * i,)) for i in "
			      "range(8)]\n"
			      "[t.start() for t in ts]\n",
			      (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)(i * 1500));
		char p[16];
		snprintf(p, sizeof(p), "%d", (int)pid);
		/* every other run unwinds native stacks too */
		const char *plain[] = { "dump", "--json", p, NULL };
		const char *native[] = { "dump", "--json", "--native", p, NULL };
		const char *const *args = i % 2 ? native : plain;
		struct test_run r;
		cr_assert_eq(test_run_ftprof(&r, args), 0);
		cr_expect(r.status == 0 || r.status == 1 || r.status == EXIT_FATAL, "run %d: exit %d: %s", i,
		          r.status, r.err);
		if (r.status != 0)
			cr_expect(strncmp(r.err, "ftprof dump: ", 13) == 0 && strlen(r.err) > 14,
			          "run %d: unclear error: %s", i, r.err);
		test_run_free(&r);
		waitpid(pid, NULL, 0);
	}
}

Test(errors, usage)
{
	test_interp_none();
	const char *a1[] = { "frobnicate", NULL };
	expect_run(a1, EXIT_USAGE, "unknown command 'frobnicate'");
	const char *a2[] = { "dump", "--bogus", "1", NULL };
	expect_run(a2, EXIT_USAGE, "unknown option '--bogus'");
	const char *a3[] = { "dump", NULL };
	expect_run(a3, EXIT_USAGE, "no process given");
	const char *a4[] = { "--frobnicate", NULL };
	expect_run(a4, EXIT_USAGE, "unknown option '--frobnicate'");
	const char *a5[] = { "dump", "1", "2", NULL };
	expect_run(a5, EXIT_USAGE, "unexpected argument '2'");
}

Test(errors, native_needs_blocking)
{
	test_interp_none();
	const char *a1[] = { "dump", "--native", "--nonblocking", "1", NULL };
	expect_run(a1, EXIT_USAGE, "--native cannot be combined with --nonblocking");
	const char *a2[] = { "dump", "-n", "--json", "--native", "1", NULL };
	expect_run(a2, EXIT_USAGE, "--native cannot be combined with --nonblocking");

	/* The probe refuses it too, before looking at the process. */
	struct ftp_probe *probe = NULL;
	struct ftp_error err = { 0 };
	struct ftp_probe_opts opts = { .native = true, .blocking = false };
	cr_expect_eq(ftp_probe_create(&probe, getpid(), &opts, &err), -FTP_E_INVAL);
	cr_expect_null(probe);
	cr_expect(strstr(err.msg, "blocking"), "unclear message: %s", err.msg);
}

Test(errors, help_and_version)
{
	test_interp_none();
	const char *a1[] = { "--help", NULL };
	expect_run(a1, 0, "dump");
	const char *a2[] = { "dump", "--help", NULL };
	expect_run(a2, 0, "usage: ftprof dump");
	const char *a3[] = { "--version", NULL };
	expect_run(a3, 0, "ftprof " FTPROF_VERSION);
}
