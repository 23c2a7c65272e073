/* SPDX-License-Identifier: MIT */
/* Python string storage (Latin-1, UCS-2, UCS-4) to UTF-8. */
#include <string.h>

#include "ftprof/symbols.h"

static size_t utf8_len(uint32_t c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

long ftp_pystr_to_utf8(unsigned kind, const void *data, size_t data_len, size_t count, char *out,
                       size_t out_len)
{
	if ((kind != 1 && kind != 2 && kind != 4) || !out || out_len == 0)
		return -1;
	if (count > data_len / kind)
		return -1;
	const unsigned char *p = data;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t c;
		if (kind == 1) {
			c = p[i];
		} else if (kind == 2) {
			uint16_t u;
			memcpy(&u, p + 2 * i, 2);
			c = u;
		} else {
			memcpy(&c, p + 4 * i, 4);
		}
		if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			c = 0xfffd; /* lone surrogates cannot be UTF-8 */
		if (n + utf8_len(c) >= out_len)
			break;
		n += put_utf8(out + n, c);
	}
	out[n] = '\0';
	return (long)n;
}
