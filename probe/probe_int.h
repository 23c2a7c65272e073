/* SPDX-License-Identifier: MIT */
/* probe/ internals: the probe that holds the parts (process/, python/,
 * perf/, native), and the services the parts ask of it. Not part of any
 * interface; perf/perf.h stays out of it, so that python/ never sees
 * perf_event. */
#ifndef FTPROF_PROBE_INT_H
#define FTPROF_PROBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftprof/error.h"
#include "ftprof/probe.h"
#include "ftprof/sample.h"
#include "ftprof/symbols.h"
#include "ftprof/util.h"
#include "process/process.h"
#include "python/python.h"

struct probe_sched; /* perf/sched.c's per-thread events */
struct probe_oncpu; /* perf/oncpu.c's on-CPU samples */

/* The state of tid this round: from the context switches where they are
 * followed (perf/), else from /proc. NULL when out of memory. Lent until the
 * round ends. */
const struct task_info *probe_thread_state(struct ftp_probe *p, pid_t tid);
/* The task tid of the round's task list (read when the walker needs one:
 * before 3.11, or without context switches), or NULL. Lent until the next
 * round. */
const struct task_info *probe_task(const struct ftp_probe *p, pid_t tid);

/* ---- native/: native stacks ------------------------------------------ */

/* Native frames unwound per thread: on 3.8-3.10 each Python call takes about
 * three C frames, so a recursion as deep as the default limit (1000) fits. */
#define PROBE_NATIVE_MAX_DEPTH 4096

struct probe_native; /* the modules, unwinder and symbolizer, see native/splice.c */

/* A thread's user registers and the top of its user stack, as an on-CPU
 * tick copied them (perf_event's REGS_USER and STACK_USER), x86-64. */
struct probe_user_stack {
	uint64_t regs[17];          /* DWARF's order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15, then rip */
	const unsigned char *stack; /* len bytes copied from regs[7] (the stack pointer) up */
	size_t len;
	uint64_t time_ns; /* of the tick, CLOCK_MONOTONIC */
};

/* Reports the target's modules to a new Dwfl kept in p->native and attaches
 * it to the process: blocking, assuming the stopper stops its threads;
 * otherwise to unwind on-CPU ticks' copied stacks (probe_native_splice_sampled).
 * Needs p->info, p->mem and p->max_depth. Returns 0 or a negative FTP_E_*; p->native may be set
 * even on failure (ftp_probe_destroy frees it). */
int probe_native_create(struct ftp_probe *p, struct ftp_error *err);
void probe_native_destroy(struct probe_native *n); /* NULL ok */
/* Unwinds thread s->tid, which must be ptrace-stopped by p->stopper, and
 * replaces s->frames by its native frames, innermost first, with each group
 * of Python frames in place of the eval call that runs it. The frames are
 * lent until the next call; symbol and object strings until destroy. On
 * failure s keeps its Python frames and gets FTP_SAMPLE_NO_NATIVE. */
void probe_native_splice(struct ftp_probe *p, struct ftp_sample *s);
/* Non-blocking: the same from us, the thread's registers and stack as its
 * last tick copied them (the thread keeps running). On 3.12+, Python frames
 * of an eval call entered since the tick leave s without native frames
 * (FTP_SAMPLE_NO_NATIVE), as a failed unwinding does. Returns whether s got
 * native frames. us is read during the call only. */
bool probe_native_splice_sampled(struct ftp_probe *p, struct ftp_sample *s,
                                 const struct probe_user_stack *us);

struct ftp_probe {
	pid_t pid;
	uint64_t round; /* the round being read, or the last one: the one clock
			   of rounds (1, 2, ...); mem has an epoch of its own */
	struct ftp_probe_opts opts;
	struct ftp_target_info info;
	struct ftp_layout L;
	struct probe_mem mem;
	struct ftp_elf *elf; /* the ELF holding _PyRuntime */
	uint64_t bias;
	uint64_t runtime; /* &_PyRuntime */
	/* The C library's sched_yield, [start, end) in the target (free-threaded
	 * builds, whose lock waiters yield as they spin); 0s when not found */
	uint64_t yield_start, yield_end;
	uint64_t code_type; /* &PyCode_Type */
	uint64_t str_type;  /* &PyUnicode_Type */
	uint64_t bytes_type;
	uint64_t dict_type;
	int pthread_tid_off;      /* <= 3.10: offset of the tid in glibc's struct pthread; -1 unknown */
	struct code_cache *codes; /* python/code.c's: NULL until the first lookup */
	struct ftp_frame *frames; /* max_depth */
	unsigned max_depth;
	struct probe_names *names;    /* python/names.c's: NULL until the first refresh */
	struct probe_task_list tasks; /* the round's, when need_task_list (probe.c) */
	struct probe_sched *sched;    /* task_events: NULL until the first round */
	struct probe_stacks *stacks;  /* python/stacks.c's: threads' last still
					stacks; NULL until the first is kept */
	struct gil_seen gil_seen;
	struct probe_waits *waits; /* NULL until the first round */
	struct probe_oncpu *oncpu; /* opts.oncpu_hz: NULL until the first sample */
	struct probe_stopper stopper;
	struct probe_native *native; /* NULL unless opts.native */
	struct ftp_probe_stats stats;
	uint64_t exec_id;         /* probe_proc_exec_id() at attach; 0 unknown */
	uint64_t next_exec_check; /* CLOCK_MONOTONIC ns */
};

/* The reader of p's Python objects (python.h), lent for p's lifetime. */
static inline struct probe_reader probe_reader_get(struct ftp_probe *p)
{
	return (struct probe_reader){ .L = &p->L,
		                      .mem = &p->mem,
		                      .code_type = p->code_type,
		                      .str_type = p->str_type,
		                      .bytes_type = p->bytes_type,
		                      .dict_type = p->dict_type };
}

#endif
