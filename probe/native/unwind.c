/* SPDX-License-Identifier: MIT */
/* Unwinding a ptrace-stopped thread from its registers, with libdwfl and the
 * CFI of the modules. */
#include <errno.h>
#include <stdlib.h>

#include "native/native.h"

struct ptrace_unwinder {
	struct native_unwinder base;
	Dwfl *dwfl; /* the modules', attached to the process */
};

/* DWARF number of the stack pointer register. */
#if defined(__x86_64__)
#define SP_REGNO 7
#elif defined(__aarch64__)
#define SP_REGNO 31
#endif

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct native_stack *st = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	if (st->n == st->cap) {
		st->truncated = true;
		return DWARF_CB_ABORT;
	}
	Dwarf_Word sp = 0;
#ifdef SP_REGNO
	if (dwfl_frame_reg(state, SP_REGNO, &sp) != 0)
		sp = 0;
#endif
	st->pcs[st->n].pc = pc;
	st->pcs[st->n].sp = sp;
	st->pcs[st->n].activation = activation;
	st->n++;
	return DWARF_CB_OK;
}

static void ptrace_unwind(struct native_unwinder *u, const struct native_unwind_req *req,
                          struct native_stack *st)
{
	struct ptrace_unwinder *pu = (struct ptrace_unwinder *)u;
	st->n = 0;
	st->truncated = false;
	/* The unwinder stops with an error at the end of most stacks; what was
	 * collected up to there is the stack. */
	if (req->tid > 0)
		dwfl_getthread_frames(pu->dwfl, req->tid, on_frame, st);
}

static void ptrace_destroy(struct native_unwinder *u)
{
	free(u);
}

static const struct native_unwinder_ops ptrace_ops = {
	.unwind = ptrace_unwind,
	.destroy = ptrace_destroy,
};

int native_unwind_ptrace_create(struct native_unwinder **out, struct native_modules *mods, pid_t pid,
                                struct ftp_error *err)
{
	struct ptrace_unwinder *pu = calloc(1, sizeof(*pu));
	if (!pu)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)pid);
	pu->base.ops = &ptrace_ops;
	pu->dwfl = native_modules_dwfl(mods);
	/* The stopper has already seized and interrupted every thread when a
	 * round unwinds them: libdwfl must neither attach nor detach. */
	int r = dwfl_linux_proc_attach(pu->dwfl, pid, true);
	if (r != 0) {
		free(pu);
		return native_dwfl_fail(err, r, "dwfl_linux_proc_attach", pid);
	}
	*out = &pu->base;
	return 0;
}
