# SPDX-License-Identifier: MIT
# A target that ends its Python life under a profiler: FTPROF_WORKERS threads
# (default 4) and the main thread spin in Python, and FTPROF_AFTER seconds
# (default 1.5) after it prints "ready PID", FTPROF_MODE happens:
#   exec-sleep    the main thread execs /bin/sleep
#   exec-python   the main thread execs this interpreter on a sleeping one-liner
#   exec-thread   a worker thread execs /bin/sleep (the kernel kills the others)
#   exit-thread   a worker thread calls os._exit(0)
#   run           nothing: it runs until killed (the default)
import os
import sys
import threading
import time

MODE = os.environ.get("FTPROF_MODE", "run")
AFTER = float(os.environ.get("FTPROF_AFTER", "1.5"))
WORKERS = int(os.environ.get("FTPROF_WORKERS", "4"))


def spin_until(deadline):
    n = 0
    while time.monotonic() < deadline:
        n += 1
    return n


def the_end():
    if MODE in ("exec-sleep", "exec-thread"):
        os.execv("/bin/sleep", ["sleep", "120"])
    elif MODE == "exec-python":
        os.execv(sys.executable, [sys.executable, "-c", "import time\ntime.sleep(120)\n"])
    elif MODE == "exit-thread":
        os._exit(0)


def worker(i, go, when):
    go.wait()
    spin_until(when[0])
    if i == 0 and MODE in ("exec-thread", "exit-thread"):
        the_end()
    spin_until(time.monotonic() + 3600)


def main():
    go, when = threading.Event(), [0.0]
    for i in range(WORKERS):
        threading.Thread(target=worker, args=(i, go, when), name="worker-%d" % i, daemon=True).start()
    print("ready", os.getpid(), flush=True)
    when[0] = time.monotonic() + AFTER
    go.set()
    spin_until(when[0])
    if MODE in ("exec-sleep", "exec-python"):
        the_end()
    spin_until(time.monotonic() + 3600)


if __name__ == "__main__":
    main()
