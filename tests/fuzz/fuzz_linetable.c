/* SPDX-License-Identifier: MIT */
/* libFuzzer target: ftp_linetable_line on arbitrary tables of every format.
 *
 * Input: u8 format (taken modulo 4, so 0 is an unknown format), s32
 * firstlineno, u32 offset, then the table up to the end of the input. The
 * table is the tail of libFuzzer's exact-size buffer, so a read past its end
 * is caught by AddressSanitizer. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HEADER = 9 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER)
		return 0;
	enum ftp_line_format format = (enum ftp_line_format)(data[0] % 4);
	int32_t firstlineno;
	uint32_t offset;
	memcpy(&firstlineno, data + 1, 4);
	memcpy(&offset, data + 5, 4);
	const uint8_t *tab = data + HEADER;
	size_t len = size - HEADER;

	int line = ftp_linetable_line(format, tab, len, firstlineno, offset);
	if (line < -1 || (format == 0 && line != -1))
		abort();
	/* The documented edge cases: no table, and a NULL table with a length. */
	if (ftp_linetable_line(format, NULL, 0, firstlineno, offset) < -1 ||
	    ftp_linetable_line(format, NULL, len + 1, firstlineno, offset) != -1)
		abort();
	return 0;
}
