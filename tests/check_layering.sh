#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails when a module reaches against the direction ui -> probe -> symbols, when
# library code prints or exits, or when curses is used outside the TUI file.
top=${1:-.}
cd "$top" || exit 2
fail=0
report() { echo "layering: $*"; fail=1; }

grep -nE '#include +"ftprof/(probe|ui)\.h"|#include +"\.\./(probe|ui)/' symbols/*.[ch] && report "symbols/ must not include probe/ or ui/ headers"
probe_src=$(find probe -name '*.[ch]' | sort)
grep -nE '#include +"ftprof/ui\.h"|#include +"(\.\./)+ui/' $probe_src && report "probe/ must not include ui/ headers"
grep -nE '#include +"(ftprof/probe\.h|ui\.h|(\.\./)*probe/)' ui/writers/*.[ch] && report "ui/writers/ reads the profile, not the probe (no ftprof/probe.h, probe/ or ui.h)"
grep -nE '\bpid_t\b|/proc/' symbols/*.[ch] include/ftprof/symbols.h && report "symbols/ knows files, not processes"
grep -nwE 'printf|fprintf|puts|fputs|perror|exit|abort|_exit' $probe_src symbols/*.c | grep -vE 'snprintf|vsnprintf' && report "library code must not print or exit"
# probe/'s parts: process/ is the OS's view of a process and knows nothing of
# Python or perf_event; python/ reads the interpreter and knows nothing of
# perf_event (it asks the probe for thread states).
grep -nE '#include +[<"](\.\./)*(python|perf)/|#include +"(\.\./)*probe_int\.h"|#include +<linux/perf_event\.h>' probe/process/*.[ch] && report "probe/process/ must not include python/, perf/ or the probe's glue"
grep -nE '#include +[<"](\.\./)*perf/|#include +<linux/perf_event\.h>' probe/python/*.[ch] && report "probe/python/ must not include perf/ or linux/perf_event.h"
curses=$(grep -lE '#include +<(n?curses|ncursesw/curses)\.h>' */*.[ch] 2>/dev/null)
[ -z "$curses" ] || [ "$curses" = "ui/tui.c" ] || report "curses outside ui/tui.c: $curses"
# probe/native/: native stacks. Like all of probe/ it neither prints nor exits
# nor sees ui/; it may ask what the OS tells of the process, but knows nothing
# of CPython's structs or of perf_event, and only splice.c, where the probe
# calls in, sees the probe's glue.
grep -nE '#include +"ftprof/ui\.h"|#include +"(\.\./)+ui/' probe/native/*.[ch] && report "probe/native/ must not include ui/ headers"
grep -nwE 'printf|fprintf|puts|fputs|perror|exit|abort|_exit' probe/native/*.[ch] | grep -vE 'snprintf|vsnprintf' && report "probe/native/ must not print or exit"
grep -nE '#include +[<"](\.\./)*(python|perf)/|#include +<linux/perf_event\.h>' probe/native/*.[ch] && report "probe/native/ must not include python/, perf/ or linux/perf_event.h"
native_glue=$(grep -lE '#include +"(\.\./)*probe_int\.h"' probe/native/*.[ch] | grep -v '^probe/native/splice\.c$')
[ -z "$native_glue" ] || report "probe_int.h in probe/native/ outside splice.c: $native_glue"
# ui/analysis/: what report and attach both show, computed from a neutral
# sample: it knows neither the probe nor a file format, and prints nothing.
grep -nE '#include +"(ftprof/probe\.h|ui\.h|(\.\./)*probe/|(\.\./)*writers/|(\.\./)*raw_read\.h)' ui/analysis/*.[ch] && report "ui/analysis/ must not include the probe, ui.h, the writers or the raw reader"
grep -nwE 'printf|fprintf|puts|fputs|perror|exit|abort|_exit' ui/analysis/*.[ch] | grep -vE 'snprintf|vsnprintf' && report "ui/analysis/ must not print or exit"
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
