/* SPDX-License-Identifier: MIT */
/* On-CPU samples end to end (check_oncpu.py does the work): reference-count
 * contention on a shared object against private ones, and the short names of
 * a shared str and closure (3.13t), two spinners
 * pinned to CPUs 0 and 1 (free-threaded: both cores busy with the target;
 * GIL: taking turns), and --no-oncpu. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "interp.h"
#include "target.h"

static void run_check(const char *what, const char *interp)
{
	const char *python = test_interp_use(interp);
	const char *argv[] = { "/usr/bin/python3",
		               test_source_path("tests/integration/check_oncpu.py"),
		               what,
		               FTPROF_BINARY,
		               python,
		               NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 300), 0);
	if (r.status == 77) {
		char reason[256];
		snprintf(reason, sizeof(reason), "%s", r.out);
		test_run_free(&r);
		cr_skip_test("%s", reason);
	}
	cr_expect_eq(r.status, 0, "check_oncpu %s on %s:\n%s%s", what, interp, r.out, r.err);
	test_run_free(&r);
}

Test(oncpu, refcount_shared_against_private)
{
	run_check("refcount", "3.13t");
}

Test(oncpu, refcount_objects_named)
{
	run_check("names", "3.13t");
}

Test(oncpu, pinned_ft)
{
	run_check("pinned", "3.13t");
}

Test(oncpu, pinned_gil)
{
	run_check("pinned", "3.12");
}

Test(oncpu, off)
{
	run_check("off", "3.12");
}
