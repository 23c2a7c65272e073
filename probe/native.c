/* SPDX-License-Identifier: MIT */
/* Native stacks: each thread unwound with libdwfl from its ptrace-stopped registers, symbolized,
 * with the Python frames spliced in where the interpreter's eval loop runs them. */
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe_int.h"

/* The modules are reported once, when the probe is created: a library loaded
 * later is not known, and its frames come out as bare addresses (and may end
 * the unwinding early, without its CFI). */

static char *debuginfo_path; /* NULL: libdwfl's default search path */

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name);

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* What an address resolved to. Strings are interned in the probe. */
struct sym_entry {
	uint64_t addr;  /* the address looked up; 0 = empty slot */
	uint64_t start; /* the symbol's address, when symbol is set */
	const char *symbol;
	const char *object;
	bool is_eval;
};

/* A module's functions, sorted by address: libdwfl's own lookup scans the
 * whole symbol table on every call. */
struct func_sym {
	uint64_t start, end;
	const char *name; /* in the module's ELF, alive as long as the Dwfl */
	int rank;         /* binding: global 2, weak 1, local 0 */
};

struct mod_syms {
	Dwfl_Module *mod;
	struct func_sym *v;
	size_t n;
};

struct probe_native {
	Dwfl *dwfl;
	struct mod_syms *mods;
	size_t nmods;
	struct {
		uint64_t pc;
		uint64_t sp; /* the stack pointer in this frame, 0 if unknown */
		bool activation;
	} * pcs; /* PROBE_NATIVE_MAX_DEPTH, the thread being unwound */
	unsigned npcs;
	bool truncated;
	struct ftp_frame *out; /* max_depth + PROBE_NATIVE_MAX_DEPTH */
	struct sym_entry *syms;
	size_t nsyms_slots, nsyms;
	char **strs; /* interned strings, open addressing */
	size_t nstrs_slots, nstrs;
	bool one_frame_per_eval; /* <= 3.10: every Python frame is its own eval call */
	bool primed;             /* every module's symbols and CFI are loaded */
};

/* Separate debug files, looked for (by build id, debuglink, then debuginfod
 * when DEBUGINFOD_URLS is set) only while the modules are primed, with the
 * target running. Later the unwinder still asks, at the outermost frame of
 * every thread where .eh_frame ends, but then the target is stopped: a
 * download must not keep it so. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                          char **debuginfo_file_name)
{
	const struct probe_native *n = *userdata;
	if (!n || n->primed)
		return -1;
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
	                                    debuglink_crc, debuginfo_file_name);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

static uint64_t hash_addr(uint64_t a)
{
	return (a ^ (a >> 29)) * 0x9e3779b97f4a7c15u;
}

static bool strs_grow(struct probe_native *n)
{
	size_t nslots = n->nstrs_slots ? n->nstrs_slots * 2 : 256;
	char **slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < n->nstrs_slots; i++) {
		char *s = n->strs[i];
		if (!s)
			continue;
		size_t j = hash_str(s) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = s;
	}
	free(n->strs);
	n->strs = slots;
	n->nstrs_slots = nslots;
	return true;
}

/* A copy of s (its first len bytes; all of it when len is 0) that lives as
 * long as the probe; NULL when s is NULL or memory runs out. */
static const char *intern(struct probe_native *n, const char *s, size_t len)
{
	if (!s)
		return NULL;
	char *copy = len ? strndup(s, len) : strdup(s);
	if (!copy)
		return NULL;
	if ((n->nstrs + 1) * 2 > n->nstrs_slots && !strs_grow(n)) {
		free(copy);
		return NULL;
	}
	size_t j = hash_str(copy) & (n->nstrs_slots - 1);
	for (; n->strs[j]; j = (j + 1) & (n->nstrs_slots - 1)) {
		if (strcmp(n->strs[j], copy) == 0) {
			free(copy);
			return n->strs[j];
		}
	}
	n->strs[j] = copy;
	n->nstrs++;
	return copy;
}

static bool syms_grow(struct probe_native *n)
{
	size_t nslots = n->nsyms_slots ? n->nsyms_slots * 2 : 1024;
	struct sym_entry *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < n->nsyms_slots; i++) {
		const struct sym_entry *e = &n->syms[i];
		if (!e->addr)
			continue;
		size_t j = hash_addr(e->addr) & (nslots - 1);
		while (slots[j].addr)
			j = (j + 1) & (nslots - 1);
		slots[j] = *e;
	}
	free(n->syms);
	n->syms = slots;
	n->nsyms_slots = nslots;
	return true;
}

/* The interpreter's frame evaluator, which runs one group of Python frames
 * per call in every version from 3.8 to 3.15. gcc's .cold part of it (3.11,
 * 3.12) is the same call, not a callee. PyEval_EvalFrameEx (3.8) and the
 * other wrappers only forward to it and are kept as native frames. */
static bool is_eval_symbol(const char *name)
{
	static const char eval[] = "_PyEval_EvalFrameDefault";
	if (!name || strncmp(name, eval, sizeof(eval) - 1) != 0)
		return false;
	name += sizeof(eval) - 1;
	return !*name || strcmp(name, ".cold") == 0;
}

/* The function of m holding addr: of the symbols whose range holds it, the
 * one with the strongest binding, then the innermost. */
static const struct func_sym *find_func(const struct mod_syms *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct func_sym *best = NULL;
	/* Ranges rarely nest; a few steps back find the ones that do. */
	for (size_t i = lo, steps = 0; i > 0 && steps < 16; i--, steps++) {
		const struct func_sym *f = &m->v[i - 1];
		if (addr < f->end && (!best || f->rank > best->rank))
			best = f;
	}
	return best;
}

static void resolve(struct probe_native *n, uint64_t addr, struct sym_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->addr = addr;
	Dwfl_Module *mod = dwfl_addrmodule(n->dwfl, addr);
	if (!mod)
		return;
	e->object = intern(n, dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 0);
	for (size_t i = 0; i < n->nmods; i++) {
		if (n->mods[i].mod != mod)
			continue;
		const struct func_sym *f = find_func(&n->mods[i], addr);
		if (f) {
			/* glibc's versioned definitions: "name@@GLIBC_2.34" */
			e->symbol = intern(n, f->name, strcspn(f->name, "@"));
			e->start = f->start;
			e->is_eval = e->symbol && is_eval_symbol(e->symbol);
		}
		break;
	}
}

/* Looks up addr in the cache, resolving it on a miss. Returns NULL only
 * when memory runs out. */
static const struct sym_entry *lookup(struct probe_native *n, uint64_t addr)
{
	if (n->nsyms_slots) {
		size_t j = hash_addr(addr) & (n->nsyms_slots - 1);
		for (; n->syms[j].addr; j = (j + 1) & (n->nsyms_slots - 1))
			if (n->syms[j].addr == addr)
				return &n->syms[j];
	}
	if ((n->nsyms + 1) * 2 > n->nsyms_slots && !syms_grow(n))
		return NULL;
	size_t j = hash_addr(addr) & (n->nsyms_slots - 1);
	while (n->syms[j].addr)
		j = (j + 1) & (n->nsyms_slots - 1);
	resolve(n, addr, &n->syms[j]);
	n->nsyms++;
	return &n->syms[j];
}

/* DWARF number of the stack pointer register. */
#if defined(__x86_64__)
#define SP_REGNO 7
#elif defined(__aarch64__)
#define SP_REGNO 31
#endif

static int on_frame(Dwfl_Frame *state, void *arg)
{
	struct probe_native *n = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	if (n->npcs == PROBE_NATIVE_MAX_DEPTH) {
		n->truncated = true;
		return DWARF_CB_ABORT;
	}
	Dwarf_Word sp = 0;
#ifdef SP_REGNO
	if (dwfl_frame_reg(state, SP_REGNO, &sp) != 0)
		sp = 0;
#endif
	n->pcs[n->npcs].pc = pc;
	n->pcs[n->npcs].sp = sp;
	n->pcs[n->npcs].activation = activation;
	n->npcs++;
	return DWARF_CB_OK;
}

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

void probe_native_splice(struct ftp_probe *p, struct ftp_sample *s)
{
	struct probe_native *n = p->native;
	if (!n)
		return;
	n->npcs = 0;
	n->truncated = false;
	/* The unwinder stops with an error at the end of most stacks; what was
	 * collected up to there is the stack. */
	if (s->tid > 0)
		dwfl_getthread_frames(n->dwfl, s->tid, on_frame, n);
	if (!n->npcs) {
		s->flags |= FTP_SAMPLE_NO_NATIVE;
		return;
	}
	if (n->truncated)
		s->flags |= FTP_SAMPLE_NATIVE_TRUNCATED;

	unsigned k = 0, py = 0;
	for (unsigned i = 0; i < n->npcs; i++) {
		uint64_t pc = n->pcs[i].pc;
		/* A frame's stack spans from its stack pointer up to its
		 * caller's; the outermost one's ends with the stack, unless the
		 * unwinding was cut. */
		uint64_t lo = n->pcs[i].sp;
		uint64_t hi = i + 1 < n->npcs ? n->pcs[i + 1].sp : n->truncated ? 0 : UINT64_MAX;
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
		uint64_t addr = n->pcs[i].activation ? pc : pc - 1;
		const struct sym_entry *e = addr ? lookup(n, addr) : NULL;
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

static int bind_rank(int bind)
{
	return bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
}

static int by_start(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Loads a module's ELF, CFI and functions (from the symbol table of a
 * separate debug file when it has none) now, while the target runs, rather
 * than at its first frame, while the target is stopped. A module whose
 * symbols cannot be had keeps an empty table: its frames are addresses. */
static int prime_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)name;
	(void)start;
	struct probe_native *n = arg;
	*userdata = n;
	Dwarf_Addr bias;
	dwfl_module_eh_cfi(mod, &bias);
	struct mod_syms *mods = realloc(n->mods, (n->nmods + 1) * sizeof(*mods));
	if (!mods)
		return DWARF_CB_ABORT;
	n->mods = mods;
	struct mod_syms *m = &n->mods[n->nmods++];
	memset(m, 0, sizeof(*m));
	m->mod = mod;
	int count = dwfl_module_getsymtab(mod);
	if (count <= 0 || !(m->v = malloc((size_t)count * sizeof(*m->v))))
		return DWARF_CB_OK;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *sname = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!sname || !*sname || !sym.st_size || shndx == SHN_UNDEF || shndx == (GElf_Word)-1 ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		m->v[m->n++] = (struct func_sym){
			.start = addr,
			.end = addr + sym.st_size,
			.name = sname,
			.rank = bind_rank(GELF_ST_BIND(sym.st_info)),
		};
	}
	qsort(m->v, m->n, sizeof(*m->v), by_start);
	return DWARF_CB_OK;
}

/* Turns a libdwfl failure into an ftp_error: r > 0 is an errno value, r < 0
 * a libdwfl error. */
static int dwfl_fail(struct ftp_error *err, int r, const char *call, pid_t pid)
{
	if (r > 0) {
		int code = r == EPERM || r == EACCES   ? FTP_E_PERM
		           : r == ENOENT || r == ESRCH ? FTP_E_EXITED
		           : r == ENOMEM               ? FTP_E_NOMEM
		                                       : FTP_E_DWARF;
		return ftp_error_set(err, code, r, "%s(pid %d)", call, (int)pid);
	}
	int e = dwfl_errno();
	return ftp_error_set(err, FTP_E_DWARF, 0, "%s(pid %d): %s", call, (int)pid, dwfl_errmsg(e));
}

int probe_native_create(struct ftp_probe *p, struct ftp_error *err)
{
	struct probe_native *n = calloc(1, sizeof(*n));
	if (!n)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)p->pid);
	p->native = n;
	n->one_frame_per_eval = p->info.version < 0x030b0000;
	n->pcs = calloc(PROBE_NATIVE_MAX_DEPTH, sizeof(*n->pcs));
	n->out = calloc((size_t)p->max_depth + PROBE_NATIVE_MAX_DEPTH, sizeof(*n->out));
	if (!n->pcs || !n->out)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "native stacks of pid %d", (int)p->pid);
	n->dwfl = dwfl_begin(&callbacks);
	if (!n->dwfl)
		return dwfl_fail(err, -1, "dwfl_begin", p->pid);
	dwfl_report_begin(n->dwfl);
	int r = dwfl_linux_proc_report(n->dwfl, p->pid);
	if (r != 0)
		return dwfl_fail(err, r, "dwfl_linux_proc_report", p->pid);
	if (dwfl_report_end(n->dwfl, NULL, NULL) != 0)
		return dwfl_fail(err, -1, "dwfl_report_end", p->pid);
	/* The stopper has already seized and interrupted every thread when a
	 * round unwinds them: libdwfl must neither attach nor detach. */
	r = dwfl_linux_proc_attach(n->dwfl, p->pid, true);
	if (r != 0)
		return dwfl_fail(err, r, "dwfl_linux_proc_attach", p->pid);
	if (dwfl_getmodules(n->dwfl, prime_module, n, 0) != 0)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "symbols of pid %d", (int)p->pid);
	n->primed = true;
	return 0;
}

void probe_native_destroy(struct probe_native *n)
{
	if (!n)
		return;
	if (n->dwfl)
		dwfl_end(n->dwfl);
	for (size_t i = 0; i < n->nmods; i++)
		free(n->mods[i].v);
	free(n->mods);
	for (size_t i = 0; i < n->nstrs_slots; i++)
		free(n->strs[i]);
	free(n->strs);
	free(n->syms);
	free(n->pcs);
	free(n->out);
	free(n);
}
