/* SPDX-License-Identifier: MIT */
/* The probe handle: attach to a process, sample rounds, report counters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "perf/perf.h"
#include "probe_int.h"

#define DEFAULT_DEPTH 4096
#define EXEC_CHECK_NS 100000000u /* how often a working target is checked for an exec */
#define EXIT_CONFIRM_POLLS 10
#define EXIT_CONFIRM_NS 10000000L

void ftp_probe_destroy(struct ftp_probe *p)
{
	if (!p)
		return;
	probe_stopper_release(&p->stopper);
	probe_sched_release(p);
	probe_oncpu_release(p);
	probe_stacks_destroy(p->stacks);
	probe_native_destroy(p->native);
	probe_names_destroy(p->names);
	probe_waits_release(p);
	probe_code_cache_destroy(p->codes);
	probe_mem_release(&p->mem);
	ftp_elf_destroy(p->elf);
	free(p->frames);
	probe_task_list_release(&p->tasks);
	free(p);
}

int ftp_probe_create(struct ftp_probe **out, pid_t pid, const struct ftp_probe_opts *opts,
                     struct ftp_error *err)
{
	if (opts && opts->native && !opts->blocking && !opts->oncpu_hz)
		return ftp_error_set(err, FTP_E_INVAL, 0,
		                     "native stacks of pid %d without a blocking probe come from on-CPU "
		                     "samples: they need oncpu_hz",
		                     (int)pid);
	int ret = probe_proc_check(pid, err);
	if (ret < 0)
		return ret;
	struct ftp_probe *p = calloc(1, sizeof(*p));
	if (!p)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "attaching to pid %d", (int)pid);
	p->pid = pid;
	p->pthread_tid_off = -1;
	if (opts)
		p->opts = *opts;
	p->max_depth = p->opts.max_depth ? p->opts.max_depth : DEFAULT_DEPTH;
	p->info.pid = pid;
	p->info.state_source = p->opts.task_state ? "/proc" : "none";
	if (p->opts.oncpu_hz) {
		p->info.oncpu_period_ns = 1000000000ull / p->opts.oncpu_hz;
		snprintf(p->info.oncpu_source, sizeof(p->info.oncpu_source), "perf_event cpu-clock");
	} else {
		snprintf(p->info.oncpu_source, sizeof(p->info.oncpu_source), "off");
	}
	p->frames = calloc(p->max_depth, sizeof(*p->frames));
	if (!p->frames) {
		ret = ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "attaching to pid %d", (int)pid);
		goto fail;
	}
	ret = probe_mem_init(&p->mem, pid, err);
	if (ret < 0)
		goto fail;
	p->exec_id = probe_proc_exec_id(pid);
	p->next_exec_check = ftp_now_ns() + EXEC_CHECK_NS;
	ret = probe_proc_exe(pid, p->info.executable, sizeof(p->info.executable), err);
	if (ret < 0)
		goto fail;
	probe_proc_cmdline(pid, p->info.cmdline, sizeof(p->info.cmdline));
	ret = probe_runtime_find(p, err);
	if (ret < 0)
		goto fail;
	if (p->opts.native && !p->opts.blocking) {
		ret = probe_oncpu_check(p, err);
		if (ret < 0)
			goto fail;
	}
	if (p->opts.native) {
		ret = probe_native_create(p, err);
		if (ret < 0)
			goto fail;
	}
	*out = p;
	return 0;
fail:
	if (ret == -FTP_E_READ || ret == -FTP_E_NOTPYTHON) {
		/* The process may have gone while we looked. */
		struct ftp_error gone;
		if (probe_proc_check(pid, &gone) < 0)
			ret = ftp_error_set(err, FTP_E_EXITED, 0, "process %d exited while being examined",
			                    (int)pid);
	}
	ftp_probe_destroy(p);
	return ret;
}

const struct ftp_target_info *ftp_probe_info(const struct ftp_probe *p)
{
	return &p->info;
}

void ftp_probe_trim(struct ftp_probe *p, uint64_t rounds)
{
	uint64_t now = probe_mem_epoch(&p->mem);
	if (now <= rounds)
		return;
	/* what still points into the code cache goes first */
	probe_stacks_destroy(p->stacks);
	p->stacks = NULL;
	probe_waits_release(p);
	probe_code_trim(p->codes, now - rounds);
	probe_oncpu_trim(p);
}

void ftp_probe_stats(const struct ftp_probe *p, struct ftp_probe_stats *out)
{
	*out = p->stats;
	out->reads = p->mem.reads;
	out->codes = probe_code_count(p->codes);
}

const struct task_info *probe_thread_state(struct ftp_probe *p, pid_t tid)
{
	return probe_sched_task(p, tid);
}

const struct task_info *probe_task(const struct ftp_probe *p, pid_t tid)
{
	return probe_task_list_find(&p->tasks, tid);
}

/* Before 3.11 the walker learns where glibc keeps the tid from the task
 * list, once. */
static bool need_task_list(const struct ftp_probe *p)
{
	if (!p->opts.task_state || !p->opts.task_events)
		return true;
	return p->L.tstate.native_thread_id == FTP_OFF_NONE && p->pthread_tid_off < 0;
}

/* After an exec the pid runs another program: the addresses the probe knows
 * mean nothing there. Returns -FTP_E_EXEC when that happened, else 0. */
static int execed(struct ftp_probe *p, struct ftp_error *err)
{
	uint64_t id = probe_proc_exec_id(p->pid);
	if (!p->exec_id || !id || id == p->exec_id)
		return 0;
	char exe[sizeof(p->info.executable)];
	if (probe_proc_exe(p->pid, exe, sizeof(exe), NULL) < 0)
		snprintf(exe, sizeof(exe), "another program");
	return ftp_error_set(err, FTP_E_EXEC, 0, "process %d replaced its program with %s (exec)",
	                     (int)p->pid, exe);
}

/* Checked at once when a round failed, else now and then. */
static int check_exec(struct ftp_probe *p, int ret, struct ftp_error *err)
{
	uint64_t t = ftp_now_ns();
	if (ret == 0 && t < p->next_exec_check)
		return ret;
	p->next_exec_check = t + EXEC_CHECK_NS;
	int e = execed(p, err);
	return e ? e : ret;
}

/* An exec in a thread other than the leader kills the leader first, and reads
 * through the pid fail as if the process had exited until the exec is done:
 * give it 100 ms before believing the process has gone. */
static int confirm_exit(struct ftp_probe *p, int ret, struct ftp_error *err)
{
	for (int i = 0; i < EXIT_CONFIRM_POLLS; i++) {
		int e = execed(p, err);
		if (e || probe_proc_check(p->pid, NULL) < 0)
			return e ? e : ret;
		struct timespec pause = { 0, EXIT_CONFIRM_NS };
		nanosleep(&pause, NULL);
	}
	return ret;
}

/* What a failed (or any) round means for the target as a whole. */
static int after_round(struct ftp_probe *p, int ret, struct ftp_error *err)
{
	if (ret < 0 && probe_proc_check(p->pid, NULL) < 0)
		return ftp_error_set(err, FTP_E_EXITED, 0, "process %d has exited", (int)p->pid);
	if (ret == -FTP_E_EXITED)
		return confirm_exit(p, ret, err);
	if (ret <= 0)
		return check_exec(p, ret, err);
	return ret;
}

/* The caller's callback, each sample given its on-CPU ticks first. */
struct with_ticks {
	struct ftp_probe *p;
	ftp_sample_fn *fn;
	void *arg;
};

/* Non-blocking native stacks: whether the thread's last tick can stand for
 * its stack now. It can while the thread does not block: it has used less
 * than a period of CPU time since (perf/perf.h), and a thread preempted
 * since has not moved. A thread that blocked may have returned from the
 * frames the tick saw: its tick is forgotten. */
static bool may_be_current(const struct ftp_sample *s)
{
	if (s->on_cpu >= 0)
		return s->on_cpu == 1 || s->state == FTP_STATE_RUNNABLE;
	return s->os_state == 'R';
}

static int sample_with_ticks(const struct ftp_sample *s, void *arg)
{
	struct with_ticks *w = arg;
	struct ftp_sample t = *s;
	probe_oncpu_take(w->p, &t);
	if (w->p->native && !w->p->opts.blocking) {
		struct probe_user_stack us;
		if (probe_oncpu_user_stack(w->p, t.tid, !may_be_current(&t), &us) &&
		    probe_native_splice_sampled(w->p, &t, &us)) {
			w->p->stats.native_sampled++;
		} else {
			t.flags |= FTP_SAMPLE_NO_NATIVE;
			w->p->stats.native_missing++;
		}
	}
	return w->fn(&t, w->arg);
}

/* One round, its clock already moved. */
static int sample_round(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, struct ftp_error *err)
{
	int ret = 0;
	struct with_ticks ticks = { .p = p, .fn = fn, .arg = arg };
	if (p->opts.oncpu_hz) {
		fn = sample_with_ticks;
		arg = &ticks;
	}
	if (need_task_list(p))
		ret = probe_task_list_read(&p->tasks, p->pid, p->opts.task_state, err);
	if (ret < 0)
		return ret;
	bool events = p->opts.task_state && p->opts.task_events;
	if (events && !p->opts.blocking)
		probe_sched_begin_round(p, ftp_now_ns());
	if (events && p->opts.blocking)
		probe_sched_freeze(p);
	if (p->opts.blocking) {
		ret = probe_stop(&p->stopper, p->pid, err);
		if (ret < 0)
			return after_round(p, ret, err); /* an exec can make the stop fail */
		if (p->stopper.job_stopped)
			p->stats.job_stopped++;
	}
	bool full = !events || !probe_stacks_replay(p, fn, arg, &ret);
	if (full) {
		if (events)
			probe_stacks_prefetch(p);
		probe_code_prefetch(p);
		probe_mem_new_round(&p->mem);
		ret = probe_walk(p, fn, arg, err);
	}
	if (p->opts.blocking) {
		if (events)
			probe_sched_stop_ends(p);
		probe_resume(&p->stopper);
	}
	if (events) {
		probe_sched_end_round(p);
		probe_stacks_end_round(p, full);
		const char *source = probe_sched_source(p);
		if (strcmp(source, "none") != 0) /* a round without threads says nothing */
			p->info.state_source = source;
	}
	if (p->opts.oncpu_hz)
		probe_oncpu_end_round(p);
	p->stats.rounds++;
	return after_round(p, ret, err);
}

int ftp_probe_sample(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, struct ftp_error *err)
{
	p->round++;
	return sample_round(p, fn, arg, err);
}

int ftp_probe_sample_round(struct ftp_probe *p, const struct ftp_round_fns *fns, void *arg,
                           struct ftp_error *err)
{
	struct ftp_round round = { .number = ++p->round, .time_ns = ftp_now_ns() };
	if (fns->begin)
		fns->begin(&round, arg);
	int ret = sample_round(p, fns->sample, arg, err);
	if (fns->end)
		fns->end(&round, ret, arg);
	return ret;
}

#define FTP_STATE_STR(name, str) str,
static const char *const state_names[] = { FTP_STATES(FTP_STATE_STR) };
#undef FTP_STATE_STR

#define FTP_CPU_STR(name, str) str,
static const char *const cpu_kind_names[] = { FTP_CPU_KINDS(FTP_CPU_STR) };
#undef FTP_CPU_STR

const char *ftp_cpu_kind_name(enum ftp_cpu_kind kind)
{
	return (unsigned)kind < FTP_CPU_KIND_COUNT ? cpu_kind_names[kind] : "unknown";
}

const char *ftp_state_name(enum ftp_state state)
{
	return (unsigned)state < FTP_STATE_COUNT ? state_names[state] : "unknown";
}

#define FTP_WAIT_STR(name, str) str,
static const char *const wait_names[] = { FTP_WAIT_KINDS(FTP_WAIT_STR) };
#undef FTP_WAIT_STR

const char *ftp_wait_kind_name(enum ftp_wait_kind kind)
{
	return (unsigned)kind < FTP_WAIT_COUNT ? wait_names[kind] : "";
}

#define FTP_HOLDER_STR(name, str) str,
static const char *const holder_names[] = { FTP_HOLDER_HOWS(FTP_HOLDER_STR) };
#undef FTP_HOLDER_STR

const char *ftp_holder_how_name(enum ftp_holder_how how)
{
	return (unsigned)how < FTP_HOLDER_COUNT ? holder_names[how] : "";
}
