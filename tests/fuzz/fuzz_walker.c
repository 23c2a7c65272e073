/* SPDX-License-Identifier: MIT */
/* libFuzzer target: probe_walk over a fake target process.
 *
 * The harness plugs a memory source of its own into the probe's reader at run
 * time (struct probe_mem_source), so probe/process/mem.c, unchanged, reads
 * from a fake address space built from the input (walker_input.h describes
 * it). The probe
 * is assembled by hand from probe/probe_int.h, with a built-in layout or one
 * parsed from a _Py_DebugOffsets blob in that memory, and walked for a few
 * rounds; the memory may change between rounds. The callback reads every
 * string of every frame, so that AddressSanitizer sees any bad pointer the
 * probe hands out, and the code objects are read again after the last round,
 * as they are lent until ftp_probe_destroy(). Nothing here reads /proc. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "probe_int.h"
#include "walker_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAGE 4096u
#define MAX_PAGES 512 /* 2 MiB of fake memory */

/* ---- the fake address space ------------------------------------------ */

struct page {
	uint64_t addr;
	unsigned char *data; /* PAGE bytes */
};

static struct {
	pid_t pid;
	bool whole_iovecs; /* partial reads stop at an iovec boundary */
	struct page pages[MAX_PAGES];
	size_t npages; /* sorted by addr */
} fake;

/* Index of the first page at or above addr. */
static size_t page_index(uint64_t addr)
{
	size_t lo = 0, hi = fake.npages;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fake.pages[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static unsigned char *page_find(uint64_t addr)
{
	size_t i = page_index(addr);
	return i < fake.npages && fake.pages[i].addr == addr ? fake.pages[i].data : NULL;
}

static unsigned char *page_map(uint64_t addr)
{
	size_t i = page_index(addr);
	if (i < fake.npages && fake.pages[i].addr == addr)
		return fake.pages[i].data;
	if (fake.npages == MAX_PAGES)
		return NULL;
	unsigned char *data = calloc(1, PAGE);
	if (!data)
		return NULL;
	memmove(&fake.pages[i + 1], &fake.pages[i], (fake.npages - i) * sizeof(fake.pages[0]));
	fake.pages[i] = (struct page){ addr, data };
	fake.npages++;
	return data;
}

static void page_unmap(uint64_t addr)
{
	size_t i = page_index(addr);
	if (i == fake.npages || fake.pages[i].addr != addr)
		return;
	free(fake.pages[i].data);
	memmove(&fake.pages[i], &fake.pages[i + 1], (fake.npages - i - 1) * sizeof(fake.pages[0]));
	fake.npages--;
}

static void fake_reset(void)
{
	for (size_t i = 0; i < fake.npages; i++)
		free(fake.pages[i].data);
	fake.npages = 0;
}

/* Writes len bytes at addr, mapping the pages; bytes that would wrap around
 * the address space or need more pages than allowed are dropped. */
static void fake_write(uint64_t addr, const unsigned char *src, size_t len)
{
	while (len) {
		uint64_t base = addr & ~(uint64_t)(PAGE - 1);
		size_t in = addr - base, n = PAGE - in < len ? PAGE - in : len;
		unsigned char *page = page_map(base);
		if (!page)
			return;
		memcpy(page + in, src, n);
		if (addr + n < addr)
			return;
		addr += n;
		src += n;
		len -= n;
	}
}

static void fake_unmap(uint64_t addr, size_t len)
{
	uint64_t last = addr + (len ? len - 1 : 0);
	if (last < addr)
		last = UINT64_MAX; /* to the end of the address space */
	last &= ~(uint64_t)(PAGE - 1);
	for (uint64_t a = addr & ~(uint64_t)(PAGE - 1);; a += PAGE) {
		page_unmap(a);
		if (a == last)
			break;
	}
}

/* Copies what is mapped at addr into dst, zeros elsewhere. */
static void fake_peek(uint64_t addr, unsigned char *dst, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const unsigned char *page = page_find((addr + i) & ~(uint64_t)(PAGE - 1));
		dst[i] = page ? page[(addr + i) & (PAGE - 1)] : 0;
	}
}

/* The memory source: process_vm_readv(2) over the fake memory. Like Linux
 * (mm/process_vm_access.c), the remote iovecs are read in order into the
 * local ones as one stream, a page at a time, and the transfer stops at the
 * first page that is not mapped: the count returned includes the readable
 * pages of the iovec that failed. With whole_iovecs, it does not: partial
 * transfers then end at an iovec boundary, as the man page words it. Both are
 * what a caller may see. Nothing read: -1 with errno EFAULT. */
static ssize_t fake_readv(void *arg, const struct iovec *liov, unsigned long liovcnt,
                          const struct iovec *riov, unsigned long riovcnt)
{
	pid_t pid = (pid_t)(intptr_t)arg;
	if (liovcnt > IOV_MAX || riovcnt > IOV_MAX || (liovcnt && !liov) || (riovcnt && !riov)) {
		errno = EINVAL;
		return -1;
	}
	size_t ltotal = 0, rtotal = 0;
	for (unsigned long i = 0; i < liovcnt; i++) {
		if (liov[i].iov_len > SSIZE_MAX - ltotal) {
			errno = EINVAL;
			return -1;
		}
		ltotal += liov[i].iov_len;
	}
	for (unsigned long i = 0; i < riovcnt; i++) {
		if (riov[i].iov_len > SSIZE_MAX - rtotal) {
			errno = EINVAL;
			return -1;
		}
		rtotal += riov[i].iov_len;
	}
	if (pid != fake.pid) {
		errno = ESRCH;
		return -1;
	}
	if (!ltotal || !rtotal)
		return 0;

	size_t done = 0, li = 0, loff = 0;
	bool fault = false;
	for (unsigned long ri = 0; ri < riovcnt && !fault && li < liovcnt; ri++) {
		uint64_t addr = (uint64_t)(uintptr_t)riov[ri].iov_base;
		size_t left = riov[ri].iov_len, copied = 0;
		while (left && li < liovcnt) {
			if (loff == liov[li].iov_len) {
				li++;
				loff = 0;
				continue;
			}
			uint64_t base = addr & ~(uint64_t)(PAGE - 1);
			const unsigned char *page = addr + left - 1 < addr ? NULL : page_find(base);
			if (!page) {
				fault = true;
				break;
			}
			size_t in = addr - base, n = PAGE - in;
			if (n > left)
				n = left;
			if (n > liov[li].iov_len - loff)
				n = liov[li].iov_len - loff;
			memcpy((char *)liov[li].iov_base + loff, page + in, n);
			loff += n;
			addr += n;
			left -= n;
			copied += n;
		}
		if (fault && fake.whole_iovecs)
			copied = 0;
		done += copied;
	}
	if (!done) {
		errno = EFAULT;
		return -1;
	}
	return (ssize_t)done;
}

static const struct probe_mem_source fake_source = { .readv = fake_readv };

/* ---- the input ------------------------------------------------------- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static size_t ntasks_of(const uint8_t *data)
{
	return data[48] % (WALKER_MAX_TASKS + 1);
}

/* Applies the segments of round `round`. */
static void apply_segments(const uint8_t *data, size_t size, unsigned round)
{
	size_t skip = WALKER_HEADER_SIZE + ntasks_of(data) * WALKER_TASK_SIZE;
	if (size < skip)
		return;
	struct cursor c = { data + skip, size - skip };
	for (;;) {
		uint64_t addr;
		uint16_t len;
		uint8_t r;
		if (!take(&c, &addr, 8) || !take(&c, &len, 2) || !take(&c, &r, 1))
			return;
		if (r & WALKER_SEG_UNMAP) {
			if ((r & 0x7f) == round)
				fake_unmap(addr, len);
			continue;
		}
		if (len > c.left)
			len = (uint16_t)c.left;
		if (r == round)
			fake_write(addr, c.p, len);
		c.p += len;
		c.left -= len;
	}
}

/* ---- the callback ---------------------------------------------------- */

#define MAX_KEPT 256

struct visit {
	unsigned max_depth;
	unsigned stop_after, seen;
	/* Code objects seen: they and their strings are lent until
	 * ftp_probe_destroy(), so they are read again after the last round. */
	const struct ftp_code *kept[MAX_KEPT];
	size_t nkept;
};

static volatile size_t sink;

static void touch_code(const struct ftp_code *code)
{
	if (!code || !code->name || !code->qualname || !code->filename)
		abort();
	sink += strlen(code->name) + strlen(code->qualname) + strlen(code->filename) +
	        (size_t)code->firstlineno;
}

static int touch(const struct ftp_sample *s, void *arg)
{
	struct visit *v = arg;
	if (s->nframes > v->max_depth || (s->nframes && !s->frames) ||
	    (unsigned)s->state >= FTP_STATE_COUNT || s->holds_gil < -1 || s->holds_gil > 1)
		abort();
	for (unsigned i = 0; i < s->nframes; i++) {
		const struct ftp_frame *f = &s->frames[i];
		if (f->line < -1)
			abort();
		if (f->flags & FTP_FRAME_NATIVE) {
			if (f->symbol)
				sink += strlen(f->symbol);
			if (f->object)
				sink += strlen(f->object);
			continue;
		}
		touch_code(f->code);
		sink += (size_t)f->line;
		if (v->nkept < MAX_KEPT)
			v->kept[v->nkept++] = f->code;
	}
	if (s->name)
		sink += strlen(s->name);
	sink += (size_t)s->tid + s->thread_id + s->is_main + (size_t)s->os_state + s->flags;
	return v->stop_after && ++v->seen >= v->stop_after;
}

/* ---- the probe ------------------------------------------------------- */

static int set_layout(struct ftp_probe *p, uint8_t version)
{
	if (version < WALKER_BUILTIN_VERSIONS)
		return ftp_layout_builtin(&p->L, 0x030000f0u | (uint32_t)(8 + version) << 16, false, NULL);
	unsigned char blob[FTP_DEBUG_OFFSETS_MAX];
	fake_peek(p->runtime, blob, sizeof(blob));
	return ftp_layout_from_debug_offsets(&p->L, blob, sizeof(blob), NULL);
}

static void set_tasks(struct ftp_probe *p, const uint8_t *data, size_t size)
{
	size_t ntasks = ntasks_of(data);
	if (size < WALKER_HEADER_SIZE + ntasks * WALKER_TASK_SIZE)
		ntasks = (size - WALKER_HEADER_SIZE) / WALKER_TASK_SIZE;
	struct task_info *tasks = ntasks ? calloc(ntasks, sizeof(*tasks)) : NULL;
	if (!tasks)
		return;
	for (size_t i = 0; i < ntasks; i++) {
		const uint8_t *t = data + WALKER_HEADER_SIZE + i * WALKER_TASK_SIZE;
		int32_t tid;
		uint16_t nr;
		memcpy(&tid, t, 4);
		memcpy(&nr, t + 6, 2);
		tasks[i].tid = tid;
		tasks[i].state = (char)t[4];
		tasks[i].in_syscall = t[5] & 1;
		tasks[i].sys_nr = nr;
		memcpy(&tasks[i].sys_arg0, t + 8, 8);
	}
	probe_task_list_set(&p->tasks, tasks, ntasks);
	free(tasks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < WALKER_HEADER_SIZE)
		return 0;
	uint8_t version = data[0], flags = data[1];
	unsigned max_depth = 1 + data[2] % 64, rounds = 1 + data[3] % WALKER_MAX_ROUNDS;
	int32_t pid;
	memcpy(&pid, data + 4, 4);

	fake_reset();
	fake.pid = pid;
	fake.whole_iovecs = flags & WALKER_F_IOV_WHOLE;
	apply_segments(data, size, 0);

	struct ftp_probe *p = calloc(1, sizeof(*p));
	if (!p)
		return 0;
	p->pid = pid;
	p->pthread_tid_off = -1;
	p->opts.thread_names = flags & WALKER_F_THREAD_NAMES;
	p->opts.max_depth = max_depth;
	p->max_depth = max_depth;
	memcpy(&p->runtime, data + 8, 8);
	if (!(flags & WALKER_F_NO_TYPES)) {
		memcpy(&p->code_type, data + 16, 8);
		memcpy(&p->str_type, data + 24, 8);
		memcpy(&p->bytes_type, data + 32, 8);
		memcpy(&p->dict_type, data + 40, 8);
	}
	p->frames = calloc(max_depth, sizeof(*p->frames));
	if (!p->frames || probe_mem_init(&p->mem, pid, NULL) < 0)
		goto out;
	probe_mem_set_source(&p->mem, &fake_source, (void *)(intptr_t)pid);
	if (set_layout(p, version) < 0)
		goto out;
	set_tasks(p, data, size);

	struct visit v = { .max_depth = max_depth, .stop_after = data[49] };
	for (unsigned r = 0; r < rounds; r++) {
		if (r)
			apply_segments(data, size, r);
		v.seen = 0;
		p->round++;
		probe_mem_new_round(&p->mem);
		struct ftp_error err = { 0 };
		int ret = probe_walk(p, touch, &v, &err);
		if (ret < 0 && strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			abort();
	}
	for (size_t i = 0; i < v.nkept; i++)
		touch_code(v.kept[i]);
out:
	ftp_probe_destroy(p);
	fake_reset();
	return 0;
}
