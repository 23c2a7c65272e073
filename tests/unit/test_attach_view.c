/* SPDX-License-Identifier: MIT */
/* The live view's model, view, layout and keys (ui/attach_view.c) on
 * synthetic samples: shares, history windows, sorting, the lines view,
 * locks with waiters and holders, deadlocks, resets, escaping of hostile
 * names, and screens that fit 80x24. */
#include <criterion/criterion.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach_view.h"

#define S 1000000000ull

static const struct attach_frame f_main = { 0x100, "main", "/src/app.py", 50, 40 };
static const struct attach_frame f_work = { 0x200, "work", "/src/app.py", 12, 10 };
static const struct attach_frame f_work2 = { 0x200, "work", "/src/app.py", 14, 10 };
static const struct attach_frame f_take = { 0x300, "take", "/src/app.py", 22, 20 };

static struct attach_model *model(void)
{
	struct attach_model *m;
	struct attach_model_opts o = { .rate = 10, .cores = 2 };
	cr_assert_eq(attach_model_create(&m, &o), 0);
	return m;
}

struct thr {
	pid_t tid;
	const char *name;
	enum ftp_state state;
	int on_cpu;
	enum ftp_wait_kind kind;
	uint64_t address;
	pid_t holder;
	const struct attach_frame *frames; /* innermost first */
	size_t nframes;
};

static uint64_t round_no;

static void add(struct attach_model *m, uint64_t t, const struct thr *th)
{
	struct attach_sample s = {
		.a = { .round = round_no,
		       .time_ns = t,
		       .tid = th->tid,
		       .thread = th->name,
		       .state = th->state,
		       .on_cpu = th->on_cpu,
		       .gil = -1,
		       .wait_kind = th->kind,
		       .wait_address = th->address,
		       .holder = th->holder,
		       .function = th->nframes ? th->frames[0].function : NULL,
		       .file = th->nframes ? th->frames[0].file : NULL,
		       .line = th->nframes ? th->frames[0].line : -1 },
		.frames = th->frames,
		.nframes = th->nframes,
	};
	cr_assert_eq(attach_model_add(m, &s), 0);
}

static void round_of(struct attach_model *m, uint64_t t, const struct thr *ths, size_t n)
{
	round_no++;
	for (size_t i = 0; i < n; i++)
		add(m, t, &ths[i]);
	cr_assert_eq(attach_model_end_round(m), 0);
}

static const struct attach_status status = { .pid = 4242,
	                                     .command = "python3 app.py",
	                                     .version = "3.13.15",
	                                     .free_threaded = true,
	                                     .elapsed_s = 10,
	                                     .rate_asked = 10,
	                                     .rounds = 100 };

/* worker-a runs work() (held in take()'s frame: it holds the Lock), worker-b
 * waits on the Lock held by worker-a, for 10 s at 10 Hz. */
static void fight(struct attach_model *m)
{
	static const struct attach_frame a_stack[] = { { 0x200, "work", "/src/app.py", 12, 10 },
		                                       { 0x300, "take", "/src/app.py", 23, 20 },
		                                       { 0x100, "main", "/src/app.py", 50, 40 } };
	static const struct attach_frame b_stack[] = { { 0x300, "take", "/src/app.py", 22, 20 },
		                                       { 0x100, "main", "/src/app.py", 50, 40 } };
	struct thr ths[] = {
		{ 11, "worker-a", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, a_stack, 3 },
		{ 12, "worker-b", FTP_STATE_LOCK, 0, FTP_WAIT_LOCK, 0x7f00, 11, b_stack, 2 },
	};
	for (int i = 0; i < 100; i++)
		round_of(m, (uint64_t)i * S / 10, ths, 2);
}

static const struct attach_thread_row *row(const struct attach_view *v, pid_t tid)
{
	for (size_t i = 0; i < v->nthreads; i++)
		if (v->threads[i].tid == tid)
			return &v->threads[i];
	return NULL;
}

Test(attach_view, threads_functions_locks)
{
	struct attach_model *m = model();
	fight(m);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.nthreads, 2);
	const struct attach_thread_row *a = row(&v, 11), *b = row(&v, 12);
	cr_assert(a && b);
	cr_expect_str_eq(a->name, "worker-a");
	cr_expect_eq(a->state, FTP_STATE_RUNNING);
	cr_expect_float_eq(a->cpu, 1.0, 1e-9);
	cr_expect_float_eq(a->shares[FTP_STATE_RUNNING], 1.0, 1e-9);
	cr_expect_str_eq(a->history, "RRRRRRRRRR");
	cr_expect_str_eq(a->where, "work app.py:12");
	cr_expect_str_eq(a->wait, "");
	cr_expect_eq(b->state, FTP_STATE_LOCK);
	cr_expect_float_eq(b->cpu, 0.0, 1e-9);
	cr_expect_str_eq(b->history, "LLLLLLLLLL");
	cr_expect_str_eq(b->wait, "Lock 0x7f00 held by worker-a (11)");
	cr_expect_str_eq(b->where, "take app.py:22");

	/* functions: only worker-a's samples are active (worker-b is parked) */
	cr_expect_eq(v.function_samples, 100);
	cr_assert_eq(v.nfunctions, 3);
	cr_expect_str_eq(v.functions[0].function, "work");
	cr_expect_float_eq(v.functions[0].own_share, 1.0, 1e-9);
	cr_expect_eq(v.functions[0].line, 10);
	for (size_t i = 1; i < 3; i++) {
		cr_expect_float_eq(v.functions[i].own_share, 0.0, 1e-9);
		cr_expect_float_eq(v.functions[i].total_share, 1.0, 1e-9);
	}

	/* locks: one, one waiter now, holder named, the waiters' line */
	cr_assert_eq(v.nlocks, 1);
	cr_expect_eq(v.locks[0].kind, FTP_WAIT_LOCK);
	cr_expect_eq(v.locks[0].address, 0x7f00);
	cr_expect_eq(v.locks[0].waiters, 1);
	cr_expect_str_eq(v.locks[0].waiting, "take app.py:22");
	cr_expect_str_eq(v.locks[0].holder, "worker-a (11)");
	cr_expect_float_eq(v.locks[0].wait_s, 10.0, 0.2);

	/* effective parallelism: one thread on a CPU in every round */
	cr_expect_float_eq(v.effective, 1.0, 1e-9);
	cr_expect_eq(v.cores, 2);
	cr_expect_str_eq(v.deadlock, "");
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, sort_and_lines)
{
	struct attach_model *m = model();
	/* work() own at two lines (3 and 1 samples); main() only total */
	const struct attach_frame s1[] = { f_work, f_main }, s2[] = { f_work2, f_main }, s3[] = { f_main };
	struct thr t = { 1, "t", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, s1, 2 };
	for (int i = 0; i < 3; i++)
		round_of(m, (uint64_t)i * S, &t, 1);
	t.frames = s2;
	round_of(m, 3 * S, &t, 1);
	t.frames = s3;
	t.nframes = 1;
	round_of(m, 4 * S, &t, 1);
	round_of(m, 5 * S, &t, 1);

	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_assert_eq(v.nfunctions, 2);
	cr_expect_str_eq(v.functions[0].function, "work"); /* own 4 of 6 */
	cr_expect_float_eq(v.functions[0].own_share, 4.0 / 6, 1e-9);
	cr_expect_float_eq(v.functions[1].total_share, 1.0, 1e-9);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_TOTAL, false, 0, &v), 0);
	cr_expect_str_eq(v.functions[0].function, "main");
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_NAME, false, 0, &v), 0);
	cr_expect_str_eq(v.functions[0].function, "main");
	cr_expect_str_eq(v.functions[1].function, "work");

	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, true, 0, &v), 0);
	cr_assert_eq(v.nfunctions, 3); /* work:12, work:14, main:50 */
	cr_expect_str_eq(v.functions[0].function, "work");
	cr_expect_eq(v.functions[0].line, 12);
	cr_expect_eq(v.functions[0].own, 3);
	cr_expect_eq(v.functions[1].line, 50); /* own 2 */
	cr_expect_eq(v.functions[2].line, 14);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, recursion_counts_once)
{
	struct attach_model *m = model();
	const struct attach_frame s[] = { f_work, f_work2, f_work, f_main };
	struct thr t = { 1, "t", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, s, 4 };
	round_of(m, 0, &t, 1);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.functions[0].total, 1);
	cr_expect_float_eq(v.functions[0].total_share, 1.0, 1e-9);
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* Shares cover the last ATTACH_HISTORY seconds only. */
Test(attach_view, window)
{
	struct attach_model *m = model();
	struct thr t = { 1, "t", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &f_main, 1 };
	for (int i = 0; i < 200; i++)
		round_of(m, (uint64_t)i * S / 10, &t, 1); /* 20 s running */
	t.state = FTP_STATE_SLEEP;
	t.on_cpu = 0;
	for (int i = 200; i < 250; i++)
		round_of(m, (uint64_t)i * S / 10, &t, 1); /* then 5 s asleep */
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_assert_eq(v.nthreads, 1);
	cr_expect_str_eq(v.threads[0].history, "RRRRRSSSSS");
	cr_expect_float_eq(v.threads[0].shares[FTP_STATE_SLEEP], 0.5, 1e-9);
	cr_expect_float_eq(v.threads[0].cpu, 0.5, 1e-9);
	cr_expect_eq(v.threads[0].state, FTP_STATE_SLEEP);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, deadlock_and_reset)
{
	struct attach_model *m = model();
	struct thr ths[] = {
		{ 21, "a", FTP_STATE_LOCK, 0, FTP_WAIT_LOCK, 0xa0, 22, &f_take, 1 },
		{ 22, "b", FTP_STATE_LOCK, 0, FTP_WAIT_LOCK, 0xb0, 21, &f_take, 1 },
	};
	round_of(m, 0, ths, 2);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(strncmp(v.deadlock, "DEADLOCK:", 9) == 0, "%s", v.deadlock);
	cr_expect(strstr(v.deadlock, "a (21) waits Lock 0xa0"), "%s", v.deadlock);
	cr_expect(strstr(v.deadlock, "b (22) waits Lock 0xb0"), "%s", v.deadlock);
	cr_expect_eq(v.nlocks, 2);

	/* 60 columns: the banner takes two lines, broken between words, and
	 * all of it is on the screen */
	struct attach_ui ui = { 0 };
	struct attach_screen *scr = malloc(sizeof(*scr));
	cr_assert(scr);
	attach_render(&v, &ui, 60, 24, scr);
	char joined[1024] = "";
	int alerts = 0;
	for (int y = 0; y < scr->height; y++) {
		const char *t = scr->lines[y].text;
		if (scr->lines[y].attr != ATTACH_ATTR_ALERT)
			continue;
		cr_expect_leq(strlen(t), 60, "line %d: %s", y, t);
		while (*t == ' ')
			t++;
		if (alerts++)
			strcat(joined, " ");
		strncat(joined, t, sizeof(joined) - strlen(joined) - 1);
	}
	free(scr);
	cr_expect_eq(alerts, 2);
	cr_expect_str_eq(joined, v.deadlock);

	/* resolved in the next round: the banner goes */
	ths[1].state = FTP_STATE_RUNNING;
	ths[1].kind = FTP_WAIT_NONE;
	round_of(m, S / 10, ths, 2);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_str_eq(v.deadlock, "");

	cr_assert_eq(attach_model_reset(m), 0);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.nthreads, 0);
	cr_expect_eq(v.nlocks, 0);
	cr_expect_eq(v.nfunctions, 0);
	cr_expect_eq(v.samples, 0);
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* Nothing from the target reaches the screen raw. */
Test(attach_view, hostile_names)
{
	struct attach_model *m = model();
	const struct attach_frame evil[] = { { 0x900, "f\x1b]0;pwned\a", "/x/\x1b[2J.py", 1, 1 } };
	struct thr t = {
		7, "\x1b[31mred\xff\xe2\x80\xae", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, evil, 1
	};
	round_of(m, 0, &t, 1);
	struct attach_status st = status;
	st.command = "python3 \x1b[H\x9b";
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_str_eq(v.threads[0].name, "\\x1b[31mred\\xff\\u{202e}");
	cr_expect_str_eq(v.functions[0].function, "f\\x1b]0;pwned\\x07");
	struct attach_ui ui = { 0 };
	struct attach_screen *scr = malloc(sizeof(*scr));
	for (int p = 0; p < ATTACH_PANELS; p++) {
		ui.panel = (enum attach_panel)p;
		attach_render(&v, &ui, 80, 24, scr);
		for (int y = 0; y < scr->height; y++)
			for (const unsigned char *c = (const unsigned char *)scr->lines[y].text; *c; c++)
				cr_expect(*c >= 0x20 && *c != 0x7f, "panel %d line %d: byte 0x%02x", p, y,
				          *c);
	}
	/* ASCII: nothing but ASCII */
	st.ascii = true;
	t.name = "caf\xc3\xa9";
	round_of(m, S, &t, 1);
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_str_eq(v.threads[0].name, "caf\\u{e9}");
	attach_render(&v, &ui, 80, 24, scr);
	for (int y = 0; y < scr->height; y++)
		for (const unsigned char *c = (const unsigned char *)scr->lines[y].text; *c; c++)
			cr_expect(*c < 0x80, "ascii line %d: byte 0x%02x", y, *c);
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* Display columns of a UTF-8 line (the layout uses no wide characters). */
static int columns(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

Test(attach_view, screens_fit)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct attach_model *m = model();
	fight(m);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	struct attach_screen *scr = malloc(sizeof(*scr));
	struct attach_ui ui = { 0 };
	const int sizes[][2] = { { 80, 24 }, { 100, 30 }, { 200, 50 }, { 20, 5 } };
	for (size_t k = 0; k < 4; k++) {
		for (int p = 0; p < ATTACH_PANELS; p++) {
			ui.panel = (enum attach_panel)p;
			attach_render(&v, &ui, sizes[k][0], sizes[k][1], scr);
			cr_expect_eq(scr->height, sizes[k][1]);
			for (int y = 0; y < scr->height; y++)
				cr_expect(columns(scr->lines[y].text) <= sizes[k][0],
				          "%dx%d panel %d line %d: %s", sizes[k][0], sizes[k][1], p, y,
				          scr->lines[y].text);
		}
	}
	ui.panel = ATTACH_THREADS;
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(strstr(scr->lines[0].text, "pid 4242"), "%s", scr->lines[0].text);
	cr_expect(strstr(scr->lines[1].text, "free-threaded"), "%s", scr->lines[1].text);
	cr_expect(strstr(scr->lines[2].text, "parallelism 1.00 of 2 cores"), "%s", scr->lines[2].text);
	bool lock_row = false;
	for (int y = 0; y < scr->height; y++)
		lock_row |= strstr(scr->lines[y].text, "worker-b") && strstr(scr->lines[y].text, "lock") &&
		            strstr(scr->lines[y].text, "held by worker-a");
	cr_expect(lock_row, "no lock row with its holder at 80x24");
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, keys)
{
	struct attach_ui ui = { 0 };
	cr_expect_eq(attach_key(&ui, '\t'), ATTACH_DRAW);
	cr_expect_eq(ui.panel, ATTACH_FUNCTIONS);
	cr_expect_eq(attach_key(&ui, '3'), ATTACH_DRAW);
	cr_expect_eq(ui.panel, ATTACH_LOCKS);
	cr_expect_eq(attach_key(&ui, '\t'), ATTACH_DRAW);
	cr_expect_eq(ui.panel, ATTACH_REFCOUNT);
	cr_expect_eq(attach_key(&ui, '4'), ATTACH_DRAW);
	cr_expect_eq(ui.panel, ATTACH_REFCOUNT);
	cr_expect_eq(attach_key(&ui, '\t'), ATTACH_DRAW);
	cr_expect_eq(ui.panel, ATTACH_THREADS);
	cr_expect_eq(attach_key(&ui, 's'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_TOTAL);
	cr_expect_eq(ui.panel, ATTACH_FUNCTIONS);
	cr_expect_eq(attach_key(&ui, 'l'), ATTACH_REBUILD);
	cr_expect(ui.by_line);
	cr_expect_eq(attach_key(&ui, 'j'), ATTACH_DRAW);
	cr_expect_eq(attach_key(&ui, ATTACH_KEY_DOWN), ATTACH_DRAW);
	cr_expect_eq(ui.sel[ATTACH_FUNCTIONS], 2);
	cr_expect_eq(attach_key(&ui, 'k'), ATTACH_DRAW);
	cr_expect_eq(ui.sel[ATTACH_FUNCTIONS], 1);
	cr_expect_eq(attach_key(&ui, 'p'), ATTACH_REBUILD);
	cr_expect(ui.paused);
	cr_expect_eq(attach_key(&ui, '?'), ATTACH_DRAW);
	cr_expect(ui.help);
	cr_expect_eq(attach_key(&ui, 'x'), ATTACH_DRAW); /* closes the help */
	cr_expect(!ui.help);
	cr_expect_eq(attach_key(&ui, 'r'), ATTACH_RESET);
	cr_expect_eq(attach_key(&ui, 'x'), ATTACH_NONE);
	cr_expect_eq(attach_key(&ui, 'q'), ATTACH_QUIT);

	/* the selection is clamped to the rows there are */
	struct attach_view v = { 0 };
	struct attach_screen *scr = malloc(sizeof(*scr));
	ui.panel = ATTACH_THREADS;
	ui.sel[ATTACH_THREADS] = 5;
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect_eq(ui.sel[ATTACH_THREADS], 0);
	free(scr);
}

/* ---- on-CPU ticks: cores, the target's CPU, refcount ---- */

static const struct attach_frame f_read = { 0x400, "reader", "/src/rc.py", 29, 23 };

/* One round at t of threads 21 and 22 running reader(), each with a tick:
 * thread 21 on CPU 0, thread 22 on CPU cpu22, kind kind, on the object
 * type at addr (refcount ticks). */
static void tick_round(struct attach_model *m, uint64_t t, int cpu22, enum ftp_cpu_kind kind,
                       const char *type, uint64_t addr)
{
	round_no++;
	for (int i = 0; i < 2; i++) {
		struct ftp_tick tk = { .time_ns = t,
			               .cpu = i ? cpu22 : 0,
			               .kind = kind,
			               .object_addr = addr + (uint64_t)i * 16 * (addr != 0),
			               .object_type = type };
		struct attach_sample s = {
			.a = { .round = round_no,
			       .time_ns = t,
			       .tid = 21 + i,
			       .thread = i ? "reader-2" : "reader-1",
			       .state = FTP_STATE_RUNNING,
			       .on_cpu = 1,
			       .gil = -1,
			       .function = f_read.function,
			       .file = f_read.file,
			       .line = f_read.line,
			       .cpu = tk.cpu,
			       .nticks = 1,
			       .ticks = &tk },
			.frames = &f_read,
			.nframes = 1,
		};
		cr_assert_eq(attach_model_add(m, &s), 0);
	}
	cr_assert_eq(attach_model_end_round(m), 0);
}

static struct attach_model *tick_model(long cores)
{
	struct attach_model *m;
	struct attach_model_opts o = { .rate = 10, .cores = cores, .tick_s = 0.1 };
	cr_assert_eq(attach_model_create(&m, &o), 0);
	return m;
}

static const struct attach_status oncpu_status = { .pid = 4242,
	                                           .command = "python3 rc.py",
	                                           .version = "3.13.15",
	                                           .free_threaded = true,
	                                           .elapsed_s = 10,
	                                           .rate_asked = 10,
	                                           .rounds = 100,
	                                           .oncpu_source = "perf_event cpu-clock",
	                                           .oncpu = true,
	                                           .oncpu_dwarf = "DWARF" };

/* The line of scr holding s, or -1. */
static int find_line(const struct attach_screen *scr, const char *s)
{
	for (int y = 0; y < scr->height; y++)
		if (strstr(scr->lines[y].text, s))
			return y;
	return -1;
}

Test(attach_view, cores_and_cpu)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct attach_model *m = tick_model(2);
	/* the machine: both CPUs fully busy over the 10 s */
	struct ftp_cpu_time t0[2] = { { 0, 0 }, { 0, 0 } }, t1[2] = { { 1000, 1000 }, { 1000, 1000 } };
	cr_assert_eq(attach_model_cpustat(m, 0, t0, 2), 0);
	for (int i = 0; i < 100; i++)
		tick_round(m, (uint64_t)i * S / 10, 1, FTP_CPU_PYTHON, NULL, 0);
	cr_assert_eq(attach_model_cpustat(m, 10 * S, t1, 2), 0);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &oncpu_status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(v.oncpu);
	cr_expect_str_eq(v.oncpu_note, "");
	/* 100 ticks of 0.1 s each per thread over 9.9 s (+ one tick) */
	cr_expect_float_eq(v.target_cpu, 200 * 0.1 / 10.0, 1e-6);
	cr_expect_float_eq(v.kinds[FTP_CPU_PYTHON], v.target_cpu, 1e-9);
	cr_assert_eq(v.ncores, 2);
	cr_expect_float_eq(v.core_rows[0].busy, 1.0, 1e-9);
	cr_expect_float_eq(v.core_rows[1].target, 1.0, 1e-6);
	const struct attach_thread_row *a = row(&v, 21), *b = row(&v, 22);
	cr_assert(a && b);
	cr_expect_float_eq(a->cpu, 1.0, 1e-6, "CPU%% from the ticks");
	cr_expect_eq(a->last_cpu, 0);
	cr_expect_eq(b->last_cpu, 1);

	struct attach_screen *scr = malloc(sizeof(*scr));
	struct attach_ui ui = { 0 };
	attach_render(&v, &ui, 80, 24, scr);
	int y = find_line(scr, "CPU target 200%");
	cr_expect(y == 2, "CPU line:\n%s\n%s", scr->lines[2].text, scr->lines[3].text);
	cr_expect(strstr(scr->lines[3].text, "parallelism 2.00") && strstr(scr->lines[3].text, "python 2.00"),
	          "%s", scr->lines[3].text);
	/* one bar per core, both full of the target's glyph */
	const char *cores = scr->lines[4].text;
	cr_expect(strstr(cores, "0[\u2588\u2588\u2588") && strstr(cores, " 1[\u2588\u2588\u2588") &&
	                  strstr(cores, "100%"),
	          "cores line: %s", cores);
	cr_expect(!strstr(cores, "\u00b7"), "a busy core shows idle cells: %s", cores);
	/* the threads' CPU column */
	y = find_line(scr, "reader-2");
	cr_assert(y >= 0);
	cr_expect(strstr(scr->lines[y].text, " 100   1 "), "%s", scr->lines[y].text);

	/* ASCII where the locale is not UTF-8 */
	struct attach_status st = oncpu_status;
	st.ascii = true;
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(strstr(scr->lines[4].text, "0[###") && strstr(scr->lines[4].text, "1[###"), "%s",
	          scr->lines[4].text);
	for (int k = 0; k < scr->height; k++)
		for (const char *p = scr->lines[k].text; *p; p++)
			cr_expect((unsigned char)*p < 0x80, "not ASCII: %s", scr->lines[k].text);
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, many_cores_fit)
{
	setlocale(LC_ALL, "C.UTF-8");
	const long counts[] = { 8, 9, 64, 256 };
	for (size_t c = 0; c < 4; c++) {
		struct attach_model *m = tick_model(counts[c]);
		for (int i = 0; i < 20; i++)
			tick_round(m, (uint64_t)i * S / 10, (int)counts[c] - 1, FTP_CPU_NATIVE, NULL, 0);
		struct attach_view v = { 0 };
		cr_assert_eq(attach_view_build(m, &oncpu_status, ATTACH_SORT_OWN, false, 0, &v), 0);
		cr_expect_eq(v.ncores, (size_t)counts[c]);
		struct attach_screen *scr = malloc(sizeof(*scr));
		struct attach_ui ui = { 0 };
		attach_render(&v, &ui, 80, 24, scr);
		/* the header takes at most 6 lines: the threads still show */
		int tabs = find_line(scr, "[1 Threads]");
		cr_expect(tabs >= 0 && tabs <= 6, "%ld cores: tabs at line %d", counts[c], tabs);
		cr_expect(find_line(scr, "reader-2") >= 0, "%ld cores: no thread row", counts[c]);
		for (int y = 0; y < scr->height; y++)
			cr_expect(columns(scr->lines[y].text) <= 80, "%ld cores line %d: %s", counts[c], y,
			          scr->lines[y].text);
		if (counts[c] > 8) {
			int y = find_line(scr, "busy 0-");
			cr_expect(y >= 0 && strstr(scr->lines[y + 1].text, "target"),
			          "%ld cores: compact lines", counts[c]);
		}
		free(scr);
		attach_view_release(&v);
		attach_model_destroy(m);
	}
}

Test(attach_view, refcount_panel)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct attach_model *m = tick_model(2);
	for (int i = 0; i < 30; i++)
		tick_round(m, (uint64_t)i * S / 10, 1, FTP_CPU_REFCOUNT, "Pay\x1b[2Jload", 0x7000);
	for (int i = 30; i < 40; i++)
		tick_round(m, (uint64_t)i * S / 10, 1, FTP_CPU_PYTHON, NULL, 0);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &oncpu_status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_assert_eq(v.nrefcount, 1);
	const struct attach_refcount_row *r = &v.refcount[0];
	cr_expect(!strchr(r->type, '\x1b'), "the type reached the view raw");
	cr_expect(strstr(r->type, "Pay") && strstr(r->type, "load"), "%s", r->type);
	cr_expect_eq(r->objects, 2);
	cr_expect_eq(r->samples, 60);
	cr_expect_float_eq(r->share, 60.0 / 80.0, 1e-9);
	cr_expect_str_eq(r->where, "reader rc.py:29");
	cr_expect_str_eq(v.refcount_note, "");
	struct attach_screen *scr = malloc(sizeof(*scr));
	struct attach_ui ui = { .panel = ATTACH_REFCOUNT };
	attach_render(&v, &ui, 80, 24, scr);
	int y = find_line(scr, "reader rc.py:29");
	cr_assert(y >= 0, "no refcount row");
	cr_expect(strstr(scr->lines[y].text, "Pay") && strstr(scr->lines[y].text, " 2 ") &&
	                  strstr(scr->lines[y].text, "75.0"),
	          "%s", scr->lines[y].text);
	cr_expect(find_line(scr, "[4 Refcount]") >= 0);

	/* the messages: a GIL build, no DWARF, no contention, no ticks */
	struct attach_status st = oncpu_status;
	st.free_threaded = false;
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(strstr(v.refcount_note, "GIL build"), "%s", v.refcount_note);
	st = oncpu_status;
	st.oncpu_dwarf = "none (stripped)";
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(strstr(v.refcount_note, "no DWARF"), "%s", v.refcount_note);
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(find_line(scr, "no DWARF") >= 0);
	st = oncpu_status;
	st.oncpu = false;
	st.oncpu_source = "perf_event_open: Permission denied";
	cr_assert_eq(attach_view_build(m, &st, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(strstr(v.oncpu_note, "Permission denied"), "%s", v.oncpu_note);
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(find_line(scr, "on-CPU samples perf_event_open: Permission denied") == 3);
	cr_expect(find_line(scr, "parallelism") == 2, "the sample-based figures stay");
	attach_view_release(&v);
	attach_model_destroy(m);

	m = tick_model(2);
	for (int i = 0; i < 10; i++)
		tick_round(m, (uint64_t)i * S / 10, 1, FTP_CPU_PYTHON, NULL, 0);
	cr_assert_eq(attach_view_build(m, &oncpu_status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect(strstr(v.refcount_note, "no reference count contention"), "%s", v.refcount_note);
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* ---- the window: the last ATTACH_WINDOW seconds, or since the reset ---- */

static const struct attach_function_row *function_row(const struct attach_view *v, const char *name)
{
	for (size_t i = 0; i < v->nfunctions; i++)
		if (!strcmp(v->functions[i].function, name))
			return &v->functions[i];
	return NULL;
}

Test(attach_view, window_drops_old_seconds)
{
	struct attach_model *m = model();
	static const struct attach_frame old_fn = { 0x500, "old_fn", "/src/app.py", 5, 4 };
	static const struct attach_frame new_fn = { 0x600, "new_fn", "/src/app.py", 9, 8 };
	struct thr old = { 31, "old-1", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &old_fn, 1 };
	struct thr waiter = { 33, "waiter", FTP_STATE_LOCK, 0, FTP_WAIT_LOCK, 0x7f00, 31, &old_fn, 1 };
	struct thr young = { 32, "new-1", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &new_fn, 1 };
	for (int i = 0; i < 150; i++) {
		struct thr ths[] = { old, waiter };
		round_of(m, (uint64_t)i * S / 10, ths, 2);
	}
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.function_samples, 100, "the window is 10 s of 10 Hz");
	cr_expect_eq(v.nlocks, 1);
	for (int i = 150; i < 300; i++)
		round_of(m, (uint64_t)i * S / 10, &young, 1);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.function_samples, 100);
	cr_expect(function_row(&v, "new_fn"), "the window's function is missing");
	cr_expect(!function_row(&v, "old_fn"), "a function of 15 s ago is still counted");
	cr_expect_eq(v.nlocks, 0, "a lock of 15 s ago is still counted");
	cr_expect(!row(&v, 31) && !row(&v, 33), "threads gone 15 s ago are still shown");
	cr_expect_float_eq(v.effective, 1.0, 1e-9);

	/* half the window old: the shares are of the window's samples */
	for (int i = 300; i < 350; i++) {
		struct thr ths[] = { old };
		round_of(m, (uint64_t)i * S / 10, ths, 1);
	}
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	const struct attach_function_row *o = function_row(&v, "old_fn"), *n = function_row(&v, "new_fn");
	cr_assert(o && n);
	cr_expect_eq(o->own + n->own, v.function_samples);
	cr_expect(n->own >= 40 && n->own <= 60, "new_fn %llu of %llu", (unsigned long long)n->own,
	          (unsigned long long)v.function_samples);

	/* a pause in the samples: seconds 35-39 old, then 50-54 new; the
	 * ring's slots of 35-39 are not the window's (45-54) */
	for (int i = 350; i < 400; i++) {
		struct thr ths[] = { old };
		round_of(m, (uint64_t)i * S / 10, ths, 1);
	}
	for (int i = 500; i < 550; i++)
		round_of(m, (uint64_t)i * S / 10, &young, 1);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.function_samples, 50);
	cr_expect(!function_row(&v, "old_fn"), "seconds before a pause are still counted");

	/* r: since the reset */
	cr_assert_eq(attach_model_reset(m), 0);
	for (int i = 550; i < 560; i++)
		round_of(m, (uint64_t)i * S / 10, &young, 1);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_eq(v.function_samples, 10);
	cr_expect(!function_row(&v, "old_fn"));
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* A thread and a code object new every second for 20 minutes: the view
 * holds the window's only. */
Test(attach_view, churn_stays_bounded)
{
	struct attach_model *m = model();
	char fname[32];
	for (int sec = 0; sec < 1200; sec++) {
		snprintf(fname, sizeof(fname), "fn_%d", sec);
		struct attach_frame f = { 0x10000 + (uint64_t)sec * 64, fname, "<string>", 1, 1 };
		char tname[32];
		snprintf(tname, sizeof(tname), "churn-%d", sec);
		struct thr t = { 1000 + sec, tname, FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &f, 1 };
		for (int i = 0; i < 10; i++)
			round_of(m, (uint64_t)sec * S + (uint64_t)i * S / 10, &t, 1);
	}
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_OWN, false, 0, &v), 0);
	cr_expect_leq(v.nfunctions, ATTACH_WINDOW + 1);
	cr_expect_leq(v.nthreads, 3);
	cr_expect(function_row(&v, "fn_1199"));
	cr_expect(!function_row(&v, "fn_1000"));
	attach_view_release(&v);
	attach_model_destroy(m);
}

/* ---- keys: < > sort, t thread filter, ? help ---- */

Test(attach_view, sort_keys)
{
	struct attach_ui ui = { 0 };
	cr_expect_eq(attach_key(&ui, '>'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_TOTAL);
	cr_expect_eq(ui.panel, ATTACH_FUNCTIONS);
	cr_expect_eq(attach_key(&ui, '>'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_NAME);
	cr_expect_eq(attach_key(&ui, '>'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_OWN);
	cr_expect_eq(attach_key(&ui, '<'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_NAME);
	cr_expect_eq(attach_key(&ui, '<'), ATTACH_REBUILD);
	cr_expect_eq(ui.sort, ATTACH_SORT_TOTAL);

	/* the sorted column is marked, the rows in its order */
	struct attach_model *m = model();
	fight(m);
	struct attach_view v = { 0 };
	cr_assert_eq(attach_view_build(m, &status, ui.sort, false, 0, &v), 0);
	struct attach_screen *scr = malloc(sizeof(*scr));
	attach_render(&v, &ui, 80, 24, scr);
	int y = find_line(scr, "*TOTAL%");
	cr_assert(y >= 0, "no sorted column mark");
	for (size_t i = 1; i < v.nfunctions; i++)
		cr_expect_geq(v.functions[i - 1].total, v.functions[i].total);
	cr_expect(strstr(scr->lines[y + 1].text, v.functions[0].function), "%s", scr->lines[y + 1].text);
	cr_assert_eq(attach_view_build(m, &status, ATTACH_SORT_NAME, false, 0, &v), 0);
	for (size_t i = 1; i < v.nfunctions; i++)
		cr_expect_leq(strcmp(v.functions[i - 1].function, v.functions[i].function), 0);
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, thread_filter)
{
	setlocale(LC_ALL, "C.UTF-8");
	struct attach_model *m = model();
	static const struct attach_frame fa = { 0x700, "alpha", "/src/app.py", 3, 2 };
	static const struct attach_frame fb = { 0x800, "beta", "/src/app.py", 7, 6 };
	struct thr a = { 41, "one", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &fa, 1 };
	struct thr b = { 42, "two", FTP_STATE_RUNNING, 1, FTP_WAIT_NONE, 0, 0, &fb, 1 };
	for (int i = 0; i < 40; i++) {
		struct thr ths[] = { a, b };
		round_of(m, (uint64_t)i * S / 10, ths, i % 4 ? 1 : 2); /* two: a quarter of the rounds */
	}
	struct attach_view v = { 0 };
	struct attach_ui ui = { 0 };
	struct attach_screen *scr = malloc(sizeof(*scr));
	cr_assert_eq(attach_view_build(m, &status, ui.sort, ui.by_line, ui.thread, &v), 0);
	cr_expect_eq(v.function_samples, 50);
	/* select "two" in the threads panel, then t */
	attach_render(&v, &ui, 80, 24, scr);
	ui.sel[ATTACH_THREADS] = v.threads[0].tid == 42 ? 0 : 1;
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect_eq(ui.selected, 42);
	cr_expect_eq(attach_key(&ui, 't'), ATTACH_REBUILD);
	cr_expect_eq(ui.thread, 42);
	cr_expect_eq(ui.panel, ATTACH_FUNCTIONS);
	cr_assert_eq(attach_view_build(m, &status, ui.sort, ui.by_line, ui.thread, &v), 0);
	cr_expect_eq(v.function_samples, 10, "the thread's samples only");
	cr_assert_eq(v.nfunctions, 1);
	cr_expect_str_eq(v.functions[0].function, "beta");
	cr_expect_float_eq(v.functions[0].own_share, 1.0, 1e-9);
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(find_line(scr, "thread two (42)") >= 0, "the filter is not shown");
	cr_expect(find_line(scr, "alpha") < 0);
	/* t again: every thread */
	cr_expect_eq(attach_key(&ui, 't'), ATTACH_REBUILD);
	cr_expect_eq(ui.thread, 0);
	cr_assert_eq(attach_view_build(m, &status, ui.sort, ui.by_line, ui.thread, &v), 0);
	cr_expect_eq(v.nfunctions, 2);
	attach_render(&v, &ui, 80, 24, scr);
	cr_expect(find_line(scr, "thread two (42)") < 0);
	free(scr);
	attach_view_release(&v);
	attach_model_destroy(m);
}

Test(attach_view, help_lists_every_key)
{
	struct attach_view v = { 0 };
	struct attach_ui ui = { 0 };
	struct attach_screen *scr = malloc(sizeof(*scr));
	cr_expect_eq(attach_key(&ui, '?'), ATTACH_DRAW);
	attach_render(&v, &ui, 80, 24, scr);
	const char *keys[] = { "  q ", "  p, space", "Tab, 1 - 4",  "  s, < >",  "  l ",
		               "  t ", "  r ",       "j k, arrows", "PgUp PgDn", "  ? " };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect(find_line(scr, keys[i]) >= 0, "help at 80x24 lacks '%s'", keys[i]);
	free(scr);
}
