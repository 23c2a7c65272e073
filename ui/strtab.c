/* SPDX-License-Identifier: MIT */
/* The string table: strings copied once, looked up by content through one
 * ftp_hindex over their array. */
#include <string.h>

#include "strtab.h"

static uint64_t str_hash(const char *s)
{
	return ftp_hash_str(0, s);
}

static uint64_t hash_of(const void *ctx, size_t idx)
{
	const struct strtab *t = ctx;
	return t->hashes[idx];
}

static bool same(const void *ctx, uint32_t idx, const void *key)
{
	const struct strtab *t = ctx;
	return strcmp(t->strs[idx], key) == 0;
}

int strtab_intern(struct strtab *t, const char *s, uint32_t *id)
{
	if (!s) {
		*id = 0;
		return 0;
	}
	uint64_t h = str_hash(s);
	if (ftp_hindex_reserve(&t->index, t->n, 256, hash_of, t) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&t->index, h, same, t, s);
	if (*slot) {
		*id = *slot;
		return 0;
	}
	if (ftp_grow((void **)&t->strs, &t->cap, t->n + 1, sizeof(*t->strs), 64) < 0 ||
	    ftp_grow((void **)&t->hashes, &t->hashes_cap, t->n + 1, sizeof(*t->hashes), 64) < 0)
		return -FTP_E_NOMEM;
	char *copy = strdup(s);
	if (!copy)
		return -FTP_E_NOMEM;
	t->strs[t->n] = copy;
	t->hashes[t->n] = h;
	*slot = (uint32_t)++t->n; /* slots hold index + 1: the id */
	*id = *slot;
	return 0;
}

void strtab_release(struct strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->hashes);
	ftp_hindex_release(&t->index);
	memset(t, 0, sizeof(*t));
}
