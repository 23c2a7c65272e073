/* SPDX-License-Identifier: MIT */
/* On-CPU samples: one perf_event cpu-clock per thread, sampling it every
 * period of CPU time it uses, wherever it is, into a ring of its own that
 * ftprof reads without a system call. Each tick brings the CPU, the time and
 * the thread's user registers; its instruction is named (function, module,
 * DWARF inline chain) once per address, and a tick inside a reference count
 * routine gets the object from the registers and its type from the target.
 *
 * Per-thread rings rather than per-CPU ones: a per-CPU event cannot be
 * limited to one process's threads without one event per thread and CPU
 * (threads x CPUs descriptors: 4096 at 64 x 64), while a per-thread event
 * follows its thread on every CPU: 64 descriptors and 64 rings of 32 KiB at
 * 64 threads, however many cores. docs/oncpu.md says more. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native/native.h"
#include "perf/perf.h"
#include "probe_int.h"

#define RING_PAGES 8 /* 32 KiB: 170 ticks of 192 bytes */

/* Native stacks without stopping the target (docs/native.md): each tick also
 * copies the top STACK_COPY bytes of the thread's user stack. 16 KiB holds a
 * CPython thread's C frames from a C function down to its outermost eval
 * calls (an eval call takes a few hundred bytes of C stack; 3.11+ keeps
 * Python-to-Python calls off it); deeper frames are read from the target.
 * A tick is then about 16.6 KiB, and its ring of 256 KiB holds 15: several
 * rounds' worth at the thread's own rate. */
#define STACK_COPY 16384
#define RING_PAGES_STACK 64

/* The user registers of a tick, PERF_SAMPLE_REGS_USER, in the order of their
 * bits in enum perf_event_x86_regs: AX BX CX DX SI DI BP SP IP, R8-R15. */
#define REGS_MASK (0x1ffull | (0xffull << 16))
#define NREGS 17
#define REG_IP 8

/* DWARF's x86-64 register numbers (rax rdx rcx rbx rsi rdi rbp rsp r8-r15)
 * to their place in a tick's registers. */
static const int dwarf_to_tick[16] = { 0, 3, 2, 1, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16 };

#define IPS_MIN 1024

/* What an instruction is, found once per address. */
struct ip_entry {
	uint64_t ip; /* 0: free */
	enum ftp_cpu_kind kind;
	const char *symbol, *object, *inlined;
	struct native_inline inl; /* refcount: where the object is */
	/* In the interpreter's own module, which has no DWARF: its symbols are
	 * the nearest exported function's, and cannot tell the evaluator. */
	bool interp_stripped;
	uint32_t used; /* the trim window it was last used in */
};

#define TYPES_MIN 256

struct type_entry {
	uint64_t addr; /* 0: free */
	char *name;    /* NULL: unreadable */
	enum probe_obj_kind kind;
};

/* The short names of refcount ticks' objects (objname.c), by address,
 * direct-mapped, each read again in a new round: an object freed and
 * another made at its address is named afresh. */
#define OBJ_CACHE 256
struct obj_entry {
	uint64_t addr, type, round; /* addr 0: free */
	const char *name;           /* in the pool; NULL: none */
};

/* The names ticks lend, interned: they live as long as the probe. */
#define NAMES_MAX 65536
struct name_pool {
	char **v;
	uint64_t *hash;
	size_t n, cap;
	struct ftp_hindex ix;
};

struct oncpu_thread {
	pid_t tid;
	struct perf_ring ring; /* fd -1: none (the thread is gone) */
	uint64_t seen;         /* round it was last asked for */
	int last_cpu;
	struct ftp_tick *ticks; /* those of the latest take */
	size_t nticks, cap;
	/* With stacks: the last tick's registers (DWARF order) and copied
	 * stack, kept across takes until the thread is seen blocked;
	 * ustack_len 0: none. */
	uint64_t uregs[NREGS];
	unsigned char *ustack; /* STACK_COPY, allocated on first use */
	size_t ustack_len;
	uint64_t utime;
};

struct probe_oncpu {
	struct oncpu_thread *v;
	size_t n, cap;
	size_t hint;    /* where the next thread is likely to be: rounds keep their order */
	bool failed;    /* perf_event_open refused: no ticks at all */
	bool user_only; /* the kernel's part of a thread's CPU time is not sampled */
	bool stacks;    /* native without blocking: ticks copy the user stack */
	size_t last;    /* the thread of the latest take */
	uint64_t period_ns;
	struct native_modules *mods; /* NULL until the first tick, or when unreadable */
	struct native_symbolizer *sz;
	struct native_inlines *inl;
	bool mods_failed;
	uint64_t mods_at; /* CLOCK_MONOTONIC of their last reading */
	struct ip_entry *ips;
	size_t ips_cap, ips_n;
	uint32_t window; /* trims so far */
	struct type_entry *types;
	size_t types_cap, types_n;
	struct obj_entry *objs; /* OBJ_CACHE, NULL until the first named object */
	struct name_pool names;
};

static void thread_close(struct oncpu_thread *t)
{
	perf_ring_close(&t->ring);
	free(t->ticks);
	free(t->ustack);
	t->ticks = NULL;
	t->ustack = NULL;
	t->cap = t->nticks = t->ustack_len = 0;
}

static void forget_ips(struct probe_oncpu *o)
{
	free(o->ips);
	o->ips = NULL;
	o->ips_cap = o->ips_n = 0;
}

/* Frees the refcount objects' names and the cache by address. */
static void forget_names(struct probe_oncpu *o)
{
	free(o->objs);
	o->objs = NULL;
	for (size_t i = 0; i < o->names.n; i++)
		free(o->names.v[i]);
	free(o->names.v);
	free(o->names.hash);
	ftp_hindex_release(&o->names.ix);
	memset(&o->names, 0, sizeof(o->names));
}

/* Instruction addresses named, kept across a trim whatever their use:
 * beyond this, those no tick met since the last trim are forgotten, named
 * again if they come back (a long run on code that keeps moving, or a
 * program that keeps loading libraries, would otherwise fill the table).
 * Those in use stay: a program that keeps to its code is named once. */
#define IPS_KEEP 4096u

static void keep_ips(struct probe_oncpu *o, uint32_t window);

void probe_oncpu_trim(struct ftp_probe *p)
{
	struct probe_oncpu *o = p->oncpu;
	if (!o)
		return;
	forget_names(o);
	uint32_t window = o->window++;
	if (o->ips_n > IPS_KEEP)
		keep_ips(o, window);
	native_symbolizer_trim(o->sz);
	native_inlines_trim(o->inl);
	native_modules_drop_pages(o->mods);
}

void probe_oncpu_release(struct ftp_probe *p)
{
	struct probe_oncpu *o = p->oncpu;
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		thread_close(&o->v[i]);
	free(o->v);
	forget_ips(o);
	for (size_t i = 0; i < o->types_cap; i++)
		free(o->types[i].name);
	free(o->types);
	forget_names(o);
	native_inlines_destroy(o->inl);
	native_symbolizer_destroy(o->sz);
	native_modules_destroy(o->mods);
	free(o);
	p->oncpu = NULL;
}

static void event_attr(struct perf_event_attr *attr, uint64_t period_ns, bool stacks, bool user_only)
{
	memset(attr, 0, sizeof(*attr));
	attr->size = sizeof(*attr);
	attr->type = PERF_TYPE_SOFTWARE;
	attr->config = PERF_COUNT_SW_CPU_CLOCK;
	attr->sample_period = period_ns;
	attr->sample_type =
	        PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_REGS_USER;
	attr->sample_regs_user = REGS_MASK;
	if (stacks) {
		attr->sample_type |= PERF_SAMPLE_STACK_USER;
		attr->sample_stack_user = STACK_COPY;
	}
	attr->use_clockid = 1;
	attr->clockid = CLOCK_MONOTONIC;
	attr->exclude_hv = 1;
	attr->exclude_kernel = user_only;
}

static int open_event(struct ftp_probe *p, struct probe_oncpu *o, struct oncpu_thread *t)
{
	struct perf_event_attr attr;
	unsigned pages = o->stacks ? RING_PAGES_STACK : RING_PAGES;
	event_attr(&attr, o->period_ns, o->stacks, o->user_only);
	int ret = perf_ring_open(&t->ring, &attr, t->tid, -1, pages);
	if ((ret == -EACCES || ret == -EPERM) && !o->user_only) {
		/* perf_event_paranoid 2: a thread's time in the kernel is not
		 * for users without CAP_PERFMON */
		o->user_only = true;
		snprintf(p->info.oncpu_source, sizeof(p->info.oncpu_source),
		         "perf_event cpu-clock (user time only)");
		attr.exclude_kernel = 1;
		ret = perf_ring_open(&t->ring, &attr, t->tid, -1, pages);
	}
	return ret;
}

/* The thread's entry, opened on first sight. NULL when out of memory. */
static struct oncpu_thread *thread_get(struct ftp_probe *p, struct probe_oncpu *o, pid_t tid)
{
	for (size_t k = 0; k < o->n; k++) {
		size_t i = (o->hint + k) % o->n;
		if (o->v[i].tid == tid) {
			o->hint = i + 1;
			return &o->v[i];
		}
	}
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct oncpu_thread *v = realloc(o->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		o->v = v;
		o->cap = cap;
	}
	struct oncpu_thread *t = &o->v[o->n++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->ring.fd = -1;
	t->last_cpu = -1;
	if (!o->failed) {
		int ret = open_event(p, o, t);
		if (ret < 0 && ret != -ESRCH) {
			o->failed = true;
			snprintf(p->info.oncpu_source, sizeof(p->info.oncpu_source), "perf_event_open: %s",
			         strerror(-ret));
			p->info.oncpu_period_ns = 0;
		}
	}
	return t;
}

/* ---- a count update from the instruction bytes -------------------------- */

/* x86-64 encodes registers rax rcx rdx rbx rsp rbp rsi rdi r8-r15; DWARF
 * numbers them rax rdx rcx rbx rsi rdi rbp rsp r8-r15. */
static const int x86_to_dwarf[16] = { 0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15 };

/* One instruction at b (n bytes readable) that reads or updates a count
 * field of the object in a base register with an 8-bit displacement: `mov
 * disp(%r),%r32` or `add $i,disp(%r)` on ob_ref_local, `lock add`, `lock
 * xadd` or `lock cmpxchg` on ob_ref_shared. Returns its length (0: none) and
 * stores the base register (DWARF number) and whether it is atomic. */
static int count_access(const uint8_t *b, size_t n, int local, int shared, int *reg, bool *atomic)
{
	size_t i = 0;
	bool lock = false;
	if (i < n && b[i] == 0xf0) {
		lock = true;
		i++;
	}
	int rex_b = 0;
	if (i < n && (b[i] & 0xf0) == 0x40) {
		rex_b = b[i] & 1;
		i++;
	}
	if (i >= n)
		return 0;
	int op = b[i++];
	bool two = false;
	if (op == 0x0f) {
		if (i >= n)
			return 0;
		op = b[i++];
		two = true;
	}
	if (i + 2 > n)
		return 0;
	uint8_t modrm = b[i++];
	int mod = modrm >> 6, rm = modrm & 7, regop = (modrm >> 3) & 7;
	if (mod != 1 || rm == 4) /* disp8 form, no SIB byte */
		return 0;
	int disp = b[i++];
	int field = -1; /* 0 local, 1 shared */
	if (!two && op == 0x8b && !lock && disp == local)
		field = 0;
	else if (!two && op == 0x83 && regop == 0 && i < n && disp == (lock ? shared : local)) {
		field = lock;
		i++; /* the immediate */
	} else if (two && lock && (op == 0xc1 || op == 0xb1) && disp == shared)
		field = 1;
	if (field < 0)
		return 0;
	*reg = x86_to_dwarf[rm + 8 * rex_b];
	*atomic = field == 1;
	return (int)i;
}

/* The count access that ends where the tick stopped (ip: the one it was
 * held up by) or starts there, in the code around ip. */
static bool find_count_access(struct ftp_probe *p, uint64_t ip, struct native_inline *out)
{
	if (!p->info.free_threaded || p->L.object.ob_type < 16)
		return false;
	int local = (int)p->L.object.ob_type - 12, shared = (int)p->L.object.ob_type - 8;
	uint8_t code[32];
	if (probe_mem_read_direct(&p->mem, ip - 16, code, sizeof(code), NULL) < 0)
		return false;
	int reg;
	bool atomic;
	for (int start = 16 - 7; start < 16; start++) /* ending at ip: 3 to 7 bytes */
		if (count_access(code + start, (size_t)(16 - start), local, shared, &reg, &atomic) ==
		    16 - start)
			goto found;
	if (count_access(code + 16, 16, local, shared, &reg, &atomic) > 0)
		goto found;
	return false;
found:
	out->obj_known = true;
	out->obj_deref = false;
	out->obj_reg = reg;
	out->obj_off = 0;
	out->refcount_atomic = atomic;
	return true;
}

/* ---- naming an instruction ------------------------------------------ */

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool any_prefix(const char *s, const char *const *prefixes)
{
	for (; *prefixes; prefixes++)
		if (has_prefix(s, *prefixes))
			return true;
	return false;
}

/* A function's kind by its name: the interpreter's and glibc's. */
static enum ftp_cpu_kind kind_of_function(const char *name)
{
	static const char *const lock[] = { "_PyMutex",
		                            "PyMutex",
		                            "_PyParkingLot",
		                            "_PySemaphore",
		                            "_PyRecursiveMutex",
		                            "_PyRWMutex",
		                            "_PyOnceFlag",
		                            "PyThread_acquire_lock",
		                            "lock_PyThread_",
		                            "rlock_",
		                            "pthread_mutex",
		                            "__pthread_mutex",
		                            "__lll_lock",
		                            "sem_wait",
		                            "sem_clockwait",
		                            "sem_timedwait",
		                            "__new_sem_wait",
		                            "do_futex_wait",
		                            "sched_yield",
		                            "__sched_yield",
		                            "take_gil",
		                            "drop_gil",
		                            "_PyCriticalSection",
		                            "PyCriticalSection",
		                            NULL };
	static const char *const stw[] = { "_PyEval_StopTheWorld", "_PyEval_StartTheWorld", "stop_the_world",
		                           "start_the_world",      "park_detached_threads", NULL };
	static const char *const gc[] = {
		"gc_",        "_PyGC_",      "PyGC_",         "visit_decref",          "visit_reachable",
		"visit_move", "update_refs", "subtract_refs", "move_unreachable",      "deduce_unreachable",
		"mark_heap",  "mark_stacks", "scan_heap",     "collect_with_callback", "gc_collect",
		NULL
	};
	static const char *const alloc[] = { "_PyObject_Malloc",
		                             "_PyObject_Mi",
		                             "_PyObject_Calloc",
		                             "_PyObject_Realloc",
		                             "_PyObject_Free",
		                             "PyObject_Malloc",
		                             "PyObject_Calloc",
		                             "PyObject_Realloc",
		                             "PyObject_Free",
		                             "PyMem_",
		                             "_PyMem_",
		                             "mi_",
		                             "_mi_",
		                             "pymalloc_",
		                             "_PyObject_GC_New",
		                             "_PyObject_GC_Link",
		                             "gc_alloc",
		                             "PyType_GenericAlloc",
		                             "_PyType_AllocNoTrack",
		                             "malloc",
		                             "free",
		                             "calloc",
		                             "realloc",
		                             "_int_malloc",
		                             "_int_free",
		                             "__libc_malloc",
		                             "__libc_free",
		                             "cfree",
		                             NULL };
	/* gc_alloc before gc_: the allocator of GC objects */
	if (any_prefix(name, alloc))
		return FTP_CPU_ALLOC;
	if (any_prefix(name, lock))
		return FTP_CPU_LOCK;
	if (any_prefix(name, stw))
		return FTP_CPU_STW;
	if (any_prefix(name, gc))
		return FTP_CPU_GC;
	return FTP_CPU_NATIVE;
}

static size_t ip_hash(uint64_t ip, size_t cap)
{
	return (size_t)((ip * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/* Places e, whose address is not in v, in the free slot its probe meets. */
static struct ip_entry *ips_put(struct ip_entry *v, size_t cap, const struct ip_entry *e)
{
	size_t j = ip_hash(e->ip, cap);
	while (v[j].ip)
		j = (j + 1) & (cap - 1);
	v[j] = *e;
	return &v[j];
}

static bool ips_grow(struct probe_oncpu *o)
{
	size_t cap = o->ips_cap ? o->ips_cap * 2 : IPS_MIN;
	struct ip_entry *v = calloc(cap, sizeof(*v));
	if (!v)
		return false;
	for (size_t i = 0; i < o->ips_cap; i++)
		if (o->ips[i].ip)
			ips_put(v, cap, &o->ips[i]);
	free(o->ips);
	o->ips = v;
	o->ips_cap = cap;
	return true;
}

/* Keeps the addresses used in the window `window` (see IPS_KEEP). */
static void keep_ips(struct probe_oncpu *o, uint32_t window)
{
	struct ip_entry *old = o->ips;
	size_t cap = o->ips_cap;
	o->ips = NULL;
	o->ips_cap = o->ips_n = 0;
	for (size_t i = 0; i < cap; i++) {
		if (!old[i].ip || old[i].used != window)
			continue;
		if (2 * (o->ips_n + 1) > o->ips_cap && !ips_grow(o))
			break; /* out of memory: the rest are named again */
		ips_put(o->ips, o->ips_cap, &old[i]);
		o->ips_n++;
	}
	free(old);
}

/* The modules, read again when an address falls outside them (a library
 * loaded since), at most once a second. */
static bool modules_ready(struct ftp_probe *p, struct probe_oncpu *o, uint64_t ip)
{
	uint64_t now = ftp_now_ns();
	bool stale = o->mods && !native_modules_find(o->mods, ip) && now - o->mods_at > 1000000000ull;
	if (o->mods && !stale)
		return true;
	if (!o->mods && o->mods_failed && now - o->mods_at < 1000000000ull)
		return false;
	struct native_modules *mods = NULL;
	struct ftp_error err;
	o->mods_at = now;
	if (native_modules_create(&mods, p->pid, &err) < 0 || native_modules_prime(mods, &err) < 0) {
		native_modules_destroy(mods);
		o->mods_failed = true;
		return o->mods != NULL;
	}
	struct native_symbolizer *sz = native_symbolizer_create(mods);
	struct native_inlines *inl = native_inlines_create(mods);
	if (!sz || !inl) {
		native_inlines_destroy(inl);
		native_symbolizer_destroy(sz);
		native_modules_destroy(mods);
		return o->mods != NULL;
	}
	/* names lent by the old modules go with them */
	forget_ips(o);
	native_inlines_destroy(o->inl);
	native_symbolizer_destroy(o->sz);
	native_modules_destroy(o->mods);
	o->mods = mods;
	o->sz = sz;
	o->inl = inl;
	o->mods_failed = false;
	return true;
}

static void name_ip(struct ftp_probe *p, struct probe_oncpu *o, struct ip_entry *e)
{
	e->kind = FTP_CPU_UNKNOWN;
	if (!modules_ready(p, o, e->ip))
		return;
	const struct native_sym *sym = native_symbolize(o->sz, e->ip);
	if (!sym || !sym->object)
		return;
	e->symbol = sym->symbol;
	e->object = sym->object;
	bool eval = sym->is_eval;
	e->kind = eval ? FTP_CPU_PYTHON : sym->symbol ? kind_of_function(sym->symbol) : FTP_CPU_NATIVE;
	/* Only a module linked with Python updates reference counts: the DWARF
	 * of the rest (libc's debug file decompresses to 11 MB) is not read. */
	const struct native_module *mod = native_modules_find(o->mods, e->ip);
	if (mod && !mod->python)
		return;
	/* The tick's instruction is the next one to run: the one that held it
	 * up is often the one before (skid), whose last byte is ip - 1. */
	struct native_inline inl;
	if (native_inline_at(o->inl, e->ip, &inl) < 0)
		return;
	bool interp = sym->object && strcmp(sym->object, p->info.library) == 0;
	if (!p->info.oncpu_dwarf[0] && interp)
		snprintf(p->info.oncpu_dwarf, sizeof(p->info.oncpu_dwarf), "%s",
		         inl.has_dwarf ? "DWARF" : "none (stripped)");
	e->interp_stripped = interp && !inl.has_dwarf;
	e->inlined = inl.inlined;
	if (!inl.refcount) {
		struct native_inline before;
		if (native_inline_at(o->inl, e->ip - 1, &before) == 0 && before.refcount)
			inl = before;
	}
	/* A GIL build's counts are plain and never contended: its reference
	 * count routines count as the code they are inlined in. */
	if (inl.refcount && p->info.free_threaded) {
		e->kind = FTP_CPU_REFCOUNT;
		e->inl = inl;
		e->inlined = inl.inlined ? inl.inlined : inl.refcount;
		/* the object optimized out of the DWARF: the instruction names it */
		if (!inl.obj_known)
			find_count_access(p, e->ip, &e->inl);
	} else if (!inl.has_dwarf && find_count_access(p, e->ip, &inl) && inl.refcount_atomic) {
		/* no DWARF: an atomic update of a shared count alone is enough */
		e->kind = FTP_CPU_REFCOUNT;
		e->inl = inl;
	} else if (inl.inlined && eval) {
		enum ftp_cpu_kind k = kind_of_function(inl.inlined);
		if (k != FTP_CPU_NATIVE)
			e->kind = k;
	}
}

/* The entry of ip, named on first sight. NULL when out of memory. */
static const struct ip_entry *ip_get(struct ftp_probe *p, struct probe_oncpu *o, uint64_t ip)
{
	if (!ip)
		ip = 1; /* 0 marks a free slot; no code lives at 0 or 1 */
	if (2 * (o->ips_n + 1) > o->ips_cap && !ips_grow(o))
		return NULL;
	size_t j = ip_hash(ip, o->ips_cap);
	while (o->ips[j].ip && o->ips[j].ip != ip)
		j = (j + 1) & (o->ips_cap - 1);
	struct ip_entry *e = &o->ips[j];
	if (e->ip) {
		e->used = o->window;
		return e;
	}
	struct ip_entry fresh = { .ip = ip, .used = o->window };
	name_ip(p, o, &fresh);
	/* naming may have read the modules again, forgetting every entry */
	if (2 * (o->ips_n + 1) > o->ips_cap && !ips_grow(o))
		return NULL;
	o->ips_n++;
	return ips_put(o->ips, o->ips_cap, &fresh);
}

/* ---- the object of a refcount tick ---------------------------------- */

/* The type at type, read once (its name NULL when unreadable); NULL when
 * out of memory or too many types were seen. */
static const struct type_entry *type_get(struct ftp_probe *p, struct probe_oncpu *o, uint64_t type)
{
	if (2 * (o->types_n + 1) > o->types_cap) {
		if (o->types_n >= 65536)
			return NULL; /* a hostile target's churn of types: stop naming new ones */
		size_t cap = o->types_cap ? o->types_cap * 2 : TYPES_MIN;
		struct type_entry *v = calloc(cap, sizeof(*v));
		if (!v)
			return NULL;
		for (size_t i = 0; i < o->types_cap; i++) {
			if (!o->types[i].addr)
				continue;
			size_t j = ip_hash(o->types[i].addr, cap);
			while (v[j].addr)
				j = (j + 1) & (cap - 1);
			v[j] = o->types[i];
		}
		free(o->types);
		o->types = v;
		o->types_cap = cap;
	}
	size_t j = ip_hash(type, o->types_cap);
	while (o->types[j].addr && o->types[j].addr != type)
		j = (j + 1) & (o->types_cap - 1);
	struct type_entry *e = &o->types[j];
	if (e->addr)
		return e;
	e->addr = type;
	o->types_n++;
	char buf[128];
	const struct probe_reader r = probe_reader_get(p);
	if (probe_type_name(&r, type, buf, sizeof(buf)) == 0)
		e->name = strdup(buf);
	e->kind = probe_obj_kind(&r, type, e->name);
	return e;
}

static uint64_t pool_hash_of(const void *ctx, size_t i)
{
	return ((const struct name_pool *)ctx)->hash[i];
}

static bool pool_same(const void *ctx, uint32_t i, const void *key)
{
	return !strcmp(((const struct name_pool *)ctx)->v[i], key);
}

/* name, interned; NULL when out of memory or the pool is full. */
static const char *pool_intern(struct name_pool *np, const char *name)
{
	uint64_t h = ftp_hash_str(0, name);
	long at = ftp_hindex_get(&np->ix, h, pool_same, np, name);
	if (at >= 0)
		return np->v[at];
	if (np->n >= NAMES_MAX || ftp_hindex_reserve(&np->ix, np->n, 256, pool_hash_of, np) < 0)
		return NULL;
	size_t cap = np->cap;
	if (ftp_grow((void **)&np->v, &cap, np->n + 1, sizeof(*np->v), 256) < 0 ||
	    ftp_grow((void **)&np->hash, &np->cap, np->n + 1, sizeof(*np->hash), 256) < 0)
		return NULL;
	char *copy = strdup(name);
	if (!copy)
		return NULL;
	np->v[np->n] = copy;
	np->hash[np->n] = h;
	*ftp_hindex_find(&np->ix, h, pool_same, np, name) = (uint32_t)++np->n;
	return copy;
}

/* The short name of obj, an instance of te, read once a round. */
static const char *object_name(struct ftp_probe *p, struct probe_oncpu *o, uint64_t obj,
                               const struct type_entry *te)
{
	if (te->kind == PROBE_OBJ_OTHER)
		return NULL;
	if (!o->objs && !(o->objs = calloc(OBJ_CACHE, sizeof(*o->objs))))
		return NULL;
	struct obj_entry *e = &o->objs[ftp_hash_addr(obj) & (OBJ_CACHE - 1)];
	if (e->addr == obj && e->type == te->addr && e->round == p->round)
		return e->name;
	char buf[256];
	const struct probe_reader r = probe_reader_get(p);
	*e = (struct obj_entry){ .addr = obj, .type = te->addr, .round = p->round };
	if (probe_obj_name(&r, obj, te->kind, buf, sizeof(buf)) == 0)
		e->name = pool_intern(&o->names, buf);
	return e->name;
}

static void refcount_object(struct ftp_probe *p, struct probe_oncpu *o, const struct ip_entry *e,
                            const uint64_t *regs, struct ftp_tick *t)
{
	if (!e->inl.obj_known || e->inl.obj_reg < 0 || e->inl.obj_reg >= 16)
		return;
	uint64_t v = regs[dwarf_to_tick[e->inl.obj_reg]] + (uint64_t)e->inl.obj_off;
	if (e->inl.obj_deref && probe_mem_u64(&p->mem, v, &v) < 0)
		return;
	uint64_t type;
	if (!v || (v & 7) || probe_mem_u64(&p->mem, v + p->L.object.ob_type, &type) < 0 || !type ||
	    (type & 7))
		return;
	t->object_addr = v;
	const struct type_entry *te = type_get(p, o, type);
	if (te) {
		t->object_type = te->name;
		t->object_name = object_name(p, o, v, te);
	}
}

/* ---- taking a thread's ticks ----------------------------------------- */

static bool push_tick(struct oncpu_thread *t, const struct ftp_tick *k)
{
	if (t->nticks == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct ftp_tick *v = realloc(t->ticks, cap * sizeof(*v));
		if (!v)
			return false;
		t->ticks = v;
		t->cap = cap;
	}
	t->ticks[t->nticks++] = *k;
	return true;
}

/* A tick's kind, given what the thread was doing when its round read it. */
static enum ftp_cpu_kind settle_kind(enum ftp_cpu_kind k, bool in_kernel, enum ftp_state state)
{
	switch (state) {
	case FTP_STATE_LOCK:
		return FTP_CPU_LOCK; /* spinning, or on its way to park */
	case FTP_STATE_GC:
		return k == FTP_CPU_ALLOC || k == FTP_CPU_REFCOUNT ? k : FTP_CPU_GC;
	case FTP_STATE_STW:
		return FTP_CPU_STW;
	default:
		break;
	}
	if (in_kernel && (k == FTP_CPU_NATIVE || k == FTP_CPU_UNKNOWN))
		return FTP_CPU_KERNEL;
	return k;
}

/* Offsets in a sample record: header, ip, pid tid, time, cpu res, abi,
 * regs[NREGS], then with stacks: size, data[size], dyn_size. */
#define REC_REGS 48
#define REC_STACK_SIZE (REC_REGS + 8 * NREGS)

/* Returns true when the tick has the user registers. */
static bool parse_sample(struct ftp_probe *p, struct probe_oncpu *o, struct oncpu_thread *t,
                         const unsigned char *rec, size_t len, enum ftp_state state)
{
	if (len < REC_REGS)
		return false;
	const unsigned char *q = rec + 8;
	uint64_t ip, time, abi;
	uint32_t cpu;
	memcpy(&ip, q, 8);
	memcpy(&time, q + 16, 8);
	memcpy(&cpu, q + 24, 4);
	memcpy(&abi, q + 32, 8);
	struct ftp_tick k = { .time_ns = time, .cpu = (int)cpu };
	uint64_t regs[NREGS] = { 0 };
	if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
		if (len < REC_STACK_SIZE)
			return false;
		memcpy(regs, q + 40, sizeof(regs));
	}
	k.in_kernel = ip >= 0xffff800000000000ull;
	k.ip = abi != PERF_SAMPLE_REGS_ABI_NONE ? regs[REG_IP] : k.in_kernel ? 0 : ip;
	const struct ip_entry *e = k.ip ? ip_get(p, o, k.ip) : NULL;
	if (e) {
		k.kind = e->kind;
		k.symbol = e->symbol;
		k.object = e->object;
		k.inlined = e->inlined;
		if (e->kind == FTP_CPU_REFCOUNT)
			refcount_object(p, o, e, regs, &k);
	}
	/* A stripped interpreter: a thread running Python whose tick is in the
	 * interpreter's code is interpreting (or in a builtin it called); so is
	 * one that has since lost the GIL (it held it while it ran) or its CPU. */
	if (e && e->interp_stripped && k.kind == FTP_CPU_NATIVE && !k.in_kernel &&
	    (state == FTP_STATE_RUNNING || state == FTP_STATE_GIL || state == FTP_STATE_RUNNABLE))
		k.kind = FTP_CPU_PYTHON;
	k.kind = settle_kind(k.kind, k.in_kernel, state);
	if (push_tick(t, &k))
		t->last_cpu = k.cpu;
	return abi != PERF_SAMPLE_REGS_ABI_NONE;
}

/* Keeps the registers and copied stack of the tick at ring offset at (rec:
 * its first bytes, at least REC_STACK_SIZE). */
static void keep_stack(struct oncpu_thread *t, uint64_t at, const unsigned char *rec, uint16_t size)
{
	uint64_t copied, dyn, abi;
	memcpy(&abi, rec + REC_REGS - 8, 8);
	if (abi != PERF_SAMPLE_REGS_ABI_64 || size < REC_STACK_SIZE + 8)
		return; /* a 32-bit thread's registers are not x86-64's */
	memcpy(&copied, rec + REC_STACK_SIZE, 8);
	if (!copied || copied > STACK_COPY || REC_STACK_SIZE + 16 + copied > size)
		return;
	perf_ring_copy(&t->ring, at + REC_STACK_SIZE + 8 + copied, &dyn, 8);
	if (dyn > copied)
		dyn = copied;
	if (!t->ustack && !(t->ustack = malloc(STACK_COPY)))
		return;
	/* perf order (AX BX CX DX SI DI BP SP IP R8-R15) to DWARF's */
	uint64_t regs[NREGS];
	memcpy(regs, rec + REC_REGS, sizeof(regs));
	for (int i = 0; i < 16; i++)
		t->uregs[i] = regs[dwarf_to_tick[i]];
	t->uregs[16] = regs[REG_IP];
	memcpy(&t->utime, rec + 24, 8);
	perf_ring_copy(&t->ring, at + REC_STACK_SIZE + 8, t->ustack, (size_t)dyn);
	t->ustack_len = (size_t)dyn;
}

static void drain(struct ftp_probe *p, struct probe_oncpu *o, struct oncpu_thread *t, enum ftp_state state)
{
	uint64_t tail, head;
	if (t->ring.fd < 0 || !perf_ring_pending(&t->ring, &tail, &head))
		return;
	if (head - tail > t->ring.size) /* cannot happen: the kernel stops at a full ring */
		tail = head - t->ring.size;
	unsigned char rec[512];
	uint64_t last = UINT64_MAX; /* ring offset of the last tick with registers */
	uint16_t last_size = 0;
	while (tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		perf_ring_copy(&t->ring, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || tail + h.size > head)
			break;
		size_t len = h.size < sizeof(rec) ? h.size : sizeof(rec);
		perf_ring_copy(&t->ring, tail, rec, len);
		if (h.type == PERF_RECORD_SAMPLE) {
			if (parse_sample(p, o, t, rec, len, state)) {
				last = tail;
				last_size = h.size;
			}
		} else if (h.type == PERF_RECORD_LOST && len >= 24) {
			uint64_t lost;
			memcpy(&lost, rec + 16, 8);
			p->stats.ticks_lost += lost;
		}
		tail += h.size;
	}
	if (o->stacks && last != UINT64_MAX) {
		perf_ring_copy(&t->ring, last, rec, REC_STACK_SIZE + 8);
		keep_stack(t, last, rec, last_size);
	}
	perf_ring_consume(&t->ring, tail);
}

void probe_oncpu_take(struct ftp_probe *p, struct ftp_sample *s)
{
	s->cpu = -1;
	s->nticks = 0;
	s->ticks = NULL;
	struct probe_oncpu *o = p->oncpu;
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o)
			return;
		o->period_ns = 1000000000ull / p->opts.oncpu_hz;
		if (!o->period_ns)
			o->period_ns = 1;
		o->stacks = p->opts.native && !p->opts.blocking;
		p->oncpu = o;
	}
	if (s->tid <= 0)
		return;
	struct oncpu_thread *t = thread_get(p, o, s->tid);
	if (!t)
		return;
	t->seen = p->round;
	t->nticks = 0;
	o->last = (size_t)(t - o->v);
	drain(p, o, t, s->state);
	s->cpu = t->last_cpu;
	s->nticks = (unsigned)t->nticks;
	s->ticks = t->ticks;
	p->stats.ticks += t->nticks;
}

void probe_oncpu_end_round(struct ftp_probe *p)
{
	struct probe_oncpu *o = p->oncpu;
	if (!o)
		return;
	size_t kept = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].seen + 1 < p->round) { /* not seen this round or the last */
			thread_close(&o->v[i]);
			continue;
		}
		o->v[kept++] = o->v[i];
	}
	o->n = kept;
}

bool probe_oncpu_user_stack(struct ftp_probe *p, pid_t tid, bool blocked, struct probe_user_stack *out)
{
	struct probe_oncpu *o = p->oncpu;
	if (!o || o->last >= o->n || o->v[o->last].tid != tid)
		return false;
	struct oncpu_thread *t = &o->v[o->last];
	if (blocked)
		t->ustack_len = 0;
	if (!t->ustack_len)
		return false;
	memcpy(out->regs, t->uregs, sizeof(out->regs));
	out->stack = t->ustack;
	out->len = t->ustack_len;
	out->time_ns = t->utime;
	return true;
}

int probe_oncpu_check(struct ftp_probe *p, struct ftp_error *err)
{
	struct perf_event_attr attr;
	uint64_t period = 1000000000ull / (p->opts.oncpu_hz ? p->opts.oncpu_hz : 100);
	struct perf_ring r = { .fd = -1 };
	event_attr(&attr, period ? period : 1, true, false);
	int ret = perf_ring_open(&r, &attr, p->pid, -1, RING_PAGES_STACK);
	if (ret == -EACCES || ret == -EPERM) {
		event_attr(&attr, period ? period : 1, true, true);
		ret = perf_ring_open(&r, &attr, p->pid, -1, RING_PAGES_STACK);
	}
	perf_ring_close(&r);
	if (ret == 0 || ret == -ESRCH)
		return 0;
	return ftp_error_set(err, ret == -EACCES || ret == -EPERM ? FTP_E_PERM : FTP_E_UNSUPPORTED, -ret,
	                     "native stacks of pid %d without --blocking come from perf_event samples of "
	                     "its stacks (use --blocking); perf_event_open",
	                     (int)p->pid);
}
