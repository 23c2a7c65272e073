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

int native_inline_at(struct native_modules *m, uint64_t addr, struct native_inline *out)
{
	memset(out, 0, sizeof(*out));
	out->obj_reg = -1;
	Dwfl *dwfl = native_modules_dwfl(m);
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
	Dwarf_Die *scopes = NULL, *chain = NULL;
	int n = dwarf_getscopes(cu, pc, &scopes);
	/* The concrete chain: the innermost scope, the functions inlined into
	 * each other around it, up to the function that holds them all
	 * (dwarf_getscopes follows an inline to its abstract definition). */
	if (n > 0)
		n = dwarf_getscopes_die(&scopes[0], &chain);
	for (int i = 0; i < n; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		const char *name = die_name(&chain[i]);
		if (!name)
			continue;
		if (tag == DW_TAG_inlined_subroutine && !out->inlined)
			out->inlined = name;
		if (!out->refcount && is_refcount_routine(name)) {
			out->refcount = name;
			object_param(&chain[i], pc, out);
			break;
		}
		if (tag == DW_TAG_subprogram)
			break;
	}
	free(chain);
	free(scopes);
	return 0;
}
