/* SPDX-License-Identifier: MIT */
/* probe/ internals shared between its files. Not part of any interface. */
#ifndef FTPROF_PROBE_INT_H
#define FTPROF_PROBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "ftprof/error.h"
#include "ftprof/probe.h"
#include "ftprof/sample.h"
#include "ftprof/symbols.h"

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

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t probe_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* ---- mem.c: reading target memory ----------------------------------- */

#define PROBE_BLOCK 4096
#define PROBE_NBLOCKS 64

/* A range of target memory: traced reads, prefetched runs. */
struct probe_range {
	uint64_t addr, end;
	size_t off; /* runs: offset of the data in probe_mem.pre */
	bool ok;    /* runs: read whole */
};

/* Reads are cached two ways within a round. A round begins by reading, in
 * one scattered process_vm_readv, every range the previous round read (its
 * trace, coalesced): a target whose threads keep their stacks costs one
 * system call per round. What the prefetch misses is read by 4 KiB blocks. */
struct probe_mem {
	pid_t pid;
	uint64_t round;        /* cached blocks are valid within one round */
	uint64_t reads;        /* process_vm_readv calls */
	uint64_t hits, misses; /* reads served by the prefetch, and not */
	struct {
		uint64_t addr; /* block-aligned; 0 = empty */
		uint64_t round;
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

int probe_mem_init(struct probe_mem *mem, pid_t pid, struct ftp_error *err);
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

/* ---- pyobj.c: Python objects --------------------------------------- */

struct code_entry; /* cache entry, see pyobj.c */

#define RECENT_CODES 32 /* code objects whose headers stay in the prefetch */

struct code_cache {
	struct code_entry **slots;
	size_t nslots, count;
	/* Code objects checked in recent rounds, a ring: a function called on
	 * and off (a loop's callee) is checked from the prefetch, not by a read
	 * of its own, in rounds after one that did not see it. */
	struct {
		uint64_t addr, round;
	} recent[RECENT_CODES];
	unsigned recent_next;
};

/* Reads a str object at addr into out as UTF-8 (unescaped, NUL-terminated,
 * truncated to out_len). Returns 0 or a negative FTP_E_*. */
int probe_read_str(struct ftp_probe *p, uint64_t addr, char *out, size_t out_len);

/* Looks up or decodes the code object at addr. Returns NULL when addr is not
 * a readable code object (counted as torn by the caller). */
struct code_entry *probe_code_get(struct ftp_probe *p, uint64_t addr);
const struct ftp_code *probe_code_pub(const struct code_entry *e);
/* Line of the instruction at byte offset `offset`, -1 if unknown. */
int probe_code_line(struct code_entry *e, const struct ftp_layout *L, int64_t offset);
/* Number of bytecode bytes of the code object. */
uint64_t probe_code_nbytes(const struct code_entry *e);
void probe_code_cache_release(struct code_cache *cache);
/* Adds the headers of the code objects checked in the last rounds to the
 * next round's prefetch. */
void probe_code_prefetch(struct ftp_probe *p);

/* ---- names.c: threading names --------------------------------------- */

struct names_state; /* names.c's caches */

/* Refreshes the map from thread_id to threading's thread name. Failures leave
 * the names unknown; never fatal. */
void probe_names_refresh(struct ftp_probe *p, uint64_t interp);
/* Name of thread_id or NULL. Lent until the next refresh. */
const char *probe_names_get(const struct ftp_probe *p, uint64_t thread_id);
void probe_names_release(struct ftp_probe *p);

/* ---- sched.c: thread states from context switches ------------------ */

struct probe_sched; /* sched.c's per-thread events */

/* The state of tid: from its perf_event context-switch records (opened on
 * first sight), or /proc where perf_event is refused. NULL when out of
 * memory. Lent until the round ends. */
const struct task_info *probe_sched_task(struct ftp_probe *p, pid_t tid);
/* Takes every known thread's state now, before a blocking round stops the
 * target (a stop is a context switch too). */
void probe_sched_freeze(struct ftp_probe *p);
/* Just before a blocking round resumes the target: the switches since the
 * freeze (into and out of the stop) are ftprof's, not the threads' own. */
void probe_sched_stop_ends(struct ftp_probe *p);
/* Closes the events of threads the round did not see. */
void probe_sched_end_round(struct ftp_probe *p);
void probe_sched_release(struct ftp_probe *p);
/* "perf_event context switches", "/proc" or "none". */
const char *probe_sched_source(const struct ftp_probe *p);

/* ---- stacks.c: the stacks of still threads -------------------------- */

/* The ranges the last read of thread tid's stack went through (lent until
 * the thread's entry changes); NULL when none are kept. */
const struct probe_range *probe_stacks_ranges(struct ftp_probe *p, pid_t tid, size_t hint, size_t *n);
/* The same, only when the last round reported the stack without reading it
 * (its ranges are then not in this round's prefetch). */
const struct probe_range *probe_stacks_unread(struct ftp_probe *p, pid_t tid, size_t hint, size_t *n);
/* Reports the stack kept for thread s->tid (at thread state tstate) into s,
 * with its stack_id, when the thread cannot have moved it: it has not run
 * since a read made off its CPU (still), or it has not held the GIL since
 * the last round (gil_still). False when no such stack is kept. hint: where
 * the thread was in the last round's order. */
bool probe_stacks_reuse(struct ftp_probe *p, uint64_t tstate, size_t hint, bool still, bool gil_still,
                        struct ftp_sample *s);
/* Notes the sample just made of s->tid; keeps its stack, and gives s a
 * stack_id, when it is not torn and was read fresh while the thread was off
 * its CPU, or (any_cpu) in a round whose GIL was copied before the frames. */
void probe_stacks_keep(struct ftp_probe *p, uint64_t tstate, size_t hint, struct ftp_sample *s, bool off_cpu,
                       bool any_cpu, size_t trace_mark);
/* Before a round is read: the threads that ran since a round that did not
 * read them will be read; their frames join the round's prefetch. */
void probe_stacks_prefetch(struct ftp_probe *p);
/* After a round that read the whole list of a single interpreter: where it
 * starts and how many threads it had (interp 0: a round that cannot be
 * replayed). */
void probe_stacks_list(struct ftp_probe *p, uint64_t interp, uint64_t head, size_t nthreads);
/* When no thread has run since the last round and the list starts where
 * it did, reports the last round again and returns true (*ret: the
 * callback's nonzero value, else 0). Returns false when a round must be
 * read; the threads' states looked at meanwhile stay the round's. */
bool probe_stacks_replay(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, int *ret);
/* Forgets the threads the round did not see. full: a round read whole. */
void probe_stacks_end_round(struct ftp_probe *p, bool full);
void probe_stacks_release(struct ftp_probe *p);

/* ---- walker.c -------------------------------------------------------- */

int probe_walk(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, struct ftp_error *err);

/* ---- native/: native stacks (blocking mode only) --------------------- */

/* Native frames unwound per thread: on 3.8-3.10 each Python call takes about
 * three C frames, so a recursion as deep as the default limit (1000) fits. */
#define PROBE_NATIVE_MAX_DEPTH 4096

struct probe_native; /* the modules, unwinder and symbolizer, see native/splice.c */

/* Reports the target's modules to a new Dwfl kept in p->native and attaches
 * it to the process, assuming the stopper stops its threads. Needs p->info
 * and p->max_depth. Returns 0 or a negative FTP_E_*; p->native may be set
 * even on failure (ftp_probe_destroy frees it). */
int probe_native_create(struct ftp_probe *p, struct ftp_error *err);
void probe_native_destroy(struct probe_native *n); /* NULL ok */
/* Unwinds thread s->tid, which must be ptrace-stopped by p->stopper, and
 * replaces s->frames by its native frames, innermost first, with each group
 * of Python frames in place of the eval call that runs it. The frames are
 * lent until the next call; symbol and object strings until destroy. On
 * failure s keeps its Python frames and gets FTP_SAMPLE_NO_NATIVE. */
void probe_native_splice(struct ftp_probe *p, struct ftp_sample *s);

/* ---- runtime.c: finding the interpreter ------------------------------ */

/* Finds _PyRuntime, the version and the layout; fills p->info, p->L, type
 * addresses. */
int probe_runtime_find(struct ftp_probe *p, struct ftp_error *err);

/* ---- the probe ------------------------------------------------------- */

struct thread_name {
	uint64_t thread_id;
	char name[128];
};

/* What /proc said about a task at the start of the round. */
struct task_info {
	pid_t tid;
	char state; /* stat's letter, 0 when not read */
	bool in_syscall;
	long sys_nr;
	uint64_t sys_arg0;
	bool off_cpu; /* the context switches say it is off its CPU now */
	bool still;   /* off_cpu at the last look too, with no switch since: it
			 has not run, so its stack has not moved */
};

/* A thread's last sample, and the last stack read of it off its CPU: while
 * the thread stays still the stack is reported again without a read. */
struct stack_entry {
	pid_t tid;
	uint64_t tstate, thread_id; /* must match too: a tid can be reused */
	uint64_t id;                /* ftp_sample.stack_id of frames; 0: none kept */
	unsigned nframes, cap, flags;
	struct ftp_frame *frames;
	struct ftp_sample sample;   /* as last reported by a round read whole */
	uint64_t seen;              /* round it was last reported in */
	struct probe_range *ranges; /* what reading frames took (for the prefetch) */
	size_t nranges, ranges_cap;
	bool reused;  /* its stack was not read in the last round */
	bool off_cpu; /* frames read while the thread was off its CPU */
};

/* The GIL as the last round saw it, copied before any frame (struct
 * gil_view in walker.c). */
struct gil_seen {
	bool valid;
	uint64_t interp, addr;
	uint64_t last_holder, switches;
};

struct ftp_probe {
	pid_t pid;
	struct ftp_probe_opts opts;
	struct ftp_target_info info;
	struct ftp_layout L;
	struct probe_mem mem;
	struct ftp_elf *elf; /* the ELF holding _PyRuntime */
	uint64_t bias;
	uint64_t runtime;   /* &_PyRuntime */
	uint64_t code_type; /* &PyCode_Type */
	uint64_t str_type;  /* &PyUnicode_Type */
	uint64_t bytes_type;
	uint64_t dict_type;
	int pthread_tid_off; /* <= 3.10: offset of the tid in glibc's struct pthread; -1 unknown */
	struct code_cache codes;
	struct ftp_frame *frames; /* max_depth */
	unsigned max_depth;
	struct thread_name *names;
	size_t nnames;
	struct names_state *names_state; /* NULL until the first refresh */
	uint64_t names_at;               /* CLOCK_MONOTONIC of the last refresh */
	bool names_missing;              /* a thread of the round had no name */
	struct task_info *tasks;         /* the round's task list */
	size_t ntasks, tasks_cap;
	struct probe_sched *sched;  /* task_events: NULL until the first round */
	struct stack_entry *stacks; /* task_events: threads' last still stacks */
	size_t nstacks, stacks_cap;
	uint64_t stack_ids;              /* the last ftp_sample.stack_id given */
	uint64_t list_interp, list_head; /* the last round's single interpreter
					    and first thread state; 0: none */
	size_t list_threads;             /* and its number of threads */
	struct gil_seen gil_seen;
	uint64_t full_round_at; /* CLOCK_MONOTONIC of the last round read */
	struct probe_stopper stopper;
	struct probe_native *native; /* NULL unless opts.native */
	struct ftp_probe_stats stats;
	uint64_t exec_id;         /* probe_proc_exec_id() at attach; 0 unknown */
	uint64_t next_exec_check; /* CLOCK_MONOTONIC ns */
};

#endif
