"""Reads a safetensors file (a pixloc dataset or `pixloc predict --heatmap-format safetensors`
output) into numpy arrays. Shared by the analysis scripts in this folder (numpy and scipy from
PyPI: `python3 -m venv v && v/bin/pip install numpy scipy`; not needed by pixloc itself)."""
import json
import struct

import numpy as np


def load(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        head = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in head.items():
            if k == '__metadata__':
                continue
            dt = {'F32': np.float32, 'I32': np.int32}[v['dtype']]
            a, b = v['data_offsets']
            f.seek(base + a)
            out[k] = np.frombuffer(f.read(b - a), dtype=dt).reshape(v['shape'])
        return out
