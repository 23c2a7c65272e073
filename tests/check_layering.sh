#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when a module reaches against the direction ui -> probe -> symbols, when
# library code prints or exits, or when curses is used outside the TUI file.
top=${1:-.}
cd "$top" || exit 2
fail=0
report() { echo "layering: $*"; fail=1; }

grep -nE '#include +"ftprof/(probe|ui)\.h"|#include +"\.\./(probe|ui)/' symbols/*.[ch] && report "symbols/ must not include probe/ or ui/ headers"
grep -nE '#include +"ftprof/ui\.h"|#include +"\.\./ui/' probe/*.[ch] && report "probe/ must not include ui/ headers"
grep -nE '#include +"(ftprof/probe\.h|ui\.h|(\.\./)*probe/)' ui/writers/*.[ch] && report "ui/writers/ reads the profile, not the probe (no ftprof/probe.h, probe/ or ui.h)"
grep -nE '\bpid_t\b|/proc/' symbols/*.[ch] include/ftprof/symbols.h && report "symbols/ knows files, not processes"
grep -nwE 'printf|fprintf|puts|fputs|perror|exit|abort|_exit' probe/*.c symbols/*.c | grep -vE 'snprintf|vsnprintf' && report "library code must not print or exit"
curses=$(grep -lE '#include +<(n?curses|ncursesw/curses)\.h>' */*.[ch] 2>/dev/null)
[ -z "$curses" ] || [ "$curses" = "ui/tui.c" ] || report "curses outside ui/tui.c: $curses"
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
