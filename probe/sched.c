/* SPDX-License-Identifier: MIT */
/* Thread states from the scheduler: one perf_event per thread recording its
 * context switches into a ring ftprof reads without a system call. The last
 * switch of a thread says whether it is on a CPU, waiting for one, or
 * blocked; /proc tells what a blocked thread waits for, once per block. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe_int.h"

#define RING_PAGES 1 /* data pages: 4 KiB, 512 switch records */

enum sched_state { SCHED_UNKNOWN, SCHED_ON_CPU, SCHED_PREEMPTED, SCHED_BLOCKED };

struct sched_thread {
	pid_t tid;
	int fd;     /* -1: no event (open failed): /proc every round */
	int sys_fd; /* its /proc syscall file, opened on its first block; -1 */
	struct perf_event_mmap_page *page;
	size_t map_len;
	enum sched_state state;
	bool exact;        /* state is the ring's, not a guess from /proc */
	bool syscall_read; /* the blocked thread's system call is known */
	struct task_info info;
	uint64_t seen; /* round it was last asked for */
};

struct probe_sched {
	struct sched_thread *v;
	size_t n, cap;
	bool unavailable; /* perf_event_open refused: /proc for every thread */
	int open_errno;
	bool frozen; /* states taken before a blocking round stopped the target */
	/* The last blocking stop, CLOCK_MONOTONIC: the switches into it and
	 * out of it are ftprof's, not the threads' own, and are skipped. */
	uint64_t stop_from, stop_to;
};

static long page_size(void)
{
	static long size;
	if (!size)
		size = sysconf(_SC_PAGESIZE);
	return size;
}

static void close_thread(struct sched_thread *t)
{
	if (t->page)
		munmap(t->page, t->map_len);
	if (t->fd >= 0)
		close(t->fd);
	if (t->sys_fd >= 0)
		close(t->sys_fd);
	t->page = NULL;
	t->fd = t->sys_fd = -1;
}

void probe_sched_release(struct ftp_probe *p)
{
	struct probe_sched *s = p->sched;
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		close_thread(&s->v[i]);
	free(s->v);
	free(s);
	p->sched = NULL;
}

static int open_event(pid_t tid, struct sched_thread *t)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_DUMMY;
	attr.context_switch = 1;
	attr.sample_type = PERF_SAMPLE_TIME; /* each switch says when */
	attr.sample_id_all = 1;
	attr.use_clockid = 1;
	attr.clockid = CLOCK_MONOTONIC;
	attr.exclude_kernel = 1; /* what perf_event_paranoid 2 allows */
	attr.exclude_hv = 1;
	int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = (size_t)page_size() * (1 + RING_PAGES);
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int e = errno;
		close(fd);
		return -e;
	}
	t->fd = fd;
	t->page = map;
	t->map_len = len;
	return 0;
}

/* What /proc says now: the seed of a new event, and the fallback. */
static void from_proc(struct ftp_probe *p, struct sched_thread *t)
{
	t->info.state = probe_task_state(p->pid, t->tid);
	if (t->info.state == 't')
		t->info.state = 0; /* stopped by a tracer (ftprof's own stop): unknown */
	t->info.in_syscall = false;
	if (t->info.state == 'S' || t->info.state == 'D')
		t->info.in_syscall = probe_task_syscall(p->pid, t->tid, &t->info.sys_nr, &t->info.sys_arg0);
	t->state = t->info.state == 'R'                           ? SCHED_ON_CPU
	           : t->info.state == 'S' || t->info.state == 'D' ? SCHED_BLOCKED
	                                                          : SCHED_UNKNOWN;
	t->syscall_read = true;
	t->exact = false;
}

/* Consumes the thread's new switch records; the last one is its state.
 * Switches during ftprof's own last stop are skipped, and so is the thread's
 * first switch out after the stop began, whenever it is stamped: that is the
 * switch into the stop, which the tracer may see before the thread leaves
 * its CPU (the detach waits for it, the stop's end does not). Returns
 * whether there were any others. */
static bool drain(const struct probe_sched *s, struct sched_thread *t)
{
	struct perf_event_mmap_page *pg = t->page;
	uint64_t head = __atomic_load_n(&pg->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = pg->data_tail;
	if (head == tail)
		return false;
	const unsigned char *data =
	        (const unsigned char *)pg + (pg->data_offset ? pg->data_offset : (uint64_t)page_size());
	uint64_t size = pg->data_size ? pg->data_size : (uint64_t)page_size() * RING_PAGES;
	bool lost = head - tail > size, any = false;
	bool stopped = s->stop_to > s->stop_from, stop_out_seen = false;
	while (!lost && tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		uint64_t off = tail % size;
		if (off + sizeof(h) <= size) {
			memcpy(&h, data + off, sizeof(h));
		} else {
			size_t first = (size_t)(size - off);
			memcpy(&h, data + off, first);
			memcpy((unsigned char *)&h + first, data, sizeof(h) - first);
		}
		if (h.size < sizeof(h))
			break; /* cannot happen; do not loop on it */
		uint64_t when = 0;
		if (h.size >= sizeof(h) + sizeof(when)) { /* sample_id: the time */
			uint64_t at = (tail + sizeof(h)) % size;
			for (size_t k = 0; k < sizeof(when); k++)
				((unsigned char *)&when)[k] = data[(at + k) % size];
		}
		bool out = h.misc & PERF_RECORD_MISC_SWITCH_OUT;
		bool preempt = h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT;
		if (h.type == PERF_RECORD_SWITCH && stopped && when >= s->stop_from &&
		    (when < s->stop_to || (out && !preempt && !stop_out_seen))) {
			/* ftprof's stop: not the thread's doing */
			stop_out_seen |= out && !preempt;
		} else if (h.type == PERF_RECORD_SWITCH) {
			any = true;
			if (!out)
				t->state = SCHED_ON_CPU;
			else if (preempt)
				t->state = SCHED_PREEMPTED;
			else
				t->state = SCHED_BLOCKED;
			t->syscall_read = false;
		} else if (h.type == PERF_RECORD_LOST) {
			lost = true;
		}
		tail += h.size;
	}
	if (lost) {
		t->state = SCHED_UNKNOWN; /* reseeded from /proc below */
		tail = head;
		any = true;
	}
	__atomic_store_n(&pg->data_tail, tail, __ATOMIC_RELEASE);
	return any;
}

static struct sched_thread *find(struct probe_sched *s, pid_t tid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].tid == tid)
			return &s->v[i];
	return NULL;
}

/* Brings t->info up to date with the switches recorded since last time. A
 * thread off its CPU at the last look, with no switch since, has not run:
 * its stack cannot have moved (info.still). */
static void update(struct ftp_probe *p, struct sched_thread *t)
{
	t->info.still = t->info.off_cpu = false;
	if (t->fd < 0) {
		from_proc(p, t);
		return;
	}
	bool switched = drain(p->sched, t);
	if (t->state == SCHED_UNKNOWN) {
		from_proc(p, t);
		return;
	}
	t->info.off_cpu = t->state != SCHED_ON_CPU;
	t->info.still = t->exact && !switched && t->info.off_cpu;
	t->exact = true;
	t->info.state = t->state == SCHED_BLOCKED ? 'S' : 'R';
	if (t->state != SCHED_BLOCKED) {
		t->info.in_syscall = false;
	} else if (!t->syscall_read) {
		/* blocked since the last look: in what? once per block */
		if (t->sys_fd < 0)
			t->sys_fd = probe_task_syscall_open(p->pid, t->tid);
		if (t->sys_fd >= 0)
			t->info.in_syscall = probe_task_syscall_read(t->sys_fd, p->pid, t->tid,
			                                             &t->info.sys_nr, &t->info.sys_arg0);
		else /* out of descriptors: open it each time */
			t->info.in_syscall =
			        probe_task_syscall(p->pid, t->tid, &t->info.sys_nr, &t->info.sys_arg0);
		t->syscall_read = true;
	}
}

void probe_sched_freeze(struct ftp_probe *p)
{
	struct probe_sched *s = p->sched;
	if (!s || !s->n) {
		/* The first round: meet the threads now, while they run. */
		pid_t *tids = NULL;
		long n = probe_tasks(p->pid, &tids, NULL);
		for (long i = 0; i < n; i++)
			probe_sched_task(p, tids[i]);
		free(tids);
		if (!(s = p->sched))
			return;
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].seen != p->stats.rounds + 1)
			update(p, &s->v[i]);
	s->frozen = true;
	s->stop_from = probe_now_ns();
}

void probe_sched_stop_ends(struct ftp_probe *p)
{
	if (p->sched)
		p->sched->stop_to = probe_now_ns();
}

/* The state of tid now. Opens its event on first sight. */
const struct task_info *probe_sched_task(struct ftp_probe *p, pid_t tid)
{
	struct probe_sched *s = p->sched;
	if (!s) {
		s = p->sched = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
	}
	struct sched_thread *t = find(s, tid);
	if (!t) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 16;
			struct sched_thread *v = realloc(s->v, cap * sizeof(*v));
			if (!v)
				return NULL;
			s->v = v;
			s->cap = cap;
		}
		t = &s->v[s->n++];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		t->fd = t->sys_fd = -1;
		t->info.tid = tid;
		if (!s->unavailable) {
			int e = open_event(tid, t);
			if (e == -EACCES || e == -EPERM || e == -ENOSYS || e == -ENOENT || e == -EOPNOTSUPP) {
				s->unavailable = true;
				s->open_errno = -e;
			}
		}
		from_proc(p, t);
	} else if (!s->frozen && t->seen != p->stats.rounds + 1) {
		update(p, t); /* once per round: a second look would find no switch */
	}
	t->seen = p->stats.rounds + 1;
	return &t->info;
}

/* Closes the events of threads the round did not see: they have exited. */
void probe_sched_end_round(struct ftp_probe *p)
{
	struct probe_sched *s = p->sched;
	if (!s)
		return;
	s->frozen = false;
	size_t kept = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].seen == p->stats.rounds + 1)
			s->v[kept++] = s->v[i];
		else
			close_thread(&s->v[i]);
	}
	s->n = kept;
}

const char *probe_sched_source(const struct ftp_probe *p)
{
	const struct probe_sched *s = p->sched;
	if (!s || !s->n)
		return "none";
	return s->unavailable ? "/proc" : "perf_event context switches";
}
