#!/usr/bin/env python3
"""scaling_model.py: the data-parallel scaling model of docs/scaling.md, from a network's widths
and a measured training-step time per device.

  python3 tools/scaling_model.py --channels 32,64,128,64,32 --batch 64 --step-s 0.89 [--eff 0.9]

Link assumptions (bandwidth, latency per collective): 10 Gbit/s Ethernet with TCP 1.25 GB/s,
30 us; 100 Gbit/s (InfiniBand / RoCE) 12.5 GB/s, 5 us; processes of one machine (Open MPI's
shared-memory transport) 25 GB/s, 1 us; host<->device copies --pcie-GBps [12].

What one step exchanges (include/train/dist.h: every exchange is an MPI_Allgather(v), every
process receives every other process's part, and sums in process order):
  gradients: each process receives (K-1) * 4 * P bytes (P trainable parameters);
  batch norm: per BN layer of C channels, 2 floats per sample and channel forward (sum, centred
  squares) and 2 backward (sum dy, sum dy*(x-mean)): (K-1)/K * B * 16 * sum(C) bytes;
  the loss: 16 bytes per process. Plus 2 collectives (counts, then data) per exchange:
  2 * (2 * BN layers + 2) latencies per step.
The device's share of the compute is step_s / K (the step time of batch B on one device, taken
as linear in the batch: a GPU below its saturating batch does worse), and the exchange does not
overlap it (the host reads the gradients after the backward pass, then Adam runs), so the
efficiency is t/K / (t/K + exchange).
"""
import argparse


def params(channels, cin=1):
    p = 0
    for c in channels:
        p += 9 * cin * c + c + 2 * c  # 3x3 kernel, bias, BN gamma and beta
        cin = c
    return p + cin + 1  # the 1x1 head


def exchange_s(K, P, B, sum_c, nbn, bw_Bps, lat_s, pcie_Bps):
    if K == 1:
        return 0.0
    grad = (K - 1) * 4 * P
    bn = (K - 1) / K * B * 16 * sum_c
    net = (grad + bn + 16 * (K - 1)) / bw_Bps + 2 * (2 * nbn + 2) * lat_s
    host = (2 * 4 * P + 2 * B / K * 16 * sum_c) / pcie_Bps  # gradients and BN sums down and up again
    return net + host


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--channels", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--step-s", type=float, required=True, help="measured step time of --batch on one device")
    ap.add_argument("--eff", type=float, default=0.9, help="'near-linear': at least this efficiency")
    ap.add_argument("--pcie-GBps", type=float, default=12.0, help="host<->device copies")
    a = ap.parse_args()
    ch = [int(c) for c in a.channels.split(",")]
    P, sum_c = params(ch), sum(ch)
    print(f"P = {P} trainable parameters, sum(C) = {sum_c}, batch {a.batch}, step {a.step_s:g} s on one device")
    links = [("10 Gbit/s", 1.25e9, 30e-6), ("100 Gbit/s", 12.5e9, 5e-6), ("one machine", 25e9, 1e-6)]
    print("K  bytes received per process per step  " + "  ".join(f"{n:>16s}" for n, _, _ in links))
    best = {}
    for K in [1, 2, 4, 8, 16, 32, 64]:
        if K > a.batch:
            break
        byts = (K - 1) * 4 * P + (K - 1) / K * a.batch * 16 * sum_c
        row = f"{K:<3d}{byts / 1e6:12.3f} MB" + " " * 22
        for n, bw, lat in links:
            x = exchange_s(K, P, a.batch, sum_c, len(ch), bw, lat, a.pcie_GBps * 1e9)
            t = a.step_s / K
            e = t / (t + x)
            if e >= a.eff:
                best[n] = K
            row += f"  {x * 1e3:7.3f} ms {100 * e:5.1f}%"
        print(row)
    for n, _, _ in links:
        print(f"{n}: near-linear (>= {100 * a.eff:.0f}%) up to K = {best.get(n, 1)}")
    # The one-device step time (batch B) above which K devices reach the efficiency: t/K >= x*e/(1-e).
    print(f"one-device step time (batch {a.batch}) needed for {100 * a.eff:.0f}% at K devices:")
    for K in [2, 8, 32]:
        if K > a.batch:
            break
        need = [K * exchange_s(K, P, a.batch, sum_c, len(ch), bw, lat, a.pcie_GBps * 1e9) * a.eff / (1 - a.eff)
                for _, bw, lat in links]
        print(f"  K={K:<3d}" + "  ".join(f"{n}: {t * 1e3:.1f} ms" for (n, _, _), t in zip(links, need)))


if __name__ == "__main__":
    main()
