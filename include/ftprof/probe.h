/* SPDX-License-Identifier: MIT */
/* probe/: a live Python process, read from outside. Never prints or exits. */
#ifndef FTPROF_PROBE_H
#define FTPROF_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftprof/error.h"
#include "ftprof/sample.h"

struct ftp_probe; /* opaque */

struct ftp_probe_opts {
	bool blocking;      /* stop every thread while a round is read */
	bool thread_names;  /* resolve threading names (one dict walk per round) */
	unsigned max_depth; /* frames kept per thread; 0 = default (4096) */
	bool task_state;    /* read each thread's /proc state and system call
				(a few microseconds per thread and round) */
	bool task_events;   /* with task_state: follow each thread's state through
				perf_event context-switch records instead, reading
				/proc only when a thread blocks (for repeated rounds) */
	bool native;        /* native frames too, with the Python frames in
				place of the eval calls that run them. Blocking:
				every thread, unwound stopped (libdwfl). Else:
				threads on a CPU or preempted, unwound from their
				last on-CPU tick's copy of their registers and
				stack; needs oncpu_hz (docs/native.md) */
	unsigned oncpu_hz;  /* on-CPU samples: each thread is sampled by the
				kernel (perf_event cpu-clock) every 1/oncpu_hz
				seconds of CPU time it uses; 0: off */
};

/* What the probe found in the target. Lent until ftp_probe_destroy(). */
struct ftp_target_info {
	pid_t pid;
	uint32_t version;     /* PY_VERSION_HEX */
	char version_str[32]; /* "3.13.0" */
	bool free_threaded;
	bool gil_enabled;         /* false on a free-threaded build running without it */
	bool debug_offsets;       /* layout read from the target's _Py_DebugOffsets */
	char executable[4096];    /* /proc/PID/exe */
	char cmdline[1024];       /* /proc/PID/cmdline, arguments joined by spaces */
	char library[4096];       /* the ELF file holding _PyRuntime */
	uint64_t runtime_addr;    /* &_PyRuntime in the target */
	const char *state_source; /* where thread states come from: "/proc",
				    "perf_event context switches", "none" */
	/* On-CPU samples: the CPU time one tick stands for (0: off), and where
	 * they come from: "perf_event cpu-clock", "off", or why they could not
	 * be had ("perf_event_open: Permission denied", ...). */
	uint64_t oncpu_period_ns;
	char oncpu_source[96];
	/* Refcount objects need the interpreter's DWARF: "DWARF" when its
	 * module has it, "none (stripped)" when not, "" before the first
	 * tick in the interpreter. */
	char oncpu_dwarf[32];
};

/* Attaches to pid: finds the interpreter and its layout and checks the layout
 * against the live process; with opts->native, also reads the target's
 * modules (the executable and shared libraries mapped now). Does not stop the
 * target. Returns 0 and stores a probe the caller must ftp_probe_destroy(), or
 * a negative FTP_E_* with err filled: -FTP_E_INVAL (native without blocking
 * or oncpu_hz), -FTP_E_PERM or -FTP_E_UNSUPPORTED (native without blocking:
 * perf_event refused),
 * -FTP_E_NOPROC, -FTP_E_PERM, -FTP_E_NOTPYTHON, -FTP_E_UNSUPPORTED,
 * -FTP_E_LAYOUT, -FTP_E_EXITED, -FTP_E_DWARF (native: the modules cannot be
 * read), -FTP_E_NOMEM. */
int ftp_probe_create(struct ftp_probe **out, pid_t pid, const struct ftp_probe_opts *opts,
                     struct ftp_error *err);
void ftp_probe_destroy(struct ftp_probe *probe); /* NULL ok; detaches if stopped */

const struct ftp_target_info *ftp_probe_info(const struct ftp_probe *probe);

/* Reads one round: every Python thread of every interpreter, calling fn for
 * each. In blocking mode the target is stopped for the round and always
 * resumed before returning; a target someone else stopped (SIGSTOP) is read
 * and left stopped. Returns 0, the callback's nonzero value, or a negative
 * FTP_E_*: -FTP_E_EXITED when the target is gone, -FTP_E_EXEC when it has
 * replaced its program (checked after a failed round, and every 100 ms), after
 * which every round would fail; -FTP_E_TORN when the list of threads changed
 * while it was read, after the threads before the break were reported.
 * Threads that could not be read consistently are reported with
 * FTP_SAMPLE_TORN and counted. */
int ftp_probe_sample(struct ftp_probe *probe, ftp_sample_fn *fn, void *arg, struct ftp_error *err);

/* One round as a whole, for analyses that need every thread of an instant
 * together (wait-for cycles, effective parallelism). number is the probe's
 * round clock: it starts at 1 and goes up by one with every round asked for,
 * a failed one included. */
struct ftp_round {
	uint64_t number;
	uint64_t time_ns; /* CLOCK_MONOTONIC, when the round began */
};

/* The callbacks of ftp_probe_sample_round. begin and end may be NULL; sample
 * is called as ftp_probe_sample's fn, between them. */
struct ftp_round_fns {
	void (*begin)(const struct ftp_round *round, void *arg);
	ftp_sample_fn *sample;
	/* Always called when begin was, with the value the round returns. */
	void (*end)(const struct ftp_round *round, int ret, void *arg);
};

/* ftp_probe_sample, bracketed: begin before the round's first sample, end
 * after its last (also after a round that failed or was stopped by sample).
 * Returns as ftp_probe_sample. */
int ftp_probe_sample_round(struct ftp_probe *probe, const struct ftp_round_fns *fns, void *arg,
                           struct ftp_error *err);

/* Counters since creation. */
struct ftp_probe_stats {
	uint64_t rounds;
	uint64_t samples;
	uint64_t torn;
	uint64_t reads;         /* process_vm_readv calls */
	uint64_t retried;       /* thread stacks torn in the round's snapshot and
				   read again at once */
	uint64_t reused;        /* thread stacks reported again without a read:
				   the thread had not run, or not held the
				   GIL, since (task_events) */
	uint64_t syscall_sites; /* blocks whose system call was known from its call
				   site and arguments (task_events, with registers) */
	uint64_t syscall_reads; /* blocks whose system call was read from /proc */
	uint64_t job_stopped;   /* blocking rounds that found the target stopped by
				   a signal (SIGSTOP, SIGTSTP): its stacks do not move */
	uint64_t ticks;         /* on-CPU samples delivered */
	uint64_t ticks_lost;    /* on-CPU samples the kernel could not write
				   (a thread's ring was full) */
	uint64_t codes;         /* code objects held now (replaced ones included):
				   ftp_probe_trim bounds it */
	/* native without blocking: samples given native frames from their
	 * thread's last tick, and samples left with their Python frames only
	 * (the thread was blocked, had no tick yet, had entered an eval call
	 * since, or could not be unwound) */
	uint64_t native_sampled;
	uint64_t native_missing;
};
void ftp_probe_stats(const struct ftp_probe *probe, struct ftp_probe_stats *out);

/* Frees what the probe keeps of code objects it has not seen in its last
 * `rounds` rounds, and of code objects replaced before them, and the short
 * names of refcount objects, so that a probe sampling a program that makes
 * code and objects without end (a long attach) stays bounded. The ftp_code
 * pointers and the ticks' object names of the samples of earlier rounds
 * become invalid: a caller that keeps them (record's profile) must not call
 * it. The stacks kept for threads that did not move are dropped too: the
 * next round reads every thread. */
void ftp_probe_trim(struct ftp_probe *probe, uint64_t rounds);

/* The machine's CPUs as /proc/stat counts them (struct ftp_cpu_time in
 * sample.h). Stores at
 * most max CPUs in cpus (indexed by CPU number; a CPU offline has both 0)
 * and returns how many entries it filled (the highest CPU number + 1, capped
 * at max), or a negative FTP_E_* with err filled. */
int ftp_cpu_times(struct ftp_cpu_time *cpus, unsigned max, struct ftp_error *err);

#endif
