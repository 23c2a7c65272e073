/* SPDX-License-Identifier: MIT */
/* Thread names from the threading module: interp->modules["threading"] is a
 * module whose dict holds _active, a dict from each thread's ident (an int
 * equal to tstate->thread_id) to its Thread object, whose _name attribute is
 * the name. Dicts are read by a bounded linear scan of their entries: no hash
 * function is needed, and one scan copes with every table layout of 3.8-3.15. */
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

#define MAX_ENTRIES 4096           /* dict entries scanned, threads named per refresh */
#define MAX_STR_CMP 4096           /* keys compared by content per refresh */
#define MAX_VISITS (1u << 18)      /* dict entries read per refresh, all dicts together */
#define MAX_LOG2_SIZE 24           /* no dict read here has 16M slots */
#define MAX_BASICSIZE 4096         /* a Thread's tp_basicsize is 16-32 */
#define MAX_INTERPS 8              /* interpreters whose lookups are remembered */
#define MAX_GUARDS 8               /* words that pin where a Thread's _name is (6 used) */
#define RECHECK_NS 2000000000ull   /* a cached name is read in full at least this often */
#define RECHECK_SPREAD 16          /* new entries' first full reads spread over as many steps */
#define NAME_MAX_LEN 128           /* bytes of a name kept, its NUL included */
#define NAMES_EVERY_NS 200000000u  /* names re-read every 200 ms */
#define NAMES_MISSING_NS 10000000u /* or after 10 ms when a thread had none */

/* Type flags (Include/object.h) */
#define TPFLAGS_INLINE_VALUES (1u << 2) /* 3.13+ */
#define TPFLAGS_MANAGED_DICT (1u << 4)  /* 3.11+ */
#define TPFLAGS_HEAPTYPE (1u << 9)

/* The minor: how the reads below use the offsets of struct ftp_layout. */
struct names_fmt {
	unsigned minor;
};

/* Where a failed search of a combined dict stopped. Entries are appended, so
 * while the keys object stays, a key added later sits at index >= scanned. */
struct scan_memo {
	uint64_t keys;
	uint64_t scanned;
};

/* What one _active entry held at its last full read. The name stays valid
 * while every guard word still holds its value: they are the words the lookup
 * went through (the object's type, its dict or values pointers, the slot
 * holding the _name str), so a rename, a new dict or another object at the
 * address shows as a changed word. A str freed and another allocated at the
 * same address with the same Thread would not: hence the periodic full read. */
struct name_entry {
	uint64_t key, obj; /* the ident int and the Thread object */
	uint64_t thread_id;
	uint64_t checked; /* CLOCK_MONOTONIC ns of the last full read */
	uint64_t guard_addr[MAX_GUARDS], guard_val[MAX_GUARDS];
	unsigned nguards;
	bool ok; /* name is valid; failures are not cached */
	char name[NAME_MAX_LEN];
};

struct interp_cache {
	uint64_t interp;
	uint64_t round;     /* last use, for replacement */
	uint64_t tmod_dict; /* the threading module's dict, once found */
	uint64_t active;    /* threading._active, once found */
	uint64_t name_key;  /* the interned "_name", as seen in Thread dicts */
	struct scan_memo modules_memo, tmod_memo;
	struct name_entry *ents; /* by index in _active's entries */
	size_t nents;
	uint64_t ents_keys; /* _active's keys object the indices refer to */
};

struct thread_name {
	uint64_t thread_id;
	char name[NAME_MAX_LEN];
};

struct probe_names {
	struct thread_name *names; /* by thread_id */
	size_t nnames;
	size_t cap;   /* of names */
	uint64_t at;  /* CLOCK_MONOTONIC of the last refresh */
	bool missing; /* a thread of the round had no name */
	bool usable;  /* the layout has what the reads need (fmt_init) */
	struct names_fmt f;
	uint64_t long_type;   /* &PyLong_Type, 0 if unknown */
	uint64_t module_type; /* &PyModule_Type, 0 if unknown */
	struct interp_cache interps[MAX_INTERPS];
	unsigned cmp_left;    /* content comparisons left in this refresh */
	unsigned visits_left; /* entry reads left in this refresh */
	bool hint_checked;    /* the interp's name_key was checked this refresh */
};

/* The entries of one dict, or of a keys object and a values array. */
struct dict_view {
	uint64_t keys;
	uint64_t entries; /* entry 0 */
	uint64_t values;  /* split table: values[0]; 0 for a combined table */
	uint64_t n;       /* entries to scan */
	uint32_t esize, key_off, value_off;
};

/* A plausible object address: aligned, in the user half. */
static bool ptr_ok(uint64_t addr)
{
	return addr >= 4096 && !(addr & 7) && addr < (1ull << 57);
}

#define KNOWN(x) ((x) != FTP_OFF_NONE)

static bool fmt_init(const struct ftp_layout *L, struct names_fmt *f)
{
	unsigned minor = (L->version >> 16) & 0xff;
	if ((L->version >> 24) != 3 || minor < 8 || !KNOWN(L->object.ob_type) || !KNOWN(L->object.tp_flags) ||
	    !KNOWN(L->object.tp_dictoffset) || !KNOWN(L->dict.ma_keys) || !KNOWN(L->dict.ma_values) ||
	    L->dict.ma_keys > 64 || L->dict.ma_values > 64 || !KNOWN(L->interp.modules) ||
	    !KNOWN(L->module.md_dict) || L->unicode.ascii_size > 64 ||
	    L->unicode.length + 8 > L->unicode.ascii_size || L->unicode.state + 4 > L->unicode.ascii_size ||
	    !KNOWN(L->pylong.lv_tag) || !KNOWN(L->pylong.ob_digit) ||
	    L->pylong.lv_tag + 8 > FTP_LAYOUT_LONG_SPAN || !KNOWN(L->dict_keys.dk_nentries) ||
	    !KNOWN(L->dict_keys.dk_indices) || !KNOWN(L->dict_entry.size))
		return false;
	/* what each version's reads below take for granted (ftp_layout_check
	 * has kept them inside their spans) */
	if (minor <= 10 ? !KNOWN(L->dict_keys.dk_size)
	                : !KNOWN(L->dict_keys.dk_log2_size) || !KNOWN(L->dict_keys.dk_log2_index_bytes) ||
	                          !KNOWN(L->dict_keys.dk_kind) || !KNOWN(L->dict_uentry.size) ||
	                          !KNOWN(L->dict_values.values) || !KNOWN(L->object.ht_cached_keys) ||
	                          !KNOWN(L->object.managed_dict_before))
		return false;
	if ((minor == 11 && !KNOWN(L->object.managed_values_before)) ||
	    (minor >= 13 && (!KNOWN(L->object.tp_basicsize) || !KNOWN(L->dict_values.capacity) ||
	                     !KNOWN(L->dict_values.valid))))
		return false;
	f->minor = minor;
	return true;
}

static uint64_t symbol_addr(struct ftp_probe *p, const char *name)
{
	uint64_t addr;
	return p->elf && ftp_elf_symbol(p->elf, name, &addr, NULL) == 0 ? addr + p->bias : 0;
}

void probe_names_destroy(struct probe_names *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < MAX_INTERPS; i++)
		free(st->interps[i].ents);
	free(st->names);
	free(st);
}

/* p->names, made on first use (NULL when out of memory). A layout that lacks
 * what the reads need leaves it unusable: no thread is named. */
static struct probe_names *get(struct ftp_probe *p)
{
	if (p->names)
		return p->names;
	struct probe_names *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->usable = fmt_init(&p->L, &st->f);
	if (st->usable) {
		st->long_type = symbol_addr(p, "PyLong_Type");
		st->module_type = symbol_addr(p, "PyModule_Type");
	}
	p->names = st;
	return st;
}

static struct interp_cache *interp_get(struct probe_names *st, uint64_t interp, uint64_t round)
{
	struct interp_cache *victim = &st->interps[0];
	for (size_t i = 0; i < MAX_INTERPS; i++) {
		struct interp_cache *ic = &st->interps[i];
		if (ic->interp == interp) {
			ic->round = round;
			return ic;
		}
		if (ic->round < victim->round)
			victim = ic;
	}
	free(victim->ents);
	memset(victim, 0, sizeof(*victim));
	victim->interp = interp;
	victim->round = round;
	return victim;
}

/* Reads the header of a keys object; fills everything but values. */
static bool keys_view(const struct probe_reader *r, const struct names_fmt *f, uint64_t keys,
                      struct dict_view *v)
{
	const struct ftp_layout *L = r->L;
	unsigned char h[FTP_LAYOUT_KEYS_SPAN];
	memset(v, 0, sizeof(*v));
	if (!ptr_ok(keys) || probe_mem_read(r->mem, keys, h, sizeof(h), NULL) < 0)
		return false;
	uint64_t size, nentries = probe_load_u64(h, L->dict_keys.dk_nentries), index_bytes;
	bool unicode_entries = false;
	v->keys = keys;
	if (f->minor <= 10) {
		/* 3.8-3.10: dk_indices[dk_size] of 1, 2 or 4 bytes, then
		 * PyDictKeyEntry. */
		size = probe_load_u64(h, L->dict_keys.dk_size);
		if (size < 8 || size > (1ull << MAX_LOG2_SIZE) || (size & (size - 1)))
			return false;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
	} else {
		/* 3.11+: sizes as powers of two; dk_kind 0 (DICT_KEYS_GENERAL)
		 * has PyDictKeyEntry, UNICODE and SPLIT PyDictUnicodeEntry. */
		unsigned log2 = h[L->dict_keys.dk_log2_size],
		         log2_index = h[L->dict_keys.dk_log2_index_bytes];
		unsigned kind = h[L->dict_keys.dk_kind], width = log2 < 8 ? 0 : log2 < 16 ? 1 : 2;
		if (log2 < 3 || log2 > MAX_LOG2_SIZE || log2_index != log2 + width || kind > 2)
			return false;
		size = 1ull << log2;
		index_bytes = 1ull << log2_index;
		unicode_entries = kind != 0;
	}
	v->entries = keys + L->dict_keys.dk_indices + index_bytes;
	v->esize = unicode_entries ? L->dict_uentry.size : L->dict_entry.size;
	v->key_off = unicode_entries ? L->dict_uentry.me_key : L->dict_entry.me_key;
	v->value_off = unicode_entries ? L->dict_uentry.me_value : L->dict_entry.me_value;
	if (nentries > size * 2 / 3) /* USABLE_FRACTION */
		return false;
	v->n = nentries < MAX_ENTRIES ? nentries : MAX_ENTRIES;
	return true;
}

/* Points v at the values array of a split table, and bounds the scan by its
 * capacity where the version records it. */
static bool view_set_values(const struct probe_reader *r, struct dict_view *v, uint64_t values)
{
	const struct ftp_layout *L = r->L;
	if (!ptr_ok(values))
		return false;
	if (KNOWN(L->dict_values.capacity)) {
		uint8_t capacity;
		if (probe_mem_read(r->mem, values + L->dict_values.capacity, &capacity, 1, NULL) < 0)
			return false;
		if (v->n > capacity)
			v->n = capacity;
	}
	/* <= 3.10: ma_values is the array itself */
	v->values = values + (KNOWN(L->dict_values.values) ? L->dict_values.values : 0);
	return true;
}

static bool dict_view(const struct probe_reader *r, const struct names_fmt *f, uint64_t dict,
                      struct dict_view *v)
{
	const struct ftp_layout *L = r->L;
	unsigned char h[80];
	uint32_t need = (L->dict.ma_keys > L->dict.ma_values ? L->dict.ma_keys : L->dict.ma_values) + 8;
	if (L->object.ob_type + 8 > need)
		need = L->object.ob_type + 8;
	if (!ptr_ok(dict) || need > sizeof(h) || probe_mem_read(r->mem, dict, h, need, NULL) < 0)
		return false;
	uint64_t type = probe_load_u64(h, L->object.ob_type);
	if (r->dict_type ? type != r->dict_type : !ptr_ok(type))
		return false;
	if (!keys_view(r, f, probe_load_u64(h, L->dict.ma_keys), v))
		return false;
	uint64_t values = probe_load_u64(h, L->dict.ma_values);
	return !values || view_set_values(r, v, values);
}

static uint64_t value_addr(const struct dict_view *v, uint64_t i)
{
	return v->values ? v->values + 8 * i : v->entries + i * v->esize + v->value_off;
}

static bool view_entry(const struct probe_reader *r, struct probe_names *st, const struct dict_view *v,
                       uint64_t i, uint64_t *key, uint64_t *value)
{
	if (!st->visits_left)
		return false;
	st->visits_left--;
	/* Word by word: a word never straddles two cache blocks. */
	return probe_mem_u64(r->mem, v->entries + i * v->esize + v->key_off, key) == 0 &&
	       probe_mem_u64(r->mem, value_addr(v, i), value) == 0;
}

/* Whether the object at addr is the str `want` (ASCII, short). */
static bool str_is(const struct probe_reader *r, struct probe_names *st, uint64_t addr, const char *want)
{
	const struct ftp_layout *L = r->L;
	unsigned char buf[128];
	size_t len = strlen(want);
	size_t need = L->unicode.ascii_size + len;
	if (!st->cmp_left || !ptr_ok(addr) || need > sizeof(buf))
		return false;
	st->cmp_left--;
	/* The header first: a shorter str may end where the mapping does. */
	if (probe_mem_read(r->mem, addr, buf, L->unicode.ascii_size, NULL) < 0)
		return false;
	if (r->str_type && probe_load_u64(buf, L->object.ob_type) != r->str_type)
		return false;
	uint32_t state = probe_load_u32(buf, L->unicode.state);
	if (probe_load_u64(buf, L->unicode.length) != len || !((state >> L->unicode.compact_bit) & 1) ||
	    !((state >> L->unicode.ascii_bit) & 1))
		return false;
	if (probe_mem_read(r->mem, addr + L->unicode.ascii_size, buf, len, NULL) < 0)
		return false;
	return memcmp(buf, want, len) == 0;
}

/* The value of key `want` in v, or 0; *slot, when given, gets the address
 * of the word holding it. *hint, when non-zero, is a str known to be `want`
 * (keys are usually the one interned copy) and is tried first by address; a
 * match by content updates it. memo, when given, skips what a previous failed
 * search of the same keys has compared already. */
static uint64_t view_find(const struct probe_reader *r, struct probe_names *st, const struct dict_view *v,
                          const char *want, uint64_t *hint, struct scan_memo *memo, uint64_t *slot)
{
	uint64_t key, value;
	if (hint && *hint) {
		for (uint64_t i = 0; i < v->n; i++) {
			if (!view_entry(r, st, v, i, &key, &value))
				return 0;
			if (key == *hint && value) {
				if (slot)
					*slot = value_addr(v, i);
				return value;
			}
		}
	}
	uint64_t i = memo && memo->keys == v->keys && memo->scanned <= v->n ? memo->scanned : 0;
	for (; i < v->n && st->cmp_left; i++) {
		if (!view_entry(r, st, v, i, &key, &value))
			return 0;
		if (!key || !value || (hint && key == *hint) || !str_is(r, st, key, want))
			continue;
		if (hint)
			*hint = key;
		if (slot)
			*slot = value_addr(v, i);
		return value;
	}
	if (memo) {
		memo->keys = v->keys;
		memo->scanned = i;
	}
	return 0;
}

/* A thread ident: a non-negative int of at most 64 bits. */
static bool read_ident(const struct probe_reader *r, const struct probe_names *st, uint64_t addr,
                       uint64_t *out)
{
	const struct names_fmt *f = &st->f;
	const struct ftp_layout *L = r->L;
	unsigned char h[FTP_LAYOUT_LONG_SPAN];
	uint32_t digits[3];
	uint64_t n;
	if (!ptr_ok(addr) || probe_mem_read(r->mem, addr, h, L->pylong.lv_tag + 8, NULL) < 0)
		return false;
	if (st->long_type && probe_load_u64(h, r->L->object.ob_type) != st->long_type)
		return false;
	if (f->minor >= 12) {
		/* 3.12+: lv_tag = ndigits << 3 | sign (0 positive, 1 zero, 2 negative) */
		uint64_t tag = probe_load_u64(h, L->pylong.lv_tag);
		if ((tag & 3) == 1) {
			*out = 0;
			return true;
		}
		if (tag & 3)
			return false;
		n = tag >> 3;
	} else {
		/* <= 3.11: ob_size, -ndigits if negative */
		int64_t size = (int64_t)probe_load_u64(h, L->pylong.lv_tag);
		if (size < 0)
			return false;
		n = (uint64_t)size;
	}
	if (n > 3 || (n && probe_mem_read(r->mem, addr + L->pylong.ob_digit, digits, n * 4, NULL) < 0))
		return false;
	uint64_t v = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (digits[i] >> 30 || (i == 2 && digits[i] >> 4)) /* 30-bit digits */
			return false;
		v |= (uint64_t)digits[i] << (30 * i);
	}
	*out = v;
	return true;
}

/* Reads the word at addr and records it as a guard of e. */
static bool guarded(const struct probe_reader *r, struct name_entry *e, uint64_t addr, uint64_t *val)
{
	if (e->nguards == MAX_GUARDS || probe_mem_u64(r->mem, addr, val) < 0)
		return false;
	e->guard_addr[e->nguards] = addr;
	e->guard_val[e->nguards++] = *val;
	return true;
}

/* Looks `_name` up in a dict whose pointer is at ptr_addr. */
static uint64_t name_in_dict(const struct probe_reader *r, struct probe_names *st, struct interp_cache *ic,
                             struct name_entry *e, uint64_t ptr_addr, uint64_t *slot)
{
	const struct ftp_layout *L = r->L;
	struct dict_view v;
	uint64_t dict, w;
	if (!guarded(r, e, ptr_addr, &dict) || !dict_view(r, &st->f, dict, &v) ||
	    !guarded(r, e, dict + L->dict.ma_keys, &w) || !guarded(r, e, dict + L->dict.ma_values, &w))
		return 0;
	return view_find(r, st, &v, "_name", &ic->name_key, NULL, slot);
}

/* The _name str of a Thread object, or 0. Fills e's guards. */
static uint64_t thread_name_str(const struct probe_reader *r, struct probe_names *st, struct interp_cache *ic,
                                struct name_entry *e, uint64_t obj)
{
	const struct names_fmt *f = &st->f;
	const struct ftp_layout *L = r->L;
	struct dict_view v;
	uint64_t type, flags, values = 0, keys, str = 0, slot = 0;
	uint64_t dict_at = 0; /* address of the word pointing at the instance dict */
	uint8_t capacity = 0xff;
	e->nguards = 0;
	if (!st->hint_checked) {
		/* Matching keys by address trusts that the str is still "_name". */
		if (ic->name_key && !str_is(r, st, ic->name_key, "_name"))
			ic->name_key = 0;
		st->hint_checked = true;
	}
	if (!ptr_ok(obj) || !guarded(r, e, obj + r->L->object.ob_type, &type) || !ptr_ok(type) ||
	    probe_mem_u64(r->mem, type + L->object.tp_flags, &flags) < 0 || !(flags & TPFLAGS_HEAPTYPE))
		return 0;
	if (f->minor >= 11 && (flags & TPFLAGS_MANAGED_DICT)) {
		if (f->minor >= 13 && (flags & TPFLAGS_INLINE_VALUES)) {
			/* 3.13+: PyDictValues right after the object, unless a
			 * dict took them over (valid = 0). */
			uint64_t bs, hdr;
			if (probe_mem_u64(r->mem, type + L->object.tp_basicsize, &bs) == 0 && bs > 0 &&
			    bs <= MAX_BASICSIZE && !(bs & 7) && guarded(r, e, obj + bs, &hdr) &&
			    ((hdr >> (8 * L->dict_values.valid)) & 0xff)) {
				values = obj + bs + L->dict_values.values;
				capacity = (hdr >> (8 * L->dict_values.capacity)) & 0xff;
			}
		} else if (f->minor == 11) {
			/* 3.11: a values pointer, and a dict pointer after it */
			if (!guarded(r, e, obj - L->object.managed_values_before, &values))
				values = 0;
		} else if (f->minor == 12) {
			/* 3.12: one word, tagged: values - 1, or the dict */
			uint64_t dorv;
			if (guarded(r, e, obj - L->object.managed_dict_before, &dorv) && (dorv & 1))
				values = dorv + 1;
		}
		if (values && probe_mem_u64(r->mem, type + L->object.ht_cached_keys, &keys) == 0 &&
		    keys_view(r, f, keys, &v) && ptr_ok(values)) {
			/* The type's shared keys index the values. */
			v.values = values;
			if (v.n > capacity)
				v.n = capacity;
			str = view_find(r, st, &v, "_name", &ic->name_key, NULL, &slot);
		}
		if (!(f->minor == 12 && values))
			dict_at = obj - L->object.managed_dict_before;
	} else {
		/* <= 3.10, or a type without a managed dict: tp_dictoffset */
		uint64_t off;
		if (probe_mem_u64(r->mem, type + L->object.tp_dictoffset, &off) == 0 && (int64_t)off > 0 &&
		    off <= MAX_BASICSIZE && !(off & 7))
			dict_at = obj + off;
	}
	if (!str && dict_at)
		str = name_in_dict(r, st, ic, e, dict_at, &slot);
	return str && guarded(r, e, slot, &str) ? str : 0;
}

/* threading._active of the interpreter, or 0 while threading is not
 * imported. Remembered: later rounds only check it is still a dict. */
static uint64_t find_active(const struct probe_reader *r, struct probe_names *st, struct interp_cache *ic)
{
	const struct names_fmt *f = &st->f;
	struct dict_view v;
	uint64_t type;
	if (ic->active) {
		if (probe_mem_u64(r->mem, ic->active + r->L->object.ob_type, &type) == 0 &&
		    (r->dict_type ? type == r->dict_type : ptr_ok(type)))
			return ic->active;
		ic->active = 0;
		ic->tmod_dict = 0;
	}
	if (!ic->tmod_dict) {
		uint64_t modules, mod, md;
		if (probe_mem_u64(r->mem, ic->interp + r->L->interp.modules, &modules) < 0 ||
		    !dict_view(r, f, modules, &v))
			return 0;
		mod = view_find(r, st, &v, "threading", NULL, &ic->modules_memo, NULL);
		if (!mod || !ptr_ok(mod) ||
		    (st->module_type && (probe_mem_u64(r->mem, mod + r->L->object.ob_type, &type) < 0 ||
		                         type != st->module_type)) ||
		    probe_mem_u64(r->mem, mod + r->L->module.md_dict, &md) < 0)
			return 0;
		ic->tmod_dict = md;
		ic->tmod_memo.keys = 0;
	}
	if (!dict_view(r, f, ic->tmod_dict, &v)) {
		ic->tmod_dict = 0; /* threading went away; look again next time */
		return 0;
	}
	uint64_t active = view_find(r, st, &v, "_active", NULL, &ic->tmod_memo, NULL);
	if (!active || !dict_view(r, f, active, &v))
		return 0;
	ic->active = active;
	return active;
}

static int by_thread_id(const void *a, const void *b)
{
	uint64_t x = ((const struct thread_name *)a)->thread_id;
	uint64_t y = ((const struct thread_name *)b)->thread_id;
	return x < y ? -1 : x > y;
}

/* The quick check of a cached name: every guard word unchanged. */
static bool entry_valid(const struct probe_reader *r, const struct name_entry *e)
{
	uint64_t w;
	for (unsigned i = 0; i < e->nguards; i++)
		if (probe_mem_u64(r->mem, e->guard_addr[i], &w) < 0 || w != e->guard_val[i])
			return false;
	return true;
}

/* Makes room for n entries of _active's keys object `keys`; a new keys object
 * (the dict was resized) renumbers the entries and drops the cache. */
static bool ents_reserve(struct interp_cache *ic, uint64_t keys, size_t n)
{
	if (ic->ents_keys != keys) {
		if (ic->nents)
			memset(ic->ents, 0, ic->nents * sizeof(*ic->ents));
		ic->ents_keys = keys;
	}
	if (ic->nents < n) {
		struct name_entry *ents = realloc(ic->ents, n * sizeof(*ents));
		if (!ents)
			return false;
		memset(ents + ic->nents, 0, (n - ic->nents) * sizeof(*ents));
		ic->ents = ents;
		ic->nents = n;
	}
	return true;
}

static bool names_reserve(struct probe_names *st, size_t n)
{
	if (st->cap < n) {
		struct thread_name *names = realloc(st->names, n * sizeof(*names));
		if (!names)
			return false;
		st->names = names;
		st->cap = n;
	}
	return true;
}

/* Whether the names are due for a re-read. They change rarely: with a
 * single interpreter they are re-read every NAMES_EVERY_NS, or sooner when a
 * thread had none; with several, every round. */
static bool due(struct probe_names *st, bool single)
{
	uint64_t now = ftp_now_ns();
	if (!single || !st->at || now - st->at >= NAMES_EVERY_NS ||
	    (st->missing && now - st->at >= NAMES_MISSING_NS)) {
		st->at = now;
		st->missing = false;
		return true;
	}
	return false;
}

void probe_names_refresh(struct ftp_probe *p, uint64_t interp, bool single)
{
	struct probe_names *st = get(p);
	if (!st || !due(st, single))
		return;
	st->nnames = 0;
	if (!st->usable || !ptr_ok(interp))
		return;
	const struct probe_reader rd = probe_reader_get(p), *r = &rd;
	st->cmp_left = MAX_STR_CMP;
	st->visits_left = MAX_VISITS;
	st->hint_checked = false;
	uint64_t round = p->round, now = ftp_now_ns();
	struct interp_cache *ic = interp_get(st, interp, round);
	struct dict_view v;
	uint64_t active = find_active(r, st, ic);
	if (!active || !dict_view(r, &st->f, active, &v) || !ents_reserve(ic, v.keys, v.n) ||
	    !names_reserve(st, v.n))
		return;
	for (uint64_t i = 0; i < v.n; i++) {
		struct name_entry *e = &ic->ents[i];
		uint64_t key, thread;
		if (!view_entry(r, st, &v, i, &key, &thread))
			break;
		bool same = e->ok && e->key == key && e->obj == thread;
		if (!same || now - e->checked >= RECHECK_NS || !entry_valid(r, e)) {
			e->ok = false;
			e->key = key;
			e->obj = thread;
			uint64_t str;
			if (!key || !thread || !read_ident(r, st, key, &e->thread_id) ||
			    !(str = thread_name_str(r, st, ic, e, thread)) ||
			    probe_read_str(r, str, e->name, sizeof(e->name)) < 0)
				continue;
			e->ok = true;
			/* A new entry's first full re-read comes sooner, so that
			 * many threads do not all come due in the same round. */
			e->checked = same ? now : now - i % RECHECK_SPREAD * (RECHECK_NS / RECHECK_SPREAD);
		}
		struct thread_name *tn = &st->names[st->nnames++];
		tn->thread_id = e->thread_id;
		memcpy(tn->name, e->name, sizeof(tn->name));
	}
	if (st->nnames > 1)
		qsort(st->names, st->nnames, sizeof(*st->names), by_thread_id);
}

const char *probe_names_get(struct ftp_probe *p, uint64_t thread_id)
{
	struct probe_names *st = p->names;
	struct thread_name key = { .thread_id = thread_id };
	const struct thread_name *tn = NULL;
	if (!st)
		return NULL;
	if (st->nnames)
		tn = bsearch(&key, st->names, st->nnames, sizeof(*st->names), by_thread_id);
	if (!tn)
		st->missing = true;
	return tn ? tn->name : NULL;
}
