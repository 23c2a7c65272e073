/* SPDX-License-Identifier: MIT */
/* The raw format: every thread sample as a line, written as it comes: time,
 * tid, state, GIL, thread name and the stack in the folded format's labels. */
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
	fprintf(f, "# ftprof raw 1: pid %d, Python %s%s, %g Hz asked\n", (int)tg.pid, tg.version,
	        tg.free_threaded ? " free-threaded" : "", tg.rate);
	fputs("# time_ns\ttid\tstate\tgil\tthread\tstack (outermost first, ';'-separated)\n", f);
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

int raw_sample(struct writer_stream *st, struct profile *pr, FILE *f, const struct ftp_sample *s)
{
	const uint32_t *frames;
	struct profile_memo *memo;
	if (profile_stack(pr, s, &frames, &memo) < 0 ||
	    (!memo->text && render(st, pr, frames, s->nframes, memo) < 0)) {
		errno = ENOMEM;
		return -1;
	}
	fprintf(f, "%llu\t%d\t%s\t%s\t", (unsigned long long)s->time_ns, (int)s->tid,
	        ftp_state_name(s->state),
	        s->holds_gil < 0 ? "-"
	        : s->holds_gil   ? "1"
	                         : "0");
	if (s->name)
		ui_put_folded(f, s->name);
	fputc('\t', f);
	fwrite(memo->text, 1, memo->len, f);
	fputc('\n', f);
	return ferror(f) ? -1 : 0;
}
