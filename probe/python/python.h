/* SPDX-License-Identifier: MIT */
/* probe/python/: the CPython runtime in the target: finding it, walking its
 * threads and frames, the code cache, thread names and the reuse of still
 * stacks. Reads memory through process/; learns thread states from the probe
 * (probe_thread_state), never from perf_event. Private to probe/. */
#ifndef FTPROF_PROBE_PYTHON_H
#define FTPROF_PROBE_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftprof/sample.h"
#include "ftprof/symbols.h"
#include "process/process.h"

struct ftp_probe;

/* What reading CPython objects takes: the layout, the memory reader and the
 * addresses of the types objects are checked against (0: unknown, not
 * checked). The probe lends one (probe_reader_get), whose pointers live as
 * long as the probe. Functions that need no more of the probe take this. */
struct probe_reader {
	const struct ftp_layout *L;
	struct probe_mem *mem;
	uint64_t code_type, str_type, bytes_type, dict_type;
};

/* ---- code.c: Python objects --------------------------------------- */

struct code_entry; /* cache entry, see code.c */
struct code_cache; /* code.c's entries by address: p->codes, NULL until the first lookup */

/* Reads a str object at addr into out as UTF-8 (unescaped, NUL-terminated,
 * truncated to out_len). Returns 0 or a negative FTP_E_*. */
int probe_read_str(const struct probe_reader *r, uint64_t addr, char *out, size_t out_len);

/* Looks up or decodes the code object at addr. Returns NULL when addr is not
 * a readable code object (counted as torn by the caller). */
struct code_entry *probe_code_get(struct ftp_probe *p, uint64_t addr);
const struct ftp_code *probe_code_pub(const struct code_entry *e);
/* Line of the instruction at byte offset `offset`, -1 if unknown. */
int probe_code_line(struct code_entry *e, const struct ftp_layout *L, int64_t offset);
void probe_code_cache_destroy(struct code_cache *cache); /* NULL ok */
/* Frees the entries not seen since round `before`, and those replaced
 * before it (ftp_probe_trim). */
void probe_code_trim(struct code_cache *cache, uint64_t before);
/* Code objects held, replaced ones included. */
uint64_t probe_code_count(const struct code_cache *cache); /* NULL: 0 */
/* Adds the headers of the code objects checked in the last rounds to the
 * next round's prefetch. */
void probe_code_prefetch(struct ftp_probe *p);

/* ---- objname.c: short names of objects ---------------------------- */

/* What naming an instance of a type takes. */
enum probe_obj_kind {
	PROBE_OBJ_OTHER,    /* known by its type alone */
	PROBE_OBJ_TYPE,     /* a type: its tp_name */
	PROBE_OBJ_STR,      /* an exact str: its text, quoted, cut at 40 characters */
	PROBE_OBJ_CODE,     /* co_qualname (co_name before 3.11) */
	PROBE_OBJ_FUNCTION, /* func_qualname */
	PROBE_OBJ_MODULE,   /* md_name */
};

/* The name of the type at type (tp_name, a C string: "list",
 * "_thread.lock"), into out, cut to out_len - 1 bytes. Returns 0, or a
 * negative FTP_E_* (FTP_E_TORN: no name, or an empty one). */
int probe_type_name(const struct probe_reader *r, uint64_t type, char *out, size_t out_len);
/* The kind of the type at type, whose tp_name the caller read (NULL:
 * unreadable). Reads its tp_flags. */
enum probe_obj_kind probe_obj_kind(const struct probe_reader *r, uint64_t type, const char *tp_name);
/* The short name of obj, an instance of a type of that kind, into out as
 * UTF-8 (not escaped, truncated to out_len, at least 8). Returns 0, or a
 * negative FTP_E_* with out "" (FTP_E_UNSUPPORTED: a kind without names). */
int probe_obj_name(const struct probe_reader *r, uint64_t obj, enum probe_obj_kind kind, char *out,
                   size_t out_len);

/* ---- names.c: threading names --------------------------------------- */

struct probe_names; /* names.c's names and caches: p->names, NULL until the first refresh */

/* Refreshes the map from thread_id to threading's thread name of interp when
 * it is due: every call with several interpreters (single false), else now
 * and then, sooner after a thread had no name. Failures leave the names
 * unknown; never fatal. */
void probe_names_refresh(struct ftp_probe *p, uint64_t interp, bool single);
/* Name of thread_id or NULL (noted: the next refresh comes sooner). Lent
 * until the next refresh. */
const char *probe_names_get(struct ftp_probe *p, uint64_t thread_id);
void probe_names_destroy(struct probe_names *names); /* NULL ok */

/* ---- stacks.c: the stacks of still threads -------------------------- */

struct probe_stacks; /* stacks.c's threads of the last round: p->stacks, NULL until first kept */

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
void probe_stacks_destroy(struct probe_stacks *stacks); /* NULL ok */

/* Updates the kept sample of s->tid with the state, wait and on_cpu the
 * round settled (a round replayed reports them again); hint: its place in
 * the round. */
void probe_stacks_classified(struct ftp_probe *p, size_t hint, const struct ftp_sample *s);

/* ---- waits.c: what each thread waits on, and who holds it ------------- */

struct probe_waits; /* waits.c's caches and the round being read */

/* What a round's interpreter says for all its threads. */
struct waits_round {
	uint64_t gil;           /* struct _gil_runtime_state, 0 when no GIL is in force */
	uint64_t gil_holder;    /* its holder's thread state, 0 if free */
	bool gc_collecting;     /* the collector runs */
	bool world_stopped;     /* free-threaded: a stop-the-world pause */
	uint64_t stw_requester; /* its requester's thread state, 0 none */
};

/* One thread of a round as the walker read it. */
struct probe_wait_thread {
	struct ftp_sample s; /* its frames are copied */
	uint64_t tstate;
	uint64_t first_frame;      /* the innermost frame */
	int ts_state;              /* tstate->state (3.13+), -1 unknown */
	uint64_t critical_section; /* free-threaded: tstate->critical_section */
	struct task_info task;     /* valid when has_task */
	bool has_task;
	bool events; /* task.off_cpu comes from context switches */
};

/* Starts a round of one interpreter. Returns 0 or -FTP_E_NOMEM. */
int probe_waits_begin(struct ftp_probe *p, const struct waits_round *r);
/* Keeps a thread for the round. Returns 0 or -FTP_E_NOMEM. */
int probe_waits_add(struct ftp_probe *p, const struct probe_wait_thread *t);
/* Settles every kept thread's state, wait and holder and reports them to
 * fn, in the order they were added; returns fn's nonzero value or 0. */
int probe_waits_report(struct ftp_probe *p, ftp_sample_fn *fn, void *arg);
void probe_waits_release(struct ftp_probe *p);

/* ---- walker.c -------------------------------------------------------- */

int probe_walk(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, struct ftp_error *err);

/* ---- runtime.c: finding the interpreter ------------------------------ */

/* Finds _PyRuntime, the version and the layout; fills p->info, p->L, type
 * addresses. */
int probe_runtime_find(struct ftp_probe *p, struct ftp_error *err);

/* The GIL as the last round saw it, copied before any frame (struct
 * gil_view in walker.c). */
struct gil_seen {
	bool valid;
	uint64_t interp, addr;
	uint64_t last_holder, switches;
};

#endif
