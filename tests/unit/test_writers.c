/* SPDX-License-Identifier: MIT */
/* Each writer of ui/writers/ on a fixture profile, against its golden file in
 * tests/unit/golden/, and a profile written after everything its samples
 * pointed to was freed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ftprof/sample.h"
#include "profile.h"
#include "writers/writers.h"

/* The fixture: five code objects (two alike, as a redefined function gives),
 * strings that need escaping, native frames with and without a symbol, a
 * renamed thread and one without a name, over a few rounds. */
static const struct ftp_code fx_codes[] = {
	{ 0x1000, "main", "main", "/app/main.py", 1 },
	{ 0x1100, "run", "Worker.run", "/app/work.py", 10 },
	{ 0x1200, "odd", "odd;name\x01", "/app/we\xffird.py", 20 },
	{ 0x1300, "<lambda>", "<lambda>", "/app/work.py", 30 },
	{ 0x1400, "<lambda>", "<lambda>", "/app/work.py", 30 },
};

#define PY(c, l)                                  \
	{                                         \
		.code = &fx_codes[c], .line = (l) \
	}
#define NAT(sym, obj, addr)                                                               \
	{                                                                                 \
		.flags = FTP_FRAME_NATIVE, .symbol = (sym), .object = (obj), .ip = (addr) \
	}

/* Stacks innermost first, as the probe gives them. */
static const struct ftp_frame fx_s0[] = { PY(1, 12), PY(0, 3) };
static const struct ftp_frame fx_s1[] = { PY(2, 21), PY(1, 13), PY(0, 3) };
static const struct ftp_frame fx_s2[] = { PY(3, 31), PY(1, 12), PY(0, 3) };
static const struct ftp_frame fx_s3[] = { PY(4, 31), PY(1, 12), PY(0, 3) };
static const struct ftp_frame fx_s4[] = { NAT("PyMutex_Lock", "/usr/lib/libpython3.13t.so.1.0",
	                                      0x7f0012345678),
	                                  NAT(NULL, NULL, 0x7f00dead0000), PY(1, -1), PY(0, 4) };
static const struct ftp_frame fx_s5[] = { PY(1, 14), PY(0, 4) };

struct fx_row {
	int round;
	pid_t tid;
	const char *name;
	enum ftp_state state;
	int holds_gil;
	const struct ftp_frame *frames;
	unsigned n;
	double weight;
	struct ftp_wait wait;
	int on_cpu; /* 0 stands for unknown here; 2 for off */
};

#define ROW(r, tid, name, st, gil, s, w, ...)                                                  \
	{                                                                                      \
		r, tid, name, FTP_STATE_##st, gil, s, sizeof(s) / sizeof(s[0]), w, __VA_ARGS__ \
	}
/* What rows wait on: the GIL its holder owns, a critical section of an
 * object whose type name needs escaping, a Lock held inside `with`. */
#define W_GIL                                                         \
	{                                                             \
		FTP_WAIT_GIL, 0x7f00aa00, NULL, 101, FTP_HOLDER_OWNER \
	}
#define W_CS                                                                          \
	{                                                                             \
		FTP_WAIT_CRITICAL_SECTION, 0x7f00bb00, "li\tst;x", 0, FTP_HOLDER_NONE \
	}
#define W_LOCK                                                        \
	{                                                             \
		FTP_WAIT_LOCK, 0x7f00cc00, NULL, 102, FTP_HOLDER_WITH \
	}
static const struct fx_row fx_rows[] = {
	ROW(0, 101, "MainThread", RUNNING, 1, fx_s0, 0.01, { 0 }, 1),
	ROW(0, 102, "w;1", GIL, 0, fx_s1, 0.01, W_GIL, 2),
	ROW(0, 103, NULL, LOCK, -1, fx_s4, 0.01, W_CS, 1),
	ROW(1, 101, "MainThread", RUNNING, 1, fx_s0, 0.012, { 0 }, 1),
	ROW(1, 102, "w;1", RUNNING, 0, fx_s2, 0.012, { 0 }, 1),
	ROW(1, 103, NULL, LOCK, -1, fx_s4, 0.012, W_LOCK, 2),
	ROW(2, 101, "MainThread", NATIVE, 0, fx_s1, 0.009, { 0 }, 1),
	ROW(2, 102, "w2", RUNNING, 1, fx_s3, 0.009, { 0 }, 1),
	ROW(2, 103, NULL, RUNNING, -1, fx_s5, 0.009, { 0 }, 0),
	ROW(3, 101, "MainThread", RUNNING, 1, fx_s1, 0.0105, { 0 }, 1),
	ROW(3, 102, "w2", SLEEP, 0, fx_s3, 0.0105, { 0 }, 2),
	ROW(4, 102, "w2", RUNNING, 1, fx_s2, 0.02, { 0 }, 1),
	ROW(4, 103, NULL, IO, -1, fx_s4, 0.02, { 0 }, 2),
};

/* On-CPU ticks: the interpreter at row 0, a contended count of an object
 * whose type name needs escaping at row 4 (from the DWARF inline chain). */
static const struct ftp_tick fx_tick_py = { .time_ns = 999000000ull,
	                                    .cpu = 1,
	                                    .kind = FTP_CPU_PYTHON,
	                                    .ip = 0x7f0012340000,
	                                    .symbol = "_PyEval_EvalFrameDefault",
	                                    .object = "/usr/lib/libpython3.13t.so.1.0" };
static const struct ftp_tick fx_tick_rc[] = {
	{ .time_ns = 1009000000ull,
	  .cpu = 0,
	  .kind = FTP_CPU_REFCOUNT,
	  .ip = 0x7f0012340100,
	  .symbol = "_PyEval_EvalFrameDefault",
	  .object = "/usr/lib/libpython3.13t.so.1.0",
	  .inlined = "Py_INCREF",
	  .object_addr = 0x7f00ee00,
	  .object_type = "Pay\tload;x",
	  .object_name = "'a\tb;c'" },
	{ .time_ns = 1009500000ull, .cpu = 0, .kind = FTP_CPU_KERNEL, .in_kernel = true },
};

/* Feeds every row to add(), ending each round with end_round(). */
static void fx_feed(int (*add)(void *arg, const struct ftp_sample *s, double weight),
                    void (*end_round)(void *arg), void *arg)
{
	size_t n = sizeof(fx_rows) / sizeof(fx_rows[0]);
	for (size_t i = 0; i < n; i++) {
		const struct fx_row *r = &fx_rows[i];
		struct ftp_sample s = { .time_ns = 1000000000ull + (uint64_t)i * 2500000u,
			                .pid = 4242,
			                .tid = r->tid,
			                .name = r->name,
			                .round = 7 + (uint64_t)r->round,
			                .state = r->state,
			                .on_cpu = r->on_cpu == 2 ? 0
			                          : r->on_cpu    ? 1
			                                         : -1,
			                .wait = r->wait,
			                .holds_gil = r->holds_gil,
			                .cpu = r->on_cpu == 1 ? (int)(r->tid & 1) : -1,
			                .nticks = i == 0   ? 1
			                          : i == 4 ? 2
			                                   : 0,
			                .ticks = i == 0   ? &fx_tick_py
			                         : i == 4 ? fx_tick_rc
			                                  : NULL,
			                .nframes = r->n,
			                .frames = r->frames };
		add(arg, &s, r->weight);
		if (i + 1 == n || fx_rows[i + 1].round != r->round)
			end_round(arg);
	}
}

struct sink {
	struct profile *pr;
	const struct writer *w;
	struct writer_stream *st;
	FILE *f;
};

static int sink_add(void *arg, const struct ftp_sample *s, double weight)
{
	struct sink *k = arg;
	int ret = k->w->sample ? k->w->sample(k->st, k->pr, k->f, s, weight) : profile_add(k->pr, s, weight);
	cr_assert_eq(ret, 0);
	return ret;
}

static void sink_end_round(void *arg)
{
	profile_end_round(((struct sink *)arg)->pr);
}

static struct profile *new_profile(const struct writer *w, bool thread_root, bool by_function, bool states)
{
	struct profile_opts opts = { .thread_root = thread_root,
		                     .timeline = w->flags & WRITER_TIMELINE,
		                     .by_function = by_function,
		                     .states = states };
	struct profile *pr = profile_create(&opts);
	cr_assert_not_null(pr);
	/* strings the profile must copy: the fixture's target lives on the stack */
	char version[] = "3.13.15", command[] = "python3 app.py";
	struct profile_target t = { 4242, version, true, command, 100, 2, 10000000, 0 };
	cr_assert_eq(profile_set_target(pr, &t), 0);
	memset(version, 'x', sizeof(version) - 1);
	memset(command, 'x', sizeof(command) - 1);
	return pr;
}

/* The golden file, with @VERSION@ made this build's version. */
static char *golden(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/golden/%s", FTPROF_SOURCE_DIR, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s", path);
	char *text = NULL, *out = NULL;
	size_t len = 0, outlen = 0;
	FILE *m = open_memstream(&out, &outlen);
	cr_assert_neq(getdelim(&text, &len, '\0', f), -1);
	fclose(f);
	for (const char *p = text; *p; p++) {
		if (strncmp(p, "@VERSION@", 9) == 0) {
			fputs(FTPROF_VERSION, m);
			p += 8;
		} else {
			fputc(*p, m);
		}
	}
	fclose(m);
	free(text);
	return out;
}

/* FTPROF_UPDATE_GOLDEN=1 rewrites a golden file that differs (then review
 * it with git diff): only for a file without @VERSION@. */
static void expect_golden(const char *got, const char *name)
{
	char *want = golden(name);
	if (getenv("FTPROF_UPDATE_GOLDEN") && strcmp(got, want) != 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/tests/unit/golden/%s", FTPROF_SOURCE_DIR, name);
		FILE *f = fopen(path, "w");
		cr_assert(f && fputs(got, f) >= 0 && fclose(f) == 0, "cannot write %s", path);
	}
	cr_expect_str_eq(got, want, "%s differs:\n--- got\n%s\n--- want\n%s", name, got, want);
	free(want);
}

/* Writes the fixture with the writer named format and compares. */
static void check_with(const char *format, bool thread_root, bool by_function, bool states, const char *file)
{
	const struct writer *w = writer_by_name(format);
	cr_assert_not_null(w);
	char *text = NULL;
	size_t len = 0;
	struct sink k = { .pr = new_profile(w, thread_root, by_function, states), .w = w };
	k.f = open_memstream(&text, &len);
	if (w->begin)
		cr_assert_eq(w->begin(&k.st, k.pr, k.f), 0);
	fx_feed(sink_add, sink_end_round, &k);
	if (w->cpustat) {
		const struct ftp_cpu_time cpus[] = { { 70, 100 }, { 25, 100 } };
		cr_assert_eq(w->cpustat(k.st, k.f, 1030000000ull, cpus, 2), 0);
	}
	if (w->write)
		cr_assert_eq(w->write(k.pr, k.f), 0);
	if (w->finish)
		cr_assert_eq(w->finish(k.st, k.pr, k.f), 0);
	if (w->end)
		w->end(k.st);
	cr_assert_eq(fclose(k.f), 0);
	profile_destroy(k.pr);
	expect_golden(text, file);
	free(text);
}

static void check(const char *format, bool thread_root, bool by_function, const char *file)
{
	check_with(format, thread_root, by_function, false, file);
}

Test(writers, folded)
{
	check("folded", false, false, "folded.txt");
}

Test(writers, folded_threads)
{
	check("folded", true, false, "folded-threads.txt");
}

Test(writers, folded_function)
{
	check("collapsed", false, true, "folded-function.txt");
}

Test(writers, speedscope)
{
	check("speedscope", false, false, "speedscope.json");
}

Test(writers, speedscope_threads)
{
	check("speedscope", true, false, "speedscope-threads.json");
}

Test(writers, raw)
{
	check("raw", false, false, "raw.txt");
}

/* gecko: every sample of every state, the states and waits as markers; the
 * golden file is also checked against the schema (tests/gecko/). */
Test(writers, gecko)
{
	check("gecko", false, false, "gecko.json");
}

Test(writers, gecko_ignores_frame_options)
{
	/* threads and states are the format's own: no thread or state frames */
	check_with("gecko", true, false, true, "gecko.json");
}

/* pprof: gzip of profile.proto (go tool pprof and pprof-format read what
 * record writes, tests/integration/check_pprof.py); here, that the target's
 * strings went in escaped, and the encoder's bytes (test_protobuf.c). */
Test(writers, pprof_escapes)
{
	const struct writer *w = writer_by_name("pprof");
	cr_assert_not_null(w);
	char *text = NULL;
	size_t len = 0;
	struct sink k = { .pr = new_profile(w, false, false, false), .w = w };
	k.f = open_memstream(&text, &len);
	cr_assert_eq(w->begin(&k.st, k.pr, k.f), 0);
	fx_feed(sink_add, sink_end_round, &k);
	cr_assert_eq(w->finish(k.st, k.pr, k.f), 0);
	w->end(k.st);
	cr_assert_eq(fclose(k.f), 0);
	profile_destroy(k.pr);
	cr_assert(len > 18 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b, "not gzip");
	static unsigned char pb[1 << 16];
	z_stream z = { .next_in = (unsigned char *)text, .avail_in = (unsigned)len };
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_out = pb;
	z.avail_out = sizeof(pb);
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = sizeof(pb) - z.avail_out;
	inflateEnd(&z);
	free(text);
	cr_expect_not_null(memmem(pb, n, "odd;name\\x01", 12), "the control character not escaped");
	cr_expect_null(memmem(pb, n, "odd;name\x01", 9), "a raw control character");
	cr_expect_not_null(memmem(pb, n, "/app/we\\xffird.py", 17), "the invalid byte not escaped");
	cr_expect_not_null(memmem(pb, n, "cpu", 3), "on-CPU samples: a cpu sample type");
}

Test(writers, raw_threads_column_only)
{
	/* --threads does not put a thread frame into raw's stack column */
	check("raw", true, false, "raw.txt");
}

Test(writers, folded_states)
{
	/* --states: every stack ends with its sample's state */
	check_with("folded", false, false, true, "folded-states.txt");
}

Test(writers, speedscope_states)
{
	check_with("speedscope", true, false, true, "speedscope-states.json");
}

Test(writers, raw_states_column_only)
{
	/* raw has the state column: --states adds no frame to its stack */
	check_with("raw", false, false, true, "raw.txt");
}

/* raw writes a torn sample (its state, no stack) and a thread without Python
 * frames, and the thread's next stack in full. */
Test(writers, raw_torn_and_empty)
{
	const struct writer *w = writer_by_name("raw");
	cr_assert(w->flags & WRITER_EVERY_SAMPLE);
	char *text = NULL;
	size_t len = 0;
	struct profile *pr = new_profile(w, false, false, false);
	struct writer_stream *st = NULL;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(w->begin(&st, pr, f), 0);
	struct ftp_sample s = { .time_ns = 5,
		                .tid = 7,
		                .name = "t",
		                .round = 1,
		                .state = FTP_STATE_RUNNING,
		                .on_cpu = 1,
		                .cpu = 3,
		                .holds_gil = -1,
		                .frames = fx_s0,
		                .nframes = 2 };
	cr_assert_eq(w->sample(st, pr, f, &s, 0.01), 0);
	s.round = 2;
	s.flags = FTP_SAMPLE_TORN;
	s.frames = fx_s1;
	s.nframes = 3;
	cr_assert_eq(w->sample(st, pr, f, &s, 0.01), 0);
	profile_end_round(pr);
	s.round = 3;
	s.flags = FTP_SAMPLE_NO_STACK;
	s.state = FTP_STATE_NATIVE;
	s.nframes = 0;
	cr_assert_eq(w->sample(st, pr, f, &s, 0.01), 0);
	profile_end_round(pr);
	s.round = 4;
	s.flags = 0;
	s.state = FTP_STATE_WAIT;
	s.on_cpu = 0;
	s.cpu = -1;
	s.wait = (struct ftp_wait){ FTP_WAIT_EVENT, 0, NULL, 0, FTP_HOLDER_NONE };
	s.frames = fx_s0;
	s.nframes = 2;
	cr_assert_eq(w->sample(st, pr, f, &s, 0.01), 0);
	w->end(st);
	cr_assert_eq(fclose(f), 0);
	profile_destroy(pr);
	const char *body = text;
	while (*body == '#')
		body = strchr(body, '\n') + 1;
	cr_expect_str_eq(body,
	                 "1\t5\t7\trunning\t1\t3\t-\t-\t-\t-\t-\t-\tt\tmain (/app/main.py:3);Worker.run "
	                 "(/app/work.py:12)\n"
	                 "2\t5\t7\trunning\t1\t3\t-\t-\t-\t-\t-\t-\tt\t\n"
	                 "3\t5\t7\tnative\t1\t3\t-\t-\t-\t-\t-\t-\tt\t\n"
	                 "4\t5\t7\twait\t0\t-\t-\tEvent\t-\t-\t-\t-\tt\tmain (/app/main.py:3);Worker.run "
	                 "(/app/work.py:12)\n");
	free(text);
}

static char *scrub_dup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void scrub_free(const char *s)
{
	if (s) {
		memset((char *)s, '#', strlen(s));
		free((char *)s);
	}
}

/* The profile keeps what it writes: samples from heap copies of the fixture
 * (as a probe lends them), the copies overwritten and freed before writing. */
static void check_outlives(const char *format, bool thread_root, const char *file)
{
	const size_t ncodes = sizeof(fx_codes) / sizeof(fx_codes[0]);
	const size_t nrows = sizeof(fx_rows) / sizeof(fx_rows[0]);
	struct ftp_code *codes = calloc(ncodes, sizeof(*codes));
	for (size_t i = 0; i < ncodes; i++)
		codes[i] = (struct ftp_code){ fx_codes[i].addr, scrub_dup(fx_codes[i].name),
			                      scrub_dup(fx_codes[i].qualname),
			                      scrub_dup(fx_codes[i].filename), fx_codes[i].firstlineno };
	const struct writer *w = writer_by_name(format);
	struct profile *pr = new_profile(w, thread_root, false, false);
	for (size_t i = 0; i < nrows; i++) {
		const struct fx_row *r = &fx_rows[i];
		struct ftp_frame *frames = calloc(r->n, sizeof(*frames));
		for (unsigned j = 0; j < r->n; j++) {
			frames[j] = r->frames[j];
			if (frames[j].code)
				frames[j].code = &codes[frames[j].code - fx_codes];
			frames[j].symbol = scrub_dup(frames[j].symbol);
			frames[j].object = scrub_dup(frames[j].object);
		}
		struct ftp_sample s = {
			.tid = r->tid, .name = scrub_dup(r->name), .frames = frames, .nframes = r->n
		};
		cr_assert_eq(profile_add(pr, &s, r->weight), 0);
		for (unsigned j = 0; j < r->n; j++) {
			scrub_free(frames[j].symbol);
			scrub_free(frames[j].object);
		}
		scrub_free(s.name);
		free(frames);
		if (i + 1 == nrows || fx_rows[i + 1].round != r->round)
			profile_end_round(pr);
	}
	for (size_t i = 0; i < ncodes; i++) {
		scrub_free(codes[i].name);
		scrub_free(codes[i].qualname);
		scrub_free(codes[i].filename);
	}
	memset(codes, 0, ncodes * sizeof(*codes));
	free(codes);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(w->write(pr, f), 0);
	cr_assert_eq(fclose(f), 0);
	profile_destroy(pr);
	expect_golden(text, file);
	free(text);
}

Test(writers, profile_outlives_its_sources)
{
	check_outlives("folded", true, "folded-threads.txt");
	check_outlives("speedscope", true, "speedscope-threads.json");
}

Test(writers, table)
{
	const struct writer *w;
	cr_expect_eq(writer_by_name("folded"), &writers[0], "folded is the default, first");
	cr_expect_eq(writer_by_name("collapsed"), writer_by_name("folded"));
	cr_expect_null(writer_by_name("html"));
	cr_expect_eq(writer_by_path("flame.SVG", &w), 0);
	cr_expect_str_eq(w->name, "svg");
	cr_expect_eq(writer_by_path("out.JSON", &w), 0);
	cr_expect_str_eq(w->name, "speedscope");
	cr_expect_eq(writer_by_path("a/b.tsv", &w), 0);
	cr_expect_str_eq(w->name, "raw");
	cr_expect_eq(writer_by_path("app.stacks", &w), 0);
	cr_expect_str_eq(w->name, "folded");
	cr_expect_eq(writer_by_path("flame.html", &w), -1);
	cr_expect_eq(writer_by_path("profile.pb.gz", &w), 0);
	cr_expect_str_eq(w->name, "pprof");
	cr_expect_eq(writer_by_path("app.gecko.json", &w), 0, "the longest extension wins over .json");
	cr_expect_str_eq(w->name, "gecko");
	cr_expect_eq(writer_by_path("app.GECKO.JSON", &w), 0);
	cr_expect_str_eq(w->name, "gecko");
	cr_expect_eq(writer_by_path("gecko.json", &w), 0, "a name, not an extension: speedscope's .json");
	cr_expect_str_eq(w->name, "speedscope");
	cr_expect_eq(writer_by_name("firefox"), writer_by_name("gecko"));
	cr_expect_eq(writer_by_path("profile", &w), 1);
	cr_expect_eq(writer_by_path("json", &w), 1, "an extension needs its dot");
	char names[64];
	writers_names(names, sizeof(names));
	cr_expect_str_eq(names, "folded, speedscope, raw, svg, gecko or pprof");
	for (size_t i = 0; i < nwriters; i++) {
		w = &writers[i];
		cr_expect(w->name && w->exts && w->exts[0] && w->default_ext && w->help, "%zu", i);
		cr_expect(!!w->write + !!w->write_view + !!(w->flags & WRITER_STREAM) == 1,
		          "%s: write, write_view or stream", w->name);
		cr_expect(!!w->write_view == !!(w->flags & WRITER_VIEW), "%s: write_view is WRITER_VIEW's",
		          w->name);
		cr_expect(!(w->flags & WRITER_STREAM) || (w->begin && w->sample), "%s", w->name);
		cr_expect(!w->finish || (w->flags & WRITER_STREAM), "%s: finish is a streaming writer's",
		          w->name);
	}
}
