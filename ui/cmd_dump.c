/* SPDX-License-Identifier: MIT */
/* ftprof dump: one snapshot of every Python thread of a process. */
#include <stdlib.h>
#include <string.h>

#include "ftprof/util.h"
#include "options.h"
#include "sampler.h"
#include "ui.h"

static const char usage[] =
        "usage: ftprof dump [--json] [--nonblocking] [--native] [-p] PID\n"
        "\n"
        "Prints every Python thread of PID with its state, what it waits on and who holds it,\n"
        "and its stack, innermost frame first; a cycle of threads waiting on each other, a\n"
        "deadlock, comes first.\n"
        "\n"
        "  -j, --json          one JSON document (see ftprof(1) and docs/dump-json.md)\n"
        "  -n, --nonblocking   do not stop the target while reading it (may show torn stacks)\n"
        "      --native        native frames too, the Python frames in place of the\n"
        "                      interpreter's eval calls; not with --nonblocking\n"
        "  -p, --pid PID       the process to dump (or give PID as the argument)\n"
        "  -h, --help          show this help\n";

static void free_dump(struct dump *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->threads[i].frames);
		free(d->threads[i].name);
		free(d->threads[i].wait_type);
	}
	free(d->threads);
	deadlocks_release(&d->deadlocks);
}

/* Frames are copied; the strings they point to (code objects, native symbols
 * and objects) are the probe's until ftp_probe_destroy(), which comes after
 * printing. */
static int collect(const struct ftp_sample *s, void *arg)
{
	struct dump *d = arg;
	if (ftp_grow((void **)&d->threads, &d->cap, d->n + 1, sizeof(*d->threads), 16) < 0)
		return -FTP_E_NOMEM;
	struct dump_thread *t = &d->threads[d->n];
	memset(t, 0, sizeof(*t));
	t->s = *s;
	if (s->nframes) {
		t->frames = malloc(s->nframes * sizeof(*t->frames));
		if (!t->frames)
			return -FTP_E_NOMEM;
		memcpy(t->frames, s->frames, s->nframes * sizeof(*t->frames));
	}
	if ((s->name && !(t->name = strdup(s->name))) ||
	    (s->wait.type && !(t->wait_type = strdup(s->wait.type)))) {
		free(t->frames);
		free(t->name);
		return -FTP_E_NOMEM;
	}
	t->s.frames = t->frames;
	t->s.name = t->name;
	t->s.wait.type = t->wait_type;
	if (s->flags & FTP_SAMPLE_TORN)
		d->torn++;
	d->n++;
	return 0;
}

/* The cycles of waits among the dumped threads, into d->deadlocks. */
static int find_deadlocks(struct dump *d)
{
	struct deadlock_thread *in = calloc(d->n ? d->n : 1, sizeof(*in));
	if (!in)
		return -FTP_E_NOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct ftp_sample *s = &d->threads[i].s;
		in[i] = (struct deadlock_thread){ .tid = s->tid,
			                          .state = s->state,
			                          .kind = s->wait.kind,
			                          .address = s->wait.address,
			                          .holder = s->wait.holder };
	}
	int ret = deadlock_find(in, d->n, &d->deadlocks);
	free(in);
	return ret;
}

static int own_option(void *ctx, int c, const char *arg)
{
	(void)arg;
	bool *json = ctx;
	switch (c) {
	case 'j':
		*json = true;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return ui_finish_output("dump", EXIT_OK) == EXIT_OK ? OPTIONS_DONE : EXIT_FATAL;
	}
	return EXIT_USAGE; /* not reached: getopt returns only what was declared */
}

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_options o = { .cmd = "dump",
		                 .which = OPT_PID | OPT_BLOCKING | OPT_NATIVE,
		                 .blocking = true };
	bool json = false;
	int code = options_parse(&o, argc, argv, "+jnp:h", longopts, own_option, &json);
	if (code)
		return code == OPTIONS_DONE ? EXIT_OK : code;

	sampler_catch_signals();

	struct ftp_error err = { 0 };
	struct ftp_probe *probe;
	struct ftp_probe_opts opts = {
		.blocking = o.blocking, .thread_names = true, .task_state = true, .native = o.native
	};
	int ret = ftp_probe_create(&probe, o.pid, &opts, &err);
	if (ret < 0) {
		ui_error("dump", "%s", err.msg);
		return ui_exit_code(ret);
	}
	struct dump d = { .info = ftp_probe_info(probe), .native = o.native };
	ret = ftp_probe_sample(probe, collect, &d, &err);
	code = EXIT_OK;
	if (ret < 0 && d.n == 0) {
		if (ret == -FTP_E_NOMEM)
			ui_error("dump", "out of memory");
		else
			ui_error("dump", "%s", err.msg);
		code = ui_exit_code(ret);
	} else if (sampler_signal() && d.n == 0) {
		code = EXIT_INTERRUPTED;
	} else if (find_deadlocks(&d) < 0) {
		ui_error("dump", "out of memory");
		code = EXIT_FATAL;
	} else {
		if (ret < 0)
			d.error = err.msg;
		if (json)
			dump_print_json(stdout, &d);
		else
			dump_print_text(stdout, &d);
		if (ret < 0 || d.torn) {
			ui_error("dump", "%s",
			         ret < 0 ? err.msg : "some stacks changed while they were read");
			code = EXIT_PARTIAL;
		}
		code = ui_finish_output("dump", code);
	}
	free_dump(&d);
	ftp_probe_destroy(probe);
	return code;
}
