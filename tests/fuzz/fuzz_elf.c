/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the ELF and DWARF readers of symbols/ on a corrupted
 * interpreter binary. The input is the whole file; it is written to a memfd
 * and opened by path, as ftp_elf_create() and ftp_dwarf_create() take one,
 * and given to ftp_elf_create_image() as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ftprof/symbols.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];
static volatile size_t sink;

/* What the probe and the tests look up in an interpreter. */
static const char *const symbols[] = {
	"_PyRuntime", "PyCode_Type", "PyUnicode_Type", "PyLong_Type", "Py_Version", "version", "main",
};
static const char *const sections[] = { ".PyRuntime", ".data", ".rodata", ".debug_info" };
static const struct {
	const char *type, *member;
} members[] = {
	{ "_PyRuntimeState", "interpreters.head" },
	{ "PyInterpreterState", "threads.head" },
	{ "PyInterpreterState", "ceval.gil" },
	{ "struct _is", "next" },
	{ "PyThreadState", "cframe" },
	{ "struct _ts", "interp" },
	{ "_PyInterpreterFrame", "f_executable" },
	{ "PyCodeObject", "co_linetable" },
	{ "PyASCIIObject", "state" },
	{ "union u", "w" },
	{ "_Py_DebugOffsets", "thread_state.native_thread_id" },
};
static const char *const types[] = { "PyThreadState", "struct _is", "_Py_DebugOffsets",
	                             "int",           "union u",    "PyCodeObject" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void store(const uint8_t *data, size_t size)
{
	if (ftruncate(memfd, 0) < 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
}

static void symbolize(struct ftp_elf *elf, uint64_t addr)
{
	struct ftp_elf_func f;
	if (ftp_elf_addr_symbol(elf, addr, &f) == 0) {
		if (f.name_len > strlen(f.name) || addr - f.start >= f.size)
			abort();
		sink += f.name_len + f.start;
	}
}

static void query_elf(struct ftp_elf *elf)
{
	uint64_t addr, size;
	sink += ftp_elf_base_vaddr(elf) + ftp_elf_is_dyn(elf);
	for (size_t i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		if (ftp_elf_symbol(elf, symbols[i], &addr, &size) < 0)
			continue;
		symbolize(elf, addr);
		symbolize(elf, addr + size / 2);
		symbolize(elf, addr - 1);
	}
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (ftp_elf_section(elf, sections[i], &addr, &size) == 0)
			symbolize(elf, addr + size - 1);
	symbolize(elf, 0);
	symbolize(elf, UINT64_MAX);
}

static void query_dwarf(struct ftp_dwarf *dw)
{
	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		sink += (size_t)ftp_dwarf_member_offset(dw, members[i].type, members[i].member);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		sink += (size_t)ftp_dwarf_type_size(dw, types[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store(data, size);
	struct ftp_error err = { 0 };
	struct ftp_elf *elf = NULL;
	if (ftp_elf_create(&elf, path, &err) == 0) {
		query_elf(elf);
		ftp_elf_destroy(elf);
	}
	/* The same bytes as an image, as the vDSO is read. */
	if (ftp_elf_create_image(&elf, "fuzz image", data, size, &err) == 0) {
		query_elf(elf);
		ftp_elf_destroy(elf);
	}
	struct ftp_dwarf *dw = NULL;
	if (ftp_dwarf_create(&dw, path, &err) == 0) {
		query_dwarf(dw);
		ftp_dwarf_destroy(dw);
	}
	if (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
		abort();
	return 0;
}
