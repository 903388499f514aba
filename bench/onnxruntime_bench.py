"""A pixloc model exported to ONNX, in onnxruntime on the CPU: inference throughput.

The peer a deploying user would pick: the model is the one pixloc itself trained,
written by `pixloc export --model RUN --onnx FILE` (3x3 Conv + bias -> ReLU ->
BatchNormalization blocks, 1x1 Conv + Sigmoid head; input "image" N x 1 x H x W,
output "heatmap"), run by onnxruntime's CPUExecutionProvider with all its graph
optimisations (ORT_ENABLE_ALL), --threads intra-op threads, one inter-op thread and
sequential execution. Random inputs
in [0, 1). Each figure is the median of --reps timed repetitions (one session.run
of a whole batch) after --warmup untimed ones. Prints JSON on stdout, in the shape
of the inference part of bench/torch_bench.py and bench/tf_bench.py.

  python bench/onnxruntime_bench.py --onnx model.onnx [--infer 64,256] [--size 50x50]
                                    [--reps 5] [--warmup 2] [--threads 2]
"""
import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--onnx", required=True, help="model written by `pixloc export --onnx`")
    p.add_argument("--infer", type=lambda s: [int(v) for v in s.split(",")], default=[64, 256])
    p.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(50, 50))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="intra-op threads [2]")
    a = p.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    rng = np.random.default_rng(0)
    H, W = a.size
    res = {
        "framework": "onnxruntime",
        "version": ort.__version__,
        "providers": sess.get_providers(),
        "threads": a.threads,
        "interop_threads": 1,
        "model": a.onnx,
        "channels": meta.get("pixloc_channels", ""),
        "size": [H, W],
        "reps": a.reps,
        "warmup": a.warmup,
        "inference": [],
    }
    for B in a.infer:
        xi = rng.random((B, 1, H, W), dtype=np.float32)

        def infer():
            sess.run(["heatmap"], {"image": xi})[0]

        med, best = timed(infer, a.reps, a.warmup)
        res["inference"].append({"batch": B, "ms": 1e3 * med, "ms_min": 1e3 * best, "images_per_s": B / med})
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
