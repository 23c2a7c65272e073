/* SPDX-License-Identifier: MIT */
/* The raw format (3): every thread sample as a line, written as it comes:
 * round, time, tid, state, on-CPU, CPU, GIL, what it waits on and who holds
 * it, thread name and the stack in the folded format's labels; after it, a
 * line per on-CPU tick of the thread since its previous sample; now and
 * then the machine's CPU times (docs/record-formats.md). `ftprof report`
 * reads it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "ftprof/sample.h"
#include "ftprof/util.h"
#include "writers.h"

struct writer_stream {
	char **labels; /* labels[frame id]: the escaped folded label, made once */
	size_t labels_cap;
};

int raw_begin(struct writer_stream **out, const struct profile *pr, FILE *f)
{
	struct writer_stream *st = calloc(1, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return -1;
	}
	*out = st;
	struct profile_target tg;
	profile_target(pr, &tg);
	fprintf(f, "# ftprof raw 4: pid %d, Python %s%s, %g Hz asked, %d cores, tick %llu ns\n", (int)tg.pid,
	        tg.version, tg.free_threaded ? " free-threaded" : "", tg.rate, tg.cores,
	        (unsigned long long)tg.tick_ns);
	fputs("# "
	      "round\ttime_ns\ttid\tstate\toncpu\tcpu\tgil\twait\twait_addr\twait_type\tholder\tholder_how\t"
	      "thread\tstack (outermost first, ';'-separated)\n"
	      "# "
	      "@\ttime_ns\ttid\tcpu\tkind\tmode\tsymbol\tinlined\tobject\tobject_type\tobject_name\tlibrary\n"
	      "# %\ttime_ns\tbusy/total of cpu0\tof cpu1 ...\n",
	      f);
	return ferror(f) ? -1 : 0;
}

void raw_end(struct writer_stream *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->labels_cap; i++)
		free(st->labels[i]);
	free(st->labels);
	free(st);
}

/* The label of frame id, made once. */
static const char *label(struct writer_stream *st, const struct profile *pr, uint32_t id)
{
	size_t cap = st->labels_cap;
	if (ftp_grow((void **)&st->labels, &st->labels_cap, (size_t)id + 1, sizeof(*st->labels), 256) < 0)
		return NULL;
	memset(st->labels + cap, 0, (st->labels_cap - cap) * sizeof(*st->labels));
	if (!st->labels[id]) {
		struct profile_frame fr;
		size_t len = 0;
		profile_frame(pr, id, &fr);
		FILE *m = open_memstream(&st->labels[id], &len);
		if (!m)
			return NULL;
		writer_put_folded_frame(m, &fr);
		if (fclose(m) != 0) {
			free(st->labels[id]);
			st->labels[id] = NULL;
		}
	}
	return st->labels[id];
}

/* The stack column of frames, into memo. */
static int render(struct writer_stream *st, const struct profile *pr, const uint32_t *frames, unsigned n,
                  struct profile_memo *memo)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -FTP_E_NOMEM;
	for (unsigned i = 0; i < n; i++) {
		const char *l = label(st, pr, frames[i]);
		if (!l) {
			fclose(m);
			free(buf);
			return -FTP_E_NOMEM;
		}
		if (i)
			fputc(';', m);
		fputs(l, m);
	}
	if (fclose(m) != 0) {
		free(buf);
		return -FTP_E_NOMEM;
	}
	memo->text = buf;
	memo->len = len;
	return 0;
}

static const char *tristate(int v)
{
	return v < 0 ? "-" : v ? "1" : "0";
}

/* A name column: the name, or `-` when there is none. */
static const char *or_dash(const char *name)
{
	return name && *name ? name : "-";
}

/* wait, wait_addr, wait_type, holder, holder_how, each followed by a tab. */
static void put_wait(FILE *f, const struct ftp_wait *w)
{
	fprintf(f, "%s\t", or_dash(ftp_wait_kind_name(w->kind)));
	if (w->address)
		fprintf(f, "0x%llx\t", (unsigned long long)w->address);
	else
		fputs("-\t", f);
	if (w->type && *w->type)
		ui_put_folded(f, w->type);
	else
		fputc('-', f);
	if (w->holder)
		fprintf(f, "\t%d\t", (int)w->holder);
	else
		fputs("\t-\t", f);
	fprintf(f, "%s\t", or_dash(ftp_holder_how_name(w->holder_how)));
}

/* A name column, escaped, or `-`. */
static void put_name(FILE *f, const char *name)
{
	if (name && *name)
		ui_put_folded(f, name);
	else
		fputc('-', f);
}

/* "@ time tid cpu kind mode symbol inlined object object_type object_name library" */
static void put_tick(FILE *f, pid_t tid, const struct ftp_tick *k)
{
	fprintf(f, "@\t%llu\t%d\t%d\t%s\t%s\t", (unsigned long long)k->time_ns, (int)tid, k->cpu,
	        ftp_cpu_kind_name(k->kind), k->in_kernel ? "k" : "u");
	put_name(f, k->symbol);
	fputc('\t', f);
	put_name(f, k->inlined);
	if (k->object_addr)
		fprintf(f, "\t0x%llx\t", (unsigned long long)k->object_addr);
	else
		fputs("\t-\t", f);
	put_name(f, k->object_type);
	fputc('\t', f);
	put_name(f, k->object_name);
	fputc('\t', f);
	put_name(f, k->object ? ftp_base_name(k->object) : NULL);
	fputc('\n', f);
}

int raw_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s,
               double weight)
{
	(void)weight; /* raw has the time of each sample */
	const uint32_t *frames;
	struct profile_memo *memo;
	/* A torn sample keeps its state (report counts it) but not its stack,
	 * which changed while it was read. */
	struct ftp_sample whole = *s;
	if (s->flags & FTP_SAMPLE_TORN)
		whole.nframes = 0;
	if (profile_stack(pr, &whole, &frames, &memo) < 0 ||
	    (!memo->text && whole.nframes && render(st, pr, frames, whole.nframes, memo) < 0)) {
		errno = ENOMEM;
		return -1;
	}
	fprintf(f, "%llu\t%llu\t%d\t%s\t%s\t", (unsigned long long)s->round, (unsigned long long)s->time_ns,
	        (int)s->tid, ftp_state_name(s->state), tristate(s->on_cpu));
	if (s->cpu >= 0)
		fprintf(f, "%d\t", s->cpu);
	else
		fputs("-\t", f);
	fprintf(f, "%s\t", tristate(s->holds_gil));
	put_wait(f, &s->wait);
	if (s->name)
		ui_put_folded(f, s->name);
	fputc('\t', f);
	if (memo->text)
		fwrite(memo->text, 1, memo->len, f);
	fputc('\n', f);
	for (unsigned i = 0; i < s->nticks; i++)
		put_tick(f, s->tid, &s->ticks[i]);
	return ferror(f) ? -1 : 0;
}

int raw_cpustat(struct writer_stream *st, FILE *f, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                unsigned n)
{
	(void)st;
	fprintf(f, "%%\t%llu", (unsigned long long)time_ns);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "\t%llu/%llu", (unsigned long long)cpus[i].busy,
		        (unsigned long long)cpus[i].total);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
