/* SPDX-License-Identifier: MIT */
/* Stopping every thread of a process for an exact snapshot, and always resuming it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "probe_int.h"

static bool seized(const struct probe_stopper *st, pid_t tid)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->tids[i] == tid)
			return true;
	return false;
}

static int push(struct probe_stopper *st, pid_t tid)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		pid_t *t = realloc(st->tids, cap * sizeof(*t));
		if (!t)
			return -FTP_E_NOMEM;
		st->tids = t;
		int *s = realloc(st->pending_sig, cap * sizeof(*s));
		if (!s)
			return -FTP_E_NOMEM;
		st->pending_sig = s;
		st->cap = cap;
	}
	st->tids[st->n] = tid;
	st->pending_sig[st->n] = 0;
	st->n++;
	return 0;
}

/* Waits until tid is in a ptrace stop. A signal arriving meanwhile stops it
 * too (signal-delivery-stop); it is remembered and re-injected at detach.
 * Returns false when the thread has gone. */
static bool wait_stopped(pid_t tid, int *pending)
{
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return false;
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status);
		unsigned event = (unsigned)status >> 16;
		if (event == PTRACE_EVENT_STOP)
			return true; /* the interrupt's stop, or a group-stop */
		if (sig != SIGTRAP)
			*pending = sig;
		return true;
	}
}

int probe_stop(struct probe_stopper *st, pid_t pid, struct ftp_error *err)
{
	st->pid = pid;
	st->n = 0;
	/* Threads may be created while we seize: repeat until a pass adds none. */
	for (int pass = 0; pass < 16; pass++) {
		pid_t *tids = NULL;
		long n = probe_tasks(pid, &tids, err);
		if (n < 0) {
			probe_resume(st);
			return (int)n;
		}
		size_t added = 0;
		for (long i = 0; i < n; i++) {
			if (seized(st, tids[i]))
				continue;
			if (ptrace(PTRACE_SEIZE, tids[i], 0, 0) < 0) {
				int e = errno;
				pid_t tid = tids[i];
				if (e == ESRCH)
					continue; /* the thread just exited */
				free(tids);
				probe_resume(st);
				if (e == EPERM)
					return ftp_error_set(
					        err, FTP_E_PERM, e,
					        "ptrace(PTRACE_SEIZE, %d): cannot stop the target "
					        "(another tracer is attached, or no CAP_SYS_PTRACE); "
					        "use --nonblocking",
					        (int)tid);
				return ftp_error_set(err, FTP_E_PERM, e, "ptrace(PTRACE_SEIZE, %d)",
				                     (int)tid);
			}
			if (push(st, tids[i]) < 0) {
				ptrace(PTRACE_DETACH, tids[i], 0, 0);
				free(tids);
				probe_resume(st);
				return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "stopping pid %d", (int)pid);
			}
			added++;
			if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) < 0 ||
			    !wait_stopped(tids[i], &st->pending_sig[st->n - 1])) {
				/* gone meanwhile: forget it */
				ptrace(PTRACE_DETACH, tids[i], 0, 0);
				st->n--;
			}
		}
		free(tids);
		if (!added && pass > 0)
			return 0;
	}
	return 0;
}

void probe_resume(struct probe_stopper *st)
{
	for (size_t i = 0; i < st->n; i++)
		ptrace(PTRACE_DETACH, st->tids[i], 0, (void *)(uintptr_t)st->pending_sig[i]);
	st->n = 0;
}

void probe_stopper_release(struct probe_stopper *st)
{
	probe_resume(st);
	free(st->tids);
	free(st->pending_sig);
	memset(st, 0, sizeof(*st));
}
