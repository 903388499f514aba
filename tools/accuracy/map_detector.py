"""A numpy port of pixloc's MAP detector (baseline_bayes, include/eval/metrics.h), written
separately to cross-check it: the maximum-a-posteriori position under the seed recipe's model
(50x50, blur 5, noise 10; the background level found by its repetition and left out; zeros
censored). Usage: map_detector.py DATASET [OUT.npy]  (IDX=indices.npy selects images).
Prints MAE, exact, within 1 px and far misses; OUT.npy gets the (n, 2) predictions (x, y)."""
import os
import sys

import numpy as np
from scipy.special import log_ndtr

from st_read import load


def blur_matrix(n, taps=(1, 4, 6, 4, 1)):
    """K[p, i]: output i of OpenCV's filter (reflect-101) on an impulse of 1 at p."""
    t = np.array(taps, float) / sum(taps)
    r = len(t) // 2

    def refl(q):
        while q < 0 or q >= n:
            q = -q if q < 0 else 2 * n - 2 - q
        return q
    k = np.zeros((n, n))
    for p in range(n):
        for i in range(n):
            k[p, i] = sum(t[j + r] for j in range(-r, r + 1) if refl(i + j) == p)
    return k


def main():
    ds = load(sys.argv[1])
    imgs, xy = ds['images'].astype(np.float32), ds['coords']
    if os.environ.get('IDX'):
        sel = np.load(os.environ['IDX'])
        imgs, xy = imgs[sel], xy[sel]
    n, h, w = imgs.shape
    ky, kx = blur_matrix(h), blur_matrix(w)
    pred = np.zeros((n, 2), int)
    for i in range(n):
        im = imgs[i]
        vals, cnt = np.unique(im[(im > 0) & (im < 1)], return_counts=True)
        keep = np.ones_like(im, bool)
        second = np.sort(cnt)[-2] if len(cnt) > 1 else 0
        if len(cnt) and cnt.max() >= 4 and second <= 2:
            keep = im != vals[cnt.argmax()]
        x = 255.0 * im.astype(np.float64)
        zero = (im == 0) & keep
        pos = keep & ~zero
        s = 255 * (ky @ (pos * x / 100.0) @ kx.T) - (255 ** 2 / 200.0) * ((ky ** 2) @ pos.astype(float) @ (kx ** 2).T)
        for qy, qx in np.argwhere(zero):
            cy, cx = np.nonzero(ky[:, qy])[0], np.nonzero(kx[:, qx])[0]
            mu = 255 * np.outer(ky[cy, qy], kx[cx, qx])
            s[np.ix_(cy, cx)] += log_ndtr(-mu / 10.0) - log_ndtr(0.0)
        j = s.argmax()
        pred[i] = (j % w, j // w)
    d = pred - xy
    eu = np.sqrt((d ** 2).sum(1))
    print('%s: n=%d MAP: MAE %.4f, exact %.2f%%, within 1 px %.2f%%, far %d, mean eucl %.4f' % (
        sys.argv[1], n, np.abs(d).mean(), (eu == 0).mean() * 100, (eu <= 1).mean() * 100, (eu > 2).sum(), eu.mean()))
    if len(sys.argv) > 2:
        np.save(sys.argv[2], pred)


main()
