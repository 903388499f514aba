"""pixloc's network in TensorFlow-Keras on the CPU: training-step and inference throughput.

The reference notebook's model (Keras defaults): Conv2D(C, 3, 'same', relu) ->
BatchNormalization blocks of --channels (the seed's 32, 64, 128, 64, 32 by default), Conv2D(1, 1, sigmoid);
MSE loss, Adam (lr 1e-3, eps 1e-7), compiled as model.fit would run it
(train_on_batch: forward + loss + backward + Adam in one compiled step;
predict_on_batch for inference). Channels-last (NHWC), Keras's and TF-CPU's
layout. Random inputs. Each figure is the median of --reps timed repetitions
after --warmup untimed ones. Prints JSON on stdout.

Run by bench/compare.sh inside bench/.venv/tf.
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--infer", type=lambda s: [int(v) for v in s.split(",")], default=[64, 256])
    p.add_argument("--channels", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128, 64, 32])
    p.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(50, 50))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()

    import numpy as np
    import tensorflow as tf

    # Must precede any op that creates the thread pools.
    tf.config.threading.set_intra_op_parallelism_threads(a.threads)
    tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    keras = tf.keras
    keras.utils.set_random_seed(0)

    H, W = a.size
    layers = [keras.Input((H, W, 1))]
    for c in a.channels:
        layers += [keras.layers.Conv2D(c, 3, padding="same", activation="relu"), keras.layers.BatchNormalization()]
    layers += [keras.layers.Conv2D(1, 1, activation="sigmoid")]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-7), loss="mse")

    rng = np.random.default_rng(0)
    x = rng.random((a.batch, H, W, 1), dtype=np.float32)
    y = rng.random((a.batch, H, W, 1), dtype=np.float32)
    med, best = timed(lambda: model.train_on_batch(x, y), a.reps, a.warmup)
    res = {
        "framework": "tensorflow-keras",
        "version": tf.__version__,
        "keras_version": keras.__version__ if hasattr(keras, "__version__") else "",
        "jit_compile": str(getattr(model, "jit_compile", "")),
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
        "format": "channels_last",
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "batch": a.batch,
        "reps": a.reps,
        "warmup": a.warmup,
        "params": int(model.count_params()),
        "train": {"batch": a.batch, "ms": 1e3 * med, "ms_min": 1e3 * best, "samples_per_s": a.batch / med},
        "inference": [],
    }
    for B in a.infer:
        xi = rng.random((B, H, W, 1), dtype=np.float32)
        med, best = timed(lambda: model.predict_on_batch(xi), a.reps, a.warmup)
        res["inference"].append({"batch": B, "ms": 1e3 * med, "ms_min": 1e3 * best, "images_per_s": B / med, "ms_per_image": 1e3 * med / B})
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
