/* SPDX-License-Identifier: MIT */
/* probe/perf/: perf_event: thread states from context switches. Private to
 * probe/. */
#ifndef FTPROF_PROBE_PERF_H
#define FTPROF_PROBE_PERF_H

#include <stdbool.h>
#include <sys/types.h>

#include "process/process.h"

struct ftp_probe;

/* ---- sched.c: thread states from context switches ------------------ */

struct probe_sched; /* sched.c's per-thread events */

/* The state of tid: from its perf_event context-switch records (opened on
 * first sight), or /proc where perf_event is refused. NULL when out of
 * memory. Lent until the round ends. */
const struct task_info *probe_sched_task(struct ftp_probe *p, pid_t tid);
/* Takes every known thread's state now, before a blocking round stops the
 * target (a stop is a context switch too). */
void probe_sched_freeze(struct ftp_probe *p);
/* Just before a blocking round resumes the target: the switches since the
 * freeze (into and out of the stop) are ftprof's, not the threads' own. */
void probe_sched_stop_ends(struct ftp_probe *p);
/* Closes the events of threads the round did not see. */
void probe_sched_end_round(struct ftp_probe *p);
void probe_sched_release(struct ftp_probe *p);
/* "perf_event context switches", "/proc" or "none". */
const char *probe_sched_source(const struct ftp_probe *p);

#endif
