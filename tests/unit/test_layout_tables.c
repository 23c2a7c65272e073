/* SPDX-License-Identifier: MIT */
/* Checks the built-in layouts of 3.8-3.12 and the DWARF reader against provisioned libpythons. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ftprof/symbols.h"
#include "interp.h"

/* ---- helpers ----------------------------------------------------------- */

#define FIELD(f) offsetof(struct ftp_layout, f), #f

/* A PY_VERSION_HEX with a micro and a release level, so that a table that
 * stores its own version instead of the caller's shows. */
static uint32_t version_hex(unsigned major, unsigned minor)
{
	return (uint32_t)major << 24 | (uint32_t)minor << 16 | 7u << 8 | 0xf0u;
}

/* The DWARF of the provisioned libpython of `name`; skips the test when the
 * interpreter is not provisioned. */
static struct ftp_dwarf *open_libpython(const char *name)
{
	test_interp_use(name);
	const char *lib = test_interp_libpython(name);
	if (!lib)
		cr_skip_test("Python %s has no "
		             "libpython%s.so.1.0 beside it",
		             name, name);
	struct ftp_error err = { 0 };
	struct ftp_dwarf *dw = NULL;
	int ret = ftp_dwarf_create(&dw, lib, &err);
	cr_assert_eq(ret, 0, "ftp_dwarf_create(%s): %d %s", lib, ret, err.msg);
	return dw;
}

static uint32_t field_value(const struct ftp_layout *l, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)l + off, sizeof(v));
	return v;
}

/* ---- what each layout field means, per minor --------------------------- */

/* Every uint32_t offset field of struct ftp_layout, in declaration order. */
static const struct {
	size_t off;
	const char *name;
} fields[] = {
	{ FIELD(runtime.size) },
	{ FIELD(runtime.interpreters_head) },
	{ FIELD(runtime.gil) },
	{ FIELD(runtime.tstate_current) },
	{ FIELD(interp.size) },
	{ FIELD(interp.next) },
	{ FIELD(interp.id) },
	{ FIELD(interp.threads_head) },
	{ FIELD(interp.threads_main) },
	{ FIELD(interp.modules) },
	{ FIELD(interp.ceval_gil) },
	{ FIELD(interp.gc) },
	{ FIELD(gil.enabled) },
	{ FIELD(gil.last_holder) },
	{ FIELD(gil.locked) },
	{ FIELD(gil.switch_number) },
	{ FIELD(gc_collecting) },
	{ FIELD(stw.interp_offset) },
	{ FIELD(stw.world_stopped) },
	{ FIELD(stw.requester) },
	{ FIELD(threading.object_head) },
	{ FIELD(threading.ob_mutex) },
	{ FIELD(threading.lock_mutex) },
	{ FIELD(threading.lock_sem) },
	{ FIELD(threading.rlock_mutex) },
	{ FIELD(threading.rlock_sem) },
	{ FIELD(threading.rlock_owner) },
	{ FIELD(threading.cfunc_self) },
	{ FIELD(threading.wait_entry_addr) },
	{ FIELD(tstate.size) },
	{ FIELD(tstate.prev) },
	{ FIELD(tstate.next) },
	{ FIELD(tstate.interp) },
	{ FIELD(tstate.frame) },
	{ FIELD(tstate.cframe_current_frame) },
	{ FIELD(tstate.thread_id) },
	{ FIELD(tstate.native_thread_id) },
	{ FIELD(tstate.datastack_chunk) },
	{ FIELD(tstate.status) },
	{ FIELD(tstate.holds_gil) },
	{ FIELD(tstate.state) },
	{ FIELD(tstate.critical_section) },
	{ FIELD(tstate.datastack_top) },
	{ FIELD(frame.size) },
	{ FIELD(frame.previous) },
	{ FIELD(frame.code) },
	{ FIELD(frame.instr) },
	{ FIELD(frame.owner) },
	{ FIELD(frame.is_entry) },
	{ FIELD(frame.tlbc_index) },
	{ FIELD(frame.localsplus) },
	{ FIELD(code.size) },
	{ FIELD(code.filename) },
	{ FIELD(code.name) },
	{ FIELD(code.qualname) },
	{ FIELD(code.linetable) },
	{ FIELD(code.firstlineno) },
	{ FIELD(code.code) },
	{ FIELD(code.tlbc) },
	{ FIELD(code.tlbc_size) },
	{ FIELD(code.tlbc_entries) },
	{ FIELD(object.ob_type) },
	{ FIELD(object.tp_name) },
	{ FIELD(object.tp_flags) },
	{ FIELD(object.var_size) },
	{ FIELD(object.tp_basicsize) },
	{ FIELD(object.tp_dictoffset) },
	{ FIELD(object.ht_cached_keys) },
	{ FIELD(object.managed_dict_before) },
	{ FIELD(object.managed_values_before) },
	{ FIELD(tuple.ob_item) },
	{ FIELD(list.ob_item) },
	{ FIELD(dict.ma_keys) },
	{ FIELD(dict.ma_values) },
	{ FIELD(bytes.ob_sval) },
	{ FIELD(module.md_dict) },
	{ FIELD(module.md_name) },
	{ FIELD(function.qualname) },
	{ FIELD(pylong.lv_tag) },
	{ FIELD(pylong.ob_digit) },
	{ FIELD(dict_keys.dk_size) },
	{ FIELD(dict_keys.dk_log2_size) },
	{ FIELD(dict_keys.dk_log2_index_bytes) },
	{ FIELD(dict_keys.dk_kind) },
	{ FIELD(dict_keys.dk_nentries) },
	{ FIELD(dict_keys.dk_indices) },
	{ FIELD(dict_entry.size) },
	{ FIELD(dict_entry.me_key) },
	{ FIELD(dict_entry.me_value) },
	{ FIELD(dict_uentry.size) },
	{ FIELD(dict_uentry.me_key) },
	{ FIELD(dict_uentry.me_value) },
	{ FIELD(dict_values.capacity) },
	{ FIELD(dict_values.valid) },
	{ FIELD(dict_values.values) },
	{ FIELD(unicode.length) },
	{ FIELD(unicode.state) },
	{ FIELD(unicode.ascii_size) },
	{ FIELD(unicode.compact_size) },
};

/* For minors lo..hi the field is the offset of member in type, or
 * sizeof(type) when member is NULL. */
static const struct {
	size_t off;
	const char *name;
	unsigned lo, hi;
	const char *type, *member;
} present[] = {
	{ FIELD(runtime.size), 8, 12, "_PyRuntimeState", NULL },
	{ FIELD(runtime.interpreters_head), 8, 12, "_PyRuntimeState", "interpreters.head" },
	{ FIELD(runtime.gil), 8, 11, "_PyRuntimeState", "ceval.gil" },
	{ FIELD(runtime.tstate_current), 8, 11, "_PyRuntimeState", "gilstate.tstate_current" },
	{ FIELD(interp.size), 8, 12, "PyInterpreterState", NULL },
	{ FIELD(interp.next), 8, 12, "PyInterpreterState", "next" },
	{ FIELD(interp.id), 8, 12, "PyInterpreterState", "id" },
	{ FIELD(interp.threads_head), 8, 10, "PyInterpreterState", "tstate_head" },
	{ FIELD(interp.threads_head), 11, 12, "PyInterpreterState", "threads.head" },
	{ FIELD(interp.modules), 8, 11, "PyInterpreterState", "modules" },
	{ FIELD(interp.modules), 12, 12, "PyInterpreterState", "imports.modules" },
	{ FIELD(interp.ceval_gil), 12, 12, "PyInterpreterState", "ceval.gil" },
	{ FIELD(interp.gc), 9, 12, "PyInterpreterState", "gc" },
	{ FIELD(gil.last_holder), 8, 12, "_gil_runtime_state", "last_holder" },
	{ FIELD(gil.locked), 8, 12, "_gil_runtime_state", "locked" },
	{ FIELD(gil.switch_number), 8, 12, "_gil_runtime_state", "switch_number" },
	{ FIELD(gc_collecting), 8, 12, "_gc_runtime_state", "collecting" },
	{ FIELD(tstate.size), 8, 12, "PyThreadState", NULL },
	{ FIELD(tstate.prev), 8, 12, "PyThreadState", "prev" },
	{ FIELD(tstate.next), 8, 12, "PyThreadState", "next" },
	{ FIELD(tstate.interp), 8, 12, "PyThreadState", "interp" },
	{ FIELD(tstate.frame), 8, 10, "PyThreadState", "frame" },
	{ FIELD(tstate.frame), 11, 12, "PyThreadState", "cframe" },
	{ FIELD(tstate.cframe_current_frame), 11, 12, "_PyCFrame", "current_frame" },
	{ FIELD(tstate.thread_id), 8, 12, "PyThreadState", "thread_id" },
	{ FIELD(tstate.native_thread_id), 11, 12, "PyThreadState", "native_thread_id" },
	{ FIELD(tstate.datastack_chunk), 11, 12, "PyThreadState", "datastack_chunk" },
	{ FIELD(tstate.datastack_top), 11, 12, "PyThreadState", "datastack_top" },
	{ FIELD(frame.localsplus), 8, 10, "_frame", "f_localsplus" },
	{ FIELD(frame.localsplus), 11, 12, "_PyInterpreterFrame", "localsplus" },
	{ FIELD(threading.object_head), 8, 12, "PyObject", NULL },
	{ FIELD(threading.rlock_owner), 8, 12, "rlockobject", "rlock_owner" },
	{ FIELD(threading.rlock_sem), 8, 12, "rlockobject", "rlock_lock" },
	{ FIELD(threading.lock_sem), 8, 12, "lockobject", "lock_lock" },
	{ FIELD(threading.cfunc_self), 8, 12, "PyCFunctionObject", "m_self" },
	{ FIELD(frame.size), 8, 10, "_frame", NULL },
	{ FIELD(frame.size), 11, 12, "_PyInterpreterFrame", NULL },
	{ FIELD(frame.previous), 8, 10, "_frame", "f_back" },
	{ FIELD(frame.previous), 11, 12, "_PyInterpreterFrame", "previous" },
	{ FIELD(frame.code), 8, 10, "_frame", "f_code" },
	{ FIELD(frame.code), 11, 12, "_PyInterpreterFrame", "f_code" },
	{ FIELD(frame.instr), 8, 10, "_frame", "f_lasti" },
	{ FIELD(frame.instr), 11, 12, "_PyInterpreterFrame", "prev_instr" },
	{ FIELD(frame.owner), 11, 12, "_PyInterpreterFrame", "owner" },
	{ FIELD(frame.is_entry), 11, 11, "_PyInterpreterFrame", "is_entry" },
	{ FIELD(code.size), 8, 12, "PyCodeObject", NULL },
	{ FIELD(code.filename), 8, 12, "PyCodeObject", "co_filename" },
	{ FIELD(code.name), 8, 12, "PyCodeObject", "co_name" },
	{ FIELD(code.qualname), 11, 12, "PyCodeObject", "co_qualname" },
	{ FIELD(code.linetable), 8, 9, "PyCodeObject", "co_lnotab" },
	{ FIELD(code.linetable), 10, 12, "PyCodeObject", "co_linetable" },
	{ FIELD(code.firstlineno), 8, 12, "PyCodeObject", "co_firstlineno" },
	{ FIELD(code.code), 8, 10, "PyCodeObject", "co_code" },
	{ FIELD(code.code), 11, 12, "PyCodeObject", "co_code_adaptive" },
	{ FIELD(object.ob_type), 8, 12, "PyObject", "ob_type" },
	{ FIELD(object.tp_name), 8, 12, "PyTypeObject", "tp_name" },
	{ FIELD(object.tp_flags), 8, 12, "PyTypeObject", "tp_flags" },
	{ FIELD(object.var_size), 8, 12, "PyVarObject", "ob_size" },
	{ FIELD(object.tp_basicsize), 8, 12, "PyTypeObject", "tp_basicsize" },
	{ FIELD(object.tp_dictoffset), 8, 12, "PyTypeObject", "tp_dictoffset" },
	{ FIELD(object.ht_cached_keys), 8, 12, "PyHeapTypeObject", "ht_cached_keys" },
	{ FIELD(tuple.ob_item), 8, 12, "PyTupleObject", "ob_item" },
	{ FIELD(list.ob_item), 8, 12, "PyListObject", "ob_item" },
	{ FIELD(dict.ma_keys), 8, 12, "PyDictObject", "ma_keys" },
	{ FIELD(dict.ma_values), 8, 12, "PyDictObject", "ma_values" },
	{ FIELD(bytes.ob_sval), 8, 12, "PyBytesObject", "ob_sval" },
	{ FIELD(module.md_dict), 8, 12, "PyModuleObject", "md_dict" },
	{ FIELD(module.md_name), 8, 12, "PyModuleObject", "md_name" },
	{ FIELD(function.qualname), 8, 12, "PyFunctionObject", "func_qualname" },
	{ FIELD(pylong.lv_tag), 8, 11, "PyLongObject", "ob_base.ob_size" },
	{ FIELD(pylong.lv_tag), 12, 12, "PyLongObject", "long_value.lv_tag" },
	{ FIELD(pylong.ob_digit), 8, 11, "PyLongObject", "ob_digit" },
	{ FIELD(pylong.ob_digit), 12, 12, "PyLongObject", "long_value.ob_digit" },
	{ FIELD(dict_keys.dk_size), 8, 10, "PyDictKeysObject", "dk_size" },
	{ FIELD(dict_keys.dk_log2_size), 11, 12, "PyDictKeysObject", "dk_log2_size" },
	{ FIELD(dict_keys.dk_log2_index_bytes), 11, 12, "PyDictKeysObject", "dk_log2_index_bytes" },
	{ FIELD(dict_keys.dk_kind), 11, 12, "PyDictKeysObject", "dk_kind" },
	{ FIELD(dict_keys.dk_nentries), 8, 12, "PyDictKeysObject", "dk_nentries" },
	{ FIELD(dict_keys.dk_indices), 8, 12, "PyDictKeysObject", "dk_indices" },
	{ FIELD(dict_entry.size), 8, 12, "PyDictKeyEntry", NULL },
	{ FIELD(dict_entry.me_key), 8, 12, "PyDictKeyEntry", "me_key" },
	{ FIELD(dict_entry.me_value), 8, 12, "PyDictKeyEntry", "me_value" },
	{ FIELD(dict_uentry.size), 11, 12, "PyDictUnicodeEntry", NULL },
	{ FIELD(dict_uentry.me_key), 11, 12, "PyDictUnicodeEntry", "me_key" },
	{ FIELD(dict_uentry.me_value), 11, 12, "PyDictUnicodeEntry", "me_value" },
	{ FIELD(dict_values.values), 11, 12, "PyDictValues", "values" },
	{ FIELD(unicode.length), 8, 12, "PyASCIIObject", "length" },
	{ FIELD(unicode.state), 8, 12, "PyASCIIObject", "state" },
	{ FIELD(unicode.ascii_size), 8, 12, "PyASCIIObject", NULL },
	{ FIELD(unicode.compact_size), 8, 12, "PyCompactUnicodeObject", NULL },
};

/* When the layout says a field is absent, these members must be missing from
 * the DWARF too. */
static const struct {
	size_t off;
	const char *name;
	const char *type, *member;
} absent[] = {
	{ FIELD(runtime.gil), "_PyRuntimeState", "ceval.gil" },
	{ FIELD(runtime.tstate_current), "_PyRuntimeState", "gilstate.tstate_current" },
	{ FIELD(interp.threads_main), "PyInterpreterState", "threads.main" },
	{ FIELD(interp.ceval_gil), "PyInterpreterState", "ceval.gil" },
	/* 3.8 keeps its GC state in _PyRuntimeState */
	{ FIELD(interp.gc), "PyInterpreterState", "gc" },
	{ FIELD(gil.enabled), "_gil_runtime_state", "enabled" },
	{ FIELD(tstate.cframe_current_frame), "_PyCFrame", "current_frame" },
	{ FIELD(tstate.cframe_current_frame), "CFrame", "current_frame" },
	{ FIELD(tstate.native_thread_id), "PyThreadState", "native_thread_id" },
	{ FIELD(tstate.datastack_chunk), "PyThreadState", "datastack_chunk" },
	/* 3.12 has a _status word, but not the holds_gil bit of 3.13 */
	{ FIELD(tstate.status), "PyThreadState", "_status.holds_gil" },
	{ FIELD(tstate.holds_gil), "PyThreadState", "holds_gil" },
	{ FIELD(tstate.state), "PyThreadState", "state" },
	{ FIELD(tstate.critical_section), "PyThreadState", "critical_section" },
	{ FIELD(stw.interp_offset), "PyInterpreterState", "stoptheworld" },
	{ FIELD(frame.owner), "_PyInterpreterFrame", "owner" },
	{ FIELD(frame.owner), "_frame", "owner" },
	{ FIELD(frame.is_entry), "_PyInterpreterFrame", "is_entry" },
	{ FIELD(frame.tlbc_index), "_PyInterpreterFrame", "tlbc_index" },
	{ FIELD(code.qualname), "PyCodeObject", "co_qualname" },
	{ FIELD(code.tlbc), "PyCodeObject", "co_tlbc" },
	{ FIELD(code.tlbc_size), "_PyCodeArray", "size" },
	{ FIELD(code.tlbc_entries), "_PyCodeArray", "entries" },
	{ FIELD(dict_keys.dk_size), "PyDictKeysObject", "dk_size" },
	{ FIELD(dict_keys.dk_log2_size), "PyDictKeysObject", "dk_log2_size" },
	{ FIELD(dict_keys.dk_log2_index_bytes), "PyDictKeysObject", "dk_log2_index_bytes" },
	{ FIELD(dict_keys.dk_kind), "PyDictKeysObject", "dk_kind" },
	{ FIELD(dict_uentry.size), "PyDictUnicodeEntry", "me_key" },
	{ FIELD(dict_uentry.me_key), "PyDictUnicodeEntry", "me_key" },
	{ FIELD(dict_uentry.me_value), "PyDictUnicodeEntry", "me_value" },
	/* <= 3.10: ma_values is a bare PyObject ** */
	{ FIELD(dict_values.values), "PyDictValues", "values" },
	{ FIELD(dict_values.capacity), "PyDictValues", "capacity" },
	{ FIELD(dict_values.valid), "PyDictValues", "valid" },
};

/* Fields no struct member states, checked by the pre-header test below
 * against the headers' own accessors instead of the DWARF. */
static const size_t probed[] = {
	offsetof(struct ftp_layout, object.managed_dict_before),
	offsetof(struct ftp_layout, object.managed_values_before),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* fields[] must name every offset of struct ftp_layout: its entries are
 * 4 bytes apart, except where code_tag_mask sits between frame and code, and
 * they cover the struct from runtime to the unicode bit positions. */
Test(layout_tables, field_list_is_complete)
{
	test_interp_none();
	cr_assert_eq(fields[0].off, offsetof(struct ftp_layout, runtime));
	for (size_t i = 1; i < COUNT(fields); i++) {
		if (fields[i].off == offsetof(struct ftp_layout, code)) {
			cr_assert_eq(fields[i - 1].off, offsetof(struct ftp_layout, frame.localsplus));
			cr_assert_lt(offsetof(struct ftp_layout, code_tag_mask) - fields[i - 1].off, 12);
			cr_assert_eq(offsetof(struct ftp_layout, code),
			             offsetof(struct ftp_layout, code_tag_mask) + 8);
			continue;
		}
		cr_assert_eq(fields[i].off, fields[i - 1].off + 4, "a field before %s is not checked",
		             fields[i].name);
	}
	cr_assert_eq(fields[COUNT(fields) - 1].off + 4, offsetof(struct ftp_layout, unicode.kind_shift));
}

/* ---- one parameter per minor ----------------------------------------- */

/* Criterion copies parameters into the test's process: no pointers. */
struct minor_case {
	char name[8];
	unsigned minor;
};

static const struct minor_case minors[] = {
	{ "3.8", 8 }, { "3.9", 9 }, { "3.10", 10 }, { "3.11", 11 }, { "3.12", 12 },
};

ParameterizedTestParameters(layout_tables, matches_dwarf)
{
	return cr_make_param_array(struct minor_case, minors, COUNT(minors));
}

ParameterizedTest(const struct minor_case *mc, layout_tables, matches_dwarf)
{
	struct ftp_layout l;
	struct ftp_error err = { 0 };
	uint32_t version = version_hex(3, mc->minor);
	int ret = ftp_layout_builtin(&l, version, false, &err);
	cr_assert_eq(ret, 0, "ftp_layout_builtin(%s): %s", mc->name, err.msg);

	cr_expect_eq(l.version, version);
	cr_expect(!l.free_threaded);
	cr_expect(!l.from_debug_offsets);
	cr_expect_eq(l.code_tag_mask, 0);
	cr_expect_eq(l.frames, mc->minor <= 10 ? FTP_FRAMES_OBJECT : FTP_FRAMES_INTERP);
	cr_expect_eq(l.lines, mc->minor <= 9    ? FTP_LINES_LNOTAB
	                      : mc->minor == 10 ? FTP_LINES_310
	                                        : FTP_LINES_LOCATIONS);
	cr_expect_eq(l.instr, mc->minor <= 9    ? FTP_INSTR_LASTI_BYTES
	                      : mc->minor == 10 ? FTP_INSTR_LASTI_UNITS
	                                        : FTP_INSTR_POINTER);
	/* gcc's little-endian bit-field order of PyASCIIObject.state (<= 3.12):
	 * interned:2, kind:3, compact:1, ascii:1 */
	cr_expect_eq(l.unicode.kind_shift, 2);
	cr_expect_eq(l.unicode.compact_bit, 5);
	cr_expect_eq(l.unicode.ascii_bit, 6);

	struct ftp_dwarf *dw = open_libpython(mc->name);
	/* the bit-fields sit in the state word the layout names */
	static const char *const bits[] = { "state.interned", "state.kind", "state.compact", "state.ascii" };
	for (size_t i = 0; i < COUNT(bits); i++)
		cr_expect_eq(ftp_dwarf_member_offset(dw, "PyASCIIObject", bits[i]), (long)l.unicode.state,
		             "%s: PyASCIIObject.%s", mc->name, bits[i]);

	for (size_t f = 0; f < COUNT(fields); f++) {
		uint32_t value = field_value(&l, fields[f].off);
		size_t nchecks = 0;
		for (size_t c = 0; c < COUNT(probed); c++)
			nchecks += probed[c] == fields[f].off;
		for (size_t c = 0; c < COUNT(present); c++) {
			if (present[c].off != fields[f].off || mc->minor < present[c].lo ||
			    mc->minor > present[c].hi)
				continue;
			nchecks++;
			long want = present[c].member
			                    ? ftp_dwarf_member_offset(dw, present[c].type, present[c].member)
			                    : ftp_dwarf_type_size(dw, present[c].type);
			cr_expect_geq(want, 0, "%s: %s %s not in the DWARF (%ld)", mc->name, present[c].type,
			              present[c].member ? present[c].member : "", want);
			cr_expect_eq((long)value, want, "%s: %s is %ld, DWARF %s %s says %ld", mc->name,
			             fields[f].name, value == FTP_OFF_NONE ? -1L : (long)value,
			             present[c].type, present[c].member ? present[c].member : "(sizeof)",
			             want);
		}
		if (value != FTP_OFF_NONE) {
			cr_expect_eq(nchecks, 1, "%s: %s = %u has %zu checks", mc->name, fields[f].name,
			             value, nchecks);
			continue;
		}
		for (size_t a = 0; a < COUNT(absent); a++) {
			if (absent[a].off != fields[f].off)
				continue;
			long got = ftp_dwarf_member_offset(dw, absent[a].type, absent[a].member);
			cr_expect_eq(got, -FTP_E_NOTFOUND, "%s: %s is absent but DWARF has %s %s at %ld",
			             mc->name, fields[f].name, absent[a].type, absent[a].member, got);
		}
	}
	ftp_dwarf_destroy(dw);
}

Test(layout_tables, unsupported_versions)
{
	test_interp_none();
	struct ftp_layout l;
	struct ftp_error err;
	static const uint32_t versions[] = { 0x030712f0, 0x030d00f0, 0x030e00f0, 0x020712f0, 0x040800f0 };
	for (size_t i = 0; i < COUNT(versions); i++) {
		memset(&err, 0, sizeof(err));
		cr_expect_eq(ftp_layout_builtin(&l, versions[i], false, &err), -FTP_E_UNSUPPORTED,
		             "version 0x%08x", versions[i]);
		cr_expect_eq(err.code, FTP_E_UNSUPPORTED);
	}
	memset(&err, 0, sizeof(err));
	ftp_layout_builtin(&l, 0x030d00f0, false, &err);
	cr_expect(strstr(err.msg, "3.13") != NULL, "message does not name 3.13: %s", err.msg);
	memset(&err, 0, sizeof(err));
	ftp_layout_builtin(&l, 0x030712f0, false, &err);
	cr_expect(strstr(err.msg, "3.7") != NULL, "message does not name 3.7: %s", err.msg);

	/* no built-in layout is free-threaded, not even a supported minor's */
	for (unsigned minor = 8; minor <= 13; minor++) {
		memset(&err, 0, sizeof(err));
		cr_expect_eq(ftp_layout_builtin(&l, version_hex(3, minor), true, &err), -FTP_E_UNSUPPORTED,
		             "free-threaded 3.%u", minor);
		cr_expect_eq(err.code, FTP_E_UNSUPPORTED);
	}
	cr_expect_eq(ftp_layout_builtin(&l, 0x030d00f0, false, NULL), -FTP_E_UNSUPPORTED);
}

/* The built-in layouts keep every field within what the probe reads of its
 * struct, as parsed ones must; and a field moved beyond it is refused. */
Test(layout_tables, within_read_spans)
{
	test_interp_none();
	struct ftp_layout l;
	struct ftp_error err = { 0 };
	for (unsigned minor = 8; minor <= 12; minor++) {
		cr_assert_eq(ftp_layout_builtin(&l, version_hex(3, minor), false, &err), 0);
		cr_expect_eq(ftp_layout_check(&l, &err), 0, "3.%u: %s", minor, err.msg);
	}
	cr_assert_eq(ftp_layout_builtin(&l, version_hex(3, 12), false, &err), 0);
	struct ftp_layout bad = l;
	bad.frame.previous = FTP_LAYOUT_FRAME_SPAN - 4;
	bad.frame.size = 4096;
	cr_expect_eq(ftp_layout_check(&bad, &err), -FTP_E_UNSUPPORTED);
	cr_expect(strstr(err.msg, "frame.previous") != NULL, "%s", err.msg);
	bad = l;
	bad.tstate.native_thread_id = l.tstate.size;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
	bad = l;
	bad.unicode.state = l.unicode.ascii_size;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
	bad = l;
	bad.object.ob_type = FTP_LAYOUT_OBJECT_SPAN;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
	bad = l;
	bad.dict_uentry.me_value = l.dict_uentry.size;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
	bad = l;
	bad.dict_keys.dk_nentries = FTP_LAYOUT_KEYS_SPAN - 4;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
	bad = l;
	bad.pylong.lv_tag = l.pylong.ob_digit;
	cr_expect_eq(ftp_layout_check(&bad, NULL), -FTP_E_UNSUPPORTED);
}

/* ---- what no struct member says: where the managed dict lies ----------- */

ParameterizedTestParameters(layout_tables, preheader)
{
	return cr_make_param_array(struct minor_case, minors, COUNT(minors));
}

/* Compiles tests/unit/offsets_probe.c.in against the interpreter's own
 * headers (3.11+: internal ones too, whose accessors place the managed dict
 * before the object) and compares what it prints with the layout. */
ParameterizedTest(const struct minor_case *mc, layout_tables, preheader)
{
	const char *py = test_interp_path(mc->name);
	if (!py)
		cr_skip_test("Python %s is not provisioned (scripts/interpreters list)", mc->name);
	char cmd[8192], inc[4096] = "", dir[] = "/tmp/ftp_preheader.XXXXXX";
	snprintf(cmd, sizeof(cmd),
	         "'%s' -c 'import sysconfig; print(sysconfig.get_config_var(\"INCLUDEPY\"))'", py);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	if (!fgets(inc, sizeof(inc), f))
		inc[0] = '\0';
	cr_assert_eq(pclose(f), 0, "%s: %s", mc->name, cmd);
	inc[strcspn(inc, "\n")] = '\0';
	cr_assert_not_null(mkdtemp(dir));
	int n = snprintf(
	        cmd, sizeof(cmd),
	        "cc -std=gnu11 -O0 -w %s -I'%s' -I'%s/internal' -x c '%s/tests/unit/offsets_probe.c.in' "
	        "-o '%s/probe' 2>&1 && '%s/probe'; s=$?; rm -f '%s/probe'; rmdir '%s'; exit $s",
	        mc->minor >= 11 ? "-DPy_BUILD_CORE -DNDEBUG -DFTP_PROBE_PREHEADER" : "", inc, inc,
	        FTPROF_SOURCE_DIR, dir, dir, dir, dir);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd), "%s: the compile command does not fit (%d bytes)",
	          mc->name, n);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	uint32_t got[COUNT(probed)];
	for (size_t i = 0; i < COUNT(probed); i++)
		got[i] = FTP_OFF_NONE;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned long long v;
		if (sscanf(line, "L %127s %llu", name, &v) != 2)
			continue;
		size_t i = 0;
		while (i < COUNT(fields) && strcmp(fields[i].name, name) != 0)
			i++;
		cr_assert_lt(i, COUNT(fields), "%s: probe printed unknown field %s", mc->name, name);
		size_t c = 0;
		while (c < COUNT(probed) && probed[c] != fields[i].off)
			c++;
		cr_assert_lt(c, COUNT(probed), "%s: %s is not a pre-header field", mc->name, name);
		got[c] = (uint32_t)v;
	}
	cr_assert_eq(pclose(f), 0, "%s: compiling or running the probe failed: %s", mc->name, cmd);

	struct ftp_layout l;
	cr_assert_eq(ftp_layout_builtin(&l, version_hex(3, mc->minor), false, NULL), 0);
	for (size_t c = 0; c < COUNT(probed); c++) {
		const char *name = "?";
		for (size_t i = 0; i < COUNT(fields); i++)
			if (fields[i].off == probed[c])
				name = fields[i].name;
		uint32_t value = field_value(&l, probed[c]);
		cr_expect_eq(value, got[c], "%s: %s is %ld, the headers say %ld", mc->name, name,
		             value == FTP_OFF_NONE ? -1L : (long)value,
		             got[c] == FTP_OFF_NONE ? -1L : (long)got[c]);
	}
}

/* ---- the DWARF reader ------------------------------------------------ */

ParameterizedTestParameters(dwarf, invariants)
{
	return cr_make_param_array(struct minor_case, minors, COUNT(minors));
}

ParameterizedTest(const struct minor_case *mc, dwarf, invariants)
{
	struct ftp_dwarf *dw = open_libpython(mc->name);
	const char *v = mc->name;

	/* ABI: ob_type follows the 8-byte reference count in GIL builds; tag,
	 * typedef and "struct " prefix name the same type */
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_object", "ob_type"), 8, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyObject", "ob_type"), 8, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "struct _object", "ob_type"), 8, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "union _object", "ob_type"), -FTP_E_NOTFOUND, "%s", v);
	cr_expect_eq(ftp_dwarf_type_size(dw, "PyObject"), 16, "%s", v);

	/* typedefs of structs declared incomplete in most units resolve to the
	 * definition */
	long ts = ftp_dwarf_type_size(dw, "PyThreadState");
	cr_expect_gt(ts, 0, "%s", v);
	cr_expect_eq(ts, ftp_dwarf_type_size(dw, "_ts"), "%s", v);
	cr_expect_eq(ftp_dwarf_type_size(dw, "PyInterpreterState"), ftp_dwarf_type_size(dw, "_is"), "%s", v);
	cr_expect_gt(ftp_dwarf_type_size(dw, "_is"), 0, "%s", v);
	cr_expect_eq(ftp_dwarf_type_size(dw, "PyFrameObject"), ftp_dwarf_type_size(dw, "_frame"), "%s", v);
	long tid = ftp_dwarf_member_offset(dw, "_ts", "thread_id");
	cr_expect_gt(tid, 0, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyThreadState", "thread_id"), tid, "%s", v);

	/* a path through PyVarObject to PyObject adds the nested offsets */
	long var_size = ftp_dwarf_member_offset(dw, "PyVarObject", "ob_size");
	cr_expect_gt(var_size, 0, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyTupleObject", "ob_base.ob_size"), var_size, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyTupleObject", "ob_base.ob_base.ob_type"), 8, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyTupleObject", "ob_item"),
	             ftp_dwarf_type_size(dw, "PyVarObject"), "%s", v);

	/* nested embedded structs: the whole path equals the sum of its parts */
	long interps = ftp_dwarf_member_offset(dw, "_PyRuntimeState", "interpreters");
	long head = ftp_dwarf_member_offset(dw, "struct pyinterpreters", "head");
	cr_expect_gt(interps, 0, "%s", v);
	cr_expect_gt(head, 0, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", "interpreters.head"), interps + head,
	             "%s", v);
	long locked = ftp_dwarf_member_offset(dw, "_gil_runtime_state", "locked");
	cr_expect_gt(locked, 0, "%s", v);
	if (mc->minor <= 11) {
		long ceval = ftp_dwarf_member_offset(dw, "_PyRuntimeState", "ceval");
		long gil = ftp_dwarf_member_offset(dw, "_ceval_runtime_state", "gil");
		cr_expect_gt(ceval, 0, "%s", v);
		cr_expect_geq(gil, 0, "%s", v);
		cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", "ceval.gil"), ceval + gil, "%s",
		             v);
		cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", "ceval.gil.locked"),
		             ceval + gil + locked, "%s", v);
	} else {
		/* 3.12: interp->ceval.gil is a pointer; a path does not follow
		 * pointers */
		long ceval = ftp_dwarf_member_offset(dw, "_is", "ceval");
		long gil = ftp_dwarf_member_offset(dw, "_ceval_state", "gil");
		cr_expect_gt(ceval, 0, "%s", v);
		cr_expect_geq(gil, 0, "%s", v);
		cr_expect_eq(ftp_dwarf_member_offset(dw, "_is", "ceval.gil"), ceval + gil, "%s", v);
		cr_expect_eq(ftp_dwarf_member_offset(dw, "_is", "ceval.gil.locked"), -FTP_E_NOTFOUND, "%s",
		             v);
	}
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyThreadState", "interp.next"), -FTP_E_NOTFOUND, "%s", v);

	/* members of anonymous unions: glibc's struct rusage (used by the time
	 * module) wraps each long counter in one, after two struct timevals */
	long stime = ftp_dwarf_member_offset(dw, "rusage", "ru_stime");
	long maxrss = ftp_dwarf_member_offset(dw, "rusage", "ru_maxrss");
	cr_expect_gt(stime, 0, "%s", v);
	cr_expect_eq(maxrss, stime + ftp_dwarf_type_size(dw, "timeval"), "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "rusage", "__ru_maxrss_word"), maxrss, "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "rusage", "ru_nivcsw"), maxrss + 13 * (long)sizeof(long),
	             "%s", v);
	cr_expect_eq(ftp_dwarf_type_size(dw, "struct rusage"), maxrss + 14 * (long)sizeof(long), "%s", v);

	/* PyUnicodeObject's data union follows its PyCompactUnicodeObject,
	 * which begins with a PyASCIIObject */
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyUnicodeObject", "data"),
	             ftp_dwarf_type_size(dw, "PyCompactUnicodeObject"), "%s", v);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "PyCompactUnicodeObject", "_base.length"),
	             ftp_dwarf_member_offset(dw, "PyASCIIObject", "length"), "%s", v);
	cr_expect_lt(ftp_dwarf_type_size(dw, "PyASCIIObject"),
	             ftp_dwarf_type_size(dw, "PyCompactUnicodeObject"), "%s", v);

	/* failures */
	cr_expect_eq(ftp_dwarf_type_size(dw, "no_such_type_xyz"), -FTP_E_NOTFOUND);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "no_such_type_xyz", "a"), -FTP_E_NOTFOUND);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_ts", "no_such_member"), -FTP_E_NOTFOUND);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_ts", "next.no_such_member"), -FTP_E_NOTFOUND);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", "interpreters..head"), -FTP_E_INVAL);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", "interpreters."), -FTP_E_INVAL);
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_PyRuntimeState", ""), -FTP_E_INVAL);
	/* a member name is matched whole, not as a prefix */
	cr_expect_eq(ftp_dwarf_member_offset(dw, "_ts", "thread_i"), -FTP_E_NOTFOUND);
	ftp_dwarf_destroy(dw);
}

Test(dwarf, create_errors)
{
	test_interp_none();
	struct ftp_dwarf *dw = NULL;
	struct ftp_error err = { 0 };

	cr_expect_eq(ftp_dwarf_create(&dw, "/nonexistent/libpython3.99.so", &err), -FTP_E_NOTFOUND);
	cr_expect(strstr(err.msg, "/nonexistent/libpython3.99.so") != NULL, "%s", err.msg);
	cr_expect_null(dw);

	memset(&err, 0, sizeof(err));
	cr_expect_eq(ftp_dwarf_create(&dw, FTPROF_SOURCE_DIR "/CMakeLists.txt", &err), -FTP_E_ELF, "%s",
	             err.msg);
	cr_expect_null(dw);

	cr_expect_eq(ftp_dwarf_member_offset(NULL, "_ts", "next"), -FTP_E_INVAL);
	cr_expect_eq(ftp_dwarf_type_size(NULL, "_ts"), -FTP_E_INVAL);
	ftp_dwarf_destroy(NULL);
}

/* True when path is an ELF file without a .debug_info section. */
static bool is_stripped_elf(const char *path)
{
	struct ftp_elf *elf = NULL;
	if (!path || ftp_elf_create(&elf, path, NULL) != 0)
		return false;
	bool stripped = ftp_elf_section(elf, ".debug_info", NULL, NULL) == -FTP_E_NOTFOUND;
	ftp_elf_destroy(elf);
	return stripped;
}

/* An ELF file without .debug_info is "not found", not a DWARF error. */
Test(dwarf, stripped_file)
{
	test_interp_none();
	/* distribution builds ship their debug information separately */
	const char *candidates[] = { test_interp_path("3.14"), test_interp_path("3.15"), "/bin/true",
		                     "/usr/bin/env" };
	const char *path = NULL;
	for (size_t i = 0; i < COUNT(candidates) && !path; i++)
		if (is_stripped_elf(candidates[i]))
			path = candidates[i];
	if (!path)
		cr_skip_test("no ELF file without .debug_info found (tried the provisioned 3.14 "
		             "and 3.15, /bin/true, /usr/bin/env)");
	struct ftp_dwarf *dw = NULL;
	struct ftp_error err = { 0 };
	cr_expect_eq(ftp_dwarf_create(&dw, path, &err), -FTP_E_NOTFOUND, "%s: %s", path, err.msg);
	cr_expect_null(dw);
}
