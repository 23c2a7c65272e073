/* SPDX-License-Identifier: MIT */
/* Recordings read back into a flame graph's tree, for diff: raw (through the
 * raw reader, whose every column is checked) and folded stacks. A file is as
 * hostile as the target it came from: each line is checked, and each label
 * escaped again by flame_add. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "flame.h"
#include "ftprof/error.h"
#include "raw_read.h"

static bool active(const struct analysis_sample *s)
{
	return ftp_state_active(s->state, s->on_cpu);
}

struct raw_feed {
	struct flame *fl;
	const struct flame_read_opts *opts;
	struct flame_source *src;
	char *buf; /* the stack with its state frame */
	size_t cap;
};

static int feed_raw(const struct analysis_sample *s, char *stack, void *arg)
{
	struct raw_feed *rf = arg;
	if (!*stack || (!rf->opts->idle && !active(s))) {
		rf->src->skipped++;
		return 0;
	}
	if (!rf->opts->states)
		return flame_add_folded(rf->fl, stack, 1);
	const char *state = ftp_state_name(s->state);
	size_t need = strlen(stack) + strlen(state) + 4;
	if (need > rf->cap) {
		char *b = realloc(rf->buf, need);
		if (!b)
			return -FTP_E_NOMEM;
		rf->buf = b;
		rf->cap = need;
	}
	snprintf(rf->buf, rf->cap, "%s;[%s]", stack, state);
	return flame_add_folded(rf->fl, rf->buf, 1);
}

static int read_raw(struct flame *fl, FILE *in, const char *path, const struct flame_read_opts *opts,
                    struct flame_source *src, struct ftp_error *err)
{
	struct raw_header hdr;
	struct raw_feed rf = { .fl = fl, .opts = opts, .src = src };
	int ret = raw_read_stacks(in, path, &hdr, feed_raw, &rf, err);
	free(rf.buf);
	src->format = "raw";
	snprintf(src->python, sizeof(src->python), "%s", hdr.python);
	src->free_threaded = hdr.free_threaded;
	src->rate = hdr.rate;
	raw_header_release(&hdr);
	return ret;
}

/* "STACK COUNT" lines. */
static int read_folded(struct flame *fl, FILE *in, const char *path, struct flame_source *src,
                       struct ftp_error *err)
{
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int ret = 0;
	src->format = "folded";
	while (ret == 0 && (len = getline(&text, &cap, in)) >= 0) {
		lineno++;
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
			text[--len] = '\0';
		if ((size_t)len != strlen(text)) {
			ret = ftp_error_set(err, FTP_E_CORRUPT, 0, "%s:%lu: a NUL byte: not folded stacks",
			                    path, lineno);
			break;
		}
		if (len == 0)
			continue;
		char *space = strrchr(text, ' '), *end;
		errno = 0;
		unsigned long long count = space ? strtoull(space + 1, &end, 10) : 0;
		if (!space || space == text || !space[1] || *end || errno || space[1] == '-' ||
		    space[1] == '+') {
			ret = ftp_error_set(err, FTP_E_CORRUPT, 0,
			                    "%s:%lu: not a folded line ('frame;frame;... COUNT')", path,
			                    lineno);
			break;
		}
		*space = '\0';
		ret = flame_add_folded(fl, text, count);
		if (ret < 0)
			ftp_error_set(err, -ret, 0, "%s:%lu: %s", path, lineno, ftp_strerror(ret));
	}
	if (ret == 0 && ferror(in))
		ret = ftp_error_set(err, FTP_E_IO, errno, "%s: read", path);
	else if (ret == 0 && lineno == 0)
		ret = ftp_error_set(err, FTP_E_CORRUPT, 0, "%s: empty file: no stacks to compare", path);
	free(text);
	return ret;
}

int flame_read(struct flame *fl, const char *path, const struct flame_read_opts *opts,
               struct flame_source *src, struct ftp_error *err)
{
	memset(src, 0, sizeof(*src));
	FILE *in = fopen(path, "r");
	if (!in)
		return ftp_error_set(err, FTP_E_IO, errno, "%s", path);
	/* what it is, from its first bytes */
	char head[16] = { 0 };
	size_t got = fread(head, 1, sizeof(head) - 1, in);
	int ret = 0;
	const char *what = NULL;
	if (ferror(in))
		ret = ftp_error_set(err, FTP_E_IO, errno, "%s: read", path);
	else if (got >= 2 && (unsigned char)head[0] == 0x1f && (unsigned char)head[1] == 0x8b)
		what = "a compressed file (pprof?)";
	else if (head[0] == '{' || head[0] == '[')
		what = "a JSON profile (speedscope?)";
	else if (strncmp(head, "<?xml", 5) == 0 || strncmp(head, "<svg", 4) == 0 ||
	         strncasecmp(head, "<!doctype", 9) == 0 || strncasecmp(head, "<html", 5) == 0)
		what = "an SVG or HTML flame graph (compare the recordings it was drawn from)";
	if (what)
		ret = ftp_error_set(err, FTP_E_CORRUPT, 0,
		                    "%s: %s; diff reads raw recordings (-f raw) and folded stacks", path,
		                    what);
	if (ret == 0 && fseek(in, 0, SEEK_SET) != 0)
		ret = ftp_error_set(err, FTP_E_IO, errno, "%s: seek", path);
	if (ret == 0)
		ret = strncmp(head, "# ftprof raw ", 13) == 0 ? read_raw(fl, in, path, opts, src, err)
		                                              : read_folded(fl, in, path, src, err);
	fclose(in);
	return ret;
}
