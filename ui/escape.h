/* SPDX-License-Identifier: MIT */
/* ui/: strings from the target written so that nothing in them can act on a
 * terminal or break the format they are written in. */
#ifndef FTPROF_ESCAPE_H
#define FTPROF_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Writes s to f with everything that could act on a terminal escaped:
 * control characters (C0, DEL, C1) as \xNN / \u{NN}, bytes that are not
 * valid UTF-8 as \xNN. Valid printable UTF-8 passes through unchanged. */
void ui_put_escaped(FILE *f, const char *s);

/* ui_put_escaped, also escaping ';' (the folded format's separator). */
void ui_put_folded(FILE *f, const char *s);

/* Writes s as a JSON string literal (with quotes): control characters as
 * \u00NN, invalid UTF-8 bytes as U+FFFD. NULL is written as null. */
void ui_put_json_str(FILE *f, const char *s);

/* Writes s as XML character data or an attribute value (without quotes):
 * & < > " ' as entities; controls, U+FFFE/U+FFFF (which XML forbids) and
 * bytes that are not valid UTF-8 as \xNN / \u{N} text, as ui_put_escaped
 * writes them. A backslash passes through, so a string ui_put_folded made
 * reads the same. NULL is written as nothing. */
void ui_put_xml(FILE *f, const char *s);

/* ui_put_escaped into dst (len bytes, NUL-terminated; NULL s is ""), cut at
 * a whole character or escape when it does not fit. Also escapes Unicode's
 * bidirectional overrides, and with ascii every character that is not ASCII
 * (\u{NN}), for a terminal whose locale is not UTF-8. Returns the length
 * written. */
size_t ui_escape_buf(char *dst, size_t len, const char *s, bool ascii);

#endif
