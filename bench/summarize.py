"""Combines the outputs of one bench/compare.sh run into one JSON record and Markdown tables.

Usage: python3 bench/summarize.py OUT_DIR --channels seed=32,64,... [--channels default=...]
           --run-json bench/runs/STAMP.json --json bench/results.json --md bench/results.md

OUT_DIR holds roundR/NET/PEER.json (each peer's own medians, one file per round,
network and peer), fma_peak.json, openblas_detected.json (and openblas_forced.json
when a core type was forced), pixloc_layers.json, run.json and stages.tsv.

Figures per network: training samples/s at the training batch, inference images/s at
the largest inference batch, and the time per image at batch 1 (latency, ms). Ratios
are pixloc over peer per round (for latency: the peer's ms over pixloc's, so that above
1 always means pixloc is faster) and their median over the rounds; the figures
themselves are reported as the median over the rounds too.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics

PEER_LABELS = {"pixloc": "pixloc", "pytorch": "PyTorch", "tensorflow": "TF-Keras", "onnxruntime": "onnxruntime"}
FIGURES = ("train", "infer_big", "latency1")


def load(path):
    with open(path) as f:
        return json.load(f)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def infer_entry(r, batch):
    for e in r.get("inference", []):
        if e["batch"] == batch:
            return e
    return None


def figures(r, big):
    """The three figures of one peer's JSON (None where the peer has none)."""
    out = {"train": r["train"]["samples_per_s"] if "train" in r else None}
    e = infer_entry(r, big)
    out["infer_big"] = e["images_per_s"] if e else None
    e = infer_entry(r, 1)
    out["latency1"] = e["ms"] if e else None  # batch 1: ms per image
    return out


def ratio(fig, px, other):
    if px is None or other is None:
        return None
    return other / px if fig == "latency1" else px / other


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--channels", action="append", default=[], help="NET=C1,C2,... (the networks' widths)")
    p.add_argument("--run-json", required=True)
    p.add_argument("--json", required=True)
    p.add_argument("--md", required=True)
    a = p.parse_args()
    channels = dict(c.split("=", 1) for c in a.channels)

    run = load(os.path.join(a.out, "run.json"))
    rounds = run["rounds"]
    nets = run["nets"].split()
    peers = run["peers"].split()
    big = max(run["infer_batches"])
    raw = {}  # raw[net][peer] = [json per round]
    for n in nets:
        raw[n] = {}
        for pe in peers:
            raw[n][pe] = [load(os.path.join(a.out, f"round{r}", n, f"{pe}.json")) for r in range(1, rounds + 1)]

    summary, ratios = {}, {}
    for n in nets:
        figs = {pe: [figures(x, big) for x in raw[n][pe]] for pe in peers}
        summary[n] = {f: {pe: {"median": med([g[f] for g in figs[pe]]), "per_round": [g[f] for g in figs[pe]]}
                          for pe in peers} for f in FIGURES}
        ratios[n] = {}
        for f in FIGURES:
            ratios[n][f] = {}
            for pe in peers:
                if pe == "pixloc":
                    continue
                per = [ratio(f, figs["pixloc"][i][f], figs[pe][i][f]) for i in range(rounds)]
                if all(x is None for x in per):
                    continue
                ratios[n][f][pe] = {"median": med(per), "per_round": per}

    fma = load(os.path.join(a.out, "fma_peak.json"))
    ob_det = load(os.path.join(a.out, "openblas_detected.json"))
    forced_path = os.path.join(a.out, "openblas_forced.json")
    ob_forced = load(forced_path) if os.path.exists(forced_path) else None
    sgemm = {}
    for s in ob_det["shapes"]:
        e = {"m": s["m"], "n": s["n"], "k": s["k"], "detected_core": ob_det["corename"], "detected_gflops": s["gflops"]}
        best, core = s["gflops"], ob_det["corename"]
        if ob_forced:
            fs = next(x for x in ob_forced["shapes"] if x["name"] == s["name"])
            e["forced_core"] = ob_forced["corename"]
            e["forced_gflops"] = fs["gflops"]
            if fs["gflops"] > best:
                best, core = fs["gflops"], ob_forced["corename"]
        e["gflops"], e["core"] = best, core
        sgemm[s["name"]] = e

    layers = load(os.path.join(a.out, "pixloc_layers.json"))
    conv_vs = []
    for c in layers["conv"]:
        gname = {(64, 128): "conv_64_128", (128, 64): "conv_128_64"}.get((c["cin"], c["cout"]))
        for op in ("forward", "backward_input", "backward_weights"):
            e = {"layer": f"{c['layer']} {c['cin']}->{c['cout']}", "op": op, "pixloc_gflops": c[op]["gflops"],
                 "fma_peak_gflops": fma["gflops"], "ratio_fma_peak": c[op]["gflops"] / fma["gflops"]}
            if gname:
                e["sgemm_same_shape_gflops"] = sgemm[gname]["gflops"]
                e["ratio_same_shape"] = c[op]["gflops"] / sgemm[gname]["gflops"]
            conv_vs.append(e)

    stages = []
    with open(os.path.join(a.out, "stages.tsv")) as f:
        for line in f:
            r, n, pe, l0, l1, wall = line.split("\t")
            stages.append({"round": int(r), "net": n, "peer": pe, "load_before": float(l0), "load_after": float(l1),
                           "wall_s": float(wall)})
    loads = [s["load_before"] for s in stages] + [s["load_after"] for s in stages]

    px0 = raw[nets[0]]["pixloc"][0]
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release(),
                    "widest_isa": run.get("cpu_widest_isa", "")},
        "settings": {k: run[k] for k in ("rounds", "reps", "warmup", "threads", "train_batch", "infer_batches",
                                         "peers", "nets")},
        "networks": {n: channels.get(n, "") for n in nets},
        "summary": summary,
        "ratios": ratios,
        "limits": {"fma_peak": fma, "sgemm": sgemm},
        "conv_vs_limits": conv_vs,
        "pixloc_startup_s": {n: med([x["startup_s"] for x in raw[n]["pixloc"]]) for n in nets},
        "rounds_raw": raw,
        "pixloc_layers": layers,
        "openblas": {"detected": ob_det, "forced": ob_forced},
        "stages": stages,
        "run": run,
    }
    with open(a.run_json, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    shutil.copyfile(a.run_json, a.json)

    L = []
    L.append(f"Measured {results['date']} on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
             f"{run['threads']} threads per framework, {rounds} interleaved rounds (each round: every network, "
             f"every peer once, in turn), each figure a peer's own median of {run['reps']} repetitions after "
             f"{run['warmup']} warm-up; below, the median over the rounds. 1-minute load average during the run: "
             f"{min(loads):.1f}-{max(loads):.1f}. pixloc: {px0['device']} ({px0['platform']} {px0['driver']}).\n")
    heads = [PEER_LABELS.get(pe, pe) for pe in peers]
    L.append("| network | figure | " + " | ".join(heads) + " |")
    L.append("|---|---|" + "---:|" * len(peers))
    names = {"train": f"training samples/s (batch {run['train_batch']})", "infer_big": f"inference images/s "
             f"(batch {big})", "latency1": "latency ms/image (batch 1)"}
    for n in nets:
        for f in FIGURES:
            nd = 2 if f == "latency1" else 1
            L.append(f"| {n} ({channels.get(n, '')}) | {names[f]} | "
                     + " | ".join(fmt(summary[n][f][pe]["median"], nd) for pe in peers) + " |")
    L.append("")
    others = [pe for pe in peers if pe != "pixloc"]
    L.append("pixloc's speed over each peer (above 1: pixloc faster; latency: the peer's ms over pixloc's): median "
             "of the per-round ratios, the per-round ratios in brackets.\n")
    L.append("| network | figure | " + " | ".join(f"pixloc / {PEER_LABELS.get(pe, pe)}" for pe in others) + " |")
    L.append("|---|---|" + "---:|" * len(others))
    for n in nets:
        for f in FIGURES:
            cells = []
            for pe in others:
                e = ratios[n][f].get(pe)
                cells.append("-" if not e else f"**{e['median']:.2f}** ("
                             + ", ".join(fmt(x, 2) for x in e["per_round"]) + ")")
            L.append(f"| {n} | {names[f]} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("pixloc start-up (device init + every kernel from the warm cache), median over rounds: "
             + ", ".join(f"{n} {results['pixloc_startup_s'][n]:.2f} s" for n in nets) + ".\n")
    L.append(f"Machine limits ({run['threads']} threads): FMA peak {fma['gflops']:.1f} GFLOP/s "
             f"({fma['accumulators']} independent {fma['isa']} accumulators of {fma['lanes']} floats per thread; "
             f"1 thread: {fma['gflops_1thread']:.1f}). OpenBLAS {ob_det['config'].split()[1]} sgemm: core type "
             f"detected {ob_det['corename']}"
             + (f", forced OPENBLAS_CORETYPE={ob_forced['corename']} (the detected one lacks "
                f"{run.get('cpu_widest_isa', '')})" if ob_forced else " (has the CPU's widest ISA: not forced)")
             + "; the limit is the better of the two.\n")
    L.append("| GEMM (row-major, M x N x K) | detected core GFLOP/s | forced core GFLOP/s | limit |")
    L.append("|---|---:|---:|---:|")
    for name, e in sgemm.items():
        L.append(f"| {name} ({e['m']} x {e['n']} x {e['k']}) | {e['detected_gflops']:.1f} ({e['detected_core']}) | "
                 + (f"{e['forced_gflops']:.1f} ({e['forced_core']})" if "forced_gflops" in e else "-")
                 + f" | {e['gflops']:.1f} |")
    L.append("")
    L.append(f"pixloc 3x3 convolutions, seed network, batch {layers['batch_size']} (GFLOP/s counting "
             "2*9*Cin*Cout*H*W*N, Winograd layers included), against the limits:\n")
    L.append("| layer | op | pixloc GFLOP/s | / FMA peak | sgemm same shape | / sgemm |")
    L.append("|---|---|---:|---:|---:|---:|")
    for e in conv_vs:
        L.append(f"| {e['layer']} | {e['op']} | {e['pixloc_gflops']:.1f} | {e['ratio_fma_peak']:.2f} | "
                 f"{fmt(e.get('sgemm_same_shape_gflops'))} | {fmt(e.get('ratio_same_shape'), 2)} |")
    L.append("")
    vers = []
    for pe in peers:
        if pe == "pixloc":
            continue
        x = raw[nets[0]][pe][0]
        vers.append(f"{PEER_LABELS.get(pe, pe)} {x.get('version', '?')}")
    vers.append(f"OpenBLAS {ob_det['config'].split()[1]} (Debian {run.get('openblas_deb', '')})")
    vers.append(px0["platform_version"].split(" Linux")[0].strip())
    L.append("Versions: " + ", ".join(vers) + f". The record of this run: `bench/runs/{run['stamp']}.json`. "
             "Reproduce: `bash bench/compare.sh`.")
    md = "\n".join(L) + "\n"
    with open(a.md, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
