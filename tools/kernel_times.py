#!/usr/bin/env python3
"""Per-kernel times of a pixloc command on PoCL, from PoCL's text trace.

    cd /tmp && PIXLOC_QUEUE_PROFILING=1 POCL_TRACING=text pixloc bench --reps 1 --no-layers
    python3 tools/kernel_times.py /tmp/pocl_trace_events.log [TOP]

PoCL writes pocl_trace_events.log in the working directory (append: remove it first); its
times are 0 unless the queue records them (PIXLOC_QUEUE_PROFILING=1). Prints the total time
inside kernels, the gaps between one kernel's end and the next one's start (launch overhead
and host work), and the TOP (default 30) kernels by total time, one line per program's
kernel (PoCL's kernel ID: the same name in two layers' programs gives two lines).
"""
import collections
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    ev = {}
    for line in open(sys.argv[1]):
        f = [x.strip() for x in line.split('|')]
        if len(f) < 8 or f[4] != 'ndrange_kernel':
            continue
        d = ev.setdefault(f[1], {'k': (f[6], f[7].split('=', 1)[-1])})
        d[f[5]] = int(f[0])
    runs = sorted((d for d in ev.values() if 'running' in d and 'complete' in d), key=lambda d: d['running'])
    if not runs or runs[-1]['complete'] == 0:
        sys.exit('no kernel times in the trace: run with PIXLOC_QUEUE_PROFILING=1 and POCL_TRACING=text')
    tot = collections.defaultdict(lambda: [0, 0.0])
    gaps = []
    prev = None
    for d in runs:
        tot[d['k']][0] += 1
        tot[d['k']][1] += (d['complete'] - d['running']) / 1e6
        if prev is not None:
            gaps.append(max(0, d['running'] - prev) / 1e3)
        prev = d['complete']
    gaps.sort()
    inside = sum(v[1] for v in tot.values())
    print('%d launches, %.1f ms inside kernels' % (len(runs), inside))
    if gaps:
        n = len(gaps)
        print('gaps between kernels (us): median %.1f, p90 %.1f, p99 %.1f; sum of those under 1 ms %.1f ms'
              % (gaps[n // 2], gaps[9 * n // 10], gaps[99 * n // 100], sum(g for g in gaps if g < 1000) / 1e3))
    for (kid, name), (cnt, ms) in sorted(tot.items(), key=lambda kv: -kv[1][1])[:top]:
        print('%-16s %-24s %6d calls %10.2f ms %8.3f ms/call' % (kid, name, cnt, ms, ms / cnt))


if __name__ == '__main__':
    main()
