#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `ftprof attach` keeps over a long watch: its resident memory (RSS,
# and of it the anonymous part, the heap, and the file pages mapped) at
# 10 s, 1, 2, 5, 10, 20 and 30 minutes (up to MINUTES) of watching
# bench/targets/churn.py, whose threads, code objects and names never stop
# changing, in a 120x40 tmux pane.
#   bench/attach_memory.sh [PYTHON [MINUTES]]
# Needs tmux, ftprof built (build/ui/ftprof or $FTPROF) and permission to
# read the target (root). Prints one line per point.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-$HOME/.cache/ftprof/py3.13t/bin/python3.13t}
minutes=${2:-30}
ftprof=$(realpath "${FTPROF:-build/ui/ftprof}")
out=$(mktemp -d)
server=ftprof-attach-memory-$$
trap 'kill "$pid" 2>/dev/null || true; tmux -L "$server" kill-server 2>/dev/null || true; rm -rf "$out"' EXIT
"$python" bench/targets/churn.py 4 0.2 > "$out/ready" &
pid=$!
until grep -q ready "$out/ready" 2>/dev/null; do sleep 0.1; done
tmux -L "$server" new-session -d -s attach -x 120 -y 40 "$ftprof attach $pid; sleep 60"
attach=
for _ in $(seq 50); do
	attach=$(pgrep -f "^$ftprof attach $pid\$" || true)
	[[ -n $attach ]] && break
	sleep 0.1
done
[[ -n $attach ]] || { echo "attach_memory: ftprof attach did not start" >&2; exit 1; }
start=$(date +%s)
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$attach/status"; }
printf '%-8s %10s %10s %10s %10s\n' after "RSS MB" "anon MB" "file MB" "CPU s"
for at in 10 60 120 300 600 1200 1800; do
	((at <= minutes * 60)) || break
	sleep $((start + at - $(date +%s)))
	[[ -d /proc/$attach ]] || { echo "attach_memory: ftprof attach ended early" >&2; exit 1; }
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$attach/stat")
	awk -v at="$at" -v rss="$(kib VmRSS)" -v anon="$(kib RssAnon)" -v file="$(kib RssFile)" -v cpu="$cpu" \
		'BEGIN {printf "%-8s %10.1f %10.1f %10.1f %10.1f\n", (at < 60 ? at " s" : at / 60 " min"), rss / 1024, anon / 1024, file / 1024, cpu}'
done
tmux -L "$server" send-keys -t attach q
