/* SPDX-License-Identifier: MIT */
/* Gives back the pages of files this process has mapped to read (the ELF and
 * DWARF of the target's modules): they stay mapped, and a page read again
 * comes back from the page cache. A long run then holds what its last
 * stretch read, not every page it ever touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "process/process.h"

static bool listed(const char *path, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (paths[i] && strcmp(paths[i], path) == 0)
			return true;
	return false;
}

size_t probe_file_pages_drop(const char *const *paths, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 0;
	char *line = NULL;
	size_t line_cap = 0, dropped = 0;
	unsigned long long start = 0, end = 0, anon = 1;
	bool candidate = false;
	while (getline(&line, &line_cap, f) > 0) {
		unsigned long long s, e, off;
		char perms[5];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &s, &e, perms, &off, &name_at) >= 4) {
			char *name = name_at ? line + name_at : "";
			name[strcspn(name, "\n")] = '\0';
			start = s;
			end = e;
			anon = 1;
			/* private and not code: a file read as data */
			candidate = perms[3] == 'p' && perms[2] != 'x' && listed(name, paths, n);
			continue;
		}
		if (sscanf(line, "Anonymous: %llu", &anon) == 1)
			continue;
		/* VmFlags ends a mapping's entry. A page written (copied from
		 * the file) would be lost: only a mapping with none is given
		 * back. */
		if (strncmp(line, "VmFlags:", 8) != 0)
			continue;
		if (candidate && anon == 0 &&
		    madvise((void *)(uintptr_t)start, end - start, MADV_DONTNEED) == 0)
			dropped += end - start;
		candidate = false;
	}
	free(line);
	fclose(f);
	return dropped;
}
