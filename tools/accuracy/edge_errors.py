"""Exact hits of a model's heatmaps (`pixloc predict --heatmap-format safetensors DATASET`)
overall, for targets within 1 px of the image's edge and inside, and, given the MAP detector's
predictions (map_detector.py OUT.npy), the images only one of the two gets.
Usage: edge_errors.py DATASET HEATMAPS [MAP.npy]"""
import sys

import numpy as np

from st_read import load

ds = load(sys.argv[1])
xy = ds['coords']
hm = load(sys.argv[2])['heatmaps']
n, h, w = hm.shape
i = hm.reshape(n, -1).argmax(1)
cnn = np.stack([i % w, i // w], 1)
edge = np.array([min(x, w - 1 - x, y, h - 1 - y) for x, y in xy]) <= 1


def rates(pred, name):
    ok = (pred == xy).all(1)
    print('%s: exact %.2f%%, within 1 px of the edge %.2f%% (n=%d), inside %.2f%%' % (
        name, ok.mean() * 100, ok[edge].mean() * 100, edge.sum(), ok[~edge].mean() * 100))
    return ok


c = rates(cnn, 'CNN')
if len(sys.argv) > 3:
    m = rates(np.load(sys.argv[3]), 'MAP')
    print('missed by the CNN only: %d (%d at the edge); by the MAP detector only: %d' % (
        (~c & m).sum(), (~c & m & edge).sum(), (c & ~m).sum()))
