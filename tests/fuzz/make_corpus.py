#!/usr/bin/env python3
"""Writes the committed seed corpus under tests/fuzz/corpus/<target>/: a few valid
small files and a few broken ones per reader. Needs Python 3 and Pillow (PNG).
Usage: python3 tests/fuzz/make_corpus.py [CHECKPOINT.safetensors]
(a tiny checkpoint from `pixloc train --samples 600 --size 16x16 --channels 4,4
--epochs 1 --batch-size 16 --no-report`, copied as a seed when given)."""
import io, json, os, struct, sys, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, meta=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes) laid out in order."""
    hdr, off, body = {}, 0, b""
    if meta is not None:
        hdr["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        body += raw
    h = json.dumps(hdr, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + body


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


def i32(vals):
    return struct.pack("<%di" % len(vals), *vals)


# ---- safetensors: datasets, a checkpoint, plain files, broken ones
N, H, W = 3, 4, 5
imgs = [((i * 7) % 11) / 10.0 for i in range(N * H * W)]
coords = [1, 2, 4, 3, 0, 0]
ds_meta = {"format": "pixloc-dataset", "version": "1", "seed": "42",
           "recipe": "H=4,W=5,blur=3,noise_std=10,bg_prob=0.02,bg_lo=5,bg_hi=40,sigma=1.8"}
ds = safetensors([("images", "F32", [N, H, W], f32(imgs)), ("coords", "I32", [N, 2], i32(coords))], ds_meta)
out("fuzz_safetensors", "dataset_small.safetensors", ds)
out("fuzz_safetensors", "dataset_heatmaps.safetensors",
    safetensors([("images", "F32", [N, H, W], f32(imgs)), ("heatmaps", "F32", [N, H, W], f32(imgs)),
                 ("coords", "I32", [N, 2], i32(coords))], ds_meta))
out("fuzz_safetensors", "dataset_bad_coords.safetensors",
    safetensors([("images", "F32", [N, H, W], f32(imgs)), ("coords", "I32", [N, 2], i32([9, 9, 0, 0, 1, 1]))],
                ds_meta))
out("fuzz_safetensors", "all_dtypes.safetensors",
    safetensors([("a", "F64", [2], struct.pack("<2d", 1.5, -2)), ("b", "I64", [1], struct.pack("<q", -7)),
                 ("c", "U64", [1], struct.pack("<Q", 7)), ("d", "F32", [1, 1], f32([0.5])),
                 ("e", "U32", [2], struct.pack("<2I", 1, 2)), ("f", "I32", [0], b""),
                 ("g", "U8", [3], b"xyz")], {"k": "v"}))
out("fuzz_safetensors", "unaligned.safetensors",
    safetensors([("u", "U8", [3], b"abc"), ("f", "F32", [2], f32([1, 2]))], None, pad=False))
out("fuzz_safetensors", "empty_header.safetensors", struct.pack("<Q", 2) + b"{}")
out("fuzz_safetensors", "settings_meta.safetensors",
    safetensors([], {"format": "pixloc-checkpoint", "settings": json.dumps({"preset": "default"})}))
good = ds
out("fuzz_safetensors", "broken_truncated.safetensors", good[: len(good) - 9])
out("fuzz_safetensors", "broken_hlen_huge.safetensors", struct.pack("<Q", 1 << 40) + good[8:])
out("fuzz_safetensors", "broken_json.safetensors", struct.pack("<Q", 12) + b'{"a":{"dtype"')
out("fuzz_safetensors", "broken_overlap.safetensors",
    struct.pack("<Q", 96) + json.dumps({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                                        "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}}
                                       ).encode().ljust(96) + b"123456")
out("fuzz_safetensors", "broken_short.safetensors", b"\x02\x00\x00")
if len(sys.argv) > 1:
    with open(sys.argv[1], "rb") as f:
        out("fuzz_safetensors", "checkpoint_tiny.safetensors", f.read())

# ---- images: PNG of every colour type / depth, PGM P2 and P5, broken ones
from PIL import Image  # noqa: E402


def png(mode, size, fill, **kw):
    im = Image.new(mode, size)
    px = im.load()
    for y in range(size[1]):
        for x in range(size[0]):
            px[x, y] = fill(x, y)
    b = io.BytesIO()
    im.save(b, "PNG", **kw)
    return b.getvalue()


out("fuzz_image", "gray8.png", png("L", (5, 4), lambda x, y: (x * 40 + y * 13) % 256))
out("fuzz_image", "gray16.png", png("I;16", (3, 3), lambda x, y: x * 20000 + y))
out("fuzz_image", "rgb.png", png("RGB", (4, 2), lambda x, y: (x * 60, y * 100, 7)))
out("fuzz_image", "rgba.png", png("RGBA", (2, 3), lambda x, y: (x * 60, y * 100, 7, 128)))
out("fuzz_image", "gray_alpha.png", png("LA", (3, 2), lambda x, y: (x * 60, 255)))
out("fuzz_image", "palette.png", png("P", (4, 4), lambda x, y: (x + y) % 3))
out("fuzz_image", "bilevel.png", png("1", (9, 2), lambda x, y: (x + y) % 2))
out("fuzz_image", "gray9x9.png", png("L", (9, 9), lambda x, y: x * y))
out("fuzz_image", "p5_8bit.pgm", b"P5\n3 2\n255\n" + bytes([0, 10, 20, 30, 255, 128]))
out("fuzz_image", "p5_16bit.pgm", b"P5 2 1 65535\n" + bytes([0xff, 0xff, 0x00, 0x01]))
out("fuzz_image", "p2_comments.pgm", b"P2\n# a comment\n3 1\n# max\n15\n0 7\n15\n")
g8 = png("L", (5, 4), lambda x, y: x)
out("fuzz_image", "broken_truncated.png", g8[: len(g8) // 2])
out("fuzz_image", "broken_crc.png", g8[:20] + bytes([g8[20] ^ 1]) + g8[21:])
out("fuzz_image", "broken_p5_short.pgm", b"P5\n4 4\n255\n" + bytes(5))
out("fuzz_image", "broken_p2_over_maxval.pgm", b"P2 2 1 3 1 4\n")
out("fuzz_image", "broken_p6.ppm", b"P6\n1 1\n255\n\x00\x00\x00")
out("fuzz_image", "broken_empty", b"")

# ---- settings (JSON of a checkpoint) and recipe strings
settings = {"preset": "default", "samples": 600, "seed": 42, "data": "",
            "recipe": "H=16,W=16,blur=5,noise_std=10,bg_prob=0.02,bg_lo=5,bg_hi=40,sigma=1.8",
            "channels": "4,4", "relu": "1,1", "bn": "1,1", "bn_momentum": 0.9, "bn_eps": 0.001,
            "head_bias_init": -4, "epochs": 2, "batch_size": 16, "lr": 0.003, "lr_schedule": "cosine",
            "lr_min_frac": 0.01, "bn_reestimate": 20, "fresh_data": True, "test_frac": 0.2, "val_frac": 0.1}
out("fuzz_settings", "settings_default.json", json.dumps(settings))
seed = dict(settings, preset="seed", samples=15000, channels="32,64,128,64,32", relu="1,1,1,1,1",
            bn="1,1,1,1,1", recipe="H=50,W=50,blur=5,noise_std=10,bg_prob=0.02,bg_lo=5,bg_hi=40,sigma=1.8",
            fresh_data=False, data="/tmp/some data.safetensors")
out("fuzz_settings", "settings_seed.json", json.dumps(seed, indent=1))
out("fuzz_settings", "settings_missing_key.json", json.dumps({k: v for k, v in settings.items() if k != "lr"}))
out("fuzz_settings", "settings_bad_channels.json", json.dumps(dict(settings, channels="4,,x")))
out("fuzz_settings", "settings_huge_numbers.json", json.dumps(dict(settings, epochs=1e30, batch_size=-5)))
out("fuzz_settings", "settings_not_object.json", "[1,2,3]")
out("fuzz_settings", "recipe_full.txt", "H=50,W=50,blur=5,noise_std=10,bg_prob=0.02,bg_lo=5,bg_hi=40,sigma=1.8")
out("fuzz_settings", "recipe_subset.txt", "blur=0,sigma=2.5,H=7")
out("fuzz_settings", "recipe_bad_key.txt", "H=5,colour=3")
out("fuzz_settings", "recipe_bad_value.txt", "H=5.5,W=abc,blur=4")
out("fuzz_settings", "recipe_empty_value.txt", "H=,W=3")
