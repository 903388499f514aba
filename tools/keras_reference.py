#!/usr/bin/env python3
# Writes tests/data/keras_fixture.safetensors: the seed's Keras model (REFERENCE.md)
# trained for 3 Adam steps on a fixed batch, with every number tests/test_keras.c
# compares the C network against. CI never runs this; the fixture is committed.
#
# Made with (from the repository root):
#   python3 -m venv .venv-keras
#   .venv-keras/bin/pip install -r tools/requirements-keras.txt
#   .venv-keras/bin/python tools/keras_reference.py
#
# Contents (float32, Keras layouts: kernels (kh,kw,Cin,Cout)):
#   init/<name>   weights before training, pixloc names (conv{i}.kernel, bn{i}.gamma, ...)
#   x, y          the batch (B,50,50) images and heatmap targets, seed recipe
#   infer0        inference-mode output (moving BN statistics) with init weights (B,50,50)
#   out1          training-mode output of step 1, the one the loss is taken of (B,50,50)
#   grad1/<name>  gradient of the step-1 MSE loss w.r.t. every trainable tensor
#   losses, maes  (3,) MSE loss and MAE of each step's training-mode forward
#   final/<name>  every tensor (BN moving statistics too) after 3 steps
#   ref64/<key>   each result above as the same Keras code computes it in float64
#                 (stored as float32): the exact answer both float32 codes are held to
# Tensors are bit-reproducible run to run (the header's metadata key order is not).
# Metadata: versions, the command, and err64/<tensor>: max |float32 - float64| / max|float64|
# of this very computation run by Keras in float64, i.e. how far TF's own float32
# result is from the exact one; the C test's tolerances are set against these.
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""       # CPU only
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"     # plain Eigen kernels, reproducible
os.environ["KERAS_BACKEND"] = "tensorflow"

import cv2
import numpy as np
import tensorflow as tf
import keras
from keras import layers
from safetensors.numpy import save_file

CHANNELS = [32, 64, 128, 64, 32]
H = W = 50
BATCH = 2
STEPS = 3
LR = 1e-3
COMMAND = ("python3 -m venv .venv-keras && .venv-keras/bin/pip install -r tools/requirements-keras.txt"
           " && .venv-keras/bin/python tools/keras_reference.py")


def make_batch(rs, n):
    """Seed recipe (REFERENCE.md, Data)."""
    xs = np.zeros((n, H, W), np.float32)
    ys = np.zeros((n, H, W), np.float32)
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    for k in range(n):
        img = np.zeros((H, W), np.float32)
        px, py = rs.randint(0, W), rs.randint(0, H)
        img[py, px] = 255
        img = cv2.GaussianBlur(img, (5, 5), 0)
        img = img + rs.normal(0, 10, (H, W))
        mask = rs.rand(H, W) < 0.02
        img[mask] = rs.randint(5, 40)
        xs[k] = np.clip(img, 0, 255) / 255
        ys[k] = np.exp(-((u - px) ** 2 + (v - py) ** 2) / (2 * 1.8 ** 2))
    return xs, ys


def build(dtype):
    inp = keras.Input((H, W, 1), dtype=dtype)
    h = inp
    for i, c in enumerate(CHANNELS):
        h = layers.Conv2D(c, 3, padding="same", activation="relu", dtype=dtype, name=f"conv{i}")(h)
        h = layers.BatchNormalization(dtype=dtype, name=f"bn{i}")(h)
    out = layers.Conv2D(1, 1, activation="sigmoid", dtype=dtype, name="head")(h)
    return keras.Model(inp, out)


def named_tensors(model):
    """pixloc name -> Keras variable, trainable first within each layer."""
    t = {}
    for i in range(len(CHANNELS)):
        conv, bn = model.get_layer(f"conv{i}"), model.get_layer(f"bn{i}")
        t[f"conv{i}.kernel"], t[f"conv{i}.bias"] = conv.kernel, conv.bias
        t[f"bn{i}.gamma"], t[f"bn{i}.beta"] = bn.gamma, bn.beta
        t[f"bn{i}.moving_mean"], t[f"bn{i}.moving_variance"] = bn.moving_mean, bn.moving_variance
    head = model.get_layer("head")
    t["head.kernel"], t["head.bias"] = head.kernel, head.bias
    return t


def initial_weights():
    """Deterministic, typical-magnitude weights that exercise every path: Glorot
    uniform kernels, small non-zero biases, gamma around 1, beta around 0, moving
    mean positive (the BN input is a ReLU output), moving variance around 1."""
    rs = np.random.RandomState(0)
    w = {}
    cin = 1
    for i, c in enumerate(CHANNELS):
        lim = np.sqrt(6 / (9 * cin + 9 * c))
        w[f"conv{i}.kernel"] = rs.uniform(-lim, lim, (3, 3, cin, c))
        w[f"conv{i}.bias"] = rs.uniform(-0.05, 0.05, c)
        w[f"bn{i}.gamma"] = rs.uniform(0.8, 1.2, c)
        w[f"bn{i}.beta"] = rs.uniform(-0.1, 0.1, c)
        w[f"bn{i}.moving_mean"] = rs.uniform(0.0, 0.3, c)
        w[f"bn{i}.moving_variance"] = rs.uniform(0.5, 1.5, c)
        cin = c
    lim = np.sqrt(6 / (cin + 1))
    w["head.kernel"] = rs.uniform(-lim, lim, (1, 1, cin, 1))
    w["head.bias"] = rs.uniform(-0.05, 0.05, 1)
    return {k: v.astype(np.float32) for k, v in w.items()}


def run(dtype, w0, x, y):
    """Builds the model in `dtype`, loads w0, trains STEPS steps exactly as
    Model.train_on_batch does (one forward with training=True, MSE, gradients of
    the trainable variables, Adam.apply_gradients). Returns a dict of results."""
    model = build(dtype)
    tensors = named_tensors(model)
    for k, v in tensors.items():
        v.assign(np.asarray(w0[k]).astype(dtype))
    res = {"infer0": model(x.astype(dtype), training=False).numpy()[..., 0]}
    opt = keras.optimizers.Adam(learning_rate=LR)  # beta 0.9/0.999, eps 1e-7
    mse = keras.losses.MeanSquaredError()
    xb, yb = tf.constant(x.astype(dtype)[..., None]), tf.constant(y.astype(dtype)[..., None])
    tv = model.trainable_variables
    losses, maes = [], []
    for step in range(STEPS):
        with tf.GradientTape() as tape:
            out = model(xb, training=True)
            loss = mse(yb, out)
        grads = tape.gradient(loss, tv)
        opt.apply_gradients(zip(grads, tv))
        losses.append(float(loss))
        maes.append(float(tf.reduce_mean(tf.abs(yb - out))))
        if step == 0:
            res["out1"] = out.numpy()[..., 0]
            byvar = {id(v): g.numpy() for v, g in zip(tv, grads)}
            for k, v in tensors.items():
                if v.trainable:
                    res[f"grad1/{k}"] = byvar[id(v)]
    res["losses"] = np.array(losses)
    res["maes"] = np.array(maes)
    for k, v in tensors.items():
        res[f"final/{k}"] = v.numpy()
    return res, model


def self_checks(w0, x, y, r32, r64):
    """The custom loop must be what train_on_batch does (checked in float64, where
    summation order does not matter), and Keras must do what REFERENCE.md says
    (Adam epsilon-hat form, BN momentum 0.99 / eps 1e-3 / biased variance)."""
    model = build("float64")
    for k, v in named_tensors(model).items():
        v.assign(w0[k].astype(np.float64))
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse", metrics=["mae"])
    bn0 = model.get_layer("bn0")
    assert abs(bn0.momentum - 0.99) < 1e-12 and abs(bn0.epsilon - 1e-3) < 1e-12
    assert abs(model.optimizer.epsilon - 1e-7) < 1e-20
    x64, y64 = x[..., None].astype(np.float64), y[..., None].astype(np.float64)
    tob = [model.train_on_batch(x64, y64, return_dict=True) for _ in range(STEPS)]
    worst = 0.0
    for k, v in named_tensors(model).items():
        ref = r64[f"final/{k}"]
        worst = max(worst, np.max(np.abs(v.numpy() - ref)) / np.max(np.abs(ref)))
    tl = np.array([float(t["loss"]) for t in tob])
    tm = np.array([float(t["mae"]) for t in tob])
    print(f"float64 train_on_batch vs custom loop: final weights max rel diff {worst:.3g}; "
          f"losses {tl} vs {r64['losses']}")
    assert worst < 1e-9 and np.allclose(tl, r64["losses"], rtol=1e-12)
    print("maes", tm, r64["maes"])  # Keras metrics accumulate in floatx (float32)
    assert np.allclose(tm, r64["maes"], rtol=1e-6)
    # float32 train_on_batch gives the same step-1 loss as the float32 loop.
    m32 = build("float32")
    for k, v in named_tensors(m32).items():
        v.assign(w0[k])
    m32.compile(optimizer=keras.optimizers.Adam(LR), loss="mse", metrics=["mae"])
    l1 = m32.train_on_batch(x[..., None], y[..., None], return_dict=True)["loss"]
    assert abs(float(l1) - r32["losses"][0]) <= 1e-6 * r32["losses"][0]

    # Adam by hand (REFERENCE.md epsilon-hat form) vs Keras, float64, 3 steps with
    # gradients spanning |g| << eps .. |g| >> eps.
    rs = np.random.RandomState(2)
    var = keras.Variable(rs.standard_normal(1000), dtype="float64")
    w = var.numpy().copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    opt = keras.optimizers.Adam(learning_rate=LR)
    for t in range(1, STEPS + 1):
        g = rs.standard_normal(1000) * 10.0 ** rs.uniform(-9, -1, 1000)
        opt.apply_gradients([(tf.constant(g), var)])
        alpha = LR * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m += (g - m) * (1 - 0.9)
        v += (g * g - v) * (1 - 0.999)
        w -= alpha * m / (np.sqrt(v) + 1e-7)
    d = np.max(np.abs(var.numpy() - w))
    # Keras's step comes out 6.6e-6 relative smaller than this float64 formula
    # (its hyper-parameters pass through float32); far below every test tolerance.
    # The non-"hat" form (eps added to sqrt(v_hat)) would differ by ~lr for |g| ~ 1e-7.
    print(f"Adam epsilon-hat form by hand vs Keras, 3 steps: max |diff| {d:.3g}")
    assert d < 2e-5 * LR * STEPS

    # BN moving statistics after one training forward: biased variance, momentum 0.99.
    m3 = build("float64")
    t3 = named_tensors(m3)
    for k, v in t3.items():
        v.assign(w0[k].astype(np.float64))
    sub = keras.Model(m3.input, m3.get_layer("conv0").output)
    a = sub(x[..., None].astype(np.float64)).numpy()
    m3(x[..., None].astype(np.float64), training=True)
    mom = 0.99
    mm0, mv0 = w0["bn0.moving_mean"].astype(np.float64), w0["bn0.moving_variance"].astype(np.float64)
    want_mean = mom * mm0 + (1 - mom) * a.mean(axis=(0, 1, 2))
    want_var = mom * mv0 + (1 - mom) * a.var(axis=(0, 1, 2))  # biased
    unbiased = mom * mv0 + (1 - mom) * a.var(axis=(0, 1, 2), ddof=1)
    dm = np.max(np.abs(t3["bn0.moving_mean"].numpy() - want_mean))
    dv = np.max(np.abs(t3["bn0.moving_variance"].numpy() - want_var))
    du = np.max(np.abs(t3["bn0.moving_variance"].numpy() - unbiased))
    print(f"BN moving stats by hand (biased var, momentum 0.99): max |diff| mean {dm:.3g} "
          f"var {dv:.3g} (unbiased var would give {du:.3g})")
    assert dm < 1e-12 and dv < 1e-12 and du > 1e3 * dv


def main():
    keras.config.set_floatx("float32")
    tf.config.experimental.enable_op_determinism()
    assert not tf.config.list_physical_devices("GPU")
    keras.utils.set_random_seed(0)

    x, y = make_batch(np.random.RandomState(1), BATCH)
    assert abs(cv2.GaussianBlur(np.pad(np.float32([[255]]), 2), (5, 5), 0)[2, 2] - 35.859375) < 1e-4
    w0 = initial_weights()

    r32, _ = run("float32", w0, x, y)
    r64, _ = run("float64", w0, x, y)
    self_checks(w0, x, y, r32, r64)

    out = {f"init/{k}": v for k, v in w0.items()}
    out["x"], out["y"] = x, y
    err64 = {}
    for k, v in r32.items():
        ref = r64[k]
        err64[k] = float(np.max(np.abs(v - ref)) / (np.max(np.abs(ref)) + 1e-30))
        out[k] = np.ascontiguousarray(v, dtype=np.float32)
        out[f"ref64/{k}"] = np.ascontiguousarray(ref, dtype=np.float32)
    print("float32 vs float64 Keras, max|diff| / max|ref| per tensor:")
    for k, e in err64.items():
        print(f"  {k:32s} {e:.3g}")
    print("losses", r32["losses"], "maes", r32["maes"])
    print("loss rel err f32 vs f64 per step", np.abs(r32["losses"] - r64["losses"]) / r64["losses"])

    meta = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "python": sys.version.split()[0],
        "command": COMMAND,
        "batch": str(BATCH),
        "steps": str(STEPS),
        "lr": str(LR),
        "err64": json.dumps(err64, sort_keys=True),
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "data", "keras_fixture.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(out, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(out)} tensors)")


if __name__ == "__main__":
    main()
