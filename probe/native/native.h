/* SPDX-License-Identifier: MIT */
/* probe/native/: native stacks. Four parts, each with its own state:
 *   modules.c    the target's mapped modules (a Dwfl reported from its maps)
 *                and each one's ELF for symbols/'s symbolizer;
 *   symbolize.c  run-time address -> function and module, cached;
 *   unwind.c     unwinders behind one small interface (ptrace-stopped
 *                registers today);
 *   splice.c     the probe's entry points: unwind, symbolize, and put each
 *                group of Python frames in place of the eval call running it.
 * Only splice.c sees struct ftp_probe. */
#ifndef FTPROF_PROBE_NATIVE_H
#define FTPROF_PROBE_NATIVE_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ftprof/error.h"
#include "ftprof/symbols.h"

/* ---- modules.c ------------------------------------------------------ */

struct native_modules; /* opaque */

/* A module as the symbolizer needs it. */
struct native_module {
	const char *name;    /* the path in the target's maps; "[vdso: PID]" */
	uint64_t bias;       /* run-time address - link-time address */
	struct ftp_elf *elf; /* the file whose symbols name its functions (its
	                        separate debug file when only that has .symtab);
	                        NULL when none can be read */
	/* Its dynamic symbols name Python's C API (Py*, _Py*), defined or
	 * imported: the interpreter, a program linked with it, an extension.
	 * Only such a module can update a Python object's reference count.
	 * False for libc, libm and the like, and true when it has no dynamic
	 * symbols to tell by. */
	bool python;
};

/* Reports the modules mapped in pid, as /proc/PID/maps lists them now: a
 * library loaded later is not known, and its frames come out as bare
 * addresses (and may end the unwinding early, without its CFI). Returns 0
 * and stores modules the caller must native_modules_destroy(), or a negative
 * FTP_E_* with err filled (*out untouched). */
int native_modules_create(struct native_modules **out, pid_t pid, struct ftp_error *err);
/* Loads each module's ELF, CFI and function symbols now, while the target
 * runs, rather than at its first frame, with the target stopped. Separate
 * debug files are looked for now only (by build id, debuglink, then
 * debuginfod when DEBUGINFOD_URLS is set), never later. Call it once, after
 * the unwinder has attached the modules' Dwfl to the process: the image of
 * a deleted file is then read from the target's memory. Returns 0 or
 * -FTP_E_NOMEM with err filled. */
int native_modules_prime(struct native_modules *m, struct ftp_error *err);
void native_modules_destroy(struct native_modules *m); /* NULL ok */
/* Gives back the resident pages of the modules' files that libdwfl and the
 * symbol tables mapped (probe_file_pages_drop): a long run holds the pages
 * read since, not every page ever read. NULL ok. */
void native_modules_drop_pages(struct native_modules *m);
/* The module mapped at a run-time address, NULL if none. Lent until destroy. */
const struct native_module *native_modules_find(struct native_modules *m, uint64_t addr);
/* The Dwfl the modules are reported to, for an unwinder. Lent until destroy. */
Dwfl *native_modules_dwfl(struct native_modules *m);

/* ---- symbolize.c ---------------------------------------------------- */

struct native_symbolizer; /* opaque: a cache of addresses and names */

/* What an address resolved to. */
struct native_sym {
	const char *symbol; /* the function, without a version suffix; NULL if unknown */
	const char *object; /* the module's name; NULL if no module maps the address */
	uint64_t start;     /* the function's run-time address, when symbol is set */
	bool is_eval;       /* the interpreter's frame evaluator (see symbolize.c) */
};

/* A symbolizer over mods, which must outlive it. Returns NULL when out of
 * memory. */
struct native_symbolizer *native_symbolizer_create(struct native_modules *mods);
void native_symbolizer_destroy(struct native_symbolizer *sz); /* NULL ok */
/* Symbolizes a run-time address (of an instruction: a return address less
 * one). Returns an entry lent until the next call, whose strings live until
 * destroy; NULL only when memory runs out. */
const struct native_sym *native_symbolize(struct native_symbolizer *sz, uint64_t addr);
/* Forgets the addresses resolved so far when they pass a bound (a long run
 * on code that keeps moving meets new ones without end); the strings stay,
 * and so do the entries' strings lent before. NULL ok. */
void native_symbolizer_trim(struct native_symbolizer *sz);

/* ---- inline.c ------------------------------------------------------ */

/* What DWARF says of the instruction at a run-time address. Strings are
 * libdw's, lent until the modules are destroyed. */
struct native_inline {
	bool has_dwarf;      /* the module has DWARF for the address */
	const char *inlined; /* the innermost function inlined there, or NULL */
	/* The innermost reference count routine the instruction belongs to
	 * (inlined, or the function itself), NULL if none. */
	const char *refcount;
	/* With refcount: its object, when obj_known, is the value of DWARF
	 * register obj_reg plus obj_off, or with obj_deref the pointer stored
	 * at that address. */
	bool obj_known;
	bool obj_deref;
	int obj_reg;
	int64_t obj_off;
	bool refcount_atomic; /* (set by the caller) the update is atomic: a shared count */
};

/* What DWARF says of the instructions of mods, each function's inline
 * instances indexed on first use. NULL when out of memory. */
struct native_inlines; /* opaque */
struct native_inlines *native_inlines_create(struct native_modules *mods);
void native_inlines_destroy(struct native_inlines *x); /* NULL ok; before its modules */
/* Called once a window: when the functions walked hold more than a bound,
 * forgets those not used since the last call (they are walked again on
 * use). What a long run keeps stays within the bound or one window's use.
 * The names lent by native_inline_at stay valid (they are libdw's). NULL
 * ok. */
void native_inlines_trim(struct native_inlines *x);
/* The bound: walked ranges kept across a trim whatever their use (a range
 * is 48 bytes). */
#define NATIVE_INLINES_KEEP 16384u
/* The ranges the walked functions hold now. */
size_t native_inlines_held(const struct native_inlines *x);

/* Fills out for addr. Returns 0, or -FTP_E_NOTFOUND when no module maps
 * addr (out then says nothing). */
int native_inline_at(struct native_inlines *x, uint64_t addr, struct native_inline *out);

/* ---- unwind.c ------------------------------------------------------- */

/* One frame of a native stack, as an unwinder found it. */
struct native_pc {
	uint64_t pc;
	uint64_t sp;     /* the stack pointer in this frame, 0 if unknown */
	bool activation; /* pc is where the frame is (the innermost frame, a
	                    signal frame), not a return address */
};

/* A thread's native stack, innermost frame first. */
struct native_stack {
	struct native_pc *pcs; /* cap of them, the caller's */
	unsigned n, cap;
	bool truncated; /* deeper than cap: the outer frames are missing */
};

/* x86-64: the registers a copied stack is unwound from, in DWARF's order
 * (rax rdx rcx rbx rsi rdi rbp rsp r8-r15), then the program counter. */
#define NATIVE_NREGS 17
#define NATIVE_REG_SP 7

/* What an unwinder starts from: a stopped thread (ptrace unwinder), or a
 * thread's registers and the top of its stack as a perf_event sample copied
 * them (sample unwinder). */
struct native_unwind_req {
	pid_t tid;
	const uint64_t *regs;       /* sample: NATIVE_NREGS of them */
	const unsigned char *stack; /* sample: the bytes from regs[NATIVE_REG_SP] up */
	size_t stack_len;
};

struct native_unwinder;

/* An unwinder's operations, in the manner of libdwfl's Dwfl_Thread_Callbacks. */
struct native_unwinder_ops {
	/* Unwinds req's thread into st (which it empties first). Whatever was
	 * unwound before an error is the stack. */
	void (*unwind)(struct native_unwinder *u, const struct native_unwind_req *req,
	               struct native_stack *st);
	void (*destroy)(struct native_unwinder *u); /* never called with NULL */
};

struct native_unwinder {
	const struct native_unwinder_ops *ops;
};

/* Unwinds each thread of pid from its registers, which the caller has
 * ptrace-stopped (it neither attaches nor detaches), with the CFI of mods,
 * which must outlive it. Returns 0 and stores an unwinder to destroy with
 * native_unwinder_destroy(), or a negative FTP_E_* with err filled. */
int native_unwind_ptrace_create(struct native_unwinder **out, struct native_modules *mods, pid_t pid,
                                struct ftp_error *err);

/* Reads the word at addr in the target into *word. Returns true on success. */
typedef bool native_read_fn(void *arg, uint64_t addr, uint64_t *word);

/* Unwinds a thread of pid from a sample (req's registers and copied stack)
 * without stopping it: words inside the copy come from the copy, any other
 * from read (the target's memory now: a stack deeper than the copy, and the
 * data some CFI reads). Threads are neither attached nor stopped. mods must
 * outlive it; read is called with read_arg until destroy. Returns 0 and
 * stores an unwinder to destroy with native_unwinder_destroy(), or a negative
 * FTP_E_* with err filled (-FTP_E_UNSUPPORTED off x86-64). */
int native_unwind_sample_create(struct native_unwinder **out, struct native_modules *mods, pid_t pid,
                                native_read_fn *read, void *read_arg, struct ftp_error *err);

static inline void native_unwind(struct native_unwinder *u, const struct native_unwind_req *req,
                                 struct native_stack *st)
{
	u->ops->unwind(u, req, st);
}

static inline void native_unwinder_destroy(struct native_unwinder *u) /* NULL ok */
{
	if (u)
		u->ops->destroy(u);
}

/* Turns a libdwfl failure into an ftp_error: r > 0 is an errno value, r < 0
 * a libdwfl error. Returns the negative FTP_E_*. */
int native_dwfl_fail(struct ftp_error *err, int r, const char *call, pid_t pid);

#endif
