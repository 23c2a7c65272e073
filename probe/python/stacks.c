/* SPDX-License-Identifier: MIT */
/* The last sample of each thread, and its stack when the thread was off its
 * CPU. A thread that has not run since (its context switches say so) still
 * has that stack, and is reported again without a read of its frames: most
 * threads of a server or a pool are parked most of the time. When no thread
 * of the process has run and its list of threads starts where it did, the
 * whole round is the last one again, for one read of the target. With a
 * GIL, a thread that has not held it since the last round has not moved its
 * Python frames either, whether it ran or not. */
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

/* Even when nothing seems to move, a full round this often: a thread state
 * freed by a thread that is not in the list would otherwise go unseen. */
#define FULL_ROUND_NS 100000000u

/* A thread's last sample, and the last stack read of it off its CPU: while
 * the thread stays still the stack is reported again without a read. */
struct stack_entry {
	pid_t tid;
	uint64_t tstate, thread_id; /* must match too: a tid can be reused */
	uint64_t id;                /* ftp_sample.stack_id of frames; 0: none kept */
	unsigned nframes, cap, flags;
	struct ftp_frame *frames;
	struct ftp_sample sample;   /* as last reported by a round read whole */
	uint64_t seen;              /* round it was last reported in */
	struct probe_range *ranges; /* what reading frames took (for the prefetch) */
	size_t nranges, ranges_cap;
	bool reused;  /* its stack was not read in the last round */
	bool off_cpu; /* frames read while the thread was off its CPU */
};

struct probe_stacks {
	struct stack_entry *v; /* the threads of the last round, in its order */
	size_t n, cap;
	struct ftp_hindex index;         /* v by tid */
	uint64_t ids;                    /* the last ftp_sample.stack_id given */
	uint64_t list_interp, list_head; /* the last round's single interpreter
					    and first thread state; 0: none */
	size_t list_threads;             /* and its number of threads */
	uint64_t full_round_at;          /* CLOCK_MONOTONIC of the last round read */
};

void probe_stacks_destroy(struct probe_stacks *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].frames);
		free(st->v[i].ranges);
	}
	free(st->v);
	ftp_hindex_release(&st->index);
	free(st);
}

/* p->stacks, made on first use; NULL when out of memory (only a shortcut
 * lost). */
static struct probe_stacks *get(struct ftp_probe *p)
{
	if (!p->stacks)
		p->stacks = calloc(1, sizeof(*p->stacks));
	return p->stacks;
}

static uint64_t tid_hash(pid_t tid)
{
	return ftp_hash_mix(0, (uint64_t)(uint32_t)tid);
}

static bool entry_same(const void *ctx, uint32_t i, const void *key)
{
	return ((const struct stack_entry *)ctx)[i].tid == *(const pid_t *)key;
}

static uint64_t entry_hash(const void *ctx, size_t i)
{
	return tid_hash(((const struct stack_entry *)ctx)[i].tid);
}

/* The entry of tid, looked for first at `hint` (threads come in the same
 * order round after round). */
static struct stack_entry *find(const struct probe_stacks *st, pid_t tid, size_t hint)
{
	if (!st)
		return NULL;
	if (hint < st->n && st->v[hint].tid == tid)
		return &st->v[hint];
	long i = ftp_hindex_get(&st->index, tid_hash(tid), entry_same, st->v, &tid);
	return i < 0 ? NULL : &st->v[i];
}

bool probe_stacks_reuse(struct ftp_probe *p, uint64_t tstate, size_t hint, bool still, bool gil_still,
                        struct ftp_sample *s)
{
	struct stack_entry *e = find(p->stacks, s->tid, hint);
	if (!e || !e->id || e->tstate != tstate || e->thread_id != s->thread_id)
		return false;
	if (!gil_still && !(still && e->off_cpu))
		return false;
	s->frames = e->frames;
	s->nframes = e->nframes;
	s->flags |= e->flags;
	s->stack_id = e->id;
	p->stats.reused++;
	return true;
}

const struct probe_range *probe_stacks_ranges(struct ftp_probe *p, pid_t tid, size_t hint, size_t *n)
{
	const struct stack_entry *e = find(p->stacks, tid, hint);
	*n = e ? e->nranges : 0;
	return *n ? e->ranges : NULL;
}

const struct probe_range *probe_stacks_unread(struct ftp_probe *p, pid_t tid, size_t hint, size_t *n)
{
	const struct stack_entry *e = find(p->stacks, tid, hint);
	*n = e && e->reused ? e->nranges : 0;
	return *n ? e->ranges : NULL;
}

/* Keeps the ranges read for e's stack since trace_mark. */
static void keep_ranges(struct ftp_probe *p, struct stack_entry *e, size_t trace_mark)
{
	size_t n;
	const struct probe_range *r = probe_mem_traced(&p->mem, trace_mark, &n);
	e->nranges = 0;
	if (n > e->ranges_cap) {
		struct probe_range *v = realloc(e->ranges, n * sizeof(*v));
		if (!v)
			return;
		e->ranges = v;
		e->ranges_cap = n;
	}
	if (n)
		memcpy(e->ranges, r, n * sizeof(*r));
	e->nranges = n;
}

void probe_stacks_keep(struct ftp_probe *p, uint64_t tstate, size_t hint, struct ftp_sample *s, bool off_cpu,
                       bool any_cpu, size_t trace_mark)
{
	struct probe_stacks *st = get(p);
	if (!st)
		return; /* only a shortcut lost */
	struct stack_entry *e = find(st, s->tid, hint);
	if (!e) {
		off_cpu = false; /* looked at after the round's copy: not known */
		if (st->n == st->cap) {
			size_t cap = st->cap ? st->cap * 2 : 16;
			struct stack_entry *v = realloc(st->v, cap * sizeof(*v));
			if (!v)
				return; /* only a shortcut lost */
			st->v = v;
			st->cap = cap;
		}
		if (ftp_hindex_reserve(&st->index, st->n, 32, entry_hash, st->v) < 0)
			return;
		pid_t tid = s->tid;
		*ftp_hindex_find(&st->index, tid_hash(tid), entry_same, st->v, &tid) = (uint32_t)st->n + 1;
		e = &st->v[st->n++];
		memset(e, 0, sizeof(*e));
		e->tid = tid;
	}
	e->seen = p->round;
	e->sample = *s;
	e->reused = s->stack_id && s->stack_id == e->id;
	if (e->reused)
		return; /* reported from this entry */
	keep_ranges(p, e, trace_mark);
	e->id = 0;
	if (!(off_cpu || any_cpu) || (s->flags & FTP_SAMPLE_TORN))
		return;
	if (s->nframes > e->cap) {
		struct ftp_frame *v = realloc(e->frames, s->nframes * sizeof(*v));
		if (!v)
			return;
		e->frames = v;
		e->cap = s->nframes;
	}
	if (s->nframes)
		memcpy(e->frames, s->frames, s->nframes * sizeof(*e->frames));
	e->nframes = s->nframes;
	e->flags = s->flags & (FTP_SAMPLE_TRUNCATED | FTP_SAMPLE_NO_STACK);
	e->off_cpu = off_cpu;
	e->tstate = tstate;
	e->thread_id = s->thread_id;
	e->id = s->stack_id = ++st->ids;
	e->sample.stack_id = e->id;
}

void probe_stacks_prefetch(struct ftp_probe *p)
{
	const struct probe_stacks *st = p->stacks;
	for (size_t i = 0; st && i < st->n; i++) {
		struct stack_entry *e = &st->v[i];
		/* Every known thread is looked at before the round's copy: a
		 * stack read off its CPU was read after the thread left it. */
		const struct task_info *t = probe_thread_state(p, e->tid);
		if (!e->reused || !e->nranges || !t || t->still)
			continue;
		/* With a GIL, a thread that ran without it is reused again; one
		 * that takes it anew is filled from its ranges when read. */
		if (p->gil_seen.valid && e->tstate != p->gil_seen.last_holder)
			continue;
		probe_mem_trace_extend(&p->mem, e->ranges, e->nranges);
	}
}

void probe_stacks_list(struct ftp_probe *p, uint64_t interp, uint64_t head, size_t nthreads)
{
	/* no entries yet: nothing that a round could be replayed from */
	struct probe_stacks *st = interp ? get(p) : p->stacks;
	if (!st)
		return;
	st->list_interp = interp;
	st->list_head = head;
	st->list_threads = nthreads;
}

bool probe_stacks_replay(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, int *ret)
{
	struct probe_stacks *st = p->stacks;
	if (!st || !st->list_interp || st->n != st->list_threads || p->native || p->opts.blocking)
		return false;
	uint64_t now = ftp_now_ns();
	if (now - st->full_round_at >= FULL_ROUND_NS)
		return false;
	for (size_t i = 0; i < st->n; i++) {
		struct stack_entry *e = &st->v[i];
		const struct task_info *t = probe_thread_state(p, e->tid);
		if (!e->id || !e->off_cpu || !t || !t->still)
			return false;
	}
	uint64_t head = 0;
	if (probe_mem_read_direct(&p->mem, st->list_interp + p->L.interp.threads_head, &head, sizeof(head),
	                          NULL) < 0 ||
	    head != st->list_head)
		return false;
	*ret = 0;
	for (size_t i = 0; i < st->n; i++) {
		struct stack_entry *e = &st->v[i];
		struct ftp_sample s = e->sample;
		s.time_ns = now;
		s.round = p->round;
		s.frames = e->frames;
		e->seen = p->round;
		e->reused = true;
		p->stats.samples++;
		p->stats.reused++;
		if ((*ret = fn(&s, arg)) != 0)
			break;
	}
	return true;
}

void probe_stacks_classified(struct ftp_probe *p, size_t hint, const struct ftp_sample *s)
{
	struct stack_entry *e = p->stacks ? find(p->stacks, s->tid, hint) : NULL;
	if (e && e->seen == p->round) {
		e->sample.state = s->state;
		e->sample.on_cpu = s->on_cpu;
		e->sample.wait = s->wait;
	}
}

void probe_stacks_end_round(struct ftp_probe *p, bool full)
{
	struct probe_stacks *st = full ? get(p) : p->stacks;
	if (!st)
		return;
	if (full)
		st->full_round_at = ftp_now_ns();
	size_t kept = 0;
	for (size_t i = 0; i < st->n; i++) {
		if (st->v[i].seen == p->round)
			st->v[kept++] = st->v[i];
		else {
			free(st->v[i].frames);
			free(st->v[i].ranges);
		}
	}
	if (kept == st->n)
		return;
	st->n = kept;
	/* the entries moved: index them anew (the capacity is there) */
	ftp_hindex_clear(&st->index);
	for (size_t i = 0; i < st->n; i++)
		*ftp_hindex_find(&st->index, entry_hash(st->v, i), entry_same, st->v, &st->v[i].tid) =
		        (uint32_t)i + 1;
}
