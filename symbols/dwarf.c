/* SPDX-License-Identifier: MIT */
/* Struct member offsets and type sizes from an ELF file's DWARF, through libdw. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftprof/symbols.h"

/* C keeps struct/union tags and typedef names in separate namespaces. */
enum ns {
	NS_TAG = 1,
	NS_TYPEDEF,
};

/* One indexed name: the first complete definition seen in CU order. */
struct entry {
	const char *name; /* lent by libdw, lives as long as the Dwarf */
	enum ns ns;
	Dwarf_Die die;
};

struct ftp_dwarf {
	int fd;
	Elf *elf;
	Dwarf *dbg;
	struct entry *tab; /* open addressing; name NULL marks a free slot */
	size_t cap;        /* a power of two */
	size_t count;
};

/* Deep enough for any real chain of typedefs and qualifiers or nested
 * anonymous members; stops loops in corrupt DWARF. */
#define MAX_DEPTH 64

static size_t hash_name(enum ns ns, const char *name)
{
	/* FNV-1a */
	size_t h = (size_t)14695981039346656037ull ^ (size_t)ns;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= (size_t)1099511628211ull;
	}
	return h;
}

static struct entry *slot(struct entry *tab, size_t cap, enum ns ns, const char *name)
{
	size_t i = hash_name(ns, name) & (cap - 1);
	while (tab[i].name && (tab[i].ns != ns || strcmp(tab[i].name, name) != 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int grow(struct ftp_dwarf *dw)
{
	size_t cap = dw->cap ? dw->cap * 2 : 4096;
	struct entry *tab = calloc(cap, sizeof(*tab));
	if (!tab)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < dw->cap; i++)
		if (dw->tab[i].name)
			*slot(tab, cap, dw->tab[i].ns, dw->tab[i].name) = dw->tab[i];
	free(dw->tab);
	dw->tab = tab;
	dw->cap = cap;
	return 0;
}

/* Records die under name unless the name already has a definition. */
static int add(struct ftp_dwarf *dw, enum ns ns, const char *name, const Dwarf_Die *die)
{
	if (2 * (dw->count + 1) > dw->cap) {
		int ret = grow(dw);
		if (ret < 0)
			return ret;
	}
	struct entry *e = slot(dw->tab, dw->cap, ns, name);
	if (e->name)
		return 0;
	e->name = name;
	e->ns = ns;
	e->die = *die;
	dw->count++;
	return 0;
}

static const struct entry *lookup(const struct ftp_dwarf *dw, enum ns ns, const char *name)
{
	if (!dw->cap)
		return NULL;
	const struct entry *e = slot(dw->tab, dw->cap, ns, name);
	return e->name ? e : NULL;
}

static int index_die(struct ftp_dwarf *dw, Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	enum ns ns;
	if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
		/* A declaration says nothing about the members. */
		if (dwarf_hasattr(die, DW_AT_declaration))
			return 0;
		ns = NS_TAG;
	} else if (tag == DW_TAG_typedef) {
		/* Kept even when it names an incomplete struct: resolve() then
		 * finds the struct's definition by its tag. */
		ns = NS_TYPEDEF;
	} else {
		return 0;
	}
	const char *name = dwarf_diename(die);
	if (!name)
		return 0;
	return add(dw, ns, name, die);
}

/* Indexes the named types at the top level of every unit, once. Types of a C
 * program are declared at file scope, so nested DIEs are not visited. */
static int build_index(struct ftp_dwarf *dw, struct ftp_error *err)
{
	Dwarf_CU *cu = NULL;
	Dwarf_CU *next;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	int rc;
	while ((rc = dwarf_get_units(dw->dbg, cu, &next, &version, &unit_type, &cudie, &subdie)) == 0) {
		cu = next;
		/* libdw clears the unit DIE of a unit it does not know */
		if (!cudie.addr)
			continue;
		/* Compile, partial and type units all keep their types as
		 * children of the unit DIE. */
		Dwarf_Die child;
		int c = dwarf_child(&cudie, &child);
		while (c == 0) {
			int ret = index_die(dw, &child);
			if (ret < 0)
				return ftp_error_set(err, -ret, 0, "indexing DWARF types");
			c = dwarf_siblingof(&child, &child);
		}
		if (c < 0)
			return ftp_error_set(err, FTP_E_DWARF, 0, "walking DWARF unit: %s", dwarf_errmsg(-1));
	}
	if (rc < 0)
		return ftp_error_set(err, FTP_E_DWARF, 0, "reading DWARF units: %s", dwarf_errmsg(-1));
	return 0;
}

/* True when the file has a .debug_info section with content (plain or
 * compressed); a stripped file or one with only a .gnu_debuglink has none. */
static bool has_debug_info(Elf *elf)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS || shdr.sh_size == 0)
			continue;
		const char *name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (name && (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0))
			return true;
	}
	return false;
}

int ftp_dwarf_create(struct ftp_dwarf **out, const char *path, struct ftp_error *err)
{
	if (!out || !path)
		return ftp_error_set(err, FTP_E_INVAL, 0, "ftp_dwarf_create: no path");
	struct ftp_dwarf *dw = calloc(1, sizeof(*dw));
	if (!dw)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "ftp_dwarf_create(%s)", path);
	dw->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (dw->fd < 0) {
		int e = errno;
		ftp_dwarf_destroy(dw);
		return ftp_error_set(err, e == ENOENT ? FTP_E_NOTFOUND : FTP_E_IO, e, "open(%s)", path);
	}
	elf_version(EV_CURRENT);
	dw->elf = elf_begin(dw->fd, ELF_C_READ_MMAP, NULL);
	if (!dw->elf || elf_kind(dw->elf) != ELF_K_ELF) {
		ftp_dwarf_destroy(dw);
		return ftp_error_set(err, FTP_E_ELF, 0, "elf_begin(%s): %s", path,
		                     elf_errno() ? elf_errmsg(-1) : "not an ELF file");
	}
	if (!has_debug_info(dw->elf)) {
		ftp_dwarf_destroy(dw);
		return ftp_error_set(err, FTP_E_NOTFOUND, 0, "%s: no DWARF debug information", path);
	}
	dw->dbg = dwarf_begin_elf(dw->elf, DWARF_C_READ, NULL);
	if (!dw->dbg) {
		ftp_dwarf_destroy(dw);
		return ftp_error_set(err, FTP_E_DWARF, 0, "dwarf_begin_elf(%s): %s", path, dwarf_errmsg(-1));
	}
	int ret = build_index(dw, err);
	if (ret < 0) {
		ftp_error_wrap(err, "%s", path);
		ftp_dwarf_destroy(dw);
		return ret;
	}
	if (dw->count == 0) {
		ftp_dwarf_destroy(dw);
		return ftp_error_set(err, FTP_E_NOTFOUND, 0, "%s: no types in the DWARF", path);
	}
	*out = dw;
	return 0;
}

void ftp_dwarf_destroy(struct ftp_dwarf *dw)
{
	if (!dw)
		return;
	if (dw->dbg)
		dwarf_end(dw->dbg);
	if (dw->elf)
		elf_end(dw->elf);
	if (dw->fd >= 0)
		close(dw->fd);
	free(dw->tab);
	free(dw);
}

/* Follows typedefs and qualifiers, and replaces a struct or union
 * declaration by its definition. Stores the resulting DIE in out. */
static int resolve(const struct ftp_dwarf *dw, const Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Die cur = *die;
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		int tag = dwarf_tag(&cur);
		switch (tag) {
		case DW_TAG_typedef:
		case DW_TAG_const_type:
		case DW_TAG_volatile_type:
		case DW_TAG_restrict_type:
		case DW_TAG_atomic_type: {
			Dwarf_Attribute attr;
			/* A typedef or qualifier without a type stands for void. */
			if (!dwarf_attr_integrate(&cur, DW_AT_type, &attr))
				return -FTP_E_NOTFOUND;
			if (!dwarf_formref_die(&attr, &cur))
				return -FTP_E_DWARF;
			break;
		}
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			if (dwarf_hasattr(&cur, DW_AT_declaration)) {
				const char *name = dwarf_diename(&cur);
				const struct entry *e = name ? lookup(dw, NS_TAG, name) : NULL;
				if (!e)
					return -FTP_E_NOTFOUND;
				cur = e->die;
			}
			*out = cur;
			return 0;
		default:
			if (tag < 0)
				return -FTP_E_DWARF;
			*out = cur;
			return 0;
		}
	}
	return -FTP_E_CORRUPT;
}

/* The type named by a struct/union tag or a typedef; "struct x" and
 * "union x" look at tags of that kind only. */
static int find_type(const struct ftp_dwarf *dw, const char *type, Dwarf_Die *out)
{
	const struct entry *e;
	int want = 0;
	if (strncmp(type, "struct ", 7) == 0) {
		e = lookup(dw, NS_TAG, type + 7);
		want = DW_TAG_structure_type;
	} else if (strncmp(type, "union ", 6) == 0) {
		e = lookup(dw, NS_TAG, type + 6);
		want = DW_TAG_union_type;
	} else if (!(e = lookup(dw, NS_TAG, type))) {
		e = lookup(dw, NS_TYPEDEF, type);
	}
	if (!e)
		return -FTP_E_NOTFOUND;
	Dwarf_Die die = e->die;
	if (want && dwarf_tag(&die) != want)
		return -FTP_E_NOTFOUND;
	return resolve(dw, &die, out);
}

static bool is_aggregate(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/* Offset of a member DIE in its parent, in bytes. */
static long member_location(Dwarf_Die *member)
{
	Dwarf_Attribute attr;
	Dwarf_Word value;
	if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
		/* DWARF 4+ bit-fields: the byte that holds the first bit. */
		if (dwarf_attr_integrate(member, DW_AT_data_bit_offset, &attr)) {
			if (dwarf_formudata(&attr, &value) != 0)
				return -FTP_E_DWARF;
			return (long)(value / 8);
		}
		/* Members of a union, and the first member in some producers. */
		return 0;
	}
	switch (dwarf_whatform(&attr)) {
	case DW_FORM_block:
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
	case DW_FORM_exprloc: {
		/* DWARF 2-style location: DW_OP_plus_uconst n from the base. */
		Dwarf_Op *ops;
		size_t nops;
		if (dwarf_getlocation(&attr, &ops, &nops) != 0)
			return -FTP_E_DWARF;
		if (nops == 1 && (ops[0].atom == DW_OP_plus_uconst || ops[0].atom == DW_OP_constu))
			return (long)ops[0].number;
		return -FTP_E_UNSUPPORTED;
	}
	default:
		if (dwarf_formudata(&attr, &value) != 0)
			return -FTP_E_DWARF;
		return (long)value;
	}
}

/* Finds the member called name of the aggregate agg, looking inside anonymous
 * struct and union members too. Stores the member DIE in member and returns
 * its offset from the start of agg, or a negative FTP_E_*. */
static long find_member(const struct ftp_dwarf *dw, Dwarf_Die *agg, const char *name, size_t len,
                        Dwarf_Die *member, int depth)
{
	if (depth > MAX_DEPTH)
		return -FTP_E_CORRUPT;
	Dwarf_Die child;
	int c = dwarf_child(agg, &child);
	for (; c == 0; c = dwarf_siblingof(&child, &child)) {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *mname = dwarf_diename(&child);
		if (mname) {
			if (strncmp(mname, name, len) != 0 || mname[len] != '\0')
				continue;
			*member = child;
			return member_location(&child);
		}
		/* An anonymous struct or union: its members belong to agg. */
		Dwarf_Attribute attr;
		Dwarf_Die type, inner;
		if (!dwarf_attr_integrate(&child, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &type) ||
		    resolve(dw, &type, &inner) != 0 || !is_aggregate(&inner))
			continue;
		long sub = find_member(dw, &inner, name, len, member, depth + 1);
		if (sub == -FTP_E_NOTFOUND)
			continue;
		if (sub < 0)
			return sub;
		long base = member_location(&child);
		if (base < 0)
			return base;
		return base + sub;
	}
	if (c < 0)
		return -FTP_E_DWARF;
	return -FTP_E_NOTFOUND;
}

long ftp_dwarf_member_offset(struct ftp_dwarf *dw, const char *type, const char *member)
{
	if (!dw || !type || !member || !*member)
		return -FTP_E_INVAL;
	Dwarf_Die agg;
	int ret = find_type(dw, type, &agg);
	if (ret < 0)
		return ret;
	long total = 0;
	const char *p = member;
	for (;;) {
		if (!is_aggregate(&agg))
			return -FTP_E_NOTFOUND;
		size_t len = strcspn(p, ".");
		if (len == 0)
			return -FTP_E_INVAL;
		Dwarf_Die found;
		long off = find_member(dw, &agg, p, len, &found, 0);
		if (off < 0)
			return off;
		total += off;
		if (p[len] == '\0')
			return total;
		p += len + 1;
		/* The next component is a member of this member's type. */
		Dwarf_Attribute attr;
		Dwarf_Die mtype;
		if (!dwarf_attr_integrate(&found, DW_AT_type, &attr) || !dwarf_formref_die(&attr, &mtype))
			return -FTP_E_DWARF;
		ret = resolve(dw, &mtype, &agg);
		if (ret < 0)
			return ret;
	}
}

long ftp_dwarf_type_size(struct ftp_dwarf *dw, const char *type)
{
	if (!dw || !type)
		return -FTP_E_INVAL;
	Dwarf_Die die;
	int ret = find_type(dw, type, &die);
	if (ret < 0)
		return ret;
	Dwarf_Word size;
	if (dwarf_aggregate_size(&die, &size) != 0 || size == 0)
		return -FTP_E_DWARF;
	return (long)size;
}
