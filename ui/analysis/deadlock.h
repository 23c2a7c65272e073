/* SPDX-License-Identifier: MIT */
/* ui/analysis/: deadlocks in one round of samples. A thread that waits on
 * something another thread holds points at that thread; every thread points
 * at most once, so the wait-for graph is a set of chains, and each chain
 * ends either in a thread that waits for nothing known or in a cycle. A
 * cycle is a deadlock: none of its threads can go on. Plain code over plain
 * structs, for dump, report and the live view alike. */
#ifndef FTPROF_DEADLOCK_H
#define FTPROF_DEADLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftprof/sample.h"

/* One thread of a round, as deadlock_find reads it. */
struct deadlock_thread {
	pid_t tid; /* 0: unknown, never part of a cycle */
	enum ftp_state state;
	enum ftp_wait_kind kind; /* what it waits on */
	uint64_t address;        /* of the lock, 0 unknown */
	pid_t holder;            /* tid of the thread holding it, 0 unknown */
};

/* A thread of a cycle and the lock it waits for, held by the next member
 * (the last one's by the first). */
struct deadlock_member {
	size_t thread; /* index into the threads given to deadlock_find */
	pid_t tid;
	enum ftp_wait_kind kind;
	uint64_t address;
};

struct deadlock_cycle {
	size_t first, n; /* its members: the deadlocks' members[first..first + n) */
};

/* The cycles found, in caller memory: deadlock_find fills it,
 * deadlocks_release frees what it holds. */
struct deadlocks {
	struct deadlock_cycle *cycles;
	size_t ncycles;
	struct deadlock_member *members; /* every cycle's, one after the other */
	size_t nmembers;
};

/* Finds every cycle of waits among threads[0..n): a thread waits on its
 * holder when its state is lock, wait or gil and holder is another known
 * thread of threads, or itself (a Lock taken twice: a cycle of one). Each
 * cycle is reported once, starting at its member of the lowest tid; cycles
 * come in the order of the threads. A holder not among threads, or unknown,
 * ends a chain: no cycle. threads is only read, and only during the call.
 * Returns 0 with *out filled (out->ncycles 0 when there is none; release it
 * either way), or -FTP_E_NOMEM with *out empty. */
int deadlock_find(const struct deadlock_thread *threads, size_t n, struct deadlocks *out);

/* Frees what deadlock_find stored in d and empties it; an empty (zeroed) d
 * is fine. */
void deadlocks_release(struct deadlocks *d);

#endif
