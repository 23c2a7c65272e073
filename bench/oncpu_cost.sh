#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the on-CPU engine costs ftprof: CPU seconds ftprof uses per second of
# recording, with and without --no-oncpu, at two rates, on a target of
# THREADS spinning Python threads (bench/targets/threads.py).
#   bench/oncpu_cost.sh [PYTHON [THREADS [SECONDS]]]
# Needs ftprof built (build/ui/ftprof or $FTPROF) and permission to read the
# target (root). Prints one line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-$HOME/.cache/ftprof/py3.13t/bin/python3.13t}
threads=${2:-8}
seconds=${3:-10}
ftprof=${FTPROF:-build/ui/ftprof}
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT
"$python" bench/targets/threads.py "$threads" 10 spin > "$out/ready" &
pid=$!
until grep -q ready "$out/ready" 2>/dev/null; do sleep 0.1; done
printf '%-8s %-10s %12s %10s %14s\n' rate oncpu "cpu s/s" ticks "ms per round"
for rate in 100 1000; do
	for mode in on off; do
		extra=()
		[[ $mode == off ]] && extra=(--no-oncpu)
		/usr/bin/time -f '%U %S' -o "$out/time" "$ftprof" record -f raw -o "$out/r.raw" -r "$rate" \
			-d "$seconds" "${extra[@]}" "$pid" 2> "$out/err" || { cat "$out/err"; exit 1; }
		read -r user sys < "$out/time"
		ticks=$(grep -c '^@' "$out/r.raw" || true)
		rounds=$(awk '!/^[#@%]/ {r[$1] = 1} END {print length(r)}' "$out/r.raw")
		awk -v u="$user" -v s="$sys" -v d="$seconds" -v r="$rate" -v m="$mode" -v t="$ticks" -v n="$rounds" \
			'BEGIN {printf "%-8s %-10s %12.4f %10d %14.4f\n", r, m, (u + s) / d, t, 1000 * (u + s) / n}'
	done
done
