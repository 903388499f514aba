#!/usr/bin/env python3
"""Reference generator for pixloc's synthetic dataset: the seed notebook's numpy +
OpenCV code (shared/seed/REFERENCE.md), used to write the test fixture and to
check a dataset that pixloc wrote.

Setup (once):
    python3 -m venv /tmp/pxvenv
    /tmp/pxvenv/bin/pip install numpy opencv-python-headless safetensors scikit-learn

Regenerate the fixture (tests/data/dataset_fixture.safetensors):
    /tmp/pxvenv/bin/python tools/dataset_reference.py --fixture tests/data/dataset_fixture.safetensors
Check a file written by `pixloc generate` against numpy/OpenCV:
    /tmp/pxvenv/bin/python tools/dataset_reference.py --check /tmp/x.safetensors
Print the numpy reference arrays embedded in tests/test_rng.c:
    /tmp/pxvenv/bin/python tools/dataset_reference.py --rng-vectors

Fixture generated with numpy 2.4.6, opencv-python-headless 5.0.0 (the blur
kernels used here are dyadic, so every OpenCV version gives the same bits).
"""
import argparse
import math
import sys

import numpy as np

SEED_RECIPE = dict(H=50, W=50, blur=5, noise_std=10.0, bg_prob=0.02, bg_lo=5, bg_hi=40, sigma=1.8)
NOTEBOOK_TEST_SAMPLES = {1494: (30, 29), 2903: (46, 29), 1355: (20, 11), 233: (16, 30), 2802: (1, 35)}


def generate(n, seed, H, W, blur, noise_std, bg_prob, bg_lo, bg_hi, sigma=None):
    """The notebook's generate_dataset, draw for draw (legacy global RandomState)."""
    import cv2

    np.random.seed(seed)
    X = np.zeros((n, H, W), np.float32)
    C = np.zeros((n, 2), np.int32)
    for i in range(n):
        img = np.zeros((H, W), dtype=np.float32)
        x = np.random.randint(0, W)
        y = np.random.randint(0, H)
        img[y, x] = 255
        if blur:
            img = cv2.GaussianBlur(img, (blur, blur), 0)
        img += np.random.normal(0, noise_std, img.shape)  # float32 += float64
        mask = np.random.rand(H, W) < bg_prob
        img[mask] = np.random.randint(bg_lo, bg_hi)
        img = np.clip(img, 0, 255) / 255.0
        assert img.dtype == np.float32
        X[i] = img
        C[i] = (x, y)
    return X, C


def gaussian_heatmap(H, W, x, y, sigma):
    xs = np.arange(W)[None, :]
    ys = np.arange(H)[:, None]
    return np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2)).astype(np.float32)


def split(n, seed=42, test_size=0.2, validation_split=0.1):
    """sklearn train_test_split(test_size, random_state=seed) then Keras validation_split."""
    n_test = math.ceil(test_size * n)
    perm = np.random.RandomState(seed).permutation(n)
    test, train_full = perm[:n_test], perm[n_test:]
    split_at = int(math.floor(len(train_full) * (1.0 - validation_split)))
    return train_full, test, train_full[:split_at], train_full[split_at:]


def recipe_string(r):
    g = lambda v: repr(float(v))
    return (f"H={r['H']},W={r['W']},blur={r['blur']},noise_std={g(r['noise_std'])},bg_prob={g(r['bg_prob'])},"
            f"bg_lo={r['bg_lo']},bg_hi={r['bg_hi']},sigma={g(r['sigma'])}")


def parse_recipe(s):
    r = dict(SEED_RECIPE)
    for kv in s.split(","):
        k, v = kv.split("=")
        r[k] = int(v) if k in ("H", "W", "blur", "bg_lo", "bg_hi") else float(v)
    return r


def check_split_with_sklearn(n_train_full_idx, test_idx, n):
    try:
        from sklearn.model_selection import train_test_split
    except ImportError:
        print("sklearn not installed: split checked against the numpy formula only")
        return
    tr, te = train_test_split(np.arange(n), test_size=0.2, random_state=42)
    assert np.array_equal(tr, n_train_full_idx) and np.array_equal(te, test_idx), "split differs from sklearn"
    print("split: identical to sklearn train_test_split(test_size=0.2, random_state=42)")


def write_fixture(path):
    from safetensors.numpy import save_file

    t, meta = {}, {}
    X, C = generate(15000, 42, **{k: v for k, v in SEED_RECIPE.items() if k != "sigma"})
    train_full, test, train, val = split(15000)
    check_split_with_sklearn(train_full, test, 15000)
    assert len(test) == 3000 and len(train) == 10800 and len(val) == 1200
    for ti, xy in NOTEBOOK_TEST_SAMPLES.items():
        got = tuple(int(v) for v in C[test[ti]])
        assert got == xy, f"notebook test sample {ti}: {got} != {xy}"
    print("the five notebook test samples have the notebook's coordinates")
    nb = np.array([test[i] for i in NOTEBOOK_TEST_SAMPLES], np.int64)
    t["seed42_images"] = X[:200]
    t["seed42_coords"] = C
    t["seed42_test_idx"] = test.astype(np.int64)
    t["seed42_train_idx"] = train_full.astype(np.int64)  # all 12000, before the validation split
    t["seed42_notebook_idx"] = nb
    t["seed42_notebook_images"] = X[nb]
    t["seed42_last_image"] = X[-1:]
    t["seed42_heatmap0"] = gaussian_heatmap(50, 50, int(C[0, 0]), int(C[0, 1]), 1.8)
    meta["seed42_recipe"] = recipe_string(SEED_RECIPE)
    meta["seed42_seed"] = "42"
    # Awkward shapes: non-square, kernel wider than the image (repeated folding), no blur.
    others = {
        "small": (20, 7, dict(H=7, W=9, blur=3, noise_std=10.0, bg_prob=0.02, bg_lo=5, bg_hi=40, sigma=1.8)),
        "tiny": (10, 3, dict(H=3, W=4, blur=7, noise_std=0.0, bg_prob=0.1, bg_lo=5, bg_hi=40, sigma=1.0)),
        "noblur": (10, 11, dict(H=6, W=5, blur=0, noise_std=5.0, bg_prob=0.2, bg_lo=100, bg_hi=200, sigma=1.8)),
        "wide": (12, 1234567, dict(H=4, W=61, blur=7, noise_std=30.0, bg_prob=0.05, bg_lo=0, bg_hi=256, sigma=2.5)),
    }
    for name, (n, seed, r) in others.items():
        Xo, Co = generate(n, seed, **{k: v for k, v in r.items() if k != "sigma"})
        t[f"{name}_images"] = Xo
        t[f"{name}_coords"] = Co
        meta[f"{name}_recipe"] = recipe_string(r)
        meta[f"{name}_seed"] = str(seed)
    meta["generator"] = f"tools/dataset_reference.py, numpy {np.__version__}"
    save_file(t, path, metadata=meta)
    import os

    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def check(path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    d = load_file(path)
    with safe_open(path, framework="np") as f:
        meta = f.metadata() or {}
    assert meta.get("format") == "pixloc-dataset", f"format metadata {meta.get('format')!r}"
    r = parse_recipe(meta["recipe"])
    seed = int(meta["seed"])
    X, C = d["images"], d["coords"]
    n = X.shape[0]
    assert X.dtype == np.float32 and X.shape == (n, r["H"], r["W"]), X.shape
    assert C.dtype == np.int32 and C.shape == (n, 2), C.shape
    Xr, Cr = generate(n, seed, **{k: v for k, v in r.items() if k != "sigma"})
    ok = True
    if not np.array_equal(C, Cr):
        print(f"NOT OK coords: {int((C != Cr).any(axis=1).sum())} samples differ")
        ok = False
    diff = float(np.abs(X - Xr).max())
    print(f"{'OK' if diff <= 1e-6 else 'NOT OK'} images: max |diff| {diff:.3g} over {n} samples")
    ok &= diff <= 1e-6
    if "heatmaps" in d:
        hm = np.stack([gaussian_heatmap(r["H"], r["W"], int(x), int(y), r["sigma"]) for x, y in Cr])
        hd = float(np.abs(d["heatmaps"] - hm).max())
        print(f"{'OK' if hd <= 1e-7 else 'NOT OK'} heatmaps: max |diff| {hd:.3g}")
        ok &= hd <= 1e-7
    if n == 15000 and seed == 42 and r == SEED_RECIPE:
        _, test, _, _ = split(n)
        for ti, xy in NOTEBOOK_TEST_SAMPLES.items():
            ok &= tuple(int(v) for v in C[test[ti]]) == xy
        print("checked the five notebook test samples")
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


def rng_vectors():
    R = np.random.RandomState
    f = lambda v: repr(float(v))

    def arr(name, vals, ty):
        print(f"static const {ty} {name}[] = {{" + ", ".join(vals) + "};")

    arr("mt5489", [str(v) + "u" for v in R(5489).randint(0, 2**32, size=5, dtype=np.uint32)], "uint32_t")
    arr("mt42", [str(v) + "u" for v in R(42).randint(0, 2**32, size=5, dtype=np.uint32)], "uint32_t")
    arr("mt0_after1000", [str(v) + "u" for v in R(0).randint(0, 2**32, size=1005, dtype=np.uint32)[1000:]], "uint32_t")
    arr("rs42", [f(v) for v in R(42).random_sample(5)], "double")
    r = R(42)
    arr("ri42_50", [str(r.randint(0, 50)) for _ in range(10)], "int64_t")
    arr("ri42_5_40", [str(r.randint(5, 40)) for _ in range(5)], "int64_t")
    arr("ri42_neg", [str(r.randint(-3, 7)) for _ in range(5)], "int64_t")
    arr("ri42_big", [str(r.randint(0, 2**40)) + "LL" for _ in range(3)], "int64_t")
    arr("ri42_one", [str(r.randint(7, 8)) for _ in range(2)], "int64_t")
    arr("ri42_after", [str(r.randint(0, 1000)) for _ in range(3)], "int64_t")
    r = R(42)
    arr("nrm42", [f(v) for v in r.normal(0, 10, 7)], "double")
    arr("nrm42_more", [f(r.normal(1, 2)), f(r.random_sample()), f(r.normal()), f(r.normal())], "double")
    arr("uni7", [f(v) for v in R(7).uniform(-2, 3, 3)], "double")
    arr("perm42_10", [str(v) for v in R(42).permutation(10)], "int64_t")
    r = R(123)
    a = np.arange(20) * 3
    r.shuffle(a)
    arr("shuf123_20x3", [str(v) for v in a], "int64_t")
    big = R(2024).normal(0, 1, 100001)
    print("// RandomState(2024).normal(0, 1, 100001): sum and last value")
    arr("nrm2024_stats", [f(big.sum()), f(big[-1])], "double")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--fixture", metavar="FILE", help="write the test fixture")
    g.add_argument("--check", metavar="FILE", help="compare a pixloc dataset with numpy/OpenCV")
    g.add_argument("--rng-vectors", action="store_true", help="print the numpy arrays used by tests/test_rng.c")
    a = ap.parse_args()
    if a.fixture:
        write_fixture(a.fixture)
        return 0
    if a.check:
        return check(a.check)
    rng_vectors()
    return 0


if __name__ == "__main__":
    sys.exit(main())
