/* SPDX-License-Identifier: MIT */
/* Checks ftp_linetable_line against the lines CPython itself reports, and its robustness. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ftprof/symbols.h"
#include "interp.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the corpus printed by tests/unit/gen_lines.py ---------------------- */

struct code_entry {
	enum ftp_line_format fmt;
	int firstlineno;
	char *name;
	uint8_t *tab; /* exactly len bytes on the heap, so ASan sees overreads */
	size_t len;
	int *lines; /* CPython's line for byte offset 2 * i */
	size_t n;
};

struct corpus {
	struct code_entry *v;
	size_t n, cap;
	long declared; /* from the "E" line; -1 when missing */
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses one "C ..." line; false on a malformed line. */
static bool parse_code(char *line, struct code_entry *e)
{
	char *save = NULL;
	char *tag = strtok_r(line, " \n", &save);
	char *fmt = strtok_r(NULL, " \n", &save);
	char *first = strtok_r(NULL, " \n", &save);
	char *name = strtok_r(NULL, " \n", &save);
	char *hex = strtok_r(NULL, " \n", &save);
	if (!tag || strcmp(tag, "C") != 0 || !fmt || !first || !name || !hex)
		return false;
	memset(e, 0, sizeof(*e));
	if (strcmp(fmt, "lnotab") == 0)
		e->fmt = FTP_LINES_LNOTAB;
	else if (strcmp(fmt, "310") == 0)
		e->fmt = FTP_LINES_310;
	else if (strcmp(fmt, "locations") == 0)
		e->fmt = FTP_LINES_LOCATIONS;
	else
		return false;
	e->firstlineno = atoi(first);
	e->name = strdup(name);
	size_t hexlen = strcmp(hex, "-") == 0 ? 0 : strlen(hex);
	if (hexlen % 2)
		return false;
	e->len = hexlen / 2;
	e->tab = malloc(e->len ? e->len : 1);
	for (size_t i = 0; i < e->len; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		e->tab[i] = (uint8_t)(hi << 4 | lo);
	}
	size_t cap = 64;
	e->lines = malloc(cap * sizeof(int));
	for (char *tok; (tok = strtok_r(NULL, " \n", &save));) {
		if (e->n == cap) {
			cap *= 2;
			e->lines = realloc(e->lines, cap * sizeof(int));
		}
		e->lines[e->n++] = atoi(tok);
	}
	return true;
}

/* Runs gen_lines.py under the interpreter `name`; skips the test when it is
 * not provisioned, fails when the script does. */
static void corpus_load(struct corpus *c, const char *name, bool synthetic_only)
{
	const char *py = test_interp_use(name);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/unit/gen_lines.py'%s", py, FTPROF_SOURCE_DIR,
	         synthetic_only ? " --synthetic" : "");
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f, "popen(%s)", cmd);
	memset(c, 0, sizeof(*c));
	c->declared = -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == 'E') {
			c->declared = atol(line + 1);
			continue;
		}
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 256;
			c->v = realloc(c->v, c->cap * sizeof(*c->v));
		}
		cr_assert(parse_code(line, &c->v[c->n]), "%s: malformed gen_lines.py output line %zu", name,
		          c->n + 1);
		c->n++;
	}
	free(line);
	int status = pclose(f);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s failed (status %d)", name, cmd,
	          status);
	cr_assert_eq((long)c->n, c->declared, "%s: gen_lines.py printed %zu of %ld code objects", name, c->n,
	             c->declared);
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].tab);
		free(c->v[i].lines);
	}
	free(c->v);
}

/* The format the interpreter's minor must use: the generator decides it from
 * sys.version_info, this guards against a generator that disagrees. */
static enum ftp_line_format format_of(const char *name)
{
	unsigned minor = (unsigned)atoi(name + 2);
	return minor <= 9 ? FTP_LINES_LNOTAB : minor == 10 ? FTP_LINES_310 : FTP_LINES_LOCATIONS;
}

/* ---- one parameter per interpreter --------------------------------------- */

/* Criterion copies parameters into the test's process: no pointers. */
struct interp_case {
	char name[8];
};

static const struct interp_case interps[] = {
	{ "3.8" },  { "3.9" },   { "3.10" }, { "3.11" }, { "3.12" },
	{ "3.13" }, { "3.13t" }, { "3.14" }, { "3.15" },
};

ParameterizedTestParameters(linetable, matches_cpython)
{
	return cr_make_param_array(struct interp_case, interps, COUNT(interps));
}

/* Every instruction offset of every code object of the corpus: the line
 * ftprof decodes is the line CPython reports. */
ParameterizedTest(const struct interp_case *ic, linetable, matches_cpython)
{
	struct corpus c;
	corpus_load(&c, ic->name, false);
	cr_assert_gt(c.n, 300, "%s: only %zu code objects", ic->name, c.n);

	size_t checked = 0, wrong = 0, with_none = 0, negative = 0;
	char first[512] = "";
	for (size_t i = 0; i < c.n; i++) {
		const struct code_entry *e = &c.v[i];
		cr_assert_eq(e->fmt, format_of(ic->name), "%s: %s has format %d", ic->name, e->name, e->fmt);
		bool none = false;
		for (size_t k = 0; k < e->n; k++) {
			uint32_t off = (uint32_t)(2 * k);
			int got = ftp_linetable_line(e->fmt, e->tab, e->len, e->firstlineno, off);
			int want = e->lines[k];
			none |= want < 0;
			if (k && want >= 0 && e->lines[k - 1] > want)
				negative++;
			checked++;
			if (got == want)
				continue;
			if (!wrong++)
				snprintf(first, sizeof(first),
				         "Python %s, code %s (co_firstlineno %d, %zu-byte table), "
				         "offset %u: got %d, want %d",
				         ic->name, e->name, e->firstlineno, e->len, off, got, want);
		}
		with_none += none;
	}
	cr_log_info("%s: %zu code objects, %zu offsets checked, %zu code objects with "
	            "instructions without a line, %zu backward line steps",
	            ic->name, c.n, checked, with_none, negative);
	cr_assert_gt(checked, 20000, "%s: only %zu offsets", ic->name, checked);
	/* the corpus exercises line tables going backwards */
	cr_expect_gt(negative, 0, "%s: corpus has no backward line step", ic->name);
	cr_assert_eq(wrong, 0, "%zu of %zu offsets wrong; first: %s", wrong, checked, first);
	corpus_free(&c);
}

/* ---- robustness ------------------------------------------------------- */

/* A copy of tab[0..len) in a heap block of exactly len bytes. */
static uint8_t *exact_copy(const uint8_t *tab, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	cr_assert_not_null(p);
	if (len)
		memcpy(p, tab, len);
	return p;
}

/* Offsets to probe a table with: all of them for small code objects, an
 * even spread (with the first and last) for large ones. */
static size_t pick_offsets(const struct code_entry *e, uint32_t *out, size_t max)
{
	size_t n = 0;
	size_t units = e->n + 4; /* a few past the end of the bytecode too */
	size_t step = units <= max ? 1 : units / max + 1;
	for (size_t k = 0; k < units && n < max; k += step)
		out[n++] = (uint32_t)(2 * k);
	if (n < max)
		out[n++] = (uint32_t)(2 * (e->n ? e->n - 1 : 0));
	return n;
}

ParameterizedTestParameters(linetable, truncated_tables)
{
	return cr_make_param_array(struct interp_case, interps, COUNT(interps));
}

/* Every prefix of every real table of the synthetic corpus (tables longer than
 * 4 KiB: a spread of prefix lengths): never reads past the prefix (ASan build),
 * returns -1 or a line, and for the range-based formats (3.10+) returns
 * either -1 or the line the whole table gives. A half pair at the end of a
 * 3.8-3.10 table is ignored. */
ParameterizedTest(const struct interp_case *ic, linetable, truncated_tables)
{
	struct corpus c;
	corpus_load(&c, ic->name, true);
	size_t calls = 0, prefixes = 0, cut_to_none = 0;
	enum { MAXOFF = 48 };
	uint32_t offs[MAXOFF];
	int full[MAXOFF], even[MAXOFF];
	for (size_t i = 0; i < c.n; i++) {
		const struct code_entry *e = &c.v[i];
		size_t noff = pick_offsets(e, offs, MAXOFF);
		for (size_t k = 0; k < noff; k++)
			full[k] = ftp_linetable_line(e->fmt, e->tab, e->len, e->firstlineno, offs[k]);
		size_t step = e->len <= 4096 ? 1 : e->len / 2048;
		for (size_t len = 0; len <= e->len; len += (len < 64 || len + 64 > e->len) ? 1 : step) {
			uint8_t *p = exact_copy(e->tab, len);
			prefixes++;
			for (size_t k = 0; k < noff; k++) {
				int got = ftp_linetable_line(e->fmt, p, len, e->firstlineno, offs[k]);
				calls++;
				cr_assert_geq(got, -1, "%s %s: prefix %zu, offset %u: %d", ic->name, e->name,
				              len, offs[k], got);
				if (e->fmt != FTP_LINES_LNOTAB) {
					cr_assert(got == -1 || got == full[k],
					          "%s %s: prefix %zu of %zu, offset %u: got %d, the "
					          "whole table says %d",
					          ic->name, e->name, len, e->len, offs[k], got, full[k]);
					cut_to_none += got == -1 && full[k] != -1;
				}
				if (e->fmt != FTP_LINES_LOCATIONS) {
					if (len % 2 == 0)
						even[k] = got;
					else
						cr_assert_eq(got, even[k],
						             "%s %s: odd prefix %zu, offset %u: %d, "
						             "the even prefix gave %d",
						             ic->name, e->name, len, offs[k], got, even[k]);
				}
			}
			free(p);
		}
	}
	cr_log_info("%s: %zu tables, %zu prefixes, %zu calls", ic->name, c.n, prefixes, calls);
	cr_assert_gt(prefixes, 1000, "%s: only %zu prefixes", ic->name, prefixes);
	/* a prefix that stops before an offset's entry cannot know its line */
	if (format_of(ic->name) != FTP_LINES_LNOTAB)
		cr_assert_gt(cut_to_none, 0, "%s: no truncation lost a line", ic->name);
	corpus_free(&c);
}

/* xorshift64*: reproducible without depending on libc's rand(). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static const int first_lines[] = { 0, 1, 7, 1000, 65535 };

/* co_firstlineno comes from the target's memory too: a torn read can hold
 * anything. */
static const int extreme_first_lines[] = { INT_MAX, INT_MAX - 100, -1, INT_MIN };

static void check_random_first(const uint8_t *tab, size_t len, const char *what, const int *firsts,
                               size_t nfirsts)
{
	static const enum ftp_line_format fmts[] = { FTP_LINES_LNOTAB, FTP_LINES_310, FTP_LINES_LOCATIONS };
	uint32_t offsets[] = {
		0, 2, (uint32_t)(rng() % 512), (uint32_t)len * 8, (uint32_t)rng(), UINT32_MAX - 1, UINT32_MAX
	};
	for (size_t f = 0; f < COUNT(fmts); f++)
		for (size_t l = 0; l < nfirsts; l++)
			for (size_t o = 0; o < COUNT(offsets); o++) {
				int got = ftp_linetable_line(fmts[f], tab, len, firsts[l], offsets[o]);
				cr_assert_geq(got, -1,
				              "%s table of %zu bytes, format %d, "
				              "firstlineno %d, offset %u: %d",
				              what, len, fmts[f], firsts[l], offsets[o], got);
			}
}

static void check_random(const uint8_t *tab, size_t len, const char *what)
{
	check_random_first(tab, len, what, first_lines, COUNT(first_lines));
}

/* Random tables: uniform bytes, bytes with the entry-start bit set, and bytes
 * that are all varint continuations. Never a crash or an out-of-bounds read
 * (ASan build), and always -1 or a line. */
Test(linetable, random_bytes)
{
	test_interp_none();
	for (int round = 0; round < 6000; round++) {
		size_t len = (size_t)(rng() % 80);
		uint8_t *tab = malloc(len ? len : 1);
		int mode = round % 3;
		for (size_t i = 0; i < len; i++) {
			uint8_t b = (uint8_t)rng();
			tab[i] = mode == 0 ? b : mode == 1 ? (uint8_t)(b | 0x80) : (uint8_t)(b | 0x40);
		}
		check_random(tab, len, mode == 0 ? "random" : mode == 1 ? "entry-start" : "varint");
		free(tab);
	}
}

/* Real tables with random bytes overwritten. */
Test(linetable, mutated_tables)
{
	bool any = false;
	for (size_t n = 0; n < COUNT(interps); n++) {
		if (!test_interp_wanted(interps[n].name) || !test_interp_path(interps[n].name))
			continue;
		any = true;
		struct corpus c;
		corpus_load(&c, interps[n].name, true);
		for (size_t i = 0; i < c.n; i++) {
			const struct code_entry *e = &c.v[i];
			if (!e->len || e->len > 4096)
				continue;
			for (int m = 0; m < 40; m++) {
				uint8_t *p = exact_copy(e->tab, e->len);
				for (int k = 0; k < 3; k++)
					p[rng() % e->len] = (uint8_t)rng();
				check_random(p, e->len, "mutated");
				free(p);
			}
		}
		corpus_free(&c);
	}
	const char *name;
	if (!any) /* skips: in the run for another interpreter, or without one */
		test_interp_any(&name);
}

/* Nonsense arguments: an unknown format or a NULL table with a length. */
Test(linetable, bad_arguments)
{
	test_interp_none();
	static const uint8_t tab[] = { 0x80, 0x00 };
	/* a table every format accepts has a line for offset 0 */
	int ok = ftp_linetable_line(FTP_LINES_LOCATIONS, tab, sizeof(tab), 5, 0);
	cr_assert_geq(ok, 0);
	cr_expect_eq(ftp_linetable_line((enum ftp_line_format)0, tab, sizeof(tab), 5, 0), -1);
	cr_expect_eq(ftp_linetable_line((enum ftp_line_format)99, tab, sizeof(tab), 5, 0), -1);
	cr_expect_eq(ftp_linetable_line(FTP_LINES_LOCATIONS, NULL, 2, 5, 0), -1);
	cr_expect_eq(ftp_linetable_line(FTP_LINES_LNOTAB, NULL, 2, 5, 0), -1);
	cr_expect_eq(ftp_linetable_line(FTP_LINES_310, NULL, 2, 5, 0), -1);
	/* an empty range-based table has no line for anything */
	cr_expect_eq(ftp_linetable_line(FTP_LINES_LOCATIONS, NULL, 0, 5, 0), -1);
	cr_expect_eq(ftp_linetable_line(FTP_LINES_310, NULL, 0, 5, 0), -1);
}

/* Lines near INT_MAX and negative co_firstlineno values (a torn read of the
 * code object): the decoder must not overflow (UBSan build) and still
 * returns -1 or a line, for real and random tables. */
Test(linetable, extreme_firstlineno)
{
	bool any = false;
	for (size_t n = 0; n < COUNT(interps); n++) {
		if (!test_interp_wanted(interps[n].name) || !test_interp_path(interps[n].name))
			continue;
		any = true;
		struct corpus c;
		corpus_load(&c, interps[n].name, true);
		for (size_t i = 0; i < c.n; i++)
			check_random_first(c.v[i].tab, c.v[i].len, interps[n].name, extreme_first_lines,
			                   COUNT(extreme_first_lines));
		corpus_free(&c);
	}
	/* 3.11+: three entries of one code unit, each adding 2^30 - 1 lines
	 * (svarint 0x7ffffffe), then one more: the fourth entry's line does
	 * not fit an int, even from co_firstlineno 1 */
	uint8_t big[4 * 7];
	for (size_t e = 0; e < 4; e++) {
		static const uint8_t entry[] = { 0x80 | 13 << 3, 0x7e, 0x7f, 0x7f, 0x7f, 0x7f, 0x01 };
		memcpy(big + 7 * e, entry, sizeof(entry));
	}
	for (uint32_t off = 0; off < 10; off += 2) {
		int got = ftp_linetable_line(FTP_LINES_LOCATIONS, big, sizeof(big), 1, off);
		cr_assert_geq(got, -1, "huge deltas, offset %u: %d", off, got);
	}
	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)(rng() % 80);
		uint8_t *tab = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			tab[i] = (uint8_t)rng();
		check_random_first(tab, len, "random", extreme_first_lines, COUNT(extreme_first_lines));
		free(tab);
	}
	const char *name;
	if (!any) /* skips: in the run for another interpreter, or without one */
		test_interp_any(&name);
}
