/* SPDX-License-Identifier: MIT */
/* ui/analysis: what `report` and the live view both show, computed from
 * thread samples fed one at a time: each thread's share of each state, the
 * effective parallelism against the cores, the contended locks with the
 * lines where threads wait for them and where their holders hold them, how
 * busy the GIL is, and the deadlocks (wait-for cycles within one round).
 *
 * The samples are a neutral struct that knows nothing of the probe or of a
 * file format: the report command fills it from a raw recording, the live
 * view from the probe's samples. Everything is O(samples): per-round work is
 * proportional to the round's size, and nothing is kept per sample. One
 * analysis is used by one thread at a time; separate ones are independent. */
#ifndef FTPROF_ANALYSIS_H
#define FTPROF_ANALYSIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftprof/sample.h"

/* One thread at one instant. Strings are UTF-8 as the target holds them
 * (not escaped), NULL when unknown, and lent for the call only: the analysis
 * copies what it keeps. */
struct analysis_sample {
	uint64_t round;     /* samples of one instant share it */
	uint64_t time_ns;   /* CLOCK_MONOTONIC */
	pid_t tid;          /* native thread id; 0 unknown */
	const char *thread; /* threading name */
	enum ftp_state state;
	int on_cpu;                   /* 1, 0, -1 unknown */
	int gil;                      /* holds the GIL: 1, 0, -1 no GIL or unknown */
	enum ftp_wait_kind wait_kind; /* FTP_WAIT_NONE: waits on nothing known */
	uint64_t wait_address;        /* 0 unknown */
	const char *wait_type;        /* a critical section's object type */
	pid_t holder;                 /* the holder's tid; 0 unknown */
	enum ftp_holder_how holder_how;
	/* The innermost Python frame: function NULL when the sample has none;
	 * line -1 when unknown. */
	const char *function;
	const char *file;
	int line;
	/* On-CPU ticks since the thread's previous sample (their strings lent
	 * like the rest), and the CPU of its latest tick (-1 unknown). */
	int cpu;
	unsigned nticks;
	const struct ftp_tick *ticks;
};

struct analysis_opts {
	double rate; /* samples per second asked, for the interval when rounds cannot measure it; 0 unknown */
	long cores;  /* CPUs of the machine recorded; 0 unknown */
	double tick_s; /* the CPU time one on-CPU tick stands for; 0: no ticks */
};

struct analysis; /* opaque */

/* Returns 0 and stores an analysis the caller must analysis_destroy(), or
 * -FTP_E_NOMEM leaving *out untouched. opts may be NULL. */
int analysis_create(struct analysis **out, const struct analysis_opts *opts);
void analysis_destroy(struct analysis *a); /* NULL ok */

/* Replaces the options (a reader learns them from a header): they are read
 * by analysis_result only. */
void analysis_set_opts(struct analysis *a, const struct analysis_opts *opts);

/* Adds one sample. A sample of another round than the one open ends that
 * round first (analysis_end_round). Returns 0 or -FTP_E_NOMEM, in which case
 * the sample is not counted and the analysis stays usable. */
int analysis_add(struct analysis *a, const struct analysis_sample *s);

/* The machine's CPU times at time_ns (ftp_cpu_times): the first and the
 * latest given bound each core's busy share. Returns 0 or -FTP_E_NOMEM. */
int analysis_add_cpustat(struct analysis *a, uint64_t time_ns, const struct ftp_cpu_time *cpus, unsigned n);

/* Ends the open round, if any: its parallelism, holders and deadlocks are
 * counted. The live view calls it after each probe round; a reader of a file
 * calls it once at the end. Returns 0 or -FTP_E_NOMEM (the round is then
 * dropped from the counts that need it whole). */
int analysis_end_round(struct analysis *a);

/* Adds what src has counted over its ended rounds to a, as if a had been
 * given src's samples after its own (merge analyses in the order of their
 * times: the machine's CPU times keep the earliest first and the latest
 * last). src is only read. Returns 0 or -FTP_E_NOMEM (a then holds part of
 * src). The live view keeps one analysis per second and merges the last
 * ones to show a window. */
int analysis_merge(struct analysis *a, const struct analysis *src);

/* A Python line and how many samples were there. */
struct analysis_line {
	const char *function, *file; /* never NULL ("" when unknown) */
	int line;                    /* -1 unknown */
	uint64_t samples;
};

struct analysis_thread {
	pid_t tid;
	const char *name; /* the last name seen; NULL when never known */
	uint64_t samples;
	uint64_t states[FTP_STATE_COUNT]; /* samples in each state */
	uint64_t ticks;                   /* on-CPU ticks */
	uint64_t cpus;                    /* the CPUs (below 64) its ticks were on, a bit each */
	int last_cpu;                     /* of its latest tick; -1 none */
};

/* A CPU over the analysis' time. */
struct analysis_core {
	int cpu;
	double busy;   /* share of the time busy, whatever ran (/proc/stat); -1 unknown */
	double target; /* share of the time running the target's threads (ticks) */
	uint64_t ticks;
};

/* The native function on-CPU ticks interrupted, with the kind they were
 * counted as: where the CPU time went below the Python stack. */
struct analysis_cfunc {
	const char *symbol;  /* "[unknown]" when the module exports no name, "[kernel]" in the kernel */
	const char *library; /* the module's file name; "" unknown */
	enum ftp_cpu_kind kind;
	uint64_t samples; /* ticks */
	double share;     /* of all ticks */
};

/* Objects of one type whose reference counts the threads updated. */
struct analysis_refcount {
	const char *type;            /* tp_name; "?" when the object could not be named */
	uint64_t samples;            /* ticks in a refcount routine on objects of this type */
	double share;                /* of all ticks */
	uint64_t address;            /* the object of this type seen most */
	const char *name;            /* its short name (a str's text, a function's, ...); NULL: none */
	uint64_t objects;            /* distinct objects seen */
	struct analysis_line *lines; /* by samples, most first */
	size_t nlines;
};

/* What the on-CPU ticks say. */
struct analysis_oncpu {
	uint64_t ticks;                   /* 0: none were recorded */
	double tick_s;                    /* CPU time per tick */
	double effective;                 /* mean threads on a CPU at once: ticks * tick_s / duration */
	double kinds[FTP_CPU_KIND_COUNT]; /* effective, split by what the ticks ran */
	uint64_t kind_ticks[FTP_CPU_KIND_COUNT];
	struct analysis_core *cores; /* every CPU from 0 */
	size_t ncores;
	struct analysis_refcount *refcount; /* by samples, most first */
	size_t nrefcount;
	struct analysis_cfunc *cfuncs; /* by samples, most first */
	size_t ncfuncs;
	uint64_t refcount_ticks; /* all ticks in refcount routines, named or not */
};

struct analysis_lock {
	enum ftp_wait_kind kind;       /* FTP_WAIT_NONE: a lock of unknown kind */
	uint64_t address;              /* 0 unknown */
	const char *type;              /* critical sections: the object's type; NULL otherwise */
	uint64_t samples;              /* samples waiting for it */
	double wait_seconds;           /* samples * the interval */
	struct analysis_line *waiters; /* by samples, most first */
	size_t nwaiters;
	struct analysis_line *holders; /* the holder's innermost frame, same round */
	size_t nholders;
};

struct analysis_gil_waiter {
	pid_t tid;
	const char *name;
	uint64_t samples; /* in state gil */
	double seconds;
};

struct analysis_deadlock {
	/* threads[i] waits for the lock locks[i], held by threads[(i + 1) % n];
	 * it starts at the lowest tid. where[i]: the line where threads[i] waits
	 * (function NULL when it had no Python frame), the first round it was
	 * seen. */
	size_t n;
	pid_t *threads;
	enum ftp_wait_kind *kinds;
	uint64_t *addresses;
	struct analysis_line *where;
	uint64_t rounds;   /* rounds in which it was seen */
	uint64_t first_ns; /* time of the first of them */
};

/* What the analysis has counted so far, over ended rounds (thread states
 * also over the open one). Strings are lent by the analysis until
 * analysis_destroy(); the arrays are the caller's until
 * analysis_result_release(). */
struct analysis_result {
	uint64_t samples, rounds;
	double interval_s;               /* the time one sample stands for; 0 unknown */
	bool interval_measured;          /* from the rounds' times, else from the rate */
	double duration_s;               /* first to last round */
	uint64_t first_ns;               /* time of the first round */
	struct analysis_thread *threads; /* in the order first seen */
	size_t nthreads;
	/* Mean threads running or native per round; mean running; the cores
	 * (0 unknown). */
	double effective, python;
	long cores;
	struct analysis_lock *locks; /* by wait_seconds, most first */
	size_t nlocks;
	bool gil_build;                          /* some sample said whether it held the GIL */
	double gil_busy;                         /* share of rounds in which a thread held it */
	struct analysis_gil_waiter *gil_waiters; /* by samples, most first */
	size_t ngil_waiters;
	struct analysis_deadlock *deadlocks; /* in the order found */
	size_t ndeadlocks;
	struct analysis_oncpu oncpu;
};

/* Fills *out. Returns 0 or -FTP_E_NOMEM (out is then zeroed). */
int analysis_result(struct analysis *a, struct analysis_result *out);
void analysis_result_release(struct analysis_result *r);

#endif
