/* SPDX-License-Identifier: MIT */
/* ftp_probe_sample_round on live interpreters: begin and end bracket every
 * sample of a round, each thread of the target comes once per round, rounds
 * are numbered by the probe's one clock, and end comes also after a round a
 * callback stopped. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftprof/probe.h"
#include "interp.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = {
	{ "3.8" },  { "3.9" },   { "3.10" }, { "3.11" }, { "3.12" },
	{ "3.13" }, { "3.13t" }, { "3.14" }, { "3.15" },
};

/* parked.py with FTPROF_WORKERS=2: main, worker-0, worker-1, deep, spinner. */
#define THREADS 5
#define MAX_SEEN 64

struct watch {
	bool in_round;
	struct ftp_round round; /* the one begun last */
	unsigned begins, ends;
	int end_ret;
	pid_t seen[MAX_SEEN];
	unsigned nseen;
	unsigned stop_after; /* the sample callback returns 1 after this many; 0 never */
	const char *v;
};

static void on_begin(const struct ftp_round *r, void *arg)
{
	struct watch *w = arg;
	cr_assert(!w->in_round, "Python %s: round %lu begun inside round %lu", w->v, (unsigned long)r->number,
	          (unsigned long)w->round.number);
	cr_assert_gt(r->time_ns, 0, "Python %s: round without a time", w->v);
	w->in_round = true;
	w->round = *r;
	w->begins++;
	w->nseen = 0;
}

static int on_sample(const struct ftp_sample *s, void *arg)
{
	struct watch *w = arg;
	cr_assert(w->in_round, "Python %s: sample of thread %d outside a round", w->v, (int)s->tid);
	cr_assert_geq(s->time_ns, w->round.time_ns, "Python %s: a sample older than its round", w->v);
	for (unsigned i = 0; i < w->nseen; i++)
		cr_assert_neq(w->seen[i], s->tid, "Python %s: thread %d twice in round %lu", w->v,
		              (int)s->tid, (unsigned long)w->round.number);
	cr_assert_lt(w->nseen, MAX_SEEN);
	w->seen[w->nseen++] = s->tid;
	return w->stop_after && w->nseen >= w->stop_after;
}

static void on_end(const struct ftp_round *r, int ret, void *arg)
{
	struct watch *w = arg;
	cr_assert(w->in_round, "Python %s: end without begin", w->v);
	cr_assert_eq(r->number, w->round.number, "Python %s: end of another round", w->v);
	w->in_round = false;
	w->ends++;
	w->end_ret = ret;
}

static int on_sample_plain(const struct ftp_sample *s, void *arg)
{
	(void)s;
	(void)arg;
	return 0;
}

static const struct ftp_round_fns fns = { on_begin, on_sample, on_end };

/* Stopped also when an assertion ends the test early, so no spinner is left. */
static struct test_target target = { .pid = 0, .out_fd = -1 };

static void stop_target(void)
{
	test_target_stop(&target);
}

ParameterizedTestParameters(rounds, bracket_every_thread_once)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

ParameterizedTest(struct version_param *v, rounds, bracket_every_thread_once, .timeout = 120,
                  .fini = stop_target)
{
	const char *interp = test_interp_use(v->name);
	struct test_target *t = &target;
	const char *env[] = { "FTPROF_WORKERS=2", "FTPROF_DEPTH=10", NULL };
	cr_assert_eq(test_target_start(t, interp, test_source_path("tests/targets/parked.py"), env), 0);

	/* With context-switch events, rounds in which no thread ran are replayed
	 * without a walk: both paths must keep the bracket. */
	struct ftp_probe_opts opts = { .thread_names = true, .task_state = true, .task_events = true };
	struct ftp_probe *p;
	struct ftp_error err = { 0 };
	int ret = ftp_probe_create(&p, t->pid, &opts, &err);
	cr_assert_eq(ret, 0, "Python %s: %s", v->name, err.msg);

	struct watch w = { .v = v->name };
	uint64_t last = 0;
	for (int i = 0; i < 20; i++) {
		ret = ftp_probe_sample_round(p, &fns, &w, &err);
		cr_assert(ret == 0 || ret == -FTP_E_TORN, "Python %s: round %d: %s", v->name, i, err.msg);
		cr_assert_eq(w.ends, w.begins, "Python %s: round %d not ended", v->name, i);
		cr_assert_eq(w.end_ret, ret, "Python %s: end saw %d, the round returned %d", v->name,
		             w.end_ret, ret);
		if (last)
			cr_assert_eq(w.round.number, last + 1, "Python %s: round %lu after %lu", v->name,
			             (unsigned long)w.round.number, (unsigned long)last);
		last = w.round.number;
		if (ret == 0)
			cr_assert_eq(w.nseen, THREADS, "Python %s: round %lu saw %u threads, want %d",
			             v->name, (unsigned long)last, w.nseen, THREADS);
	}

	/* A plain ftp_probe_sample moves the same clock. */
	cr_assert_geq(ftp_probe_sample(p, on_sample_plain, NULL, &err), 0, "%s", err.msg);
	w.stop_after = 2;
	ret = ftp_probe_sample_round(p, &fns, &w, &err);
	cr_assert_eq(ret, 1, "Python %s: a stopped round returned %d (%s)", v->name, ret, err.msg);
	cr_assert_eq(w.end_ret, 1, "Python %s: end of a stopped round saw %d", v->name, w.end_ret);
	cr_assert_eq(w.round.number, last + 2, "Python %s: round %lu after a plain one after %lu", v->name,
	             (unsigned long)w.round.number, (unsigned long)last);
	cr_assert_eq(w.nseen, 2);

	ftp_probe_destroy(p);
}

/* churn.py makes new threads running new code objects without end: with
 * ftp_probe_trim every 50 rounds, the probe holds fewer code objects than it
 * has seen, and every sample after a trim still has its strings (a code
 * object freed while a kept stack lends it: a use after free the sanitizer
 * build reports). */
ParameterizedTestParameters(rounds, trim_bounds_codes)
{
	static struct version_param churn[] = { { "3.12" }, { "3.13t" } };
	return TEST_INTERP_PARAMS(struct version_param, churn, name);
}

struct trim_watch {
	uint64_t addrs[4096]; /* distinct code objects seen, up to the bound */
	size_t naddrs;
	size_t chars; /* of every Python frame's strings: reads them all */
};

static int on_sample_trim(const struct ftp_sample *s, void *arg)
{
	struct trim_watch *w = arg;
	for (unsigned i = 0; i < s->nframes; i++) {
		const struct ftp_code *c = s->frames[i].code;
		if (!c)
			continue;
		w->chars += strlen(c->name) + strlen(c->qualname) + strlen(c->filename);
		bool seen = false;
		for (size_t j = 0; j < w->naddrs && !seen; j++)
			seen = w->addrs[j] == c->addr;
		if (!seen && w->naddrs < sizeof(w->addrs) / sizeof(w->addrs[0]))
			w->addrs[w->naddrs++] = c->addr;
	}
	return 0;
}

ParameterizedTest(struct version_param *v, rounds, trim_bounds_codes, .timeout = 120, .fini = stop_target)
{
	const char *interp = test_interp_use(v->name);
	struct test_target *t = &target;
	const char *env[] = { "CHURN_WORKERS=3", "CHURN_LIFE=0.1", NULL };
	cr_assert_eq(test_target_start(t, interp, test_source_path("bench/targets/churn.py"), env), 0);
	struct ftp_probe_opts opts = { .thread_names = true, .task_state = true, .task_events = true };
	struct ftp_probe *p;
	struct ftp_error err = { 0 };
	cr_assert_eq(ftp_probe_create(&p, t->pid, &opts, &err), 0, "Python %s: %s", v->name, err.msg);
	struct trim_watch *w = calloc(1, sizeof(*w));
	cr_assert_not_null(w);
	uint64_t held = 0, trims = 0;
	for (int i = 1; i <= 400; i++) {
		int ret = ftp_probe_sample(p, on_sample_trim, w, &err);
		cr_assert(ret == 0 || ret == -FTP_E_TORN, "Python %s: round %d: %s", v->name, i, err.msg);
		usleep(5000);
		if (i % 50 == 0) {
			ftp_probe_trim(p, 50);
			struct ftp_probe_stats st;
			ftp_probe_stats(p, &st);
			held = st.codes;
			trims++;
		}
	}
	cr_assert_gt(w->chars, 0, "Python %s: no Python frame read", v->name);
	cr_assert_gt(w->naddrs, 40, "Python %s: only %zu code objects seen: churn.py does not churn", v->name,
	             w->naddrs);
	cr_expect_lt(held * 2, w->naddrs,
	             "Python %s: %lu code objects held after %lu trims, %zu seen: the trim keeps too many",
	             v->name, (unsigned long)held, (unsigned long)trims, w->naddrs);
	free(w);
	ftp_probe_destroy(p);
}
