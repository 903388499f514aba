#!/usr/bin/env python3
"""Compiles the programs `pixloc kernels` wrote for NVIDIA and AMD GPUs, without a GPU.

Usage: gpu_compile.py [--jobs N] DIR...   (each DIR holds programs.tsv, NN-NAME.cl, NN-NAME.options)

Every distinct program is compiled at OpenCL C 1.1 (Mesa Clover) and 1.2 with clang 14 and
libclc: for NVIDIA to PTX, whose header is raised to `.version 7.8` / `.target sm_XX`, then
`ptxas -v` for sm_75, sm_80 and sm_90; for AMD to gfx906, gfx90a and gfx1030 assembly, read
from its kernel metadata. Fails on any compile error, any register spill or stack / scratch
(private segment) use, and local memory over 48 KiB, in any kernel: the host compiles into a
GPU program only the kernels its GPU path runs. Prints registers per kernel and the occupancy
they allow (NVIDIA: 65536 registers per SM, allocated per warp in units of 256, at most 2048
threads per SM, 1024 on sm_75; AMD: VGPRs per wave and the waves per SIMD they allow).
"""
import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

NV = ["sm_75", "sm_80", "sm_90"]
AMD = ["gfx906", "gfx90a", "gfx1030"]
STDS = ["CL1.1", "CL1.2"]
LOCAL_MAX = 48 * 1024
CLC = "/usr/lib/clc"
SKIP = 77


def find_tool(name, extra):
    p = shutil.which(name)
    if p:
        return p
    for d in extra:
        c = os.path.join(d, name)
        if os.access(c, os.X_OK):
            return c
    return None


def programs(dirs):
    """Distinct programs (by source and options) as (label, path, options), in order."""
    seen, out = set(), []
    for d in dirs:
        with open(os.path.join(d, "programs.tsv")) as f:
            for line in f:
                idx, file, opts = line.rstrip("\n").split("\t")
                path = os.path.join(d, "%s-%s.cl" % (idx, file[:-3]))
                with open(path, "rb") as s:
                    key = hashlib.sha256(s.read() + opts.encode()).hexdigest()
                if key in seen:
                    continue
                seen.add(key)
                m = {k: v for k, v in re.findall(r"-D(\w+)=(\S+)", opts)}
                label = file[:-3]
                if "CIN" in m:
                    label += " %s->%s%s" % (m["CIN"], m["COUT"], " dx" if m.get("FLIP") == "1" else "")
                out.append(("%s/%s" % (os.path.basename(d.rstrip("/")), idx), label, path, opts.split()))
    return out


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout, r.stderr


def clang_cmd(clang, std, target, src, opts, out):
    cmd = [clang, "-x", "cl", "-cl-std=" + std, "-Xclang", "-finclude-default-header", "-O3", "-S"]
    if target.startswith("sm"):
        cmd += ["-target", "nvptx64-nvidia-nvcl", "-Xclang", "-mlink-bitcode-file", "-Xclang",
                CLC + "/nvptx64--nvidiacl.bc"]
    else:
        cmd += ["-target", "amdgcn-amd-amdhsa", "-mcpu=" + target, "-nogpulib", "-Xclang",
                "-mlink-bitcode-file", "-Xclang", CLC + "/amdgcn--amdhsa.bc"]
    return cmd + opts + [src, "-o", out]


def nvidia(clang, ptxas, tmp, prog, std):
    """[(target, kernel, facts)] or an error string."""
    name, _, src, opts = prog
    ptx = os.path.join(tmp, "%s-%s.ptx" % (name.replace("/", "_"), std))
    rc, _, err = run(clang_cmd(clang, std, "sm", src, opts, ptx))
    if rc:
        return "clang (nvptx64, %s) failed:\n%s" % (std, err)
    text = open(ptx).read()
    res = []
    for sm in NV:
        raised = re.sub(r"^\.version .*$", ".version 7.8", text, count=1, flags=re.M)
        raised = re.sub(r"^\.target .*$", ".target " + sm, raised, count=1, flags=re.M)
        p = ptx[:-4] + "-" + sm + ".ptx"
        open(p, "w").write(raised)
        rc, out, err = run([ptxas, "-v", "--gpu-name", sm, p, "-o", os.devnull])
        if rc:
            return "ptxas (%s, %s) failed:\n%s" % (sm, std, err + out)
        log = err + out
        for m in re.finditer(r"Function properties for (\w+)\n\s*(\d+) bytes stack frame, (\d+) bytes spill stores, "
                             r"(\d+) bytes spill loads\n.*?Used (\d+) registers(?:, used \d+ barriers)?"
                             r"(?:, (\d+) bytes smem)?", log):
            k, stack, st, ld, regs, smem = m.groups()
            res.append((sm, k, {"regs": int(regs), "spill": int(st) + int(ld), "scratch": int(stack),
                                "local": int(smem or 0)}))
    return res


def amd(clang, tmp, prog, std, gfx):
    name, _, src, opts = prog
    asm = os.path.join(tmp, "%s-%s-%s.s" % (name.replace("/", "_"), std, gfx))
    rc, _, err = run(clang_cmd(clang, std, gfx, src, opts, asm))
    if rc:
        return "clang (%s, %s) failed:\n%s" % (gfx, std, err)
    text = open(asm).read()
    meta = text[text.find("amdhsa.kernels:"):]
    res = []
    for entry in re.split(r"\n  - ", meta)[1:]:
        f = dict(re.findall(r"^\s+\.(\w+):\s+(\S+)\s*$", entry, flags=re.M))
        if "name" not in f:
            continue
        res.append((gfx, f["name"], {"regs": int(f["vgpr_count"]),
                                     "spill": int(f["vgpr_spill_count"]) + int(f["sgpr_spill_count"]),
                                     "scratch": int(f["private_segment_fixed_size"]),
                                     "local": int(f["group_segment_fixed_size"])}))
    return res


def occupancy(target, regs):
    if target.startswith("sm"):
        max_warps = 32 if target == "sm_75" else 64
        per_warp = -(-regs * 32 // 256) * 256
        warps = min(max_warps, 65536 // max(per_warp, 1))
        return "%3d%%" % (100 * warps // max_warps)
    # AMD: waves per SIMD (gfx906: 256 VGPRs, granule 4, at most 10 waves; gfx90a: 512, granule 8,
    # at most 8; gfx1030 in wave32: 1024, granule 8, at most 16)
    total, gran, most = {"gfx906": (256, 4, 10), "gfx90a": (512, 8, 8), "gfx1030": (1024, 8, 16)}[target]
    v = -(-max(regs, 1) // gran) * gran
    return "%2dw" % min(most, total // v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    clang = find_tool("clang-14", ["/usr/lib/llvm-14/bin"])
    missing = [p for p in (CLC + "/nvptx64--nvidiacl.bc", CLC + "/amdgcn--amdhsa.bc") if not os.path.exists(p)]
    if not clang or missing:
        print("gpu_compile: SKIP: needs clang-14 and libclc-14 (apt-get install clang-14 libclc-14); missing: %s"
              % ", ".join(([] if clang else ["clang-14"]) + missing))
        return SKIP
    ptxas = os.environ.get("PTXAS") or find_tool("ptxas", ["/usr/local/cuda/bin"])
    if not ptxas:
        print("gpu_compile: NVIDIA half SKIPPED: no ptxas (it comes with the CUDA toolkit: /usr/local/cuda/bin); "
              "checking AMD only")
    progs = programs(a.dirs)
    failures, facts = [], {}  # facts[(prog label, kernel, target)] = {...} at CL1.2
    with tempfile.TemporaryDirectory() as tmp, concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        jobs = {}
        for p in progs:
            for std in STDS:
                if ptxas:
                    jobs[pool.submit(nvidia, clang, ptxas, tmp, p, std)] = (p, std)
                for g in AMD:
                    jobs[pool.submit(amd, clang, tmp, p, std, g)] = (p, std)
        for fut in concurrent.futures.as_completed(jobs):
            p, std = jobs[fut]
            r = fut.result()
            if isinstance(r, str):
                failures.append("%s (%s, %s): %s" % (p[0], p[1], " ".join(p[3]), r))
                continue
            for target, k, f in r:
                bad = []
                if f["spill"]:
                    bad.append("%d bytes of register spills" % f["spill"])
                if f["scratch"]:
                    bad.append("%d bytes of stack / private segment" % f["scratch"])
                if f["local"] > LOCAL_MAX:
                    bad.append("%d bytes of local memory (over 48 KiB)" % f["local"])
                if bad:
                    failures.append("%s %s (%s) %s on %s: %s" % (p[0], k, p[1], std, target, ", ".join(bad)))
                if std == "CL1.2":
                    facts[(p[0], p[1], k, target)] = f
    targets = (NV if ptxas else []) + AMD
    print("registers per kernel at OpenCL C 1.2 (NVIDIA: registers and the share of the SM's threads they allow;"
          " AMD: VGPRs and waves per SIMD), local memory in bytes (largest over the targets)")
    print("%-9s %-18s %-20s %s %8s" % ("program", "layer", "kernel", " ".join("%-10s" % t for t in targets), "local"))
    rows = sorted({(a_, b, c) for a_, b, c, _ in facts})
    for pname, label, k in rows:
        cells, local = [], 0
        for t in targets:
            f = facts.get((pname, label, k, t))
            if not f:
                cells.append("%-10s" % "-")
                continue
            local = max(local, f["local"])
            cells.append("%-10s" % ("%d %s" % (f["regs"], occupancy(t, f["regs"]).strip())))
        print("%-9s %-18s %-20s %s %8d" % (pname, label, k, " ".join(cells), local))
    print("gpu_compile: %d programs, %d kernels, %s x %s" % (len(progs), len(rows), "/".join(STDS), "/".join(targets)))
    if failures:
        for f in sorted(failures):
            print("FAIL " + f)
        print("gpu_compile: %d failures" % len(failures))
        return 1
    print("gpu_compile: no compile error, spill, scratch use or local memory over 48 KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
