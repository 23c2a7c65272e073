/* SPDX-License-Identifier: MIT */
/* ui/analysis: the on-CPU half of an analysis: ticks per CPU, per kind and
 * per thread, the reference count table, and the machine's CPU times.
 * analysis.c owns one and feeds it every sample. */
#ifndef FTPROF_ANALYSIS_ONCPU_H
#define FTPROF_ANALYSIS_ONCPU_H

#include "analysis.h"

struct oncpu_counts; /* opaque */

struct oncpu_counts *oncpu_counts_create(void);    /* NULL when out of memory */
void oncpu_counts_destroy(struct oncpu_counts *c); /* NULL ok */
/* Counts s's ticks. Returns 0 or -FTP_E_NOMEM (then some may be uncounted). */
int oncpu_counts_add(struct oncpu_counts *c, const struct analysis_sample *s);
int oncpu_counts_cpustat(struct oncpu_counts *c, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                         unsigned n);
/* Adds src's counts to c (see analysis_merge). Returns 0 or -FTP_E_NOMEM. */
int oncpu_counts_merge(struct oncpu_counts *c, const struct oncpu_counts *src);
/* A thread's ticks, CPUs and latest CPU (zeros and -1 when it had none). */
void oncpu_counts_thread(const struct oncpu_counts *c, pid_t tid, uint64_t *ticks, uint64_t *cpus,
                         int *last_cpu);
/* Fills out for samples that spanned duration_s seconds (one tick period is
 * added: the first round's ticks came before it), ticks of tick_s each, cores CPUs at
 * least. Returns 0 or -FTP_E_NOMEM (out then released). */
int oncpu_counts_result(const struct oncpu_counts *c, double tick_s, double duration_s, long cores,
                        struct analysis_oncpu *out);
void oncpu_result_release(struct analysis_oncpu *out);

#endif
