/* SPDX-License-Identifier: MIT */
/* probe/perf/: perf_event: one ring reader, and thread states from context
 * switches on it. Private to probe/. */
#ifndef FTPROF_PROBE_PERF_H
#define FTPROF_PROBE_PERF_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "process/process.h"

struct ftp_error;
struct ftp_probe;
struct ftp_sample;
struct probe_user_stack;

/* ---- ring.c: one perf_event and its ring of records ------------------ */

struct perf_ring {
	int fd; /* -1: not open */
	struct perf_event_mmap_page *page;
	size_t map_len;
	const unsigned char *data; /* the ring, size bytes */
	uint64_t size;
};

/* Opens attr's event for tid on cpu (-1: any) and maps a ring of pages data
 * pages. Returns 0 or -errno (of perf_event_open or mmap). */
int perf_ring_open(struct perf_ring *r, struct perf_event_attr *attr, pid_t tid, int cpu, unsigned pages);
void perf_ring_close(struct perf_ring *r); /* a ring not open (fd -1) is ok */
/* The records not yet consumed: ring offsets [*tail, *head), which may span
 * more than size when records were lost. False when there are none. */
bool perf_ring_pending(const struct perf_ring *r, uint64_t *tail, uint64_t *head);
/* Copies len bytes at ring offset off, which may wrap. */
void perf_ring_copy(const struct perf_ring *r, uint64_t off, void *dst, size_t len);
/* Gives the records before tail back to the kernel. */
void perf_ring_consume(struct perf_ring *r, uint64_t tail);

/* ---- sched.c: thread states from context switches ------------------ */

struct probe_sched; /* sched.c's per-thread events */

/* The state of tid: from its perf_event context-switch records (opened on
 * first sight), or /proc where perf_event is refused. NULL when out of
 * memory. Lent until the round ends. */
const struct task_info *probe_sched_task(struct ftp_probe *p, pid_t tid);
/* A round that does not stop the target begins at start_ns (CLOCK_MONOTONIC):
 * until it ends, whether a thread able to run is on a CPU or waits for one
 * is told as at one instant just before (sched.c: INSTANT_LEAD_NS), the
 * same for all the round's threads. */
void probe_sched_begin_round(struct ftp_probe *p, uint64_t start_ns);
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

/* ---- oncpu.c: on-CPU samples ---------------------------------------- */

struct probe_oncpu; /* oncpu.c's per-thread events and caches */

/* Gives s (a thread's sample, its state settled) the thread's ticks since
 * its last sample, opening its event on first sight, and its latest CPU.
 * The ticks are lent until the thread's next sample. */
void probe_oncpu_take(struct ftp_probe *p, struct ftp_sample *s);
/* Closes the events of threads the last two rounds did not see. */
void probe_oncpu_end_round(struct ftp_probe *p);
void probe_oncpu_release(struct ftp_probe *p);
/* Frees the names of refcount objects lent by earlier ticks (ftp_probe_trim):
 * a program that makes objects without end keeps them bounded; and the
 * instruction addresses named and the DWARF functions walked, once they pass
 * a bound. */
void probe_oncpu_trim(struct ftp_probe *p);
/* Native stacks without blocking: the registers and copied stack of tid's
 * last tick, when the latest take was tid's. A thread has used less than a
 * tick's period of CPU time since its last tick (else it would have another):
 * while it neither blocks, that tick's stack is its stack now. blocked says
 * the thread is off CPU and not runnable: its tick is forgotten, never to be
 * shown as current again. Returns false when there is none. out->stack is
 * lent until tid's next take. */
bool probe_oncpu_user_stack(struct ftp_probe *p, pid_t tid, bool blocked, struct probe_user_stack *out);
/* Whether the ticks of p->pid can copy user stacks: opens such an event on
 * it and closes it. Returns 0 or a negative FTP_E_* with err filled. */
int probe_oncpu_check(struct ftp_probe *p, struct ftp_error *err);

#endif
