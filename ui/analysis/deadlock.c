/* SPDX-License-Identifier: MIT */
/* Wait-for cycles among the threads of one round (deadlock.h). Each thread
 * has at most one successor, its holder, so a walk from any thread meets
 * either the end of its chain, a thread an earlier walk finished (no new
 * cycle past it), or a thread of its own walk: the cycle starts there. Every
 * thread is walked over once: O(n log n) with the sort of tids. */
#include <stdlib.h>
#include <string.h>

#include "deadlock.h"
#include "ftprof/error.h"

#define NONE SIZE_MAX

struct by_tid {
	pid_t tid;
	size_t index;
};

static int cmp_tid(const void *a, const void *b)
{
	const struct by_tid *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static bool waits(const struct deadlock_thread *t)
{
	switch (t->state) {
	case FTP_STATE_LOCK:
	case FTP_STATE_WAIT:
	case FTP_STATE_GIL:
		return t->tid != 0 && t->holder != 0;
	default:
		return false;
	}
}

/* The index of the thread that thread i waits on, or NONE. */
static size_t successor(const struct deadlock_thread *threads, const struct by_tid *sorted, size_t n,
                        size_t i)
{
	if (!waits(&threads[i]))
		return NONE;
	struct by_tid key = { threads[i].holder, 0 };
	const struct by_tid *hit = bsearch(&key, sorted, n, sizeof(*sorted), cmp_tid);
	return hit ? hit->index : NONE;
}

void deadlocks_release(struct deadlocks *d)
{
	free(d->cycles);
	free(d->members);
	memset(d, 0, sizeof(*d));
}

/* Appends the cycle through `start` (next[] links it), from its member of
 * the lowest tid. */
static int add_cycle(struct deadlocks *d, const struct deadlock_thread *threads, const size_t *next,
                     size_t start, size_t *mcap, size_t *ccap)
{
	size_t len = 1, low = start;
	for (size_t j = next[start]; j != start; j = next[j]) {
		len++;
		if (threads[j].tid < threads[low].tid)
			low = j;
	}
	if (d->nmembers + len > *mcap) {
		size_t cap = *mcap ? *mcap * 2 : 16;
		while (cap < d->nmembers + len)
			cap *= 2;
		struct deadlock_member *v = realloc(d->members, cap * sizeof(*v));
		if (!v)
			return -FTP_E_NOMEM;
		d->members = v;
		*mcap = cap;
	}
	if (d->ncycles + 1 > *ccap) {
		size_t cap = *ccap ? *ccap * 2 : 4;
		struct deadlock_cycle *v = realloc(d->cycles, cap * sizeof(*v));
		if (!v)
			return -FTP_E_NOMEM;
		d->cycles = v;
		*ccap = cap;
	}
	d->cycles[d->ncycles++] = (struct deadlock_cycle){ d->nmembers, len };
	size_t j = low;
	do {
		d->members[d->nmembers++] = (struct deadlock_member){ .thread = j,
			                                              .tid = threads[j].tid,
			                                              .kind = threads[j].kind,
			                                              .address = threads[j].address };
		j = next[j];
	} while (j != low);
	return 0;
}

int deadlock_find(const struct deadlock_thread *threads, size_t n, struct deadlocks *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	struct by_tid *sorted = malloc(n * sizeof(*sorted));
	size_t *next = malloc(n * sizeof(*next));
	size_t *walk = malloc(n * sizeof(*walk)); /* the walk that reached a thread + 1; 0: none yet */
	int ret = 0;
	if (!sorted || !next || !walk) {
		ret = -FTP_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sorted[i] = (struct by_tid){ threads[i].tid, i };
		walk[i] = 0;
	}
	qsort(sorted, n, sizeof(*sorted), cmp_tid);
	for (size_t i = 0; i < n; i++)
		next[i] = successor(threads, sorted, n, i);
	size_t mcap = 0, ccap = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		size_t j = i;
		while (j != NONE && !walk[j]) {
			walk[j] = i + 1;
			j = next[j];
		}
		if (j != NONE && walk[j] == i + 1) /* back on this walk: a new cycle */
			ret = add_cycle(out, threads, next, j, &mcap, &ccap);
	}
	if (ret < 0)
		deadlocks_release(out);
out:
	free(sorted);
	free(next);
	free(walk);
	return ret;
}
