#!/usr/bin/env python3
"""Deterministic corpus generator: N LLVM IR modules (+ main), compiled with llc.

Three shapes:

rich (the default; about 190 relocations per x86-64 pic object at F = 20)
    Module i defines F functions f_i_j and 4 leaf functions g_i_k, and four tables:
    data_i (8 x i32, writable), ptrs_i (4 pointers into other modules' data_*),
    ops_i (pointers to its own leaves) and table_i (pointers to its f_i_*), plus a
    private 32-byte constant. f_i_j
      - calls f_i_{j-1} (same object), or for j == 0 f_{i-1}_{F-1} (the previous
        object): one call chain through the whole corpus;
      - calls a leaf g_a_* of another object a, directly;
      - calls a leaf of another object b through b's ops_b table;
      - reads data_c of another object c, its own data_i, its own constant, and
        through ptrs_i a word of some other object's data;
    and mixes everything with 32-bit wrapping arithmetic. The objects a, b, c and
    the targets of ptrs_i are spread over the whole corpus (earlier and later
    objects), so every object has many cross-object references.

wide (--shape wide; more code and several times more distinct global names than rich)
    Module i defines F functions f_i_j, F exported helpers h_i_k and F global
    variables v_i_k (4 x i32 each), plus ops_i (pointers to h_i_0..3), ptrs_i (4
    pointers into other modules' v_*), table_i (its f_i_*) and a private 32-byte
    constant: 3F + 4 global names (64 at F = 20, rich has F + 8). h_i_k(x) =
    (x ^ c) * (2 (k % 5) + 3) + a word of v_i_k. f_i_j
      - calls f_i_{j-1} or f_{i-1}_{F-1} (the same chain as rich);
      - calls 4 helpers h_a_* of other objects directly, and one of another object
        through its ops table;
      - reads words of two other objects' v_*, of its own v_i_j, through ptrs_i,
        and its own constant;
    then runs a 3-6 iteration multiply/xor-shift loop and a longer straight line of
    32-bit wrapping arithmetic with imm32 constants mixing all of these. Every
    helper and variable name referenced is picked by object and index, so each
    module references about twice as many distinct external names as in rich (about
    145 against 64 at F = 20 in a large corpus), and the code is about 2.7x rich's.

chain (--shape chain; the small objects of the RSS-per-object measurement)
    Module i defines F functions f_i_j, a 4-word data array and a table of pointers
    to its functions. f_i_j calls f_i_{j-1} or f_{i-1}_{F-1}, reads data of its own
    and of the previous object.

main calls the last function directly and through the last table, and returns the
result's low byte (bit 0 set if the two calls disagree). The expected exit status
is computed here, independently, by evaluating the same arithmetic in Python.

usage: gen_corpus.py OUT_DIR N F [--shape rich|wide|chain] [--triple T]
                     [--reloc static|pic] [--no-llc] [--jobs J]
T: x86_64-unknown-linux-gnu (default), aarch64-unknown-linux-gnu,
   x86_64-apple-macosx, arm64-apple-macosx.
Prints the expected exit status on stdout.
"""
import argparse
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

M = 0x01000193  # FNV prime: odd, so the chain never collapses to a constant
LEAVES = 4
DATA = 8
PTRS = 4
CONST = 32


def wrap(v):
    return ((v + 2**31) % 2**32) - 2**31


def constants(i, j):
    return (i * 7919 + j * 104729 + 12345) % 65521


def data(i, words=DATA):
    return [(i * 31 + k * 17 + 3) % 1000 for k in range(words)]


def const_bytes(i):
    return [(i * 13 + k * 7 + 1) % 251 for k in range(CONST)]


def other(i, j, salt, n):
    """Another module than i (when there is one), spread over the corpus."""
    o = (i * 7919 + j * 104729 + salt * 15485863) % n
    return (o + 1) % n if o == i else o


def ptr_target(i, k, n):
    return other(i, k, 4, n), (k * 3) % DATA


# ---------------------------------------------------------------- rich shape

def leaf(i, k, x):
    return wrap(x * (2 * k + 3) + data(i)[k])


def rich_step(i, j, r, n):
    """f_i_j's result, given r (what its chain call returned)."""
    a, b, c = other(i, j, 1, n), other(i, j, 2, n), other(i, j, 3, n)
    l = leaf(a, j % LEAVES, r)
    o = leaf(b, (j + 1) % LEAVES, r)
    d1 = data(c)[j % DATA]
    d2 = data(i)[(j + 3) % DATA]
    pc, pk = ptr_target(i, j % PTRS, n)
    d3 = data(pc)[pk]
    s = const_bytes(i)[j % CONST]
    v = wrap(r * M + constants(i, j))
    v = v ^ l
    v = wrap(v + o)
    v = v ^ d1
    v = wrap(v + d2)
    v = wrap(v + d3)
    return v ^ s


def declare_externals(out, i, ops_ext, fns):
    """Appends to module i's `out` the declarations of the other modules' operation
    tables it reads (`ops_ext`) and of the functions it calls (`fns`, its own left out)."""
    for m in sorted(ops_ext - {i}):
        out.append(f"@ops_{m} = external global [{LEAVES} x i32 (i32)*]")
    for name in sorted(fns):
        out.append(f"declare i32 @{name}(i32)")


def rich_module(i, n, f, triple):
    out = [f'target triple = "{triple}"', ""]
    d = ", ".join(f"i32 {v}" for v in data(i))
    out.append(f"@data_{i} = global [{DATA} x i32] [{d}]")
    c = ", ".join(f"i8 {v}" for v in const_bytes(i))
    out.append(f"@const_{i} = private unnamed_addr constant [{CONST} x i8] [{c}]")
    ptrs = []
    for k in range(PTRS):
        pc, pk = ptr_target(i, k, n)
        ptrs.append(f"i32* getelementptr ([{DATA} x i32], [{DATA} x i32]* @data_{pc}, i32 0, i32 {pk})")
    out.append(f"@ptrs_{i} = global [{PTRS} x i32*] [{', '.join(ptrs)}]")
    ops = ", ".join(f"i32 (i32)* @g_{i}_{k}" for k in range(LEAVES))
    out.append(f"@ops_{i} = global [{LEAVES} x i32 (i32)*] [{ops}]")
    fns = ", ".join(f"i32 (i32)* @f_{i}_{j}" for j in range(f))
    out.append(f"@table_{i} = global [{f} x i32 (i32)*] [{fns}]")
    # Declarations of everything other modules provide.
    data_ext, ops_ext, fn_ext = set(), set(), set()
    for k in range(PTRS):
        data_ext.add(ptr_target(i, k, n)[0])
    if i > 0:
        fn_ext.add(f"f_{i-1}_{f-1}")
    for j in range(f):
        fn_ext.add(f"g_{other(i, j, 1, n)}_{j % LEAVES}")
        ops_ext.add(other(i, j, 2, n))
        data_ext.add(other(i, j, 3, n))
    for m in sorted(data_ext - {i}):
        out.append(f"@data_{m} = external global [{DATA} x i32]")
    own = {f"g_{i}_{k}" for k in range(LEAVES)} | {f"f_{i}_{j}" for j in range(f)}
    declare_externals(out, i, ops_ext, fn_ext - own)
    out.append("")
    for k in range(LEAVES):
        out += [
            f"define i32 @g_{i}_{k}(i32 %x) {{",
            f"  %p = getelementptr [{DATA} x i32], [{DATA} x i32]* @data_{i}, i32 0, i32 {k}",
            "  %d = load i32, i32* %p",
            f"  %m = mul i32 %x, {2 * k + 3}",
            "  %v = add i32 %m, %d",
            "  ret i32 %v",
            "}",
        ]
    for j in range(f):
        out += rich_function(i, j, n, f)
    return "\n".join(out) + "\n"


def chain_call(i, j, f):
    """%r: f_{i}_{j} calls the function before it in the chain (the first adds 0)."""
    if j > 0:
        return f"  %r = call i32 @f_{i}_{j-1}(i32 %x)"
    if i > 0:
        return f"  %r = call i32 @f_{i-1}_{f-1}(i32 %x)"
    return "  %r = add i32 %x, 0"


def rich_function(i, j, n, f):
    a, b, c = other(i, j, 1, n), other(i, j, 2, n), other(i, j, 3, n)
    body = [f"define i32 @f_{i}_{j}(i32 %x) {{", chain_call(i, j, f)]
    arr = f"[{DATA} x i32], [{DATA} x i32]*"
    body += [
        f"  %l = call i32 @g_{a}_{j % LEAVES}(i32 %r)",
        f"  %opp = getelementptr [{LEAVES} x i32 (i32)*], [{LEAVES} x i32 (i32)*]* @ops_{b}, "
        f"i32 0, i32 {(j + 1) % LEAVES}",
        "  %op = load i32 (i32)*, i32 (i32)** %opp",
        "  %o = call i32 %op(i32 %r)",
        f"  %p1 = getelementptr {arr} @data_{c}, i32 0, i32 {j % DATA}",
        "  %d1 = load i32, i32* %p1",
        f"  %p2 = getelementptr {arr} @data_{i}, i32 0, i32 {(j + 3) % DATA}",
        "  %d2 = load i32, i32* %p2",
        f"  %pp = getelementptr [{PTRS} x i32*], [{PTRS} x i32*]* @ptrs_{i}, i32 0, i32 {j % PTRS}",
        "  %p3 = load i32*, i32** %pp",
        "  %d3 = load i32, i32* %p3",
        f"  %ps = getelementptr [{CONST} x i8], [{CONST} x i8]* @const_{i}, i32 0, i32 {j % CONST}",
        "  %sb = load i8, i8* %ps",
        "  %s = zext i8 %sb to i32",
        f"  %m = mul i32 %r, {M}",
        f"  %v1 = add i32 %m, {constants(i, j)}",
        "  %v2 = xor i32 %v1, %l",
        "  %v3 = add i32 %v2, %o",
        "  %v4 = xor i32 %v3, %d1",
        "  %v5 = add i32 %v4, %d2",
        "  %v6 = add i32 %v5, %d3",
        "  %v7 = xor i32 %v6, %s",
        "  ret i32 %v7",
        "}",
    ]
    return body


# ---------------------------------------------------------------- chain shape

def chain_step(i, j, r, n):
    src = i - 1 if (i > 0 and j % 2 == 1) else i
    d = data(src, 4)[j % 4]
    return wrap(wrap(r * M) + constants(i, j)) ^ d


def chain_module(i, n, f, triple):
    out = [f'target triple = "{triple}"', ""]
    d = ", ".join(f"i32 {v}" for v in data(i, 4))
    out.append(f"@data_{i} = global [4 x i32] [{d}]")
    ptrs = ", ".join(f"i32 (i32)* @f_{i}_{j}" for j in range(f))
    out.append(f"@table_{i} = global [{f} x i32 (i32)*] [{ptrs}]")
    if i > 0:
        out.append(f"@data_{i-1} = external global [4 x i32]")
        out.append(f"declare i32 @f_{i-1}_{f-1}(i32)")
    out.append("")
    for j in range(f):
        out.append(f"define i32 @f_{i}_{j}(i32 %x) {{")
        out.append(chain_call(i, j, f))
        src = i - 1 if (i > 0 and j % 2 == 1) else i
        out.append(f"  %p = getelementptr [4 x i32], [4 x i32]* @data_{src}, i32 0, i32 {j % 4}")
        out.append("  %d = load i32, i32* %p")
        out.append(f"  %m = mul i32 %r, {M}")
        out.append(f"  %a = add i32 %m, {constants(i, j)}")
        out.append("  %v = xor i32 %a, %d")
        out.append("  ret i32 %v")
        out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- wide shape

U32 = 0xFFFFFFFF
WVAR = 4      # words in each v_i_k
WCALLS = 4    # direct calls to other objects' helpers per f_i_j
K_LOOP = -1640531535  # 0x9E3779B1 as i32


def vdata(i, k):
    return [(i * 37 + k * 53 + q * 11 + 5) % 1000 for q in range(WVAR)]


def wconst(i, j, m):
    """A 32-bit constant that does not fit a sign-extended imm8 (so imm32 encodings)."""
    return ((i * 2654435761 + j * 40503 + m * 2246822519 + 0x5BD1E995) & U32) | 0x10000


def helper_value(i, k, x):
    """h_i_k(x) = ((x ^ c) * (2 (k % 5) + 3) + v_i_k[k % 4])."""
    c = wconst(i, k, 99)
    return (((x ^ c) * (2 * (k % 5) + 3)) + vdata(i, k)[k % WVAR]) & U32


def wide_refs(i, j, n, f):
    """What f_i_j references in other objects (and its own v_i_j); see wide_module."""
    calls = [(other(i, j, 10 + k, n), (j + 7 * k + i) % f) for k in range(WCALLS)]
    b = other(i, j, 13, n)
    q = (j + 1) % LEAVES
    d1 = (other(i, j, 14, n), (j + 3 + i) % f, j % WVAR)
    d2 = (other(i, j, 15, n), (j + 11 + i) % f, (j + 1) % WVAR)
    return calls, (b, q), d1, d2


def wide_ptr(i, q, n, f):
    """ptrs_i[q] points to word w of v_m_e of another object m."""
    return other(i, q, 20, n), (q * 5 + i) % f, q % WVAR


def wide_program(i, j):
    """The straight-line tail of f_i_j: (op, operand) pairs, operand a value name or a
    constant. Ops: add, xor, mul (32-bit wrapping); xsh: v ^ (v >> operand), logical."""
    c = lambda m: ("k", wconst(i, j, m))
    return [
        ("xor", "l0"), ("mul", c(1)), ("add", "l1"), ("xor", c(2)), ("add", "l2"),
        ("mul", c(3)), ("xor", "o"), ("xor", "d1"), ("mul", c(5)), ("add", "d2"),
        ("add", "d3"), ("xsh", ("k", 13)), ("xor", "d4"), ("add", "l3"), ("xor", "s"),
        ("mul", c(8)), ("xsh", ("k", 16)),
    ]


def loop_trips(j):
    return 3 + j % 4


def wide_step(i, j, r, n, f):
    """f_i_j's result (mod 2^32), given r (what its chain call returned)."""
    r &= U32
    calls, (b, q), d1, d2 = wide_refs(i, j, n, f)
    vals = {f"l{k}": helper_value(a, h, r) for k, (a, h) in enumerate(calls)}
    vals["o"] = helper_value(b, q % f, r)
    vals["d1"] = vdata(d1[0], d1[1])[d1[2]]
    vals["d2"] = vdata(d2[0], d2[1])[d2[2]]
    vals["d3"] = vdata(i, j)[(j + 2) % WVAR]
    pm, pe, pw = wide_ptr(i, j % PTRS, n, f)
    vals["d4"] = vdata(pm, pe)[pw]
    vals["s"] = const_bytes(i)[j % CONST]
    acc = (r * M + constants(i, j)) & U32
    for t in range(loop_trips(j)):
        acc = (acc * (K_LOOP & U32)) & U32
        acc ^= acc >> 13
        acc = (acc + t) & U32
    v = acc
    for op, x in wide_program(i, j):
        w = x[1] if isinstance(x, tuple) else vals[x]
        if op == "add":
            v = (v + w) & U32
        elif op == "xor":
            v ^= w
        elif op == "mul":
            v = (v * w) & U32
        elif op == "xsh":
            v ^= v >> w
    return v


def wide_module(i, n, f, triple):
    out = [f'target triple = "{triple}"', ""]
    for k in range(f):
        d = ", ".join(f"i32 {v}" for v in vdata(i, k))
        out.append(f"@v_{i}_{k} = global [{WVAR} x i32] [{d}]")
    c = ", ".join(f"i8 {v}" for v in const_bytes(i))
    out.append(f"@const_{i} = private unnamed_addr constant [{CONST} x i8] [{c}]")
    ptrs = []
    for q in range(PTRS):
        pm, pe, pw = wide_ptr(i, q, n, f)
        ptrs.append(f"i32* getelementptr ([{WVAR} x i32], [{WVAR} x i32]* @v_{pm}_{pe}, i32 0, i32 {pw})")
    out.append(f"@ptrs_{i} = global [{PTRS} x i32*] [{', '.join(ptrs)}]")
    ops = ", ".join(f"i32 (i32)* @h_{i}_{q % f}" for q in range(LEAVES))
    out.append(f"@ops_{i} = global [{LEAVES} x i32 (i32)*] [{ops}]")
    fns = ", ".join(f"i32 (i32)* @f_{i}_{j}" for j in range(f))
    out.append(f"@table_{i} = global [{f} x i32 (i32)*] [{fns}]")
    var_ext, ops_ext, fn_ext = set(), set(), set()
    for q in range(PTRS):
        pm, pe, _ = wide_ptr(i, q, n, f)
        var_ext.add((pm, pe))
    if i > 0:
        fn_ext.add(f"f_{i-1}_{f-1}")
    for j in range(f):
        calls, (b, _), d1, d2 = wide_refs(i, j, n, f)
        fn_ext |= {f"h_{a}_{h}" for a, h in calls}
        ops_ext.add(b)
        var_ext |= {d1[:2], d2[:2]}
    for m, e in sorted(var_ext):
        if m != i:
            out.append(f"@v_{m}_{e} = external global [{WVAR} x i32]")
    own = {f"h_{i}_{k}" for k in range(f)} | {f"f_{i}_{j}" for j in range(f)}
    declare_externals(out, i, ops_ext, fn_ext - own)
    out.append("")
    for k in range(f):
        out += [
            f"define i32 @h_{i}_{k}(i32 %x) {{",
            f"  %p = getelementptr [{WVAR} x i32], [{WVAR} x i32]* @v_{i}_{k}, i32 0, i32 {k % WVAR}",
            "  %d = load i32, i32* %p",
            f"  %y = xor i32 %x, {wrap(wconst(i, k, 99))}",
            f"  %m = mul i32 %y, {2 * (k % 5) + 3}",
            "  %v = add i32 %m, %d",
            "  ret i32 %v",
            "}",
        ]
    for j in range(f):
        out += wide_function(i, j, n, f)
    return "\n".join(out) + "\n"


def wide_function(i, j, n, f):
    calls, (b, q), d1, d2 = wide_refs(i, j, n, f)
    arr = f"[{WVAR} x i32], [{WVAR} x i32]*"
    body = [f"define i32 @f_{i}_{j}(i32 %x) {{", "entry:", chain_call(i, j, f)]
    for k, (a, h) in enumerate(calls):
        body.append(f"  %l{k} = call i32 @h_{a}_{h}(i32 %r)")
    body += [
        f"  %opp = getelementptr [{LEAVES} x i32 (i32)*], [{LEAVES} x i32 (i32)*]* @ops_{b}, "
        f"i32 0, i32 {q}",
        "  %op = load i32 (i32)*, i32 (i32)** %opp",
        "  %o = call i32 %op(i32 %r)",
        f"  %p1 = getelementptr {arr} @v_{d1[0]}_{d1[1]}, i32 0, i32 {d1[2]}",
        "  %d1 = load i32, i32* %p1",
        f"  %p2 = getelementptr {arr} @v_{d2[0]}_{d2[1]}, i32 0, i32 {d2[2]}",
        "  %d2 = load i32, i32* %p2",
        f"  %p3 = getelementptr {arr} @v_{i}_{j}, i32 0, i32 {(j + 2) % WVAR}",
        "  %d3 = load i32, i32* %p3",
        f"  %pp = getelementptr [{PTRS} x i32*], [{PTRS} x i32*]* @ptrs_{i}, i32 0, i32 {j % PTRS}",
        "  %p4 = load i32*, i32** %pp",
        "  %d4 = load i32, i32* %p4",
        f"  %ps = getelementptr [{CONST} x i8], [{CONST} x i8]* @const_{i}, i32 0, i32 {j % CONST}",
        "  %sb = load i8, i8* %ps",
        "  %s = zext i8 %sb to i32",
        f"  %m = mul i32 %r, {M}",
        f"  %a0 = add i32 %m, {constants(i, j)}",
        "  br label %loop",
        "loop:",
        "  %t = phi i32 [ 0, %entry ], [ %t1, %loop ]",
        "  %acc = phi i32 [ %a0, %entry ], [ %acc3, %loop ]",
        f"  %acc1 = mul i32 %acc, {K_LOOP}",
        "  %sh = lshr i32 %acc1, 13",
        "  %acc2 = xor i32 %acc1, %sh",
        "  %acc3 = add i32 %acc2, %t",
        "  %t1 = add i32 %t, 1",
        f"  %more = icmp ult i32 %t1, {loop_trips(j)}",
        "  br i1 %more, label %loop, label %done",
        "done:",
    ]
    prev = "%acc3"
    for k, (op, x) in enumerate(wide_program(i, j)):
        operand = str(wrap(x[1])) if isinstance(x, tuple) else f"%{x}"
        if op == "xsh":
            body.append(f"  %z{k} = lshr i32 {prev}, {operand}")
            body.append(f"  %w{k} = xor i32 {prev}, %z{k}")
        else:
            body.append(f"  %w{k} = {op} i32 {prev}, {operand}")
        prev = f"%w{k}"
    body += [f"  ret i32 {prev}", "}"]
    return body


# ---------------------------------------------------------------- main, model

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


def expected(n, f, step):
    """The exit status: main's arithmetic, evaluated along the call chain."""
    r = 7  # f_0_0's chain value is its argument
    for i in range(n):
        for j in range(f):
            r = step(i, j, r, n)
    return (r & 0xFF) & 254


SHAPES = {"rich": (rich_module, rich_step), "chain": (chain_module, chain_step),
          "wide": (wide_module, wide_step)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("f", type=int)
    ap.add_argument("--shape", choices=SHAPES, default="rich")
    ap.add_argument("--triple", default="x86_64-unknown-linux-gnu")
    ap.add_argument("--reloc", default="pic")
    ap.add_argument("--no-llc", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    if a.n < 1 or a.f < 1:
        ap.error("N and F must be at least 1")
    module, step = SHAPES[a.shape]
    if a.shape == "wide":
        step = lambda i, j, r, n, f=a.f, s=step: s(i, j, r, n, f)
    os.makedirs(a.out, exist_ok=True)
    names = [f"m{i:05}" for i in range(a.n)] + ["main"]

    def build(k):
        name = names[k]
        text = main_module(a.n, a.f, a.triple) if k == a.n else module(k, a.n, a.f, a.triple)
        ll = os.path.join(a.out, name + ".ll")
        with open(ll, "w") as fh:
            fh.write(text)
        if not a.no_llc:
            subprocess.run(
                ["llc", "-O2", "-filetype=obj", f"-mtriple={a.triple}",
                 f"-relocation-model={a.reloc}", ll, "-o", os.path.join(a.out, name + ".o")],
                check=True)
            os.remove(ll)

    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        list(pool.map(build, range(a.n + 1)))
    print(expected(a.n, a.f, step))


if __name__ == "__main__":
    main()
