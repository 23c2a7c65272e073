/* SPDX-License-Identifier: MIT */
/* The report, as text for a person and as JSON for scripts (docs/report.md).
 * Every string came from a recording, hence from a target: it is escaped. */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "report.h"

#define TEXT_LINES 5   /* waiting and holding lines shown per lock in text */
#define TEXT_CFUNCS 10 /* native functions of the on-CPU ticks shown in text */

static const char *thread_name(const struct analysis_result *res, pid_t tid)
{
	for (size_t i = 0; i < res->nthreads; i++)
		if (res->threads[i].tid == tid)
			return res->threads[i].name;
	return NULL;
}

static void put_thread(FILE *f, pid_t tid, const char *name)
{
	fprintf(f, "thread %d", (int)tid);
	if (name) {
		fputs(" \"", f);
		ui_put_escaped(f, name);
		fputc('"', f);
	}
}

/* "function (file:line)" */
static void put_line(FILE *f, const struct analysis_line *l)
{
	if (!l->function) {
		fputs("(no Python frame)", f);
		return;
	}
	ui_put_escaped(f, l->function);
	fputs(" (", f);
	ui_put_escaped(f, l->file);
	if (l->line >= 0)
		fprintf(f, ":%d", l->line);
	fputc(')', f);
}

static void put_lock(FILE *f, enum ftp_wait_kind kind, uint64_t address, const char *type)
{
	fputs(kind == FTP_WAIT_NONE ? "lock of unknown kind" : ftp_wait_kind_name(kind), f);
	if (address)
		fprintf(f, " 0x%" PRIx64, address);
	if (type) {
		fputs(" (", f);
		ui_put_escaped(f, type);
		fputc(')', f);
	}
}

static void text_lines(FILE *f, const char *title, const struct analysis_line *l, size_t n)
{
	if (!n)
		return;
	fprintf(f, "    %s\n", title);
	for (size_t i = 0; i < n && i < TEXT_LINES; i++) {
		fprintf(f, "      %8" PRIu64 "  ", l[i].samples);
		put_line(f, &l[i]);
		fputc('\n', f);
	}
	if (n > TEXT_LINES)
		fprintf(f, "      ... %zu more (--json lists them all)\n", n - TEXT_LINES);
}

static void text_deadlocks(FILE *f, const struct analysis_result *res)
{
	for (size_t i = 0; i < res->ndeadlocks; i++) {
		const struct analysis_deadlock *d = &res->deadlocks[i];
		fprintf(f, "DEADLOCK of %zu thread%s, seen in %" PRIu64 " round%s from %.3f s:\n", d->n,
		        d->n == 1 ? "" : "s", d->rounds, d->rounds == 1 ? "" : "s",
		        (double)(d->first_ns - res->first_ns) / 1e9);
		for (size_t k = 0; k < d->n; k++) {
			pid_t holder = d->threads[(k + 1) % d->n];
			fputs("  ", f);
			put_thread(f, d->threads[k], thread_name(res, d->threads[k]));
			fputs(" waits for ", f);
			put_lock(f, d->kinds[k], d->addresses[k], NULL);
			fputs(" held by ", f);
			if (holder == d->threads[k])
				fputs("itself", f);
			else
				put_thread(f, holder, thread_name(res, holder));
			fputs(", at ", f);
			put_line(f, &d->where[k]);
			fputc('\n', f);
		}
		fputc('\n', f);
	}
}

/* The CPUs a thread's ticks ran on, "0,1" (those below 64). */
static void put_cpus(FILE *f, uint64_t cpus)
{
	const char *sep = "";
	for (int c = 0; c < 64; c++)
		if (cpus & (1ull << c)) {
			fprintf(f, "%s%d", sep, c);
			sep = ",";
		}
}

static void text_oncpu(FILE *f, const struct analysis_result *res)
{
	const struct analysis_oncpu *o = &res->oncpu;
	if (!o->ticks) {
		fputs("  no on-CPU samples in this recording (perf_event cpu-clock: see docs/oncpu.md)\n", f);
		return;
	}
	fprintf(f, "  on-CPU samples: %.2f threads on a CPU at once (%" PRIu64 " ticks of %.3g ms):",
	        o->effective, o->ticks, o->tick_s * 1e3);
	const char *sep = " ";
	for (int k = 0; k < FTP_CPU_KIND_COUNT; k++) {
		if (!o->kind_ticks[k])
			continue;
		fprintf(f, "%s%s %.2f", sep, ftp_cpu_kind_name((enum ftp_cpu_kind)k), o->kinds[k]);
		sep = ", ";
	}
	fputs("\n\nCores (share of the time: busy with anything / with this process)\n", f);
	for (size_t i = 0; i < o->ncores; i++) {
		const struct analysis_core *c = &o->cores[i];
		fprintf(f, "  cpu%-3d ", c->cpu);
		if (c->busy >= 0)
			fprintf(f, "%5.1f%% busy", 100.0 * c->busy);
		else
			fputs("    ? busy", f);
		fprintf(f, ", %5.1f%% this process (%" PRIu64 " ticks)\n", 100.0 * c->target, c->ticks);
	}
	fputs("  threads ran on:", f);
	for (size_t i = 0; i < res->nthreads; i++) {
		const struct analysis_thread *t = &res->threads[i];
		if (!t->ticks)
			continue;
		fputs(i ? "\n    " : "\n    ", f);
		put_thread(f, t->tid, t->name);
		fprintf(f, ": %" PRIu64 " ticks on cpu ", t->ticks);
		put_cpus(f, t->cpus);
	}
	fputs("\n\nOn-CPU functions (the native function each tick interrupted, and its kind)\n", f);
	for (size_t i = 0; i < o->ncfuncs && i < TEXT_CFUNCS; i++) {
		const struct analysis_cfunc *c = &o->cfuncs[i];
		fprintf(f, "  %5.1f%% %8" PRIu64 "  %-9s ", 100.0 * c->share, c->samples,
		        ftp_cpu_kind_name(c->kind));
		ui_put_escaped(f, c->symbol);
		if (*c->library) {
			fputs(" (", f);
			ui_put_escaped(f, c->library);
			fputc(')', f);
		}
		fputc('\n', f);
	}
	if (o->ncfuncs > TEXT_CFUNCS)
		fprintf(f, "  ... %zu more (--json lists them all)\n", o->ncfuncs - TEXT_CFUNCS);
	fputs("\nReference-count contention (objects whose counts the threads updated)\n", f);
	if (!o->nrefcount)
		fputs("  none seen\n", f);
	for (size_t i = 0; i < o->nrefcount; i++) {
		const struct analysis_refcount *rc = &o->refcount[i];
		fputs("  ", f);
		ui_put_escaped(f, rc->type);
		fprintf(f, ": %.1f%% of on-CPU samples (%" PRIu64 "), %" PRIu64 " object%s",
		        100.0 * rc->share, rc->samples, rc->objects, rc->objects == 1 ? "" : "s");
		if (rc->address)
			fprintf(f, ", most 0x%" PRIx64, rc->address);
		if (rc->name) {
			fputc(' ', f);
			ui_put_escaped(f, rc->name);
		}
		fputc('\n', f);
		text_lines(f, "at:", rc->lines, rc->nlines);
	}
}

void report_print_text(FILE *f, const struct report *r)
{
	const struct analysis_result *res = r->res;
	const struct raw_header *h = r->hdr;
	fputs("ftprof report of ", f);
	ui_put_escaped(f, r->path);
	fprintf(f, ": pid %d, Python ", (int)h->pid);
	ui_put_escaped(f, *h->python ? h->python : "?");
	fprintf(f, "%s", h->free_threaded ? " free-threaded" : "");
	if (h->rate > 0)
		fprintf(f, ", %g Hz asked", h->rate);
	fputc('\n', f);
	fprintf(f,
	        "%" PRIu64 " samples in %" PRIu64 " rounds over %.3f s; a sample stands for %.3f ms (%s)\n\n",
	        res->samples, res->rounds, res->duration_s, res->interval_s * 1e3,
	        res->interval_measured ? "measured"
	        : res->interval_s > 0  ? "from the rate asked"
	                               : "unknown");

	text_deadlocks(f, res);

	fputs("Threads (share of samples in each state)\n", f);
	for (size_t i = 0; i < res->nthreads; i++) {
		const struct analysis_thread *t = &res->threads[i];
		fputs("  ", f);
		put_thread(f, t->tid, t->name);
		fprintf(f, ": %" PRIu64 " sample%s:", t->samples, t->samples == 1 ? "" : "s");
		const char *sep = " ";
		for (int s = 0; s < FTP_STATE_COUNT; s++) {
			if (!t->states[s])
				continue;
			fprintf(f, "%s%s %.1f%%", sep, ftp_state_name((enum ftp_state)s),
			        100.0 * (double)t->states[s] / (double)t->samples);
			sep = ", ";
		}
		fputc('\n', f);
	}

	fputs("\nParallelism\n", f);
	fprintf(f, "  %.2f threads running or native at once, %.2f running Python", res->effective,
	        res->python);
	if (res->cores)
		fprintf(f, ", on %ld cores", res->cores);
	fputc('\n', f);

	text_oncpu(f, res);

	fputs("\nLocks (by time waited)\n", f);
	if (!res->nlocks)
		fputs("  no thread waited for a lock\n", f);
	for (size_t i = 0; i < res->nlocks; i++) {
		const struct analysis_lock *l = &res->locks[i];
		fputs("  ", f);
		put_lock(f, l->kind, l->address, l->type);
		fprintf(f, ": %.3f s waited (%" PRIu64 " sample%s)\n", l->wait_seconds, l->samples,
		        l->samples == 1 ? "" : "s");
		text_lines(f, "waiting at:", l->waiters, l->nwaiters);
		text_lines(f, "held at:", l->holders, l->nholders);
	}

	if (res->gil_build) {
		fputs("\nGIL\n", f);
		fprintf(f, "  held in %.1f%% of rounds\n", 100.0 * res->gil_busy);
		for (size_t i = 0; i < res->ngil_waiters; i++) {
			const struct analysis_gil_waiter *w = &res->gil_waiters[i];
			fputs("  ", f);
			put_thread(f, w->tid, w->name);
			fprintf(f, " waited for it: %.3f s (%" PRIu64 " sample%s)\n", w->seconds, w->samples,
			        w->samples == 1 ? "" : "s");
		}
	}
	if (!res->ndeadlocks)
		fputs("\nNo deadlock seen.\n", f);
}

/* ---- JSON ---- */

static void json_num(FILE *f, double v)
{
	fprintf(f, "%.6g", v);
}

static void json_addr(FILE *f, uint64_t address)
{
	if (address)
		fprintf(f, "\"0x%" PRIx64 "\"", address);
	else
		fputs("null", f);
}

static void json_kind(FILE *f, enum ftp_wait_kind kind)
{
	ui_put_json_str(f, kind == FTP_WAIT_NONE ? NULL : ftp_wait_kind_name(kind));
}

static void json_line(FILE *f, const struct analysis_line *l, bool samples)
{
	fputs("{\"function\": ", f);
	ui_put_json_str(f, l->function);
	fputs(", \"file\": ", f);
	ui_put_json_str(f, l->function ? l->file : NULL);
	fputs(", \"line\": ", f);
	if (l->line >= 0)
		fprintf(f, "%d", l->line);
	else
		fputs("null", f);
	if (samples)
		fprintf(f, ", \"samples\": %" PRIu64, l->samples);
	fputc('}', f);
}

static void json_lines(FILE *f, const struct analysis_line *l, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		json_line(f, &l[i], true);
	}
	fputc(']', f);
}

/* The end of "parallelism" (its on-CPU part), then "cores", "functions" and
 * "refcount". */
static void json_oncpu(FILE *f, const struct analysis_result *res)
{
	const struct analysis_oncpu *o = &res->oncpu;
	fputs(", \"oncpu\": ", f);
	if (!o->ticks) {
		fputs("null},\n \"cores\": [],\n \"functions\": [],\n \"refcount\": []", f);
		return;
	}
	fputs("{\"effective\": ", f);
	json_num(f, o->effective);
	fprintf(f, ", \"ticks\": %" PRIu64 ", \"tick_seconds\": ", o->ticks);
	json_num(f, o->tick_s);
	fputs(", \"kinds\": {", f);
	for (int k = 0; k < FTP_CPU_KIND_COUNT; k++) {
		fprintf(f, "%s\"%s\": ", k ? ", " : "", ftp_cpu_kind_name((enum ftp_cpu_kind)k));
		json_num(f, o->kinds[k]);
	}
	fputs("}}},\n \"cores\": [", f);
	for (size_t i = 0; i < o->ncores; i++) {
		const struct analysis_core *c = &o->cores[i];
		fprintf(f, "%s{\"cpu\": %d, \"busy\": ", i ? ", " : "", c->cpu);
		if (c->busy >= 0)
			json_num(f, c->busy);
		else
			fputs("null", f);
		fputs(", \"target\": ", f);
		json_num(f, c->target);
		fprintf(f, ", \"ticks\": %" PRIu64 "}", c->ticks);
	}
	fputs("],\n \"functions\": [", f);
	for (size_t i = 0; i < o->ncfuncs; i++) {
		const struct analysis_cfunc *c = &o->cfuncs[i];
		fprintf(f, "%s\n  {\"symbol\": ", i ? "," : "");
		ui_put_json_str(f, c->symbol);
		fputs(", \"library\": ", f);
		if (*c->library)
			ui_put_json_str(f, c->library);
		else
			fputs("null", f);
		fprintf(f, ", \"kind\": \"%s\", \"samples\": %" PRIu64 ", \"share\": ",
		        ftp_cpu_kind_name(c->kind), c->samples);
		json_num(f, c->share);
		fputc('}', f);
	}
	fputs("],\n \"refcount\": [", f);
	for (size_t i = 0; i < o->nrefcount; i++) {
		const struct analysis_refcount *rc = &o->refcount[i];
		fprintf(f, "%s\n  {\"type\": ", i ? "," : "");
		ui_put_json_str(f, rc->type);
		fprintf(f, ", \"samples\": %" PRIu64 ", \"share\": ", rc->samples);
		json_num(f, rc->share);
		fprintf(f, ", \"objects\": %" PRIu64 ", \"address\": ", rc->objects);
		json_addr(f, rc->address);
		fputs(", \"name\": ", f);
		if (rc->name)
			ui_put_json_str(f, rc->name);
		else
			fputs("null", f);
		fputs(", \"lines\": ", f);
		json_lines(f, rc->lines, rc->nlines);
		fputc('}', f);
	}
	fputc(']', f);
}

void report_print_json(FILE *f, const struct report *r)
{
	const struct analysis_result *res = r->res;
	const struct raw_header *h = r->hdr;
	fputs("{\"format\": 1,\n \"source\": {\"file\": ", f);
	ui_put_json_str(f, r->path);
	fprintf(f, ", \"raw_format\": %d, \"pid\": %d, \"python\": ", h->format, (int)h->pid);
	ui_put_json_str(f, *h->python ? h->python : NULL);
	fprintf(f, ", \"free_threaded\": %s, \"rate\": ", h->free_threaded ? "true" : "false");
	if (h->rate > 0)
		json_num(f, h->rate);
	else
		fputs("null", f);
	fprintf(f, "},\n \"samples\": %" PRIu64 ", \"rounds\": %" PRIu64 ", \"duration_seconds\": ",
	        res->samples, res->rounds);
	json_num(f, res->duration_s);
	fputs(", \"interval_seconds\": ", f);
	if (res->interval_s > 0)
		json_num(f, res->interval_s);
	else
		fputs("null", f);
	fprintf(f, ", \"interval_measured\": %s,\n", res->interval_measured ? "true" : "false");

	fputs(" \"threads\": [", f);
	for (size_t i = 0; i < res->nthreads; i++) {
		const struct analysis_thread *t = &res->threads[i];
		fprintf(f, "%s\n  {\"tid\": %d, \"name\": ", i ? "," : "", (int)t->tid);
		ui_put_json_str(f, t->name);
		fprintf(f, ", \"samples\": %" PRIu64 ", \"states\": {", t->samples);
		for (int s = 0; s < FTP_STATE_COUNT; s++) {
			fprintf(f, "%s\"%s\": ", s ? ", " : "", ftp_state_name((enum ftp_state)s));
			json_num(f, t->samples ? (double)t->states[s] / (double)t->samples : 0);
		}
		fprintf(f, "}, \"ticks\": %" PRIu64 ", \"cpus\": [", t->ticks);
		const char *sep = "";
		for (int c = 0; c < 64; c++)
			if (t->cpus & (1ull << c)) {
				fprintf(f, "%s%d", sep, c);
				sep = ", ";
			}
		fputs("]}", f);
	}
	fputs("],\n \"parallelism\": {\"effective\": ", f);
	json_num(f, res->effective);
	fputs(", \"python\": ", f);
	json_num(f, res->python);
	fputs(", \"cores\": ", f);
	if (res->cores)
		fprintf(f, "%ld", res->cores);
	else
		fputs("null", f);
	json_oncpu(f, res);
	fputs(",\n \"locks\": [", f);
	for (size_t i = 0; i < res->nlocks; i++) {
		const struct analysis_lock *l = &res->locks[i];
		fprintf(f, "%s\n  {\"kind\": ", i ? "," : "");
		json_kind(f, l->kind);
		fputs(", \"address\": ", f);
		json_addr(f, l->address);
		fputs(", \"type\": ", f);
		ui_put_json_str(f, l->type);
		fputs(", \"wait_seconds\": ", f);
		json_num(f, l->wait_seconds);
		fprintf(f, ", \"samples\": %" PRIu64 ",\n   \"waiters\": ", l->samples);
		json_lines(f, l->waiters, l->nwaiters);
		fputs(",\n   \"holders\": ", f);
		json_lines(f, l->holders, l->nholders);
		fputc('}', f);
	}
	fputs("],\n \"gil\": ", f);
	if (res->gil_build) {
		fputs("{\"busy\": ", f);
		json_num(f, res->gil_busy);
		fputs(", \"waiters\": [", f);
		for (size_t i = 0; i < res->ngil_waiters; i++) {
			const struct analysis_gil_waiter *w = &res->gil_waiters[i];
			fprintf(f, "%s{\"tid\": %d, \"name\": ", i ? ", " : "", (int)w->tid);
			ui_put_json_str(f, w->name);
			fprintf(f, ", \"samples\": %" PRIu64 ", \"seconds\": ", w->samples);
			json_num(f, w->seconds);
			fputc('}', f);
		}
		fputs("]}", f);
	} else {
		fputs("null", f);
	}
	fputs(",\n \"deadlocks\": [", f);
	for (size_t i = 0; i < res->ndeadlocks; i++) {
		const struct analysis_deadlock *d = &res->deadlocks[i];
		fprintf(f, "%s\n  {\"threads\": [", i ? "," : "");
		for (size_t k = 0; k < d->n; k++)
			fprintf(f, "%s%d", k ? ", " : "", (int)d->threads[k]);
		fputs("], \"locks\": [", f);
		for (size_t k = 0; k < d->n; k++) {
			fputs(k ? ", {\"kind\": " : "{\"kind\": ", f);
			json_kind(f, d->kinds[k]);
			fputs(", \"address\": ", f);
			json_addr(f, d->addresses[k]);
			fputc('}', f);
		}
		fputs("],\n   \"lines\": [", f);
		for (size_t k = 0; k < d->n; k++) {
			fputs(k ? ", " : "", f);
			json_line(f, &d->where[k], false);
		}
		fprintf(f, "], \"rounds\": %" PRIu64 ", \"first_seconds\": ", d->rounds);
		json_num(f, (double)(d->first_ns - res->first_ns) / 1e9);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
