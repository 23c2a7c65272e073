/* SPDX-License-Identifier: MIT */
/* The small helpers every module shares: the clock, array growth, hashing and
 * one hash index. Header-only, so that symbols/, probe/ and ui/ use the same
 * code without a library of its own below them. None of these allocate
 * except ftp_grow and ftp_hindex_reserve, which report -FTP_E_NOMEM. */
#ifndef FTPROF_UTIL_H
#define FTPROF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftprof/error.h"

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t ftp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Makes room for `need` elements of `size` bytes in *v, which holds *cap:
 * doubles from `first` (or from *cap) until need fits. On failure *v and
 * *cap are untouched and -FTP_E_NOMEM is returned. */
static inline int ftp_grow(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : first;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / size)
		return -FTP_E_NOMEM;
	void *p = realloc(*v, n * size);
	if (!p)
		return -FTP_E_NOMEM;
	*v = p;
	*cap = n;
	return 0;
}

/* The last component of a path ("" stays ""; NULL stays NULL). Lent from path. */
static inline const char *ftp_base_name(const char *path)
{
	if (!path)
		return NULL;
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* Combines v into the hash h. */
static inline uint64_t ftp_hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 31);
}

/* A hash of an address (aligned: its low three bits are dropped). */
static inline uint64_t ftp_hash_addr(uint64_t addr)
{
	addr >>= 3;
	addr ^= addr >> 29;
	addr *= 0xbf58476d1ce4e5b9ull;
	return addr ^ (addr >> 32);
}

/* Combines the string s into h (NULL hashes apart from ""). */
static inline uint64_t ftp_hash_str(uint64_t h, const char *s)
{
	if (!s)
		return ftp_hash_mix(h, 1);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return ftp_hash_mix(h, 2);
}

/* A hash index over entries kept elsewhere (an array the caller owns,
 * addressed by index): open addressing with linear probing, load factor below
 * one half, slots holding index + 1 (0: empty). The caller says how to hash
 * an entry and how to compare one with a key, so one index serves keys of
 * any kind. Entries are never removed one by one: clear the index, or
 * rebuild it with ftp_hindex_reserve after compacting the array. Zeroed is
 * empty; ftp_hindex_release frees it. */
struct ftp_hindex {
	uint32_t *slots;
	size_t cap; /* a power of two, or 0 */
};

/* Whether entry idx has the key; the hash of entry idx. ctx is the caller's. */
typedef bool ftp_hindex_same_fn(const void *ctx, uint32_t idx, const void *key);
typedef uint64_t ftp_hindex_hash_fn(const void *ctx, size_t idx);

/* The slot of key with hash h: the one holding an entry `same` accepts, or
 * the empty one where it would go (*slot == 0). The index must have room
 * (ftp_hindex_reserve) or a nonzero capacity with at least one empty slot. */
static inline uint32_t *ftp_hindex_find(const struct ftp_hindex *ix, uint64_t h, ftp_hindex_same_fn *same,
                                        const void *ctx, const void *key)
{
	size_t mask = ix->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask)
		if (!ix->slots[i] || same(ctx, ix->slots[i] - 1, key))
			return &ix->slots[i];
}

/* The entry index of key, or -1 when it is absent (or the index is empty). */
static inline long ftp_hindex_get(const struct ftp_hindex *ix, uint64_t h, ftp_hindex_same_fn *same,
                                  const void *ctx, const void *key)
{
	if (!ix->cap)
		return -1;
	uint32_t slot = *ftp_hindex_find(ix, h, same, ctx, key);
	return slot ? (long)slot - 1 : -1;
}

/* Makes room for one more entry beside the `count` there are (entries
 * 0..count-1, rehashed with hash_of when the index grows; first: the
 * capacity of a new index, a power of two). Returns 0 or -FTP_E_NOMEM,
 * leaving the index as it was. */
static inline int ftp_hindex_reserve(struct ftp_hindex *ix, size_t count, size_t first,
                                     ftp_hindex_hash_fn *hash_of, const void *ctx)
{
	if ((count + 1) * 2 <= ix->cap)
		return 0;
	size_t cap = ix->cap ? ix->cap * 2 : first;
	while ((count + 1) * 2 > cap)
		cap *= 2;
	if (count >= UINT32_MAX)
		return -FTP_E_NOMEM;
	uint32_t *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < count; i++) {
		size_t j = hash_of(ctx, i) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

/* Forgets every entry, keeping the capacity. */
static inline void ftp_hindex_clear(struct ftp_hindex *ix)
{
	if (ix->slots)
		memset(ix->slots, 0, ix->cap * sizeof(*ix->slots));
}

static inline void ftp_hindex_release(struct ftp_hindex *ix)
{
	free(ix->slots);
	ix->slots = NULL;
	ix->cap = 0;
}

#endif
