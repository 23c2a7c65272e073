/* SPDX-License-Identifier: MIT */
/* Native stacks for the probe: each thread unwound, its frames symbolized,
 * and the Python frames spliced in where the interpreter's eval loop runs
 * them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "native/native.h"
#include "probe_int.h"

#define READ_BLOCK 4096

struct probe_native {
	struct native_modules *mods;
	struct native_unwinder *unwinder;
	struct native_symbolizer *symbolizer;
	struct native_stack stack; /* PROBE_NATIVE_MAX_DEPTH, the thread being unwound */
	struct ftp_frame *out;     /* max_depth + PROBE_NATIVE_MAX_DEPTH */
	bool one_frame_per_eval;   /* <= 3.10: every Python frame is its own eval call */
	/* Non-blocking: the last block of the target's memory read for the
	 * unwinder beyond a copied stack (deep stacks), valid for one unwind. */
	uint64_t block_addr;
	bool block_valid;
	unsigned char block[READ_BLOCK];
};

/* Number of Python frames, from frames[i] on, that one eval call runs: up to
 * the frame it was entered with. */
static unsigned group_len(const struct probe_native *n, const struct ftp_sample *s, unsigned i)
{
	if (n->one_frame_per_eval)
		return 1;
	unsigned len = 1;
	while (!(s->frames[i].flags & FTP_FRAME_ENTRY) && i + 1 < s->nframes) {
		i++;
		len++;
	}
	return len;
}

/* 3.12+: where the eval call running the group keeps its entry shim on the
 * C stack (the walker leaves it in the entry frame's ip), 0 if unknown. */
static uint64_t group_shim(const struct ftp_sample *s, unsigned i, unsigned len)
{
	const struct ftp_frame *last = &s->frames[i + len - 1];
	return last->flags & FTP_FRAME_ENTRY ? last->ip : 0;
}

/* Puts s's Python frames into the native stack just unwound. */
static void splice(struct probe_native *n, struct ftp_sample *s)
{
	struct native_stack *st = &n->stack;
	if (!st->n) {
		s->flags |= FTP_SAMPLE_NO_NATIVE;
		return;
	}
	if (st->truncated)
		s->flags |= FTP_SAMPLE_NATIVE_TRUNCATED;

	unsigned k = 0, py = 0;
	for (unsigned i = 0; i < st->n; i++) {
		uint64_t pc = st->pcs[i].pc;
		/* A frame's stack spans from its stack pointer up to its
		 * caller's; the outermost one's ends with the stack, unless the
		 * unwinding was cut. */
		uint64_t lo = st->pcs[i].sp;
		uint64_t hi = i + 1 < st->n ? st->pcs[i + 1].sp : st->truncated ? 0 : UINT64_MAX;
		bool replaced = false;
		/* 3.12+: an eval call is the frame whose stack holds the shim
		 * of its group, whatever its symbol (stripped and LTO builds
		 * hide it). A shim below this frame belongs to a call the
		 * unwinder missed: its group goes here, in order. */
		while (py < s->nframes && lo && hi) {
			unsigned len = group_len(n, s, py);
			uint64_t shim = group_shim(s, py, len);
			if (!shim || shim >= hi)
				break;
			replaced |= shim >= lo;
			memcpy(&n->out[k], &s->frames[py], len * sizeof(*n->out));
			k += len;
			py += len;
		}
		if (replaced)
			continue;
		/* A return address may be one past the end of its function (a
		 * call to a noreturn function): look up the call instruction. */
		uint64_t addr = st->pcs[i].activation ? pc : pc - 1;
		const struct native_sym *e = addr ? native_symbolize(n->symbolizer, addr) : NULL;
		if (e && e->is_eval && py < s->nframes) {
			/* 3.8-3.11: known by the evaluator's symbol. */
			unsigned len = group_len(n, s, py);
			if (!group_shim(s, py, len)) {
				memcpy(&n->out[k], &s->frames[py], len * sizeof(*n->out));
				k += len;
				py += len;
				continue;
			}
		}
		struct ftp_frame *f = &n->out[k++];
		memset(f, 0, sizeof(*f));
		f->flags = FTP_FRAME_NATIVE;
		f->line = -1;
		f->ip = pc;
		if (e) {
			f->object = e->object;
			f->symbol = e->symbol;
			f->offset = e->symbol ? pc - e->start : 0;
		}
	}
	/* More Python groups than eval calls unwound (a cut native stack, or a
	 * call caught on its way in): the rest keep their order, outermost last. */
	while (py < s->nframes)
		n->out[k++] = s->frames[py++];
	s->frames = n->out;
	s->nframes = k;
}

void probe_native_splice(struct ftp_probe *p, struct ftp_sample *s)
{
	struct probe_native *n = p->native;
	if (!n)
		return;
	native_unwind(n->unwinder, &(struct native_unwind_req){ .tid = s->tid }, &n->stack);
	splice(n, s);
}

/* 3.12+: whether s's Python frames can go with a native stack whose
 * innermost frame's stack pointer is sp. Each eval call's entry frame lies
 * on the C stack, above the stack pointer of everything it runs: one below sp
 * belongs to an eval call entered after the tick, whose native frames the
 * tick cannot have. */
static bool python_fits(const struct probe_native *n, const struct ftp_sample *s, uint64_t sp)
{
	for (unsigned i = 0; i < s->nframes;) {
		unsigned len = group_len(n, s, i);
		uint64_t shim = group_shim(s, i, len);
		if (shim && shim < sp)
			return false;
		i += len;
	}
	return true;
}

bool probe_native_splice_sampled(struct ftp_probe *p, struct ftp_sample *s, const struct probe_user_stack *us)
{
	struct probe_native *n = p->native;
	if (!n)
		return false;
	if (!python_fits(n, s, us->regs[NATIVE_REG_SP])) {
		s->flags |= FTP_SAMPLE_NO_NATIVE;
		return false;
	}
	struct native_unwind_req req = {
		.tid = s->tid, .regs = us->regs, .stack = us->stack, .stack_len = us->len
	};
	n->block_valid = false; /* the thread has run since the last unwind */
	native_unwind(n->unwinder, &req, &n->stack);
	splice(n, s);
	return !(s->flags & FTP_SAMPLE_NO_NATIVE);
}

/* The sample unwinder's reads outside the copied stack: a stack deeper than
 * the copy is read one aligned block at a time, a word at a time where the
 * block is not all mapped. */
static bool read_target(void *arg, uint64_t addr, uint64_t *word)
{
	struct ftp_probe *p = arg;
	struct probe_native *n = p->native;
	uint64_t base = addr & ~(uint64_t)(READ_BLOCK - 1);
	if (addr - base > READ_BLOCK - sizeof(*word))
		return probe_mem_read_direct(&p->mem, addr, word, sizeof(*word), NULL) == 0;
	if (!n->block_valid || n->block_addr != base) {
		n->block_valid = false;
		if (probe_mem_read_direct(&p->mem, base, n->block, READ_BLOCK, NULL) < 0)
			return probe_mem_read_direct(&p->mem, addr, word, sizeof(*word), NULL) == 0;
		n->block_addr = base;
		n->block_valid = true;
	}
	memcpy(word, n->block + (addr - base), sizeof(*word));
	return true;
}

int probe_native_create(struct ftp_probe *p, struct ftp_error *err)
{
	struct probe_native *n = calloc(1, sizeof(*n));
	if (!n)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)p->pid);
	p->native = n;
	n->one_frame_per_eval = p->info.version < 0x030b0000;
	n->stack.cap = PROBE_NATIVE_MAX_DEPTH;
	n->stack.pcs = calloc(n->stack.cap, sizeof(*n->stack.pcs));
	n->out = calloc((size_t)p->max_depth + PROBE_NATIVE_MAX_DEPTH, sizeof(*n->out));
	if (!n->stack.pcs || !n->out)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)p->pid);
	int ret = native_modules_create(&n->mods, p->pid, err);
	if (ret < 0)
		return ret;
	if (p->opts.blocking)
		ret = native_unwind_ptrace_create(&n->unwinder, n->mods, p->pid, err);
	else
		ret = native_unwind_sample_create(&n->unwinder, n->mods, p->pid, read_target, p, err);
	if (ret < 0)
		return ret;
	ret = native_modules_prime(n->mods, err);
	if (ret < 0)
		return ret;
	n->symbolizer = native_symbolizer_create(n->mods);
	if (!n->symbolizer)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)p->pid);
	return 0;
}

void probe_native_destroy(struct probe_native *n)
{
	if (!n)
		return;
	native_symbolizer_destroy(n->symbolizer);
	native_unwinder_destroy(n->unwinder);
	native_modules_destroy(n->mods);
	free(n->stack.pcs);
	free(n->out);
	free(n);
}
