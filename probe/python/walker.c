/* SPDX-License-Identifier: MIT */
/* The interpreter walker: runtime -> interpreters -> thread states -> frames. */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "probe_int.h"

#define MAX_INTERPRETERS 256
#define MAX_THREADS 65536
/* Layouts keep the fields read within these (ftp_layout_check). */
#define TSTATE_READ FTP_LAYOUT_TSTATE_SPAN  /* bytes of a thread state read at once */
#define GIL_STRUCT_SPAN FTP_LAYOUT_GIL_SPAN /* struct _gil_runtime_state is smaller than this */
#define FRAME_LOOKAHEAD 512                 /* bytes above the innermost frame prefetched */
#define AGAIN_BLOCKS 16                     /* blocks fetched at once for a read again */
#define WALK_TRIES 2                        /* reads again of a stack torn in the snapshot */

struct gil_view {
	uint64_t addr; /* struct _gil_runtime_state, 0 if none */
	bool enabled;
	uint64_t holder;      /* thread state holding it, 0 if free */
	uint64_t last_holder; /* holding it, or the last to hold it */
	uint64_t switches;    /* switch_number */
	bool first;           /* copied before anything else of the round */
};

static void read_gil(struct ftp_probe *p, uint64_t interp, struct gil_view *g)
{
	const struct ftp_layout *L = &p->L;
	memset(g, 0, sizeof(*g));
	if (L->interp.ceval_gil != FTP_OFF_NONE) {
		if (probe_mem_u64(&p->mem, interp + L->interp.ceval_gil, &g->addr) < 0)
			g->addr = 0;
	} else if (L->runtime.gil != FTP_OFF_NONE) {
		g->addr = p->runtime + L->runtime.gil; /* <= 3.11: one GIL in the runtime */
	}
	if (!g->addr)
		return;
	unsigned char buf[GIL_STRUCT_SPAN];
	if (probe_mem_read(&p->mem, g->addr, buf, sizeof(buf), NULL) < 0) {
		g->addr = 0;
		return;
	}
	/* A free-threaded build runs without its GIL unless PYTHON_GIL=1. */
	g->enabled = L->gil.enabled == FTP_OFF_NONE || probe_load_u32(buf, L->gil.enabled) != 0;
	g->last_holder = probe_load_u64(buf, L->gil.last_holder);
	if (g->enabled && probe_load_u32(buf, L->gil.locked))
		g->holder = g->last_holder;
	if (L->gil.switch_number != FTP_OFF_NONE && !L->free_threaded) {
		g->switches = probe_load_u64(buf, L->gil.switch_number);
		g->first = probe_mem_copied_first(&p->mem, g->addr, sizeof(buf));
		probe_mem_copy_first(&p->mem, g->addr);
	}
}

/* With a GIL, a thread moves its Python frames only while it holds it.
 * take_gil() bumps switch_number whenever a thread other than last_holder
 * takes it, and sets last_holder; so between two copies of the GIL, with
 * no bump only last_holder can have held it, and with one bump only the
 * old and the new last_holder. With more, or a GIL not copied before the
 * round's frames, it is not known (false). movers[]: who may have moved.
 * Remembers g for the next round. */
static bool gil_movers(struct ftp_probe *p, uint64_t interp, bool single, const struct gil_view *g,
                       uint64_t movers[2])
{
	struct gil_seen *seen = &p->gil_seen;
	bool usable = single && g->addr && g->enabled && g->first;
	bool known = usable && seen->valid && seen->interp == interp && seen->addr == g->addr &&
	             ((g->switches == seen->switches && g->last_holder == seen->last_holder) ||
	              (g->switches == seen->switches + 1 && g->last_holder != seen->last_holder));
	movers[0] = seen->last_holder;
	movers[1] = g->last_holder;
	*seen = (struct gil_seen){ .valid = usable,
		                   .interp = interp,
		                   .addr = g->addr,
		                   .last_holder = g->last_holder,
		                   .switches = g->switches };
	return known;
}

/* <= 3.10 has no native thread id: find the tid inside glibc's struct
 * pthread (thread_id is its address) at the offset where the main thread's
 * holds the pid and every other thread's holds one of the process's tasks. */
static void learn_pthread_tid(struct ftp_probe *p, uint64_t interp)
{
	enum { SPAN = 2048, MAX = 64 };
	const struct ftp_layout *L = &p->L;
	unsigned char(*buf)[SPAN] = malloc(MAX * sizeof(*buf));
	if (!buf)
		return;
	size_t n = 0, main_i;
	uint64_t tstate = 0, thread_id;
	probe_mem_u64(&p->mem, interp + L->interp.threads_head, &tstate);
	while (tstate && n < MAX) {
		if (probe_mem_u64(&p->mem, tstate + L->tstate.thread_id, &thread_id) < 0 ||
		    probe_mem_read_direct(&p->mem, thread_id, buf[n], SPAN, NULL) < 0 ||
		    probe_mem_u64(&p->mem, tstate + L->tstate.next, &tstate) < 0)
			break;
		n++;
	}
	for (uint32_t off = 0; off + 4 <= SPAN; off += 4) {
		main_i = n;
		bool ok = true;
		for (size_t i = 0; i < n && ok; i++) {
			int32_t v = probe_load_u32(buf[i], off);
			if (v == p->pid)
				main_i = main_i == n ? i : n + 1; /* exactly one main */
			else if (!probe_task(p, v))
				ok = false;
		}
		if (ok && main_i < n) {
			p->pthread_tid_off = (int)off;
			break;
		}
	}
	free(buf);
}

/* Reads the Python frames of one thread into p->frames. */
static void walk_frames(struct ftp_probe *p, uint64_t frame, struct ftp_sample *s)
{
	const struct ftp_layout *L = &p->L;
	unsigned char buf[FTP_LAYOUT_FRAME_SPAN];
	uint32_t need = L->frame.previous;
	const uint32_t fields[] = { L->frame.code, L->frame.instr, L->frame.owner, L->frame.tlbc_index };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i] != FTP_OFF_NONE && fields[i] > need)
			need = fields[i];
	need += 8;
	if (need > sizeof(buf))
		need = sizeof(buf);

	/* A chain that changed under us can loop: Brent's cycle check stops it
	 * within about twice its length, rather than after the depth bound has
	 * read thousands of frames (and grown the prefetch plan to match). */
	unsigned depth = 0, seen = 0, power = 1, lam = 0;
	uint64_t mark = 0;
	uint64_t last_addr = 0; /* recursion runs one code object frame after frame */
	/* 3.11+ mark where each eval call begins (<= 3.10: every frame) */
	const bool knows_entries = L->frame.owner != FTP_OFF_NONE || L->frame.is_entry != FTP_OFF_NONE;
	struct code_entry *last_code = NULL;
	while (frame) {
		if (frame == mark || ++seen > p->max_depth * 4u + 64) {
			s->flags |= FTP_SAMPLE_TORN; /* a cycle: the chain changed under us */
			break;
		}
		if (++lam == power) {
			mark = frame;
			power *= 2;
			lam = 0;
		}
		const unsigned char *fb = (frame & 7) ? NULL : probe_mem_view(&p->mem, frame, need);
		if (!fb && ((frame & 7) || probe_mem_read(&p->mem, frame, buf, need, NULL) < 0)) {
			s->flags |= FTP_SAMPLE_TORN;
			break;
		}
		if (!fb)
			fb = buf;
		if (seen == 1) {
			/* The innermost frame: the next call's frame goes just
			 * above it. Have the next round's prefetch take that
			 * space too, up to the end of the page (mapped whole). */
			uint64_t from = frame + need;
			uint64_t to = from + FRAME_LOOKAHEAD;
			uint64_t page_end = ((from - 1) | (PROBE_BLOCK - 1)) + 1;
			struct probe_range ahead = { .addr = from, .end = to < page_end ? to : page_end };
			if (ahead.end > ahead.addr)
				probe_mem_trace_extend(&p->mem, &ahead, 1);
		}
		uint64_t next = probe_load_u64(fb, L->frame.previous);
		if (L->frame.owner != FTP_OFF_NONE && fb[L->frame.owner] > 2) {
			/* 3.12+: a C-stack or interpreter shim frame, not Python code.
			 * Each eval call keeps one on its C stack, below its first
			 * frame: mark that frame, and say where the shim is. */
			if (depth && !(p->frames[depth - 1].flags & FTP_FRAME_ENTRY)) {
				p->frames[depth - 1].flags |= FTP_FRAME_ENTRY;
				p->frames[depth - 1].ip = frame;
			}
			frame = next;
			continue;
		}
		uint64_t code_addr = probe_load_u64(fb, L->frame.code) & ~L->code_tag_mask;
		struct code_entry *code = code_addr == last_addr ? last_code : probe_code_get(p, code_addr);
		last_addr = code_addr;
		last_code = code;
		if (!code) {
			s->flags |= FTP_SAMPLE_TORN;
			break;
		}
		if (depth == p->max_depth) {
			s->flags |= FTP_SAMPLE_TRUNCATED;
			break;
		}
		int64_t offset;
		if (L->instr == FTP_INSTR_POINTER) {
			uint64_t base = code_addr + L->code.code;
			if (L->frame.tlbc_index != FTP_OFF_NONE && L->code.tlbc != FTP_OFF_NONE &&
			    L->code.tlbc_size != FTP_OFF_NONE && L->code.tlbc_entries != FTP_OFF_NONE) {
				/* 3.14+ free-threaded: the thread may run its own copy
				 * of the bytecode, co_tlbc->entries[tlbc_index]. */
				int32_t idx = probe_load_u32(fb, L->frame.tlbc_index);
				uint64_t arr = 0, size = 0, entry = 0;
				if (idx > 0 && probe_mem_u64(&p->mem, code_addr + L->code.tlbc, &arr) == 0 &&
				    probe_mem_u64(&p->mem, arr + L->code.tlbc_size, &size) == 0 &&
				    (uint64_t)idx < size &&
				    probe_mem_u64(&p->mem, arr + L->code.tlbc_entries + 8 * (uint64_t)idx,
				                  &entry) == 0 &&
				    entry)
					base = entry;
			}
			offset = (int64_t)(probe_load_u64(fb, L->frame.instr) - base);
		} else {
			int32_t lasti = probe_load_u32(fb, L->frame.instr);
			offset = L->instr == FTP_INSTR_LASTI_UNITS ? (int64_t)lasti * 2 : lasti;
		}
		if (depth && offset <= 0 && knows_entries &&
		    !(p->frames[depth - 1].flags & FTP_FRAME_ENTRY)) {
			/* A caller stands at its call. One before its first
			 * instruction has not run: the frame read above it was
			 * left by an earlier call, and the thread went on while
			 * the stack was copied. Only C runs Python there (a
			 * profile hook on the call event), in an eval call of
			 * its own, which begins with an entry frame. */
			s->flags |= FTP_SAMPLE_TORN;
			break;
		}
		struct ftp_frame *f = &p->frames[depth++];
		memset(f, 0, sizeof(*f));
		f->code = probe_code_pub(code);
		f->line = probe_code_line(code, L, offset);
		if (L->frame.is_entry != FTP_OFF_NONE && fb[L->frame.is_entry])
			f->flags |= FTP_FRAME_ENTRY;
		frame = next;
	}
	s->nframes = depth;
	s->frames = p->frames;
}

static uint64_t first_frame(struct ftp_probe *p, const unsigned char *ts)
{
	const struct ftp_layout *L = &p->L;
	uint64_t frame = probe_load_u64(ts, L->tstate.frame);
	if (L->tstate.cframe_current_frame != FTP_OFF_NONE && frame) {
		/* 3.11-3.12: tstate->cframe->current_frame */
		uint64_t cframe = frame;
		if (probe_mem_u64(&p->mem, cframe + L->tstate.cframe_current_frame, &frame) < 0)
			frame = 0;
	}
	return frame;
}

/* Appends up to cap - *n of from's ranges to r. */
static void add_ranges(struct probe_range *r, size_t *n, size_t cap, const struct probe_range *from,
                       size_t count)
{
	count = count < cap - *n ? count : cap - *n;
	if (count)
		memcpy(r + *n, from, count * sizeof(*r));
	*n += count;
}

/* A stack torn in the round's snapshot (a frame popped or pushed while it
 * was copied: on 3.14 and later a popped frame is cleared at once) is read
 * once more, now, from the thread state on, past the round's caches. */
static void walk_again(struct ftp_probe *p, uint64_t interp, uint64_t tstate, uint32_t ts_len,
                       struct ftp_sample *s, size_t hint, size_t traced)
{
	unsigned char ts[TSTATE_READ];
	for (int tries = 0; tries < WALK_TRIES && (s->flags & FTP_SAMPLE_TORN); tries++) {
		probe_mem_fresh(&p->mem, true);
		/* What the torn read and the thread's last whole read went
		 * through, afresh in one read: most of it is what the next
		 * read goes through again. */
		struct probe_range r[AGAIN_BLOCKS] = { { .addr = tstate, .end = tstate + ts_len } };
		size_t n = 1, count;
		const struct probe_range *from = probe_mem_traced(&p->mem, traced, &count);
		add_ranges(r, &n, AGAIN_BLOCKS, from, count);
		from = probe_stacks_ranges(p, s->tid, hint, &count);
		add_ranges(r, &n, AGAIN_BLOCKS, from, count);
		probe_mem_fresh_blocks(&p->mem, r, n, AGAIN_BLOCKS);
		if (probe_mem_read(&p->mem, tstate, ts, ts_len, NULL) == 0 &&
		    probe_load_u64(ts, p->L.tstate.interp) == interp) {
			s->flags &= ~FTP_SAMPLE_TORN;
			s->nframes = 0;
			walk_frames(p, first_frame(p, ts), s);
			p->stats.retried++;
		}
		probe_mem_fresh(&p->mem, false);
	}
}

static uint64_t field(const unsigned char *ts, uint32_t off)
{
	return off == FTP_OFF_NONE ? 0 : probe_load_u64(ts, off);
}

/* What pauses every thread: a stop-the-world (free-threaded), the collector. */
static void read_pauses(struct ftp_probe *p, uint64_t interp, struct waits_round *wr)
{
	const struct ftp_layout *L = &p->L;
	int32_t collecting = 0;
	if (L->interp.gc != FTP_OFF_NONE && L->gc_collecting != FTP_OFF_NONE &&
	    probe_mem_read(&p->mem, interp + L->interp.gc + L->gc_collecting, &collecting, sizeof(collecting),
	                   NULL) == 0)
		wr->gc_collecting = collecting != 0;
	unsigned char stw[24];
	if (L->free_threaded && L->stw.interp_offset != FTP_OFF_NONE &&
	    probe_mem_read(&p->mem, interp + L->stw.interp_offset, stw, sizeof(stw), NULL) == 0) {
		wr->world_stopped = stw[L->stw.world_stopped] != 0;
		wr->stw_requester = probe_load_u64(stw, L->stw.requester);
	}
}

static int walk_interp(struct ftp_probe *p, uint64_t interp, bool single, ftp_sample_fn *fn, void *arg)
{
	const struct ftp_layout *L = &p->L;
	struct gil_view gil;
	if (L->tstate.native_thread_id == FTP_OFF_NONE && p->pthread_tid_off < 0)
		learn_pthread_tid(p, interp);
	read_gil(p, interp, &gil);
	p->info.gil_enabled = gil.addr && gil.enabled;
	uint64_t movers[2];
	bool gil_known = gil_movers(p, interp, single, &gil, movers);
	if (p->opts.thread_names)
		probe_names_refresh(p, interp, single);
	struct waits_round wr = { .gil = gil.addr && gil.enabled ? gil.addr : 0, .gil_holder = gil.holder };
	read_pauses(p, interp, &wr);
	if (probe_waits_begin(p, &wr) < 0)
		return -FTP_E_NOMEM;
	uint64_t main_ts = 0;
	if (L->interp.threads_main != FTP_OFF_NONE)
		probe_mem_u64(&p->mem, interp + L->interp.threads_main, &main_ts);

	uint64_t tstate = 0;
	if (probe_mem_u64(&p->mem, interp + L->interp.threads_head, &tstate) < 0)
		return -FTP_E_TORN;
	unsigned char ts[TSTATE_READ];
	/* only as far as the fields the walk uses */
	const uint32_t used[] = { L->tstate.next,
		                  L->tstate.interp,
		                  L->tstate.frame,
		                  L->tstate.thread_id,
		                  L->tstate.native_thread_id,
		                  L->tstate.state,
		                  L->tstate.critical_section };
	uint32_t ts_len = 0;
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++)
		if (used[i] != FTP_OFF_NONE && used[i] + 8 > ts_len)
			ts_len = used[i] + 8;
	if (ts_len > L->tstate.size)
		ts_len = L->tstate.size;
	if (ts_len > sizeof(ts))
		ts_len = sizeof(ts);
	probe_stacks_list(p, 0, 0, 0);
	const uint64_t head = tstate;
	bool whole = single; /* every thread kept: the round may be replayed */
	/* Freed thread states can link into a loop (Brent's check, as for frames) */
	unsigned power = 1, lam = 0, n;
	uint64_t mark = 0;
	for (n = 0; tstate && n < MAX_THREADS; n++) {
		struct ftp_sample s = {
			.pid = p->pid, .round = p->round, .holds_gil = -1, .on_cpu = -1, .cpu = -1
		};
		s.time_ns = ftp_now_ns();
		if (tstate == mark || (tstate & 7) || probe_mem_read(&p->mem, tstate, ts, ts_len, NULL) < 0 ||
		    probe_load_u64(ts, L->tstate.interp) != interp) {
			p->stats.torn++;
			/* the list changed under us: the rest cannot be trusted */
			int r = probe_waits_report(p, fn, arg);
			return r ? r : -FTP_E_TORN;
		}
		if (++lam == power) {
			mark = tstate;
			power *= 2;
			lam = 0;
		}
		s.thread_id = probe_load_u64(ts, L->tstate.thread_id);
		if (L->tstate.native_thread_id != FTP_OFF_NONE) {
			s.tid = (pid_t)probe_load_u64(ts, L->tstate.native_thread_id);
		} else {
			int32_t tid;
			if (p->pthread_tid_off >= 0 &&
			    probe_mem_read(&p->mem, s.thread_id + (uint64_t)p->pthread_tid_off, &tid,
			                   sizeof(tid), NULL) == 0)
				s.tid = tid;
		}
		s.is_main = main_ts ? tstate == main_ts : s.tid == p->pid;
		if (gil.addr && gil.enabled)
			s.holds_gil = gil.holder == tstate;
		const struct task_info *t = NULL;
		if (s.tid && p->opts.task_state && p->opts.task_events)
			t = probe_thread_state(p, s.tid);
		else if (s.tid)
			t = probe_task(p, s.tid);
		s.os_state = t ? t->state : 0;
		if (p->opts.thread_names)
			s.name = probe_names_get(p, s.thread_id);
		bool cached = t && p->opts.task_events && !p->native;
		bool gil_still = gil_known && tstate != movers[0] && tstate != movers[1];
		size_t traced = 0;
		if (!cached || !(t->still || gil_still) ||
		    !probe_stacks_reuse(p, tstate, n, t->still, gil_still, &s)) {
			size_t count;
			const struct probe_range *last =
			        cached ? probe_stacks_unread(p, s.tid, n, &count) : NULL;
			if (last) /* one read for what the prefetch lacks of its last stack */
				probe_mem_fill(&p->mem, last, count);
			traced = probe_mem_trace_begin(&p->mem);
			walk_frames(p, first_frame(p, ts), &s);
			if ((s.flags & FTP_SAMPLE_TORN) && !p->opts.blocking)
				walk_again(p, interp, tstate, ts_len, &s, n, traced);
			if (!s.nframes && !(s.flags & FTP_SAMPLE_TORN))
				s.flags |= FTP_SAMPLE_NO_STACK;
		}
		if (cached)
			probe_stacks_keep(p, tstate, n, &s, t->off_cpu, p->gil_seen.valid, traced);
		probe_mem_trace_begin(&p->mem); /* the next thread's reads are not ours */
		whole &= cached;
		if (p->native && p->opts.blocking) /* else from the thread's ticks (probe.c) */
			probe_native_splice(p, &s);
		if (s.flags & FTP_SAMPLE_TORN)
			p->stats.torn++;
		p->stats.samples++;
		struct probe_wait_thread wt = {
			.s = s,
			.tstate = tstate,
			.first_frame = first_frame(p, ts),
			.ts_state = L->tstate.state != FTP_OFF_NONE ? (int)probe_load_u32(ts, L->tstate.state)
			                                            : -1,
			.critical_section = field(ts, L->tstate.critical_section),
			.has_task = t != NULL,
			.events = p->opts.task_state && p->opts.task_events,
		};
		if (t)
			wt.task = *t;
		if (probe_waits_add(p, &wt) < 0)
			return -FTP_E_NOMEM;
		tstate = probe_load_u64(ts, L->tstate.next);
	}
	if (whole && !tstate)
		probe_stacks_list(p, interp, head, n);
	return probe_waits_report(p, fn, arg);
}

int probe_walk(struct ftp_probe *p, ftp_sample_fn *fn, void *arg, struct ftp_error *err)
{
	const struct ftp_layout *L = &p->L;
	uint64_t interp = 0;
	int ret = probe_mem_read(&p->mem, p->runtime + L->runtime.interpreters_head, &interp, sizeof(interp),
	                         err);
	if (ret < 0)
		return ret;
	bool cut = false;
	for (unsigned n = 0; interp && n < MAX_INTERPRETERS; n++) {
		uint64_t next = 0;
		if (probe_mem_u64(&p->mem, interp + L->interp.next, &next) < 0)
			next = 0;
		ret = walk_interp(p, interp, n == 0 && !next, fn, arg);
		if (ret > 0)
			return ret;
		cut |= ret < 0;
		interp = next;
	}
	/* The threads behind the break were not reported: say so rather than
	 * pass the round off as complete. */
	if (cut)
		return ftp_error_set(
		        err, FTP_E_TORN, 0,
		        "the thread list of pid %d changed while it was read: threads may be missing",
		        (int)p->pid);
	return 0;
}
