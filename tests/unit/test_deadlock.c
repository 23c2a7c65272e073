/* SPDX-License-Identifier: MIT */
/* ui/analysis/deadlock.c on synthetic rounds: cycles of two and three
 * threads, a chain that ends, holders ftprof does not know, a Lock taken
 * twice by one thread, and two cycles at once, each reported once. */
#include <criterion/criterion.h>

#include "analysis/deadlock.h"

#define LOCKW(tid, addr, holder)                                 \
	{                                                        \
		tid, FTP_STATE_LOCK, FTP_WAIT_LOCK, addr, holder \
	}
#define RUN(tid)                                            \
	{                                                   \
		tid, FTP_STATE_RUNNING, FTP_WAIT_NONE, 0, 0 \
	}

static void find(const struct deadlock_thread *t, size_t n, struct deadlocks *d)
{
	cr_assert_eq(deadlock_find(t, n, d), 0);
}

/* Cycle c has the tids want[0..n), in this order. */
static void expect_cycle(const struct deadlocks *d, size_t c, const pid_t *want, size_t n)
{
	cr_assert_lt(c, d->ncycles);
	const struct deadlock_cycle *cy = &d->cycles[c];
	cr_assert_eq(cy->n, n, "cycle %zu has %zu threads, want %zu", c, cy->n, n);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(d->members[cy->first + i].tid, want[i], "cycle %zu member %zu: %d, want %d", c,
		             i, (int)d->members[cy->first + i].tid, (int)want[i]);
}

Test(deadlock, two_threads)
{
	/* 20 holds B and waits for A; 10 holds A and waits for B */
	const struct deadlock_thread t[] = { RUN(5), LOCKW(20, 0xa, 10), LOCKW(10, 0xb, 20) };
	struct deadlocks d;
	find(t, 3, &d);
	cr_assert_eq(d.ncycles, 1);
	expect_cycle(&d, 0, (pid_t[]){ 10, 20 }, 2);
	/* threads[i] waits for locks[i], held by threads[i + 1] */
	cr_expect_eq(d.members[0].address, 0xb);
	cr_expect_eq(d.members[0].kind, FTP_WAIT_LOCK);
	cr_expect_eq(d.members[0].thread, 2);
	cr_expect_eq(d.members[1].address, 0xa);
	cr_expect_eq(d.members[1].thread, 1);
	deadlocks_release(&d);
}

Test(deadlock, three_threads_once)
{
	const struct deadlock_thread t[] = {
		LOCKW(3, 0x3, 1),
		{ 2, FTP_STATE_LOCK, FTP_WAIT_CRITICAL_SECTION, 0x2, 3 },
		{ 1, FTP_STATE_LOCK, FTP_WAIT_RLOCK, 0x1, 2 },
	};
	struct deadlocks d;
	find(t, 3, &d);
	cr_assert_eq(d.ncycles, 1, "one cycle, whichever thread a walk starts from");
	expect_cycle(&d, 0, (pid_t[]){ 1, 2, 3 }, 3);
	cr_expect_eq(d.members[0].kind, FTP_WAIT_RLOCK);
	cr_expect_eq(d.members[1].kind, FTP_WAIT_CRITICAL_SECTION);
	cr_expect_eq(d.members[2].address, 0x3);
	cr_expect_eq(d.nmembers, 3);
	deadlocks_release(&d);
}

Test(deadlock, chain_is_no_cycle)
{
	/* 1 -> 2 -> 3 -> 4, and 4 runs: everyone waits, but 4 can go on */
	const struct deadlock_thread t[] = { LOCKW(1, 0x2, 2), LOCKW(2, 0x3, 3), LOCKW(3, 0x4, 4), RUN(4) };
	struct deadlocks d;
	find(t, 4, &d);
	cr_expect_eq(d.ncycles, 0);
	deadlocks_release(&d);
	/* a holder that is not waiting (running) ends a chain even if it names a holder */
	const struct deadlock_thread u[] = { LOCKW(1, 0x2, 2),
		                             { 2, FTP_STATE_RUNNING, FTP_WAIT_LOCK, 0x1, 1 } };
	find(u, 2, &d);
	cr_expect_eq(d.ncycles, 0, "a running thread waits for nothing");
	deadlocks_release(&d);
}

Test(deadlock, unknown_holders)
{
	/* holders unknown (0) or not among the threads: chains end there */
	const struct deadlock_thread t[] = { LOCKW(1, 0x1, 0), LOCKW(2, 0x2, 99), LOCKW(3, 0x1, 1),
		                             LOCKW(0, 0x5, 3) };
	struct deadlocks d;
	find(t, 4, &d);
	cr_expect_eq(d.ncycles, 0);
	deadlocks_release(&d);
	find(t, 0, &d);
	cr_expect_eq(d.ncycles, 0);
	deadlocks_release(&d);
}

Test(deadlock, lock_taken_twice)
{
	const struct deadlock_thread t[] = { RUN(1), LOCKW(7, 0x7, 7) };
	struct deadlocks d;
	find(t, 2, &d);
	cr_assert_eq(d.ncycles, 1);
	expect_cycle(&d, 0, (pid_t[]){ 7 }, 1);
	deadlocks_release(&d);
}

Test(deadlock, two_cycles_and_a_tail)
{
	/* 9 waits into the cycle 4 <-> 5 without being in it; 6, 7, 8 make
	 * another, joins and GIL waits included */
	const struct deadlock_thread t[] = {
		LOCKW(9, 0x4, 4), LOCKW(5, 0x4, 4), { 8, FTP_STATE_WAIT, FTP_WAIT_JOIN, 0, 6 },
		LOCKW(4, 0x5, 5), LOCKW(6, 0x7, 7), { 7, FTP_STATE_GIL, FTP_WAIT_GIL, 0x99, 8 },
	};
	struct deadlocks d;
	find(t, 6, &d);
	cr_assert_eq(d.ncycles, 2);
	expect_cycle(&d, 0, (pid_t[]){ 4, 5 }, 2);
	expect_cycle(&d, 1, (pid_t[]){ 6, 7, 8 }, 3);
	cr_expect_eq(d.members[d.cycles[1].first + 2].kind, FTP_WAIT_JOIN);
	deadlocks_release(&d);
}
