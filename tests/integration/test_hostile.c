/* SPDX-License-Identifier: MIT */
/* ftprof against targets that fight back: interpreter state churning under the
 * sampler, a target stopped by someone else, one that execs or exits while
 * recorded, one ftprof may not read, ftprof itself interrupted, stopped or
 * killed, and names made of terminal escapes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1 /* ASan's quarantine grows the heap by design */
#else
#define UNDER_ASAN 0
#endif

struct version_param {
	char name[8];
};

/* ---- cleanup: every process a test starts is killed, even when it fails -- */

#define MAX_CHILDREN 32
static pid_t children[MAX_CHILDREN];
static struct test_target targets[8];

static void forget_child(pid_t pid)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void remember_child(pid_t pid)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (!children[i]) {
			children[i] = pid;
			return;
		}
}

static void kill_all(void)
{
	for (size_t i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (targets[i].pid > 0)
			test_target_stop(&targets[i]);
}

/* Starts a target into targets[slot] (stopped by kill_all at the end). */
static struct test_target *start_target(size_t slot, const char *interp, const char *script,
                                        const char *const *env)
{
	struct test_target *t = &targets[slot];
	cr_assert_eq(test_target_start(t, interp, test_source_path(script), env), 0, "%s %s did not start",
	             interp, script);
	return t;
}

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0)
		;
}

static void temp_path(char *buf, size_t len, const char *ext)
{
	char tmpl[] = "/tmp/ftprof-hostile-XXXXXX";
	int fd = mkstemp(tmpl);
	cr_assert(fd >= 0);
	close(fd);
	unlink(tmpl);
	snprintf(buf, len, "%s%s", tmpl, ext);
}

/* The whole file, malloc'd and NUL-terminated ("" when unreadable). */
static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	FILE *f = fopen(path, "r");
	if (f) {
		char chunk[4096];
		size_t n;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(f);
	}
	fclose(m);
	return buf;
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

/* Counts pid's tasks, and those in a stop ('t' or 'T') into *stopped. */
static int task_states(pid_t pid, int *stopped, int *job_stopped)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	int n = 0;
	*stopped = 0;
	if (job_stopped)
		*job_stopped = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char stat[512], file[400];
		snprintf(file, sizeof(file), "%s/%s/stat", path, de->d_name);
		FILE *f = fopen(file, "r");
		if (!f)
			continue;
		size_t len = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[len] = '\0';
		const char *paren = strrchr(stat, ')');
		if (!paren || !paren[1] || !paren[2])
			continue;
		char state = paren[2];
		n++;
		*stopped += state == 't' || state == 'T';
		if (job_stopped)
			*job_stopped += state == 'T';
	}
	closedir(d);
	return n;
}

/* Clock ticks pid has run in user mode, from /proc/PID/stat; -1 if unreadable. */
/* The CPU time every task of pid has used, in ns, as the scheduler counts it
 * (/proc/PID/task/TID/schedstat's first field); -1 when unreadable. */
static long long cpu_ns(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long long sum = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char file[400];
		long long ns;
		snprintf(file, sizeof(file), "%s/%s/schedstat", path, de->d_name);
		FILE *f = fopen(file, "r");
		if (!f)
			continue;
		if (fscanf(f, "%lld", &ns) == 1)
			sum += ns;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/* Waits up to grace_s for no task of pid to be stopped; returns how many are. */
static int stopped_after(pid_t pid, double grace_s)
{
	double end = now_s() + grace_s;
	int stopped;
	for (;;) {
		task_states(pid, &stopped, NULL);
		if (!stopped || now_s() >= end)
			return stopped;
		sleep_s(0.02);
	}
}

/* Starts ftprof with stdout and stderr into err_path; returns its pid,
 * killed by kill_all if the test fails. */
static pid_t spawn_ftprof(const char *const args[], const char *err_path)
{
	pid_t pid = test_spawn_ftprof(args, err_path);
	cr_assert(pid > 0);
	remember_child(pid);
	return pid;
}

/* Waits up to timeout_s for pid: its exit code or 128 + signal, or -1 after
 * killing it at the timeout. ru (NULL ok) gets its resource usage. */
static int wait_status(pid_t pid, double timeout_s, struct rusage *ru)
{
	double end = now_s() + timeout_s;
	struct rusage dummy;
	for (;;) {
		int status;
		pid_t r = wait4(pid, &status, WNOHANG, ru ? ru : &dummy);
		if (r == pid) {
			forget_child(pid);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (now_s() >= end)
			break;
		sleep_s(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	forget_child(pid);
	return -1;
}

/* A "Key:   123 kB" line of /proc/PID/status, in KiB; -1 if absent. */
static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Runs check_hostile.py with args; asserts it passes and returns its stdout
 * (malloc'd). */
static char *check_output(const char *what, const char *const args[])
{
	const char *argv[16] = { "/usr/bin/python3", NULL };
	char checker[4096];
	snprintf(checker, sizeof(checker), "%s", test_source_path("tests/integration/check_hostile.py"));
	argv[1] = checker;
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 120), 0);
	cr_expect_eq(r.status, 0, "%s: %s%s", what, r.out, r.err);
	char *out = r.out;
	free(r.err);
	return out;
}

static void pid_str(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, "%d", (int)pid);
}

/* ---- 1. churn ------------------------------------------------------------ */

static struct version_param churn_versions[] = { { "3.13t" }, { "3.12" } };

ParameterizedTestParameters(hostile, churn)
{
	return TEST_INTERP_PARAMS(struct version_param, churn_versions, name);
}

#define CHURN_SECONDS 12.0
#define RSS_AT 10.0

/* Threads, stacks, code objects, names and dicts change all the time while
 * record samples at 1 kHz and dumps run one after another: nothing crashes or
 * hangs, every written line is well formed, and ftprof's memory levels off. */
ParameterizedTest(struct version_param *v, hostile, churn, .timeout = 180, .fini = kill_all)
{
	const char *interp = test_interp_use(v->name);
	char counts[64], env_counts[96];
	temp_path(counts, sizeof(counts), ".json");
	snprintf(env_counts, sizeof(env_counts), "FTPROF_COUNTS=%s", counts);
	const char *env[] = { "FTPROF_SECONDS=60", env_counts, NULL };
	struct test_target *t = start_target(0, interp, "tests/targets/churn.py", env);
	char pid[16], raw[64], err[64], secs[16];
	pid_str(pid, sizeof(pid), t->pid);
	temp_path(raw, sizeof(raw), ".raw");
	temp_path(err, sizeof(err), ".err");
	snprintf(secs, sizeof(secs), "%g", CHURN_SECONDS);
	const char *args[] = {
		"record", "-r", "1000", "--idle", "-f", "raw", "-d", secs, "-o", raw, pid, NULL
	};
	double start = now_s();
	pid_t rec = spawn_ftprof(args, err);

	long rss_at = -1, hwm_at = -1, rss_last = -1, hwm_last = -1;
	double last_at = 0;
	int dumps = 0, partial = 0, blocking = 0;
	while (now_s() - start < CHURN_SECONDS + 20) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)rec, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == rec)
			break; /* ended: wait_status below reaps it */
		long rss = status_kb(rec, "VmRSS"), hwm = status_kb(rec, "VmHWM");
		if (rss > 0) {
			rss_last = rss;
			hwm_last = hwm;
			last_at = now_s() - start;
			if (rss_at < 0 && last_at >= RSS_AT) {
				rss_at = rss;
				hwm_at = hwm;
			}
		}
		if (now_s() - start > CHURN_SECONDS - 0.5) {
			sleep_s(0.02); /* near the end: watch the memory, not the dumps */
			continue;
		}
		const char *mode = dumps % 4 == 3 ? NULL : "--nonblocking";
		const char *json = dumps % 4 == 1 ? "--json" : NULL;
		const char *dargs[5] = { "dump" };
		size_t nd = 1;
		if (mode)
			dargs[nd++] = mode;
		if (json)
			dargs[nd++] = json;
		dargs[nd++] = pid;
		dargs[nd] = NULL;
		struct test_run r;
		cr_assert_eq(test_run_ftprof(&r, dargs), 0);
		cr_expect(r.status == 0 || r.status == 1, "dump %s %s: exit %d (a signal or a hang): %s",
		          mode ? mode : "(blocking)", json ? json : "", r.status, r.err);
		if (r.status == 1)
			cr_expect(strstr(r.err, "ftprof dump: "), "partial dump without a message: %s",
			          r.err);
		if (r.status == 0)
			cr_expect(strstr(r.out, json ? "\"main\": true" : "[main]"),
			          "dump without the main thread, and exit 0: %.3000s", r.out);
		partial += r.status == 1;
		test_run_free(&r);
		if (!mode) {
			blocking++;
			int stopped;
			task_states(t->pid, &stopped, NULL);
			cr_expect_eq(stopped, 0, "%d tasks of the target left stopped by a blocking dump",
			             stopped);
		}
		dumps++;
	}
	struct rusage ru;
	int status = wait_status(rec, 30, &ru);
	char *log = slurp(err);
	cr_expect_eq(status, 0, "record exited %d (%s): %s", status, status < 0 ? "hung" : "status", log);

	/* "N thread stacks read, M written, K torn (changed while read) dropped" */
	unsigned long long read = 0, written = 0, torn = 0;
	cr_expect(test_count_before(log, " thread stacks read, ", &read) &&
	                  test_count_before(log, " written", &written),
	          "no summary from record: %s", log);
	test_count_before(log, " torn (changed while read) dropped", &torn);
	const char *cargs[] = { "raw", raw, "--pid", pid, NULL };
	char *checked = check_output("raw profile of the churn", cargs);
	long hwm_end = ru.ru_maxrss;
	char *churned = slurp(counts);
	cr_log_info("churn %s: the target's counts: %s", v->name, churned);
	free(churned);
	unlink(counts);
	cr_log_info("churn %s: %d dumps (%d blocking, %d partial); record: %llu stacks read, %llu written, "
	            "%llu torn; checker: %s",
	            v->name, dumps, blocking, partial, read, written, torn, checked);
	cr_log_info("churn %s: ftprof record RSS at %.1f s: %ld KiB (peak %ld KiB); last read at %.1f s: "
	            "%ld KiB (peak %ld KiB); peak at exit: %ld KiB",
	            v->name, RSS_AT, rss_at, hwm_at, last_at, rss_last, hwm_last, hwm_end);
	fprintf(stderr,
	        "churn %s: record RSS %ld KiB at %.0f s, %ld KiB at %.1f s; peak %ld KiB at %.0f s, %ld KiB "
	        "at exit; %llu of %llu stacks torn\n",
	        v->name, rss_at, RSS_AT, rss_last, last_at, hwm_at, RSS_AT, hwm_end, torn, read);
	cr_expect(dumps >= 5, "only %d dumps ran in %g s", dumps, CHURN_SECONDS);
	cr_expect(written > 1000, "only %llu stacks written", written);
	cr_expect(rss_at > 0 && last_at > CHURN_SECONDS - 1.5, "RSS not read in time (%.1f s)", last_at);
	if (!UNDER_ASAN && rss_at > 0) {
		/* What may grow is what the profile must remember: the target's
		 * distinct threads, names and functions; not per sample. */
		cr_expect(rss_last < rss_at * 11 / 10 + 2048, "RSS grew from %ld KiB at %g s to %ld KiB",
		          rss_at, RSS_AT, rss_last);
		cr_expect(hwm_end < hwm_at * 11 / 10 + 2048, "peak RSS grew from %ld KiB at %g s to %ld KiB",
		          hwm_at, RSS_AT, hwm_end);
	}
	free(checked);
	free(log);
	unlink(raw);
	unlink(err);
}

/* ---- 2a. a target someone else stopped ------------------------------------ */

static struct version_param life_versions[] = { { "3.13t" }, { "3.12" } };

ParameterizedTestParameters(hostile, sigstopped_target)
{
	return TEST_INTERP_PARAMS(struct version_param, life_versions, name);
}

/* Every task of pid in a job-control stop ('T'), and at least one task. */
static bool all_job_stopped(pid_t pid)
{
	int stopped, job;
	int n = task_states(pid, &stopped, &job);
	return n > 0 && job == n;
}

static bool wait_job_stopped(pid_t pid)
{
	for (int i = 0; i < 200 && !all_job_stopped(pid); i++)
		sleep_s(0.01);
	return all_job_stopped(pid);
}

/* Every task stopped: by job control, or for the moment by a blocking
 * record's own stop (which it leaves for the job-control stop at detach). */
static bool all_stopped(pid_t pid)
{
	int stopped;
	int n = task_states(pid, &stopped, NULL);
	return n > 0 && stopped == n;
}

static bool wait_stopped(pid_t pid)
{
	for (int i = 0; i < 200 && !all_stopped(pid); i++)
		sleep_s(0.01);
	return all_stopped(pid);
}

/* kill -STOP by someone else, before and during a blocking record and dumps:
 * ftprof ends in bounded time, says so, leaves the target stopped (never
 * SIGCONTs it), and it runs again once the test continues it. */
ParameterizedTest(struct version_param *v, hostile, sigstopped_target, .timeout = 180, .fini = kill_all)
{
	const char *interp = test_interp_use(v->name);
	struct test_target *t = start_target(0, interp, "tests/targets/split.py", NULL);
	char pid[16], out[64], err[64];
	pid_str(pid, sizeof(pid), t->pid);
	temp_path(out, sizeof(out), ".folded");
	temp_path(err, sizeof(err), ".err");

	kill(t->pid, SIGSTOP);
	cr_assert(wait_job_stopped(t->pid), "the target did not stop");
	struct test_run r;
	const char *rec[] = {
		"record", "--blocking", "--idle", "-r", "200", "-d", "2", "-o", out, pid, NULL
	};
	double t0 = now_s();
	cr_assert_eq(test_run_ftprof(&r, rec), 0);
	cr_expect_eq(r.status, 0, "record --blocking of a stopped target: exit %d: %s", r.status, r.err);
	cr_expect(now_s() - t0 < 20, "record -d 2 took %.1f s", now_s() - t0);
	cr_expect(strstr(r.err, "the target was stopped by a signal (SIGSTOP, SIGTSTP) in") &&
	                  strstr(r.err, "and left stopped"),
	          "the summary does not say the target was stopped: %s", r.err);
	test_run_free(&r);
	cr_expect_gt(file_size(out), 0, "no stack written of the stopped target");
	cr_expect(all_job_stopped(t->pid), "record --blocking resumed a target someone else stopped");

	const char *rec_busy[] = { "record", "--blocking", "-r", "200", "-d", "1", "-o", out, pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, rec_busy), 0);
	cr_expect(r.status == 0 || r.status == 1, "record without --idle: exit %d: %s", r.status, r.err);
	if (r.status == 1)
		cr_expect(strstr(r.err, "stopped by a signal the whole time"), "unclear: %s", r.err);
	test_run_free(&r);
	cr_expect(all_job_stopped(t->pid), "record --blocking resumed a target someone else stopped");

	const char *dump[] = { "dump", pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, dump), 0);
	cr_expect_eq(r.status, 0, "dump of a stopped target: exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.out, "\"worker\""), "dump of a stopped target: %s", r.out);
	test_run_free(&r);
	cr_expect(all_job_stopped(t->pid), "dump resumed a target someone else stopped");
	const char *dump_nb[] = { "dump", "--nonblocking", pid, NULL };
	cr_assert_eq(test_run_ftprof(&r, dump_nb), 0);
	cr_expect_eq(r.status, 0, "dump --nonblocking of a stopped target: exit %d: %s", r.status, r.err);
	test_run_free(&r);

	/* Continued and stopped again while a blocking record runs. */
	const char *rec_long[] = { "record", "--blocking", "--idle", "-r", "500", "-d",
		                   "4",      "-o",         out,      pid,  NULL };
	pid_t f = spawn_ftprof(rec_long, err);
	sleep_s(0.5);
	kill(t->pid, SIGCONT);
	sleep_s(0.8);
	int stopped, job;
	int n = task_states(t->pid, &stopped, &job);
	cr_expect_eq(job, 0, "%d of %d tasks still in a job-control stop after SIGCONT", job, n);
	kill(t->pid, SIGSTOP);
	/* record's rounds at 500 Hz hold the tasks in ptrace stops ('t')
	 * much of the time: all 'T' at once may never be seen while it runs */
	cr_expect(wait_stopped(t->pid), "the target did not stop again");
	/* Each round wakes the stopped threads in the kernel for a moment (they
	 * go back to their group-stop at detach): what must not happen is that
	 * they run Python until the next round, which would take most of a CPU
	 * (the worker spins). Measured by the scheduler's exact CPU time of the
	 * tasks: /proc's utime is that time split by the ratio of sampled ticks,
	 * and the worker's spinning before the stop made the rounds' kernel time
	 * count as user time there (4 ticks a second now and then). */
	long long cpu = cpu_ns(t->pid);
	sleep_s(1.0);
	long long used = cpu_ns(t->pid) - cpu;
	cr_expect(cpu >= 0 && used < 250000000LL,
	          "the stopped target used %.0f ms of CPU in the second record ran", (double)used / 1e6);
	int status = wait_status(f, 30, NULL);
	char *log = slurp(err);
	cr_expect_eq(status, 0, "record exited %d: %s", status, log);
	cr_expect(strstr(log, "and left stopped"), "summary: %s", log);
	free(log);
	cr_expect(all_job_stopped(t->pid), "record resumed the target");

	kill(t->pid, SIGCONT);
	cr_expect_eq(stopped_after(t->pid, 2.0), 0, "the target does not run after SIGCONT");
	unlink(out);
	unlink(err);
}

/* ---- 2b. exec while recorded ----------------------------------------------- */

struct exec_case {
	char version[8];
	char mode[16];
	bool blocking;
	char exe[32]; /* what the message names */
};

static struct exec_case exec_cases[] = {
	{ "3.12", "exec-sleep", true, "sleep" },          { "3.13t", "exec-sleep", false, "sleep" },
	{ "3.13t", "exec-python", false, "python3.13t" }, { "3.12", "exec-python", true, "python3.12" },
	{ "3.12", "exec-thread", true, "sleep" },         { "3.13t", "exec-thread", true, "sleep" },
	{ "3.12", "exec-thread", false, "sleep" },
};

ParameterizedTestParameters(hostile, exec_mid_record)
{
	return TEST_INTERP_PARAMS(struct exec_case, exec_cases, version);
}

/* The target replaces its program while recorded: the recording ends at
 * once, says so, and keeps what it took. exec-thread races the exec (which
 * kills the other threads and waits for them) with a blocking stop: run a few. */
ParameterizedTest(struct exec_case *c, hostile, exec_mid_record, .timeout = 240, .fini = kill_all)
{
	const char *interp = test_interp_use(c->version);
	int runs = strcmp(c->mode, "exec-thread") == 0 && c->blocking ? 4 : 1;
	for (int run = 0; run < runs; run++) {
		char mode[32], after[32], workers[32];
		snprintf(mode, sizeof(mode), "FTPROF_MODE=%s", c->mode);
		snprintf(after, sizeof(after), "FTPROF_AFTER=%s", run ? "0.6" : "1.5");
		snprintf(workers, sizeof(workers), "FTPROF_WORKERS=%d", run ? 10 : 4);
		const char *env[] = { mode, after, workers, NULL };
		struct test_target *t = start_target(0, interp, "tests/targets/lifecycle.py", env);
		char pid[16], out[64];
		pid_str(pid, sizeof(pid), t->pid);
		temp_path(out, sizeof(out), ".folded");
		const char *args[] = { "record", "-r", "1000",
			               "-o",     out,  c->blocking ? "--blocking" : "--nonblocking",
			               pid,      NULL };
		struct test_run r;
		double t0 = now_s();
		cr_assert_eq(test_run_ftprof(&r, args), 0);
		cr_expect_eq(r.status, 0, "%s %s run %d: exit %d: %s", c->mode, args[5], run, r.status,
		             r.err);
		cr_expect(now_s() - t0 < 30, "%s: record took %.1f s", c->mode, now_s() - t0);
		char msg[96];
		snprintf(msg, sizeof(msg), "process %s replaced its program with ", pid);
		const char *m = strstr(r.err, msg);
		cr_expect(m && strstr(m, c->exe) && strstr(m, "(exec)"),
		          "%s %s run %d: no word of the exec: %s", c->mode, args[5], run, r.err);
		test_run_free(&r);
		char *folded = slurp(out);
		cr_expect(strstr(folded, "spin_until (") != NULL,
		          "%s run %d: the samples before the exec are lost", c->mode, run);
		free(folded);
		cr_expect_eq(stopped_after(t->pid, 1.0), 0, "%s run %d: the target is left stopped", c->mode,
		             run);
		test_target_stop(t);
		unlink(out);
	}
}

/* ---- 2c. another user's process ------------------------------------------- */

Test(hostile, record_without_permission, .timeout = 60, .fini = kill_all)
{
	const char *interp = test_interp_use("3.12");
	if (geteuid() != 0)
		cr_skip_test("needs root to run ftprof as another user");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs setpriv (util-linux) to drop privileges");
	struct test_target *t = start_target(0, interp, "tests/targets/split.py", NULL);
	char pid[16];
	pid_str(pid, sizeof(pid), t->pid);
	for (int blocking = 0; blocking < 2; blocking++) {
		const char *argv[] = { "/usr/bin/setpriv",
			               "--reuid=65534",
			               "--regid=65534",
			               "--clear-groups",
			               FTPROF_BINARY,
			               "record",
			               "-d",
			               "1",
			               "-o",
			               "/dev/null",
			               blocking ? "--blocking" : "-q",
			               pid,
			               NULL };
		struct test_run r;
		cr_assert_eq(test_run(&r, argv, 60), 0);
		cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
		cr_expect(strncmp(r.err, "ftprof record: ", 15) == 0, "not prefixed: %s", r.err);
		cr_expect(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
		cr_expect(strstr(r.err, "permission"), "no word of permission in: %s", r.err);
		cr_expect(strstr(r.err, "CAP_SYS_PTRACE") || strstr(r.err, "as root"), "no advice in: %s",
		          r.err);
		test_run_free(&r);
	}
	cr_expect_eq(stopped_after(t->pid, 0.5), 0, "the target is left stopped");
}

/* ---- 2d. ftprof interrupted, stopped, killed --------------------------------- */

ParameterizedTestParameters(hostile, blocking_record_killed)
{
	return TEST_INTERP_PARAMS(struct version_param, life_versions, name);
}

/* record --blocking at 1 kHz ended by SIGINT or SIGTERM writes its samples
 * and exits 0; stopped (SIGSTOP) mid-round and then killed (SIGKILL), it
 * cannot clean up, and the kernel must release the target. In every case no
 * task of the target stays stopped. */
ParameterizedTest(struct version_param *v, hostile, blocking_record_killed, .timeout = 180, .fini = kill_all)
{
	const char *interp = test_interp_use(v->name);
	const char *env[] = { "FTPROF_WORKERS=6", NULL };
	struct test_target *t = start_target(0, interp, "tests/targets/lifecycle.py", env);
	char pid[16], out[64], err[64];
	pid_str(pid, sizeof(pid), t->pid);
	temp_path(out, sizeof(out), ".folded");
	temp_path(err, sizeof(err), ".err");
	const char *args[] = { "record", "--blocking", "-r", "1000", "-o", out, pid, NULL };

	const int sigs[] = { SIGINT, SIGTERM };
	for (size_t i = 0; i < 2; i++) {
		pid_t f = spawn_ftprof(args, err);
		sleep_s(1.5);
		kill(f, sigs[i]);
		int status = wait_status(f, 30, NULL);
		char *log = slurp(err);
		cr_expect_eq(status, 0, "record --blocking after %s: status %d: %s", strsignal(sigs[i]),
		             status, log);
		cr_expect(strstr(log, sigs[i] == SIGINT ? "; interrupted" : "; stopped by a signal"),
		          "summary: %s", log);
		free(log);
		char *folded = slurp(out);
		cr_expect(strstr(folded, "spin_until ("), "after %s: no samples in the output",
		          strsignal(sigs[i]));
		free(folded);
		cr_expect_eq(stopped_after(t->pid, 1.0), 0, "after %s: tasks of the target left stopped",
		             strsignal(sigs[i]));
	}

	int caught = 0;
	for (int i = 0; i < 5; i++) {
		pid_t f = spawn_ftprof(args, err);
		sleep_s(0.7 + 0.1 * i);
		kill(f, SIGSTOP);
		sleep_s(0.1);
		int stopped;
		task_states(t->pid, &stopped, NULL);
		caught += stopped > 0; /* stopped in the middle of a round */
		kill(f, SIGKILL);
		int status = wait_status(f, 10, NULL);
		cr_expect_eq(status, 128 + SIGKILL, "ftprof after SIGKILL: status %d", status);
		cr_expect_eq(stopped_after(t->pid, 2.0), 0,
		             "run %d: tasks of the target left stopped after ftprof was killed", i);
	}
	cr_log_info(
	        "blocking_record_killed %s: ftprof stopped mid-round (target tasks in 't') in %d of 5 runs",
	        v->name, caught);
	unlink(out);
	unlink(err);
}

/* ---- 2e. the target exits mid-sample ---------------------------------------- */

ParameterizedTestParameters(hostile, exit_mid_blocking_record)
{
	return TEST_INTERP_PARAMS(struct version_param, life_versions, name);
}

/* A thread calls os._exit() while a blocking record at 1 kHz stops and reads
 * the others: the recording ends, says the target exited, and keeps its
 * samples; and the test, the target's parent, can reap it. */
ParameterizedTest(struct version_param *v, hostile, exit_mid_blocking_record, .timeout = 180,
                  .fini = kill_all)
{
	const char *interp = test_interp_use(v->name);
	for (int run = 0; run < 4; run++) {
		char after[32];
		snprintf(after, sizeof(after), "FTPROF_AFTER=%.2f", 0.4 + 0.25 * run);
		const char *env[] = { "FTPROF_MODE=exit-thread", "FTPROF_WORKERS=8", after, NULL };
		struct test_target *t = start_target(0, interp, "tests/targets/lifecycle.py", env);
		char pid[16], out[64];
		pid_str(pid, sizeof(pid), t->pid);
		temp_path(out, sizeof(out), ".folded");
		const char *args[] = { "record", "--blocking", "-r", "1000", "-o", out, pid, NULL };
		struct test_run r;
		double t0 = now_s();
		cr_assert_eq(test_run_ftprof(&r, args), 0);
		cr_expect_eq(r.status, 0, "run %d: exit %d: %s", run, r.status, r.err);
		cr_expect(now_s() - t0 < 20, "run %d: record took %.1f s after the exit", run, now_s() - t0);
		cr_expect(strstr(r.err, "; the target exited"), "run %d: summary: %s", run, r.err);
		test_run_free(&r);
		char *folded = slurp(out);
		cr_expect(strstr(folded, "spin_until ("), "run %d: samples lost", run);
		free(folded);
		int status;
		cr_expect_eq(waitpid(t->pid, &status, 0), t->pid, "the exited target cannot be reaped");
		t->pid = 0;
		test_target_stop(t);
		unlink(out);
	}
}

/* ---- 3. escaping end to end -------------------------------------------------- */

static struct version_param name_versions[] = { { "3.13t" }, { "3.12" }, { "3.15" }, { "3.8" } };

ParameterizedTestParameters(hostile, escaped_names)
{
	return TEST_INTERP_PARAMS(struct version_param, name_versions, name);
}

/* Names made of terminal escapes, C0 and C1 controls, format separators and a
 * lone surrogate reach no output raw: dump escapes them, dump --json carries
 * them exactly, and every record format escapes them. */
ParameterizedTest(struct version_param *v, hostile, escaped_names, .timeout = 180, .fini = kill_all)
{
	const char *interp = test_interp_use(v->name);
	char names[64], env_names[96];
	temp_path(names, sizeof(names), ".json");
	snprintf(env_names, sizeof(env_names), "FTPROF_NAMES=%s", names);
	const char *env[] = { env_names, NULL };
	struct test_target *t = start_target(0, interp, "tests/targets/hostile_names.py", env);
	char pid[16];
	pid_str(pid, sizeof(pid), t->pid);

	char file[64];
	temp_path(file, sizeof(file), ".out");
	/* record writes to file; dump's standard output is put there */
	struct {
		const char *kind;
		const char *args[12];
	} runs[] = {
		{ "text", { "dump", pid, NULL } },
		{ "json", { "dump", "--json", pid, NULL } },
		{ "folded",
		  { "record", "-q", "--idle", "-t", "-d", "1", "-f", "folded", "-o", file, pid, NULL } },
		{ "raw", { "record", "-q", "--idle", "-d", "1", "-f", "raw", "-o", file, pid, NULL } },
		{ "speedscope",
		  { "record", "-q", "--idle", "-d", "1", "-f", "speedscope", "-o", file, pid, NULL } },
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		bool to_file = strcmp(runs[i].args[0], "record") == 0;
		struct test_run r;
		cr_assert_eq(test_run_ftprof(&r, runs[i].args), 0);
		cr_expect_eq(r.status, 0, "%s: exit %d: %s", runs[i].kind, r.status, r.err);
		if (!to_file) {
			FILE *f = fopen(file, "w");
			cr_assert(f);
			fputs(r.out, f);
			fclose(f);
		}
		test_run_free(&r);
		const char *cargs[] = { "names", runs[i].kind, file, "--names", names, NULL };
		char *out = check_output(runs[i].kind, cargs);
		free(out);
		unlink(file);
	}
	unlink(names);
}

/* ---- a failed record and its output path ------------------------------------ */

/* record opens its output before it attaches, and removes it when the attach
 * fails: only a file it created, never one that was there (as root, `-o
 * /dev/null` once removed the device). */
Test(hostile, failed_record_keeps_existing_output, .timeout = 60)
{
	test_interp_none();
	char kept[64], made[64];
	temp_path(kept, sizeof(kept), ".folded");
	temp_path(made, sizeof(made), ".folded");
	FILE *f = fopen(kept, "w");
	cr_assert(f);
	fclose(f);
	const char *args_kept[] = { "record", "-o", kept, "999999999", NULL };
	const char *args_made[] = { "record", "-o", made, "999999999", NULL };
	struct test_run r;
	cr_assert_eq(test_run_ftprof(&r, args_kept), 0);
	cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	test_run_free(&r);
	cr_expect_eq(access(kept, F_OK), 0, "record removed an output file it did not create");
	cr_assert_eq(test_run_ftprof(&r, args_made), 0);
	cr_expect_eq(r.status, 2, "exit %d: %s", r.status, r.err);
	test_run_free(&r);
	cr_expect_neq(access(made, F_OK), 0, "record left the empty output of a failed attach");
	unlink(kept);
	unlink(made);
}
