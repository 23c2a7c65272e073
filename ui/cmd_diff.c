/* SPDX-License-Identifier: MIT */
/* ftprof diff: two recordings of one program compared, each function's share
 * of its own recording's samples before and after: as text, the functions
 * whose share changed most; as an SVG, the flame graph after, coloured by
 * how each frame's share changed. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "ui.h"
#include "writers/svg.h"

static const char usage[] =
        "usage: ftprof diff [OPTIONS] BEFORE AFTER\n"
        "\n"
        "Compares two recordings of the same program (raw or folded, as ftprof record\n"
        "writes them), each function's share of its own recording's samples: prints the\n"
        "functions whose share changed most and, with -o, draws the flame graph of AFTER\n"
        "coloured by the change: red grew, blue shrank.\n"
        "\n"
        "  -o, --output FILE   write the differential flame graph (SVG) to FILE\n"
        "  -n, --top N         functions listed (default 20; 0: every one)\n"
        "  -l, --lines         compare Python frames line by line (default: by function)\n"
        "  -i, --idle          raw: every sample, waiting threads too (default: those\n"
        "                      record's flame graphs keep)\n"
        "  -s, --states        raw: end each stack with its state ([lock], [running], ...)\n"
        "      --reverse       the SVG as the callers view (an icicle)\n"
        "  -h, --help          show this help\n";

struct side {
	const char *path;
	struct flame *fl;
	struct flame_source src;
	struct flame_function *fns;
	long nfns;
};

/* One function's share before and after. */
struct change {
	const char *function;
	double before, after;           /* total: on the stack */
	double self_before, self_after; /* self: innermost */
};

static double share(uint64_t n, uint64_t total)
{
	return total ? (double)n / (double)total : 0;
}

static int by_change(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	double dx = fabs(x->after - x->before), dy = fabs(y->after - y->before);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	dx = fabs(x->self_after - x->self_before);
	dy = fabs(y->self_after - y->self_before);
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(x->function, y->function);
}

/* The functions of both sides, merged by name (both lists are in name
 * order). Returns how many, or -1 when out of memory. */
static long merge(const struct side *b, const struct side *a, struct change **out)
{
	struct change *c = calloc((size_t)(b->nfns + a->nfns) + 1, sizeof(*c));
	if (!c)
		return -1;
	uint64_t tb = flame_total(b->fl), ta = flame_total(a->fl);
	long i = 0, j = 0, n = 0;
	while (i < b->nfns || j < a->nfns) {
		int cmp = i == b->nfns   ? 1
		          : j == a->nfns ? -1
		                         : strcmp(b->fns[i].function, a->fns[j].function);
		struct change *e = &c[n++];
		if (cmp <= 0) {
			e->function = b->fns[i].function;
			e->before = share(b->fns[i].total, tb);
			e->self_before = share(b->fns[i].self, tb);
			i++;
		}
		if (cmp >= 0) {
			e->function = a->fns[j].function;
			e->after = share(a->fns[j].total, ta);
			e->self_after = share(a->fns[j].self, ta);
			j++;
		}
	}
	qsort(c, (size_t)n, sizeof(*c), by_change);
	*out = c;
	return n;
}

static void put_side(FILE *f, const struct side *s)
{
	ui_put_escaped(f, s->path);
	fprintf(f, " (%s, %llu samples", s->src.format, (unsigned long long)flame_total(s->fl));
	if (s->src.python[0]) {
		fputs(", Python ", f);
		ui_put_escaped(f, s->src.python);
		if (s->src.free_threaded)
			fputs(" free-threaded", f);
	}
	fputc(')', f);
}

static void print_text(FILE *f, const struct side *b, const struct side *a, const struct change *c, long n,
                       long top)
{
	fputs("ftprof diff: ", f);
	put_side(f, b);
	fputs("\n         to: ", f);
	put_side(f, a);
	fputs("\n\nFunctions whose share of the samples changed most (total: on the stack;\n"
	      "self: the innermost frame), each share of its own recording's samples:\n\n"
	      "  change   before    after  self before  self after  function\n",
	      f);
	for (long i = 0; i < n && (top == 0 || i < top); i++) {
		/* the strings are flame labels, escaped as folded escapes them */
		fprintf(f, "%+7.2f%% %7.2f%% %7.2f%%  %10.2f%% %10.2f%%  %s\n",
		        100 * (c[i].after - c[i].before), 100 * c[i].before, 100 * c[i].after,
		        100 * c[i].self_before, 100 * c[i].self_after, c[i].function);
	}
	if (top && n > top)
		fprintf(f, "(%ld more; -n 0 lists every one)\n", n - top);
}

static int load(struct side *s, const struct flame_opts *fo, const struct flame_read_opts *ro)
{
	struct ftp_error err = { 0 };
	if (!(s->fl = flame_create(fo))) {
		ui_error("diff", "out of memory");
		return EXIT_FATAL;
	}
	int ret = flame_read(s->fl, s->path, ro, &s->src, &err);
	if (ret < 0) {
		ui_error("diff", "%s", ret == -FTP_E_NOMEM && !err.msg[0] ? "out of memory" : err.msg);
		return EXIT_FATAL;
	}
	flame_finish(s->fl);
	if (!flame_total(s->fl)) {
		ui_error("diff", "%s: no stack to compare%s", s->path,
		         s->src.skipped && !ro->idle
		                 ? " (every sample was of a waiting thread: --idle keeps them)"
		                 : "");
		return EXIT_FATAL;
	}
	if ((s->nfns = flame_functions(s->fl, &s->fns)) < 0) {
		ui_error("diff", "out of memory");
		return EXIT_FATAL;
	}
	return EXIT_OK;
}

static int write_svg(const char *output, const struct side *b, const struct side *a, bool reverse)
{
	FILE *out = fopen(output, "w");
	if (!out) {
		ui_error("diff", "cannot write '%s': %s", output, strerror(errno));
		return EXIT_FATAL;
	}
	char title[512], subtitle[256];
	snprintf(title, sizeof(title), "Differential %s: %s to %s",
	         reverse ? "callers (icicle)" : "flame graph", b->path, a->path);
	snprintf(subtitle, sizeof(subtitle),
	         "%llu samples before, %llu after; widths: after; colour: change of each frame's share",
	         (unsigned long long)flame_total(b->fl), (unsigned long long)flame_total(a->fl));
	struct svg_info info = { .title = title, .subtitle = subtitle, .reverse = reverse, .before = b->fl };
	int ret = svg_write_flame(out, a->fl, &info);
	if ((fclose(out) != 0 || ret < 0)) {
		ui_error("diff", "cannot write '%s': %s", output, strerror(errno));
		return EXIT_FATAL;
	}
	return EXIT_OK;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "top", required_argument, NULL, 'n' },
		{ "lines", no_argument, NULL, 'l' },        { "idle", no_argument, NULL, 'i' },
		{ "states", no_argument, NULL, 's' },       { "reverse", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	long top = 20;
	struct flame_opts fo = { .no_lines = true };
	struct flame_read_opts ro = { 0 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:n:lish", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'n': {
			char *end;
			errno = 0;
			top = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || top < 0) {
				ui_error("diff", "invalid --top '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'l':
			fo.no_lines = false;
			break;
		case 'i':
			ro.idle = true;
			break;
		case 's':
			ro.states = true;
			break;
		case 'R':
			fo.reverse = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return ui_finish_output("diff", EXIT_OK);
		default:
			if (optopt && strchr("on", optopt))
				ui_error("diff", "option '-%c' needs an argument (see 'ftprof diff --help')",
				         optopt);
			else
				ui_error("diff", "unknown option '%s' (see 'ftprof diff --help')",
				         argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		ui_error("diff", "two recordings are compared (usage: ftprof diff [OPTIONS] BEFORE AFTER)");
		return EXIT_USAGE;
	}
	struct side b = { .path = argv[optind] }, a = { .path = argv[optind + 1] };
	struct change *changes = NULL;
	int code = load(&b, &fo, &ro);
	if (code == EXIT_OK)
		code = load(&a, &fo, &ro);
	long n = 0;
	if (code == EXIT_OK && (n = merge(&b, &a, &changes)) < 0) {
		ui_error("diff", "out of memory");
		code = EXIT_FATAL;
	}
	if (code == EXIT_OK && output)
		code = write_svg(output, &b, &a, fo.reverse);
	if (code == EXIT_OK) {
		print_text(stdout, &b, &a, changes, n, top);
		if (output) {
			fputs("\nwrote the differential flame graph to ", stdout);
			ui_put_escaped(stdout, output);
			fputc('\n', stdout);
		}
		code = ui_finish_output("diff", EXIT_OK);
	}
	free(changes);
	free(b.fns);
	free(a.fns);
	flame_destroy(b.fl);
	flame_destroy(a.fl);
	return code;
}
