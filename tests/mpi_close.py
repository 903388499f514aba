#!/usr/bin/env python3
"""mpi_close.py RUN_A RUN_B REL: exit 0 if two run directories of the same settings trained to
the same result up to float rounding: every history.csv loss column (loss, mae, val_loss,
val_mae) and every trainable tensor and BN moving statistic of last.safetensors within REL of
the other (relative to the largest magnitude of that column or tensor), and the test metrics of
metrics.json differing by at most one sample's prediction (exact and within-1px fractions within
1/n). Prints the largest differences; exits 1 with the first one over the bound.
Used by tests/cli_mpi.sh: a 2-process run against a 1-process run differs only in the order
the convolution and head weight gradients are summed (two partial sums added instead of one
sum), so the runs agree to rounding, not bit for bit."""
import array
import json
import struct
import sys


def tensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8 : 8 + n])
    head.pop("__metadata__", None)
    out = {}
    for name, t in head.items():
        if t["dtype"] == "F32" and not name.startswith("adam/"):
            lo, hi = t["data_offsets"]
            out[name] = array.array("f", blob[8 + n + lo : 8 + n + hi]).tolist()
    return out


def history(path):
    with open(path) as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    return [[float(v) for v in r[1:5]] for r in rows[1:]]


def main():
    a, b, rel = sys.argv[1], sys.argv[2], float(sys.argv[3])
    bad = []
    ha, hb = history(a + "/history.csv"), history(b + "/history.csv")
    if len(ha) != len(hb) or not ha:
        bad.append(f"history.csv: {len(ha)} rows against {len(hb)}")
    worst = 0.0
    for col, name in enumerate(["loss", "mae", "val_loss", "val_mae"]):
        xs, ys = [r[col] for r in ha], [r[col] for r in hb]
        scale = max(abs(v) for v in xs + ys) or 1.0
        d = max(abs(x - y) for x, y in zip(xs, ys)) / scale
        worst = max(worst, d)
        if d > rel:
            bad.append(f"history.csv {name}: relative difference {d:.3g} > {rel:g}")
    print(f"history.csv: largest relative difference {worst:.3g}")
    ta, tb = tensors(a + "/last.safetensors"), tensors(b + "/last.safetensors")
    worst, where = 0.0, ""
    for name, xs in ta.items():
        ys = tb.get(name)
        if ys is None or len(ys) != len(xs):
            bad.append(f"last.safetensors {name}: missing or of another size in {b}")
            continue
        scale = max(abs(v) for v in xs + ys) or 1.0
        d = max(abs(x - y) for x, y in zip(xs, ys)) / scale
        if d > worst:
            worst, where = d, name
        if d > rel:
            bad.append(f"last.safetensors {name}: relative difference {d:.3g} > {rel:g}")
    print(f"last.safetensors: largest relative difference {worst:.3g} ({where})")
    with open(a + "/metrics.json") as f:
        ma = json.load(f)["sets"]
    with open(b + "/metrics.json") as f:
        mb = json.load(f)["sets"]
    for s in ma:
        n = ma[s]["n"]
        for k in ["exact", "within1"]:
            d = abs(ma[s][k] - mb[s][k]) * n
            print(f"metrics.json {s} {k}: {ma[s][k]:.6g} against {mb[s][k]:.6g}")
            if d > 1.0 + 1e-9:
                bad.append(f"metrics.json {s} {k}: {ma[s][k]:g} against {mb[s][k]:g}, {d:.1f} of {n} samples apart")
    for m in bad:
        print("NOT CLOSE:", m)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
