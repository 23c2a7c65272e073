# SPDX-License-Identifier: MIT
# Ground truth: 4 CPU-bound threads ("cpu-1"..."cpu-4") looping in pure
# Python. On a GIL build one holds the GIL and runs (`running`, or `runnable`
# when the machine gives it no CPU) and the others wait for it (`gil`, on the
# GIL): in each round exactly one of them is running or runnable and three
# are `gil`. A free-threaded build has no GIL: the workload does not apply
# (oversub.py covers CPU-bound threads there). Prints "ready PID gil_cpu" and
# the truth.
import sys
import threading

from truthlib import Truth, rule, start

THREADS = 4
go = threading.Event()


def spin():
    go.wait()
    n = 0
    while True:
        n += 1  # truth: spin


def main():
    truth = Truth("gil_cpu", __file__)
    if truth.ft:
        truth.not_applicable("no GIL in a free-threaded build")
    threads = [start("cpu-%d" % (i + 1), spin) for i in range(THREADS)]
    names = [t.name for t in threads]
    for t in threads:
        # three of four wait for the GIL: a quarter would be fair shares, and
        # a thread that is never `gil` has the GIL to itself
        truth.thread(t.name, t.native_id,
                     rule(["running", "runnable", "gil"], waits={"gil": {"kind": "GIL"}},
                          at_least={"gil": 0.5}))
    # Exactly one holds the GIL, but not at every instant: at each hand-over
    # (every 5 ms here) the GIL is free until the woken waiter, which needs a
    # CPU first, takes it; a round read then rightly finds no holder
    # (measured: 1-3% of rounds on this 2-core machine).
    truth.round_rule(names, ["running", "runnable"], 1, 1, "one thread holds the GIL", share=0.9)
    truth.round_rule(names, ["running"], 1, 1, "and runs, most of the time", share=0.5)
    truth.round_rule(names, ["gil"], THREADS - 1, THREADS - 1, "the others wait for it", share=0.9)
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready_once_joined(go)
    threads[0].join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
