/* SPDX-License-Identifier: MIT */
/* The SVG flame graph writer, for record (-f svg) and for diff. */
#ifndef FTPROF_SVG_H
#define FTPROF_SVG_H

#include <stdbool.h>
#include <stdio.h>

#include "flame.h"
#include "writers.h"

struct svg_info {
	const char *title;    /* the first line, centred (escaped here) */
	const char *subtitle; /* the second */
	bool reverse;         /* drawn as an icicle: the roots at the top */
	/* diff: the recording before; boxes are coloured by how their share of
	 * the samples changed (red grew, blue shrank), each normalised to its
	 * own recording's total. NULL: coloured by kind. */
	const struct flame *before;
};

/* Writes fl (after flame_finish) as an SVG document. Returns 0, or -1 with
 * errno set. */
int svg_write_flame(FILE *f, const struct flame *fl, const struct svg_info *info);

#endif
