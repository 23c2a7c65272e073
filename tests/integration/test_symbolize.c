/* SPDX-License-Identifier: MIT */
/* One symbolizer for files and live processes: addresses of known functions
 * of a running interpreter, taken from its ELF, come back with their names,
 * from symbols/ (link-time addresses of a file) and from probe/native/
 * (run-time addresses of the process, through its modules). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ftprof/symbols.h"
#include "interp.h"
#include "native/native.h"
#include "target.h"

struct version_param {
	char name[8];
};

static struct version_param versions[] = {
	{ "3.8" },  { "3.9" },   { "3.10" }, { "3.11" }, { "3.12" },
	{ "3.13" }, { "3.13t" }, { "3.14" }, { "3.15" },
};

/* A function of the interpreter, as its ELF tells. */
struct known {
	const char *name;
	uint64_t addr, size; /* link-time */
};

/* The file mapped in pid whose ELF defines `name` (the executable or its
 * libpython), opened, with its load bias. */
static struct ftp_elf *find_elf(pid_t pid, const char *name, char *path, size_t len, uint64_t *bias)
{
	char maps[64], line[4096];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "r");
	cr_assert(f, "cannot open %s", maps);
	struct ftp_elf *found = NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long start, offset;
		char file[4096] = "";
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095s", &start, &offset, file) < 3 || offset ||
		    file[0] != '/')
			continue;
		struct ftp_elf *elf;
		if (ftp_elf_create(&elf, file, NULL) < 0)
			continue;
		if (ftp_elf_symbol(elf, name, NULL, NULL) == 0) {
			found = elf;
			snprintf(path, len, "%s", file);
			*bias = ftp_elf_is_dyn(elf) ? start - ftp_elf_base_vaddr(elf) : 0;
		} else {
			ftp_elf_destroy(elf);
		}
	}
	fclose(f);
	return found;
}

/* Symbolizes the start, the middle and the last byte of k, and one byte
 * past it, with the file's symbolizer. */
static void check_file(struct ftp_elf *elf, const struct known *k, const char *v)
{
	uint64_t at[] = { k->addr, k->addr + k->size / 2, k->addr + k->size - 1 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct ftp_elf_func f;
		cr_assert_eq(ftp_elf_addr_symbol(elf, at[i], &f), 0, "Python %s: %s+%" PRIu64 " not found", v,
		             k->name, at[i] - k->addr);
		cr_expect(f.name_len == strlen(k->name) && strncmp(f.name, k->name, f.name_len) == 0,
		          "Python %s: %s+%" PRIu64 " symbolized as %.*s", v, k->name, at[i] - k->addr,
		          (int)f.name_len, f.name);
		cr_expect_eq(f.start, k->addr, "Python %s: %s", v, k->name);
		cr_expect_eq(f.size, k->size, "Python %s: %s", v, k->name);
	}
	struct ftp_elf_func f;
	if (ftp_elf_addr_symbol(elf, k->addr + k->size, &f) == 0)
		cr_expect(strncmp(f.name, k->name, f.name_len) != 0 || f.name_len != strlen(k->name),
		          "Python %s: the byte past %s is still %s", v, k->name, k->name);
}

/* The same through the probe's modules of the live process, at run-time
 * addresses. */
static void check_live(struct native_symbolizer *sz, const struct known *k, uint64_t bias, const char *path,
                       bool eval, const char *v)
{
	uint64_t at[] = { k->addr, k->addr + k->size / 2, k->addr + k->size - 1 };
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		const struct native_sym *s = native_symbolize(sz, bias + at[i]);
		cr_assert(s, "Python %s: out of memory", v);
		cr_expect(s->symbol && strcmp(s->symbol, k->name) == 0, "Python %s: %s+%" PRIu64 " is %s", v,
		          k->name, at[i] - k->addr, s->symbol ? s->symbol : "(unknown)");
		cr_expect(s->object && strcmp(s->object, path) == 0, "Python %s: %s in %s, not %s", v,
		          k->name, s->object ? s->object : "(none)", path);
		cr_expect_eq(s->start, bias + k->addr, "Python %s: %s", v, k->name);
		cr_expect_eq(s->is_eval, eval, "Python %s: %s", v, k->name);
	}
}

/* Start of the first mapping of pid whose line holds `what`, 0 if none. */
static uint64_t mapping_start(pid_t pid, const char *what)
{
	char maps[64], line[4096];
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "r");
	cr_assert(f, "cannot open %s", maps);
	unsigned long long start = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what) && sscanf(line, "%llx-", &start) == 1)
			break;
	fclose(f);
	return start;
}

/* Only the modules linked with Python are taken to update its reference
 * counts (the on-CPU engine reads no one else's DWARF): the interpreter's
 * is, libc and the vDSO are not. */
static void check_python(struct native_modules *mods, uint64_t interp, pid_t pid, const char *v)
{
	const struct native_module *m = native_modules_find(mods, interp);
	cr_assert(m, "Python %s: no module at the evaluator", v);
	cr_expect(m->python, "Python %s: %s is not taken as linked with Python", v, m->name);
	const char *others[] = { "/libc.so.6", "[vdso]" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		uint64_t start = mapping_start(pid, others[i]);
		if (!start && others[i][0] == '[')
			continue; /* booted with vdso=0 */
		cr_assert(start, "Python %s: no %s mapped", v, others[i]);
		m = native_modules_find(mods, start);
		cr_assert(m, "Python %s: no module at %s", v, others[i]);
		cr_expect(!m->python, "Python %s: %s is taken as linked with Python", v, m->name);
	}
}

/* The vDSO has no file: its symbols come from the image libdwfl reads out
 * of the target. Its clock_gettime is a weak alias of the global name the
 * kernel gives it, which wins. */
static void check_vdso(struct native_modules *mods, struct native_symbolizer *sz, pid_t pid, const char *v)
{
#if defined(__x86_64__)
	static const char global[] = "__vdso_clock_gettime";
#elif defined(__aarch64__)
	static const char global[] = "__kernel_clock_gettime";
#endif
	uint64_t start = mapping_start(pid, "[vdso]");
	if (!start)
		return; /* booted with vdso=0 */
	const struct native_module *m = native_modules_find(mods, start);
	cr_assert(m && m->elf, "Python %s: the vDSO at %#" PRIx64 " has no symbols", v, start);
	struct known k = { global, 0, 0 };
	cr_assert_eq(ftp_elf_symbol(m->elf, "clock_gettime", &k.addr, &k.size), 0, "Python %s: %s", v,
	             m->name);
	const struct native_sym *s = native_symbolize(sz, m->bias + k.addr + k.size / 2);
	cr_assert(s);
	cr_expect(s->symbol && strcmp(s->symbol, global) == 0, "Python %s: clock_gettime of the vDSO is %s",
	          v, s->symbol ? s->symbol : "(unknown)");
	cr_expect(s->object && strncmp(s->object, "[vdso", 5) == 0, "Python %s: the vDSO is %s", v,
	          s->object ? s->object : "(none)");
}

/* The inline ranges past their bound: a trim forgets the functions not used
 * since the trim before, and keeps those in use, which answer as before.
 * eval: the evaluator's run-time address; [text, text + len): the
 * interpreter's code. */
static void check_inline_trim(struct native_modules *mods, uint64_t eval, uint64_t text, uint64_t len,
                              const char *v)
{
	struct native_inlines *x = native_inlines_create(mods);
	cr_assert(x);
	struct native_inline first, again;
	cr_assert_eq(native_inline_at(x, eval, &first), 0, "Python %s: no module at the evaluator", v);
	if (!first.has_dwarf) {
		native_inlines_destroy(x); /* a stripped build: nothing is walked */
		return;
	}
	size_t eval_held = native_inlines_held(x);
	struct native_inline out;
	for (uint64_t a = text; a < text + len; a += 64)
		native_inline_at(x, a, &out);
	size_t all = native_inlines_held(x);
	cr_assert_gt(all, NATIVE_INLINES_KEEP, "Python %s: the interpreter's functions hold %zu ranges", v,
	             all);
	native_inlines_trim(x); /* every function was used */
	cr_expect_eq(native_inlines_held(x), all, "Python %s: a trim of functions all in use left %zu of %zu",
	             v, native_inlines_held(x), all);
	cr_assert_eq(native_inline_at(x, eval, &again), 0);
	native_inlines_trim(x); /* only the evaluator was */
	cr_expect_eq(native_inlines_held(x), eval_held,
	             "Python %s: a trim with the evaluator alone in use left %zu ranges, it holds %zu", v,
	             native_inlines_held(x), eval_held);
	cr_assert_eq(native_inline_at(x, eval, &again), 0);
	cr_expect(again.inlined == first.inlined && again.refcount == first.refcount,
	          "Python %s: the evaluator's address answers %s/%s after the trims, %s/%s before", v,
	          again.inlined, again.refcount, first.inlined, first.refcount);
	native_inlines_destroy(x);
}

/* The target, stopped after the test even when an assertion ends it. */
static struct test_target target = { .pid = 0, .out_fd = -1 };

static void stop_target(void)
{
	test_target_stop(&target);
}

ParameterizedTestParameters(symbolize, live_interpreter)
{
	return TEST_INTERP_PARAMS(struct version_param, versions, name);
}

ParameterizedTest(struct version_param *v, symbolize, live_interpreter, .timeout = 120, .fini = stop_target)
{
	const char *interp = test_interp_use(v->name);
	struct test_target *t = &target;
	const char *env[] = { "FTPROF_WORKERS=1", "FTPROF_DEPTH=10", NULL };
	cr_assert_eq(test_target_start(t, interp, test_source_path("tests/targets/parked.py"), env), 0,
	             "Python %s target did not start", v->name);

	/* The evaluator, exported in every version, so that sid's stripped
	 * builds (only .dynsym) have it too; and a public function. */
	struct known known[] = { { "_PyEval_EvalFrameDefault", 0, 0 }, { "PyObject_Repr", 0, 0 } };
	char path[4096];
	uint64_t bias = 0;
	struct ftp_elf *elf = find_elf(t->pid, known[0].name, path, sizeof(path), &bias);
	cr_assert(elf, "Python %s: no mapped file of pid %d defines %s", v->name, (int)t->pid, known[0].name);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		cr_assert_eq(ftp_elf_symbol(elf, known[i].name, &known[i].addr, &known[i].size), 0,
		             "Python %s: %s has no %s", v->name, path, known[i].name);
		cr_assert_gt(known[i].size, 0, "Python %s: %s", v->name, known[i].name);
		check_file(elf, &known[i], v->name);
	}

	struct native_modules *mods = NULL;
	struct ftp_error err = { 0 };
	cr_assert_eq(native_modules_create(&mods, t->pid, &err), 0, "Python %s: %s", v->name, err.msg);
	cr_assert_eq(native_modules_prime(mods, &err), 0, "Python %s: %s", v->name, err.msg);
	struct native_symbolizer *sz = native_symbolizer_create(mods);
	cr_assert(sz);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		check_live(sz, &known[i], bias, path, i == 0, v->name);
	check_vdso(mods, sz, t->pid, v->name);
	check_python(mods, bias + known[0].addr, t->pid, v->name);
	uint64_t text, text_len;
	cr_assert_eq(ftp_elf_section(elf, ".text", &text, &text_len), 0, "Python %s: %s has no .text",
	             v->name, path);
	check_inline_trim(mods, bias + known[0].addr + known[0].size / 2, bias + text, text_len, v->name);
	/* An address no module maps. */
	const struct native_sym *s = native_symbolize(sz, 8);
	cr_assert(s);
	cr_expect(!s->symbol && !s->object, "Python %s: address 8 is %s in %s", v->name, s->symbol,
	          s->object);

	/* A trim past its bound forgets the addresses, not the names lent */
	const char *lent = native_symbolize(sz, bias + known[0].addr)->symbol;
	for (uint64_t i = 0; i < 10000; i++)
		cr_assert(native_symbolize(sz, bias + known[0].addr + i), "Python %s: out of memory",
		          v->name);
	native_symbolizer_trim(sz);
	cr_expect(lent && strcmp(lent, known[0].name) == 0, "Python %s: a name lent before the trim is %s",
	          v->name, lent ? lent : "(null)");
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		check_live(sz, &known[i], bias, path, i == 0, v->name);

	native_symbolizer_destroy(sz);
	native_modules_destroy(mods);
	ftp_elf_destroy(elf);
}
