"""Other decodings of a model's heatmaps than the argmax: h - a * Laplacian(h) (a > 0 sharpens,
a < 0 smooths) before the argmax. Usage: decode_sweep.py DATASET HEATMAPS"""
import sys

import numpy as np
from scipy.ndimage import convolve

from st_read import load

ds = load(sys.argv[1])
xy = ds['coords']
hm = load(sys.argv[2])['heatmaps'].astype(np.float64)
n, h, w = hm.shape
lap = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)[None]
for a in [0, -0.2, -0.1, -0.05, 0.1, 0.2, 0.5, 1.0, 1.6]:
    s = hm - a * convolve(hm, lap, mode='nearest')
    i = s.reshape(n, -1).argmax(1)
    p = np.stack([i % w, i // w], 1)
    eu = np.sqrt(((p - xy) ** 2).sum(1))
    print('a=%5.2f: MAE %.4f, exact %.2f%%, far %d' % (a, np.abs(p - xy).mean(), (eu == 0).mean() * 100, (eu > 2).sum()))
