# SPDX-License-Identifier: MIT
# A frame that calls has run its first instruction. Two "caller-N" threads
# call three nested functions without end: nearly all their time goes to
# calls and returns, so a stack read while the thread moves on often finds a
# frame just made, not yet started (its def line), under a callee frame left
# by the call before. The "traced" thread runs a profile hook on each call
# of entered(): there Python does run above a frame that has not started,
# and the hook's samples are real; its lines are marked "# calls: hook".
# Prints "ready PID" once the threads run; runs until killed.
import os
import sys
import threading
import time


def leaf(x):
    return x


def middle(x):
    return leaf(x)


def outer(x):
    return middle(x)


def caller():
    n = 0
    while True:
        n += outer(n) & 1


def hook(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "entered":
        end = time.perf_counter() + 0.002
        while time.perf_counter() < end:
            pass


def entered():  # calls: hook (3.11 and later: its def line)
    return 1  # calls: hook (3.10 and older: its first instruction's line)


def traced():
    sys.setprofile(hook)
    while True:
        entered()


def main():
    for i in range(2):
        threading.Thread(target=caller, name="caller-%d" % (i + 1), daemon=True).start()
    threading.Thread(target=traced, name="traced", daemon=True).start()
    print("ready", os.getpid(), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
