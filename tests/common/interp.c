/* SPDX-License-Identifier: MIT */
/* Reads `scripts/interpreters list` once and answers path queries. */
#include <criterion/criterion.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp.h"

const char *const test_interp_names[] = { "3.8",  "3.9",   "3.10", "3.11", "3.12",
	                                  "3.13", "3.13t", "3.14", "3.15", NULL };

#define MAX_INTERP 32

static struct {
	char name[16];
	char path[PATH_MAX];
} table[MAX_INTERP];
static int ntable = -1;

static void load(void)
{
	ntable = 0;
	FILE *f = popen(FTPROF_SOURCE_DIR "/scripts/interpreters list 2>/dev/null", "r");
	if (!f)
		return;
	char line[PATH_MAX + 64];
	while (ntable < MAX_INTERP && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		char *end = strchr(tab + 1, '\t');
		if (end)
			*end = '\0';
		if (strlen(line) >= sizeof(table[ntable].name) ||
		    strlen(tab + 1) >= sizeof(table[ntable].path))
			continue;
		memcpy(table[ntable].name, line, strlen(line) + 1);
		memcpy(table[ntable].path, tab + 1, strlen(tab + 1) + 1);
		ntable++;
	}
	pclose(f);
}

const char *test_interp_path(const char *name)
{
	if (ntable < 0)
		load();
	for (int i = 0; i < ntable; i++)
		if (strcmp(table[i].name, name) == 0 && access(table[i].path, X_OK) == 0)
			return table[i].path;
	return NULL;
}

const char *test_interp_libpython(const char *name)
{
	static char buf[PATH_MAX];
	const char *exe = test_interp_path(name);
	if (!exe)
		return NULL;
	char pattern[PATH_MAX];
	snprintf(pattern, sizeof(pattern), "%s", exe);
	char *slash = strrchr(pattern, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	size_t used = strlen(pattern);
	snprintf(pattern + used, sizeof(pattern) - used, "/../lib/libpython%s.so.1.0", name);
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return NULL;
	char *real = realpath(g.gl_pathv[0], buf);
	globfree(&g);
	return real;
}

/* FTPROF_TEST_INTERP: the interpreter this run is for, "none", or NULL. */
static const char *this_run(void)
{
	const char *name = getenv("FTPROF_TEST_INTERP");
	return name && *name ? name : NULL;
}

bool test_interp_wanted(const char *name)
{
	const char *run = this_run();
	return !run || strcmp(run, name) == 0;
}

void test_interp_for(const char *name)
{
	if (!test_interp_wanted(name))
		cr_skip_test("belongs with Python %s: runs in ctest's test for it (this one is for %s)", name,
		             this_run());
}

const char *test_interp_use(const char *name)
{
	test_interp_for(name);
	const char *path = test_interp_path(name);
	if (!path)
		cr_skip_test("Python %s is not provisioned here (scripts/interpreters install %s)", name,
		             name);
	return path;
}

void test_interp_none(void)
{
	const char *run = this_run();
	if (run && strcmp(run, "none") != 0)
		cr_skip_test("needs no interpreter: runs in ctest's test without one (this one is for %s)",
		             run);
}

const char *test_interp_any(const char **name)
{
	const char *newest = NULL;
	for (size_t i = 0; test_interp_names[i]; i++)
		if (test_interp_path(test_interp_names[i]))
			newest = test_interp_names[i];
	if (!newest)
		cr_skip_test("no Python is provisioned here (scripts/interpreters list)");
	*name = newest;
	return test_interp_use(newest);
}

size_t test_interp_params(void *params, size_t n, size_t size, size_t name_offset)
{
	unsigned char *p = params;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (!test_interp_wanted((const char *)(p + i * size + name_offset)))
			continue;
		for (size_t b = 0; kept != i && b < size; b++) { /* swap entries kept and i */
			unsigned char c = p[kept * size + b];
			p[kept * size + b] = p[i * size + b];
			p[i * size + b] = c;
		}
		kept++;
	}
	return kept;
}
