/* SPDX-License-Identifier: MIT */
/* The protocol buffers wire format's encoding (protobuf.h). */
#include <string.h>

#include "ftprof/util.h"
#include "protobuf.h"

void pb_release(struct pb_buf *b)
{
	free(b->data);
	*b = (struct pb_buf){ 0 };
}

void pb_reset(struct pb_buf *b)
{
	b->len = 0;
}

static bool room(struct pb_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (n > SIZE_MAX - b->len || ftp_grow((void **)&b->data, &b->cap, b->len + n, 1, 256) < 0) {
		b->failed = true;
		return false;
	}
	return true;
}

void pb_varint(struct pb_buf *b, uint64_t v)
{
	if (!room(b, 10))
		return;
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		b->data[b->len++] = byte | (v ? 0x80 : 0);
	} while (v);
}

void pb_tag(struct pb_buf *b, uint32_t field, unsigned wire)
{
	pb_varint(b, (uint64_t)field << 3 | wire);
}

void pb_uint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb_tag(b, field, PB_VARINT);
	pb_varint(b, v);
}

void pb_int(struct pb_buf *b, uint32_t field, int64_t v)
{
	pb_uint(b, field, (uint64_t)v);
}

void pb_bytes(struct pb_buf *b, uint32_t field, const void *p, size_t n)
{
	pb_tag(b, field, PB_LEN);
	pb_varint(b, n);
	if (!room(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

void pb_str(struct pb_buf *b, uint32_t field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}
