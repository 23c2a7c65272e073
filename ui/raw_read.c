/* SPDX-License-Identifier: MIT */
/* Reads raw formats 2 to 4 back: the header, then each line split on tabs
 * into its columns (format 3 adds the CPU, tick lines after each sample and
 * the machine's CPU times; 4 the ticks' object names and libraries), strings
 * unescaped, and the innermost Python frame taken
 * from the folded stack. The file is as hostile as the target it came from:
 * every column is checked, and a bad one stops the read with its line. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ftprof/error.h"
#include "ftprof/util.h"
#include "raw_read.h"

enum {
	COL_ROUND,
	COL_TIME,
	COL_TID,
	COL_STATE,
	COL_ONCPU,
	COL_GIL,
	COL_WAIT,
	COL_ADDR,
	COL_TYPE,
	COL_HOLDER,
	COL_HOW,
	COL_THREAD,
	COL_STACK,
	NCOLS
};

/* Fills err with "PATH:LINE: what" and returns -FTP_E_CORRUPT. */
static int fail(struct ftp_error *err, const char *path, unsigned long line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(struct ftp_error *err, const char *path, unsigned long line, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return ftp_error_set(err, FTP_E_CORRUPT, 0, "%s:%lu: %s", path, line, what);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Writes code point cp as UTF-8 at out; returns its length (0 when cp is not
 * one). */
static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

void raw_unescape(char *s)
{
	char *out = s;
	while (*s) {
		if (s[0] == '\\' && s[1] == '\\') {
			*out++ = '\\';
			s += 2;
			continue;
		}
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			int v = hexval(s[2]) * 16 + hexval(s[3]);
			if (v) {
				*out++ = (char)v;
				s += 4;
				continue;
			}
		}
		if (s[0] == '\\' && s[1] == 'u' && s[2] == '{') {
			unsigned long cp = 0;
			int i = 3;
			while (i < 9 && hexval(s[i]) >= 0)
				cp = cp * 16 + (unsigned long)hexval(s[i++]);
			/* the code point takes no more room than its escape */
			if (i > 3 && s[i] == '}') {
				size_t n = put_utf8(out, cp);
				if (n) {
					out += n;
					s += i + 1;
					continue;
				}
			}
		}
		*out++ = *s++;
	}
	*out = '\0';
}

/* "# ftprof raw 2: pid 4242, Python 3.13.15 free-threaded, 100 Hz asked, 2 cores" */
static int read_header(const char *text, const char *path, struct raw_header *hdr, struct ftp_error *err)
{
	int format, n = 0;
	if (sscanf(text, "# ftprof raw %d:%n", &format, &n) != 1 || n == 0)
		return fail(err, path, 1, "not an ftprof raw recording (no '# ftprof raw N:' header)");
	hdr->format = format;
	if (format < 2 || format > 4)
		return fail(
		        err, path, 1,
		        "raw format %d; ftprof reads raw formats 2 to 4 (record it again with this ftprof)",
		        format);
	const char *p = text + n;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char part[128];
		if (len >= sizeof(part))
			len = sizeof(part) - 1;
		memcpy(part, p, len);
		part[len] = '\0';
		int pid, end_n = 0;
		double rate;
		long cores;
		char version[64];
		if (sscanf(part, "pid %d%n", &pid, &end_n) == 1 && end_n) {
			hdr->pid = pid;
		} else if (sscanf(part, "Python %63s", version) == 1) {
			snprintf(hdr->python, sizeof(hdr->python), "%s", version);
			hdr->free_threaded = strstr(part, " free-threaded") != NULL;
		} else if (sscanf(part, "%lf Hz%n", &rate, &end_n) == 1 && end_n) {
			hdr->rate = rate > 0 ? rate : 0;
		} else if (sscanf(part, "%ld core%n", &cores, &end_n) == 1 && end_n) {
			hdr->cores = cores > 0 ? cores : 0;
		} else if (sscanf(part, "tick %ld ns%n", &cores, &end_n) == 1 && end_n) {
			hdr->tick_ns = cores > 0 ? (uint64_t)cores : 0;
		}
		p += len;
		if (end && p < end)
			p = end;
	}
	return 0;
}

static bool parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (*end || errno)
		return false;
	*out = v;
	return true;
}

static bool parse_tid(const char *s, pid_t *out)
{
	uint64_t v;
	if (!parse_u64(s, 10, &v) || v > 0x3fffffff)
		return false;
	*out = (pid_t)v;
	return true;
}

/* "1", "0", "-" as 1, 0, -1. */
static bool parse_tri(const char *s, int *out)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "0") == 0 || strcmp(s, "-") == 0) {
		*out = s[0] == '-' ? -1 : s[0] - '0';
		return true;
	}
	return false;
}

static bool parse_state(const char *s, enum ftp_state *out)
{
	for (int i = 0; i < FTP_STATE_COUNT; i++)
		if (strcmp(s, ftp_state_name((enum ftp_state)i)) == 0) {
			*out = (enum ftp_state)i;
			return true;
		}
	return false;
}

static bool parse_kind(const char *s, enum ftp_wait_kind *out)
{
	if (strcmp(s, "-") == 0) {
		*out = FTP_WAIT_NONE;
		return true;
	}
	for (int i = 1; i < FTP_WAIT_COUNT; i++)
		if (strcmp(s, ftp_wait_kind_name((enum ftp_wait_kind)i)) == 0) {
			*out = (enum ftp_wait_kind)i;
			return true;
		}
	return false;
}

static bool parse_how(const char *s, enum ftp_holder_how *out)
{
	if (strcmp(s, "-") == 0) {
		*out = FTP_HOLDER_NONE;
		return true;
	}
	for (int i = 1; i < FTP_HOLDER_COUNT; i++)
		if (strcmp(s, ftp_holder_how_name((enum ftp_holder_how)i)) == 0) {
			*out = (enum ftp_holder_how)i;
			return true;
		}
	return false;
}

/* Native frames are "symbol (object)" or "0xADDR"; a thread's root is
 * `thread "NAME" (TID)`; a state leaf is "[lock]". A Python frame without a
 * line is told from a native one by its file: "*.py*" or "<...>". */
bool raw_python_label(char *l, char **function, char **file, int *line)
{
	size_t len = strlen(l);
	if (len < 4 || l[len - 1] != ')' || strncmp(l, "thread \"", 8) == 0)
		return false;
	char *open = NULL;
	for (char *p = strstr(l, " ("); p; p = strstr(p + 1, " ("))
		open = p;
	if (!open)
		return false;
	l[len - 1] = '\0';
	char *f = open + 2;
	char *colon = strrchr(f, ':');
	int ln = -1;
	if (colon && colon[1]) {
		uint64_t v;
		if (parse_u64(colon + 1, 10, &v) && v <= 0x7fffffff) {
			ln = (int)v;
			*colon = '\0';
		}
	}
	if (ln < 0 && !strstr(f, ".py") && f[0] != '<') {
		l[len - 1] = ')';
		return false;
	}
	*open = '\0';
	*function = l;
	*file = f;
	*line = ln;
	return true;
}

/* The innermost Python frame of stack (outermost first, ';'-separated),
 * into s; the stack is cut in place. */
static void innermost(char *stack, struct analysis_sample *s)
{
	char *end = stack + strlen(stack);
	while (end > stack || (end == stack && *stack)) {
		char *start = end;
		while (start > stack && start[-1] != ';')
			start--;
		*end = '\0';
		char *function, *file;
		int line;
		if (raw_python_label(start, &function, &file, &line)) {
			raw_unescape(function);
			raw_unescape(file);
			s->function = function;
			s->file = file;
			s->line = line;
			return;
		}
		if (start == stack)
			return;
		end = start - 1;
	}
}

/* Parses one sample line into s. With stack, the stack column is left whole
 * (still escaped) in *stack and s's innermost frame is not filled. */
static int read_line(char *text, const char *path, int format, unsigned long lineno,
                     struct analysis_sample *s, char **stack, struct ftp_error *err)
{
	char *col[NCOLS + 1];
	int n = 0, want = format >= 3 ? NCOLS + 1 : NCOLS;
	for (char *p = text;; p++) {
		col[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		if (n == want)
			return fail(err, path, lineno, "more than %d tab-separated columns", want);
		*p = '\0';
	}
	if (n != want)
		return fail(err, path, lineno, "%d tab-separated columns, %d expected", n, want);
	memset(s, 0, sizeof(*s));
	s->line = -1;
	s->cpu = -1;
	if (format >= 3) { /* the cpu column, after oncpu */
		uint64_t cpu;
		if (strcmp(col[COL_ONCPU + 1], "-") != 0) {
			if (!parse_u64(col[COL_ONCPU + 1], 10, &cpu) || cpu > 65535)
				return fail(err, path, lineno, "bad cpu column");
			s->cpu = (int)cpu;
		}
		memmove(&col[COL_ONCPU + 1], &col[COL_ONCPU + 2], (NCOLS - COL_ONCPU - 1) * sizeof(col[0]));
	}
	static const char *const names[NCOLS] = { "round",      "time_ns", "tid",       "state",     "oncpu",
		                                  "gil",        "wait",    "wait_addr", "wait_type", "holder",
		                                  "holder_how", "thread",  "stack" };
	int bad = -1;
	if (!parse_u64(col[COL_ROUND], 10, &s->round))
		bad = COL_ROUND;
	else if (!parse_u64(col[COL_TIME], 10, &s->time_ns))
		bad = COL_TIME;
	else if (!parse_tid(col[COL_TID], &s->tid))
		bad = COL_TID;
	else if (!parse_state(col[COL_STATE], &s->state))
		bad = COL_STATE;
	else if (!parse_tri(col[COL_ONCPU], &s->on_cpu))
		bad = COL_ONCPU;
	else if (!parse_tri(col[COL_GIL], &s->gil))
		bad = COL_GIL;
	else if (!parse_kind(col[COL_WAIT], &s->wait_kind))
		bad = COL_WAIT;
	else if (strcmp(col[COL_ADDR], "-") != 0 && (strncmp(col[COL_ADDR], "0x", 2) != 0 ||
	                                             !parse_u64(col[COL_ADDR] + 2, 16, &s->wait_address)))
		bad = COL_ADDR;
	else if (strcmp(col[COL_HOLDER], "-") != 0 && !parse_tid(col[COL_HOLDER], &s->holder))
		bad = COL_HOLDER;
	else if (!parse_how(col[COL_HOW], &s->holder_how))
		bad = COL_HOW;
	if (bad >= 0) {
		char shown[40];
		/* the column is shown as far as it is plain ASCII; the rest as '?' */
		size_t i = 0;
		for (; col[bad][i] && i < sizeof(shown) - 1; i++)
			shown[i] = col[bad][i] >= 0x20 && col[bad][i] < 0x7f ? col[bad][i] : '?';
		shown[i] = '\0';
		return fail(err, path, lineno, "bad %s column '%s%s'", names[bad], shown,
		            col[bad][i] ? "..." : "");
	}
	if (strcmp(col[COL_TYPE], "-") != 0) {
		raw_unescape(col[COL_TYPE]);
		s->wait_type = col[COL_TYPE];
	}
	raw_unescape(col[COL_THREAD]);
	s->thread = col[COL_THREAD];
	if (stack)
		*stack = col[COL_STACK];
	else
		innermost(col[COL_STACK], s);
	return 0;
}

void raw_header_release(struct raw_header *hdr)
{
	free(hdr->cpus_first);
	free(hdr->cpus_last);
	hdr->cpus_first = hdr->cpus_last = NULL;
	hdr->ncpus_first = hdr->ncpus_last = 0;
}

/* The sample line read last, kept until its tick lines have been read. */
struct pending {
	char *text; /* a copy of the line; NULL: none */
	size_t cap;
	unsigned long lineno;
	struct ftp_tick *ticks;
	size_t nticks, ticks_cap;
	/* each tick's strings, copied: TICK_STRS a tick, NULL where "-" */
	char **strs;
};

/* A tick's strings in struct pending. */
enum { TS_SYMBOL, TS_TYPE, TS_NAME, TS_LIBRARY, TICK_STRS };

static void pending_clear(struct pending *pd)
{
	for (size_t i = 0; i < pd->nticks; i++) {
		for (int k = 0; k < TICK_STRS; k++)
			free(pd->strs[i * TICK_STRS + k]);
	}
	pd->nticks = 0;
	if (pd->text)
		pd->text[0] = '\0';
}

static void pending_release(struct pending *pd)
{
	pending_clear(pd);
	free(pd->text);
	free(pd->ticks);
	free(pd->strs);
}

static bool parse_cpu_kind(const char *s, enum ftp_cpu_kind *out)
{
	for (int i = 0; i < FTP_CPU_KIND_COUNT; i++)
		if (strcmp(s, ftp_cpu_kind_name((enum ftp_cpu_kind)i)) == 0) {
			*out = (enum ftp_cpu_kind)i;
			return true;
		}
	return false;
}

/* A "-" column as NULL, else a copy of its text unescaped; false when out
 * of memory. */
static bool dup_column(char *col, char **out)
{
	*out = NULL;
	if (strcmp(col, "-") == 0)
		return true;
	raw_unescape(col);
	return (*out = strdup(col)) != NULL;
}

/* "@ time tid cpu kind mode symbol inlined object object_type" and, from
 * format 4 on, "object_name library" */
static int read_tick(char *text, const char *path, int format, unsigned long lineno, struct pending *pd,
                     struct ftp_error *err)
{
	char *col[12];
	int n = 0, want = format >= 4 ? 12 : 10;
	for (char *p = text;; p++) {
		col[n++] = p;
		p = strchr(p, '\t');
		if (!p || n == want)
			break;
		*p = '\0';
	}
	struct ftp_tick k = { 0 };
	uint64_t cpu;
	if (n != want || !parse_u64(col[1], 10, &k.time_ns) || !parse_u64(col[3], 10, &cpu) || cpu > 65535 ||
	    !parse_cpu_kind(col[4], &k.kind) || (strcmp(col[5], "k") != 0 && strcmp(col[5], "u") != 0) ||
	    (strcmp(col[8], "-") != 0 &&
	     (strncmp(col[8], "0x", 2) != 0 || !parse_u64(col[8] + 2, 16, &k.object_addr))))
		return fail(err, path, lineno, "a malformed tick line");
	if (!pd->text || !pd->text[0])
		return fail(err, path, lineno, "a tick line before any sample line");
	k.cpu = (int)cpu;
	k.in_kernel = col[5][0] == 'k';
	if (ftp_grow((void **)&pd->ticks, &pd->ticks_cap, pd->nticks + 1, sizeof(*pd->ticks), 16) < 0)
		return ftp_error_set(err, FTP_E_NOMEM, 0, "%s:%lu", path, lineno);
	char **strs = realloc(pd->strs, pd->ticks_cap * TICK_STRS * sizeof(*strs));
	if (!strs)
		return ftp_error_set(err, FTP_E_NOMEM, 0, "%s:%lu", path, lineno);
	pd->strs = strs;
	char **mine = pd->strs + pd->nticks * TICK_STRS;
	int from[TICK_STRS] = { [TS_SYMBOL] = 6, [TS_TYPE] = 9, [TS_NAME] = 10, [TS_LIBRARY] = 11 };
	for (int i = 0; i < TICK_STRS; i++) {
		if (from[i] >= want) {
			mine[i] = NULL;
		} else if (!dup_column(col[from[i]], &mine[i])) {
			for (int j = 0; j < i; j++)
				free(mine[j]);
			return ftp_error_set(err, FTP_E_NOMEM, 0, "%s:%lu", path, lineno);
		}
	}
	k.symbol = mine[TS_SYMBOL];
	k.object_type = mine[TS_TYPE];
	k.object_name = mine[TS_NAME];
	k.object = mine[TS_LIBRARY];
	pd->ticks[pd->nticks++] = k;
	return 0;
}

/* "% time busy/total ..." into the header's first or last CPU times. */
static int read_cpustat(char *text, const char *path, unsigned long lineno, struct raw_header *hdr,
                        struct ftp_error *err)
{
	size_t n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\t';
	if (n < 2 || n > 65536)
		return fail(err, path, lineno, "a malformed CPU times line");
	struct ftp_cpu_time *v = calloc(n - 1, sizeof(*v));
	if (!v)
		return ftp_error_set(err, FTP_E_NOMEM, 0, "%s:%lu", path, lineno);
	char *p = strchr(text, '\t') + 1;
	p = strchr(p, '\t'); /* past the time */
	for (size_t i = 0; i + 1 < n && p; i++) {
		unsigned long long busy, total;
		int used = 0;
		if (sscanf(p + 1, "%llu/%llu%n", &busy, &total, &used) != 2 || busy > total) {
			free(v);
			return fail(err, path, lineno, "a malformed CPU times line");
		}
		v[i] = (struct ftp_cpu_time){ busy, total };
		p = strchr(p + 1, '\t');
	}
	if (!hdr->cpus_first) {
		hdr->cpus_first = v;
		hdr->ncpus_first = (unsigned)(n - 1);
	} else {
		free(hdr->cpus_last);
		hdr->cpus_last = v;
		hdr->ncpus_last = (unsigned)(n - 1);
	}
	return 0;
}

/* Hands the pending sample, with its ticks, to the callback. */
static int flush(struct pending *pd, const char *path, struct raw_header *hdr, raw_sample_fn *fn,
                 raw_stack_fn *stack_fn, void *arg, struct ftp_error *err)
{
	if (!pd->text || !pd->text[0])
		return 0;
	struct analysis_sample s;
	char *stack = NULL;
	int ret = read_line(pd->text, path, hdr->format, pd->lineno, &s, stack_fn ? &stack : NULL, err);
	s.nticks = (unsigned)pd->nticks;
	s.ticks = pd->ticks;
	if (ret == 0 && (ret = stack_fn ? stack_fn(&s, stack, arg) : fn(&s, arg)) < 0)
		ftp_error_set(err, -ret, 0, "%s:%lu: %s", path, pd->lineno, ftp_strerror(ret));
	pending_clear(pd);
	return ret;
}

static int read_all(FILE *f, const char *path, struct raw_header *hdr, raw_sample_fn *fn,
                    raw_stack_fn *stack_fn, void *arg, struct ftp_error *err)
{
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int ret = 0;
	struct pending pd = { 0 };
	memset(hdr, 0, sizeof(*hdr));
	while (ret == 0 && (len = getline(&text, &cap, f)) >= 0) {
		lineno++;
		if (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		if ((size_t)len != strlen(text)) {
			ret = fail(err, path, lineno,
			           lineno == 1 ? "not an ftprof raw recording (binary data)"
			                       : "a NUL byte in the line");
			break;
		}
		if (lineno == 1) {
			ret = read_header(text, path, hdr, err);
		} else if (lineno == 2) {
			if (strncmp(text, "# round\t", 8) != 0)
				ret = fail(err, path, lineno,
				           "not a raw recording's column line ('# round\\t...')");
		} else if (text[0] == '#' || len == 0) {
			continue;
		} else if (hdr->format >= 3 && text[0] == '@' && text[1] == '\t') {
			ret = read_tick(text, path, hdr->format, lineno, &pd, err);
		} else if (hdr->format >= 3 && text[0] == '%' && text[1] == '\t') {
			ret = read_cpustat(text, path, lineno, hdr, err);
		} else {
			ret = flush(&pd, path, hdr, fn, stack_fn, arg, err);
			if (ret == 0 && ftp_grow((void **)&pd.text, &pd.cap, (size_t)len + 1, 1, 256) < 0)
				ret = ftp_error_set(err, FTP_E_NOMEM, 0, "%s:%lu", path, lineno);
			if (ret == 0) {
				memcpy(pd.text, text, (size_t)len + 1);
				pd.lineno = lineno;
			}
		}
	}
	if (ret == 0)
		ret = flush(&pd, path, hdr, fn, stack_fn, arg, err);
	pending_release(&pd);
	if (ret == 0 && ferror(f))
		ret = ftp_error_set(err, FTP_E_IO, errno, "%s: read", path);
	else if (ret == 0 && lineno == 0)
		ret = fail(err, path, 1, "empty file: not an ftprof raw recording");
	free(text);
	return ret;
}

int raw_read(FILE *f, const char *path, struct raw_header *hdr, raw_sample_fn *fn, void *arg,
             struct ftp_error *err)
{
	return read_all(f, path, hdr, fn, NULL, arg, err);
}

int raw_read_stacks(FILE *f, const char *path, struct raw_header *hdr, raw_stack_fn *fn, void *arg,
                    struct ftp_error *err)
{
	return read_all(f, path, hdr, NULL, fn, arg, err);
}
