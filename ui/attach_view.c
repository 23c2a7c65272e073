/* SPDX-License-Identifier: MIT */
/* The live view's model, views and screen layout (see attach_view.h): per
 * thread a ring of one-second state counts, per function and per line own
 * and total counts keyed by code object, and ui/analysis for the rest. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "analysis/deadlock.h"
#include "attach_view.h"
#include "escape.h"
#include "ftprof/error.h"
#include "ftprof/util.h"
#include "strtab.h"

#define NS 1000000000ull
#define SHOWN_NS (2 * NS) /* a thread not seen for this long is not shown */

struct bucket {
	uint64_t sec; /* seconds since the model's start, + 1; 0: empty */
	uint32_t samples, on_cpu;
	uint32_t states[FTP_STATE_COUNT];
};

/* A thread as the latest round saw it, and its recent states. Its strings
 * are in the model's table, which is rebuilt each second with the threads
 * seen in the window. */
struct thread {
	pid_t tid;
	uint32_t name; /* strtab id */
	uint64_t round, seen_ns;
	/* in its latest sample */
	enum ftp_state state;
	int on_cpu;
	enum ftp_wait_kind kind;
	uint64_t address;
	uint32_t type;
	pid_t holder;
	uint32_t function, file; /* innermost frame; 0: none */
	int line;
	struct bucket hist[ATTACH_HISTORY];
	uint64_t hash;
};

/* A function (key_line 0) or a line of one, in one thread, in one second. */
struct func {
	uint64_t code;
	pid_t tid;
	int key_line; /* the line (lines), or 0 */
	bool by_line;
	uint32_t function, file; /* the slot's strtab ids */
	int line;
	uint64_t own, total, stamp;
	uint64_t hash;
};

/* A thread's samples that the functions counted, in one second. */
struct tcount {
	pid_t tid;
	uint64_t samples;
	uint64_t hash;
};

/* One second of the window: its own analysis, functions and strings, all
 * dropped when the slot is taken for a later second. */
struct slot {
	uint64_t sec; /* seconds since the model's start, + 1; 0: empty */
	struct analysis *analysis;
	struct strtab strs;
	struct func *funcs;
	size_t nfuncs, funcs_cap;
	struct ftp_hindex func_ix;
	struct tcount *counts;
	size_t ncounts, counts_cap;
	struct ftp_hindex count_ix;
	uint64_t fn_samples;
};

struct attach_model {
	struct attach_model_opts opts;
	struct slot slots[ATTACH_WINDOW];
	struct slot *cur; /* the open second's, or NULL */
	struct strtab strs;
	struct thread *threads;
	size_t nthreads, threads_cap;
	struct ftp_hindex thread_ix;
	uint64_t serial, torn, samples;
	uint64_t start_ns, now_ns;
	uint64_t open_round, last_round; /* the open one; the latest ended */
	bool open, any;
	struct ftp_cpu_time *cpus; /* the latest CPU times given, for the next slot */
	unsigned ncpus;
	uint64_t cpus_ns;
};

static uint64_t thread_hash_of(const void *ctx, size_t idx)
{
	return ((const struct attach_model *)ctx)->threads[idx].hash;
}

static uint64_t func_hash_of(const void *ctx, size_t idx)
{
	return ((const struct slot *)ctx)->funcs[idx].hash;
}

static uint64_t count_hash_of(const void *ctx, size_t idx)
{
	return ((const struct slot *)ctx)->counts[idx].hash;
}

static bool same_thread(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct attach_model *)ctx)->threads[idx].tid == *(const pid_t *)key;
}

static bool same_func(const void *ctx, uint32_t idx, const void *key)
{
	const struct func *f = &((const struct slot *)ctx)->funcs[idx], *k = key;
	return f->code == k->code && f->tid == k->tid && f->key_line == k->key_line &&
	       f->by_line == k->by_line;
}

static bool same_count(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct slot *)ctx)->counts[idx].tid == *(const pid_t *)key;
}

static struct analysis_opts analysis_opts_of(const struct attach_model *m)
{
	return (struct analysis_opts){ .rate = m->opts.rate,
		                       .cores = m->opts.cores,
		                       .tick_s = m->opts.tick_s };
}

static void slot_release(struct slot *sl)
{
	analysis_destroy(sl->analysis);
	strtab_release(&sl->strs);
	free(sl->funcs);
	ftp_hindex_release(&sl->func_ix);
	free(sl->counts);
	ftp_hindex_release(&sl->count_ix);
	memset(sl, 0, sizeof(*sl));
}

static void clear(struct attach_model *m)
{
	for (int i = 0; i < ATTACH_WINDOW; i++)
		slot_release(&m->slots[i]);
	m->cur = NULL;
	strtab_release(&m->strs);
	free(m->threads);
	ftp_hindex_release(&m->thread_ix);
	m->threads = NULL;
	m->nthreads = m->threads_cap = 0;
	m->serial = m->torn = m->samples = 0;
	m->start_ns = m->now_ns = 0;
	m->open = m->any = false;
}

int attach_model_create(struct attach_model **out, const struct attach_model_opts *opts)
{
	struct attach_model *m = calloc(1, sizeof(*m));
	if (!m)
		return -FTP_E_NOMEM;
	if (opts)
		m->opts = *opts;
	*out = m;
	return 0;
}

void attach_model_destroy(struct attach_model *m)
{
	if (!m)
		return;
	clear(m);
	free(m->cpus);
	free(m);
}

int attach_model_reset(struct attach_model *m)
{
	if (m->open)
		attach_model_end_round(m);
	clear(m);
	return 0;
}

int attach_model_cpustat(struct attach_model *m, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                         unsigned n)
{
	if (n > m->ncpus || !m->cpus) {
		struct ftp_cpu_time *v = realloc(m->cpus, (n ? n : 1) * sizeof(*v));
		if (!v)
			return -FTP_E_NOMEM;
		m->cpus = v;
	}
	memcpy(m->cpus, cpus, n * sizeof(*cpus));
	m->ncpus = n;
	m->cpus_ns = time_ns;
	return m->cur ? analysis_add_cpustat(m->cur->analysis, time_ns, cpus, n) : 0;
}

/* Keeps the threads seen in the window, their strings in a new table. */
static int prune_threads(struct attach_model *m)
{
	struct strtab strs = { 0 };
	size_t n = 0;
	const uint64_t window = (uint64_t)ATTACH_WINDOW * NS;
	for (size_t i = 0; i < m->nthreads; i++) {
		struct thread t = m->threads[i];
		if (t.seen_ns + window <= m->now_ns)
			continue;
		if (strtab_intern(&strs, strtab_str(&m->strs, t.name), &t.name) < 0 ||
		    strtab_intern(&strs, strtab_str(&m->strs, t.type), &t.type) < 0 ||
		    strtab_intern(&strs, strtab_str(&m->strs, t.function), &t.function) < 0 ||
		    strtab_intern(&strs, strtab_str(&m->strs, t.file), &t.file) < 0) {
			strtab_release(&strs);
			return -FTP_E_NOMEM;
		}
		m->threads[n++] = t; /* n <= i: not read again */
	}
	strtab_release(&m->strs);
	m->strs = strs;
	m->nthreads = n;
	ftp_hindex_clear(&m->thread_ix);
	for (size_t i = 0; i < n; i++) {
		if (ftp_hindex_reserve(&m->thread_ix, i, 64, thread_hash_of, m) < 0)
			return -FTP_E_NOMEM;
		*ftp_hindex_find(&m->thread_ix, m->threads[i].hash, same_thread, m, &m->threads[i].tid) =
		        (uint32_t)i + 1;
	}
	return 0;
}

/* Opens second sec's slot (emptied if it held an older second). */
static int open_slot(struct attach_model *m, uint64_t sec)
{
	struct slot *sl = &m->slots[sec % ATTACH_WINDOW];
	m->cur = NULL;
	if (sl->sec != sec + 1) {
		slot_release(sl);
		struct analysis_opts ao = analysis_opts_of(m);
		if (analysis_create(&sl->analysis, &ao) < 0)
			return -FTP_E_NOMEM;
		sl->sec = sec + 1;
		/* its CPU times start where the previous second's ended */
		if (m->cpus && analysis_add_cpustat(sl->analysis, m->cpus_ns, m->cpus, m->ncpus) < 0)
			return -FTP_E_NOMEM;
		if (prune_threads(m) < 0)
			return -FTP_E_NOMEM;
	}
	m->cur = sl;
	return 0;
}

static bool is_active(const struct analysis_sample *s)
{
	return ftp_state_active(s->state, s->on_cpu);
}

static struct thread *get_thread(struct attach_model *m, pid_t tid)
{
	uint64_t h = ftp_hash_mix(0, (uint64_t)tid);
	if (ftp_hindex_reserve(&m->thread_ix, m->nthreads, 64, thread_hash_of, m) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&m->thread_ix, h, same_thread, m, &tid);
	if (!*slot) {
		if (ftp_grow((void **)&m->threads, &m->threads_cap, m->nthreads + 1, sizeof(*m->threads),
		             64) < 0)
			return NULL;
		m->threads[m->nthreads] = (struct thread){ .tid = tid, .hash = h };
		*slot = (uint32_t)++m->nthreads;
	}
	return &m->threads[*slot - 1];
}

static struct func *get_func(struct slot *sl, pid_t tid, const struct attach_frame *f, bool by_line)
{
	struct func k = {
		.code = f->code, .tid = tid, .key_line = by_line ? f->line : 0, .by_line = by_line
	};
	if (!k.code) /* keyed by its strings */
		k.code = ftp_hash_str(ftp_hash_str(0, f->function), f->file) | 1;
	k.hash = ftp_hash_mix(
	        ftp_hash_mix(ftp_hash_mix(ftp_hash_addr(k.code), (uint64_t)(int64_t)k.key_line), by_line),
	        (uint64_t)tid);
	if (ftp_hindex_reserve(&sl->func_ix, sl->nfuncs, 256, func_hash_of, sl) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&sl->func_ix, k.hash, same_func, sl, &k);
	if (!*slot) {
		if (strtab_intern(&sl->strs, f->function ? f->function : "", &k.function) < 0 ||
		    strtab_intern(&sl->strs, f->file ? f->file : "", &k.file) < 0 ||
		    ftp_grow((void **)&sl->funcs, &sl->funcs_cap, sl->nfuncs + 1, sizeof(*sl->funcs), 256) <
		            0)
			return NULL;
		k.line = by_line ? f->line : (f->firstline > 0 ? f->firstline : -1);
		sl->funcs[sl->nfuncs] = k;
		*slot = (uint32_t)++sl->nfuncs;
	}
	return &sl->funcs[*slot - 1];
}

static struct tcount *get_count(struct slot *sl, pid_t tid)
{
	uint64_t h = ftp_hash_mix(0, (uint64_t)tid);
	if (ftp_hindex_reserve(&sl->count_ix, sl->ncounts, 64, count_hash_of, sl) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&sl->count_ix, h, same_count, sl, &tid);
	if (!*slot) {
		if (ftp_grow((void **)&sl->counts, &sl->counts_cap, sl->ncounts + 1, sizeof(*sl->counts),
		             64) < 0)
			return NULL;
		sl->counts[sl->ncounts] = (struct tcount){ .tid = tid, .hash = h };
		*slot = (uint32_t)++sl->ncounts;
	}
	return &sl->counts[*slot - 1];
}

static void count_history(struct thread *t, uint64_t sec, const struct analysis_sample *s)
{
	struct bucket *b = &t->hist[sec % ATTACH_HISTORY];
	if (b->sec != sec + 1)
		*b = (struct bucket){ .sec = sec + 1 };
	b->samples++;
	b->on_cpu += s->on_cpu == 1 ||
	             (s->on_cpu < 0 && (s->state == FTP_STATE_RUNNING || s->state == FTP_STATE_NATIVE ||
	                                s->state == FTP_STATE_GC));
	if ((unsigned)s->state < FTP_STATE_COUNT)
		b->states[s->state]++;
}

static int count_functions(struct attach_model *m, const struct attach_sample *s)
{
	struct slot *sl = m->cur;
	struct tcount *c = get_count(sl, s->a.tid);
	if (!c)
		return -FTP_E_NOMEM;
	m->serial++;
	sl->fn_samples++;
	c->samples++;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->nframes; i++) {
			struct func *f = get_func(sl, s->a.tid, &s->frames[i], pass == 1);
			if (!f)
				return -FTP_E_NOMEM;
			if (i == 0)
				f->own++;
			if (f->stamp != m->serial) { /* recursion counts once */
				f->stamp = m->serial;
				f->total++;
			}
		}
	}
	return 0;
}

static uint64_t second_of(const struct attach_model *m, uint64_t time_ns)
{
	return time_ns > m->start_ns ? (time_ns - m->start_ns) / NS : 0;
}

int attach_model_add(struct attach_model *m, const struct attach_sample *s)
{
	const struct analysis_sample *a = &s->a;
	if (m->open && a->round != m->open_round)
		attach_model_end_round(m);
	if (!m->any) {
		m->any = true;
		m->start_ns = a->time_ns;
	}
	if (a->time_ns > m->now_ns)
		m->now_ns = a->time_ns;
	if (!m->open) {
		/* a round belongs to the second of its first sample */
		uint64_t sec = second_of(m, a->time_ns);
		if ((!m->cur || m->cur->sec != sec + 1) && open_slot(m, sec) < 0)
			return -FTP_E_NOMEM;
	}
	if (!m->cur)
		return -FTP_E_NOMEM;
	m->open = true;
	m->open_round = a->round;
	m->samples++;
	if (s->torn) {
		m->torn++;
		return 0;
	}
	if (analysis_add(m->cur->analysis, a) < 0)
		return -FTP_E_NOMEM;
	struct thread *t = get_thread(m, a->tid);
	if (!t)
		return -FTP_E_NOMEM;
	uint32_t name = t->name, type = 0, function = 0, file = 0;
	if ((a->thread && strtab_intern(&m->strs, a->thread, &name) < 0) ||
	    strtab_intern(&m->strs, a->wait_type, &type) < 0)
		return -FTP_E_NOMEM;
	if (s->nframes && (strtab_intern(&m->strs, s->frames[0].function, &function) < 0 ||
	                   strtab_intern(&m->strs, s->frames[0].file, &file) < 0))
		return -FTP_E_NOMEM;
	t->name = name;
	t->round = a->round;
	t->seen_ns = a->time_ns;
	t->state = a->state;
	t->on_cpu = a->on_cpu;
	t->kind = a->wait_kind;
	t->address = a->wait_address;
	t->type = type;
	t->holder = a->holder;
	t->function = function;
	t->file = file;
	t->line = s->nframes ? s->frames[0].line : -1;
	count_history(t, second_of(m, a->time_ns), a);
	if (s->nframes && (m->opts.idle || is_active(a)))
		return count_functions(m, s);
	return 0;
}

int attach_model_end_round(struct attach_model *m)
{
	if (!m->open)
		return 0;
	m->open = false;
	m->last_round = m->open_round;
	return m->cur ? analysis_end_round(m->cur->analysis) : 0;
}

/* The slots of the window, oldest first: stores up to ATTACH_WINDOW. */
static size_t window_slots(const struct attach_model *m, const struct slot **out)
{
	size_t n = 0;
	if (!m->any)
		return 0;
	uint64_t now = second_of(m, m->now_ns);
	for (uint64_t k = 0; k < ATTACH_WINDOW; k++) {
		if (now + k + 1 < ATTACH_WINDOW)
			continue;
		uint64_t sec = now + k + 1 - ATTACH_WINDOW;
		const struct slot *sl = &m->slots[sec % ATTACH_WINDOW];
		if (sl->sec == sec + 1 && sl->analysis)
			out[n++] = sl;
	}
	return n;
}

/* ---- the view ---- */

char attach_state_letter(enum ftp_state state)
{
	static const char letters[FTP_STATE_COUNT] = {
		[FTP_STATE_UNKNOWN] = '?', [FTP_STATE_RUNNING] = 'R',  [FTP_STATE_NATIVE] = 'N',
		[FTP_STATE_LOCK] = 'L',    [FTP_STATE_WAIT] = 'W',     [FTP_STATE_GIL] = 'G',
		[FTP_STATE_IO] = 'I',      [FTP_STATE_SLEEP] = 'S',    [FTP_STATE_STW] = 'T',
		[FTP_STATE_GC] = 'C',      [FTP_STATE_RUNNABLE] = 'r',
	};
	return (unsigned)state < FTP_STATE_COUNT ? letters[state] : '?';
}

static const struct thread *find_thread(const struct attach_model *m, pid_t tid)
{
	long i = ftp_hindex_get(&m->thread_ix, ftp_hash_mix(0, (uint64_t)tid), same_thread, m, &tid);
	return i < 0 ? NULL : &m->threads[i];
}

/* "NAME (TID)", escaped. */
static void thread_label(const struct attach_model *m, pid_t tid, bool ascii, char *buf, size_t len)
{
	const struct thread *t = find_thread(m, tid);
	char name[64];
	ui_escape_buf(name, sizeof(name), t && t->name ? strtab_str(&m->strs, t->name) : "?", ascii);
	snprintf(buf, len, "%s (%d)", name, (int)tid);
}

/* "function file:line", the file as its base name, escaped. */
static void where_text(const char *function, const char *file, int line, bool ascii, char *buf, size_t len)
{
	if (!function) {
		buf[0] = '\0';
		return;
	}
	char f[112], p[112];
	ui_escape_buf(f, sizeof(f), function, ascii);
	ui_escape_buf(p, sizeof(p), ftp_base_name(file ? file : ""), ascii);
	if (line >= 0)
		snprintf(buf, len, "%s %s:%d", f, p, line);
	else
		snprintf(buf, len, "%s %s", f, p);
}

static bool waits(enum ftp_state s)
{
	return s == FTP_STATE_LOCK || s == FTP_STATE_WAIT || s == FTP_STATE_GIL;
}

static void wait_text(const struct attach_model *m, const struct thread *t, bool ascii, char *buf, size_t len,
                      char *brief, size_t brief_len)
{
	buf[0] = brief[0] = '\0';
	if (!waits(t->state) || t->kind == FTP_WAIT_NONE)
		return;
	char what[96], holder[96] = "";
	const char *kind = ftp_wait_kind_name(t->kind);
	if (t->kind == FTP_WAIT_CRITICAL_SECTION && t->type) {
		char type[64];
		ui_escape_buf(type, sizeof(type), strtab_str(&m->strs, t->type), ascii);
		snprintf(what, sizeof(what), "%s of %s", kind, type);
	} else {
		snprintf(what, sizeof(what), "%s", kind);
	}
	if (t->holder) {
		char label[80];
		thread_label(m, t->holder, ascii, label, sizeof(label));
		snprintf(holder, sizeof(holder), " held by %s", t->holder == t->tid ? "itself" : label);
	}
	snprintf(brief, brief_len, "%s%s", what, holder);
	if (t->address)
		snprintf(buf, len, "%s 0x%llx%s", what, (unsigned long long)t->address, holder);
	else
		snprintf(buf, len, "%s%s", what, holder);
}

static int cmp_functions(const void *x, const void *y, void *arg)
{
	const struct attach_function_row *a = x, *b = y;
	enum attach_sort sort = *(const enum attach_sort *)arg;
	if (sort == ATTACH_SORT_TOTAL && a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (sort != ATTACH_SORT_NAME && a->own != b->own)
		return a->own > b->own ? -1 : 1;
	if (sort != ATTACH_SORT_NAME && a->total != b->total)
		return a->total > b->total ? -1 : 1;
	int c = strcmp(a->function, b->function);
	if (c)
		return c;
	c = strcmp(a->file, b->file);
	return c ? c : (a->line > b->line) - (a->line < b->line);
}

static bool shown(const struct attach_model *m, const struct thread *t)
{
	return t->round == m->last_round || t->seen_ns + SHOWN_NS > m->now_ns;
}

static int cmp_tick_threads(const void *x, const void *y)
{
	const struct analysis_thread *a = x, *b = y;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static int build_threads(struct attach_model *m, const struct analysis_result *res, bool ascii,
                         struct attach_view *v)
{
	/* the threads' ticks, by tid */
	struct analysis_thread *ticks = NULL;
	if (v->oncpu && res->nthreads) {
		if (!(ticks = malloc(res->nthreads * sizeof(*ticks))))
			return -FTP_E_NOMEM;
		memcpy(ticks, res->threads, res->nthreads * sizeof(*ticks));
		qsort(ticks, res->nthreads, sizeof(*ticks), cmp_tick_threads);
	}
	const double span = res->duration_s + res->oncpu.tick_s;
	size_t n = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		n += shown(m, &m->threads[i]);
	free(v->threads);
	v->nthreads = 0;
	if (!(v->threads = calloc(n ? n : 1, sizeof(*v->threads)))) {
		free(ticks);
		return -FTP_E_NOMEM;
	}
	uint64_t now_sec = m->any ? (m->now_ns - m->start_ns) / NS : 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct thread *t = &m->threads[i];
		if (!shown(m, t))
			continue;
		struct attach_thread_row *r = &v->threads[v->nthreads++];
		r->tid = t->tid;
		ui_escape_buf(r->name, sizeof(r->name), t->name ? strtab_str(&m->strs, t->name) : "", ascii);
		r->state = t->state;
		r->on_cpu = t->on_cpu;
		uint64_t samples = 0, on_cpu = 0, states[FTP_STATE_COUNT] = { 0 };
		for (int k = 0; k < ATTACH_HISTORY; k++) {
			/* oldest first: second now_sec - (ATTACH_HISTORY - 1) + k */
			uint64_t sec = now_sec + k + 1 >= ATTACH_HISTORY ? now_sec + k + 1 - ATTACH_HISTORY
			                                                 : UINT64_MAX;
			const struct bucket *b = sec == UINT64_MAX ? NULL : &t->hist[sec % ATTACH_HISTORY];
			if (!b || b->sec != sec + 1 || !b->samples) {
				r->history[k] = ' ';
				continue;
			}
			int best = 0;
			for (int s = 0; s < FTP_STATE_COUNT; s++) {
				states[s] += b->states[s];
				if (b->states[s] > b->states[best])
					best = s;
			}
			samples += b->samples;
			on_cpu += b->on_cpu;
			r->history[k] = attach_state_letter((enum ftp_state)best);
		}
		r->history[ATTACH_HISTORY] = '\0';
		if (samples) {
			r->cpu = (double)on_cpu / (double)samples;
			for (int s = 0; s < FTP_STATE_COUNT; s++)
				r->shares[s] = (double)states[s] / (double)samples;
		}
		r->last_cpu = -1;
		if (ticks) {
			struct analysis_thread key = { .tid = t->tid };
			const struct analysis_thread *k =
			        bsearch(&key, ticks, res->nthreads, sizeof(*ticks), cmp_tick_threads);
			r->cpu = k && span > 0 ? (double)k->ticks * res->oncpu.tick_s / span : 0;
			r->last_cpu = k ? k->last_cpu : -1;
		}
		where_text(t->function ? strtab_str(&m->strs, t->function) : NULL,
		           strtab_str(&m->strs, t->file), t->line, ascii, r->where, sizeof(r->where));
		ui_escape_buf(r->file, sizeof(r->file), t->file ? strtab_str(&m->strs, t->file) : "", ascii);
		wait_text(m, t, ascii, r->wait, sizeof(r->wait), r->wait_short, sizeof(r->wait_short));
	}
	free(ticks);
	return 0;
}

/* A function row's key while the window's seconds are merged. */
struct attach_fkey {
	uint64_t code;
	int key_line;
	uint64_t hash;
};

static uint64_t fkey_hash_of(const void *ctx, size_t idx)
{
	return ((const struct attach_fkey *)ctx)[idx].hash;
}

static bool same_fkey(const void *ctx, uint32_t idx, const void *key)
{
	const struct attach_fkey *f = &((const struct attach_fkey *)ctx)[idx], *k = key;
	return f->code == k->code && f->key_line == k->key_line;
}

/* The functions (or lines) of the window's seconds, of every thread or of
 * thread only (nonzero). */
static int build_functions(const struct slot *const *slots, size_t nslots, bool ascii, enum attach_sort sort,
                           bool by_line, pid_t thread, struct attach_view *v)
{
	v->nfunctions = 0;
	v->function_samples = 0;
	ftp_hindex_clear(&v->fkey_ix);
	int ret = 0;
	uint64_t samples = 0;
	for (size_t k = 0; k < nslots && ret == 0; k++) {
		const struct slot *sl = slots[k];
		if (!thread) {
			samples += sl->fn_samples;
		} else {
			long c = ftp_hindex_get(&sl->count_ix, ftp_hash_mix(0, (uint64_t)thread), same_count,
			                        sl, &thread);
			if (c < 0)
				continue;
			samples += sl->counts[c].samples;
		}
		for (size_t i = 0; i < sl->nfuncs; i++) {
			const struct func *f = &sl->funcs[i];
			if (f->by_line != by_line || (thread && f->tid != thread))
				continue;
			struct attach_fkey key = { .code = f->code, .key_line = f->key_line };
			key.hash = ftp_hash_mix(ftp_hash_addr(key.code), (uint64_t)(int64_t)key.key_line);
			if (ftp_hindex_reserve(&v->fkey_ix, v->nfunctions, 256, fkey_hash_of, v->fkeys) < 0) {
				ret = -FTP_E_NOMEM;
				break;
			}
			uint32_t *slot = ftp_hindex_find(&v->fkey_ix, key.hash, same_fkey, v->fkeys, &key);
			if (!*slot) {
				if (ftp_grow((void **)&v->fkeys, &v->fkeys_cap, v->nfunctions + 1,
				             sizeof(*v->fkeys), 256) < 0 ||
				    ftp_grow((void **)&v->functions, &v->functions_cap, v->nfunctions + 1,
				             sizeof(*v->functions), 256) < 0) {
					ret = -FTP_E_NOMEM;
					break;
				}
				v->fkeys[v->nfunctions] = key;
				struct attach_function_row *r = &v->functions[v->nfunctions];
				memset(r, 0, sizeof(*r));
				ui_escape_buf(r->function, sizeof(r->function),
				              strtab_str(&sl->strs, f->function), ascii);
				ui_escape_buf(r->file, sizeof(r->file), strtab_str(&sl->strs, f->file),
				              ascii);
				r->line = f->line;
				*slot = (uint32_t)++v->nfunctions;
			}
			struct attach_function_row *r = &v->functions[*slot - 1];
			r->own += f->own;
			r->total += f->total;
		}
	}
	double total = samples ? (double)samples : 1.0;
	for (size_t i = 0; i < v->nfunctions; i++) {
		v->functions[i].own_share = (double)v->functions[i].own / total;
		v->functions[i].total_share = (double)v->functions[i].total / total;
	}
	if (v->nfunctions)
		qsort_r(v->functions, v->nfunctions, sizeof(*v->functions), cmp_functions, &sort);
	v->function_samples = samples;
	return ret;
}

static int build_locks(struct attach_model *m, const struct analysis_result *res, bool ascii,
                       struct attach_view *v)
{
	free(v->locks);
	v->nlocks = 0;
	if (!(v->locks = calloc(res->nlocks ? res->nlocks : 1, sizeof(*v->locks))))
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < res->nlocks; i++) {
		const struct analysis_lock *l = &res->locks[i];
		struct attach_lock_row *r = &v->locks[v->nlocks++];
		r->kind = l->kind;
		r->address = l->address;
		ui_escape_buf(r->type, sizeof(r->type), l->type, ascii);
		r->wait_s = l->wait_seconds;
		if (l->nwaiters)
			where_text(l->waiters[0].function, l->waiters[0].file, l->waiters[0].line, ascii,
			           r->waiting, sizeof(r->waiting));
		pid_t holder = 0;
		for (size_t k = 0; k < m->nthreads; k++) {
			const struct thread *t = &m->threads[k];
			if (t->round != m->last_round || !waits(t->state) || t->kind != l->kind ||
			    t->address != l->address)
				continue;
			r->waiters++;
			if (t->holder)
				holder = t->holder;
		}
		if (holder)
			thread_label(m, holder, ascii, r->holder, sizeof(r->holder));
		else if (l->nholders)
			where_text(l->holders[0].function, l->holders[0].file, l->holders[0].line, ascii,
			           r->holder, sizeof(r->holder));
	}
	return 0;
}

/* The latest round's wait-for cycles, the first in words. */
static int build_deadlock(struct attach_model *m, bool ascii, struct attach_view *v)
{
	v->deadlock[0] = '\0';
	size_t n = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		n += m->threads[i].round == m->last_round;
	if (!n)
		return 0;
	struct deadlock_thread *g = calloc(n, sizeof(*g));
	if (!g)
		return -FTP_E_NOMEM;
	n = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct thread *t = &m->threads[i];
		if (t->round == m->last_round)
			g[n++] = (struct deadlock_thread){ .tid = t->tid,
				                           .state = t->state,
				                           .kind = t->kind,
				                           .address = t->address,
				                           .holder = t->holder };
	}
	struct deadlocks d = { 0 };
	int ret = deadlock_find(g, n, &d);
	free(g);
	if (ret < 0)
		return ret;
	if (d.ncycles) {
		const struct deadlock_cycle *c = &d.cycles[0];
		size_t off = (size_t)snprintf(v->deadlock, sizeof(v->deadlock), "DEADLOCK:");
		for (size_t i = 0; i < c->n && off < sizeof(v->deadlock); i++) {
			const struct deadlock_member *mb = &d.members[c->first + i];
			char label[80];
			thread_label(m, mb->tid, ascii, label, sizeof(label));
			off += (size_t)snprintf(v->deadlock + off, sizeof(v->deadlock) - off,
			                        " %s waits %s 0x%llx%s", label, ftp_wait_kind_name(mb->kind),
			                        (unsigned long long)mb->address,
			                        i + 1 < c->n ? " held by" : " held by the first");
		}
		if (d.ncycles > 1 && off < sizeof(v->deadlock))
			snprintf(v->deadlock + off, sizeof(v->deadlock) - off, " (and %zu more)",
			         d.ncycles - 1);
	}
	deadlocks_release(&d);
	return 0;
}

/* The header's CPU figures and the refcount panel, from the ticks. */
static int build_oncpu(const struct analysis_result *res, const struct attach_status *st, bool ascii,
                       struct attach_view *v)
{
	const struct analysis_oncpu *o = &res->oncpu;
	free(v->core_rows);
	free(v->refcount);
	v->core_rows = NULL;
	v->refcount = NULL;
	v->ncores = v->nrefcount = 0;
	v->oncpu = st->oncpu;
	v->ticks = o->ticks;
	v->ticks_lost = st->ticks_lost;
	v->target_cpu = o->effective;
	v->machine_cpu = -1;
	memcpy(v->kinds, o->kinds, sizeof(v->kinds));
	v->oncpu_note[0] = v->refcount_note[0] = '\0';
	char src[96];
	ui_escape_buf(src, sizeof(src), st->oncpu_source ? st->oncpu_source : "", ascii);
	if (!st->oncpu)
		snprintf(v->oncpu_note, sizeof(v->oncpu_note), "on-CPU samples %s; figures from samples",
		         !st->oncpu_source || !strcmp(st->oncpu_source, "off") ? "off (--no-oncpu)" : src);
	if (!st->free_threaded)
		snprintf(v->refcount_note, sizeof(v->refcount_note),
		         "a GIL build: reference counts are not contended (only free-threaded builds share "
		         "them)");
	else if (!st->oncpu)
		snprintf(v->refcount_note, sizeof(v->refcount_note), "needs on-CPU samples: %s",
		         v->oncpu_note);
	else if (st->oncpu_dwarf && !strncmp(st->oncpu_dwarf, "none", 4))
		snprintf(v->refcount_note, sizeof(v->refcount_note),
		         "the interpreter has no DWARF (%s): objects cannot be named", st->oncpu_dwarf);
	else if (!o->nrefcount)
		snprintf(v->refcount_note, sizeof(v->refcount_note),
		         "no reference count contention seen (%llu on-CPU samples)",
		         (unsigned long long)o->ticks);
	if (o->ncores && !(v->core_rows = calloc(o->ncores, sizeof(*v->core_rows))))
		return -FTP_E_NOMEM;
	double busy = 0;
	bool known = o->ncores > 0;
	for (size_t i = 0; i < o->ncores; i++) {
		v->core_rows[i] = (struct attach_core_row){ .cpu = o->cores[i].cpu,
			                                    .busy = o->cores[i].busy,
			                                    .target = o->cores[i].target };
		if (o->cores[i].busy < 0)
			known = false;
		busy += o->cores[i].busy;
	}
	v->ncores = o->ncores;
	if (known)
		v->machine_cpu = busy;
	if (o->nrefcount && !(v->refcount = calloc(o->nrefcount, sizeof(*v->refcount))))
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < o->nrefcount; i++) {
		const struct analysis_refcount *rc = &o->refcount[i];
		struct attach_refcount_row *r = &v->refcount[v->nrefcount++];
		ui_escape_buf(r->type, sizeof(r->type), rc->type, ascii);
		r->objects = rc->objects;
		r->samples = rc->samples;
		r->share = rc->share;
		r->address = rc->address;
		if (rc->name)
			ui_escape_buf(r->name, sizeof(r->name), rc->name, ascii);
		if (rc->nlines && rc->lines[0].function && rc->lines[0].function[0]) {
			where_text(rc->lines[0].function, rc->lines[0].file, rc->lines[0].line, ascii,
			           r->where, sizeof(r->where));
			ui_escape_buf(r->file, sizeof(r->file), rc->lines[0].file, ascii);
		}
	}
	return 0;
}

int attach_view_build(struct attach_model *m, const struct attach_status *st, enum attach_sort sort,
                      bool by_line, pid_t thread, struct attach_view *v)
{
	const bool ascii = st->ascii;
	char cmd[360];
	ui_escape_buf(cmd, sizeof(cmd), st->command ? st->command : "", ascii);
	if (st->output_log) {
		char log[80];
		ui_escape_buf(log, sizeof(log), st->output_log, ascii);
		snprintf(v->title, sizeof(v->title), "pid %d (launched, output to %s)  %s", (int)st->pid, log,
		         cmd);
	} else {
		snprintf(v->title, sizeof(v->title), "pid %d  %s", (int)st->pid, cmd);
	}
	snprintf(v->python, sizeof(v->python), "Python %s %s", st->version ? st->version : "?",
	         !st->free_threaded ? "(GIL)"
	         : st->gil_enabled  ? "free-threaded, GIL on"
	                            : "free-threaded");
	v->elapsed_s = st->elapsed_s;
	v->rate_asked = st->rate_asked;
	v->rate = st->elapsed_s > 0 ? (double)st->rounds / st->elapsed_s : 0;
	v->missed = st->missed;
	v->failed = st->failed;
	v->torn = m->torn;
	v->samples = m->samples;
	v->ascii = ascii;
	v->sort = sort;
	v->by_line = by_line;
	v->thread = thread;
	v->thread_label[0] = '\0';
	if (thread)
		thread_label(m, thread, ascii, v->thread_label, sizeof(v->thread_label));
	snprintf(v->ended, sizeof(v->ended), "%s", st->ended ? st->ended : "");

	int ret = 0;
	/* the window: its seconds merged */
	const struct slot *slots[ATTACH_WINDOW];
	size_t nslots = window_slots(m, slots);
	struct analysis_opts ao = analysis_opts_of(m);
	struct analysis *merged = NULL;
	struct analysis_result res;
	memset(&res, 0, sizeof(res));
	if (analysis_create(&merged, &ao) < 0)
		ret = -FTP_E_NOMEM;
	for (size_t i = 0; i < nslots && ret == 0; i++)
		ret = analysis_merge(merged, slots[i]->analysis);
	if (ret == 0 && analysis_result(merged, &res) < 0)
		ret = -FTP_E_NOMEM;
	v->effective = res.effective;
	v->python_par = res.python;
	v->cores = m->opts.cores;
	v->gil_build = res.gil_build;
	v->gil_busy = res.gil_busy;
	if (build_oncpu(&res, st, ascii, v) < 0 || build_threads(m, &res, ascii, v) < 0 ||
	    build_functions(slots, nslots, ascii, sort, by_line, thread, v) < 0 ||
	    build_locks(m, &res, ascii, v) < 0 || build_deadlock(m, ascii, v) < 0)
		ret = -FTP_E_NOMEM;
	analysis_result_release(&res); /* its strings are merged's */
	analysis_destroy(merged);
	return ret;
}

void attach_view_release(struct attach_view *v)
{
	free(v->threads);
	free(v->functions);
	free(v->fkeys);
	ftp_hindex_release(&v->fkey_ix);
	free(v->locks);
	free(v->core_rows);
	free(v->refcount);
	v->threads = NULL;
	v->functions = NULL;
	v->fkeys = NULL;
	v->functions_cap = v->fkeys_cap = 0;
	v->locks = NULL;
	v->core_rows = NULL;
	v->refcount = NULL;
	v->nthreads = v->nfunctions = v->nlocks = v->ncores = v->nrefcount = 0;
}

/* ---- keys ---- */

enum attach_action attach_key(struct attach_ui *ui, int key)
{
	if (ui->help && key != 'q' && key != ATTACH_KEY_RESIZE) {
		ui->help = false; /* any key closes the help */
		return ATTACH_DRAW;
	}
	int *sel = &ui->sel[ui->panel];
	switch (key) {
	case 'q':
	case 'Q':
		return ATTACH_QUIT;
	case 'p':
	case ' ':
		ui->paused = !ui->paused;
		return ATTACH_REBUILD;
	case '\t':
		ui->panel = (ui->panel + 1) % ATTACH_PANELS;
		return ATTACH_DRAW;
	case '1':
	case '2':
	case '3':
	case '4':
		ui->panel = (enum attach_panel)(key - '1');
		return ATTACH_DRAW;
	case 's':
	case '>':
		ui->sort = (ui->sort + 1) % ATTACH_SORT_COUNT;
		ui->panel = ATTACH_FUNCTIONS;
		return ATTACH_REBUILD;
	case '<':
		ui->sort = (ui->sort + ATTACH_SORT_COUNT - 1) % ATTACH_SORT_COUNT;
		ui->panel = ATTACH_FUNCTIONS;
		return ATTACH_REBUILD;
	case 't':
	case 'T':
		if (ui->thread) {
			ui->thread = 0;
		} else {
			if (!ui->selected)
				return ATTACH_NONE;
			ui->thread = ui->selected;
			ui->panel = ATTACH_FUNCTIONS;
		}
		ui->sel[ATTACH_FUNCTIONS] = ui->top[ATTACH_FUNCTIONS] = 0;
		return ATTACH_REBUILD;
	case 'l':
	case 'L':
		ui->by_line = !ui->by_line;
		ui->panel = ATTACH_FUNCTIONS;
		ui->sel[ATTACH_FUNCTIONS] = ui->top[ATTACH_FUNCTIONS] = 0;
		return ATTACH_REBUILD;
	case 'r':
	case 'R':
		return ATTACH_RESET;
	case 'j':
	case ATTACH_KEY_DOWN:
		++*sel;
		return ATTACH_DRAW;
	case 'k':
	case ATTACH_KEY_UP:
		if (*sel > 0)
			--*sel;
		return ATTACH_DRAW;
	case ATTACH_KEY_PGDN:
		*sel += 10;
		return ATTACH_DRAW;
	case ATTACH_KEY_PGUP:
		*sel = *sel > 10 ? *sel - 10 : 0;
		return ATTACH_DRAW;
	case 'g':
	case ATTACH_KEY_HOME:
		*sel = 0;
		return ATTACH_DRAW;
	case 'G':
	case ATTACH_KEY_END:
		*sel = 1 << 30; /* clamped when laid out */
		return ATTACH_DRAW;
	case '?':
	case 'h':
		ui->help = true;
		return ATTACH_DRAW;
	case ATTACH_KEY_RESIZE:
		return ATTACH_DRAW;
	default:
		return ATTACH_NONE;
	}
}

/* ---- layout ---- */

/* Display columns of one code point: wcwidth where the locale knows it. */
static int cp_width(const unsigned char *s, int *len)
{
	wchar_t wc;
	mbstate_t st = { 0 };
	size_t n = mbrtowc(&wc, (const char *)s, 4, &st);
	if (n == 0 || n > 4) {
		/* not a character this locale knows: one byte, one column (an
		 * ASCII view holds nothing else) */
		int l = 1;
		while ((s[l] & 0xc0) == 0x80 && l < 4)
			l++;
		*len = l;
		return 1;
	}
	*len = (int)n;
	int w = wcwidth(wc);
	return w < 0 ? 1 : w;
}

/* A line being laid out: text appended up to width columns. */
struct out {
	char *buf;
	size_t len;
	int col, width;
};

/* The first len bytes of s (up to a NUL), as many as fit. */
static void put_len(struct out *o, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end && *p && o->col < o->width) {
		int n, w = cp_width(p, &n);
		if (o->col + w > o->width || p + n > end)
			break;
		memcpy(o->buf + o->len, p, (size_t)n);
		o->len += (size_t)n;
		o->col += w;
		p += n;
	}
	o->buf[o->len] = '\0';
}

static void put(struct out *o, const char *s)
{
	put_len(o, s, strlen(s));
}

/* s in a field of w columns: cut, or padded with spaces; right-aligned when
 * right. */
static void field(struct out *o, const char *s, int w, bool right)
{
	int end = o->col + w > o->width ? o->width : o->col + w;
	struct out probe = { .buf = (char[ATTACH_MAX_WIDTH * 4 + 1]){ 0 }, .width = w };
	put(&probe, s);
	if (right)
		while (o->col + probe.col < end)
			put(o, " ");
	int keep = o->width;
	o->width = end;
	put(o, s);
	o->width = keep;
	while (o->col < end)
		put(o, " ");
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(o, tmp);
}

static struct out line(struct attach_screen *scr, int y, enum attach_attr attr)
{
	struct attach_line *l = &scr->lines[y];
	l->attr = attr;
	l->text[0] = '\0';
	return (struct out){ .buf = l->text, .width = scr->width };
}

/* s on up to n lines from y, broken between words (the lines after the
 * first indented two columns; the last cut where it must); returns the line
 * after the last one written. */
static int put_wrapped(struct attach_screen *scr, int y, enum attach_attr attr, const char *s, int n)
{
	const char *first = s;
	for (; *s && n > 0; n--) {
		struct out o = line(scr, y++, attr);
		if (s != first)
			put(&o, "  ");
		/* whole words while they fit (at least one) */
		const unsigned char *p = (const unsigned char *)s, *end = p;
		int col = o.col;
		while (*p && n > 1) {
			int cols = 0;
			const unsigned char *q = p;
			while (*q == ' ')
				q++, cols++;
			while (*q && *q != ' ') {
				int len;
				cols += cp_width(q, &len);
				q += len;
			}
			if (col + cols > o.width && end != (const unsigned char *)s)
				break;
			col += cols;
			p = end = q;
		}
		if (n == 1)
			end = p + strlen((const char *)p);
		put_len(&o, s, (size_t)(end - (const unsigned char *)s));
		s = (const char *)end;
		while (*s == ' ')
			s++;
	}
	return y;
}

static void bar(struct out *o, double value, double max, int w, bool ascii)
{
	int full = max > 0 ? (int)(value / max * w + 0.5) : 0;
	if (full > w)
		full = w;
	put(o, "[");
	for (int i = 0; i < w; i++)
		put(o, i < full ? (ascii ? "#" : "\u2588") : (ascii ? "." : "\u00b7"));
	put(o, "]");
}

static const char *const sort_names[ATTACH_SORT_COUNT] = { "own", "total", "name" };

/* A level glyph for share (0 to 1): nine steps. */
static const char *level(double share, bool ascii)
{
	static const char *const utf8[] = { " ",      "\u2581", "\u2582", "\u2583", "\u2584",
		                            "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char *const plain[] = { " ", ".", ":", "-", "=", "+", "*", "#", "@" };
	int i = share <= 0 ? 0 : (int)(share * 8 + 0.999);
	if (i > 8)
		i = 8;
	if (i == 0 && share > 0)
		i = 1;
	return ascii ? plain[i] : utf8[i];
}

/* A core's bar of w cells: the target's share (full blocks), the rest of
 * the machine's busy share (shaded), idle (dots). */
static void core_bar(struct out *o, const struct attach_core_row *c, int w, bool ascii)
{
	double busy = c->busy < c->target ? c->target : c->busy;
	int target = (int)(c->target * w + 0.5), all = (int)(busy * w + 0.5);
	if (target > w)
		target = w;
	if (all > w)
		all = w;
	put(o, "[");
	for (int i = 0; i < w; i++)
		put(o, i < target ? (ascii ? "#" : "\u2588")
		       : i < all  ? (ascii ? ":" : "\u2592")
		                  : (ascii ? "." : "\u00b7"));
	put(o, "]");
}

static int digits(long n)
{
	int d = 1;
	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* The cores from line y: a bar each on one or two lines when they fit,
 * else a busy line and a target line with a level glyph per core (or per
 * group of cores). Returns the next line. */
static int cores_lines(const struct attach_view *v, struct attach_screen *scr, int y)
{
	const int width = scr->width;
	const size_t n = v->ncores;
	if (!n)
		return y;
	const int lw = digits((long)n - 1);
	const int fixed = lw + 2 + 5; /* "N[" "]" " 100%" */
	size_t per_line = (size_t)((width + 1) / (fixed + 10 + 1));
	if (per_line && n <= 2 * per_line) {
		size_t lines = n <= per_line ? 1 : 2;
		size_t cells = (n + lines - 1) / lines;
		int w = (int)((size_t)(width + 1) / cells) - fixed - 1;
		if (w > 30)
			w = 30;
		for (size_t l = 0; l < lines; l++) {
			struct out o = line(scr, y++, ATTACH_ATTR_HEADER);
			for (size_t i = l * cells; i < n && i < (l + 1) * cells; i++) {
				const struct attach_core_row *c = &v->core_rows[i];
				putf(&o, "%s%*d", i > l * cells ? " " : "", lw, c->cpu);
				core_bar(&o, c, w, v->ascii);
				putf(&o, "%4.0f%%", c->target * 100);
			}
		}
		return y;
	}
	/* compact: a glyph per core, or per group of them */
	const int label = 12;
	size_t room = width > label + 1 ? (size_t)(width - label) : 1;
	size_t group = (n + room - 1) / room;
	for (int row = 0; row < 2; row++) {
		struct out o = line(scr, y++, ATTACH_ATTR_HEADER);
		char head[32];
		if (row == 0)
			snprintf(head, sizeof(head), "busy 0-%zu", n - 1);
		else if (group > 1)
			snprintf(head, sizeof(head), "target (%zu/c)", group);
		else
			snprintf(head, sizeof(head), "target");
		field(&o, head, label, false);
		for (size_t i = 0; i < n; i += group) {
			double sum = 0;
			size_t k = 0;
			for (; k < group && i + k < n; k++) {
				const struct attach_core_row *c = &v->core_rows[i + k];
				sum += row == 0 ? (c->busy < c->target ? c->target : c->busy) : c->target;
			}
			put(&o, level(sum / (double)k, v->ascii));
		}
	}
	return y;
}

struct kind_share {
	int kind;
	double value;
};

static int cmp_kinds(const void *x, const void *y)
{
	const struct kind_share *a = x, *b = y;
	if (a->value != b->value)
		return a->value > b->value ? -1 : 1;
	return a->kind - b->kind;
}

/* Returns the first line after the header. */
static int header(const struct attach_view *v, const struct attach_ui *ui, struct attach_screen *scr)
{
	struct out o = line(scr, 0, ATTACH_ATTR_HEADER);
	putf(&o, "ftprof attach  %s", v->title);
	o = line(scr, 1, ATTACH_ATTR_HEADER);
	putf(&o, "%s  %.0fs  %.1f/%g Hz  torn %llu  missed %llu", v->python, v->elapsed_s, v->rate,
	     v->rate_asked, (unsigned long long)v->torn, (unsigned long long)v->missed);
	if (v->failed)
		putf(&o, "  failed %llu", (unsigned long long)v->failed);
	if (ui->paused)
		put(&o, "  [PAUSED]");
	if (!v->oncpu) {
		o = line(scr, 2, ATTACH_ATTR_HEADER);
		putf(&o, "parallelism %.2f", v->effective);
		if (v->cores)
			putf(&o, " of %ld cores ", v->cores);
		else
			put(&o, " ");
		bar(&o, v->effective, v->cores ? (double)v->cores : 1.0, scr->width >= 100 ? 20 : 10,
		    v->ascii);
		putf(&o, "  python %.2f", v->python_par);
		if (v->gil_build)
			putf(&o, "  GIL busy %.0f%%", v->gil_busy * 100);
		o = line(scr, 3, ATTACH_ATTR_HEADER);
		put(&o, v->oncpu_note);
		return 4;
	}
	o = line(scr, 2, ATTACH_ATTR_HEADER);
	putf(&o, "CPU target %.0f%%", v->target_cpu * 100);
	if (v->machine_cpu >= 0)
		putf(&o, "  machine %.0f%%", v->machine_cpu * 100);
	if (v->cores)
		putf(&o, "  of %ld cores (%ld%%)", v->cores, v->cores * 100);
	if (v->gil_build)
		putf(&o, "  GIL busy %.0f%%", v->gil_busy * 100);
	if (v->ticks_lost)
		putf(&o, "  ticks lost %llu", (unsigned long long)v->ticks_lost);
	o = line(scr, 3, ATTACH_ATTR_HEADER);
	putf(&o, "parallelism %.2f ", v->target_cpu);
	bar(&o, v->target_cpu, v->cores ? (double)v->cores : 1.0, scr->width >= 100 ? 20 : 10, v->ascii);
	struct kind_share k[FTP_CPU_KIND_COUNT];
	for (int i = 0; i < FTP_CPU_KIND_COUNT; i++)
		k[i] = (struct kind_share){ i, v->kinds[i] };
	qsort(k, FTP_CPU_KIND_COUNT, sizeof(k[0]), cmp_kinds);
	for (int i = 0; i < FTP_CPU_KIND_COUNT && k[i].value >= 0.005; i++)
		putf(&o, " %s %.2f", ftp_cpu_kind_name((enum ftp_cpu_kind)k[i].kind), k[i].value);
	return cores_lines(v, scr, 4);
}

static void tabs(const struct attach_view *v, const struct attach_ui *ui, struct attach_screen *scr, int y)
{
	static const char *const names[ATTACH_PANELS] = { "1 Threads", "2 Functions", "3 Locks",
		                                          "4 Refcount" };
	struct out o = line(scr, y, ATTACH_ATTR_TABS);
	for (int i = 0; i < ATTACH_PANELS; i++)
		putf(&o, i == (int)ui->panel ? "[%s]" : " %s ", names[i]);
	if (v->thread)
		putf(&o, " thread %s", v->thread_label);
	if (ui->panel == ATTACH_FUNCTIONS)
		putf(&o, " %s by %s, %llu samples", v->by_line ? "lines" : "functions", sort_names[v->sort],
		     (unsigned long long)v->function_samples);
}

/* Clamps the panel's selection to n rows and scrolls it into rows shown. */
static void scroll(struct attach_ui *ui, size_t n, int shown)
{
	int *sel = &ui->sel[ui->panel], *top = &ui->top[ui->panel];
	if (*sel >= (int)n)
		*sel = n ? (int)n - 1 : 0;
	if (*sel < 0)
		*sel = 0;
	if (shown < 1)
		shown = 1;
	if (*sel < *top)
		*top = *sel;
	if (*sel >= *top + shown)
		*top = *sel - shown + 1;
	if (*top > 0 && (int)n - *top < shown)
		*top = (int)n - shown > 0 ? (int)n - shown : 0;
}

static void threads_panel(const struct attach_view *v, struct attach_ui *ui, struct attach_screen *scr,
                          int y0, int y1, char *status, size_t status_len)
{
	const int w = scr->width;
	const int namew = w >= 120 ? 24 : w >= 100 ? 18 : 14;
	struct out o = line(scr, y0, ATTACH_ATTR_COLUMNS);
	field(&o, "TID", 7, true);
	put(&o, " ");
	field(&o, "NAME", namew, false);
	put(&o, " ");
	field(&o, "STATE", 8, false);
	field(&o, "CPU%", 4, true);
	field(&o, "CPU", 4, true);
	put(&o, " ");
	field(&o, "LAST 10s", ATTACH_HISTORY, false);
	put(&o, " WHERE / WAITING ON");
	int rows = y1 - y0 - 1;
	scroll(ui, v->nthreads, rows);
	for (int i = 0; i < rows && ui->top[ATTACH_THREADS] + i < (int)v->nthreads; i++) {
		int idx = ui->top[ATTACH_THREADS] + i;
		const struct attach_thread_row *r = &v->threads[idx];
		bool sel = idx == ui->sel[ATTACH_THREADS];
		o = line(scr, y0 + 1 + i, sel ? ATTACH_ATTR_SELECTED : ATTACH_ATTR_NORMAL);
		char num[32];
		snprintf(num, sizeof(num), "%d", (int)r->tid);
		field(&o, num, 7, true);
		put(&o, " ");
		field(&o, r->name, namew, false);
		put(&o, " ");
		field(&o, ftp_state_name(r->state), 8, false);
		snprintf(num, sizeof(num), "%.0f", r->cpu * 100);
		field(&o, num, 4, true);
		if (r->last_cpu >= 0)
			snprintf(num, sizeof(num), "%d", r->last_cpu);
		else
			snprintf(num, sizeof(num), "-");
		field(&o, num, 4, true);
		put(&o, " ");
		field(&o, r->history, ATTACH_HISTORY, false);
		put(&o, " ");
		if (r->wait[0]) {
			put(&o, w >= 100 ? r->wait : r->wait_short); /* the address: in the status line */
			put(&o, r->where[0] ? " at " : "");
		}
		put(&o, r->where);
		if (sel)
			snprintf(status, status_len, "%s%s%s%s%s", r->wait, r->wait[0] ? " " : "", r->file,
			         r->file[0] ? "  " : "", "states:");
		if (sel) {
			size_t off = strlen(status);
			for (int s = 0; s < FTP_STATE_COUNT && off < status_len; s++)
				if (r->shares[s] >= 0.005)
					off += (size_t)snprintf(status + off, status_len - off, " %s %.0f%%",
					                        ftp_state_name((enum ftp_state)s),
					                        r->shares[s] * 100);
		}
	}
	if (!v->nthreads) {
		o = line(scr, y0 + 1, ATTACH_ATTR_NORMAL);
		put(&o, "  (no Python thread seen yet)");
	}
}

static void functions_panel(const struct attach_view *v, struct attach_ui *ui, struct attach_screen *scr,
                            int y0, int y1, char *status, size_t status_len)
{
	const int w = scr->width;
	const int fnw = w >= 120 ? 40 : w >= 100 ? 32 : 28;
	struct out o = line(scr, y0, ATTACH_ATTR_COLUMNS);
	field(&o, v->sort == ATTACH_SORT_OWN ? "*OWN%" : "OWN%", 6, true);
	field(&o, v->sort == ATTACH_SORT_TOTAL ? "*TOTAL%" : "TOTAL%", 8, true);
	put(&o, "  ");
	field(&o, v->sort == ATTACH_SORT_NAME ? "*FUNCTION" : "FUNCTION", fnw, false);
	put(&o, " ");
	put(&o, v->by_line ? "FILE:LINE" : "FILE:FIRST LINE");
	int rows = y1 - y0 - 1;
	scroll(ui, v->nfunctions, rows);
	for (int i = 0; i < rows && ui->top[ATTACH_FUNCTIONS] + i < (int)v->nfunctions; i++) {
		int idx = ui->top[ATTACH_FUNCTIONS] + i;
		const struct attach_function_row *r = &v->functions[idx];
		bool sel = idx == ui->sel[ATTACH_FUNCTIONS];
		o = line(scr, y0 + 1 + i, sel ? ATTACH_ATTR_SELECTED : ATTACH_ATTR_NORMAL);
		char num[32];
		snprintf(num, sizeof(num), "%.1f", r->own_share * 100);
		field(&o, num, 6, true);
		snprintf(num, sizeof(num), "%.1f", r->total_share * 100);
		field(&o, num, 8, true);
		put(&o, "  ");
		field(&o, r->function, fnw, false);
		put(&o, " ");
		putf(&o, r->line >= 0 ? "%s:%d" : "%s", ftp_base_name(r->file), r->line);
		if (sel)
			snprintf(status, status_len, "%s  %s:%d  own %llu, total %llu samples", r->function,
			         r->file, r->line, (unsigned long long)r->own, (unsigned long long)r->total);
	}
	if (!v->nfunctions) {
		o = line(scr, y0 + 1, ATTACH_ATTR_NORMAL);
		if (v->thread)
			putf(&o, "  (no active sample of thread %s in the window; t shows every thread)",
			     v->thread_label);
		else
			put(&o, "  (no active sample yet)");
	}
}

static void locks_panel(const struct attach_view *v, struct attach_ui *ui, struct attach_screen *scr, int y0,
                        int y1, char *status, size_t status_len)
{
	const int waitw = scr->width >= 120 ? 36 : scr->width >= 100 ? 28 : 22;
	struct out o = line(scr, y0, ATTACH_ATTR_COLUMNS);
	field(&o, "KIND", 10, false);
	put(&o, " ");
	field(&o, "ADDRESS", 14, false);
	field(&o, "NOW", 4, true);
	field(&o, "WAIT s", 8, true);
	put(&o, "  ");
	field(&o, "WAITING AT", waitw, false);
	put(&o, " HOLDER");
	int rows = y1 - y0 - 1;
	scroll(ui, v->nlocks, rows);
	for (int i = 0; i < rows && ui->top[ATTACH_LOCKS] + i < (int)v->nlocks; i++) {
		int idx = ui->top[ATTACH_LOCKS] + i;
		const struct attach_lock_row *r = &v->locks[idx];
		bool sel = idx == ui->sel[ATTACH_LOCKS];
		o = line(scr, y0 + 1 + i, sel ? ATTACH_ATTR_SELECTED : ATTACH_ATTR_NORMAL);
		char num[48];
		field(&o, r->kind == FTP_WAIT_NONE ? "?" : ftp_wait_kind_name(r->kind), 10, false);
		put(&o, " ");
		snprintf(num, sizeof(num), r->address ? "0x%llx" : "?", (unsigned long long)r->address);
		field(&o, num, 14, false);
		snprintf(num, sizeof(num), "%u", r->waiters);
		field(&o, num, 4, true);
		snprintf(num, sizeof(num), "%.2f", r->wait_s);
		field(&o, num, 8, true);
		put(&o, "  ");
		field(&o, r->waiting, waitw, false);
		put(&o, " ");
		put(&o, r->holder);
		if (sel)
			snprintf(status, status_len, "%s%s%s waiting at %s; held by %s",
			         ftp_wait_kind_name(r->kind), r->type[0] ? " of " : "", r->type,
			         r->waiting[0] ? r->waiting : "?", r->holder[0] ? r->holder : "?");
	}
	if (!v->nlocks) {
		o = line(scr, y0 + 1, ATTACH_ATTR_NORMAL);
		put(&o, "  (no contended lock seen)");
	}
}

static void refcount_panel(const struct attach_view *v, struct attach_ui *ui, struct attach_screen *scr,
                           int y0, int y1, char *status, size_t status_len)
{
	const int typew = scr->width >= 120 ? 32 : scr->width >= 100 ? 24 : 20;
	struct out o = line(scr, y0, ATTACH_ATTR_COLUMNS);
	field(&o, "TYPE (OBJECT)", typew, false);
	field(&o, "OBJECTS", 8, true);
	field(&o, "SHARE%", 7, true);
	field(&o, "TICKS", 7, true);
	put(&o, "  TOP LINE");
	int y = y0 + 1;
	if (v->refcount_note[0]) {
		o = line(scr, y++, ATTACH_ATTR_NORMAL);
		putf(&o, "  (%s)", v->refcount_note);
	}
	int rows = y1 - y;
	scroll(ui, v->nrefcount, rows);
	for (int i = 0; i < rows && ui->top[ATTACH_REFCOUNT] + i < (int)v->nrefcount; i++) {
		int idx = ui->top[ATTACH_REFCOUNT] + i;
		const struct attach_refcount_row *r = &v->refcount[idx];
		bool sel = idx == ui->sel[ATTACH_REFCOUNT];
		o = line(scr, y + i, sel ? ATTACH_ATTR_SELECTED : ATTACH_ATTR_NORMAL);
		char num[48], what[200];
		/* the type, and the short name of its object seen most */
		snprintf(what, sizeof(what), "%s%s%s", r->type, r->name[0] ? " " : "", r->name);
		field(&o, what, typew, false);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r->objects);
		field(&o, num, 8, true);
		snprintf(num, sizeof(num), "%.1f", r->share * 100);
		field(&o, num, 7, true);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)r->samples);
		field(&o, num, 7, true);
		put(&o, "  ");
		put(&o, r->where[0] ? r->where : "?");
		if (sel)
			snprintf(status, status_len,
			         "%s: %llu objects, most seen 0x%llx%s%s; top line %s%s%s", r->type,
			         (unsigned long long)r->objects, (unsigned long long)r->address,
			         r->name[0] ? " " : "", r->name, r->where[0] ? r->where : "?",
			         r->file[0] ? " in " : "", r->file);
	}
}

static void help(struct attach_screen *scr, int y0, int y1)
{
	static const char *const text[] = {
		"Keys",
		"  q            quit (the target runs on as before)",
		"  p, space     pause the display (sampling goes on)",
		"  Tab, 1 - 4   threads, functions, locks, refcount",
		"  s, < >       sort functions: own, total, name (next, previous)",
		"  l            functions or lines",
		"  t            functions of the selected thread only; t again: all",
		"  r            reset every count",
		"  j k, arrows  move; PgUp PgDn, g G (Home End) first and last",
		"  ?            this help (any key closes it)",
		"History letters: R running  N native  L lock  W wait  G gil",
		"  I io  S sleep  T stop-the-world  C gc  r runnable  ? unknown",
	};
	for (int i = 0; i < (int)(sizeof(text) / sizeof(text[0])) && y0 + i < y1; i++) {
		struct out o = line(scr, y0 + i, i ? ATTACH_ATTR_NORMAL : ATTACH_ATTR_COLUMNS);
		put(&o, text[i]);
	}
}

void attach_render(const struct attach_view *v, struct attach_ui *ui, int width, int height,
                   struct attach_screen *scr)
{
	scr->width = width < 1 ? 1 : width > ATTACH_MAX_WIDTH ? ATTACH_MAX_WIDTH : width;
	scr->height = height < 1 ? 1 : height > ATTACH_MAX_HEIGHT ? ATTACH_MAX_HEIGHT : height;
	for (int y = 0; y < scr->height; y++)
		line(scr, y, ATTACH_ATTR_NORMAL);
	if (scr->height < 12) {
		struct out o = line(scr, 0, ATTACH_ATTR_ALERT);
		put(&o, "ftprof attach: the terminal is too small");
		return;
	}
	int y = header(v, ui, scr);
	if (v->deadlock[0])
		y = put_wrapped(scr, y, ATTACH_ATTR_ALERT, v->deadlock, 3);
	if (v->ended[0]) {
		struct out o = line(scr, y++, ATTACH_ATTR_ALERT);
		putf(&o, "%s: the figures are the last ones; q quits", v->ended);
	}
	tabs(v, ui, scr, y++);
	char status[1024] = "";
	const int last = scr->height - 1;
	if (v->nthreads) {
		int sel = ui->sel[ATTACH_THREADS];
		ui->selected = v->threads[sel < 0                   ? 0
		                          : sel >= (int)v->nthreads ? (int)v->nthreads - 1
		                                                    : sel]
		                       .tid;
	} else {
		ui->selected = 0;
	}
	if (ui->help)
		help(scr, y, last);
	else if (ui->panel == ATTACH_THREADS)
		threads_panel(v, ui, scr, y, last, status, sizeof(status));
	else if (ui->panel == ATTACH_FUNCTIONS)
		functions_panel(v, ui, scr, y, last, status, sizeof(status));
	else if (ui->panel == ATTACH_LOCKS)
		locks_panel(v, ui, scr, y, last, status, sizeof(status));
	else
		refcount_panel(v, ui, scr, y, last, status, sizeof(status));
	struct out o = line(scr, last, ATTACH_ATTR_STATUS);
	if (status[0])
		put(&o, status);
	else
		put(&o, "q quit  p pause  Tab panels  s < > sort  l lines  t thread  r reset  ? help");
}
