/* SPDX-License-Identifier: MIT */
/* Checks ftp_layout_from_debug_offsets on live, header-compiled and hostile _Py_DebugOffsets blobs. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftprof/symbols.h"
#include "interp.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NONE FTP_OFF_NONE

/* ---- what each layout field is, in CPython's terms --------------------- */

enum {
	FT_ONLY = 1, /* meaningful in free-threaded builds only: NONE otherwise */
	ALWAYS = 2,  /* set even by minors whose blob does not carry it */
	PROBED = 4,  /* no member: the probe's pre-header code prints it */
	SOURCE = 8,  /* a struct of a .c file: in the DWARF, in no header */
	PATCH = 16,  /* 3.13's patch releases differ: set for all, checked where present */
};

/* A field of struct ftp_layout: the CPython member it is the offset of (or
 * the type it is the size of), the _Py_DebugOffsets member it comes from and
 * the size member bounding it. type and member name the same thing in DWARF
 * and in C. */
struct entry {
	const char *lname;
	size_t loff;
	const char *type;   /* NULL: never set from a blob */
	const char *member; /* NULL: sizeof(type) */
	const char *bpath;  /* _Py_DebugOffsets member */
	const char *bsize;  /* size member of bpath's sub-struct, NULL for sizes */
	unsigned blob_min;  /* first minor whose blob has bpath */
	unsigned flags;
};

#define LF(f) #f, offsetof(struct ftp_layout, f)
#define IS "PyInterpreterState"
#define TS "PyThreadState"
#define IF "_PyInterpreterFrame"
#define CO "PyCodeObject"
#define GIL "struct _gil_runtime_state"
#define DK "PyDictKeysObject"

static const struct entry entries[] = {
	{ LF(runtime.size), "_PyRuntimeState", NULL, "runtime_state.size", NULL, 13, 0 },
	{ LF(runtime.interpreters_head), "_PyRuntimeState", "interpreters.head",
	  "runtime_state.interpreters_head", "runtime_state.size", 13, 0 },
	{ LF(runtime.gil), NULL, NULL, NULL, NULL, 0, 0 },
	{ LF(runtime.tstate_current), NULL, NULL, NULL, NULL, 0, 0 },
	{ LF(interp.size), IS, NULL, "interpreter_state.size", NULL, 13, 0 },
	{ LF(interp.next), IS, "next", "interpreter_state.next", "interpreter_state.size", 13, 0 },
	{ LF(interp.id), IS, "id", "interpreter_state.id", "interpreter_state.size", 13, 0 },
	{ LF(interp.threads_head), IS, "threads.head", "interpreter_state.threads_head",
	  "interpreter_state.size", 13, 0 },
	{ LF(interp.threads_main), IS, "threads.main", "interpreter_state.threads_main",
	  "interpreter_state.size", 14, 0 },
	{ LF(interp.modules), IS, "imports.modules", "interpreter_state.imports_modules",
	  "interpreter_state.size", 13, 0 },
	{ LF(interp.ceval_gil), IS, "ceval.gil", "interpreter_state.ceval_gil", "interpreter_state.size", 13,
	  0 },
	{ LF(interp.gc), IS, "gc", "interpreter_state.gc", "interpreter_state.size", 13, 0 },
	{ LF(gil.enabled), GIL, "enabled", "interpreter_state.gil_runtime_state_enabled", NULL, 13, FT_ONLY },
	/* the blob has interp offsets of the GIL's fields; the layout's are
	 * relative to the GIL struct, still bounded by the interp */
	{ LF(gil.last_holder), GIL, "last_holder", "interpreter_state.gil_runtime_state_holder",
	  "interpreter_state.size", 13, 0 },
	{ LF(gil.locked), GIL, "locked", "interpreter_state.gil_runtime_state_locked",
	  "interpreter_state.size", 13, 0 },
	/* not in any blob (its minor, 99, never comes): derived from locked */
	{ LF(gil.switch_number), GIL, "switch_number", "interpreter_state.gil_runtime_state_switch_number",
	  "interpreter_state.size", 99, ALWAYS },
	{ LF(gc_collecting), "struct _gc_runtime_state", "collecting", "gc.collecting", "gc.size", 13, 0 },
	/* the waits' offsets: in no blob (docs/states.md) */
	{ LF(stw.interp_offset), IS, "stoptheworld", "-.stw", NULL, 99, ALWAYS },
	{ LF(stw.world_stopped), "struct _stoptheworld_state", "world_stopped", "-.stw.world_stopped", NULL,
	  99, ALWAYS },
	{ LF(stw.requester), "struct _stoptheworld_state", "requester", "-.stw.requester", NULL, 99, ALWAYS },
	{ LF(threading.object_head), "PyObject", NULL, "-.object_head", NULL, 99, ALWAYS },
	{ LF(threading.ob_mutex), "PyObject", "ob_mutex", "-.ob_mutex", NULL, 99, FT_ONLY | ALWAYS },
	{ LF(threading.lock_mutex), "lockobject", "lock", "-.lock_mutex", NULL, 99, ALWAYS | SOURCE | PATCH },
	{ LF(threading.lock_sem), "lockobject", "lock_lock", "-.lock_sem", NULL, 99,
	  ALWAYS | SOURCE | PATCH },
	{ LF(threading.rlock_mutex), "rlockobject", "lock", "-.rlock_mutex", NULL, 99, ALWAYS | SOURCE },
	{ LF(threading.rlock_sem), "rlockobject", "rlock_lock", "-.rlock_sem", NULL, 99, ALWAYS | SOURCE },
	{ LF(threading.rlock_owner), "rlockobject", "rlock_owner", "-.rlock_owner", NULL, 99,
	  ALWAYS | SOURCE },
	{ LF(threading.cfunc_self), "PyCFunctionObject", "m_self", "-.cfunc_self", NULL, 99, ALWAYS },
	{ LF(threading.wait_entry_addr), "struct wait_entry", "addr", "-.wait_entry_addr", NULL, 99,
	  ALWAYS | SOURCE },
	{ LF(tstate.size), TS, NULL, "thread_state.size", NULL, 13, 0 },
	{ LF(tstate.prev), TS, "prev", "thread_state.prev", "thread_state.size", 13, 0 },
	{ LF(tstate.next), TS, "next", "thread_state.next", "thread_state.size", 13, 0 },
	{ LF(tstate.interp), TS, "interp", "thread_state.interp", "thread_state.size", 13, 0 },
	{ LF(tstate.frame), TS, "current_frame", "thread_state.current_frame", "thread_state.size", 13, 0 },
	{ LF(tstate.cframe_current_frame), NULL, NULL, NULL, NULL, 0, 0 },
	{ LF(tstate.thread_id), TS, "thread_id", "thread_state.thread_id", "thread_state.size", 13, 0 },
	{ LF(tstate.native_thread_id), TS, "native_thread_id", "thread_state.native_thread_id",
	  "thread_state.size", 13, 0 },
	{ LF(tstate.datastack_chunk), TS, "datastack_chunk", "thread_state.datastack_chunk",
	  "thread_state.size", 13, 0 },
	{ LF(tstate.status), TS, "_status", "thread_state.status", "thread_state.size", 13, 0 },
	{ LF(tstate.holds_gil), TS, "holds_gil", "thread_state.holds_gil", "thread_state.size", 15, 0 },
	{ LF(tstate.state), TS, "state", "-.thread_state.state", NULL, 99, ALWAYS },
	{ LF(tstate.critical_section), TS, "critical_section", "-.thread_state.critical_section", NULL, 99,
	  FT_ONLY | ALWAYS },
	{ LF(tstate.datastack_top), TS, "datastack_top", "-.thread_state.datastack_top", NULL, 99, ALWAYS },
	{ LF(frame.size), IF, NULL, "interpreter_frame.size", NULL, 13, 0 },
	{ LF(frame.previous), IF, "previous", "interpreter_frame.previous", "interpreter_frame.size", 13, 0 },
	{ LF(frame.code), IF, "f_executable", "interpreter_frame.executable", "interpreter_frame.size", 13,
	  0 },
	{ LF(frame.instr), IF, "instr_ptr", "interpreter_frame.instr_ptr", "interpreter_frame.size", 13, 0 },
	{ LF(frame.owner), IF, "owner", "interpreter_frame.owner", "interpreter_frame.size", 13, 0 },
	{ LF(frame.is_entry), NULL, NULL, NULL, NULL, 0, 0 },
	{ LF(frame.tlbc_index), IF, "tlbc_index", "interpreter_frame.tlbc_index", "interpreter_frame.size",
	  14, FT_ONLY },
	{ LF(frame.localsplus), IF, "localsplus", "-.interpreter_frame.localsplus", NULL, 99, ALWAYS },
	{ LF(code.size), CO, NULL, "code_object.size", NULL, 13, 0 },
	{ LF(code.filename), CO, "co_filename", "code_object.filename", "code_object.size", 13, 0 },
	{ LF(code.name), CO, "co_name", "code_object.name", "code_object.size", 13, 0 },
	{ LF(code.qualname), CO, "co_qualname", "code_object.qualname", "code_object.size", 13, 0 },
	{ LF(code.linetable), CO, "co_linetable", "code_object.linetable", "code_object.size", 13, 0 },
	{ LF(code.firstlineno), CO, "co_firstlineno", "code_object.firstlineno", "code_object.size", 13, 0 },
	{ LF(code.code), CO, "co_code_adaptive", "code_object.co_code_adaptive", "code_object.size", 13, 0 },
	{ LF(code.tlbc), CO, "co_tlbc", "code_object.co_tlbc", "code_object.size", 14, FT_ONLY },
	/* from here on, fields of no blob have a made-up bpath and minor 99 */
	{ LF(code.tlbc_size), "_PyCodeArray", "size", "-.code_array.size", NULL, 99, FT_ONLY | ALWAYS },
	{ LF(code.tlbc_entries), "_PyCodeArray", "entries", "-.code_array.entries", NULL, 99,
	  FT_ONLY | ALWAYS },
	{ LF(object.ob_type), "PyObject", "ob_type", "pyobject.ob_type", "pyobject.size", 13, 0 },
	{ LF(object.tp_name), "PyTypeObject", "tp_name", "type_object.tp_name", "type_object.size", 13, 0 },
	{ LF(object.tp_flags), "PyTypeObject", "tp_flags", "type_object.tp_flags", "type_object.size", 13,
	  0 },
	{ LF(object.var_size), "PyVarObject", "ob_size", "tuple_object.ob_size", "tuple_object.size", 13, 0 },
	{ LF(object.tp_basicsize), "PyTypeObject", "tp_basicsize", "type_object.tp_basicsize",
	  "type_object.size", 15, ALWAYS },
	{ LF(object.tp_dictoffset), "PyTypeObject", "tp_dictoffset", "type_object.tp_dictoffset",
	  "type_object.size", 15, ALWAYS },
	{ LF(object.ht_cached_keys), "PyHeapTypeObject", "ht_cached_keys", "heap_type_object.ht_cached_keys",
	  "heap_type_object.size", 15, ALWAYS },
	{ LF(object.managed_dict_before), "(pre-header)", NULL, "-.managed_dict_before", NULL, 99,
	  ALWAYS | PROBED },
	{ LF(object.managed_values_before), "(pre-header)", NULL, "-.managed_values_before", NULL, 99,
	  PROBED },
	{ LF(tuple.ob_item), "PyTupleObject", "ob_item", "tuple_object.ob_item", "tuple_object.size", 13, 0 },
	{ LF(list.ob_item), "PyListObject", "ob_item", "list_object.ob_item", "list_object.size", 13, 0 },
	{ LF(dict.ma_keys), "PyDictObject", "ma_keys", "dict_object.ma_keys", "dict_object.size", 13, 0 },
	{ LF(dict.ma_values), "PyDictObject", "ma_values", "dict_object.ma_values", "dict_object.size", 13,
	  0 },
	{ LF(bytes.ob_sval), "PyBytesObject", "ob_sval", "bytes_object.ob_sval", "bytes_object.size", 13, 0 },
	{ LF(module.md_dict), "PyModuleObject", "md_dict", "-.module.md_dict", NULL, 99, ALWAYS },
	{ LF(module.md_name), "PyModuleObject", "md_name", "-.module.md_name", NULL, 99, ALWAYS },
	{ LF(function.qualname), "PyFunctionObject", "func_qualname", "-.function.qualname", NULL, 99,
	  ALWAYS },
	{ LF(pylong.lv_tag), "PyLongObject", "long_value.lv_tag", "long_object.lv_tag", "long_object.size",
	  13, 0 },
	{ LF(pylong.ob_digit), "PyLongObject", "long_value.ob_digit", "long_object.ob_digit",
	  "long_object.size", 13, 0 },
	{ LF(dict_keys.dk_size), NULL, NULL, NULL, NULL, 0, 0 }, /* <= 3.10 */
	{ LF(dict_keys.dk_log2_size), DK, "dk_log2_size", "-.dk_log2_size", NULL, 99, ALWAYS },
	{ LF(dict_keys.dk_log2_index_bytes), DK, "dk_log2_index_bytes", "-.dk_log2_index_bytes", NULL, 99,
	  ALWAYS },
	{ LF(dict_keys.dk_kind), DK, "dk_kind", "-.dk_kind", NULL, 99, ALWAYS },
	{ LF(dict_keys.dk_nentries), DK, "dk_nentries", "-.dk_nentries", NULL, 99, ALWAYS },
	{ LF(dict_keys.dk_indices), DK, "dk_indices", "-.dk_indices", NULL, 99, ALWAYS },
	{ LF(dict_entry.size), "PyDictKeyEntry", NULL, "-.dict_entry.size", NULL, 99, ALWAYS },
	{ LF(dict_entry.me_key), "PyDictKeyEntry", "me_key", "-.dict_entry.me_key", NULL, 99, ALWAYS },
	{ LF(dict_entry.me_value), "PyDictKeyEntry", "me_value", "-.dict_entry.me_value", NULL, 99, ALWAYS },
	{ LF(dict_uentry.size), "PyDictUnicodeEntry", NULL, "-.dict_uentry.size", NULL, 99, ALWAYS },
	{ LF(dict_uentry.me_key), "PyDictUnicodeEntry", "me_key", "-.dict_uentry.me_key", NULL, 99, ALWAYS },
	{ LF(dict_uentry.me_value), "PyDictUnicodeEntry", "me_value", "-.dict_uentry.me_value", NULL, 99,
	  ALWAYS },
	{ LF(dict_values.capacity), "PyDictValues", "capacity", "-.dict_values.capacity", NULL, 99, ALWAYS },
	{ LF(dict_values.valid), "PyDictValues", "valid", "-.dict_values.valid", NULL, 99, ALWAYS },
	{ LF(dict_values.values), "PyDictValues", "values", "-.dict_values.values", NULL, 99, ALWAYS },
	{ LF(unicode.length), "PyASCIIObject", "length", "unicode_object.length", "unicode_object.size", 13,
	  0 },
	{ LF(unicode.state), "PyASCIIObject", "state", "unicode_object.state", "unicode_object.size", 13, 0 },
	{ LF(unicode.ascii_size), "PyASCIIObject", NULL, "unicode_object.asciiobject_size", NULL, 13, 0 },
	{ LF(unicode.compact_size), "PyCompactUnicodeObject", NULL,
	  "unicode_object.compactunicodeobject_size", NULL, 15, ALWAYS },
};

#define NENT COUNT(entries)

static size_t entry_index(const char *lname)
{
	for (size_t i = 0; i < NENT; i++)
		if (strcmp(entries[i].lname, lname) == 0)
			return i;
	return NENT;
}

static uint32_t lget(const struct ftp_layout *l, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)l + off, sizeof(v));
	return v;
}

/* entries[] names every uint32_t offset of struct ftp_layout exactly once. */
Test(debug_offsets, entry_table_is_complete)
{
	test_interp_none();
	size_t end_frame = offsetof(struct ftp_layout, frame.localsplus) + 4;
	for (size_t off = offsetof(struct ftp_layout, runtime);
	     off < offsetof(struct ftp_layout, unicode.kind_shift); off += 4) {
		if (off >= end_frame && off < offsetof(struct ftp_layout, code))
			continue; /* code_tag_mask and its padding */
		size_t n = 0;
		for (size_t i = 0; i < NENT; i++)
			n += entries[i].loff == off;
		cr_assert_eq(n, 1, "struct ftp_layout offset %zu is named %zu times", off, n);
	}
}

/* ---- ground truth of one blob ------------------------------------------ */

struct ref {
	char what[64];
	unsigned minor;
	bool ft;
	uint32_t version;
	uint8_t blob[FTP_DEBUG_OFFSETS_MAX];
	size_t blob_len; /* bytes of blob[] that are real */
	size_t full;     /* sizeof(_Py_DebugOffsets) */
	uint64_t want[NENT];
	bool has_want[NENT]; /* the member exists in this build */
	long bpos[NENT];     /* offset of bpath in the blob, -1 when absent */
	long spos[NENT];     /* offset of bsize in the blob */
	bool has_bits;
	unsigned kind_shift, kind_width, compact_bit, ascii_bit;
	bool has_tags;
	uint64_t tag_bits, int_tag;
	uint64_t code_align;
};

static void ref_init(struct ref *r, const char *what, unsigned minor)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->what, sizeof(r->what), "%s", what);
	r->minor = minor;
	for (size_t i = 0; i < NENT; i++)
		r->bpos[i] = r->spos[i] = -1;
}

static unsigned lowest_bit(unsigned long long w)
{
	return w ? (unsigned)__builtin_ctzll(w) : 64;
}

/* Reads key=value lines and "L"/"P" lines of the probe's output. */
static void parse_probe(struct ref *r, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long long kind1 = 0, kind7 = 0, compact = 0, ascii = 0;
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char name[128];
		unsigned long long v;
		if (strncmp(line, "blob=", 5) == 0) {
			const char *hex = line + 5;
			size_t n = strlen(hex) / 2;
			cr_assert_leq(n, sizeof(r->blob), "%s: blob of %zu bytes", r->what, n);
			for (size_t i = 0; i < n; i++) {
				unsigned b;
				cr_assert_eq(sscanf(hex + 2 * i, "%2x", &b), 1);
				r->blob[i] = (uint8_t)b;
			}
			r->blob_len = n;
		} else if (sscanf(line, "L %127s %llu", name, &v) == 2) {
			size_t i = entry_index(name);
			cr_assert_lt(i, NENT, "probe printed unknown field %s", name);
			r->want[i] = v;
			r->has_want[i] = true;
		} else if (sscanf(line, "P %127s %llu", name, &v) == 2) {
			for (size_t i = 0; i < NENT; i++) {
				if (entries[i].bpath && strcmp(entries[i].bpath, name) == 0)
					r->bpos[i] = (long)v;
				if (entries[i].bsize && strcmp(entries[i].bsize, name) == 0)
					r->spos[i] = (long)v;
			}
		} else if (sscanf(line, "%127[^=]=%llu", name, &v) == 2) {
			if (!strcmp(name, "bits.kind1"))
				kind1 = v, r->has_bits = true;
			else if (!strcmp(name, "bits.kind7"))
				kind7 = v;
			else if (!strcmp(name, "bits.compact"))
				compact = v;
			else if (!strcmp(name, "bits.ascii"))
				ascii = v;
			else if (!strcmp(name, "code_align"))
				r->code_align = v;
			else if (!strcmp(name, "version"))
				r->version = (uint32_t)v;
			else if (!strcmp(name, "free_threaded"))
				r->ft = v != 0;
			else if (!strcmp(name, "blob_size"))
				r->full = v;
			else if (!strcmp(name, "tag_bits"))
				r->tag_bits = v, r->has_tags = true;
			else if (!strcmp(name, "int_tag"))
				r->int_tag = v;
		}
	}
	free(line);
	if (r->has_bits) {
		r->kind_shift = lowest_bit(kind1);
		r->kind_width = (unsigned)__builtin_popcountll(kind7);
		/* kind is 3 contiguous bits: kind = 7 sets the bit of kind = 1 and
		 * the two above it, nothing else */
		cr_assert_eq(kind7, 7ull << r->kind_shift, "%s: kind bit-field is not 3 contiguous bits",
		             r->what);
		r->compact_bit = lowest_bit(compact);
		r->ascii_bit = lowest_bit(ascii);
		cr_assert_eq(compact, 1ull << r->compact_bit);
		cr_assert_eq(ascii, 1ull << r->ascii_bit);
	}
}

/* A scratch directory for the probe, removed by scratch_remove(). */
struct scratch {
	char dir[64];
};

static void scratch_create(struct scratch *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/ftp_probe.XXXXXX");
	cr_assert_not_null(mkdtemp(s->dir), "mkdtemp");
}

static void scratch_remove(struct scratch *s)
{
	static const char *const files[] = { "probe", "probe_fields.inc", "cc.log" };
	char path[128];
	for (size_t i = 0; i < COUNT(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
		unlink(path);
	}
	rmdir(s->dir);
}

/* Writes the L and P lines of the probe for every entry. */
static void write_fields(const struct scratch *s)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/probe_fields.inc", s->dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fprintf(f, "/* generated by test_debug_offsets.c */\n");
	for (size_t i = 0; i < NENT; i++) {
		const struct entry *e = &entries[i];
		if (!e->type || (e->flags & (PROBED | SOURCE)))
			continue;
		if (e->flags & FT_ONLY)
			fprintf(f, "#ifdef Py_GIL_DISABLED\n");
		if (e->member)
			fprintf(f, "field(\"L\", \"%s\", offsetof(%s, %s));\n", e->lname, e->type, e->member);
		else
			fprintf(f, "field(\"L\", \"%s\", sizeof(%s));\n", e->lname, e->type);
		if (e->flags & FT_ONLY)
			fprintf(f, "#endif\n");
		fprintf(f, "#if PY_VERSION_HEX >= 0x03%02x0000\n", e->blob_min);
		fprintf(f, "field(\"P\", \"%s\", offsetof(_Py_DebugOffsets, %s));\n", e->bpath, e->bpath);
		if (e->bsize)
			fprintf(f, "field(\"P\", \"%s\", offsetof(_Py_DebugOffsets, %s));\n", e->bsize,
			        e->bsize);
		fprintf(f, "#endif\n");
	}
	cr_assert_eq(fclose(f), 0);
}

/* Compiles offsets_probe.c.in with flags and reads what it prints. */
static void run_probe(struct ref *r, const char *flags, bool core)
{
	struct scratch s;
	scratch_create(&s);
	if (core)
		write_fields(&s);
	char cmd[8192];
	snprintf(cmd, sizeof(cmd),
	         "cc -std=gnu11 -O0 -w %s -I'%s' -x c '%s/tests/unit/offsets_probe.c.in' -o '%s/probe' "
	         ">'%s/cc.log' 2>&1",
	         flags, s.dir, FTPROF_SOURCE_DIR, s.dir, s.dir);
	int status = system(cmd);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		char log[4096] = "", path[128];
		snprintf(path, sizeof(path), "%s/cc.log", s.dir);
		FILE *f = fopen(path, "r");
		if (f) {
			size_t n = fread(log, 1, sizeof(log) - 1, f);
			log[n] = '\0';
			fclose(f);
		}
		scratch_remove(&s);
		cr_assert_fail("%s: compiling the probe failed: %s\n%s", r->what, cmd, log);
	}
	snprintf(cmd, sizeof(cmd), "'%s/probe'", s.dir);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	parse_probe(r, f);
	status = pclose(f);
	scratch_remove(&s);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: probe failed (%d)", r->what, status);
	cr_assert(r->has_bits, "%s: probe printed no unicode bits", r->what);
}

/* Ground truth from Debian sid's 3.14/3.15 headers; skips when they are not
 * provisioned. */
static void ref_from_headers(struct ref *r, unsigned minor, bool ft)
{
	char cmd[256], dir[4096] = "";
	snprintf(cmd, sizeof(cmd), "'%s/scripts/interpreters' headers 3.%u 2>/dev/null", FTPROF_SOURCE_DIR,
	         minor);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	if (!fgets(dir, sizeof(dir), f))
		dir[0] = '\0';
	int status = pclose(f);
	dir[strcspn(dir, "\n")] = '\0';
	if (status != 0 || !dir[0])
		cr_skip_test("Debian sid's libpython3.%u-dev headers are not provisioned "
		             "(scripts/interpreters headers 3.%u)",
		             minor, minor);
	char flags[20000];
	/* Debian's core flags (sysconfig PY_CORE_CFLAGS); they decide the size
	 * of 3.15's _PyThreadStateImpl */
	snprintf(flags, sizeof(flags),
	         "-DPy_BUILD_CORE -DFTP_PROBE_CORE -DFTP_PROBE_PREHEADER -DNDEBUG -D_Py_TIER2=3 -D_Py_JIT %s "
	         "-I'%s' -I'%s/python3.%u' "
	         "-I'%s/python3.%u/internal' -I'%s/python3.%u/internal/mimalloc'",
	         ft ? "-DPy_GIL_DISABLED" : "", dir, dir, minor, dir, minor, dir, minor);
	run_probe(r, flags, true);
	cr_assert_eq(r->full, r->blob_len, "%s", r->what);
	cr_assert_eq(r->ft, ft, "%s: headers disagree about Py_GIL_DISABLED", r->what);
	cr_assert_eq((r->version >> 16) & 0xff, minor, "%s: headers are of 0x%x", r->what, r->version);
}

/* ---- live interpreters -------------------------------------------------- */

#define LIVE_SCRIPT                                                                               \
	"import sys, sysconfig, time\n"                                                           \
	"ft = 1 if sysconfig.get_config_var('Py_GIL_DISABLED') else 0\n"                          \
	"print('ready', sys.hexversion, ft, sysconfig.get_config_var('INCLUDEPY'), flush=True)\n" \
	"time.sleep(60)\n"

struct live {
	uint8_t blob[FTP_DEBUG_OFFSETS_MAX];
	uint32_t hexversion;
	bool ft;
	char include[1024];
	char elf[PATH_MAX];
};

/* Reads one line from fd within 30 s. */
static bool read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 30000) <= 0)
			return false;
		ssize_t got = read(fd, buf + n, 1);
		if (got <= 0)
			return false;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return true;
}

/* Finds _PyRuntime in the ELF files of the process whose name contains
 * "python" and reads FTP_DEBUG_OFFSETS_MAX bytes there. */
static bool inspect(pid_t pid, int fd, struct live *lv, char *why, size_t wlen)
{
	char line[PATH_MAX + 256];
	if (!read_line(fd, line, sizeof(line))) {
		snprintf(why, wlen, "no \"ready\" line within 30 s");
		return false;
	}
	unsigned hex;
	int ft, pos = 0;
	if (sscanf(line, "ready %u %d %n", &hex, &ft, &pos) != 2 || !pos) {
		snprintf(why, wlen, "unexpected output: %.200s", line);
		return false;
	}
	lv->hexversion = hex;
	lv->ft = ft != 0;
	snprintf(lv->include, sizeof(lv->include), "%s", line + pos);

	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	if (!maps) {
		snprintf(why, wlen, "cannot open %s", path);
		return false;
	}
	uint64_t runtime = 0;
	while (!runtime && fgets(line, sizeof(line), maps)) {
		unsigned long start, end, off;
		int at = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &start, &end, &off, &at) != 3 || !at)
			continue;
		char *file = line + at;
		file[strcspn(file, "\n")] = '\0';
		const char *base = strrchr(file, '/');
		if (file[0] != '/' || off != 0 || !base || !strstr(base, "python"))
			continue;
		struct ftp_elf *elf = NULL;
		struct ftp_error err = { 0 };
		if (ftp_elf_create(&elf, file, &err) != 0)
			continue;
		uint64_t sym = 0, sec = 0, size;
		bool has_sym = ftp_elf_symbol(elf, "_PyRuntime", &sym, &size) == 0 && sym;
		bool has_sec = ftp_elf_section(elf, ".PyRuntime", &sec, &size) == 0 && sec;
		if (has_sym && has_sec && sym != sec) {
			snprintf(why, wlen, "%s: _PyRuntime at 0x%llx but .PyRuntime at 0x%llx", file,
			         (unsigned long long)sym, (unsigned long long)sec);
			ftp_elf_destroy(elf);
			fclose(maps);
			return false;
		}
		if (has_sym || has_sec) {
			uint64_t bias = start - ftp_elf_base_vaddr(elf);
			if (!ftp_elf_is_dyn(elf)) {
				/* ET_EXEC is mapped at its link-time addresses */
				if (bias != 0) {
					snprintf(why, wlen, "%s is ET_EXEC but its bias is 0x%llx", file,
					         (unsigned long long)bias);
					ftp_elf_destroy(elf);
					fclose(maps);
					return false;
				}
			}
			runtime = bias + (has_sym ? sym : sec);
			snprintf(lv->elf, sizeof(lv->elf), "%s", file);
		}
		ftp_elf_destroy(elf);
	}
	fclose(maps);
	if (!runtime) {
		snprintf(why, wlen, "no ELF file of the process has _PyRuntime or .PyRuntime");
		return false;
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got = mem < 0 ? -1 : pread(mem, lv->blob, sizeof(lv->blob), (off_t)runtime);
	if (mem >= 0)
		close(mem);
	if (got != (ssize_t)sizeof(lv->blob)) {
		snprintf(why, wlen, "reading %zu bytes at 0x%llx of %s: %zd", sizeof(lv->blob),
		         (unsigned long long)runtime, path, got);
		return false;
	}
	return true;
}

/* Starts interpreter `name`, reads its _Py_DebugOffsets and kills it. Skips
 * when the interpreter is not provisioned. */
static void read_live(const char *name, struct live *lv)
{
	const char *py = test_interp_use(name);
	memset(lv, 0, sizeof(*lv));
	int fds[2];
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0, "fork");
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(py, py, "-c", LIVE_SCRIPT, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char why[PATH_MAX + 256] = "";
	bool ok = inspect(pid, fds[0], lv, why, sizeof(why));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	cr_assert(ok, "Python %s (%s): %s", name, py, why);
}

/* Ground truth for 3.13 and 3.13t: the DWARF of their libpython, and the
 * unicode bits compiled against the interpreter's own headers. */
static void ref_from_dwarf(struct ref *r, const char *name, const struct live *lv)
{
	const char *lib = test_interp_libpython(name);
	if (!lib)
		cr_skip_test("Python %s has no libpython%s.so.1.0 beside it", name, name);
	struct ftp_dwarf *dw = NULL;
	struct ftp_error err = { 0 };
	int ret = ftp_dwarf_create(&dw, lib, &err);
	cr_assert_eq(ret, 0, "ftp_dwarf_create(%s): %s", lib, err.msg);
	long full = ftp_dwarf_type_size(dw, "_Py_DebugOffsets");
	cr_assert_gt(full, 24, "%s: no _Py_DebugOffsets in the DWARF", lib);
	r->full = (size_t)full;
	for (size_t i = 0; i < NENT; i++) {
		const struct entry *e = &entries[i];
		if (!e->type || (e->flags & PROBED))
			continue;
		long v = e->member ? ftp_dwarf_member_offset(dw, e->type, e->member)
		                   : ftp_dwarf_type_size(dw, e->type);
		if (v >= 0) {
			r->want[i] = (uint64_t)v;
			r->has_want[i] = true;
		}
		r->bpos[i] = ftp_dwarf_member_offset(dw, "_Py_DebugOffsets", e->bpath);
		if (r->bpos[i] < 0)
			r->bpos[i] = -1;
		if (e->bsize) {
			r->spos[i] = ftp_dwarf_member_offset(dw, "_Py_DebugOffsets", e->bsize);
			if (r->spos[i] < 0)
				r->spos[i] = -1;
		}
	}
	ftp_dwarf_destroy(dw);
	r->version = lv->hexversion;
	r->ft = lv->ft;
	memcpy(r->blob, lv->blob, sizeof(r->blob));
	r->blob_len = sizeof(r->blob);

	/* the state bit-fields and the pre-header, from the interpreter's own
	 * headers */
	struct ref bits;
	ref_init(&bits, r->what, r->minor);
	char flags[8192];
	snprintf(flags, sizeof(flags),
	         "-DPy_BUILD_CORE -DFTP_PROBE_PREHEADER -DNDEBUG -I'%s' -I'%s/internal' "
	         "-I'%s/internal/mimalloc'",
	         lv->include, lv->include, lv->include);
	run_probe(&bits, flags, false);
	for (size_t i = 0; i < NENT; i++) {
		if (entries[i].flags & PROBED) {
			r->want[i] = bits.want[i];
			r->has_want[i] = bits.has_want[i];
		}
	}
	cr_assert_eq(bits.ft, lv->ft, "%s: headers in %s disagree about Py_GIL_DISABLED", r->what,
	             lv->include);
	r->has_bits = true;
	r->kind_shift = bits.kind_shift;
	r->kind_width = bits.kind_width;
	r->compact_bit = bits.compact_bit;
	r->ascii_bit = bits.ascii_bit;
	r->code_align = bits.code_align;
}

/* ---- comparing a layout with the ground truth --------------------------- */

static void check_layout(const struct ref *r, const struct ftp_layout *l)
{
	cr_expect_eq(l->version, r->version, "%s: version 0x%x, want 0x%x", r->what, l->version, r->version);
	cr_expect_eq(l->free_threaded, r->ft, "%s: free_threaded %d", r->what, l->free_threaded);
	cr_expect(l->from_debug_offsets, "%s", r->what);
	cr_expect_eq(l->frames, FTP_FRAMES_INTERP, "%s", r->what);
	cr_expect_eq(l->lines, FTP_LINES_LOCATIONS, "%s", r->what);
	cr_expect_eq(l->instr, FTP_INSTR_POINTER, "%s", r->what);

	char bad[4096] = "";
	size_t nbad = 0, required = 0, optional_set = 0;
	for (size_t i = 0; i < NENT; i++) {
		const struct entry *e = &entries[i];
		uint32_t got = lget(l, e->loff);
		if ((e->flags & (SOURCE | PATCH)) && !r->has_want[i])
			continue; /* no DWARF here, or another patch release's member */
		bool absent = !e->type || ((e->flags & FT_ONLY) && !r->ft) || !r->has_want[i];
		bool must = !absent && (r->bpos[i] >= 0 || (e->flags & ALWAYS));
		bool ok;
		if (absent)
			ok = got == NONE;
		else if (must)
			ok = got == r->want[i];
		else
			ok = got == NONE || got == r->want[i];
		required += must;
		optional_set += !absent && !must && got != NONE;
		if (ok)
			continue;
		size_t used = strlen(bad);
		if (absent)
			snprintf(bad + used, sizeof(bad) - used, "\n  %s = %u, want NONE", e->lname, got);
		else
			snprintf(bad + used, sizeof(bad) - used, "\n  %s = %ld, want %llu (%s %s)", e->lname,
			         got == NONE ? -1L : (long)got, (unsigned long long)r->want[i], e->type,
			         e->member ? e->member : "sizeof");
		nbad++;
	}
	cr_log_info("%s: %zu fields checked against ground truth, %zu more set although the blob "
	            "lacks them",
	            r->what, required, optional_set);
	cr_expect_gt(required, 40, "%s: only %zu fields compared", r->what, required);
	cr_expect_eq(nbad, 0, "%s: %zu fields wrong:%s", r->what, nbad, bad);

	/* the state bit-fields */
	cr_assert(r->has_bits);
	cr_expect_eq(r->kind_width, 3);
	cr_expect_eq(l->unicode.kind_shift, r->kind_shift, "%s: kind_shift %u, want %u", r->what,
	             l->unicode.kind_shift, r->kind_shift);
	cr_expect_eq(l->unicode.compact_bit, r->compact_bit, "%s: compact_bit %u, want %u", r->what,
	             l->unicode.compact_bit, r->compact_bit);
	cr_expect_eq(l->unicode.ascii_bit, r->ascii_bit, "%s: ascii_bit %u, want %u", r->what,
	             l->unicode.ascii_bit, r->ascii_bit);

	/* the tag mask clears no bit of an aligned code pointer, and (3.14+)
	 * exactly the tag bits a _PyStackRef can carry, tagged ints included */
	cr_assert_gt(r->code_align, 1);
	cr_expect_eq(l->code_tag_mask & ~(r->code_align - 1), 0,
	             "%s: code_tag_mask 0x%llx clears "
	             "pointer bits (PyCodeObject is %llu-aligned)",
	             r->what, (unsigned long long)l->code_tag_mask, (unsigned long long)r->code_align);
	if (r->has_tags) {
		uint64_t tags = r->tag_bits | r->int_tag;
		cr_expect_eq(l->code_tag_mask, tags, "%s: code_tag_mask 0x%llx, the tag bits are 0x%llx",
		             r->what, (unsigned long long)l->code_tag_mask, (unsigned long long)tags);
	}
}

static void parse_ok(const struct ref *r, const void *blob, size_t len, struct ftp_layout *l)
{
	struct ftp_error err = { 0 };
	memset(l, 0x5a, sizeof(*l));
	int ret = ftp_layout_from_debug_offsets(l, blob, len, &err);
	cr_assert_eq(ret, 0, "%s: ftp_layout_from_debug_offsets: %d %s", r->what, ret, err.msg);
}

/* ---- (a) live blobs ------------------------------------------------------ */

struct blob_case {
	char name[8];
	unsigned minor;
	bool ft;
};

static const struct blob_case live_cases[] = {
	{ "3.13", 13, false },
	{ "3.13t", 13, true },
	{ "3.14", 14, false },
	{ "3.15", 15, false },
};

/* The blob of a live interpreter and its ground truth. */
static void live_ref(struct ref *r, const struct blob_case *bc, struct live *lv)
{
	char what[64];
	snprintf(what, sizeof(what), "live %s", bc->name);
	read_live(bc->name, lv);
	ref_init(r, what, bc->minor);
	if (bc->minor == 13) {
		ref_from_dwarf(r, bc->name, lv);
		return;
	}
	ref_from_headers(r, bc->minor, bc->ft);
	/* the header-compiled blob is this interpreter's, byte for byte */
	cr_assert(memcmp(r->blob, lv->blob, r->full) == 0,
	          "live %s: _Py_DebugOffsets differs from _Py_DebugOffsets_INIT compiled against "
	          "sid's headers",
	          bc->name);
	memcpy(r->blob, lv->blob, sizeof(r->blob));
	r->blob_len = sizeof(r->blob);
}

ParameterizedTestParameters(debug_offsets, live)
{
	return cr_make_param_array(struct blob_case, live_cases, COUNT(live_cases));
}

ParameterizedTest(const struct blob_case *bc, debug_offsets, live)
{
	struct live *lv = malloc(sizeof(*lv));
	struct ref *r = malloc(sizeof(*r));
	live_ref(r, bc, lv);
	cr_log_info("live %s: _PyRuntime in %s", bc->name, lv->elf);
	struct ftp_layout l;
	parse_ok(r, lv->blob, sizeof(lv->blob), &l);
	/* what the interpreter says about itself */
	cr_expect_eq(l.version, lv->hexversion, "live %s: version 0x%x, sys.hexversion 0x%x", bc->name,
	             l.version, lv->hexversion);
	cr_expect_eq(l.free_threaded, lv->ft, "live %s: free_threaded %d, Py_GIL_DISABLED %d", bc->name,
	             l.free_threaded, lv->ft);
	cr_expect_eq(lv->ft, bc->ft, "live %s: sysconfig Py_GIL_DISABLED %d", bc->name, lv->ft);
	check_layout(r, &l);
	free(r);
	free(lv);
}

/* The ctest run a case belongs to: its interpreter's, or for a free-threaded
 * build that only sid's headers describe, the GIL build's of its minor (the
 * headers are provisioned with it). */
static void case_run(const struct blob_case *bc)
{
	char gil[8];
	snprintf(gil, sizeof(gil), "3.%u", bc->minor);
	test_interp_for(bc->ft && bc->minor > 13 ? gil : bc->name);
}

/* ---- (b) layouts predicted from headers ----------------------------------- */

static const struct blob_case predicted_cases[] = {
	{ "3.14", 14, false },
	{ "3.15", 15, false },
	{ "3.14t", 14, true },
	{ "3.15t", 15, true },
};

ParameterizedTestParameters(debug_offsets, predicted)
{
	return cr_make_param_array(struct blob_case, predicted_cases, COUNT(predicted_cases));
}

/* _Py_DebugOffsets_INIT compiled against sid's headers, with -DPy_GIL_DISABLED
 * for the free-threaded builds no binary exists of. GIL builds must also equal
 * the live interpreter's blob byte for byte. */
ParameterizedTest(const struct blob_case *bc, debug_offsets, predicted)
{
	case_run(bc);
	struct ref *r = malloc(sizeof(*r));
	char what[64];
	snprintf(what, sizeof(what), "%s predicted from headers", bc->name);
	ref_init(r, what, bc->minor);
	ref_from_headers(r, bc->minor, bc->ft);
	struct ftp_layout l;
	parse_ok(r, r->blob, r->full, &l);
	check_layout(r, &l);
	cr_expect_eq(l.free_threaded, bc->ft);
	if (bc->ft) {
		cr_expect_neq(l.frame.tlbc_index, NONE, "%s: no tlbc_index", what);
		cr_expect_neq(l.code.tlbc, NONE, "%s: no co_tlbc", what);
		cr_expect_neq(l.gil.enabled, NONE, "%s: no gil.enabled", what);
	}
	/* a blob of exactly sizeof(_Py_DebugOffsets) parses like a longer read */
	uint8_t padded[FTP_DEBUG_OFFSETS_MAX];
	memset(padded, 0xee, sizeof(padded));
	memcpy(padded, r->blob, r->full);
	struct ftp_layout l2;
	parse_ok(r, padded, sizeof(padded), &l2);
	cr_expect(memcmp(&l, &l2, sizeof(l)) == 0, "%s: trailing bytes change the layout", what);

	if (!bc->ft) {
		if (!test_interp_path(bc->name))
			cr_skip_test("%s: compared with the headers only; the byte-for-byte comparison "
			             "needs Python %s, which is not provisioned",
			             what, bc->name);
		struct live *lv = malloc(sizeof(*lv));
		read_live(bc->name, lv);
		cr_expect(memcmp(lv->blob, r->blob, r->full) == 0,
		          "%s: differs from the live interpreter's _Py_DebugOffsets", what);
		free(lv);
	}
	free(r);
}

/* ---- (c) hostile blobs ------------------------------------------------- */

static const struct blob_case hostile_cases[] = {
	{ "3.13", 13, false }, { "3.13t", 13, true }, { "3.14", 14, false },
	{ "3.15", 15, false }, { "3.14t", 14, true }, { "3.15t", 15, true },
};

/* Live blobs for interpreters that exist, header-compiled ones otherwise. */
static void hostile_ref(struct ref *r, const struct blob_case *bc)
{
	case_run(bc);
	if (bc->minor == 13 || (!bc->ft && test_interp_path(bc->name))) {
		struct live *lv = malloc(sizeof(*lv));
		live_ref(r, bc, lv);
		free(lv);
	} else {
		char what[64];
		snprintf(what, sizeof(what), "%s predicted from headers", bc->name);
		ref_init(r, what, bc->minor);
		ref_from_headers(r, bc->minor, bc->ft);
	}
}

static int parse(const void *blob, size_t len, struct ftp_error *err)
{
	struct ftp_layout l;
	memset(err, 0, sizeof(*err));
	return ftp_layout_from_debug_offsets(&l, blob, len, err);
}

static void put64(uint8_t *blob, long pos, uint64_t v)
{
	memcpy(blob + pos, &v, sizeof(v));
}

static uint64_t get64(const uint8_t *blob, long pos)
{
	uint64_t v;
	memcpy(&v, blob + pos, sizeof(v));
	return v;
}

ParameterizedTestParameters(debug_offsets, hostile)
{
	return cr_make_param_array(struct blob_case, hostile_cases, COUNT(hostile_cases));
}

/* Wrong cookies, versions ftprof does not know, every truncation: errors,
 * never a crash (ASan build). */
ParameterizedTest(const struct blob_case *bc, debug_offsets, hostile)
{
	struct ref *r = malloc(sizeof(*r));
	hostile_ref(r, bc);
	const char *what = r->what;
	size_t len = r->blob_len;
	uint8_t *b = malloc(len);
	struct ftp_error err;
	memcpy(b, r->blob, len);
	cr_assert_eq(parse(b, len, &err), 0, "%s: the real blob: %s", what, err.msg);

	/* cookie */
	for (size_t i = 0; i < 8; i++) {
		memcpy(b, r->blob, len);
		b[i] ^= 0x20;
		cr_expect_eq(parse(b, len, &err), -FTP_E_NOTPYTHON, "%s: cookie byte %zu", what, i);
		cr_expect_eq(err.code, FTP_E_NOTPYTHON);
		cr_expect_neq(err.msg[0], '\0', "%s: no message", what);
	}
	memset(b, 0, len);
	cr_expect_eq(parse(b, len, &err), -FTP_E_NOTPYTHON, "%s: zeroes", what);

	/* versions: 3.12 and older have no debug offsets; no 4.x exists */
	uint64_t real = get64(r->blob, 8);
	cr_assert_eq(real, r->version, "%s: blob version 0x%llx", what, (unsigned long long)real);
	const uint64_t versions[] = { 0x030c01f0, 0x030700f0, 0x020712f0,        0x040000f0, 0x040e00f0,
		                      0,          UINT32_MAX, real | 1ull << 32, UINT64_MAX };
	for (size_t i = 0; i < COUNT(versions); i++) {
		memcpy(b, r->blob, len);
		put64(b, 8, versions[i]);
		cr_expect_eq(parse(b, len, &err), -FTP_E_UNSUPPORTED, "%s: version 0x%llx", what,
		             (unsigned long long)versions[i]);
		cr_expect_eq(err.code, FTP_E_UNSUPPORTED, "%s: version 0x%llx", what,
		             (unsigned long long)versions[i]);
	}
	/* free_threaded is a boolean */
	memcpy(b, r->blob, len);
	put64(b, 16, 2);
	cr_expect_lt(parse(b, len, &err), 0, "%s: free_threaded 2", what);
	free(b);

	/* every truncation: an exact heap block, so ASan sees overreads */
	cr_assert_gt(r->full, 24);
	for (size_t n = 0; n <= r->full; n++) {
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, r->blob, n);
		int ret = parse(t, n, &err);
		if (n < r->full)
			cr_expect_lt(ret, 0, "%s: accepted %zu of %zu bytes", what, n, r->full);
		else
			cr_expect_eq(ret, 0, "%s: rejected all %zu bytes: %s", what, n, err.msg);
		free(t);
	}
	free(r);
}

ParameterizedTestParameters(debug_offsets, out_of_struct)
{
	return cr_make_param_array(struct blob_case, hostile_cases, COUNT(hostile_cases));
}

/* Every value the layout takes from the blob, made hostile: one past the end
 * of its struct, past 4 GiB (it must not be truncated to the layout's 32 bits)
 * and UINT64_MAX. The blob is rejected. */
ParameterizedTest(const struct blob_case *bc, debug_offsets, out_of_struct)
{
	struct ref *r = malloc(sizeof(*r));
	hostile_ref(r, bc);
	const char *what = r->what;
	struct ftp_error err;
	char bad[4096] = "";
	size_t nbad = 0, tried = 0;
	uint8_t *b = malloc(r->full);
	for (size_t i = 0; i < NENT; i++) {
		const struct entry *e = &entries[i];
		bool used = e->type && r->bpos[i] >= 0 && r->has_want[i] && (r->ft || !(e->flags & FT_ONLY));
		if (!used)
			continue;
		uint64_t orig = get64(r->blob, r->bpos[i]);
		uint64_t size = 0;
		if (e->bsize) {
			cr_assert_geq(r->spos[i], 0, "%s: no position of %s", what, e->bsize);
			size = get64(r->blob, r->spos[i]);
		}
		const uint64_t values[] = { orig + (1ull << 32), UINT64_MAX, size + 1 };
		static const char *const names[] = { "+ 4 GiB", "UINT64_MAX", "size + 1" };
		for (size_t v = 0; v < (e->bsize ? 3u : 2u); v++) {
			memcpy(b, r->blob, r->full);
			put64(b, r->bpos[i], values[v]);
			tried++;
			if (parse(b, r->full, &err) < 0)
				continue;
			nbad++;
			size_t at = strlen(bad);
			if (e->bsize)
				snprintf(bad + at, sizeof(bad) - at, "\n  %s (%s) = %s (%llu; %s is %llu)",
				         e->bpath, e->lname, names[v], (unsigned long long)values[v],
				         e->bsize, (unsigned long long)size);
			else
				snprintf(bad + at, sizeof(bad) - at, "\n  %s (%s) = %s (%llu)", e->bpath,
				         e->lname, names[v], (unsigned long long)values[v]);
		}
	}
	free(b);
	cr_log_info("%s: %zu out-of-struct offsets tried", what, tried);
	cr_expect_gt(tried, 90, "%s: only %zu", what, tried);
	cr_expect_eq(nbad, 0, "%s: %zu out-of-struct offsets accepted:%s", what, nbad, bad);
	free(r);
}

/* A minor newer than the newest known: a real 3.15 blob claiming 3.16 parses
 * with 3.15's field list. */
Test(debug_offsets, future_minor)
{
	static const struct blob_case c315 = { "3.15", 15, false };
	struct ref *r = malloc(sizeof(*r));
	hostile_ref(r, &c315);
	struct ftp_layout l315, l316;
	parse_ok(r, r->blob, r->blob_len, &l315);
	static const uint64_t futures[] = { 0x031000a1, 0x031000f0, 0x031105f0 };
	for (size_t i = 0; i < COUNT(futures); i++) {
		uint8_t *b = malloc(r->blob_len);
		memcpy(b, r->blob, r->blob_len);
		put64(b, 8, futures[i]);
		parse_ok(r, b, r->blob_len, &l316);
		cr_expect_eq(l316.version, futures[i]);
		l316.version = l315.version;
		cr_expect(memcmp(&l315, &l316, sizeof(l315)) == 0,
		          "version 0x%llx: layout differs from 3.15's", (unsigned long long)futures[i]);
		free(b);
	}
	free(r);
}
