/* SPDX-License-Identifier: MIT */
/* Stopping every thread of a process for an exact snapshot, and always resuming it.
 *
 * A thread that dies while traced stays a zombie until its tracer waits for
 * it, and two things wait on that: the target's parent (a process cannot be
 * reaped before its threads are) and an exec in another thread of the target,
 * which kills every other thread and waits until each is released, holding
 * the lock PTRACE_SEIZE takes. A stopper blocked in PTRACE_SEIZE (or in
 * waitpid for a thread that is in that exec) would wait forever for an exec
 * that waits for it, and the kernel restarts the call after any handled
 * signal. So a helper thread waits for the tracees that died whenever the
 * stopper has been blocked for a while, and threads found dead at detach are
 * waited for until they are gone. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "process/process.h"

#define REAP_PERIOD_NS 20000000L /* a blocked seize or wait this old may be waiting on an exec */
#define LEADER_SPINS 32          /* sched_yield()s before the leader is polled with sleeps */
#define LEADER_POLL_NS 100000L

struct stopper_reaper {
	pthread_t thread;
	pthread_mutex_t lock; /* held by the stopper except inside blocking calls */
	pthread_cond_t wake;
	bool quit;
	uint64_t blocked; /* nonzero: the number of the blocking call under way */
	uint64_t calls;
	struct probe_stopper *st;
};

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

/* Waits for tid if it is a tracee that has exited. Returns true when it is
 * gone (waited for now, or not ours any more). Never takes a stop report:
 * those belong to wait_stopped(). Never the leader: an exec does not wait
 * for it, and it may be ftprof's own child, whose status is launch.c's. */
static bool reap(pid_t pid, pid_t tid)
{
	if (tid == pid)
		return true;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0)
		return errno == ECHILD;
	if (si.si_pid == 0 ||
	    (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED))
		return false; /* still running, or in a stop */
	memset(&si, 0, sizeof(si));
	waitid(P_PID, (id_t)tid, &si, WEXITED | WNOHANG | __WALL);
	return true;
}

/* Remembers a tracee that died while stopped, to be waited for. */
static void dying_add(struct probe_stopper *st, pid_t tid)
{
	for (size_t i = 0; i < st->ndying; i++)
		if (st->dying[i] == tid)
			return;
	if (st->ndying == st->dying_cap) {
		size_t cap = st->dying_cap ? st->dying_cap * 2 : 16;
		pid_t *d = realloc(st->dying, cap * sizeof(*d));
		if (!d)
			return; /* released when ftprof exits */
		st->dying = d;
		st->dying_cap = cap;
	}
	st->dying[st->ndying++] = tid;
}

static void reap_dying(struct probe_stopper *st)
{
	size_t kept = 0;
	for (size_t i = 0; i < st->ndying; i++)
		if (!reap(st->pid, st->dying[i]))
			st->dying[kept++] = st->dying[i];
	st->ndying = kept;
}

static void *reaper_main(void *arg)
{
	struct stopper_reaper *r = arg;
	uint64_t seen = 0;
	pthread_mutex_lock(&r->lock);
	while (!r->quit) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_PERIOD_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->wake, &r->lock, &until);
		if (r->quit)
			break;
		if (r->blocked && r->blocked == seen) {
			/* The stopper is stuck in one call: free whatever an exec
			 * may be waiting for. Its tids do not change meanwhile. */
			for (size_t i = 0; i < r->st->n; i++)
				reap(r->st->pid, r->st->tids[i]);
		}
		seen = r->blocked;
		reap_dying(r->st);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void reaper_destroy(struct stopper_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct stopper_reaper *reaper_create(struct probe_stopper *st)
{
	struct stopper_reaper *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->st = st;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&r->lock, NULL);
	/* signals are for the ui's thread, never the helper */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&r->thread, NULL, reaper_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

/* Around a call that may block on the target: the helper may act meanwhile. */
static void blocking_begin(struct probe_stopper *st)
{
	if (st->reaper) {
		st->reaper->blocked = ++st->reaper->calls;
		pthread_mutex_unlock(&st->reaper->lock);
	}
}

static void blocking_end(struct probe_stopper *st)
{
	if (st->reaper) {
		pthread_mutex_lock(&st->reaper->lock);
		st->reaper->blocked = 0;
	}
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* waitpid(tid, status, __WALL) for a tracee. An exec in a thread other than
 * the leader gives the leader's pid to that thread, and the wakeup of a
 * waitpid() on that pid names the old leader, so it is never delivered: the
 * leader is polled instead, and its siblings that died are waited for
 * meanwhile (the exec waits for them, and a dying leader reports only after
 * them). */
static pid_t wait_tracee(struct probe_stopper *st, pid_t tid, int *status)
{
	if (tid != st->pid) {
		blocking_begin(st);
		pid_t r = waitpid(tid, status, __WALL);
		int e = errno;
		blocking_end(st);
		errno = e;
		return r;
	}
	for (unsigned i = 0;; i++) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r != 0)
			return r;
		if (i < LEADER_SPINS) {
			sched_yield();
			continue;
		}
		struct timespec pause = { 0, LEADER_POLL_NS };
		nanosleep(&pause, NULL);
		if (i % (REAP_PERIOD_NS / LEADER_POLL_NS) == 0) {
			for (size_t k = 0; k < st->n; k++)
				reap(st->pid, st->tids[k]);
			reap_dying(st);
			/* An exec of the leader can swallow the interrupt: it
			 * then runs the new program, seized but never stopped.
			 * Ask again (a stopped tracee ignores it, detach clears
			 * what is left of it). */
			ptrace(PTRACE_INTERRUPT, tid, 0, 0);
		}
	}
}

/* Waits until tid is in a ptrace stop. A signal arriving meanwhile stops it
 * too (signal-delivery-stop); it is remembered and re-injected at detach.
 * *job_stop is set when the stop is the group-stop of a process someone
 * else stopped: the kernel returns it to that stop at detach. Returns
 * false when the thread has gone. */
static bool wait_stopped(struct probe_stopper *st, pid_t tid, int *pending, bool *job_stop)
{
	for (;;) {
		int status;
		pid_t r = wait_tracee(st, tid, &status);
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
		if (event == PTRACE_EVENT_STOP) {
			/* the interrupt's stop (SIGTRAP), or a group-stop */
			*job_stop = is_stop_signal(sig);
			return true;
		}
		if (sig != SIGTRAP)
			*pending = sig;
		return true;
	}
}

/* A task PTRACE_SEIZE refused with EPERM that is exiting, not forbidden. */
static bool is_dead(pid_t pid, pid_t tid)
{
	char state = probe_task_state(pid, tid);
	return state == 0 || state == 'Z' || state == 'X';
}

static void resume(struct probe_stopper *st)
{
	bool lost = false;
	for (size_t i = 0; i < st->n; i++) {
		if (ptrace(PTRACE_DETACH, st->tids[i], 0, (void *)(uintptr_t)st->pending_sig[i]) < 0 &&
		    errno == ESRCH) {
			/* killed while stopped, or renamed by an exec: wait for it */
			dying_add(st, st->tids[i]);
			lost = true;
		}
	}
	/* A thread that execs takes the pid; if it was seized, it stops there. */
	if (lost && !seized(st, st->pid))
		ptrace(PTRACE_DETACH, st->pid, 0, 0);
	st->n = 0;
	reap_dying(st);
}

static int seize_all(struct probe_stopper *st, pid_t pid, struct ftp_error *err)
{
	/* Threads may be created while we seize: repeat until a pass adds none. */
	for (int pass = 0; pass < 16; pass++) {
		pid_t *tids = NULL;
		long n = probe_tasks(pid, &tids, err);
		if (n < 0) {
			resume(st);
			return (int)n;
		}
		size_t added = 0;
		for (long i = 0; i < n; i++) {
			if (seized(st, tids[i]))
				continue;
			blocking_begin(st);
			long sr = ptrace(PTRACE_SEIZE, tids[i], 0, 0);
			int e = errno;
			blocking_end(st);
			/* EPERM for a tracee of ours: a thread seized as it exec'd
			 * took the leader's tid, and could not be detached */
			if (sr < 0 && !(e == EPERM && ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) == 0)) {
				if (e == ESRCH || (e == EPERM && is_dead(pid, tids[i])))
					continue; /* the thread just exited */
				pid_t tid = tids[i];
				free(tids);
				resume(st);
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
				resume(st);
				return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "stopping pid %d", (int)pid);
			}
			added++;
			bool job_stop = false;
			if (ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) < 0 ||
			    !wait_stopped(st, tids[i], &st->pending_sig[st->n - 1], &job_stop)) {
				/* gone meanwhile: forget it */
				if (ptrace(PTRACE_DETACH, tids[i], 0, 0) < 0 && errno == ESRCH)
					dying_add(st, tids[i]);
				st->n--;
			} else if (job_stop) {
				st->job_stopped++;
			}
		}
		free(tids);
		if (!added && pass > 0)
			return 0;
	}
	return 0;
}

static void lock(struct probe_stopper *st)
{
	if (st->reaper)
		pthread_mutex_lock(&st->reaper->lock);
}

static void unlock(struct probe_stopper *st)
{
	if (st->reaper)
		pthread_mutex_unlock(&st->reaper->lock);
}

int probe_stop(struct probe_stopper *st, pid_t pid, struct ftp_error *err)
{
	if (!st->reaper)
		st->reaper = reaper_create(st); /* without it (no memory, no thread), still stop */
	lock(st);
	st->pid = pid;
	st->n = 0;
	st->job_stopped = 0;
	reap_dying(st);
	int ret = seize_all(st, pid, err);
	unlock(st);
	return ret;
}

void probe_resume(struct probe_stopper *st)
{
	lock(st);
	resume(st);
	unlock(st);
}

void probe_stopper_release(struct probe_stopper *st)
{
	probe_resume(st);
	reaper_destroy(st->reaper);
	reap_dying(st);
	free(st->tids);
	free(st->pending_sig);
	free(st->dying);
	memset(st, 0, sizeof(*st));
}
