/* SPDX-License-Identifier: MIT */
/* The on-CPU half of an analysis: counters keyed through util.h's hash
 * index, strings in a string table. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/util.h"
#include "oncpu.h"
#include "strtab.h"

struct oc_thread {
	pid_t tid;
	int last_cpu;
	uint64_t ticks, cpus;
	uint64_t hash;
};

/* Refcount ticks on objects of one type at one line. */
struct rc_line {
	uint32_t type, function, file; /* strtab ids */
	int line;
	uint64_t samples;
	uint64_t hash;
};

/* Refcount ticks on one object. */
struct rc_obj {
	uint32_t type, name; /* strtab ids; name "": none */
	uint64_t addr;
	uint64_t samples;
	uint64_t hash;
};

/* Ticks on one native function, counted as one kind. */
struct oc_func {
	uint32_t symbol, library; /* strtab ids */
	enum ftp_cpu_kind kind;
	uint64_t samples;
	uint64_t hash;
};

struct oncpu_counts {
	struct strtab strs;
	uint64_t ticks, refcount_ticks;
	uint64_t kind_ticks[FTP_CPU_KIND_COUNT];
	uint64_t *cpu_ticks;
	size_t ncpus, cpus_cap;
	struct ftp_cpu_time *first, *last;
	unsigned nfirst, nlast;
	struct oc_thread *threads;
	size_t nthreads, threads_cap;
	struct ftp_hindex thread_ix;
	struct rc_line *lines;
	size_t nlines, lines_cap;
	struct ftp_hindex line_ix;
	struct rc_obj *objs;
	size_t nobjs, objs_cap;
	struct ftp_hindex obj_ix;
	struct oc_func *funcs;
	size_t nfuncs, funcs_cap;
	struct ftp_hindex func_ix;
};

#define MAX_CPUS 4096 /* a CPU number above is not believed */

static uint64_t thread_hash_of(const void *ctx, size_t i)
{
	return ((const struct oncpu_counts *)ctx)->threads[i].hash;
}
static uint64_t line_hash_of(const void *ctx, size_t i)
{
	return ((const struct oncpu_counts *)ctx)->lines[i].hash;
}
static uint64_t obj_hash_of(const void *ctx, size_t i)
{
	return ((const struct oncpu_counts *)ctx)->objs[i].hash;
}
static bool same_thread(const void *ctx, uint32_t i, const void *key)
{
	return ((const struct oncpu_counts *)ctx)->threads[i].tid == *(const pid_t *)key;
}
static bool same_line(const void *ctx, uint32_t i, const void *key)
{
	const struct rc_line *l = &((const struct oncpu_counts *)ctx)->lines[i], *k = key;
	return l->type == k->type && l->function == k->function && l->file == k->file && l->line == k->line;
}
static bool same_obj(const void *ctx, uint32_t i, const void *key)
{
	const struct rc_obj *o = &((const struct oncpu_counts *)ctx)->objs[i], *k = key;
	return o->type == k->type && o->addr == k->addr;
}

static uint64_t func_hash_of(const void *ctx, size_t i)
{
	return ((const struct oncpu_counts *)ctx)->funcs[i].hash;
}

static bool same_func(const void *ctx, uint32_t i, const void *key)
{
	const struct oc_func *f = &((const struct oncpu_counts *)ctx)->funcs[i], *k = key;
	return f->symbol == k->symbol && f->library == k->library && f->kind == k->kind;
}

struct oncpu_counts *oncpu_counts_create(void)
{
	return calloc(1, sizeof(struct oncpu_counts));
}

void oncpu_counts_destroy(struct oncpu_counts *c)
{
	if (!c)
		return;
	strtab_release(&c->strs);
	free(c->cpu_ticks);
	free(c->first);
	free(c->last);
	free(c->threads);
	ftp_hindex_release(&c->thread_ix);
	free(c->lines);
	ftp_hindex_release(&c->line_ix);
	free(c->objs);
	ftp_hindex_release(&c->obj_ix);
	free(c->funcs);
	ftp_hindex_release(&c->func_ix);
	free(c);
}

static struct oc_thread *get_thread(struct oncpu_counts *c, pid_t tid)
{
	uint64_t h = ftp_hash_mix(0, (uint64_t)tid);
	if (ftp_hindex_reserve(&c->thread_ix, c->nthreads, 64, thread_hash_of, c) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&c->thread_ix, h, same_thread, c, &tid);
	if (!*slot) {
		if (ftp_grow((void **)&c->threads, &c->threads_cap, c->nthreads + 1, sizeof(*c->threads),
		             64) < 0)
			return NULL;
		c->threads[c->nthreads] = (struct oc_thread){ .tid = tid, .last_cpu = -1, .hash = h };
		*slot = (uint32_t)++c->nthreads;
	}
	return &c->threads[*slot - 1];
}

/* Makes room for CPU n - 1's ticks. */
static int grow_cpus(struct oncpu_counts *c, size_t n)
{
	if (n <= c->ncpus)
		return 0;
	size_t old = c->cpus_cap;
	if (ftp_grow((void **)&c->cpu_ticks, &c->cpus_cap, n, sizeof(*c->cpu_ticks), 16) < 0)
		return -FTP_E_NOMEM;
	memset(c->cpu_ticks + old, 0, (c->cpus_cap - old) * sizeof(*c->cpu_ticks));
	c->ncpus = n;
	return 0;
}

/* Adds samples to the line (type, function, file, line), strings interned. */
static int add_line(struct oncpu_counts *c, struct rc_line k, uint64_t samples)
{
	k.hash = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(0, k.type), k.function), k.file),
	                      (uint64_t)(int64_t)k.line);
	if (ftp_hindex_reserve(&c->line_ix, c->nlines, 64, line_hash_of, c) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&c->line_ix, k.hash, same_line, c, &k);
	if (!*slot) {
		if (ftp_grow((void **)&c->lines, &c->lines_cap, c->nlines + 1, sizeof(*c->lines), 64) < 0)
			return -FTP_E_NOMEM;
		c->lines[c->nlines] = k;
		*slot = (uint32_t)++c->nlines;
	}
	c->lines[*slot - 1].samples += samples;
	return 0;
}

static int count_line(struct oncpu_counts *c, uint32_t type, const struct analysis_sample *s)
{
	struct rc_line k = { .type = type, .line = s->function ? s->line : -1 };
	if (strtab_intern(&c->strs, s->function ? s->function : "", &k.function) < 0 ||
	    strtab_intern(&c->strs, s->function && s->file ? s->file : "", &k.file) < 0)
		return -FTP_E_NOMEM;
	return add_line(c, k, 1);
}

/* Counts samples on the object at addr of type type; name: its short
 * name, "" for none (a name seen replaces the one before: the latest object
 * at the address). */
static int count_obj(struct oncpu_counts *c, uint32_t type, uint32_t name, uint64_t addr, uint64_t samples)
{
	struct rc_obj k = {
		.type = type, .name = name, .addr = addr, .hash = ftp_hash_mix(ftp_hash_addr(addr), type)
	};
	if (ftp_hindex_reserve(&c->obj_ix, c->nobjs, 64, obj_hash_of, c) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&c->obj_ix, k.hash, same_obj, c, &k);
	if (!*slot) {
		if (ftp_grow((void **)&c->objs, &c->objs_cap, c->nobjs + 1, sizeof(*c->objs), 64) < 0)
			return -FTP_E_NOMEM;
		c->objs[c->nobjs] = k;
		*slot = (uint32_t)++c->nobjs;
	}
	c->objs[*slot - 1].samples += samples;
	if (*strtab_str(&c->strs, name))
		c->objs[*slot - 1].name = name;
	return 0;
}

static int add_func(struct oncpu_counts *c, struct oc_func k, uint64_t samples)
{
	k.hash = ftp_hash_mix(ftp_hash_mix(ftp_hash_mix(0, k.symbol), k.library), (uint64_t)k.kind);
	if (ftp_hindex_reserve(&c->func_ix, c->nfuncs, 64, func_hash_of, c) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&c->func_ix, k.hash, same_func, c, &k);
	if (!*slot) {
		if (ftp_grow((void **)&c->funcs, &c->funcs_cap, c->nfuncs + 1, sizeof(*c->funcs), 64) < 0)
			return -FTP_E_NOMEM;
		k.samples = 0;
		c->funcs[c->nfuncs] = k;
		*slot = (uint32_t)++c->nfuncs;
	}
	c->funcs[*slot - 1].samples += samples;
	return 0;
}

/* A tick's native function: its symbol (or what stands for it) and the
 * file name of its module. */
static int count_func(struct oncpu_counts *c, const struct ftp_tick *k, enum ftp_cpu_kind kind)
{
	const char *symbol = k->symbol && *k->symbol ? k->symbol : k->in_kernel ? "[kernel]" : "[unknown]";
	struct oc_func f = { .kind = kind };
	if (strtab_intern(&c->strs, symbol, &f.symbol) < 0 ||
	    strtab_intern(&c->strs, k->object ? ftp_base_name(k->object) : "", &f.library) < 0)
		return -FTP_E_NOMEM;
	return add_func(c, f, 1);
}

int oncpu_counts_add(struct oncpu_counts *c, const struct analysis_sample *s)
{
	if (!s->nticks)
		return 0;
	struct oc_thread *t = get_thread(c, s->tid);
	if (!t)
		return -FTP_E_NOMEM;
	for (unsigned i = 0; i < s->nticks; i++) {
		const struct ftp_tick *k = &s->ticks[i];
		enum ftp_cpu_kind kind = (unsigned)k->kind < FTP_CPU_KIND_COUNT ? k->kind : FTP_CPU_UNKNOWN;
		c->ticks++;
		c->kind_ticks[kind]++;
		t->ticks++;
		if (k->cpu >= 0 && k->cpu < MAX_CPUS) {
			if (grow_cpus(c, (size_t)k->cpu + 1) < 0)
				return -FTP_E_NOMEM;
			c->cpu_ticks[k->cpu]++;
			if (k->cpu < 64)
				t->cpus |= 1ull << k->cpu;
			t->last_cpu = k->cpu;
		}
		if (count_func(c, k, kind) < 0)
			return -FTP_E_NOMEM;
		if (kind != FTP_CPU_REFCOUNT)
			continue;
		c->refcount_ticks++;
		uint32_t type, name;
		if (strtab_intern(&c->strs, k->object_type && *k->object_type ? k->object_type : "?", &type) <
		            0 ||
		    strtab_intern(&c->strs, k->object_name ? k->object_name : "", &name) < 0 ||
		    count_line(c, type, s) < 0 ||
		    (k->object_addr && count_obj(c, type, name, k->object_addr, 1) < 0))
			return -FTP_E_NOMEM;
	}
	return 0;
}

static int keep_times(struct ftp_cpu_time **dst, unsigned *ndst, const struct ftp_cpu_time *cpus, unsigned n)
{
	struct ftp_cpu_time *v = realloc(*dst, (n ? n : 1) * sizeof(*v));
	if (!v)
		return -FTP_E_NOMEM;
	memcpy(v, cpus, n * sizeof(*v));
	*dst = v;
	*ndst = n;
	return 0;
}

int oncpu_counts_cpustat(struct oncpu_counts *c, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                         unsigned n)
{
	(void)time_ns;
	if (!c->first)
		return keep_times(&c->first, &c->nfirst, cpus, n);
	return keep_times(&c->last, &c->nlast, cpus, n);
}

/* The id in c of src's string id. */
static int restring(struct oncpu_counts *c, const struct oncpu_counts *src, uint32_t id, uint32_t *out)
{
	return strtab_intern(&c->strs, strtab_str(&src->strs, id), out);
}

int oncpu_counts_merge(struct oncpu_counts *c, const struct oncpu_counts *src)
{
	if (grow_cpus(c, src->ncpus) < 0)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < src->ncpus; i++)
		c->cpu_ticks[i] += src->cpu_ticks[i];
	c->ticks += src->ticks;
	c->refcount_ticks += src->refcount_ticks;
	for (int k = 0; k < FTP_CPU_KIND_COUNT; k++)
		c->kind_ticks[k] += src->kind_ticks[k];
	/* the earliest first, the latest last */
	if (src->first && !c->first) {
		if (keep_times(&c->first, &c->nfirst, src->first, src->nfirst) < 0)
			return -FTP_E_NOMEM;
	} else if (src->first && keep_times(&c->last, &c->nlast, src->first, src->nfirst) < 0) {
		return -FTP_E_NOMEM;
	}
	if (src->last && keep_times(&c->last, &c->nlast, src->last, src->nlast) < 0)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < src->nthreads; i++) {
		const struct oc_thread *s = &src->threads[i];
		struct oc_thread *t = get_thread(c, s->tid);
		if (!t)
			return -FTP_E_NOMEM;
		t->ticks += s->ticks;
		t->cpus |= s->cpus;
		if (s->last_cpu >= 0)
			t->last_cpu = s->last_cpu;
	}
	for (size_t i = 0; i < src->nlines; i++) {
		const struct rc_line *l = &src->lines[i];
		struct rc_line k = { .line = l->line };
		if (restring(c, src, l->type, &k.type) < 0 ||
		    restring(c, src, l->function, &k.function) < 0 ||
		    restring(c, src, l->file, &k.file) < 0 || add_line(c, k, l->samples) < 0)
			return -FTP_E_NOMEM;
	}
	for (size_t i = 0; i < src->nfuncs; i++) {
		const struct oc_func *f = &src->funcs[i];
		struct oc_func k = { .kind = f->kind };
		if (restring(c, src, f->symbol, &k.symbol) < 0 ||
		    restring(c, src, f->library, &k.library) < 0 || add_func(c, k, f->samples) < 0)
			return -FTP_E_NOMEM;
	}
	for (size_t i = 0; i < src->nobjs; i++) {
		uint32_t type, name;
		if (restring(c, src, src->objs[i].type, &type) < 0 ||
		    restring(c, src, src->objs[i].name, &name) < 0 ||
		    count_obj(c, type, name, src->objs[i].addr, src->objs[i].samples) < 0)
			return -FTP_E_NOMEM;
	}
	return 0;
}

void oncpu_counts_thread(const struct oncpu_counts *c, pid_t tid, uint64_t *ticks, uint64_t *cpus,
                         int *last_cpu)
{
	long i = ftp_hindex_get(&c->thread_ix, ftp_hash_mix(0, (uint64_t)tid), same_thread, c, &tid);
	*ticks = i < 0 ? 0 : c->threads[i].ticks;
	*cpus = i < 0 ? 0 : c->threads[i].cpus;
	*last_cpu = i < 0 ? -1 : c->threads[i].last_cpu;
}

void oncpu_result_release(struct analysis_oncpu *out)
{
	free(out->cores);
	for (size_t i = 0; i < out->nrefcount; i++)
		free(out->refcount[i].lines);
	free(out->refcount);
	free(out->cfuncs);
	memset(out, 0, sizeof(*out));
}

static int cmp_refcount(const void *x, const void *y)
{
	const struct analysis_refcount *l = x, *m = y;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	return strcmp(l->type, m->type);
}

static int cmp_line(const void *x, const void *y)
{
	const struct analysis_line *l = x, *m = y;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	int r = strcmp(l->file, m->file);
	return r ? r : (l->line > m->line) - (l->line < m->line);
}

static int fill_refcount(const struct oncpu_counts *c, struct analysis_oncpu *out)
{
	/* the types, in the order of their first line */
	for (size_t i = 0; i < c->nlines; i++) {
		const char *type = strtab_str(&c->strs, c->lines[i].type);
		struct analysis_refcount *r = NULL;
		for (size_t k = 0; k < out->nrefcount; k++)
			if (out->refcount[k].type == type)
				r = &out->refcount[k];
		if (!r) {
			struct analysis_refcount *v =
			        realloc(out->refcount, (out->nrefcount + 1) * sizeof(*out->refcount));
			if (!v)
				return -FTP_E_NOMEM;
			out->refcount = v;
			r = &out->refcount[out->nrefcount++];
			memset(r, 0, sizeof(*r));
			r->type = type;
		}
		struct analysis_line *lv = realloc(r->lines, (r->nlines + 1) * sizeof(*lv));
		if (!lv)
			return -FTP_E_NOMEM;
		r->lines = lv;
		r->lines[r->nlines++] =
		        (struct analysis_line){ .function = strtab_str(&c->strs, c->lines[i].function),
			                        .file = strtab_str(&c->strs, c->lines[i].file),
			                        .line = c->lines[i].line,
			                        .samples = c->lines[i].samples };
		r->samples += c->lines[i].samples;
	}
	for (size_t k = 0; k < out->nrefcount; k++) {
		struct analysis_refcount *r = &out->refcount[k];
		r->share = c->ticks ? (double)r->samples / (double)c->ticks : 0;
		uint64_t best = 0;
		for (size_t i = 0; i < c->nobjs; i++) {
			if (strtab_str(&c->strs, c->objs[i].type) != r->type)
				continue;
			r->objects++;
			if (c->objs[i].samples > best) {
				best = c->objs[i].samples;
				r->address = c->objs[i].addr;
				const char *name = strtab_str(&c->strs, c->objs[i].name);
				r->name = *name ? name : NULL;
			}
		}
		if (r->nlines > 1)
			qsort(r->lines, r->nlines, sizeof(*r->lines), cmp_line);
	}
	if (out->nrefcount > 1)
		qsort(out->refcount, out->nrefcount, sizeof(*out->refcount), cmp_refcount);
	return 0;
}

static int cmp_cfunc(const void *x, const void *y)
{
	const struct analysis_cfunc *l = x, *m = y;
	if (l->samples != m->samples)
		return l->samples > m->samples ? -1 : 1;
	int d = strcmp(l->symbol, m->symbol);
	if (!d)
		d = strcmp(l->library, m->library);
	return d ? d : (int)l->kind - (int)m->kind;
}

static int fill_cfuncs(const struct oncpu_counts *c, struct analysis_oncpu *out)
{
	if (!c->nfuncs)
		return 0;
	if (!(out->cfuncs = calloc(c->nfuncs, sizeof(*out->cfuncs))))
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < c->nfuncs; i++) {
		const struct oc_func *f = &c->funcs[i];
		out->cfuncs[i] = (struct analysis_cfunc){
			.symbol = strtab_str(&c->strs, f->symbol),
			.library = strtab_str(&c->strs, f->library),
			.kind = f->kind,
			.samples = f->samples,
			.share = c->ticks ? (double)f->samples / (double)c->ticks : 0,
		};
	}
	out->ncfuncs = c->nfuncs;
	qsort(out->cfuncs, out->ncfuncs, sizeof(*out->cfuncs), cmp_cfunc);
	return 0;
}

int oncpu_counts_result(const struct oncpu_counts *c, double tick_s, double duration_s, long cores,
                        struct analysis_oncpu *out)
{
	memset(out, 0, sizeof(*out));
	out->ticks = c->ticks;
	out->tick_s = tick_s;
	out->refcount_ticks = c->refcount_ticks;
	memcpy(out->kind_ticks, c->kind_ticks, sizeof(out->kind_ticks));
	/* The samples span duration_s; the ticks of the first round came from
	 * the tick period before it. */
	if (tick_s > 0)
		duration_s += tick_s;
	if (duration_s > 0) {
		out->effective = (double)c->ticks * tick_s / duration_s;
		for (int k = 0; k < FTP_CPU_KIND_COUNT; k++)
			out->kinds[k] = (double)c->kind_ticks[k] * tick_s / duration_s;
	}
	size_t n = c->ncpus;
	if (cores > 0 && (size_t)cores > n)
		n = (size_t)cores;
	if (c->nfirst > n)
		n = c->nfirst;
	if (n && c->ticks + c->nfirst > 0) {
		out->cores = calloc(n, sizeof(*out->cores));
		if (!out->cores)
			goto nomem;
		out->ncores = n;
		for (size_t i = 0; i < n; i++) {
			struct analysis_core *k = &out->cores[i];
			k->cpu = (int)i;
			k->ticks = i < c->ncpus ? c->cpu_ticks[i] : 0;
			k->target = duration_s > 0 ? (double)k->ticks * tick_s / duration_s : 0;
			k->busy = -1;
			if (c->last && i < c->nfirst && i < c->nlast && c->last[i].total > c->first[i].total)
				k->busy = (double)(c->last[i].busy - c->first[i].busy) /
				          (double)(c->last[i].total - c->first[i].total);
		}
	}
	if (fill_refcount(c, out) < 0 || fill_cfuncs(c, out) < 0)
		goto nomem;
	return 0;
nomem:
	oncpu_result_release(out);
	return -FTP_E_NOMEM;
}
