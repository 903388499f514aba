"""Checks a `pixloc export --onnx` model against pixloc itself (run by tests/cli_onnx.sh).

  onnx_check.py subset SEED42 FIXTURE N OUT
      writes the first N images of the seed's test split (the indices sklearn's
      train_test_split gave, stored in tests/data/dataset_fixture.safetensors as
      seed42_test_idx) of the dataset SEED42 to OUT, a dataset pixloc reads.
  onnx_check.py poison CKPT TENSOR INDEX OUT
      copies the checkpoint CKPT to OUT with element INDEX of the F32 tensor TENSOR
      set to NaN (the bytes patched in place; header and metadata unchanged).
  onnx_check.py compare MODEL DATASET HEATMAPS CSV [--opencv] [--tol T]
      onnx.checker (full check) on MODEL, the graph's input and output N x 1 x H x W
      with N, H, W symbolic; then the heatmaps of DATASET's images from onnxruntime
      (CPUExecutionProvider, the whole set as one batch and image 0 alone) and, with
      --opencv, from cv2.dnn.readNetFromONNX (its default Winograd 3x3 path and its direct
      one), each against pixloc's (HEATMAPS, written
      by `pixloc predict --heatmap-format safetensors`): max abs difference <= T [1e-5]
      and the same argmax (first maximum, row-major) for every image; and pixloc's own
      CSV (x, y) is the argmax of its heatmap. Prints one line per check, exits 1 on any
      failure.
"""
import json
import struct
import sys

import numpy as np

DT = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "F64": np.float64, "U8": np.uint8, "U32": np.uint32}


def st_load(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8 : 8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s : 8 + n + e], dtype=np.dtype(DT[v["dtype"]]).newbyteorder("<")).reshape(
            v["shape"]
        )
    return out


def st_save(path, tensors):
    names = {np.float32: "F32", np.int32: "I32"}
    header, blobs, off = {}, [], 0
    for k, a in tensors.items():
        a = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
        raw = a.tobytes()
        header[k] = {"dtype": names[a.dtype.type], "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def subset(seed42, fixture, n, out):
    d = st_load(seed42)
    idx = st_load(fixture)["seed42_test_idx"][:n]
    assert d["images"].shape == (15000, 50, 50), d["images"].shape
    st_save(out, {"images": d["images"][idx], "coords": d["coords"][idx]})
    print(f"ok   {out}: images {list(idx[:5])}... of the seed's test split ({n})")


def poison(ckpt, name, index, out):
    with open(ckpt, "rb") as f:
        b = bytearray(f.read())
    n = struct.unpack("<Q", b[:8])[0]
    t = json.loads(b[8 : 8 + n])[name]
    assert t["dtype"] == "F32"
    at = 8 + n + t["data_offsets"][0] + 4 * index
    b[at : at + 4] = struct.pack("<f", float("nan"))
    with open(out, "wb") as f:
        f.write(b)


fails = 0


def check(what, cond, detail=""):
    global fails
    print(("ok   " if cond else "FAIL ") + what + (f" ({detail})" if detail else ""))
    if not cond:
        fails += 1


def compare_to(name, got, ref, tol):
    got = got.reshape(ref.shape)
    diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64))))
    am_got = got.reshape(len(got), -1).argmax(axis=1)
    am_ref = ref.reshape(len(ref), -1).argmax(axis=1)
    same = int(np.sum(am_got == am_ref))
    check(f"{name}: max abs difference {diff:.3g} <= {tol:g} over {ref.shape}", diff <= tol)
    check(f"{name}: argmax identical for {same}/{len(ref)} images", same == len(ref))


def compare(model, dataset, heatmaps, csv, use_opencv, tol):
    import onnx
    import onnxruntime as ort

    m = onnx.load(model)
    onnx.checker.check_model(m, full_check=True)
    check("onnx.checker.check_model(full_check=True)", True)
    for v in list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        check(f"{v.name} shape {dims} is N x 1 x H x W, N, H, W dynamic", dims == ["N", 1, "H", "W"])
    x = st_load(dataset)["images"]
    ref = st_load(heatmaps)["heatmaps"]
    check(f"pixloc heatmaps {ref.shape} match the images {x.shape}", ref.shape == x.shape)
    xs = x[:, None, :, :].astype(np.float32)

    # pixloc's CSV (input:index,x,y,peak) must be the argmax of the heatmaps it wrote.
    rows = [line.rstrip("\n").rsplit(",", 3) for line in open(csv)][1:]
    xy = np.array([[int(r[1]), int(r[2])] for r in rows])
    am = ref.reshape(len(ref), -1).argmax(axis=1)
    W = ref.shape[2]
    check("pixloc's CSV x,y are its heatmaps' argmax", len(rows) == len(ref) and np.array_equal(xy, np.stack([am % W, am // W], 1)))

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    y = s.run(["heatmap"], {"image": xs})[0]
    check(f"onnxruntime output shape {y.shape}", y.shape == xs.shape)
    compare_to(f"onnxruntime {ort.__version__} (batch {len(xs)})", y, ref, tol)
    y1 = s.run(["heatmap"], {"image": xs[:1]})[0]
    compare_to("onnxruntime (batch 1)", y1, ref[:1], tol)

    if use_opencv:
        import cv2

        # OpenCV's default 3x3 path is Winograd F(6x6,3x3), the least exact; both paths are held
        # to the tolerance (measured on the seed network: 8.7e-6 with it, 1.8e-6 without).
        for winograd in (True, False):
            net = cv2.dnn.readNetFromONNX(model)
            net.enableWinograd(winograd)
            net.setInput(xs)
            z = net.forward()
            check(f"OpenCV dnn output shape {z.shape}", z.shape == xs.shape)
            compare_to(f"OpenCV {cv2.__version__} dnn, Winograd {'on' if winograd else 'off'} (batch {len(xs)})", z, ref, tol)


def main():
    a = sys.argv[1:]
    if a and a[0] == "subset" and len(a) == 5:
        subset(a[1], a[2], int(a[3]), a[4])
        return 0
    if a and a[0] == "poison" and len(a) == 5:
        poison(a[1], a[2], int(a[3]), a[4])
        return 0
    if a and a[0] == "compare" and len(a) >= 5:
        tol = float(a[a.index("--tol") + 1]) if "--tol" in a else 1e-5
        compare(a[1], a[2], a[3], a[4], "--opencv" in a, tol)
        print(f"onnx_check: {fails} failed")
        return 1 if fails else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
