#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What `ftprof attach` keeps over a long watch: its resident memory (RSS,
# and of it the anonymous part, the heap, and the file pages mapped) at
# 10 s, 1, 2, 5, 10, 20, 30, 40, 50 and 60 minutes (up to MINUTES) of watching
# bench/targets/churn.py, whose threads, code objects and names never stop
# changing, in a 120x40 tmux pane. Memory is read every second; each point
# is the highest reading of the 10 s before it (a window of attach's),
# since the file pages come and go within a window.
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
points=" 10 60 120 300 600 1200 1800 2400 3000 3600 "
printf '%-8s %10s %10s %10s %10s\n' after "RSS MB" "anon MB" "file MB" "CPU s"
rss=() anon=() file=()
for ((at = 1; at <= minutes * 60; at++)); do
	sleep "$(awk -v t="$((start + at))" -v now="$(date +%s.%N)" 'BEGIN {d = t - now; print (d > 0 ? d : 0)}')"
	[[ -d /proc/$attach ]] || { echo "attach_memory: ftprof attach ended early" >&2; exit 1; }
	read -r r a f < <(awk '$1 == "VmRSS:" {r = $2} $1 == "RssAnon:" {a = $2} $1 == "RssFile:" {f = $2}
		END {print r, a, f}' "/proc/$attach/status")
	rss+=("$r") anon+=("$a") file+=("$f")
	[[ $points == *" $at "* ]] || continue
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$attach/stat")
	n=${#rss[@]} from=$((n > 10 ? n - 10 : 0))
	awk -v at="$at" -v cpu="$cpu" -v r="${rss[*]:from}" -v a="${anon[*]:from}" -v f="${file[*]:from}" '
		function peak(list,   v, i, n, m) { n = split(list, v, " "); for (i = 1; i <= n; i++) if (v[i] + 0 > m) m = v[i] + 0; return m }
		BEGIN {printf "%-8s %10.1f %10.1f %10.1f %10.1f\n", (at < 60 ? at " s" : at / 60 " min"), peak(r) / 1024, peak(a) / 1024, peak(f) / 1024, cpu}'
	rss=("${rss[@]:from}") anon=("${anon[@]:from}") file=("${file[@]:from}")
done
tmux -L "$server" send-keys -t attach q
