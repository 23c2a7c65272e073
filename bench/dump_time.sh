#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Wall time of `ftprof dump` (median of N runs) on targets of 8 Python threads,
# per interpreter: bench/dump_time.sh [RUNS] [NAME...] (default 21 runs, 3.13t 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
shift || true
names=("$@")
((${#names[@]})) || names=(3.13t 3.12)
ftprof=$(scripts/build)
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-7s %-14s %8s %8s %8s\n' python mode median_ms min_ms max_ms
for name in "${names[@]}"; do
	scripts/interpreters install "$name" >/dev/null || { echo "$name: unavailable"; continue; }
	py=$(scripts/interpreters path "$name")
	out=$(mktemp)
	# 5 workers + deep + spinner + main = 8 threads
	FTPROF_WORKERS=5 FTPROF_DEPTH=20 "$py" tests/targets/parked.py >"$out" &
	pid=$!
	for _ in $(seq 300); do grep -q ready "$out" && break; sleep 0.1; done
	for mode in blocking --nonblocking --native; do
		arg=(); [ "$mode" = blocking ] || arg=("$mode")
		times=()
		for _ in $(seq "$runs"); do
			t0=$(date +%s%N)
			"$ftprof" dump "${arg[@]}" "$pid" >/dev/null
			t1=$(date +%s%N)
			times+=($(( (t1 - t0) / 1000 )))
		done
		printf '%s\n' "${times[@]}" | median >"$out.m"
		printf '%-7s %-14s %8.2f %8.2f %8.2f\n' "$name" "$mode" \
			"$(awk '{print $1/1000}' "$out.m")" \
			"$(printf '%s\n' "${times[@]}" | sort -n | head -1 | awk '{print $1/1000}')" \
			"$(printf '%s\n' "${times[@]}" | sort -n | tail -1 | awk '{print $1/1000}')"
	done
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -f "$out" "$out.m"
done
