/* SPDX-License-Identifier: MIT */
/* Flame graphs drawn by ftprof, against live interpreters: record -f svg of
 * tests/targets/split.py must split its boxes as the target measured its
 * own time (check_svg.py), also as the callers view (--reverse); ftprof
 * diff of tests/targets/diffwork.py run twice, once with beta() made twice
 * as slow, must put beta first among the functions that grew, in its text
 * and in its SVG; and diff's bad input. (The browser checks of the SVG's
 * script are check_svg_browser.py, ctest's svg_browser.) */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = { { "3.13t" }, { "3.12" }, { "3.15" }, { "3.9" } };

static void temp_path(char *buf, size_t len, const char *ext)
{
	char tmpl[] = "/tmp/ftprof-flame-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert(fd >= 0);
	close(fd);
	unlink(tmpl);
	snprintf(buf, len, "%s%s", tmpl, ext);
}

/* Runs check_svg.py with args (NULL-terminated); asserts it passes. */
static void check_svg(const char *what, const char *const args[])
{
	char checker[4096];
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_svg.py"));
	const char *argv[16] = { "/usr/bin/python3", checker };
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 120), 0);
	cr_expect_eq(r.status, 0, "%s: %s%s", what, r.out, r.err);
	if (r.status == 0)
		printf("%s", r.out);
	test_run_free(&r);
}

/* split.py's "truth worker SHARE" line, once it has exited (within 20 s). */
static double read_truth(struct test_target *t)
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
	const char *line = strstr(out, "truth worker ");
	return line ? atof(line + 13) : -1;
}

ParameterizedTestParameters(flame, svg_split)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

/* One thread spends 3/4 of its time in one function and 1/4 in another, as
 * it measures itself: the SVG's boxes split within 5 points of that, drawn
 * as a flame graph from -o's extension and as an icicle with --reverse. */
ParameterizedTest(struct version_param *v, flame, svg_split, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	char source[4096];
	snprintf(source, sizeof(source), "%s", test_source_path("tests/targets/split.py"));
	struct test_target t;
	const char *env[] = { "FTPROF_SECONDS=4", NULL };
	cr_assert_eq(test_target_start(&t, interp, source, env), 0, "Python %s target did not start",
	             v->name);
	char pid[16], svg[64], rev[64];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	temp_path(svg, sizeof(svg), ".svg");
	temp_path(rev, sizeof(rev), ".SVG");
	struct test_run r;
	const char *args[] = { "record", "-r", "250", "-d", "1.5", "-o", svg, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "(svg)"), "format not picked from .svg: %s", r.err);
	test_run_free(&r);
	const char *args_r[] = { "record", "-r", "250", "-d", "1.5", "--reverse", "-o", rev, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_r), 0);
	cr_expect_eq(r.status, 0, "record --reverse exited %d: %s", r.status, r.err);
	test_run_free(&r);
	double truth = read_truth(&t);
	test_target_stop(&t);
	cr_assert(truth > 0.5 && truth < 1, "the target gave no truth (%g)", truth);
	char truth_s[32];
	snprintf(truth_s, sizeof(truth_s), "%.4f", truth);
	const char *check[] = { "split", svg, "--truth", truth_s, NULL };
	check_svg("svg", check);
	const char *check_r[] = { "split", rev, "--truth", truth_s, "--reverse", NULL };
	check_svg("svg --reverse", check_r);
	unlink(svg);
	unlink(rev);
}

static struct version_param diff_versions[] = { { "3.13t" }, { "3.12" } };

ParameterizedTestParameters(flame, diff)
{
	return TEST_INTERP_PARAMS(struct version_param, diff_versions, name);
}

/* Records diffwork.py for 2.5 s into path (format from its extension), with
 * FTPROF_SLOW=slow when slow is not NULL. */
static void record_diffwork(const char *interp, const char *slow, const char *path)
{
	char source[4096], slow_env[64];
	snprintf(source, sizeof(source), "%s", test_source_path("tests/targets/diffwork.py"));
	snprintf(slow_env, sizeof(slow_env), "FTPROF_SLOW=%s", slow ? slow : "");
	const char *env[] = { "FTPROF_SECONDS=3.5", slow_env, NULL };
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, source, env), 0, "diffwork.py did not start");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	struct test_run r;
	const char *args[] = { "record", "-r", "250", "-d", "2.5", "-o", path, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "record exited %d: %s", r.status, r.err);
	test_run_free(&r);
	test_target_stop(&t);
}

/* The same program run twice, beta() twice as slow the second time: diff
 * lists beta first, grown, in its text and its SVG, whether the recordings
 * are raw or folded. */
ParameterizedTest(struct version_param *v, flame, diff, .timeout = 120)
{
	const char *interp = test_interp_use(v->name);
	char before[64], after[64], after_f[64], svg[64], text[64];
	temp_path(before, sizeof(before), ".raw");
	temp_path(after, sizeof(after), ".raw");
	temp_path(after_f, sizeof(after_f), ".folded");
	temp_path(svg, sizeof(svg), ".svg");
	temp_path(text, sizeof(text), ".txt");
	record_diffwork(interp, NULL, before);
	record_diffwork(interp, "beta", after);
	record_diffwork(interp, "beta", after_f);

	const char *pairs[][2] = { { before, after }, { before, after_f } };
	for (size_t i = 0; i < 2; i++) {
		struct test_run r;
		const char *args[] = { "diff", "-o", svg, pairs[i][0], pairs[i][1], NULL };
		cr_assert_eq(test_run_ftprof(&r, args), 0);
		cr_expect_eq(r.status, 0, "diff exited %d: %s", r.status, r.err);
		FILE *f = fopen(text, "w");
		cr_assert_not_null(f);
		fputs(r.out, f);
		fclose(f);
		test_run_free(&r);
		const char *check_t[] = { "difftext", text, "--grew", "beta", NULL };
		check_svg("diff text", check_t);
		const char *check_s[] = { "diff", svg, "--grew", "beta", NULL };
		check_svg("diff svg", check_s);
	}
	unlink(before);
	unlink(after);
	unlink(after_f);
	unlink(svg);
	unlink(text);
}

/* Writes text to a new temporary file with extension ext, into path. */
static void temp_file(char *path, size_t len, const char *ext, const char *text)
{
	temp_path(path, len, ext);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void expect_diff_fail(const char *a, const char *b, int status, const char *needle)
{
	struct test_run r;
	const char *args[] = { "diff", a, b, NULL };
	cr_assert_eq(test_run_ftprof(&r, b ? args : (const char *[]){ "diff", a, NULL }), 0);
	cr_expect_eq(r.status, status, "diff %s %s: exit %d, expected %d (%s)", a, b ? b : "", r.status,
	             status, r.err);
	cr_expect(strstr(r.err, needle), "expected '%s' in: %s", needle, r.err);
	cr_expect(strncmp(r.err, "ftprof diff: ", 13) == 0, "not prefixed: %s", r.err);
	test_run_free(&r);
}

/* Bad input: one line naming the file and what is wrong, never a crash;
 * a hostile frame name reaches the terminal escaped. */
Test(flame, diff_bad_input, .timeout = 60)
{
	test_interp_none();
	char good[64], json[64], svg[64], bad[64], empty[64], nul[64], idle[64], hostile[64];
	temp_file(good, sizeof(good), ".folded", "main (a.py:1);f (a.py:2) 3\nmain (a.py:1);g (a.py:5) 1\n");
	temp_file(json, sizeof(json), ".json", "{\"shared\": {}}\n");
	temp_file(svg, sizeof(svg), ".svg", "<?xml version=\"1.0\"?><svg/>\n");
	temp_file(bad, sizeof(bad), ".folded", "main (a.py:1) 3\nmain (a.py:1);f (a.py:2) three\n");
	temp_file(empty, sizeof(empty), ".folded", "");
	temp_file(nul, sizeof(nul), ".folded", "x");
	FILE *f = fopen(nul, "w");
	fwrite("a;b 1\n\0c 2\n", 1, 11, f);
	fclose(f);
	temp_file(idle, sizeof(idle), ".raw",
	          "# ftprof raw 2: pid 1, Python 3.13.15, 100 Hz asked, 2 cores\n"
	          "# round\ttime_ns\ttid\tstate\toncpu\tgil\twait\twait_addr\twait_type\tholder\tholder_how\t"
	          "thread\tstack\n"
	          "1\t5\t7\tsleep\t0\t-\t-\t-\t-\t-\t-\tt\tmain (/a.py:3)\n");
	temp_file(hostile, sizeof(hostile), ".folded", "main (a.py:1);\x1b[31mred\x07 (a.py:2) 3\n");

	expect_diff_fail("/nonexistent/before.raw", good, 2,
	                 "/nonexistent/before.raw: No such file or directory");
	expect_diff_fail(good, json, 2, "a JSON profile (speedscope?)");
	expect_diff_fail(svg, good, 2, "an SVG or HTML flame graph");
	expect_diff_fail(good, bad, 2, ":2: not a folded line");
	expect_diff_fail(good, empty, 2, "empty file");
	expect_diff_fail(nul, good, 2, ":2: a NUL byte");
	expect_diff_fail(good, idle, 2, "--idle keeps them");
	expect_diff_fail(good, NULL, 64, "two recordings are compared");

	struct test_run r;
	const char *args[] = { "diff", "--idle", good, idle, NULL };
	cr_assert_eq(test_run_ftprof(&r, args), 0);
	cr_expect_eq(r.status, 0, "diff --idle: %s", r.err);
	cr_expect(strstr(r.out, "main (/a.py)"), "the sleeping thread is not compared: %s", r.out);
	test_run_free(&r);

	char out_svg[64];
	temp_path(out_svg, sizeof(out_svg), ".svg");
	const char *args_h[] = { "diff", "-o", out_svg, good, hostile, NULL };
	cr_assert_eq(test_run_ftprof(&r, args_h), 0);
	cr_expect_eq(r.status, 0, "diff of a hostile name: %s", r.err);
	cr_expect(!strchr(r.out, '\x1b') && !strchr(r.out, '\x07'), "a control character reached stdout");
	cr_expect(strstr(r.out, "\\x1b[31mred\\x07 (a.py)"), "the name is not escaped: %s", r.out);
	test_run_free(&r);
	const char *check[] = { "diff", out_svg, "--grew", "\\x1b[31mred\\x07", NULL };
	check_svg("svg of a hostile name", check);

	const char *files[] = { good, json, svg, bad, empty, nul, idle, hostile, out_svg };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
}
