/* SPDX-License-Identifier: MIT */
/* ui/analysis on synthetic samples: state shares, parallelism, locks ordered
 * by wait with their waiters' and holders' lines, the GIL, and deadlocks
 * (cycles of two and three threads found, none where a holder is unknown). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "analysis/analysis.h"

static struct analysis *an;

static bool near(double x, double y)
{
	return fabs(x - y) < 1e-9;
}

static struct analysis_result res;

static void setup(void)
{
	struct analysis_opts o = { .rate = 100, .cores = 4 };
	cr_assert_eq(analysis_create(&an, &o), 0);
	memset(&res, 0, sizeof(res));
}

static void teardown(void)
{
	analysis_result_release(&res);
	analysis_destroy(an);
}

/* Round r is 10 ms after round r - 1. */
static void add(uint64_t round, pid_t tid, enum ftp_state state, const char *fn, int line)
{
	struct analysis_sample s = { .round = round,
		                     .time_ns = 1000000000ull + round * 10000000ull,
		                     .tid = tid,
		                     .thread = "t",
		                     .state = state,
		                     .on_cpu = -1,
		                     .gil = -1,
		                     .function = fn,
		                     .file = "app.py",
		                     .line = line };
	cr_assert_eq(analysis_add(an, &s), 0);
}

static void add_wait(uint64_t round, pid_t tid, enum ftp_wait_kind kind, uint64_t addr, pid_t holder,
                     const char *fn, int line)
{
	struct analysis_sample s = { .round = round,
		                     .time_ns = 1000000000ull + round * 10000000ull,
		                     .tid = tid,
		                     .state = FTP_STATE_LOCK,
		                     .on_cpu = 0,
		                     .gil = -1,
		                     .wait_kind = kind,
		                     .wait_address = addr,
		                     .holder = holder,
		                     .holder_how = holder ? FTP_HOLDER_OWNER : FTP_HOLDER_NONE,
		                     .function = fn,
		                     .file = "app.py",
		                     .line = line };
	cr_assert_eq(analysis_add(an, &s), 0);
}

static void finish(void)
{
	cr_assert_eq(analysis_end_round(an), 0);
	cr_assert_eq(analysis_result(an, &res), 0);
}

static const struct analysis_thread *thread(pid_t tid)
{
	for (size_t i = 0; i < res.nthreads; i++)
		if (res.threads[i].tid == tid)
			return &res.threads[i];
	cr_assert_fail("no thread %d", (int)tid);
	return NULL;
}

TestSuite(analysis, .init = setup, .fini = teardown);

Test(analysis, shares_and_parallelism)
{
	/* 10 rounds: thread 1 always running, thread 2 native in 4 of them and
	 * sleeping in 6, thread 3 waiting for a lock. */
	for (uint64_t r = 0; r < 10; r++) {
		add(r, 1, FTP_STATE_RUNNING, "spin", 3);
		add(r, 2, r < 4 ? FTP_STATE_NATIVE : FTP_STATE_SLEEP, "nap", 7);
		add_wait(r, 3, FTP_WAIT_LOCK, 0x1000, 0, "get", 9);
	}
	finish();
	cr_assert_eq(res.rounds, 10);
	cr_assert_eq(res.samples, 30);
	cr_assert_eq(res.nthreads, 3);
	cr_assert_eq(res.threads[0].tid, 1); /* first seen first */
	cr_assert_eq(thread(1)->states[FTP_STATE_RUNNING], 10);
	cr_assert_eq(thread(2)->states[FTP_STATE_NATIVE], 4);
	cr_assert_eq(thread(2)->states[FTP_STATE_SLEEP], 6);
	cr_assert_eq(thread(3)->states[FTP_STATE_LOCK], 10);
	cr_assert_str_eq(thread(1)->name, "t");
	cr_assert_null(thread(3)->name); /* never named */
	cr_assert(near(res.effective, 1.4));
	cr_assert(near(res.python, 1.0));
	cr_assert_eq(res.cores, 4);
	cr_assert(res.interval_measured);
	cr_assert(near(res.interval_s, 0.01));
	cr_assert_not(res.gil_build);
}

Test(analysis, interval_from_rate_with_one_round)
{
	add(0, 1, FTP_STATE_RUNNING, "spin", 3);
	finish();
	cr_assert_not(res.interval_measured);
	cr_assert(near(res.interval_s, 0.01));
}

Test(analysis, rounds_end_when_the_round_changes)
{
	add(0, 1, FTP_STATE_RUNNING, "a", 1);
	add(0, 2, FTP_STATE_RUNNING, "a", 1);
	add(1, 1, FTP_STATE_SLEEP, "a", 1);
	cr_assert_eq(analysis_result(an, &res), 0);
	cr_assert_eq(res.rounds, 1); /* round 1 is still open */
	cr_assert(near(res.effective, 2.0));
	analysis_result_release(&res);
	finish();
	cr_assert_eq(res.rounds, 2);
	cr_assert(near(res.effective, 1.0));
}

Test(analysis, locks_ordered_with_waiters_and_holders_lines)
{
	/* Lock A (0xa0) held by thread 1 at app.py:20: threads 2 and 3 wait in
	 * every round, 3 at two lines. Lock B (0xb0), holder unknown: thread 4
	 * waits in 2 rounds of 5. */
	for (uint64_t r = 0; r < 5; r++) {
		add(r, 1, FTP_STATE_RUNNING, "hold", 20);
		add_wait(r, 2, FTP_WAIT_LOCK, 0xa0, 1, "take", 11);
		add_wait(r, 3, FTP_WAIT_LOCK, 0xa0, 1, "take", r < 3 ? 11 : 12);
		if (r < 2)
			add_wait(r, 4, FTP_WAIT_RLOCK, 0xb0, 0, "other", 30);
		else
			add(r, 4, FTP_STATE_SLEEP, "other", 31);
	}
	finish();
	cr_assert_eq(res.nlocks, 2);
	const struct analysis_lock *a = &res.locks[0], *b = &res.locks[1];
	cr_assert_eq(a->kind, FTP_WAIT_LOCK);
	cr_assert_eq(a->address, 0xa0);
	cr_assert_eq(a->samples, 10);
	cr_assert(near(a->wait_seconds, 0.1));
	cr_assert_eq(a->nwaiters, 2);
	cr_assert_str_eq(a->waiters[0].function, "take");
	cr_assert_str_eq(a->waiters[0].file, "app.py");
	cr_assert_eq(a->waiters[0].line, 11);
	cr_assert_eq(a->waiters[0].samples, 8);
	cr_assert_eq(a->waiters[1].line, 12);
	cr_assert_eq(a->waiters[1].samples, 2);
	/* The holder's line: one per waiting sample. */
	cr_assert_eq(a->nholders, 1);
	cr_assert_str_eq(a->holders[0].function, "hold");
	cr_assert_eq(a->holders[0].line, 20);
	cr_assert_eq(a->holders[0].samples, 10);

	cr_assert_eq(b->kind, FTP_WAIT_RLOCK);
	cr_assert_eq(b->samples, 2);
	cr_assert(near(b->wait_seconds, 0.02));
	cr_assert_eq(b->nwaiters, 1);
	cr_assert_eq(b->nholders, 0);
	cr_assert_eq(res.ndeadlocks, 0);
}

Test(analysis, holder_line_comes_from_the_same_round)
{
	/* The holder moves between rounds: each waiting sample gets the
	 * holder's line of its own round. */
	add(0, 1, FTP_STATE_RUNNING, "hold", 20);
	add_wait(0, 2, FTP_WAIT_LOCK, 0xa0, 1, "take", 11);
	add_wait(1, 2, FTP_WAIT_LOCK, 0xa0, 1, "take", 11); /* holder appears after */
	add(1, 1, FTP_STATE_NATIVE, "hold", 21);
	add_wait(2, 2, FTP_WAIT_LOCK, 0xa0, 1, "take", 11);
	add(3, 1, FTP_STATE_RUNNING, "hold", 22); /* not in round 2 */
	finish();
	cr_assert_eq(res.nlocks, 1);
	cr_assert_eq(res.locks[0].nholders, 2);
	cr_assert_eq(res.locks[0].holders[0].line, 20);
	cr_assert_eq(res.locks[0].holders[0].samples, 1);
	cr_assert_eq(res.locks[0].holders[1].line, 21);
}

Test(analysis, critical_section_type_kept)
{
	struct analysis_sample s = { .round = 0,
		                     .tid = 5,
		                     .state = FTP_STATE_LOCK,
		                     .gil = -1,
		                     .wait_kind = FTP_WAIT_CRITICAL_SECTION,
		                     .wait_address = 0x7000,
		                     .wait_type = "list",
		                     .function = "append",
		                     .file = "x.py",
		                     .line = 4 };
	cr_assert_eq(analysis_add(an, &s), 0);
	finish();
	cr_assert_eq(res.nlocks, 1);
	cr_assert_str_eq(res.locks[0].type, "list");
}

Test(analysis, two_thread_deadlock_once)
{
	/* 1 waits for A held by 2, 2 waits for B held by 1, for 3 rounds. */
	for (uint64_t r = 0; r < 3; r++) {
		add_wait(r, 12, FTP_WAIT_LOCK, 0xb0, 11, "second", 8);
		add_wait(r, 11, FTP_WAIT_LOCK, 0xa0, 12, "first", 4);
		add(r, 13, FTP_STATE_RUNNING, "bystander", 1);
	}
	finish();
	cr_assert_eq(res.ndeadlocks, 1);
	const struct analysis_deadlock *d = &res.deadlocks[0];
	cr_assert_eq(d->n, 2);
	cr_assert_eq(d->rounds, 3);
	cr_assert_eq(d->threads[0], 11); /* lowest tid first */
	cr_assert_eq(d->addresses[0], 0xa0);
	cr_assert_eq(d->kinds[0], FTP_WAIT_LOCK);
	cr_assert_eq(d->threads[1], 12);
	cr_assert_eq(d->addresses[1], 0xb0);
	cr_assert_str_eq(d->where[0].function, "first");
	cr_assert_eq(d->where[1].line, 8);
	cr_assert_eq(d->first_ns, 1000000000ull);
}

Test(analysis, three_thread_deadlock)
{
	/* 7 -> 5 -> 6 -> 7, plus 8 waiting on 7 (a tail, not in the cycle). */
	add_wait(0, 7, FTP_WAIT_LOCK, 0x3, 5, "c", 3);
	add_wait(0, 8, FTP_WAIT_LOCK, 0x3, 5, "d", 4);
	add_wait(0, 5, FTP_WAIT_RLOCK, 0x1, 6, "a", 1);
	add_wait(0, 6, FTP_WAIT_CRITICAL_SECTION, 0x2, 7, "b", 2);
	finish();
	cr_assert_eq(res.ndeadlocks, 1);
	const struct analysis_deadlock *d = &res.deadlocks[0];
	cr_assert_eq(d->n, 3);
	pid_t want[] = { 5, 6, 7 };
	uint64_t addrs[] = { 0x1, 0x2, 0x3 };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(d->threads[i], want[i]);
		cr_assert_eq(d->addresses[i], addrs[i]);
	}
	cr_assert_eq(d->kinds[1], FTP_WAIT_CRITICAL_SECTION);
}

Test(analysis, two_deadlocks_and_a_self_deadlock)
{
	add_wait(0, 1, FTP_WAIT_LOCK, 0xa, 2, "x", 1);
	add_wait(0, 2, FTP_WAIT_LOCK, 0xb, 1, "x", 2);
	add_wait(0, 3, FTP_WAIT_LOCK, 0xc, 4, "x", 3);
	add_wait(0, 4, FTP_WAIT_LOCK, 0xd, 3, "x", 4);
	add_wait(0, 9, FTP_WAIT_LOCK, 0xe, 9, "x", 5); /* acquires a Lock it holds */
	finish();
	cr_assert_eq(res.ndeadlocks, 3);
	cr_assert_eq(res.deadlocks[2].n, 1);
	cr_assert_eq(res.deadlocks[2].threads[0], 9);
}

Test(analysis, no_deadlock_when_a_holder_is_unknown)
{
	/* 1 waits for 2, 2 waits for a lock whose holder is unknown; 3 and 4
	 * name each other's locks but 4's holder (3) is not waiting on a lock. */
	for (uint64_t r = 0; r < 4; r++) {
		add_wait(r, 1, FTP_WAIT_LOCK, 0xa, 2, "x", 1);
		add_wait(r, 2, FTP_WAIT_LOCK, 0xb, 0, "x", 2);
		add_wait(r, 3, FTP_WAIT_LOCK, 0xc, 4, "x", 3);
		add(r, 4, FTP_STATE_RUNNING, "y", 4);
	}
	/* A cycle split across rounds is not a deadlock either. */
	add_wait(4, 1, FTP_WAIT_LOCK, 0xa, 2, "x", 1);
	add_wait(5, 2, FTP_WAIT_LOCK, 0xb, 1, "x", 2);
	finish();
	cr_assert_eq(res.ndeadlocks, 0);
}

Test(analysis, gil_busy_and_waiters)
{
	/* 4 rounds: thread 1 holds the GIL in 3, thread 2 waits for it in 3,
	 * thread 3 in 1. */
	for (uint64_t r = 0; r < 4; r++) {
		struct analysis_sample s = { .round = r, .time_ns = r * 5000000ull, .gil = 0, .line = 1 };
		s.tid = 1;
		s.state = r < 3 ? FTP_STATE_RUNNING : FTP_STATE_IO;
		s.gil = r < 3;
		cr_assert_eq(analysis_add(an, &s), 0);
		s.tid = 2;
		s.gil = 0;
		s.state = r < 3 ? FTP_STATE_GIL : FTP_STATE_RUNNING;
		s.wait_kind = r < 3 ? FTP_WAIT_GIL : FTP_WAIT_NONE;
		cr_assert_eq(analysis_add(an, &s), 0);
		s.tid = 3;
		s.state = r == 0 ? FTP_STATE_GIL : FTP_STATE_SLEEP;
		cr_assert_eq(analysis_add(an, &s), 0);
	}
	finish();
	cr_assert(res.gil_build);
	cr_assert(near(res.gil_busy, 0.75));
	cr_assert_eq(res.ngil_waiters, 2);
	cr_assert_eq(res.gil_waiters[0].tid, 2);
	cr_assert_eq(res.gil_waiters[0].samples, 3);
	cr_assert(near(res.gil_waiters[0].seconds, 0.015));
	cr_assert_eq(res.gil_waiters[1].tid, 3);
	cr_assert_eq(res.nlocks, 0); /* waiting for the GIL is not a lock wait */
}

Test(analysis, sample_without_python_frame)
{
	struct analysis_sample s = { .round = 0,
		                     .tid = 1,
		                     .state = FTP_STATE_LOCK,
		                     .gil = -1,
		                     .wait_kind = FTP_WAIT_MUTEX,
		                     .line = -1 };
	cr_assert_eq(analysis_add(an, &s), 0);
	finish();
	cr_assert_eq(res.nlocks, 1);
	cr_assert_eq(res.locks[0].samples, 1);
	cr_assert_eq(res.locks[0].nwaiters, 0);
}

Test(analysis, many_samples)
{
	/* Enough to grow every table several times. */
	for (uint64_t r = 0; r < 200; r++)
		for (pid_t t = 1; t <= 50; t++)
			add_wait(r, t, FTP_WAIT_LOCK, 0x1000 + 8 * (uint64_t)(t % 7),
			         t % 3 ? (pid_t)(t + 1) : 0, "f", (int)(r % 40));
	finish();
	cr_assert_eq(res.samples, 10000);
	cr_assert_eq(res.nthreads, 50);
	cr_assert_eq(res.nlocks, 7);
	uint64_t total = 0;
	for (size_t i = 0; i < res.nlocks; i++) {
		total += res.locks[i].samples;
		if (i)
			cr_assert_geq(res.locks[i - 1].wait_seconds, res.locks[i].wait_seconds);
	}
	cr_assert_eq(total, 10000);
}

/* rounds [from, to) of a stream with runners, a lock fight, a deadlock in
 * rounds 5 to 7, and on-CPU ticks (refcount ones on two objects) */
static void stream(uint64_t from, uint64_t to)
{
	for (uint64_t r = from; r < to; r++) {
		add(r, 1, FTP_STATE_RUNNING, "work", 3);
		add_wait(r, 2, FTP_WAIT_LOCK, 0xa0, 1, "take", 7);
		if (r % 2)
			add(r, 3, FTP_STATE_NATIVE, "io", 9);
		if (r >= 5 && r < 8) {
			add_wait(r, 11, FTP_WAIT_LOCK, 0xb0, 12, "first", 4);
			add_wait(r, 12, FTP_WAIT_LOCK, 0xc0, 11, "second", 8);
		}
		struct ftp_tick tk = { .time_ns = 1000000000ull + r * 10000000ull,
			               .cpu = (int)(r % 3),
			               .kind = r % 4 ? FTP_CPU_REFCOUNT : FTP_CPU_PYTHON,
			               .object_addr = 0x5000 + (r % 2) * 64,
			               .object_type = "Payload" };
		struct analysis_sample s = { .round = r,
			                     .time_ns = tk.time_ns,
			                     .tid = 4,
			                     .thread = "reader",
			                     .state = FTP_STATE_RUNNING,
			                     .on_cpu = 1,
			                     .gil = -1,
			                     .function = "read",
			                     .file = "rc.py",
			                     .line = 29,
			                     .cpu = tk.cpu,
			                     .nticks = 1,
			                     .ticks = &tk };
		cr_assert_eq(analysis_add(an, &s), 0);
	}
	cr_assert_eq(analysis_end_round(an), 0);
}

/* Merging the analyses of a stream's parts gives what one analysis of the
 * whole stream gives. */
Test(analysis, merge_of_parts_is_the_whole)
{
	struct ftp_cpu_time t0[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } },
	                    t1[3] = { { 5, 10 }, { 5, 10 }, { 5, 10 } },
	                    t2[3] = { { 10, 20 }, { 20, 20 }, { 0, 20 } };
	struct analysis_opts o = { .rate = 100, .cores = 4, .tick_s = 0.01 };
	analysis_set_opts(an, &o);
	cr_assert_eq(analysis_add_cpustat(an, 0, t0, 3), 0);
	stream(0, 20);
	cr_assert_eq(analysis_add_cpustat(an, 0, t2, 3), 0);
	struct analysis *whole = an, *parts[2], *merged;
	cr_assert_eq(analysis_create(&parts[0], &o), 0);
	cr_assert_eq(analysis_create(&parts[1], &o), 0);
	cr_assert_eq(analysis_create(&merged, &o), 0);
	an = parts[0];
	cr_assert_eq(analysis_add_cpustat(an, 0, t0, 3), 0);
	stream(0, 6); /* the deadlock spans both parts */
	cr_assert_eq(analysis_add_cpustat(an, 0, t1, 3), 0);
	an = parts[1];
	cr_assert_eq(analysis_add_cpustat(an, 0, t1, 3), 0);
	stream(6, 20);
	cr_assert_eq(analysis_add_cpustat(an, 0, t2, 3), 0);
	cr_assert_eq(analysis_merge(merged, parts[0]), 0);
	cr_assert_eq(analysis_merge(merged, parts[1]), 0);
	an = whole;

	struct analysis_result w, m;
	cr_assert_eq(analysis_result(whole, &w), 0);
	cr_assert_eq(analysis_result(merged, &m), 0);
	cr_expect_eq(m.samples, w.samples);
	cr_expect_eq(m.rounds, w.rounds);
	cr_expect(near(m.duration_s, w.duration_s) && near(m.interval_s, w.interval_s));
	cr_expect(near(m.effective, w.effective) && near(m.python, w.python));
	cr_assert_eq(m.nthreads, w.nthreads);
	for (size_t i = 0; i < w.nthreads; i++) {
		cr_expect_eq(m.threads[i].tid, w.threads[i].tid);
		cr_expect_eq(m.threads[i].samples, w.threads[i].samples);
		cr_expect_eq(memcmp(m.threads[i].states, w.threads[i].states, sizeof(w.threads[i].states)),
		             0);
		cr_expect_eq(m.threads[i].ticks, w.threads[i].ticks);
		cr_expect_eq(m.threads[i].last_cpu, w.threads[i].last_cpu);
		const char *mn = m.threads[i].name, *wn = w.threads[i].name;
		cr_expect(mn == wn || (mn && wn && !strcmp(mn, wn)), "thread %zu: %s, not %s", i,
		          mn ? mn : "-", wn ? wn : "-");
	}
	cr_assert_eq(m.nlocks, w.nlocks);
	for (size_t i = 0; i < w.nlocks; i++) {
		cr_expect_eq(m.locks[i].address, w.locks[i].address);
		cr_expect_eq(m.locks[i].samples, w.locks[i].samples);
		cr_assert_eq(m.locks[i].nwaiters, w.locks[i].nwaiters);
		cr_assert_eq(m.locks[i].nholders, w.locks[i].nholders);
		for (size_t k = 0; k < w.locks[i].nholders; k++) {
			cr_expect_str_eq(m.locks[i].holders[k].function, w.locks[i].holders[k].function);
			cr_expect_eq(m.locks[i].holders[k].samples, w.locks[i].holders[k].samples);
		}
	}
	cr_assert_eq(m.ndeadlocks, 1);
	cr_assert_eq(w.ndeadlocks, 1);
	cr_expect_eq(m.deadlocks[0].rounds, 3);
	cr_expect_eq(m.deadlocks[0].first_ns, w.deadlocks[0].first_ns);
	cr_expect_str_eq(m.deadlocks[0].where[1].function, "second");
	cr_expect_eq(m.oncpu.ticks, w.oncpu.ticks);
	cr_expect(near(m.oncpu.effective, w.oncpu.effective));
	cr_expect_eq(memcmp(m.oncpu.kind_ticks, w.oncpu.kind_ticks, sizeof(w.oncpu.kind_ticks)), 0);
	cr_assert_eq(m.oncpu.ncores, w.oncpu.ncores);
	for (size_t i = 0; i < w.oncpu.ncores; i++) {
		cr_expect_eq(m.oncpu.cores[i].ticks, w.oncpu.cores[i].ticks);
		cr_expect(near(m.oncpu.cores[i].busy, w.oncpu.cores[i].busy), "core %zu busy %g, not %g", i,
		          m.oncpu.cores[i].busy, w.oncpu.cores[i].busy);
	}
	cr_assert_eq(m.oncpu.nrefcount, 1);
	cr_expect_str_eq(m.oncpu.refcount[0].type, "Payload");
	cr_expect_eq(m.oncpu.refcount[0].samples, w.oncpu.refcount[0].samples);
	cr_expect_eq(m.oncpu.refcount[0].objects, 2);
	cr_expect_eq(m.oncpu.refcount[0].lines[0].line, 29);
	analysis_result_release(&w);
	analysis_result_release(&m);
	analysis_destroy(parts[0]);
	analysis_destroy(parts[1]);
	analysis_destroy(merged);
}
