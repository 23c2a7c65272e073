/* SPDX-License-Identifier: MIT */
/* What DWARF says of one instruction: the functions inlined there, innermost
 * first, and, when one of them is a reference count routine, where its
 * object is at that instruction (a register, or memory at a register plus
 * an offset), so that an on-CPU sample's registers name the object whose
 * count the thread updates. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>

#include "ftprof/util.h"
#include "native/native.h"

/* The routines that update a count, in every version's headers: the object
 * is their parameter `op` (or their first one). */
static const char *const refcount_routines[] = {
	"Py_INCREF",
	"Py_DECREF",
	"Py_XINCREF",
	"Py_XDECREF",
	"Py_NewRef",
	"Py_XNewRef",
	"_Py_NewRef",
	"_Py_XNewRef",
	"Py_IncRef",
	"Py_DecRef",
	"_Py_IncRef",
	"_Py_DecRef",
	"_Py_INCREF_TYPE",
	"_Py_DECREF_TYPE",
	"_Py_DecRefShared",
	"_Py_DecRefSharedDebug",
	"_Py_MergeZeroLocalRefcount",
	"_Py_ExplicitMergeRefcount",
	"_Py_TryIncref",
	"_Py_TryIncrefFast",
	"_Py_TryIncRefShared",
	"_Py_TryIncrefCompare",
	"_Py_TryIncrefCompareStackRef",
	"_Py_TryXGetRef",
	"_Py_INCREF_IMMORTAL_STAT_INC",
};

static bool is_refcount_routine(const char *name)
{
	for (size_t i = 0; i < sizeof(refcount_routines) / sizeof(refcount_routines[0]); i++)
		if (strcmp(name, refcount_routines[i]) == 0)
			return true;
	return false;
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	if (!dwarf_attr_integrate(die, DW_AT_name, &a))
		return NULL;
	return dwarf_formstring(&a);
}

/* A location expression ftprof can evaluate from registers alone. */
static bool eval_location(const Dwarf_Op *ops, size_t n, struct native_inline *out)
{
	if (n == 0)
		return false;
	uint8_t atom = ops[0].atom;
	if (n == 1 && atom >= DW_OP_reg0 && atom <= DW_OP_reg31) {
		out->obj_reg = atom - DW_OP_reg0;
		out->obj_off = 0;
		out->obj_deref = false;
		return true;
	}
	if (n == 1 && atom == DW_OP_regx) {
		out->obj_reg = (int)ops[0].number;
		out->obj_off = 0;
		out->obj_deref = false;
		return true;
	}
	if (atom >= DW_OP_breg0 && atom <= DW_OP_breg31) {
		out->obj_reg = atom - DW_OP_breg0;
		out->obj_off = (int64_t)ops[0].number;
		if (n == 1) { /* the parameter lives in memory there */
			out->obj_deref = true;
			return true;
		}
		if (n == 2 && ops[1].atom == DW_OP_stack_value) { /* its value is reg + off */
			out->obj_deref = false;
			return true;
		}
	}
	return false; /* frame base, entry values, pieces: not from registers alone */
}

/* The object parameter of routine die at pc (link-time address). */
static void object_param(Dwarf_Die *routine, Dwarf_Addr pc, struct native_inline *out)
{
	Dwarf_Die child, chosen;
	bool have = false;
	if (dwarf_child(routine, &child) != 0)
		return;
	do {
		if (dwarf_tag(&child) != DW_TAG_formal_parameter)
			continue;
		const char *name = die_name(&child);
		if (!have || (name && strcmp(name, "op") == 0)) {
			chosen = child;
			have = true;
			if (name && strcmp(name, "op") == 0)
				break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	if (!have)
		return;
	Dwarf_Attribute loc;
	if (!dwarf_attr(&chosen, DW_AT_location, &loc))
		return;
	Dwarf_Op *exprs[1];
	size_t lens[1];
	if (dwarf_getlocation_addr(&loc, pc, exprs, lens, 1) == 1)
		out->obj_known = eval_location(exprs[0], lens[0], out);
}

/* ---- the index ------------------------------------------------------
 * dwarf_getscopes walks a compilation unit's DIE tree from its root for
 * every address: milliseconds in the CU of the interpreter's eval loop, tens
 * of thousands of DIEs, and an on-CPU engine asks for thousands of its
 * addresses. The index walks each function once, on the first address in
 * it, and keeps the ranges of every function inlined into it; an address is
 * then a scan of one function's ranges. */

/* One range of a DIE: a function (depth 0) or an inline instance in it. */
struct inl_range {
	Dwarf_Addr lo, hi; /* [lo, hi), link-time */
	Dwarf_Off die;
	int depth;
	const char *name; /* libdw's */
	bool refcount;
};

/* A function with every inline instance in it, walked on first use. */
struct inl_func {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
	struct inl_range *r; /* NULL until walked */
	size_t n;
	bool walked;
	uint32_t used; /* the trim window it was last used in */
};

/* A compilation unit's functions, sorted by lo. */
struct inl_cu {
	Dwarf *dbg;
	Dwarf_Off off;
	struct inl_func *f;
	size_t n;
};

struct native_inlines {
	struct native_modules *mods;
	struct inl_cu *cus;
	size_t ncus, cus_cap;
	size_t walked;   /* ranges held by walked functions */
	uint32_t window; /* trims so far */
};

struct native_inlines *native_inlines_create(struct native_modules *mods)
{
	struct native_inlines *x = calloc(1, sizeof(*x));
	if (x)
		x->mods = mods;
	return x;
}

void native_inlines_destroy(struct native_inlines *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->ncus; i++) {
		for (size_t j = 0; j < x->cus[i].n; j++)
			free(x->cus[i].f[j].r);
		free(x->cus[i].f);
	}
	free(x->cus);
	free(x);
}

/* Appends each of die's address ranges to *v. Returns false when out of
 * memory. */
static bool add_ranges(Dwarf_Die *die, int depth, struct inl_range **v, size_t *n, size_t *cap)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t it = 0;
	const char *name = NULL;
	bool named = false;
	while ((it = dwarf_ranges(die, it, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (!named) {
			name = die_name(die);
			named = true;
		}
		if (ftp_grow((void **)v, cap, *n + 1, sizeof(**v), 64) < 0)
			return false;
		(*v)[(*n)++] = (struct inl_range){ lo,    hi,   dwarf_dieoffset(die),
			                           depth, name, name && is_refcount_routine(name) };
	}
	return true;
}

/* Every inline instance under die, its depth counted in inline instances. */
static bool walk_inlines(Dwarf_Die *die, int depth, struct inl_func *f, size_t *cap)
{
	Dwarf_Die child;
	if (dwarf_child(die, &child) != 0)
		return true;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_inlined_subroutine) {
			if (!add_ranges(&child, depth + 1, &f->r, &f->n, cap) ||
			    !walk_inlines(&child, depth + 1, f, cap))
				return false;
		} else if (tag == DW_TAG_lexical_block || tag == DW_TAG_try_block ||
		           tag == DW_TAG_catch_block) {
			if (!walk_inlines(&child, depth, f, cap))
				return false;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return true;
}

static int cmp_func(const void *a, const void *b)
{
	const struct inl_func *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The functions of the CU cu, one entry per range. NULL when out of memory. */
static struct inl_cu *cu_get(struct native_inlines *x, Dwarf_Die *cu)
{
	Dwarf *dbg = dwarf_cu_getdwarf(cu->cu);
	Dwarf_Off off = dwarf_dieoffset(cu);
	for (size_t i = 0; i < x->ncus; i++)
		if (x->cus[i].dbg == dbg && x->cus[i].off == off)
			return &x->cus[i];
	if (ftp_grow((void **)&x->cus, &x->cus_cap, x->ncus + 1, sizeof(*x->cus), 16) < 0)
		return NULL;
	struct inl_cu *c = &x->cus[x->ncus];
	*c = (struct inl_cu){ .dbg = dbg, .off = off };
	struct inl_range *r = NULL;
	size_t n = 0, cap = 0;
	Dwarf_Die child;
	bool ok = true;
	if (dwarf_child(cu, &child) == 0) {
		do {
			if (dwarf_tag(&child) == DW_TAG_subprogram)
				ok = add_ranges(&child, 0, &r, &n, &cap);
		} while (ok && dwarf_siblingof(&child, &child) == 0);
	}
	if (!ok || (n && !(c->f = calloc(n, sizeof(*c->f))))) {
		free(r);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		c->f[i] = (struct inl_func){ .lo = r[i].lo, .hi = r[i].hi, .die = r[i].die };
	c->n = n;
	free(r);
	if (c->n) /* a CU of data or assembly has no functions, and f is NULL */
		qsort(c->f, c->n, sizeof(*c->f), cmp_func);
	x->ncus++;
	return c;
}

/* The function whose range holds pc, walked. NULL when none or out of
 * memory. */
static struct inl_func *func_at(struct native_inlines *x, struct inl_cu *c, Dwarf_Addr pc)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) { /* the first function starting above pc */
		size_t mid = lo + (hi - lo) / 2;
		if (c->f[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct inl_func *f = NULL;
	for (size_t i = lo; i-- > 0;) /* ranges do not nest: the nearest below */
		if (pc < c->f[i].hi) {
			f = &c->f[i];
			break;
		}
	if (!f)
		return NULL;
	f->used = x->window;
	if (!f->walked) {
		Dwarf_Die die;
		size_t cap = 0;
		if (!dwarf_offdie(c->dbg, f->die, &die))
			return NULL;
		if (!add_ranges(&die, 0, &f->r, &f->n, &cap) || !walk_inlines(&die, 0, f, &cap)) {
			free(f->r);
			f->r = NULL;
			f->n = 0;
			return NULL;
		}
		f->walked = true;
		x->walked += f->n;
	}
	return f;
}

size_t native_inlines_held(const struct native_inlines *x)
{
	return x ? x->walked : 0;
}

/* Those in use stay, so a program that keeps to its functions has them
 * walked once and their DWARF left unread. */
void native_inlines_trim(struct native_inlines *x)
{
	if (!x)
		return;
	uint32_t window = x->window++;
	if (x->walked <= NATIVE_INLINES_KEEP)
		return;
	for (size_t i = 0; i < x->ncus; i++) {
		for (size_t k = 0; k < x->cus[i].n; k++) {
			struct inl_func *f = &x->cus[i].f[k];
			if (!f->walked || f->used == window)
				continue;
			x->walked -= f->n;
			free(f->r);
			f->r = NULL;
			f->n = 0;
			f->walked = false;
		}
	}
}

int native_inline_at(struct native_inlines *x, uint64_t addr, struct native_inline *out)
{
	memset(out, 0, sizeof(*out));
	out->obj_reg = -1;
	Dwfl *dwfl = native_modules_dwfl(x->mods);
	Dwfl_Module *mod = dwfl ? dwfl_addrmodule(dwfl, addr) : NULL;
	if (!mod)
		return -FTP_E_NOTFOUND;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu) {
		/* no .debug_info, or none for this address */
		out->has_dwarf = dwfl_module_getdwarf(mod, &bias) != NULL;
		return 0;
	}
	out->has_dwarf = true;
	Dwarf_Addr pc = addr - bias;
	struct inl_cu *c = cu_get(x, cu);
	struct inl_func *f = c ? func_at(x, c, pc) : NULL;
	if (!f)
		return 0;
	/* The concrete chain: the ranges holding pc, innermost (deepest) first,
	 * up to the function that holds them all. */
	const struct inl_range *innermost = NULL, *routine = NULL;
	for (size_t i = 0; i < f->n; i++) {
		const struct inl_range *r = &f->r[i];
		if (pc < r->lo || pc >= r->hi)
			continue;
		if (r->depth > 0 && r->name && (!innermost || r->depth > innermost->depth))
			innermost = r;
		if (r->refcount && (!routine || r->depth > routine->depth))
			routine = r;
	}
	if (innermost)
		out->inlined = innermost->name;
	if (routine) {
		Dwarf_Die die;
		out->refcount = routine->name;
		if (dwarf_offdie(c->dbg, routine->die, &die))
			object_param(&die, pc, out);
	}
	return 0;
}
