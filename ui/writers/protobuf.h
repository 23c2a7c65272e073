/* SPDX-License-Identifier: MIT */
/* The protocol buffers wire format, as much of it as a writer needs: varints,
 * tags and length-delimited fields, into a growing byte buffer. Nested
 * messages and packed repeated fields are built in a second buffer and added
 * with pb_bytes. */
#ifndef FTPROF_PROTOBUF_H
#define FTPROF_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zeroed is empty. A failed allocation sets failed and makes every later
 * call a no-op, so a writer checks once, at the end. */
struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

enum { PB_VARINT = 0, PB_LEN = 2 }; /* wire types */

void pb_release(struct pb_buf *b);
void pb_reset(struct pb_buf *b); /* empty, keeping the memory */

/* A bare varint: 7 bits a byte, least significant first. */
void pb_varint(struct pb_buf *b, uint64_t v);
/* A field's key: (field << 3) | wire type. */
void pb_tag(struct pb_buf *b, uint32_t field, unsigned wire);
/* A varint field (uint64, or int64 as its two's complement: -1 takes ten
 * bytes, as in every protobuf encoder); bool is 0 or 1. */
void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v);
void pb_int(struct pb_buf *b, uint32_t field, int64_t v);
/* A length-delimited field: bytes, a string, an embedded message, a packed
 * repeated field. */
void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n);
void pb_str(struct pb_buf *b, uint32_t field, const char *s);

#endif
