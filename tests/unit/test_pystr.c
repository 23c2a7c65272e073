/* SPDX-License-Identifier: MIT */
/* Checks ftp_pystr_to_utf8 against UTF-8 produced by a real interpreter, and its truncation. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ftprof/symbols.h"
#include "interp.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct str_case {
	unsigned kind;
	size_t count;
	uint8_t *data; /* exactly count * kind bytes on the heap */
	size_t data_len;
	uint8_t *utf8;
	size_t utf8_len;
};

struct str_cases {
	struct str_case v[128];
	size_t n;
	uint8_t fffd[8]; /* U+FFFD as the interpreter encodes it */
	size_t fffd_len;
	char python[16];
};

/* Decodes hex ("-" is empty) into a heap block of exactly the decoded size. */
static uint8_t *unhex(const char *hex, size_t *len)
{
	size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
	uint8_t *p = malloc(n ? n : 1);
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &b), 1, "bad hex %s", hex);
		p[i] = (uint8_t)b;
	}
	*len = n;
	return p;
}

/* Runs gen_pystr.py under this run's interpreter (test_interp_any). */
static void load_cases(struct str_cases *c)
{
	memset(c, 0, sizeof(*c));
	const char *name = NULL;
	const char *py = test_interp_any(&name);
	snprintf(c->python, sizeof(c->python), "%s", name);
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/unit/gen_pystr.py'", py, FTPROF_SOURCE_DIR);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f, "popen(%s)", cmd);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char tag[2], a[16], b[16], hex1[65536], hex2[65536];
		if (line[0] == 'R') {
			cr_assert_eq(sscanf(line, "%1s %64s", tag, hex1), 2);
			size_t n;
			uint8_t *p = unhex(hex1, &n);
			cr_assert(n > 0 && n <= sizeof(c->fffd));
			memcpy(c->fffd, p, n);
			c->fffd_len = n;
			free(p);
			continue;
		}
		cr_assert_lt(strlen(line), sizeof(hex1), "line too long for the test");
		cr_assert_eq(sscanf(line, "%1s %15s %15s %65535s %65535s", tag, a, b, hex1, hex2), 5,
		             "malformed gen_pystr.py line: %s", line);
		cr_assert_lt(c->n, COUNT(c->v));
		struct str_case *s = &c->v[c->n++];
		s->kind = (unsigned)atoi(a);
		s->count = (size_t)atol(b);
		s->data = unhex(hex1, &s->data_len);
		s->utf8 = unhex(hex2, &s->utf8_len);
		cr_assert_eq(s->data_len, s->count * s->kind);
	}
	free(line);
	int status = pclose(f);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (status %d)", cmd, status);
	cr_assert_gt(c->n, 30, "only %zu strings", c->n);
	cr_assert_gt(c->fffd_len, 0, "no U+FFFD line");
}

static void free_cases(struct str_cases *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].data);
		free(c->v[i].utf8);
	}
}

static void describe(const struct str_case *s, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, "kind %u, %zu chars, utf8 ", s->kind, s->count);
	for (size_t i = 0; i < s->utf8_len && i < 24 && used + 3 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%02x", s->utf8[i]);
	if (s->utf8_len > 24 && used + 4 < len)
		snprintf(buf + used, len - used, "...");
}

/* The whole string, in a buffer of exactly the needed size and in a larger
 * one: the bytes CPython's encoder produced, NUL-terminated. */
Test(pystr, matches_cpython)
{
	struct str_cases *c = malloc(sizeof(*c));
	load_cases(c);
	size_t kinds[5] = { 0 };
	for (size_t i = 0; i < c->n; i++) {
		const struct str_case *s = &c->v[i];
		char what[160];
		describe(s, what, sizeof(what));
		kinds[s->kind]++;
		for (size_t extra = 1; extra <= 17; extra += 16) {
			size_t out_len = s->utf8_len + extra;
			char *out = malloc(out_len);
			memset(out, 0x55, out_len);
			long got = ftp_pystr_to_utf8(s->kind, s->data, s->data_len, s->count, out, out_len);
			cr_assert_eq(got, (long)s->utf8_len, "%s: returned %ld, want %zu", what, got,
			             s->utf8_len);
			cr_assert(memcmp(out, s->utf8, s->utf8_len) == 0, "%s: bytes differ", what);
			cr_assert_eq(out[got], '\0', "%s: not NUL-terminated", what);
			free(out);
		}
		/* trailing bytes beyond count * kind are not characters */
		uint8_t *more = malloc(s->data_len + 8);
		memcpy(more, s->data, s->data_len);
		memset(more + s->data_len, 'Z', 8);
		char *out = malloc(s->utf8_len + 16);
		long got = ftp_pystr_to_utf8(s->kind, more, s->data_len + 8, s->count, out, s->utf8_len + 16);
		cr_assert_eq(got, (long)s->utf8_len, "%s with slack: %ld", what, got);
		cr_assert(memcmp(out, s->utf8, s->utf8_len) == 0);
		free(out);
		free(more);
	}
	cr_log_info("Python %s: %zu strings (kind 1: %zu, 2: %zu, 4: %zu)", c->python, c->n, kinds[1],
	            kinds[2], kinds[4]);
	cr_assert(kinds[1] && kinds[2] && kinds[4]);
	free_cases(c);
	free(c);
}

/* Every output size from 1 to one past the full length: NUL-terminated,
 * never beyond out_len (an exact heap block for ASan, a canary otherwise),
 * a prefix of the full UTF-8 that ends at the last character boundary that
 * fits. */
Test(pystr, truncation)
{
	struct str_cases *c = malloc(sizeof(*c));
	load_cases(c);
	size_t checked = 0, split_chars = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct str_case *s = &c->v[i];
		char what[160];
		describe(s, what, sizeof(what));
		for (size_t out_len = 1; out_len <= s->utf8_len + 1; out_len++) {
			/* the longest prefix that ends on a character boundary and
			 * leaves room for the NUL */
			size_t want = out_len - 1;
			while (want > 0 && want < s->utf8_len && (s->utf8[want] & 0xc0) == 0x80)
				want--;
			split_chars += want != out_len - 1;

			char *exact = malloc(out_len);
			long got = ftp_pystr_to_utf8(s->kind, s->data, s->data_len, s->count, exact, out_len);
			cr_assert_eq(got, (long)want, "%s, out_len %zu: returned %ld, want %zu", what,
			             out_len, got, want);
			cr_assert_eq(exact[got], '\0', "%s, out_len %zu: no NUL", what, out_len);
			cr_assert(memcmp(exact, s->utf8, want) == 0, "%s, out_len %zu: bytes", what, out_len);
			free(exact);

			char *canary = malloc(out_len + 16);
			memset(canary, 0xa5, out_len + 16);
			got = ftp_pystr_to_utf8(s->kind, s->data, s->data_len, s->count, canary, out_len);
			cr_assert_eq(got, (long)want);
			for (size_t k = out_len; k < out_len + 16; k++)
				cr_assert_eq((unsigned char)canary[k], 0xa5,
				             "%s, out_len %zu: wrote byte %zu", what, out_len, k);
			free(canary);
			checked++;
		}
	}
	cr_log_info("%zu output sizes, %zu of them cut inside a character", checked, split_chars);
	cr_assert_gt(split_chars, 100, "the cases never cut inside a multi-byte character");
	free_cases(c);
	free(c);
}

/* Code points UTF-8 cannot carry (surrogates, beyond U+10FFFF) in UCS-4 and
 * UCS-2 storage become U+FFFD as the interpreter encodes it. */
Test(pystr, invalid_code_points)
{
	struct str_cases *c = malloc(sizeof(*c));
	load_cases(c);
	static const uint32_t bad4[] = { 0xd800,   0xdbff,     0xdc00,     0xdfff,
		                         0x110000, 0x7fffffff, 0x80000000, 0xffffffff };
	for (size_t i = 0; i < COUNT(bad4); i++) {
		uint32_t data[3] = { 'a', bad4[i], 'b' };
		char out[16];
		long got = ftp_pystr_to_utf8(4, data, sizeof(data), 3, out, sizeof(out));
		cr_assert_eq(got, (long)(2 + c->fffd_len), "U+%X: returned %ld", bad4[i], got);
		cr_assert_eq(out[0], 'a');
		cr_assert(memcmp(out + 1, c->fffd, c->fffd_len) == 0, "U+%X is not U+FFFD", bad4[i]);
		cr_assert_eq(out[1 + c->fffd_len], 'b');
		cr_assert_eq(out[got], '\0');
	}
	static const uint16_t bad2[] = { 0xd800, 0xdbff, 0xdc00, 0xdfff };
	for (size_t i = 0; i < COUNT(bad2); i++) {
		uint16_t data[2] = { bad2[i], 'z' };
		char out[16];
		long got = ftp_pystr_to_utf8(2, data, sizeof(data), 2, out, sizeof(out));
		cr_assert_eq(got, (long)(1 + c->fffd_len), "U+%X: returned %ld", bad2[i], got);
		cr_assert(memcmp(out, c->fffd, c->fffd_len) == 0, "U+%X is not U+FFFD", bad2[i]);
		cr_assert_eq(out[c->fffd_len], 'z');
	}
	free_cases(c);
	free(c);
}

/* Bad kinds, too little data, count * kind overflowing, no room at all. */
Test(pystr, bad_arguments)
{
	test_interp_none();
	static const uint8_t data[16] = "abcdefghijklmno";
	char out[32];
	static const unsigned bad_kinds[] = { 0, 3, 5, 8, 16, 0x80000001u };
	for (size_t i = 0; i < COUNT(bad_kinds); i++)
		cr_expect_eq(ftp_pystr_to_utf8(bad_kinds[i], data, sizeof(data), 2, out, sizeof(out)), -1,
		             "kind %u", bad_kinds[i]);
	for (unsigned kind = 1; kind <= 4; kind *= 2) {
		/* one byte short of count * kind, as an exact heap block */
		for (size_t count = 1; count <= 4; count++) {
			size_t len = count * kind - 1;
			uint8_t *p = malloc(len ? len : 1);
			memcpy(p, data, len);
			cr_expect_eq(ftp_pystr_to_utf8(kind, p, len, count, out, sizeof(out)), -1,
			             "kind %u, %zu chars in %zu bytes", kind, count, len);
			free(p);
		}
		/* count * kind wraps around to a small number */
		size_t wrap = SIZE_MAX / kind + 1;
		if (kind > 1)
			cr_expect_eq(ftp_pystr_to_utf8(kind, data, sizeof(data), wrap, out, sizeof(out)), -1,
			             "kind %u, count %zu", kind, wrap);
		cr_expect_eq(ftp_pystr_to_utf8(kind, data, sizeof(data), SIZE_MAX, out, sizeof(out)), -1,
		             "kind %u, count SIZE_MAX", kind);
		/* nothing to convert */
		memset(out, 'x', sizeof(out));
		cr_expect_eq(ftp_pystr_to_utf8(kind, data, 0, 0, out, sizeof(out)), 0);
		cr_expect_eq(out[0], '\0');
	}
	/* no room even for the NUL: nothing is written */
	memset(out, 'x', sizeof(out));
	long got = ftp_pystr_to_utf8(1, data, sizeof(data), 3, out, 0);
	cr_expect(got == -1 || got == 0, "out_len 0: %ld", got);
	cr_expect_eq(out[0], 'x', "out_len 0 wrote a byte");
	/* room for the NUL only */
	got = ftp_pystr_to_utf8(1, data, sizeof(data), 3, out, 1);
	cr_expect_eq(got, 0);
	cr_expect_eq(out[0], '\0');
	cr_expect_eq(out[1], 'x');
}
