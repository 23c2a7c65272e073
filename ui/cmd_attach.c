/* SPDX-License-Identifier: MIT */
/* ftprof attach: the live, top-like view of a running process. The sampler
 * (ui/sampler.c) paces the rounds; after each, this file feeds the model,
 * reads the keys and, at most twice a second, builds the view, lays it out
 * and hands the lines to ui/tui.c. The terminal is restored on every way
 * out: q, a stop signal (caught by the sampler: only a flag), the target's
 * exit (then the last figures stay until q). A command it launched writes
 * to a file, not to the screen, and gets SIGTERM on q. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach_view.h"
#include "ftprof/util.h"
#include "launch.h"
#include "options.h"
#include "sampler.h"
#include "tui.h"
#include "ui.h"

#define DRAW_NS 500000000ull     /* at most 2 Hz */
#define IDLE_POLL_NS 50000000    /* keys after sampling ended */
#define CPUSTAT_NS 1000000000ull /* how often the machine's CPU times are read */
#define TRIM_NS 10000000000ull   /* how often code objects unseen for as long are freed */
#define MAX_CPUS 4096

static const char usage[] =
        "usage: ftprof attach [OPTIONS] [-p] PID\n"
        "       ftprof attach [OPTIONS] -- COMMAND [ARGS...]\n"
        "\n"
        "Shows, live, what every Python thread of PID is doing: its state, where it is,\n"
        "what it waits on and who holds it; the functions where time goes; the contended\n"
        "locks; the effective parallelism and, on GIL builds, how busy the GIL is.\n"
        "q quits and leaves the target running; ? lists the keys (docs/attach.md).\n"
        "A COMMAND is launched and watched; q ends it (SIGTERM).\n"
        "\n"
        "  -r, --rate HZ         samples per second (default 100; '1k' = 1000)\n"
        "  -i, --idle            the functions panel counts idle threads' samples too\n"
        "      --blocking        stop the target for each sample: exact stacks, slower target\n"
        "      --nonblocking     never stop the target (default); torn stacks are counted\n"
        "      --native          native frames (C functions, by library) in the threads' and\n"
        "                        functions' panels: from the on-CPU samples' stacks for\n"
        "                        threads on a CPU, or for every thread with --blocking\n"
        "      --no-oncpu        no on-CPU samples (perf_event cpu-clock): no core bars, no\n"
        "                        refcount panel; CPU figures from the samples alone\n"
        "      --snapshot SECS   no screen: sample SECS seconds, print the four panels\n"
        "                        as text (120 columns) and exit\n"
        "  -p, --pid PID         the process to watch (or give PID as the argument)\n"
        "      --output-log FILE where a launched COMMAND's stdout and stderr go\n"
        "                        (default /dev/null: never the screen)\n"
        "  -h, --help            show this help\n";

struct settings {
	struct cmd_options o;
	double snapshot;        /* seconds; 0: the live view */
	const char *output_log; /* a launched command's output; NULL: /dev/null */
};

struct attach {
	struct ftp_probe *probe;
	const struct ftp_target_info *info;
	struct attach_model *model;
	struct tui *tui; /* NULL for --snapshot */
	struct sampler *sampler;
	struct attach_ui ui;
	struct attach_view view;
	struct attach_screen *screen;
	struct attach_frame *frames;
	size_t frames_cap;
	struct ftp_error err;
	bool ascii, built, quit;
	int error; /* out of memory: stop */
	const char *ended;
	char ended_buf[160];
	struct launch *child;                         /* the launched command, or NULL */
	const char *output_log;                       /* where its output goes */
	uint64_t start_ns, rounds0, missed0, failed0; /* at the attach or the reset */
	uint64_t next_draw;
	uint64_t cpustat_ns; /* when the machine's CPU times were last read; 0 never */
	uint64_t trim_ns;    /* when the probe's code cache was last trimmed */
};

static int own_option(void *ctx, int c, const char *arg)
{
	struct settings *st = ctx;
	switch (c) {
	case 'S':
		if (!options_parse_seconds(arg, &st->snapshot) || st->snapshot <= 0) {
			ui_error("attach", "invalid --snapshot '%s'", arg);
			return EXIT_USAGE;
		}
		return 0;
	case 'L':
		st->output_log = arg;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return ui_finish_output("attach", EXIT_OK) == EXIT_OK ? OPTIONS_DONE : EXIT_FATAL;
	}
	return EXIT_USAGE;
}

static int on_sample(const struct ftp_sample *s, void *arg)
{
	struct attach *at = arg;
	if (ftp_grow((void **)&at->frames, &at->frames_cap, s->nframes + 1, sizeof(*at->frames), 64) < 0)
		return at->error = -FTP_E_NOMEM;
	size_t n = 0;
	long python = -1; /* the innermost Python frame: where a thread waits */
	for (unsigned i = 0; i < s->nframes; i++) {
		const struct ftp_frame *f = &s->frames[i];
		if (f->flags & FTP_FRAME_NATIVE) {
			/* --native: a C function, keyed by its name and library */
			at->frames[n++] =
			        (struct attach_frame){ .function = f->symbol ? f->symbol : "[unknown]",
				                       .file = f->object ? f->object : "",
				                       .line = -1 };
			continue;
		}
		if (!f->code)
			continue;
		if (python < 0)
			python = (long)n;
		at->frames[n++] = (struct attach_frame){ .code = f->code->addr,
			                                 .function = f->code->qualname[0] ? f->code->qualname
			                                                                  : f->code->name,
			                                 .file = f->code->filename,
			                                 .line = f->line,
			                                 .firstline = f->code->firstlineno };
	}
	const struct attach_frame *py = python >= 0 ? &at->frames[python] : NULL;
	struct attach_sample as = {
		.a = { .round = s->round,
		       .time_ns = s->time_ns,
		       .tid = s->tid,
		       .thread = s->name,
		       .state = s->state,
		       .on_cpu = s->on_cpu,
		       .gil = s->holds_gil,
		       .wait_kind = s->wait.kind,
		       .wait_address = s->wait.address,
		       .wait_type = s->wait.type,
		       .holder = s->wait.holder,
		       .holder_how = s->wait.holder_how,
		       .function = py ? py->function : NULL,
		       .file = py ? py->file : NULL,
		       .line = py ? py->line : -1,
		       .cpu = s->cpu,
		       .nticks = s->nticks,
		       .ticks = s->ticks },
		.frames = at->frames,
		.nframes = n,
		.torn = s->flags & FTP_SAMPLE_TORN,
	};
	if (attach_model_add(at->model, &as) < 0)
		return at->error = -FTP_E_NOMEM;
	return 0;
}

/* The machine's CPU times, about once a second (force: now). */
static void cpustat(struct attach *at, bool force)
{
	uint64_t now = ftp_now_ns();
	if (!at->info->oncpu_period_ns || (!force && at->cpustat_ns && now - at->cpustat_ns < CPUSTAT_NS))
		return;
	at->cpustat_ns = now;
	static struct ftp_cpu_time cpus[MAX_CPUS];
	int n = ftp_cpu_times(cpus, MAX_CPUS, NULL);
	if (n > 0 && attach_model_cpustat(at->model, now, cpus, (unsigned)n) < 0)
		at->error = -FTP_E_NOMEM;
}

/* The view keeps no ftp_code of the probe (it copies what it shows): the
 * code objects the window's rounds did not see are freed, once a window, so
 * that an attach to a program making code without end stays bounded. */
static void trim(struct attach *at)
{
	uint64_t now = ftp_now_ns();
	if (!at->trim_ns)
		at->trim_ns = now;
	if (now - at->trim_ns < TRIM_NS)
		return;
	at->trim_ns = now;
	double rounds = at->sampler->rate * (double)TRIM_NS / 1e9;
	ftp_probe_trim(at->probe, rounds > 100 ? (uint64_t)rounds : 100);
	malloc_trim(0); /* the heap's free pages, wherever they lie */
}

/* A watch runs for hours, and each window frees and makes again what it
 * holds. glibc's malloc raises its threshold for mapping a block each time
 * a mapped block is freed; large blocks then come from the heap and leave
 * holes in it that a later, larger block cannot use. Fixed thresholds keep
 * them mapped, given back to the system when freed. */
static void malloc_for_hours(void)
{
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

static void build(struct attach *at)
{
	const struct ftp_target_info *info = at->info;
	const struct sampler *s = at->sampler;
	uint64_t now = ftp_now_ns();
	struct ftp_probe_stats stats;
	ftp_probe_stats(at->probe, &stats);
	struct attach_status st = {
		.pid = info->pid,
		.command = info->cmdline[0] ? info->cmdline : info->executable,
		.version = info->version_str,
		.free_threaded = info->free_threaded,
		.gil_enabled = info->gil_enabled,
		.elapsed_s = (double)(now - at->start_ns) / 1e9,
		.rate_asked = s->rate,
		.rounds = s->rounds - at->rounds0,
		.missed = s->missed - at->missed0,
		.failed = s->failed_rounds - at->failed0,
		.ended = at->ended,
		.ascii = at->ascii,
		.oncpu_source = info->oncpu_source,
		.oncpu = info->oncpu_period_ns > 0,
		.oncpu_dwarf = info->oncpu_dwarf,
		.ticks_lost = stats.ticks_lost,
		.output_log = at->child ? at->output_log : NULL,
	};
	if (attach_view_build(at->model, &st, at->ui.sort, at->ui.by_line, at->ui.thread, &at->view) < 0)
		at->error = -FTP_E_NOMEM;
	at->built = true;
}

static void draw(struct attach *at)
{
	int w, h;
	tui_size(at->tui, &w, &h);
	attach_render(&at->view, &at->ui, w, h, at->screen);
	tui_draw(at->tui, at->screen);
}

/* Reads the keys waiting; returns whether to go on. */
static bool keys(struct attach *at)
{
	bool redraw = false, rebuild = false;
	int k;
	while ((k = tui_key(at->tui)) >= 0) {
		switch (attach_key(&at->ui, k)) {
		case ATTACH_QUIT:
			at->quit = true;
			return false;
		case ATTACH_RESET:
			if (attach_model_reset(at->model) < 0)
				at->error = -FTP_E_NOMEM;
			at->start_ns = ftp_now_ns();
			at->rounds0 = at->sampler->rounds;
			at->missed0 = at->sampler->missed;
			at->failed0 = at->sampler->failed_rounds;
			cpustat(at, true);
			rebuild = true;
			break;
		case ATTACH_REBUILD:
			rebuild = true;
			break;
		case ATTACH_DRAW:
			redraw = true;
			break;
		case ATTACH_NONE:
			break;
		}
	}
	/* paused: the figures shown stay, the keys still move through them */
	if (rebuild && !at->ui.paused)
		build(at);
	if (rebuild || redraw)
		draw(at);
	return true;
}

static int take_round(void *arg, double weight)
{
	struct attach *at = arg;
	(void)weight;
	int ret = ftp_probe_sample(at->probe, on_sample, at, &at->err);
	attach_model_end_round(at->model);
	cpustat(at, false);
	trim(at);
	if (at->error)
		return SAMPLER_STOP;
	if (ret == -FTP_E_EXITED)
		return ret;
	if (ret == -FTP_E_EXEC) {
		at->ended = "the target executed another program";
		return SAMPLER_STOP;
	}
	if (!at->tui)
		return ret;
	if (!keys(at))
		return SAMPLER_STOP;
	uint64_t now = ftp_now_ns();
	if (now >= at->next_draw) {
		at->next_draw = now + DRAW_NS;
		if (!at->ui.paused || !at->built)
			build(at);
		draw(at);
	}
	return ret;
}

/* After sampling ended with the target still on screen: the last figures,
 * until q or a stop signal. */
static void linger(struct attach *at)
{
	build(at);
	draw(at);
	while (!at->quit && !sampler_signal() && !at->error) {
		keys(at);
		struct timespec ts = { 0, IDLE_POLL_NS };
		nanosleep(&ts, NULL);
	}
}

static void print_snapshot(struct attach *at)
{
	build(at);
	for (int p = 0; p < ATTACH_PANELS; p++) {
		at->ui.panel = (enum attach_panel)p;
		size_t rows = p == ATTACH_THREADS     ? at->view.nthreads
		              : p == ATTACH_FUNCTIONS ? (at->view.nfunctions < 30 ? at->view.nfunctions : 30)
		              : p == ATTACH_LOCKS     ? at->view.nlocks
		                                      : at->view.nrefcount + 1;
		int height = 16 + (int)rows;
		attach_render(&at->view, &at->ui, 120,
		              height < ATTACH_MAX_HEIGHT ? height : ATTACH_MAX_HEIGHT, at->screen);
		/* the header once; then each panel from its tabs on, without the
		 * blank lines below it */
		int from = 0, to = at->screen->height - 1;
		if (p)
			while (from < to && at->screen->lines[from].attr != ATTACH_ATTR_TABS)
				from++;
		while (to > from && !at->screen->lines[to - 1].text[0])
			to--;
		for (int y = from; y < to; y++)
			printf("%s\n", at->screen->lines[y].text);
	}
}

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "snapshot", required_argument, NULL, 'S' },
		{ "output-log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct settings st = { .o = { .cmd = "attach",
		                      .which = OPT_PID | OPT_COMMAND | OPT_RATE | OPT_BLOCKING | OPT_IDLE |
		                               OPT_ONCPU | OPT_NATIVE,
		                      .rate = SAMPLER_DEFAULT_RATE } };
	int code = options_parse(&st.o, argc, argv, "+r:ip:h", longopts, own_option, &st);
	if (code)
		return code == OPTIONS_DONE ? EXIT_OK : code;
	if (st.output_log && !st.o.command) {
		ui_error("attach", "--output-log is for a launched command (ftprof attach -- COMMAND)");
		return EXIT_USAGE;
	}
	if (!st.snapshot && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		ui_error("attach",
		         "the live view needs a terminal (--snapshot SECS prints the panels as text)");
		return EXIT_USAGE;
	}
	struct attach at = { .ascii = tui_locale_ascii() };
	if (st.snapshot)
		at.ascii = false; /* escaped either way; UTF-8 text for a file */
	struct launch child = { 0 };
	if (st.o.command) {
		/* its output must not garble the screen */
		at.output_log = st.output_log ? st.output_log : "/dev/null";
		child.redirect = true;
		child.output_fd = open(at.output_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (child.output_fd < 0) {
			ui_error("attach", "cannot open --output-log %s: %s", at.output_log, strerror(errno));
			return EXIT_FATAL;
		}
		at.child = &child;
	}

	malloc_for_hours();
	sampler_catch_signals(); /* before curses, which then leaves them to us */
	struct ftp_probe_opts opts = {
		.blocking = st.o.blocking,
		.thread_names = true,
		.task_state = true,
		.task_events = true,
		.native = st.o.native,
		.oncpu_hz = st.o.no_oncpu ? 0 : (unsigned)st.o.rate,
	};
	int ret = sampler_open_target(&st.o, &opts, &child, &at.probe, &at.err);
	if (at.child)
		close(child.output_fd); /* the child has its own */
	if (ret < 0) {
		if (at.child)
			launch_finish(&child, sampler_signal() ? sampler_signal() : SIGTERM);
		if (ret == -FTP_E_INTERRUPTED)
			ui_error("attach", "interrupted before the first sample");
		else
			ui_error("attach", "%s", at.err.msg);
		return ret == -FTP_E_INTERRUPTED ? EXIT_INTERRUPTED : ui_exit_code(ret);
	}
	at.info = ftp_probe_info(at.probe);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	struct attach_model_opts mo = { .rate = st.o.rate,
		                        .cores = cores > 0 ? cores : 0,
		                        .idle = st.o.idle,
		                        .tick_s = (double)at.info->oncpu_period_ns / 1e9 };
	struct sampler s = {
		.rate = st.o.rate, .duration = st.snapshot, .child = at.child, .round = take_round, .arg = &at
	};
	at.sampler = &s;
	if (attach_model_create(&at.model, &mo) < 0 || !(at.screen = calloc(1, sizeof(*at.screen)))) {
		ui_error("attach", "out of memory");
		code = EXIT_FATAL;
		goto done;
	}
	if (!st.snapshot && tui_create(&at.tui, at.ascii) < 0) {
		ui_error("attach", "cannot take the terminal (is TERM set?)");
		code = EXIT_FATAL;
		goto done;
	}
	at.start_ns = ftp_now_ns();
	cpustat(&at, true);
	sampler_run(&s);
	if (at.child && (s.end == SAMPLER_END_COMMAND || s.end == SAMPLER_END_EXITED) &&
	    launch_exited(at.child)) {
		char how[128];
		launch_describe(at.child, how, sizeof(how));
		snprintf(at.ended_buf, sizeof(at.ended_buf), "the program %s", how);
		at.ended = at.ended_buf;
	} else if (s.end == SAMPLER_END_EXITED || s.end == SAMPLER_END_COMMAND) {
		at.ended = "the target exited";
	}
	if (at.tui && !at.quit && !sampler_signal() && !at.error)
		linger(&at);
	tui_destroy(at.tui); /* the terminal as it was, before anything is printed */
	at.tui = NULL;
	const int sig = sampler_signal();
	bool ended_it = false;
	if (at.child && !at.child->reaped) {
		/* q or a stop signal: the launched program ends with the view */
		launch_finish(at.child, sig ? sig : SIGTERM);
		ended_it = true;
	}
	if (at.error) {
		ui_error("attach", "out of memory after %llu samples", (unsigned long long)s.rounds);
		code = EXIT_FATAL;
		goto done;
	}
	if (st.snapshot) {
		print_snapshot(&at);
		code = ui_finish_output("attach", EXIT_OK);
	}
	char how[160] = "";
	if (ended_it) {
		char d[128];
		launch_describe(at.child, d, sizeof(d));
		snprintf(how, sizeof(how), "the program %s", d);
	}
	fprintf(stderr, "ftprof attach: %llu samples of pid %d in %.1f s; %s\n", (unsigned long long)s.rounds,
	        (int)at.info->pid, (double)(s.end_ns - s.start_ns) / 1e9,
	        how[0]     ? how
	        : at.ended ? at.ended
	        : sig      ? (sig == SIGINT ? "interrupted; the target runs on"
	                                    : "stopped by a signal; the target runs on")
	                   : "the target runs on");
	if (!code && s.rounds == 0)
		code = sig == SIGINT ? EXIT_INTERRUPTED : EXIT_FATAL;
done:
	tui_destroy(at.tui);
	if (at.child && !at.child->reaped)
		launch_finish(at.child, SIGTERM);
	attach_view_release(&at.view);
	attach_model_destroy(at.model);
	free(at.screen);
	free(at.frames);
	ftp_probe_destroy(at.probe);
	return code;
}
