/* SPDX-License-Identifier: MIT */
/* pprof's profile.proto, gzip-compressed, as `go tool pprof`, Pyroscope and
 * Parca read it: samples of one stack, thread and state added up into one
 * (count, wall time and, when a sample was on a CPU, CPU time), labelled
 * with the thread's name, id and state; a location per frame, a function per
 * function and file (docs/record-formats.md). The encoder is protobuf.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "escape.h"
#include "ftprof/sample.h"
#include "ftprof/util.h"
#include "protobuf.h"
#include "strtab.h"
#include "writers.h"

/* profile.proto's field numbers (github.com/google/pprof, proto/profile.proto). */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	LOCATION_ID = 1,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

/* One pprof sample: every recorded sample of one stack, thread and state. */
struct psample {
	size_t off; /* its frame ids, outermost first, in frames[off..off+n) */
	unsigned n;
	pid_t tid;
	uint32_t name; /* string ids */
	uint32_t state;
	uint64_t count, wall_ns, cpu_ns;
};

struct psample_key {
	const uint32_t *frames;
	unsigned n;
	pid_t tid;
	uint32_t name, state;
};

/* A function: a name and file; a native one without a symbol by its address. */
struct pfunc {
	const char *name, *file; /* the profile's strings (NULL: none) */
	uint64_t ip;
};

struct writer_stream {
	struct strtab strs;                  /* the string table, "" first */
	uint32_t state_str[FTP_STATE_COUNT]; /* string id + 1, 0 until met */
	struct psample *samples;
	size_t nsamples, samples_cap;
	struct ftp_hindex sample_ix;
	uint32_t *frames; /* the samples' frame ids */
	size_t nframes, frames_cap;
	struct pfunc *funcs;
	size_t nfuncs, funcs_cap;
	struct ftp_hindex func_ix;
	uint64_t first_ns, last_ns;
	double last_weight;
	bool any_cpu;
};

/* The string table's index of s (copied the first time), or -1 when out of
 * memory: the table's ids less one, "" interned first. Strings from the
 * target go in escaped (escape.h): go tool pprof prints them to terminals. */
static long str_id(struct writer_stream *st, const char *s)
{
	bool plain = true;
	for (const unsigned char *c = (const unsigned char *)s; *c && plain; c++)
		plain = *c >= 0x20 && *c < 0x7f && *c != '\\';
	char *esc = NULL;
	if (!plain) {
		size_t len = 0;
		FILE *m = open_memstream(&esc, &len);
		if (!m)
			return -1;
		ui_put_escaped(m, s);
		if (fclose(m) != 0) {
			free(esc);
			return -1;
		}
	}
	uint32_t id;
	int ret = strtab_intern(&st->strs, esc ? esc : s, &id);
	free(esc);
	return ret < 0 ? -1 : (long)id - 1;
}

static uint64_t sample_hash_key(const struct psample_key *k)
{
	uint64_t h = ftp_hash_mix(ftp_hash_mix((uint64_t)k->tid, k->name), k->state);
	for (unsigned i = 0; i < k->n; i++)
		h = ftp_hash_mix(h, k->frames[i]);
	return ftp_hash_mix(h, k->n);
}

static uint64_t sample_hash(const void *ctx, size_t i)
{
	const struct writer_stream *st = ctx;
	const struct psample *p = &st->samples[i];
	struct psample_key k = { st->frames + p->off, p->n, p->tid, p->name, p->state };
	return sample_hash_key(&k);
}

static bool sample_same(const void *ctx, uint32_t i, const void *key)
{
	const struct writer_stream *st = ctx;
	const struct psample *p = &st->samples[i];
	const struct psample_key *k = key;
	return p->tid == k->tid && p->name == k->name && p->state == k->state && p->n == k->n &&
	       memcmp(st->frames + p->off, k->frames, k->n * sizeof(*k->frames)) == 0;
}

int pprof_begin(struct writer_stream **out, const struct profile *pr, FILE *f)
{
	(void)pr;
	(void)f;
	struct writer_stream *st = calloc(1, sizeof(*st));
	*out = st;
	if (!st || str_id(st, "") != 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void pprof_end(struct writer_stream *st)
{
	if (!st)
		return;
	strtab_release(&st->strs);
	free(st->samples);
	ftp_hindex_release(&st->sample_ix);
	free(st->frames);
	free(st->funcs);
	ftp_hindex_release(&st->func_ix);
	free(st);
}

/* The pprof sample s adds to: found, or made with a copy of its frames. */
static struct psample *sample_for(struct writer_stream *st, const struct psample_key *k)
{
	uint64_t h = sample_hash_key(k);
	long at = ftp_hindex_get(&st->sample_ix, h, sample_same, st, k);
	if (at >= 0)
		return &st->samples[at];
	if (ftp_hindex_reserve(&st->sample_ix, st->nsamples, 256, sample_hash, st) < 0 ||
	    ftp_grow((void **)&st->samples, &st->samples_cap, st->nsamples + 1, sizeof(*st->samples), 256) <
	            0 ||
	    ftp_grow((void **)&st->frames, &st->frames_cap, st->nframes + k->n, sizeof(*st->frames), 4096) <
	            0)
		return NULL;
	struct psample *p = &st->samples[st->nsamples];
	*p = (struct psample){
		.off = st->nframes, .n = k->n, .tid = k->tid, .name = k->name, .state = k->state
	};
	if (k->n)
		memcpy(st->frames + st->nframes, k->frames, k->n * sizeof(*k->frames));
	st->nframes += k->n;
	*ftp_hindex_find(&st->sample_ix, h, sample_same, st, k) = (uint32_t)st->nsamples + 1;
	return &st->samples[st->nsamples++];
}

int pprof_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
                 double weight)
{
	(void)f;
	const uint32_t *frames;
	struct profile_memo *memo;
	struct ftp_sample whole = *s;
	if (s->flags & FTP_SAMPLE_TORN)
		whole.nframes = 0; /* record drops these unless a writer takes every sample */
	if (profile_stack(pr, &whole, &frames, &memo) < 0)
		goto nomem;
	unsigned state = (unsigned)s->state < FTP_STATE_COUNT ? (unsigned)s->state : FTP_STATE_UNKNOWN;
	if (!st->state_str[state]) {
		long id = str_id(st, ftp_state_name((enum ftp_state)state));
		if (id < 0)
			goto nomem;
		st->state_str[state] = (uint32_t)id + 1;
	}
	long name = str_id(st, s->name ? s->name : "");
	if (name < 0)
		goto nomem;
	struct psample_key k = { frames, whole.nframes, s->tid, (uint32_t)name, st->state_str[state] - 1 };
	struct psample *p = sample_for(st, &k);
	if (!p)
		goto nomem;
	uint64_t ns = weight > 0 ? (uint64_t)llround(weight * 1e9) : 0;
	p->count++;
	p->wall_ns += ns;
	if (s->on_cpu == 1) {
		p->cpu_ns += ns;
		st->any_cpu = true;
	}
	if (!st->first_ns || s->time_ns < st->first_ns)
		st->first_ns = s->time_ns;
	if (s->time_ns >= st->last_ns) {
		st->last_ns = s->time_ns;
		st->last_weight = weight;
	}
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}

static uint64_t func_hash_of(const struct pfunc *fn)
{
	return ftp_hash_mix(ftp_hash_mix(ftp_hash_str(0, fn->name), ftp_hash_str(0, fn->file)), fn->ip);
}

static uint64_t func_hash(const void *ctx, size_t i)
{
	const struct writer_stream *st = ctx;
	return func_hash_of(&st->funcs[i]);
}

static bool func_same(const void *ctx, uint32_t i, const void *key)
{
	const struct pfunc *a = &((const struct writer_stream *)ctx)->funcs[i], *b = key;
	/* the profile's strings are interned: one pointer per text */
	return a->name == b->name && a->file == b->file && a->ip == b->ip;
}

/* The id (from 1) of fn's function, or 0 when out of memory. */
static uint64_t func_id(struct writer_stream *st, const struct pfunc *fn)
{
	uint64_t h = func_hash_of(fn);
	long at = ftp_hindex_get(&st->func_ix, h, func_same, st, fn);
	if (at >= 0)
		return (uint64_t)at + 1;
	if (ftp_hindex_reserve(&st->func_ix, st->nfuncs, 256, func_hash, st) < 0 ||
	    ftp_grow((void **)&st->funcs, &st->funcs_cap, st->nfuncs + 1, sizeof(*st->funcs), 256) < 0)
		return 0;
	st->funcs[st->nfuncs] = *fn;
	*ftp_hindex_find(&st->func_ix, h, func_same, st, fn) = (uint32_t)st->nfuncs + 1;
	return ++st->nfuncs;
}

/* The name pprof shows for a frame, into buf when it has to be made. */
static const char *frame_name(const struct profile_frame *fr, char *buf, size_t len)
{
	switch (fr->kind) {
	case PROFILE_FRAME_PYTHON:
		return fr->function;
	case PROFILE_FRAME_NATIVE:
		if (fr->function)
			return fr->function;
		snprintf(buf, len, "0x%llx", (unsigned long long)fr->ip);
		return buf;
	case PROFILE_FRAME_THREAD:
		snprintf(buf, len, "thread %d", (int)fr->tid);
		return buf;
	case PROFILE_FRAME_STATE:
		snprintf(buf, len, "[%s]", fr->function);
		return buf;
	}
	return "";
}

static void value_type(struct pb_buf *b, struct pb_buf *tmp, uint32_t field, long type, long unit)
{
	pb_reset(tmp);
	pb_int(tmp, VALUE_TYPE_TYPE, type);
	pb_int(tmp, VALUE_TYPE_UNIT, unit);
	pb_bytes(b, field, tmp->data, tmp->len);
}

static void label(struct pb_buf *b, struct pb_buf *tmp, long key, long str, int64_t num)
{
	pb_reset(tmp);
	pb_int(tmp, LABEL_KEY, key);
	if (str)
		pb_int(tmp, LABEL_STR, str);
	else
		pb_int(tmp, LABEL_NUM, num);
	pb_bytes(b, SAMPLE_LABEL, tmp->data, tmp->len);
}

/* The profile's functions and locations (a location per frame id, its id
 * the frame id + 1), into b. Returns 0 or -1 when out of memory. */
static int put_locations(struct writer_stream *st, const struct profile *pr, struct pb_buf *b,
                         struct pb_buf *tmp, struct pb_buf *line)
{
	size_t n = profile_frames(pr);
	for (size_t i = 0; i < n; i++) {
		struct profile_frame fr;
		profile_frame(pr, (uint32_t)i, &fr);
		struct pfunc fn = { .name = fr.function,
			            .file = fr.kind == PROFILE_FRAME_THREAD ? NULL : fr.file };
		if (fr.kind == PROFILE_FRAME_NATIVE && !fr.function)
			fn.ip = fr.ip;
		else if (fr.kind == PROFILE_FRAME_THREAD)
			fn.ip = (uint64_t)fr.tid;
		size_t before = st->nfuncs;
		uint64_t fid = func_id(st, &fn);
		if (!fid)
			return -1;
		if (st->nfuncs > before) {
			char buf[64];
			long name = str_id(st, frame_name(&fr, buf, sizeof(buf)));
			long file = fn.file ? str_id(st, fn.file) : 0;
			if (name < 0 || file < 0)
				return -1;
			pb_reset(tmp);
			pb_uint(tmp, FUNCTION_ID, fid);
			pb_int(tmp, FUNCTION_NAME, name);
			pb_int(tmp, FUNCTION_SYSTEM_NAME, name);
			if (file)
				pb_int(tmp, FUNCTION_FILENAME, file);
			pb_bytes(b, PROFILE_FUNCTION, tmp->data, tmp->len);
		}
		pb_reset(line);
		pb_uint(line, LINE_FUNCTION_ID, fid);
		if (fr.kind == PROFILE_FRAME_PYTHON && fr.line >= 0)
			pb_int(line, LINE_LINE, fr.line);
		pb_reset(tmp);
		pb_uint(tmp, LOCATION_ID, i + 1);
		if (fr.kind == PROFILE_FRAME_NATIVE)
			pb_uint(tmp, LOCATION_ADDRESS, fr.ip);
		pb_bytes(tmp, LOCATION_LINE, line->data, line->len);
		pb_bytes(b, PROFILE_LOCATION, tmp->data, tmp->len);
	}
	return 0;
}

/* Compresses data into f as one gzip member. Returns 0 or -1 (errno set). */
static int put_gzip(FILE *f, const uint8_t *data, size_t len)
{
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		errno = ENOMEM;
		return -1;
	}
	uint8_t out[16384];
	z.next_in = (uint8_t *)data;
	int ret;
	do {
		/* avail_in is 32 bits: feed at most 1 GiB a time */
		if (!z.avail_in && len) {
			z.avail_in = len > (1u << 30) ? 1u << 30 : (unsigned)len;
			len -= z.avail_in;
		}
		z.next_out = out;
		z.avail_out = sizeof(out);
		ret = deflate(&z, len ? Z_NO_FLUSH : Z_FINISH);
		if (ret == Z_STREAM_ERROR ||
		    fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out) {
			deflateEnd(&z);
			if (ret == Z_STREAM_ERROR)
				errno = EINVAL;
			return -1;
		}
	} while (ret != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

int pprof_finish(struct writer_stream *st, const struct profile *pr, FILE *f)
{
	struct pb_buf b = { 0 }, tmp = { 0 }, sub = { 0 };
	struct profile_target tg;
	profile_target(pr, &tg);
	int ret = -1;
	char comment[512];
	snprintf(comment, sizeof(comment), "ftprof %s: pid %d, Python %s%s, %g Hz asked", FTPROF_VERSION,
	         (int)tg.pid, tg.version, tg.free_threaded ? " free-threaded" : "", tg.rate);
	long s_samples = str_id(st, "samples"), s_count = str_id(st, "count"), s_wall = str_id(st, "wall"),
	     s_ns = str_id(st, "nanoseconds"), s_cpu = str_id(st, "cpu"),
	     s_thread = str_id(st, "thread_name"), s_tid = str_id(st, "thread_id"),
	     s_state = str_id(st, "state"), s_comment = str_id(st, comment),
	     s_command = str_id(st, tg.command);
	if (s_samples < 0 || s_count < 0 || s_wall < 0 || s_ns < 0 || s_cpu < 0 || s_thread < 0 ||
	    s_tid < 0 || s_state < 0 || s_comment < 0 || s_command < 0)
		goto out;
	value_type(&b, &tmp, PROFILE_SAMPLE_TYPE, s_samples, s_count);
	value_type(&b, &tmp, PROFILE_SAMPLE_TYPE, s_wall, s_ns);
	if (st->any_cpu)
		value_type(&b, &tmp, PROFILE_SAMPLE_TYPE, s_cpu, s_ns);
	for (size_t i = 0; i < st->nsamples; i++) {
		const struct psample *p = &st->samples[i];
		struct pb_buf *ids = &sub;
		pb_reset(ids);
		for (unsigned j = p->n; j-- > 0;) /* pprof: innermost first */
			pb_varint(ids, (uint64_t)st->frames[p->off + j] + 1);
		pb_reset(&tmp);
		pb_bytes(&tmp, SAMPLE_LOCATION_ID, ids->data, ids->len);
		pb_reset(ids);
		pb_varint(ids, p->count);
		pb_varint(ids, p->wall_ns);
		if (st->any_cpu)
			pb_varint(ids, p->cpu_ns);
		pb_bytes(&tmp, SAMPLE_VALUE, ids->data, ids->len);
		/* labels go straight into the sample: each is a message of its own */
		struct pb_buf lab = { 0 };
		if (p->name)
			label(&tmp, &lab, s_thread, p->name, 0);
		label(&tmp, &lab, s_tid, 0, p->tid);
		label(&tmp, &lab, s_state, p->state, 0);
		bool failed = lab.failed;
		pb_release(&lab);
		if (failed)
			goto out;
		pb_bytes(&b, PROFILE_SAMPLE, tmp.data, tmp.len);
	}
	if (put_locations(st, pr, &b, &tmp, &sub) < 0)
		goto out;
	for (size_t i = 0; i < st->strs.n; i++)
		pb_str(&b, PROFILE_STRING_TABLE, st->strs.strs[i]);
	if (st->first_ns) {
		pb_int(&b, PROFILE_TIME_NANOS, (int64_t)st->first_ns + tg.realtime_offset_ns);
		pb_int(&b, PROFILE_DURATION_NANOS,
		       (int64_t)(st->last_ns - st->first_ns) + llround(st->last_weight * 1e9));
	}
	value_type(&b, &tmp, PROFILE_PERIOD_TYPE, s_wall, s_ns);
	pb_int(&b, PROFILE_PERIOD, tg.rate > 0 ? llround(1e9 / tg.rate) : 0);
	pb_int(&b, PROFILE_COMMENT, s_comment);
	pb_int(&b, PROFILE_COMMENT, s_command);
	pb_int(&b, PROFILE_DEFAULT_SAMPLE_TYPE, s_wall);
	if (b.failed || tmp.failed || sub.failed)
		goto out;
	if (put_gzip(f, b.data, b.len) < 0)
		goto done;
	ret = writer_finish(f);
	goto done;
out:
	errno = ENOMEM;
done:
	pb_release(&b);
	pb_release(&tmp);
	pb_release(&sub);
	return ret;
}
