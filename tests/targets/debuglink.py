# SPDX-License-Identifier: MIT
# A thread ("linked") that spins in C without end: LIB's debuglink_spin(),
# whose static hidden_spin() is named only by LIB's separate debug file
# (tests/targets/debuglink_lib.c). ctypes lets go of the GIL for the call.
# Prints "ready PID" once the thread runs; runs until killed.
#   python debuglink.py LIB
import ctypes
import os
import sys
import threading
import time


def main():
    lib = ctypes.CDLL(sys.argv[1])
    threading.Thread(target=lib.debuglink_spin, name="linked", daemon=True).start()
    time.sleep(0.2)
    print("ready", os.getpid(), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
