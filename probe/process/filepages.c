/* SPDX-License-Identifier: MIT */
/* Gives back the pages of files this process has mapped to read (the ELF and
 * DWARF of the target's modules): they stay mapped, and a page read again
 * comes back from the page cache. A long run then holds what its last
 * stretch read, not every page it ever touched. */
#include <fcntl.h>
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
	struct probe_maps maps;
	if (probe_maps_read(&maps, getpid(), NULL) < 0)
		return 0;
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t dropped = 0;
	for (size_t i = 0; pagemap >= 0 && i < maps.n; i++) {
		const struct probe_map *m = &maps.v[i];
		/* private and not code: a file read as data. (libelf writes
		 * the section header of a section it decompresses.) */
		if (m->path && m->perms[3] == 'p' && m->perms[2] != 'x' && listed(m->path, paths, n))
			dropped += drop_unwritten(pagemap, m->start, m->end, page);
	}
	if (pagemap >= 0)
		close(pagemap);
	probe_maps_release(&maps);
	return dropped;
}
