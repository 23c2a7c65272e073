/* SPDX-License-Identifier: MIT */
/* Checks the profile's folded output against stacks counted here, over
 * threads whose stacks grow, unwind and move at the top as a sampler sees
 * them: each thread's next stack shares most of its outer frames with its
 * last one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftprof/sample.h"
#include "profile.h"
#include "writers/writers.h"

#define NCODES 6
#define NTHREADS 3
#define MAX_DEPTH 300
#define NSAMPLES 4000

static struct ftp_code codes[NCODES];
static char names[NCODES][8];

static void make_codes(void)
{
	for (int i = 0; i < NCODES; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		codes[i] = (struct ftp_code){ .addr = 0x1000u + 0x100u * (unsigned)i,
			                      .name = names[i],
			                      .qualname = names[i],
			                      .filename = "t.py",
			                      .firstlineno = 1 };
	}
}

/* A thread's stack, innermost first as the probe gives it. */
struct thread {
	struct ftp_frame frames[MAX_DEPTH];
	unsigned n;
	char name[16];
	pid_t tid;
};

/* The folded line of a stack, written here without the profile. */
static char *expected_line(const struct thread *t, bool thread_root)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	cr_assert_not_null(f);
	if (thread_root)
		fprintf(f, "thread \"%s\" (%d)", t->name, (int)t->tid);
	for (unsigned i = t->n; i-- > 0;)
		fprintf(f, "%s%s (t.py:%d)", thread_root || i != t->n - 1 ? ";" : "", t->frames[i].code->name,
		        t->frames[i].line);
	fclose(f);
	return line;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "STACK COUNT" lines, one per distinct stack, sorted. */
static size_t count_lines(char **v, size_t n, char ***out)
{
	qsort(v, n, sizeof(*v), by_str);
	char **lines = calloc(n + 1, sizeof(*lines));
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(v[j], v[i]) == 0)
			j++;
		cr_assert_neq(asprintf(&lines[k++], "%s %zu", v[i], j - i), -1);
		i = j;
	}
	*out = lines;
	return k;
}

static size_t split_lines(char *text, char ***out)
{
	size_t n = 0, cap = 64;
	char **v = malloc(cap * sizeof(*v));
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = line;
	}
	qsort(v, n, sizeof(*v), by_str);
	*out = v;
	return n;
}

/* The next stack: unwind a few frames, push a few, or move the top line;
 * now and then a rename, or the same stack again. */
static void step(struct thread *t, unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed) % 100;
	if (r < 10)
		return;
	if (r < 13) {
		snprintf(t->name, sizeof(t->name), "w%u", (unsigned)rand_r(seed) % 4);
		return;
	}
	/* frames[0] is the innermost */
	unsigned pop = (unsigned)rand_r(seed) % 4, push = (unsigned)rand_r(seed) % 4;
	if (r < 20)
		pop = t->n; /* back to the bottom */
	pop = pop < t->n ? pop : t->n;
	memmove(t->frames, t->frames + pop, (t->n - pop) * sizeof(t->frames[0]));
	t->n -= pop;
	if (t->n + push > MAX_DEPTH)
		push = MAX_DEPTH - t->n;
	memmove(t->frames + push, t->frames, t->n * sizeof(t->frames[0]));
	for (unsigned i = 0; i < push; i++)
		t->frames[i] = (struct ftp_frame){ .code = &codes[rand_r(seed) % NCODES],
			                           .line = 1 + rand_r(seed) % 3 };
	t->n += push;
	if (t->n && r % 2)
		t->frames[0].line = 1 + rand_r(seed) % 3;
	if (r > 97 && t->n < MAX_DEPTH - 200)
		for (unsigned i = 0; i < 200; i++) /* a deep dive */
			t->frames[t->n++] = (struct ftp_frame){ .code = &codes[i % NCODES], .line = 2 };
}

static void check_folded(bool thread_root)
{
	make_codes();
	struct profile_opts opts = { .thread_root = thread_root };
	struct profile *pr = profile_create(&opts);
	cr_assert_not_null(pr);
	static struct thread threads[NTHREADS];
	for (int i = 0; i < NTHREADS; i++) {
		threads[i] = (struct thread){ .tid = 100 + i };
		snprintf(threads[i].name, sizeof(threads[i].name), "w%d", i);
	}
	char **want = malloc(NSAMPLES * NTHREADS * sizeof(*want));
	size_t nwant = 0;
	unsigned seed = 7;
	for (int round = 0; round < NSAMPLES; round++) {
		for (int i = 0; i < NTHREADS; i++) {
			struct thread *t = &threads[i];
			step(t, &seed);
			if (!t->n)
				continue;
			struct ftp_sample s = { .tid = t->tid,
				                .name = t->name,
				                .frames = t->frames,
				                .nframes = t->n,
				                .state = FTP_STATE_RUNNING };
			cr_assert_eq(profile_add(pr, &s, 0.001), 0);
			want[nwant++] = expected_line(t, thread_root);
		}
		if (round % 50 == 49)
			profile_end_round(pr);
	}
	char **want_lines;
	size_t nw = count_lines(want, nwant, &want_lines);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(folded_write(pr, f), 0);
	fclose(f);
	char **got;
	size_t ng = split_lines(text, &got);
	cr_expect_eq(ng, nw, "%zu distinct stacks written, %zu sampled", ng, nw);
	size_t bad = 0;
	for (size_t i = 0; i < ng && i < nw && bad < 3; i++)
		if (strcmp(got[i], want_lines[i]) != 0) {
			cr_log_error("line %zu:\n  got  %.200s\n  want %.200s", i, got[i], want_lines[i]);
			bad++;
		}
	cr_expect_eq(bad, 0, "the folded output differs from the stacks sampled");

	for (size_t i = 0; i < nwant; i++)
		free(want[i]);
	for (size_t i = 0; i < nw; i++)
		free(want_lines[i]);
	free(want);
	free(want_lines);
	free(got);
	free(text);
	profile_destroy(pr);
}

Test(profile, folded_matches_samples)
{
	check_folded(false);
}

Test(profile, folded_matches_samples_with_threads)
{
	check_folded(true);
}
