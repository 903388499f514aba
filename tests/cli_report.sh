#!/usr/bin/env bash
# `pixloc report`: usage errors exit 2, a bad run directory exits 1 with a message
# naming the file, a good one writes report/ and prints the path of index.html.
#   bash tests/cli_report.sh PATH/TO/pixloc
#   bash tests/cli_report.sh --make-run DIR   # only writes a realistic fake run
#                                              # directory (used by cli_report_screenshot.sh)
set -u

# A realistic run directory as `pixloc train` writes it: config.json, history.csv
# (75 epochs with validation spikes like the reference's), metrics.json and
# report_samples.safetensors (images made with the reference recipe).
make_run() {
    python3 - "$1" <<'EOF'
import json, math, os, random, struct, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rnd = random.Random(7)
H = W = 50

config = {"command": "train", "device": "NVIDIA H100 80GB HBM3 (NVIDIA CUDA, OpenCL 3.0)",
          "epochs": 75, "batch_size": 64, "learning_rate": 0.001, "seed": 42,
          "channels": [32, 64, 128, 64, 32], "samples": 15000, "test_fraction": 0.2,
          "validation_split": 0.1, "heatmap_sigma": 1.8,
          "data": {"blur_ksize": 5, "noise_std": 10.0, "background_p": 0.02},
          "bn": {"momentum": 0.99, "epsilon": 0.001}, "seconds_total": 412.7,
          "version": "0.1.0"}
json.dump(config, open(os.path.join(d, "config.json"), "w"), indent=2)

with open(os.path.join(d, "history.csv"), "w") as f:
    f.write("epoch,loss,mae,val_loss,val_mae,seconds,samples_per_s\n")
    for e in range(1, 76):
        loss = 1.05e-4 + 0.02 * math.exp(-e / 6.0) * (1 + 0.05 * rnd.random())
        mae = 0.0020 + 0.05 * math.exp(-e / 7.0) * (1 + 0.05 * rnd.random())
        vl = loss * (1.6 + 0.4 * rnd.random())
        vm = mae * (1.3 + 0.2 * rnd.random())
        if e in (10, 30, 57):
            vl, vm = 0.9 - 0.1 * rnd.random(), 0.8
        s = 5.2 + 0.3 * rnd.random()
        f.write(f"{e},{loss:.6g},{mae:.6g},{vl:.6g},{vm:.6g},{s:.3f},{10800 / s:.1f}\n")

def m(n, mae, mse, em, es, p95, mx, ex, w1):
    return {"n": n, "mae": mae, "mse": mse, "rmse": math.sqrt(mse), "euclid_mean": em,
            "euclid_std": es, "euclid_median": 0.0, "euclid_p95": p95, "euclid_max": mx,
            "exact": ex, "within1": w1}
metrics = {"sets": {"train": m(10800, 0.0981, 1.5214, 0.1712, 1.702, 1.0, 47.4, 0.9412, 0.9883),
                    "val": m(1200, 0.1104, 1.8633, 0.1925, 1.911, 1.0, 44.0, 0.9358, 0.9850),
                    "test": m(3000, 0.1573, 3.0418, 0.2741, 2.463, 1.0, 51.2, 0.9297, 0.9793)},
           "baselines": {"brightest_pixel": m(3000, 4.5011, 128.9, 6.925, 13.41, 38.6, 63.8, 0.41, 0.55),
                         "matched_filter": m(3000, 0.2703, 6.1127, 0.4613, 3.471, 1.4142, 60.9, 0.835, 0.9517)},
           "baseline_set": "test"}
json.dump(metrics, open(os.path.join(d, "metrics.json"), "w"), indent=2)

def sample(x, y):
    img = [[0.0] * W for _ in range(H)]
    k = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]
    refl = lambda i, n: -i if i < 0 else 2 * (n - 1) - i if i >= n else i
    for v in range(H):
        for u in range(W):
            s = 0.0
            for a in range(5):
                for b in range(5):
                    if refl(v + a - 2, H) == y and refl(u + b - 2, W) == x:
                        s += 255 * k[a] * k[b]
            img[v][u] = s
    bg = rnd.randint(5, 39)
    for v in range(H):
        for u in range(W):
            p = img[v][u] + rnd.gauss(0, 10)
            if rnd.random() < 0.02:
                p = bg
            img[v][u] = min(max(p, 0), 255) / 255
    return img

def gauss(x, y, amp):
    return [[amp * math.exp(-((u - x) ** 2 + (v - y) ** 2) / (2 * 1.8 ** 2)) for u in range(W)]
            for v in range(H)]

def argmax(hm):
    best = max(range(H * W), key=lambda i: (hm[i // W][i % W], -i))
    return best % W, best // W

S = 16
images, ht, hp, ct, cp = [], [], [], [], []
for s in range(S):
    x, y = rnd.randrange(W), rnd.randrange(H)
    img = sample(x, y)
    t = gauss(x, y, 1.0)
    if s < 11:     # hits, some one pixel off
        dx = 1 if s in (3, 7) else 0
        p = gauss(min(x + dx, W - 1), y, 0.93)
    else:          # misses: the network fell for a noise blob elsewhere
        fx, fy = rnd.randrange(W), rnd.randrange(H)
        a, b = gauss(fx, fy, 0.55), gauss(x, y, 0.3)
        p = [[a[v][u] + b[v][u] for u in range(W)] for v in range(H)]
    p = [[min(1.0, max(0.0, q + 0.01 * rnd.random())) for q in row] for row in p]
    images.append(img), ht.append(t), hp.append(p)
    ct += [x, y]
    cp += list(argmax(p))

T = 3000
et, ep = [], []
for i in range(T):
    x, y = rnd.randrange(W), rnd.randrange(H)
    r = rnd.random()
    if r < 0.93:
        px, py = x, y
    elif r < 0.985:
        px, py = min(W - 1, max(0, x + rnd.choice((-1, 1)))), y
        if rnd.random() < 0.4:
            py = min(H - 1, max(0, y + rnd.choice((-1, 1))))
    else:
        px, py = rnd.randrange(W), rnd.randrange(H)
    et += [x, y]
    ep += [px, py]

flat = lambda a: [q for im in a for row in im for q in row]
tensors = [("images", "F32", [S, H, W], flat(images)), ("heatmaps_true", "F32", [S, H, W], flat(ht)),
           ("heatmaps_pred", "F32", [S, H, W], flat(hp)), ("coords_true", "I32", [S, 2], ct),
           ("coords_pred", "I32", [S, 2], cp), ("errors_true", "I32", [T, 2], et),
           ("errors_pred", "I32", [T, 2], ep)]
header, blobs, off = {}, [], 0
for name, dt, shape, vals in tensors:
    b = struct.pack("<%d%s" % (len(vals), "f" if dt == "F32" else "i"), *vals)
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(d, "report_samples.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
EOF
}

if [ "${1:-}" = "--make-run" ]; then
    make_run "$2"
    exit $?
fi

PIXLOC=${1:?usage: cli_report.sh PATH/TO/pixloc}
# In sanitizer builds LeakSanitizer would list its (PLplot/fontconfig) suppressions on
# stderr, which the "nothing on stderr" check below must not mistake for a message.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"
fail=0
check() { # check DESCRIPTION WANT_STATUS COMMAND...
    local what=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $what: exit $got, want $want"; cat "$tmp/out" "$tmp/err"; fail=1
    else
        echo "ok: $what"
    fi
}
expect_in() { # expect_in FILE FRAGMENT DESCRIPTION
    if ! grep -qF -- "$2" "$1"; then echo "FAIL: $3: '$2' not in:"; cat "$1"; fail=1; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check "--help" 0 "$PIXLOC" report --help
expect_in "$tmp/out" "Usage: pixloc report RUN_DIR" "--help text"
check "no RUN_DIR" 2 "$PIXLOC" report
expect_in "$tmp/err" "missing RUN_DIR" "no RUN_DIR message"
check "two RUN_DIRs" 2 "$PIXLOC" report a b
check "unknown flag" 2 "$PIXLOC" report --frobnicate x
check "missing run dir" 1 "$PIXLOC" report "$tmp/nope"
expect_in "$tmp/err" "not a run directory" "missing run dir message"

command -v python3 >/dev/null || { echo "python3 not found: skipping the run-directory checks"; exit $fail; }
make_run "$tmp/run" || { echo "FAIL: could not make the fake run"; exit 1; }
check "report on a run" 0 "$PIXLOC" report "$tmp/run"
expect_in "$tmp/out" "$tmp/run/report/index.html" "printed path"
for f in index.html loss.png mae.png samples.png errors.png; do
    [ -s "$tmp/run/report/$f" ] || { echo "FAIL: report/$f missing or empty"; fail=1; }
done
if [ -s "$tmp/err" ]; then echo "FAIL: report printed to stderr:"; cat "$tmp/err"; fail=1; fi
expect_in "$tmp/run/report/index.html" "0.1573" "test MAE in the page"
expect_in "$tmp/run/report/index.html" "NVIDIA H100" "device in the page"

mv "$tmp/run/history.csv" "$tmp/run/history.bak"
check "run without history.csv" 1 "$PIXLOC" report "$tmp/run"
expect_in "$tmp/err" "history.csv: cannot read" "missing history message"

[ $fail = 0 ] && echo "all cli_report checks passed"
exit $fail
