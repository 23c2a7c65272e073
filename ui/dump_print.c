/* SPDX-License-Identifier: MIT */
/* The dump printers: py-spy-like text, and the JSON document of
 * docs/dump-json.md. Both say what each waiting thread waits on and who holds
 * it, and give the deadlocks found among the threads. */
#include <stdio.h>
#include <string.h>

#include "ftprof/util.h"
#include "ui.h"

#define DUMP_FORMAT 2 /* bump on incompatible changes to the JSON document */

static const char *gil_note(const struct ftp_sample *s)
{
	return s->holds_gil == 1 ? ", holds the GIL" : "";
}

/* "symbol+0xOFF (libfoo.so)", or "0xADDR (object)" when no symbol is known. */
static void print_native_text(FILE *f, const struct ftp_frame *fr)
{
	if (fr->symbol) {
		ui_put_escaped(f, fr->symbol);
		fprintf(f, "+0x%llx (", (unsigned long long)fr->offset);
	} else {
		fprintf(f, "0x%llx (", (unsigned long long)fr->ip);
	}
	ui_put_escaped(f, fr->object ? ftp_base_name(fr->object) : "?");
	fputs(")\n", f);
}

/* ", on CPU" or ", off CPU" where it tells something the state does not. */
static const char *cpu_note(const struct ftp_sample *s)
{
	switch (s->state) {
	case FTP_STATE_RUNNING:
	case FTP_STATE_NATIVE:
	case FTP_STATE_GC:
		return s->on_cpu == 0 ? ", off CPU" : "";
	default:
		return s->on_cpu == 1 ? ", on CPU" : "";
	}
}

static const struct ftp_sample *thread_by_tid(const struct dump *d, pid_t tid)
{
	for (size_t i = 0; tid && i < d->n; i++)
		if (d->threads[i].s.tid == tid)
			return &d->threads[i].s;
	return NULL;
}

/* `thread 4242 "worker-3"`, the name when the thread is one of the dump's. */
static void put_thread_ref(FILE *f, const struct dump *d, pid_t tid)
{
	const struct ftp_sample *t = thread_by_tid(d, tid);
	fprintf(f, "thread %d", (int)tid);
	if (t && t->name) {
		fputs(" \"", f);
		ui_put_escaped(f, t->name);
		fputc('"', f);
	}
}

/* Kinds a thread holds while another waits: the ones "held by" fits. */
static bool is_held(enum ftp_wait_kind kind)
{
	switch (kind) {
	case FTP_WAIT_LOCK:
	case FTP_WAIT_RLOCK:
	case FTP_WAIT_SEMAPHORE:
	case FTP_WAIT_CRITICAL_SECTION:
	case FTP_WAIT_MUTEX:
	case FTP_WAIT_GIL:
		return true;
	default:
		return false;
	}
}

/* "Lock 0x7f12", "critical section of list 0x7f34", "Event". */
static void put_lock(FILE *f, const struct ftp_wait *w)
{
	fputs(ftp_wait_kind_name(w->kind), f);
	if (w->type) {
		fputs(" of ", f);
		ui_put_escaped(f, w->type);
	}
	if (w->address)
		fprintf(f, " 0x%llx", (unsigned long long)w->address);
}

/* "Lock 0x7f12 held by thread 4242 "worker-3"" (or "by an unknown thread"). */
static void put_wait(FILE *f, const struct dump *d, const struct ftp_wait *w)
{
	put_lock(f, w);
	if (w->holder) {
		fputs(is_held(w->kind) ? " held by " : " on ", f);
		put_thread_ref(f, d, w->holder);
		if (w->holder_how == FTP_HOLDER_REFERENCE)
			fputs(" (inferred)", f); /* docs/states.md: the only thread referring to it */
	} else if (is_held(w->kind)) {
		fputs(" held by an unknown thread", f);
	}
}

static const struct ftp_frame *innermost_python(const struct ftp_sample *s)
{
	for (unsigned j = 0; j < s->nframes; j++)
		if (!(s->frames[j].flags & FTP_FRAME_NATIVE))
			return &s->frames[j];
	return NULL;
}

static void put_python_frame(FILE *f, const struct ftp_frame *fr)
{
	ui_put_escaped(f, fr->code->qualname);
	fputs(" (", f);
	ui_put_escaped(f, fr->code->filename);
	if (fr->line >= 0)
		fprintf(f, ":%d)", fr->line);
	else
		fputc(')', f);
}

/* Each deadlock in words: every thread of the cycle, the lock it waits for,
 * who holds that, and the line where it waits. */
static void print_deadlocks_text(FILE *f, const struct dump *d)
{
	for (size_t c = 0; c < d->deadlocks.ncycles; c++) {
		const struct deadlock_cycle *cy = &d->deadlocks.cycles[c];
		if (cy->n == 1)
			fputs("\nDeadlock: a thread waits for a lock it holds itself:\n", f);
		else
			fprintf(f, "\nDeadlock: %zu threads wait for each other, none can go on:\n", cy->n);
		for (size_t k = 0; k < cy->n; k++) {
			const struct deadlock_member *m = &d->deadlocks.members[cy->first + k];
			const struct ftp_sample *s = &d->threads[m->thread].s;
			fputs("    ", f);
			put_thread_ref(f, d, s->tid);
			fputs(" waits for ", f);
			put_lock(f, &s->wait);
			fputs(" held by ", f);
			put_thread_ref(f, d, d->deadlocks.members[cy->first + (k + 1) % cy->n].tid);
			const struct ftp_frame *fr = innermost_python(s);
			if (fr) {
				fputs(", in ", f);
				put_python_frame(f, fr);
			}
			fputc('\n', f);
		}
	}
}

void dump_print_text(FILE *f, const struct dump *d)
{
	const struct ftp_target_info *info = d->info;
	fprintf(f, "Process %d: ", (int)info->pid);
	ui_put_escaped(f, info->cmdline[0] ? info->cmdline : info->executable);
	fprintf(f, "\nPython v%s%s (", info->version_str,
	        !info->free_threaded ? ""
	        : info->gil_enabled  ? ", free-threaded build, GIL re-enabled"
	                             : ", free-threaded");
	ui_put_escaped(f, info->executable);
	fputs(")\n", f);
	print_deadlocks_text(f, d);
	for (size_t i = 0; i < d->n; i++) {
		const struct ftp_sample *s = &d->threads[i].s;
		fprintf(f, "\nThread %d (%s%s%s)", (int)s->tid, ftp_state_name(s->state), cpu_note(s),
		        gil_note(s));
		if (s->name) {
			fputs(": \"", f);
			ui_put_escaped(f, s->name);
			fputc('"', f);
		}
		if (s->is_main && !(s->name && !*s->name))
			fputs(" [main]", f);
		if (s->wait.kind != FTP_WAIT_NONE) {
			fputs(", waiting for ", f);
			put_wait(f, d, &s->wait);
		}
		fputc('\n', f);
		for (unsigned j = 0; j < s->nframes; j++) {
			const struct ftp_frame *fr = &s->frames[j];
			fputs("    ", f);
			if (fr->flags & FTP_FRAME_NATIVE) {
				print_native_text(f, fr);
				continue;
			}
			put_python_frame(f, fr);
			fputc('\n', f);
		}
		if (s->flags & FTP_SAMPLE_TRUNCATED)
			fputs("    ... (deeper frames not shown)\n", f);
		if (s->flags & FTP_SAMPLE_TORN)
			fputs("    ... (the rest of the stack changed while it was read)\n", f);
		if (s->flags & FTP_SAMPLE_NATIVE_TRUNCATED)
			fputs("    ... (outer native frames not shown)\n", f);
		if (s->flags & FTP_SAMPLE_NO_STACK)
			fputs("    (no Python frames)\n", f);
		if (s->flags & FTP_SAMPLE_NO_NATIVE)
			fputs("    (native frames could not be unwound)\n", f);
	}
}

static void put_bool_or_null(FILE *f, int v)
{
	fputs(v < 0 ? "null" : v ? "true" : "false", f);
}

static void print_native_json(FILE *f, const struct ftp_frame *fr)
{
	fprintf(f, "{\"kind\": \"native\", \"ip\": %llu, \"symbol\": ", (unsigned long long)fr->ip);
	ui_put_json_str(f, fr->symbol);
	if (fr->symbol)
		fprintf(f, ", \"offset\": %llu", (unsigned long long)fr->offset);
	else
		fputs(", \"offset\": null", f);
	fputs(", \"object\": ", f);
	ui_put_json_str(f, fr->object);
	fputc('}', f);
}

static void put_address_json(FILE *f, uint64_t address)
{
	if (address)
		fprintf(f, "\"0x%llx\"", (unsigned long long)address);
	else
		fputs("null", f);
}

/* "waits_on": null, or what the thread waits on and who holds it. */
static void print_waits_on_json(FILE *f, const struct ftp_wait *w)
{
	fputs(", \"waits_on\": ", f);
	if (w->kind == FTP_WAIT_NONE) {
		fputs("null", f);
		return;
	}
	fputs("{\"kind\": ", f);
	ui_put_json_str(f, ftp_wait_kind_name(w->kind));
	fputs(", \"address\": ", f);
	put_address_json(f, w->address);
	fputs(", \"type\": ", f);
	ui_put_json_str(f, w->type);
	if (w->holder)
		fprintf(f, ", \"holder\": %d", (int)w->holder);
	else
		fputs(", \"holder\": null", f);
	fputs(", \"holder_how\": ", f);
	ui_put_json_str(f, w->holder_how != FTP_HOLDER_NONE ? ftp_holder_how_name(w->holder_how) : NULL);
	fputc('}', f);
}

/* "deadlocks": each cycle's threads, and the lock each waits for (held by
 * the next). */
static void print_deadlocks_json(FILE *f, const struct dump *d)
{
	fputs(",\n \"deadlocks\": [", f);
	for (size_t c = 0; c < d->deadlocks.ncycles; c++) {
		const struct deadlock_cycle *cy = &d->deadlocks.cycles[c];
		const struct deadlock_member *m = &d->deadlocks.members[cy->first];
		fputs(c ? ", {\"threads\": [" : "{\"threads\": [", f);
		for (size_t k = 0; k < cy->n; k++)
			fprintf(f, "%s%d", k ? ", " : "", (int)m[k].tid);
		fputs("], \"locks\": [", f);
		for (size_t k = 0; k < cy->n; k++) {
			fputs(k ? ", {\"kind\": " : "{\"kind\": ", f);
			ui_put_json_str(f, ftp_wait_kind_name(m[k].kind));
			fputs(", \"address\": ", f);
			put_address_json(f, m[k].address);
			fputc('}', f);
		}
		fputs("]}", f);
	}
	fputc(']', f);
}

static const char *native_status(const struct ftp_sample *s)
{
	if (s->flags & FTP_SAMPLE_NO_NATIVE)
		return "unavailable";
	return s->flags & FTP_SAMPLE_NATIVE_TRUNCATED ? "truncated" : "unwound";
}

void dump_print_json(FILE *f, const struct dump *d)
{
	const struct ftp_target_info *info = d->info;
	fprintf(f, "{\"format\": %d, \"pid\": %d, \"command\": ", DUMP_FORMAT, (int)info->pid);
	ui_put_json_str(f, info->cmdline);
	fputs(", \"python\": {\"version\": ", f);
	ui_put_json_str(f, info->version_str);
	fprintf(f, ", \"hexversion\": %u, \"free_threaded\": %s, \"gil_enabled\": %s, \"executable\": ",
	        info->version, info->free_threaded ? "true" : "false", info->gil_enabled ? "true" : "false");
	ui_put_json_str(f, info->executable);
	fputs(", \"library\": ", f);
	ui_put_json_str(f, info->library);
	fprintf(f, ", \"layout\": \"%s\"},\n \"threads\": [",
	        info->debug_offsets ? "debug_offsets" : "builtin");
	for (size_t i = 0; i < d->n; i++) {
		const struct ftp_sample *s = &d->threads[i].s;
		fprintf(f, "%s\n  {\"tid\": %d, \"thread_id\": %llu, \"name\": ", i ? "," : "", (int)s->tid,
		        (unsigned long long)s->thread_id);
		ui_put_json_str(f, s->name);
		fprintf(f, ", \"main\": %s, \"state\": \"%s\", \"os_state\": ", s->is_main ? "true" : "false",
		        ftp_state_name(s->state));
		if (s->os_state)
			fprintf(f, "\"%c\"", s->os_state);
		else
			fputs("null", f);
		fputs(", \"on_cpu\": ", f);
		put_bool_or_null(f, s->on_cpu);
		fputs(", \"holds_gil\": ", f);
		put_bool_or_null(f, s->holds_gil);
		print_waits_on_json(f, &s->wait);
		fprintf(f, ", \"torn\": %s, \"truncated\": %s", s->flags & FTP_SAMPLE_TORN ? "true" : "false",
		        s->flags & FTP_SAMPLE_TRUNCATED ? "true" : "false");
		if (d->native)
			fprintf(f, ", \"native\": \"%s\"", native_status(s));
		fputs(", \"frames\": [", f);
		for (unsigned j = 0; j < s->nframes; j++) {
			const struct ftp_frame *fr = &s->frames[j];
			fputs(j ? ",\n    " : "\n    ", f);
			if (fr->flags & FTP_FRAME_NATIVE) {
				print_native_json(f, fr);
				continue;
			}
			fputs("{\"kind\": \"python\", \"function\": ", f);
			ui_put_json_str(f, fr->code->name);
			fputs(", \"qualname\": ", f);
			ui_put_json_str(f, fr->code->qualname);
			fputs(", \"file\": ", f);
			ui_put_json_str(f, fr->code->filename);
			if (fr->line >= 0)
				fprintf(f, ", \"line\": %d}", fr->line);
			else
				fputs(", \"line\": null}", f);
		}
		fputs("]}", f);
	}
	fputc(']', f);
	print_deadlocks_json(f, d);
	fputs(",\n \"errors\": [", f);
	if (d->torn)
		fprintf(f, "{\"message\": \"%u stacks changed while they were read\"}%s", d->torn,
		        d->error ? ", " : "");
	if (d->error) {
		fputs("{\"message\": ", f);
		ui_put_json_str(f, d->error);
		fputc('}', f);
	}
	fputs("]}\n", f);
}
