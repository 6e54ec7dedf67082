#!/usr/bin/python3
"""Writes Fashion-MNIST as colour PNGs for trying jmoco's Lab views (CMC) where no colour data set is at hand:
DIR/train/CLASS/*.png and DIR/test/CLASS/*.png, each garment in one random colour on a background of another.

    /usr/bin/python3 tools/tinted_fashion_mnist.py DIR [--train 10000] [--test 10000] [--seed 0]
        [--source /usr/share/datasets/fashion-mnist]

Pixel (x, y) of image i is bg_i + (fg_i - bg_i) * v / 255 per RGB channel, v the Fashion-MNIST grey value and
fg_i, bg_i uniform in [0, 255]^3 drawn per image: the colours carry no label, so what L and ab share is the
garment's shape. The first --train / --test images of each split, in their order. Needs python3-pil and numpy.
Deterministic for a seed.
"""
import argparse
import gzip
import os

import numpy as np
from PIL import Image

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def read(source, split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("--train", type=int, default=10000)
    p.add_argument("--test", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    for split, count in (("train", args.train), ("test", args.test)):
        images, labels = read(args.source, split)
        for c in CLASSES:
            os.makedirs(os.path.join(args.dir, split, c), exist_ok=True)
        for i in range(min(count, len(images))):
            fg, bg = rng.integers(0, 256, (2, 3)).astype(np.float32)
            v = images[i].astype(np.float32)[..., None] / 255
            rgb = np.rint(bg + (fg - bg) * v).astype(np.uint8)
            Image.fromarray(rgb, "RGB").save(os.path.join(args.dir, split, CLASSES[labels[i]], f"{i:05d}.png"))
    print(f"wrote {args.train} training and {args.test} test images to {args.dir}")


if __name__ == "__main__":
    main()
