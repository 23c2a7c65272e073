# SPDX-License-Identifier: MIT
# Writes seed corpora of the fuzz targets from real interpreters and binaries.
#
#   seeds.py interp NAME OUTDIR
#       Run under interpreter NAME (3.8 ... 3.15, 3.13t). Writes into OUTDIR/:
#         linetable/     line tables of the interpreter's own code objects
#                        (synthetic shapes from tests/unit/gen_lines.py and
#                        stdlib modules), each with its format, co_firstlineno
#                        and an instruction offset: the fuzz_linetable input
#         pystr/         strings in CPython's storage kinds: fuzz_pystr input
#         debug_offsets/NAME
#                        3.13+: the first 1024 bytes of _PyRuntime, the
#                        _Py_DebugOffsets of this live process
#   seeds.py elf-trim IN OUT
#       Writes a small ELF file keeping IN's ELF and program headers, its
#       dynamic and static symbol tables (the static one cut to its first
#       symbols, with their names only) and the first KiB of a few sections.
#
# Runs on Python 3.8 and later.
import hashlib
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))

MAX_CODES = 150  # line-table seeds per interpreter
STDLIB = ("threading", "json.decoder", "argparse")


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def name_of(data):
    return hashlib.sha1(data).hexdigest()[:16]


def walk(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            yield from walk(const)


def line_table(code):
    if sys.version_info >= (3, 11):
        return 3, code.co_linetable
    if sys.version_info >= (3, 10):
        return 2, code.co_linetable
    return 1, code.co_lnotab


def linetable_seeds(out):
    import gen_lines

    sources = [("synthetic", gen_lines.synthetic_source())]
    if sys.version_info >= (3, 10):
        sources.append(("match", gen_lines.match_source()))
    for mod in STDLIB:
        spec = importlib.util.find_spec(mod)
        with open(spec.origin, encoding="utf-8") as f:
            sources.append((mod, f.read()))
    codes = []
    for label, src in sources:
        codes.extend(walk(compile(src, label, "exec", dont_inherit=True)))
    step = max(1, len(codes) // MAX_CODES)
    for i, code in enumerate(codes[::step][:MAX_CODES]):
        fmt, table = line_table(code)
        nbytes = len(code.co_code)
        offset = (i * 7919 * 2) % nbytes if nbytes else 0
        data = struct.pack("<BiI", fmt, code.co_firstlineno, offset) + table
        write(os.path.join(out, "linetable", name_of(data)), data)


def pystr_seeds(out):
    import gen_pystr

    strings = list(gen_pystr.STRINGS)
    strings.extend(sorted(sys.modules)[:40])
    for s in strings:
        for kind in (1, 2, 4):
            if kind < gen_pystr.min_kind(s):
                continue
            data = gen_pystr.storage(s, kind)
            # room for all of it, and a buffer that cuts it short
            for out_len in (4 * len(s) + 1, 1 + len(s) // 2):
                seed = struct.pack("<BHBI", kind, out_len, 0, 0) + data
                write(os.path.join(out, "pystr", name_of(seed)), seed)


def debug_offsets_seed(name, out):
    if sys.version_info < (3, 13):
        return
    import ctypes

    runtime = ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime")
    blob = ctypes.string_at(ctypes.addressof(runtime), 1024)
    if not blob.startswith(b"xdebugpy"):
        sys.exit("seeds.py: %s: no _Py_DebugOffsets at _PyRuntime" % name)
    write(os.path.join(out, "debug_offsets", name), blob)


# ---- ELF ------------------------------------------------------------------

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
SHDR = struct.Struct("<IIQQQQIIQQ")
SYM_SIZE = 24
KEEP_WHOLE = (".dynsym", ".dynstr", ".gnu.hash", ".dynamic")
KEEP_HEAD = (".PyRuntime", ".rodata", ".data", ".interp", ".note.gnu.build-id")
HEAD_BYTES = 1024
MAX_SYMTAB = 3000


def elf_trim(src, dst):
    with open(src, "rb") as f:
        elf = f.read()
    (ident, e_type, machine, version, entry, phoff, shoff, flags, ehsize, phentsize, phnum,
     shentsize, shnum, shstrndx) = EHDR.unpack_from(elf, 0)
    shdrs = [list(SHDR.unpack_from(elf, shoff + i * shentsize)) for i in range(shnum)]
    strtab_off = shdrs[shstrndx][4]

    def sname(sh):
        end = elf.index(b"\0", strtab_off + sh[0])
        return elf[strtab_off + sh[0]:end].decode()

    names = [sname(sh) for sh in shdrs]
    keep = [i for i, n in enumerate(names) if n in KEEP_WHOLE + KEEP_HEAD or n in (".symtab", ".strtab")]
    index = {old: new + 1 for new, old in enumerate(keep)}

    contents = {}
    for i in keep:
        sh = shdrs[i]
        body = b"" if sh[1] == 8 else elf[sh[4]:sh[4] + sh[5]]  # SHT_NOBITS has none
        if names[i] in KEEP_HEAD:
            body = body[:HEAD_BYTES]
        contents[i] = body
    # .symtab: its first symbols, with a string table of their names only
    sym = names.index(".symtab") if ".symtab" in names else -1
    if sym >= 0 and shdrs[sym][6] in index:
        link = shdrs[sym][6]
        old_str = elf[shdrs[link][4]:shdrs[link][4] + shdrs[link][5]]
        syms, strs = [], bytearray(b"\0")
        for k in range(min(MAX_SYMTAB, shdrs[sym][5] // SYM_SIZE)):
            raw = bytearray(contents[sym][k * SYM_SIZE:(k + 1) * SYM_SIZE])
            (st_name,) = struct.unpack_from("<I", raw, 0)
            end = old_str.index(b"\0", st_name) if st_name < len(old_str) else st_name
            struct.pack_into("<I", raw, 0, len(strs) if st_name else 0)
            if st_name:
                strs += old_str[st_name:end] + b"\0"
            syms.append(bytes(raw))
        contents[sym] = b"".join(syms)
        contents[link] = bytes(strs)
        shdrs[sym][7] = min(shdrs[sym][7], len(syms))

    phdrs = elf[phoff:phoff + phnum * phentsize]
    out = bytearray(EHDR.size) + phdrs
    new_shdrs = [SHDR.pack(*([0] * 10))]
    shstr = bytearray(b"\0")
    for i in keep:
        sh = list(shdrs[i])
        while len(out) % 8:
            out.append(0)
        sh[0] = len(shstr)
        shstr += names[i].encode() + b"\0"
        if sh[1] != 8:
            sh[4] = len(out)
            sh[5] = len(contents[i])
        out += contents[i]
        sh[6] = index.get(sh[6], 0)
        new_shdrs.append(SHDR.pack(*sh))
    shstr_name = len(shstr)
    shstr += b".shstrtab\0"
    shstr_off = len(out)
    out += shstr
    new_shdrs.append(SHDR.pack(shstr_name, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0))
    while len(out) % 8:
        out.append(0)
    new_shoff = len(out)
    for sh in new_shdrs:
        out += sh
    EHDR.pack_into(out, 0, ident, e_type, machine, version, entry, EHDR.size, new_shoff, flags,
                   ehsize, phentsize, phnum, SHDR.size, len(new_shdrs), len(new_shdrs) - 1)
    write(dst, bytes(out))


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "interp":
        linetable_seeds(args[2])
        pystr_seeds(args[2])
        debug_offsets_seed(args[1], args[2])
    elif len(args) == 3 and args[0] == "elf-trim":
        elf_trim(args[1], args[2])
    else:
        sys.exit("usage: seeds.py interp NAME OUTDIR | seeds.py elf-trim IN OUT")


if __name__ == "__main__":
    main()
