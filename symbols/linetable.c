/* SPDX-License-Identifier: MIT */
/* Line numbers from the three line-table formats of CPython 3.8 to 3.15. */
#include "ftprof/symbols.h"

/* 3.8-3.9 co_lnotab: (address delta u8, line delta s8) pairs from
 * (0, co_firstlineno); the line applies from its address onwards. */
static int64_t lnotab_line(const uint8_t *tab, size_t len, int64_t line, uint32_t offset)
{
	uint32_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > offset)
			break;
		line += (int8_t)tab[i + 1];
	}
	return line;
}

/* 3.10 co_linetable: (range length in bytes u8, line delta s8) pairs
 * covering the bytecode from 0; a delta of -128 means the range has no line. */
static int64_t linetable310_line(const uint8_t *tab, size_t len, int64_t line, uint32_t offset)
{
	uint32_t start = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint32_t end = start + tab[i];
		int delta = (int8_t)tab[i + 1];
		if (delta != -128)
			line += delta;
		if (offset >= start && offset < end)
			return delta == -128 ? -1 : line;
		start = end;
	}
	return -1;
}

/* 3.11+ location table varints: 6-bit groups, least significant first,
 * 0x40 set while more follow. Returns false when the table ends early. */
static bool read_varint(const uint8_t *tab, size_t len, size_t *pos, uint32_t *out)
{
	uint32_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (*pos >= len || shift > 30)
			return false;
		uint8_t b = tab[(*pos)++];
		v |= (uint32_t)(b & 0x3f) << shift;
		shift += 6;
		if (!(b & 0x40))
			break;
	}
	*out = v;
	return true;
}

static bool read_svarint(const uint8_t *tab, size_t len, size_t *pos, int *out)
{
	uint32_t v;
	if (!read_varint(tab, len, pos, &v))
		return false;
	*out = (v & 1) ? -(int)(v >> 1) : (int)(v >> 1);
	return true;
}

enum {
	LOC_ONE_LINE0 = 10,
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,
	LOC_LONG = 14,
	LOC_NONE = 15,
};

/* 3.11+ location table (Include/cpython/code.h, _PyCodeLocationInfoKind):
 * entries start with a byte 1ccccnnn covering n+1 code units. */
static int64_t locations_line(const uint8_t *tab, size_t len, int64_t line, uint32_t offset)
{
	uint32_t start = 0;
	size_t pos = 0;
	while (pos < len) {
		uint8_t first = tab[pos++];
		if (!(first & 0x80))
			return -1; /* not at an entry start: malformed */
		unsigned code = (first >> 3) & 15;
		uint32_t end = start + ((first & 7) + 1) * 2;
		int delta = 0;
		uint32_t skip;
		switch (code) {
		case LOC_NONE:
			break;
		case LOC_LONG:
			if (!read_svarint(tab, len, &pos, &delta) || !read_varint(tab, len, &pos, &skip) ||
			    !read_varint(tab, len, &pos, &skip) || !read_varint(tab, len, &pos, &skip))
				return -1;
			break;
		case LOC_NO_COLUMNS:
			if (!read_svarint(tab, len, &pos, &delta))
				return -1;
			break;
		default:
			if (code >= LOC_ONE_LINE0 && code <= LOC_ONE_LINE2) {
				delta = (int)code - LOC_ONE_LINE0;
				pos += 2;
			} else {
				pos += 1; /* short form: one column byte */
			}
			if (pos > len)
				return -1;
			break;
		}
		line += delta;
		if (offset >= start && offset < end)
			return code == LOC_NONE ? -1 : line;
		start = end;
	}
	return -1;
}

int ftp_linetable_line(enum ftp_line_format format, const uint8_t *tab, size_t len, int firstlineno,
                       uint32_t offset)
{
	if (!tab && len)
		return -1;
	/* Accumulated in 64 bits: co_firstlineno and the deltas come from the
	 * target and may be anything. */
	int64_t line;
	switch (format) {
	case FTP_LINES_LNOTAB:
		line = lnotab_line(tab, len, firstlineno, offset);
		break;
	case FTP_LINES_310:
		line = linetable310_line(tab, len, firstlineno, offset);
		break;
	case FTP_LINES_LOCATIONS:
		line = locations_line(tab, len, firstlineno, offset);
		break;
	default:
		return -1;
	}
	return line < 0 || line > INT32_MAX ? -1 : (int)line;
}
