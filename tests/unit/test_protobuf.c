/* SPDX-License-Identifier: MIT */
/* ui/writers/protobuf.c against encodings worked out by hand from the
 * protocol buffers encoding rules. */
#include <criterion/criterion.h>
#include <string.h>

#include "writers/protobuf.h"

static void expect_bytes(const struct pb_buf *b, const uint8_t *want, size_t n)
{
	cr_assert(!b->failed);
	cr_assert_eq(b->len, n, "%zu bytes, expected %zu", b->len, n);
	cr_expect_arr_eq(b->data, want, n);
}

Test(protobuf, varints)
{
	struct pb_buf b = { 0 };
	pb_varint(&b, 0);
	pb_varint(&b, 1);
	pb_varint(&b, 127);
	pb_varint(&b, 128);
	pb_varint(&b, 300);
	static const uint8_t small[] = { 0x00, 0x01, 0x7f, 0x80, 0x01, 0xac, 0x02 };
	expect_bytes(&b, small, sizeof(small));
	pb_reset(&b);
	pb_varint(&b, UINT64_MAX);
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	expect_bytes(&b, max, sizeof(max));
	pb_release(&b);
}

Test(protobuf, fields)
{
	struct pb_buf b = { 0 };
	pb_uint(&b, 1, 150); /* the encoding guide's example: 08 96 01 */
	pb_int(&b, 2, -1);   /* int64: ten bytes of two's complement */
	pb_str(&b, 6, "hi");
	pb_bytes(&b, 20, "", 0); /* a field number past 15 takes two bytes */
	static const uint8_t want[] = { 0x08, 0x96, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		                        0xff, 0xff, 0x01, 0x32, 0x02, 'h',  'i',  0xa2, 0x01, 0x00 };
	expect_bytes(&b, want, sizeof(want));
	pb_release(&b);
}

Test(protobuf, nested)
{
	struct pb_buf b = { 0 }, sub = { 0 };
	pb_uint(&sub, 1, 3);
	pb_uint(&sub, 2, 4);
	pb_bytes(&b, 4, sub.data, sub.len);
	static const uint8_t want[] = { 0x22, 0x04, 0x08, 0x03, 0x10, 0x04 };
	expect_bytes(&b, want, sizeof(want));
	pb_release(&b);
	pb_release(&sub);
}
