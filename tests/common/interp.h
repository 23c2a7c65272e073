/* SPDX-License-Identifier: MIT */
/* Test helpers: the interpreters scripts/interpreters has provisioned. */
#ifndef FTPROF_TEST_INTERP_H
#define FTPROF_TEST_INTERP_H

#include <stdbool.h>
#include <stddef.h>

/* Path of the interpreter NAME ("3.8" ... "3.15", "3.13t") as listed by
 * `scripts/interpreters list`, or NULL when it is not provisioned. The string
 * lives until the process exits. */
const char *test_interp_path(const char *name);

/* The names tests run against, in order, NULL-terminated. */
extern const char *const test_interp_names[];

/* One run of a test binary is for one interpreter: ctest's test NAME::3.13t
 * runs NAME with FTPROF_TEST_INTERP=3.13t, and NAME alone with
 * FTPROF_TEST_INTERP=none for the tests that need no interpreter. The
 * binary's main (common/main.c) exits 77, which ctest counts as skipped, when
 * the run's interpreter is not provisioned. Unset (a run by hand), every test
 * runs, each skipping when its interpreter is missing. */

/* The path of interpreter NAME for a test that needs it: the test is skipped
 * (cr_skip_test, with the reason) when this run is for another interpreter,
 * or when NAME is not provisioned. Call it from the test's own process. */
const char *test_interp_use(const char *name);

/* Whether this run takes tests for interpreter NAME: it is this run's, or a
 * run by hand. */
bool test_interp_wanted(const char *name);

/* Skips the calling test unless this run takes tests for NAME; for a test
 * that belongs with NAME's without running it. */
void test_interp_for(const char *name);

/* Skips the calling test unless this run is the one for tests that need no
 * interpreter (or a run by hand). */
void test_interp_none(void);

/* For a test that takes any interpreter: the newest one provisioned, in its
 * run; skips when there is none. *name gets its name. */
const char *test_interp_any(const char **name);

/* For ParameterizedTestParameters: moves the entries of params (n of size
 * bytes) that this run takes, by the interpreter name at name_offset (a char
 * array), to the front, in order, and returns how many there are; the others
 * do not run, rather than skip. Calling it again gives the same. */
size_t test_interp_params(void *params, size_t n, size_t size, size_t name_offset);
#define TEST_INTERP_PARAMS(type, array, field)                                                            \
	cr_make_param_array(type, array,                                                                  \
	                    test_interp_params(array, sizeof(array) / sizeof(array[0]), sizeof(array[0]), \
	                                       offsetof(type, field)))

/* For a pyenv-style build: the libpythonX.Y[t].so beside its executable, or
 * NULL when the interpreter is linked into the executable. Static storage. */
const char *test_interp_libpython(const char *name);

#endif
