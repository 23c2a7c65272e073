/* SPDX-License-Identifier: MIT */
/* probe/process/: what the OS tells about a process: /proc, its memory
 * (through a memory source), ptrace stops. Knows nothing of Python or
 * perf_event. Private to probe/. */
#ifndef FTPROF_PROBE_PROCESS_H
#define FTPROF_PROBE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ftprof/error.h"
#include "ftprof/util.h"

/* Little-endian loads from a buffer read out of the target. */
static inline uint64_t probe_load_u64(const unsigned char *buf, uint32_t off)
{
	uint64_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static inline uint32_t probe_load_u32(const unsigned char *buf, uint32_t off)
{
	uint32_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* ---- proc.c: /proc/PID ---------------------------------------------- */

struct probe_map {
	uint64_t start, end, offset;
	char perms[5];
	char *path; /* NULL for anonymous mappings */
};

struct probe_maps {
	struct probe_map *v;
	size_t n;
};

/* Checks that pid exists and can be read: -FTP_E_NOPROC, -FTP_E_PERM. */
int probe_proc_check(pid_t pid, struct ftp_error *err);
/* Fills err with the message for a process we may not read, with advice. */
int probe_perm_error(pid_t pid, struct ftp_error *err);
int probe_proc_exe(pid_t pid, char *buf, size_t len, struct ftp_error *err);
/* A hash of /proc/PID/auxv: exec gives a process a new auxiliary vector (entry
 * point, vDSO and AT_RANDOM addresses), so a change means another program.
 * 0 when it cannot be read (gone, a zombie, no permission). */
uint64_t probe_proc_exec_id(pid_t pid);
/* The command line, arguments joined by spaces; "" when unreadable. */
void probe_proc_cmdline(pid_t pid, char *buf, size_t len);
/* Gives back the resident pages of this process's private mappings of the
 * files named (paths[i], NULL ok), but the pages written (a private copy):
 * they stay mapped and read back from the page cache on use. Returns the
 * bytes given back. */
size_t probe_file_pages_drop(const char *const *paths, size_t n);
int probe_maps_read(struct probe_maps *maps, pid_t pid, struct ftp_error *err);
void probe_maps_release(struct probe_maps *maps);

/* Task ids of pid into *tids (malloc'd, caller frees). Returns the count or a
 * negative FTP_E_*. */
long probe_tasks(pid_t pid, pid_t **tids, struct ftp_error *err);

/* State letter of /proc/PID/task/TID/stat, or 0 when it cannot be read. */
char probe_task_state(pid_t pid, pid_t tid);

/* The system call a blocked task is in, from /proc/PID/task/TID/syscall. */
struct task_syscall {
	long nr;
	uint64_t arg0, arg1;
	uint64_t sp;    /* the user stack pointer at the call */
	uint64_t pc;    /* the user instruction pointer: just after the call */
	bool restarted; /* went on as restart_syscall: nr from wchan, no arguments */
	bool running;   /* not blocked at all: on a CPU or waiting for one */
};
/* Returns false when the task is running (out->running) or its call is
 * unknown. */
bool probe_task_syscall(pid_t pid, pid_t tid, struct task_syscall *out);
/* The same from a descriptor kept open: one pread per look. */
int probe_task_syscall_open(pid_t pid, pid_t tid);
bool probe_task_syscall_read(int fd, pid_t pid, pid_t tid, struct task_syscall *out);
struct task_info;
/* t's state letter and, when blocked, its system call, from /proc (t->tid
 * set). Returns whether the call file found it running: it woke between
 * the two reads. */
bool probe_task_read(pid_t pid, struct task_info *t);

/* What /proc said about a task at the start of the round. */
struct task_info {
	pid_t tid;
	char state; /* stat's letter, 0 when not read */
	bool in_syscall;
	long sys_nr;
	uint64_t sys_arg0;
	uint64_t sys_sp; /* its stack pointer at the call; 0 unknown */
	bool off_cpu;    /* the context switches say it is off its CPU now */
	/* Off its CPU as the round shows it: for a thread able to run, as at
	 * the round's one instant (perf/sched.c), else off_cpu. States use
	 * this; whether a stack read may have moved uses off_cpu. */
	bool off_cpu_shown;
	bool still; /* off_cpu at the last look too, with no switch since: it
			 has not run, so its stack has not moved */
	/* Where it blocked last (the context switches' registers): the first
	 * argument of that system call (a futex's address), 0 unknown; and the
	 * CPU time it has run since it woke from that block, UINT64_MAX
	 * unknown. A thread woken from a wait runs the waiting code a moment
	 * before it does anything else. */
	uint64_t block_arg0;
	uint64_t ran_since_block_ns;
	/* Its last switch onto a CPU and off one, CLOCK_MONOTONIC; 0 unknown */
	uint64_t in_ns, out_ns;
	uint64_t on_cpu_for_ns; /* on a CPU now: since in_ns; else 0 */
	/* Its last switch out left it able to run inside a system call: it
	 * gave its CPU away (sched_yield), as a spinning lock waiter does
	 * between looks at its lock. */
	bool yielded;
};

/* The tasks of a process as one round found them, by tid. Zeroed is empty;
 * probe_task_list_release frees it. */
struct probe_task_list {
	struct task_info *v;
	size_t n, cap;
	struct ftp_hindex index; /* by tid */
};

/* Makes l every task of pid, each with its /proc state and system call when
 * states is set. Returns 0, or a negative FTP_E_* with err filled and l as
 * it was (or, out of memory while indexing, empty). */
int probe_task_list_read(struct probe_task_list *l, pid_t pid, bool states, struct ftp_error *err);
/* Makes l a copy of tasks[0..n-1] (the walker fuzzer's fake process).
 * Returns 0, or -FTP_E_NOMEM with l as it was or empty. */
int probe_task_list_set(struct probe_task_list *l, const struct task_info *tasks, size_t n);
/* The task tid of l (the first, were there two), or NULL. Lent until l
 * changes. */
const struct task_info *probe_task_list_find(const struct probe_task_list *l, pid_t tid);
void probe_task_list_release(struct probe_task_list *l);

/* ---- mem.c: reading target memory ----------------------------------- */

#define PROBE_BLOCK 4096
#define PROBE_NBLOCKS 64

/* A range of target memory: traced reads, prefetched runs. */
struct probe_range {
	uint64_t addr, end;
	size_t off; /* runs: offset of the data in probe_mem.pre */
	bool ok;    /* runs: read whole */
};

/* Where a memory reader's bytes come from, chosen at run time: the live
 * process (probe_mem_process, the default), a fuzzer's fake address space,
 * later a core file. A table of callbacks, as libdwfl's
 * Dwfl_Thread_Callbacks. */
struct probe_mem_source {
	/* Copies the remote ranges, in order, into the local buffers taken as
	 * one stream, like process_vm_readv(2) with flags 0: stops at the first
	 * byte that cannot be read and returns the count copied before it, or
	 * -1 with errno set when nothing was (EFAULT: not mapped; ESRCH: the
	 * process is gone; EPERM). arg is the one given with the source. */
	ssize_t (*readv)(void *arg, const struct iovec *local, unsigned long nlocal,
	                 const struct iovec *remote, unsigned long nremote);
};

/* process_vm_readv(2) on the pid passed as arg ((void *)(intptr_t)pid). */
extern const struct probe_mem_source probe_mem_process;

/* Reads are cached two ways within a round. A round begins by reading, in
 * one scattered process_vm_readv, every range the previous round read (its
 * trace, coalesced): a target whose threads keep their stacks costs one
 * system call per round. What the prefetch misses is read by 4 KiB blocks. */
struct probe_mem {
	pid_t pid;                          /* for messages */
	const struct probe_mem_source *src; /* where the bytes come from */
	void *src_arg;
	uint64_t epoch;        /* cached blocks are valid within one epoch: a
				  round, or part of one after probe_mem_fresh */
	uint64_t reads;        /* process_vm_readv calls */
	uint64_t hits, misses; /* reads served by the prefetch, and not */
	struct {
		uint64_t addr; /* block-aligned; 0 = empty */
		uint64_t epoch;
		unsigned char data[PROBE_BLOCK];
	} * blocks;                /* PROBE_NBLOCKS */
	bool prefetch;             /* trace and prefetch (off: blocks only) */
	struct probe_range *trace; /* this round's reads, neighbours merged */
	size_t ntrace, trace_cap;
	struct probe_range *planned; /* the trace the runs were planned from */
	size_t nplanned, planned_cap;
	size_t nruns_planned, planned_total; /* runs (0: none) and bytes of that plan */
	struct probe_range *runs;            /* this round's prefetch, sorted */
	size_t nruns, runs_cap;
	unsigned char *pre; /* their data */
	size_t pre_cap;
	bool trace_sealed; /* the next read starts a range of its own */
	bool direct;       /* probe_mem_fresh(): past the prefetch, fresh blocks */
	size_t hint_run;   /* the run of the last prefetch hit */
	uint64_t first;    /* the prefetch copies the run holding this first */
	size_t first_run;  /* that run's index this round, SIZE_MAX if none */
	struct probe_range *sort_tmp;
	size_t sort_cap;
};

/* A reader of pid's memory through process_vm_readv. Returns 0 or
 * -FTP_E_NOMEM. */
int probe_mem_init(struct probe_mem *mem, pid_t pid, struct ftp_error *err);
/* Reads through src (with arg) from now on instead; src is lent for the
 * reader's life. */
void probe_mem_set_source(struct probe_mem *mem, const struct probe_mem_source *src, void *arg);
/* The cache's epoch: it changes whenever what was read before may be stale
 * (each round, and entering fresh mode). A cache of objects read through
 * the reader checks an object again when the epoch has changed. */
static inline uint64_t probe_mem_epoch(const struct probe_mem *mem)
{
	return mem->epoch;
}
void probe_mem_release(struct probe_mem *mem);
/* Starts a new round: what was cached before is stale. With prefetch on,
 * reads what the last round read, in one scattered read. */
void probe_mem_new_round(struct probe_mem *mem);
/* Reads len bytes at addr, through the round's block cache. Returns 0 or
 * -FTP_E_READ (bad address), -FTP_E_EXITED, -FTP_E_PERM; err may be NULL. */
int probe_mem_read(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err);
/* The same, bypassing the cache. */
int probe_mem_read_direct(struct probe_mem *mem, uint64_t addr, void *buf, size_t len, struct ftp_error *err);
int probe_mem_u64(struct probe_mem *mem, uint64_t addr, uint64_t *out);
/* Reads n pieces of len bytes, the i-th at addrs[i] into out + i * len, past
 * the cache, in as few scattered reads as the kernel allows: ok[i] says
 * whether it was read. Returns 0, or -FTP_E_EXITED, -FTP_E_PERM. */
int probe_mem_gather(struct probe_mem *mem, const uint64_t *addrs, size_t n, size_t len, unsigned char *out,
                     bool *ok);
/* The round's prefetched copy of [addr, addr + len), counted and traced as a
 * read; NULL when the prefetch does not hold it whole (read it then). Valid
 * until the next round. */
const unsigned char *probe_mem_view(struct probe_mem *mem, uint64_t addr, size_t len);
/* With on, reads skip the round's prefetch and read their blocks anew (a
 * read again of what changed in the snapshot); off goes back. */
void probe_mem_fresh(struct probe_mem *mem, bool on);
/* In fresh mode: reads anew, in one scattered read, the blocks the ranges
 * touch (the first `most` of them, at most as many as the block cache
 * holds), so that reading them again costs no system call of its own. */
void probe_mem_fresh_blocks(struct probe_mem *mem, const struct probe_range *ranges, size_t n, size_t most);
/* Reads into the round's block cache, in one scattered read, the blocks of
 * the ranges the round's prefetch does not hold (as many as the cache
 * takes), so that reading them costs no system call of its own. */
void probe_mem_fill(struct probe_mem *mem, const struct probe_range *ranges, size_t n);
/* From the next round on, the prefetch copies the range holding addr before
 * any other: what it reads there is older than every other copy of the
 * round. copied_first tells whether [addr, addr + len) was so copied in
 * this round. */
void probe_mem_copy_first(struct probe_mem *mem, uint64_t addr);
bool probe_mem_copied_first(const struct probe_mem *mem, uint64_t addr, size_t len);
/* The ranges a part of the round reads: begin returns a mark, traced the
 * ranges read since (lent until the next read). */
size_t probe_mem_trace_begin(struct probe_mem *mem);
const struct probe_range *probe_mem_traced(const struct probe_mem *mem, size_t since, size_t *n);
/* Adds ranges to the next round's prefetch, as if this round had read them. */
void probe_mem_trace_extend(struct probe_mem *mem, const struct probe_range *ranges, size_t n);

/* ---- stopper.c: ptrace stop of every thread ------------------------- */

struct stopper_reaper; /* stopper.c's helper thread */

struct probe_stopper {
	pid_t pid;
	pid_t *tids;
	int *pending_sig; /* signal to re-inject at detach */
	size_t n, cap;
	pid_t *dying; /* tracees that died while stopped, until waited for */
	size_t ndying, dying_cap;
	struct stopper_reaper *reaper; /* from the first stop; NULL before */
	size_t job_stopped;            /* tasks the last probe_stop found in a job-control
			       stop (SIGSTOP, SIGTSTP, ...): they stay stopped */
};

/* Seizes and interrupts every task of pid; on failure everything seized is
 * released. Tasks that die while seized are waited for (by a helper thread
 * started on the first call if the stopper is blocked meanwhile), so that
 * neither the target's parent nor an exec in the target waits on ftprof.
 * Returns 0 or a negative FTP_E_*. */
int probe_stop(struct probe_stopper *st, pid_t pid, struct ftp_error *err);
/* Detaches every seized task. Never fails; safe on a zeroed stopper. */
void probe_resume(struct probe_stopper *st);
void probe_stopper_release(struct probe_stopper *st);

#endif
