#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `ftprof attach` costs: the CPU it uses (user + system, % of one CPU)
# while it shows a target of THREADS spinning Python threads
# (bench/targets/threads.py) for SECONDS, at 100 Hz and at 1 kHz, in a
# 120x40 tmux pane (redrawing at its default pace, twice a second).
#   bench/attach_cost.sh [PYTHON [THREADS [SECONDS]]]
# Needs tmux, ftprof built (build/ui/ftprof or $FTPROF) and permission to
# read the target (root). Prints one line per rate; the target's own CPU
# is printed beside it, for scale.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-$HOME/.cache/ftprof/py3.13t/bin/python3.13t}
threads=${2:-8}
seconds=${3:-20}
ftprof=$(realpath "${FTPROF:-build/ui/ftprof}")
out=$(mktemp -d)
session=ftprof-attach-cost-$$
trap 'kill "$pid" 2>/dev/null || true; tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$out"' EXIT
"$python" bench/targets/threads.py "$threads" 10 spin > "$out/ready" &
pid=$!
until grep -q ready "$out/ready" 2>/dev/null; do sleep 0.1; done

# CPU seconds (user + system) of a process so far
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }

printf '%-6s %12s %14s\n' rate "attach %CPU" "target %CPU"
for rate in 100 1000; do
	tmux new-session -d -s "$session" -x 120 -y 40 "$ftprof attach -r $rate $pid; sleep 60"
	attach=
	for _ in $(seq 50); do
		attach=$(pgrep -f "^$ftprof attach -r $rate $pid\$" || true)
		[[ -n $attach ]] && break
		sleep 0.1
	done
	[[ -n $attach ]] || { echo "attach_cost: ftprof attach did not start" >&2; exit 1; }
	sleep 2 # past its start (symbols, the first rounds)
	a0=$(cpu_of "$attach") t0=$(cpu_of "$pid") s0=$(date +%s.%N)
	sleep "$seconds"
	a1=$(cpu_of "$attach") t1=$(cpu_of "$pid") s1=$(date +%s.%N)
	tmux capture-pane -p -t "$session" > "$out/screen-$rate"
	tmux send-keys -t "$session" q
	sleep 0.5
	tmux kill-session -t "$session" 2>/dev/null || true
	awk -v r="$rate" -v a0="$a0" -v a1="$a1" -v t0="$t0" -v t1="$t1" -v s0="$s0" -v s1="$s1" \
		'BEGIN {d = s1 - s0; printf "%-6s %12.2f %14.1f\n", r, 100 * (a1 - a0) / d, 100 * (t1 - t0) / d}'
done
echo "(the screen at 1 kHz, last:)"
cat "$out/screen-1000"
