/* SPDX-License-Identifier: MIT */
/* The analysis behind `report` and the live view: counters keyed through
 * util.h's hash index, a buffer of the open round's samples (the holders'
 * lines and the wait-for graph need a whole round), and the deadlocks seen. */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "deadlock.h"
#include "ftprof/util.h"
#include "oncpu.h"
#include "strtab.h"

struct frame {
	uint32_t function, file; /* strtab ids */
	int line;
	uint64_t hash;
};

struct thread {
	pid_t tid;
	uint32_t name;
	uint64_t samples;
	uint64_t states[FTP_STATE_COUNT];
	uint64_t hash;
};

struct lock {
	enum ftp_wait_kind kind;
	uint64_t address;
	uint32_t type;
	uint64_t samples;
	uint64_t hash;
};

enum { ROLE_WAITER, ROLE_HOLDER };

/* The samples of one role at one line of one lock. */
struct lockline {
	uint32_t lock, frame; /* frame: id (index + 1) */
	int role;
	uint64_t samples;
	uint64_t hash;
};

/* A sample of the open round, as much of it as a whole round needs. */
struct entry {
	pid_t tid, holder;
	enum ftp_state state;
	enum ftp_wait_kind kind;
	uint64_t address;
	uint32_t frame; /* id, 0: none */
	long lock;      /* index in locks, -1: not a lock sample */
	int gil;
};

/* A deadlock seen: its n members are at off in the pools. */
struct cycle {
	size_t n, off;
	uint64_t rounds, first_ns;
	uint64_t hash;
};

struct analysis {
	struct analysis_opts opts;
	struct strtab strs;
	struct oncpu_counts *oncpu; /* the on-CPU ticks' counters */

	struct frame *frames;
	size_t nframes, frames_cap;
	struct ftp_hindex frame_ix;

	struct thread *threads;
	size_t nthreads, threads_cap;
	struct ftp_hindex thread_ix;

	struct lock *locks;
	size_t nlocks, locks_cap;
	struct ftp_hindex lock_ix;

	struct lockline *lines;
	size_t nlines, lines_cap;
	struct ftp_hindex line_ix;

	/* The open round. */
	bool open;
	uint64_t round, round_ns;
	struct entry *entries;
	size_t nentries, entries_cap;
	struct ftp_hindex entry_ix;    /* by tid; rebuilt per round */
	struct deadlock_thread *graph; /* the round, as deadlock_find reads it */
	size_t graph_cap;

	/* Ended rounds. */
	uint64_t samples, rounds;
	uint64_t first_ns, last_ns;
	uint64_t busy_sum, python_sum; /* threads running or native; running */
	uint64_t gil_held_rounds;
	bool gil_build;

	struct cycle *cycles;
	size_t ncycles, cycles_cap;
	struct ftp_hindex cycle_ix;
	pid_t *cy_tids;
	enum ftp_wait_kind *cy_kinds;
	uint64_t *cy_addrs;
	uint32_t *cy_frames;
	size_t cy_n, cy_tids_cap, cy_kinds_cap, cy_addrs_cap, cy_frames_cap;
};

/* ---- hash index glue: every entry keeps its hash ---- */

#define HASH_OF(name, type, arr)                          \
	static uint64_t name(const void *ctx, size_t idx) \
	{                                                 \
		const struct analysis *a = ctx;           \
		return ((const type *)a->arr)[idx].hash;  \
	}
HASH_OF(frame_hash_of, struct frame, frames)
HASH_OF(thread_hash_of, struct thread, threads)
HASH_OF(lock_hash_of, struct lock, locks)
HASH_OF(line_hash_of, struct lockline, lines)
HASH_OF(cycle_hash_of, struct cycle, cycles)
#undef HASH_OF

static bool same_frame(const void *ctx, uint32_t idx, const void *key)
{
	const struct frame *f = &((const struct analysis *)ctx)->frames[idx], *k = key;
	return f->function == k->function && f->file == k->file && f->line == k->line;
}

static bool same_thread(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct analysis *)ctx)->threads[idx].tid == *(const pid_t *)key;
}

static bool same_lock(const void *ctx, uint32_t idx, const void *key)
{
	const struct lock *l = &((const struct analysis *)ctx)->locks[idx], *k = key;
	return l->kind == k->kind && l->address == k->address;
}

static bool same_line(const void *ctx, uint32_t idx, const void *key)
{
	const struct lockline *l = &((const struct analysis *)ctx)->lines[idx], *k = key;
	return l->lock == k->lock && l->frame == k->frame && l->role == k->role;
}

static bool same_entry(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct analysis *)ctx)->entries[idx].tid == *(const pid_t *)key;
}

static uint64_t entry_hash_of(const void *ctx, size_t idx)
{
	return ftp_hash_mix(0, (uint64_t)((const struct analysis *)ctx)->entries[idx].tid);
}

/* ---- interning ---- */

/* The id (index + 1) of frame (function, file, line); 0 when function is NULL. */
static int intern_frame(struct analysis *a, const char *function, const char *file, int line, uint32_t *id)
{
	*id = 0;
	if (!function)
		return 0;
	struct frame k = { .line = line };
	if (strtab_intern(&a->strs, function, &k.function) < 0 ||
	    strtab_intern(&a->strs, file ? file : "", &k.file) < 0)
		return -FTP_E_NOMEM;
	k.hash = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(0, k.function), k.file), (uint64_t)(int64_t)line);
	if (ftp_hindex_reserve(&a->frame_ix, a->nframes, 256, frame_hash_of, a) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&a->frame_ix, k.hash, same_frame, a, &k);
	if (!*slot) {
		if (ftp_grow((void **)&a->frames, &a->frames_cap, a->nframes + 1, sizeof(*a->frames), 256) <
		    0)
			return -FTP_E_NOMEM;
		a->frames[a->nframes] = k;
		*slot = (uint32_t)++a->nframes;
	}
	*id = *slot;
	return 0;
}

static struct thread *get_thread(struct analysis *a, pid_t tid)
{
	uint64_t h = ftp_hash_mix(0, (uint64_t)tid);
	if (ftp_hindex_reserve(&a->thread_ix, a->nthreads, 64, thread_hash_of, a) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&a->thread_ix, h, same_thread, a, &tid);
	if (!*slot) {
		if (ftp_grow((void **)&a->threads, &a->threads_cap, a->nthreads + 1, sizeof(*a->threads),
		             64) < 0)
			return NULL;
		a->threads[a->nthreads] = (struct thread){ .tid = tid, .hash = h };
		*slot = (uint32_t)++a->nthreads;
	}
	return &a->threads[*slot - 1];
}

static long get_lock(struct analysis *a, enum ftp_wait_kind kind, uint64_t address, const char *type)
{
	struct lock k = { .kind = kind, .address = address };
	k.hash = ftp_hash_mix(ftp_hash_addr(address), (uint64_t)kind);
	if (ftp_hindex_reserve(&a->lock_ix, a->nlocks, 64, lock_hash_of, a) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&a->lock_ix, k.hash, same_lock, a, &k);
	if (!*slot) {
		if (strtab_intern(&a->strs, type, &k.type) < 0 ||
		    ftp_grow((void **)&a->locks, &a->locks_cap, a->nlocks + 1, sizeof(*a->locks), 64) < 0)
			return -FTP_E_NOMEM;
		a->locks[a->nlocks] = k;
		*slot = (uint32_t)++a->nlocks;
	} else if (!a->locks[*slot - 1].type && type &&
	           strtab_intern(&a->strs, type, &a->locks[*slot - 1].type) < 0) {
		return -FTP_E_NOMEM;
	}
	return (long)*slot - 1;
}

static int count_line(struct analysis *a, long lock, uint32_t frame, int role, uint64_t samples)
{
	struct lockline k = { .lock = (uint32_t)lock, .frame = frame, .role = role, .samples = samples };
	k.hash = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(0, k.lock), frame), (uint64_t)role);
	if (ftp_hindex_reserve(&a->line_ix, a->nlines, 256, line_hash_of, a) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&a->line_ix, k.hash, same_line, a, &k);
	if (*slot) {
		a->lines[*slot - 1].samples += samples;
		return 0;
	}
	if (ftp_grow((void **)&a->lines, &a->lines_cap, a->nlines + 1, sizeof(*a->lines), 256) < 0)
		return -FTP_E_NOMEM;
	a->lines[a->nlines] = k;
	*slot = (uint32_t)++a->nlines;
	return 0;
}

/* ---- life ---- */

int analysis_create(struct analysis **out, const struct analysis_opts *opts)
{
	struct analysis *a = calloc(1, sizeof(*a));
	if (!a)
		return -FTP_E_NOMEM;
	if (!(a->oncpu = oncpu_counts_create())) {
		free(a);
		return -FTP_E_NOMEM;
	}
	if (opts)
		a->opts = *opts;
	*out = a;
	return 0;
}

void analysis_set_opts(struct analysis *a, const struct analysis_opts *opts)
{
	a->opts = *opts;
}

void analysis_destroy(struct analysis *a)
{
	if (!a)
		return;
	oncpu_counts_destroy(a->oncpu);
	strtab_release(&a->strs);
	free(a->frames);
	ftp_hindex_release(&a->frame_ix);
	free(a->threads);
	ftp_hindex_release(&a->thread_ix);
	free(a->locks);
	ftp_hindex_release(&a->lock_ix);
	free(a->lines);
	ftp_hindex_release(&a->line_ix);
	free(a->entries);
	ftp_hindex_release(&a->entry_ix);
	free(a->graph);
	free(a->cycles);
	ftp_hindex_release(&a->cycle_ix);
	free(a->cy_tids);
	free(a->cy_kinds);
	free(a->cy_addrs);
	free(a->cy_frames);
	free(a);
}

/* ---- samples ---- */

int analysis_add(struct analysis *a, const struct analysis_sample *s)
{
	int ret;
	if (a->open && s->round != a->round && (ret = analysis_end_round(a)) < 0)
		return ret;
	if (ftp_grow((void **)&a->entries, &a->entries_cap, a->nentries + 1, sizeof(*a->entries), 64) < 0)
		return -FTP_E_NOMEM;
	struct thread *t = get_thread(a, s->tid);
	if (!t || oncpu_counts_add(a->oncpu, s) < 0)
		return -FTP_E_NOMEM;
	uint32_t name = t->name;
	if (s->thread && *s->thread && strtab_intern(&a->strs, s->thread, &name) < 0)
		return -FTP_E_NOMEM;
	struct entry e = { .tid = s->tid,
		           .holder = s->holder,
		           .state = (unsigned)s->state < FTP_STATE_COUNT ? s->state : FTP_STATE_UNKNOWN,
		           .kind = (unsigned)s->wait_kind < FTP_WAIT_COUNT ? s->wait_kind : FTP_WAIT_NONE,
		           .address = s->wait_address,
		           .lock = -1,
		           .gil = s->gil };
	if ((ret = intern_frame(a, s->function, s->file, s->line, &e.frame)) < 0)
		return ret;
	if (e.state == FTP_STATE_LOCK) {
		if ((e.lock = get_lock(a, e.kind, e.address, s->wait_type)) < 0)
			return (int)e.lock;
		if (e.frame && (ret = count_line(a, e.lock, e.frame, ROLE_WAITER, 1)) < 0)
			return ret;
		a->locks[e.lock].samples++;
	}
	if (!a->open) {
		a->open = true;
		a->round = s->round;
		a->round_ns = s->time_ns;
	} else if (s->time_ns && (s->time_ns < a->round_ns || !a->round_ns)) {
		a->round_ns = s->time_ns;
	}
	t->name = name;
	t->samples++;
	t->states[e.state]++;
	a->entries[a->nentries++] = e;
	a->samples++;
	return 0;
}

/* The entry of tid in the open round, or -1. */
static long find_entry(const struct analysis *a, pid_t tid)
{
	return ftp_hindex_get(&a->entry_ix, ftp_hash_mix(0, (uint64_t)tid), same_entry, a, &tid);
}

static bool same_cycle(const void *ctx, uint32_t idx, const void *key)
{
	const struct analysis *a = ctx;
	const struct cycle *c = &a->cycles[idx], *k = key;
	if (c->n != k->n)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (a->cy_tids[c->off + i] != a->cy_tids[k->off + i] ||
		    a->cy_kinds[c->off + i] != a->cy_kinds[k->off + i] ||
		    a->cy_addrs[c->off + i] != a->cy_addrs[k->off + i])
			return false;
	return true;
}

/* Makes room for a cycle of n members at the end of the pools. */
static int cycle_reserve(struct analysis *a, size_t n)
{
	size_t need = a->cy_n + n;
	if (ftp_grow((void **)&a->cy_tids, &a->cy_tids_cap, need, sizeof(*a->cy_tids), 16) < 0 ||
	    ftp_grow((void **)&a->cy_kinds, &a->cy_kinds_cap, need, sizeof(*a->cy_kinds), 16) < 0 ||
	    ftp_grow((void **)&a->cy_addrs, &a->cy_addrs_cap, need, sizeof(*a->cy_addrs), 16) < 0 ||
	    ftp_grow((void **)&a->cy_frames, &a->cy_frames_cap, need, sizeof(*a->cy_frames), 16) < 0 ||
	    ftp_hindex_reserve(&a->cycle_ix, a->ncycles, 16, cycle_hash_of, a) < 0)
		return -FTP_E_NOMEM;
	return 0;
}

/* Adds the cycle k whose members were written at the end of the pools
 * (k.off == a->cy_n), once: one seen before takes k's rounds and earliest
 * time, and the pools' tail is overwritten next time. */
static int cycle_add(struct analysis *a, struct cycle k)
{
	uint64_t h = ftp_hash_mix(0, k.n);
	for (size_t i = k.off; i < k.off + k.n; i++)
		h = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(h, (uint64_t)a->cy_tids[i]), a->cy_kinds[i]),
		                 a->cy_addrs[i]);
	k.hash = h;
	uint32_t *slot = ftp_hindex_find(&a->cycle_ix, h, same_cycle, a, &k);
	if (*slot) {
		struct cycle *o = &a->cycles[*slot - 1];
		o->rounds += k.rounds;
		if (k.first_ns < o->first_ns)
			o->first_ns = k.first_ns;
		return 0;
	}
	if (ftp_grow((void **)&a->cycles, &a->cycles_cap, a->ncycles + 1, sizeof(*a->cycles), 16) < 0)
		return -FTP_E_NOMEM;
	a->cycles[a->ncycles] = k;
	*slot = (uint32_t)++a->ncycles;
	a->cy_n += k.n;
	return 0;
}

/* Records a cycle of the open round (members index a->entries, the lowest
 * tid first). */
static int record_cycle(struct analysis *a, const struct deadlock_member *m, size_t n)
{
	if (cycle_reserve(a, n) < 0)
		return -FTP_E_NOMEM;
	struct cycle k = { .n = n, .off = a->cy_n, .rounds = 1, .first_ns = a->round_ns };
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &a->entries[m[i].thread];
		a->cy_tids[k.off + i] = e->tid;
		a->cy_kinds[k.off + i] = e->kind;
		a->cy_addrs[k.off + i] = e->address;
		a->cy_frames[k.off + i] = e->frame;
	}
	return cycle_add(a, k);
}

/* The open round's wait-for cycles (deadlock.h), each recorded once. A
 * thread sampled twice in a round counts by its first sample. */
static int find_deadlocks(struct analysis *a)
{
	size_t n = a->nentries;
	if (ftp_grow((void **)&a->graph, &a->graph_cap, n, sizeof(*a->graph), 64) < 0)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &a->entries[i];
		bool first = find_entry(a, e->tid) == (long)i;
		a->graph[i] = (struct deadlock_thread){ .tid = first ? e->tid : 0,
			                                .state = e->state,
			                                .kind = e->kind,
			                                .address = e->address,
			                                .holder = e->holder };
	}
	struct deadlocks d = { 0 };
	int ret = deadlock_find(a->graph, n, &d);
	for (size_t c = 0; ret == 0 && c < d.ncycles; c++)
		ret = record_cycle(a, d.members + d.cycles[c].first, d.cycles[c].n);
	deadlocks_release(&d);
	return ret;
}

int analysis_end_round(struct analysis *a)
{
	if (!a->open)
		return 0;
	int ret = 0;
	a->open = false;
	/* Index the round by tid (a thread sampled twice: its first sample). */
	ftp_hindex_clear(&a->entry_ix);
	for (size_t i = 0; i < a->nentries && ret == 0; i++) {
		if (ftp_hindex_reserve(&a->entry_ix, i, 64, entry_hash_of, a) < 0) {
			ret = -FTP_E_NOMEM;
			break;
		}
		pid_t tid = a->entries[i].tid;
		uint32_t *slot =
		        ftp_hindex_find(&a->entry_ix, ftp_hash_mix(0, (uint64_t)tid), same_entry, a, &tid);
		if (!*slot)
			*slot = (uint32_t)i + 1;
	}
	uint64_t busy = 0, python = 0;
	bool gil_held = false;
	for (size_t i = 0; i < a->nentries && ret == 0; i++) {
		const struct entry *e = &a->entries[i];
		busy += e->state == FTP_STATE_RUNNING || e->state == FTP_STATE_NATIVE;
		python += e->state == FTP_STATE_RUNNING;
		if (e->gil >= 0)
			a->gil_build = true;
		gil_held |= e->gil > 0;
		if (e->lock < 0 || !e->holder)
			continue;
		long h = find_entry(a, e->holder);
		if (h >= 0 && a->entries[h].frame)
			ret = count_line(a, e->lock, a->entries[h].frame, ROLE_HOLDER, 1);
	}
	if (ret == 0)
		ret = find_deadlocks(a);
	if (ret == 0) {
		if (!a->rounds)
			a->first_ns = a->round_ns;
		a->last_ns = a->round_ns;
		a->rounds++;
		a->busy_sum += busy;
		a->python_sum += python;
		a->gil_held_rounds += gil_held;
	}
	a->nentries = 0;
	return ret;
}

/* ---- merging ---- */

/* Adds src's cycle c (its frames mapped through frames) to a's cycles. */
static int merge_cycle(struct analysis *a, const struct analysis *src, const struct cycle *c,
                       const uint32_t *frames)
{
	if (cycle_reserve(a, c->n) < 0)
		return -FTP_E_NOMEM;
	struct cycle k = { .n = c->n, .off = a->cy_n, .rounds = c->rounds, .first_ns = c->first_ns };
	for (size_t i = 0; i < c->n; i++) {
		uint32_t f = src->cy_frames[c->off + i];
		a->cy_tids[k.off + i] = src->cy_tids[c->off + i];
		a->cy_kinds[k.off + i] = src->cy_kinds[c->off + i];
		a->cy_addrs[k.off + i] = src->cy_addrs[c->off + i];
		a->cy_frames[k.off + i] = f ? frames[f - 1] : 0;
	}
	return cycle_add(a, k);
}

int analysis_merge(struct analysis *a, const struct analysis *src)
{
	int ret = 0;
	uint32_t *frames = src->nframes ? malloc(src->nframes * sizeof(*frames)) : NULL;
	long *locks = src->nlocks ? malloc(src->nlocks * sizeof(*locks)) : NULL;
	if ((src->nframes && !frames) || (src->nlocks && !locks)) {
		ret = -FTP_E_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < src->nframes && ret == 0; i++) {
		const struct frame *f = &src->frames[i];
		ret = intern_frame(a, strtab_str(&src->strs, f->function), strtab_str(&src->strs, f->file),
		                   f->line, &frames[i]);
	}
	for (size_t i = 0; i < src->nthreads && ret == 0; i++) {
		const struct thread *st = &src->threads[i];
		struct thread *t = get_thread(a, st->tid);
		uint32_t name = t ? t->name : 0;
		if (!t ||
		    (st->name && strtab_intern(&a->strs, strtab_str(&src->strs, st->name), &name) < 0)) {
			ret = -FTP_E_NOMEM;
			break;
		}
		t->name = name;
		t->samples += st->samples;
		for (int k = 0; k < FTP_STATE_COUNT; k++)
			t->states[k] += st->states[k];
	}
	for (size_t i = 0; i < src->nlocks && ret == 0; i++) {
		const struct lock *l = &src->locks[i];
		if ((locks[i] = get_lock(a, l->kind, l->address, strtab_str(&src->strs, l->type))) < 0)
			ret = (int)locks[i];
		else
			a->locks[locks[i]].samples += l->samples;
	}
	for (size_t i = 0; i < src->nlines && ret == 0; i++) {
		const struct lockline *l = &src->lines[i];
		ret = count_line(a, locks[l->lock], l->frame ? frames[l->frame - 1] : 0, l->role, l->samples);
	}
	for (size_t i = 0; i < src->ncycles && ret == 0; i++)
		ret = merge_cycle(a, src, &src->cycles[i], frames);
	if (ret == 0)
		ret = oncpu_counts_merge(a->oncpu, src->oncpu);
	if (ret == 0 && src->rounds) {
		if (!a->rounds || src->first_ns < a->first_ns)
			a->first_ns = src->first_ns;
		if (!a->rounds || src->last_ns > a->last_ns)
			a->last_ns = src->last_ns;
		a->rounds += src->rounds;
	}
	if (ret == 0) {
		a->samples += src->samples;
		a->busy_sum += src->busy_sum;
		a->python_sum += src->python_sum;
		a->gil_held_rounds += src->gil_held_rounds;
		a->gil_build |= src->gil_build;
	}
out:
	free(frames);
	free(locks);
	return ret;
}

/* ---- results ---- */

static struct analysis_line line_of(const struct analysis *a, uint32_t frame, uint64_t samples)
{
	if (!frame)
		return (struct analysis_line){ .line = -1, .samples = samples };
	const struct frame *f = &a->frames[frame - 1];
	return (struct analysis_line){ .function = strtab_str(&a->strs, f->function),
		                       .file = strtab_str(&a->strs, f->file),
		                       .line = f->line,
		                       .samples = samples };
}

/* Lock lines sort by lock, role, samples (most first), then the line's own
 * order, so that equal counts come out the same way every time (qsort_r:
 * the frames are the analysis'). */

static int cmp_str(const char *x, const char *y)
{
	return strcmp(x ? x : "", y ? y : "");
}

static int cmp_frames(const struct analysis *a, uint32_t x, uint32_t y)
{
	if (x == y)
		return 0;
	struct analysis_line lx = line_of(a, x, 0), ly = line_of(a, y, 0);
	int c = cmp_str(lx.file, ly.file);
	if (!c)
		c = (lx.line > ly.line) - (lx.line < ly.line);
	return c ? c : cmp_str(lx.function, ly.function);
}

static int cmp_lines(const void *x, const void *y, void *a)
{
	const struct lockline *l = x, *m = y;
	if (l->lock != m->lock)
		return l->lock < m->lock ? -1 : 1;
	if (l->role != m->role)
		return l->role - m->role;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	return cmp_frames(a, l->frame, m->frame);
}

static int cmp_locks(const void *x, const void *y)
{
	const struct analysis_lock *l = x, *m = y;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	if (l->kind != m->kind)
		return l->kind < m->kind ? -1 : 1;
	return (l->address > m->address) - (l->address < m->address);
}

static int cmp_gil(const void *x, const void *y)
{
	const struct analysis_gil_waiter *l = x, *m = y;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	return (l->tid > m->tid) - (l->tid < m->tid);
}

void analysis_result_release(struct analysis_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlocks; i++) {
		free(r->locks[i].waiters);
		free(r->locks[i].holders);
	}
	free(r->locks);
	free(r->threads);
	free(r->gil_waiters);
	for (size_t i = 0; i < r->ndeadlocks; i++) {
		free(r->deadlocks[i].threads);
		free(r->deadlocks[i].kinds);
		free(r->deadlocks[i].addresses);
		free(r->deadlocks[i].where);
	}
	free(r->deadlocks);
	oncpu_result_release(&r->oncpu);
	memset(r, 0, sizeof(*r));
}

static int fill_locks(struct analysis *a, struct analysis_result *r)
{
	if (!a->nlocks)
		return 0;
	r->locks = calloc(a->nlocks, sizeof(*r->locks));
	struct lockline *lines = a->nlines ? malloc(a->nlines * sizeof(*lines)) : NULL;
	if (!r->locks || (a->nlines && !lines)) {
		free(lines);
		return -FTP_E_NOMEM;
	}
	r->nlocks = a->nlocks;
	if (a->nlines) {
		memcpy(lines, a->lines, a->nlines * sizeof(*lines));
		qsort_r(lines, a->nlines, sizeof(*lines), cmp_lines, a);
	}
	int ret = 0;
	for (size_t i = 0, j = 0; i < a->nlocks; i++) {
		const struct lock *l = &a->locks[i];
		struct analysis_lock *o = &r->locks[i];
		o->kind = l->kind;
		o->address = l->address;
		o->type = strtab_str(&a->strs, l->type);
		o->samples = l->samples;
		o->wait_seconds = (double)l->samples * r->interval_s;
		size_t w = j, h;
		while (w < a->nlines && lines[w].lock == i && lines[w].role == ROLE_WAITER)
			w++;
		for (h = w; h < a->nlines && lines[h].lock == i; h++)
			;
		o->waiters = w > j ? malloc((w - j) * sizeof(*o->waiters)) : NULL;
		o->holders = h > w ? malloc((h - w) * sizeof(*o->holders)) : NULL;
		if ((w > j && !o->waiters) || (h > w && !o->holders)) {
			ret = -FTP_E_NOMEM;
			break;
		}
		for (; j < w; j++)
			o->waiters[o->nwaiters++] = line_of(a, lines[j].frame, lines[j].samples);
		for (; j < h; j++)
			o->holders[o->nholders++] = line_of(a, lines[j].frame, lines[j].samples);
	}
	free(lines);
	if (ret == 0)
		qsort(r->locks, r->nlocks, sizeof(*r->locks), cmp_locks);
	return ret;
}

static int fill_deadlocks(struct analysis *a, struct analysis_result *r)
{
	if (!a->ncycles)
		return 0;
	r->deadlocks = calloc(a->ncycles, sizeof(*r->deadlocks));
	if (!r->deadlocks)
		return -FTP_E_NOMEM;
	r->ndeadlocks = a->ncycles;
	for (size_t i = 0; i < a->ncycles; i++) {
		const struct cycle *c = &a->cycles[i];
		struct analysis_deadlock *d = &r->deadlocks[i];
		d->threads = malloc(c->n * sizeof(*d->threads));
		d->kinds = malloc(c->n * sizeof(*d->kinds));
		d->addresses = malloc(c->n * sizeof(*d->addresses));
		d->where = malloc(c->n * sizeof(*d->where));
		if (!d->threads || !d->kinds || !d->addresses || !d->where)
			return -FTP_E_NOMEM;
		d->n = c->n;
		d->rounds = c->rounds;
		d->first_ns = c->first_ns;
		for (size_t k = 0; k < c->n; k++) {
			d->threads[k] = a->cy_tids[c->off + k];
			d->kinds[k] = a->cy_kinds[c->off + k];
			d->addresses[k] = a->cy_addrs[c->off + k];
			d->where[k] = line_of(a, a->cy_frames[c->off + k], c->rounds);
		}
	}
	return 0;
}

int analysis_add_cpustat(struct analysis *a, uint64_t time_ns, const struct ftp_cpu_time *cpus, unsigned n)
{
	return oncpu_counts_cpustat(a->oncpu, time_ns, cpus, n);
}

int analysis_result(struct analysis *a, struct analysis_result *r)
{
	memset(r, 0, sizeof(*r));
	r->samples = a->samples;
	r->rounds = a->rounds;
	r->cores = a->opts.cores;
	r->first_ns = a->first_ns;
	if (a->rounds > 1 && a->last_ns > a->first_ns) {
		r->duration_s = (double)(a->last_ns - a->first_ns) / 1e9;
		r->interval_s = r->duration_s / (double)(a->rounds - 1);
		r->interval_measured = true;
	} else if (a->opts.rate > 0) {
		r->interval_s = 1.0 / a->opts.rate;
	}
	if (a->rounds) {
		r->effective = (double)a->busy_sum / (double)a->rounds;
		r->python = (double)a->python_sum / (double)a->rounds;
		r->gil_busy = (double)a->gil_held_rounds / (double)a->rounds;
	}
	r->gil_build = a->gil_build;

	if (a->nthreads) {
		r->threads = malloc(a->nthreads * sizeof(*r->threads));
		if (!r->threads)
			goto nomem;
	}
	for (size_t i = 0; i < a->nthreads; i++) {
		const struct thread *t = &a->threads[i];
		struct analysis_thread *o = &r->threads[r->nthreads++];
		o->tid = t->tid;
		o->name = strtab_str(&a->strs, t->name);
		o->samples = t->samples;
		memcpy(o->states, t->states, sizeof(o->states));
		oncpu_counts_thread(a->oncpu, t->tid, &o->ticks, &o->cpus, &o->last_cpu);
		if (t->states[FTP_STATE_GIL])
			r->ngil_waiters++;
	}
	if (r->ngil_waiters) {
		r->gil_waiters = malloc(r->ngil_waiters * sizeof(*r->gil_waiters));
		if (!r->gil_waiters)
			goto nomem;
		size_t k = 0;
		for (size_t i = 0; i < r->nthreads; i++)
			if (r->threads[i].states[FTP_STATE_GIL])
				r->gil_waiters[k++] = (struct analysis_gil_waiter){
					.tid = r->threads[i].tid,
					.name = r->threads[i].name,
					.samples = r->threads[i].states[FTP_STATE_GIL],
					.seconds = (double)r->threads[i].states[FTP_STATE_GIL] * r->interval_s
				};
		qsort(r->gil_waiters, k, sizeof(*r->gil_waiters), cmp_gil);
	}
	if (fill_locks(a, r) < 0 || fill_deadlocks(a, r) < 0 ||
	    oncpu_counts_result(a->oncpu, a->opts.tick_s, r->duration_s, a->opts.cores, &r->oncpu) < 0)
		goto nomem;
	return 0;
nomem:
	analysis_result_release(r);
	return -FTP_E_NOMEM;
}
