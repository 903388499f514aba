"""Combines the outputs of one bench/compare.sh run into results.json and results.md.

Usage: python3 bench/summarize.py OUT_DIR results.json results.md [--reps N --warmup N --threads N]
OUT_DIR holds pixloc.json, pytorch.json, tensorflow.json, openblas.json and run.json.
"""
import argparse
import datetime
import json
import os
import platform


def load(d, name):
    with open(os.path.join(d, name + ".json")) as f:
        return json.load(f)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def infer_at(r, batch):
    for e in r["inference"]:
        if e["batch"] == batch:
            return e["images_per_s"]
    raise KeyError(f"no inference figure at batch {batch}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("json_path")
    p.add_argument("md_path")
    p.add_argument("--reps", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--threads", type=int)
    a = p.parse_args()

    px, pt, tf, ob, run = (load(a.out, n) for n in ("pixloc", "pytorch", "tensorflow", "openblas", "run"))
    gemm = {s["name"]: s for s in ob["shapes"]}
    conv = {(c["cin"], c["cout"]): c for c in px["conv"]}

    frameworks = [
        ("pixloc", f"pixloc {px['pixloc_version']} (OpenCL: {px['device']}, {px['platform']} {px['driver']})", px),
        ("tensorflow", f"TensorFlow-Keras {tf['version']} (tensorflow-cpu, NHWC, jit_compile={tf['jit_compile']})", tf),
        ("pytorch", f"PyTorch {pt['version']} (PyPI wheel on the CPU; faster of NCHW / channels_last: "
                    f"{pt['best_format']} for training, "
                    f"{' / '.join(e['format'] for e in pt['inference'])} for inference)", pt),
    ]
    rows = {}
    for key, label, r in frameworks:
        rows[key] = {
            "label": label,
            "train_samples_per_s": r["train"]["samples_per_s"],
            "infer64_images_per_s": infer_at(r, 64),
            "infer256_images_per_s": infer_at(r, 256),
        }
    ratios = {}
    for other in ("tensorflow", "pytorch"):
        for k in ("train_samples_per_s", "infer64_images_per_s", "infer256_images_per_s"):
            ratios[f"pixloc/{other} {k}"] = rows["pixloc"][k] / rows[other][k]
    conv_vs_gemm = []
    for (cin, cout), gname in (((64, 128), "conv_64_128"), ((128, 64), "conv_128_64")):
        c = conv.get((cin, cout))
        if not c:
            continue
        for op in ("forward", "backward_input", "backward_weights"):
            conv_vs_gemm.append({
                "layer": f"{c['layer']} {cin}->{cout}",
                "op": op,
                "pixloc_gflops": c[op]["gflops"],
                "sgemm_same_shape_gflops": gemm[gname]["gflops"],
                "sgemm_2048_gflops": gemm["square_2048"]["gflops"],
                "ratio_same_shape": c[op]["gflops"] / gemm[gname]["gflops"],
                "ratio_2048": c[op]["gflops"] / gemm["square_2048"]["gflops"],
            })
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release()},
        "settings": {"batch": px["batch_size"], "reps": a.reps, "warmup": a.warmup, "threads": a.threads,
                     "median_of_reps": True},
        "summary": rows,
        "ratios": ratios,
        "conv_vs_sgemm": conv_vs_gemm,
        "pixloc": px,
        "pytorch": pt,
        "tensorflow": tf,
        "openblas": ob,
        "run": run,
    }
    with open(a.json_path, "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")

    L = []
    L.append(f"Measured {results['date']} on {results['machine']['cpu']} ({results['machine']['cores']} cores), "
             f"batch {px['batch_size']}, {a.threads} threads per framework, median of {a.reps} repetitions "
             f"after {a.warmup} warm-up. The machine is shared: at the start / end of each stage the "
             "1-minute load average and the sgemm GFLOP/s then available (64->128 conv shape, a few seconds) were "
             + ", ".join(f"{s} {v['load_before']:.1f} / {v['load_after']:.1f} and "
                         f"{v['sgemm_probe_before']:.0f} / {v['sgemm_probe_after']:.0f} GFLOP/s"
                         for s, v in run["stages"].items())
             + ". Compare figures within one run only.\n")
    L.append("| implementation | training samples/s (batch 64) | inference images/s (64) | inference images/s (256) |")
    L.append("|---|---:|---:|---:|")
    for key in ("pixloc", "tensorflow", "pytorch"):
        r = rows[key]
        L.append(f"| {r['label']} | {r['train_samples_per_s']:.1f} | {r['infer64_images_per_s']:.1f} "
                 f"| {r['infer256_images_per_s']:.1f} |")
    for other, name in (("tensorflow", "TF"), ("pytorch", "PyTorch")):
        L.append(f"| **pixloc / {name}** | {ratios[f'pixloc/{other} train_samples_per_s']:.2f} "
                 f"| {ratios[f'pixloc/{other} infer64_images_per_s']:.2f} "
                 f"| {ratios[f'pixloc/{other} infer256_images_per_s']:.2f} |")
    L.append("")
    L.append(f"pixloc start-up (device init + building all kernels from a warm cache): {px['startup_s']:.2f} s. "
             f"pixloc training step: {px['train']['conv_gflops']:.1f} GFLOP/s of 3x3 convolution work.\n")
    L.append(f"Machine limit: OpenBLAS {ob['config'].split()[1]} sgemm, {ob['threads']} threads, core type "
             f"{ob['corename']} (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset; were "
             f"'{run.get('env_openblas_coretype', '')}'/'{run.get('env_openblas_l2_size', '')}').\n")
    L.append("| GEMM (row-major, M x N x K) | GFLOP/s |")
    L.append("|---|---:|")
    for s in ob["shapes"]:
        L.append(f"| {s['name']} ({s['m']} x {s['n']} x {s['k']}) | {s['gflops']:.1f} |")
    L.append("")
    L.append(f"pixloc 3x3 convolutions at batch {px['batch_size']} (GFLOP/s, counting 2*9*Cin*Cout*H*W*N):\n")
    L.append("| layer | Cin->Cout | forward | input gradient | weight gradient |")
    L.append("|---|---|---:|---:|---:|")
    for c in px["conv"]:
        L.append(f"| {c['layer']} | {c['cin']}->{c['cout']} | {c['forward']['gflops']:.1f} "
                 f"({c['forward']['ms']:.0f} ms) | {c['backward_input']['gflops']:.1f} "
                 f"({c['backward_input']['ms']:.0f} ms) | {c['backward_weights']['gflops']:.1f} "
                 f"({c['backward_weights']['ms']:.0f} ms) |")
    L.append("")
    L.append("pixloc convolution over OpenBLAS sgemm of the same GEMM shape (and over 2048^3):\n")
    L.append("| layer | op | pixloc GFLOP/s | sgemm same shape | ratio | ratio to 2048^3 |")
    L.append("|---|---|---:|---:|---:|---:|")
    for e in conv_vs_gemm:
        L.append(f"| {e['layer']} | {e['op']} | {e['pixloc_gflops']:.1f} | {e['sgemm_same_shape_gflops']:.1f} "
                 f"| {e['ratio_same_shape']:.2f} | {e['ratio_2048']:.2f} |")
    L.append("")
    L.append("Versions: " + ", ".join([
        f"PyTorch {pt['version']} (oneDNN {'on' if pt.get('mkldnn') else 'off'}, {pt.get('cpu_capability', '')})",
        f"TensorFlow {tf['version']} / Keras {tf.get('keras_version', '')}",
        f"OpenBLAS {ob['config'].split()[1]} (Debian {run.get('openblas_deb', '')})",
        px['platform_version'].split(' Linux')[0].strip(),
    ]) + ". Reproduce: `bash bench/compare.sh`.")
    md = "\n".join(L) + "\n"
    with open(a.md_path, "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
