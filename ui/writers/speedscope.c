/* SPDX-License-Identifier: MIT */
/* speedscope's file format: every frame once in shared.frames, and one
 * sampled profile per thread, its consecutive samples of one stack merged. */
#include <errno.h>
#include <stdlib.h>

#include "escape.h"
#include "writers.h"

static void put_frame(FILE *f, const struct profile_frame *fr)
{
	fputs("{\"name\": ", f);
	switch (fr->kind) {
	case PROFILE_FRAME_PYTHON: {
		/* the label says the line too: speedscope merges frames by name */
		char *label = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&label, &len);
		if (m) {
			fputs(fr->function, m);
			fputs(" (", m);
			fputs(fr->file, m);
			if (fr->line >= 0)
				fprintf(m, ":%d", fr->line);
			fputc(')', m);
			fclose(m);
		}
		ui_put_json_str(f, label ? label : fr->function);
		free(label);
		fputs(", \"file\": ", f);
		ui_put_json_str(f, fr->file);
		if (fr->line >= 0)
			fprintf(f, ", \"line\": %d", fr->line);
		break;
	}
	case PROFILE_FRAME_NATIVE:
		if (fr->function)
			ui_put_json_str(f, fr->function);
		else
			fprintf(f, "\"0x%llx\"", (unsigned long long)fr->ip);
		if (fr->file) {
			fputs(", \"file\": ", f);
			ui_put_json_str(f, fr->file);
		}
		break;
	case PROFILE_FRAME_THREAD:
		fputs("\"thread ", f);
		fprintf(f, "%d\"", (int)fr->tid);
		break;
	case PROFILE_FRAME_STATE:
		fprintf(f, "\"[%s]\"", fr->function); /* one of sample.h's names */
		break;
	}
	fputc('}', f);
}

int speedscope_write(const struct profile *pr, FILE *f)
{
	uint32_t *path = malloc((profile_max_depth(pr) + 1) * sizeof(*path));
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	struct profile_target tg;
	profile_target(pr, &tg);
	fputs("{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
	      " \"exporter\": \"ftprof " FTPROF_VERSION "\",\n \"name\": ",
	      f);
	char *name = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&name, &len);
	if (m) {
		fprintf(m, "%s (pid %d, Python %s%s)", tg.command, (int)tg.pid, tg.version,
		        tg.free_threaded ? ", free-threaded" : "");
		fclose(m);
	}
	ui_put_json_str(f, name ? name : "ftprof");
	free(name);
	fputs(",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [", f);
	size_t nframes = profile_frames(pr);
	for (size_t i = 0; i < nframes; i++) {
		struct profile_frame fr;
		profile_frame(pr, (uint32_t)i, &fr);
		fputs(i ? ",\n  " : "\n  ", f);
		put_frame(f, &fr);
	}
	fputs("]},\n \"profiles\": [", f);
	size_t nthreads = profile_threads(pr);
	for (size_t t = 0; t < nthreads; t++) {
		struct profile_thread tl;
		profile_thread(pr, t, &tl);
		char title[256];
		snprintf(title, sizeof(title), "thread \"%s\" (%d)", tl.name ? tl.name : "", (int)tl.tid);
		fputs(t ? ",\n  {\"type\": \"sampled\", \"name\": "
		        : "\n  {\"type\": \"sampled\", \"name\": ",
		      f);
		ui_put_json_str(f, title);
		fprintf(f,
		        ", \"unit\": \"seconds\", \"startValue\": 0, \"endValue\": %.9g,\n   \"samples\": [",
		        tl.total);
		for (size_t i = 0; i < tl.nruns; i++) {
			size_t n = profile_node_path(pr, tl.runs[i].node, path);
			fputs(i ? ", [" : "[", f);
			for (size_t j = 0; j < n; j++)
				fprintf(f, j ? ", %u" : "%u", path[j]);
			fputc(']', f);
		}
		fputs("],\n   \"weights\": [", f);
		for (size_t i = 0; i < tl.nruns; i++)
			fprintf(f, i ? ", %.9g" : "%.9g", tl.runs[i].weight);
		fputs("]}", f);
	}
	fputs("]}\n", f);
	free(path);
	return writer_finish(f);
}
