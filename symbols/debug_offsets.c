/* SPDX-License-Identifier: MIT */
/* Turns a _Py_DebugOffsets blob (3.13+, the head of _PyRuntime) into a layout. */
#include <stdio.h>
#include <string.h>

#include "symbols_int.h"

/* clang-format off */
/* Every field any known version exports, by sub-struct. The blob is a flat
 * array of u64 after the 24-byte header; each minor has its own order. */
enum dbg_field {
	RT_SIZE, RT_FINALIZING, RT_INTERPRETERS_HEAD,
	IS_SIZE, IS_ID, IS_NEXT, IS_THREADS_HEAD, IS_THREADS_MAIN, IS_GC, IS_IMPORTS_MODULES,
	IS_SYSDICT, IS_BUILTINS, IS_CEVAL_GIL, IS_GIL_RUNTIME_STATE, IS_GIL_ENABLED, IS_GIL_LOCKED,
	IS_GIL_HOLDER, IS_CODE_OBJECT_GENERATION, IS_TLBC_GENERATION,
	TS_SIZE, TS_PREV, TS_NEXT, TS_INTERP, TS_CURRENT_FRAME, TS_BASE_FRAME,
	TS_LAST_PROFILED_FRAME, TS_LAST_PROFILED_FRAME_SEQ, TS_THREAD_ID, TS_NATIVE_THREAD_ID,
	TS_DATASTACK_CHUNK, TS_STATUS, TS_HOLDS_GIL, TS_GIL_REQUESTED, TS_CURRENT_EXCEPTION,
	TS_EXC_STATE,
	ERR_EXC_VALUE,
	IF_SIZE, IF_PREVIOUS, IF_EXECUTABLE, IF_INSTR_PTR, IF_LOCALSPLUS, IF_OWNER, IF_STACKPOINTER,
	IF_TLBC_INDEX,
	CO_SIZE, CO_FILENAME, CO_NAME, CO_QUALNAME, CO_LINETABLE, CO_FIRSTLINENO, CO_ARGCOUNT,
	CO_LOCALSPLUSNAMES, CO_LOCALSPLUSKINDS, CO_CODE_ADAPTIVE, CO_TLBC,
	OB_SIZE, OB_TYPE,
	TP_SIZE, TP_NAME, TP_REPR, TP_FLAGS, TP_BASICSIZE, TP_DICTOFFSET,
	HT_SIZE, HT_CACHED_KEYS,
	TU_SIZE, TU_OB_ITEM, TU_OB_SIZE,
	LI_SIZE, LI_OB_ITEM, LI_OB_SIZE,
	SE_SIZE, SE_USED, SE_TABLE, SE_MASK,
	DI_SIZE, DI_MA_KEYS, DI_MA_VALUES,
	FL_SIZE, FL_OB_FVAL,
	LO_SIZE, LO_LV_TAG, LO_OB_DIGIT,
	BY_SIZE, BY_OB_SIZE, BY_OB_SVAL,
	UN_SIZE, UN_STATE, UN_LENGTH, UN_ASCII_SIZE, UN_COMPACT_SIZE,
	GC_SIZE, GC_COLLECTING, GC_FRAME, GC_GEN_STATS_SIZE, GC_GEN_STATS,
	GE_SIZE, GE_GI_NAME, GE_GI_IFRAME, GE_GI_FRAME_STATE,
	LL_NEXT, LL_PREV,
	DB_EVAL_BREAKER, DB_REMOTE_DEBUGGER_SUPPORT, DB_REMOTE_DEBUGGING_ENABLED,
	DB_PENDING_CALL, DB_SCRIPT_PATH, DB_SCRIPT_PATH_SIZE,
	DBG_NFIELDS
};

/* Include/internal/pycore_runtime.h, 3.13 */
static const unsigned char fields_313[] = {
	RT_SIZE, RT_FINALIZING, RT_INTERPRETERS_HEAD,
	IS_SIZE, IS_ID, IS_NEXT, IS_THREADS_HEAD, IS_GC, IS_IMPORTS_MODULES, IS_SYSDICT,
	IS_BUILTINS, IS_CEVAL_GIL, IS_GIL_RUNTIME_STATE, IS_GIL_ENABLED, IS_GIL_LOCKED,
	IS_GIL_HOLDER,
	TS_SIZE, TS_PREV, TS_NEXT, TS_INTERP, TS_CURRENT_FRAME, TS_THREAD_ID, TS_NATIVE_THREAD_ID,
	TS_DATASTACK_CHUNK, TS_STATUS,
	IF_SIZE, IF_PREVIOUS, IF_EXECUTABLE, IF_INSTR_PTR, IF_LOCALSPLUS, IF_OWNER,
	CO_SIZE, CO_FILENAME, CO_NAME, CO_QUALNAME, CO_LINETABLE, CO_FIRSTLINENO, CO_ARGCOUNT,
	CO_LOCALSPLUSNAMES, CO_LOCALSPLUSKINDS, CO_CODE_ADAPTIVE,
	OB_SIZE, OB_TYPE,
	TP_SIZE, TP_NAME, TP_REPR, TP_FLAGS,
	TU_SIZE, TU_OB_ITEM, TU_OB_SIZE,
	LI_SIZE, LI_OB_ITEM, LI_OB_SIZE,
	DI_SIZE, DI_MA_KEYS, DI_MA_VALUES,
	FL_SIZE, FL_OB_FVAL,
	LO_SIZE, LO_LV_TAG, LO_OB_DIGIT,
	BY_SIZE, BY_OB_SIZE, BY_OB_SVAL,
	UN_SIZE, UN_STATE, UN_LENGTH, UN_ASCII_SIZE,
	GC_SIZE, GC_COLLECTING,
};

/* Include/internal/pycore_debug_offsets.h, 3.14 */
static const unsigned char fields_314[] = {
	RT_SIZE, RT_FINALIZING, RT_INTERPRETERS_HEAD,
	IS_SIZE, IS_ID, IS_NEXT, IS_THREADS_HEAD, IS_THREADS_MAIN, IS_GC, IS_IMPORTS_MODULES,
	IS_SYSDICT, IS_BUILTINS, IS_CEVAL_GIL, IS_GIL_RUNTIME_STATE, IS_GIL_ENABLED,
	IS_GIL_LOCKED, IS_GIL_HOLDER, IS_CODE_OBJECT_GENERATION, IS_TLBC_GENERATION,
	TS_SIZE, TS_PREV, TS_NEXT, TS_INTERP, TS_CURRENT_FRAME, TS_THREAD_ID, TS_NATIVE_THREAD_ID,
	TS_DATASTACK_CHUNK, TS_STATUS,
	IF_SIZE, IF_PREVIOUS, IF_EXECUTABLE, IF_INSTR_PTR, IF_LOCALSPLUS, IF_OWNER,
	IF_STACKPOINTER, IF_TLBC_INDEX,
	CO_SIZE, CO_FILENAME, CO_NAME, CO_QUALNAME, CO_LINETABLE, CO_FIRSTLINENO, CO_ARGCOUNT,
	CO_LOCALSPLUSNAMES, CO_LOCALSPLUSKINDS, CO_CODE_ADAPTIVE, CO_TLBC,
	OB_SIZE, OB_TYPE,
	TP_SIZE, TP_NAME, TP_REPR, TP_FLAGS,
	TU_SIZE, TU_OB_ITEM, TU_OB_SIZE,
	LI_SIZE, LI_OB_ITEM, LI_OB_SIZE,
	SE_SIZE, SE_USED, SE_TABLE, SE_MASK,
	DI_SIZE, DI_MA_KEYS, DI_MA_VALUES,
	FL_SIZE, FL_OB_FVAL,
	LO_SIZE, LO_LV_TAG, LO_OB_DIGIT,
	BY_SIZE, BY_OB_SIZE, BY_OB_SVAL,
	UN_SIZE, UN_STATE, UN_LENGTH, UN_ASCII_SIZE,
	GC_SIZE, GC_COLLECTING,
	GE_SIZE, GE_GI_NAME, GE_GI_IFRAME, GE_GI_FRAME_STATE,
	LL_NEXT, LL_PREV,
	DB_EVAL_BREAKER, DB_REMOTE_DEBUGGER_SUPPORT, DB_REMOTE_DEBUGGING_ENABLED,
	DB_PENDING_CALL, DB_SCRIPT_PATH, DB_SCRIPT_PATH_SIZE,
};

/* Include/internal/pycore_debug_offsets.h, 3.15 */
static const unsigned char fields_315[] = {
	RT_SIZE, RT_FINALIZING, RT_INTERPRETERS_HEAD,
	IS_SIZE, IS_ID, IS_NEXT, IS_THREADS_HEAD, IS_THREADS_MAIN, IS_GC, IS_IMPORTS_MODULES,
	IS_SYSDICT, IS_BUILTINS, IS_CEVAL_GIL, IS_GIL_RUNTIME_STATE, IS_GIL_ENABLED,
	IS_GIL_LOCKED, IS_GIL_HOLDER, IS_CODE_OBJECT_GENERATION, IS_TLBC_GENERATION,
	TS_SIZE, TS_PREV, TS_NEXT, TS_INTERP, TS_CURRENT_FRAME, TS_BASE_FRAME,
	TS_LAST_PROFILED_FRAME, TS_LAST_PROFILED_FRAME_SEQ, TS_THREAD_ID, TS_NATIVE_THREAD_ID,
	TS_DATASTACK_CHUNK, TS_STATUS, TS_HOLDS_GIL, TS_GIL_REQUESTED, TS_CURRENT_EXCEPTION,
	TS_EXC_STATE,
	ERR_EXC_VALUE,
	IF_SIZE, IF_PREVIOUS, IF_EXECUTABLE, IF_INSTR_PTR, IF_LOCALSPLUS, IF_OWNER,
	IF_STACKPOINTER, IF_TLBC_INDEX,
	CO_SIZE, CO_FILENAME, CO_NAME, CO_QUALNAME, CO_LINETABLE, CO_FIRSTLINENO, CO_ARGCOUNT,
	CO_LOCALSPLUSNAMES, CO_LOCALSPLUSKINDS, CO_CODE_ADAPTIVE, CO_TLBC,
	OB_SIZE, OB_TYPE,
	TP_SIZE, TP_NAME, TP_REPR, TP_FLAGS, TP_BASICSIZE, TP_DICTOFFSET,
	HT_SIZE, HT_CACHED_KEYS,
	TU_SIZE, TU_OB_ITEM, TU_OB_SIZE,
	LI_SIZE, LI_OB_ITEM, LI_OB_SIZE,
	SE_SIZE, SE_USED, SE_TABLE, SE_MASK,
	DI_SIZE, DI_MA_KEYS, DI_MA_VALUES,
	FL_SIZE, FL_OB_FVAL,
	LO_SIZE, LO_LV_TAG, LO_OB_DIGIT,
	BY_SIZE, BY_OB_SIZE, BY_OB_SVAL,
	UN_SIZE, UN_STATE, UN_LENGTH, UN_ASCII_SIZE, UN_COMPACT_SIZE,
	GC_SIZE, GC_COLLECTING, GC_FRAME, GC_GEN_STATS_SIZE, GC_GEN_STATS,
	GE_SIZE, GE_GI_NAME, GE_GI_IFRAME, GE_GI_FRAME_STATE,
	LL_NEXT, LL_PREV,
	DB_EVAL_BREAKER, DB_REMOTE_DEBUGGER_SUPPORT, DB_REMOTE_DEBUGGING_ENABLED,
	DB_PENDING_CALL, DB_SCRIPT_PATH, DB_SCRIPT_PATH_SIZE,
};

/* clang-format on */

struct field_list {
	unsigned minor;
	const unsigned char *fields;
	size_t n;
};

static const struct field_list lists[] = {
	{ 13, fields_313, sizeof(fields_313) },
	{ 14, fields_314, sizeof(fields_314) },
	{ 15, fields_315, sizeof(fields_315) },
};

#define HEADER_SIZE 24
#define MAX_STRUCT (1u << 20) /* no struct ftprof reads is anywhere near 1 MiB */
#define NONE UINT64_MAX

/* An offset inside a struct of `size` bytes with room for `width` bytes. */
static int inside(uint64_t off, uint64_t size, unsigned width)
{
	return off != NONE && size != NONE && width <= size && off <= size - width;
}

static uint32_t off32(uint64_t v)
{
	return v == NONE ? FTP_OFF_NONE : (uint32_t)v;
}

struct check {
	enum dbg_field field, size;
	unsigned width;
	const char *name;
};

/* Fields the walker depends on: each must lie inside its struct. */
static const struct check checks[] = {
	{ RT_INTERPRETERS_HEAD, RT_SIZE, 8, "runtime_state.interpreters_head" },
	{ IS_NEXT, IS_SIZE, 8, "interpreter_state.next" },
	{ IS_THREADS_HEAD, IS_SIZE, 8, "interpreter_state.threads_head" },
	{ IS_CEVAL_GIL, IS_SIZE, 8, "interpreter_state.ceval_gil" },
	{ IS_IMPORTS_MODULES, IS_SIZE, 8, "interpreter_state.imports_modules" },
	{ IS_GC, IS_SIZE, 8, "interpreter_state.gc" },
	{ TS_NEXT, TS_SIZE, 8, "thread_state.next" },
	{ TS_INTERP, TS_SIZE, 8, "thread_state.interp" },
	{ TS_CURRENT_FRAME, TS_SIZE, 8, "thread_state.current_frame" },
	{ TS_THREAD_ID, TS_SIZE, 8, "thread_state.thread_id" },
	{ TS_NATIVE_THREAD_ID, TS_SIZE, 8, "thread_state.native_thread_id" },
	{ IF_PREVIOUS, IF_SIZE, 8, "interpreter_frame.previous" },
	{ IF_EXECUTABLE, IF_SIZE, 8, "interpreter_frame.executable" },
	{ IF_INSTR_PTR, IF_SIZE, 8, "interpreter_frame.instr_ptr" },
	{ IF_OWNER, IF_SIZE, 1, "interpreter_frame.owner" },
	{ CO_FILENAME, CO_SIZE, 8, "code_object.filename" },
	{ CO_NAME, CO_SIZE, 8, "code_object.name" },
	{ CO_QUALNAME, CO_SIZE, 8, "code_object.qualname" },
	{ CO_LINETABLE, CO_SIZE, 8, "code_object.linetable" },
	{ CO_FIRSTLINENO, CO_SIZE, 4, "code_object.firstlineno" },
	{ CO_CODE_ADAPTIVE, CO_SIZE, 0, "code_object.co_code_adaptive" },
	{ OB_TYPE, OB_SIZE, 8, "pyobject.ob_type" },
	{ TP_NAME, TP_SIZE, 8, "type_object.tp_name" },
	{ TP_FLAGS, TP_SIZE, 8, "type_object.tp_flags" },
	{ TU_OB_ITEM, TU_SIZE, 0, "tuple_object.ob_item" },
	{ LI_OB_ITEM, LI_SIZE, 8, "list_object.ob_item" },
	{ DI_MA_KEYS, DI_SIZE, 8, "dict_object.ma_keys" },
	{ BY_OB_SVAL, BY_SIZE, 0, "bytes_object.ob_sval" },
	{ UN_STATE, UN_SIZE, 4, "unicode_object.state" },
	{ UN_LENGTH, UN_SIZE, 8, "unicode_object.length" },
	{ GC_COLLECTING, GC_SIZE, 4, "gc.collecting" },
	/* not in every version; checked where the version exports them */
	{ IS_ID, IS_SIZE, 8, "interpreter_state.id" },
	{ IS_THREADS_MAIN, IS_SIZE, 8, "interpreter_state.threads_main" },
	{ TS_PREV, TS_SIZE, 8, "thread_state.prev" },
	{ TS_DATASTACK_CHUNK, TS_SIZE, 8, "thread_state.datastack_chunk" },
	{ TS_STATUS, TS_SIZE, 4, "thread_state.status" },
	{ TS_HOLDS_GIL, TS_SIZE, 4, "thread_state.holds_gil" },
	{ IF_TLBC_INDEX, IF_SIZE, 4, "interpreter_frame.tlbc_index" },
	{ CO_TLBC, CO_SIZE, 8, "code_object.co_tlbc" },
	{ TU_OB_SIZE, TU_SIZE, 8, "tuple_object.ob_size" },
	{ DI_MA_VALUES, DI_SIZE, 8, "dict_object.ma_values" },
	{ UN_ASCII_SIZE, UN_SIZE, 0, "unicode_object.asciiobject_size" },
	{ UN_COMPACT_SIZE, UN_SIZE, 0, "unicode_object.compactunicodeobject_size" },
	{ LO_LV_TAG, LO_SIZE, 8, "long_object.lv_tag" },
	{ LO_OB_DIGIT, LO_SIZE, 0, "long_object.ob_digit" },
	{ TP_BASICSIZE, TP_SIZE, 8, "type_object.tp_basicsize" },
	{ TP_DICTOFFSET, TP_SIZE, 8, "type_object.tp_dictoffset" },
	{ HT_CACHED_KEYS, HT_SIZE, 8, "heap_type_object.ht_cached_keys" },
};

int ftp_layout_from_debug_offsets(struct ftp_layout *out, const void *blob, size_t len, struct ftp_error *err)
{
	const unsigned char *p = blob;
	if (len < HEADER_SIZE || memcmp(p, "xdebugpy", 8) != 0)
		return ftp_error_set(err, FTP_E_NOTPYTHON, 0, "no _Py_DebugOffsets cookie");
	uint64_t version, ft;
	memcpy(&version, p + 8, 8);
	memcpy(&ft, p + 16, 8);
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	char vbuf[32];
	ftp_version_str((uint32_t)version, vbuf, sizeof(vbuf));
	if (major != 3 || minor < 13 || version >> 32 || ft > 1)
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0,
		                     "_Py_DebugOffsets: implausible version 0x%llx, free_threaded %llu",
		                     (unsigned long long)version, (unsigned long long)ft);

	/* A minor newer than the newest known one: try the newest field list;
	 * the bounds checks below and the caller's live validation decide. */
	const struct field_list *list = &lists[sizeof(lists) / sizeof(lists[0]) - 1];
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (lists[i].minor == minor)
			list = &lists[i];
	if (len < HEADER_SIZE + list->n * 8)
		return ftp_error_set(err, FTP_E_CORRUPT, 0, "_Py_DebugOffsets of %s: %zu bytes, need %zu",
		                     vbuf, len, (size_t)HEADER_SIZE + list->n * 8);

	uint64_t v[DBG_NFIELDS];
	for (size_t i = 0; i < DBG_NFIELDS; i++)
		v[i] = NONE;
	bool present[DBG_NFIELDS] = { false };
	for (size_t i = 0; i < list->n; i++) {
		memcpy(&v[list->fields[i]], p + HEADER_SIZE + i * 8, 8);
		present[list->fields[i]] = true;
	}

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check *c = &checks[i];
		if (!present[c->field])
			continue;
		if (v[c->size] == NONE || v[c->size] > MAX_STRUCT ||
		    !inside(v[c->field], v[c->size], c->width))
			return ftp_error_set(
			        err, FTP_E_UNSUPPORTED, 0,
			        "_Py_DebugOffsets of %s: %s (%llu) outside its struct (%llu bytes)", vbuf,
			        c->name, (unsigned long long)v[c->field], (unsigned long long)v[c->size]);
	}
	if (!inside(v[IS_GIL_HOLDER], v[IS_SIZE], 8) || !inside(v[IS_GIL_LOCKED], v[IS_SIZE], 4) ||
	    v[IS_GIL_HOLDER] < v[IS_GIL_RUNTIME_STATE] || v[IS_GIL_LOCKED] < v[IS_GIL_RUNTIME_STATE])
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0, "_Py_DebugOffsets of %s: bad GIL offsets",
		                     vbuf);

	if (ft == 1 && (v[IS_GIL_ENABLED] > v[IS_GIL_LOCKED] - v[IS_GIL_RUNTIME_STATE]))
		return ftp_error_set(
		        err, FTP_E_UNSUPPORTED, 0,
		        "_Py_DebugOffsets of %s: gil_runtime_state_enabled (%llu) outside the GIL", vbuf,
		        (unsigned long long)v[IS_GIL_ENABLED]);

	struct ftp_layout L;
	memset(&L, 0xff, sizeof(L)); /* every offset FTP_OFF_NONE */
	L.version = (uint32_t)version;
	L.free_threaded = ft == 1;
	L.from_debug_offsets = true;
	L.frames = FTP_FRAMES_INTERP;
	L.lines = FTP_LINES_LOCATIONS;
	L.instr = FTP_INSTR_POINTER;

	L.runtime.size = off32(v[RT_SIZE]);
	L.runtime.interpreters_head = off32(v[RT_INTERPRETERS_HEAD]);

	L.interp.size = off32(v[IS_SIZE]);
	L.interp.next = off32(v[IS_NEXT]);
	L.interp.id = off32(v[IS_ID]);
	L.interp.threads_head = off32(v[IS_THREADS_HEAD]);
	L.interp.threads_main = off32(v[IS_THREADS_MAIN]);
	L.interp.modules = off32(v[IS_IMPORTS_MODULES]);
	L.interp.ceval_gil = off32(v[IS_CEVAL_GIL]);
	L.interp.gc = off32(v[IS_GC]);
	/* gil_runtime_state_enabled is relative to _gil already, and only
	 * meaningful in free-threaded builds (it reads 0 in both). */
	L.gil.enabled = L.free_threaded ? off32(v[IS_GIL_ENABLED]) : FTP_OFF_NONE;
	L.gil.last_holder = off32(v[IS_GIL_HOLDER] - v[IS_GIL_RUNTIME_STATE]);
	L.gil.locked = off32(v[IS_GIL_LOCKED] - v[IS_GIL_RUNTIME_STATE]);
	/* Not in the blob: the unsigned long after `int locked` in every
	 * version that has one (3.13-3.15 headers, checked by the tests). */
	L.gil.switch_number = L.gil.locked != FTP_OFF_NONE ? (L.gil.locked + 4 + 7) & ~7u : FTP_OFF_NONE;
	L.gc_collecting = off32(v[GC_COLLECTING]);

	L.tstate.size = off32(v[TS_SIZE]);
	L.tstate.prev = off32(v[TS_PREV]);
	L.tstate.next = off32(v[TS_NEXT]);
	L.tstate.interp = off32(v[TS_INTERP]);
	L.tstate.frame = off32(v[TS_CURRENT_FRAME]);
	L.tstate.thread_id = off32(v[TS_THREAD_ID]);
	L.tstate.native_thread_id = off32(v[TS_NATIVE_THREAD_ID]);
	L.tstate.datastack_chunk = off32(v[TS_DATASTACK_CHUNK]);
	L.tstate.status = off32(v[TS_STATUS]);
	L.tstate.holds_gil = off32(v[TS_HOLDS_GIL]);

	L.frame.size = off32(v[IF_SIZE]);
	L.frame.previous = off32(v[IF_PREVIOUS]);
	L.frame.code = off32(v[IF_EXECUTABLE]);
	L.frame.instr = off32(v[IF_INSTR_PTR]);
	L.frame.owner = off32(v[IF_OWNER]);
	/* 3.14+ free-threaded: per-thread bytecode copies, chosen by tlbc_index. */
	if (L.free_threaded && minor >= 14) {
		L.frame.tlbc_index = off32(v[IF_TLBC_INDEX]);
		L.code.tlbc = off32(v[CO_TLBC]);
	}
	/* 3.14+: f_executable is a _PyStackRef; the low two bits are tags. */
	L.code_tag_mask = minor >= 14 ? 3 : 0;

	L.code.size = off32(v[CO_SIZE]);
	L.code.filename = off32(v[CO_FILENAME]);
	L.code.name = off32(v[CO_NAME]);
	L.code.qualname = off32(v[CO_QUALNAME]);
	L.code.linetable = off32(v[CO_LINETABLE]);
	L.code.firstlineno = off32(v[CO_FIRSTLINENO]);
	L.code.code = off32(v[CO_CODE_ADAPTIVE]);

	L.object.ob_type = off32(v[OB_TYPE]);
	L.object.tp_name = off32(v[TP_NAME]);
	L.object.tp_flags = off32(v[TP_FLAGS]);
	L.object.var_size = off32(v[TU_OB_SIZE]);
	L.tuple.ob_item = off32(v[TU_OB_ITEM]);
	L.list.ob_item = off32(v[LI_OB_ITEM]);
	L.dict.ma_keys = off32(v[DI_MA_KEYS]);
	L.dict.ma_values = off32(v[DI_MA_VALUES]);
	L.bytes.ob_sval = off32(v[BY_OB_SVAL]);
	L.pylong.lv_tag = off32(v[LO_LV_TAG]);
	L.pylong.ob_digit = off32(v[LO_OB_DIGIT]);

	/* What the blob leaves out comes from the minor's table; what it has
	 * (3.15's type offsets) wins. */
	symbols_layout_beyond_blob(&L, minor, L.free_threaded);
	if (present[TP_BASICSIZE])
		L.object.tp_basicsize = off32(v[TP_BASICSIZE]);
	if (present[TP_DICTOFFSET])
		L.object.tp_dictoffset = off32(v[TP_DICTOFFSET]);
	if (present[HT_CACHED_KEYS])
		L.object.ht_cached_keys = off32(v[HT_CACHED_KEYS]);

	L.unicode.length = off32(v[UN_LENGTH]);
	L.unicode.state = off32(v[UN_STATE]);
	L.unicode.ascii_size = off32(v[UN_ASCII_SIZE]);
	/* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject;
	 * 3.15 exports its size. */
	L.unicode.compact_size =
	        v[UN_COMPACT_SIZE] != NONE ? off32(v[UN_COMPACT_SIZE]) : off32(v[UN_ASCII_SIZE] + 16);
	/* 3.14+ free-threaded: `interned` became a whole byte of state. */
	bool byte_interned = L.free_threaded && minor >= 14;
	L.unicode.kind_shift = byte_interned ? 8 : 2;
	L.unicode.compact_bit = byte_interned ? 11 : 5;
	L.unicode.ascii_bit = byte_interned ? 12 : 6;
	int ret = ftp_layout_check(&L, err);
	if (ret < 0)
		return ret;
	symbols_layout_waits(&L, minor, L.free_threaded);
	*out = L;
	return 0;
}
