# SPDX-License-Identifier: MIT
# A target whose names would act on a terminal if printed raw: a function whose
# co_name (and co_qualname) holds ESC sequences, C1 controls and a line
# separator, compiled from a pseudo-file whose name does too, run by a thread
# whose name holds C0 and C1 controls, the separators of ftprof's text formats
# and a lone surrogate. Writes the names as JSON to the file FTPROF_NAMES
# names, if set, and prints "ready PID" once the thread spins inside that
# function. Runs for FTPROF_SECONDS (default 120).
import json
import os
import sys
import threading
import time

FUNC = "evil\x1b[31mred\x1b]0;pwned\x07\x9b2J\x7f\u2028end"
QUAL = "Q\x1b[1m." + FUNC
FILE = "<hostile\x1b[2J\udcff.py>"
THREAD = "thr\x1b[1m\x01\x02\x7f\x85\x9b;semi\ttab\nnl\\bs\ud800lone \u00e9"

SOURCE = "def spin(started, stop):\n    started.set()\n    while not stop.is_set():\n        pass\n"


def hostile_function():
    scope = {}
    exec(compile(SOURCE, FILE, "exec"), scope)
    f = scope["spin"]
    if sys.version_info >= (3, 11):
        f.__code__ = f.__code__.replace(co_name=FUNC, co_qualname=QUAL)
    else:
        f.__code__ = f.__code__.replace(co_name=FUNC)
    return f


def main():
    started, stop = threading.Event(), threading.Event()
    t = threading.Thread(target=hostile_function(), args=(started, stop), name=THREAD, daemon=True)
    t.start()
    started.wait()
    names = {"function": FUNC, "qualname": QUAL if sys.version_info >= (3, 11) else FUNC, "file": FILE,
             "thread": THREAD}
    if os.environ.get("FTPROF_NAMES"):
        with open(os.environ["FTPROF_NAMES"], "w") as f:
            f.write(json.dumps(names) + "\n")
    print("ready", os.getpid(), flush=True)
    seconds = float(os.environ.get("FTPROF_SECONDS", "120"))
    time.sleep(seconds)
    stop.set()
    t.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
