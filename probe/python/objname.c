/* SPDX-License-Identifier: MIT */
/* Short names of the target's objects, for the objects a report names
 * without a stack of its own (the object of a refcount tick): a type's name,
 * a str's text, a code object's or function's qualified name, a module's
 * name. Everything else is known by its type alone. */
#include <stdio.h>
#include <string.h>

#include "probe_int.h"

/* tp_flags bits (Include/object.h, unchanged 3.8-3.15) */
#define TPFLAGS_UNICODE_SUBCLASS (1ull << 28)
#define TPFLAGS_TYPE_SUBCLASS (1ull << 31)

#define STR_CHARS 40 /* of a str's text; more is cut with "..." */

enum probe_obj_kind probe_obj_kind(const struct probe_reader *r, uint64_t type, const char *tp_name)
{
	uint64_t flags = 0;
	if (probe_mem_u64(r->mem, type + r->L->object.tp_flags, &flags) < 0)
		return PROBE_OBJ_OTHER;
	if (flags & TPFLAGS_TYPE_SUBCLASS)
		return PROBE_OBJ_TYPE;
	if ((flags & TPFLAGS_UNICODE_SUBCLASS) && tp_name && !strcmp(tp_name, "str"))
		return PROBE_OBJ_STR;
	if (!tp_name)
		return PROBE_OBJ_OTHER;
	if (!strcmp(tp_name, "code"))
		return PROBE_OBJ_CODE;
	if (!strcmp(tp_name, "function"))
		return PROBE_OBJ_FUNCTION;
	if (!strcmp(tp_name, "module"))
		return PROBE_OBJ_MODULE;
	return PROBE_OBJ_OTHER;
}

/* The str whose address is at obj + off, into out. */
static int str_field(const struct probe_reader *r, uint64_t obj, uint32_t off, char *out, size_t out_len)
{
	uint64_t s;
	if (off == FTP_OFF_NONE)
		return -FTP_E_UNSUPPORTED;
	int ret = probe_mem_u64(r->mem, obj + off, &s);
	return ret < 0 ? ret : probe_read_str(r, s, out, out_len);
}

int probe_type_name(const struct probe_reader *r, uint64_t type, char *out, size_t out_len)
{
	uint64_t name;
	int ret = probe_mem_u64(r->mem, type + r->L->object.tp_name, &name);
	if (ret < 0)
		return ret;
	if (!name)
		return -FTP_E_TORN;
	ret = probe_mem_read_direct(r->mem, name, out, out_len - 1, NULL);
	if (ret < 0)
		return ret;
	out[out_len - 1] = '\0';
	return out[0] ? 0 : -FTP_E_TORN;
}

/* A str's text between quotes, cut at STR_CHARS characters. */
static int str_text(const struct probe_reader *r, uint64_t obj, char *out, size_t out_len)
{
	char text[STR_CHARS * 4 + 8];
	int ret = probe_read_str(r, obj, text, sizeof(text));
	if (ret < 0)
		return ret;
	size_t n = 0, chars = 0;
	while (text[n] && chars < STR_CHARS) {
		n++;
		while ((text[n] & 0xc0) == 0x80)
			n++; /* the rest of a UTF-8 sequence */
		chars++;
	}
	snprintf(out, out_len, "'%.*s%s'", (int)n, text, text[n] ? "..." : "");
	return 0;
}

int probe_obj_name(const struct probe_reader *r, uint64_t obj, enum probe_obj_kind kind, char *out,
                   size_t out_len)
{
	const struct ftp_layout *L = r->L;
	int ret;
	out[0] = '\0';
	if (out_len < 8)
		return -FTP_E_INVAL;
	switch (kind) {
	case PROBE_OBJ_TYPE:
		ret = probe_type_name(r, obj, out, out_len);
		break;
	case PROBE_OBJ_STR:
		ret = str_text(r, obj, out, out_len);
		break;
	case PROBE_OBJ_CODE:
		ret = str_field(r, obj, L->code.qualname != FTP_OFF_NONE ? L->code.qualname : L->code.name,
		                out, out_len);
		break;
	case PROBE_OBJ_FUNCTION:
		ret = str_field(r, obj, L->function.qualname, out, out_len);
		break;
	case PROBE_OBJ_MODULE:
		ret = str_field(r, obj, L->module.md_name, out, out_len);
		break;
	default:
		return -FTP_E_UNSUPPORTED;
	}
	if (ret == 0 && !out[0])
		ret = -FTP_E_TORN;
	if (ret < 0)
		out[0] = '\0';
	return ret;
}
