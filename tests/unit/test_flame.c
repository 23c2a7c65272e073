/* SPDX-License-Identifier: MIT */
/* ui/flame.c's tree from folded stacks (totals, order, reverse, lines
 * merged, functions counted once under recursion, hostile labels escaped
 * again), and the SVG writer's escaping. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"
#include "writers/svg.h"

static struct flame *from_lines(const struct flame_opts *opts, const char *const *lines)
{
	struct flame *fl = flame_create(opts);
	cr_assert_not_null(fl);
	for (; *lines; lines++) {
		char *copy = strdup(*lines), *space = strrchr(copy, ' ');
		*space = '\0';
		cr_assert_eq(flame_add_folded(fl, copy, strtoull(space + 1, NULL, 10)), 0);
		free(copy);
	}
	flame_finish(fl);
	return fl;
}

static const char *const fixture[] = {
	"main (a.py:1);run (a.py:10);spin (b.py:3) 6",
	"main (a.py:1);run (a.py:11);spin (b.py:3) 2",
	"main (a.py:1);fib (a.py:20);fib (a.py:21);fib (a.py:21) 4",
	"main (a.py:1);PyMutex_Lock (libpython3.13t.so.1.0);[lock] 3",
	"main (a.py:1) 1",
	NULL,
};

/* The child of parent labelled label, as a node. */
static struct flame_node child(const struct flame *fl, uint32_t parent, const char *label)
{
	long i = flame_child(fl, parent, label);
	cr_assert_geq(i, 0, "no child '%s'", label);
	struct flame_node n;
	flame_node(fl, (uint32_t)i, &n);
	return n;
}

Test(flame, totals_and_order)
{
	struct flame *fl = from_lines(NULL, fixture);
	cr_expect_eq(flame_total(fl), 16);
	cr_expect_eq(flame_max_depth(fl), 4);
	struct flame_node main = child(fl, 0, "main (a.py:1)");
	cr_expect_eq(main.total, 16);
	cr_expect_eq(main.self, 1);
	cr_expect_eq(main.kind, FLAME_PYTHON);
	cr_expect_str_eq(main.module, "a.py");
	/* children in label order */
	struct flame_node n;
	const char *want[] = { "PyMutex_Lock (libpython3.13t.so.1.0)", "fib (a.py:20)", "run (a.py:10)",
		               "run (a.py:11)" };
	size_t k = 0;
	for (uint32_t c = main.first_child; c; c = n.next_sibling, k++) {
		flame_node(fl, c, &n);
		cr_assert_lt(k, 4);
		cr_expect_str_eq(n.label, want[k]);
		cr_expect_eq(n.depth, 2);
	}
	cr_expect_eq(k, 4);
	struct flame_node lock = child(fl, (uint32_t)flame_child(fl, 0, "main (a.py:1)"),
	                               "PyMutex_Lock (libpython3.13t.so.1.0)");
	cr_expect_eq(lock.kind, FLAME_NATIVE);
	cr_expect_str_eq(lock.module, "libpython3.13t.so.1.0");
	flame_node(fl, lock.first_child, &n);
	cr_expect_eq(n.kind, FLAME_STATE);
	cr_expect_eq(n.total, 3);
	flame_destroy(fl);
}

Test(flame, no_lines_and_functions)
{
	struct flame *fl = from_lines(&(struct flame_opts){ .no_lines = true }, fixture);
	long main = flame_child(fl, 0, "main (a.py)");
	cr_assert_geq(main, 0);
	struct flame_node run = child(fl, (uint32_t)main, "run (a.py)");
	cr_expect_eq(run.total, 8, "the lines of run merged");
	struct flame_function *fns;
	long n = flame_functions(fl, &fns);
	cr_assert_eq(n, 6);
	for (long i = 0; i < n; i++) {
		if (strcmp(fns[i].function, "fib (a.py)") == 0) {
			cr_expect_eq(fns[i].total, 4, "recursion counted once: %llu",
			             (unsigned long long)fns[i].total);
			cr_expect_eq(fns[i].self, 4);
		}
		if (strcmp(fns[i].function, "main (a.py)") == 0)
			cr_expect_eq(fns[i].total, 16);
		if (i)
			cr_expect_lt(strcmp(fns[i - 1].function, fns[i].function), 0, "in name order");
	}
	free(fns);
	flame_destroy(fl);
}

Test(flame, reverse)
{
	struct flame *fl = from_lines(&(struct flame_opts){ .reverse = true }, fixture);
	struct flame_node spin = child(fl, 0, "spin (b.py:3)");
	cr_expect_eq(spin.total, 8);
	long s = flame_child(fl, 0, "spin (b.py:3)");
	cr_expect_eq(child(fl, (uint32_t)s, "run (a.py:10)").total, 6);
	cr_expect_eq(child(fl, 0, "[lock]").kind, FLAME_STATE);
	cr_expect_eq(child(fl, 0, "main (a.py:1)").total, 1);
	flame_destroy(fl);
}

Test(flame, hostile_labels)
{
	/* raw control bytes, an escaped NUL, invalid UTF-8 and XML's own
	 * characters, as a hand-made file could hold them */
	const char *const lines[] = { "\x1b[2J<b>&\"x\" (a.py:1);ok\\x00 (\xff.py:2) 5", NULL };
	struct flame *fl = from_lines(NULL, lines);
	struct flame_node n;
	flame_node(fl, 1, &n);
	cr_expect_str_eq(n.label, "\\x1b[2J<b>&\"x\" (a.py:1)");
	flame_node(fl, 2, &n);
	cr_expect_str_eq(n.label, "ok\\\\x00 (\\xff.py:2)");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct svg_info info = { .title = "t <\x01>", .subtitle = "s" };
	cr_assert_eq(svg_write_flame(f, fl, &info), 0);
	fclose(f);
	cr_expect(strstr(text, "\\x1b[2J&lt;b&gt;&amp;&quot;x&quot; (a.py:1)"), "label not escaped for XML");
	cr_expect(strstr(text, ">t &lt;\\x01&gt;</text>"), "title not escaped");
	for (size_t i = 0; i < len; i++)
		cr_assert(text[i] == '\n' || ((unsigned char)text[i] >= 0x20 && text[i] != 0x7f),
		          "byte 0x%02x at %zu", (unsigned char)text[i], i);
	free(text);
	flame_destroy(fl);
}

Test(flame, empty_svg)
{
	struct flame *fl = flame_create(NULL);
	flame_finish(fl);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct svg_info info = { .title = "", .subtitle = "" };
	cr_assert_eq(svg_write_flame(f, fl, &info), 0);
	fclose(f);
	cr_expect(strstr(text, "</svg>\n"));
	free(text);
	flame_destroy(fl);
}
