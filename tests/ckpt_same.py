#!/usr/bin/env python3
"""ckpt_same.py A B: exit 0 if the two pixloc checkpoints (safetensors) are the same run state:
every tensor byte for byte and every metadata entry equal, except the wall-clock fields (the
training seconds in train/sums[3], and the seconds and samples/s columns of history_row).
Prints the first difference and exits 1 otherwise. With --tensors-only (after A B) the metadata
is not compared."""
import json
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    head = json.loads(blob[8 : 8 + n])
    data = blob[8 + n :]
    meta = head.pop("__metadata__", {})
    tensors = {}
    for name, t in head.items():
        lo, hi = t["data_offsets"]
        raw = data[lo:hi]
        if name == "train/sums":  # run_loss, run_mae, best_val_loss, seconds (f64)
            raw = raw[:24]
        tensors[name] = (t["dtype"], t["shape"], raw)
    if "history_row" in meta:  # epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s
        meta["history_row"] = ",".join(meta["history_row"].split(",")[:5])
    return meta, tensors


def main():
    a, b = sys.argv[1], sys.argv[2]
    (ma, ta), (mb, tb) = load(a), load(b)
    if ma != mb and "--tensors-only" not in sys.argv[3:]:
        keys = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        print(f"NOT SAME: metadata {keys[0]!r}: {ma.get(keys[0])!r} vs {mb.get(keys[0])!r}")
        return 1
    if sorted(ta) != sorted(tb):
        print(f"NOT SAME: tensors {sorted(set(ta) ^ set(tb))}")
        return 1
    for name in sorted(ta):
        if ta[name] != tb[name]:
            print(f"NOT SAME: tensor {name!r} differs between {a} and {b}")
            return 1
    print(f"same: {a} and {b} ({len(ta)} tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
