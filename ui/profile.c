/* SPDX-License-Identifier: MIT */
/* The profile: frames and stacks interned once (stacks as a prefix tree), a
 * count per stack, and optional per-thread timelines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "ui.h"

enum frame_kind { FRAME_PYTHON, FRAME_NATIVE, FRAME_THREAD };

struct pframe {
	enum frame_kind kind;
	const struct ftp_code *code; /* FRAME_PYTHON */
	int line;
	uint64_t ip;  /* FRAME_NATIVE when the symbol is unknown */
	char *symbol; /* FRAME_NATIVE, copied; NULL if unknown */
	char *object;
	pid_t tid;  /* FRAME_THREAD */
	char *name; /* FRAME_THREAD, copied; NULL if unknown */
	uint64_t hash;
	char *label; /* the escaped folded label, made on first use */
};

/* A stack is a node of the prefix tree; node 0 is the empty stack. */
struct node {
	uint32_t parent, frame;
	uint64_t count; /* samples whose stack ends here */
	uint64_t hash;
};

struct run {
	uint32_t node;
	double weight;
};

/* What identifies a frame of a sample, for comparing stacks cheaply. */
struct frame_id {
	const struct ftp_code *code;
	uint64_t ip;
	int line;
	unsigned flags;
};

struct timeline {
	pid_t tid;
	char *name;
	struct run *runs; /* with opts.timeline */
	size_t n, cap;
	double total;
	struct frame_id *last; /* the thread's last stack, and its node */
	unsigned nlast, last_cap;
	uint32_t last_node;
	uint32_t *path;   /* path[d]: the node of last's d + 1 outermost frames */
	size_t path_cap;  /* (valid up to nlast) */
	uint32_t base;    /* the node last's frames hang from (root or thread) */
	uint64_t last_id; /* the stack_id of `last`, 0 if none */
	char *raw_stack;  /* the raw format's stack column for `last` */
	size_t raw_len;
	uint64_t hash;  /* of tid and name */
	uint64_t round; /* the last round it had a sample in */
};

/* Open addressing over indices into an array; slots hold index + 1. */
struct index {
	uint32_t *slots;
	size_t cap; /* power of two */
};

struct profile {
	struct profile_opts opts;
	struct pframe *frames;
	size_t nframes, frames_cap;
	struct node *nodes;
	size_t nnodes, nodes_cap;
	struct index frame_index, node_index;
	struct timeline *threads;
	size_t nthreads, threads_cap;
	struct index thread_index;
	/* Threads with a sample in this round and in the last one: a thread
	 * that misses a round has ended or been renamed, and its caches (last
	 * stack, raw stack) are freed. */
	uint64_t round;
	uint32_t *seen, *seen_last;
	size_t nseen, nseen_last, seen_cap, seen_last_cap;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	if (!s)
		return mix(h, 1);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return mix(h, 2);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*v, n * size);
	if (!p)
		return -FTP_E_NOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* Finds the slot for hash h: an empty one, or the one whose index `same`
 * accepts. */
typedef bool same_fn(const struct profile *pr, uint32_t idx, const void *key);

static uint32_t *index_find(const struct profile *pr, const struct index *ix, uint64_t h, same_fn *same,
                            const void *key)
{
	size_t mask = ix->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!ix->slots[i] || same(pr, ix->slots[i] - 1, key))
			return &ix->slots[i];
}

typedef uint64_t hash_fn(const struct profile *pr, size_t idx);

/* Makes room for one more entry (load factor below 1/2), rehashing the
 * `count` entries there are. */
static int index_reserve(const struct profile *pr, struct index *ix, size_t count, hash_fn *hash_of)
{
	if ((count + 1) * 2 <= ix->cap)
		return 0;
	size_t cap = ix->cap ? ix->cap * 2 : 256;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < count; i++) {
		uint64_t h = hash_of(pr, i);
		size_t j = h & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
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

/* Frees what speeds up a thread's next sample; it is rebuilt on demand. */
static void drop_caches(struct timeline *t)
{
	free(t->last);
	free(t->raw_stack);
	free(t->path);
	t->last = NULL;
	t->raw_stack = NULL;
	t->path = NULL;
	t->path_cap = 0;
	t->nlast = t->last_cap = 0;
	t->last_id = 0;
	t->raw_len = 0;
}

void profile_destroy(struct profile *pr)
{
	if (!pr)
		return;
	for (size_t i = 0; i < pr->nframes; i++) {
		free(pr->frames[i].symbol);
		free(pr->frames[i].object);
		free(pr->frames[i].name);
		free(pr->frames[i].label);
	}
	for (size_t i = 0; i < pr->nthreads; i++) {
		free(pr->threads[i].name);
		free(pr->threads[i].runs);
		drop_caches(&pr->threads[i]);
	}
	free(pr->frames);
	free(pr->nodes);
	free(pr->frame_index.slots);
	free(pr->node_index.slots);
	free(pr->threads);
	free(pr->thread_index.slots);
	free(pr->seen);
	free(pr->seen_last);
	free(pr);
}

size_t profile_stacks(const struct profile *pr)
{
	size_t n = 0;
	for (size_t i = 1; i < pr->nnodes; i++)
		n += pr->nodes[i].count > 0;
	return n;
}

static uint64_t frame_hash(const struct profile *pr, size_t idx)
{
	return pr->frames[idx].hash;
}

static uint64_t node_hash(const struct profile *pr, size_t idx)
{
	return pr->nodes[idx].hash;
}

static bool frame_same(const struct profile *pr, uint32_t idx, const void *key)
{
	const struct pframe *a = &pr->frames[idx], *b = key;
	if (a->hash != b->hash || a->kind != b->kind)
		return false;
	switch (a->kind) {
	case FRAME_PYTHON:
		return a->code == b->code && a->line == b->line;
	case FRAME_NATIVE:
		return str_eq(a->symbol, b->symbol) && str_eq(a->object, b->object) &&
		       (a->symbol || a->ip == b->ip);
	case FRAME_THREAD:
		return a->tid == b->tid && str_eq(a->name, b->name);
	}
	return false;
}

static char *dup_or_null(const char *s, bool *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

/* The id of frame `key`, interning it (copying its strings) when new. */
static int intern_frame(struct profile *pr, struct pframe *key, uint32_t *out)
{
	if (index_reserve(pr, &pr->frame_index, pr->nframes, frame_hash) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = index_find(pr, &pr->frame_index, key->hash, frame_same, key);
	if (*slot) {
		*out = *slot - 1;
		return 0;
	}
	if (grow((void **)&pr->frames, &pr->frames_cap, pr->nframes + 1, sizeof(*pr->frames)) < 0)
		return -FTP_E_NOMEM;
	bool failed = false;
	struct pframe f = *key;
	f.symbol = dup_or_null(key->symbol, &failed);
	f.object = dup_or_null(key->object, &failed);
	f.name = dup_or_null(key->name, &failed);
	if (failed) {
		free(f.symbol);
		free(f.object);
		free(f.name);
		return -FTP_E_NOMEM;
	}
	pr->frames[pr->nframes] = f;
	*out = (uint32_t)pr->nframes++;
	*slot = *out + 1;
	return 0;
}

static void frame_key(const struct profile *pr, struct pframe *k, const struct ftp_frame *fr)
{
	memset(k, 0, sizeof(*k));
	if (fr->flags & FTP_FRAME_NATIVE) {
		k->kind = FRAME_NATIVE;
		k->symbol = (char *)fr->symbol;
		k->object = (char *)fr->object;
		k->ip = fr->symbol ? 0 : fr->ip;
		k->hash = mix(hash_str(hash_str(FRAME_NATIVE, k->symbol), k->object), k->ip);
	} else {
		k->kind = FRAME_PYTHON;
		k->code = fr->code;
		k->line = pr->opts.by_function ? -1 : fr->line; /* -1: written without a line */
		k->hash = mix(mix(FRAME_PYTHON, (uint64_t)(uintptr_t)fr->code), (uint64_t)k->line);
	}
}

struct node_key {
	uint32_t parent, frame;
	uint64_t hash;
};

static bool node_same(const struct profile *pr, uint32_t idx, const void *key)
{
	const struct node *a = &pr->nodes[idx];
	const struct node_key *b = key;
	return a->hash == b->hash && a->parent == b->parent && a->frame == b->frame;
}

static int child_node(struct profile *pr, uint32_t parent, uint32_t frame, uint32_t *out)
{
	struct node_key key = { parent, frame, mix(mix(3, parent), frame) };
	if (index_reserve(pr, &pr->node_index, pr->nnodes, node_hash) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = index_find(pr, &pr->node_index, key.hash, node_same, &key);
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

struct thread_key {
	pid_t tid;
	const char *name;
};

static uint64_t thread_hash(const struct profile *pr, size_t idx)
{
	return pr->threads[idx].hash;
}

static bool thread_same(const struct profile *pr, uint32_t idx, const void *key)
{
	const struct timeline *t = &pr->threads[idx];
	const struct thread_key *k = key;
	return t->tid == k->tid && str_eq(t->name, k->name);
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
	uint64_t h = hash_str(mix(FRAME_THREAD, (uint64_t)s->tid), s->name);
	if (index_reserve(pr, &pr->thread_index, pr->nthreads, thread_hash) < 0)
		return NULL;
	uint32_t *slot = index_find(pr, &pr->thread_index, h, thread_same, &key);
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
	if (s->name && !(t->name = strdup(s->name)))
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
static int stack_node(struct profile *pr, struct timeline *t, const struct ftp_sample *s, uint32_t *out)
{
	uint32_t node = 0, id;
	int ret;
	if (pr->opts.thread_root) {
		struct pframe k = { .kind = FRAME_THREAD, .tid = s->tid, .name = (char *)s->name };
		k.hash = hash_str(mix(FRAME_THREAD, (uint64_t)s->tid), s->name);
		if ((ret = intern_frame(pr, &k, &id)) < 0 || (ret = child_node(pr, node, id, &node)) < 0)
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
		struct pframe k;
		frame_key(pr, &k, &s->frames[n - 1 - d]);
		if ((ret = intern_frame(pr, &k, &id)) < 0 || (ret = child_node(pr, node, id, &node)) < 0) {
			t->nlast = 0; /* path and last no longer agree */
			return ret;
		}
		if (t->path)
			t->path[d] = node;
	}
	*out = node;
	return 0;
}

int profile_add(struct profile *pr, const struct ftp_sample *s, double weight)
{
	struct timeline *t = thread_timeline(pr, s);
	if (!t)
		return -FTP_E_NOMEM;
	uint32_t node;
	if (same_as_last(t, s)) {
		node = t->last_node; /* a thread that did not move: no lookups */
	} else {
		int ret = stack_node(pr, t, s, &node);
		if (ret < 0)
			return ret;
		remember_last(t, s, node);
	}
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
	t->runs[t->n++] = (struct run){ node, weight };
	return 0;
}

/* ---- writers ---------------------------------------------------------- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* A frame as `function (file:line)`, escaped for the folded format. */
static void put_frame_folded(FILE *f, const struct pframe *fr)
{
	switch (fr->kind) {
	case FRAME_PYTHON:
		ui_put_folded(f, fr->code->qualname);
		fputs(" (", f);
		ui_put_folded(f, fr->code->filename);
		if (fr->line >= 0)
			fprintf(f, ":%d)", fr->line);
		else
			fputc(')', f);
		break;
	case FRAME_NATIVE:
		if (fr->symbol)
			ui_put_folded(f, fr->symbol);
		else
			fprintf(f, "0x%llx", (unsigned long long)fr->ip);
		if (fr->object) {
			fputs(" (", f);
			ui_put_folded(f, base_name(fr->object));
			fputc(')', f);
		}
		break;
	case FRAME_THREAD:
		fputs("thread \"", f);
		ui_put_folded(f, fr->name ? fr->name : "");
		fprintf(f, "\" (%d)", (int)fr->tid);
		break;
	}
}

static int finish(FILE *f)
{
	if (fflush(f) != 0 || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

/* Frame ids of node's stack, outermost first, into path. */
static size_t node_path(const struct profile *pr, uint32_t node, uint32_t *path)
{
	size_t depth = 0;
	for (uint32_t n = node; n; n = pr->nodes[n].parent)
		depth++;
	for (size_t i = depth; node; node = pr->nodes[node].parent)
		path[--i] = pr->nodes[node].frame;
	return depth;
}

static size_t max_depth(const struct profile *pr)
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

int profile_write_folded(const struct profile *pr, FILE *f)
{
	uint32_t *path = malloc((max_depth(pr) + 1) * sizeof(*path));
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t i = 1; i < pr->nnodes; i++) {
		if (!pr->nodes[i].count)
			continue;
		size_t n = node_path(pr, i, path);
		for (size_t j = 0; j < n; j++) {
			if (j)
				fputc(';', f);
			put_frame_folded(f, &pr->frames[path[j]]);
		}
		fprintf(f, " %llu\n", (unsigned long long)pr->nodes[i].count);
	}
	free(path);
	return finish(f);
}

static void put_frame_speedscope(FILE *f, const struct pframe *fr)
{
	fputs("{\"name\": ", f);
	switch (fr->kind) {
	case FRAME_PYTHON: {
		/* the label says the line too: speedscope merges frames by name */
		char *label = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&label, &len);
		if (m) {
			fputs(fr->code->qualname, m);
			fputs(" (", m);
			fputs(fr->code->filename, m);
			if (fr->line >= 0)
				fprintf(m, ":%d", fr->line);
			fputc(')', m);
			fclose(m);
		}
		ui_put_json_str(f, label ? label : fr->code->qualname);
		free(label);
		fputs(", \"file\": ", f);
		ui_put_json_str(f, fr->code->filename);
		if (fr->line >= 0)
			fprintf(f, ", \"line\": %d", fr->line);
		break;
	}
	case FRAME_NATIVE:
		if (fr->symbol)
			ui_put_json_str(f, fr->symbol);
		else
			fprintf(f, "\"0x%llx\"", (unsigned long long)fr->ip);
		if (fr->object) {
			fputs(", \"file\": ", f);
			ui_put_json_str(f, fr->object);
		}
		break;
	case FRAME_THREAD:
		fputs("\"thread ", f);
		fprintf(f, "%d\"", (int)fr->tid);
		break;
	}
	fputc('}', f);
}

int profile_write_speedscope(const struct profile *pr, FILE *f, const struct ftp_target_info *info)
{
	uint32_t *path = malloc((max_depth(pr) + 1) * sizeof(*path));
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
	      " \"exporter\": \"ftprof " FTPROF_VERSION "\",\n \"name\": ",
	      f);
	char *name = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&name, &len);
	if (m) {
		fprintf(m, "%s (pid %d, Python %s%s)", info->cmdline[0] ? info->cmdline : info->executable,
		        (int)info->pid, info->version_str, info->free_threaded ? ", free-threaded" : "");
		fclose(m);
	}
	ui_put_json_str(f, name ? name : "ftprof");
	free(name);
	fputs(",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [", f);
	for (size_t i = 0; i < pr->nframes; i++) {
		fputs(i ? ",\n  " : "\n  ", f);
		put_frame_speedscope(f, &pr->frames[i]);
	}
	fputs("]},\n \"profiles\": [", f);
	for (size_t t = 0; t < pr->nthreads; t++) {
		const struct timeline *tl = &pr->threads[t];
		char title[256];
		snprintf(title, sizeof(title), "thread \"%s\" (%d)", tl->name ? tl->name : "", (int)tl->tid);
		fputs(t ? ",\n  {\"type\": \"sampled\", \"name\": "
		        : "\n  {\"type\": \"sampled\", \"name\": ",
		      f);
		ui_put_json_str(f, title);
		fprintf(f,
		        ", \"unit\": \"seconds\", \"startValue\": 0, \"endValue\": %.9g,\n   \"samples\": [",
		        tl->total);
		for (size_t i = 0; i < tl->n; i++) {
			size_t n = node_path(pr, tl->runs[i].node, path);
			fputs(i ? ", [" : "[", f);
			for (size_t j = 0; j < n; j++)
				fprintf(f, j ? ", %u" : "%u", path[j]);
			fputc(']', f);
		}
		fputs("],\n   \"weights\": [", f);
		for (size_t i = 0; i < tl->n; i++)
			fprintf(f, i ? ", %.9g" : "%.9g", tl->runs[i].weight);
		fputs("]}", f);
	}
	fputs("]}\n", f);
	free(path);
	return finish(f);
}

int raw_write_header(FILE *f, const struct ftp_target_info *info, double rate)
{
	fprintf(f, "# ftprof raw 1: pid %d, Python %s%s, %g Hz asked\n", (int)info->pid, info->version_str,
	        info->free_threaded ? " free-threaded" : "", rate);
	fputs("# time_ns\ttid\tstate\tgil\tthread\tstack (outermost first, ';'-separated)\n", f);
	return ferror(f) ? -1 : 0;
}

/* The escaped folded label of frame id, made once. */
static const char *frame_label(struct profile *pr, uint32_t id)
{
	struct pframe *fr = &pr->frames[id];
	if (!fr->label) {
		size_t len = 0;
		FILE *m = open_memstream(&fr->label, &len);
		if (!m)
			return NULL;
		put_frame_folded(m, fr);
		if (fclose(m) != 0) {
			free(fr->label);
			fr->label = NULL;
		}
	}
	return fr->label;
}

/* The thread's stack as the raw format writes it, kept until it moves. */
static int raw_stack(struct profile *pr, struct timeline *t, const struct ftp_sample *s)
{
	if (t->raw_stack && same_as_last(t, s))
		return 0;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -FTP_E_NOMEM;
	for (unsigned i = s->nframes; i-- > 0;) {
		struct pframe k;
		uint32_t id;
		frame_key(pr, &k, &s->frames[i]);
		const char *label = intern_frame(pr, &k, &id) == 0 ? frame_label(pr, id) : NULL;
		if (!label) {
			fclose(m);
			free(buf);
			return -FTP_E_NOMEM;
		}
		fputs(label, m);
		if (i)
			fputc(';', m);
	}
	if (fclose(m) != 0) {
		free(buf);
		return -FTP_E_NOMEM;
	}
	free(t->raw_stack);
	t->raw_stack = buf;
	t->raw_len = len;
	remember_last(t, s, 0);
	return 0;
}

int profile_write_raw(struct profile *pr, FILE *f, const struct ftp_sample *s)
{
	struct timeline *t = thread_timeline(pr, s);
	if (!t)
		return -FTP_E_NOMEM;
	int ret = raw_stack(pr, t, s);
	if (ret < 0)
		return ret;
	fprintf(f, "%llu\t%d\t%s\t%s\t", (unsigned long long)s->time_ns, (int)s->tid,
	        ftp_state_name(s->state),
	        s->holds_gil < 0 ? "-"
	        : s->holds_gil   ? "1"
	                         : "0");
	if (s->name)
		ui_put_folded(f, s->name);
	fputc('\t', f);
	fwrite(t->raw_stack, 1, t->raw_len, f);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
