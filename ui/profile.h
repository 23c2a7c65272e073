/* SPDX-License-Identifier: MIT */
/* ui/: the profile that record builds: frames and stacks interned once, counts
 * per stack, and, when asked for, each thread's timeline for speedscope. The
 * profile owns every string it holds (a string table), so it outlives the
 * probe whose samples built it. Writers (ui/writers/) see it only through the
 * read API below, which names nothing of the probe. */
#ifndef FTPROF_PROFILE_H
#define FTPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct profile; /* opaque */
struct ftp_sample;

struct profile_opts {
	bool thread_root; /* stacks start with a `thread "name" (tid)` frame */
	bool timeline;    /* keep every thread's samples in order (speedscope) */
	bool by_function; /* Python frames without lines: a function's lines merged */
	bool states;      /* profile_add: each stack ends with a `[state]` frame */
};

/* Returns NULL when out of memory. */
struct profile *profile_create(const struct profile_opts *opts);
void profile_destroy(struct profile *pr); /* NULL ok */

/* ---- building --------------------------------------------------------- */

/* Adds one thread's stack, weighing `weight` seconds. Strings are copied
 * into the profile the first time they are seen. A code object is known by
 * its ftp_code pointer while samples come in, so every sample added to one
 * profile must come from one probe, alive while it adds (the pointers are
 * compared, never read after ftp_probe_destroy()). Returns 0 or
 * -FTP_E_NOMEM. */
int profile_add(struct profile *pr, const struct ftp_sample *s, double weight);

/* What a streaming writer made of a thread's last stack: the profile frees
 * text when the thread's stack changes or the thread's caches are dropped. */
struct profile_memo {
	char *text; /* malloc'd, or NULL */
	size_t len;
};

/* Interns the frames of s's stack without counting it (for writers that
 * write each sample as it comes): *frames gets their ids, outermost first
 * (s->nframes of them, the thread's until its next sample), *memo the
 * thread's memo, empty unless the stack is the one it was made for. Frames
 * shared with the thread's last stack cost no lookup. A profile is fed by
 * profile_add or by profile_stack, never both. Returns 0 or -FTP_E_NOMEM. */
int profile_stack(struct profile *pr, const struct ftp_sample *s, const uint32_t **frames,
                  struct profile_memo **memo);

/* Ends a round of samples: threads that had none in it (ended, renamed)
 * give up the caches that speed up their next sample. */
void profile_end_round(struct profile *pr);

/* What was sampled, for the writers' headers. Strings are copied. */
struct profile_target {
	pid_t pid;
	const char *version; /* "3.13.15" */
	bool free_threaded;
	const char *command; /* the command line, or the executable */
	double rate;         /* samples per second asked */
	int cores;           /* CPUs online on the machine recording, 0 if unknown */
	uint64_t tick_ns;    /* the CPU time an on-CPU tick stands for; 0: no ticks */
	/* CLOCK_REALTIME minus CLOCK_MONOTONIC when recording began, in ns (0 if
	 * unknown): a sample's time_ns plus this is its wall-clock time. */
	int64_t realtime_offset_ns;
};

/* Returns 0 or -FTP_E_NOMEM. */
int profile_set_target(struct profile *pr, const struct profile_target *t);

/* ---- reading ---------------------------------------------------------- */
/* Strings are the profile's until profile_destroy(). */

/* The target as set (zeroed, with "" strings, if it never was). */
void profile_target(const struct profile *pr, struct profile_target *out);

enum profile_frame_kind {
	PROFILE_FRAME_PYTHON,
	PROFILE_FRAME_NATIVE,
	PROFILE_FRAME_THREAD,
	PROFILE_FRAME_STATE /* opts.states: the sample's state, the innermost frame */
};

struct profile_frame {
	enum profile_frame_kind kind;
	/* PYTHON: the qualified name; NATIVE: the symbol, NULL if unknown;
	 * THREAD: the threading name, NULL if unknown; STATE: the state's name
	 * ("lock", sample.h's) */
	const char *function;
	/* PYTHON: the file name; NATIVE: the mapped file's path, NULL if unknown */
	const char *file;
	int line;    /* PYTHON: -1 when written without a line */
	uint64_t ip; /* NATIVE without a symbol */
	pid_t tid;   /* THREAD */
};

/* Frames are numbered 0..profile_frames()-1 in the order they were met. */
size_t profile_frames(const struct profile *pr);
void profile_frame(const struct profile *pr, uint32_t id, struct profile_frame *out);

/* Stacks are nodes of a prefix tree numbered 0..profile_nodes()-1, node 0
 * the empty stack; a parent comes before its children. */
size_t profile_nodes(const struct profile *pr);
/* Samples whose stack is exactly node's. */
uint64_t profile_node_count(const struct profile *pr, uint32_t node);
/* The most frames a stack has. */
size_t profile_max_depth(const struct profile *pr);
/* Frame ids of node's stack, outermost first, into path (room for
 * profile_max_depth() of them); returns how many. */
size_t profile_node_path(const struct profile *pr, uint32_t node, uint32_t *path);

/* Unique stacks sampled (nodes with a count). */
size_t profile_stacks(const struct profile *pr);

/* Threads, in the order they were met; with opts.timeline each has its
 * samples in order, consecutive ones of the same stack merged into a run. */
struct profile_run {
	uint32_t node;
	double weight; /* seconds */
};

struct profile_thread {
	pid_t tid;
	const char *name; /* NULL if unknown */
	double total;     /* seconds (with opts.timeline) */
	const struct profile_run *runs;
	size_t nruns;
};

size_t profile_threads(const struct profile *pr);
void profile_thread(const struct profile *pr, size_t i, struct profile_thread *out);

#endif
