/* SPDX-License-Identifier: MIT */
/* ftprof record: sample a running process, or a command it launches, into a
 * profile file: options, the probe, the writer, and a summary; the loop is
 * ui/sampler.c's. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ftprof/util.h"
#include "launch.h"
#include "options.h"
#include "profile.h"
#include "sampler.h"
#include "ui.h"
#include "writers/writers.h"

static const char usage_head[] =
        "usage: ftprof record [OPTIONS] [-p] PID\n"
        "       ftprof record [OPTIONS] -- COMMAND [ARGS...]\n"
        "\n"
        "Samples every Python thread of PID, or of COMMAND from its start to its exit, and\n"
        "writes the stacks to a profile file.\n"
        "\n"
        "  -o, --output FILE     where to write (default ftprof-PID.EXT; '-' for stdout)\n"
        "  -f, --format FORMAT   one of these (if absent, the one FILE's extension names):\n";
/* the formats' lines come from the writers' table */
static const char usage_tail[] =
        "  -r, --rate HZ         samples per second (default 100; '1k' = 1000, '1M')\n"
        "  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit)\n"
        "  -t, --threads         start each stack with a `thread \"NAME\" (TID)` frame\n"
        "  -i, --idle            keep samples of threads that are not running (waiting on a\n"
        "                        lock, the GIL, I/O or sleeping); dropped by default, but\n"
        "                        raw keeps every sample\n"
        "  -s, --states          end each stack with the thread's state as a frame\n"
        "                        ([running], [lock], [gil], [io], ...), to split waiting\n"
        "                        time by cause in a flame graph (folded, speedscope)\n"
        "  -g, --gil             keep only samples of the thread holding the GIL (GIL builds)\n"
        "  -F, --function        one frame per function: no line numbers, its lines merged\n"
        "      --reverse         svg: the callers view, an icicle: each function where time\n"
        "                        is spent at the top, what called it below\n"
        "      --blocking        stop the target for each sample: exact stacks, slower target\n"
        "      --nonblocking     never stop the target (default); torn stacks are dropped\n"
        "      --native          interleave native frames (C functions, with the Python\n"
        "                        frames in place of the eval calls): of threads on a CPU,\n"
        "                        from their on-CPU samples, without stopping the target;\n"
        "                        with --blocking, of every thread, stopped\n"
        "      --no-oncpu        no on-CPU samples (perf_event cpu-clock: CPUs, what the\n"
        "                        cores ran, refcount contention); see docs/oncpu.md\n"
        "      --max-depth N     frames kept per stack (default 4096)\n"
        "  -q, --quiet           no progress line or summary\n"
        "  -p, --pid PID         the process to sample (or give PID as the argument)\n"
        "  -h, --help            show this help\n";

static void put_usage(FILE *f)
{
	fputs(usage_head, f);
	writers_put_help(f, 24);
	fputs(usage_tail, f);
}

struct settings {
	struct cmd_options o;
	const char *output;
	const struct writer *w;
	bool format_given, threads, gil, function, quiet, states, reverse;
	unsigned max_depth;
};

struct record {
	const struct writer *w;
	struct writer_stream *stream; /* a streaming writer's */
	bool idle;
	bool every;    /* the writer takes every sample (raw): no --idle filter */
	bool gil_only; /* --gil */
	FILE *out;
	struct profile *profile;
	struct ftp_probe *probe;
	const struct ftp_target_info *info;
	struct ftp_error err; /* the last round's */
	double weight;        /* seconds this round stands for */
	int error;            /* a failed write or allocation: stop */
	bool no_gil;          /* --gil on a target without a GIL: stopped */
	bool exec;            /* the target executed another program: stopped, how says why */
	char how[sizeof(((struct ftp_error *)0)->msg)];
	uint64_t cpustat_ns; /* when the machine's CPU times were last written; 0 never */
	/* counts */
	uint64_t read, written, idle_dropped, gil_dropped, torn, empty;
};

#define CPUSTAT_NS 1000000000ull /* how often the machine's CPU times are written */
#define MAX_CPUS 4096

/* The machine's CPU times, to a writer that keeps them: now when force,
 * else when a second has passed since the last. */
static void write_cpustat(struct record *r, bool force)
{
	uint64_t now = ftp_now_ns();
	if (!r->w->cpustat || r->error || (!force && r->cpustat_ns && now - r->cpustat_ns < CPUSTAT_NS))
		return;
	r->cpustat_ns = now;
	static struct ftp_cpu_time cpus[MAX_CPUS];
	int n = ftp_cpu_times(cpus, MAX_CPUS, NULL);
	if (n > 0 && r->w->cpustat(r->stream, r->out, now, cpus, (unsigned)n) < 0)
		r->error = -FTP_E_IO;
}

static bool is_active(const struct ftp_sample *s)
{
	return ftp_state_active(s->state, s->on_cpu);
}

static int on_sample(const struct ftp_sample *s, void *arg)
{
	struct record *r = arg;
	r->read++;
	if (s->flags & FTP_SAMPLE_TORN) {
		r->torn++;
		if (!r->every)
			return 0;
	} else if (!s->nframes) {
		r->empty++;
		if (!r->every)
			return 0;
	}
	if (r->gil_only && s->holds_gil != 1) {
		r->gil_dropped++;
		return 0;
	}
	if (!r->every && !r->idle && !is_active(s)) {
		r->idle_dropped++;
		return 0;
	}
	if (r->w->sample) {
		if (r->w->sample(r->stream, r->profile, r->out, s, r->weight) < 0) {
			r->error = errno == ENOMEM ? -FTP_E_NOMEM : -FTP_E_IO;
			return r->error;
		}
	} else if (profile_add(r->profile, s, r->weight) < 0) {
		r->error = -FTP_E_NOMEM;
		return r->error;
	}
	r->written++;
	return 0;
}

/* The sampler's round: every thread of the target once. */
static int take_round(void *arg, double weight)
{
	struct record *r = arg;
	r->weight = weight;
	write_cpustat(r, false);
	int ret = ftp_probe_sample(r->probe, on_sample, r, &r->err);
	profile_end_round(r->profile);
	if (ret == -FTP_E_EXITED)
		return ret;
	if (r->gil_only && r->info->free_threaded && !r->info->gil_enabled) {
		r->no_gil = true; /* --gil would keep nothing */
		return SAMPLER_STOP;
	}
	if (ret == -FTP_E_EXEC) {
		/* what it runs now is another program: stop here */
		snprintf(r->how, sizeof(r->how), "%s", r->err.msg);
		r->exec = true;
		return SAMPLER_STOP;
	}
	if (r->error)
		return SAMPLER_STOP;
	return ret;
}

static void show_progress(void *arg, FILE *f, const struct sampler *s, double secs)
{
	const struct record *r = arg;
	fprintf(f, "ftprof record: %llu samples (%llu stacks), %.1f Hz, %llu torn, %llu missed, %.1f s",
	        (unsigned long long)s->rounds, (unsigned long long)r->written,
	        secs > 0 ? (double)s->rounds / secs : 0.0, (unsigned long long)r->torn,
	        (unsigned long long)s->missed, secs);
}

/* record's own options (the shared ones are options.c's). */
static int own_option(void *ctx, int c, const char *arg)
{
	struct settings *st = ctx;
	switch (c) {
	case 'o':
		st->output = arg;
		return 0;
	case 'f':
		if (!(st->w = writer_by_name(arg))) {
			char names[256];
			writers_names(names, sizeof(names));
			ui_error("record", "unknown format '%s' (%s)", arg, names);
			return EXIT_USAGE;
		}
		st->format_given = true;
		return 0;
	case 't':
		st->threads = true;
		return 0;
	case 'g':
		st->gil = true;
		return 0;
	case 'F':
		st->function = true;
		return 0;
	case 's':
		st->states = true;
		return 0;
	case 'R':
		st->reverse = true;
		return 0;
	case 'D': {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);
		if (!*arg || *end || v == 0 || v > 1000000) {
			ui_error("record", "invalid --max-depth '%s'", arg);
			return EXIT_USAGE;
		}
		st->max_depth = (unsigned)v;
		return 0;
	}
	case 'q':
		st->quiet = true;
		return 0;
	case 'h':
		put_usage(stdout);
		return ui_finish_output("record", EXIT_OK) == EXIT_OK ? OPTIONS_DONE : EXIT_FATAL;
	}
	return EXIT_USAGE; /* not reached: getopt returns only what was declared */
}

static int parse_args(int argc, char **argv, struct settings *st)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "threads", no_argument, NULL, 't' },
		{ "gil", no_argument, NULL, 'g' },
		{ "function", no_argument, NULL, 'F' },
		{ "states", no_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'R' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ret = options_parse(&st->o, argc, argv, "+o:f:r:d:tigFsqp:h", longopts, own_option, st);
	if (ret)
		return ret;
	if (st->output && !st->format_given) {
		if (writer_by_path(st->output, &st->w) < 0) {
			char names[256];
			writers_names(names, sizeof(names));
			ui_error("record",
			         "cannot write '%s': ftprof writes %s profiles (record folded stacks and "
			         "render them with flamegraph.pl or inferno)",
			         st->output, names);
			return EXIT_USAGE;
		}
	}
	if (st->reverse && !(st->w->flags & WRITER_VIEW)) {
		ui_error("record", "--reverse is for flame graphs drawn by ftprof (-f svg), not %s",
		         st->w->name);
		return EXIT_USAGE;
	}
	return 0;
}

/* Opens the output before anything is sampled, so that a bad path costs
 * nothing. *created says whether the file is new: only then may a failure
 * remove it (never /dev/null, never a file that was there). */
static FILE *open_output(struct settings *st, char *path, size_t len, bool *created)
{
	*created = false;
	if (st->output && strcmp(st->output, "-") == 0) {
		snprintf(path, len, "standard output");
		return stdout;
	}
	if (st->output)
		snprintf(path, len, "%s", st->output);
	else if (st->o.pid)
		snprintf(path, len, "ftprof-%d.%s", (int)st->o.pid, st->w->default_ext);
	else
		snprintf(path, len, "ftprof-%s.%s", ftp_base_name(st->o.command[0]), st->w->default_ext);
	struct stat before;
	bool existed = lstat(path, &before) == 0;
	FILE *f = fopen(path, "w");
	*created = f && !existed;
	if (!f)
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
	return f;
}

static void summary(const struct settings *st, const struct record *r, const struct sampler *s,
                    const char *path, const char *ended, const struct ftp_probe_stats *stats)
{
	const struct ftp_target_info *info = r->info;
	double secs = (double)(s->end_ns - s->start_ns) / 1e9;
	if (st->quiet)
		return;
	fprintf(stderr,
	        "ftprof record: %llu samples of pid %d (Python %s%s) in %.2f s: %.1f Hz achieved, %g Hz "
	        "asked%s%s\n",
	        (unsigned long long)s->rounds, (int)info->pid, info->version_str,
	        info->free_threaded ? ", free-threaded" : "", secs, secs > 0 ? (double)s->rounds / secs : 0.0,
	        st->o.rate, ended ? "; " : "", ended ? ended : "");
	fprintf(stderr, "ftprof record: %llu thread stacks read, %llu written", (unsigned long long)r->read,
	        (unsigned long long)r->written);
	if (stats->reused)
		fprintf(stderr, ", %llu unchanged (the thread had not run%s since its last sample)",
		        (unsigned long long)stats->reused, info->gil_enabled ? ", or not held the GIL," : "");
	if (r->gil_dropped)
		fprintf(stderr, ", %llu of threads not holding the GIL left out (--gil)",
		        (unsigned long long)r->gil_dropped);
	if (r->idle_dropped)
		fprintf(stderr, ", %llu of idle threads left out (--idle keeps them)",
		        (unsigned long long)r->idle_dropped);
	if (r->empty)
		fprintf(stderr, ", %llu without Python frames%s", (unsigned long long)r->empty,
		        r->every ? " (written, stack empty)" : "");
	if (r->torn)
		fprintf(stderr, ", %llu torn (changed while read) %s", (unsigned long long)r->torn,
		        r->every ? "written without their stack" : "dropped");
	if (stats->retried)
		fprintf(stderr, ", %llu read a second time (torn in the round's snapshot)",
		        (unsigned long long)stats->retried);
	if (s->missed)
		fprintf(stderr, "; %llu samples missed (the sampler fell behind the rate)",
		        (unsigned long long)s->missed);
	if (s->failed_rounds)
		fprintf(stderr, "; %llu samples failed", (unsigned long long)s->failed_rounds);
	if (s->cut_rounds)
		fprintf(stderr, "; %llu samples missed threads (the thread list changed while read)",
		        (unsigned long long)s->cut_rounds);
	if (stats->job_stopped)
		fprintf(stderr,
		        "; the target was stopped by a signal (SIGSTOP, SIGTSTP) in %llu samples, "
		        "and left stopped",
		        (unsigned long long)stats->job_stopped);
	fprintf(stderr, "; thread states from %s", info->state_source);
	if (stats->syscall_sites + stats->syscall_reads)
		fprintf(stderr, " (%llu waits named by their call site, %llu by /proc)",
		        (unsigned long long)stats->syscall_sites, (unsigned long long)stats->syscall_reads);
	fputc('\n', stderr);
	if (info->oncpu_period_ns || strcmp(info->oncpu_source, "off") != 0) {
		fprintf(stderr, "ftprof record: on-CPU samples from %s", info->oncpu_source);
		if (info->oncpu_period_ns)
			fprintf(stderr, ": %llu ticks of %.3g ms of CPU%s", (unsigned long long)stats->ticks,
			        (double)info->oncpu_period_ns / 1e6, r->every ? "" : " (raw keeps them)");
		if (stats->ticks_lost)
			fprintf(stderr, ", %llu lost (a thread's ring was full)",
			        (unsigned long long)stats->ticks_lost);
		if (info->oncpu_dwarf[0])
			fprintf(stderr, "; refcount objects: %s", info->oncpu_dwarf);
		fputc('\n', stderr);
	}
	if (stats->native_sampled + stats->native_missing)
		fprintf(stderr,
		        "ftprof record: native stacks from on-CPU samples in %llu samples; %llu without "
		        "(threads blocked: off-CPU native stacks need --blocking)\n",
		        (unsigned long long)stats->native_sampled, (unsigned long long)stats->native_missing);
	if (!(st->w->flags & WRITER_STREAM))
		fprintf(stderr, "ftprof record: wrote %zu unique stacks to %s (%s)\n",
		        profile_stacks(r->profile), path, st->w->name);
	else
		fprintf(stderr, "ftprof record: wrote %llu samples to %s (%s)\n",
		        (unsigned long long)r->written, path, st->w->name);
}

/* Removes the output file ftprof created when nothing went into it; never
 * a file that was there before (a device, a file being replaced). */
static void remove_created(const char *path, bool created)
{
	struct stat st;
	if (created && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(path);
}

/* The exit code, and the message that explains one that is not 0. */
static int conclude(const struct record *r, const struct sampler *s, const struct ftp_probe_stats *stats,
                    const char *path)
{
	const int sig = sampler_signal();
	if (r->no_gil) {
		ui_error("record",
		         "--gil: pid %d runs a free-threaded Python without a GIL, so no thread ever holds "
		         "one; record without --gil",
		         (int)r->info->pid);
		return EXIT_USAGE;
	}
	if (r->error == -FTP_E_NOMEM) {
		ui_error("record", "out of memory after %llu samples", (unsigned long long)s->rounds);
		return EXIT_FATAL;
	}
	if (r->error) {
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
		return EXIT_FATAL;
	}
	if (s->rounds == 0) {
		ui_error("record", "no sample was taken: %s",
		         sig           ? "interrupted"
		         : s->last < 0 ? r->err.msg
		                       : "the target exited");
		return sig == SIGINT ? EXIT_INTERRUPTED : EXIT_FATAL;
	}
	if (r->written == 0) {
		ui_error("record", "no stack was written: %s",
		         r->idle_dropped && stats->job_stopped == s->rounds
		                 ? "the target was stopped by a signal the whole time (SIGCONT resumes it; "
		                   "--idle keeps the stacks where it stopped)"
		         : r->gil_dropped  ? "no thread held the GIL (the GIL is held while Python code runs)"
		         : r->idle_dropped ? "every thread was idle (--idle keeps idle threads)"
		                           : "no thread had Python frames");
		return EXIT_PARTIAL;
	}
	return EXIT_OK;
}

int cmd_record(int argc, char **argv)
{
	struct settings st = { .o = { .cmd = "record",
		                      .which = OPT_PID | OPT_COMMAND | OPT_RATE | OPT_DURATION |
		                               OPT_BLOCKING | OPT_NATIVE | OPT_IDLE | OPT_ONCPU,
		                      .rate = SAMPLER_DEFAULT_RATE },
		               .w = &writers[0] };
	int code = parse_args(argc, argv, &st);
	if (code)
		return code == OPTIONS_DONE ? EXIT_OK : code;

	char path[4096];
	bool created;
	FILE *out = open_output(&st, path, sizeof(path), &created);
	if (!out)
		return EXIT_FATAL;

	sampler_catch_signals();
	signal(SIGPIPE, SIG_IGN);

	struct ftp_error err = { 0 };
	struct ftp_probe_opts opts = {
		.blocking = st.o.blocking,
		.thread_names = true,
		.task_state = true,
		.task_events = true,
		.max_depth = st.max_depth,
		.native = st.o.native,
		.oncpu_hz = st.o.no_oncpu ? 0 : (unsigned)st.o.rate,
	};
	struct launch child = { 0 };
	struct ftp_probe *probe = NULL;
	int ret = sampler_open_target(&st.o, &opts, &child, &probe, &err);
	if (ret < 0) {
		if (ret == -FTP_E_INTERRUPTED)
			ui_error("record", "interrupted before the first sample");
		else
			ui_error("record", "%s", err.msg);
		if (out != stdout) {
			fclose(out);
			remove_created(path, created);
		}
		launch_finish(&child, sampler_signal());
		return ret == -FTP_E_INTERRUPTED ? EXIT_INTERRUPTED : ui_exit_code(ret);
	}
	const struct ftp_target_info *info = ftp_probe_info(probe);

	struct record r = { .w = st.w,
		            .idle = st.o.idle,
		            .every = st.w->flags & WRITER_EVERY_SAMPLE,
		            .gil_only = st.gil,
		            .out = out,
		            .probe = probe,
		            .info = info };
	struct sampler s = { .rate = st.o.rate,
		             .duration = st.o.duration,
		             .child = st.o.command ? &child : NULL,
		             .progress = !st.quiet,
		             .round = take_round,
		             .show = show_progress,
		             .arg = &r };
	struct profile_opts po = { .thread_root = st.threads,
		                   .timeline = st.w->flags & WRITER_TIMELINE,
		                   .by_function = st.function,
		                   .states = st.states };
	struct profile_target target = { .pid = info->pid,
		                         .version = info->version_str,
		                         .free_threaded = info->free_threaded,
		                         .command = info->cmdline[0] ? info->cmdline : info->executable,
		                         .rate = st.o.rate };
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	target.realtime_offset_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec - (int64_t)ftp_now_ns();
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	target.cores = cores > 0 ? (int)cores : 0;
	target.tick_ns = info->oncpu_period_ns;
	if (!(r.profile = profile_create(&po)) || profile_set_target(r.profile, &target) < 0) {
		ui_error("record", "out of memory");
		code = EXIT_FATAL;
		goto done;
	}
	if (r.w->begin && r.w->begin(&r.stream, r.profile, out) < 0)
		r.error = errno == ENOMEM ? -FTP_E_NOMEM : -FTP_E_IO;

	if (!r.error) {
		sampler_run(&s);
		write_cpustat(&r, true);
	} else {
		s.start_ns = s.end_ns = ftp_now_ns();
	}
	const int sig = sampler_signal();
	const char *ended = NULL;
	char command_end[sizeof(r.how) + 160];
	if (sig)
		ended = sig == SIGINT ? "interrupted" : "stopped by a signal";
	else if (s.end == SAMPLER_END_EXITED)
		ended = "the target exited";
	else if (r.exec)
		ended = r.how;

	struct writer_opts wo = { .reverse = st.reverse };
	if (!r.error && r.w->write && r.w->write(r.profile, out) < 0)
		r.error = -FTP_E_IO;
	else if (!r.error && r.w->write_view && r.w->write_view(r.profile, &wo, out) < 0)
		r.error = -FTP_E_IO;
	if (!r.error && r.w->finish && r.w->finish(r.stream, r.profile, out) < 0)
		r.error = errno == ENOMEM ? -FTP_E_NOMEM : -FTP_E_IO;
	if (!r.error && fflush(out) != 0)
		r.error = -FTP_E_IO;
	if (st.o.command) {
		/* --gil refused: the command was launched for nothing */
		launch_finish(&child, r.no_gil ? SIGTERM : sig);
		char status[128];
		launch_describe(&child, status, sizeof(status));
		snprintf(command_end, sizeof(command_end), "%s%sthe command %s", ended == r.how ? r.how : "",
		         ended == r.how ? "; " : "", status);
		ended = command_end;
	}
	struct ftp_probe_stats stats;
	ftp_probe_stats(probe, &stats);
	summary(&st, &r, &s, path, ended, &stats);
	code = conclude(&r, &s, &stats, path);
done:
	if (out != stdout && fclose(out) != 0 && code == EXIT_OK) {
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
		code = EXIT_FATAL;
	}
	if (out != stdout && s.rounds == 0)
		remove_created(path, created);
	if (r.w->end)
		r.w->end(r.stream);
	profile_destroy(r.profile);
	ftp_probe_destroy(probe);
	if (st.o.command && !child.reaped)
		launch_finish(&child, SIGTERM);
	return code;
}
