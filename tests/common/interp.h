/* SPDX-License-Identifier: MIT */
/* Test helpers: the interpreters scripts/interpreters has provisioned. */
#ifndef FTPROF_TEST_INTERP_H
#define FTPROF_TEST_INTERP_H

#include <stdbool.h>

/* Path of the interpreter NAME ("3.8" ... "3.15", "3.13t") as listed by
 * `scripts/interpreters list`, or NULL when it is not provisioned. The string
 * lives until the process exits. */
const char *test_interp_path(const char *name);

/* The names tests run against, in order, NULL-terminated. */
extern const char *const test_interp_names[];

/* For a pyenv-style build: the libpythonX.Y[t].so beside its executable, or
 * NULL when the interpreter is linked into the executable. Static storage. */
const char *test_interp_libpython(const char *name);

#endif
