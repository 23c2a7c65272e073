/* SPDX-License-Identifier: MIT */
/* What the probe reports for one thread at one instant. */
#ifndef FTPROF_SAMPLE_H
#define FTPROF_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What a thread is doing, as far as ftprof can tell (docs/states.md). */
#define FTP_STATES(X)                                                                \
	X(UNKNOWN, "unknown")   /* it cannot be told: never a guess */               \
	X(RUNNING, "running")   /* on a CPU, running Python */                       \
	X(NATIVE, "native")     /* on a CPU in C code (not a lock) */                \
	X(LOCK, "lock")         /* acquiring a contended lock: parked or spinning */ \
	X(WAIT, "wait")         /* waiting for something to happen: Condition, \
				   Event, join, queue.get, a Future */     \
	X(GIL, "gil")           /* GIL builds: waiting to take the GIL */            \
	X(IO, "io")             /* blocked in another system call */                 \
	X(SLEEP, "sleep")       /* in a sleep system call */                         \
	X(STW, "stw")           /* suspended by a stop-the-world pause */            \
	X(GC, "gc")             /* collecting garbage */                             \
	X(RUNNABLE, "runnable") /* ready, waiting for a CPU */

#define FTP_STATE_ENUM(name, str) FTP_STATE_##name,
enum ftp_state { FTP_STATES(FTP_STATE_ENUM) FTP_STATE_COUNT };
#undef FTP_STATE_ENUM

/* What a `lock`, `wait` or `gil` sample waits on. */
#define FTP_WAIT_KINDS(X)                                                                \
	X(NONE, "")                                                                      \
	X(LOCK, "Lock")                         /* threading.Lock (_thread.lock) */      \
	X(RLOCK, "RLock")                       /* threading.RLock */                    \
	X(SEMAPHORE, "Semaphore")               /* threading.(Bounded)Semaphore */       \
	X(CONDITION, "Condition")               /* Condition.wait */                     \
	X(EVENT, "Event")                       /* Event.wait */                         \
	X(JOIN, "join")                         /* Thread.join */                        \
	X(QUEUE, "queue")                       /* queue.get, an idle executor worker */ \
	X(FUTURE, "Future")                     /* a Future's result or wait() */        \
	X(CRITICAL_SECTION, "critical section") /* of an object (type: its type) */      \
	X(MUTEX, "PyMutex")                     /* an interpreter-internal lock */       \
	X(GIL, "GIL")                                                                    \
	X(STW, "stop-the-world")                                                         \
	X(FUTEX, "futex") /* a futex ftprof cannot name */

#define FTP_WAIT_ENUM(name, str) FTP_WAIT_##name,
enum ftp_wait_kind { FTP_WAIT_KINDS(FTP_WAIT_ENUM) FTP_WAIT_COUNT };
#undef FTP_WAIT_ENUM

/* How the holder of a lock was found. */
#define FTP_HOLDER_HOWS(X)                                                           \
	X(NONE, "")                                                                  \
	X(OWNER, "owner")         /* recorded by the interpreter: RLock's owner, a \
				     thread's critical sections, the GIL */ \
	X(WITH, "with")           /* the lock's bound __exit__ on the holder's     \
				     frame stack: inside `with lock:` */ \
	X(REFERENCE, "reference") /* inferred: the only thread whose frames hold   \
				     the locked lock and do not wait for it */

#define FTP_HOLDER_ENUM(name, str) FTP_HOLDER_##name,
enum ftp_holder_how { FTP_HOLDER_HOWS(FTP_HOLDER_ENUM) FTP_HOLDER_COUNT };
#undef FTP_HOLDER_ENUM

struct ftp_wait {
	enum ftp_wait_kind kind; /* FTP_WAIT_NONE when the sample waits on nothing known */
	/* The lock or object waited on (the Lock, the object whose critical
	 * section, the PyMutex, the GIL's struct), stable across samples; 0
	 * when unknown. */
	uint64_t address;
	/* CRITICAL_SECTION: the object's type name as the target holds it
	 * (tp_name, not escaped); NULL otherwise or when unreadable. */
	const char *type;
	pid_t holder; /* native thread id of the holder; 0 when unknown */
	enum ftp_holder_how holder_how;
};

const char *ftp_wait_kind_name(enum ftp_wait_kind kind);  /* "" for NONE or out of range */
const char *ftp_holder_how_name(enum ftp_holder_how how); /* "" for NONE or out of range */

/* Name of a state ("running", ...); "unknown" for out-of-range values. */
const char *ftp_state_name(enum ftp_state state);

/* Active: on a CPU or wanting one (running Python or native code,
 * collecting, runnable, a lock waiter spinning on its CPU), or unknown,
 * which may be any of them: what py-spy calls active, and what record's
 * flame graphs keep without --idle. on_cpu: 1, 0, -1 unknown. */
static inline bool ftp_state_active(enum ftp_state state, int on_cpu)
{
	switch (state) {
	case FTP_STATE_RUNNING:
	case FTP_STATE_NATIVE:
	case FTP_STATE_GC:
	case FTP_STATE_RUNNABLE:
	case FTP_STATE_UNKNOWN:
		return true;
	case FTP_STATE_LOCK:
		return on_cpu == 1;
	default:
		return false;
	}
}

/* What an on-CPU sample's instruction was doing (docs/oncpu.md). */
#define FTP_CPU_KINDS(X)                                                           \
	X(UNKNOWN, "unknown")   /* no module maps the instruction */               \
	X(PYTHON, "python")     /* interpreting Python: the frame evaluator */     \
	X(NATIVE, "native")     /* C code: another function of any library */      \
	X(REFCOUNT, "refcount") /* a reference count update (DWARF: the inlined \
				   function is a refcount routine) */  \
	X(LOCK, "lock")         /* spinning for a lock, or in the lock routines */ \
	X(ALLOC, "alloc")       /* the object and memory allocators */             \
	X(GC, "gc")             /* the garbage collector */                        \
	X(STW, "stw")           /* stopping or starting the world */               \
	X(KERNEL, "kernel")     /* in a system call or fault (the thread's user     \
				   registers are where it entered the kernel) */

#define FTP_CPU_ENUM(name, str) FTP_CPU_##name,
enum ftp_cpu_kind { FTP_CPU_KINDS(FTP_CPU_ENUM) FTP_CPU_KIND_COUNT };
#undef FTP_CPU_ENUM

/* Name of a kind ("python", ...); "unknown" for out-of-range values. */
const char *ftp_cpu_kind_name(enum ftp_cpu_kind kind);

/* One on-CPU sample of a thread (perf_event cpu-clock): taken by the kernel
 * each time the thread has run a period of CPU time, wherever it was. */
struct ftp_tick {
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	int cpu;          /* the CPU it ran on */
	enum ftp_cpu_kind kind;
	bool in_kernel;     /* the interrupted instruction was the kernel's */
	uint64_t ip;        /* the thread's user instruction pointer */
	const char *symbol; /* its function, NULL if unknown */
	const char *object; /* the module's path, NULL if unknown */
	/* DWARF: the innermost function inlined at ip ("Py_INCREF"), NULL
	 * when none or the build has no DWARF. */
	const char *inlined;
	/* REFCOUNT: the object whose count is updated (0 when its location is
	 * unknown at ip) and its type's name as the target holds it (tp_name,
	 * not escaped; NULL when unreadable). */
	uint64_t object_addr;
	const char *object_type;
	/* Its short name where one is cheap, not escaped: a type's name, a
	 * str's text in quotes (cut at 40 characters with "..."), a code
	 * object's or function's qualified name, a module's name; NULL for
	 * other objects. Lent until ftp_probe_trim. */
	const char *object_name;
};

/* One CPU's time as /proc/stat counts it: clock ticks (USER_HZ) spent busy
 * (anything but idle and iowait) and in all, since boot. */
struct ftp_cpu_time {
	uint64_t busy, total;
};

/* A code object as decoded once and cached by the probe. Strings are UTF-8
 * as the target holds them (not escaped), never NULL ("" when unreadable). */
struct ftp_code {
	uint64_t addr;        /* address of the code object in the target */
	const char *name;     /* co_name */
	const char *qualname; /* co_qualname (3.11+), else co_name */
	const char *filename; /* co_filename */
	int firstlineno;
};

#define FTP_FRAME_NATIVE (1u << 0) /* a native frame: ip, symbol, object */
#define FTP_FRAME_ENTRY (1u << 1)  /* the first Python frame an eval call ran: entered from C */

/* A Python frame (code set) or, with FTP_FRAME_NATIVE, a native one (code
 * NULL). A native frame's ip is its program counter: the return address for
 * every frame but the innermost (and signal frames). On 3.12 and later, a
 * Python frame with FTP_FRAME_ENTRY has in ip the address of the entry frame
 * its eval call keeps on the C stack (0 when unknown, and on other Python
 * frames). */
struct ftp_frame {
	unsigned flags;
	const struct ftp_code *code; /* Python frames */
	int line;                    /* -1 when unknown */
	uint64_t ip;                 /* native frames; see above */
	const char *symbol;          /* native frames: NULL if unknown */
	uint64_t offset;             /* ip - the symbol's address, when symbol is set */
	const char *object;          /* native frames: path of the mapped file, NULL if unknown */
};

#define FTP_SAMPLE_TORN (1u << 0)      /* the frame chain changed while read */
#define FTP_SAMPLE_TRUNCATED (1u << 1) /* deeper than the probe's limit */
#define FTP_SAMPLE_NO_STACK (1u << 2)  /* the thread has no Python frame */
#define FTP_SAMPLE_NO_NATIVE (1u << 3) /* native frames asked for, none unwound */
/* Native frames asked for, and the native stack was deeper than the probe
 * unwinds: the outer native frames are missing, and the Python frames of the
 * eval calls not reached follow the last native frame. */
#define FTP_SAMPLE_NATIVE_TRUNCATED (1u << 4)

/* One thread at one instant. Everything pointed to is lent by the probe: the
 * struct and frames until the callback returns, ftp_code and strings until
 * ftp_probe_destroy(). */
struct ftp_sample {
	uint64_t time_ns; /* CLOCK_MONOTONIC */
	pid_t pid;
	pid_t tid;          /* native thread id; 0 if unknown */
	uint64_t thread_id; /* threading.get_ident() */
	const char *name;   /* threading name, NULL if unknown */
	bool is_main;       /* the interpreter's main thread */
	uint64_t round;     /* the probe's round clock (ftp_round.number) */
	enum ftp_state state;
	int on_cpu;           /* 1 on a CPU now, 0 off it, -1 unknown */
	struct ftp_wait wait; /* lock, wait, gil: what it waits on */
	char os_state;        /* state letter of /proc/PID/task/TID/stat, 0 if unread */
	int holds_gil;        /* 1, 0, or -1 where the build has no GIL or it is unknown */
	unsigned flags;       /* FTP_SAMPLE_* */
	unsigned nframes;
	const struct ftp_frame *frames; /* innermost first */
	/* On-CPU samples (ftp_probe_opts.oncpu_hz): the thread's ticks since
	 * its previous sample, oldest first, attributed to this sample's
	 * Python frames. */
	int cpu; /* the CPU of its latest tick, -1 if none or unknown */
	unsigned nticks;
	const struct ftp_tick *ticks;
	/* Nonzero when the probe knows two samples of a thread have the same
	 * frames: it gives them the same stack_id (unique to that stack read,
	 * never reused for another). */
	uint64_t stack_id;
};

/* Called for every thread of a round. Return 0 to go on, nonzero to stop the
 * round; that value is returned by ftp_probe_sample(). */
typedef int ftp_sample_fn(const struct ftp_sample *sample, void *arg);

#endif
