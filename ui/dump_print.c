/* SPDX-License-Identifier: MIT */
/* The dump printers: py-spy-like text, and the JSON document of docs/dump-json.md. */
#include <stdio.h>
#include <string.h>

#include "ftprof/util.h"
#include "ui.h"

#define DUMP_FORMAT 1 /* bump on incompatible changes to the JSON document */

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
	for (size_t i = 0; i < d->n; i++) {
		const struct ftp_sample *s = &d->threads[i].s;
		fprintf(f, "\nThread %d (%s%s)", (int)s->tid, ftp_state_name(s->state), gil_note(s));
		if (s->name) {
			fputs(": \"", f);
			ui_put_escaped(f, s->name);
			fputc('"', f);
		}
		if (s->is_main && !(s->name && !*s->name))
			fputs(" [main]", f);
		fputc('\n', f);
		for (unsigned j = 0; j < s->nframes; j++) {
			const struct ftp_frame *fr = &s->frames[j];
			fputs("    ", f);
			if (fr->flags & FTP_FRAME_NATIVE) {
				print_native_text(f, fr);
				continue;
			}
			ui_put_escaped(f, fr->code->qualname);
			fputs(" (", f);
			ui_put_escaped(f, fr->code->filename);
			if (fr->line >= 0)
				fprintf(f, ":%d)\n", fr->line);
			else
				fputs(")\n", f);
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
		fputs(", \"holds_gil\": ", f);
		put_bool_or_null(f, s->holds_gil);
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
	fputs("],\n \"errors\": [", f);
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
