/* SPDX-License-Identifier: MIT */
/* Built-in interpreter layouts of CPython 3.8-3.12, which have no _Py_DebugOffsets,
 * and of what the _Py_DebugOffsets of 3.13+ leave out. */
#include "symbols_int.h"

/*
 * The numbers come from the DWARF of release builds (3.8.18, 3.9.18, 3.10.13,
 * 3.11.7, 3.12.1); the layouts are stable within a minor. tests/unit/
 * test_layout_tables.c checks every one of them against that DWARF, and
 * where the managed dict lies before an object (no struct member says) against
 * the accessors of the interpreters' own headers.
 */

/* 3.8: the GC state lives in _PyRuntimeState, not in the interpreter, so
 * interp.gc is absent; gc_collecting is still the field's offset in
 * struct _gc_runtime_state. */
static const struct ftp_layout py38 = {
	.frames = FTP_FRAMES_OBJECT,
	.lines = FTP_LINES_LNOTAB,
	.instr = FTP_INSTR_LASTI_BYTES,
	.runtime = {
		.size = 1464,
		.interpreters_head = 32,
		.gil = 1152,
		.tstate_current = 1368,
	},
	.interp = {
		.size = 2720,
		.next = 0,
		.id = 16,
		.threads_head = 8, /* tstate_head */
		.threads_main = FTP_OFF_NONE,
		.modules = 56,
		.ceval_gil = FTP_OFF_NONE,
		.gc = FTP_OFF_NONE,
	},
	.gil = { .enabled = FTP_OFF_NONE, .last_holder = 8, .locked = 16, .switch_number = 24 },
	.gc_collecting = 200,
	.tstate = {
		.size = 264,
		.prev = 0,
		.next = 8,
		.interp = 16,
		.frame = 24,
		.cframe_current_frame = FTP_OFF_NONE,
		.thread_id = 176,
		.native_thread_id = FTP_OFF_NONE,
		.datastack_chunk = FTP_OFF_NONE,
		.status = FTP_OFF_NONE,
		.holds_gil = FTP_OFF_NONE,
	},
	.frame = {
		.size = 368,
		.previous = 24, /* f_back */
		.code = 32,
		.instr = 104, /* f_lasti */
		.owner = FTP_OFF_NONE,
		.is_entry = FTP_OFF_NONE,
		.tlbc_index = FTP_OFF_NONE,
	},
	.code_tag_mask = 0,
	.code = {
		.size = 176,
		.filename = 104,
		.name = 112,
		.qualname = FTP_OFF_NONE,
		.linetable = 120, /* co_lnotab */
		.firstlineno = 40,
		.code = 48, /* co_code */
		.tlbc = FTP_OFF_NONE,
		.tlbc_size = FTP_OFF_NONE,
		.tlbc_entries = FTP_OFF_NONE,
	},
	.object = {
		.ob_type = 8,
		.tp_name = 24,
		.tp_flags = 168,
		.var_size = 16,
		.tp_basicsize = 32,
		.tp_dictoffset = 288,
		.ht_cached_keys = 872,
		.managed_dict_before = FTP_OFF_NONE,
		.managed_values_before = FTP_OFF_NONE,
	},
	.tuple = { .ob_item = 24 },
	.list = { .ob_item = 24 },
	.dict = { .ma_keys = 32, .ma_values = 40 },
	.bytes = { .ob_sval = 32 },
	.module = { .md_dict = 16, .md_name = 48 },
	.function = { .qualname = 104 },
	.pylong = { .lv_tag = 16, .ob_digit = 24 },
	.dict_keys = {
		.dk_size = 8,
		.dk_log2_size = FTP_OFF_NONE,
		.dk_log2_index_bytes = FTP_OFF_NONE,
		.dk_kind = FTP_OFF_NONE,
		.dk_nentries = 32,
		.dk_indices = 40,
	},
	.dict_entry = { .size = 24, .me_key = 8, .me_value = 16 },
	.dict_uentry = { .size = FTP_OFF_NONE, .me_key = FTP_OFF_NONE, .me_value = FTP_OFF_NONE },
	.dict_values = { .capacity = FTP_OFF_NONE, .valid = FTP_OFF_NONE, .values = FTP_OFF_NONE },
	.unicode = {
		.length = 16,
		.state = 32,
		.ascii_size = 48,
		.compact_size = 72,
		.kind_shift = 2,
		.compact_bit = 5,
		.ascii_bit = 6,
	},
};

static const struct ftp_layout py39 = {
	.frames = FTP_FRAMES_OBJECT,
	.lines = FTP_LINES_LNOTAB,
	.instr = FTP_INSTR_LASTI_BYTES,
	.runtime = {
		.size = 656,
		.interpreters_head = 32,
		.gil = 352,
		.tstate_current = 568,
	},
	.interp = {
		.size = 5656,
		.next = 0,
		.id = 24,
		.threads_head = 8, /* tstate_head */
		.threads_main = FTP_OFF_NONE,
		.modules = 856,
		.ceval_gil = FTP_OFF_NONE,
		.gc = 616,
	},
	.gil = { .enabled = FTP_OFF_NONE, .last_holder = 8, .locked = 16, .switch_number = 24 },
	.gc_collecting = 200,
	.tstate = {
		.size = 264,
		.prev = 0,
		.next = 8,
		.interp = 16,
		.frame = 24,
		.cframe_current_frame = FTP_OFF_NONE,
		.thread_id = 176,
		.native_thread_id = FTP_OFF_NONE,
		.datastack_chunk = FTP_OFF_NONE,
		.status = FTP_OFF_NONE,
		.holds_gil = FTP_OFF_NONE,
	},
	.frame = {
		.size = 368,
		.previous = 24, /* f_back */
		.code = 32,
		.instr = 104, /* f_lasti */
		.owner = FTP_OFF_NONE,
		.is_entry = FTP_OFF_NONE,
		.tlbc_index = FTP_OFF_NONE,
	},
	.code_tag_mask = 0,
	.code = {
		.size = 176,
		.filename = 104,
		.name = 112,
		.qualname = FTP_OFF_NONE,
		.linetable = 120, /* co_lnotab */
		.firstlineno = 40,
		.code = 48, /* co_code */
		.tlbc = FTP_OFF_NONE,
		.tlbc_size = FTP_OFF_NONE,
		.tlbc_entries = FTP_OFF_NONE,
	},
	.object = {
		.ob_type = 8,
		.tp_name = 24,
		.tp_flags = 168,
		.var_size = 16,
		.tp_basicsize = 32,
		.tp_dictoffset = 288,
		.ht_cached_keys = 864,
		.managed_dict_before = FTP_OFF_NONE,
		.managed_values_before = FTP_OFF_NONE,
	},
	.tuple = { .ob_item = 24 },
	.list = { .ob_item = 24 },
	.dict = { .ma_keys = 32, .ma_values = 40 },
	.bytes = { .ob_sval = 32 },
	.module = { .md_dict = 16, .md_name = 48 },
	.function = { .qualname = 104 },
	.pylong = { .lv_tag = 16, .ob_digit = 24 },
	.dict_keys = {
		.dk_size = 8,
		.dk_log2_size = FTP_OFF_NONE,
		.dk_log2_index_bytes = FTP_OFF_NONE,
		.dk_kind = FTP_OFF_NONE,
		.dk_nentries = 32,
		.dk_indices = 40,
	},
	.dict_entry = { .size = 24, .me_key = 8, .me_value = 16 },
	.dict_uentry = { .size = FTP_OFF_NONE, .me_key = FTP_OFF_NONE, .me_value = FTP_OFF_NONE },
	.dict_values = { .capacity = FTP_OFF_NONE, .valid = FTP_OFF_NONE, .values = FTP_OFF_NONE },
	.unicode = {
		.length = 16,
		.state = 32,
		.ascii_size = 48,
		.compact_size = 72,
		.kind_shift = 2,
		.compact_bit = 5,
		.ascii_bit = 6,
	},
};

/* 3.10: tstate->cframe exists but holds no frame pointer; tstate->frame is
 * still the PyFrameObject chain. f_lasti counts 2-byte code units. */
static const struct ftp_layout py310 = {
	.frames = FTP_FRAMES_OBJECT,
	.lines = FTP_LINES_310,
	.instr = FTP_INSTR_LASTI_UNITS,
	.runtime = {
		.size = 672,
		.interpreters_head = 32,
		.gil = 352,
		.tstate_current = 568,
	},
	.interp = {
		.size = 113528,
		.next = 0,
		.id = 24,
		.threads_head = 8, /* tstate_head */
		.threads_main = FTP_OFF_NONE,
		.modules = 856,
		.ceval_gil = FTP_OFF_NONE,
		.gc = 616,
	},
	.gil = { .enabled = FTP_OFF_NONE, .last_holder = 8, .locked = 16, .switch_number = 24 },
	.gc_collecting = 200,
	.tstate = {
		.size = 280,
		.prev = 0,
		.next = 8,
		.interp = 16,
		.frame = 24,
		.cframe_current_frame = FTP_OFF_NONE,
		.thread_id = 176,
		.native_thread_id = FTP_OFF_NONE,
		.datastack_chunk = FTP_OFF_NONE,
		.status = FTP_OFF_NONE,
		.holds_gil = FTP_OFF_NONE,
	},
	.frame = {
		.size = 360,
		.previous = 24, /* f_back */
		.code = 32,
		.instr = 96, /* f_lasti */
		.owner = FTP_OFF_NONE,
		.is_entry = FTP_OFF_NONE,
		.tlbc_index = FTP_OFF_NONE,
	},
	.code_tag_mask = 0,
	.code = {
		.size = 176,
		.filename = 104,
		.name = 112,
		.qualname = FTP_OFF_NONE,
		.linetable = 120, /* co_linetable */
		.firstlineno = 40,
		.code = 48, /* co_code */
		.tlbc = FTP_OFF_NONE,
		.tlbc_size = FTP_OFF_NONE,
		.tlbc_entries = FTP_OFF_NONE,
	},
	.object = {
		.ob_type = 8,
		.tp_name = 24,
		.tp_flags = 168,
		.var_size = 16,
		.tp_basicsize = 32,
		.tp_dictoffset = 288,
		.ht_cached_keys = 872,
		.managed_dict_before = FTP_OFF_NONE,
		.managed_values_before = FTP_OFF_NONE,
	},
	.tuple = { .ob_item = 24 },
	.list = { .ob_item = 24 },
	.dict = { .ma_keys = 32, .ma_values = 40 },
	.bytes = { .ob_sval = 32 },
	.module = { .md_dict = 16, .md_name = 48 },
	.function = { .qualname = 40 },
	.pylong = { .lv_tag = 16, .ob_digit = 24 },
	.dict_keys = {
		.dk_size = 8,
		.dk_log2_size = FTP_OFF_NONE,
		.dk_log2_index_bytes = FTP_OFF_NONE,
		.dk_kind = FTP_OFF_NONE,
		.dk_nentries = 32,
		.dk_indices = 40,
	},
	.dict_entry = { .size = 24, .me_key = 8, .me_value = 16 },
	.dict_uentry = { .size = FTP_OFF_NONE, .me_key = FTP_OFF_NONE, .me_value = FTP_OFF_NONE },
	.dict_values = { .capacity = FTP_OFF_NONE, .valid = FTP_OFF_NONE, .values = FTP_OFF_NONE },
	.unicode = {
		.length = 16,
		.state = 32,
		.ascii_size = 48,
		.compact_size = 72,
		.kind_shift = 2,
		.compact_bit = 5,
		.ascii_bit = 6,
	},
};

static const struct ftp_layout py311 = {
	.frames = FTP_FRAMES_INTERP,
	.lines = FTP_LINES_LOCATIONS,
	.instr = FTP_INSTR_POINTER,
	.runtime = {
		.size = 166688,
		.interpreters_head = 40,
		.gil = 360,
		.tstate_current = 576,
	},
	.interp = {
		.size = 107752,
		.next = 0,
		.id = 48,
		.threads_head = 16,
		.threads_main = FTP_OFF_NONE,
		.modules = 888,
		.ceval_gil = FTP_OFF_NONE,
		.gc = 648,
	},
	.gil = { .enabled = FTP_OFF_NONE, .last_holder = 8, .locked = 16, .switch_number = 24 },
	.gc_collecting = 200,
	.tstate = {
		.size = 360,
		.prev = 0,
		.next = 8,
		.interp = 16,
		.frame = 56, /* cframe */
		.cframe_current_frame = 8,
		.thread_id = 152,
		.native_thread_id = 160,
		.datastack_chunk = 296,
		.status = FTP_OFF_NONE,
		.holds_gil = FTP_OFF_NONE,
	},
	.frame = {
		.size = 80,
		.previous = 48,
		.code = 32,
		.instr = 56, /* prev_instr */
		.owner = 69,
		.is_entry = 68,
		.tlbc_index = FTP_OFF_NONE,
	},
	.code_tag_mask = 0,
	.code = {
		.size = 192,
		.filename = 112,
		.name = 120,
		.qualname = 128,
		.linetable = 136,
		.firstlineno = 72,
		.code = 184, /* co_code_adaptive */
		.tlbc = FTP_OFF_NONE,
		.tlbc_size = FTP_OFF_NONE,
		.tlbc_entries = FTP_OFF_NONE,
	},
	.object = {
		.ob_type = 8,
		.tp_name = 24,
		.tp_flags = 168,
		.var_size = 16,
		.tp_basicsize = 32,
		.tp_dictoffset = 288,
		.ht_cached_keys = 872,
		.managed_dict_before = 24,
		.managed_values_before = 32,
	},
	.tuple = { .ob_item = 24 },
	.list = { .ob_item = 24 },
	.dict = { .ma_keys = 32, .ma_values = 40 },
	.bytes = { .ob_sval = 32 },
	.module = { .md_dict = 16, .md_name = 48 },
	.function = { .qualname = 40 },
	.pylong = { .lv_tag = 16, .ob_digit = 24 },
	.dict_keys = {
		.dk_size = FTP_OFF_NONE,
		.dk_log2_size = 8,
		.dk_log2_index_bytes = 9,
		.dk_kind = 10,
		.dk_nentries = 24,
		.dk_indices = 32,
	},
	.dict_entry = { .size = 24, .me_key = 8, .me_value = 16 },
	.dict_uentry = { .size = 16, .me_key = 0, .me_value = 8 },
	.dict_values = { .capacity = FTP_OFF_NONE, .valid = FTP_OFF_NONE, .values = 0 },
	.unicode = {
		.length = 16,
		.state = 32,
		.ascii_size = 48,
		.compact_size = 72,
		.kind_shift = 2,
		.compact_bit = 5,
		.ascii_bit = 6,
	},
};

/* 3.12: the GIL moved into the interpreter (reached through the pointer
 * ceval.gil) and gilstate.tstate_current is gone. PyThreadState has a
 * _status bit-field word, but without the holds_gil bit of 3.13, so status
 * stays absent. PyASCIIObject lost wstr. */
static const struct ftp_layout py312 = {
	.frames = FTP_FRAMES_INTERP,
	.lines = FTP_LINES_LOCATIONS,
	.instr = FTP_INSTR_POINTER,
	.runtime = {
		.size = 459944,
		.interpreters_head = 40,
		.gil = FTP_OFF_NONE,
		.tstate_current = FTP_OFF_NONE,
	},
	.interp = {
		.size = 383552,
		.next = 0,
		.id = 8,
		.threads_head = 72,
		.threads_main = FTP_OFF_NONE,
		.modules = 944, /* imports.modules */
		.ceval_gil = 384,
		.gc = 112,
	},
	.gil = { .enabled = FTP_OFF_NONE, .last_holder = 8, .locked = 16, .switch_number = 24 },
	.gc_collecting = 200,
	.tstate = {
		.size = 288,
		.prev = 0,
		.next = 8,
		.interp = 16,
		.frame = 56, /* cframe */
		.cframe_current_frame = 0,
		.thread_id = 136,
		.native_thread_id = 144,
		.datastack_chunk = 232,
		.status = FTP_OFF_NONE,
		.holds_gil = FTP_OFF_NONE,
	},
	.frame = {
		.size = 80,
		.previous = 8,
		.code = 0,
		.instr = 56, /* prev_instr */
		.owner = 70,
		.is_entry = FTP_OFF_NONE,
		.tlbc_index = FTP_OFF_NONE,
	},
	.code_tag_mask = 0,
	.code = {
		.size = 200,
		.filename = 112,
		.name = 120,
		.qualname = 128,
		.linetable = 136,
		.firstlineno = 68,
		.code = 192, /* co_code_adaptive */
		.tlbc = FTP_OFF_NONE,
		.tlbc_size = FTP_OFF_NONE,
		.tlbc_entries = FTP_OFF_NONE,
	},
	.object = {
		.ob_type = 8,
		.tp_name = 24,
		.tp_flags = 168,
		.var_size = 16,
		.tp_basicsize = 32,
		.tp_dictoffset = 288,
		.ht_cached_keys = 880,
		.managed_dict_before = 24,
		.managed_values_before = FTP_OFF_NONE,
	},
	.tuple = { .ob_item = 24 },
	.list = { .ob_item = 24 },
	.dict = { .ma_keys = 32, .ma_values = 40 },
	.bytes = { .ob_sval = 32 },
	.module = { .md_dict = 16, .md_name = 48 },
	.function = { .qualname = 40 },
	.pylong = { .lv_tag = 16, .ob_digit = 24 },
	.dict_keys = {
		.dk_size = FTP_OFF_NONE,
		.dk_log2_size = 8,
		.dk_log2_index_bytes = 9,
		.dk_kind = 10,
		.dk_nentries = 24,
		.dk_indices = 32,
	},
	.dict_entry = { .size = 24, .me_key = 8, .me_value = 16 },
	.dict_uentry = { .size = 16, .me_key = 0, .me_value = 8 },
	.dict_values = { .capacity = FTP_OFF_NONE, .valid = FTP_OFF_NONE, .values = 0 },
	.unicode = {
		.length = 16,
		.state = 32,
		.ascii_size = 40,
		.compact_size = 56,
		.kind_shift = 2,
		.compact_bit = 5,
		.ascii_bit = 6,
	},
};

/*
 * 3.13+: what _Py_DebugOffsets leaves out, by minor and build. Checked
 * against the DWARF of 3.13.0 and 3.13t and against Debian sid's 3.14.10 /
 * 3.15.2 headers (with and without Py_GIL_DISABLED) by tests/unit/
 * test_debug_offsets.c. FTP_OFF_NONE: the minor's blob carries the field.
 * The free-threaded PyObject header is 16 bytes longer, and those objects
 * have no GC pre-header before the managed dict pointer.
 */
struct beyond_blob {
	unsigned minor;
	bool free_threaded;
	uint32_t tp_basicsize, tp_dictoffset, ht_cached_keys;
	uint32_t managed_dict_before;
	uint32_t md_dict, md_name;
	uint32_t func_qualname;
};

static const struct beyond_blob beyond[] = {
	{ 13, false, 32, 288, 880, 24, 16, 48, 40 },
	{ 13, true, 48, 304, 896, 8, 32, 64, 56 },
	{ 14, false, 32, 288, 880, 24, 16, 48, 40 },
	{ 14, true, 48, 304, 896, 8, 32, 64, 56 },
	/* 3.15 exports tp_basicsize, tp_dictoffset and ht_cached_keys, and
	 * its modules lost md_def */
	{ 15, false, FTP_OFF_NONE, FTP_OFF_NONE, FTP_OFF_NONE, 24, 16, 40, 40 },
	{ 15, true, FTP_OFF_NONE, FTP_OFF_NONE, FTP_OFF_NONE, 8, 32, 56, 56 },
};

void symbols_layout_beyond_blob(struct ftp_layout *L, unsigned minor, bool free_threaded)
{
	/* rows ascend by minor: the last one not newer than minor */
	const struct beyond_blob *b = NULL;
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++)
		if (beyond[i].free_threaded == free_threaded && (!b || beyond[i].minor <= minor))
			b = &beyond[i];
	L->object.tp_basicsize = b->tp_basicsize;
	L->object.tp_dictoffset = b->tp_dictoffset;
	L->object.ht_cached_keys = b->ht_cached_keys;
	L->object.managed_dict_before = b->managed_dict_before;
	L->object.managed_values_before = FTP_OFF_NONE;
	L->module.md_dict = b->md_dict;
	L->module.md_name = b->md_name;
	L->function.qualname = b->func_qualname;
	/* 3.14+ free-threaded: _PyCodeArray {Py_ssize_t size; char *entries[]} */
	L->code.tlbc_size = free_threaded && minor >= 14 ? 0 : FTP_OFF_NONE;
	L->code.tlbc_entries = free_threaded && minor >= 14 ? 8 : FTP_OFF_NONE;
	/* the dict tables of 3.13-3.15 (free-threaded keys add a PyMutex in
	 * the padding after dk_kind) */
	L->dict_keys.dk_size = FTP_OFF_NONE;
	L->dict_keys.dk_log2_size = 8;
	L->dict_keys.dk_log2_index_bytes = 9;
	L->dict_keys.dk_kind = 10;
	L->dict_keys.dk_nentries = 24;
	L->dict_keys.dk_indices = 32;
	L->dict_entry.size = 24;
	L->dict_entry.me_key = 8;
	L->dict_entry.me_value = 16;
	L->dict_uentry.size = 16;
	L->dict_uentry.me_key = 0;
	L->dict_uentry.me_value = 8;
	L->dict_values.capacity = 0;
	L->dict_values.valid = 3;
	L->dict_values.values = 8;
}

void symbols_layout_waits(struct ftp_layout *L, unsigned minor, bool free_threaded)
{
	const uint32_t none = FTP_OFF_NONE;
	uint32_t head = free_threaded ? 32 : 16;
	/* checked against DWARF (3.8-3.13t) and sid's headers (3.14, 3.15) */
	L->tstate.state = minor >= 15 ? 48 : minor == 14 ? 44 : minor == 13 ? 40 : none;
	L->tstate.critical_section = !free_threaded ? none : minor >= 15 ? 200 : 176;
	L->tstate.datastack_top = L->tstate.datastack_chunk == none ? none : L->tstate.datastack_chunk + 8;
	/* _PyInterpreterFrame.localsplus; before 3.11 PyFrameObject.f_localsplus */
	L->frame.localsplus = minor >= 14 ? 80 : minor >= 11 ? 72 : minor == 10 ? 352 : 360;
	L->stw.interp_offset = minor >= 15   ? (free_threaded ? 10800 : 10776)
	                       : minor == 14 ? (free_threaded ? 10848 : 10800)
	                       : minor == 13 ? (free_threaded ? 10744 : 10728)
	                                     : none;
	L->stw.world_stopped = minor >= 13 ? 2 : none;
	L->stw.requester = minor >= 13 ? 16 : none;
	L->threading.object_head = head;
	L->threading.ob_mutex = free_threaded ? 10 : none;
	/* 3.13's patch releases moved a Lock from a sem_t * to a PyMutex in
	 * place: for 3.13 both are kept, and a wait tells them apart (a
	 * PyMutex parks through the parking lot, a sem_t is slept on) */
	L->threading.lock_mutex = minor >= 13 ? head : none;
	L->threading.lock_sem = minor >= 14 ? none : head;
	L->threading.rlock_mutex = minor >= 14 ? head : none;
	L->threading.rlock_sem = minor >= 14 ? none : head;
	L->threading.rlock_owner = head + 8;
	L->threading.cfunc_self = head + 8;
	/* struct wait_entry {void *park_arg; uintptr_t addr; _PySemaphore sema; ...}:
	 * a parked thread sleeps on sema's futex word, its first */
	L->threading.wait_entry_addr = minor >= 13 ? 8 : none;
}

int ftp_layout_builtin(struct ftp_layout *out, uint32_t version, bool free_threaded, struct ftp_error *err)
{
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	char vbuf[32];
	if (!out)
		return ftp_error_set(err, FTP_E_INVAL, 0, "ftp_layout_builtin: no output");
	if (free_threaded)
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0,
		                     "free-threaded Python %s has no built-in layout",
		                     ftp_version_str(version, vbuf, sizeof(vbuf)));
	const struct ftp_layout *table = NULL;
	if (major == 3) {
		switch (minor) {
		case 8:
			table = &py38;
			break;
		case 9:
			table = &py39;
			break;
		case 10:
			table = &py310;
			break;
		case 11:
			table = &py311;
			break;
		case 12:
			table = &py312;
			break;
		default:
			break;
		}
	}
	if (!table)
		return ftp_error_set(err, FTP_E_UNSUPPORTED, 0,
		                     "Python %s has no built-in layout (3.8 to 3.12 only)",
		                     ftp_version_str(version, vbuf, sizeof(vbuf)));
	*out = *table;
	out->version = version;
	out->free_threaded = false;
	out->from_debug_offsets = false;
	symbols_layout_waits(out, minor, false);
	return 0;
}
