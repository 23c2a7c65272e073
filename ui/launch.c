/* SPDX-License-Identifier: MIT */
/* Launching the command `record -- COMMAND ARGS...` profiles, and reaping it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"

/* In the child: stdin from /dev/null, stdout and stderr to fd. Returns 0 or
 * an errno. */
static int redirect(int fd)
{
	int null = open("/dev/null", O_RDONLY);
	if (null < 0)
		return errno;
	if (dup2(null, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		return errno;
	if (null != STDIN_FILENO)
		close(null);
	return 0;
}

int launch_start(struct launch *l, char **argv, struct ftp_error *err)
{
	const bool redir = l->redirect;
	const int output_fd = l->output_fd;
	memset(l, 0, sizeof(*l));
	l->redirect = redir;
	l->output_fd = output_fd;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return ftp_error_set(err, FTP_E_IO, errno, "cannot launch '%s': pipe", argv[0]);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return ftp_error_set(err, FTP_E_IO, e, "cannot launch '%s': fork", argv[0]);
	}
	if (pid == 0) {
		/* The child: the same process group and terminal, so that Ctrl-C
		 * reaches it as it would without ftprof. */
		close(fds[0]);
		int e = redir ? redirect(output_fd) : 0;
		if (!e) {
			execvp(argv[0], argv);
			e = errno;
		}
		if (write(fds[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fds[1]);
	int e = 0;
	ssize_t n;
	do
		n = read(fds[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	l->pid = pid;
	if (n == (ssize_t)sizeof(e)) {
		/* exec failed: reap the child and report its errno */
		waitpid(pid, NULL, 0);
		l->pid = 0;
		int code = e == ENOENT || e == ENOTDIR ? FTP_E_NOTFOUND
		           : e == EACCES || e == EPERM ? FTP_E_PERM
		                                       : FTP_E_IO;
		return ftp_error_set(err, code, e, "cannot execute '%s'", argv[0]);
	}
	return 0;
}

bool launch_exited(struct launch *l)
{
	if (!l->pid || l->reaped)
		return true;
	int status;
	pid_t r = waitpid(l->pid, &status, WNOHANG);
	if (r == l->pid || (r < 0 && errno == ECHILD)) {
		l->reaped = true;
		l->status = r == l->pid ? status : 0;
		return true;
	}
	return false;
}

/* Waits up to `seconds` for the child; true when it has exited. */
static bool wait_for(struct launch *l, double seconds)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	for (double waited = 0; waited <= seconds; waited += 0.01) {
		if (launch_exited(l))
			return true;
		nanosleep(&pause, NULL);
	}
	return launch_exited(l);
}

void launch_finish(struct launch *l, int sig)
{
	if (!l->pid || l->reaped)
		return;
	/* Ctrl-C on the terminal reached the child as well: give it a moment to
	 * exit by itself before passing the signal on. */
	if (sig && !wait_for(l, sig == SIGINT ? 1.0 : 0.0))
		kill(l->pid, sig);
	int status;
	pid_t r;
	do
		r = waitpid(l->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	l->reaped = true;
	l->status = r == l->pid ? status : 0;
}

void launch_describe(const struct launch *l, char *buf, size_t len)
{
	if (!l->reaped)
		snprintf(buf, len, "is still running");
	else if (WIFEXITED(l->status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(l->status));
	else if (WIFSIGNALED(l->status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(l->status),
		         strsignal(WTERMSIG(l->status)));
	else
		snprintf(buf, len, "ended");
}
