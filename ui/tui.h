/* SPDX-License-Identifier: MIT */
/* ui/: the terminal of `ftprof attach` (ui/tui.c, the one curses file). */
#ifndef FTPROF_TUI_H
#define FTPROF_TUI_H

#include <stdbool.h>

struct attach_screen;
struct tui; /* opaque */

/* Sets the locale from the environment; true when it is not UTF-8 (draw
 * ASCII only). */
bool tui_locale_ascii(void);

/* Takes the terminal (curses, keys without waiting). Returns 0 and stores a
 * tui the caller must tui_destroy(), or -1 when stdin or stdout is not a
 * terminal or curses cannot start. Catch the stop signals before. */
int tui_create(struct tui **out, bool ascii);
/* Restores the terminal as it was. NULL ok. */
void tui_destroy(struct tui *t);

void tui_size(struct tui *t, int *width, int *height);
void tui_draw(struct tui *t, const struct attach_screen *scr);
/* The next key (ATTACH_KEY_* or a byte), 0 for one attach ignores, or -1
 * when none is waiting. Never blocks. */
int tui_key(struct tui *t);

#endif
