/* SPDX-License-Identifier: MIT */
/* Writes seeds for the walker fuzz target: fake processes, in the input format
 * of walker_input.h, laid out with the built-in layouts of 3.8-3.12 and with
 * the layouts of the _Py_DebugOffsets blobs given on the command line (read
 * from live 3.13+ interpreters by tests/fuzz/seeds.py).
 *
 * Each process has an interpreter with three threads: one deep in Python
 * code, one with no frame, one whose chain holds a C-stack shim frame; code
 * objects with every kind of line table entry; str objects of each storage
 * kind; and the threading module's _active dict, so that thread names
 * resolve. Later rounds rename a code object and unmap a page.
 *
 * Usage: walker_seeds OUTDIR [BLOB...] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftprof/symbols.h"
#include "walker_input.h"

#define NONE FTP_OFF_NONE
#define PID 4242
#define BASE 0x7f5500000000ull
#define GIL_SPAN 256
#define PTHREAD_TID 720 /* offset of the tid in glibc's struct pthread */

/* Type objects: addresses only; the walker compares ob_type against them. */
#define CODE_TYPE 0x7f5400001000ull
#define STR_TYPE 0x7f5400002000ull
#define BYTES_TYPE 0x7f5400003000ull
#define DICT_TYPE 0x7f5400004000ull

struct img {
	const struct ftp_layout *L;
	unsigned minor;
	unsigned char *buf; /* the seed: header, tasks, segments */
	size_t len, cap;
	uint64_t next; /* bump allocator of fake addresses */
};

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "walker_seeds: out of memory\n");
		exit(1);
	}
	return p;
}

static void put(struct img *im, const void *p, size_t n)
{
	if (im->len + n > im->cap) {
		im->cap = (im->len + n) * 2;
		im->buf = realloc(im->buf, im->cap);
		if (!im->buf) {
			fprintf(stderr, "walker_seeds: out of memory\n");
			exit(1);
		}
	}
	memcpy(im->buf + im->len, p, n);
	im->len += n;
}

static void set64(unsigned char *b, uint32_t off, uint64_t v)
{
	if (off != NONE)
		memcpy(b + off, &v, 8);
}

static void set32(unsigned char *b, uint32_t off, uint32_t v)
{
	if (off != NONE)
		memcpy(b + off, &v, 4);
}

static void seg(struct img *im, uint64_t addr, const void *data, size_t len, unsigned round)
{
	while (len) {
		uint16_t n = len > 0xffff ? 0xffff : (uint16_t)len;
		uint8_t r = (uint8_t)round;
		put(im, &addr, 8);
		put(im, &n, 2);
		put(im, &r, 1);
		put(im, data, n);
		addr += n;
		data = (const char *)data + n;
		len -= n;
	}
}

static void seg64(struct img *im, uint64_t addr, uint64_t v, unsigned round)
{
	seg(im, addr, &v, 8, round);
}

static void unmap(struct img *im, uint64_t addr, uint16_t len, unsigned round)
{
	uint8_t r = (uint8_t)(round | WALKER_SEG_UNMAP);
	put(im, &addr, 8);
	put(im, &len, 2);
	put(im, &r, 1);
}

static uint64_t alloc(struct img *im, uint64_t size)
{
	uint64_t addr = im->next;
	im->next += (size + 15) & ~15ull;
	im->next += 16; /* a gap, so that objects do not abut */
	return addr;
}

/* ---- objects ---------------------------------------------------------- */

static uint32_t head(const struct ftp_layout *L)
{
	return L->object.ob_type + 8; /* sizeof(PyObject) */
}

/* A compact str: ASCII, or UCS-2 when wide. */
static uint64_t mk_str(struct img *im, const char *s, bool wide, unsigned round)
{
	const struct ftp_layout *L = im->L;
	size_t n = strlen(s);
	uint32_t data = wide ? L->unicode.compact_size : L->unicode.ascii_size;
	size_t size = data + (n + 1) * (wide ? 2 : 1);
	unsigned char *b = xcalloc(size);
	uint32_t state = (wide ? 2u : 1u) << L->unicode.kind_shift | 1u << L->unicode.compact_bit;
	if (!wide)
		state |= 1u << L->unicode.ascii_bit;
	if (L->unicode.kind_shift == 2)
		state |= 1u << 7; /* <= 3.11: ready */
	set64(b, L->object.ob_type, STR_TYPE);
	set64(b, L->unicode.length, n);
	set32(b, L->unicode.state, state);
	for (size_t i = 0; i < n; i++) {
		if (wide) {
			uint16_t c = (uint16_t)(i == 0 ? 0x20ac : (unsigned char)s[i]);
			memcpy(b + data + 2 * i, &c, 2);
		} else {
			b[data + i] = (unsigned char)s[i];
		}
	}
	uint64_t addr = alloc(im, size);
	seg(im, addr, b, size, round);
	free(b);
	return addr;
}

/* A legacy (not compact) str: its characters elsewhere, pointed at. */
static uint64_t mk_legacy_str(struct img *im, const char *s)
{
	const struct ftp_layout *L = im->L;
	size_t n = strlen(s);
	uint64_t chars = alloc(im, n + 1);
	seg(im, chars, s, n + 1, 0);
	unsigned char *b = xcalloc(L->unicode.compact_size + 8);
	set64(b, L->object.ob_type, STR_TYPE);
	set64(b, L->unicode.length, n);
	set32(b, L->unicode.state, 1u << L->unicode.kind_shift);
	set64(b, L->unicode.compact_size, chars);
	uint64_t addr = alloc(im, L->unicode.compact_size + 8);
	seg(im, addr, b, L->unicode.compact_size + 8, 0);
	free(b);
	return addr;
}

static uint64_t mk_bytes(struct img *im, const void *data, size_t n)
{
	const struct ftp_layout *L = im->L;
	size_t size = L->bytes.ob_sval + n + 1;
	unsigned char *b = xcalloc(size);
	set64(b, L->object.ob_type, BYTES_TYPE);
	set64(b, L->object.var_size, n);
	memcpy(b + L->bytes.ob_sval, data, n);
	uint64_t addr = alloc(im, size);
	seg(im, addr, b, size, 0);
	free(b);
	return addr;
}

/* A line table of the layout's format for `units` code units, with every
 * kind of entry the format has. Returns its length. */
static size_t mk_linetable(const struct ftp_layout *L, unsigned units, uint8_t *t)
{
	size_t n = 0;
	switch (L->lines) {
	case FTP_LINES_LNOTAB:
		for (unsigned i = 0; i < units; i++) {
			t[n++] = 2;
			t[n++] = i % 3 == 2 ? 0xfe : 1; /* back by 2 now and then */
		}
		t[n++] = 0; /* a line jump of more than 127 in two pairs */
		t[n++] = 127;
		t[n++] = 2;
		t[n++] = 10;
		break;
	case FTP_LINES_310:
		for (unsigned i = 0; i < units; i++) {
			t[n++] = 2;
			t[n++] = i == 3 ? 0x80 : i % 4 == 1 ? 0xff : 2; /* -128: no line */
		}
		break;
	default:
		/* 3.11+: 1cccclll entries */
		for (unsigned i = 0; i < units; i++) {
			switch (i % 6) {
			case 0: /* no columns, line delta +1 as a signed varint */
				t[n++] = 0x80 | 13 << 3;
				t[n++] = 2;
				break;
			case 1: /* one line, +1, two column bytes, two units */
				t[n++] = 0x80 | 11 << 3 | 1;
				t[n++] = 4;
				t[n++] = 9;
				i++;
				break;
			case 2: /* short form, one column byte */
				t[n++] = 0x80 | 3 << 3;
				t[n++] = 0x15;
				break;
			case 3: /* long form: line delta -3, end line, columns (varints) */
				t[n++] = 0x80 | 14 << 3;
				t[n++] = 7;
				t[n++] = 0x41; /* a two-byte varint */
				t[n++] = 0x01;
				t[n++] = 3;
				t[n++] = 20;
				break;
			case 4: /* no location */
				t[n++] = 0x80 | 15 << 3;
				break;
			default: /* one line, +0 */
				t[n++] = 0x80 | 10 << 3;
				t[n++] = 1;
				t[n++] = 2;
				break;
			}
		}
		break;
	}
	return n;
}

struct code {
	uint64_t addr;
	unsigned units;
};

static struct code mk_code(struct img *im, const char *name, const char *file, int firstlineno, bool wide)
{
	const struct ftp_layout *L = im->L;
	struct code c = { 0, 24 };
	uint8_t table[256];
	size_t tlen = mk_linetable(L, c.units, table);
	uint64_t lt = mk_bytes(im, table, tlen);
	uint64_t sname = mk_str(im, name, wide, 0);
	uint64_t sfile = wide ? mk_legacy_str(im, file) : mk_str(im, file, false, 0);
	char qual[64];
	snprintf(qual, sizeof(qual), "Outer.%s", name);
	uint64_t squal = L->code.qualname != NONE ? mk_str(im, qual, false, 0) : 0;
	uint64_t co_code = 0;
	if (L->frames == FTP_FRAMES_OBJECT) {
		uint8_t ops[48] = { 0 };
		co_code = mk_bytes(im, ops, c.units * 2);
	}
	uint32_t size = L->code.size < 1024 ? L->code.size : 1024;
	unsigned char *b = xcalloc(size);
	set64(b, L->object.ob_type, CODE_TYPE);
	set64(b, L->object.var_size, L->frames == FTP_FRAMES_INTERP ? c.units : 0);
	set64(b, L->code.name, sname);
	set64(b, L->code.filename, sfile);
	set64(b, L->code.qualname, squal);
	set64(b, L->code.linetable, lt);
	set32(b, L->code.firstlineno, (uint32_t)firstlineno);
	if (co_code)
		set64(b, L->code.code, co_code);
	c.addr = alloc(im, L->code.size + 2 * c.units);
	seg(im, c.addr, b, size, 0);
	free(b);
	return c;
}

/* A frame running `code` at code unit `unit`; owner 3 marks a C-stack shim. */
static uint64_t mk_frame(struct img *im, uint64_t addr, uint64_t previous, const struct code *code,
                         unsigned unit, unsigned owner, bool tag)
{
	const struct ftp_layout *L = im->L;
	uint32_t size = L->frame.size < 512 ? L->frame.size : 512;
	if (size < 256)
		size = 256;
	unsigned char *b = xcalloc(size);
	set64(b, L->frame.previous, previous);
	set64(b, L->frame.code, code ? code->addr | (tag && L->code_tag_mask ? 1 : 0) : 0);
	if (L->instr == FTP_INSTR_POINTER) {
		set64(b, L->frame.instr, code ? code->addr + L->code.code + 2 * unit : 0);
	} else {
		uint32_t lasti = L->instr == FTP_INSTR_LASTI_UNITS ? unit : 2 * unit;
		set32(b, L->frame.instr, lasti);
	}
	if (L->frame.owner != NONE)
		b[L->frame.owner] = (unsigned char)owner;
	if (L->frame.is_entry != NONE)
		b[L->frame.is_entry] = previous == 0;
	seg(im, addr, b, size, 0);
	free(b);
	return addr;
}

/* A chain of `depth` frames over the codes; returns the innermost. */
static uint64_t mk_chain(struct img *im, const struct code *codes, size_t ncodes, unsigned depth, bool shim)
{
	const struct ftp_layout *L = im->L;
	uint32_t size = L->frame.size < 512 ? 512 : L->frame.size;
	uint64_t prev = 0;
	for (unsigned i = 0; i < depth; i++) {
		uint64_t addr = alloc(im, size);
		bool c_stack = shim && L->frame.owner != NONE && i == depth / 2;
		prev = mk_frame(im, addr, prev, c_stack ? NULL : &codes[i % ncodes], (i * 5) % 24,
		                c_stack ? 3 : 0, i % 2);
	}
	return prev;
}

/* ---- dicts, for threading._active ---------------------------------- */

enum keys_kind { KEYS_GENERAL, KEYS_UNICODE, KEYS_SPLIT }; /* dk_kind, 3.11+ */

/* A keys object of up to 5 entries; a split one holds no values. */
static uint64_t mk_keys(struct img *im, const uint64_t *keys, const uint64_t *values, size_t n,
                        enum keys_kind kind)
{
	unsigned char k[256] = { 0 };
	size_t klen;
	if (im->minor <= 10) {
		set64(k, 0, 1);      /* dk_refcnt */
		set64(k, 8, 8);      /* dk_size */
		set64(k, 24, 5 - n); /* dk_usable */
		set64(k, 32, n);     /* dk_nentries */
		for (size_t i = 0; i < 8; i++)
			k[40 + i] = i < n ? (unsigned char)i : 0xff;
		for (size_t i = 0; i < n; i++) {
			set64(k, (uint32_t)(48 + 24 * i), 0x1234567 + i);
			set64(k, (uint32_t)(48 + 24 * i + 8), keys[i]);
			set64(k, (uint32_t)(48 + 24 * i + 16), values[i]);
		}
		klen = 48 + 24 * 8;
	} else {
		set64(k, 0, 1);
		k[8] = 3; /* dk_log2_size */
		k[9] = 3; /* dk_log2_index_bytes */
		k[10] = (unsigned char)kind;
		set64(k, 16, 5 - n);
		set64(k, 24, n);
		for (size_t i = 0; i < 8; i++)
			k[32 + i] = i < n ? (unsigned char)i : 0xff;
		uint32_t es = kind == KEYS_GENERAL ? 24 : 16, ko = kind == KEYS_GENERAL ? 8 : 0;
		for (size_t i = 0; i < n; i++) {
			if (kind == KEYS_GENERAL)
				set64(k, (uint32_t)(40 + es * i), 0x1234567 + i);
			set64(k, (uint32_t)(40 + es * i + ko), keys[i]);
			set64(k, (uint32_t)(40 + es * i + ko + 8), kind == KEYS_SPLIT ? 0 : values[i]);
		}
		klen = 40 + es * 5;
	}
	uint64_t kaddr = alloc(im, klen);
	seg(im, kaddr, k, klen, 0);
	return kaddr;
}

/* A dict of up to 5 entries; str keys make a unicode-keys table (3.11+). */
static uint64_t mk_dict(struct img *im, const uint64_t *keys, const uint64_t *values, size_t n, bool str_keys)
{
	const struct ftp_layout *L = im->L;
	unsigned char d[80] = { 0 };
	if (L->dict.ma_keys + 8 > sizeof(d) || L->dict.ma_values + 8 > sizeof(d) ||
	    L->object.ob_type + 8 > sizeof(d))
		return 0; /* not a layout the probe reads dicts of */
	set64(d, L->object.ob_type, DICT_TYPE);
	set64(d, L->dict.ma_keys, mk_keys(im, keys, values, n, str_keys ? KEYS_UNICODE : KEYS_GENERAL));
	set64(d, L->dict.ma_values, 0);
	uint64_t addr = alloc(im, sizeof(d));
	seg(im, addr, d, sizeof(d), 0);
	return addr;
}

/* An int holding a thread ident, with 30-bit digits. */
static uint64_t mk_int(struct img *im, uint64_t v)
{
	unsigned char b[64] = { 0 };
	uint32_t h = head(im->L), nd = 0;
	uint32_t digits[3] = { 0 };
	for (; v; v >>= 30)
		digits[nd++] = (uint32_t)(v & ((1u << 30) - 1));
	set64(b, im->L->object.ob_type, 0x7f5400005000ull);
	set64(b, h, im->minor >= 12 ? (uint64_t)nd << 3 | (nd ? 0 : 1) : nd);
	memcpy(b + h + 8, digits, 4 * nd);
	uint64_t addr = alloc(im, sizeof(b));
	seg(im, addr, b, sizeof(b), 0);
	return addr;
}

/* A Thread object whose attributes live in a managed dict (3.11+): values
 * laid out as the version keeps them, indexed by the type's shared keys. */
static uint64_t mk_managed_thread(struct img *im, uint64_t type, uint64_t ident, uint64_t name)
{
	const struct ftp_layout *L = im->L;
	uint32_t h = head(L), bs = h + 8; /* tp_basicsize */
	unsigned char b[128] = { 0 };
	uint64_t base = alloc(im, sizeof(b)), obj = base + 32, values;
	set64(b, 32 + L->object.ob_type, type);
	if (im->minor >= 13) {
		/* PyDictValues after the object: capacity, size, embedded, valid */
		set64(b, 32 + bs, 2 | 2 << 8 | 1 << 16 | 1 << 24);
		set64(b, 32 + bs + 8, ident);
		set64(b, 32 + bs + 16, name);
	} else {
		uint64_t v[2] = { ident, name };
		values = alloc(im, sizeof(v));
		seg(im, values, v, sizeof(v), 0);
		if (im->minor == 11)
			set64(b, 0, values); /* obj - 32 */
		else
			set64(b, 8, values - 1); /* obj - 24, tagged */
	}
	seg(im, base, b, sizeof(b), 0);
	return obj;
}

/* threading's module with _active {ident: Thread}; returns sys.modules.
 * Thread attributes are in a dict at tp_dictoffset or, when managed (3.11+
 * only), in the object's managed dict. */
static uint64_t mk_modules(struct img *im, const uint64_t *idents, const char *const *names, size_t n,
                           bool managed)
{
	const struct ftp_layout *L = im->L;
	uint32_t h = head(L);
	uint32_t cached_keys = L->object.tp_flags + (im->minor <= 11 ? 704 : im->minor <= 14 ? 712 : 720);
	managed = managed && im->minor >= 11;
	/* The Thread type: a heap type */
	uint32_t tsize = cached_keys + 16;
	unsigned char *t = xcalloc(tsize);
	uint64_t flags = 1u << 9;
	if (managed)
		flags |= 1u << 4 | (im->minor >= 13 ? 1u << 2 : 0);
	set64(t, L->object.tp_flags, flags);
	set64(t, L->object.tp_flags + 120, managed ? 0 : h); /* tp_dictoffset */
	set64(t, L->object.tp_name + 8, h + 8);              /* tp_basicsize */

	uint64_t name_key = mk_str(im, "_name", false, 0);
	uint64_t keys[5], vals[5], akeys[5], threads[5];
	keys[0] = mk_str(im, "_ident", false, 0);
	keys[1] = name_key;
	if (managed)
		set64(t, cached_keys, mk_keys(im, keys, NULL, 2, KEYS_SPLIT));
	uint64_t type = alloc(im, tsize);
	seg(im, type, t, tsize, 0);
	free(t);
	for (size_t i = 0; i < n; i++) {
		vals[0] = mk_int(im, idents[i]);
		vals[1] = mk_str(im, names[i], i == 1, 0);
		if (managed) {
			threads[i] = mk_managed_thread(im, type, vals[0], vals[1]);
		} else {
			uint64_t idict = mk_dict(im, keys, vals, 2, true);
			unsigned char o[64] = { 0 };
			set64(o, L->object.ob_type, type);
			set64(o, h, idict);
			threads[i] = alloc(im, sizeof(o));
			seg(im, threads[i], o, sizeof(o), 0);
		}
		akeys[i] = mk_int(im, idents[i]);
	}
	uint64_t active = mk_dict(im, akeys, threads, n, false);
	keys[0] = mk_str(im, "_limbo", false, 0);
	vals[0] = mk_dict(im, NULL, NULL, 0, true);
	keys[1] = mk_str(im, "_active", false, 0);
	vals[1] = active;
	uint64_t tdict = mk_dict(im, keys, vals, 2, true);
	unsigned char m[64] = { 0 };
	set64(m, L->object.ob_type, 0x7f5400006000ull);
	set64(m, h, tdict);
	uint64_t module = alloc(im, sizeof(m));
	seg(im, module, m, sizeof(m), 0);
	keys[0] = mk_str(im, "sys", false, 0);
	vals[0] = module + 8;
	keys[1] = mk_str(im, "threading", false, 0);
	vals[1] = module;
	return mk_dict(im, keys, vals, 2, true);
}

/* ---- a process ------------------------------------------------------- */

enum variant {
	BASIC,  /* one thread, three frames */
	FULL,   /* three threads, names, tasks, three rounds */
	HOSTILE /* FULL, with whole-iovec partial reads, no type addresses, depth 2,
	           thread attributes in managed dicts */
};

static void header(struct img *im, uint8_t version, enum variant v, uint64_t runtime, unsigned ntasks)
{
	unsigned char h[WALKER_HEADER_SIZE] = { 0 };
	int32_t pid = PID;
	h[0] = version;
	h[1] = v == BASIC ? 0 : WALKER_F_THREAD_NAMES;
	if (v == HOSTILE)
		h[1] |= WALKER_F_IOV_WHOLE | WALKER_F_NO_TYPES;
	h[2] = v == HOSTILE ? 1 : 63;
	h[3] = v == BASIC ? 0 : 2;
	memcpy(h + 4, &pid, 4);
	set64(h, 8, runtime);
	set64(h, 16, CODE_TYPE);
	set64(h, 24, STR_TYPE);
	set64(h, 32, BYTES_TYPE);
	set64(h, 40, DICT_TYPE);
	h[48] = (uint8_t)ntasks;
	h[49] = v == HOSTILE ? 2 : 0;
	put(im, h, sizeof(h));
}

static void task(struct img *im, int32_t tid, char state, uint16_t nr, uint64_t arg0)
{
	unsigned char t[WALKER_TASK_SIZE] = { 0 };
	memcpy(t, &tid, 4);
	t[4] = (unsigned char)state;
	t[5] = nr != 0;
	memcpy(t + 6, &nr, 2);
	memcpy(t + 8, &arg0, 8);
	put(im, t, sizeof(t));
}

static void build(struct img *im, const struct ftp_layout *L, uint8_t version, const void *blob,
                  size_t blob_len, enum variant v)
{
	memset(im, 0, sizeof(*im));
	im->L = L;
	im->minor = (L->version >> 16) & 0xff;
	im->next = BASE;
	uint64_t runtime = alloc(im, L->runtime.size > 4096 ? L->runtime.size : 4096);
	uint64_t interp = alloc(im, L->interp.size);
	uint32_t ts_size = L->tstate.size < 2048 ? L->tstate.size : 2048;
	uint64_t ts[3];
	for (int i = 0; i < 3; i++)
		ts[i] = alloc(im, ts_size);
	uint64_t gil = L->runtime.gil != NONE ? runtime + L->runtime.gil : alloc(im, GIL_SPAN);
	unsigned nthreads = v == BASIC ? 1 : 3;
	int32_t tids[3] = { PID, PID + 1, PID + 2 };

	header(im, version, v, runtime, v == BASIC ? 1 : 3);
	task(im, tids[0], 'R', 0, 0);
	if (v != BASIC) {
		task(im, tids[1], 'S', 202 /* futex */, gil + L->gil.locked);
		task(im, tids[2], 'S', 230 /* clock_nanosleep */, 0);
	}

	/* _PyRuntime: the debug offsets, then the fields */
	if (blob)
		seg(im, runtime, blob, blob_len, 0);
	seg64(im, runtime + L->runtime.interpreters_head, interp, 0);

	uint64_t thread_ids[3];
	for (unsigned i = 0; i < 3; i++) {
		thread_ids[i] = 0x7f5300000700ull + 0x10000ull * i;
		if (L->tstate.native_thread_id == NONE) {
			/* <= 3.10: thread_id is glibc's struct pthread */
			unsigned char pt[2048] = { 0 };
			set32(pt, PTHREAD_TID, (uint32_t)tids[i]);
			set32(pt, 8, 0x55555555);
			seg(im, thread_ids[i], pt, sizeof(pt), 0);
		}
	}

	/* the GIL, held by the first thread */
	unsigned char g[GIL_SPAN] = { 0 };
	set32(g, L->gil.locked, 1);
	set64(g, L->gil.last_holder, ts[0]);
	set32(g, L->gil.enabled, 1);
	seg(im, gil, g, sizeof(g), 0);

	seg64(im, interp + L->interp.next, 0, 0);
	seg64(im, interp + L->interp.threads_head, ts[0], 0);
	if (L->interp.threads_main != NONE)
		seg64(im, interp + L->interp.threads_main, ts[0], 0);
	if (L->interp.ceval_gil != NONE)
		seg64(im, interp + L->interp.ceval_gil, gil, 0);
	if (L->interp.id != NONE)
		seg64(im, interp + L->interp.id, 0, 0);
	if (v != BASIC && L->interp.modules != NONE) {
		static const char *const names[] = { "MainThread", "worker-\xe9", "Thread-2 (sleeper)" };
		seg64(im, interp + L->interp.modules,
		      mk_modules(im, thread_ids, names, nthreads, v == HOSTILE), 0);
	}

	struct code codes[4] = {
		mk_code(im, "<module>", "/srv/app/main.py", 1, false),
		mk_code(im, "handle", "/srv/app/handlers.py", 120, false),
		mk_code(im, "compute", "/usr/lib/python3/dist-packages/numbers.py", 70000, true),
		mk_code(im, "run", "/srv/app/worker.py", 7, false),
	};
	uint64_t frames[3] = { mk_chain(im, codes, 3, v == BASIC ? 3 : 12, false), 0, 0 };
	/* the third thread's frames on a page of their own, unmapped later */
	im->next = (im->next + 4095) & ~4095ull;
	frames[2] = mk_chain(im, codes + 1, 3, 5, true);
	im->next = (im->next + 4095) & ~4095ull;

	for (unsigned i = 0; i < nthreads; i++) {
		unsigned char *t = xcalloc(ts_size);
		set64(t, L->tstate.prev, i ? ts[i - 1] : 0);
		set64(t, L->tstate.next, i + 1 < nthreads ? ts[i + 1] : 0);
		set64(t, L->tstate.interp, interp);
		set64(t, L->tstate.thread_id, thread_ids[i]);
		set64(t, L->tstate.native_thread_id, (uint64_t)tids[i]);
		if (L->tstate.cframe_current_frame != NONE) {
			/* 3.11-3.12: tstate->cframe->current_frame */
			unsigned char cf[64] = { 0 };
			set64(cf, L->tstate.cframe_current_frame, frames[i]);
			uint64_t cframe = alloc(im, sizeof(cf));
			seg(im, cframe, cf, sizeof(cf), 0);
			set64(t, L->tstate.frame, cframe);
		} else {
			set64(t, L->tstate.frame, frames[i]);
		}
		seg(im, ts[i], t, ts_size, 0);
		free(t);
	}

	if (v != BASIC) {
		/* round 1: the code of "handle" gets a new name; round 2: the
		 * third thread's frames go away and the first thread's innermost
		 * frame points back at itself */
		uint64_t renamed = mk_str(im, "handle_request", false, 1);
		seg64(im, codes[1].addr + L->code.name, renamed, 1);
		unmap(im, frames[2], 8, 2);
		seg64(im, frames[0] + L->frame.previous, frames[0], 2);
	}
}

static int write_seed(const char *dir, const char *tag, const struct img *im)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, tag);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(im->buf, 1, im->len, f) != im->len || fclose(f) != 0) {
		fprintf(stderr, "walker_seeds: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int emit(const char *dir, const char *name, const struct ftp_layout *L, uint8_t version,
                const void *blob, size_t blob_len)
{
	static const char *const tags[] = { "basic", "full", "hostile" };
	for (int v = BASIC; v <= HOSTILE; v++) {
		struct img im;
		char tag[256];
		build(&im, L, version, blob, blob_len, (enum variant)v);
		snprintf(tag, sizeof(tag), "%s-%s", name, tags[v]);
		int ret = write_seed(dir, tag, &im);
		free(im.buf);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: walker_seeds OUTDIR [BLOB...]\n");
		return 64;
	}
	for (unsigned minor = 8; minor <= 12; minor++) {
		struct ftp_layout L;
		char name[32];
		if (ftp_layout_builtin(&L, 0x030000f0u | minor << 16, false, NULL) < 0)
			return 1;
		snprintf(name, sizeof(name), "3.%u", minor);
		if (emit(argv[1], name, &L, (uint8_t)(minor - 8), NULL, 0) < 0)
			return 1;
	}
	for (int i = 2; i < argc; i++) {
		unsigned char blob[FTP_DEBUG_OFFSETS_MAX];
		struct ftp_layout L;
		struct ftp_error err = { 0 };
		FILE *f = fopen(argv[i], "rb");
		size_t n = f ? fread(blob, 1, sizeof(blob), f) : 0;
		if (f)
			fclose(f);
		if (n != sizeof(blob) || ftp_layout_from_debug_offsets(&L, blob, n, &err) < 0) {
			fprintf(stderr, "walker_seeds: %s: not a usable _Py_DebugOffsets blob %s\n", argv[i],
			        err.msg);
			return 1;
		}
		const char *base = strrchr(argv[i], '/');
		if (emit(argv[1], base ? base + 1 : argv[i], &L, WALKER_VERSION_BLOB, blob, n) < 0)
			return 1;
	}
	return 0;
}
