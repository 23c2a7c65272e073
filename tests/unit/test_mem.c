/* SPDX-License-Identifier: MIT */
/* The memory reader (probe/process/mem.c) over a fake memory source: the
 * round's prefetch in one scattered read, the block cache, and reads that a
 * source answers only in part. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "process/process.h"

#define BASE 0x10000u
#define SIZE (64u * 4096u) /* mapped: [BASE, BASE + SIZE) */

static struct {
	unsigned char mem[SIZE];
	unsigned calls;     /* readv calls */
	unsigned iovecs;    /* remote iovecs asked for, in all */
	unsigned last_nrem; /* remote iovecs of the last call */
	bool gone;          /* the process has exited: ESRCH */
} fake;

/* Like process_vm_readv: the ranges in order, stopping at the first byte
 * outside the mapping; -1 with EFAULT when nothing was read. */
static ssize_t fake_readv(void *arg, const struct iovec *local, unsigned long nlocal,
                          const struct iovec *remote, unsigned long nremote)
{
	cr_assert_eq(arg, &fake);
	cr_assert_eq(nlocal, nremote, "the reader pairs its iovecs");
	fake.calls++;
	fake.iovecs += (unsigned)nremote;
	fake.last_nrem = (unsigned)nremote;
	if (fake.gone) {
		errno = ESRCH;
		return -1;
	}
	size_t done = 0;
	for (unsigned long i = 0; i < nremote; i++) {
		uint64_t a = (uint64_t)(uintptr_t)remote[i].iov_base;
		size_t len = remote[i].iov_len;
		cr_assert_eq(local[i].iov_len, len);
		size_t ok = 0;
		if (a >= BASE && a < BASE + SIZE)
			ok = BASE + SIZE - a < len ? (size_t)(BASE + SIZE - a) : len;
		if (ok)
			memcpy(local[i].iov_base, fake.mem + (a - BASE), ok);
		done += ok;
		if (ok < len)
			break;
	}
	if (!done) {
		errno = EFAULT;
		return -1;
	}
	return (ssize_t)done;
}

static const struct probe_mem_source source = { .readv = fake_readv };

static struct probe_mem mem;

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	for (size_t i = 0; i < SIZE; i++)
		fake.mem[i] = (unsigned char)(i * 7 + (i >> 12));
	cr_assert_eq(probe_mem_init(&mem, 4242, NULL), 0);
	probe_mem_set_source(&mem, &source, &fake);
}

static void teardown(void)
{
	probe_mem_release(&mem);
}

TestSuite(mem, .init = setup, .fini = teardown);

static uint64_t at(size_t off)
{
	return BASE + off;
}

static void expect_bytes(const void *got, size_t off, size_t len)
{
	cr_expect_eq(memcmp(got, fake.mem + off, len), 0, "bytes at +0x%zx", off);
}

Test(mem, block_cache_serves_a_block_once_per_round)
{
	mem.prefetch = false;
	probe_mem_new_round(&mem);
	unsigned char buf[64];
	cr_assert_eq(probe_mem_read(&mem, at(100), buf, 16, NULL), 0);
	expect_bytes(buf, 100, 16);
	cr_expect_eq(fake.calls, 1);
	cr_assert_eq(probe_mem_read(&mem, at(2000), buf, 64, NULL), 0);
	expect_bytes(buf, 2000, 64);
	cr_expect_eq(fake.calls, 1, "the same 4 KiB block, from the cache");

	/* Within a round the cache is a snapshot: a change is not seen. */
	fake.mem[100] ^= 0xff;
	cr_assert_eq(probe_mem_read(&mem, at(100), buf, 1, NULL), 0);
	cr_expect_eq(buf[0], (unsigned char)(fake.mem[100] ^ 0xff));

	/* A new round reads the block again, and sees it. */
	uint64_t epoch = probe_mem_epoch(&mem);
	probe_mem_new_round(&mem);
	cr_expect_neq(probe_mem_epoch(&mem), epoch);
	cr_assert_eq(probe_mem_read(&mem, at(100), buf, 1, NULL), 0);
	cr_expect_eq(buf[0], fake.mem[100]);
	cr_expect_eq(fake.calls, 2);
	cr_expect_eq(mem.reads, 2, "the reader counts its source's calls");
}

Test(mem, prefetch_reads_the_last_rounds_ranges_in_one_call)
{
	/* Round 1: four reads far apart, each a block of its own. */
	size_t offs[] = { 0x100, 0x5100, 0x9200, 0x20300 };
	unsigned char buf[256];
	probe_mem_new_round(&mem);
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(probe_mem_read(&mem, at(offs[i]), buf, sizeof(buf), NULL), 0);
	cr_expect_eq(fake.calls, 4);

	/* Round 2: one scattered read of the four, then no call at all. */
	fake.calls = fake.iovecs = 0;
	probe_mem_new_round(&mem);
	cr_expect_eq(fake.calls, 1, "one call per round");
	cr_expect_eq(fake.last_nrem, 4, "the four ranges in that call");
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(probe_mem_read(&mem, at(offs[i]), buf, sizeof(buf), NULL), 0);
		expect_bytes(buf, offs[i], sizeof(buf));
		const unsigned char *v = probe_mem_view(&mem, at(offs[i]), 8);
		cr_assert(v, "a view of the prefetched copy");
		expect_bytes(v, offs[i], 8);
	}
	cr_expect_eq(fake.calls, 1);
	cr_expect_eq(mem.hits, 8);

	/* Neighbours are merged: two reads 64 bytes apart make one range. */
	cr_assert_eq(probe_mem_read(&mem, at(0x30000), buf, 32, NULL), 0);
	cr_assert_eq(probe_mem_read(&mem, at(0x30060), buf, 32, NULL), 0);
	fake.calls = 0;
	probe_mem_new_round(&mem);
	cr_expect_eq(fake.calls, 1);
	cr_expect_eq(fake.last_nrem, 5);

	/* Outside the prefetch: no view, a block read. */
	cr_expect_null(probe_mem_view(&mem, at(0x38000), 8));
	cr_assert_eq(probe_mem_read(&mem, at(0x38000), buf, 8, NULL), 0);
	cr_expect_eq(fake.calls, 2);
}

Test(mem, torn_prefetch_leaves_out_the_range_that_failed)
{
	/* Round 1 reads at the mapping's last bytes and beside them. */
	unsigned char buf[64];
	probe_mem_new_round(&mem);
	cr_assert_eq(probe_mem_read(&mem, at(SIZE - 64), buf, 64, NULL), 0);
	cr_assert_eq(probe_mem_read(&mem, at(0x100), buf, 64, NULL), 0);

	/* The last range now runs past the mapping (as a stack that shrank
	 * would): the prefetch of it stops short; the other range reads. */
	fake.calls = 0;
	struct probe_range trace[] = { { .addr = at(0x100), .end = at(0x140) },
		                       { .addr = at(SIZE - 64), .end = at(SIZE + 64) } };
	probe_mem_trace_extend(&mem, trace, 2);
	probe_mem_new_round(&mem);
	cr_expect_geq(fake.calls, 1);
	cr_expect_null(probe_mem_view(&mem, at(SIZE - 64), 128), "a range read in part is not served");
	const unsigned char *v = probe_mem_view(&mem, at(0x100), 64);
	cr_assert(v, "the range before the break is whole");
	expect_bytes(v, 0x100, 64);

	/* A read across the end fails as a bad address, counted, not fatal. */
	struct ftp_error err = { 0 };
	cr_expect_eq(probe_mem_read(&mem, at(SIZE - 8), buf, 16, &err), -FTP_E_READ);
	cr_expect(strstr(err.msg, "4242"), "names the pid: %s", err.msg);
	cr_expect_eq(probe_mem_read(&mem, 0, buf, 8, NULL), -FTP_E_READ);
	cr_expect_eq(probe_mem_read(&mem, at(SIZE - 16), buf, 16, NULL), 0);
	expect_bytes(buf, SIZE - 16, 16);
}

Test(mem, fresh_mode_reads_past_the_snapshot)
{
	unsigned char buf[8];
	probe_mem_new_round(&mem);
	cr_assert_eq(probe_mem_read(&mem, at(0x800), buf, 8, NULL), 0);
	probe_mem_new_round(&mem);
	cr_assert_eq(probe_mem_read(&mem, at(0x800), buf, 8, NULL), 0);
	cr_expect_eq(mem.hits, 1);

	/* A torn stack is read again: fresh mode skips the prefetch. */
	fake.mem[0x800] ^= 0x5a;
	uint64_t epoch = probe_mem_epoch(&mem);
	probe_mem_fresh(&mem, true);
	cr_expect_neq(probe_mem_epoch(&mem), epoch, "what was cached is stale");
	cr_expect_null(probe_mem_view(&mem, at(0x800), 8));
	cr_assert_eq(probe_mem_read(&mem, at(0x800), buf, 8, NULL), 0);
	expect_bytes(buf, 0x800, 8);
	probe_mem_fresh(&mem, false);
}

Test(mem, exited_process_is_an_error_of_its_own)
{
	unsigned char buf[8];
	probe_mem_new_round(&mem);
	fake.gone = true;
	struct ftp_error err = { 0 };
	cr_expect_eq(probe_mem_read(&mem, at(0x10), buf, 8, &err), -FTP_E_EXITED);
	cr_expect(strstr(err.msg, "exited"), "%s", err.msg);
}
