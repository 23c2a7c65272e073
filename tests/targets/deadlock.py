# SPDX-License-Identifier: MIT
# Ground truth: two threads deadlocked on two locks, "deadlock-a" holding a
# and waiting for b, "deadlock-b" holding b and waiting for a; MODE (argv[1]
# or FTPROF_DEADLOCK) `with` takes them in `with` blocks, `acquire` with bare
# acquire() (each thread's frame keeps both locks in its arguments). Each is
# `lock` on the other's lock, held by the other; the main thread is in
# Thread.join (`wait`). A dump lists the cycle: threads [a, b] waiting for
# locks [b, a]. Prints "ready PID deadlock MODE a=0x... b=0x..." and the
# truth.
import os
import sys
import threading
import time

from truthlib import Truth, address, rule, start

a = threading.Lock()
b = threading.Lock()
both = threading.Barrier(2)


def with_locks(first, second):
    with first:  # truth: with-first
        both.wait()
        with second:  # truth: with-second
            pass


def bare_acquire(first, second):
    first.acquire()  # truth: acquire-first
    both.wait()
    second.acquire()  # truth: acquire-second
    second.release()
    first.release()


def main():
    truth = Truth("deadlock", __file__)
    mode = os.environ.get("FTPROF_DEADLOCK", sys.argv[1] if len(sys.argv) > 1 else "with")
    if mode not in ("with", "acquire"):
        print("usage: deadlock.py with|acquire", file=sys.stderr)
        return 64
    truth.doc["workload"] = "deadlock-" + mode
    fn, waits_at = (with_locks, "with-second") if mode == "with" else (bare_acquire, "acquire-second")
    ta = start("deadlock-a", fn, a, b)
    tb = start("deadlock-b", fn, b, a)
    time.sleep(0.3)  # both past the barrier, parked on the other's lock
    line = truth.lines(waits_at)
    for t, waits_for, other in ((ta, b, tb), (tb, a, ta)):
        truth.thread(t.name, t.native_id,
                     rule(["lock"], waits={"lock": {"kind": "Lock", "address": address(waits_for),
                                                    "holder": other.native_id, "lines": line}}))
    truth.deadlock([ta.native_id, tb.native_id], [address(b), address(a)])
    truth.thread("MainThread", threading.get_native_id(),
                 rule(["wait"], waits={"wait": {"kind": "join", "lines": truth.lines("join")}}))
    truth.ready("%s a=%s b=%s" % (mode, address(a), address(b)))
    ta.join()  # truth: join
    return 0


if __name__ == "__main__":
    sys.exit(main())
