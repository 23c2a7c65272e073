/* SPDX-License-Identifier: MIT */
/* The last stack of each thread seen off its CPU. A thread that has not run
 * since (its context switches say so) still has that stack, and is reported
 * again without a single read of the target: most threads of a server or a
 * pool are parked most of the time. */
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

/* The entry of tid, looked for first at `hint` (threads come in the same
 * order round after round). */
static struct stack_entry *find(struct ftp_probe *p, pid_t tid, size_t hint)
{
	if (hint < p->nstacks && p->stacks[hint].tid == tid)
		return &p->stacks[hint];
	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].tid == tid)
			return &p->stacks[i];
	return NULL;
}

bool probe_stacks_reuse(struct ftp_probe *p, uint64_t tstate, size_t hint, struct ftp_sample *s)
{
	struct stack_entry *e = find(p, s->tid, hint);
	if (!e || !e->id || e->tstate != tstate || e->thread_id != s->thread_id)
		return false;
	s->frames = e->frames;
	s->nframes = e->nframes;
	s->flags |= e->flags;
	s->stack_id = e->id;
	e->seen = p->stats.rounds + 1;
	p->stats.reused++;
	return true;
}

void probe_stacks_keep(struct ftp_probe *p, uint64_t tstate, size_t hint, struct ftp_sample *s, bool off_cpu)
{
	struct stack_entry *e = find(p, s->tid, hint);
	if (!e) {
		if (p->nstacks == p->stacks_cap) {
			size_t cap = p->stacks_cap ? p->stacks_cap * 2 : 16;
			struct stack_entry *v = realloc(p->stacks, cap * sizeof(*v));
			if (!v)
				return; /* only a shortcut lost */
			p->stacks = v;
			p->stacks_cap = cap;
		}
		e = &p->stacks[p->nstacks++];
		memset(e, 0, sizeof(*e));
		e->tid = s->tid;
	}
	e->id = 0;
	e->seen = p->stats.rounds + 1;
	if (!off_cpu || (s->flags & FTP_SAMPLE_TORN))
		return;
	if (s->nframes > e->cap) {
		struct ftp_frame *v = realloc(e->frames, s->nframes * sizeof(*v));
		if (!v)
			return;
		e->frames = v;
		e->cap = s->nframes;
	}
	if (s->nframes)
		memcpy(e->frames, s->frames, s->nframes * sizeof(*e->frames));
	e->nframes = s->nframes;
	e->flags = s->flags & (FTP_SAMPLE_TRUNCATED | FTP_SAMPLE_NO_STACK);
	e->tstate = tstate;
	e->thread_id = s->thread_id;
	e->id = s->stack_id = ++p->stack_ids;
}

void probe_stacks_end_round(struct ftp_probe *p)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->nstacks; i++) {
		if (p->stacks[i].seen == p->stats.rounds + 1)
			p->stacks[kept++] = p->stacks[i];
		else
			free(p->stacks[i].frames);
	}
	p->nstacks = kept;
}

void probe_stacks_release(struct ftp_probe *p)
{
	for (size_t i = 0; i < p->nstacks; i++)
		free(p->stacks[i].frames);
	free(p->stacks);
	p->stacks = NULL;
	p->nstacks = p->stacks_cap = 0;
}
