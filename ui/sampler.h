/* SPDX-License-Identifier: MIT */
/* ui/: the sampling loop that record (and, later, attach) runs: rounds paced
 * on a monotonic clock, Ctrl-C and SIGTERM ending it with what was collected
 * kept, a progress line, the end of the target or of a launched command. */
#ifndef FTPROF_SAMPLER_H
#define FTPROF_SAMPLER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cmd_options;
struct ftp_error;
struct ftp_probe;
struct ftp_probe_opts;
struct launch;
struct sampler;

#define SAMPLER_DEFAULT_RATE 100.0
#define SAMPLER_MAX_RATE 1000000.0 /* a round costs a microsecond or more: beyond, all is overhead */

/* Routes SIGINT, SIGTERM and SIGHUP to the sampler: the loop ends at the next
 * round, and a blocking call returns. Call it before starting anything that
 * a signal must be able to interrupt. */
void sampler_catch_signals(void);

/* The stop signal caught (SIGINT, SIGTERM, SIGHUP), or 0. */
int sampler_signal(void);

/* Opens the target o names: attaches to its PID, or launches its command
 * into *child and waits until a Python interpreter is up in it (or the
 * command exits, or a stop signal comes: -FTP_E_INTERRUPTED). Raises the
 * descriptor limit, which a probe of many threads needs. Returns 0 and
 * stores a probe the caller must ftp_probe_destroy(), or a negative FTP_E_*
 * with err filled; a launched command is the caller's to launch_finish()
 * either way. */
int sampler_open_target(const struct cmd_options *o, const struct ftp_probe_opts *opts, struct launch *child,
                        struct ftp_probe **probe, struct ftp_error *err);

/* One round: read the target once. weight is the seconds the round stands
 * for (the time since the last round began; the period for the first).
 * Returns 0 after a round, -FTP_E_TORN for a round that counts though the
 * thread list changed while it was read, -FTP_E_EXITED when the target is
 * gone, SAMPLER_STOP to end the loop (the caller knows why), or another
 * negative FTP_E_* for a round that failed. */
typedef int sampler_round_fn(void *arg, double weight);
#define SAMPLER_STOP (-1000)

/* Writes the progress line's text (the sampler clears the line before it
 * and after the last one). */
typedef void sampler_progress_fn(void *arg, FILE *f, const struct sampler *s, double secs);

enum sampler_end {
	SAMPLER_END_STOPPED,  /* a round returned SAMPLER_STOP */
	SAMPLER_END_DURATION, /* the duration ran out */
	SAMPLER_END_SIGNAL,   /* a stop signal came (sampler_signal()) */
	SAMPLER_END_EXITED,   /* the target exited */
	SAMPLER_END_COMMAND,  /* the launched command exited */
};

struct sampler {
	/* set by the caller */
	double rate;          /* rounds per second, at most SAMPLER_MAX_RATE */
	double duration;      /* seconds; 0: until stopped */
	struct launch *child; /* a launched command whose exit ends the loop, or NULL */
	bool progress;        /* a progress line on stderr, when it is a terminal */
	sampler_round_fn *round;
	sampler_progress_fn *show;
	void *arg;
	/* results */
	uint64_t rounds;        /* rounds taken (torn ones included) */
	uint64_t missed;        /* ticks the rounds overran */
	uint64_t failed_rounds; /* rounds that failed */
	uint64_t cut_rounds;    /* rounds whose thread list changed while read */
	uint64_t start_ns, end_ns;
	int last; /* what the last round returned */
	enum sampler_end end;
};

/* Runs rounds until the duration, a signal, the target's or the command's
 * exit, or a round's SAMPLER_STOP ends them. */
void sampler_run(struct sampler *s);

#endif
