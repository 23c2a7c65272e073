# SPDX-License-Identifier: MIT
# Ground truth: a "collector" thread collects a big heap (gc.collect() in a
# loop over 3e6 tracked objects, ~55 ms a collection on these machines) beside
# two threads running Python ("python-1", "python-2") that allocate nothing
# the collector tracks; automatic collection is off, so only the collector
# collects. While it is in gc.collect() it is `gc`, and the others are
# stopped: `stw` on a free-threaded build (a stop-the-world pause), `gil` on
# a GIL build (the collector holds the GIL). Between collections (a few
# microseconds) nothing is asserted of the others. Prints "ready PID gc_stw"
# and the truth.
import gc
import sys
import threading
import time

from truthlib import Truth, rule, start

OBJECTS = 3000000


def collector():
    collections = 0
    while True:
        gc.collect()  # truth: collect
        collections += 1


def spin():
    n = 0
    while True:
        n += 1  # truth: spin


def main():
    truth = Truth("gc_stw", __file__)
    gc.disable()
    heap = [[] for _ in range(OBJECTS)]
    if not truth.ft:
        # The collector gives the GIL up when its collection returns and
        # waits about a switch interval to take it back (a true `gil`, at
        # the collect line, while the others run): a short one keeps that
        # near 1% of its time.
        sys.setswitchinterval(0.0002)
    others = [start("python-%d" % (i + 1), spin) for i in range(2)]
    coll = start("collector", collector)
    time.sleep(0.3)
    collect = truth.lines("collect")
    truth.thread("collector", coll.native_id, rule(["gc"], lines=collect))
    if truth.ft:
        stopped = rule(["stw"], when={"thread": "collector", "lines": collect})
    else:
        stopped = rule(["gil"], when={"thread": "collector", "lines": collect},
                       waits={"gil": {"kind": "GIL", "holder": coll.native_id}})
    for t in others:
        truth.thread(t.name, t.native_id, stopped)
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready("objects=%d" % len(heap))
    coll.join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
