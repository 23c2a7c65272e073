/* SPDX-License-Identifier: MIT */
/* libFuzzer target: ftp_pystr_to_utf8, checked against its documented result.
 *
 * Input: u8 kind (the low 3 bits, so invalid kinds occur), u16 out_len, u8
 * flags, u32 count, then the characters. Bit 0 of flags takes count from the
 * input (it may exceed the data); otherwise count is what the data holds. The
 * output buffer is malloc'd at exactly out_len bytes. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER = 8 };

static uint32_t char_at(unsigned kind, const uint8_t *p, size_t i)
{
	if (kind == 1)
		return p[i];
	if (kind == 2) {
		uint16_t u;
		memcpy(&u, p + 2 * i, 2);
		return u;
	}
	uint32_t c;
	memcpy(&c, p + 4 * i, 4);
	return c;
}

static size_t utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/* Decodes one well-formed, shortest-form UTF-8 sequence of at most `left`
 * bytes; returns its length, or 0 when it is not one. */
static size_t decode_utf8(const unsigned char *s, size_t left, uint32_t *out)
{
	size_t n = s[0] < 0x80             ? 1
	           : (s[0] & 0xe0) == 0xc0 ? 2
	           : (s[0] & 0xf0) == 0xe0 ? 3
	           : (s[0] & 0xf8) == 0xf0 ? 4
	                                   : 0;
	if (!n || n > left)
		return 0;
	uint32_t c = n == 1 ? s[0] : s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (utf8_len(c) != n || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*out = c;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER)
		return 0;
	unsigned kind = data[0] & 7;
	uint16_t out_len;
	uint32_t count;
	memcpy(&out_len, data + 1, 2);
	memcpy(&count, data + 4, 4);
	const uint8_t *chars = data + HEADER;
	size_t len = size - HEADER;
	bool valid_kind = kind == 1 || kind == 2 || kind == 4;
	if (!(data[3] & 1))
		count = valid_kind ? (uint32_t)(len / kind) : (uint32_t)len;

	char *out = malloc(out_len);
	if (!out)
		return 0;
	long ret = ftp_pystr_to_utf8(kind, chars, len, count, out, out_len);
	if (!valid_kind || out_len == 0 || count > len / kind) {
		if (ret != -1)
			abort();
		free(out);
		return 0;
	}
	if (ret < 0 || (size_t)ret >= out_len || out[ret] != '\0')
		abort();
	/* The output is the UTF-8 of the first k characters, invalid code
	 * points replaced, with k as large as fits. */
	const unsigned char *s = (const unsigned char *)out;
	size_t pos = 0, k = 0;
	while (pos < (size_t)ret) {
		uint32_t got;
		size_t n = decode_utf8(s + pos, (size_t)ret - pos, &got);
		if (!n || k >= count)
			abort();
		uint32_t want = char_at(kind, chars, k);
		if ((want >= 0xd800 && want <= 0xdfff) || want > 0x10ffff)
			want = 0xfffd;
		if (got != want)
			abort();
		pos += n;
		k++;
	}
	if (k < count) {
		uint32_t next = char_at(kind, chars, k);
		if ((next >= 0xd800 && next <= 0xdfff) || next > 0x10ffff)
			next = 0xfffd;
		if ((size_t)ret + utf8_len(next) < out_len)
			abort(); /* truncated although the next character fits */
	}
	free(out);
	return 0;
}
