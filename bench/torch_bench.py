"""pixloc's network in PyTorch (CPU, or CUDA with --device cuda): training-step and inference throughput.

Same model as pixloc's (Conv3x3 + bias -> ReLU -> BatchNorm blocks of --channels,
the seed's 32, 64, 128, 64, 32 by default, 1x1 sigmoid head; BN eps 1e-3, Keras momentum 0.99),
MSE loss, Adam (lr 1e-3, eps 1e-7). Random inputs. Each figure is the median of
--reps timed repetitions after --warmup untimed ones. Memory format: PyTorch's
default NCHW ("contiguous") and channels_last (NHWC, which oneDNN often prefers on
CPUs) are both measured; compare.sh uses the faster. Prints JSON on stdout.

--device cuda (tools/gpu-check.sh): the model, its inputs and targets live on the
GPU; fp32 throughout (TF32 off for convolutions and matmuls unless --tf32), eager
mode, cuDNN's default algorithm choice unless --cudnn-benchmark; every timed
repetition ends with torch.cuda.synchronize(), and inference copies the images to
the GPU and the heatmaps back inside the timed region, as pixloc bench does.

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


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def timed(fn, reps, warmup, dev):
    for _ in range(warmup):
        fn()
    sync(dev)
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync(dev)
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t)


def run(fmt, a, rng, dev):
    torch.manual_seed(0)
    model = seed_model(a.channels)
    mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    model = model.to(device=dev, memory_format=mf)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.MSELoss()
    H, W = a.size
    x = torch.from_numpy(rng.random((a.batch, 1, H, W), dtype=np.float32)).to(device=dev, memory_format=mf)
    y = torch.from_numpy(rng.random((a.batch, 1, H, W), dtype=np.float32)).to(device=dev, memory_format=mf)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    model.train()
    med, best = timed(train_step, a.reps, a.warmup, dev)
    out = {"train": {"format": fmt, "batch": a.batch, "ms": 1e3 * med, "ms_min": 1e3 * best, "samples_per_s": a.batch / med}}

    model.eval()
    out["inference"] = []
    for B in a.infer:
        xi = rng.random((B, 1, H, W), dtype=np.float32)

        def infer():
            with torch.inference_mode():
                t = torch.from_numpy(xi).to(device=dev, memory_format=mf)
                model(t).cpu().numpy()

        med, best = timed(infer, a.reps, a.warmup, dev)
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
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--tf32", action="store_true", help="CUDA: allow TF32 (default: fp32 throughout)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="CUDA: let cuDNN time its algorithms")
    a = p.parse_args()

    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch_bench.py: --device %s but torch.cuda.is_available() is False (torch %s, CUDA %s)"
                         % (a.device, torch.__version__, torch.version.cuda))
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    if dev.type == "cuda":
        torch.backends.cudnn.allow_tf32 = a.tf32
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.benchmark = a.cudnn_benchmark
    rng = np.random.default_rng(0)
    res = {
        "framework": "pytorch",
        "version": torch.__version__,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" else None,
        "tf32": bool(a.tf32) if dev.type == "cuda" else None,
        "cudnn_benchmark": bool(a.cudnn_benchmark) if dev.type == "cuda" else None,
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
        res["formats"][fmt] = run(fmt, a, rng, dev)
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
