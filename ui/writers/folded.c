/* SPDX-License-Identifier: MIT */
/* The folded format (Brendan Gregg's collapsed stacks): one line per unique
 * stack, frames outermost first separated by ';', then the sample count. */
#include <errno.h>
#include <stdlib.h>

#include "escape.h"
#include "ftprof/util.h"
#include "writers.h"

void writer_put_folded_frame(FILE *f, const struct profile_frame *fr)
{
	switch (fr->kind) {
	case PROFILE_FRAME_PYTHON:
		ui_put_folded(f, fr->function);
		fputs(" (", f);
		ui_put_folded(f, fr->file);
		if (fr->line >= 0)
			fprintf(f, ":%d)", fr->line);
		else
			fputc(')', f);
		break;
	case PROFILE_FRAME_NATIVE:
		if (fr->function)
			ui_put_folded(f, fr->function);
		else
			fprintf(f, "0x%llx", (unsigned long long)fr->ip);
		if (fr->file) {
			fputs(" (", f);
			ui_put_folded(f, ftp_base_name(fr->file));
			fputc(')', f);
		}
		break;
	case PROFILE_FRAME_THREAD:
		fputs("thread \"", f);
		ui_put_folded(f, fr->function ? fr->function : "");
		fprintf(f, "\" (%d)", (int)fr->tid);
		break;
	case PROFILE_FRAME_STATE:
		fprintf(f, "[%s]", fr->function); /* one of sample.h's names: no escaping */
		break;
	}
}

int writer_finish(FILE *f)
{
	if (fflush(f) != 0 || ferror(f)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int folded_write(const struct profile *pr, FILE *f)
{
	uint32_t *path = malloc((profile_max_depth(pr) + 1) * sizeof(*path));
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	size_t nodes = profile_nodes(pr);
	for (uint32_t i = 1; i < nodes; i++) {
		uint64_t count = profile_node_count(pr, i);
		if (!count)
			continue;
		size_t n = profile_node_path(pr, i, path);
		for (size_t j = 0; j < n; j++) {
			struct profile_frame fr;
			profile_frame(pr, path[j], &fr);
			if (j)
				fputc(';', f);
			writer_put_folded_frame(f, &fr);
		}
		fprintf(f, " %llu\n", (unsigned long long)count);
	}
	free(path);
	return writer_finish(f);
}
