/* SPDX-License-Identifier: MIT */
/* ftprof attach, end to end: the live view runs in a tmux pane against a
 * live tests/targets/fighters.py (four threads fighting over one Lock);
 * the screen is read with capture-pane and keys sent with send-keys. It
 * must show the header, the thread names and a `lock` thread waiting on
 * the Lock with its holder, switch panels, redraw whole after resizes, and
 * on q, SIGTERM and Ctrl-C give the terminal back as it was (the pane's
 * stty settings before and after, the alternate screen left) with the
 * target running, as a closed terminal leaves it. deadlock.py must show the
 * deadlock banner, gil_cpu.py its hot function first; then the on-CPU
 * panels, --native, and a launched program. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = { { "3.13t" }, { "3.12" } };

struct pane {
	char dir[64];     /* a temporary directory: the socket and the files */
	char socket[128]; /* tmux -S */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Runs tmux -S socket with args (NULL-terminated); its stdout in *out when out is set. */
static int tmux(const struct pane *p, const char *const *args, char **out)
{
	const char *argv[24] = { "/usr/bin/tmux", "-S", p->socket };
	size_t n = 3;
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct test_run r;
	if (test_run(&r, argv, 20) < 0)
		return -1;
	int status = r.status;
	if (out)
		*out = strdup(r.out);
	test_run_free(&r);
	return status;
}

static char *capture(const struct pane *p)
{
	char *out = NULL;
	const char *args[] = { "capture-pane", "-p", "-t", "t", NULL };
	tmux(p, args, &out);
	return out ? out : strdup("");
}

/* Waits up to timeout_ms for the screen to hold every string of want;
 * returns the last screen (the caller frees it). */
static char *wait_screen(const struct pane *p, const char *const *want, long timeout_ms, bool *found)
{
	char *screen = NULL;
	for (long waited = 0;; waited += 200) {
		free(screen);
		screen = capture(p);
		bool all = true;
		for (size_t i = 0; want[i] && all; i++)
			all = strstr(screen, want[i]) != NULL;
		if (all || waited >= timeout_ms) {
			*found = all;
			return screen;
		}
		sleep_ms(200);
	}
}

static void keys(const struct pane *p, const char *key)
{
	const char *args[] = { "send-keys", "-t", "t", key, NULL };
	cr_assert_eq(tmux(p, args, NULL), 0, "send-keys %s", key);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Makes p's temporary directory (the socket, the files). */
static void make_dir(struct pane *p)
{
	snprintf(p->dir, sizeof(p->dir), "/tmp/ftprof-attach-XXXXXX");
	cr_assert(mkdtemp(p->dir));
	snprintf(p->socket, sizeof(p->socket), "%s/sock", p->dir);
}

/* Starts `ftprof attach ARGS` (args: shell words) in a new 100x30 tmux
 * session whose shell notes the terminal's settings before (dir/before) and
 * after (dir/after) and ftprof's exit code (dir/rc), and outlives a Ctrl-C
 * sent to ftprof (the shell's trap is reset to the default in the programs
 * it runs). make_dir first. */
static void start_args(struct pane *p, const char *words)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
	         "trap : INT; stty -g > %s/before; LANG=C.UTF-8 %s attach %s; echo $? > %s/rc.tmp; "
	         "stty -g > %s/after; "
	         "mv %s/rc.tmp %s/rc; echo ATTACH-ENDED; sleep 120",
	         p->dir, FTPROF_BINARY, words, p->dir, p->dir, p->dir, p->dir);
	const char *args[] = {
		"new-session", "-d", "-s", "t", "-x", "100", "-y", "30", "sh", "-c", cmd, NULL
	};
	cr_assert_eq(tmux(p, args, NULL), 0, "tmux new-session failed (is tmux installed? scripts/deps)");
}

/* Starts `ftprof attach PID` (start_args). */
static void start(struct pane *p, pid_t target)
{
	make_dir(p);
	char args[32];
	snprintf(args, sizeof(args), "%d", (int)target);
	start_args(p, args);
}

static void stop(struct pane *p)
{
	const char *args[] = { "kill-server", NULL };
	tmux(p, args, NULL);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", p->dir);
}

/* Waits for ftprof to have exited in the pane, then checks its exit code,
 * the terminal's settings and that the alternate screen was left. */
static void check_ended(const struct pane *p, const char *how)
{
	char path[128], after[128];
	snprintf(path, sizeof(path), "%s/rc", p->dir);
	char *rc = NULL;
	for (int i = 0; i < 100 && !(rc = slurp(path)); i++)
		sleep_ms(100);
	cr_assert(rc, "%s: ftprof attach did not exit; screen:\n%s", how, capture(p));
	cr_expect_eq(atoi(rc), 0, "%s: ftprof attach exited %s", how, rc);
	free(rc);
	snprintf(path, sizeof(path), "%s/before", p->dir);
	snprintf(after, sizeof(after), "%s/after", p->dir);
	char *b = slurp(path), *a = slurp(after);
	cr_assert(b && a);
	cr_expect_str_eq(a, b, "%s: the terminal's settings were not restored", how);
	free(a);
	free(b);
	char *alt = NULL;
	const char *args[] = { "display-message", "-p", "-t", "t", "#{alternate_on} #{cursor_flag}", NULL };
	tmux(p, args, &alt);
	cr_expect(alt && strncmp(alt, "0 1", 3) == 0, "%s: alternate screen or hidden cursor left: %s", how,
	          alt ? alt : "?");
	free(alt);
	bool found;
	const char *want[] = { "ATTACH-ENDED", NULL };
	char *screen = wait_screen(p, want, 3000, &found);
	cr_expect(found, "%s: the shell did not go on after ftprof:\n%s", how, screen);
	cr_expect(!strstr(screen, "WHERE / WAITING ON"), "%s: the view was left on the screen:\n%s", how,
	          screen);
	free(screen);
}

/* The target runs on: alive, and not stopped (/proc state not T or t). */
static void check_running(pid_t pid, const char *how)
{
	cr_expect_eq(kill(pid, 0), 0, "%s: the target is gone", how);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5; i++) {
		char *stat = slurp(path);
		cr_assert(stat);
		char *end = strrchr(stat, ')');
		cr_assert(end && end[1] == ' ');
		cr_expect(end[2] != 'T' && end[2] != 't', "%s: the target was left stopped (%c)", how,
		          end[2]);
		free(stat);
		sleep_ms(50);
	}
}

/* The pid of ftprof: the child of the pane's shell. */
static pid_t ftprof_pid(const struct pane *p)
{
	char *shell = NULL;
	const char *args[] = { "display-message", "-p", "-t", "t", "#{pane_pid}", NULL };
	tmux(p, args, &shell);
	cr_assert(shell);
	char path[128];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", atoi(shell), atoi(shell));
	free(shell);
	char *children = slurp(path);
	cr_assert(children && atoi(children) > 0, "no ftprof under the pane's shell");
	pid_t pid = atoi(children);
	free(children);
	return pid;
}

/* Whether pid is gone within 5 s. */
static bool gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	for (int i = 0; i < 50; i++) {
		if (access(path, F_OK) != 0)
			return true;
		sleep_ms(100);
	}
	return false;
}

/* The screen's lines: how many hold s, and the row of the last one (-1). */
static int count_lines(const char *screen, const char *s, int *row)
{
	int n = 0, y = 0;
	*row = -1;
	for (const char *l = screen; *l; y++) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		char *text = strndup(l, len);
		if (text && strstr(text, s)) {
			n++;
			*row = y;
		}
		free(text);
		if (!e)
			break;
		l = e + 1;
	}
	return n;
}

/* A screen of height rows drawn whole: one header, one tabs line, one
 * threads table, and its status line (holding status) on the last row. */
static void check_whole(const char *screen, int height, const char *status, const char *name)
{
	int row;
	cr_expect_eq(count_lines(screen, "ftprof attach  pid", &row), 1, "%s: not one header:\n%s", name,
	             screen);
	cr_expect_eq(count_lines(screen, "2 Functions", &row), 1, "%s: not one tabs line:\n%s", name, screen);
	cr_expect_eq(count_lines(screen, "WHERE / WAITING ON", &row), 1, "%s: not one table:\n%s", name,
	             screen);
	cr_expect_eq(count_lines(screen, status, &row), 1, "%s: not one status line:\n%s", name, screen);
	cr_expect_eq(row, height - 1, "%s: the status line on row %d of %d:\n%s", name, row + 1, height,
	             screen);
}

/* A new attach on pid in p, its screen showing want (what: which one). */
static void reattach(struct pane *p, pid_t pid, const char *const *want, const char *what)
{
	bool found;
	start(p, pid);
	char *screen = wait_screen(p, want, 15000, &found);
	cr_expect(found, "%s:\n%s", what, screen);
	free(screen);
}

/* How attach in p ended (how): as it should, the target pid running on;
 * then the pane goes. */
static void ended_running(struct pane *p, pid_t pid, const char *how)
{
	check_ended(p, how);
	check_running(pid, how);
	stop(p);
}

/* Starts tests/targets/SCRIPT under the interpreter NAME (env as for
 * test_target_start) and `ftprof attach` on it in a new pane. */
static void watch(const char *name, const char *script, const char *const *env, struct test_target *t,
                  struct pane *p)
{
	char path[128];
	snprintf(path, sizeof(path), "tests/targets/%s", script);
	cr_assert_eq(test_target_start(t, test_interp_use(name), test_source_path(path), env), 0,
	             "%s under %s did not start", script, name);
	start(p, t->pid);
}

/* q ends attach as it should, the target running on; then both go. */
static void quit_watching(struct pane *p, struct test_target *t)
{
	keys(p, "q");
	ended_running(p, t->pid, "q");
	test_target_stop(t);
}

ParameterizedTestParameters(attach, fighters)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

ParameterizedTest(struct version_param *v, attach, fighters, .timeout = 240)
{
	struct test_target t;
	struct pane p;
	watch(v->name, "fighters.py", NULL, &t, &p);

	char head[64];
	snprintf(head, sizeof(head), "ftprof attach  pid %d", (int)t.pid);
	bool found;
	const char *want[] = { head,        "Python 3.", "Hz",         "parallelism",
		               "fighter-1", "fighter-4", "MainThread", NULL };
	char *screen = wait_screen(&p, want, 15000, &found);
	cr_expect(found, "%s: header or threads missing:\n%s", v->name, screen);
	free(screen);
	const char *flavour[] = { strcmp(v->name, "3.13t") == 0 ? "free-threaded" : "(GIL)", NULL };
	screen = wait_screen(&p, flavour, 1000, &found);
	cr_expect(found, "%s: the build is not said:\n%s", v->name, screen);
	free(screen);

	/* a fighter waiting on the Lock, with the holder named (the row shows
	 * the latest round: wait for one where the holder is known) */
	const char *waiting[] = { " lock ", "Lock 0x", "held by fighter-", NULL };
	screen = wait_screen(&p, waiting, 15000, &found);
	cr_expect(found, "%s: no lock waiter with its holder:\n%s", v->name, screen);
	free(screen);

	keys(&p, "2");
	const char *funcs[] = { "FUNCTION", "fight", "fighters.py:", NULL };
	screen = wait_screen(&p, funcs, 5000, &found);
	cr_expect(found, "%s: functions panel:\n%s", v->name, screen);
	free(screen);
	keys(&p, "3");
	const char *locks[] = { "WAITING AT", "Lock", "fight fighters.py:", NULL };
	screen = wait_screen(&p, locks, 5000, &found);
	cr_expect(found, "%s: locks panel:\n%s", v->name, screen);
	free(screen);
	keys(&p, "1");

	/* smaller: 80x24 still shows the header and the threads */
	const char *resize[] = { "resize-window", "-t", "t", "-x", "80", "-y", "24", NULL };
	cr_expect_eq(tmux(&p, resize, NULL), 0);
	sleep_ms(1200);
	screen = wait_screen(&p, want, 5000, &found);
	cr_expect(found, "%s: after a resize to 80x24:\n%s", v->name, screen);
	free(screen);
	/* and back to 100x30: redrawn whole, nothing left of the smaller
	 * screen (the status line was on row 24, now it is on row 30) */
	const char *grow[] = { "resize-window", "-t", "t", "-x", "100", "-y", "30", NULL };
	cr_expect_eq(tmux(&p, grow, NULL), 0);
	sleep_ms(1200);
	screen = wait_screen(&p, want, 5000, &found);
	cr_expect(found, "%s: after a resize to 100x30:\n%s", v->name, screen);
	check_whole(screen, 30, "fighters.py  states:", v->name);
	free(screen);

	keys(&p, "q");
	ended_running(&p, t.pid, "q");

	/* SIGTERM: the same */
	reattach(&p, t.pid, want, "second attach");
	cr_assert_eq(kill(ftprof_pid(&p), SIGTERM), 0);
	ended_running(&p, t.pid, "SIGTERM");

	/* Ctrl-C: the same */
	reattach(&p, t.pid, want, "third attach");
	keys(&p, "C-c");
	ended_running(&p, t.pid, "Ctrl-C");

	/* a closed terminal (the tmux server killed: SIGHUP): attach ends,
	 * the target runs on */
	reattach(&p, t.pid, want, "fourth attach");
	pid_t viewer = ftprof_pid(&p);
	const char *close_terminal[] = { "kill-server", NULL };
	tmux(&p, close_terminal, NULL);
	cr_expect(gone(viewer), "%s: ftprof attach %d outlived its terminal", v->name, (int)viewer);
	check_running(t.pid, "a closed terminal");
	stop(&p);

	/* the target's exit: said, the figures kept until q */
	start(&p, t.pid);
	screen = wait_screen(&p, want, 15000, &found);
	free(screen);
	test_target_stop(&t);
	const char *exited[] = { "the target exited", "fighter-1", NULL };
	screen = wait_screen(&p, exited, 10000, &found);
	cr_expect(found, "%s: the target's exit is not said:\n%s", v->name, screen);
	free(screen);
	keys(&p, "q");
	check_ended(&p, "the target's exit, then q");
	stop(&p);
}

/* ---- on-CPU: the cores, the refcount panel; a launched command ---- */

/* The number of the line of the target script marked `# truth: TAG`. */
static int truth_line(const char *script, const char *tag)
{
	FILE *f = fopen(test_source_path(script), "r");
	cr_assert(f, "cannot read %s", script);
	char buf[512], mark[64];
	snprintf(mark, sizeof(mark), "# truth: %s", tag);
	int n = 0, found = -1;
	while (found < 0 && fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, mark))
			found = n;
	}
	fclose(f);
	cr_assert(found > 0, "no '%s' in %s", mark, script);
	return found;
}

/* The screen's line holding s (a copy for the caller to free), or NULL. */
static char *screen_line(const char *screen, const char *s)
{
	const char *at = strstr(screen, s);
	if (!at)
		return NULL;
	const char *b = at, *e = strchr(at, '\n');
	while (b > screen && b[-1] != '\n')
		b--;
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

/* Skips the test, visibly, where this machine gives no on-CPU samples (the
 * header then says so on one line). */
static void need_oncpu(struct pane *p, struct test_target *t)
{
	bool found;
	const char *want[] = { "Python 3.", NULL };
	char *screen = wait_screen(p, want, 15000, &found);
	char *note = screen_line(screen, "on-CPU samples ");
	free(screen);
	if (note) {
		cr_log_warn("skipped: %s", note);
		free(note);
		keys(p, "q");
		stop(p);
		test_target_stop(t);
		cr_skip_test("no on-CPU samples on this machine");
	}
}

/* refcount.py shared: panel 4 names Payload, at the line marked `# truth: read`. */
Test(attach, refcount_panel, .timeout = 120)
{
	const char *interp = test_interp_use("3.13t");
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/refcount.py"), NULL), 0,
	             "refcount.py did not start");
	struct pane p;
	start(&p, t.pid);
	need_oncpu(&p, &t);
	keys(&p, "4");
	char where[64];
	snprintf(where, sizeof(where), "refcount.py:%d", truth_line("tests/targets/refcount.py", "read"));
	const char *want[] = { "[4 Refcount]", "TOP LINE", "Payload", where, NULL };
	bool found = false;
	char *screen = NULL, *row = NULL;
	/* the row of Payload, with its top line (the window fills over seconds) */
	for (int i = 0; i < 10 && !(row && strstr(row, where)); i++) {
		free(screen);
		free(row);
		screen = wait_screen(&p, want, 3000, &found);
		row = screen_line(screen, "Payload");
	}
	cr_expect(found && row && strstr(row, where), "panel 4 has no Payload row at %s:\n%s", where, screen);
	free(row);
	free(screen);
	quit_watching(&p, &t);
}

/* The cells of the cores line "0[...]  N% 1[...]  N%": how many of cpu's
 * cells show the target (a full block). -1 when there is no such cell. */
static int target_cells(const char *line, int cpu)
{
	char head[16];
	snprintf(head, sizeof(head), "%d[", cpu);
	const char *c = line;
	while ((c = strstr(c, head)) && c != line && c[-1] != ' ')
		c++;
	if (!c)
		return -1;
	const char *end = strchr(c, ']');
	int n = 0;
	for (const char *q = c; end && q < end; q++)
		n += strncmp(q, "\u2588", 3) == 0;
	return n;
}

/* pinned.py: spin-0 on CPU 0, spin-1 on CPU 1; the cores line shows both
 * cores busy with the target, each thread's row its CPU. */
Test(attach, pinned_cores, .timeout = 120)
{
	const char *interp = test_interp_use("3.13t");
	cpu_set_t cpus;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0 || !CPU_ISSET(0, &cpus) || !CPU_ISSET(1, &cpus))
		cr_skip_test("pinned.py needs CPUs 0 and 1");
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/pinned.py"), NULL), 0,
	             "pinned.py did not start (it needs CPUs 0 and 1)");
	struct pane p;
	start(&p, t.pid);
	need_oncpu(&p, &t);
	const char *want[] = { "spin-0", "spin-1", "0[", " 1[", NULL };
	bool ok = false;
	char *screen = NULL;
	for (int i = 0; i < 15 && !ok; i++) {
		bool found;
		free(screen);
		screen = wait_screen(&p, want, 2000, &found);
		char *cores = screen_line(screen, "0[");
		char *s0 = screen_line(screen, "spin-0"), *s1 = screen_line(screen, "spin-1");
		ok = found && cores && target_cells(cores, 0) > 0 && target_cells(cores, 1) > 0 && s0 && s1 &&
		     strstr(s0, " 0 ") && strstr(s1, " 1 ");
		free(cores);
		free(s0);
		free(s1);
		if (!ok)
			sleep_ms(1000);
	}
	cr_expect(ok,
	          "the cores line does not show both cores busy with the target, or a spinner "
	          "is not on its CPU:\n%s",
	          screen);
	free(screen);
	keys(&p, "q");
	check_ended(&p, "q");
	stop(&p);
	test_target_stop(&t);
}

/* attach --native --snapshot: native_spin.py's hasher spends its time in
 * OpenSSL's SHA256_Update under hashlib: the functions panel lists that C
 * function with its library, below the Python function that called it, and
 * the hasher's row is where its innermost frame is: in libcrypto. */
static void native_frames(const char *name)
{
	const char *interp = test_interp_use(name);
	struct test_target t;
	cr_assert_eq(test_target_start(&t, interp, test_source_path("tests/targets/native_spin.py"), NULL), 0,
	             "native_spin.py did not start");
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)t.pid);
	const char *argv[] = { FTPROF_BINARY, "attach", "--native", "--snapshot", "3", pid, NULL };
	struct test_run r;
	cr_assert_eq(test_run(&r, argv, 60), 0);
	test_target_stop(&t);
	cr_assert_eq(r.status, 0, "attach --native --snapshot exited %d:\n%s%s", r.status, r.out, r.err);
	if (strstr(r.out, "on-CPU samples: off") || strstr(r.err, "perf_event")) {
		test_run_free(&r);
		cr_skip_test("--native without --blocking needs on-CPU samples (perf_event refused)");
	}
	char *sha = screen_line(r.out, "SHA256_Update"), *work = screen_line(r.out, " work ");
	char *hasher = screen_line(r.out, "hasher");
	cr_expect(sha && strstr(sha, "libcrypto"), "no SHA256_Update row with its library:\n%s", r.out);
	cr_expect(work && strstr(work, "native_spin.py"), "no work row (the Python caller):\n%s", r.out);
	cr_expect(hasher && strstr(hasher, "libcrypto"), "the hasher is not in libcrypto:\n%s", r.out);
	cr_expect(!strstr(r.out, "\033"), "an escape character in the snapshot");
	free(sha);
	free(work);
	free(hasher);
	test_run_free(&r);
}

Test(attach, native_ft, .timeout = 120)
{
	native_frames("3.13t");
}

Test(attach, native_gil, .timeout = 120)
{
	native_frames("3.12");
}

/* The pid of the launched program, from the header "pid N (launched". */
static pid_t launched_pid(const char *screen)
{
	const char *at = strstr(screen, " (launched, output to ");
	cr_assert(at, "the header does not say the program was launched:\n%s", screen);
	while (at > screen && at[-1] >= '0' && at[-1] <= '9')
		at--;
	return atoi(at);
}

/* attach -- COMMAND: the program's output goes to --output-log, never to
 * the screen; q ends the program; a program that exits is said so. */
Test(attach, launch, .timeout = 180)
{
	const char *interp = test_interp_use("3.13t");
	struct pane p;
	make_dir(&p);
	char args[1024], log[128];
	snprintf(log, sizeof(log), "%s/out.log", p.dir);
	snprintf(args, sizeof(args), "--output-log %s -- %s %s", log, interp,
	         test_source_path("tests/targets/fighters.py"));
	start_args(&p, args);
	bool found;
	const char *want[] = { "(launched, output to ", "out.log", "fighter-1", "fighter-4", NULL };
	char *screen = wait_screen(&p, want, 20000, &found);
	cr_expect(found, "the launched program is not watched:\n%s", screen);
	pid_t pid = launched_pid(screen);
	free(screen);
	/* fighters.py prints "ready ...": into the log, not onto the screen */
	char *out = NULL;
	for (int i = 0; i < 50 && !(out = slurp(log), out && strstr(out, "ready")); i++) {
		free(out);
		out = NULL;
		sleep_ms(100);
	}
	cr_expect(out && strstr(out, "ready"), "the program's output is not in --output-log");
	free(out);
	screen = capture(&p);
	cr_expect(!strstr(screen, "ready "), "the program's output reached the screen:\n%s", screen);
	free(screen);
	keys(&p, "q");
	check_ended(&p, "q");
	cr_expect(gone(pid), "q left the launched program %d running", (int)pid);
	stop(&p);

	/* a program that exits by itself: said, the figures kept until q */
	make_dir(&p);
	snprintf(args, sizeof(args),
	         "-- %s -c 'import threading, time; threading.current_thread().name = \"short-lived\"; "
	         "print(\"SHOULD-NOT-SHOW\", flush=True); time.sleep(4); raise SystemExit(3)'",
	         interp);
	start_args(&p, args);
	const char *ended[] = { "the program exited with status 3", "short-lived",
		                "(launched, output to /dev/null)", NULL };
	screen = wait_screen(&p, ended, 20000, &found);
	cr_expect(found, "the program's exit is not said:\n%s", screen);
	cr_expect(!strstr(screen, "SHOULD-NOT-SHOW"), "the program's output reached the screen:\n%s", screen);
	free(screen);
	keys(&p, "q");
	check_ended(&p, "the program's exit, then q");
	stop(&p);
}

/* deadlock.py (`with` blocks on 3.13t, bare acquire() on 3.12): the banner
 * above the threads names both threads and the Lock each waits for, held
 * by the other, the whole cycle on the screen; each row says so too. */
ParameterizedTestParameters(attach, deadlock)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

ParameterizedTest(struct version_param *v, attach, deadlock, .timeout = 120)
{
	const char *env[] = { strcmp(v->name, "3.13t") == 0 ? "FTPROF_DEADLOCK=with"
		                                            : "FTPROF_DEADLOCK=acquire",
		              NULL };
	struct test_target t;
	struct pane p;
	watch(v->name, "deadlock.py", env, &t, &p);
	bool found;
	const char *want[] = { "DEADLOCK: deadlock-", "held by the first", NULL };
	char *screen = wait_screen(&p, want, 15000, &found);
	cr_expect(found, "%s: no deadlock banner, or not all of it:\n%s", v->name, screen);
	const char *banner = strstr(screen, "DEADLOCK:"), *table = strstr(screen, "WHERE / WAITING ON");
	cr_expect(banner && table && banner < table, "%s: the banner is not above the threads:\n%s", v->name,
	          screen);
	/* the rows, under the table's heads (the name padded to its column) */
	char *a = table ? screen_line(table, " deadlock-a  ") : NULL;
	char *b = table ? screen_line(table, " deadlock-b  ") : NULL;
	cr_expect(a && strstr(a, " lock ") && strstr(a, "Lock 0x") && strstr(a, "held by deadlock-b"),
	          "%s: deadlock-a's row:\n%s", v->name, screen);
	cr_expect(b && strstr(b, " lock ") && strstr(b, "Lock 0x") && strstr(b, "held by deadlock-a"),
	          "%s: deadlock-b's row:\n%s", v->name, screen);
	/* the banner, from "DEADLOCK:" to "held by the first", names both */
	const char *end = banner ? strstr(banner, "held by the first") : NULL;
	char *cycle = banner && end ? strndup(banner, (size_t)(end - banner)) : NULL;
	cr_expect(cycle && strstr(cycle, "deadlock-a (") && strstr(cycle, "deadlock-b (") &&
	                  strstr(cycle, "waits Lock 0x"),
	          "%s: the banner does not name both threads and their locks:\n%s", v->name, screen);
	free(cycle);
	free(a);
	free(b);
	free(screen);
	quit_watching(&p, &t);
}

/* gil_cpu.py: four CPU-bound threads, cpu-1 ... cpu-4, in spin(): their
 * names in the threads panel, spin first in the functions panel with all
 * of the samples as its own. */
ParameterizedTestParameters(attach, hot_function)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

/* The samples the functions panel counts ("functions by own, N samples"),
 * 0 if none shown. */
static int samples_shown(const char *screen)
{
	const char *s = screen ? strstr(screen, "functions by ") : NULL;
	int n = 0;
	if (s && (s = strchr(s, ',')))
		sscanf(s + 1, "%d", &n);
	return n;
}

ParameterizedTest(struct version_param *v, attach, hot_function, .timeout = 120)
{
	struct test_target t;
	struct pane p;
	watch(v->name, "gil_cpu.py", NULL, &t, &p);
	bool found;
	const char *names[] = { "cpu-1", "cpu-2", "cpu-3", "cpu-4", "spin gil_cpu.py:", NULL };
	char *screen = wait_screen(&p, names, 15000, &found);
	cr_expect(found, "%s: the threads or where they are:\n%s", v->name, screen);
	free(screen);
	keys(&p, "2");
	const char *funcs[] = { "FUNCTION", "spin", NULL };
	screen = wait_screen(&p, funcs, 5000, &found);
	/* A share needs samples: a second's worth. The first rounds can catch
	 * the target's helper that prints its ready line. */
	for (int i = 0; i < 50 && found && samples_shown(screen) < 100; i++) {
		free(screen);
		usleep(100000);
		screen = wait_screen(&p, funcs, 5000, &found);
	}
	cr_expect(found, "%s: functions panel:\n%s", v->name, screen);
	/* the first row under the column heads */
	const char *heads = strstr(screen, "FUNCTION");
	const char *row = heads ? strchr(heads, '\n') : NULL;
	char *first = row ? screen_line(row + 1, "") : NULL;
	double own = 0, total = 0;
	char func[64] = "";
	cr_expect(first && sscanf(first, "%lf %lf %63s", &own, &total, func) == 3 &&
	                  strcmp(func, "spin") == 0 && strstr(first, "gil_cpu.py:"),
	          "%s: spin is not the first function:\n%s", v->name, screen);
	cr_expect(own >= 95.0, "%s: spin's own share %.1f%%, not nearly all:\n%s", v->name, own, screen);
	free(first);
	free(screen);
	quit_watching(&p, &t);
}
