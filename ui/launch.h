/* SPDX-License-Identifier: MIT */
/* ui/: a command launched to be profiled. */
#ifndef FTPROF_LAUNCH_H
#define FTPROF_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ftprof/error.h"

struct launch {
	pid_t pid; /* 0 when nothing runs */
	bool reaped;
	int status; /* wait status, once reaped */
	/* Set by the caller before launch_start (zeroed: inherit): the child's
	 * stdout and stderr go to output_fd (the caller's, still open after),
	 * and its stdin comes from /dev/null, away from the terminal. */
	bool redirect;
	int output_fd;
};

/* Forks and executes argv (searched in PATH), inheriting stdin, stdout and
 * stderr unless l->redirect. Returns 0 once the exec succeeded, or a negative FTP_E_* with the
 * exec's errno in err (-FTP_E_NOTFOUND, -FTP_E_PERM, -FTP_E_IO). */
int launch_start(struct launch *l, char **argv, struct ftp_error *err);

/* Reaps the child if it has exited; true when it has. Never blocks. */
bool launch_exited(struct launch *l);

/* Waits for the child to exit. With sig nonzero (ftprof itself was
 * signalled), passes sig on to the child first, after a grace period for
 * SIGINT, which a terminal sends to the child too. */
void launch_finish(struct launch *l, int sig);

/* "exited with status 3", "was killed by signal 9 (Killed)". */
void launch_describe(const struct launch *l, char *buf, size_t len);

#endif
