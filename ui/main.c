/* SPDX-License-Identifier: MIT */
/* ftprof's entry point: the command table and shared command-line helpers. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "attach", cmd_attach, "watch a running process live: threads, states, functions, locks" },
	{ "record", cmd_record, "sample a process or a command into a flame graph profile" },
	{ "dump", cmd_dump, "print every Python thread's stack and state, once" },
	{ "report", cmd_report, "what a raw recording shows: states, parallelism, locks, deadlocks" },
	{ "diff", cmd_diff, "compare two recordings: which functions' share grew or shrank" },
};

static void print_usage(FILE *f)
{
	fputs("usage: ftprof [--version] [--help] COMMAND [ARGS]\n"
	      "\n"
	      "A sampling profiler for CPython 3.8-3.15, free-threaded and GIL builds.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'ftprof COMMAND --help' describes a command; ftprof(1) describes them all.\n"
	      "Exit status: 0 ok, 1 partial results, 2 fatal error, 64 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		if (strcmp(cmd, "help") == 0 && argc > 2) {
			char *help_argv[] = { argv[2], "--help", NULL };
			for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (strcmp(commands[i].name, argv[2]) == 0)
					return commands[i].fn(2, help_argv);
		}
		print_usage(stdout);
		return ui_finish_output(NULL, EXIT_OK);
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("ftprof %s\n", FTPROF_VERSION);
		return ui_finish_output(NULL, EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	if (cmd[0] == '-')
		fprintf(stderr, "ftprof: unknown option '%s' (see 'ftprof --help')\n", cmd);
	else
		fprintf(stderr, "ftprof: unknown command '%s' (see 'ftprof --help')\n", cmd);
	return EXIT_USAGE;
}

void ui_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, cmd ? "ftprof %s: " : "ftprof: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool ui_parse_pid(const char *cmd, const char *s, pid_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || v > 0x3fffffff) {
		ui_error(cmd, "'%s' is not a process id", s);
		return false;
	}
	*out = (pid_t)v;
	return true;
}

void ui_catch_stop_signals(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int ui_exit_code(int err)
{
	switch (err < 0 ? -err : err) {
	case FTP_E_OK:
		return EXIT_OK;
	case FTP_E_INTERRUPTED:
		return EXIT_INTERRUPTED;
	case FTP_E_TORN:
		return EXIT_PARTIAL;
	default:
		return EXIT_FATAL;
	}
}

int ui_finish_output(const char *cmd, int code)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ui_error(cmd, "write error on standard output: %s", strerror(errno));
		return EXIT_FATAL;
	}
	return code;
}
