/* SPDX-License-Identifier: MIT */
/* ftprof report: reads a raw recording, feeds the analysis and prints what
 * it found, as text or JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis.h"
#include "raw_read.h"
#include "report.h"
#include "ui.h"

static const char usage[] =
        "usage: ftprof report [--json] [-o OUT] FILE\n"
        "\n"
        "Reads a raw recording (ftprof record -f raw, format 2) and prints each thread's\n"
        "share of each state, the effective parallelism against the cores, the contended\n"
        "locks with the lines where threads waited and where their holders held them,\n"
        "the GIL's use and the deadlocks seen.\n"
        "\n"
        "  -j, --json          one JSON document (see ftprof(1) and docs/report.md)\n"
        "  -o, --output OUT    write to OUT instead of standard output\n"
        "  -h, --help          show this help\n";

static int feed(const struct analysis_sample *s, void *arg)
{
	return analysis_add(arg, s);
}

/* Reads path into a; returns an exit code. */
static int analyze(const char *path, struct raw_header *hdr, struct analysis **out,
                   struct analysis_result *res)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (!in) {
		ui_error("report", "%s: %s", path, strerror(errno));
		return EXIT_FATAL;
	}
	struct ftp_error err = { 0 };
	struct analysis *a = NULL;
	int ret = analysis_create(&a, NULL);
	if (ret == 0)
		ret = raw_read(in, path, hdr, feed, a, &err);
	if (in != stdin)
		fclose(in);
	if (ret < 0) {
		ui_error("report", "%s", ret == -FTP_E_NOMEM && !err.msg[0] ? "out of memory" : err.msg);
		raw_header_release(hdr);
		analysis_destroy(a);
		return EXIT_FATAL;
	}
	/* The rate, cores and tick are known once the header is read: the
	 * analysis takes them at the end, where the interval is computed. */
	analysis_set_opts(a, &(struct analysis_opts){ .rate = hdr->rate,
	                                              .cores = hdr->cores,
	                                              .tick_s = (double)hdr->tick_ns / 1e9 });
	ret = 0;
	if (hdr->cpus_first)
		ret = analysis_add_cpustat(a, 0, hdr->cpus_first, hdr->ncpus_first);
	if (ret == 0 && hdr->cpus_last)
		ret = analysis_add_cpustat(a, 0, hdr->cpus_last, hdr->ncpus_last);
	raw_header_release(hdr);
	if (ret < 0 || analysis_end_round(a) < 0 || analysis_result(a, res) < 0) {
		ui_error("report", "out of memory");
		analysis_destroy(a);
		return EXIT_FATAL;
	}
	*out = a;
	return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *output = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return ui_finish_output("report", EXIT_OK);
		default:
			if (optopt && strchr("o", optopt))
				ui_error("report",
				         "option '-%c' needs an argument (see 'ftprof report --help')",
				         optopt);
			else
				ui_error("report", "unknown option '%s' (see 'ftprof report --help')",
				         argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		ui_error("report",
		         optind == argc ? "no recording given (usage: ftprof report [--json] [-o OUT] FILE)"
		                        : "one recording at a time (see 'ftprof report --help')");
		return EXIT_USAGE;
	}
	const char *path = argv[optind];

	struct raw_header hdr;
	struct analysis *a = NULL;
	struct analysis_result res;
	int code = analyze(path, &hdr, &a, &res);
	if (code != EXIT_OK)
		return code;

	FILE *out = stdout;
	if (output && !(out = fopen(output, "w"))) {
		ui_error("report", "%s: %s", output, strerror(errno));
		code = EXIT_FATAL;
	} else {
		struct report r = { .path = path, .hdr = &hdr, .res = &res };
		if (json)
			report_print_json(out, &r);
		else
			report_print_text(out, &r);
		if (out == stdout) {
			code = ui_finish_output("report", EXIT_OK);
		} else if ((fflush(out) != 0 || ferror(out)) + (fclose(out) != 0)) {
			ui_error("report", "%s: write error: %s", output, strerror(errno));
			code = EXIT_FATAL;
		}
	}
	analysis_result_release(&res);
	analysis_destroy(a);
	return code;
}
