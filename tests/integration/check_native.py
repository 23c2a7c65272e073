# SPDX-License-Identifier: MIT
# End-to-end check of `record --native` without --blocking: native stacks
# from the on-CPU samples' copied user stacks, the target never stopped.
# Runs native_spin.py (a thread hashing in libcrypto, called from work()),
# records it raw while watching every thread's /proc state, and prints every
# mismatch; exit 0 when all hold, 1 otherwise.
#
#   check_native.py sampled FTPROF PYTHON    --native: native frames in the
#       hasher's on-CPU samples, under work(), Python frames in order; the
#       main thread and the napper, off CPU, without native frames (never
#       the napper's last hash); no thread ever stopped or ptrace-attached
#   check_native.py deep FTPROF PYTHON       --native, work() 300 calls deep:
#       the whole stack, though deeper than the copy a sample takes
#   check_native.py blocking FTPROF PYTHON   --native --blocking: the same
#       frames, and the watcher does see the stops (it can tell)
#   check_native.py refused FTPROF PYTHON SHIM   --native where perf_event_open
#       fails (SHIM, preloaded, refuses it): a fatal error that says to use
#       --blocking; with --blocking it records
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "..", "targets")
sys.path.insert(0, TARGETS)
import truthlib  # noqa: E402
PY_FRAME = re.compile(r" \((.*):(-?\d+)\)$")
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def truth_line(script, mark):
    found = truthlib.marks(os.path.join(TARGETS, script)).get(mark)
    if not found:
        raise SystemExit("no '# truth: %s' in %s" % (mark, script))
    return found[0]


def traced(pid):
    """Whether a thread of pid has a tracer (ptrace) now."""
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("TracerPid:"):
                        if int(line.split()[1]):
                            return True
                        break
    except OSError:
        pass
    return False


def task_states(pid):
    """The state letter of each of pid's threads now."""
    out = []
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                out.append(f.read().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            pass
    return out


def record_watched(ftprof, pid, raw, extra):
    """Records pid for 3 s; returns how many looks at its threads found one
    stopped (t, T) or traced, and how many looks there were."""
    rec = subprocess.Popen([ftprof, "record", "-q", "-r", "200", "-d", "3", "-f", "raw", "-o", raw] + extra +
                           [str(pid)], stderr=subprocess.PIPE, text=True)
    stopped = looks = 0
    while rec.poll() is None:
        states = task_states(pid)
        looks += 1
        stopped += any(s in "tT" for s in states) or traced(pid)
        time.sleep(0.002)
    err = rec.stderr.read()
    if rec.returncode != 0:
        sys.exit("ftprof record %s failed (%d): %s" % (" ".join(extra), rec.returncode, err))
    return stopped, looks


def samples(raw):
    with open(raw, encoding="utf-8") as f:
        for line in f:
            if line[0] in "#%@":
                continue
            c = line.rstrip("\n").split("\t")
            if len(c) >= 14:
                yield {"state": c[3], "oncpu": c[4], "thread": c[12], "frames": c[13].split(";") if c[13] else []}


def is_python(frame):
    return PY_FRAME.search(frame) is not None


DEEP = 300


def check_frames(raw, what):
    hash_line = truth_line("native_spin.py", "hash")
    want_py = ["_bootstrap", "_bootstrap_inner", "run"] + ["work"] * (DEEP + 1 if what == "deep" else 1)
    running = good = waiting = stale = 0
    first_bad = None
    for s in samples(raw):
        frames = s["frames"]
        if s["thread"] in ("MainThread", "napper"):
            # Off CPU: a native stack only with --blocking, and never the
            # one of the napper's last hash
            if s["state"] in ("wait", "sleep") and s["oncpu"] == "0" and what != "blocking":
                waiting += 1
                stale += not all(is_python(f) for f in frames)
            continue
        if s["thread"] != "hasher" or s["state"] not in ("native", "running", "runnable"):
            continue
        running += 1
        py = [i for i, f in enumerate(frames) if is_python(f)]
        names = [frames[i].split(" (", 1)[0].split(".")[-1] for i in py]
        inner = frames[py[-1] + 1:] if py else []
        ok = (py and names == want_py and not is_python(frames[0]) and
              PY_FRAME.search(frames[py[-1]]).group(1).endswith("native_spin.py") and
              int(PY_FRAME.search(frames[py[-1]]).group(2)) == hash_line and
              any("libcrypto" in f for f in inner) and not any(is_python(f) for f in inner))
        if ok:
            good += 1
        elif first_bad is None:
            first_bad = ";".join(frames)
    if what != "blocking":
        check(waiting >= 20, "%s: only %d samples of the main thread and the napper off CPU" % (what, waiting))
    check(stale == 0, "%s: %d of %d samples of threads off CPU (main, napper asleep) have native frames" %
          (what, stale, waiting))
    if not check(running >= 20, "%s: only %d samples of the hasher on a CPU or runnable" % (what, running)):
        return
    check(good * 10 >= running * 9,
          "%s: %d of %d hasher samples have libcrypto under work() at native_spin.py:%d with the Python "
          "frames in order (90%% expected); the first that does not: %s" %
          (what, good, running, hash_line, first_bad))
    print("%s: %d of %d hasher samples with libcrypto under work()" % (what, good, running))


def check_refused(ftprof, pid, shim, tmp):
    env = dict(os.environ, LD_PRELOAD=shim)
    # The sanitizer build's runtime wants to come first; the shim defines one
    # function and allocates nothing, so the order may be waived.
    env["ASAN_OPTIONS"] = ":".join(o for o in (os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0") if o)
    raw = os.path.join(tmp, "refused.raw")
    r = subprocess.run([ftprof, "record", "-q", "-d", "1", "-f", "raw", "-o", raw, "--native", str(pid)],
                       capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 2, "refused: record --native exited %d, not 2: %s" % (r.returncode, r.stderr))
    check("perf_event" in r.stderr and "use --blocking" in r.stderr,
          "refused: the message does not say to use --blocking: %r" % r.stderr)
    r = subprocess.run([ftprof, "record", "-q", "-d", "1", "-f", "raw", "-o", raw, "--native", "--blocking",
                        str(pid)], capture_output=True, text=True, timeout=60, env=env)
    check(r.returncode == 0, "refused: record --native --blocking exited %d: %s" % (r.returncode, r.stderr))


def main():
    what, ftprof, python = sys.argv[1:4]
    p = subprocess.Popen([python, os.path.join(TARGETS, "native_spin.py")] + ([str(DEEP)] if what == "deep" else []),
                         stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        if not line.startswith("ready"):
            sys.exit("native_spin.py did not start: %r" % line)
        with tempfile.TemporaryDirectory() as tmp:
            if what == "refused":
                check_refused(ftprof, p.pid, sys.argv[4], tmp)
                return report(what)
            raw = os.path.join(tmp, what + ".raw")
            extra = ["--native"] + (["--blocking"] if what == "blocking" else [])
            stopped, looks = record_watched(ftprof, p.pid, raw, extra)
            print("%s: %d of %d looks found a thread stopped or traced" % (what, stopped, looks))
            if what == "blocking":
                check(stopped > 0, "blocking: %d looks never found the target stopped: the watcher "
                      "cannot tell" % looks)
            else:
                check(stopped == 0, "%s: %d of %d looks found a thread of the target stopped or traced" %
                      (what, stopped, looks))
            check_frames(raw, what)
    finally:
        p.kill()
        p.wait()
    return report(what)


def report(what):
    for msg in problems:
        print("check_native %s: %s" % (what, msg))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
