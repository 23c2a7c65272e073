/* SPDX-License-Identifier: MIT */
/* ftprof dump against live interpreters of every supported version. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = {
	{ "3.8" },  { "3.9" },   { "3.10" }, { "3.11" }, { "3.12" },
	{ "3.13" }, { "3.13t" }, { "3.14" }, { "3.15" },
};

ParameterizedTestParameters(dump, parked_threads)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

/* Asks the interpreter itself for its version and build. */
static void interp_facts(const char *interp, char *version, size_t len, int *free_threaded)
{
	struct test_run r;
	const char *argv[] = { interp, "-c",
		               "import sys, sysconfig; print('%d.%d.%d' % sys.version_info[:3], "
		               "1 if sysconfig.get_config_var('Py_GIL_DISABLED') else 0)",
		               NULL };
	cr_assert_eq(test_run(&r, argv, 60), 0);
	cr_assert_eq(r.status, 0, "%s -c failed: %s", interp, r.err);
	char v[32];
	cr_assert_eq(sscanf(r.out, "%31s %d", v, free_threaded), 2, "unexpected output %s", r.out);
	snprintf(version, len, "%s", v);
	test_run_free(&r);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(data, f);
	fclose(f);
}

/* No task of pid is left in a stopped or traced state. */
static void assert_not_stopped(pid_t pid)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "cat /proc/%d/task/*/stat | awk '{print $3}' | grep -c '[tT]'", (int)pid);
	FILE *f = popen(cmd, "r");
	int stopped = -1;
	cr_assert(f && fscanf(f, "%d", &stopped) == 1);
	pclose(f);
	cr_assert_eq(stopped, 0, "%d threads of %d left stopped", stopped, (int)pid);
}

/* Dumps the target, once, in text and JSON, and runs the checker. */
static void dump_and_check(const char *interp, struct test_target *t, const char *mode)
{
	char version[32], json_path[] = "/tmp/ftprof-dump-XXXXXX", text_path[] = "/tmp/ftprof-text-XXXXXX";
	int free_threaded;
	interp_facts(interp, version, sizeof(version), &free_threaded);
	close(mkstemp(json_path));
	close(mkstemp(text_path));
	char pid[16], ft[4];
	snprintf(pid, sizeof(pid), "%d", (int)t->pid);
	snprintf(ft, sizeof(ft), "%d", free_threaded);
	char source[4096];
	snprintf(source, sizeof(source), "%s", test_source_path("tests/targets/parked.py"));
	char checker[4096];
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_dump.py"));

	struct test_run r;
	const char *json_args[] = { "dump", "--json", mode, pid, NULL };
	const char *text_args[] = { "dump", mode, pid, NULL };
	if (!*mode) {
		json_args[2] = pid;
		json_args[3] = NULL;
		text_args[1] = pid;
		text_args[2] = NULL;
	}
	/* the last dump (the other mode's) may have woken the waiters too */
	cr_assert_eq(test_target_wait_parked(t, 1, 30), 0, "target did not park again before dump --json");
	cr_assert_eq(test_run_ftprof(&r, json_args), 0);
	cr_assert_eq(r.status, 0, "ftprof dump --json %s exited %d: %s", mode, r.status, r.err);
	write_file(json_path, r.out);
	test_run_free(&r);
	/* The dump just taken may have woken the waiters (see native_dump_and_check). */
	cr_assert_eq(test_target_wait_parked(t, 1, 30), 0, "target did not park again after dump --json");
	cr_assert_eq(test_run_ftprof(&r, text_args), 0);
	cr_assert_eq(r.status, 0, "ftprof dump %s exited %d: %s", mode, r.status, r.err);
	write_file(text_path, r.out);
	test_run_free(&r);
	assert_not_stopped(t->pid);

	const char *argv[] = { "/usr/bin/python3", checker,   "--source",     source, "--json",    json_path,
		               "--text",           text_path, "--pid",        pid,    "--version", version,
		               "--free-threaded",  ft,        "--executable", interp, NULL };
	struct test_run check;
	cr_assert_eq(test_run(&check, argv, 60), 0);
	cr_expect_eq(check.status, 0, "Python %s, dump %s: %s%s", version, mode, check.out, check.err);
	test_run_free(&check);
	unlink(json_path);
	unlink(text_path);
}

/* Runs ftprof with args and stores its standard output in path. */
static void run_to_file(const char *const args[], const char *path)
{
	struct test_run r;
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_assert_eq(r.status, 0, "ftprof %s %s %s exited %d: %s", args[0], args[1], args[2], r.status,
	             r.err);
	write_file(path, r.out);
	test_run_free(&r);
}

/* Dumps the target plainly and with --native (JSON and text), once each,
 * and has the checker compare them. */
static void native_dump_and_check(const char *interp, struct test_target *t)
{
	char version[32];
	int free_threaded;
	interp_facts(interp, version, sizeof(version), &free_threaded);
	char json_path[] = "/tmp/ftprof-dump-XXXXXX", text_path[] = "/tmp/ftprof-text-XXXXXX";
	char njson_path[] = "/tmp/ftprof-njson-XXXXXX", ntext_path[] = "/tmp/ftprof-ntext-XXXXXX";
	close(mkstemp(json_path));
	close(mkstemp(text_path));
	close(mkstemp(njson_path));
	close(mkstemp(ntext_path));
	char pid[16], ft[4];
	snprintf(pid, sizeof(pid), "%d", (int)t->pid);
	snprintf(ft, sizeof(ft), "%d", free_threaded);
	char source[4096], checker[4096];
	snprintf(source, sizeof(source), "%s", test_source_path("tests/targets/parked.py"));
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_dump.py"));

	const char *json_args[] = { "dump", "--json", pid, NULL };
	const char *text_args[] = { "dump", pid, NULL, NULL };
	const char *njson_args[] = { "dump", "--json", "--native", pid, NULL };
	const char *ntext_args[] = { "dump", "--native", pid, NULL };
	/* A blocking dump interrupts every futex wait; on 3.13t an interrupted
	 * PyMutex waiter spins (sched_yield) before it parks again, and today's
	 * states call that running. Each dump waits for the threads to park. */
	const char *const *runs[] = { json_args, text_args, njson_args, ntext_args };
	const char *paths[] = { json_path, text_path, njson_path, ntext_path };
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		cr_assert_eq(test_target_wait_parked(t, 1, 30), 0,
		             "target did not park again before dump %zu", i);
		run_to_file(runs[i], paths[i]);
		assert_not_stopped(t->pid);
	}

	const char *argv[] = { "/usr/bin/python3",
		               checker,
		               "--source",
		               source,
		               "--json",
		               json_path,
		               "--text",
		               text_path,
		               "--native-json",
		               njson_path,
		               "--native-text",
		               ntext_path,
		               "--via-c",
		               "1",
		               "--pid",
		               pid,
		               "--version",
		               version,
		               "--free-threaded",
		               ft,
		               "--executable",
		               interp,
		               NULL };
	struct test_run check;
	cr_assert_eq(test_run(&check, argv, 60), 0);
	cr_expect_eq(check.status, 0, "Python %s, dump --native: %s%s", version, check.out, check.err);
	test_run_free(&check);
	unlink(json_path);
	unlink(text_path);
	unlink(njson_path);
	unlink(ntext_path);
}

ParameterizedTestParameters(dump, native)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

/* Native frames on every version: pyenv's builds with full symbol tables,
 * 3.13t, and sid's stripped non-PIE 3.14/3.15 (only .dynsym). */
ParameterizedTest(struct version_param *v, dump, native, .timeout = 300)
{
	const char *interp = test_interp_use(v->name);
	struct test_target t;
	const char *env[] = { "FTPROF_WORKERS=3", "FTPROF_DEPTH=600", "FTPROF_VIA_C=1", NULL };
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/parked.py"), env), 0,
	             "Python %s target did not start", v->name);
	/* every thread parked but the spinner: the first dump must pass */
	cr_assert_eq(test_target_wait_parked(&t, 1, 30), 0, "Python %s target did not park", v->name);
	native_dump_and_check(interp, &t);
	test_target_stop(&t);
}

ParameterizedTest(struct version_param *v, dump, parked_threads, .timeout = 300)
{
	const char *interp = test_interp_use(v->name);
	struct test_target t;
	const char *env[] = { "FTPROF_WORKERS=3", "FTPROF_DEPTH=600", NULL };
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/parked.py"), env), 0,
	             "Python %s target did not start", v->name);
	cr_assert_eq(test_target_wait_parked(&t, 1, 30), 0, "Python %s target did not park", v->name);
	dump_and_check(interp, &t, "");
	dump_and_check(interp, &t, "--nonblocking");
	test_target_stop(&t);
}
