/* SPDX-License-Identifier: MIT */
/* What each thread of a round waits on, and who holds it (docs/states.md).
 *
 * The walker hands every thread of a round here (probe_waits_add) before any
 * is reported; probe_waits_report then sees the round whole: a waiter's
 * holder may come later in the list. For each thread it settles the state
 * from what /proc (or the context switches) said, the thread state's attach
 * state (3.13+), the GIL, a stop-the-world pause and the collector, and for
 * a thread blocked on a futex what that futex is: a parking-lot wait entry
 * (3.13+) whose parked-on address is a Lock's or an object's PyMutex, or a
 * semaphore of a lock object found on the waiting frame (<= 3.12). The
 * innermost Python frames tell waiting for a lock from waiting for
 * something to happen (Condition, Event, join, queue, Future). Holders come
 * from what the interpreter records (RLock's owner, each thread's critical
 * sections, the GIL), else from the other threads' frames: the lock's bound
 * __exit__ on a frame's stack (inside `with lock:`), else the one thread
 * whose frames refer to the locked lock without waiting for it. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "probe_int.h"

#define SCAN_FRAMES 64       /* Python frames of a thread looked through for locks */
#define SCAN_SLOTS 512       /* slots of one frame looked through */
#define SCAN_VALUES 8192     /* values gathered in a round */
#define SCAN_OBJECT_SLOTS 48 /* <= 3.10: slots of a frame object looked through */
#define CS_DEPTH 16          /* critical sections followed per thread */
#define TYPE_CACHE 256       /* type objects remembered (a power of two) */
#define TP_NAME_LEN 64
#define TSTATE_DETACHED 0
#define TSTATE_SUSPENDED 2
#define TSTATE_SUSPENDED_WAITING 4 /* 3.15 */
#define TSTATE_DETACHED_WAITING 5  /* 3.15 */
#define CS_INACTIVE 1u
#define CS_TWO_MUTEXES 2u
#define CS_TAGS 3u
#define STACKREF_TAGS 3u /* 3.14+: the low bits of a _PyStackRef */
#define FRAME_CSTACK 2   /* frame owners above this are shims, not Python */

enum obj_kind { OBJ_UNKNOWN, OBJ_LOCK, OBJ_RLOCK, OBJ_OTHER };

struct type_entry {
	uint64_t addr; /* 0: empty */
	enum obj_kind kind;
	char name[TP_NAME_LEN];
};

/* A thread's last wait on a lock while it was parked: while it stays at the
 * same place it is still in that acquire, spinning when it is on a CPU. */
struct spin_entry {
	pid_t tid;
	const struct ftp_code *code;
	int line;
	unsigned nframes;
	struct ftp_wait wait;
	uint64_t futex; /* the futex it was parked on */
	/* where it parked, kept when it moves on (code is cleared) */
	const struct ftp_code *parked_code;
	int parked_line;
	uint64_t round;
};

/* The locks threads were seen parked on lately (kind, address, type), the
 * newest replacing the oldest: a thread seen spinning with one of them on
 * its innermost frame spins on it. */
#define RECENT_LOCKS 16

struct round_thread {
	struct probe_wait_thread t;
	size_t first_frame;             /* in frames */
	uint64_t pyframes[SCAN_FRAMES]; /* the Python frames, innermost first */
	unsigned npyframes;
	uint64_t datastack_top; /* 3.11+: where the innermost frame ends; 0 unknown */
	bool scanned;
	uint64_t cs_mutex[CS_DEPTH * 2]; /* held critical sections' mutexes */
	unsigned ncs;
	/* Its innermost critical section has no mutex yet: it waits to lock
	 * it (_PyCriticalSection_BeginSlow pushes the section, then locks).
	 * Also when that section is suspended (inactive): the thread
	 * detached while it waited (parked, or woken and not attached yet). */
	bool cs_pending;
};

struct looked {
	uint64_t address;
	pid_t holder;
	enum ftp_holder_how how;
};

struct probe_waits {
	struct type_entry types[TYPE_CACHE];
	struct round_thread *threads;
	size_t nthreads, threads_cap;
	struct ftp_frame *frames; /* every kept thread's frames, one after another */
	size_t nframes, frames_cap;
	struct waits_round round;
	uint64_t *values; /* scratch: values gathered from frames */
	size_t values_cap;
	uint64_t *gather; /* scratch for probe_mem_gather */
	size_t gather_cap;
	struct looked *looked; /* the round's holders looked for */
	size_t nlooked, looked_cap;
	struct spin_entry *spins;
	size_t nspins, spins_cap;
	struct ftp_hindex spin_index; /* tid -> spins[] */
	struct ftp_wait recent[RECENT_LOCKS];
	unsigned recent_next;
};

void probe_waits_release(struct ftp_probe *p)
{
	struct probe_waits *w = p->waits;
	if (!w)
		return;
	free(w->threads);
	free(w->frames);
	free(w->values);
	free(w->gather);
	free(w->looked);
	free(w->spins);
	ftp_hindex_release(&w->spin_index);
	free(w);
	p->waits = NULL;
}

int probe_waits_begin(struct ftp_probe *p, const struct waits_round *r)
{
	if (!p->waits && !(p->waits = calloc(1, sizeof(*p->waits))))
		return -FTP_E_NOMEM;
	p->waits->round = *r;
	p->waits->nthreads = 0;
	p->waits->nframes = 0;
	p->waits->nlooked = 0;
	return 0;
}

int probe_waits_add(struct ftp_probe *p, const struct probe_wait_thread *t)
{
	struct probe_waits *w = p->waits;
	if (ftp_grow((void **)&w->threads, &w->threads_cap, w->nthreads + 1, sizeof(*w->threads), 16) < 0 ||
	    ftp_grow((void **)&w->frames, &w->frames_cap, w->nframes + t->s.nframes, sizeof(*w->frames),
	             256) < 0)
		return -FTP_E_NOMEM;
	struct round_thread *rt = &w->threads[w->nthreads++];
	memset(rt, 0, sizeof(*rt));
	rt->t = *t;
	rt->first_frame = w->nframes;
	if (t->s.nframes)
		memcpy(w->frames + w->nframes, t->s.frames, t->s.nframes * sizeof(*w->frames));
	w->nframes += t->s.nframes;
	return 0;
}

/* ---- the target's objects ---------------------------------------------- */

static uint64_t untag(const struct ftp_probe *p, uint64_t v)
{
	return (p->L.version >> 16 & 0xff) >= 14 ? v & ~(uint64_t)STACKREF_TAGS : v;
}

/* The kind of the type at addr, read once. */
static const struct type_entry *type_of(struct ftp_probe *p, uint64_t type)
{
	struct probe_waits *w = p->waits;
	struct type_entry *e = &w->types[ftp_hash_addr(type) & (TYPE_CACHE - 1)];
	if (e->addr == type)
		return e;
	char name[TP_NAME_LEN];
	const struct probe_reader r = probe_reader_get(p);
	if (probe_type_name(&r, type, name, sizeof(name)) < 0)
		return NULL;
	e->addr = type;
	memcpy(e->name, name, sizeof(e->name));
	e->kind = !strcmp(name, "_thread.lock")    ? OBJ_LOCK
	          : !strcmp(name, "_thread.RLock") ? OBJ_RLOCK
	                                           : OBJ_OTHER;
	return e;
}

static const struct type_entry *object_type(struct ftp_probe *p, uint64_t obj)
{
	uint64_t type = 0;
	if (!obj || (obj & 7) || probe_mem_u64(&p->mem, obj + p->L.object.ob_type, &type) < 0 || !type ||
	    (type & 7))
		return NULL;
	return type_of(p, type);
}

/* Whether obj is of the type named name. */
static bool has_type(struct ftp_probe *p, uint64_t obj, const char *name)
{
	const struct type_entry *te = object_type(p, obj);
	return te && !strcmp(te->name, name);
}

/* A C function bound to an object (what `with` keeps of a lock's __exit__). */
static bool is_bound_method(struct ftp_probe *p, uint64_t obj)
{
	return has_type(p, obj, "builtin_function_or_method");
}

static struct round_thread *by_thread_id(struct probe_waits *w, uint64_t thread_id)
{
	for (size_t i = 0; thread_id && i < w->nthreads; i++)
		if (w->threads[i].t.s.thread_id == thread_id)
			return &w->threads[i];
	return NULL;
}

static struct round_thread *by_tstate(struct probe_waits *w, uint64_t tstate)
{
	for (size_t i = 0; tstate && i < w->nthreads; i++)
		if (w->threads[i].t.tstate == tstate)
			return &w->threads[i];
	return NULL;
}

/* The Python frames of a thread, innermost first (3.11+: the frames are in
 * the thread's data stack, their slots after localsplus). */
static void python_frames(struct ftp_probe *p, struct round_thread *rt)
{
	const struct ftp_layout *L = &p->L;
	rt->scanned = true;
	if (L->frame.localsplus == FTP_OFF_NONE)
		return;
	if (L->tstate.datastack_top != FTP_OFF_NONE &&
	    probe_mem_u64(&p->mem, rt->t.tstate + L->tstate.datastack_top, &rt->datastack_top) < 0)
		rt->datastack_top = 0;
	uint64_t frame = rt->t.first_frame;
	for (unsigned seen = 0; frame && seen < SCAN_FRAMES * 2 && rt->npyframes < SCAN_FRAMES; seen++) {
		unsigned char fb[FTP_LAYOUT_FRAME_SPAN];
		uint32_t need = L->frame.previous + 8;
		if (L->frame.owner != FTP_OFF_NONE && L->frame.owner + 1 > need)
			need = L->frame.owner + 1;
		if ((frame & 7) || need > sizeof(fb) || probe_mem_read(&p->mem, frame, fb, need, NULL) < 0)
			return;
		if (L->frame.owner == FTP_OFF_NONE || fb[L->frame.owner] <= FRAME_CSTACK)
			rt->pyframes[rt->npyframes++] = frame;
		frame = probe_load_u64(fb, L->frame.previous);
	}
}

/* Appends the values in the slots of frame i of rt (locals, then its
 * stack) to w->values. */
static void frame_values(struct ftp_probe *p, struct round_thread *rt, unsigned i, size_t *n)
{
	struct probe_waits *w = p->waits;
	uint64_t from = rt->pyframes[i] + p->L.frame.localsplus;
	/* the frame ends where the frame it called begins, the innermost
	 * where the thread's data stack does */
	uint64_t to = i ? rt->pyframes[i - 1] : rt->datastack_top;
	if (p->L.frames == FTP_FRAMES_OBJECT)
		to = from + SCAN_OBJECT_SLOTS * 8; /* a frame object of its own, its size unknown */
	else if (!to || to <= from || to - from > SCAN_SLOTS * 8)
		to = from + SCAN_SLOTS * 8;
	uint64_t buf[SCAN_SLOTS];
	size_t len = (size_t)(to - from);
	while (len && probe_mem_read(&p->mem, from, buf, len, NULL) < 0)
		len = len > 512 ? len / 2 & ~(size_t)7 : 0;
	for (size_t k = 0; k < len / 8; k++) {
		uint64_t v = untag(p, buf[k]);
		if (v && !(v & 7) && v >= 0x10000 && *n < SCAN_VALUES &&
		    ftp_grow((void **)&w->values, &w->values_cap, *n + 1, sizeof(*w->values), 256) == 0)
			w->values[(*n)++] = v;
	}
}

/* The n values of frame i of rt, in w->values from 0 (the scratch is
 * reused). */
static size_t values_of(struct ftp_probe *p, struct round_thread *rt, unsigned first, unsigned count)
{
	if (!rt->scanned)
		python_frames(p, rt);
	size_t n = 0;
	for (unsigned i = first; i < rt->npyframes && i < first + count; i++)
		frame_values(p, rt, i, &n);
	return n;
}

/* `self` of Python frame i (its first local), 0 when unknown. */
static uint64_t frame_self(struct ftp_probe *p, struct round_thread *rt, unsigned i)
{
	if (!rt->scanned)
		python_frames(p, rt);
	uint64_t v = 0;
	if (i >= rt->npyframes || probe_mem_u64(&p->mem, rt->pyframes[i] + p->L.frame.localsplus, &v) < 0)
		return 0;
	return untag(p, v);
}

/* ---- locks -------------------------------------------------------------- */

/* What the PyMutex at mutex belongs to. */
static void name_mutex(struct ftp_probe *p, uint64_t mutex, struct ftp_wait *out)
{
	const struct ftp_layout *L = &p->L;
	out->kind = FTP_WAIT_MUTEX;
	out->address = mutex;
	const struct type_entry *te;
	if (L->threading.lock_mutex != FTP_OFF_NONE && !((mutex - L->threading.lock_mutex) & 7) &&
	    (te = object_type(p, mutex - L->threading.lock_mutex)) && te->kind == OBJ_LOCK) {
		out->kind = FTP_WAIT_LOCK;
		out->address = mutex - L->threading.lock_mutex;
		return;
	}
	if (L->threading.rlock_mutex != FTP_OFF_NONE && !((mutex - L->threading.rlock_mutex) & 7) &&
	    (te = object_type(p, mutex - L->threading.rlock_mutex)) && te->kind == OBJ_RLOCK) {
		out->kind = FTP_WAIT_RLOCK;
		out->address = mutex - L->threading.rlock_mutex;
		return;
	}
	if (L->threading.ob_mutex != FTP_OFF_NONE && !((mutex - L->threading.ob_mutex) & 7) &&
	    (te = object_type(p, mutex - L->threading.ob_mutex))) {
		out->kind = FTP_WAIT_CRITICAL_SECTION;
		out->address = mutex - L->threading.ob_mutex;
		out->type = te->name;
	}
}

/* A lock object among the first frames of rt whose semaphore is the futex
 * (<= 3.13: Locks before 3.13 and RLocks before 3.14 sleep on a sem_t). */
static bool lock_by_sem(struct ftp_probe *p, struct round_thread *rt, uint64_t futex, struct ftp_wait *out)
{
	const struct ftp_layout *L = &p->L;
	size_t n = values_of(p, rt, 0, 2);
	/* the lock itself, or a bound method of it (`lock.acquire` passed
	 * as a callable): its m_self, read together */
	size_t most = n < SCAN_SLOTS ? n : SCAN_SLOTS;
	uint64_t at[SCAN_SLOTS * 2];
	unsigned char self[SCAN_SLOTS * 8];
	bool ok[SCAN_SLOTS];
	for (size_t i = 0; i < most; i++)
		at[i] = p->waits->values[i] + L->threading.cfunc_self;
	if (probe_mem_gather(&p->mem, at, most, 8, self, ok) < 0)
		return false;
	for (size_t i = 0; i < most; i++)
		at[SCAN_SLOTS + i] = ok[i] ? probe_load_u64(self, (uint32_t)(i * 8)) : 0;
	for (size_t i = 0; i < most * 2; i++) {
		uint64_t v = i < most ? p->waits->values[i] : at[SCAN_SLOTS + i - most], sem = 0;
		const struct type_entry *te = object_type(p, v);
		if (!te || te->kind == OBJ_OTHER)
			continue;
		uint32_t off = te->kind == OBJ_LOCK ? L->threading.lock_sem : L->threading.rlock_sem;
		if (off == FTP_OFF_NONE || probe_mem_u64(&p->mem, v + off, &sem) < 0 || sem != futex)
			continue;
		out->kind = te->kind == OBJ_LOCK ? FTP_WAIT_LOCK : FTP_WAIT_RLOCK;
		out->address = v;
		return true;
	}
	return false;
}

/* How far above the stack pointer of its futex wait a parking-lot wait
 * entry may lie: the frames of the semaphore wait and the park between. */
#define WAIT_ENTRY_STACK 16384u

/* What the futex a blocked thread sleeps on is. */
static void name_futex(struct ftp_probe *p, struct round_thread *rt, uint64_t futex, struct ftp_wait *out)
{
	const struct ftp_layout *L = &p->L;
	out->kind = FTP_WAIT_FUTEX;
	out->address = futex;
	/* a parking-lot wait entry lives in the frame of the function that
	 * parks, a little above the stack pointer of the wait; any other futex
	 * (glibc's own locks, a condition variable in the heap) is not one,
	 * and the word before it is no parked address */
	uint64_t sp = rt->t.has_task ? rt->t.task.sys_sp : 0;
	bool on_stack = !sp || (futex > sp && futex - sp < WAIT_ENTRY_STACK);
	if (L->threading.wait_entry_addr != FTP_OFF_NONE && on_stack) {
		/* a parking-lot wait entry: the semaphore follows the address
		 * parked on; glibc's sem_t keeps its futex word first */
		uint64_t parked = 0;
		const uint64_t sema = L->threading.wait_entry_addr + 8;
		if (futex > sema &&
		    probe_mem_u64(&p->mem, futex - sema + L->threading.wait_entry_addr, &parked) == 0 &&
		    parked >= 0x10000) {
			struct ftp_wait m = { 0 };
			name_mutex(p, parked, &m);
			if (m.kind != FTP_WAIT_MUTEX || (parked & 7) == 0) {
				*out = m;
				return;
			}
		}
	}
	lock_by_sem(p, rt, futex, out);
}

/* ---- which wait: what the innermost Python frames do --------------------- */

static bool in_file(const struct ftp_frame *f, const char *suffix)
{
	const char *file = f->code->filename;
	size_t a = strlen(file), b = strlen(suffix);
	return a >= b && !strcmp(file + a - b, suffix) && (a == b || file[a - b - 1] == '/');
}

static bool is_fn(const struct ftp_frame *f, const char *file, const char *name)
{
	return f && f->code && !strcmp(f->code->name, name) && in_file(f, file);
}

/* The i-th Python frame of the thread's kept frames, innermost first. */
static const struct ftp_frame *pyframe(struct probe_waits *w, const struct round_thread *rt, unsigned i)
{
	const struct ftp_frame *f = rt->t.s.nframes ? w->frames + rt->first_frame : NULL;
	for (unsigned k = 0; k < rt->t.s.nframes; k++)
		if (!(f[k].flags & FTP_FRAME_NATIVE) && f[k].code && i-- == 0)
			return &f[k];
	return NULL;
}

/* Waits the standard library makes of a lock: a thread blocked in them
 * waits for something to happen (or, for a Semaphore, for a lock). Sets
 * state and wait; false when the frames are none of these. */
static bool library_wait(struct ftp_probe *p, struct round_thread *rt, enum ftp_state *state,
                         struct ftp_wait *out)
{
	struct probe_waits *w = p->waits;
	const struct ftp_frame *f0 = pyframe(w, rt, 0), *f1 = pyframe(w, rt, 1);
	if (!f0)
		return false;
	*state = FTP_STATE_WAIT;
	if (is_fn(f0, "threading.py", "wait")) { /* Condition.wait */
		unsigned who = 1;
		if (is_fn(f1, "threading.py", "wait")) {
			out->kind = FTP_WAIT_EVENT;
		} else if (is_fn(f1, "threading.py", "acquire")) {
			out->kind = FTP_WAIT_SEMAPHORE;
			*state = FTP_STATE_LOCK;
		} else if (f1 && f1->code && in_file(f1, "queue.py")) {
			out->kind = FTP_WAIT_QUEUE;
		} else if (f1 && f1->code && in_file(f1, "_base.py") &&
		           strstr(f1->code->filename, "futures")) {
			out->kind = FTP_WAIT_FUTURE;
		} else {
			out->kind = FTP_WAIT_CONDITION;
			who = 0;
		}
		out->address = frame_self(p, rt, who);
		return true;
	}
	if (is_fn(f0, "threading.py", "_wait_for_tstate_lock") || is_fn(f0, "threading.py", "join")) {
		out->kind = FTP_WAIT_JOIN;
		out->address = frame_self(p, rt, 0);
		return true;
	}
	if (is_fn(f0, "threading.py", "_shutdown")) {
		out->kind = FTP_WAIT_JOIN;
		return true;
	}
	if (is_fn(f0, "thread.py", "_worker") && strstr(f0->code->filename, "futures")) {
		out->kind = FTP_WAIT_QUEUE; /* an idle executor worker */
		return true;
	}
	return false;
}

static bool is_io_syscall(long nr)
{
	switch (nr) {
	case SYS_read:
	case SYS_write:
	case SYS_readv:
	case SYS_writev:
	case SYS_pread64:
	case SYS_pwrite64:
	case SYS_poll:
	case SYS_ppoll:
	case SYS_select:
	case SYS_pselect6:
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_accept:
	case SYS_accept4:
	case SYS_connect:
	case SYS_recvfrom:
	case SYS_recvmsg:
	case SYS_recvmmsg:
	case SYS_sendto:
	case SYS_sendmsg:
	case SYS_sendmmsg:
	case SYS_wait4:
	case SYS_waitid:
	case SYS_openat:
	case SYS_fsync:
	case SYS_fdatasync:
	case SYS_io_uring_enter:
	case SYS_io_getevents:
	case SYS_pause:
	case SYS_rt_sigtimedwait:
	case SYS_rt_sigsuspend:
	case SYS_flock:
	case SYS_fcntl:
		return true;
	default:
		return false;
	}
}

/* ---- spinning waiters ----------------------------------------------------- */

static uint64_t spin_hash(const void *ctx, size_t i)
{
	return ftp_hash_mix(0, (uint64_t)((const struct spin_entry *)ctx)[i].tid);
}

static bool spin_same(const void *ctx, uint32_t i, const void *key)
{
	return ((const struct spin_entry *)ctx)[i].tid == *(const pid_t *)key;
}

static struct spin_entry *spin_find(struct probe_waits *w, pid_t tid)
{
	long i = ftp_hindex_get(&w->spin_index, ftp_hash_mix(0, (uint64_t)tid), spin_same, w->spins, &tid);
	return i < 0 ? NULL : &w->spins[i];
}

static void recent_note(struct probe_waits *w, const struct ftp_wait *wait)
{
	for (unsigned i = 0; i < RECENT_LOCKS; i++)
		if (w->recent[i].kind == wait->kind && w->recent[i].address == wait->address)
			return;
	w->recent[w->recent_next++ % RECENT_LOCKS] =
	        (struct ftp_wait){ .kind = wait->kind, .address = wait->address, .type = wait->type };
}

/* Remembers where a thread parked on a lock, and the lock. */
static void spin_note(struct probe_waits *w, const struct round_thread *rt, const struct ftp_wait *wait,
                      uint64_t round)
{
	recent_note(w, wait);
	const struct ftp_frame *f = pyframe(w, rt, 0);
	if (!f || !rt->t.s.tid)
		return;
	struct spin_entry *e = spin_find(w, rt->t.s.tid);
	if (!e) {
		if (ftp_grow((void **)&w->spins, &w->spins_cap, w->nspins + 1, sizeof(*w->spins), 16) < 0 ||
		    ftp_hindex_reserve(&w->spin_index, w->nspins, 32, spin_hash, w->spins) < 0)
			return;
		pid_t tid = rt->t.s.tid;
		*ftp_hindex_find(&w->spin_index, ftp_hash_mix(0, (uint64_t)tid), spin_same, w->spins, &tid) =
		        (uint32_t)w->nspins + 1;
		e = &w->spins[w->nspins++];
		e->tid = tid;
	}
	e->code = e->parked_code = f->code;
	e->line = e->parked_line = f->line;
	e->nframes = rt->t.s.nframes;
	e->wait = *wait;
	e->futex = rt->t.has_task && rt->t.task.in_syscall ? rt->t.task.sys_arg0 : 0;
	e->round = round;
}

/* The lock a thread on a CPU still acquires: it parked on it last, at the
 * place it is now (the same innermost Python frame and line: it has not
 * left the call). */
static const struct ftp_wait *spin_match(struct probe_waits *w, const struct round_thread *rt)
{
	const struct ftp_frame *f = pyframe(w, rt, 0);
	struct spin_entry *e = rt->t.s.tid ? spin_find(w, rt->t.s.tid) : NULL;
	if (!f || !e || !e->code)
		return NULL;
	if (e->code != f->code || e->line != f->line || e->nframes != rt->t.s.nframes) {
		e->code = NULL; /* it moved on */
		return NULL;
	}
	return &e->wait;
}

/* The lock a thread able to run, detached from the interpreter, still
 * acquires: it woke from its park on that lock's futex and has run for less
 * than WAKE_NS since, so it is still in the lock's code (attaching again,
 * or looking at the lock and parking again). */
#define WAKE_NS 100000u

static const struct ftp_wait *woke_from_lock(struct probe_waits *w, const struct round_thread *rt)
{
	const struct task_info *t = &rt->t.task;
	struct spin_entry *e = rt->t.s.tid ? spin_find(w, rt->t.s.tid) : NULL;
	if (!e || !e->futex || !rt->t.has_task || t->block_arg0 != e->futex ||
	    t->ran_since_block_ns >= WAKE_NS)
		return NULL;
	return &e->wait;
}

/* ---- holders -------------------------------------------------------------- */

/* The mutexes of the critical sections rt holds (free-threaded). */
static void held_sections(struct ftp_probe *p, struct round_thread *rt)
{
	uint64_t tagged = rt->t.critical_section;
	for (unsigned depth = 0; tagged & ~(uint64_t)CS_TAGS && depth < CS_DEPTH; depth++) {
		uint64_t cs = tagged & ~(uint64_t)CS_TAGS, v[3] = { 0 };
		size_t len = tagged & CS_TWO_MUTEXES ? 24 : 16;
		if (probe_mem_read(&p->mem, cs, v, len, NULL) < 0)
			return;
		if (depth == 0)
			rt->cs_pending = !v[1] || ((tagged & CS_TWO_MUTEXES) && !v[2]);
		if (!(tagged & CS_INACTIVE)) {
			if (v[1])
				rt->cs_mutex[rt->ncs++] = v[1];
			if ((tagged & CS_TWO_MUTEXES) && v[2])
				rt->cs_mutex[rt->ncs++] = v[2];
		}
		tagged = v[0];
	}
}

static void set_holder(struct ftp_wait *wait, const struct round_thread *rt, enum ftp_holder_how how)
{
	if (rt && rt->t.s.tid) {
		wait->holder = rt->t.s.tid;
		wait->holder_how = how;
	}
}

static bool waits_for(const struct round_thread *rt, uint64_t lock)
{
	return (rt->t.s.state == FTP_STATE_LOCK || rt->t.s.state == FTP_STATE_WAIT) &&
	       rt->t.s.wait.address == lock;
}

/* Where among the n values of the scratch a C method bound to lock is (their
 * m_self read together), -1 nowhere. */
static long bound_at(struct ftp_probe *p, size_t n, uint64_t lock)
{
	struct probe_waits *w = p->waits;
	const struct ftp_layout *L = &p->L;
	if (ftp_grow((void **)&w->gather, &w->gather_cap, n * 9, sizeof(*w->gather), 1024) < 0)
		return -1;
	uint64_t *at = w->gather;
	unsigned char *self = (unsigned char *)(w->gather + n);
	bool *ok = (bool *)(w->gather + 2 * n);
	for (size_t k = 0; k < n; k++)
		at[k] = w->values[k] + L->threading.cfunc_self;
	if (probe_mem_gather(&p->mem, at, n, 8, self, ok) < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		if (ok[k] && probe_load_u64(self, (uint32_t)(k * 8)) == lock &&
		    is_bound_method(p, w->values[k]))
			return (long)k;
	return -1;
}

/* Whether the two values after value k of the scratch (a lock's bound
 * __exit__, or the lock) are None: the thread is in the call that ends its
 * `with lock:` block, __exit__ with three Nones, pushed as [__exit__, None,
 * None, None] up to 3.13 and as [__exit__, lock, None, None, None] from 3.14.
 * It releases the lock or has released it (the thread it woke, on the
 * releaser's CPU at once, often preempts it there): it holds it no more. */
static bool exiting_with(struct ftp_probe *p, size_t n, long k)
{
	return k >= 0 && (size_t)k + 2 < n && has_type(p, p->waits->values[k + 1], "NoneType") &&
	       has_type(p, p->waits->values[k + 2], "NoneType");
}

/* The holder of a Lock from the other threads' frames: the one with the
 * lock's bound __exit__ (inside `with lock:`; 3.14 and later keep the lock
 * itself there), else the only one that refers to it and does not wait for
 * it (of several: the one waiting for another lock, else the one with the
 * lock the fewest times on its stack); a thread in the __exit__ call that
 * ends its block is neither. Looked for once a round per lock. */
static void holder_from_frames(struct ftp_probe *p, struct round_thread *waiter, struct ftp_wait *wait)
{
	struct probe_waits *w = p->waits;
	for (size_t i = 0; i < w->nlooked; i++) {
		if (w->looked[i].address == wait->address) {
			if (w->looked[i].holder != waiter->t.s.tid) {
				wait->holder = w->looked[i].holder;
				wait->holder_how = w->looked[i].how;
			}
			return;
		}
	}
	struct round_thread *with = NULL, *ref = NULL, *ref_waiting = NULL, *ref_fewest = NULL;
	unsigned nwith = 0, nref = 0, nref_waiting = 0, nref_fewest = 0, fewest = UINT_MAX;
	for (size_t i = 0; i < w->nthreads; i++) {
		struct round_thread *rt = &w->threads[i];
		if (waits_for(rt, wait->address))
			continue;
		size_t n = values_of(p, rt, 0, SCAN_FRAMES);
		unsigned times = 0; /* the lock among its values */
		bool exiting = false;
		for (size_t k = 0; k < n; k++) {
			if (w->values[k] == wait->address) {
				times++;
				exiting = exiting || exiting_with(p, n, (long)k);
			}
		}
		long bound = bound_at(p, n, wait->address);
		if (exiting || exiting_with(p, n, bound))
			continue;
		if (times && ++nref)
			ref = rt;
		if (times && rt->t.s.state == FTP_STATE_LOCK && ++nref_waiting)
			ref_waiting = rt; /* holding one lock, waiting for another */
		if (times && times < fewest)
			fewest = times, nref_fewest = 0;
		if (times && times == fewest && ++nref_fewest)
			ref_fewest = rt;
		if (bound >= 0 && ++nwith)
			with = rt;
	}
	if (nwith == 1)
		set_holder(wait, with, FTP_HOLDER_WITH);
	else if (!nwith && nref == 1)
		set_holder(wait, ref, FTP_HOLDER_REFERENCE);
	else if (!nwith && nref_waiting == 1)
		set_holder(wait, ref_waiting, FTP_HOLDER_REFERENCE);
	else if (!nwith && nref_fewest == 1)
		/* the others enter the block, from 3.14 [__exit__, lock,
		 * __enter__, lock] on their stacks: woken in the acquire, they
		 * wait for the GIL or a CPU before they look at the lock again */
		set_holder(wait, ref_fewest, FTP_HOLDER_REFERENCE);
	else if (!nwith && !nref && bound_at(p, values_of(p, waiter, 0, SCAN_FRAMES), wait->address) >= 0)
		set_holder(wait, waiter, FTP_HOLDER_WITH); /* `with lock:` around its own acquire */
	if (ftp_grow((void **)&w->looked, &w->looked_cap, w->nlooked + 1, sizeof(*w->looked), 8) == 0)
		w->looked[w->nlooked++] = (struct looked){ wait->address, wait->holder, wait->holder_how };
}

static void find_holder(struct ftp_probe *p, struct round_thread *waiter, struct ftp_wait *wait)
{
	struct probe_waits *w = p->waits;
	const struct ftp_layout *L = &p->L;
	switch (wait->kind) {
	case FTP_WAIT_RLOCK: {
		uint64_t owner = 0;
		if (probe_mem_u64(&p->mem, wait->address + L->threading.rlock_owner, &owner) == 0 && owner)
			set_holder(wait, by_thread_id(w, owner), FTP_HOLDER_OWNER);
		break;
	}
	case FTP_WAIT_CRITICAL_SECTION: {
		uint64_t mutex = wait->address + L->threading.ob_mutex;
		for (size_t i = 0; i < w->nthreads && !wait->holder; i++)
			for (unsigned k = 0; k < w->threads[i].ncs; k++)
				if (w->threads[i].cs_mutex[k] == mutex && &w->threads[i] != waiter)
					set_holder(wait, &w->threads[i], FTP_HOLDER_OWNER);
		break;
	}
	case FTP_WAIT_LOCK:
		holder_from_frames(p, waiter, wait);
		break;
	default:
		break;
	}
}

/* ---- the round ------------------------------------------------------------ */

/* A free-threaded lock waiter spins before it parks: it looks at its lock
 * and, finding it taken, yields its CPU (sched_yield), some 40 times. So a
 * thread whose last switch out was such a yield, and which has been back on
 * a CPU for less than this (or not yet), spins for a lock. */
#define SPIN_NS 20000u

static bool in_gil(const struct waits_round *r, uint64_t addr)
{
	return r->gil && addr >= r->gil && addr < r->gil + FTP_LAYOUT_GIL_SPAN;
}

/* s waits to take the GIL. */
static void gil_wait(struct probe_waits *w, struct ftp_sample *s)
{
	const struct waits_round *r = &w->round;
	s->state = FTP_STATE_GIL;
	s->wait.kind = FTP_WAIT_GIL;
	s->wait.address = r->gil;
	if (r->gil_holder)
		set_holder(&s->wait, by_tstate(w, r->gil_holder), FTP_HOLDER_OWNER);
}

/* A thread able to run, without the GIL, that woke from a wait on the GIL
 * (its condition or mutex) and has run for less than this since: it is
 * still in the interpreter's code that takes the GIL (or hands it over and
 * waits to take it back), which runs for microseconds before the thread
 * holds the GIL or waits again. Each GIL hand-over has two: the new holder
 * before it takes the GIL, the old one woken by it. A thread that takes the
 * GIL and drops it at once for C code is shown so for at most this long. */
#define GIL_TAKING_NS 100000u

static bool taking_gil(const struct waits_round *r, const struct task_info *t)
{
	return in_gil(r, t->block_arg0) && t->ran_since_block_ns < GIL_TAKING_NS;
}

/* A thread handing the GIL over wakes the thread that takes it, and the
 * kernel often gives the woken thread the waker's CPU at once: the old
 * holder is preempted in the interpreter's hand-over code, and once it runs
 * again it waits for the GIL. So a preempted thread without the GIL that
 * left its CPU within this long of the holder's arrival on one, the holder
 * woken from a wait on the GIL, handed it over: it waits for the GIL, not
 * for a CPU to run on. */
#define GIL_HANDOVER_NS 50000u

static bool handed_gil_over(struct probe_waits *w, const struct task_info *t)
{
	const struct round_thread *h = by_tstate(w, w->round.gil_holder);
	if (!t->off_cpu || !t->out_ns || !h || !h->t.has_task || h->t.task.tid == t->tid)
		return false;
	const struct task_info *ht = &h->t.task;
	return in_gil(&w->round, ht->block_arg0) && ht->in_ns + GIL_HANDOVER_NS >= t->out_ns &&
	       ht->in_ns <= t->out_ns + GIL_HANDOVER_NS;
}

/* The state of rt before its holder is looked for. */
static void classify(struct ftp_probe *p, struct round_thread *rt)
{
	struct probe_waits *w = p->waits;
	const struct waits_round *r = &w->round;
	const struct task_info *t = rt->t.has_task ? &rt->t.task : NULL;
	struct ftp_sample *s = &rt->t.s;
	bool ft = p->L.free_threaded;
	s->wait = (struct ftp_wait){ 0 };
	s->on_cpu = -1;
	s->state = FTP_STATE_UNKNOWN;
	if (!t || !t->state)
		return;
	if (t->state != 'R')
		s->on_cpu = 0;
	else if (rt->t.events)
		s->on_cpu = !t->off_cpu_shown;

	int ts = rt->t.ts_state;
	/* A pause suspends every detached thread too; one already blocked in
	 * a system call of its own is held up by that, not by the pause (one
	 * parked on its attach state is found below). */
	bool blocked = (t->state == 'S' || t->state == 'D') && t->in_syscall;
	if ((ts == TSTATE_SUSPENDED || ts == TSTATE_SUSPENDED_WAITING) && !blocked) {
		s->state = FTP_STATE_STW;
		s->wait.kind = FTP_WAIT_STW;
		if (r->stw_requester)
			set_holder(&s->wait, by_tstate(w, r->stw_requester), FTP_HOLDER_OWNER);
		return;
	}
	if (r->gc_collecting &&
	    (ft ? r->world_stopped && r->stw_requester == rt->t.tstate : s->holds_gil == 1)) {
		s->state = FTP_STATE_GC;
		return;
	}
	if (t->state == 'R') {
		/* a spinning waiter still waits for its lock when another
		 * thread took its CPU (on_cpu says which) */
		bool detached = ts == TSTATE_DETACHED || ts == TSTATE_DETACHED_WAITING;
		const struct ftp_wait *spin;
		if (ft && ((spin = spin_match(w, rt)) || (detached && (spin = woke_from_lock(w, rt))))) {
			s->state = FTP_STATE_LOCK;
			s->wait = *spin;
			s->wait.holder = 0;
			s->wait.holder_how = FTP_HOLDER_NONE;
			return;
		}
		if (ft && (rt->cs_pending || (t->yielded && t->on_cpu_for_ns < SPIN_NS))) {
			/* the lock is found below, from its frames */
			s->state = FTP_STATE_LOCK;
			return;
		}
		if (!ft && s->holds_gil == 0 && (taking_gil(r, t) || handed_gil_over(w, t))) {
			gil_wait(w, s);
			return;
		}
		if (s->on_cpu == 0) {
			s->state = FTP_STATE_RUNNABLE;
			return;
		}
		/* detached from the interpreter, or without the GIL: C code */
		s->state = detached || s->holds_gil == 0 ? FTP_STATE_NATIVE : FTP_STATE_RUNNING;
		return;
	}
	if ((t->state != 'S' && t->state != 'D') || !t->in_syscall)
		return;
	/* before 3.11 time.sleep is a select() of no descriptors */
	bool select_none = (t->sys_nr == SYS_select || t->sys_nr == SYS_pselect6) && t->sys_arg0 == 0;
	if (t->sys_nr == SYS_nanosleep || t->sys_nr == SYS_clock_nanosleep || select_none) {
		s->state = FTP_STATE_SLEEP;
		return;
	}
	if (t->sys_nr != SYS_futex && t->sys_nr != SYS_futex_waitv) {
		if (is_io_syscall(t->sys_nr))
			s->state = FTP_STATE_IO;
		return;
	}
	if (in_gil(r, t->sys_arg0)) {
		gil_wait(w, s);
		return;
	}
	if (library_wait(p, rt, &s->state, &s->wait))
		return;
	s->state = FTP_STATE_LOCK;
	name_futex(p, rt, t->sys_arg0, &s->wait);
	if (s->wait.kind == FTP_WAIT_MUTEX && p->L.tstate.state != FTP_OFF_NONE &&
	    by_tstate(w, s->wait.address - p->L.tstate.state)) {
		/* parked on a thread state's attach state: suspended by a
		 * stop-the-world (its state read a moment before or after) */
		s->state = FTP_STATE_STW;
		s->wait = (struct ftp_wait){ .kind = FTP_WAIT_STW };
		if (r->stw_requester)
			set_holder(&s->wait, by_tstate(w, r->stw_requester), FTP_HOLDER_OWNER);
	}
}

/* Types whose objects a frame holds but a critical section never locks:
 * what it calls or runs (a C method's critical section is on its self or
 * arguments), and the immutable values. */
static bool unlocked_type(const char *name)
{
	static const char *const names[] = { "method_descriptor",
		                             "builtin_function_or_method",
		                             "function",
		                             "method",
		                             "wrapper_descriptor",
		                             "method-wrapper",
		                             "classmethod_descriptor",
		                             "type",
		                             "code",
		                             "cell",
		                             "frame",
		                             "int",
		                             "bool",
		                             "float",
		                             "complex",
		                             "str",
		                             "bytes",
		                             "tuple",
		                             "NoneType",
		                             "ellipsis",
		                             "range",
		                             "slice" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* rt waits to lock a critical section (cs_pending) and nothing else named
 * the object: the one object of its innermost frame that a critical section
 * may lock (unlocked_type), if there is exactly one. */
static void lockable_on(struct ftp_probe *p, struct round_thread *rt, size_t n)
{
	struct probe_waits *w = p->waits;
	const struct ftp_layout *L = &p->L;
	uint64_t found = 0;
	for (size_t k = 0; k < n && L->threading.ob_mutex != FTP_OFF_NONE; k++) {
		const struct type_entry *te = object_type(p, w->values[k]);
		if (!te || unlocked_type(te->name) || w->values[k] == found)
			continue;
		if (found)
			return; /* two: cannot tell */
		found = w->values[k];
	}
	if (found)
		name_mutex(p, found + L->threading.ob_mutex, &rt->t.s.wait);
}

/* What rt, seen spinning for a lock (it yields its CPU between looks),
 * spins on, from the n values of its innermost frame (in w->values): an
 * object whose critical section another thread of the round holds; else the
 * lock it last parked on where it is now (the same innermost frame and
 * line, though it may have left and come back since); else a lock another
 * thread parked on lately; else a Lock or RLock that is locked; else an
 * object whose own lock is taken or has threads parked on it; else, when it
 * waits for a critical section, the one object it may be for. Left unknown
 * when none is there. */
static void spun_on(struct ftp_probe *p, struct round_thread *rt, size_t n)
{
	struct probe_waits *w = p->waits;
	const struct ftp_layout *L = &p->L;
	struct ftp_sample *s = &rt->t.s;
	for (size_t i = 0; i < w->nthreads; i++) {
		struct round_thread *o = &w->threads[i];
		for (unsigned c = 0; o != rt && c < o->ncs && L->threading.ob_mutex != FTP_OFF_NONE; c++)
			for (size_t k = 0; k < n; k++)
				if (w->values[k] + L->threading.ob_mutex == o->cs_mutex[c]) {
					name_mutex(p, o->cs_mutex[c], &s->wait);
					set_holder(&s->wait, o, FTP_HOLDER_OWNER);
					return;
				}
	}
	const struct ftp_frame *f = pyframe(w, rt, 0);
	const struct spin_entry *e = f && s->tid ? spin_find(w, s->tid) : NULL;
	if (e && e->parked_code == f->code && e->parked_line == f->line) {
		/* it parked at this place before: on that lock */
		s->wait = e->wait;
		s->wait.holder = 0;
		s->wait.holder_how = FTP_HOLDER_NONE;
		return;
	}
	for (size_t k = 0; k < n; k++)
		for (unsigned i = 0; i < RECENT_LOCKS; i++)
			if (w->recent[i].kind && w->recent[i].address == w->values[k]) {
				s->wait = w->recent[i];
				return;
			}
	for (size_t k = 0; k < n; k++) {
		const struct type_entry *te = object_type(p, w->values[k]);
		uint32_t off = !te                     ? FTP_OFF_NONE
		               : te->kind == OBJ_LOCK  ? L->threading.lock_mutex
		               : te->kind == OBJ_RLOCK ? L->threading.rlock_mutex
		                                       : FTP_OFF_NONE;
		uint8_t bits = 0;
		if (off != FTP_OFF_NONE && probe_mem_read(&p->mem, w->values[k] + off, &bits, 1, NULL) == 0 &&
		    (bits & 1)) {
			s->wait.kind = te->kind == OBJ_LOCK ? FTP_WAIT_LOCK : FTP_WAIT_RLOCK;
			s->wait.address = w->values[k];
			return;
		}
	}
	/* an object whose own lock is taken or has threads parked on it */
	for (size_t k = 0; k < n && L->threading.ob_mutex != FTP_OFF_NONE; k++) {
		uint8_t bits = 0;
		if (probe_mem_read(&p->mem, w->values[k] + L->threading.ob_mutex, &bits, 1, NULL) == 0 &&
		    (bits & 3) && object_type(p, w->values[k])) {
			name_mutex(p, w->values[k] + L->threading.ob_mutex, &s->wait);
			return;
		}
	}
	if (rt->cs_pending)
		lockable_on(p, rt, n);
}

/* A free-threaded thread on a CPU whose innermost frame refers to a lock
 * that other threads of the round are parked on, held by a third: it spins
 * to acquire it (PyMutex waiters spin before they park). */
static void spinning(struct ftp_probe *p, struct round_thread *rt)
{
	struct probe_waits *w = p->waits;
	struct ftp_sample *s = &rt->t.s;
	size_t n = values_of(p, rt, 0, 1);
	for (size_t i = 0; i < w->nthreads; i++) {
		const struct ftp_sample *o = &w->threads[i].t.s;
		if (o->state != FTP_STATE_LOCK || !o->wait.address || !o->wait.holder ||
		    o->wait.holder == s->tid ||
		    (o->wait.kind != FTP_WAIT_LOCK && o->wait.kind != FTP_WAIT_RLOCK &&
		     o->wait.kind != FTP_WAIT_CRITICAL_SECTION))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (w->values[k] == o->wait.address) {
				s->state = FTP_STATE_LOCK;
				s->wait = o->wait;
				return;
			}
		}
	}
	if (s->state == FTP_STATE_LOCK && !s->wait.kind) {
		spun_on(p, rt, n);
		if (s->wait.kind && !s->wait.holder)
			find_holder(p, rt, &s->wait);
	}
}

int probe_waits_report(struct ftp_probe *p, ftp_sample_fn *fn, void *arg)
{
	struct probe_waits *w = p->waits;
	if (!w)
		return 0;
	for (size_t i = 0; i < w->nthreads; i++) {
		struct round_thread *rt = &w->threads[i];
		rt->t.s.frames = rt->t.s.nframes ? w->frames + rt->first_frame : NULL;
		if (p->L.free_threaded)
			held_sections(p, rt);
	}
	for (size_t i = 0; i < w->nthreads; i++)
		classify(p, &w->threads[i]);
	for (size_t i = 0; i < w->nthreads; i++) {
		struct round_thread *rt = &w->threads[i];
		struct ftp_sample *s = &rt->t.s;
		if (s->state == FTP_STATE_LOCK && !s->wait.holder)
			find_holder(p, rt, &s->wait);
		if (s->state == FTP_STATE_LOCK && s->on_cpu == 0 && s->wait.kind &&
		    s->wait.kind != FTP_WAIT_FUTEX)
			spin_note(w, rt, &s->wait, p->round);
	}
	if (p->L.free_threaded)
		for (size_t i = 0; i < w->nthreads; i++)
			if (w->threads[i].t.s.state == FTP_STATE_RUNNING ||
			    w->threads[i].t.s.state == FTP_STATE_NATIVE ||
			    (w->threads[i].t.s.state == FTP_STATE_LOCK && !w->threads[i].t.s.wait.kind))
				spinning(p, &w->threads[i]);
	int ret = 0;
	for (size_t i = 0; i < w->nthreads && !ret; i++) {
		probe_stacks_classified(p, i, &w->threads[i].t.s);
		ret = fn(&w->threads[i].t.s, arg);
	}
	w->nthreads = 0;
	w->nframes = 0;
	return ret;
}
