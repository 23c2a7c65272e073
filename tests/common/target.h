/* SPDX-License-Identifier: MIT */
/* Test helpers: live target processes, and running commands with captured output. */
#ifndef FTPROF_TEST_TARGET_H
#define FTPROF_TEST_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct test_target {
	pid_t pid;
	int out_fd; /* the target's stdout, read for "ready" */
};

/* Starts `interp script` with extra environment entries env ("K=V", NULL
 * terminated, may be NULL) and waits up to 30 s for a stdout line starting with
 * "ready". Returns 0, or -1 after killing the child (the reason goes to
 * stderr). */
int test_target_start(struct test_target *t, const char *interp, const char *script, const char *const *env);
/* Waits up to timeout_s for the target's threads to be parked: its main
 * thread and all but `others` of its other threads blocked in the kernel
 * in a futex wait without a timeout (a lock's acquire; a wait for the GIL
 * has a timeout). A "ready" line comes before its printer parks. Returns 0,
 * or -1 with the threads' system calls on stderr. */
int test_target_wait_parked(const struct test_target *t, int others, int timeout_s);
/* Kills and reaps the target. Safe to call twice. */
void test_target_stop(struct test_target *t);

struct test_run {
	int status; /* exit code, or 128 + signal number */
	char *out;  /* NUL-terminated stdout */
	char *err;  /* NUL-terminated stderr */
};

/* Runs argv (argv[0] is a path) with stdin from /dev/null, capturing stdout and
 * stderr, killing it after timeout_s. Returns 0 or -1 when it could not run. */
int test_run(struct test_run *r, const char *const argv[], int timeout_s);
/* test_run with the ftprof binary as argv[0]: args are its arguments. */
int test_run_ftprof(struct test_run *r, const char *const args[]);
void test_run_free(struct test_run *r);

/* The number that stands just before the first `phrase` in text, as in a
 * summary's "1250 thread stacks read": true and *out, or false when the
 * phrase is absent or has no number before it. */
bool test_count_before(const char *text, const char *phrase, unsigned long long *out);

/* Starts ftprof with args, its stdout and stderr into the file out_path, and
 * returns its pid (-1 when it cannot fork) for the caller to wait for. */
pid_t test_spawn_ftprof(const char *const args[], const char *out_path);

/* The path of a file in the source tree, in static storage (one at a time). */
const char *test_source_path(const char *rel);

#endif
