/* SPDX-License-Identifier: MIT */
/* Helpers shared by the layout sources: version strings, the layout check. */
#include <stdio.h>
#include <string.h>

#include "ftprof/symbols.h"

char *ftp_version_str(uint32_t version, char *buf, size_t len)
{
	unsigned major = (version >> 24) & 0xff, minor = (version >> 16) & 0xff;
	unsigned micro = (version >> 8) & 0xff, level = (version >> 4) & 0xf, serial = version & 0xf;
	static const char *const levels[] = { [0xa] = "a", [0xb] = "b", [0xc] = "rc" };
	if (level >= 0xa && level <= 0xc)
		snprintf(buf, len, "%u.%u.%u%s%u", major, minor, micro, levels[level], serial);
	else
		snprintf(buf, len, "%u.%u.%u", major, minor, micro);
	return buf;
}

/* A field the probe reads out of a copy of the start of its struct: it must
 * lie within `span` bytes and, where `bound` names another field of the
 * layout (a size), within that many bytes too. */
struct span_check {
	const char *name;
	size_t field, bound; /* offsetof(struct ftp_layout, ...); NO_BOUND */
	uint32_t width, span;
};

#define NO_BOUND SIZE_MAX
#define NO_SPAN UINT32_MAX
#define F(x) #x, offsetof(struct ftp_layout, x)
#define B(x) offsetof(struct ftp_layout, x)

static const struct span_check span_checks[] = {
	{ F(tstate.prev), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.next), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.interp), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.frame), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.thread_id), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.native_thread_id), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.datastack_chunk), B(tstate.size), 8, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.status), B(tstate.size), 4, FTP_LAYOUT_TSTATE_SPAN },
	{ F(tstate.holds_gil), B(tstate.size), 4, FTP_LAYOUT_TSTATE_SPAN },
	{ F(frame.previous), B(frame.size), 8, FTP_LAYOUT_FRAME_SPAN },
	{ F(frame.code), B(frame.size), 8, FTP_LAYOUT_FRAME_SPAN },
	{ F(frame.instr), B(frame.size), 8, FTP_LAYOUT_FRAME_SPAN },
	{ F(frame.owner), B(frame.size), 1, FTP_LAYOUT_FRAME_SPAN },
	{ F(frame.is_entry), B(frame.size), 1, FTP_LAYOUT_FRAME_SPAN },
	{ F(frame.tlbc_index), B(frame.size), 4, FTP_LAYOUT_FRAME_SPAN },
	{ F(code.filename), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(code.name), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(code.qualname), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(code.linetable), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(code.firstlineno), B(code.size), 4, FTP_LAYOUT_CODE_SPAN },
	/* co_code (<= 3.10) is a pointer; co_code_adaptive is where the
	 * bytecode starts, its last member */
	{ F(code.code), B(code.size), 1, FTP_LAYOUT_CODE_SPAN },
	{ F(code.tlbc), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(gil.enabled), NO_BOUND, 4, FTP_LAYOUT_GIL_SPAN },
	{ F(gil.last_holder), NO_BOUND, 8, FTP_LAYOUT_GIL_SPAN },
	{ F(gil.locked), NO_BOUND, 4, FTP_LAYOUT_GIL_SPAN },
	{ F(gil.switch_number), NO_BOUND, 8, FTP_LAYOUT_GIL_SPAN },
	/* PyObject and PyVarObject head every object read: code, str, bytes */
	{ F(object.ob_type), NO_BOUND, 8, FTP_LAYOUT_OBJECT_SPAN },
	{ F(object.ob_type), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(object.var_size), B(code.size), 8, FTP_LAYOUT_CODE_SPAN },
	{ F(object.ob_type), B(bytes.ob_sval), 8, NO_SPAN },
	{ F(object.var_size), B(bytes.ob_sval), 8, NO_SPAN },
	{ F(object.ob_type), B(unicode.ascii_size), 8, NO_SPAN },
	/* PyASCIIObject, and PyCompactUnicodeObject around it */
	{ F(unicode.length), B(unicode.ascii_size), 8, NO_SPAN },
	{ F(unicode.state), B(unicode.ascii_size), 4, NO_SPAN },
	{ F(unicode.ascii_size), B(unicode.compact_size), 0, NO_SPAN },
	/* the dict tables thread names are looked up in */
	{ F(pylong.lv_tag), B(pylong.ob_digit), 8, FTP_LAYOUT_LONG_SPAN },
	{ F(dict_keys.dk_size), NO_BOUND, 8, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_keys.dk_log2_size), NO_BOUND, 1, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_keys.dk_log2_index_bytes), NO_BOUND, 1, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_keys.dk_kind), NO_BOUND, 1, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_keys.dk_nentries), NO_BOUND, 8, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_keys.dk_indices), NO_BOUND, 0, FTP_LAYOUT_KEYS_SPAN },
	{ F(dict_entry.me_key), B(dict_entry.size), 8, NO_SPAN },
	{ F(dict_entry.me_value), B(dict_entry.size), 8, NO_SPAN },
	{ F(dict_uentry.me_key), B(dict_uentry.size), 8, NO_SPAN },
	{ F(dict_uentry.me_value), B(dict_uentry.size), 8, NO_SPAN },
	{ F(dict_values.capacity), B(dict_values.values), 1, FTP_LAYOUT_VALUES_SPAN },
	{ F(dict_values.valid), B(dict_values.values), 1, FTP_LAYOUT_VALUES_SPAN },
};

#undef F
#undef B

static uint32_t get32(const struct ftp_layout *L, size_t off)
{
	uint32_t v;
	memcpy(&v, (const char *)L + off, sizeof(v));
	return v;
}

int ftp_layout_check(const struct ftp_layout *L, struct ftp_error *err)
{
	char vbuf[32];
	for (size_t i = 0; i < sizeof(span_checks) / sizeof(span_checks[0]); i++) {
		const struct span_check *c = &span_checks[i];
		uint32_t off = get32(L, c->field), limit = c->span;
		if (off == FTP_OFF_NONE)
			continue;
		if (c->bound != NO_BOUND) {
			uint32_t bound = get32(L, c->bound);
			if (bound == FTP_OFF_NONE)
				return ftp_error_set(
				        err, FTP_E_UNSUPPORTED, 0,
				        "layout of Python %s: %s is known but not its struct's size",
				        ftp_version_str(L->version, vbuf, sizeof(vbuf)), c->name);
			if (bound < limit)
				limit = bound;
		}
		if (c->width > limit || off > limit - c->width)
			return ftp_error_set(err, FTP_E_UNSUPPORTED, 0,
			                     "layout of Python %s: %s (%u) does not fit in the first %u "
			                     "bytes of its struct",
			                     ftp_version_str(L->version, vbuf, sizeof(vbuf)), c->name, off,
			                     limit);
	}
	return 0;
}
