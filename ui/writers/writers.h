/* SPDX-License-Identifier: MIT */
/* ui/writers/: the output formats of record, one file each, behind one table.
 * A writer reads the profile through its read API (profile.h) and knows
 * nothing of the probe. */
#ifndef FTPROF_WRITERS_H
#define FTPROF_WRITERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

struct ftp_sample;
struct ftp_cpu_time;
struct writer_stream; /* a streaming writer's state */

#define WRITER_TIMELINE (1u << 0) /* needs the profile's timelines (opts.timeline) */
#define WRITER_STREAM (1u << 1)   /* writes each sample as it comes, not the profile at the end */
/* Takes every sample, whatever its state, a torn one or one without Python
 * frames too: record's filters (but --gil) are for flame graphs. */
#define WRITER_EVERY_SAMPLE (1u << 2)

/* What record's command line asks of a writer's view (WRITER_VIEW). */
struct writer_opts {
	bool reverse; /* --reverse: stacks innermost first, the callers above */
};

#define WRITER_VIEW (1u << 3) /* takes writer_opts: written by write_view, not write */

/* A format. Every function returns 0, or -1 with errno set by the failed
 * write (ENOMEM when memory ran out). */
struct writer {
	const char *name;
	const char *const *aliases; /* other names -f takes; NULL-terminated, or NULL */
	const char *const *exts;    /* extensions (without the dot) that select it; NULL-terminated */
	const char *default_ext;    /* of the file written when -o is not given */
	const char *help;           /* what --help says of it, above its extensions */
	unsigned flags;             /* WRITER_* */
	/* Whole-profile writers: the profile at the end. */
	int (*write)(const struct profile *pr, FILE *f);
	/* The same, for a writer that takes record's view options (WRITER_VIEW). */
	int (*write_view)(const struct profile *pr, const struct writer_opts *opts, FILE *f);
	/* Streaming writers: begin before the first sample (the profile's
	 * target set), one call per sample (its stack interned into pr with
	 * profile_stack; weight: the seconds it stands for, the time since the
	 * sampler's previous round), finish after the last one when the writer
	 * keeps what it needs and writes the file at the end (NULL for a writer
	 * that has written each sample), end last, whatever happened (NULL ok;
	 * frees *st, which may be NULL). */
	int (*begin)(struct writer_stream **st, const struct profile *pr, FILE *f);
	int (*sample)(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
	              double weight);
	int (*finish)(struct writer_stream *st, const struct profile *pr, FILE *f);
	void (*end)(struct writer_stream *st);
	/* Streaming writers that keep the machine's CPU times (NULL ok): called
	 * before the first sample, about once a second, and after the last. */
	int (*cpustat)(struct writer_stream *st, FILE *f, uint64_t time_ns, const struct ftp_cpu_time *cpus,
	               unsigned n);
};

/* The table, in the order --help lists it; writers[0] is the default. */
extern const struct writer writers[];
extern const size_t nwriters;

/* The writer -f NAME names (its name or an alias), or NULL. */
const struct writer *writer_by_name(const char *name);

/* The writer path's extension names (the longest that matches: .gecko.json
 * before .json): 0 and *w set, 1 for an extension that says nothing, -1 for
 * a format ftprof does not write (.html). */
int writer_by_path(const char *path, const struct writer **w);

/* "folded, speedscope or raw", into buf (cut to len). */
void writers_names(char *buf, size_t len);

/* The --help lines of -f: one per format, each indented by `indent`. */
void writers_put_help(FILE *f, int indent);

/* The writers' shared pieces. */

/* A frame as `function (file:line)`, escaped for the folded format. */
void writer_put_folded_frame(FILE *f, const struct profile_frame *fr);

/* Flushes f and checks it for a write error: 0, or -1 with errno set. */
int writer_finish(FILE *f);

int folded_write(const struct profile *pr, FILE *f);
int svg_write(const struct profile *pr, const struct writer_opts *opts, FILE *f);
int speedscope_write(const struct profile *pr, FILE *f);
int raw_begin(struct writer_stream **st, const struct profile *pr, FILE *f);
int raw_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
               double weight);
void raw_end(struct writer_stream *st);
int raw_cpustat(struct writer_stream *st, FILE *f, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                unsigned n);
int gecko_begin(struct writer_stream **st, const struct profile *pr, FILE *f);
int gecko_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
                 double weight);
int gecko_finish(struct writer_stream *st, const struct profile *pr, FILE *f);
void gecko_end(struct writer_stream *st);
int pprof_begin(struct writer_stream **st, const struct profile *pr, FILE *f);
int pprof_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
                 double weight);
int pprof_finish(struct writer_stream *st, const struct profile *pr, FILE *f);
void pprof_end(struct writer_stream *st);

#endif
