/* SPDX-License-Identifier: MIT */
/* probe_file_pages_drop: a private mapping of a listed file gives its
 * resident pages back and reads the same bytes after; a mapping with a page
 * written gives back all but that page, which keeps its change; a file not
 * listed keeps its pages. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "process/process.h"

#define PAGES 64

/* Rss of the mapping starting at addr, in KiB, from /proc/self/smaps; -1 if
 * none starts there. */
static long rss_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	cr_assert(f);
	char line[512];
	bool at = false;
	long rss = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			at = s == (uintptr_t)addr;
			continue;
		}
		if (at && sscanf(line, "Rss: %ld", &rss) == 1)
			break;
	}
	fclose(f);
	return rss;
}

/* A file of PAGES pages, each filled with its index; its path in path. */
static int make_file(char *path, size_t len)
{
	snprintf(path, len, "/tmp/ftprof-filepages-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *buf = malloc((size_t)page);
	for (int i = 0; i < PAGES; i++) {
		memset(buf, i, (size_t)page);
		cr_assert_eq(write(fd, buf, (size_t)page), page);
	}
	free(buf);
	return fd;
}

static unsigned touch(const volatile unsigned char *map, long page)
{
	unsigned sum = 0;
	for (int i = 0; i < PAGES; i++)
		sum += map[(long)i * page];
	return sum;
}

Test(filepages, drops_listed_clean_mappings_only)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)(PAGES * page);
	char path[64], other[64];
	int fd = make_file(path, sizeof(path)), fd2 = make_file(other, sizeof(other));
	unsigned char *ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	unsigned char *rw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	unsigned char *unlisted = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd2, 0);
	cr_assert(ro != MAP_FAILED && rw != MAP_FAILED && unlisted != MAP_FAILED);
	unsigned want = touch(ro, page);
	touch(rw, page);
	touch(unlisted, page);
	rw[5 * page] = 0xee; /* one page copied from the file, and changed */
	long kib = len / 1024;
	cr_assert_geq(rss_kib(ro), kib);
	cr_assert_geq(rss_kib(rw), kib, "the written mapping holds %ld KiB", rss_kib(rw));

	const char *paths[] = { NULL, "/nowhere", path };
	size_t dropped = probe_file_pages_drop(paths, 3);
	cr_expect_eq(dropped, 2 * len - (size_t)page,
	             "gave back %zu bytes, expected both mappings' %zu but the written page", dropped,
	             2 * len - (size_t)page);
	cr_expect_leq(rss_kib(ro), kib / 4, "the listed read-only mapping still holds %ld KiB", rss_kib(ro));
	cr_expect(rss_kib(rw) >= page / 1024 && rss_kib(rw) <= kib / 4,
	          "the written mapping holds %ld KiB: not its written page alone", rss_kib(rw));
	cr_expect_geq(rss_kib(unlisted), kib, "a file not listed gave pages back: %ld KiB",
	              rss_kib(unlisted));
	/* the same bytes, read again from the page cache */
	cr_expect_eq(touch(ro, page), want);
	cr_expect_eq(rw[5 * page], 0xee, "the written page lost its change");
	cr_expect_eq(rw[6 * page], 6);

	munmap(ro, len);
	munmap(rw, len);
	munmap(unlisted, len);
	close(fd);
	close(fd2);
	unlink(path);
	unlink(other);
}
