# SPDX-License-Identifier: MIT
# Ground truth: FTPROF_APPENDERS threads (default 4, "append-1"...) append to
# one shared list in a loop (and clear it when it grows long). On 3.13t each
# append takes the list's per-object critical section: a thread that finds
# it taken waits in `lock`, kind "critical section", type "list", at the
# list's id(), at the append (or clear) line; otherwise it runs Python
# (`running`, or `runnable` while it waits for a CPU). On GIL builds each is
# `running` or waiting for the GIL (`gil`), most of the time `gil` with more
# appenders than one. Prints "ready PID shared_list list=0x..." and the truth.
import os
import sys
import threading

from truthlib import Truth, address, rule, start

shared = []
go = threading.Event()


def append():
    go.wait()
    while True:
        shared.append(1)  # truth: append
        if len(shared) > 100000:
            shared.clear()  # truth: clear


def main():
    truth = Truth("shared_list", __file__)
    count = int(os.environ.get("FTPROF_APPENDERS", sys.argv[1] if len(sys.argv) > 1 else "4"))
    threads = [start("append-%d" % (i + 1), append) for i in range(count)]
    cs = truth.lines("append") + truth.lines("clear")
    for t in threads:
        if truth.ft:
            truth.thread(t.name, t.native_id,
                         rule(["running", "runnable", "lock"],
                              waits={"lock": {"kind": "critical section", "type": "list",
                                              "address": address(shared), "lines": cs}},
                              at_least={"lock": CS_SHARE}))
        else:
            truth.thread(t.name, t.native_id,
                         rule(["running", "runnable", "gil"], waits={"gil": {"kind": "GIL"}},
                              at_least={"gil": 0.5}))
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready_once_joined(go, "list=%s" % address(shared))
    threads[0].join()  # truth: join
    return 0


# Measured on 3.13.15t, 2 cores, 4 appenders: 40 dumps --native found 98 of
# 160 appender stacks (61%) in _PyCriticalSection_BeginSlow (14 of them
# parked, the others spinning in sched_yield), and perf's cpu-clock samples
# put 36% of their CPU time in sched_yield and the PyMutex slow path.
# `record` finds 55-80% `lock`; a probe that calls the spinners `running`
# finds 8-20%, below this bound.
CS_SHARE = 0.4

if __name__ == "__main__":
    sys.exit(main())
