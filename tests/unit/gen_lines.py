# SPDX-License-Identifier: MIT
# Prints line tables and CPython's own line for every instruction offset of a corpus of code objects.
#
# Runs on CPython 3.8 to 3.15. One line per code object:
#   C <format> <co_firstlineno> <name> <table hex or -> <line for offset 0> <offset 2> ...
# format is lnotab (3.8, 3.9: co_lnotab), 310 (3.10: co_linetable) or
# locations (3.11+: co_linetable). Lines are what CPython reports: co_lines()
# on 3.10+ (None is -1), dis.findlinestarts() on 3.8 and 3.9 (the line of the
# last start at or before the offset). The last line is "E <code objects>".
#
# Usage: gen_lines.py [--synthetic]   (--synthetic: leave out the stdlib modules)
import dis
import importlib.util
import sys

STDLIB = ("threading", "json.decoder", "argparse", "collections", "dataclasses")


def synthetic_source():
    """Source with the shapes that stress line tables."""
    out = []
    add = out.append

    # A loop whose body spans more than 255 lines: big negative deltas on
    # the jump back to the loop header.
    add("def long_loop(n):")
    add("    total = 0")
    add("    for i in range(n):")
    for k in range(300):
        add("        total += i * %d" % k)
    add("    return total")
    add("")

    # Gaps of more than 255, 1000 and 65535 lines between statements.
    add("def gaps(a):")
    add("    x = a")
    out.extend([""] * 300)
    add("    y = x + 1")
    out.extend(["    # filler"] * 1500)
    add("    z = y * 2")
    out.extend([""] * 70000)
    add("    return x + y + z")
    add("")

    # Multi-line expressions whose operations come back to earlier lines.
    add("def multiline(a, b, f):")
    add("    value = f(")
    add("        a,")
    out.extend([""] * 400)
    add("        b,")
    add("    )")
    add("    other = (a")
    add("             + b")
    add("             * a")
    add("             - b)")
    add("    d = {")
    for k in range(40):
        add("        'k%d': a + %d," % (k, k))
    add("    }")
    add("    s = ('first'")
    add("         if a > b else")
    add("         'second')")
    add("    return value, other, d, s")
    add("")

    # One line with far more than 255 bytes of bytecode, and columns past 127.
    add("def wide(a):")
    add("    x = [" + ", ".join("a + %d" % i for i in range(200)) + "]")
    add("    y = (")
    add(" " * 140 + "a + 1)")
    add("    return x, y")
    add("")

    # Lambdas, comprehensions, generators, nested functions, decorators.
    add("def deco(f):")
    add("    return f")
    add("")
    add("@deco")
    add("def nested(seq):")
    add("    key = lambda v: (v,")
    add("                     -v)")
    add("    squares = [v * v for v in seq")
    add("               if v % 2]")
    add("    table = {v: [w for w in range(v)")
    add("                 if w > 1] for v in seq}")
    add("    gen = (v")
    add("           for v in seq)")
    add("    def inner(x):")
    add("        def innermost(y):")
    add("            return x + y")
    add("        return innermost")
    add("    return sorted(seq, key=key), squares, table, list(gen), inner")
    add("")

    # Exceptions, with, finally, else, loops with break/continue.
    add("def handlers(path):")
    add("    try:")
    add("        with open(path) as f:")
    add("            data = f.read()")
    add("    except (OSError,")
    add("            ValueError) as exc:")
    add("        data = str(exc)")
    add("    except Exception:")
    add("        raise")
    add("    else:")
    add("        data += '!'")
    add("    finally:")
    add("        path = None")
    add("    for ch in data:")
    add("        if ch == 'x':")
    add("            continue")
    add("        elif ch == 'y':")
    add("            break")
    add("        while ch:")
    add("            ch = ch[1:]")
    add("    else:")
    add("        pass")
    add("    return data")
    add("")

    # A class body, properties, async functions, f-strings over lines.
    add("class Thing:")
    add("    attr = 1")
    add("    def __init__(self, v):")
    add("        self.v = v")
    add("    @property")
    add("    def doubled(self):")
    add("        return self.v * 2")
    add("    async def run(self, other):")
    add("        async with other as o:")
    add("            async for item in o:")
    add("                await item")
    add("        return f'{self.v!r:>10}' \\")
    add("               f'{other}'")
    add("    def gen(self):")
    add("        yield self.v")
    add("        yield from range(")
    add("            self.v)")
    add("")

    # A long function: more than 65536 bytes of bytecode (EXTENDED_ARG jumps).
    add("def big(a):")
    add("    r = 0")
    add("    if a:")
    for k in range(2500):
        add("        r += a * %d + %d" % (k, k))
    add("    return r")
    add("")
    return "\n".join(out) + "\n"


def match_source():
    """3.10+ only: a match statement."""
    return "\n".join([
        "def matcher(v):",
        "    match v:",
        "        case [a, b]:",
        "            return a + b",
        "        case {'k': k}:",
        "            return k",
        "        case int() | float() if v > 0:",
        "            return v",
        "        case _:",
        "            return None",
        "",
    ])


def walk(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield from walk(const)


def expected_lines(code):
    n = len(code.co_code) // 2
    lines = [-1] * n
    if sys.version_info >= (3, 10):
        for start, end, line in code.co_lines():
            for off in range(start, end, 2):
                if 0 <= off // 2 < n:
                    lines[off // 2] = -1 if line is None else line
    else:
        starts = list(dis.findlinestarts(code))
        j = -1
        for i in range(n):
            while j + 1 < len(starts) and starts[j + 1][0] <= 2 * i:
                j += 1
            lines[i] = starts[j][1] if j >= 0 else -1
    return lines


def describe(code, label):
    if sys.version_info >= (3, 11):
        fmt, table = "locations", code.co_linetable
    elif sys.version_info >= (3, 10):
        fmt, table = "310", code.co_linetable
    else:
        fmt, table = "lnotab", code.co_lnotab
    name = getattr(code, "co_qualname", code.co_name)
    name = "%s:%s@%d" % (label, name.replace(" ", "_"), code.co_firstlineno)
    lines = expected_lines(code)
    return "C %s %d %s %s %s" % (fmt, code.co_firstlineno, name, table.hex() or "-",
                      " ".join(map(str, lines)))


def main():
    sources = [("synthetic", synthetic_source())]
    if sys.version_info >= (3, 10):
        sources.append(("match", match_source()))
    if "--synthetic" not in sys.argv[1:]:
        for mod in STDLIB:
            spec = importlib.util.find_spec(mod)
            with open(spec.origin, encoding="utf-8") as f:
                sources.append((mod, f.read()))
    count = 0
    out = sys.stdout
    for label, src in sources:
        top = compile(src, label, "exec", dont_inherit=True)
        for code in walk(top):
            out.write(describe(code, label))
            out.write("\n")
            count += 1
    out.write("E %d\n" % count)


if __name__ == "__main__":
    main()
