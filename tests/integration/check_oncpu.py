# SPDX-License-Identifier: MIT
# End-to-end checks of ftprof's on-CPU samples against live targets with
# known ground truth. Runs the target, records it (raw), reads the report's
# JSON, and prints every mismatch; exit 0 when all hold, 77 when the check
# does not apply here (a GIL build for refcount contention, fewer than two
# CPUs), 1 otherwise.
#
#   check_oncpu.py refcount FTPROF PYTHON   shared vs private objects (free-threaded)
#   check_oncpu.py names FTPROF PYTHON      a shared str and closure, named (free-threaded)
#   check_oncpu.py pinned FTPROF PYTHON     two spinners pinned to CPUs 0 and 1
#   check_oncpu.py off FTPROF PYTHON        --no-oncpu: no ticks, no refcount
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(HERE, "..", "targets")
sys.path.insert(0, TARGETS)
import truthlib  # noqa: E402
problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)
    return cond


def start(python, script, *args):
    p = subprocess.Popen([python, os.path.join(TARGETS, script)] + list(args), stdout=subprocess.PIPE,
                         text=True)
    line = p.stdout.readline()
    if line.startswith("skip:"):
        p.wait()
        print(line.strip())
        sys.exit(77)
    if not line.startswith("ready"):
        p.kill()
        sys.exit("%s did not start: %r" % (script, line))
    p.tids = [int(w) for w in line.split()[3:] if w.isdigit()]
    p.said = dict(w.split("=", 1) for w in line.split() if "=" in w)
    return p


def record(ftprof, pid, seconds, tmp, name, *extra):
    raw = os.path.join(tmp, name + ".raw")
    r = subprocess.run([ftprof, "record", "-q", "-r", "200", "-d", str(seconds), "-o", raw] + list(extra) +
                       [str(pid)], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("ftprof record failed (%d): %s" % (r.returncode, r.stderr))
    rep = subprocess.run([ftprof, "report", "--json", raw], capture_output=True, text=True, timeout=120)
    if rep.returncode != 0:
        sys.exit("ftprof report failed (%d): %s" % (rep.returncode, rep.stderr))
    return json.loads(rep.stdout), raw


def free_threaded(python):
    out = subprocess.run([python, "-c", "import sysconfig,sys; print(int(bool(sysconfig.get_config_var("
                          "'Py_GIL_DISABLED')) and not sys._is_gil_enabled()))"],
                         capture_output=True, text=True)
    return out.stdout.strip() == "1"


def truth_line(script, mark):
    found = truthlib.marks(os.path.join(TARGETS, script)).get(mark)
    if not found:
        raise SystemExit("no '# truth: %s' in %s" % (mark, script))
    return found[0]


def refcount_of(rep, type_name):
    for r in rep["refcount"]:
        if r["type"] == type_name:
            return r
    return None


def check_refcount(ftprof, python, tmp):
    if not free_threaded(python):
        print("skip: reference-count contention is a free-threaded build's (no GIL)")
        sys.exit(77)
    read = truth_line("refcount.py", "read")
    runs = {}
    for mode in ("shared", "private"):
        p = start(python, "refcount.py", mode, "2")
        try:
            runs[mode], _ = record(ftprof, p.pid, 4, tmp, mode)
        finally:
            p.kill()
            p.wait()
    shared, private = runs["shared"], runs["private"]
    check(shared["parallelism"]["oncpu"] is not None, "shared: no on-CPU samples")
    if not check(shared["refcount"], "shared: an empty refcount table"):
        return
    top = shared["refcount"][0]
    check(top["type"] == "Payload", "shared: the refcount table's top type is %r, not Payload" % top["type"])
    ours = refcount_of(shared, "Payload")
    if check(ours is not None, "shared: Payload not in the refcount table"):
        lines = ours["lines"]
        check(lines and lines[0]["function"] == "reader" and lines[0]["line"] == read and
              lines[0]["file"].endswith("refcount.py"),
              "shared: Payload's top line is %r, not reader at refcount.py:%d" % (lines[:1], read))
        check(ours["share"] >= 0.10, "shared: Payload has %.1f%% of on-CPU samples, under 10%%" %
              (100 * ours["share"]))
        check(ours["objects"] == 1, "shared: %d Payload objects, 1 expected" % ours["objects"])
        theirs = refcount_of(private, "Payload")
        n = theirs["samples"] if theirs else 0
        check(n * 10 <= ours["samples"],
              "private: %d samples on Payload against %d shared: more than a tenth" % (n, ours["samples"]))
    # (a count of ticks depends on how much CPU the machine gave the
    # readers: pinned's check compares it with the kernel's count)
    check(private["parallelism"]["oncpu"] and private["parallelism"]["oncpu"]["ticks"] > 0,
          "private: no on-CPU samples")


def check_names(ftprof, python, tmp):
    """The target names the object its readers share (its type and the short
    name ftprof should give it): it must be the table's top object, named so,
    at the target's line, in the text report too."""
    if not free_threaded(python):
        print("skip: reference-count contention is a free-threaded build's (no GIL)")
        sys.exit(77)
    hold = truth_line("refcount.py", "hold")
    for mode in ("str", "closure"):
        p = start(python, "refcount.py", mode, "2")
        try:
            rep, raw = record(ftprof, p.pid, 3, tmp, mode)
        finally:
            p.kill()
            p.wait()
        want_type, want_name = p.said.get("type"), p.said.get("name")
        if not check(rep["refcount"], "%s: an empty refcount table" % mode):
            continue
        top = rep["refcount"][0]
        check(top["type"] == want_type and top["name"] == want_name,
              "%s: the top object is %r %r, not %r %r" % (mode, top["type"], top["name"], want_type, want_name))
        # (other objects of the type may show too: a bound method's function,
        # Event.is_set, is counted as the readers check their stop event)
        check(top["share"] >= 0.10, "%s: %.1f%% of on-CPU samples, under 10%%" % (mode, 100 * top["share"]))
        lines = top["lines"]
        check(lines and lines[0]["function"] == "holder" and lines[0]["file"].endswith("refcount.py") and
              lines[0]["line"] in (hold, hold - 1),
              "%s: the top line is %r, not holder at refcount.py:%d (or its loop's line)" % (mode, lines[:1], hold))
        text = subprocess.run([ftprof, "report", raw], capture_output=True, text=True, timeout=120).stdout
        check(("most %s %s" % (top["address"], want_name)) in text,
              "%s: the text report does not name %s %s" % (mode, top["address"], want_name))


def cpu_seconds(pid, tids):
    """The CPU time (user + system) of each of pid's threads tids."""
    hz = os.sysconf("SC_CLK_TCK")
    out = []
    for tid in tids:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2:].split()
        out.append((int(fields[11]) + int(fields[12])) / hz)
    return out


def check_pinned(ftprof, python, tmp):
    """The truth is the kernel's own count of each spinner's CPU time over
    the recording, so the check holds on a loaded machine too: where other
    work takes the cores, both the truth and the samples fall."""
    if len(os.sched_getaffinity(0)) < 2:
        print("skip: needs two CPUs")
        sys.exit(77)
    p = start(python, "pinned.py")
    try:
        before, t0 = cpu_seconds(p.pid, p.tids), time.monotonic()
        rep, _ = record(ftprof, p.pid, 4, tmp, "pinned")
        after, t1 = cpu_seconds(p.pid, p.tids), time.monotonic()
    finally:
        p.kill()
        p.wait()
    oncpu = rep["parallelism"]["oncpu"]
    if not check(oncpu is not None, "no on-CPU samples"):
        return
    # The kernel's measure spans ftprof's start and exit as well: the
    # tolerance covers that and the tick's granularity.
    wall = t1 - t0
    truth = [(after[cpu] - before[cpu]) / wall for cpu in (0, 1)]
    print("truth: spin-0 %.2f, spin-1 %.2f of a CPU; ftprof: effective %.2f" %
          (truth[0], truth[1], oncpu["effective"]))
    cores = {c["cpu"]: c for c in rep["cores"]}
    for cpu in (0, 1):
        c = cores.get(cpu)
        if not check(c is not None, "no cpu%d in cores" % cpu):
            continue
        check(c["busy"] is not None and c["busy"] >= c["target"] - 0.05,
              "cpu%d busy %r below its share for the target %.2f" % (cpu, c["busy"], c["target"]))
        check(abs(c["target"] - truth[cpu]) <= 0.15,
              "cpu%d: %.0f%% busy with the target, the kernel counts %.0f%% for spin-%d" %
              (cpu, 100 * c["target"], 100 * truth[cpu], cpu))
    threads = {t["name"]: t for t in rep["threads"]}
    for cpu in (0, 1):
        t = threads.get("spin-%d" % cpu)
        if check(t is not None, "no thread spin-%d" % cpu):
            check(t["cpus"] == [cpu], "spin-%d ran on %r, pinned to [%d]" % (cpu, t["cpus"], cpu))
    want = truth[0] + truth[1]
    check(abs(oncpu["effective"] - want) <= 0.25,
          "effective parallelism %.2f, the kernel counts %.2f" % (oncpu["effective"], want))
    # Where the machine gave both spinners their cores (a free-threaded build
    # on a quiet machine), the figures themselves must say so.
    if min(truth) >= 0.9:
        for cpu in (0, 1):
            c = cores.get(cpu)
            check(c is None or c["target"] >= 0.80,
                  "cpu%d: %.0f%% busy with the target, under 80%%" % (cpu, 100 * (c["target"] if c else 0)))
        check(oncpu["effective"] >= 1.7, "effective parallelism %.2f, under 1.7" % oncpu["effective"])
    if not free_threaded(python):  # the GIL: they take turns
        check(oncpu["effective"] <= 1.2, "effective parallelism %.2f with a GIL" % oncpu["effective"])
    check(abs(sum(oncpu["kinds"].values()) - oncpu["effective"]) < 0.02,
          "the kinds add up to %.2f, not %.2f" % (sum(oncpu["kinds"].values()), oncpu["effective"]))
    # The spinners run Python: the native functions their ticks interrupted
    # are the interpreter's (libpython, or the executable of a static build)
    funcs = rep["functions"]
    check(sum(f["samples"] for f in funcs) == oncpu["ticks"],
          "the functions' ticks add up to %d, not %d" % (sum(f["samples"] for f in funcs), oncpu["ticks"]))
    exe = os.path.basename(os.path.realpath(python))
    interp = sum(f["share"] for f in funcs if f["library"] and (f["library"].startswith("libpython") or
                                                               f["library"] == exe))
    check(interp >= 0.8, "%.0f%% of the ticks in the interpreter's functions, under 80%%: %r" %
          (100 * interp, funcs[:5]))


def check_off(ftprof, python, tmp):
    p = start(python, "pinned.py")
    try:
        rep, raw = record(ftprof, p.pid, 1, tmp, "off", "--no-oncpu")
    finally:
        p.kill()
        p.wait()
    check(rep["parallelism"]["oncpu"] is None, "--no-oncpu: on-CPU samples reported")
    with open(raw, encoding="utf-8") as f:
        check(not any(line.startswith("@\t") for line in f), "--no-oncpu: tick lines written")


def main():
    what, ftprof, python = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        {"refcount": check_refcount, "names": check_names, "pinned": check_pinned, "off": check_off}[what](ftprof, python, tmp)
    for msg in problems:
        print("check_oncpu %s: %s" % (what, msg))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
