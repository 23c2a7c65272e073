# SPDX-License-Identifier: MIT
# Ground truth: a "collector" thread collects a big heap (gc.collect() in a
# loop over 2e6 tracked objects, ~40 ms a collection on these machines) beside
# two threads running Python ("python-1", "python-2") that allocate nothing
# the collector tracks; automatic collection is off, so only the collector
# collects. While it is in gc.collect() it is `gc`, and the others are
# stopped: `stw` on a free-threaded build (a stop-the-world pause), `gil` on
# a GIL build (the collector holds the GIL). The collector calls gc.collect
# from C, twenty times in a row (deque(map(...))): it does not return to the
# eval loop between them, so a GIL build gives the GIL up only between
# batches (about a second apart) and the collector does not wait for it at
# its collect line. Between batches nothing is asserted of the others. A
# thread that is not running (the main thread in Thread.join) keeps its own
# state during a pause: `wait`, not `stw`. Prints "ready PID gc_stw" and the
# truth.
import collections
import gc
import itertools
import sys
import threading
import time

from truthlib import Truth, rule, start

OBJECTS = 2000000
BATCH = 20
START = 0.3  # seconds from the collector's start to its first collection


go = threading.Event()


def collector():
    # The main thread must be in Thread.join before the first collection:
    # on 3.13t, collections called back to back keep the world stopped but
    # for microseconds, and a thread that wakes up then may wait minutes to
    # run again (measured: 334 s before main printed ready). So the ready
    # line comes as go is set, once the main thread is in the join, and the
    # first collection START seconds after.
    go.wait()
    time.sleep(START)
    while True:
        collections.deque(map(gc.collect, itertools.repeat(2, BATCH)), maxlen=0)  # truth: collect


def spin():
    go.wait()
    n = 0
    while True:
        n += 1  # truth: spin


def main():
    truth = Truth("gc_stw", __file__)
    gc.disable()
    heap = [[] for _ in range(OBJECTS)]
    others = [start("python-%d" % (i + 1), spin) for i in range(2)]
    coll = start("collector", collector)
    collect = truth.lines("collect")
    # a collector the machine gives no CPU for a while is `runnable`
    truth.thread("collector", coll.native_id, rule(["gc", "runnable"], lines=collect, at_least={"gc": 0.5}))
    if truth.ft:
        stopped = rule(["stw"], when={"thread": "collector", "lines": collect})
    else:
        stopped = rule(["gil"], when={"thread": "collector", "lines": collect},
                       waits={"gil": {"kind": "GIL", "holder": coll.native_id}})
    for t in others:
        truth.thread(t.name, t.native_id, stopped)
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready_once_joined(go, "objects=%d" % len(heap), settle=0)
    coll.join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
