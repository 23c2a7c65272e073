/* SPDX-License-Identifier: MIT */
/* ui/: the report's printers, text and JSON (docs/report.md), over an
 * analysis result and the header of the recording it came from. */
#ifndef FTPROF_REPORT_H
#define FTPROF_REPORT_H

#include <stdio.h>

#include "analysis/analysis.h"
#include "raw_read.h"

struct report {
	const char *path; /* the recording, as given */
	const struct raw_header *hdr;
	const struct analysis_result *res;
};

void report_print_text(FILE *f, const struct report *r);
void report_print_json(FILE *f, const struct report *r);

#endif
