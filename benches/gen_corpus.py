#!/usr/bin/env python3
"""Deterministic corpus generator: N LLVM IR modules (+ main), compiled with llc.

Each module i defines F functions f_i_j, a 4-word data array and a table of
pointers to its functions. f_i_j calls f_i_{j-1} (same object) or, for j == 0,
f_{i-1}_{F-1} (the previous object, a cross-object call), reads data of its own
and of the previous object, and mixes the results with 32-bit wrapping arithmetic.
main calls the last function directly and through the last table, and returns the
result's low byte. The expected exit status is computed here, independently, by
evaluating the same arithmetic in Python.

usage: gen_corpus.py OUT_DIR N F [--triple T] [--reloc static|pic] [--no-llc]
prints the expected exit status on stdout.
"""
import argparse
import os
import subprocess

M = 0x01000193  # FNV prime: odd, so the chain never collapses to a constant


def wrap(v):
    return ((v + 2**31) % 2**32) - 2**31


def constants(i, j):
    return (i * 7919 + j * 104729 + 12345) % 65521


def data(i):
    return [(i * 31 + k * 17 + 3) % 1000 for k in range(4)]


def module(i, f, triple):
    out = [f'target triple = "{triple}"', ""]
    d = ", ".join(f"i32 {v}" for v in data(i))
    out.append(f"@data_{i} = global [4 x i32] [{d}]")
    ptrs = ", ".join(f"i32 (i32)* @f_{i}_{j}" for j in range(f))
    out.append(f"@table_{i} = global [{f} x i32 (i32)*] [{ptrs}]")
    if i > 0:
        out.append(f"@data_{i-1} = external global [4 x i32]")
        out.append(f"declare i32 @f_{i-1}_{f-1}(i32)")
    out.append("")
    for j in range(f):
        out.append(f"define i32 @f_{i}_{j}(i32 %x) {{")
        if j > 0:
            out.append(f"  %r = call i32 @f_{i}_{j-1}(i32 %x)")
        elif i > 0:
            out.append(f"  %r = call i32 @f_{i-1}_{f-1}(i32 %x)")
        else:
            out.append("  %r = add i32 %x, 0")
        src = i - 1 if (i > 0 and j % 2 == 1) else i
        out.append(f"  %p = getelementptr [4 x i32], [4 x i32]* @data_{src}, i32 0, i32 {j % 4}")
        out.append("  %d = load i32, i32* %p")
        out.append(f"  %m = mul i32 %r, {M}")
        out.append(f"  %a = add i32 %m, {constants(i, j)}")
        out.append("  %v = xor i32 %a, %d")
        out.append("  ret i32 %v")
        out.append("}")
    return "\n".join(out) + "\n"


def main_module(n, f, triple):
    last = n - 1
    return f"""target triple = "{triple}"
@table_{last} = external global [{f} x i32 (i32)*]
declare i32 @f_{last}_{f-1}(i32)
define i32 @main(i32 %argc, i8** %argv) {{
  %direct = call i32 @f_{last}_{f-1}(i32 7)
  %pp = getelementptr [{f} x i32 (i32)*], [{f} x i32 (i32)*]* @table_{last}, i32 0, i32 {f-1}
  %fp = load i32 (i32)*, i32 (i32)** %pp
  %indirect = call i32 %fp(i32 7)
  %same = icmp eq i32 %direct, %indirect
  %bad = select i1 %same, i32 0, i32 1
  %lo = and i32 %direct, 254
  %r = or i32 %lo, %bad
  ret i32 %r
}}
"""


def expected(n, f):
    r = 7
    for i in range(n):
        for j in range(f):
            src = i - 1 if (i > 0 and j % 2 == 1) else i
            d = data(src)[j % 4]
            r = wrap(wrap(r * M) + constants(i, j)) ^ d
            r = wrap(r)
    return (r & 0xFF) & 254


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("f", type=int)
    ap.add_argument("--triple", default="x86_64-unknown-linux-gnu")
    ap.add_argument("--reloc", default="pic")
    ap.add_argument("--no-llc", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sources = [(f"m{i:05}", module(i, a.f, a.triple)) for i in range(a.n)]
    sources.append(("main", main_module(a.n, a.f, a.triple)))
    for name, text in sources:
        ll = os.path.join(a.out, name + ".ll")
        with open(ll, "w") as fh:
            fh.write(text)
        if not a.no_llc:
            subprocess.run(
                ["llc", "-O2", "-filetype=obj", f"-mtriple={a.triple}",
                 f"-relocation-model={a.reloc}", ll, "-o", os.path.join(a.out, name + ".o")],
                check=True)
            os.remove(ll)
    print(expected(a.n, a.f))


if __name__ == "__main__":
    main()
