# SPDX-License-Identifier: MIT
# Ground truth: FTPROF_FIGHTERS threads (default 4; or argv[1]), "fighter-1"
# ..., fight over one threading.Lock, each holding it HOLD seconds while it
# spins on time.perf_counter() inside `with lock:`, then sleeping 5 ms
# (long beside the few microseconds it takes to wake from it). A thread at the `with lock:` line waits for the lock: `lock`
# (on 3.13t spinning on a CPU or parked), on the Lock at id(lock), held by the
# thread whose sample of the same round is in the critical section; that one
# runs Python (`running`, or `runnable` waiting for a CPU; on GIL builds
# also `gil` while a thread back from its rest holds the GIL). A thread resting
# is mostly in `sleep` (on GIL builds also `gil`: it takes the GIL back from
# the spinning holder on its way out of time.sleep); on its way in and out it
# is briefly running the call, in C, or waiting for a CPU. Prints "ready PID fighters
# lock=0x... acquire=LINE" and the truth.
import os
import sys
import threading
import time

from truthlib import Truth, address, rule, start

HOLD = 0.020
lock = threading.Lock()


def fight():
    while True:
        with lock:  # truth: acquire
            end = time.perf_counter() + HOLD  # truth: hold
            while time.perf_counter() < end:  # truth: hold
                pass  # truth: hold
        time.sleep(0.005)  # truth: rest


def main():
    truth = Truth("fighters", __file__)
    count = int(os.environ.get("FTPROF_FIGHTERS", sys.argv[1] if len(sys.argv) > 1 else "4"))
    threads = [start("fighter-%d" % (i + 1), fight) for i in range(count)]
    time.sleep(0.2)
    hold = truth.lines("hold")
    for t in threads:
        truth.thread(t.name, t.native_id,
                     rule(["lock"], lines=truth.lines("acquire"),
                          waits={"lock": {"kind": "Lock", "address": address(lock), "holder": {"at": hold}}}),
                     # GIL builds: a thread coming back from its rest takes
                     # the GIL from the holder for a moment (measured on
                     # 3.15: about a tenth of the holder's samples)
                     rule(["running", "runnable"] + ([] if truth.ft else ["gil"]), lines=hold,
                          at_least={"running": 0.5}),
                     # the rest: asleep, and on its way in and out of it
                     # (running the call, in time.sleep's C code, woken and
                     # waiting for a CPU, on GIL builds for the GIL: about
                     # half of the rest on 3.12 and 3.15, measured): most of
                     # it must be `sleep`
                     rule(["sleep", "running", "native", "runnable"] + ([] if truth.ft else ["gil"]),
                          lines=truth.lines("rest"), at_least={"sleep": 0.6 if truth.ft else 0.3},
                          optional=True))
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready("lock=%s acquire=%d" % (address(lock), truth.line("acquire")))
    threads[0].join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
