/* SPDX-License-Identifier: MIT */
/* Reading Python objects from the target: str, bytes, and cached code objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

#define MAX_STR_CHARS 1024              /* names longer than this are cut */
#define MAX_LINETABLE (1u << 20)        /* no real line table is near 1 MiB */
#define MAX_HEADER FTP_LAYOUT_CODE_SPAN /* bytes of a code object read at once */
#define LINE_CACHE 4                    /* decoded lines kept per code object */

struct code_entry {
	struct ftp_code pub;
	uint64_t name_ptr, filename_ptr, linetable_ptr; /* identity, for revalidation */
	uint64_t round;  /* last round the entry was checked against the target */
	uint64_t born;   /* the round it was decoded in (replacing retired) */
	unsigned recent; /* its place in the cache's recent ring, plus one; 0: none */
	uint64_t nbytes;
	struct {
		int64_t offset; /* -1: empty */
		int line;
	} lines[LINE_CACHE]; /* recently decoded offsets */
	unsigned next_line;
	uint8_t *linetable;
	size_t linetable_len;
	struct code_entry *retired; /* replaced entries, kept until destroy */
	char *strings;
};

#define RECENT_CODES 32  /* code objects whose headers stay in the prefetch */
#define INDEX_FIRST 1024 /* slots of a new index: room for 511 code objects */

/* An entry never moves once made: frames lend its strings until destroy. */
struct code_slot {
	uint64_t addr;
	struct code_entry *e;
};

struct code_cache {
	struct code_slot *v; /* by when first seen */
	size_t n, cap;
	uint64_t held;           /* entries, replaced ones included (probe_code_count) */
	struct ftp_hindex index; /* by addr */
	/* Code objects checked in recent rounds, a ring: a function called on
	 * and off (a loop's callee) is checked from the prefetch, not by a read
	 * of its own, in rounds after one that did not see it. */
	struct {
		uint64_t addr, round;
	} recent[RECENT_CODES];
	unsigned recent_next;
};

int probe_read_str(const struct probe_reader *r, uint64_t addr, char *out, size_t out_len)
{
	const struct ftp_layout *L = r->L;
	unsigned char hdr[128];
	out[0] = '\0';
	uint32_t need = L->unicode.compact_size + 8;
	if (!addr || (addr & 7) || need > sizeof(hdr))
		return -FTP_E_TORN;
	int ret = probe_mem_read(r->mem, addr, hdr, need, NULL);
	if (ret < 0)
		return ret;
	if (r->str_type && probe_load_u64(hdr, L->object.ob_type) != r->str_type)
		return -FTP_E_TORN;
	uint32_t state = probe_load_u32(hdr, L->unicode.state);
	int64_t length = (int64_t)probe_load_u64(hdr, L->unicode.length);
	unsigned kind = (state >> L->unicode.kind_shift) & 7;
	bool compact = (state >> L->unicode.compact_bit) & 1;
	bool ascii = (state >> L->unicode.ascii_bit) & 1;
	if (length < 0 || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1))
		return -FTP_E_TORN;
	uint64_t data;
	if (compact)
		data = addr + (ascii ? L->unicode.ascii_size : L->unicode.compact_size);
	else
		data = probe_load_u64(hdr, L->unicode.compact_size); /* data.any of PyUnicodeObject */
	size_t count = (size_t)length < MAX_STR_CHARS ? (size_t)length : MAX_STR_CHARS;
	unsigned char chars[MAX_STR_CHARS * 4];
	ret = probe_mem_read(r->mem, data, chars, count * kind, NULL);
	if (ret < 0)
		return ret;
	return ftp_pystr_to_utf8(kind, chars, count * kind, count, out, out_len) < 0 ? -FTP_E_TORN : 0;
}

/* A bytes object's contents, malloc'd into *out. */
static int read_bytes(const struct probe_reader *r, uint64_t addr, uint8_t **out, size_t *len)
{
	const struct ftp_layout *L = r->L;
	unsigned char hdr[64];
	if (!addr || (addr & 7) || L->bytes.ob_sval > sizeof(hdr))
		return -FTP_E_TORN;
	int ret = probe_mem_read(r->mem, addr, hdr, L->bytes.ob_sval, NULL);
	if (ret < 0)
		return ret;
	if (r->bytes_type && probe_load_u64(hdr, L->object.ob_type) != r->bytes_type)
		return -FTP_E_TORN;
	int64_t n = (int64_t)probe_load_u64(hdr, L->object.var_size);
	if (n < 0 || n > MAX_LINETABLE)
		return -FTP_E_TORN;
	uint8_t *buf = malloc((size_t)n + 1);
	if (!buf)
		return -FTP_E_NOMEM;
	ret = probe_mem_read(r->mem, addr + L->bytes.ob_sval, buf, (size_t)n, NULL);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* Frees e and the entries it replaced; returns how many. */
static uint64_t free_entry(struct code_entry *e)
{
	uint64_t n = 0;
	while (e) {
		struct code_entry *next = e->retired;
		free(e->linetable);
		free(e->strings);
		free(e);
		e = next;
		n++;
	}
	return n;
}

void probe_code_cache_destroy(struct code_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		free_entry(c->v[i].e);
	free(c->v);
	ftp_hindex_release(&c->index);
	free(c);
}

static uint64_t slot_hash(const void *ctx, size_t idx);

uint64_t probe_code_count(const struct code_cache *c)
{
	return c ? c->held : 0;
}

void probe_code_trim(struct code_cache *c, uint64_t before)
{
	if (!c)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct code_entry *e = c->v[i].e;
		if (e->round < before) {
			c->held -= free_entry(e);
			continue;
		}
		if (e->retired && e->born < before) {
			c->held -= free_entry(e->retired);
			e->retired = NULL;
		}
		e->recent = 0;
		c->v[kept++] = c->v[i];
	}
	c->n = kept;
	memset(c->recent, 0, sizeof(c->recent));
	c->recent_next = 0;
	/* The index is rebuilt over what is left (it cannot drop a slot). */
	ftp_hindex_release(&c->index);
	memset(&c->index, 0, sizeof(c->index));
	if (ftp_hindex_reserve(&c->index, c->n, INDEX_FIRST, slot_hash, c) < 0)
		return; /* then probe_code_get reserves again, or fails */
}

static bool slot_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct code_cache *c = ctx;
	return c->v[idx].addr == *(const uint64_t *)key;
}

static uint64_t slot_hash(const void *ctx, size_t idx)
{
	const struct code_cache *c = ctx;
	return ftp_hash_addr(c->v[idx].addr);
}

static struct code_entry *decode(const struct probe_reader *r, uint64_t addr, const unsigned char *hdr)
{
	const struct ftp_layout *L = r->L;
	struct code_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	char name[MAX_STR_CHARS * 4], qualname[MAX_STR_CHARS * 4], filename[MAX_STR_CHARS * 4];
	e->pub.addr = addr;
	for (size_t i = 0; i < LINE_CACHE; i++)
		e->lines[i].offset = -1;
	e->name_ptr = probe_load_u64(hdr, L->code.name);
	e->filename_ptr = probe_load_u64(hdr, L->code.filename);
	e->linetable_ptr = probe_load_u64(hdr, L->code.linetable);
	e->pub.firstlineno = (int)probe_load_u32(hdr, L->code.firstlineno);
	/* The compiler names every code object; an empty name is a str freed
	 * and reused, read through a frame that was being popped. */
	if (probe_read_str(r, e->name_ptr, name, sizeof(name)) < 0 || !name[0] ||
	    probe_read_str(r, e->filename_ptr, filename, sizeof(filename)) < 0 ||
	    read_bytes(r, e->linetable_ptr, &e->linetable, &e->linetable_len) < 0)
		goto fail;
	if (L->code.qualname == FTP_OFF_NONE ||
	    probe_read_str(r, probe_load_u64(hdr, L->code.qualname), qualname, sizeof(qualname)) < 0 ||
	    !qualname[0])
		memcpy(qualname, name, strlen(name) + 1);
	if (L->frames == FTP_FRAMES_INTERP) {
		/* 3.11+: the code object is a PyVarObject of 2-byte code units */
		e->nbytes = probe_load_u64(hdr, L->object.var_size) * 2;
	} else {
		unsigned char bh[64];
		uint64_t co_code = probe_load_u64(hdr, L->code.code);
		if (L->object.var_size + 8 > sizeof(bh) ||
		    probe_mem_read(r->mem, co_code, bh, L->object.var_size + 8, NULL) < 0)
			goto fail;
		e->nbytes = probe_load_u64(bh, L->object.var_size);
	}
	size_t ln = strlen(name) + 1, lq = strlen(qualname) + 1, lf = strlen(filename) + 1;
	e->strings = malloc(ln + lq + lf);
	if (!e->strings)
		goto fail;
	memcpy(e->strings, name, ln);
	memcpy(e->strings + ln, qualname, lq);
	memcpy(e->strings + ln + lq, filename, lf);
	e->pub.name = e->strings;
	e->pub.qualname = e->strings + ln;
	e->pub.filename = e->strings + ln + lq;
	e->round = e->born = probe_mem_epoch(r->mem);
	return e;
fail:
	free_entry(e);
	return NULL;
}

#define RECENT_ROUNDS 32 /* rounds a code object stays in the recent ring */

/* Marks e, at addr, as checked this round. */
static void touch(struct code_cache *c, struct code_entry *e, uint64_t addr, uint64_t round)
{
	e->round = round;
	if (!e->recent || c->recent[e->recent - 1].addr != addr) {
		e->recent = c->recent_next + 1;
		c->recent_next = (c->recent_next + 1) % RECENT_CODES;
	}
	c->recent[e->recent - 1].addr = addr;
	c->recent[e->recent - 1].round = round;
}

void probe_code_prefetch(struct ftp_probe *p)
{
	struct code_cache *c = p->codes;
	if (!c)
		return;
	uint32_t size = p->L.code.size < MAX_HEADER ? p->L.code.size : MAX_HEADER;
	struct probe_range r[RECENT_CODES];
	size_t n = 0;
	for (size_t i = 0; i < RECENT_CODES; i++)
		if (c->recent[i].addr && probe_mem_epoch(&p->mem) - c->recent[i].round <= RECENT_ROUNDS)
			r[n++] = (struct probe_range){ .addr = c->recent[i].addr,
				                       .end = c->recent[i].addr + size };
	probe_mem_trace_extend(&p->mem, r, n);
}

struct code_entry *probe_code_get(struct ftp_probe *p, uint64_t addr)
{
	const struct ftp_layout *L = &p->L;
	struct code_cache *c = p->codes;
	if (!addr || (addr & 7))
		return NULL;
	if (!c && !(c = p->codes = calloc(1, sizeof(*c))))
		return NULL;
	if (ftp_hindex_reserve(&c->index, c->n, INDEX_FIRST, slot_hash, c) < 0 ||
	    ftp_grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v), INDEX_FIRST / 2) < 0)
		return NULL;
	uint32_t *slot = ftp_hindex_find(&c->index, ftp_hash_addr(addr), slot_same, c, &addr);
	struct code_entry *old = *slot ? c->v[*slot - 1].e : NULL;
	if (old && old->round == probe_mem_epoch(&p->mem))
		return old;
	unsigned char hdr[MAX_HEADER];
	uint32_t size = L->code.size < sizeof(hdr) ? L->code.size : sizeof(hdr);
	if (probe_mem_read(&p->mem, addr, hdr, size, NULL) < 0)
		return NULL;
	if (p->code_type && probe_load_u64(hdr, L->object.ob_type) != p->code_type)
		return NULL;
	if (old && old->name_ptr == probe_load_u64(hdr, L->code.name) &&
	    old->filename_ptr == probe_load_u64(hdr, L->code.filename) &&
	    old->linetable_ptr == probe_load_u64(hdr, L->code.linetable) &&
	    old->pub.firstlineno == (int)probe_load_u32(hdr, L->code.firstlineno)) {
		touch(c, old, addr, probe_mem_epoch(&p->mem));
		return old;
	}
	const struct probe_reader rd = probe_reader_get(p);
	struct code_entry *e = decode(&rd, addr, hdr);
	if (!e)
		return NULL;
	e->retired = old; /* its strings stay valid: they are lent until destroy */
	c->held++;
	if (old) {
		c->v[*slot - 1].e = e;
	} else {
		c->v[c->n] = (struct code_slot){ .addr = addr, .e = e };
		*slot = (uint32_t)++c->n;
	}
	touch(c, e, addr, probe_mem_epoch(&p->mem));
	return e;
}

const struct ftp_code *probe_code_pub(const struct code_entry *e)
{
	return &e->pub;
}

int probe_code_line(struct code_entry *e, const struct ftp_layout *L, int64_t offset)
{
	if (offset < 0)
		offset = 0; /* a frame that has not started: its first line */
	if ((uint64_t)offset >= e->nbytes && e->nbytes)
		return -1;
	for (size_t i = 0; i < LINE_CACHE; i++)
		if (e->lines[i].offset == offset)
			return e->lines[i].line;
	int line = ftp_linetable_line(L->lines, e->linetable, e->linetable_len, e->pub.firstlineno,
	                              (uint32_t)offset);
	e->lines[e->next_line].offset = offset;
	e->lines[e->next_line].line = line;
	e->next_line = (e->next_line + 1) % LINE_CACHE;
	return line;
}
