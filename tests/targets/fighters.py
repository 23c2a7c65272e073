# SPDX-License-Identifier: MIT
# Ground truth: FTPROF_FIGHTERS threads (default 4; or argv[1]), "fighter-1"
# ..., fight over one threading.Lock, each holding it HOLD seconds while it
# spins on time.perf_counter() inside `with lock:`, then sleeping REST
# (long beside the few microseconds it takes to wake from it, and beside
# the GIL hand-over that follows it on a GIL build: up to the 5 ms switch
# interval per thread ahead in the queue). A thread at the `with lock:` line
# waits for the lock: `lock` (or releases it: __exit__ runs on that line)
# (on 3.13t spinning on a CPU or parked), on the Lock at id(lock), held by the
# thread whose sample of the same round is in the critical section; that one
# runs Python (`running`, or `runnable` waiting for a CPU; on GIL builds
# also `gil` while a thread back from its rest holds the GIL). A thread resting
# is mostly in `sleep` (on GIL builds also `gil`: it takes the GIL back from
# the spinning holder on its way out of time.sleep); on its way in and out it
# is briefly running the call, in C, or waiting for a CPU. With
# FTPROF_FIGHTERS_LOAD=N, N processes spinning beside it keep the CPUs busy
# (they die with it), so that waiters and holders are preempted at any
# point. Prints "ready PID fighters lock=0x... acquire=LINE" and the truth.
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from truthlib import Truth, address, rule, start

HOLD = 0.020
REST = 0.020
lock = threading.Lock()


def fight():
    while True:
        with lock:  # truth: acquire
            end = time.perf_counter() + HOLD  # truth: hold
            while time.perf_counter() < end:  # truth: hold
                pass  # truth: hold
        time.sleep(REST)  # truth: rest


def spinner():
    # killed with its parent, however that one ends
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


def main():
    truth = Truth("fighters", __file__)
    load = int(os.environ.get("FTPROF_FIGHTERS_LOAD", "0"))
    for _ in range(load):
        subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=spinner)
    count = int(os.environ.get("FTPROF_FIGHTERS", sys.argv[1] if len(sys.argv) > 1 else "4"))
    threads = [start("fighter-%d" % (i + 1), fight) for i in range(count)]
    time.sleep(0.2)
    hold = truth.lines("hold")
    for t in threads:
        truth.thread(t.name, t.native_id,
                     # the `with` line also ends the block: __exit__ releases
                     # the lock there, and the waiter it wakes often takes
                     # the releaser's CPU at once (3.13t with both cores
                     # busy: 5-17% of this line's samples runnable so, the
                     # more the busier; quiet, under 1%)
                     rule(["lock", "running", "runnable"] + ([] if truth.ft else ["gil"]),
                          lines=truth.lines("acquire"), at_least={"lock": 0.7 if load else 0.9},
                          waits={"lock": {"kind": "Lock", "address": address(lock), "holder": {"at": hold}}}),
                     # GIL builds: a thread coming back from its rest takes
                     # the GIL from the holder for a moment (measured on
                     # 3.15: about a tenth of the holder's samples)
                     # (with the spinners beside it, it waits for a CPU as
                     # often as it has one)
                     rule(["running", "runnable"] + ([] if truth.ft else ["gil"]), lines=hold,
                          at_least=None if load else {"running": 0.5}),
                     # the rest: asleep, and on its way in and out of it
                     # (running the call, in time.sleep's C code, woken and
                     # waiting for a CPU, on GIL builds for the GIL: with a
                     # 5 ms rest that was up to 74% of it on 3.14 in CI, one
                     # switch interval or more per wake-up; with 20 ms, 25-30%
                     # with both cores busy): most of it must be `sleep`
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
