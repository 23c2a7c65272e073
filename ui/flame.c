/* SPDX-License-Identifier: MIT */
/* The flame graph's tree: frames interned by label in a string table, nodes
 * keyed by (parent, frame) on one hash index, children put in label order
 * once at the end. */
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "flame.h"
#include "ftprof/error.h"
#include "ftprof/util.h"
#include "profile.h"
#include "raw_read.h"
#include "strtab.h"
#include "writers/writers.h"

/* A distinct label: what it is, told once. */
struct fframe {
	uint32_t label, function, module; /* string ids */
	enum flame_kind kind;
};

struct fnode {
	uint32_t parent, frame;
	uint32_t first_child, next_sibling;
	unsigned depth;
	uint64_t self, total;
	uint64_t hash;
};

struct flame {
	struct flame_opts opts;
	struct strtab strs;
	struct fframe *frames; /* frames[label id - 1] */
	size_t frames_cap;
	struct fnode *nodes;
	size_t nnodes, nodes_cap;
	struct ftp_hindex node_index;
	unsigned max_depth;
	char **scratch; /* flame_add_folded's labels */
	size_t scratch_cap;
};

struct flame *flame_create(const struct flame_opts *opts)
{
	struct flame *fl = calloc(1, sizeof(*fl));
	if (!fl)
		return NULL;
	if (opts)
		fl->opts = *opts;
	if (ftp_grow((void **)&fl->nodes, &fl->nodes_cap, 1, sizeof(*fl->nodes), 256) < 0) {
		free(fl);
		return NULL;
	}
	memset(&fl->nodes[0], 0, sizeof(fl->nodes[0]));
	fl->nnodes = 1;
	return fl;
}

void flame_destroy(struct flame *fl)
{
	if (!fl)
		return;
	strtab_release(&fl->strs);
	free(fl->frames);
	free(fl->nodes);
	ftp_hindex_release(&fl->node_index);
	free(fl->scratch);
	free(fl);
}

/* Whether a label can be kept as it is: printable ASCII without a
 * backslash (an escape to check). Anything else is decoded and escaped
 * again, so that what a file holds reaches no output unescaped. */
static bool plain(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '\\')
			return false;
	return true;
}

/* The label as the folded format escapes it, malloc'd, or NULL. */
static char *normalize(const char *label)
{
	char *copy = strdup(label), *out = NULL;
	size_t len = 0;
	if (!copy)
		return NULL;
	raw_unescape(copy);
	FILE *m = open_memstream(&out, &len);
	if (m) {
		ui_put_folded(m, copy);
		if (fclose(m) != 0) {
			free(out);
			out = NULL;
		}
	}
	free(copy);
	return out;
}

/* Interns a string made by fmt-less concatenation of a and b. */
static int intern_cat(struct strtab *t, const char *a, size_t alen, const char *b, uint32_t *id)
{
	size_t blen = strlen(b);
	char *s = malloc(alen + blen + 1);
	if (!s)
		return -FTP_E_NOMEM;
	memcpy(s, a, alen);
	memcpy(s + alen, b, blen + 1);
	int ret = strtab_intern(t, s, id);
	free(s);
	return ret;
}

/* Tells what the label with id `id` is. */
static int describe(struct flame *fl, uint32_t id)
{
	const char *label = strtab_str(&fl->strs, id);
	size_t len = strlen(label);
	uint32_t function = id, module;
	enum flame_kind kind = FLAME_NATIVE;
	int ret = strtab_intern(&fl->strs, "", &module);
	char *copy = NULL, *fn, *file;
	int line;
	if (ret < 0)
		return ret;
	if (len >= 2 && label[0] == '[' && label[len - 1] == ']') {
		kind = FLAME_STATE;
	} else if (strncmp(label, "thread \"", 8) == 0) {
		kind = FLAME_THREAD;
	} else if (!(copy = strdup(label))) {
		return -FTP_E_NOMEM;
	} else if (raw_python_label(copy, &fn, &file, &line)) {
		kind = FLAME_PYTHON;
		ret = strtab_intern(&fl->strs, file, &module);
		if (ret == 0 && line >= 0) {
			/* "function (file)": the label up to its ':line', and ')' */
			size_t upto = (size_t)(strrchr(label, ':') - label);
			ret = intern_cat(&fl->strs, label, upto, ")", &function);
		}
	} else {
		/* "symbol (object)": the object is the module */
		const char *open = strstr(label, " (");
		for (const char *p = open; p; p = strstr(p + 1, " ("))
			open = p;
		if (open && label[len - 1] == ')')
			ret = intern_cat(&fl->strs, open + 2, len - (size_t)(open + 2 - label) - 1, "",
			                 &module);
	}
	free(copy);
	if (ret < 0)
		return ret;
	/* the table may have moved: strings were interned */
	fl->frames[id - 1] = (struct fframe){ id, function, module, kind };
	return 0;
}

/* Makes sure frames[] covers every string, the new entries zeroed. */
static int cover(struct flame *fl)
{
	size_t cap = fl->frames_cap;
	if (ftp_grow((void **)&fl->frames, &fl->frames_cap, fl->strs.n + 8, sizeof(*fl->frames), 256) < 0)
		return -FTP_E_NOMEM;
	memset(fl->frames + cap, 0, (fl->frames_cap - cap) * sizeof(*fl->frames));
	return 0;
}

/* The string id as a frame, described the first time. */
static int known(struct flame *fl, uint32_t id)
{
	int ret = cover(fl);
	if (ret == 0 && !fl->frames[id - 1].label)
		ret = describe(fl, id);
	return ret;
}

/* The id of label (escaped as folded writes it), interned and described
 * the first time. */
static int frame_of(struct flame *fl, const char *label, uint32_t *id)
{
	char *fixed = NULL;
	if (!plain(label) && !(label = fixed = normalize(label)))
		return -FTP_E_NOMEM;
	int ret = strtab_intern(&fl->strs, label, id);
	free(fixed);
	if (ret == 0)
		ret = known(fl, *id);
	if (ret == 0 && fl->opts.no_lines && fl->frames[*id - 1].kind == FLAME_PYTHON) {
		*id = fl->frames[*id - 1].function;
		ret = known(fl, *id);
	}
	return ret;
}

static uint64_t node_hash_of(uint32_t parent, uint32_t frame)
{
	return ftp_hash_mix(ftp_hash_mix(0x666c616d65ull, parent), frame);
}

static uint64_t node_hash(const void *ctx, size_t idx)
{
	const struct flame *fl = ctx;
	return fl->nodes[idx + 1].hash;
}

static bool node_same(const void *ctx, uint32_t idx, const void *key)
{
	const struct flame *fl = ctx;
	const struct fnode *a = &fl->nodes[idx + 1], *b = key;
	return a->parent == b->parent && a->frame == b->frame;
}

/* The child of parent for frame, made when new. The index holds nodes
 * 1..n-1 (node 0 has no key). */
static int child_of(struct flame *fl, uint32_t parent, uint32_t frame, uint32_t *out)
{
	struct fnode key = { .parent = parent, .frame = frame, .hash = node_hash_of(parent, frame) };
	if (ftp_hindex_reserve(&fl->node_index, fl->nnodes - 1, 256, node_hash, fl) < 0)
		return -FTP_E_NOMEM;
	uint32_t *slot = ftp_hindex_find(&fl->node_index, key.hash, node_same, fl, &key);
	if (*slot) {
		*out = *slot;
		return 0;
	}
	if (fl->nnodes >= UINT32_MAX ||
	    ftp_grow((void **)&fl->nodes, &fl->nodes_cap, fl->nnodes + 1, sizeof(*fl->nodes), 256) < 0)
		return -FTP_E_NOMEM;
	key.depth = fl->nodes[parent].depth + 1;
	fl->nodes[fl->nnodes] = key;
	*slot = (uint32_t)fl->nnodes; /* node i sits in slot value i (index i - 1, plus one) */
	*out = (uint32_t)fl->nnodes++;
	if (key.depth > fl->max_depth)
		fl->max_depth = key.depth;
	return 0;
}

int flame_add(struct flame *fl, char *const *labels, size_t n, uint64_t count)
{
	uint32_t node = 0;
	if (!n || !count)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t frame;
		const char *label = labels[fl->opts.reverse ? n - 1 - i : i];
		int ret = frame_of(fl, label, &frame);
		if (ret == 0)
			ret = child_of(fl, node, frame, &node);
		if (ret < 0)
			return ret;
	}
	fl->nodes[node].self += count;
	return 0;
}

int flame_add_folded(struct flame *fl, char *stack, uint64_t count)
{
	size_t n = 0;
	for (char *p = stack; p && *p;) {
		if (ftp_grow((void **)&fl->scratch, &fl->scratch_cap, n + 1, sizeof(*fl->scratch), 64) < 0)
			return -FTP_E_NOMEM;
		fl->scratch[n++] = p;
		p = strchr(p, ';');
		if (p)
			*p++ = '\0';
	}
	return flame_add(fl, fl->scratch, n, count);
}

int flame_add_profile(struct flame *fl, const struct profile *pr)
{
	size_t nframes = profile_frames(pr), depth = profile_max_depth(pr);
	char **labels = calloc(nframes + 1, sizeof(*labels));
	uint32_t *path = malloc((depth + 1) * sizeof(*path));
	char **stack = malloc((depth + 1) * sizeof(*stack));
	int ret = labels && path && stack ? 0 : -FTP_E_NOMEM;
	/* each frame's label once, as the folded writer writes it */
	for (size_t i = 0; ret == 0 && i < nframes; i++) {
		struct profile_frame fr;
		size_t len = 0;
		profile_frame(pr, (uint32_t)i, &fr);
		FILE *m = open_memstream(&labels[i], &len);
		if (!m) {
			ret = -FTP_E_NOMEM;
			break;
		}
		writer_put_folded_frame(m, &fr);
		if (fclose(m) != 0)
			ret = -FTP_E_NOMEM;
	}
	size_t nodes = profile_nodes(pr);
	for (uint32_t i = 1; ret == 0 && i < nodes; i++) {
		uint64_t count = profile_node_count(pr, i);
		if (!count)
			continue;
		size_t n = profile_node_path(pr, i, path);
		for (size_t j = 0; j < n; j++)
			stack[j] = labels[path[j]];
		ret = flame_add(fl, stack, n, count);
	}
	for (size_t i = 0; labels && i < nframes; i++)
		free(labels[i]);
	free(labels);
	free(path);
	free(stack);
	return ret;
}

static const struct flame *sorting; /* qsort has no argument: flame_finish's */

static int by_parent_label(const void *a, const void *b)
{
	const struct fnode *x = &sorting->nodes[*(const uint32_t *)a];
	const struct fnode *y = &sorting->nodes[*(const uint32_t *)b];
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return strcmp(strtab_str(&sorting->strs, x->frame), strtab_str(&sorting->strs, y->frame));
}

void flame_finish(struct flame *fl)
{
	for (size_t i = 0; i < fl->nnodes; i++) {
		fl->nodes[i].total = fl->nodes[i].self;
		fl->nodes[i].first_child = fl->nodes[i].next_sibling = 0;
	}
	/* a parent comes before its children */
	for (size_t i = fl->nnodes - 1; i > 0; i--)
		fl->nodes[fl->nodes[i].parent].total += fl->nodes[i].total;
	size_t n = fl->nnodes - 1;
	uint32_t *order = n ? malloc(n * sizeof(*order)) : NULL;
	if (!order) {
		/* no order to be had: children as they came, linked backwards */
		for (size_t i = fl->nnodes - 1; i > 0; i--) {
			struct fnode *p = &fl->nodes[fl->nodes[i].parent];
			fl->nodes[i].next_sibling = p->first_child;
			p->first_child = (uint32_t)i;
		}
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)(i + 1);
	sorting = fl;
	qsort(order, n, sizeof(*order), by_parent_label);
	sorting = NULL;
	for (size_t i = n; i-- > 0;) {
		struct fnode *p = &fl->nodes[fl->nodes[order[i]].parent];
		fl->nodes[order[i]].next_sibling = p->first_child;
		p->first_child = order[i];
	}
	free(order);
}

size_t flame_nodes(const struct flame *fl)
{
	return fl->nnodes;
}

void flame_node(const struct flame *fl, uint32_t i, struct flame_node *out)
{
	const struct fnode *n = &fl->nodes[i];
	*out = (struct flame_node){ .parent = n->parent,
		                    .first_child = n->first_child,
		                    .next_sibling = n->next_sibling,
		                    .depth = n->depth,
		                    .self = n->self,
		                    .total = n->total };
	if (i == 0) {
		out->kind = FLAME_ROOT;
		out->label = out->function = "all";
		out->module = "";
		return;
	}
	const struct fframe *fr = &fl->frames[n->frame - 1];
	out->kind = fr->kind;
	out->label = strtab_str(&fl->strs, n->frame);
	out->function = strtab_str(&fl->strs, fr->function);
	out->module = strtab_str(&fl->strs, fr->module);
}

uint64_t flame_total(const struct flame *fl)
{
	return fl->nodes[0].total;
}

unsigned flame_max_depth(const struct flame *fl)
{
	return fl->max_depth;
}

long flame_child(const struct flame *fl, uint32_t parent, const char *label)
{
	for (uint32_t c = fl->nodes[parent].first_child; c; c = fl->nodes[c].next_sibling)
		if (strcmp(strtab_str(&fl->strs, fl->nodes[c].frame), label) == 0)
			return c;
	return -1;
}

static int by_function(const void *a, const void *b)
{
	return strcmp(((const struct flame_function *)a)->function,
	              ((const struct flame_function *)b)->function);
}

long flame_functions(const struct flame *fl, struct flame_function **out)
{
	/* per string id: the function's sums, and how often it is on the
	 * path being walked (a recursive call counts its outermost only) */
	size_t nstr = fl->strs.n + 1;
	uint64_t *total = calloc(nstr, sizeof(*total)), *self = calloc(nstr, sizeof(*self));
	uint32_t *onpath = calloc(nstr, sizeof(*onpath));
	long ret = total && self && onpath ? 0 : -FTP_E_NOMEM;
	/* depth-first over the children lists, without recursion */
	uint32_t node = ret == 0 ? fl->nodes[0].first_child : 0;
	while (node) {
		const struct fnode *n = &fl->nodes[node];
		uint32_t fn = fl->frames[n->frame - 1].function;
		if (!onpath[fn]++)
			total[fn] += n->total;
		self[fn] += n->self;
		if (n->first_child) {
			node = n->first_child;
			continue;
		}
		/* leave nodes until one has a next sibling */
		while (node) {
			const struct fnode *m = &fl->nodes[node];
			onpath[fl->frames[m->frame - 1].function]--;
			if (m->next_sibling) {
				node = m->next_sibling;
				break;
			}
			node = m->parent;
		}
	}
	size_t count = 0;
	for (size_t i = 1; ret == 0 && i < nstr; i++)
		count += total[i] || self[i];
	struct flame_function *fns = ret == 0 ? calloc(count + 1, sizeof(*fns)) : NULL;
	if (!fns)
		ret = -FTP_E_NOMEM;
	for (size_t i = 1, k = 0; ret == 0 && i < nstr; i++)
		if (total[i] || self[i])
			fns[k++] = (struct flame_function){ strtab_str(&fl->strs, (uint32_t)i), total[i],
				                            self[i] };
	if (ret == 0) {
		qsort(fns, count, sizeof(*fns), by_function);
		*out = fns;
		ret = (long)count;
	}
	free(total);
	free(self);
	free(onpath);
	return ret;
}
