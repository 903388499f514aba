#!/usr/bin/env python3
# The seed notebook's training run in TF-Keras on a pixloc dataset file, as REFERENCE.md describes
# it: train_test_split(test_size=0.2, random_state=42), the model of tools/keras_reference.py with
# Keras's default initialisation, Adam 1e-3, MSE, batch 64, model.fit(validation_split=0.1) (the
# last 10% of the training arrays, unshuffled; batches reshuffled every epoch). Writes the
# per-epoch history as CSV (pixloc's history.csv columns), to compare the validation curve of
# `pixloc train --preset seed` with Keras's on the same images. CI never runs this.
#
#   python3 -m venv .venv-keras
#   .venv-keras/bin/pip install -r tools/requirements-keras.txt scikit-learn
#   pixloc generate --samples 15000 --seed 42 --out seed42.safetensors
#   .venv-keras/bin/python tools/keras_seed_run.py seed42.safetensors EPOCHS OUT.csv [SEED]
#
# SEED (default 0) seeds Keras's initialisation and shuffling (keras.utils.set_random_seed); the
# notebook set none, so every seed is one draw of its run.
import csv
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras
import numpy as np
from safetensors.numpy import load_file
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keras_reference import H, W, build  # noqa: E402  (the seed's model, one definition)

SIGMA = 1.8  # REFERENCE.md: the label heatmap


def heatmaps(coords):
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    out = np.empty((len(coords), H, W), np.float32)
    for k, (px, py) in enumerate(coords):
        out[k] = np.exp(-((u - px) ** 2 + (v - py) ** 2) / (2 * SIGMA ** 2))
    return out


class History(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.f = open(path, "w", newline="")
        self.w = csv.writer(self.f)
        self.w.writerow(["epoch", "loss", "mae", "val_loss", "val_mae", "seconds"])

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.w.writerow([epoch + 1, logs["loss"], logs["mae"], logs["val_loss"], logs["val_mae"],
                         round(time.time() - self.t0, 1)])
        self.f.flush()


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: keras_seed_run.py DATA.safetensors EPOCHS OUT.csv [SEED]")
    data, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    keras.utils.set_random_seed(int(sys.argv[4]) if len(sys.argv) == 5 else 0)
    d = load_file(data)
    x, y = d["images"], heatmaps(d["coords"])
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = build("float32")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse", metrics=["mae"])
    model.fit(x_train[..., None], y_train[..., None], batch_size=64, epochs=epochs, validation_split=0.1,
              verbose=2, callbacks=[History(out)])


if __name__ == "__main__":
    main()
