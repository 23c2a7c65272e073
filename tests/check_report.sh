#!/bin/sh
# SPDX-License-Identifier: MIT
# ftprof report on handwritten raw recordings (formats 2 to 4) (tests/report/): the text and
# JSON reports match their golden files, -o writes the same, and bad input
# (raw 1, a bad column, binary data, no file) fails with the file and line
# named and exit 2, never a crash. Usage: check_report.sh FTPROF SOURCE_DIR
ftprof=$1
dir=$2/tests/report
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
fail=0
report() { echo "check_report: $*"; fail=1; }
cd "$dir" || exit 2

for name in threads gil oncpu names; do
	"$ftprof" report "$name.raw" > "$tmp/$name.txt" 2> "$tmp/err" || report "$name.raw: exit $?: $(cat "$tmp/err")"
	diff -u "$name.txt" "$tmp/$name.txt" || report "$name.raw: text differs from $name.txt"
	"$ftprof" report --json "$name.raw" > "$tmp/$name.json" || report "$name.raw --json: exit $?"
	diff -u "$name.json" "$tmp/$name.json" || report "$name.raw: JSON differs from $name.json"
	if command -v python3 > /dev/null; then
		python3 -m json.tool "$tmp/$name.json" > /dev/null || report "$name.raw: --json is not JSON"
	fi
	"$ftprof" report -j -o "$tmp/$name.out" "$name.raw" > "$tmp/stdout" || report "$name.raw -o: exit $?"
	cmp -s "$name.json" "$tmp/$name.out" || report "$name.raw -o: differs from $name.json"
	[ -s "$tmp/stdout" ] && report "$name.raw -o: wrote to standard output too"
done

# No byte of ESC or BEL from the file reaches the text report.
for name in threads oncpu names; do
	if LC_ALL=C grep -q "$(printf '[\033\007]')" "$tmp/$name.txt"; then
		report "$name.raw: a control character reached the text report"
	fi
done

# bad input: exit 2 and "FILE:LINE: ..." on stderr
expect_error() { # file line-or-empty pattern
	"$ftprof" report "$1" > "$tmp/out" 2> "$tmp/err"
	code=$?
	[ $code -eq 2 ] || report "$1: exit $code, 2 expected"
	grep -q "^ftprof report: $1${2:+:$2}: .*$3" "$tmp/err" || report "$1: message '$(cat "$tmp/err")'"
	[ -s "$tmp/out" ] && report "$1: wrote a report"
}
expect_error bad-raw1.raw 1 "raw format 1"
expect_error bad-state.raw 4 "bad state column 'idle'"
expect_error bad-columns.raw 3 "5 tab-separated columns, 13 expected"
expect_error bad-address.raw 3 "bad wait_addr column '7f00'"
expect_error bad-notraw.raw 1 "not an ftprof raw recording"
expect_error bad-empty.raw 1 "empty file"
expect_error bad-tick.raw 5 "a tick line before any sample line"
expect_error bad-kind.raw 6 "a malformed tick line"
expect_error bad-cpustat.raw 5 "a malformed CPU times line"
expect_error bad-names.raw 7 "a malformed tick line"
expect_error no-such-file.raw "" "No such file or directory"

"$ftprof" report > /dev/null 2>&1
[ $? -eq 64 ] || report "no file: exit 64 expected"
"$ftprof" report --bogus threads.raw > /dev/null 2>&1
[ $? -eq 64 ] || report "unknown option: exit 64 expected"
"$ftprof" report --help | grep -q "^usage: ftprof report" || report "--help"

[ $fail -eq 0 ] && echo "check_report: ok"
exit $fail
