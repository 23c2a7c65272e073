/* SPDX-License-Identifier: MIT */
/* Reading target memory, from a memory source (process_vm_readv on a live
 * process), through a per-round prefetch and block cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "process/process.h"

#define TRACE_GAP 1024             /* reads closer than this are fetched as one range */
#define TRACE_MAX_READ (64u << 10) /* larger reads are not traced */
#define RANGE_MAX (256u << 10)     /* one prefetched range at most */
#define PREFETCH_MAX (8u << 20)    /* bytes prefetched per round at most */
#define PREFETCH_MAX_FAILS 16      /* unreadable ranges tolerated per round */
#define IOV_BATCH 1024             /* UIO_MAXIOV */

static ssize_t process_readv(void *arg, const struct iovec *local, unsigned long nlocal,
                             const struct iovec *remote, unsigned long nremote)
{
	return process_vm_readv((pid_t)(intptr_t)arg, local, nlocal, remote, nremote, 0);
}

const struct probe_mem_source probe_mem_process = { .readv = process_readv };

int probe_mem_init(struct probe_mem *mem, pid_t pid, struct ftp_error *err)
{
	memset(mem, 0, sizeof(*mem));
	mem->pid = pid;
	mem->src = &probe_mem_process;
	mem->src_arg = (void *)(intptr_t)pid;
	mem->epoch = 1;
	mem->prefetch = true;
	mem->first_run = SIZE_MAX;
	mem->blocks = calloc(PROBE_NBLOCKS, sizeof(*mem->blocks));
	if (!mem->blocks)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "allocating the read cache");
	return 0;
}

void probe_mem_set_source(struct probe_mem *mem, const struct probe_mem_source *src, void *arg)
{
	mem->src = src;
	mem->src_arg = arg;
}

void probe_mem_release(struct probe_mem *mem)
{
	free(mem->blocks);
	free(mem->trace);
	free(mem->runs);
	free(mem->pre);
	free(mem->planned);
	free(mem->sort_tmp);
	mem->planned = NULL;
	mem->sort_tmp = NULL;
	mem->blocks = NULL;
	mem->trace = mem->runs = NULL;
	mem->pre = NULL;
}

static void trace_add(struct probe_mem *mem, uint64_t addr, size_t len)
{
	if (!mem->prefetch || len > TRACE_MAX_READ || addr + len < addr)
		return;
	uint64_t end = addr + len;
	if (mem->ntrace && !mem->trace_sealed) {
		struct probe_range *last = &mem->trace[mem->ntrace - 1];
		uint64_t lo = addr < last->addr ? addr : last->addr;
		uint64_t hi = end > last->end ? end : last->end;
		if (addr <= last->end + TRACE_GAP && end + TRACE_GAP >= last->addr && hi - lo <= RANGE_MAX) {
			last->addr = lo;
			last->end = hi;
			return;
		}
	}
	if (mem->ntrace == mem->trace_cap) {
		size_t cap = mem->trace_cap ? mem->trace_cap * 2 : 256;
		struct probe_range *t = realloc(mem->trace, cap * sizeof(*t));
		if (!t)
			return; /* the prefetch is an optimisation: do without */
		mem->trace = t;
		mem->trace_cap = cap;
	}
	mem->trace[mem->ntrace++] = (struct probe_range){ .addr = addr, .end = end };
	mem->trace_sealed = false;
}

size_t probe_mem_trace_begin(struct probe_mem *mem)
{
	mem->trace_sealed = true;
	return mem->ntrace;
}

const struct probe_range *probe_mem_traced(const struct probe_mem *mem, size_t since, size_t *n)
{
	*n = since < mem->ntrace ? mem->ntrace - since : 0;
	return *n ? &mem->trace[since] : NULL;
}

void probe_mem_trace_extend(struct probe_mem *mem, const struct probe_range *ranges, size_t n)
{
	mem->trace_sealed = true;
	for (size_t i = 0; i < n; i++)
		trace_add(mem, ranges[i].addr, (size_t)(ranges[i].end - ranges[i].addr));
}

static int range_cmp(const void *a, const void *b)
{
	const struct probe_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

#define INSERTION_MAX 64 /* ranges sorted by insertion, below a radix sort's set-up */

/* Sorts v by address: by insertion when there are few (a round of a few
 * threads), else a radix sort over the bytes in which the addresses differ
 * (three or four in a process's heap), several times faster than qsort on
 * the few hundred ranges of a round; qsort when out of memory. */
static void sort_ranges(struct probe_mem *mem, struct probe_range *v, size_t n)
{
	if (n < 2)
		return;
	if (n <= INSERTION_MAX) {
		for (size_t i = 1; i < n; i++) {
			struct probe_range r = v[i];
			size_t j = i;
			for (; j > 0 && v[j - 1].addr > r.addr; j--)
				v[j] = v[j - 1];
			v[j] = r;
		}
		return;
	}
	if (n > mem->sort_cap) {
		struct probe_range *t = realloc(mem->sort_tmp, n * sizeof(*t));
		if (!t) {
			qsort(v, n, sizeof(*v), range_cmp);
			return;
		}
		mem->sort_tmp = t;
		mem->sort_cap = n;
	}
	uint64_t differ = 0;
	for (size_t i = 1; i < n; i++)
		differ |= v[i].addr ^ v[0].addr;
	struct probe_range *from = v, *to = mem->sort_tmp;
	for (unsigned shift = 0; shift < 64; shift += 8) {
		if (!((differ >> shift) & 0xff))
			continue;
		size_t count[257] = { 0 };
		for (size_t i = 0; i < n; i++)
			count[((from[i].addr >> shift) & 0xff) + 1]++;
		for (size_t b = 1; b < 257; b++)
			count[b] += count[b - 1];
		for (size_t i = 0; i < n; i++)
			to[count[(from[i].addr >> shift) & 0xff]++] = from[i];
		struct probe_range *t = from;
		from = to;
		to = t;
	}
	if (from != v)
		memcpy(v, from, n * sizeof(*v));
}

/* Remembers the trace a plan is made from: the next round's trace is
 * usually the same, and then so is the plan. */
static void keep_planned(struct probe_mem *mem)
{
	size_t bytes = mem->ntrace * sizeof(*mem->trace);
	mem->nplanned = 0;
	if (mem->ntrace > mem->planned_cap) {
		struct probe_range *pl = realloc(mem->planned, bytes);
		if (!pl)
			return;
		mem->planned = pl;
		mem->planned_cap = mem->ntrace;
	}
	memcpy(mem->planned, mem->trace, bytes);
	mem->nplanned = mem->ntrace;
}

/* The last round's trace, sorted and coalesced, into mem->runs. Returns the
 * bytes they cover. */
static size_t plan_runs(struct probe_mem *mem)
{
	if (!mem->ntrace) {
		mem->nruns = 0;
		return 0;
	}
	if (mem->nruns_planned && mem->ntrace == mem->nplanned &&
	    memcmp(mem->trace, mem->planned, mem->ntrace * sizeof(*mem->trace)) == 0) {
		mem->ntrace = 0;
		mem->nruns = mem->nruns_planned;
		return mem->planned_total;
	}
	keep_planned(mem);
	sort_ranges(mem, mem->trace, mem->ntrace);
	size_t n = 0, total = 0;
	for (size_t i = 0; i < mem->ntrace; i++) {
		struct probe_range r = mem->trace[i];
		if (n && r.addr <= mem->trace[n - 1].end + TRACE_GAP &&
		    (r.end > mem->trace[n - 1].end ? r.end : mem->trace[n - 1].end) -
		                    mem->trace[n - 1].addr <=
		            RANGE_MAX) {
			struct probe_range *last = &mem->trace[n - 1];
			if (r.end > last->end) {
				total += r.end - last->end;
				last->end = r.end;
			}
			continue;
		}
		if (total + (r.end - r.addr) > PREFETCH_MAX)
			break;
		r.off = total;
		total += r.end - r.addr;
		mem->trace[n++] = r;
	}
	/* the trace array becomes the runs; the old runs array the next trace */
	struct probe_range *runs = mem->trace;
	size_t cap = mem->trace_cap;
	mem->trace = mem->runs;
	mem->trace_cap = mem->runs_cap;
	mem->runs = runs;
	mem->runs_cap = cap;
	mem->nruns = n;
	mem->ntrace = 0;
	mem->nruns_planned = mem->nplanned ? n : 0;
	mem->planned_total = total;
	return total;
}

/* The index of the run holding addr (the last one starting at or below it),
 * or SIZE_MAX. */
static size_t run_at(const struct probe_mem *mem, uint64_t addr)
{
	size_t lo = 0, hi = mem->nruns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mem->runs[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

/* The run copied j-th: mem->first_run, then the others in address order. */
static size_t nth_run(const struct probe_mem *mem, size_t j)
{
	size_t f = mem->first_run;
	if (f == SIZE_MAX)
		return j;
	return j == 0 ? f : j <= f ? j - 1 : j;
}

/* Reads every run, in batches of scattered reads. A run that cannot be read
 * whole is left out (ok = false) and the batch goes on after it. The kernel
 * copies the ranges of one call in their order, so the first run's copy is
 * the round's oldest. */
static void prefetch(struct probe_mem *mem)
{
	size_t total = plan_runs(mem);
	mem->first_run = SIZE_MAX;
	if (!mem->nruns)
		return;
	if (mem->first) {
		size_t f = run_at(mem, mem->first);
		if (f != SIZE_MAX && mem->first < mem->runs[f].end)
			mem->first_run = f;
	}
	if (total > mem->pre_cap) {
		unsigned char *pre = realloc(mem->pre, total);
		if (!pre) {
			mem->nruns = 0;
			return;
		}
		mem->pre = pre;
		mem->pre_cap = total;
	}
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	unsigned fails = 0;
	size_t i = 0;
	while (i < mem->nruns && fails < PREFETCH_MAX_FAILS) {
		size_t k = 0, want = 0;
		for (; k < IOV_BATCH && i + k < mem->nruns; k++) {
			struct probe_range *r = &mem->runs[nth_run(mem, i + k)];
			r->ok = false;
			local[k] = (struct iovec){ mem->pre + r->off, r->end - r->addr };
			remote[k] = (struct iovec){ (void *)(uintptr_t)r->addr, r->end - r->addr };
			want += r->end - r->addr;
		}
		mem->reads++;
		ssize_t got = mem->src->readv(mem->src_arg, local, k, remote, k);
		if (got < 0 && errno != EFAULT)
			break; /* the process is gone, or forbidden: the reads will say */
		size_t done = got > 0 ? (size_t)got : 0, j = 0;
		for (; j < k && done >= local[j].iov_len; j++) {
			mem->runs[nth_run(mem, i + j)].ok = true;
			done -= local[j].iov_len;
		}
		if ((size_t)(got > 0 ? got : 0) == want) {
			i += k;
		} else {
			i += j + 1; /* run i + j could not be read whole: skip it */
			fails++;
		}
	}
	for (; i < mem->nruns; i++)
		mem->runs[nth_run(mem, i)].ok = false;
}

void probe_mem_copy_first(struct probe_mem *mem, uint64_t addr)
{
	mem->first = addr;
}

bool probe_mem_copied_first(const struct probe_mem *mem, uint64_t addr, size_t len)
{
	if (mem->first_run == SIZE_MAX || mem->direct)
		return false;
	const struct probe_range *r = &mem->runs[mem->first_run];
	return r->ok && addr >= r->addr && len <= r->end - r->addr &&
	       addr - r->addr <= r->end - r->addr - len;
}

void probe_mem_new_round(struct probe_mem *mem)
{
	mem->epoch++;
	mem->nruns = 0;
	mem->first_run = SIZE_MAX;
	if (mem->prefetch)
		prefetch(mem);
	else
		mem->ntrace = 0;
}

/* The prefetched copy of [addr, addr + len), or NULL. The run of the last
 * hit is tried first: a stack's frames follow one another in one run. */
static const unsigned char *prefetched(struct probe_mem *mem, uint64_t addr, size_t len)
{
	size_t i = mem->hint_run;
	if (i >= mem->nruns || addr < mem->runs[i].addr || addr >= mem->runs[i].end)
		i = run_at(mem, addr);
	if (i == SIZE_MAX)
		return NULL;
	mem->hint_run = i;
	const struct probe_range *r = &mem->runs[i];
	if (!r->ok || len > r->end - r->addr || addr - r->addr > r->end - r->addr - len)
		return NULL;
	return mem->pre + r->off + (addr - r->addr);
}

static int read_error(struct probe_mem *mem, int e, uint64_t addr, size_t len, struct ftp_error *err)
{
	switch (e) {
	case ESRCH:
		return ftp_error_set(err, FTP_E_EXITED, 0,
		                     "process_vm_readv(pid %d): target process has exited", (int)mem->pid);
	case EPERM:
		return probe_perm_error(mem->pid, err);
	default:
		return ftp_error_set(err, FTP_E_READ, e, "process_vm_readv(pid %d, 0x%llx, %zu)",
		                     (int)mem->pid, (unsigned long long)addr, len);
	}
}

int probe_mem_read_direct(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err)
{
	if (len == 0)
		return 0;
	if (addr == 0 || addr + len < addr)
		return ftp_error_set(err, FTP_E_READ, 0, "reading %zu bytes at 0x%llx", len,
		                     (unsigned long long)addr);
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	mem->reads++;
	ssize_t n = mem->src->readv(mem->src_arg, &local, 1, &remote, 1);
	if (n == (ssize_t)len)
		return 0;
	return read_error(mem, n < 0 ? errno : EFAULT, addr, len, err);
}

int probe_mem_gather(struct probe_mem *mem, const uint64_t *addrs, size_t n, size_t len, unsigned char *out,
                     bool *ok)
{
	enum { MOST = 512 };
	struct iovec local[MOST], remote[MOST];
	size_t i = 0;
	while (i < n) {
		size_t k = 0;
		for (; k < MOST && i + k < n; k++) {
			local[k] = (struct iovec){ out + (i + k) * len, len };
			remote[k] = (struct iovec){ (void *)(uintptr_t)addrs[i + k], len };
		}
		mem->reads++;
		ssize_t got = mem->src->readv(mem->src_arg, local, k, remote, k);
		if (got < 0 && (errno == ESRCH || errno == EPERM))
			return errno == ESRCH ? -FTP_E_EXITED : -FTP_E_PERM;
		size_t whole = got < 0 ? 0 : (size_t)got / len;
		for (size_t j = 0; j < whole; j++)
			ok[i + j] = true;
		i += whole;
		if (whole < k)
			ok[i++] = false; /* the piece the read stopped at */
	}
	return 0;
}

static int read_blocks(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err)
{
	uint64_t block = addr & ~(uint64_t)(PROBE_BLOCK - 1);
	if (len > PROBE_BLOCK || addr + len - block > PROBE_BLOCK || block == 0)
		return probe_mem_read_direct(mem, addr, buf, len, err);
	size_t slot = (block / PROBE_BLOCK) % PROBE_NBLOCKS;
	if (mem->blocks[slot].addr != block || mem->blocks[slot].epoch != mem->epoch) {
		/* Pages are mapped whole, so an aligned block reads whole or not
		 * at all. */
		if (probe_mem_read_direct(mem, block, mem->blocks[slot].data, PROBE_BLOCK, NULL) < 0) {
			mem->blocks[slot].addr = 0;
			return probe_mem_read_direct(mem, addr, buf, len, err);
		}
		mem->blocks[slot].addr = block;
		mem->blocks[slot].epoch = mem->epoch;
	}
	memcpy(buf, mem->blocks[slot].data + (addr - block), len);
	return 0;
}

const unsigned char *probe_mem_view(struct probe_mem *mem, uint64_t addr, size_t len)
{
	if (len == 0 || mem->direct || !mem->nruns)
		return NULL;
	const unsigned char *pre = prefetched(mem, addr, len);
	if (pre) {
		mem->hits++;
		trace_add(mem, addr, len);
	}
	return pre;
}

int probe_mem_read(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err)
{
	if (len == 0)
		return 0;
	if (!mem->direct && mem->nruns) {
		const unsigned char *pre = probe_mem_view(mem, addr, len);
		if (pre) {
			memcpy(buf, pre, len);
			return 0;
		}
		mem->misses++;
	}
	int ret = read_blocks(mem, addr, buf, len, err);
	if (ret == 0)
		trace_add(mem, addr, len);
	return ret;
}

void probe_mem_fresh(struct probe_mem *mem, bool on)
{
	mem->direct = on;
	if (on)
		mem->epoch++; /* the blocks read so far are stale */
}

/* Reads the blocks of the ranges (the first `most`) into the block cache in
 * one scattered read; with skip_prefetched, not those of ranges the round's
 * prefetch holds, nor blocks the cache already has for the round. */
static void fetch_blocks(struct probe_mem *mem, const struct probe_range *ranges, size_t n, size_t most,
                         bool skip_prefetched)
{
	struct iovec local[PROBE_NBLOCKS], remote[PROBE_NBLOCKS];
	size_t slots[PROBE_NBLOCKS], k = 0;
	bool taken[PROBE_NBLOCKS] = { false };
	most = most < PROBE_NBLOCKS ? most : PROBE_NBLOCKS;
	for (size_t i = 0; i < n && k < most; i++) {
		if (skip_prefetched && ranges[i].end > ranges[i].addr &&
		    prefetched(mem, ranges[i].addr, (size_t)(ranges[i].end - ranges[i].addr)))
			continue;
		uint64_t b = ranges[i].addr & ~(uint64_t)(PROBE_BLOCK - 1);
		for (; b && b < ranges[i].end && k < most; b += PROBE_BLOCK) {
			size_t slot = (b / PROBE_BLOCK) % PROBE_NBLOCKS;
			if (taken[slot])
				continue; /* this block, or one that shares its slot */
			taken[slot] = true;
			if (skip_prefetched && mem->blocks[slot].addr == b &&
			    mem->blocks[slot].epoch == mem->epoch)
				continue;
			mem->blocks[slot].addr = 0;
			slots[k] = slot;
			local[k] = (struct iovec){ mem->blocks[slot].data, PROBE_BLOCK };
			remote[k] = (struct iovec){ (void *)(uintptr_t)b, PROBE_BLOCK };
			k++;
		}
	}
	if (!k)
		return;
	mem->reads++;
	ssize_t got = mem->src->readv(mem->src_arg, local, k, remote, k);
	/* The reads stop at the first block that cannot be read; the blocks
	 * before it are whole. */
	for (size_t j = 0; got > 0 && j < k && (size_t)got >= PROBE_BLOCK; j++, got -= PROBE_BLOCK) {
		mem->blocks[slots[j]].addr = (uint64_t)(uintptr_t)remote[j].iov_base;
		mem->blocks[slots[j]].epoch = mem->epoch;
	}
}

void probe_mem_fresh_blocks(struct probe_mem *mem, const struct probe_range *ranges, size_t n, size_t most)
{
	fetch_blocks(mem, ranges, n, most, false);
}

void probe_mem_fill(struct probe_mem *mem, const struct probe_range *ranges, size_t n)
{
	if (!mem->direct && mem->prefetch)
		fetch_blocks(mem, ranges, n, PROBE_NBLOCKS, true);
}

int probe_mem_u64(struct probe_mem *mem, uint64_t addr, uint64_t *out)
{
	return probe_mem_read(mem, addr, out, sizeof(*out), NULL);
}
