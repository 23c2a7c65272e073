# SPDX-License-Identifier: MIT
# Prints strings as CPython stores them (Latin-1, UCS-2, UCS-4) with their expected UTF-8.
#
# One line per string and storage kind wide enough for it:
#   S <kind> <count> <characters as kind-byte little-endian units, hex or -> <UTF-8 hex or ->
# The UTF-8 is CPython's encoding of the string with every surrogate code point
# (which UTF-8 cannot carry) replaced by U+FFFD. The first line is
#   R <UTF-8 hex of U+FFFD>
import sys

STRINGS = [
    "",
    "hello, world",
    "a\x00b",
    "\x7f\x80\xff",
    "caf\xe9 d\xe9j\xe0 vu \xbf\xa1",
    "".join(map(chr, range(256))),
    "\u0100\u0101\u0141\u20ac",
    "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8",
    "\u07ff\u0800\uffff\ud7ff\ue000\ufffd\ufeff",
    "".join(chr(c) for c in range(0x7f0, 0x820)),
    "".join(chr(c) for c in range(0xd7f0, 0xe010)),
    "\U0001f600",
    "\U00010000\U0010ffff",
    "a\U0001f600b\u20acc\xe9",
    "".join(chr(c) for c in range(0x1f300, 0x1f340)),
    "\ud800",
    "\udfff",
    "\udbff\udc00",
    "x\ud800y",
    "\ud800\U0001f600\udc00",
    "a\xe9\u20ac\U0001f600" * 50,
    "\xe9" * 300,
]


def min_kind(s):
    top = max(map(ord, s), default=0)
    return 1 if top < 0x100 else 2 if top < 0x10000 else 4


def storage(s, kind):
    if kind == 1:
        return s.encode("latin-1")
    if kind == 2:
        return s.encode("utf-16-le", "surrogatepass")
    return s.encode("utf-32-le", "surrogatepass")


def utf8(s):
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s).encode("utf-8")


def main():
    out = sys.stdout
    out.write("R %s\n" % "\ufffd".encode("utf-8").hex())
    for s in STRINGS:
        for kind in (1, 2, 4):
            if kind < min_kind(s):
                continue
            data = storage(s, kind)
            assert len(data) == kind * len(s)
            out.write("S %d %d %s %s\n" % (kind, len(s), data.hex() or "-", utf8(s).hex() or "-"))


if __name__ == "__main__":
    main()
