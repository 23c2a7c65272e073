/* SPDX-License-Identifier: MIT */
/* ui/: the profile record builds: frames and stacks interned once, counts per
 * stack, and, when asked for, each thread's timeline for speedscope. */
#ifndef FTPROF_PROFILE_H
#define FTPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ftprof/probe.h"
#include "ftprof/sample.h"

struct profile; /* opaque */

struct profile_opts {
	bool thread_root; /* stacks start with a `thread "name" (tid)` frame */
	bool timeline;    /* keep every thread's samples in order (speedscope) */
	bool by_function; /* Python frames without lines: a function's lines merged */
};

/* Returns NULL when out of memory. */
struct profile *profile_create(const struct profile_opts *opts);
void profile_destroy(struct profile *pr); /* NULL ok */

/* Adds one thread's stack, weighing `weight` seconds. The sample's strings
 * and ftp_code pointers must stay valid until profile_destroy() (the probe
 * keeps them until ftp_probe_destroy()); native symbol names are copied.
 * Returns 0 or -FTP_E_NOMEM. */
int profile_add(struct profile *pr, const struct ftp_sample *s, double weight);

/* Ends a round of samples: threads that had none in it (ended, renamed)
 * give up the caches that speed up their next sample. */
void profile_end_round(struct profile *pr);

/* Unique stacks so far. */
size_t profile_stacks(const struct profile *pr);

/* Writers. Each returns 0, or -1 with errno set by the failed write. */

/* Brendan Gregg's collapsed stacks: `outer;...;inner COUNT` per unique stack. */
int profile_write_folded(const struct profile *pr, FILE *f);

/* speedscope's file format: one sampled profile per thread (needs timeline). */
int profile_write_speedscope(const struct profile *pr, FILE *f, const struct ftp_target_info *info);

/* The raw format: every sample as a line, written as it comes. */
int raw_write_header(FILE *f, const struct ftp_target_info *info, double rate);
/* Writes s as a raw line; frames' labels are made once and kept in pr. */
int profile_write_raw(struct profile *pr, FILE *f, const struct ftp_sample *s);

#endif
