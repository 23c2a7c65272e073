/* SPDX-License-Identifier: MIT */
/* ui/: a flame graph's tree: stacks merged frame by frame from the root, each
 * frame known by its folded label (`function (file:line)`, as the folded and
 * raw formats write it), with the samples that end in it and under it. The
 * SVG writer draws one; `ftprof diff` reads two recordings back into two and
 * compares them. Built from a profile, or from stacks read from a file: a
 * label from a file is as hostile as the target it came from, so it is
 * unescaped and escaped again before it is kept (flame_add). */
#ifndef FTPROF_FLAME_H
#define FTPROF_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct flame;   /* opaque */
struct profile; /* profile.h */

struct flame_opts {
	bool reverse;  /* stacks innermost first: a frame's callers above it */
	bool no_lines; /* Python frames without lines: `function (file)` */
};

enum flame_kind {
	FLAME_PYTHON, /* function (file:line) */
	FLAME_NATIVE, /* symbol (object), or 0xADDR */
	FLAME_THREAD, /* thread "NAME" (TID) */
	FLAME_STATE,  /* [lock], [running], ... (--states) */
	FLAME_ROOT    /* node 0: every sample */
};

/* Returns NULL when out of memory; opts may be NULL (all false). */
struct flame *flame_create(const struct flame_opts *opts);
void flame_destroy(struct flame *fl); /* NULL ok */

/* Adds a stack of n folded labels (escaped as the folded format escapes
 * them), outermost first, that `count` samples had; a stack of no frame is
 * left out. Labels are copied. Returns 0 or -FTP_E_NOMEM. */
int flame_add(struct flame *fl, char *const *labels, size_t n, uint64_t count);

/* flame_add for a folded stack `a;b;c`; the text is cut in place. */
int flame_add_folded(struct flame *fl, char *stack, uint64_t count);

/* Adds every stack of pr, with its count. Returns 0 or -FTP_E_NOMEM. */
int flame_add_profile(struct flame *fl, const struct profile *pr);

/* Orders every node's children by label and sums the totals: call it once
 * after the last flame_add, before reading. */
void flame_finish(struct flame *fl);

/* ---- reading (after flame_finish) -------------------------------------- */
/* Strings are the flame's until flame_destroy(). */

struct flame_node {
	uint32_t parent;                    /* node 0 for a root frame (and for node 0) */
	uint32_t first_child, next_sibling; /* in label order; 0 when none */
	unsigned depth;                     /* 0 for node 0, 1 for a root frame */
	enum flame_kind kind;
	const char *label;    /* the folded label; "all" for node 0 */
	const char *function; /* the label without its line, as diff matches functions */
	const char *module;   /* PYTHON: the file; NATIVE: the object, "" unknown; else "" */
	uint64_t self;        /* samples whose stack ends here */
	uint64_t total;       /* samples whose stack passes here */
};

/* Node 0 stands for every sample; its total is the flame's. */
size_t flame_nodes(const struct flame *fl);
void flame_node(const struct flame *fl, uint32_t i, struct flame_node *out);
uint64_t flame_total(const struct flame *fl);
unsigned flame_max_depth(const struct flame *fl);

/* The child of parent labelled label, or -1. */
long flame_child(const struct flame *fl, uint32_t parent, const char *label);

/* A function's samples: total counts a sample once however often the
 * function is on its stack (recursion); self the samples that end in it. */
struct flame_function {
	const char *function; /* the flame's string */
	uint64_t total, self;
};

/* Every function of fl, in name order, into *out (malloc'd, the caller
 * frees it). Returns how many, or -FTP_E_NOMEM. */
long flame_functions(const struct flame *fl, struct flame_function **out);

/* ---- recordings read back (flame_read.c) -------------------------------- */

struct ftp_error;

struct flame_read_opts {
	bool idle;   /* raw: every sample; by default only those record's flame
	              * graphs keep (running, native, gc, runnable, spinning on a
	              * lock, unknown) */
	bool states; /* raw: each stack ends with its state, `[lock]` */
};

/* What a recording said of itself. */
struct flame_source {
	const char *format; /* "raw" or "folded" (static) */
	char python[64];    /* raw: the version, "" when unknown or folded */
	bool free_threaded;
	double rate;                /* raw: Hz asked, 0 unknown */
	unsigned long long skipped; /* raw: samples left out (idle, torn, no stack) */
};

/* Reads the recording at path, a raw one (format 2) or folded stacks, into
 * fl (not yet finished). Returns 0, or -FTP_E_CORRUPT with err's message
 * "PATH:LINE: what is wrong" (a format diff cannot read: speedscope, SVG,
 * compressed; a malformed line), -FTP_E_IO (err names the file and the
 * errno), or -FTP_E_NOMEM. */
int flame_read(struct flame *fl, const char *path, const struct flame_read_opts *opts,
               struct flame_source *src, struct ftp_error *err);

#endif
