/* SPDX-License-Identifier: MIT */
/* One perf_event and its ring of records, read without a system call: the
 * kernel moves data_head as it writes, the reader data_tail as it consumes.
 * Context switches (sched.c) are its first user. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "perf/perf.h"

static long page_size(void)
{
	static long size;
	if (!size)
		size = sysconf(_SC_PAGESIZE);
	return size;
}

int perf_ring_open(struct perf_ring *r, struct perf_event_attr *attr, pid_t tid, int cpu, unsigned pages)
{
	int fd = (int)syscall(SYS_perf_event_open, attr, tid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = (size_t)page_size() * (1 + pages);
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int e = errno;
		close(fd);
		return -e;
	}
	struct perf_event_mmap_page *pg = map;
	r->fd = fd;
	r->page = pg;
	r->map_len = len;
	/* data_offset and data_size are 0 on kernels before 4.1: the ring
	 * then follows the first page, to the end of the mapping */
	r->data = (const unsigned char *)pg + (pg->data_offset ? pg->data_offset : (uint64_t)page_size());
	r->size = pg->data_size ? pg->data_size : (uint64_t)(len - (size_t)page_size());
	return 0;
}

void perf_ring_close(struct perf_ring *r)
{
	if (r->page)
		munmap(r->page, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	r->page = NULL;
	r->data = NULL;
	r->fd = -1;
}

bool perf_ring_pending(const struct perf_ring *r, uint64_t *tail, uint64_t *head)
{
	*head = __atomic_load_n(&r->page->data_head, __ATOMIC_ACQUIRE);
	*tail = r->page->data_tail;
	return *head != *tail;
}

void perf_ring_copy(const struct perf_ring *r, uint64_t off, void *dst, size_t len)
{
	off %= r->size;
	size_t first = len < r->size - off ? len : (size_t)(r->size - off);
	memcpy(dst, r->data + off, first);
	memcpy((unsigned char *)dst + first, r->data, len - first);
}

void perf_ring_consume(struct perf_ring *r, uint64_t tail)
{
	__atomic_store_n(&r->page->data_tail, tail, __ATOMIC_RELEASE);
}
