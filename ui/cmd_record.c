/* SPDX-License-Identifier: MIT */
/* ftprof record: sample a running process, or a command it launches, into a
 * profile file. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"
#include "profile.h"
#include "ui.h"

#define DEFAULT_RATE 100.0
#define MAX_RATE 1000000.0 /* a round costs a microsecond or more: beyond, all is overhead */
/* A sleep and its wakeup cost about 25-30 us of CPU in a VM: a wait shorter
 * than this spins on the clock instead, which costs less and is exact. */
#define SPIN_NS 20000u
#define PROGRESS_NS 250000000  /* progress line refresh */
#define ATTACH_POLL_NS 1000000 /* how often a launched command is probed until Python is up */

static const char usage[] =
        "usage: ftprof record [OPTIONS] [-p] PID\n"
        "       ftprof record [OPTIONS] -- COMMAND [ARGS...]\n"
        "\n"
        "Samples every Python thread of PID, or of COMMAND from its start to its exit, and\n"
        "writes the stacks to a profile file.\n"
        "\n"
        "  -o, --output FILE     where to write (default ftprof-PID.EXT; '-' for stdout)\n"
        "  -f, --format FORMAT   folded (default; flamegraph.pl, inferno), speedscope\n"
        "                        (speedscope.app, one profile per thread) or raw (a line per\n"
        "                        sample: time, tid, state, GIL, thread, stack); picked from\n"
        "                        FILE's extension (.folded .txt / .json / .raw .tsv) if absent\n"
        "  -r, --rate HZ         samples per second (default 100; '1k' = 1000, '1M')\n"
        "  -d, --duration SECS   stop after SECS seconds (default: until Ctrl-C or exit)\n"
        "  -t, --threads         start each stack with a `thread \"NAME\" (TID)` frame\n"
        "  -i, --idle            keep samples of threads that are not running (blocked on a\n"
        "                        lock, the GIL, I/O or sleeping); dropped by default\n"
        "  -g, --gil             keep only samples of the thread holding the GIL (GIL builds)\n"
        "  -F, --function        one frame per function: no line numbers, its lines merged\n"
        "      --blocking        stop the target for each sample: exact stacks, slower target\n"
        "      --nonblocking     never stop the target (default); torn stacks are dropped\n"
        "      --native          interleave native frames (C functions, with the Python\n"
        "                        frames in place of the eval calls); implies --blocking\n"
        "      --max-depth N     frames kept per stack (default 4096)\n"
        "  -q, --quiet           no progress line or summary\n"
        "  -p, --pid PID         the process to sample (or give PID as the argument)\n"
        "  -h, --help            show this help\n";

enum format { FORMAT_FOLDED, FORMAT_SPEEDSCOPE, FORMAT_RAW };

static const char *const format_names[] = { "folded", "speedscope", "raw" };
static const char *const format_exts[] = { "folded", "speedscope.json", "raw" };

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct record {
	enum format format;
	bool idle;
	bool gil_only; /* --gil */
	FILE *out;
	struct profile *profile;
	double weight; /* seconds this round stands for */
	int error;     /* a failed write or allocation: stop */
	/* counts */
	uint64_t rounds, read, written, idle_dropped, gil_dropped, torn, empty, missed, failed_rounds;
	uint64_t cut_rounds; /* rounds whose thread list changed while read */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / 1000000000u), (long)(t % 1000000000u) };
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL); /* EINTR: the caller checks */
}

/* Running Python or native code, or runnable: what py-spy calls active. */
static bool is_active(const struct ftp_sample *s)
{
	switch (s->state) {
	case FTP_STATE_RUNNING:
	case FTP_STATE_NATIVE:
	case FTP_STATE_GC:
	case FTP_STATE_UNKNOWN:
		return true;
	default:
		return false;
	}
}

static int on_sample(const struct ftp_sample *s, void *arg)
{
	struct record *r = arg;
	r->read++;
	if (s->flags & FTP_SAMPLE_TORN) {
		r->torn++;
		return 0;
	}
	if (!s->nframes) {
		r->empty++;
		return 0;
	}
	if (r->gil_only && s->holds_gil != 1) {
		r->gil_dropped++;
		return 0;
	}
	if (!r->idle && !is_active(s)) {
		r->idle_dropped++;
		return 0;
	}
	int ret = r->format == FORMAT_RAW ? profile_write_raw(r->profile, r->out, s)
	                                  : profile_add(r->profile, s, r->weight);
	if (ret) {
		r->error = ret < -1 ? ret : -FTP_E_IO;
		return r->error;
	}
	r->written++;
	return 0;
}

/* "100", "2.5", "1k", "10khz", "50Hz", "1M", "1MHz". */
static bool parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return false;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'M') {
		v *= 1000000;
		end++;
	}
	if (strcasecmp(end, "hz") == 0)
		end += 2;
	*out = v;
	return *end == '\0';
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !isfinite(v))
		return false;
	if (*end == 's' && end[1] == '\0')
		end++;
	*out = v;
	return *end == '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* The format FILE's extension names: 0 and *fmt set, 1 for an extension that
 * says nothing, -1 for one ftprof does not write. */
static int format_from_path(const char *path, enum format *fmt)
{
	if (ends_with(path, ".json"))
		*fmt = FORMAT_SPEEDSCOPE;
	else if (ends_with(path, ".raw") || ends_with(path, ".tsv"))
		*fmt = FORMAT_RAW;
	else if (ends_with(path, ".folded") || ends_with(path, ".collapsed") || ends_with(path, ".txt") ||
	         ends_with(path, ".stacks"))
		*fmt = FORMAT_FOLDED;
	else if (ends_with(path, ".svg") || ends_with(path, ".html") || ends_with(path, ".pb") ||
	         ends_with(path, ".pb.gz"))
		return -1;
	else
		return 1;
	return 0;
}

static void progress(const struct record *r, uint64_t start, uint64_t now, bool final)
{
	double secs = (double)(now - start) / 1e9;
	fprintf(stderr,
	        "\r\033[Kftprof record: %llu samples (%llu stacks), %.1f Hz, %llu torn, %llu missed, %.1f s",
	        (unsigned long long)r->rounds, (unsigned long long)r->written,
	        secs > 0 ? (double)r->rounds / secs : 0.0, (unsigned long long)r->torn,
	        (unsigned long long)r->missed, secs);
	if (final)
		fputs("\r\033[K", stderr);
}

struct settings {
	const char *output;
	enum format format;
	bool format_given, threads, idle, gil, function, blocking, nonblocking_given, native, quiet;
	double rate, duration;
	unsigned max_depth;
	pid_t pid;
	char **command; /* NULL-terminated, or NULL */
};

static int parse_args(int argc, char **argv, struct settings *st)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "format", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },   { "duration", required_argument, NULL, 'd' },
		{ "threads", no_argument, NULL, 't' },      { "idle", no_argument, NULL, 'i' },
		{ "blocking", no_argument, NULL, 'B' },     { "nonblocking", no_argument, NULL, 'n' },
		{ "native", no_argument, NULL, 'N' },       { "max-depth", required_argument, NULL, 'D' },
		{ "quiet", no_argument, NULL, 'q' },        { "pid", required_argument, NULL, 'p' },
		{ "gil", no_argument, NULL, 'g' },          { "function", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	const char *pid_arg = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:f:r:d:tigFqp:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			st->output = optarg;
			break;
		case 'f': {
			size_t i;
			for (i = 0; i < 3 && strcmp(optarg, format_names[i]) != 0; i++)
				;
			if (i == 3 && strcmp(optarg, "collapsed") == 0)
				i = FORMAT_FOLDED;
			if (i == 3) {
				ui_error("record", "unknown format '%s' (folded, speedscope or raw)", optarg);
				return EXIT_USAGE;
			}
			st->format = (enum format)i;
			st->format_given = true;
			break;
		}
		case 'r':
			if (!parse_rate(optarg, &st->rate) || st->rate <= 0) {
				ui_error("record",
				         "invalid rate '%s' (a number of samples per second above 0)",
				         optarg);
				return EXIT_USAGE;
			}
			if (st->rate > MAX_RATE) {
				ui_error("record",
				         "rate %s is beyond what the sampler can pace (at most %g Hz)",
				         optarg, MAX_RATE);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			if (!parse_seconds(optarg, &st->duration) || st->duration <= 0) {
				ui_error("record", "invalid duration '%s' (seconds, above 0)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			st->threads = true;
			break;
		case 'i':
			st->idle = true;
			break;
		case 'g':
			st->gil = true;
			break;
		case 'F':
			st->function = true;
			break;
		case 'B':
			st->blocking = true;
			break;
		case 'n':
			st->blocking = false;
			st->nonblocking_given = true;
			break;
		case 'N':
			st->native = true;
			break;
		case 'D': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || v == 0 || v > 1000000) {
				ui_error("record", "invalid --max-depth '%s'", optarg);
				return EXIT_USAGE;
			}
			st->max_depth = (unsigned)v;
			break;
		}
		case 'q':
			st->quiet = true;
			break;
		case 'p':
			pid_arg = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return ui_finish_output("record", EXIT_OK) == EXIT_OK ? -1 : EXIT_FATAL;
		default:
			if (optopt)
				ui_error("record",
				         "unknown option or missing value '-%c' (see 'ftprof record --help')",
				         optopt);
			else
				ui_error("record",
				         "unknown option or missing value '%s' (see 'ftprof record --help')",
				         argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	bool dashdash = optind > 1 && strcmp(argv[optind - 1], "--") == 0;
	if (pid_arg && optind < argc) {
		ui_error("record", "give either a PID or a command, not both");
		return EXIT_USAGE;
	}
	if (!pid_arg && optind < argc) {
		if (!dashdash && optind + 1 == argc)
			pid_arg = argv[optind];
		else
			st->command = &argv[optind];
	}
	if (!pid_arg && !st->command) {
		ui_error("record", "no process given (ftprof record PID, or ftprof record -- COMMAND)");
		return EXIT_USAGE;
	}
	if (pid_arg && !ui_parse_pid("record", pid_arg, &st->pid))
		return EXIT_USAGE;
	if (st->native && st->nonblocking_given) {
		ui_error("record", "--native needs --blocking: native stacks are unwound while the target is "
		                   "stopped");
		return EXIT_USAGE;
	}
	if (st->native)
		st->blocking = true;
	if (st->output && !st->format_given) {
		int r = format_from_path(st->output, &st->format);
		if (r < 0) {
			ui_error(
			        "record",
			        "cannot write '%s': ftprof writes folded, speedscope or raw profiles (record "
			        "folded stacks and render them with flamegraph.pl or inferno)",
			        st->output);
			return EXIT_USAGE;
		}
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
	if (st->output) {
		snprintf(path, len, "%s", st->output);
	} else if (st->pid) {
		snprintf(path, len, "ftprof-%d.%s", (int)st->pid, format_exts[st->format]);
	} else {
		const char *base = strrchr(st->command[0], '/');
		snprintf(path, len, "ftprof-%s.%s", base ? base + 1 : st->command[0],
		         format_exts[st->format]);
	}
	struct stat before;
	bool existed = lstat(path, &before) == 0;
	FILE *f = fopen(path, "w");
	*created = f && !existed;
	if (!f)
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
	return f;
}

/* For a launched command: waits until its Python is up, or it has exited. */
static int attach_launched(struct launch *l, const struct ftp_probe_opts *opts, struct ftp_probe **probe,
                           struct ftp_error *err)
{
	for (;;) {
		int ret = ftp_probe_create(probe, l->pid, opts, err);
		if (ret == 0)
			return 0;
		if (launch_exited(l) || ret == -FTP_E_PERM || ret == -FTP_E_NOMEM) {
			if (launch_exited(l)) {
				char how[128];
				launch_describe(l, how, sizeof(how));
				return ftp_error_set(
				        err, FTP_E_EXITED, 0,
				        "the command %s before a Python interpreter was found in it", how);
			}
			return ret;
		}
		if (stop_signal)
			return -FTP_E_INTERRUPTED;
		sleep_until(now_ns() + ATTACH_POLL_NS);
	}
}

/* Recording keeps descriptors per target thread (its perf_event, its /proc
 * syscall file): a target with thousands of threads needs more than the
 * usual soft limit of 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void summary(const struct settings *st, const struct record *r, const struct ftp_target_info *info,
                    double secs, const char *path, const char *ended, const struct ftp_probe_stats *stats)
{
	if (st->quiet)
		return;
	fprintf(stderr,
	        "ftprof record: %llu samples of pid %d (Python %s%s) in %.2f s: %.1f Hz achieved, %g Hz "
	        "asked%s%s\n",
	        (unsigned long long)r->rounds, (int)info->pid, info->version_str,
	        info->free_threaded ? ", free-threaded" : "", secs, secs > 0 ? (double)r->rounds / secs : 0.0,
	        st->rate, ended ? "; " : "", ended ? ended : "");
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
		fprintf(stderr, ", %llu without Python frames", (unsigned long long)r->empty);
	if (r->torn)
		fprintf(stderr, ", %llu torn (changed while read) dropped", (unsigned long long)r->torn);
	if (stats->retried)
		fprintf(stderr, ", %llu read a second time (torn in the round's snapshot)",
		        (unsigned long long)stats->retried);
	if (r->missed)
		fprintf(stderr, "; %llu samples missed (the sampler fell behind the rate)",
		        (unsigned long long)r->missed);
	if (r->failed_rounds)
		fprintf(stderr, "; %llu samples failed", (unsigned long long)r->failed_rounds);
	if (r->cut_rounds)
		fprintf(stderr, "; %llu samples missed threads (the thread list changed while read)",
		        (unsigned long long)r->cut_rounds);
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
	if (st->format != FORMAT_RAW)
		fprintf(stderr, "ftprof record: wrote %zu unique stacks to %s (%s)\n",
		        profile_stacks(r->profile), path, format_names[st->format]);
	else
		fprintf(stderr, "ftprof record: wrote %llu samples to %s (raw)\n",
		        (unsigned long long)r->written, path);
}

/* Removes the output file ftprof created when nothing went into it; never
 * a file that was there before (a device, a file being replaced). */
static void remove_created(const char *path, bool created)
{
	struct stat st;
	if (created && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(path);
}

int cmd_record(int argc, char **argv)
{
	struct settings st = { .rate = DEFAULT_RATE };
	int code = parse_args(argc, argv, &st);
	if (code)
		return code < 0 ? EXIT_OK : code;

	char path[4096];
	bool created;
	FILE *out = open_output(&st, path, sizeof(path), &created);
	if (!out)
		return EXIT_FATAL;

	ui_catch_stop_signals(on_signal);
	signal(SIGPIPE, SIG_IGN);

	struct ftp_error err = { 0 };
	struct ftp_probe_opts opts = {
		.blocking = st.blocking,
		.thread_names = true,
		.task_state = true,
		.task_events = true,
		.max_depth = st.max_depth,
		.native = st.native,
	};
	struct launch child = { 0 };
	struct ftp_probe *probe = NULL;
	int ret;
	if (st.command) {
		ret = launch_start(&child, st.command, &err);
		if (ret == 0)
			ret = attach_launched(&child, &opts, &probe, &err);
	} else {
		ret = ftp_probe_create(&probe, st.pid, &opts, &err);
	}
	raise_fd_limit(); /* after the fork: the command keeps the limit it was given */
	if (ret < 0) {
		if (ret == -FTP_E_INTERRUPTED)
			ui_error("record", "interrupted before the first sample");
		else
			ui_error("record", "%s", err.msg);
		if (out != stdout) {
			fclose(out);
			remove_created(path, created);
		}
		launch_finish(&child, stop_signal);
		return ret == -FTP_E_INTERRUPTED ? EXIT_INTERRUPTED : ui_exit_code(ret);
	}
	const struct ftp_target_info *info = ftp_probe_info(probe);

	struct record r = { .format = st.format, .idle = st.idle, .gil_only = st.gil, .out = out };
	struct profile_opts po = { .thread_root = st.threads,
		                   .timeline = st.format == FORMAT_SPEEDSCOPE,
		                   .by_function = st.function };
	if (!(r.profile = profile_create(&po))) {
		ui_error("record", "out of memory");
		code = EXIT_FATAL;
		goto done;
	}
	if (st.format == FORMAT_RAW && raw_write_header(out, info, st.rate) < 0)
		r.error = -FTP_E_IO;

	/* Sleeps end when asked, not up to the default 50 us later: at high
	 * rates the slack would cap the rate. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	const uint64_t period = (uint64_t)(1e9 / st.rate);
	const uint64_t start = now_ns();
	const uint64_t deadline = st.duration > 0 ? start + (uint64_t)(st.duration * 1e9) : UINT64_MAX;
	const bool show_progress = !st.quiet && isatty(STDERR_FILENO);
	uint64_t next = start, last_round = 0, last_progress = start, last_check = start;
	const char *ended = NULL;
	bool no_gil = false;
	char how[sizeof(err.msg) + 8] = "", command_end[sizeof(how) + 160];
	while (!stop_signal && !r.error) {
		uint64_t t = now_ns();
		if (t >= deadline)
			break;
		r.weight = last_round ? (double)(t - last_round) / 1e9 : (double)period / 1e9;
		last_round = t;
		ret = ftp_probe_sample(probe, on_sample, &r, &err);
		profile_end_round(r.profile);
		if (ret == -FTP_E_EXITED) {
			ended = "the target exited";
			break;
		}
		if (st.gil && info->free_threaded && !info->gil_enabled) {
			no_gil = true; /* --gil would keep nothing */
			break;
		}
		if (ret == -FTP_E_EXEC) {
			/* what it runs now is another program: stop here */
			snprintf(how, sizeof(how), "%s", err.msg);
			ended = how;
			break;
		}
		if (ret == -FTP_E_TORN) {
			/* the threads read before the list changed were kept */
			r.rounds++;
			r.cut_rounds++;
		} else if (ret < 0 && ret != r.error) {
			r.failed_rounds++;
			if (st.command && launch_exited(&child))
				break;
		} else if (ret >= 0) {
			r.rounds++;
		}
		t = now_ns();
		if (st.command && t - last_check > 100000000u) {
			last_check = t;
			if (launch_exited(&child))
				break;
		}
		if (show_progress && t - last_progress >= PROGRESS_NS) {
			progress(&r, start, t, false);
			last_progress = t;
		}
		next += period;
		if (next <= t) {
			/* A round took longer than the period: count the ticks it
			 * overran and go on at once rather than bursting to catch
			 * up. */
			r.missed += (t - next) / period + 1;
			next = t;
		} else {
			uint64_t until = next < deadline ? next : deadline;
			if (until - t < SPIN_NS) {
				while (now_ns() < until && !stop_signal)
					;
			} else {
				sleep_until(until);
			}
		}
	}
	const uint64_t end = now_ns();
	if (show_progress)
		progress(&r, start, end, true);
	if (stop_signal)
		ended = stop_signal == SIGINT ? "interrupted" : "stopped by a signal";

	if (!r.error && r.format != FORMAT_RAW) {
		int w = st.format == FORMAT_SPEEDSCOPE ? profile_write_speedscope(r.profile, out, info)
		                                       : profile_write_folded(r.profile, out);
		if (w < 0)
			r.error = -FTP_E_IO;
	}
	if (!r.error && fflush(out) != 0)
		r.error = -FTP_E_IO;
	if (st.command) {
		/* --gil refused: the command was launched for nothing */
		launch_finish(&child, no_gil ? SIGTERM : stop_signal);
		char status[128];
		launch_describe(&child, status, sizeof(status));
		snprintf(command_end, sizeof(command_end), "%s%sthe command %s", ended == how ? how : "",
		         ended == how ? "; " : "", status);
		ended = command_end;
	}
	struct ftp_probe_stats stats;
	ftp_probe_stats(probe, &stats);
	summary(&st, &r, info, (double)(end - start) / 1e9, path, ended, &stats);
	if (no_gil) {
		ui_error("record",
		         "--gil: pid %d runs a free-threaded Python without a GIL, so no thread ever holds "
		         "one; record without --gil",
		         (int)info->pid);
		code = EXIT_USAGE;
	} else if (r.error == -FTP_E_NOMEM) {
		ui_error("record", "out of memory after %llu samples", (unsigned long long)r.rounds);
		code = EXIT_FATAL;
	} else if (r.error) {
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
		code = EXIT_FATAL;
	} else if (r.rounds == 0) {
		ui_error("record", "no sample was taken: %s",
		         stop_signal ? "interrupted"
		         : ret < 0   ? err.msg
		                     : "the target exited");
		code = stop_signal == SIGINT ? EXIT_INTERRUPTED : EXIT_FATAL;
	} else if (r.written == 0) {
		ui_error("record", "no stack was written: %s",
		         r.idle_dropped && stats.job_stopped == r.rounds
		                 ? "the target was stopped by a signal the whole time (SIGCONT resumes it; "
		                   "--idle keeps the stacks where it stopped)"
		         : r.gil_dropped  ? "no thread held the GIL (the GIL is held while Python code runs)"
		         : r.idle_dropped ? "every thread was idle (--idle keeps idle threads)"
		                          : "no thread had Python frames");
		code = EXIT_PARTIAL;
	}
done:
	if (out != stdout && fclose(out) != 0 && code == EXIT_OK) {
		ui_error("record", "cannot write '%s': %s", path, strerror(errno));
		code = EXIT_FATAL;
	}
	if (out != stdout && r.rounds == 0)
		remove_created(path, created);
	profile_destroy(r.profile);
	ftp_probe_destroy(probe);
	if (st.command && !child.reaped)
		launch_finish(&child, SIGTERM);
	return code;
}
