/* SPDX-License-Identifier: MIT */
/* The profile: frames and stacks interned once (stacks as a prefix tree), a
 * count per stack, and optional per-thread timelines. Strings live in the
 * profile's string table; frames hold their ids. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/sample.h"
#include "ftprof/util.h"
#include "profile.h"
#include "strtab.h"

/* A frame. Python frames are told apart by the code object they came from
 * (two code objects of one name and file stay two frames, as the probe
 * reports them), through the index of its pointer in `codes`. */
struct pframe {
	enum profile_frame_kind kind;
	uint32_t code;     /* PYTHON: index into codes */
	uint32_t function; /* string ids (0: NULL) */
	uint32_t file;
	int line;
	uint64_t ip; /* NATIVE when the symbol is unknown */
	pid_t tid;   /* THREAD */
	uint64_t hash;
};

/* A code object met in a sample: the pointer the probe lends is only a key
 * while samples come in (compared, never read again); what is read from it
 * is copied into frames as string ids. */
struct pcode {
	const struct ftp_code *key;
	uint32_t function, file;
};

/* The way in from a sample's Python frame to its frame: one lookup by the
 * code object's pointer and the line, as cheap as keying frames by them. */
struct psrc {
	const struct ftp_code *code;
	int line;
	uint32_t frame;
	uint64_t hash;
};

/* A stack is a node of the prefix tree; node 0 is the empty stack. */
struct node {
	uint32_t parent, frame;
	uint64_t count; /* samples whose stack ends here */
	uint64_t hash;
};

/* What identifies a frame of a sample, for comparing stacks cheaply. */
struct frame_id {
	const struct ftp_code *code;
	uint64_t ip;
	int line;
	unsigned flags;
};

#define NO_FRAME UINT32_MAX

struct timeline {
	pid_t tid;
	uint32_t name;            /* string id */
	uint32_t root_frame;      /* the thread's `thread` frame, or NO_FRAME */
	struct profile_run *runs; /* with opts.timeline */
	size_t n, cap;
	double total;
	struct frame_id *last; /* the thread's last stack, and its node */
	unsigned nlast, last_cap;
	uint32_t last_node;
	uint32_t *path;           /* path[d]: the node of last's d + 1 outermost frames */
	size_t path_cap;          /* (valid up to nlast) */
	uint32_t base;            /* the node last's frames hang from (root or thread) */
	uint64_t last_id;         /* the stack_id of `last`, 0 if none */
	uint32_t *ids;            /* profile_stack: the frame ids of last, outermost first */
	size_t ids_cap;           /* (valid up to nlast) */
	struct profile_memo memo; /* made for last */
	uint64_t hash;            /* of tid and name */
	uint64_t round;           /* the last round it had a sample in */
};

struct profile {
	struct profile_opts opts;
	struct strtab strs;
	struct pframe *frames;
	size_t nframes, frames_cap;
	struct pcode *codes;
	size_t ncodes, codes_cap;
	struct psrc *srcs;
	size_t nsrcs, srcs_cap;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct ftp_hindex frame_index, code_index, src_index, node_index;
	struct timeline *threads;
	size_t nthreads, threads_cap;
	struct ftp_hindex thread_index;
	/* Threads with a sample in this round and in the last one: a thread
	 * that misses a round has ended or been renamed, and its caches (last
	 * stack, memo) are freed. */
	uint64_t round;
	uint32_t *seen, *seen_last;
	size_t nseen, nseen_last, seen_cap, seen_last_cap;
	struct {
		pid_t pid;
		uint32_t version, command;
		bool free_threaded;
		double rate;
		int cores;
		uint64_t tick_ns;
		int64_t realtime_offset_ns;
	} target;
	uint32_t state_frames[FTP_STATE_COUNT]; /* opts.states: frame id + 1, 0 until met */
};

#define INDEX_FIRST 256 /* slots of a new index */
#define ARRAY_FIRST 64  /* elements of a new array */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	return ftp_grow(v, cap, need, size, ARRAY_FIRST);
}

struct profile *profile_create(const struct profile_opts *opts)
{
	struct profile *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return NULL;
	pr->opts = *opts;
	/* node 0: the root */
	if (grow((void **)&pr->nodes, &pr->nodes_cap, 1, sizeof(*pr->nodes)) < 0) {
		free(pr);
		return NULL;
	}
	memset(&pr->nodes[0], 0, sizeof(pr->nodes[0]));
	pr->nnodes = 1;
	return pr;
}

static void drop_memo(struct timeline *t)
{
	free(t->memo.text);
	t->memo.text = NULL;
	t->memo.len = 0;
}

/* Frees what speeds up a thread's next sample; it is rebuilt on demand. */
static void drop_caches(struct timeline *t)
{
	free(t->last);
	free(t->path);
	free(t->ids);
	drop_memo(t);
	t->last = NULL;
	t->path = NULL;
	t->ids = NULL;
	t->path_cap = t->ids_cap = 0;
	t->nlast = t->last_cap = 0;
	t->last_id = 0;
}

void profile_destroy(struct profile *pr)
{
	if (!pr)
		return;
	for (size_t i = 0; i < pr->nthreads; i++) {
		free(pr->threads[i].runs);
		drop_caches(&pr->threads[i]);
	}
	strtab_release(&pr->strs);
	free(pr->frames);
	free(pr->codes);
	free(pr->srcs);
	free(pr->nodes);
	ftp_hindex_release(&pr->frame_index);
	ftp_hindex_release(&pr->code_index);
	ftp_hindex_release(&pr->src_index);
	ftp_hindex_release(&pr->node_index);
	free(pr->threads);
	ftp_hindex_release(&pr->thread_index);
	free(pr->seen);
	free(pr->seen_last);
	free(pr);
}

/* ---- frames ----------------------------------------------------------- */

static uint64_t frame_hash(const void *ctx, size_t idx)
{
	const struct profile *pr = ctx;
	return pr->frames[idx].hash;
}

static bool frame_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *pr = ctx;
	const struct pframe *a = &pr->frames[idx], *b = key;
	if (a->hash != b->hash || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PROFILE_FRAME_PYTHON:
		return a->code == b->code && a->line == b->line;
	case PROFILE_FRAME_NATIVE:
		return a->function == b->function && a->file == b->file && (a->function || a->ip == b->ip);
	case PROFILE_FRAME_THREAD:
		return a->tid == b->tid && a->function == b->function;
	case PROFILE_FRAME_STATE:
		return a->function == b->function;
	}
	return false;
}

/* The id of frame `key` (its strings interned already), adding it when new. */
static int intern_frame(struct profile *pr, const struct pframe *key, uint32_t *out)
{
	if (ftp_hindex_reserve(&pr->frame_index, pr->nframes, INDEX_FIRST, frame_hash, pr) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&pr->frame_index, key->hash, frame_same, pr, key);
	if (*slot) {
		*out = *slot - 1;
		return 0;
	}
	if (grow((void **)&pr->frames, &pr->frames_cap, pr->nframes + 1, sizeof(*pr->frames)) < 0)
		return -FTP_E_NOMEM;
	pr->frames[pr->nframes] = *key;
	*out = (uint32_t)pr->nframes++;
	*slot = *out + 1;
	return 0;
}

static uint64_t code_hash(const void *ctx, size_t idx)
{
	const struct profile *pr = ctx;
	return ftp_hash_addr((uint64_t)(uintptr_t)pr->codes[idx].key);
}

static bool code_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *pr = ctx;
	return pr->codes[idx].key == key;
}

/* The index of code object c, copying its names when it is new. */
static int intern_code(struct profile *pr, const struct ftp_code *c, uint32_t *out)
{
	uint64_t h = ftp_hash_addr((uint64_t)(uintptr_t)c);
	if (ftp_hindex_reserve(&pr->code_index, pr->ncodes, INDEX_FIRST, code_hash, pr) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&pr->code_index, h, code_same, pr, c);
	if (*slot) {
		*out = *slot - 1;
		return 0;
	}
	struct pcode pc = { .key = c };
	if (grow((void **)&pr->codes, &pr->codes_cap, pr->ncodes + 1, sizeof(*pr->codes)) < 0 ||
	    strtab_intern(&pr->strs, c->qualname, &pc.function) < 0 ||
	    strtab_intern(&pr->strs, c->filename, &pc.file) < 0)
		return -FTP_E_NOMEM;
	pr->codes[pr->ncodes] = pc;
	*out = (uint32_t)pr->ncodes++;
	*slot = *out + 1;
	return 0;
}

static uint64_t src_hash(const void *ctx, size_t idx)
{
	const struct profile *pr = ctx;
	return pr->srcs[idx].hash;
}

static bool src_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct psrc *a = &((const struct profile *)ctx)->srcs[idx], *b = key;
	return a->code == b->code && a->line == b->line;
}

/* The id of the Python frame fr, adding it (and its code object) when new. */
static int python_frame(struct profile *pr, const struct ftp_frame *fr, uint32_t *out)
{
	struct psrc key = { .code = fr->code, .line = pr->opts.by_function ? -1 : fr->line };
	key.hash = ftp_hash_mix(ftp_hash_addr((uint64_t)(uintptr_t)fr->code), (uint64_t)key.line);
	if (ftp_hindex_reserve(&pr->src_index, pr->nsrcs, INDEX_FIRST, src_hash, pr) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&pr->src_index, key.hash, src_same, pr, &key);
	if (*slot) {
		*out = pr->srcs[*slot - 1].frame;
		return 0;
	}
	struct pframe k = { .kind = PROFILE_FRAME_PYTHON, .line = key.line }; /* -1: written without a line */
	if (intern_code(pr, fr->code, &k.code) < 0)
		return -FTP_E_NOMEM;
	k.function = pr->codes[k.code].function;
	k.file = pr->codes[k.code].file;
	k.hash = ftp_hash_mix(ftp_hash_mix(PROFILE_FRAME_PYTHON, k.code), (uint64_t)k.line);
	if (intern_frame(pr, &k, &key.frame) < 0 ||
	    grow((void **)&pr->srcs, &pr->srcs_cap, pr->nsrcs + 1, sizeof(*pr->srcs)) < 0)
		return -FTP_E_NOMEM;
	pr->srcs[pr->nsrcs] = key;
	*slot = (uint32_t)++pr->nsrcs;
	*out = key.frame;
	return 0;
}

/* The id of a sample's frame fr, adding it when new. */
static int sample_frame(struct profile *pr, const struct ftp_frame *fr, uint32_t *out)
{
	if (!(fr->flags & FTP_FRAME_NATIVE))
		return python_frame(pr, fr, out);
	struct pframe k = { .kind = PROFILE_FRAME_NATIVE, .ip = fr->symbol ? 0 : fr->ip };
	if (strtab_intern(&pr->strs, fr->symbol, &k.function) < 0 ||
	    strtab_intern(&pr->strs, fr->object, &k.file) < 0)
		return -FTP_E_NOMEM;
	k.hash = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(PROFILE_FRAME_NATIVE, k.function), k.file), k.ip);
	return intern_frame(pr, &k, out);
}

/* ---- stacks ----------------------------------------------------------- */

struct node_key {
	uint32_t parent, frame;
	uint64_t hash;
};

static uint64_t node_hash(const void *ctx, size_t idx)
{
	const struct profile *pr = ctx;
	return pr->nodes[idx].hash;
}

static bool node_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *pr = ctx;
	const struct node *a = &pr->nodes[idx];
	const struct node_key *b = key;
	return a->hash == b->hash && a->parent == b->parent && a->frame == b->frame;
}

static int child_node(struct profile *pr, uint32_t parent, uint32_t frame, uint32_t *out)
{
	struct node_key key = { parent, frame, ftp_hash_mix(ftp_hash_mix(3, parent), frame) };
	if (ftp_hindex_reserve(&pr->node_index, pr->nnodes, INDEX_FIRST, node_hash, pr) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&pr->node_index, key.hash, node_same, pr, &key);
	if (*slot) {
		*out = *slot - 1;
		return 0;
	}
	if (grow((void **)&pr->nodes, &pr->nodes_cap, pr->nnodes + 1, sizeof(*pr->nodes)) < 0)
		return -FTP_E_NOMEM;
	pr->nodes[pr->nnodes] = (struct node){ parent, frame, 0, key.hash };
	*out = (uint32_t)pr->nnodes++;
	*slot = *out + 1;
	return 0;
}

/* ---- threads ---------------------------------------------------------- */

struct thread_key {
	pid_t tid;
	const char *name;
};

static uint64_t thread_hash(const void *ctx, size_t idx)
{
	const struct profile *pr = ctx;
	return pr->threads[idx].hash;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool thread_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *pr = ctx;
	const struct timeline *t = &pr->threads[idx];
	const struct thread_key *k = key;
	return t->tid == k->tid && str_eq(strtab_str(&pr->strs, t->name), k->name);
}

/* Notes that t has a sample in this round. */
static int mark_seen(struct profile *pr, struct timeline *t)
{
	if (t->round == pr->round + 1)
		return 0;
	if (grow((void **)&pr->seen, &pr->seen_cap, pr->nseen + 1, sizeof(*pr->seen)) < 0)
		return -FTP_E_NOMEM;
	pr->seen[pr->nseen++] = (uint32_t)(t - pr->threads);
	t->round = pr->round + 1;
	return 0;
}

static struct timeline *thread_timeline(struct profile *pr, const struct ftp_sample *s)
{
	struct thread_key key = { s->tid, s->name };
	uint64_t h = ftp_hash_str(ftp_hash_mix(PROFILE_FRAME_THREAD, (uint64_t)s->tid), s->name);
	if (ftp_hindex_reserve(&pr->thread_index, pr->nthreads, INDEX_FIRST, thread_hash, pr) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&pr->thread_index, h, thread_same, pr, &key);
	if (*slot) {
		struct timeline *t = &pr->threads[*slot - 1];
		return mark_seen(pr, t) < 0 ? NULL : t;
	}
	if (grow((void **)&pr->threads, &pr->threads_cap, pr->nthreads + 1, sizeof(*pr->threads)) < 0)
		return NULL;
	struct timeline *t = &pr->threads[pr->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = s->tid;
	t->hash = h;
	t->root_frame = NO_FRAME;
	if (strtab_intern(&pr->strs, s->name, &t->name) < 0)
		return NULL;
	pr->nthreads++;
	*slot = (uint32_t)pr->nthreads;
	return mark_seen(pr, t) < 0 ? NULL : t;
}

void profile_end_round(struct profile *pr)
{
	for (size_t i = 0; i < pr->nseen_last; i++) {
		struct timeline *t = &pr->threads[pr->seen_last[i]];
		if (t->round != pr->round + 1)
			drop_caches(t); /* gone, or renamed: no use for its last stack */
	}
	uint32_t *v = pr->seen_last;
	size_t cap = pr->seen_last_cap;
	pr->seen_last = pr->seen;
	pr->seen_last_cap = pr->seen_cap;
	pr->nseen_last = pr->nseen;
	pr->seen = v;
	pr->seen_cap = cap;
	pr->nseen = 0;
	pr->round++;
}

static struct frame_id frame_id_of(const struct ftp_frame *f)
{
	return (struct frame_id){ f->code, f->ip, f->line, f->flags & FTP_FRAME_NATIVE };
}

static bool frame_id_eq(struct frame_id a, struct frame_id b)
{
	return a.code == b.code && a.ip == b.ip && a.line == b.line && a.flags == b.flags;
}

/* Whether s has the same stack as the thread's last sample. When it has,
 * s's stack_id is adopted: later samples with that id skip the comparison. */
static bool same_as_last(struct timeline *t, const struct ftp_sample *s)
{
	if (!t->last || t->nlast != s->nframes)
		return false;
	if (s->stack_id && s->stack_id == t->last_id)
		return true; /* the probe knows: the thread has not run */
	for (unsigned i = 0; i < s->nframes; i++)
		if (!frame_id_eq(frame_id_of(&s->frames[i]), t->last[i]))
			return false;
	t->last_id = s->stack_id;
	return true;
}

static void remember_last(struct timeline *t, const struct ftp_sample *s, uint32_t node)
{
	if (s->nframes > t->last_cap) {
		struct frame_id *v = realloc(t->last, s->nframes * sizeof(*v));
		if (!v) {
			t->nlast = 0;
			t->last_id = 0;
			return; /* only a shortcut lost */
		}
		t->last = v;
		t->last_cap = s->nframes;
	}
	for (unsigned i = 0; i < s->nframes; i++)
		t->last[i] = frame_id_of(&s->frames[i]);
	t->nlast = s->nframes;
	t->last_node = node;
	t->last_id = s->stack_id;
}

/* The node of s's stack, interning what is new. The outer frames it shares
 * with the thread's last stack (a deep stack whose top moved) are taken
 * from t->path without a lookup. */
static int walk_stack(struct profile *pr, struct timeline *t, const struct ftp_sample *s, uint32_t *out)
{
	uint32_t node = 0, id;
	int ret;
	if (pr->opts.thread_root) {
		if (t->root_frame == NO_FRAME) {
			struct pframe k = { .kind = PROFILE_FRAME_THREAD,
				            .tid = t->tid,
				            .function = t->name };
			k.hash = ftp_hash_mix(ftp_hash_mix(PROFILE_FRAME_THREAD, (uint64_t)t->tid), t->name);
			if ((ret = intern_frame(pr, &k, &t->root_frame)) < 0)
				return ret;
		}
		if ((ret = child_node(pr, node, t->root_frame, &node)) < 0)
			return ret;
	}
	const uint32_t base = node;
	unsigned n = s->nframes, d = 0;
	if (t->path && t->base == base) {
		unsigned most = n < t->nlast ? n : t->nlast;
		while (d < most && frame_id_eq(frame_id_of(&s->frames[n - 1 - d]), t->last[t->nlast - 1 - d]))
			d++;
		if (d)
			node = t->path[d - 1];
	}
	t->base = base;
	if (grow((void **)&t->path, &t->path_cap, n, sizeof(*t->path)) < 0) {
		free(t->path); /* only a shortcut lost */
		t->path = NULL;
		t->path_cap = 0;
	}
	for (; d < n; d++) {
		if ((ret = sample_frame(pr, &s->frames[n - 1 - d], &id)) < 0 ||
		    (ret = child_node(pr, node, id, &node)) < 0) {
			t->nlast = 0; /* path and last no longer agree */
			return ret;
		}
		if (t->path)
			t->path[d] = node;
	}
	*out = node;
	return 0;
}

/* The node of s's stack, from the thread's last one when it did not move. */
static int stack_node(struct profile *pr, struct timeline *t, const struct ftp_sample *s, uint32_t *node)
{
	if (same_as_last(t, s)) {
		*node = t->last_node; /* a thread that did not move: no lookups */
		return 0;
	}
	int ret = walk_stack(pr, t, s, node);
	if (ret < 0)
		return ret;
	remember_last(t, s, *node);
	return 0;
}

/* The node under `node` of s's state frame (opts.states). The state is not
 * part of the thread's remembered stack: a thread that waits where it ran
 * keeps its stack and changes only this leaf. */
static int state_node(struct profile *pr, const struct ftp_sample *s, uint32_t *node)
{
	unsigned st = (unsigned)s->state < FTP_STATE_COUNT ? (unsigned)s->state : FTP_STATE_UNKNOWN;
	if (!pr->state_frames[st]) {
		struct pframe k = { .kind = PROFILE_FRAME_STATE };
		uint32_t id;
		int ret;
		if ((ret = strtab_intern(&pr->strs, ftp_state_name((enum ftp_state)st), &k.function)) < 0)
			return -FTP_E_NOMEM;
		k.hash = ftp_hash_mix(PROFILE_FRAME_STATE, k.function);
		if ((ret = intern_frame(pr, &k, &id)) < 0)
			return ret;
		pr->state_frames[st] = id + 1;
	}
	return child_node(pr, *node, pr->state_frames[st] - 1, node);
}

int profile_add(struct profile *pr, const struct ftp_sample *s, double weight)
{
	struct timeline *t = thread_timeline(pr, s);
	if (!t)
		return -FTP_E_NOMEM;
	uint32_t node;
	int ret = stack_node(pr, t, s, &node);
	if (ret < 0)
		return ret;
	if (pr->opts.states && (ret = state_node(pr, s, &node)) < 0)
		return ret;
	pr->nodes[node].count++;
	if (!pr->opts.timeline)
		return 0;
	t->total += weight;
	if (t->n && t->runs[t->n - 1].node == node) {
		t->runs[t->n - 1].weight += weight;
		return 0;
	}
	if (grow((void **)&t->runs, &t->cap, t->n + 1, sizeof(*t->runs)) < 0)
		return -FTP_E_NOMEM;
	t->runs[t->n++] = (struct profile_run){ node, weight };
	return 0;
}

int profile_stack(struct profile *pr, const struct ftp_sample *s, const uint32_t **frames,
                  struct profile_memo **memo)
{
	struct timeline *t = thread_timeline(pr, s);
	if (!t)
		return -FTP_E_NOMEM;
	*memo = &t->memo;
	if (t->ids && same_as_last(t, s)) {
		*frames = t->ids;
		return 0;
	}
	drop_memo(t);
	/* the outer frames it shares with the last stack keep their ids */
	unsigned n = s->nframes, d = 0;
	if (t->ids) {
		unsigned most = n < t->nlast ? n : t->nlast;
		while (d < most && frame_id_eq(frame_id_of(&s->frames[n - 1 - d]), t->last[t->nlast - 1 - d]))
			d++;
	}
	if (grow((void **)&t->ids, &t->ids_cap, n, sizeof(*t->ids)) < 0) {
		t->nlast = 0;
		return -FTP_E_NOMEM;
	}
	for (; d < n; d++) {
		int ret = sample_frame(pr, &s->frames[n - 1 - d], &t->ids[d]);
		if (ret < 0) {
			t->nlast = 0; /* ids and last no longer agree */
			return ret;
		}
	}
	remember_last(t, s, 0);
	*frames = t->ids;
	return 0;
}

int profile_set_target(struct profile *pr, const struct profile_target *t)
{
	if (strtab_intern(&pr->strs, t->version, &pr->target.version) < 0 ||
	    strtab_intern(&pr->strs, t->command, &pr->target.command) < 0)
		return -FTP_E_NOMEM;
	pr->target.pid = t->pid;
	pr->target.free_threaded = t->free_threaded;
	pr->target.rate = t->rate;
	pr->target.cores = t->cores;
	pr->target.tick_ns = t->tick_ns;
	pr->target.realtime_offset_ns = t->realtime_offset_ns;
	return 0;
}

/* ---- reading ---------------------------------------------------------- */

static const char *str_or_empty(const struct profile *pr, uint32_t id)
{
	return id ? strtab_str(&pr->strs, id) : "";
}

void profile_target(const struct profile *pr, struct profile_target *out)
{
	*out = (struct profile_target){ .pid = pr->target.pid,
		                        .version = str_or_empty(pr, pr->target.version),
		                        .free_threaded = pr->target.free_threaded,
		                        .command = str_or_empty(pr, pr->target.command),
		                        .rate = pr->target.rate,
		                        .cores = pr->target.cores,
		                        .tick_ns = pr->target.tick_ns,
		                        .realtime_offset_ns = pr->target.realtime_offset_ns };
}

size_t profile_frames(const struct profile *pr)
{
	return pr->nframes;
}

void profile_frame(const struct profile *pr, uint32_t id, struct profile_frame *out)
{
	const struct pframe *f = &pr->frames[id];
	*out = (struct profile_frame){ .kind = f->kind,
		                       .function = strtab_str(&pr->strs, f->function),
		                       .file = strtab_str(&pr->strs, f->file),
		                       .line = f->line,
		                       .ip = f->ip,
		                       .tid = f->tid };
}

size_t profile_nodes(const struct profile *pr)
{
	return pr->nnodes;
}

uint64_t profile_node_count(const struct profile *pr, uint32_t node)
{
	return pr->nodes[node].count;
}

size_t profile_stacks(const struct profile *pr)
{
	size_t n = 0;
	for (size_t i = 1; i < pr->nnodes; i++)
		n += pr->nodes[i].count > 0;
	return n;
}

size_t profile_max_depth(const struct profile *pr)
{
	/* Parents are created before their children, so one pass suffices. */
	size_t best = 0;
	uint32_t *depth = calloc(pr->nnodes, sizeof(*depth));
	if (!depth)
		return pr->nnodes; /* a safe bound */
	for (size_t i = 1; i < pr->nnodes; i++) {
		depth[i] = depth[pr->nodes[i].parent] + 1;
		if (depth[i] > best)
			best = depth[i];
	}
	free(depth);
	return best;
}

size_t profile_node_path(const struct profile *pr, uint32_t node, uint32_t *path)
{
	size_t depth = 0;
	for (uint32_t n = node; n; n = pr->nodes[n].parent)
		depth++;
	for (size_t i = depth; node; node = pr->nodes[node].parent)
		path[--i] = pr->nodes[node].frame;
	return depth;
}

size_t profile_threads(const struct profile *pr)
{
	return pr->nthreads;
}

void profile_thread(const struct profile *pr, size_t i, struct profile_thread *out)
{
	const struct timeline *t = &pr->threads[i];
	*out = (struct profile_thread){ .tid = t->tid,
		                        .name = strtab_str(&pr->strs, t->name),
		                        .total = t->total,
		                        .runs = t->runs,
		                        .nruns = t->n };
}
