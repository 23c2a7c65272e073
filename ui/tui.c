/* SPDX-License-Identifier: MIT */
/* The only file that talks to curses: it puts the lines attach_render laid
 * out on the terminal, maps keys to attach_key's, and restores the terminal.
 * The signals that end attach (SIGINT, SIGTERM, SIGHUP) are caught by the
 * sampler before initscr, so curses installs no handler of its own for
 * them: they only set a flag, and the loop ends through tui_destroy(), which
 * calls endwin(). SIGWINCH is curses': it turns into KEY_RESIZE. */
#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach_view.h"
#include "tui.h"

struct tui {
	bool ascii;
	bool colors;
	int width, height;
};

bool tui_locale_ascii(void)
{
	setlocale(LC_ALL, "");
	const char *cs = nl_langinfo(CODESET);
	return !(cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0));
}

int tui_create(struct tui **out, bool ascii)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return -1;
	struct tui *t = calloc(1, sizeof(*t));
	if (!t)
		return -1;
	t->ascii = ascii;
	if (!initscr()) {
		free(t);
		return -1;
	}
	cbreak(); /* Ctrl-C stays a signal */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_RED, -1);
		init_pair(2, COLOR_CYAN, -1);
		t->colors = true;
	}
	getmaxyx(stdscr, t->height, t->width);
	*out = t;
	return 0;
}

void tui_destroy(struct tui *t)
{
	if (!t)
		return;
	curs_set(1);
	endwin();
	free(t);
}

void tui_size(struct tui *t, int *width, int *height)
{
	getmaxyx(stdscr, t->height, t->width);
	*width = t->width;
	*height = t->height;
}

static attr_t attr_of(const struct tui *t, enum attach_attr a)
{
	switch (a) {
	case ATTACH_ATTR_HEADER:
		return A_BOLD;
	case ATTACH_ATTR_ALERT:
		return A_BOLD | (t->colors ? COLOR_PAIR(1) : A_REVERSE);
	case ATTACH_ATTR_TABS:
		return t->colors ? COLOR_PAIR(2) | A_BOLD : A_BOLD;
	case ATTACH_ATTR_COLUMNS:
		return A_REVERSE;
	case ATTACH_ATTR_SELECTED:
		return A_REVERSE | A_BOLD;
	case ATTACH_ATTR_STATUS:
		return A_DIM;
	default:
		return A_NORMAL;
	}
}

void tui_draw(struct tui *t, const struct attach_screen *scr)
{
	erase();
	for (int y = 0; y < scr->height && y < t->height; y++) {
		const struct attach_line *l = &scr->lines[y];
		attr_t a = attr_of(t, l->attr);
		attron(a);
		mvaddstr(y, 0, l->text);
		if (l->attr == ATTACH_ATTR_COLUMNS || l->attr == ATTACH_ATTR_SELECTED) {
			int cy, cx;
			getyx(stdscr, cy, cx);
			(void)cy;
			for (int x = cx; x < t->width - 1; x++)
				addch(' ');
		}
		attroff(a);
	}
	refresh();
}

int tui_key(struct tui *t)
{
	(void)t;
	int c = getch();
	switch (c) {
	case ERR:
		return -1;
	case KEY_UP:
		return ATTACH_KEY_UP;
	case KEY_DOWN:
		return ATTACH_KEY_DOWN;
	case KEY_PPAGE:
		return ATTACH_KEY_PGUP;
	case KEY_NPAGE:
		return ATTACH_KEY_PGDN;
	case KEY_HOME:
		return ATTACH_KEY_HOME;
	case KEY_END:
		return ATTACH_KEY_END;
	case KEY_RESIZE:
		return ATTACH_KEY_RESIZE;
	default:
		return c >= 0 && c < 0x100 ? c : 0;
	}
}
