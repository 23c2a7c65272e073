/* SPDX-License-Identifier: MIT */
/* ftprof record against live interpreters: the 3/4 : 1/4 split of
 * tests/targets/split.py in every format, a launched command, Ctrl-C and the
 * target's exit. Every profile written must add up to what record's summary
 * says it wrote (check_counts.py). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = { { "3.13t" }, { "3.12" }, { "3.15" }, { "3.9" } };

static char source[4096], checker[4096];

static void paths(void)
{
	snprintf(source, sizeof(source), "%s", test_source_path("tests/targets/split.py"));
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_record.py"));
}

/* Runs check_counts.py FORMAT FILE: what file holds adds up to what record's
 * summary (its standard error) says was written. */
static void check_counts(const char *format, const char *file, const char *summary)
{
	char counter[4096];
	snprintf(counter, sizeof(counter), "%s", test_source_path("tests/integration/check_counts.py"));
	const char *argv[] = { "/usr/bin/python3", counter, format, file, "--summary", summary, NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 60), 0);
	cr_expect_eq(r.status, 0, "%s %s: %s%s", format, file, r.out, r.err);
	test_run_free(&r);
}

/* Runs check_record.py FORMAT FILE with extra arguments; asserts it passes. */
static void check_profile(const char *what, const char *format, const char *file, const char *const extra[])
{
	const char *argv[16] = { "/usr/bin/python3", checker, format, file, "--source", source };
	size_t n = 6;
	for (size_t i = 0; extra && extra[i] && n < 15; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 120), 0);
	cr_expect_eq(r.status, 0, "%s: %s%s", what, r.out, r.err);
	test_run_free(&r);
}

static void temp_path(char *buf, size_t len, const char *ext)
{
	char tmpl[] = "/tmp/ftprof-rec-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert(fd >= 0);
	close(fd);
	unlink(tmpl);
	snprintf(buf, len, "%s%s", tmpl, ext);
}

/* Columns of a raw (format 3 and 4) sample line (docs/record-formats.md). */
enum { RAW_STATE = 3, RAW_THREAD = 12 };

/* Column `col` of a raw sample line (tab-separated; a wait kind may hold a
 * space) into buf; false when the line has fewer columns or it is too long. */
static bool raw_column(const char *line, int col, char *buf, size_t len)
{
	for (int i = 0; i < col; i++) {
		line = strchr(line, '\t');
		if (!line)
			return false;
		line++;
	}
	size_t n = strcspn(line, "\t\n");
	if (n >= len)
		return false;
	memcpy(buf, line, n);
	buf[n] = '\0';
	return true;
}

/* Starts script under interp (env may be NULL) and records it with --idle
 * and opts (NULL-terminated: rate, duration, mode) into a new raw file,
 * whose path goes to raw. record must exit 0; r keeps its output for the
 * caller to read and free, t the target for the caller to stop. */
static void record_idle_raw(const char *interp, const char *script, const char **env, const char *const *opts,
                            struct test_target *t, char *raw, size_t raw_len, struct test_run *r)
{
	cr_assert_eq(test_target_start(t, interp, script, env), 0, "%s under %s did not start", script,
	             interp);
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t->pid);
	temp_path(raw, raw_len, ".raw");
	const char *args[16] = { "record", "--idle" };
	size_t n = 2;
	for (; opts[n - 2] && n < 12; n++)
		args[n] = opts[n - 2];
	args[n++] = "-o";
	args[n++] = raw;
	args[n++] = pid;
	args[n] = NULL;
	cr_assert_eq(test_run_ftprof(r, args), 0);
	cr_expect_eq(r->status, 0, "record exited %d: %s", r->status, r->err);
	check_counts("raw", raw, r->err);
}

static int task_stopped_count(pid_t pid)
{
	char pidstr[16], state;
	int stopped = 0;
	snprintf(pidstr, sizeof(pidstr), "%d", (int)pid);
	struct test_run r;
	const char *argv[] = { "/bin/sh", "-c",
		               "cat /proc/$0/task/*/stat 2>/dev/null | sed 's/.*) //' | cut -c1", pidstr,
		               NULL };
	if (test_run(&r, argv, 30) == 0) {
		for (const char *s = r.out; (state = *s); s++)
			stopped += state == 't' || state == 'T';
		test_run_free(&r);
	}
	return stopped;
}

ParameterizedTestParameters(record, split)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

/* One thread spends 3/4 of its time in one function and 1/4 in another:
 * folded (with --threads and --idle variants), speedscope and raw all say so. */
ParameterizedTest(struct version_param *v, record, split, .timeout = 300)
{
	const char *interp = test_interp_use(v->name);
	paths();
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, NULL), 0, "Python %s target did not start",
	             v->name);
	char pid[16], folded[64], threads[64], ss[64], raw[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(folded, sizeof(folded), ".folded");
	temp_path(threads, sizeof(threads), ".txt");
	temp_path(ss, sizeof(ss), ".json");
	temp_path(raw, sizeof(raw), ".raw");

	struct test_run r;
	const char *args[] = { "record", "-r", "250", "-d", "2.5", "-o", folded, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "Hz achieved"), "no summary: %s", r.err);
	check_counts("folded", folded, r.err);
	test_run_free(&r);
	check_profile("folded", "folded", folded, NULL);

	const char *args_t[] = { "record", "-r", "250",   "-d", "2.5", "--threads",
		                 "--idle", "-o", threads, "-p", pid,   NULL };
	cr_assert_eq(test_run_ftprof(&r, args_t), 0);
	cr_expect_eq(r.status, 0, "record --threads --idle exited %d: %s", r.status, r.err);
	check_counts("folded", threads, r.err);
	test_run_free(&r);
	const char *extra_t[] = { "--threads", "--idle", NULL };
	check_profile("folded --threads --idle", "folded", threads, extra_t);

	struct test_run schema;
	const char *schema_argv[] = { test_source_path("scripts/speedscope-schema"), NULL };
	cr_assert_eq(test_run(&schema, schema_argv, 300), 0);
	cr_assert_eq(schema.status, 0, "scripts/speedscope-schema: %s", schema.err);
	*strchrnul(schema.out, '\n') = '\0';
	const char *args_s[] = { "record", "-r", "250", "-d", "2.5", "-o", ss, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_s), 0);
	cr_expect_eq(r.status, 0, "record speedscope exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "(speedscope)"), "format not picked from .json: %s", r.err);
	check_counts("speedscope", ss, r.err);
	test_run_free(&r);
	const char *extra_s[] = { "--schema", schema.out, NULL };
	check_profile("speedscope", "speedscope", ss, extra_s);
	test_run_free(&schema);

	const char *args_r[] = { "record", "-r", "250", "-d", "2.5", "--blocking", "-o", raw, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_r), 0);
	cr_expect_eq(r.status, 0, "record --blocking raw exited %d: %s", r.status, r.err);
	check_counts("raw", raw, r.err);
	test_run_free(&r);
	cr_expect_eq(task_stopped_count(t.pid), 0, "threads of the target left stopped");
	const char *extra_r[] = { "--pid", pid, "--blocking", NULL };
	check_profile("raw --blocking", "raw", raw, extra_r);

	test_target_stop(&t);
	unlink(folded);
	unlink(threads);
	unlink(ss);
	unlink(raw);
}

/* Runs a checker (python3 SCRIPT FILE ARGS...); a checker that exits 77
 * could not find its tools: the test is skipped with its reason. */
static void check_viewer(const char *what, const char *script, const char *file, const char *const extra[])
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_source_path(script));
	const char *argv[12] = { "/usr/bin/python3", path, file };
	size_t n = 3;
	for (size_t i = 0; extra && extra[i] && n < 11; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 600), 0);
	fprintf(stderr, "%s: %s%s", what, r.out, r.err);
	if (r.status == 77) {
		char why[512];
		snprintf(why, sizeof(why), "%s: %s", what, r.out);
		test_run_free(&r);
		cr_skip_test("%s", why);
	}
	cr_expect_eq(r.status, 0, "%s: %s%s", what, r.out, r.err);
	test_run_free(&r);
}

static struct version_param viewer_versions[] = { { "3.13t" }, { "3.12" } };

ParameterizedTestParameters(record, viewers)
{
	return TEST_INTERP_PARAMS(struct version_param, viewer_versions, name);
}

/* split.py's 3:1 in the Firefox Profiler's format (against ftprof's schema
 * of the profiler's types) and in pprof, read by `go tool pprof -top` and by
 * the npm pprof-format decoder; the format is taken from the extension. */
ParameterizedTest(struct version_param *v, record, viewers, .timeout = 600)
{
	const char *interp = test_interp_use(v->name);
	paths();
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, NULL), 0, "Python %s target did not start",
	             v->name);
	char pid[16], gecko[64], pprof[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(gecko, sizeof(gecko), ".gecko.json");
	temp_path(pprof, sizeof(pprof), ".pb.gz");
	struct test_run r;
	const char *args_g[] = { "record", "-r", "250", "-d", "2.5", "-o", gecko, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_g), 0);
	cr_expect_eq(r.status, 0, "record gecko exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "(gecko)"), "format not picked from .gecko.json: %s", r.err);
	test_run_free(&r);
	const char *args_p[] = { "record", "-r", "250", "-d", "2.5", "-o", pprof, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_p), 0);
	cr_expect_eq(r.status, 0, "record pprof exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "(pprof)"), "format not picked from .pb.gz: %s", r.err);
	test_run_free(&r);
	test_target_stop(&t);
	const char *extra_g[] = { "--split", NULL };
	check_viewer("gecko", "tests/integration/check_gecko.py", gecko, extra_g);
	struct test_run dir;
	const char *dir_argv[] = { test_source_path("scripts/pprof-format"), NULL };
	cr_assert_eq(test_run(&dir, dir_argv, 300), 0);
	if (dir.status != 0) {
		char why[512];
		snprintf(why, sizeof(why), "scripts/pprof-format: %s", dir.err);
		test_run_free(&dir);
		cr_skip_test("the pprof-format decoder cannot be had: %s", why);
	}
	*strchrnul(dir.out, '\n') = '\0';
	const char *extra_p[] = { "--pprof-format", dir.out, NULL };
	check_viewer("pprof", "tests/integration/check_pprof.py", pprof, extra_p);
	test_run_free(&dir);
	unlink(gecko);
	unlink(pprof);
}

ParameterizedTestParameters(record, gecko_states)
{
	return TEST_INTERP_PARAMS(struct version_param, viewer_versions, name);
}

/* states.py's threads, one per state, in the Firefox Profiler's format: a
 * track per thread named after it, its state markers in the state its truth
 * says, the lock waiter's wait markers on the truth's Lock and holder, and
 * a CPU graph that is flat for the waiters and high for the spinners. */
ParameterizedTest(struct version_param *v, record, gecko_states, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	char truth[64], gecko[64], pid[16], env_truth[128], script[4096];
	temp_path(truth, sizeof(truth), ".truth.json");
	temp_path(gecko, sizeof(gecko), ".json");
	snprintf(env_truth, sizeof(env_truth), "FTPROF_TRUTH=%s", truth);
	snprintf(script, sizeof(script), "%s", test_source_path("tests/targets/states.py"));
	const char *env[] = { env_truth, NULL };
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, script, env), 0, "states.py under %s did not start",
	             v->name);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	struct test_run r;
	const char *args[] = { "record", "-f", "gecko", "-r", "200", "-d", "2", "-o", gecko, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record -f gecko exited %d: %s", r.status, r.err);
	test_run_free(&r);
	test_target_stop(&t);
	const char *extra[] = { "--truth", truth, NULL };
	check_viewer("gecko states", "tests/integration/check_gecko.py", gecko, extra);
	unlink(gecko);
	unlink(truth);
}

/* The target's own "truth NAME SHARE" lines, once it has exited (within
 * 20 s), as "NAME=SHARE,..." for check_record.py --truth. */
static void read_truth(struct test_target *t, char *truth, size_t len)
{
	char out[4096];
	size_t got = 0;
	for (int i = 0; i < 200 && got < sizeof(out) - 1; i++) {
		struct pollfd pfd = { .fd = t->out_fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = read(t->out_fd, out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	truth[0] = '\0';
	char name[64];
	double share;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, "truth %63s %lf", name, &share) != 2)
			continue;
		size_t at = strlen(truth);
		snprintf(truth + at, len - at, "%s%s=%.4f", at ? "," : "", name, share);
	}
}

static struct version_param gil_versions[] = { { "3.12" }, { "3.15" }, { "3.13t" } };

ParameterizedTestParameters(record, turns)
{
	return TEST_INTERP_PARAMS(struct version_param, gil_versions, name);
}

/* Three threads take turns on the GIL, each spending 3/4 of its wall time in
 * one function and 1/4 in another as it measures itself. A thread waiting for
 * the GIL is reported without reading its frames; each thread's samples must
 * still split as its own measure says. */
ParameterizedTest(struct version_param *v, record, turns, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	paths();
	struct test_target t;
	const char *env[] = { "FTPROF_WORKERS=3", "FTPROF_SECONDS=4", NULL };
	cr_assert_eq(test_target_start(&t, interp, source, env), 0, "Python %s target did not start",
	             v->name);
	char pid[16], folded[64], truth[1024];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(folded, sizeof(folded), ".folded");
	struct test_run r;
	const char *args[] = { "record", "-r", "250",  "-d", "3", "--threads",
		               "--idle", "-o", folded, pid,  NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	check_counts("folded", folded, r.err);
	test_run_free(&r);
	read_truth(&t, truth, sizeof(truth));
	test_target_stop(&t);
	cr_assert(strstr(truth, "worker-3="), "the target gave no truth for its workers: '%s'", truth);
	const char *extra[] = { "--threads", "--idle", "--truth", truth, NULL };
	check_profile("folded, threads taking turns", "folded", folded, extra);
	unlink(folded);
}

static struct version_param still_versions[] = { { "3.13t" }, { "3.12" } };

static struct version_param callers_versions[] = { { "3.13t" }, { "3.12" }, { "3.15" } };

ParameterizedTestParameters(record, callers_started)
{
	return TEST_INTERP_PARAMS(struct version_param, callers_versions, name);
}

/* A frame that calls has run its first instruction: calls.py's threads call
 * and return without end, so a snapshot often holds a frame just made under
 * a callee left from the call before, a torn stack to read again
 * (check_callers.py: no caller on its def line). Where a profile hook runs
 * above a frame not started, the stack is real and kept. */
ParameterizedTest(struct version_param *v, record, callers_started, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	char calls[4096], check[4096], pid[16], folded[64];
	snprintf(calls, sizeof(calls), "%s", test_source_path("tests/targets/calls.py"));
	snprintf(check, sizeof(check), "%s", test_source_path("tests/integration/check_callers.py"));
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, calls, NULL), 0, "calls.py under %s did not start",
	             interp);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(folded, sizeof(folded), ".folded");
	struct test_run r;
	const char *args[] = { "record", "-r", "1k", "-d", "4", "--threads", "-o", folded, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	test_run_free(&r);
	test_target_stop(&t);
	const char *argv[] = { "/usr/bin/python3", check, folded, "--source", calls, NULL };
	cr_assert_eq(test_run(&r, argv, 60), 0);
	cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
	cr_log_info("%s", r.out);
	test_run_free(&r);
	unlink(folded);
}

ParameterizedTestParameters(record, still_threads)
{
	return TEST_INTERP_PARAMS(struct version_param, still_versions, name);
}

/* A thread that waits off its CPU is reported again without a read while it
 * has not run, and a round in which no thread ran is the last one again:
 * split.py's worker parked 3/4 : 1/4, waking every 4-12 ms to move, still
 * splits that way with --idle, the raw timeline sees it move about every
 * 8 ms, and most stacks were not re-read (the main thread sleeps
 * throughout). A stack kept across a wakeup would show few moves. */
ParameterizedTest(struct version_param *v, record, still_threads, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	paths();
	struct test_target t;
	const char *env[] = { "FTPROF_SPLIT=park", NULL };
	const char *opts[] = { "-r", "250", "-d", "2.5", NULL };
	char pid[16], raw[64];
	struct test_run r;
	record_idle_raw(interp, source, env, opts, &t, raw, sizeof(raw), &r);
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	unsigned long long read = 0, unchanged = 0;
	test_count_before(r.err, " thread stacks read, ", &read);
	test_count_before(r.err, " unchanged (the thread had not run", &unchanged);
	/* the sleeping main thread alone is half the stacks */
	cr_expect(read > 0 && unchanged >= read / 2, "%llu of %llu stacks reused: %s", unchanged, read,
	          r.err);
	test_run_free(&r);
	test_target_stop(&t);
	const char *extra[] = { "--pid", pid, "--idle", "--parked", NULL };
	check_profile("parked raw", "raw", raw, extra);
	unlink(raw);
}

ParameterizedTestParameters(record, wait_states)
{
	return TEST_INTERP_PARAMS(struct version_param, still_versions, name);
}

/* A thread's samples in states other than running, native, gil and runnable. */
struct wait_tally {
	const char *thread, *state; /* the state its waits must have */
	unsigned waits, right, on_cpu;
	char seen[128]; /* the states of its waits */
};

/* waits.py's threads block over and over, each in one kind of wait; after
 * the first of each, ftprof names the wait from the call site its switch
 * out gives (as root), not from /proc. Every wait must still be named
 * right: the lock waiter's lock, the sleeper's sleep, the pipe waiter's
 * io; the spinners only run or wait for the GIL. */
ParameterizedTest(struct version_param *v, record, wait_states, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	struct test_target t;
	const char *opts[] = { "-r", "250", "-d", "2", NULL };
	char raw[64];
	struct test_run r;
	record_idle_raw(interp, test_source_path("tests/targets/waits.py"), NULL, opts, &t, raw, sizeof(raw),
	                &r);
	unsigned long long by_site = 0, by_proc = 0;
	bool counted = test_count_before(r.err, " waits named by their call site", &by_site) &&
	               test_count_before(r.err, " by /proc)", &by_proc);
	if (geteuid() == 0) /* switch samples need kernel events counted: root here */
		cr_expect(counted && by_site > 10 * by_proc, "waits named by site %llu, by /proc %llu: %s",
		          by_site, by_proc, r.err);
	test_run_free(&r);
	test_target_stop(&t);

	struct wait_tally tally[] = {
		{ .thread = "MainThread", .state = "wait" }, { .thread = "lock", .state = "lock" },
		{ .thread = "sleep", .state = "sleep" },     { .thread = "pipe", .state = "io" },
		{ .thread = "spin-0", .state = "none" },     { .thread = "spin-1", .state = "none" },
	};
	size_t nt = sizeof(tally) / sizeof(tally[0]);
	FILE *f = fopen(raw, "r");
	cr_assert(f, "no output %s", raw);
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		char state[32], thread[64];
		if (line[0] == '#' || line[0] == '@' || line[0] == '%' ||
		    !raw_column(line, RAW_STATE, state, sizeof(state)) ||
		    !raw_column(line, RAW_THREAD, thread, sizeof(thread)))
			continue;
		for (size_t i = 0; i < nt; i++) {
			if (strcmp(thread, tally[i].thread) != 0)
				continue;
			if (!strcmp(state, "running") || !strcmp(state, "native") || !strcmp(state, "gil") ||
			    !strcmp(state, "runnable")) {
				tally[i].on_cpu++;
			} else {
				tally[i].waits++;
				tally[i].right += strcmp(state, tally[i].state) == 0;
				if (!strstr(tally[i].seen, state) &&
				    strlen(tally[i].seen) + strlen(state) + 2 < sizeof(tally[i].seen))
					strcat(strcat(tally[i].seen, " "), state);
			}
		}
	}
	fclose(f);
	unlink(raw);
	for (size_t i = 0; i < nt; i++) {
		struct wait_tally *w = &tally[i];
		if (!strcmp(w->state, "none")) { /* a spinner: at most a stray wait */
			cr_expect(w->on_cpu >= 100 && w->waits * 20 <= w->on_cpu,
			          "Python %s: %s ran in %u samples and waited in %u (%s)", v->name, w->thread,
			          w->on_cpu, w->waits, w->seen);
			continue;
		}
		cr_expect(w->waits >= 50 && w->right * 10 >= w->waits * 9,
		          "Python %s: %s waited in %u samples, %u of them in %s (%s)", v->name, w->thread,
		          w->waits, w->right, w->state, w->seen);
	}
}

/* --gil keeps the thread holding the GIL only: split.py's spinning worker,
 * never its sleeping main thread, even with --idle; --function writes one
 * frame per function, without lines, and the split still holds. On a
 * free-threaded build running without a GIL, --gil is refused. */
Test(record, gil_and_function, .timeout = 120)
{
	const char *interp = test_interp_use("3.12");
	paths();
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, NULL), 0, "Python 3.12 target did not start");
	char pid[16], folded[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(folded, sizeof(folded), ".folded");
	struct test_run r;
	const char *args[] = { "record",     "-r",     "250", "-d",   "2.5", "--gil",
		               "--function", "--idle", "-o",  folded, pid,   NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record --gil --function exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "not holding the GIL left out (--gil)"), "no --gil count: %s", r.err);
	check_counts("folded", folded, r.err);
	test_run_free(&r);
	test_target_stop(&t);
	/* without --idle in the check: the sleeping main thread must be absent */
	const char *extra[] = { "--function", NULL };
	check_profile("--gil --function", "folded", folded, extra);
	unlink(folded);

	const char *ft = test_interp_path("3.13t");
	if (!ft)
		return;
	cr_assert_eq(test_target_start(&t, ft, source, NULL), 0, "Python 3.13t target did not start");
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	const char *args_ft[] = { "record", "-d", "1", "--gil", "-o", folded, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_ft), 0);
	cr_expect_eq(r.status, 64, "--gil on 3.13t exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "without a GIL"), "no reason given: %s", r.err);
	cr_expect(access(folded, F_OK) != 0, "an empty %s was left behind", folded);
	test_run_free(&r);
	test_target_stop(&t);
	unlink(folded);
}

/* In --blocking mode every thread is switched out into ftprof's stop: those
 * switches are not the threads' own. Five threads spinning on a
 * free-threaded build (more than this machine's CPUs) are runnable
 * throughout: with --idle, every sample of theirs says running, native or
 * runnable, none says blocked. */
Test(record, blocking_states, .timeout = 120)
{
	const char *interp = test_interp_use("3.13t");
	struct test_target t;
	const char *env[] = { "FTPROF_WORKERS=4", NULL };
	const char *opts[] = { "--blocking", "-r", "200", "-d", "2", NULL };
	char raw[64];
	struct test_run r;
	record_idle_raw(interp, test_source_path("tests/targets/lifecycle.py"), env, opts, &t, raw,
	                sizeof(raw), &r);
	test_run_free(&r);
	test_target_stop(&t);
	FILE *f = fopen(raw, "r");
	cr_assert(f, "no output %s", raw);
	char line[8192], others[256] = "";
	unsigned running = 0, other = 0;
	while (fgets(line, sizeof(line), f)) {
		char state[32];
		if (line[0] == '#' || line[0] == '@' || line[0] == '%' ||
		    !raw_column(line, RAW_STATE, state, sizeof(state)))
			continue;
		if (strcmp(state, "running") == 0 || strcmp(state, "native") == 0 ||
		    strcmp(state, "runnable") == 0) {
			running++;
		} else {
			other++;
			if (!strstr(others, state) && strlen(others) + strlen(state) + 2 < sizeof(others))
				strcat(strcat(others, " "), state);
		}
	}
	fclose(f);
	unlink(raw);
	/* At least 20 rounds, which a machine busy with other work still gives. */
	cr_expect(running >= 100 && other * 20 <= running + other,
	          "%u samples running, %u in another state (%s; at most 5%% expected)", running, other,
	          other ? others + 1 : "none");
}

/* --native --blocking: C frames around the Python ones, which still split
 * 3/4 : 1/4 (without --blocking: test_native.c). */
Test(record, native, .timeout = 120)
{
	const char *interp = test_interp_use("3.12");
	paths();
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, NULL), 0);
	char pid[16], out[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(out, sizeof(out), ".folded");
	const char *args[] = { "record", "--native", "--blocking", "-r", "250", "-d",
		               "2.5",    "-o",       out,          pid,  NULL };
	struct test_run r;
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record --native exited %d: %s", r.status, r.err);
	check_counts("folded", out, r.err);
	test_run_free(&r);
	cr_expect_eq(task_stopped_count(t.pid), 0, "threads of the target left stopped");
	const char *extra[] = { "--native", "--blocking", NULL };
	check_profile("record --native", "folded", out, extra);
	/* without --blocking, native stacks come from the on-CPU samples */
	const char *bad[] = { "record", "--native", "--no-oncpu", "-o", out, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, bad), 0);
	cr_expect_eq(r.status, 64, "--native --no-oncpu: exit %d", r.status);
	cr_expect(strstr(r.err, "drop --no-oncpu, or add --blocking"), "message: %s", r.err);
	test_run_free(&r);
	test_target_stop(&t);
	unlink(out);
}

/* record -- COMMAND: from the command's start to its exit, its output passed
 * through. */
Test(record, launch_command, .timeout = 120)
{
	const char *interp = test_interp_use("3.13t");
	paths();
	char out[64];
	temp_path(out, sizeof(out), ".folded");
	const char *env_argv[] = { "/usr/bin/env", "FTPROF_SECONDS=2.5",
		                   FTPROF_BINARY,  "record",
		                   "-r",           "250",
		                   "-o",           out,
		                   "--",           interp,
		                   source,         NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, env_argv, 60), 0);
	cr_expect_eq(r.status, 0, "record -- exited %d: %s", r.status, r.err);
	cr_expect(strncmp(r.out, "ready ", 6) == 0, "the command's output did not come through: %s", r.out);
	cr_expect(strstr(r.err, "the command exited with status 0"), "summary: %s", r.err);
	check_counts("folded", out, r.err);
	test_run_free(&r);
	check_profile("record -- command", "folded", out, NULL);
	unlink(out);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (f) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = '\0';
		fclose(f);
	}
	return buf;
}

static int wait_status(pid_t pid, int timeout_s)
{
	for (int i = 0; i < timeout_s * 100; i++) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Ctrl-C (SIGINT) and SIGTERM end the recording with everything written. */
static void stop_by_signal(int sig, const char *mode)
{
	const char *interp = test_interp_use("3.12");
	paths();
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, NULL), 0);
	char pid[16], out[64], err[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(out, sizeof(out), ".folded");
	temp_path(err, sizeof(err), ".err");
	const char *args[] = { "record", "-r", "250", mode, "-o", out, pid, NULL };
	pid_t f = test_spawn_ftprof(args, err);
	cr_assert(f > 0);
	usleep(2500 * 1000);
	kill(f, sig);
	int status = wait_status(f, 30);
	cr_expect_eq(status, 0, "ftprof after signal %d: status %d: %s", sig, status, slurp(err));
	cr_expect(strstr(slurp(err), sig == SIGINT ? "interrupted" : "stopped by a signal"), "summary: %s",
	          slurp(err));
	cr_expect_eq(task_stopped_count(t.pid), 0, "threads of the target left stopped");
	check_counts("folded", out, slurp(err));
	const char *extra[] = { strcmp(mode, "--blocking") == 0 ? "--blocking" : NULL, NULL };
	check_profile("after a signal", "folded", out, extra);
	test_target_stop(&t);
	unlink(out);
	unlink(err);
}

Test(record, sigint_keeps_samples, .timeout = 120)
{
	stop_by_signal(SIGINT, "--nonblocking");
}

Test(record, sigterm_blocking_keeps_samples, .timeout = 120)
{
	stop_by_signal(SIGTERM, "--blocking");
}

/* The target exits while recorded: the recording ends, samples written. */
Test(record, target_exit_keeps_samples, .timeout = 120)
{
	const char *interp = test_interp_use("3.13t");
	paths();
	struct test_target t;
	const char *env[] = { "FTPROF_SECONDS=3", NULL };
	cr_assert_eq(test_target_start(&t, interp, source, env), 0);
	char pid[16], out[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(out, sizeof(out), ".folded");
	const char *args[] = { "record", "-r", "250", "-o", out, pid, NULL };
	struct test_run r;
	/* the target is not reaped while ftprof runs: it ends as a zombie */
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "the target exited"), "summary: %s", r.err);
	check_counts("folded", out, r.err);
	test_run_free(&r);
	check_profile("target exit", "folded", out, NULL);
	test_target_stop(&t);
	unlink(out);
}

/* Bad input: one line, a documented exit code. */
static void expect_fail(const char *const args[], int status, const char *needle)
{
	struct test_run r;
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, status, "ftprof record ... %s: exit %d, expected %d (stderr: %s)", needle,
	             r.status, status, r.err);
	cr_expect(strstr(r.err, needle), "expected '%s' in: %s", needle, r.err);
	cr_expect(strncmp(r.err, "ftprof record: ", 15) == 0, "not prefixed: %s", r.err);
	test_run_free(&r);
}

Test(record, bad_input, .timeout = 120)
{
	test_interp_none();
	const char *fmt[] = { "record", "-f", "html", "1", NULL };
	expect_fail(fmt, 64, "unknown format 'html'");
	const char *rev[] = { "record", "--reverse", "-o", "/tmp/x.folded", "1", NULL };
	expect_fail(rev, 64, "--reverse is for flame graphs drawn by ftprof (-f svg), not folded");
	const char *ext[] = { "record", "-o", "/tmp/x.html", "1", NULL };
	expect_fail(ext, 64, "flamegraph.pl");
	const char *zero[] = { "record", "-r", "0", "1", NULL };
	expect_fail(zero, 64, "invalid rate '0'");
	const char *fast[] = { "record", "-r", "10000k", "1", NULL };
	expect_fail(fast, 64, "beyond what the sampler can pace");
	const char *mega[] = { "record", "-r", "2M", "1", NULL }; /* parsed as 2000000 */
	expect_fail(mega, 64, "beyond what the sampler can pace");
	const char *dur[] = { "record", "-d", "-1", "1", NULL };
	expect_fail(dur, 64, "invalid duration '-1'");
	const char *nopid[] = { "record", NULL };
	expect_fail(nopid, 64, "no process given");
	const char *unwritable[] = { "record",    "-o", "/nonexistent/dir/p.folded", "-d", "1", "--",
		                     "/bin/true", NULL };
	expect_fail(unwritable, 2, "cannot write '/nonexistent/dir/p.folded': No such file or directory");
	const char *noexec[] = { "record", "-o", "/dev/null", "--", "/nonexistent/python", NULL };
	expect_fail(noexec, 2, "cannot execute '/nonexistent/python': No such file or directory");
	const char *notpy[] = { "record", "-o", "/dev/null", "--", "/bin/true", NULL };
	expect_fail(notpy, 2, "the command exited with status 0 before a Python interpreter was found");
	struct stat null;
	cr_expect(stat("/dev/null", &null) == 0 && S_ISCHR(null.st_mode), "/dev/null is no longer a device");
	char fresh[64];
	temp_path(fresh, sizeof(fresh), ".folded");
	const char *nothing[] = { "record", "-o", fresh, "--", "/bin/true", NULL };
	expect_fail(nothing, 2, "before a Python interpreter was found");
	cr_expect(access(fresh, F_OK) != 0, "an empty output file was left behind: %s", fresh);
	const char *deadpid[] = { "record", "-o", "/dev/null", "999999999", NULL };
	expect_fail(deadpid, 2, "no process with pid 999999999");
}
