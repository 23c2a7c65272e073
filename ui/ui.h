/* SPDX-License-Identifier: MIT */
/* ui/ internals: commands, output helpers. */
#ifndef FTPROF_UI_H
#define FTPROF_UI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "analysis/deadlock.h"
#include "escape.h"
#include "ftprof/probe.h"

/* Exit codes, documented in docs/ftprof.1. */
enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1, /* some threads or samples could not be read */
	EXIT_FATAL = 2,   /* nothing useful: no process, not Python, no permission */
	EXIT_USAGE = 64,  /* bad command line */
	EXIT_INTERRUPTED = 130,
};

/* Commands: each parses its own options; argv[0] is the command name. */
int cmd_attach(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Parses a PID argument. Returns false (and prints the usage error) when s
 * is not a positive decimal number. */
bool ui_parse_pid(const char *cmd, const char *s, pid_t *out);

/* Prints "ftprof CMD: MESSAGE" to stderr. */
void ui_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Routes SIGINT, SIGTERM and SIGHUP to handler (without SA_RESTART, so that
 * a blocking call returns and the command can wind down). */
void ui_catch_stop_signals(void (*handler)(int));

/* The exit code for a failed probe call. */
int ui_exit_code(int err);

/* Checks stdout for a write error (full disk, closed pipe) after output. */
int ui_finish_output(const char *cmd, int code);

/* A thread as collected for the dump printer: a copy that outlives the
 * probe's callback. */
struct dump_thread {
	struct ftp_sample s; /* frames, name and wait.type point into this struct's copies */
	struct ftp_frame *frames;
	char *name;
	char *wait_type;
};

struct dump {
	const struct ftp_target_info *info;
	struct dump_thread *threads;
	size_t n, cap;
	unsigned torn;
	bool native;                /* native frames were asked for */
	const char *error;          /* a problem that did not stop the dump, or NULL */
	struct deadlocks deadlocks; /* among threads (members' .thread index it) */
};

void dump_print_text(FILE *f, const struct dump *d);
void dump_print_json(FILE *f, const struct dump *d);

#endif
