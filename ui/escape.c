/* SPDX-License-Identifier: MIT */
/* Escaping strings from the target before they reach a terminal or a JSON file. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/* Length of the valid UTF-8 sequence at s (1-4) and its code point, or 0
 * when the bytes are not valid UTF-8 (overlong, surrogate, > U+10FFFF). */
static int utf8_seq(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	int len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* ui_put_escaped, also escaping the ASCII characters in `also`. */
static void put_escaped(FILE *f, const char *str, const char *also)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		uint32_t cp;
		int len = utf8_seq(s, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", *s);
			s++;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
		           cp == 0x2029) {
			if (cp < 0x80)
				fprintf(f, "\\x%02x", cp);
			else
				fprintf(f, "\\u{%x}", cp);
			s += len;
		} else if (cp == '\\') {
			fputs("\\\\", f);
			s++;
		} else if (cp < 0x80 && strchr(also, (int)cp)) {
			fprintf(f, "\\x%02x", cp);
			s++;
		} else {
			fwrite(s, 1, (size_t)len, f);
			s += len;
		}
	}
}

void ui_put_escaped(FILE *f, const char *s)
{
	put_escaped(f, s, "");
}

void ui_put_folded(FILE *f, const char *s)
{
	put_escaped(f, s, ";");
}

void ui_put_json_str(FILE *f, const char *str)
{
	if (!str) {
		fputs("null", f);
		return;
	}
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		uint32_t cp;
		int len = utf8_seq(s, &cp);
		if (len == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			fprintf(f, "\\u%04x", cp);
		else
			fwrite(s, 1, (size_t)len, f);
		s += len;
	}
	fputc('"', f);
}

size_t ui_escape_buf(char *dst, size_t len, const char *str, bool ascii)
{
	size_t n = 0;
	if (!len)
		return 0;
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	while (*s) {
		char piece[16];
		const char *out = piece;
		size_t plen;
		uint32_t cp;
		int slen = utf8_seq(s, &cp);
		if (slen == 0) {
			plen = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *s);
			slen = 1;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 ||
		           cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		           (ascii && cp >= 0x80)) {
			/* controls, and bidirectional overrides that would reorder
			 * the rest of a screen line; everything not ASCII when the
			 * terminal is not UTF-8 */
			plen = cp < 0x80 ? (size_t)snprintf(piece, sizeof(piece), "\\x%02x", cp)
			                 : (size_t)snprintf(piece, sizeof(piece), "\\u{%x}", cp);
		} else if (cp == '\\') {
			out = "\\\\";
			plen = 2;
		} else {
			out = (const char *)s;
			plen = (size_t)slen;
		}
		if (n + plen >= len)
			break; /* whole characters or escapes only */
		memcpy(dst + n, out, plen);
		n += plen;
		s += slen;
	}
	dst[n] = '\0';
	return n;
}

void ui_put_xml(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	while (*s) {
		uint32_t cp;
		int len = utf8_seq(s, &cp);
		if (len == 0) {
			fprintf(f, "\\x%02x", *s);
			s++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029 ||
		    cp == 0xfffe || cp == 0xffff)
			fprintf(f, cp < 0x80 ? "\\x%02x" : "\\u{%x}", cp);
		else if (cp == '&')
			fputs("&amp;", f);
		else if (cp == '<')
			fputs("&lt;", f);
		else if (cp == '>')
			fputs("&gt;", f);
		else if (cp == '"')
			fputs("&quot;", f);
		else if (cp == '\'')
			fputs("&apos;", f);
		else
			fwrite(s, 1, (size_t)len, f);
		s += len;
	}
}
