/* SPDX-License-Identifier: MIT */
/* ui/: a string table: each distinct string stored once, owned by the table,
 * and named by a small id that stays valid until the table is released. */
#ifndef FTPROF_STRTAB_H
#define FTPROF_STRTAB_H

#include <stddef.h>
#include <stdint.h>

#include "ftprof/util.h"

/* Id 0 is NULL (no string); the empty string has an id of its own. Zeroed
 * is empty; strtab_release frees it. */
struct strtab {
	char **strs; /* strs[id - 1] */
	uint64_t *hashes;
	size_t n, cap, hashes_cap;
	struct ftp_hindex index;
};

/* The id of s (NULL: 0), copying s the first time it is seen. Returns 0 and
 * sets *id, or -FTP_E_NOMEM with the table unchanged. */
int strtab_intern(struct strtab *t, const char *s, uint32_t *id);

/* The string of id (NULL for 0), owned by the table until strtab_release. */
static inline const char *strtab_str(const struct strtab *t, uint32_t id)
{
	return id ? t->strs[id - 1] : NULL;
}

void strtab_release(struct strtab *t);

#endif
