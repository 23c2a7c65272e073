/* SPDX-License-Identifier: MIT */
/* The Firefox Profiler's processed profile format (its version
 * GECKO_PROCESSED_VERSION, docs/record-formats.md): one thread track per
 * thread with its samples in time order, each sample's category its state
 * (the activity graph's colour) and its CPU time since the thread's last
 * sample (threadCPUDelta); every thread's states as interval markers, and
 * what a thread waits on (the lock, its holder) as markers of their own.
 * Every sample of every state is kept until the end, then written. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "ftprof/sample.h"
#include "ftprof/util.h"
#include "strtab.h"
#include "writers.h"

/* The profiler's src/app-logic/constants.ts: PROCESSED_PROFILE_VERSION and
 * GECKO_PROFILE_VERSION of the release whose types tests/gecko/ derives its
 * schema from. The profiler upgrades older versions when it loads them. */
#define GECKO_PROCESSED_VERSION 70
#define GECKO_VERSION 36

/* Categories: a sample's is its state's; inner frames are Python or Native. */
enum {
	CAT_OTHER,
	CAT_PYTHON,
	CAT_NATIVE,
	CAT_LOCK,
	CAT_WAIT,
	CAT_GIL,
	CAT_IO,
	CAT_SLEEP,
	CAT_STW,
	CAT_GC,
	CAT_RUNNABLE,
	CAT_COUNT
};

static const struct {
	const char *name, *color; /* a CategoryColor of the profiler */
} categories[CAT_COUNT] = {
	[CAT_OTHER] = { "Other", "grey" },
	[CAT_PYTHON] = { "Python", "yellow" },
	[CAT_NATIVE] = { "Native", "blue" },
	[CAT_LOCK] = { "Lock", "red" },
	[CAT_WAIT] = { "Wait", "lightblue" },
	[CAT_GIL] = { "GIL", "green" },
	[CAT_IO] = { "IO", "purple" },
	[CAT_SLEEP] = { "Idle", "transparent" },
	[CAT_STW] = { "Stop-the-world", "magenta" },
	[CAT_GC] = { "GC", "orange" },
	[CAT_RUNNABLE] = { "Runnable", "brown" },
};

static const uint8_t state_category[FTP_STATE_COUNT] = {
	[FTP_STATE_UNKNOWN] = CAT_OTHER, [FTP_STATE_RUNNING] = CAT_PYTHON,    [FTP_STATE_NATIVE] = CAT_NATIVE,
	[FTP_STATE_LOCK] = CAT_LOCK,     [FTP_STATE_WAIT] = CAT_WAIT,         [FTP_STATE_GIL] = CAT_GIL,
	[FTP_STATE_IO] = CAT_IO,         [FTP_STATE_SLEEP] = CAT_SLEEP,       [FTP_STATE_STW] = CAT_STW,
	[FTP_STATE_GC] = CAT_GC,         [FTP_STATE_RUNNABLE] = CAT_RUNNABLE,
};

struct gsample {
	uint64_t time_ns;
	int32_t stack;  /* -1: none (torn, or no Python frame) */
	int64_t cpu_us; /* CPU time since the thread's last sample; -1 unknown */
};

/* An interval: a state, or a wait on one thing held by one holder. */
struct gmark {
	uint64_t start_ns, end_ns;
	bool wait; /* a LockWait marker, else a ThreadState one */
	enum ftp_state state;
	enum ftp_wait_kind kind;
	enum ftp_holder_how how;
	uint64_t address;
	pid_t holder;
	uint32_t type; /* the object's type: a string id, 0 none */
};

struct gthread {
	pid_t tid;
	char *name; /* the last one seen, NULL if none */
	bool is_main;
	struct gsample *samples;
	size_t nsamples, samples_cap;
	struct gmark *marks;
	size_t nmarks, marks_cap;
	long state_mark, wait_mark; /* the open ones, -1 none */
	uint64_t last_ns;
	double last_weight;
};

struct gstack {
	int32_t frame, prefix; /* a frame row; the prefix stack, -1 for a root */
};

struct gframe {
	uint32_t pframe; /* the profile's frame id */
	uint8_t category;
};

struct writer_stream {
	struct gthread *threads;
	size_t nthreads, threads_cap;
	struct ftp_hindex thread_ix;
	struct gstack *stacks;
	size_t nstacks, stacks_cap;
	struct ftp_hindex stack_ix;
	struct gframe *frames;
	size_t nframes, frames_cap;
	struct ftp_hindex frame_ix;
	uint8_t *frame_cat; /* by profile frame id: CAT_PYTHON or CAT_NATIVE + 1, 0 unknown */
	size_t frame_cat_cap;
	struct strtab strs; /* stringArray: index = id - 1 */
	uint64_t first_ns;
};

/* ---- tables ------------------------------------------------------------ */

static uint64_t thread_hash(const void *ctx, size_t i)
{
	return ftp_hash_mix(0, (uint64_t)((const struct writer_stream *)ctx)->threads[i].tid);
}

static bool thread_same(const void *ctx, uint32_t i, const void *key)
{
	return ((const struct writer_stream *)ctx)->threads[i].tid == *(const pid_t *)key;
}

static struct gthread *thread_for(struct writer_stream *st, pid_t tid)
{
	uint64_t h = ftp_hash_mix(0, (uint64_t)tid);
	long at = ftp_hindex_get(&st->thread_ix, h, thread_same, st, &tid);
	if (at >= 0)
		return &st->threads[at];
	if (ftp_hindex_reserve(&st->thread_ix, st->nthreads, 16, thread_hash, st) < 0 ||
	    ftp_grow((void **)&st->threads, &st->threads_cap, st->nthreads + 1, sizeof(*st->threads), 16) < 0)
		return NULL;
	st->threads[st->nthreads] = (struct gthread){ .tid = tid, .state_mark = -1, .wait_mark = -1 };
	*ftp_hindex_find(&st->thread_ix, h, thread_same, st, &tid) = (uint32_t)st->nthreads + 1;
	return &st->threads[st->nthreads++];
}

static uint64_t stack_hash_of(const struct gstack *s)
{
	return ftp_hash_mix(ftp_hash_mix(0, (uint32_t)s->frame), (uint32_t)s->prefix);
}

static uint64_t stack_hash(const void *ctx, size_t i)
{
	return stack_hash_of(&((const struct writer_stream *)ctx)->stacks[i]);
}

static bool stack_same(const void *ctx, uint32_t i, const void *key)
{
	const struct gstack *a = &((const struct writer_stream *)ctx)->stacks[i], *b = key;
	return a->frame == b->frame && a->prefix == b->prefix;
}

/* The stack row of frame row `frame` under `prefix`, or -1 when out of memory. */
static int32_t stack_id(struct writer_stream *st, int32_t frame, int32_t prefix)
{
	struct gstack k = { frame, prefix };
	uint64_t h = stack_hash_of(&k);
	long at = ftp_hindex_get(&st->stack_ix, h, stack_same, st, &k);
	if (at >= 0)
		return (int32_t)at;
	if (st->nstacks >= INT32_MAX ||
	    ftp_hindex_reserve(&st->stack_ix, st->nstacks, 1024, stack_hash, st) < 0 ||
	    ftp_grow((void **)&st->stacks, &st->stacks_cap, st->nstacks + 1, sizeof(*st->stacks), 1024) < 0)
		return -1;
	st->stacks[st->nstacks] = k;
	*ftp_hindex_find(&st->stack_ix, h, stack_same, st, &k) = (uint32_t)st->nstacks + 1;
	return (int32_t)st->nstacks++;
}

static uint64_t frame_hash_of(const struct gframe *f)
{
	return ftp_hash_mix(ftp_hash_mix(0, f->pframe), f->category);
}

static uint64_t frame_hash(const void *ctx, size_t i)
{
	return frame_hash_of(&((const struct writer_stream *)ctx)->frames[i]);
}

static bool frame_same(const void *ctx, uint32_t i, const void *key)
{
	const struct gframe *a = &((const struct writer_stream *)ctx)->frames[i], *b = key;
	return a->pframe == b->pframe && a->category == b->category;
}

/* The frame row of profile frame pframe in category, or -1 when out of memory. */
static int32_t frame_id(struct writer_stream *st, uint32_t pframe, uint8_t category)
{
	struct gframe k = { pframe, category };
	uint64_t h = frame_hash_of(&k);
	long at = ftp_hindex_get(&st->frame_ix, h, frame_same, st, &k);
	if (at >= 0)
		return (int32_t)at;
	if (st->nframes >= INT32_MAX ||
	    ftp_hindex_reserve(&st->frame_ix, st->nframes, 1024, frame_hash, st) < 0 ||
	    ftp_grow((void **)&st->frames, &st->frames_cap, st->nframes + 1, sizeof(*st->frames), 1024) < 0)
		return -1;
	st->frames[st->nframes] = k;
	*ftp_hindex_find(&st->frame_ix, h, frame_same, st, &k) = (uint32_t)st->nframes + 1;
	return (int32_t)st->nframes++;
}

/* An inner frame's category: Python, or Native for the rest. -1: no memory. */
static int frame_category(struct writer_stream *st, const struct profile *pr, uint32_t id)
{
	size_t cap = st->frame_cat_cap;
	if (ftp_grow((void **)&st->frame_cat, &st->frame_cat_cap, (size_t)id + 1, 1, 1024) < 0)
		return -1;
	memset(st->frame_cat + cap, 0, st->frame_cat_cap - cap);
	if (!st->frame_cat[id]) {
		struct profile_frame fr;
		profile_frame(pr, id, &fr);
		st->frame_cat[id] = 1 + (fr.kind == PROFILE_FRAME_PYTHON ? CAT_PYTHON : CAT_NATIVE);
	}
	return st->frame_cat[id] - 1;
}

static struct gmark *mark_new(struct gthread *t, long *open, uint64_t start)
{
	if (ftp_grow((void **)&t->marks, &t->marks_cap, t->nmarks + 1, sizeof(*t->marks), 64) < 0)
		return NULL;
	*open = (long)t->nmarks;
	t->marks[t->nmarks] = (struct gmark){ .start_ns = start, .end_ns = start };
	return &t->marks[t->nmarks++];
}

/* ---- the stream -------------------------------------------------------- */

int gecko_begin(struct writer_stream **out, const struct profile *pr, FILE *f)
{
	(void)pr;
	(void)f;
	if (!(*out = calloc(1, sizeof(**out)))) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void gecko_end(struct writer_stream *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nthreads; i++) {
		free(st->threads[i].name);
		free(st->threads[i].samples);
		free(st->threads[i].marks);
	}
	free(st->threads);
	ftp_hindex_release(&st->thread_ix);
	free(st->stacks);
	ftp_hindex_release(&st->stack_ix);
	free(st->frames);
	ftp_hindex_release(&st->frame_ix);
	free(st->frame_cat);
	strtab_release(&st->strs);
	free(st);
}

/* The stack row of frames (outermost first), its innermost frame in the
 * state's category; -1 for no frames, -2 when out of memory. */
static int32_t sample_stack(struct writer_stream *st, const struct profile *pr, const uint32_t *frames,
                            unsigned n, uint8_t leaf_category)
{
	int32_t prefix = -1;
	for (unsigned i = 0; i < n; i++) {
		int cat = i + 1 == n ? leaf_category : frame_category(st, pr, frames[i]);
		int32_t fr = cat < 0 ? -1 : frame_id(st, frames[i], (uint8_t)cat);
		if (fr < 0 || (prefix = stack_id(st, fr, prefix)) < 0)
			return -2;
	}
	return prefix;
}

/* Ends or extends the thread's open markers at sample s. */
static int track_marks(struct writer_stream *st, struct gthread *t, const struct ftp_sample *s,
                       enum ftp_state state)
{
	struct gmark *m = t->state_mark >= 0 ? &t->marks[t->state_mark] : NULL;
	if (!m || m->state != state) {
		if (m)
			m->end_ns = s->time_ns;
		if (!(m = mark_new(t, &t->state_mark, s->time_ns)))
			return -1;
		m->state = state;
	}
	const struct ftp_wait *w = &s->wait;
	m = t->wait_mark >= 0 ? &t->marks[t->wait_mark] : NULL;
	if (m && m->kind == w->kind && m->address == w->address && m->holder == w->holder &&
	    m->how == w->holder_how && m->state == state)
		return 0;
	if (m) {
		m->end_ns = s->time_ns;
		t->wait_mark = -1;
	}
	if (w->kind == FTP_WAIT_NONE || (unsigned)w->kind >= FTP_WAIT_COUNT)
		return 0;
	uint32_t type = 0;
	if (w->type && strtab_intern(&st->strs, w->type, &type) < 0)
		return -1;
	if (!(m = mark_new(t, &t->wait_mark, s->time_ns)))
		return -1;
	*m = (struct gmark){ .start_ns = s->time_ns,
		             .end_ns = s->time_ns,
		             .wait = true,
		             .state = state,
		             .kind = w->kind,
		             .how = (unsigned)w->holder_how < FTP_HOLDER_COUNT ? w->holder_how
		                                                               : FTP_HOLDER_NONE,
		             .address = w->address,
		             .holder = w->holder,
		             .type = type };
	return 0;
}

int gecko_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
                 double weight)
{
	(void)f;
	const uint32_t *frames;
	struct profile_memo *memo;
	struct ftp_sample whole = *s;
	if (s->flags & FTP_SAMPLE_TORN)
		whole.nframes = 0; /* its state stands, its stack changed while read */
	enum ftp_state state = (unsigned)s->state < FTP_STATE_COUNT ? s->state : FTP_STATE_UNKNOWN;
	struct gthread *t = thread_for(st, s->tid);
	if (!t || profile_stack(pr, &whole, &frames, &memo) < 0)
		goto nomem;
	if (s->name && (!t->name || strcmp(t->name, s->name) != 0)) {
		char *name = strdup(s->name);
		if (!name)
			goto nomem;
		free(t->name);
		t->name = name;
	}
	t->is_main |= s->is_main;
	int32_t stack = sample_stack(st, pr, frames, whole.nframes, state_category[state]);
	if (stack < -1 ||
	    ftp_grow((void **)&t->samples, &t->samples_cap, t->nsamples + 1, sizeof(*t->samples), 256) < 0 ||
	    track_marks(st, t, s, state) < 0)
		goto nomem;
	int64_t cpu = -1;
	if (s->on_cpu == 0)
		cpu = 0;
	else if (s->on_cpu == 1)
		cpu = t->nsamples && s->time_ns > t->last_ns ? (int64_t)((s->time_ns - t->last_ns) / 1000)
		                                             : llround(weight * 1e6);
	t->samples[t->nsamples++] = (struct gsample){ s->time_ns, stack, cpu };
	t->last_ns = s->time_ns;
	t->last_weight = weight;
	if (!st->first_ns || s->time_ns < st->first_ns)
		st->first_ns = s->time_ns;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

/* ---- writing ----------------------------------------------------------- */

/* A string's index in stringArray; -1 when out of memory. */
static long str_index(struct writer_stream *st, const char *s)
{
	uint32_t id;
	return strtab_intern(&st->strs, s, &id) < 0 ? -1 : (long)id - 1;
}

/* Milliseconds from the first sample. */
static double ms(const struct writer_stream *st, uint64_t ns)
{
	return (double)(int64_t)(ns - st->first_ns) / 1e6;
}

static void put_meta(FILE *f, const struct profile_target *tg, uint64_t start_ns)
{
	fprintf(f, "{\"meta\": {\"interval\": %.6g, \"startTime\": %.3f, \"processType\": 0,\n",
	        1000 / tg->rate, (double)((int64_t)start_ns + tg->realtime_offset_ns) / 1e6);
	char product[128];
	snprintf(product, sizeof(product), "Python %s%s", tg->version,
	         tg->free_threaded ? " free-threaded" : "");
	fputs("  \"product\": ", f);
	ui_put_json_str(f, product);
	fprintf(f,
	        ", \"stackwalk\": 0, \"version\": %d, \"preprocessedProfileVersion\": %d,\n"
	        "  \"importedFrom\": \"ftprof " FTPROF_VERSION
	        "\", \"platform\": \"Linux\", \"symbolicated\": true,\n",
	        GECKO_VERSION, GECKO_PROCESSED_VERSION);
	if (tg->cores > 0)
		fprintf(f, "  \"logicalCPUs\": %d,\n", tg->cores);
	fputs("  \"sampleUnits\": {\"time\": \"ms\", \"eventDelay\": \"ms\", \"threadCPUDelta\": \"µs\"},\n"
	      "  \"categories\": [",
	      f);
	for (int i = 0; i < CAT_COUNT; i++)
		fprintf(f, "%s\n    {\"name\": \"%s\", \"color\": \"%s\", \"subcategories\": [\"Other\"]}",
		        i ? "," : "", categories[i].name, categories[i].color);
	fputs("],\n  \"markerSchema\": [\n"
	      "    {\"name\": \"ThreadState\", \"display\": [\"marker-chart\", \"marker-table\", "
	      "\"timeline-overview\"],\n"
	      "     \"tooltipLabel\": \"{marker.data.state}\", \"tableLabel\": \"{marker.data.state}\", "
	      "\"chartLabel\": \"{marker.data.state}\",\n"
	      "     \"description\": \"What the thread was doing: running, native, lock, wait, gil, io, "
	      "sleep, "
	      "stw, gc, runnable or unknown\",\n"
	      "     \"fields\": [{\"key\": \"state\", \"label\": \"State\", \"format\": \"string\"}]},\n"
	      "    {\"name\": \"LockWait\", \"display\": [\"marker-chart\", \"marker-table\"],\n"
	      "     \"tooltipLabel\": \"{marker.data.kind} {marker.data.address}\",\n"
	      "     \"tableLabel\": \"{marker.data.state}: {marker.data.kind} {marker.data.address} held by "
	      "{marker.data.holderName}\",\n"
	      "     \"chartLabel\": \"{marker.data.kind}\",\n"
	      "     \"description\": \"What a waiting thread waits on, and the thread that holds it\",\n"
	      "     \"fields\": [{\"key\": \"state\", \"label\": \"State\", \"format\": \"string\"},\n"
	      "                {\"key\": \"kind\", \"label\": \"Waits on\", \"format\": \"string\"},\n"
	      "                {\"key\": \"address\", \"label\": \"Address\", \"format\": \"string\"},\n"
	      "                {\"key\": \"objectType\", \"label\": \"Object type\", \"format\": "
	      "\"string\"},\n"
	      "                {\"key\": \"holder\", \"label\": \"Holder\", \"format\": \"tid\"},\n"
	      "                {\"key\": \"holderName\", \"label\": \"Holder's name\", \"format\": "
	      "\"string\"},\n"
	      "                {\"key\": \"holderHow\", \"label\": \"Holder found by\", \"format\": "
	      "\"string\"}]}]},\n"
	      " \"libs\": [],\n",
	      f);
}

static const struct gthread *thread_by_tid(const struct writer_stream *st, pid_t tid)
{
	long at = ftp_hindex_get(&st->thread_ix, ftp_hash_mix(0, (uint64_t)tid), thread_same, st, &tid);
	return at >= 0 ? &st->threads[at] : NULL;
}

static void put_mark_data(FILE *f, const struct writer_stream *st, const struct gmark *m)
{
	if (!m->wait) {
		fprintf(f, "{\"type\": \"ThreadState\", \"state\": \"%s\"}", ftp_state_name(m->state));
		return;
	}
	fprintf(f, "{\"type\": \"LockWait\", \"state\": \"%s\", \"kind\": \"%s\"", ftp_state_name(m->state),
	        ftp_wait_kind_name(m->kind));
	if (m->address)
		fprintf(f, ", \"address\": \"0x%llx\"", (unsigned long long)m->address);
	if (m->type) {
		fputs(", \"objectType\": ", f);
		ui_put_json_str(f, strtab_str(&st->strs, m->type));
	}
	if (m->holder) {
		const struct gthread *h = thread_by_tid(st, m->holder);
		fprintf(f, ", \"holder\": %d", (int)m->holder);
		if (h && h->name) {
			fputs(", \"holderName\": ", f);
			ui_put_json_str(f, h->name);
		}
		fprintf(f, ", \"holderHow\": \"%s\"", ftp_holder_how_name(m->how));
	}
	fputc('}', f);
}

/* A thread's markers, their names interned into the strings (-1: no memory). */
static int put_markers(FILE *f, struct writer_stream *st, const struct gthread *t)
{
	fputs("   \"markers\": {\"data\": [", f);
	for (size_t i = 0; i < t->nmarks; i++) {
		fputs(i ? ",\n     " : "\n     ", f);
		put_mark_data(f, st, &t->marks[i]);
	}
	fputs("],\n    \"name\": [", f);
	for (size_t i = 0; i < t->nmarks; i++) {
		const struct gmark *m = &t->marks[i];
		long id = str_index(st, m->wait ? ftp_wait_kind_name(m->kind) : ftp_state_name(m->state));
		if (id < 0)
			return -1;
		fprintf(f, i ? ", %ld" : "%ld", id);
	}
	fputs("],\n    \"startTime\": [", f);
	for (size_t i = 0; i < t->nmarks; i++)
		fprintf(f, i ? ", %.3f" : "%.3f", ms(st, t->marks[i].start_ns));
	fputs("],\n    \"endTime\": [", f);
	for (size_t i = 0; i < t->nmarks; i++)
		fprintf(f, i ? ", %.3f" : "%.3f", ms(st, t->marks[i].end_ns));
	fputs("],\n    \"phase\": [", f);
	for (size_t i = 0; i < t->nmarks; i++)
		fputs(i ? ", 1" : "1", f); /* an interval */
	fputs("],\n    \"category\": [", f);
	for (size_t i = 0; i < t->nmarks; i++)
		fprintf(f, i ? ", %d" : "%d", state_category[t->marks[i].state]);
	fprintf(f, "],\n    \"length\": %zu}}", t->nmarks);
	return 0;
}

static int put_thread(FILE *f, struct writer_stream *st, const struct profile_target *tg, struct gthread *t)
{
	/* the open intervals end where the thread's last sample does */
	uint64_t end = t->last_ns + (uint64_t)llround(t->last_weight * 1e9);
	if (t->state_mark >= 0)
		t->marks[t->state_mark].end_ns = end;
	if (t->wait_mark >= 0)
		t->marks[t->wait_mark].end_ns = end;
	t->state_mark = t->wait_mark = -1;
	char fallback[32];
	snprintf(fallback, sizeof(fallback), "Thread %d", (int)t->tid);
	fputs("  {\"name\": ", f);
	ui_put_json_str(f, t->name && *t->name ? t->name : fallback);
	fputs(", \"processName\": ", f);
	ui_put_json_str(f, tg->command);
	fprintf(f,
	        ",\n   \"processType\": \"default\", \"processStartupTime\": 0, \"processShutdownTime\": "
	        "null,\n"
	        "   \"registerTime\": %.3f, \"unregisterTime\": null, \"pausedRanges\": [],\n"
	        "   \"isMainThread\": %s, \"pid\": \"%d\", \"tid\": %d,\n",
	        t->nsamples ? ms(st, t->samples[0].time_ns) : 0.0, t->is_main ? "true" : "false",
	        (int)tg->pid, (int)t->tid);
	fputs("   \"samples\": {\"weight\": null, \"weightType\": \"samples\",\n    \"stack\": [", f);
	for (size_t i = 0; i < t->nsamples; i++) {
		if (t->samples[i].stack < 0)
			fputs(i ? ", null" : "null", f);
		else
			fprintf(f, i ? ", %d" : "%d", (int)t->samples[i].stack);
	}
	fputs("],\n    \"time\": [", f);
	for (size_t i = 0; i < t->nsamples; i++)
		fprintf(f, i ? ", %.3f" : "%.3f", ms(st, t->samples[i].time_ns));
	fputs("],\n    \"threadCPUDelta\": [", f);
	for (size_t i = 0; i < t->nsamples; i++) {
		if (t->samples[i].cpu_us < 0)
			fputs(i ? ", null" : "null", f);
		else
			fprintf(f, i ? ", %lld" : "%lld", (long long)t->samples[i].cpu_us);
	}
	fprintf(f, "],\n    \"length\": %zu},\n", t->nsamples);
	return put_markers(f, st, t);
}

/* The funcs of the frame rows: one per function, file and kind (a native
 * frame without a symbol: per address). */
struct gfunc {
	const char *name, *file;
	uint64_t ip;
	enum profile_frame_kind kind;
};

struct gfuncs {
	struct gfunc *v;
	size_t n, cap;
	struct ftp_hindex ix;
};

static uint64_t gfunc_hash_of(const struct gfunc *fn)
{
	return ftp_hash_mix(ftp_hash_mix(ftp_hash_str(0, fn->name), ftp_hash_str(0, fn->file)), fn->ip);
}

static uint64_t gfunc_hash(const void *ctx, size_t i)
{
	return gfunc_hash_of(&((const struct gfuncs *)ctx)->v[i]);
}

static bool gfunc_same(const void *ctx, uint32_t i, const void *key)
{
	const struct gfunc *a = &((const struct gfuncs *)ctx)->v[i], *b = key;
	/* the profile's strings are interned: one pointer per text */
	return a->name == b->name && a->file == b->file && a->ip == b->ip && a->kind == b->kind;
}

static long gfunc_id(struct gfuncs *fs, const struct gfunc *fn)
{
	uint64_t h = gfunc_hash_of(fn);
	long at = ftp_hindex_get(&fs->ix, h, gfunc_same, fs, fn);
	if (at >= 0)
		return at;
	if (ftp_hindex_reserve(&fs->ix, fs->n, 256, gfunc_hash, fs) < 0 ||
	    ftp_grow((void **)&fs->v, &fs->cap, fs->n + 1, sizeof(*fs->v), 256) < 0)
		return -1;
	fs->v[fs->n] = *fn;
	*ftp_hindex_find(&fs->ix, h, gfunc_same, fs, fn) = (uint32_t)fs->n + 1;
	return (long)fs->n++;
}

/* The shared tables: stacks, frames, funcs, sources, and last the strings. */
static int put_shared(FILE *f, struct writer_stream *st, const struct profile *pr)
{
	struct gfuncs fs = { 0 };
	long *func_of = calloc(st->nframes + 1, sizeof(*func_of));
	int ret = -1;
	if (!func_of)
		goto out;
	fputs(" \"shared\": {\n  \"stackTable\": {\"frame\": [", f);
	for (size_t i = 0; i < st->nstacks; i++)
		fprintf(f, i ? ", %d" : "%d", (int)st->stacks[i].frame);
	fputs("],\n   \"prefixOffset\": [", f);
	for (size_t i = 0; i < st->nstacks; i++) {
		int32_t p = st->stacks[i].prefix;
		fprintf(f, i ? ", %lld" : "%lld", p < 0 ? 0ll : (long long)i - p);
	}
	fprintf(f, "],\n   \"length\": %zu},\n", st->nstacks);

	for (size_t i = 0; i < st->nframes; i++) {
		struct profile_frame fr;
		profile_frame(pr, st->frames[i].pframe, &fr);
		struct gfunc fn = { .name = fr.function, .file = fr.file, .kind = fr.kind };
		if (fr.kind == PROFILE_FRAME_NATIVE && !fr.function)
			fn.ip = fr.ip;
		else if (fr.kind == PROFILE_FRAME_THREAD)
			fn.ip = (uint64_t)fr.tid, fn.file = NULL;
		if ((func_of[i] = gfunc_id(&fs, &fn)) < 0)
			goto out;
	}
	fputs("  \"frameTable\": {\"func\": [", f);
	for (size_t i = 0; i < st->nframes; i++)
		fprintf(f, i ? ", %ld" : "%ld", func_of[i]);
	fputs("],\n   \"category\": [", f);
	for (size_t i = 0; i < st->nframes; i++)
		fprintf(f, i ? ", %d" : "%d", st->frames[i].category);
	fputs("],\n   \"line\": [", f);
	for (size_t i = 0; i < st->nframes; i++) {
		struct profile_frame fr;
		profile_frame(pr, st->frames[i].pframe, &fr);
		if (fr.kind == PROFILE_FRAME_PYTHON && fr.line >= 0)
			fprintf(f, i ? ", %d" : "%d", fr.line);
		else
			fputs(i ? ", null" : "null", f);
	}
	/* the columns that say nothing here: one value for every frame */
	static const struct {
		const char *name, *value;
	} constant[] = { { "address", "-1" },        { "lib", "-1" },
		         { "inlineDepth", "0" },     { "subcategory", "0" },
		         { "nativeSymbol", "null" }, { "innerWindowID", "null" },
		         { "column", "null" },       { "originalLocation", "null" } };
	for (size_t c = 0; c < sizeof(constant) / sizeof(constant[0]); c++) {
		fprintf(f, "],\n   \"%s\": [", constant[c].name);
		for (size_t i = 0; i < st->nframes; i++)
			fprintf(f, i ? ", %s" : "%s", constant[c].value);
	}
	fprintf(f, "],\n   \"length\": %zu},\n", st->nframes);

	/* funcs: the name and the source (a file) of each, as string indexes */
	long *name = calloc(fs.n + 1, sizeof(*name)), *source = calloc(fs.n + 1, sizeof(*source));
	long *files = calloc(fs.n + 1, sizeof(*files)); /* the sources' file names */
	size_t nsources = 0;
	if (!name || !source || !files) {
		free(name);
		free(source);
		free(files);
		goto out;
	}
	for (size_t i = 0; i < fs.n; i++) {
		const struct gfunc *fn = &fs.v[i];
		char buf[64];
		const char *label = fn->name;
		if (fn->kind == PROFILE_FRAME_NATIVE && !label) {
			snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)fn->ip);
			label = buf;
		} else if (fn->kind == PROFILE_FRAME_THREAD) {
			snprintf(buf, sizeof(buf), "thread %llu", (unsigned long long)fn->ip);
			label = buf;
		} else if (!label) {
			label = "";
		}
		name[i] = str_index(st, label);
		source[i] = -1;
		if (fn->file && *fn->file) {
			long file = str_index(st, fn->file);
			size_t j = 0;
			while (j < nsources && files[j] != file)
				j++; /* files are few beside frames; sources are made once */
			if (j == nsources)
				files[nsources++] = file;
			source[i] = (long)j;
			if (file < 0)
				name[i] = -1;
		}
		if (name[i] < 0) {
			free(name);
			free(source);
			free(files);
			goto out;
		}
	}
	fputs("  \"funcTable\": {\"name\": [", f);
	for (size_t i = 0; i < fs.n; i++)
		fprintf(f, i ? ", %ld" : "%ld", name[i]);
	fputs("],\n   \"isJS\": [", f);
	for (size_t i = 0; i < fs.n; i++)
		fprintf(f, i ? ", %s" : "%s", fs.v[i].kind == PROFILE_FRAME_PYTHON ? "true" : "false");
	fputs("],\n   \"relevantForJS\": [", f);
	for (size_t i = 0; i < fs.n; i++)
		fputs(i ? ", false" : "false", f);
	fputs("],\n   \"resource\": [", f);
	for (size_t i = 0; i < fs.n; i++)
		fputs(i ? ", -1" : "-1", f);
	fputs("],\n   \"source\": [", f);
	for (size_t i = 0; i < fs.n; i++) {
		if (source[i] < 0)
			fputs(i ? ", null" : "null", f);
		else
			fprintf(f, i ? ", %ld" : "%ld", source[i]);
	}
	static const char *const func_nulls[] = { "lineNumber", "columnNumber", "originalLocation" };
	for (size_t c = 0; c < 3; c++) {
		fprintf(f, "],\n   \"%s\": [", func_nulls[c]);
		for (size_t i = 0; i < fs.n; i++)
			fputs(i ? ", null" : "null", f);
	}
	fprintf(f, "],\n   \"length\": %zu},\n", fs.n);
	fputs("  \"sources\": {\"filename\": [", f);
	for (size_t i = 0; i < nsources; i++)
		fprintf(f, i ? ", %ld" : "%ld", files[i]);
	static const struct {
		const char *name, *value;
	} source_cols[] = { { "id", "null" },
		            { "startLine", "1" },
		            { "startColumn", "1" },
		            { "sourceMapURL", "null" },
		            { "content", "null" } };
	for (size_t c = 0; c < sizeof(source_cols) / sizeof(source_cols[0]); c++) {
		fprintf(f, "],\n   \"%s\": [", source_cols[c].name);
		for (size_t i = 0; i < nsources; i++)
			fprintf(f, i ? ", %s" : "%s", source_cols[c].value);
	}
	fprintf(f, "],\n   \"length\": %zu},\n", nsources);
	free(name);
	free(source);
	free(files);
	fputs("  \"resourceTable\": {\"name\": [], \"host\": [], \"type\": [], \"length\": 0},\n"
	      "  \"nativeSymbols\": {\"libIndex\": [], \"address\": [], \"name\": [], \"functionSize\": [], "
	      "\"length\": 0},\n"
	      "  \"sourceLocationTable\": {\"source\": [], \"line\": [], \"column\": [], \"length\": 0},\n"
	      "  \"stringArray\": [",
	      f);
	for (size_t i = 0; i < st->strs.n; i++) {
		fputs(i ? ",\n   " : "\n   ", f);
		ui_put_json_str(f, st->strs.strs[i]);
	}
	fputs("]}}\n", f);
	ret = 0;
out:
	free(func_of);
	free(fs.v);
	ftp_hindex_release(&fs.ix);
	return ret;
}

int gecko_finish(struct writer_stream *st, const struct profile *pr, FILE *f)
{
	struct profile_target tg;
	profile_target(pr, &tg);
	put_meta(f, &tg, st->first_ns);
	fputs(" \"threads\": [\n", f);
	for (size_t i = 0; i < st->nthreads; i++) {
		if (i)
			fputs(",\n", f);
		if (put_thread(f, st, &tg, &st->threads[i]) < 0)
			goto nomem;
	}
	fputs("],\n", f);
	if (put_shared(f, st, pr) < 0)
		goto nomem;
	return writer_finish(f);
nomem:
	errno = ENOMEM;
	return -1;
}
