/* SPDX-License-Identifier: MIT */
/* ftprof's thread states against ground truth (issue 12's "Done when"): each
 * workload of tests/targets/ writes what its threads are doing (truthlib.py),
 * ftprof records it for a short while (raw format 3) or dumps it (dump --json
 * 2 and text, for the deadlocks), and check_states.py asserts that at least
 * 95% of each thread's samples have the right state, wait and holder. A
 * workload that does not apply to a build (the GIL workload on 3.13t) is
 * skipped with the reason. scripts/accuracy prints the same measures as a
 * table. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

/* 2.5 s at 200 Hz: 500 samples a thread, so that one wrong sample in twenty
 * is well measured, and every workload on four builds in a few minutes. */
#define RATE "200"
#define SECONDS "2.5"

struct version_param {
	char name[8];
};

/* A free-threaded build, a pyenv GIL build with DWARF, and Debian's stripped
 * GIL builds. */
static struct version_param versions[] = { { "3.13t" }, { "3.12" }, { "3.14" }, { "3.15" } };

static void temp_path(char *buf, size_t len, const char *ext)
{
	char tmpl[] = "/tmp/ftprof-states-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert(fd >= 0);
	close(fd);
	unlink(tmpl);
	snprintf(buf, len, "%s%s", tmpl, ext);
}

/* Runs check_states.py TRUTH with args; returns its exit status, its output
 * in *out (the caller frees it). Its table goes to stderr for the log. */
static int check_states(const char *truth, const char *const args[], char **out)
{
	char checker[4096];
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_states.py"));
	const char *argv[16] = { "/usr/bin/python3", checker, truth };
	size_t n = 3;
	for (size_t i = 0; args && args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 120), 0, "cannot run %s", checker);
	fprintf(stderr, "%s%s", r.out, r.err);
	int status = r.status;
	size_t len = strlen(r.out) + strlen(r.err) + 1;
	*out = malloc(len);
	cr_assert(*out);
	snprintf(*out, len, "%s%s", r.out, r.err);
	test_run_free(&r);
	return status;
}

struct run {
	struct test_target target;
	char truth[64];
	char pid[16];
	const char *interp;
};

/* Starts tests/targets/SCRIPT under interpreter NAME with env (K=V, at most
 * 6) and FTPROF_TRUTH set; skips the test, with the reason, when the
 * workload does not apply to that build. */
static void start(struct run *run, const char *name, const char *script, const char *const *env)
{
	run->interp = test_interp_use(name);
	temp_path(run->truth, sizeof(run->truth), ".truth.json");
	static char truth_env[128];
	snprintf(truth_env, sizeof(truth_env), "FTPROF_TRUTH=%s", run->truth);
	const char *envp[8] = { truth_env };
	for (size_t i = 0; env && env[i] && i < 6; i++)
		envp[i + 1] = env[i];
	char source[4096], rel[256];
	snprintf(rel, sizeof(rel), "tests/targets/%s", script);
	snprintf(source, sizeof(source), "%s", test_source_path(rel));
	cr_assert_eq(test_target_start(&run->target, run->interp, source, envp), 0,
	             "%s under Python %s did not start", script, name);
	snprintf(run->pid, sizeof(run->pid), "%d", (int)run->target.pid);
	const char *applies[] = { "--applies", NULL };
	char *out;
	int status = check_states(run->truth, applies, &out);
	if (status == 77) {
		test_target_stop(&run->target);
		unlink(run->truth);
		cr_skip_test("%s", out);
	}
	cr_assert_eq(status, 0, "%s: no truth from the target: %s", script, out);
	free(out);
}

/* Stops the target; the truth file stays for the checker. */
static void finish(struct run *run)
{
	test_target_stop(&run->target);
}

/* Records the target (raw, RATE, SECONDS) and checks the recording, and
 * `report --json` of it: the truth's locks waited on and held where the
 * target says. */
static void record_and_check(struct run *run, const char *what)
{
	char raw[64], report[64];
	temp_path(raw, sizeof(raw), ".raw");
	temp_path(report, sizeof(report), ".report.json");
	struct test_run r;
	const char *args[] = { "record", "-f", "raw", "-r", RATE, "-d", SECONDS, "-o", raw, run->pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "%s: record exited %d: %s", what, r.status, r.err);
	test_run_free(&r);
	finish(run);
	const char *args_report[] = { "report", "--json", "-o", report, raw, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_report), 0);
	cr_expect_eq(r.status, 0, "%s: report exited %d: %s", what, r.status, r.err);
	test_run_free(&r);
	const char *check[] = { raw, "--report-json", report, NULL };
	char *out;
	int status = check_states(run->truth, check, &out);
	cr_expect_eq(status, 0, "%s: check_states.py exited %d:\n%s", what, status, out);
	free(out);
	unlink(raw);
	unlink(report);
	unlink(run->truth);
}

#define WORKLOAD_PARAMS(workload)                                                \
	ParameterizedTestParameters(states, workload)                            \
	{                                                                        \
		return TEST_INTERP_PARAMS(struct version_param, versions, name); \
	}

/* 1. One thread in each of time.sleep, a pipe read, a Python loop, hashlib,
 * a held Lock (its address and holder), queue.get, Event.wait, and the main
 * thread in Thread.join. */
WORKLOAD_PARAMS(one_of_each)
ParameterizedTest(struct version_param *v, states, one_of_each, .timeout = 120)
{
	struct run run;
	start(&run, v->name, "states.py", NULL);
	record_and_check(&run, "states.py");
}

/* 2. Four threads fighting over one Lock held 20 ms at a known line: the
 * waiters `lock` on it, held by the thread in the critical section. */
WORKLOAD_PARAMS(fighters)
ParameterizedTest(struct version_param *v, states, fighters, .timeout = 120)
{
	struct run run;
	const char *env[] = { "FTPROF_FIGHTERS=4", NULL };
	start(&run, v->name, "fighters.py", env);
	record_and_check(&run, "fighters.py 4");
}

/* 2b. The same fight with two processes spinning beside it: waiters are
 * preempted while they spin and releasers in the __exit__ that wakes the
 * next holder (which must not be taken for a second holder). */
WORKLOAD_PARAMS(fighters_loaded)
ParameterizedTest(struct version_param *v, states, fighters_loaded, .timeout = 120)
{
	struct run run;
	const char *env[] = { "FTPROF_FIGHTERS=4", "FTPROF_FIGHTERS_LOAD=2", NULL };
	start(&run, v->name, "fighters.py", env);
	record_and_check(&run, "fighters.py 4 loaded");
}

/* 3. Four threads appending to one list: on 3.13t they wait on its critical
 * section (type list, its address, the append line); else running or gil. */
WORKLOAD_PARAMS(shared_list)
ParameterizedTest(struct version_param *v, states, shared_list, .timeout = 120)
{
	struct run run;
	start(&run, v->name, "shared_list.py", NULL);
	record_and_check(&run, "shared_list.py");
}

/* 4. GIL builds, four CPU-bound threads: one running, three gil. */
WORKLOAD_PARAMS(gil_cpu)
ParameterizedTest(struct version_param *v, states, gil_cpu, .timeout = 120)
{
	struct run run;
	start(&run, v->name, "gil_cpu.py", NULL);
	record_and_check(&run, "gil_cpu.py");
}

/* 6. A thread collecting a big heap: it is gc; the others stw (3.13t) or
 * gil (GIL builds) while it collects. */
WORKLOAD_PARAMS(gc_stw)
ParameterizedTest(struct version_param *v, states, gc_stw, .timeout = 120)
{
	struct run run;
	start(&run, v->name, "gc_stw.py", NULL);
	record_and_check(&run, "gc_stw.py");
}

/* 7. cores + 3 CPU-bound threads: at most `cores` on a CPU in a round, the
 * rest runnable. */
WORKLOAD_PARAMS(oversub)
ParameterizedTest(struct version_param *v, states, oversub, .timeout = 120)
{
	struct run run;
	start(&run, v->name, "oversub.py", NULL);
	record_and_check(&run, "oversub.py");
}

/* 5. Two threads deadlocked on two locks (MODE with or acquire): dump --json
 * lists the cycle with both threads and both locks, each thread waits on the
 * other's lock held by the other, and the text dump says so first. */
static void deadlock(const char *name, const char *mode)
{
	struct run run;
	char env_mode[64];
	snprintf(env_mode, sizeof(env_mode), "FTPROF_DEADLOCK=%s", mode);
	const char *env[] = { env_mode, NULL };
	start(&run, name, "deadlock.py", env);
	char json[64], text[64];
	temp_path(json, sizeof(json), ".json");
	temp_path(text, sizeof(text), ".txt");
	struct test_run r;
	const char *args_json[] = { "dump", "--json", run.pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_json), 0);
	cr_expect_eq(r.status, 0, "dump --json exited %d: %s", r.status, r.err);
	FILE *f = fopen(json, "w");
	cr_assert(f);
	fputs(r.out, f);
	fclose(f);
	test_run_free(&r);
	const char *args_text[] = { "dump", run.pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_text), 0);
	cr_expect_eq(r.status, 0, "dump exited %d: %s", r.status, r.err);
	f = fopen(text, "w");
	cr_assert(f);
	fputs(r.out, f);
	fclose(f);
	test_run_free(&r);
	const char *check[] = { json, "--text-dump", text, NULL };
	char *out;
	int status = check_states(run.truth, check, &out);
	cr_expect_eq(status, 0, "deadlock.py %s: check_states.py exited %d:\n%s", mode, status, out);
	free(out);
	unlink(json);
	unlink(text);
	finish(&run);
	unlink(run.truth);
}

WORKLOAD_PARAMS(deadlock_with)
ParameterizedTest(struct version_param *v, states, deadlock_with, .timeout = 120)
{
	deadlock(v->name, "with");
}

WORKLOAD_PARAMS(deadlock_acquire)
ParameterizedTest(struct version_param *v, states, deadlock_acquire, .timeout = 120)
{
	deadlock(v->name, "acquire");
}
