/* SPDX-License-Identifier: MIT */
/* The main of every test binary run once per interpreter: a run for an
 * interpreter that is not provisioned exits 77, which ctest reports as
 * skipped (SKIP_RETURN_CODE), with the reason on stdout. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

int main(int argc, char *argv[])
{
	const char *name = getenv("FTPROF_TEST_INTERP");
	/* reads `scripts/interpreters list` here, once, for the tests' processes */
	const char *path = test_interp_path(name ? name : "");
	if (name && *name && strcmp(name, "none") != 0 && !path) {
		printf("skipped: Python %s is not provisioned here (scripts/interpreters install %s)\n", name,
		       name);
		return 77;
	}
	struct criterion_test_set *tests = criterion_initialize();
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
