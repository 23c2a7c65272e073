/* SPDX-License-Identifier: MIT */
/* Unwinding with libdwfl and the CFI of the modules: a ptrace-stopped thread
 * from its registers, or a running thread from a sample's copy of its
 * registers and the top of its stack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- a copied user stack ----------------------------------------------- */

struct sample_unwinder {
	struct native_unwinder base;
	Dwfl *dwfl; /* the modules', attached to the process by the callbacks below */
	native_read_fn *read;
	void *read_arg;
	const struct native_unwind_req *req; /* the sample being unwound, NULL between */
};

/* The one thread there is: the sample's. */
static pid_t sample_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct sample_unwinder *su = arg;
	if (*thread_argp || !su->req)
		return 0;
	*thread_argp = su;
	return su->req->tid;
}

static bool sample_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct sample_unwinder *su = arg;
	if (!su->req || su->req->tid != tid)
		return false;
	*thread_argp = su;
	return true;
}

/* A word of the copy when it lies inside it; anything else (deeper stack,
 * other memory) is read from the target as it is now. */
static bool sample_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct sample_unwinder *su = arg;
	const struct native_unwind_req *req = su->req;
	if (req && req->stack) {
		uint64_t sp = req->regs[NATIVE_REG_SP];
		if (addr >= sp && addr - sp <= req->stack_len &&
		    req->stack_len - (addr - sp) >= sizeof(*result)) {
			memcpy(result, req->stack + (addr - sp), sizeof(*result));
			return true;
		}
	}
	uint64_t word;
	if (!su->read(su->read_arg, addr, &word))
		return false;
	*result = word;
	return true;
}

static bool sample_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct sample_unwinder *su = arg;
	Dwarf_Word regs[NATIVE_NREGS];
	for (int i = 0; i < NATIVE_NREGS; i++)
		regs[i] = su->req->regs[i];
	/* x86-64: the return address column (16) holds the pc */
	if (!dwfl_thread_state_registers(thread, 0, NATIVE_NREGS, regs))
		return false;
	dwfl_thread_state_register_pc(thread, regs[NATIVE_NREGS - 1]);
	return true;
}

static const Dwfl_Thread_Callbacks sample_callbacks = {
	.next_thread = sample_next_thread,
	.get_thread = sample_get_thread,
	.memory_read = sample_memory_read,
	.set_initial_registers = sample_initial_registers,
};

static void sample_unwind(struct native_unwinder *u, const struct native_unwind_req *req,
                          struct native_stack *st)
{
	struct sample_unwinder *su = (struct sample_unwinder *)u;
	st->n = 0;
	st->truncated = false;
	if (req->tid <= 0 || !req->regs)
		return;
	su->req = req;
	dwfl_getthread_frames(su->dwfl, req->tid, on_frame, st);
	su->req = NULL;
}

static const struct native_unwinder_ops sample_ops = {
	.unwind = sample_unwind,
	.destroy = ptrace_destroy,
};

int native_unwind_sample_create(struct native_unwinder **out, struct native_modules *mods, pid_t pid,
                                native_read_fn *read, void *read_arg, struct ftp_error *err)
{
#if !defined(__x86_64__)
	(void)mods;
	(void)read;
	(void)read_arg;
	(void)out;
	return ftp_error_set(err, FTP_E_UNSUPPORTED, 0,
	                     "native stacks of pid %d without stopping it: x86-64 only (use --blocking)",
	                     (int)pid);
#else
	struct sample_unwinder *su = calloc(1, sizeof(*su));
	if (!su)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)pid);
	su->base.ops = &sample_ops;
	su->dwfl = native_modules_dwfl(mods);
	su->read = read;
	su->read_arg = read_arg;
	/* NULL ELF: libdwfl takes the machine from the first module */
	if (!dwfl_attach_state(su->dwfl, NULL, pid, &sample_callbacks, su)) {
		free(su);
		return native_dwfl_fail(err, -1, "dwfl_attach_state", pid);
	}
	*out = &su->base;
	return 0;
#endif
}
