/* SPDX-License-Identifier: MIT */
/* ui/: the options that several commands share, parsed in one place: the
 * target (PID, -p PID or -- COMMAND), the rate and duration of sampling,
 * blocking or not, native frames, idle threads. Each command adds its own
 * options and handles them in a callback. */
#ifndef FTPROF_OPTIONS_H
#define FTPROF_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>

/* Which shared options a command takes (its short letters are its own
 * choice, in the shortopts it passes). */
#define OPT_PID (1u << 0)      /* -p PID, or PID as the argument */
#define OPT_COMMAND (1u << 1)  /* -- COMMAND ARGS... (or COMMAND ARGS...) instead */
#define OPT_RATE (1u << 2)     /* -r, --rate HZ */
#define OPT_DURATION (1u << 3) /* -d, --duration SECS */
#define OPT_BLOCKING (1u << 4) /* --blocking, -n/--nonblocking */
#define OPT_NATIVE (1u << 5)   /* --native (needs blocking) */
#define OPT_IDLE (1u << 6)     /* -i, --idle */
#define OPT_ONCPU (1u << 7)    /* --no-oncpu: no perf_event on-CPU samples */

/* A command's view of the shared options: set cmd, which and the defaults
 * (blocking, rate) before options_parse; read the rest after it. */
struct cmd_options {
	const char *cmd; /* "record": the prefix of messages */
	unsigned which;  /* OPT_* */
	pid_t pid;       /* 0 when a command is given */
	char **command;  /* NULL-terminated (argv's), or NULL */
	double rate;     /* per second; the default stays if not given */
	double duration; /* seconds; 0: until stopped */
	bool blocking;   /* the default stays if not given; --native sets it */
	bool native, idle;
	bool no_oncpu;
	bool nonblocking_given; /* (parser state) */
};

/* A command's own option c (getopt's value) with its argument arg: returns
 * 0 to go on, OPTIONS_DONE when the command is done (--help was printed), or
 * an exit code to end with (a usage error, printed). */
typedef int options_own_fn(void *ctx, int c, const char *arg);
#define OPTIONS_DONE (-1)

/* Parses argv (argv[0] the command's name) with getopt_long: shortopts is
 * the command's whole short option string (shared letters included, starting
 * with '+'), own_long its own long options (ending with a zeroed entry).
 * Returns 0, OPTIONS_DONE, or an exit code after printing the usage error. */
int options_parse(struct cmd_options *o, int argc, char **argv, const char *shortopts,
                  const struct option *own_long, options_own_fn *own, void *ctx);

/* "100", "2.5", "1k", "10khz", "50Hz", "1M", "1MHz". */
bool options_parse_rate(const char *s, double *out);
/* "2.5", "10s". */
bool options_parse_seconds(const char *s, double *out);

#endif
