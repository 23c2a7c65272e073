/* SPDX-License-Identifier: MIT */
/* Reading target memory with process_vm_readv, through a per-round block cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "probe_int.h"

int probe_mem_init(struct probe_mem *mem, pid_t pid, struct ftp_error *err)
{
	memset(mem, 0, sizeof(*mem));
	mem->pid = pid;
	mem->round = 1;
	mem->blocks = calloc(PROBE_NBLOCKS, sizeof(*mem->blocks));
	if (!mem->blocks)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "allocating the read cache");
	return 0;
}

void probe_mem_release(struct probe_mem *mem)
{
	free(mem->blocks);
	mem->blocks = NULL;
}

void probe_mem_new_round(struct probe_mem *mem)
{
	mem->round++;
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
	ssize_t n = process_vm_readv(mem->pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	return read_error(mem, n < 0 ? errno : EFAULT, addr, len, err);
}

int probe_mem_read(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err)
{
	uint64_t block = addr & ~(uint64_t)(PROBE_BLOCK - 1);
	if (len > PROBE_BLOCK || addr + len - block > PROBE_BLOCK || block == 0)
		return probe_mem_read_direct(mem, addr, buf, len, err);
	size_t slot = (block / PROBE_BLOCK) % PROBE_NBLOCKS;
	if (mem->blocks[slot].addr != block || mem->blocks[slot].round != mem->round) {
		/* Pages are mapped whole, so an aligned block reads whole or not
		 * at all. */
		if (probe_mem_read_direct(mem, block, mem->blocks[slot].data, PROBE_BLOCK, NULL) < 0) {
			mem->blocks[slot].addr = 0;
			return probe_mem_read_direct(mem, addr, buf, len, err);
		}
		mem->blocks[slot].addr = block;
		mem->blocks[slot].round = mem->round;
	}
	memcpy(buf, mem->blocks[slot].data + (addr - block), len);
	return 0;
}

int probe_mem_u64(struct probe_mem *mem, uint64_t addr, uint64_t *out)
{
	return probe_mem_read(mem, addr, out, sizeof(*out), NULL);
}
