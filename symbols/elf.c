/* SPDX-License-Identifier: MIT */
/* ELF files of interpreters: symbols, sections, load segments (libelf). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftprof/symbols.h"
#include "ftprof/util.h"

/* A function, for the address index. */
struct func_sym {
	uint64_t start, end;
	const char *name; /* points into the ELF string table */
	int rank;         /* binding: global 2, weak 1, local 0 */
};

struct ftp_elf {
	int fd;      /* -1 for an image */
	void *image; /* an image's copy, or NULL */
	Elf *elf;
	char *path;
	GElf_Ehdr ehdr;
	size_t shstrndx;
	uint64_t base_vaddr;
	struct func_sym *funcs; /* sorted by start, built on first use */
	size_t nfuncs;
	bool funcs_built;
};

void ftp_elf_destroy(struct ftp_elf *elf)
{
	if (!elf)
		return;
	if (elf->elf)
		elf_end(elf->elf);
	if (elf->fd >= 0)
		close(elf->fd);
	free(elf->image);
	free(elf->funcs);
	free(elf->path);
	free(elf);
}

/* elfutils 0.188 trusts some header fields; check the cheap ones first. */
static int check_ident(const unsigned char *ident, const char *path, struct ftp_error *err)
{
	if (memcmp(ident, ELFMAG, SELFMAG) != 0)
		return ftp_error_set(err, FTP_E_ELF, 0, "%s: not an ELF file", path);
	if (ident[EI_CLASS] != ELFCLASS64 || ident[EI_DATA] != ELFDATA2LSB)
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0, "%s: not a 64-bit little-endian ELF file",
		                     path);
	return 0;
}

static int check_header(int fd, const char *path, struct ftp_error *err)
{
	unsigned char ident[EI_NIDENT];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ftp_error_set(err, FTP_E_ELF, errno, "fstat(%s)", path);
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return ftp_error_set(err, FTP_E_ELF, 0, "%s: not an ELF file", path);
	if (pread(fd, ident, sizeof(ident), 0) != (ssize_t)sizeof(ident))
		return ftp_error_set(err, FTP_E_ELF, errno, "read(%s)", path);
	return check_ident(ident, path, err);
}

/* Reads the headers of elf->elf, opened by the caller. */
static int read_headers(struct ftp_elf *elf, const char *path, struct ftp_error *err)
{
	if (!elf->elf || elf_kind(elf->elf) != ELF_K_ELF || !gelf_getehdr(elf->elf, &elf->ehdr) ||
	    elf_getshdrstrndx(elf->elf, &elf->shstrndx) != 0)
		return ftp_error_set(err, FTP_E_ELF, 0, "%s: %s", path, elf_errmsg(-1));
	if (elf->ehdr.e_machine != EM_X86_64 && elf->ehdr.e_machine != EM_AARCH64)
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0, "%s: unsupported machine %u", path,
		                     elf->ehdr.e_machine);
	size_t nphdr = 0;
	if (elf_getphdrnum(elf->elf, &nphdr) != 0)
		nphdr = 0;
	uint64_t base = UINT64_MAX;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf->elf, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < base)
			base = ph.p_vaddr;
	}
	elf->base_vaddr = base == UINT64_MAX ? 0 : base & ~(uint64_t)0xfff;
	return 0;
}

/* Hands the open file, or the image of len bytes, to libelf and reads the
 * headers: what opening a file and an image share. */
static int begin_libelf(struct ftp_elf *elf, size_t len, struct ftp_error *err)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return ftp_error_set(err, FTP_E_ELF, 0, "libelf: %s", elf_errmsg(-1));
	elf->elf = elf->image ? elf_memory(elf->image, len) : elf_begin(elf->fd, ELF_C_READ_MMAP, NULL);
	return read_headers(elf, elf->path, err);
}

int ftp_elf_create(struct ftp_elf **out, const char *path, struct ftp_error *err)
{
	struct ftp_elf *elf = calloc(1, sizeof(*elf));
	if (!elf)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "opening %s", path);
	elf->fd = -1;
	int ret;
	elf->path = strdup(path);
	if (!elf->path) {
		ret = ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "opening %s", path);
		goto fail;
	}
	elf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (elf->fd < 0) {
		int e = errno;
		ret = ftp_error_set(err, e == EACCES ? FTP_E_PERM : FTP_E_ELF, e, "open(%s)", path);
		goto fail;
	}
	ret = check_header(elf->fd, path, err);
	if (ret < 0)
		goto fail;
	ret = begin_libelf(elf, 0, err);
	if (ret < 0)
		goto fail;
	*out = elf;
	return 0;
fail:
	ftp_elf_destroy(elf);
	return ret;
}

int ftp_elf_create_image(struct ftp_elf **out, const char *name, const void *image, size_t len,
                         struct ftp_error *err)
{
	struct ftp_elf *elf = calloc(1, sizeof(*elf));
	if (!elf)
		return ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "opening %s", name);
	elf->fd = -1;
	int ret;
	elf->path = strdup(name);
	elf->image = malloc(len ? len : 1);
	if (!elf->path || !elf->image) {
		ret = ftp_error_set(err, FTP_E_NOMEM, ENOMEM, "opening %s", name);
		goto fail;
	}
	if (len < sizeof(Elf64_Ehdr)) {
		ret = ftp_error_set(err, FTP_E_ELF, 0, "%s: not an ELF file", name);
		goto fail;
	}
	memcpy(elf->image, image, len);
	ret = check_ident(elf->image, name, err);
	if (ret < 0)
		goto fail;
	ret = begin_libelf(elf, len, err);
	if (ret < 0)
		goto fail;
	*out = elf;
	return 0;
fail:
	ftp_elf_destroy(elf);
	return ret;
}

uint64_t ftp_elf_base_vaddr(const struct ftp_elf *elf)
{
	return elf->base_vaddr;
}

bool ftp_elf_is_dyn(const struct ftp_elf *elf)
{
	return elf->ehdr.e_type == ET_DYN;
}

/* Calls fn for every symbol of sections of type `type`; stops when fn returns
 * nonzero and returns that value. */
typedef int sym_fn(const GElf_Sym *sym, const char *name, void *arg);

static int each_symbol(const struct ftp_elf *elf, Elf64_Word type, sym_fn *fn, void *arg)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = data->d_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym))
				break;
			const char *name = elf_strptr(elf->elf, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			int r = fn(&sym, name, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

struct lookup {
	const char *name;
	uint64_t addr, size;
};

static int match_name(const GElf_Sym *sym, const char *name, void *arg)
{
	struct lookup *l = arg;
	if (sym->st_shndx == SHN_UNDEF || strcmp(name, l->name) != 0)
		return 0;
	l->addr = sym->st_value;
	l->size = sym->st_size;
	return 1;
}

int ftp_elf_symbol(const struct ftp_elf *elf, const char *name, uint64_t *addr, uint64_t *size)
{
	struct lookup l = { .name = name };
	if (!each_symbol(elf, SHT_DYNSYM, match_name, &l) && !each_symbol(elf, SHT_SYMTAB, match_name, &l))
		return -FTP_E_NOTFOUND;
	if (addr)
		*addr = l.addr;
	if (size)
		*size = l.size;
	return 0;
}

int ftp_elf_section(const struct ftp_elf *elf, const char *name, uint64_t *addr, uint64_t *size)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *sname = elf_strptr(elf->elf, elf->shstrndx, sh.sh_name);
		if (sname && strcmp(sname, name) == 0) {
			if (addr)
				*addr = sh.sh_addr;
			if (size)
				*size = sh.sh_size;
			return 0;
		}
	}
	return -FTP_E_NOTFOUND;
}

struct func_list {
	struct func_sym *v;
	size_t n, cap;
	bool nomem;
};

static int bind_rank(int bind)
{
	return bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
}

/* Functions of nonzero size defined in the file: the ones that can hold an
 * address. */
static int collect_func(const GElf_Sym *sym, const char *name, void *arg)
{
	struct func_list *l = arg;
	int type = GELF_ST_TYPE(sym->st_info);
	if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym->st_shndx == SHN_UNDEF || !sym->st_size)
		return 0;
	if (ftp_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v), 1024) < 0) {
		l->nomem = true;
		return 1;
	}
	l->v[l->n++] = (struct func_sym){
		.start = sym->st_value,
		.end = sym->st_value + sym->st_size,
		.name = name,
		.rank = bind_rank(GELF_ST_BIND(sym->st_info)),
	};
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static bool has_section(const struct ftp_elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf->elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type)
			return true;
	}
	return false;
}

int ftp_elf_index_functions(struct ftp_elf *elf)
{
	if (elf->funcs_built)
		return 0;
	struct func_list l = { 0 };
	/* .dynsym holds a subset of .symtab: the exported names. */
	each_symbol(elf, has_section(elf, SHT_SYMTAB) ? SHT_SYMTAB : SHT_DYNSYM, collect_func, &l);
	if (l.nomem) {
		free(l.v);
		return -FTP_E_NOMEM;
	}
	if (l.n > 1) /* l.v is NULL when there are none */
		qsort(l.v, l.n, sizeof(*l.v), by_start);
	elf->funcs = l.v;
	elf->nfuncs = l.n;
	elf->funcs_built = true;
	return 0;
}

int ftp_elf_addr_symbol(struct ftp_elf *elf, uint64_t addr, struct ftp_elf_func *out)
{
	int ret = ftp_elf_index_functions(elf);
	if (ret < 0)
		return ret;
	size_t lo = 0, hi = elf->nfuncs;
	while (lo < hi) { /* first entry that starts after addr */
		size_t mid = lo + (hi - lo) / 2;
		if (elf->funcs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct func_sym *best = NULL;
	/* Ranges rarely nest; a few steps back find the ones that do. */
	for (size_t i = lo, steps = 0; i > 0 && steps < 16; i--, steps++) {
		const struct func_sym *f = &elf->funcs[i - 1];
		if (addr < f->end && (!best || f->rank > best->rank))
			best = f;
	}
	if (!best)
		return -FTP_E_NOTFOUND;
	out->name = best->name;
	/* glibc's .symtab names its versioned definitions "name@@GLIBC_2.34" */
	out->name_len = strcspn(best->name, "@");
	out->start = best->start;
	out->size = best->end - best->start;
	return 0;
}
