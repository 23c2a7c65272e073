# SPDX-License-Identifier: MIT
# A target that context-switches as fast as two threads can: the main thread
# and a second one hand a turn back and forth through two semaphores,
# ITERATIONS times. Prints "ready", waits for a line on stdin, then prints
# the hand-offs' wall time in seconds: the cost a profiler adds to every
# switch shows in it.
#   python switches.py ITERATIONS
import sys
import threading
import time


def main():
    n = int(sys.argv[1])
    ping, pong = threading.Semaphore(0), threading.Semaphore(0)

    def other():
        for _ in range(n):
            ping.acquire()
            pong.release()

    t = threading.Thread(target=other, name="other")
    t.start()
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    for _ in range(n):
        ping.release()
        pong.acquire()
    t.join()
    print("%.3f" % (time.perf_counter() - t0), flush=True)


if __name__ == "__main__":
    main()
