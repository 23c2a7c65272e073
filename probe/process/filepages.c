/* SPDX-License-Identifier: MIT */
/* Gives back the pages of files this process has mapped to read (the ELF and
 * DWARF of the target's modules): they stay mapped, and a page read again
 * comes back from the page cache. A long run then holds what its last
 * stretch read, not every page it ever touched. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "process/process.h"

#define PM_PRESENT (1ull << 63)
#define PM_FILE (1ull << 61) /* a file page (or shared anonymous) */
#define PM_CHUNK 512         /* pagemap entries read at once */

static bool listed(const char *path, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (paths[i] && strcmp(paths[i], path) == 0)
			return true;
	return false;
}

/* Gives back [start, end) but its pages written since they were mapped
 * (present, and no longer the file's: a private copy, whose change would be
 * lost), by /proc/self/pagemap. Returns the bytes given back. */
static size_t drop_unwritten(int pagemap, uint64_t start, uint64_t end, uint64_t page)
{
	uint64_t entries[PM_CHUNK];
	uint64_t run = start; /* the start of the run of pages to give back */
	size_t dropped = 0;
	for (uint64_t at = start; at < end;) {
		size_t n = (size_t)((end - at) / page < PM_CHUNK ? (end - at) / page : PM_CHUNK);
		ssize_t got = pread(pagemap, entries, n * sizeof(entries[0]),
		                    (off_t)(at / page * sizeof(entries[0])));
		if (got < (ssize_t)sizeof(entries[0]))
			return dropped; /* unknown: keep the rest */
		n = (size_t)got / sizeof(entries[0]);
		for (size_t i = 0; i < n; i++, at += page) {
			if ((entries[i] & PM_PRESENT) && !(entries[i] & PM_FILE)) {
				if (at > run && madvise((void *)(uintptr_t)run, at - run, MADV_DONTNEED) == 0)
					dropped += at - run;
				run = at + page;
			}
		}
	}
	if (end > run && madvise((void *)(uintptr_t)run, end - run, MADV_DONTNEED) == 0)
		dropped += end - run;
	return dropped;
}

size_t probe_file_pages_drop(const char *const *paths, size_t n)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return 0;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	char *line = NULL;
	size_t line_cap = 0, dropped = 0;
	unsigned long long start = 0, end = 0, anon = 1;
	bool candidate = false;
	while (getline(&line, &line_cap, f) > 0) {
		unsigned long long s, e, off;
		char perms[5];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s %n", &s, &e, perms, &off, &name_at) >= 4) {
			char *name = line + (name_at ? (size_t)name_at : strlen(line));
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
		if (strncmp(line, "VmFlags:", 8) != 0) /* the entry's last line */
			continue;
		if (candidate && anon == 0) {
			if (madvise((void *)(uintptr_t)start, end - start, MADV_DONTNEED) == 0)
				dropped += end - start;
		} else if (candidate && pagemap >= 0) {
			/* libelf writes a section header it decompresses */
			dropped += drop_unwritten(pagemap, start, end, page);
		}
		candidate = false;
	}
	if (pagemap >= 0)
		close(pagemap);
	free(line);
	fclose(f);
	return dropped;
}
