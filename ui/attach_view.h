/* SPDX-License-Identifier: MIT */
/* ui/: the live view of `ftprof attach`, as plain data: a model fed with
 * the samples of each round (threads and their recent states, functions and
 * lines with own and total shares, and ui/analysis for parallelism, locks,
 * the GIL and deadlocks), a view built from it (rows of escaped strings and
 * numbers), the screen lines laid out from a view for a terminal of a given
 * size, and what each key does. Nothing here knows curses: ui/tui.c draws
 * the lines, and the unit tests read them.
 *
 * The figures cover a window: the last ATTACH_WINDOW seconds, or since the
 * reset. The model keeps one analysis and one function table per second in
 * a ring, and the threads seen in the window; building a view merges the
 * window's seconds. Memory stays bounded however long it runs.
 *
 * Cost: adding a sample is O(its frames); building a view is
 * O(threads + functions + locks) of the window's seconds, whatever the
 * number of samples so far. */
#ifndef FTPROF_ATTACH_VIEW_H
#define FTPROF_ATTACH_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "analysis/analysis.h"
#include "ftprof/util.h"

#define ATTACH_HISTORY 10 /* seconds of state history per thread */
#define ATTACH_WINDOW 10  /* seconds the figures cover (or since the reset) */

/* A frame of a sample, strings lent for the call: a Python frame, or with
 * --native a C function (function its symbol, file its library, line -1).
 * code: the code object's address, which keys the function (0: keyed by
 * its strings). */
struct attach_frame {
	uint64_t code;
	const char *function, *file;
	int line;      /* -1 unknown */
	int firstline; /* the function's first line; 0 unknown */
};

/* One thread of one round: what the analysis takes, its frames innermost
 * first, and whether it was torn (then it counts as torn, nothing else). */
struct attach_sample {
	struct analysis_sample a;
	const struct attach_frame *frames;
	size_t nframes;
	bool torn;
};

struct attach_model_opts {
	double rate;   /* asked */
	long cores;    /* of the machine; 0 unknown */
	bool idle;     /* functions count idle samples too (default: active ones only) */
	double tick_s; /* the CPU time one on-CPU tick stands for; 0: no ticks */
};

struct attach_model; /* opaque */

/* Returns 0 and stores a model for attach_model_destroy(), or -FTP_E_NOMEM. */
int attach_model_create(struct attach_model **out, const struct attach_model_opts *opts);
void attach_model_destroy(struct attach_model *m); /* NULL ok */

/* Adds a sample of the open round (a sample of a new round ends the open
 * one). Returns 0 or -FTP_E_NOMEM (the sample is then not counted). */
int attach_model_add(struct attach_model *m, const struct attach_sample *s);
/* Ends the open round: its threads are the ones the view shows as now. */
int attach_model_end_round(struct attach_model *m);
/* The machine's CPU times (ftp_cpu_times) at time_ns: give them about once
 * a second for the cores' busy shares. Returns 0 or -FTP_E_NOMEM. */
int attach_model_cpustat(struct attach_model *m, uint64_t time_ns, const struct ftp_cpu_time *cpus,
                         unsigned n);
/* Forgets every count (r): the next figures start from the next round. */
int attach_model_reset(struct attach_model *m);

/* What the caller knows of the target and the sampler. Strings lent for the
 * call, not escaped (the target's command line is the target's). */
struct attach_status {
	pid_t pid;
	const char *command;
	const char *version; /* "3.13.15" */
	bool free_threaded, gil_enabled;
	double elapsed_s; /* since the attach (or the reset) */
	double rate_asked;
	uint64_t rounds, missed, failed;
	const char *ended; /* why sampling stopped ("the target exited"), or NULL */
	bool ascii;        /* the terminal is not UTF-8 */
	/* On-CPU samples: where they come from (ftp_target_info's
	 * oncpu_source: "perf_event cpu-clock", "off", or why not), whether the
	 * ticks are on (a period), the interpreter's DWARF for refcount objects
	 * (oncpu_dwarf), and the ticks the kernel lost. */
	const char *oncpu_source;
	bool oncpu;
	const char *oncpu_dwarf;
	uint64_t ticks_lost;
	/* A program attach launched: where its output goes; NULL: not launched. */
	const char *output_log;
};

/* ---- the view ---- */

struct attach_thread_row {
	pid_t tid;
	char name[64];
	enum ftp_state state; /* in the latest round */
	int on_cpu;
	double cpu;                       /* CPU used: from its on-CPU ticks when the view has
	                                     ticks, else the share of its samples on a CPU */
	int last_cpu;                     /* the CPU of its latest tick; -1 none */
	double shares[FTP_STATE_COUNT];   /* of the window's samples */
	char history[ATTACH_HISTORY + 1]; /* a letter per second, oldest first (' ': none) */
	char where[256];                  /* "function file:line" (file's base name), or "" */
	char file[256];                   /* the full path, for the detail line */
	char wait[256];                   /* "Lock 0x... held by NAME (TID)" or "" */
	char wait_short[192];             /* the same without the address, for narrow screens */
};

struct attach_function_row {
	char function[128];
	char file[256]; /* the full path */
	int line;       /* the function's first line, or the line (lines view); -1 unknown */
	uint64_t own, total;
	double own_share, total_share;
};

struct attach_lock_row {
	enum ftp_wait_kind kind;
	uint64_t address;
	char type[64];     /* a critical section's object type */
	unsigned waiters;  /* threads waiting for it in the latest round */
	double wait_s;     /* total since the reset */
	char waiting[256]; /* the line most waiters wait at */
	char holder[256];  /* "NAME (TID)" of the latest round's holder, or the line holders held it at */
};

/* A CPU of the machine: busy (whatever ran; -1 unknown) and the target's
 * share of it, over the view's time. */
struct attach_core_row {
	int cpu;
	double busy, target;
};

/* Objects of one type whose reference counts threads fought over. */
struct attach_refcount_row {
	char type[64];
	uint64_t objects, samples;
	double share;     /* of all on-CPU samples */
	uint64_t address; /* the object seen most */
	char name[128];   /* its short name, escaped; "": none */
	char where[256];  /* the line most of its samples were at: "function file:line" */
	char file[256];   /* that line's full path */
};

enum attach_sort { ATTACH_SORT_OWN, ATTACH_SORT_TOTAL, ATTACH_SORT_NAME, ATTACH_SORT_COUNT };

struct attach_view {
	/* header */
	char title[512]; /* "pid 4242  python3 app.py" */
	char python[64]; /* "Python 3.13.15 free-threaded" */
	double elapsed_s, rate_asked, rate;
	uint64_t torn, missed, failed, samples;
	double effective, python_par; /* mean threads on a CPU; of them running Python */
	long cores;
	bool gil_build;
	double gil_busy;
	/* On-CPU ticks: oncpu when the view has any, then the target's CPU
	 * (cores' worth: 1.5 = 150%), split by what ran, the cores, the
	 * contended objects; oncpu_note says why there are none ("" when there
	 * are), refcount_note what the refcount panel cannot show. */
	bool oncpu;
	char oncpu_note[256];
	double target_cpu, machine_cpu; /* machine_cpu: -1 unknown */
	double kinds[FTP_CPU_KIND_COUNT];
	uint64_t ticks, ticks_lost;
	struct attach_core_row *core_rows; /* every CPU from 0 */
	size_t ncores;
	struct attach_refcount_row *refcount; /* by samples, most first */
	size_t nrefcount;
	char refcount_note[320];
	char deadlock[512]; /* the latest round's wait-for cycle in words, or "" */
	char ended[256];    /* why sampling stopped, or "" */
	bool ascii;

	struct attach_thread_row *threads;
	size_t nthreads;
	struct attach_function_row *functions; /* sorted as asked */
	size_t nfunctions;
	uint64_t function_samples; /* the samples the shares are of */
	bool by_line;
	enum attach_sort sort;
	pid_t thread;                  /* the functions are this thread's only; 0: every thread's */
	char thread_label[96];         /* "NAME (TID)" of that thread */
	struct attach_lock_row *locks; /* by total wait, most first */
	size_t nlocks;
	/* Kept from one build to the next (a build 10 times a second that
	 * freed and grew them anew would scatter the heap): */
	size_t functions_cap;
	struct attach_fkey *fkeys; /* the functions' keys */
	size_t fkeys_cap;
	struct ftp_hindex fkey_ix;
};

/* Builds *v (zeroed or built before: it is reused), the functions sorted
 * by sort, by line or not, of thread only (nonzero) or of all. Returns 0 or
 * -FTP_E_NOMEM (v is then valid, possibly with fewer rows). */
int attach_view_build(struct attach_model *m, const struct attach_status *st, enum attach_sort sort,
                      bool by_line, pid_t thread, struct attach_view *v);
void attach_view_release(struct attach_view *v);

/* ---- keys and the screen ---- */

enum attach_panel { ATTACH_THREADS, ATTACH_FUNCTIONS, ATTACH_LOCKS, ATTACH_REFCOUNT, ATTACH_PANELS };

/* What the keys have chosen. Zeroed: the threads panel, nothing else. */
struct attach_ui {
	enum attach_panel panel;
	int sel[ATTACH_PANELS], top[ATTACH_PANELS]; /* selected row, first row shown */
	enum attach_sort sort;
	bool by_line, help, paused;
	pid_t thread;   /* t: the functions of this thread only; 0: all */
	pid_t selected; /* the thread selected in the threads panel (set by attach_render) */
};

/* Keys beside ASCII, as the curses file maps them. */
enum {
	ATTACH_KEY_UP = 0x101,
	ATTACH_KEY_DOWN,
	ATTACH_KEY_PGUP,
	ATTACH_KEY_PGDN,
	ATTACH_KEY_HOME,
	ATTACH_KEY_END,
	ATTACH_KEY_RESIZE,
};

enum attach_action {
	ATTACH_NONE,    /* nothing changed */
	ATTACH_DRAW,    /* the screen must be laid out again */
	ATTACH_REBUILD, /* the view must be built again (sort, toggle), then drawn */
	ATTACH_RESET,   /* r: reset the model, then rebuild */
	ATTACH_QUIT,
};

enum attach_action attach_key(struct attach_ui *ui, int key);

enum attach_attr {
	ATTACH_ATTR_NORMAL,
	ATTACH_ATTR_HEADER,   /* the header lines */
	ATTACH_ATTR_ALERT,    /* a deadlock, the target's exit */
	ATTACH_ATTR_TABS,     /* the panel tabs */
	ATTACH_ATTR_COLUMNS,  /* column titles */
	ATTACH_ATTR_SELECTED, /* the selected row */
	ATTACH_ATTR_STATUS,   /* the last line */
};

#define ATTACH_MAX_WIDTH 512
#define ATTACH_MAX_HEIGHT 256

struct attach_line {
	enum attach_attr attr;
	char text[ATTACH_MAX_WIDTH * 4 + 1]; /* UTF-8 (ASCII when the view is), at most width columns */
};

struct attach_screen {
	int width, height; /* clamped to the maxima; at least 1 */
	struct attach_line lines[ATTACH_MAX_HEIGHT];
};

/* Lays v out on scr for a terminal of width x height, as ui asks (its
 * selection is clamped to the rows there are, and scrolled into sight). */
void attach_render(const struct attach_view *v, struct attach_ui *ui, int width, int height,
                   struct attach_screen *scr);

/* The letter a state has in a thread's history ("R" running, ...). */
char attach_state_letter(enum ftp_state state);

#endif
