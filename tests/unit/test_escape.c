/* SPDX-License-Identifier: MIT */
/* Strings from the target never reach a terminal or a JSON file raw. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

static char *capture(void (*put)(FILE *, const char *), const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert(f);
	put(f, s);
	fclose(f);
	return buf;
}

Test(escape, terminal_controls_escaped)
{
	char *out = capture(ui_put_escaped, "a\x1b[31mred\x07\x7f\xc2\x9b"
	                                    "2J\n");
	cr_expect(!strpbrk(out, "\x1b\x07\x7f\n"), "raw control in %s", out);
	cr_expect(!strstr(out, "\xc2\x9b"), "raw C1 CSI in %s", out);
	cr_expect_str_eq(out, "a\\x1b[31mred\\x07\\x7f\\u{9b}2J\\x0a");
	free(out);
}

Test(escape, terminal_invalid_utf8_as_hex)
{
	char *out = capture(ui_put_escaped, "ok\xff\xc3(\xed\xa0\x80");
	cr_expect_str_eq(out, "ok\\xff\\xc3(\\xed\\xa0\\x80");
	free(out);
}

Test(escape, terminal_unicode_passes)
{
	const char *s = "récursion_profonde 深い 🐍";
	char *out = capture(ui_put_escaped, s);
	cr_expect_str_eq(out, s);
	free(out);
}

Test(escape, json_strings)
{
	char *out = capture(ui_put_json_str, "q\"b\\s\x1b\n\xff\xc2\x85é");
	cr_expect_str_eq(out, "\"q\\\"b\\\\s\\u001b\\n\\ufffd\\u0085é\"");
	free(out);
	out = capture(ui_put_json_str, NULL);
	cr_expect_str_eq(out, "null");
	free(out);
}
