/* SPDX-License-Identifier: MIT */
/* Run-time addresses to functions and modules, with symbols/'s symbolizer on
 * each module's ELF. A cache of addresses and one of names: a stack's
 * addresses repeat from round to round, and each name is kept once. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/util.h"
#include "native/native.h"

struct sym_entry {
	uint64_t addr; /* the address looked up */
	struct native_sym pub;
};

struct native_symbolizer {
	struct native_modules *mods;
	struct sym_entry *syms; /* resolved addresses, indexed by addr */
	size_t nsyms, syms_cap;
	struct ftp_hindex syms_ix;
	char **strs; /* interned strings, indexed by content */
	size_t nstrs, strs_cap;
	struct ftp_hindex strs_ix;
};

/* A name to intern: its first len bytes. */
struct str_key {
	const char *s;
	size_t len;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
	return h;
}

static bool str_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct native_symbolizer *sz = ctx;
	const struct str_key *k = key;
	const char *s = sz->strs[idx];
	return strncmp(s, k->s, k->len) == 0 && s[k->len] == '\0';
}

static uint64_t str_hash_of(const void *ctx, size_t idx)
{
	const struct native_symbolizer *sz = ctx;
	return hash_bytes(sz->strs[idx], strlen(sz->strs[idx]));
}

/* A copy of the first len bytes of s that lives as long as the symbolizer;
 * NULL when s is NULL or memory runs out. */
static const char *intern(struct native_symbolizer *sz, const char *s, size_t len)
{
	if (!s)
		return NULL;
	struct str_key k = { s, len };
	uint64_t h = hash_bytes(s, len);
	long i = ftp_hindex_get(&sz->strs_ix, h, str_same, sz, &k);
	if (i >= 0)
		return sz->strs[i];
	if (ftp_hindex_reserve(&sz->strs_ix, sz->nstrs, 256, str_hash_of, sz) < 0 ||
	    ftp_grow((void **)&sz->strs, &sz->strs_cap, sz->nstrs + 1, sizeof(*sz->strs), 256) < 0)
		return NULL;
	char *copy = strndup(s, len);
	if (!copy)
		return NULL;
	*ftp_hindex_find(&sz->strs_ix, h, str_same, sz, &k) = (uint32_t)sz->nstrs + 1;
	sz->strs[sz->nstrs++] = copy;
	return copy;
}

static bool sym_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct native_symbolizer *sz = ctx;
	return sz->syms[idx].addr == *(const uint64_t *)key;
}

static uint64_t sym_hash_of(const void *ctx, size_t idx)
{
	const struct native_symbolizer *sz = ctx;
	return ftp_hash_mix(0, sz->syms[idx].addr);
}

/* The interpreter's frame evaluator, which runs one group of Python frames
 * per call in every version from 3.8 to 3.15. gcc's .cold part of it (3.11,
 * 3.12) is the same call, not a callee. PyEval_EvalFrameEx (3.8) and the
 * other wrappers only forward to it and are kept as native frames. */
static bool is_eval_symbol(const char *name)
{
	static const char eval[] = "_PyEval_EvalFrameDefault";
	if (!name || strncmp(name, eval, sizeof(eval) - 1) != 0)
		return false;
	name += sizeof(eval) - 1;
	return !*name || strcmp(name, ".cold") == 0;
}

static void resolve(struct native_symbolizer *sz, uint64_t addr, struct native_sym *out)
{
	memset(out, 0, sizeof(*out));
	const struct native_module *m = native_modules_find(sz->mods, addr);
	if (!m)
		return;
	out->object = intern(sz, m->name, strlen(m->name));
	struct ftp_elf_func f;
	if (!m->elf || ftp_elf_addr_symbol(m->elf, addr - m->bias, &f) < 0)
		return;
	out->symbol = intern(sz, f.name, f.name_len);
	out->start = f.start + m->bias;
	out->is_eval = is_eval_symbol(out->symbol);
}

const struct native_sym *native_symbolize(struct native_symbolizer *sz, uint64_t addr)
{
	uint64_t h = ftp_hash_mix(0, addr); /* code addresses are not aligned */
	long i = ftp_hindex_get(&sz->syms_ix, h, sym_same, sz, &addr);
	if (i >= 0)
		return &sz->syms[i].pub;
	if (ftp_hindex_reserve(&sz->syms_ix, sz->nsyms, 1024, sym_hash_of, sz) < 0 ||
	    ftp_grow((void **)&sz->syms, &sz->syms_cap, sz->nsyms + 1, sizeof(*sz->syms), 1024) < 0)
		return NULL;
	struct sym_entry *e = &sz->syms[sz->nsyms];
	e->addr = addr;
	resolve(sz, addr, &e->pub);
	*ftp_hindex_find(&sz->syms_ix, h, sym_same, sz, &addr) = (uint32_t)sz->nsyms + 1;
	sz->nsyms++;
	return &e->pub;
}

struct native_symbolizer *native_symbolizer_create(struct native_modules *mods)
{
	struct native_symbolizer *sz = calloc(1, sizeof(*sz));
	if (sz)
		sz->mods = mods;
	return sz;
}

/* Addresses kept across a trim: past this the cache starts again (each
 * address is resolved again on its next use, from the symbol tables). */
#define SYMS_KEEP 4096u

void native_symbolizer_trim(struct native_symbolizer *sz)
{
	if (!sz || sz->nsyms <= SYMS_KEEP)
		return;
	free(sz->syms);
	sz->syms = NULL;
	sz->nsyms = sz->syms_cap = 0;
	ftp_hindex_release(&sz->syms_ix);
}

void native_symbolizer_destroy(struct native_symbolizer *sz)
{
	if (!sz)
		return;
	for (size_t i = 0; i < sz->nstrs; i++)
		free(sz->strs[i]);
	free(sz->strs);
	ftp_hindex_release(&sz->strs_ix);
	free(sz->syms);
	ftp_hindex_release(&sz->syms_ix);
	free(sz);
}
