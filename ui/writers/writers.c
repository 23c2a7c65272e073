/* SPDX-License-Identifier: MIT */
/* The table of record's output formats: -f, the output file's extension and
 * --help all read it, so a format is one file and one row. */
#include <string.h>
#include <strings.h>

#include "writers.h"

static const char *const folded_aliases[] = { "collapsed", NULL };
static const char *const folded_exts[] = { "folded", "collapsed", "txt", "stacks", NULL };
static const char *const speedscope_exts[] = { "json", NULL };
static const char *const raw_exts[] = { "raw", "tsv", NULL };
static const char *const gecko_aliases[] = { "firefox", NULL };
static const char *const gecko_exts[] = { "gecko.json", NULL };
static const char *const pprof_exts[] = { "pb.gz", "pprof", "pb", NULL };
static const char *const svg_exts[] = { "svg", NULL };

const struct writer writers[] = {
	{ .name = "folded",
	  .aliases = folded_aliases,
	  .exts = folded_exts,
	  .default_ext = "folded",
	  .help = "flamegraph.pl, inferno (the default)",
	  .write = folded_write },
	{ .name = "speedscope",
	  .exts = speedscope_exts,
	  .default_ext = "speedscope.json",
	  .help = "speedscope.app, one profile per thread",
	  .flags = WRITER_TIMELINE,
	  .write = speedscope_write },
	{ .name = "raw",
	  .exts = raw_exts,
	  .default_ext = "raw",
	  .help = "a line per sample of every state, with its wait: for scripts, report",
	  .flags = WRITER_STREAM | WRITER_EVERY_SAMPLE,
	  .begin = raw_begin,
	  .sample = raw_sample,
	  .end = raw_end,
	  .cpustat = raw_cpustat },
	{ .name = "svg",
	  .exts = svg_exts,
	  .default_ext = "svg",
	  .help = "an interactive flame graph for any browser: zoom, search (--reverse)",
	  .flags = WRITER_VIEW,
	  .write_view = svg_write },
	{ .name = "gecko",
	  .aliases = gecko_aliases,
	  .exts = gecko_exts,
	  .default_ext = "gecko.json",
	  .help = "the Firefox Profiler: a track per thread, states and lock waits as markers",
	  .flags = WRITER_STREAM | WRITER_EVERY_SAMPLE,
	  .begin = gecko_begin,
	  .sample = gecko_sample,
	  .finish = gecko_finish,
	  .end = gecko_end },
	{ .name = "pprof",
	  .exts = pprof_exts,
	  .default_ext = "pb.gz",
	  .help = "go tool pprof, Pyroscope, Parca: labels for thread and state",
	  .flags = WRITER_STREAM,
	  .begin = pprof_begin,
	  .sample = pprof_sample,
	  .finish = pprof_finish,
	  .end = pprof_end },
};
const size_t nwriters = sizeof(writers) / sizeof(writers[0]);

/* Formats ftprof is asked for and does not write: HTML flame graphs;
 * record folded stacks and render them instead. */
static const char *const refused_exts[] = { "html" };

const struct writer *writer_by_name(const char *name)
{
	for (size_t i = 0; i < nwriters; i++) {
		if (strcmp(name, writers[i].name) == 0)
			return &writers[i];
		for (const char *const *a = writers[i].aliases; a && *a; a++)
			if (strcmp(name, *a) == 0)
				return &writers[i];
	}
	return NULL;
}

/* Whether path ends with "." ext, in any case. */
static bool has_ext(const char *path, const char *ext)
{
	size_t n = strlen(path), m = strlen(ext);
	return n > m && path[n - m - 1] == '.' && strcasecmp(path + n - m, ext) == 0;
}

int writer_by_path(const char *path, const struct writer **w)
{
	size_t longest = 0;
	for (size_t i = 0; i < nwriters; i++)
		for (const char *const *e = writers[i].exts; *e; e++)
			if (strlen(*e) > longest && has_ext(path, *e)) {
				*w = &writers[i];
				longest = strlen(*e);
			}
	if (longest)
		return 0;
	for (size_t i = 0; i < sizeof(refused_exts) / sizeof(refused_exts[0]); i++)
		if (has_ext(path, refused_exts[i]))
			return -1;
	return 1;
}

void writers_names(char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < nwriters && at < len; i++) {
		int n = snprintf(buf + at, len - at, "%s%s",
		                 i == 0             ? ""
		                 : i + 1 < nwriters ? ", "
		                                    : " or ",
		                 writers[i].name);
		at += n > 0 ? (size_t)n : 0;
	}
}

void writers_put_help(FILE *f, int indent)
{
	for (size_t i = 0; i < nwriters; i++) {
		fprintf(f, "%*s%-11s %s\n%*s", indent, "", writers[i].name, writers[i].help, indent + 12, "");
		for (const char *const *e = writers[i].exts; *e; e++)
			fprintf(f, "%s.%s", e == writers[i].exts ? "from " : " ", *e);
		fputc('\n', f);
	}
}
