/* SPDX-License-Identifier: MIT */
/* record --native end to end (check_native.py does the work): without
 * --blocking, native frames from the on-CPU samples' copied stacks, under
 * the right Python frame, and the target never stopped; with --blocking, the
 * same frames, and the watcher that says "never stopped" does see stops. On a
 * free-threaded build (3.13t), GIL builds (3.12; 3.9, whose eval calls are
 * found by their symbol) and a stripped one (3.14: no .symtab in the
 * interpreter, its frames are addresses). And where perf_event_open is
 * refused (a preloaded shim), an error that says to use --blocking. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "interp.h"
#include "target.h"

static void run_check(const char *what, const char *interp)
{
	const char *python = test_interp_use(interp);
	const char *argv[] = { "/usr/bin/python3",
		               test_source_path("tests/integration/check_native.py"),
		               what,
		               FTPROF_BINARY,
		               python,
		               NO_PERF_EVENT_SHIM,
		               NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 300), 0);
	cr_expect_eq(r.status, 0, "check_native %s on %s:\n%s%s", what, interp, r.out, r.err);
	test_run_free(&r);
}

Test(native, sampled_ft)
{
	run_check("sampled", "3.13t");
}

Test(native, sampled_gil)
{
	run_check("sampled", "3.12");
}

Test(native, sampled_stripped)
{
	run_check("sampled", "3.14");
}

/* 3.8-3.11: the eval calls are found by the evaluator's symbol */
Test(native, sampled_old)
{
	run_check("sampled", "3.9");
}

/* 3.9: 300 Python calls take more C stack than a sample copies: the rest
 * is read from the target */
Test(native, sampled_deep)
{
	run_check("deep", "3.9");
}

Test(native, blocking_ft)
{
	run_check("blocking", "3.13t");
}

/* A static C function named from the debug file .gnu_debuglink names, and
 * no debuginfod client loaded for it (check_debuglink.py). */
Test(native, debuglink)
{
	const char *python = test_interp_use("3.13t");
	const char *argv[] = { "/usr/bin/python3", test_source_path("tests/integration/check_debuglink.py"),
		               FTPROF_BINARY,      python,
		               DEBUGLINK_LIB,      NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 120), 0);
	cr_expect_eq(r.status, 0, "check_debuglink:\n%s%s", r.out, r.err);
	cr_log_info("%s", r.out);
	test_run_free(&r);
}

/* perf_event refused: a clear error that names --blocking, which still works. */
Test(native, perf_event_refused)
{
	run_check("refused", "3.12");
}
