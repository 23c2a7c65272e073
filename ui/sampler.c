/* SPDX-License-Identifier: MIT */
/* The sampling loop: one round per period on CLOCK_MONOTONIC, without
 * bursts to catch up when a round overran. */
#include <signal.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "ftprof/error.h"
#include "ftprof/util.h"
#include "launch.h"
#include "options.h"
#include "sampler.h"
#include "ui.h"

/* A sleep and its wakeup cost about 25-30 us of CPU in a VM: a wait shorter
 * than this spins on the clock instead, which costs less and is exact. */
#define SPIN_NS 20000u
#define PROGRESS_NS 250000000u    /* progress line refresh */
#define CHILD_CHECK_NS 100000000u /* how often a launched command is checked */
#define ATTACH_POLL_NS 1000000    /* how often a launched command is probed until Python is up */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void sampler_catch_signals(void)
{
	ui_catch_stop_signals(on_signal);
}

int sampler_signal(void)
{
	return stop_signal;
}

/* For a launched command: waits until its Python is up, or it has exited. */
static int attach_launched(struct launch *l, const struct ftp_probe_opts *opts, struct ftp_probe **probe,
                           struct ftp_error *err)
{
	for (;;) {
		int ret = ftp_probe_create(probe, l->pid, opts, err);
		if (ret == 0)
			return 0;
		if (launch_exited(l) || ret == -FTP_E_PERM || ret == -FTP_E_NOMEM) {
			if (launch_exited(l)) {
				char how[128];
				launch_describe(l, how, sizeof(how));
				return ftp_error_set(
				        err, FTP_E_EXITED, 0,
				        "the command %s before a Python interpreter was found in it", how);
			}
			return ret;
		}
		if (stop_signal)
			return -FTP_E_INTERRUPTED;
		struct timespec ts = { 0, ATTACH_POLL_NS };
		nanosleep(&ts, NULL);
	}
}

/* Recording keeps descriptors per target thread (its perf_event, its /proc
 * syscall file): a target with thousands of threads needs more than the
 * usual soft limit of 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int sampler_open_target(const struct cmd_options *o, const struct ftp_probe_opts *opts, struct launch *child,
                        struct ftp_probe **probe, struct ftp_error *err)
{
	int ret;
	if (o->command) {
		ret = launch_start(child, o->command, err);
		if (ret == 0)
			ret = attach_launched(child, opts, probe, err);
	} else {
		ret = ftp_probe_create(probe, o->pid, opts, err);
	}
	raise_fd_limit(); /* after the fork: the command keeps the limit it was given */
	return ret;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: the caller checks */
}

static void show(struct sampler *s, uint64_t now, bool final)
{
	fputs("\r\033[K", stderr);
	s->show(s->arg, stderr, s, (double)(now - s->start_ns) / 1e9);
	if (final)
		fputs("\r\033[K", stderr);
}

void sampler_run(struct sampler *s)
{
	/* Sleeps end when asked, not up to the default 50 us later: at high
	 * rates the slack would cap the rate. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	const uint64_t period = (uint64_t)(1e9 / s->rate);
	const uint64_t start = ftp_now_ns();
	const uint64_t deadline = s->duration > 0 ? start + (uint64_t)(s->duration * 1e9) : UINT64_MAX;
	const bool show_progress = s->progress && s->show && isatty(STDERR_FILENO);
	uint64_t next = start, last_round = 0, last_progress = start, last_check = start;
	s->start_ns = start;
	s->end = SAMPLER_END_SIGNAL;
	while (!stop_signal) {
		uint64_t t = ftp_now_ns();
		if (t >= deadline) {
			s->end = SAMPLER_END_DURATION;
			break;
		}
		double weight = last_round ? (double)(t - last_round) / 1e9 : (double)period / 1e9;
		last_round = t;
		int ret = s->last = s->round(s->arg, weight);
		if (ret == SAMPLER_STOP) {
			s->end = SAMPLER_END_STOPPED;
			break;
		}
		if (ret == -FTP_E_EXITED) {
			s->end = SAMPLER_END_EXITED;
			break;
		}
		if (ret == -FTP_E_TORN) {
			/* the threads read before the list changed were kept */
			s->rounds++;
			s->cut_rounds++;
		} else if (ret < 0) {
			s->failed_rounds++;
			if (s->child && launch_exited(s->child)) {
				s->end = SAMPLER_END_COMMAND;
				break;
			}
		} else {
			s->rounds++;
		}
		t = ftp_now_ns();
		if (s->child && t - last_check > CHILD_CHECK_NS) {
			last_check = t;
			if (launch_exited(s->child)) {
				s->end = SAMPLER_END_COMMAND;
				break;
			}
		}
		if (show_progress && t - last_progress >= PROGRESS_NS) {
			show(s, t, false);
			last_progress = t;
		}
		next += period;
		if (next <= t) {
			/* A round took longer than the period: count the ticks it
			 * overran and go on at once rather than bursting to catch
			 * up. */
			s->missed += (t - next) / period + 1;
			next = t;
		} else {
			uint64_t until = next < deadline ? next : deadline;
			if (until - t < SPIN_NS) {
				while (ftp_now_ns() < until && !stop_signal)
					;
			} else {
				sleep_until(until);
			}
		}
	}
	s->end_ns = ftp_now_ns();
	if (show_progress)
		show(s, s->end_ns, true);
	if (stop_signal)
		s->end = SAMPLER_END_SIGNAL;
}
