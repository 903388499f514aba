"""pixloc's network in PyTorch on the CPU: training-step and inference throughput.

Same model as pixloc's (Conv3x3 + bias -> ReLU -> BatchNorm blocks of --channels,
the seed's 32, 64, 128, 64, 32 by default, 1x1 sigmoid head; BN eps 1e-3, Keras momentum 0.99),
MSE loss, Adam (lr 1e-3, eps 1e-7). Random inputs. Each figure is the median of
--reps timed repetitions after --warmup untimed ones. Memory format: PyTorch's
default NCHW ("contiguous") and channels_last (NHWC, which oneDNN often prefers on
CPUs) are both measured; compare.sh uses the faster. Prints JSON on stdout.

Run by bench/compare.sh inside bench/.venv/torch.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn as nn


def seed_model(channels):
    layers, cin = [], 1
    for c in channels:
        # Keras momentum 0.99 (moving = 0.99*moving + 0.01*batch) is PyTorch momentum 0.01.
        layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)]
        cin = c
    layers += [nn.Conv2d(cin, 1, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def timed(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t)


def run(fmt, a, rng):
    torch.manual_seed(0)
    model = seed_model(a.channels)
    mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=mf)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.MSELoss()
    H, W = a.size
    x = torch.from_numpy(rng.random((a.batch, 1, H, W), dtype=np.float32)).to(memory_format=mf)
    y = torch.from_numpy(rng.random((a.batch, 1, H, W), dtype=np.float32)).to(memory_format=mf)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    model.train()
    med, best = timed(train_step, a.reps, a.warmup)
    out = {"train": {"format": fmt, "batch": a.batch, "ms": 1e3 * med, "ms_min": 1e3 * best, "samples_per_s": a.batch / med}}

    model.eval()
    out["inference"] = []
    for B in a.infer:
        xi = rng.random((B, 1, H, W), dtype=np.float32)

        def infer():
            with torch.inference_mode():
                t = torch.from_numpy(xi).to(memory_format=mf)
                model(t).numpy()

        med, best = timed(infer, a.reps, a.warmup)
        out["inference"].append({"format": fmt, "batch": B, "ms": 1e3 * med, "ms_min": 1e3 * best, "images_per_s": B / med, "ms_per_image": 1e3 * med / B})
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--infer", type=lambda s: [int(v) for v in s.split(",")], default=[64, 256])
    p.add_argument("--channels", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128, 64, 32])
    p.add_argument("--size", type=lambda s: tuple(int(v) for v in s.split("x")), default=(50, 50))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--formats", default="contiguous,channels_last")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    rng = np.random.default_rng(0)
    res = {
        "framework": "pytorch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "batch": a.batch,
        "reps": a.reps,
        "warmup": a.warmup,
        "formats": {},
    }
    for fmt in a.formats.split(","):
        res["formats"][fmt] = run(fmt, a, rng)
    best = max(res["formats"], key=lambda f: res["formats"][f]["train"]["samples_per_s"])
    res["best_format"] = best
    res["train"] = res["formats"][best]["train"]
    res["inference"] = [
        max((res["formats"][f]["inference"][i] for f in res["formats"]), key=lambda e: e["images_per_s"])
        for i in range(len(a.infer))
    ]
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
