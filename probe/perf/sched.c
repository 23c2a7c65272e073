/* SPDX-License-Identifier: MIT */
/* Thread states from the scheduler: one perf_event per thread recording its
 * context switches into a ring ftprof reads without a system call. The last
 * switch of a thread says whether it is on a CPU, waiting for one, or
 * blocked; /proc tells what a blocked thread waits for, once per block.
 *
 * Where the kernel allows it (root, or perf_event_paranoid <= 1), each switch
 * out also brings the thread's user registers: the call site and the first
 * two arguments of the system call it blocks in. A block at a site already
 * seen with the same arguments is the same call (the same futex: the GIL, a
 * lock), and /proc is not read again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf/perf.h"
#include "probe_int.h"

#define RING_PAGES 1 /* data pages: 4 KiB, 256 switch records */
/* With a 48-byte sample per switch out: 32 KiB, some 270 switches in and
 * out, as a spinning lock waiter makes in a few milliseconds (it yields its
 * CPU between looks at its lock). Past RING_BIG_THREADS threads, or where
 * locked memory runs short (perf_event_mlock_kb), the smaller ring: a
 * thread that fills it loses its switches until the next round, which then
 * reads its state from /proc. */
#define RING_PAGES_REGS 8
#define RING_PAGES_REGS_SHORT 2
#define RING_BIG_THREADS 128
#define SITES 256   /* system call sites remembered */
#define SITE_WAYS 4 /* places a site may take, from its hash on */

/* The user registers of a thread's last switch out (PERF_SAMPLE_REGS_USER,
 * in the order of their bits in enum perf_event_x86_regs). */
#define REG_AX 0
#define REG_SI 4
#define REG_DI 5
#define REG_SP 7
#define REG_IP 8
#define REGS_MASK \
	((1ull << REG_AX) | (1ull << REG_SI) | (1ull << REG_DI) | (1ull << REG_SP) | (1ull << REG_IP))
/* AX at a switch inside a system call: the kernel keeps -ENOSYS there until
 * the call returns */
#define AX_IN_SYSCALL ((uint64_t)-ENOSYS)

struct block_regs {
	uint64_t ax, si, di, sp, ip;
	bool valid;
};

/* A system call /proc named at a site: (ip, arg0, arg1) -> nr. */
struct syscall_site {
	uint64_t ip, arg0, arg1;
	long nr;
};

/* Whether a thread that can run is on a CPU or waits for one is told as
 * it was at one instant, this long before the round began: before the
 * sampler woke and took a CPU from one of them (its wake-up takes
 * microseconds), and the same instant for all the round's threads, so that
 * no more of them are on CPUs than there are CPUs. Whether it runs at all
 * (or is blocked) is its latest state, as its frames are. */
#define INSTANT_LEAD_NS 100000u

enum sched_state { SCHED_UNKNOWN, SCHED_ON_CPU, SCHED_PREEMPTED, SCHED_BLOCKED };

struct sched_thread {
	pid_t tid;
	struct perf_ring ring;     /* fd -1: no event (open failed): /proc every round */
	int sys_fd;                /* its /proc syscall file, opened on its first block; -1 */
	enum sched_state state;    /* after its last switch */
	enum sched_state at;       /* at the round's instant (INSTANT_LEAD_NS) */
	bool exact;                /* state is the ring's, not a guess from /proc */
	bool syscall_read;         /* the blocked thread's system call is known */
	struct block_regs pending; /* the sample of a switch out to come */
	struct block_regs block;   /* where the thread blocked last */
	uint64_t in_ns;            /* its last switch in, while on a CPU; 0 */
	uint64_t ran_ns;           /* CPU time since its last block, to in_ns; UINT64_MAX unknown */
	bool yielded;              /* its last switch out was a yield */
	struct task_info info;
	uint64_t seen; /* round it was last asked for */
};

struct probe_sched {
	struct sched_thread *v;
	size_t n, cap;
	bool unavailable; /* perf_event_open refused: /proc for every thread */
	int open_errno;
	int regs; /* switches bring user registers: 1 yes, -1 refused, 0 untried */
	struct syscall_site sites[SITES];
	unsigned site_victim; /* which way a new site takes when all are full */
	bool frozen;          /* states taken before a blocking round stopped the target */
	uint64_t instant;     /* CLOCK_MONOTONIC of INSTANT_LEAD_NS; UINT64_MAX outside a round */
	/* The last blocking stop, CLOCK_MONOTONIC: the switches into it and
	 * out of it are ftprof's, not the threads' own, and are skipped. */
	uint64_t stop_from, stop_to;
	uint64_t yield_start, yield_end; /* sched_yield in the target */
};

static void close_thread(struct sched_thread *t)
{
	perf_ring_close(&t->ring);
	if (t->sys_fd >= 0)
		close(t->sys_fd);
	t->sys_fd = -1;
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

/* With regs, the event also samples every switch out of the thread with its
 * user registers: a context switch happens in the kernel, so the sample
 * needs kernel events counted, which perf_event_paranoid 2 refuses to users
 * without CAP_PERFMON. */
static int open_event(pid_t tid, struct sched_thread *t, bool regs, bool big)
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
	if (regs) {
		attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
		attr.sample_period = 1;
		attr.sample_type |= PERF_SAMPLE_REGS_USER;
		attr.sample_regs_user = REGS_MASK;
		attr.exclude_kernel = 0;
	}
	if (!regs)
		return perf_ring_open(&t->ring, &attr, tid, -1, RING_PAGES);
	int e = big ? perf_ring_open(&t->ring, &attr, tid, -1, RING_PAGES_REGS) : -ENOMEM;
	if (e == -EPERM || e == -ENOMEM)
		e = perf_ring_open(&t->ring, &attr, tid, -1, RING_PAGES_REGS_SHORT);
	return e;
}

/* What /proc says now: the seed of a new event, and the fallback. */
static void from_proc(struct ftp_probe *p, struct sched_thread *t)
{
	probe_task_read(p->pid, &t->info);
	if (t->info.state == 't')
		t->info.state = 0; /* stopped by a tracer (ftprof's own stop): unknown */
	t->state = t->at = t->info.state == 'R'                           ? SCHED_ON_CPU
	                   : t->info.state == 'S' || t->info.state == 'D' ? SCHED_BLOCKED
	                                                                  : SCHED_UNKNOWN;
	t->syscall_read = true;
	t->exact = false;
	t->in_ns = 0;
	t->ran_ns = UINT64_MAX; /* since a block not seen */
	t->yielded = false;
}

/* A switch-out sample: the time, the registers' ABI, then AX, SI, DI, SP, IP. */
static void take_sample(const struct perf_ring *ring, uint64_t at, uint16_t len, struct block_regs *r)
{
	uint64_t v[7];
	r->valid = false;
	if (len < sizeof(struct perf_event_header) + sizeof(v))
		return;
	perf_ring_copy(ring, at + sizeof(struct perf_event_header), v, sizeof(v));
	if (v[1] != PERF_SAMPLE_REGS_ABI_64)
		return; /* no user registers: a kernel thread */
	*r = (struct block_regs){ .ax = v[2], .si = v[3], .di = v[4], .sp = v[5], .ip = v[6], .valid = true };
}

/* Consumes the thread's new switch records; the last one is its state.
 * Switches during ftprof's own last stop are skipped, and so is the thread's
 * first switch out after the stop began, whenever it is stamped: that is the
 * switch into the stop, which the tracer may see before the thread leaves
 * its CPU (the detach waits for it, the stop's end does not). Returns
 * whether there were any others. */
static bool drain(const struct probe_sched *s, struct sched_thread *t)
{
	uint64_t head, tail;
	if (!perf_ring_pending(&t->ring, &tail, &head))
		return false;
	bool lost = head - tail > t->ring.size, any = false;
	bool stopped = s->stop_to > s->stop_from, stop_out_seen = false;
	while (!lost && tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		perf_ring_copy(&t->ring, tail, &h, sizeof(h));
		if (h.size < sizeof(h))
			break; /* cannot happen; do not loop on it */
		if (h.type == PERF_RECORD_SAMPLE) {
			/* a switch out's registers: its record comes next */
			take_sample(&t->ring, tail, h.size, &t->pending);
			tail += h.size;
			continue;
		}
		uint64_t when = 0;
		if (h.size >= sizeof(h) + sizeof(when)) /* sample_id: the time */
			perf_ring_copy(&t->ring, tail + sizeof(h), &when, sizeof(when));
		bool out = h.misc & PERF_RECORD_MISC_SWITCH_OUT;
		bool preempt = h.misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT;
		if (h.type == PERF_RECORD_SWITCH && stopped && when >= s->stop_from &&
		    (when < s->stop_to || (out && !preempt && !stop_out_seen))) {
			/* ftprof's stop: not the thread's doing */
			stop_out_seen |= out && !preempt;
			t->pending.valid = false;
		} else if (h.type == PERF_RECORD_SWITCH) {
			any = true;
			if (out && t->in_ns && when >= t->in_ns && t->ran_ns != UINT64_MAX)
				t->ran_ns += when - t->in_ns;
			t->in_ns = out ? 0 : when;
			*(out ? &t->info.out_ns : &t->info.in_ns) = when;
			if (!out) {
				t->state = SCHED_ON_CPU;
			} else if (preempt) {
				t->state = SCHED_PREEMPTED;
				/* still able to run, switched out inside the
				 * sched_yield system call: it gave its CPU away */
				t->yielded = t->pending.valid && t->pending.ax == AX_IN_SYSCALL &&
				             t->pending.ip >= s->yield_start && t->pending.ip < s->yield_end;
			} else {
				t->state = SCHED_BLOCKED;
				t->block = t->pending;
				t->ran_ns = 0;
				t->yielded = false;
			}
			if (when <= s->instant)
				t->at = t->state;
			t->pending.valid = false;
			t->syscall_read = false;
		} else if (h.type == PERF_RECORD_LOST) {
			lost = true;
		}
		tail += h.size;
	}
	if (lost) {
		t->state = t->at = SCHED_UNKNOWN;          /* reseeded from /proc below */
		t->pending.valid = t->block.valid = false; /* the rest: from_proc, below */
		tail = head;
		any = true;
	}
	perf_ring_consume(&t->ring, tail);
	return any;
}

static size_t site_hash(const struct block_regs *r)
{
	uint64_t h = r->ip ^ r->di * 0x9e3779b97f4a7c15ull ^ r->si * 0xc2b2ae3d27d4eb4full;
	return (size_t)((h * 0xff51afd7ed558ccdull) >> 56) % SITES;
}

/* The remembered site of r, or NULL. */
static const struct syscall_site *site_find(const struct probe_sched *s, const struct block_regs *r)
{
	size_t h = site_hash(r);
	for (size_t i = 0; i < SITE_WAYS; i++) {
		const struct syscall_site *site = &s->sites[(h + i) % SITES];
		if (site->ip == r->ip && site->arg0 == r->di && site->arg1 == r->si)
			return site;
	}
	return NULL;
}

/* Remembers that a block at r is system call nr: in a free way, or in place
 * of one of the others in turn. */
static void site_learn(struct probe_sched *s, const struct block_regs *r, long nr)
{
	size_t h = site_hash(r), way = s->site_victim++ % SITE_WAYS;
	for (size_t i = 0; i < SITE_WAYS; i++)
		if (!s->sites[(h + i) % SITES].ip) {
			way = i;
			break;
		}
	s->sites[(h + way) % SITES] =
	        (struct syscall_site){ .ip = r->ip, .arg0 = r->di, .arg1 = r->si, .nr = nr };
}

/* What the blocked thread t waits in: from the site of its block when that
 * site was named before with the same arguments, else from /proc, and then
 * the site is remembered if /proc names the same one. */
static void blocked_in(struct ftp_probe *p, struct sched_thread *t)
{
	struct probe_sched *s = p->sched;
	const struct block_regs *r = &t->block;
	const struct syscall_site *site = r->valid ? site_find(s, r) : NULL;
	if (site) {
		t->info.in_syscall = true;
		t->info.sys_nr = site->nr;
		t->info.sys_arg0 = r->di;
		t->info.sys_sp = r->sp;
		p->stats.syscall_sites++;
		return;
	}
	if (t->sys_fd < 0)
		t->sys_fd = probe_task_syscall_open(p->pid, t->tid);
	struct task_syscall sc;
	p->stats.syscall_reads++;
	t->info.in_syscall = t->sys_fd >= 0 ? probe_task_syscall_read(t->sys_fd, p->pid, t->tid, &sc)
	                                    : probe_task_syscall(p->pid, t->tid, &sc); /* out of fds */
	if (!t->info.in_syscall && sc.running) {
		/* woken since its switch out, not yet back on a CPU (that
		 * switch would be in the ring): runnable */
		t->state = SCHED_PREEMPTED;
		t->info.state = 'R';
		return;
	}
	if (!t->info.in_syscall)
		return;
	t->info.sys_nr = sc.nr;
	t->info.sys_arg0 = sc.arg0;
	t->info.sys_sp = sc.sp;
	if (r->valid && r->ip && !sc.restarted && sc.pc == r->ip && sc.arg0 == r->di && sc.arg1 == r->si)
		site_learn(s, r, sc.nr);
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
	t->info.still = t->info.off_cpu = t->info.off_cpu_shown = false;
	if (t->ring.fd < 0) {
		from_proc(p, t);
		return;
	}
	t->at = t->state; /* where the last round's switches left it */
	bool switched = drain(p->sched, t);
	if (t->state == SCHED_UNKNOWN) {
		from_proc(p, t);
		return;
	}
	t->info.off_cpu = t->info.off_cpu_shown = t->state != SCHED_ON_CPU;
	/* able to run now and at the instant: shown on a CPU or not as then */
	if (t->state != SCHED_BLOCKED && (t->at == SCHED_ON_CPU || t->at == SCHED_PREEMPTED))
		t->info.off_cpu_shown = t->at != SCHED_ON_CPU;
	t->info.still = t->exact && !switched && t->info.off_cpu;
	t->exact = true;
	t->info.block_arg0 = t->block.valid ? t->block.di : 0;
	uint64_t now = ftp_now_ns(), on_for = t->in_ns && now > t->in_ns ? now - t->in_ns : 0;
	t->info.ran_since_block_ns = t->ran_ns == UINT64_MAX ? UINT64_MAX : t->ran_ns + on_for;
	t->info.yielded = t->yielded;
	t->info.on_cpu_for_ns = on_for;
	t->info.state = t->state == SCHED_BLOCKED ? 'S' : 'R';
	if (t->state != SCHED_BLOCKED) {
		t->info.in_syscall = false;
	} else if (!t->syscall_read) {
		blocked_in(p, t); /* blocked since the last look: in what? once per block */
		t->syscall_read = true;
	}
}

/* The probe_sched of p, made on first use; NULL when out of memory. */
static struct probe_sched *get(struct ftp_probe *p)
{
	if (!p->sched && (p->sched = calloc(1, sizeof(*p->sched)))) {
		p->sched->instant = UINT64_MAX;
		p->sched->yield_start = p->yield_start;
		p->sched->yield_end = p->yield_end;
	}
	return p->sched;
}

void probe_sched_begin_round(struct ftp_probe *p, uint64_t start_ns)
{
	struct probe_sched *s = get(p);
	if (s)
		s->instant = start_ns > INSTANT_LEAD_NS ? start_ns - INSTANT_LEAD_NS : 0;
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
		if (s->v[i].seen != p->round)
			update(p, &s->v[i]);
	s->frozen = true;
	s->stop_from = ftp_now_ns();
}

void probe_sched_stop_ends(struct ftp_probe *p)
{
	if (p->sched)
		p->sched->stop_to = ftp_now_ns();
}

/* The state of tid now. Opens its event on first sight. */
const struct task_info *probe_sched_task(struct ftp_probe *p, pid_t tid)
{
	struct probe_sched *s = get(p);
	if (!s)
		return NULL;
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
		t->ring.fd = t->sys_fd = -1;
		t->info.tid = tid;
		if (!s->unavailable) {
			bool big = s->n <= RING_BIG_THREADS;
			int e = s->regs >= 0 ? open_event(tid, t, true, big) : -EACCES;
			if (s->regs == 0)
				s->regs = e == -EACCES || e == -EPERM || e == -EOPNOTSUPP ? -1 : 1;
			if (s->regs < 0)
				e = open_event(tid, t, false, big);
			if (e == -EACCES || e == -EPERM || e == -ENOSYS || e == -ENOENT || e == -EOPNOTSUPP) {
				s->unavailable = true;
				s->open_errno = -e;
			}
		}
		from_proc(p, t);
	} else if (!s->frozen && t->seen != p->round) {
		update(p, t); /* once per round: a second look would find no switch */
	}
	t->seen = p->round;
	return &t->info;
}

/* Closes the events of threads the round did not see: they have exited. */
void probe_sched_end_round(struct ftp_probe *p)
{
	struct probe_sched *s = p->sched;
	if (!s)
		return;
	s->frozen = false;
	s->instant = UINT64_MAX; /* between rounds: the latest */
	size_t kept = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].seen == p->round)
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
