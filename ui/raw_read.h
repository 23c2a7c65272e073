/* SPDX-License-Identifier: MIT */
/* ui/: reading a raw recording (format 2, docs/record-formats.md) back, one
 * thread sample at a time, as the analysis takes them. */
#ifndef FTPROF_RAW_READ_H
#define FTPROF_RAW_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "analysis/analysis.h"
#include "ftprof/error.h"

/* What the first header line says; fields it lacks stay zero ("" for python). */
struct raw_header {
	int format;
	pid_t pid;
	char python[64]; /* the version, as written (escaped when printed) */
	bool free_threaded;
	double rate; /* Hz asked */
	long cores;
	uint64_t tick_ns; /* format 3: the CPU time of an on-CPU tick; 0 none */
	/* Format 3: the machine's CPU times, first and last written (malloc'd;
	 * raw_header_release frees them). */
	struct ftp_cpu_time *cpus_first, *cpus_last;
	unsigned ncpus_first, ncpus_last;
};

void raw_header_release(struct raw_header *hdr);

/* Called for each sample (format 3 on: with its on-CPU ticks, whose kind,
 * cpu, time, symbol, object address and object_type are read, and from
 * format 4 on object_name and the library, as the tick's object: a file
 * name, not a path; inlined is not); its strings are lent for the call. Returns 0 to go
 * on, or a negative value that raw_read returns. */
typedef int raw_sample_fn(const struct analysis_sample *s, void *arg);

/* Reads f (named path in messages) to its end. Returns 0, or -FTP_E_CORRUPT
 * with err's message "PATH:LINE: what is wrong" (a header that is not raw 2 to 4,
 * a malformed line), -FTP_E_IO on a read error, or the callback's negative
 * -FTP_E_* (its name in err). hdr is filled as the header is read. */
int raw_read(FILE *f, const char *path, struct raw_header *hdr, raw_sample_fn *fn, void *arg,
             struct ftp_error *err);

/* The same with each sample's whole stack: the stack column as written
 * (folded labels, outermost first, ';'-separated, escaped), which fn may cut;
 * s's innermost frame is not filled. */
typedef int raw_stack_fn(const struct analysis_sample *s, char *stack, void *arg);
int raw_read_stacks(FILE *f, const char *path, struct raw_header *hdr, raw_stack_fn *fn, void *arg,
                    struct ftp_error *err);

/* Whether the folded label l (still escaped) is a Python frame,
 * "function (file:line)" or "function (file)", and if so its parts, cut in
 * place (line -1 when it has none); l is left whole when it is not. */
bool raw_python_label(char *l, char **function, char **file, int *line);

/* Decodes the escapes of ui_put_folded (\\, \xNN, \u{N}) in s, in place; a
 * \x00 or anything malformed is kept as written. */
void raw_unescape(char *s);

#endif
