#!/usr/bin/python3
"""Writes an ImageNet-style folder of real JPEG (and some PNG) files of varied sizes, for trying and measuring
jmoco on image folders: DIR/train/CLASS/*.jpg and DIR/val/CLASS/*.jpg.

    /usr/bin/python3 tools/make_image_folder.py DIR --train 1000 [--val 200] [--classes 10]
        [--min-side 48] [--max-side 160] [--size WxH] [--png-every 10] [--seed 0]

Each class has its own mean colour and stripe direction, so a backbone can learn something; sizes are drawn
uniformly in [min-side, max-side] per side (aspect ratios up to max/min), or all W x H with --size, JPEG qualities 70-95 with 4:2:0 or
4:4:4 chroma subsampling, every png-every-th file a PNG. Needs python3-pil and numpy. Deterministic for a seed.
"""
import argparse
import os

import numpy as np
from PIL import Image


def image(rng, label, classes, w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = np.pi * label / classes
    stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) / (3 + label % 4))
    base = np.array([(label * 97) % 256, (label * 53 + 80) % 256, (label * 31 + 160) % 256], np.float32)
    img = base + 60 * stripes[..., None] + rng.normal(0, 20, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def write(root, count, classes, args, rng):
    for c in range(classes):
        os.makedirs(os.path.join(root, f"class{c:03d}"), exist_ok=True)
    for i in range(count):
        label = i % classes
        if args.size:
            w, h = (int(v) for v in args.size.split("x"))
        else:
            w, h = (int(rng.integers(args.min_side, args.max_side + 1)) for _ in range(2))
        img = image(rng, label, classes, w, h)
        folder = os.path.join(root, f"class{label:03d}")
        if args.png_every and i % args.png_every == 0:
            img.save(os.path.join(folder, f"{i:07d}.png"))
        else:
            img.save(os.path.join(folder, f"{i:07d}.jpg"), quality=int(rng.integers(70, 96)),
                     subsampling=int(rng.choice([0, 2])))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--train", type=int, default=1000)
    p.add_argument("--val", type=int, default=200)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--min-side", type=int, default=48)
    p.add_argument("--max-side", type=int, default=160)
    p.add_argument("--size", help="every image W x H (e.g. 500x375, ImageNet's typical photo)")
    p.add_argument("--png-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    write(os.path.join(args.dir, "train"), args.train, args.classes, args, rng)
    write(os.path.join(args.dir, "val"), args.val, args.classes, args, rng)


if __name__ == "__main__":
    main()
