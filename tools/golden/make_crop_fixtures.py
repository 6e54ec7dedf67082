#!/usr/bin/python3
"""Crop-and-resize fixtures: real image files and what PIL + torchvision make of them at a training size.

Run with Debian's /usr/bin/python3 (python3-pil 9.4, python3-torchvision 0.14, numpy):

    /usr/bin/python3 tools/golden/make_crop_fixtures.py [--out src/test/resources/crops]

For each source file (PNG, which decodes exactly, and JPEGs of several sizes, qualities and subsamplings) it
writes two kinds of reference, uint8 H x W x 3 as .npy, from the image torchvision's default loader gives
(Image.open(f).convert('RGB')):

  eval:  transforms.Resize(round(N * 256 / 224)) then transforms.CenterCrop(N), the linear protocol's
         evaluation view (jmoco: AugmentationRecipe.evaluation(N));
  crop:  transforms.functional.resized_crop(img, top, left, height, width, [N, N]) (bilinear, antialiased as PIL
         always is): the resize RandomResizedCrop applies to the box it drew (jmoco: ResizeAxis over the box).

Beside each source, NAME.npy is its decode by that loader: the Java test resizes it, so the comparison is of
the crop and resize alone (ImageFixturesTest compares the decoders). manifest.tsv lists: file, kind (eval or crop), N, top, left, height, width (crop only), reference. The boxes are
fixed (drawn once from a seeded generator inside torchvision's bounds), so the references test the resize, not
the random draws (RandomResizedCropTest covers those). Deterministic: re-running rewrites the same bytes for
one PIL and libjpeg-turbo version.
"""
import argparse
import os
import random

import numpy as np
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F


def picture(w, h, seed):
    """Gradients, a hard-edged disc and noise: what a resize filter must get right (edges, smooth areas)."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(1, w - 1)
    g = 255 * y / max(1, h - 1)
    b = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)
    img = np.stack([r, g, b], axis=-1)
    img[(x - w / 3) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 5) ** 2] = [250, 20, 40]
    img[:, ::17] = 255 - img[:, ::17]  # thin lines: aliasing shows when a filter skips the antialiasing
    img += rng.normal(0, 8, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


SOURCES = [
    # name, size (w, h), how it is saved
    ("photo_320x240_q90.jpg", (320, 240), dict(format="JPEG", quality=90)),
    ("portrait_180x240_q75_444.jpg", (180, 240), dict(format="JPEG", quality=75, subsampling=0)),
    ("wide_401x150_progressive.jpg", (401, 150), dict(format="JPEG", quality=85, progressive=True)),
    ("small_37x50.png", (37, 50), dict(format="PNG")),
    ("square_96x96.png", (96, 96), dict(format="PNG")),
]
SIZES = [32, 64, 112]
BOXES_PER_SOURCE = 3


def boxes(w, h, rng):
    """Boxes inside torchvision's RandomResizedCrop bounds (area 0.2..1, ratio 3/4..4/3, log-uniform)."""
    out = []
    while len(out) < BOXES_PER_SOURCE:
        area = w * h * rng.uniform(0.2, 1.0)
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        bw, bh = int(round(np.sqrt(area * ratio))), int(round(np.sqrt(area / ratio)))
        if 0 < bw <= w and 0 < bh <= h:
            out.append((rng.randint(0, h - bh), rng.randint(0, w - bw), bh, bw))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="src/test/resources/crops")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)
    rows = ["# file\tkind\tN\ttop\tleft\theight\twidth\treference (written by tools/golden/make_crop_fixtures.py)"]
    rng = random.Random(13)
    for k, (name, (w, h), save) in enumerate(SOURCES):
        path = os.path.join(out, name)
        Image.fromarray(picture(w, h, k)).save(path, **save)
        img = Image.open(path).convert("RGB")
        np.save(os.path.join(out, name + ".npy"), np.asarray(img, dtype=np.uint8), allow_pickle=False)
        for n in SIZES:
            ref = f"{name}.eval{n}.npy"
            view = T.CenterCrop(n)(T.Resize(int(np.floor(n * 256 / 224 + 0.5)))(img))
            np.save(os.path.join(out, ref), np.asarray(view, dtype=np.uint8), allow_pickle=False)
            rows.append(f"{name}\teval\t{n}\t\t\t\t\t{ref}")
        for b, (top, left, bh, bw) in enumerate(boxes(w, h, rng)):
            n = SIZES[b % len(SIZES)]
            ref = f"{name}.crop{b}.npy"
            view = F.resized_crop(img, top, left, bh, bw, [n, n], T.InterpolationMode.BILINEAR)
            np.save(os.path.join(out, ref), np.asarray(view, dtype=np.uint8), allow_pickle=False)
            rows.append(f"{name}\tcrop\t{n}\t{top}\t{left}\t{bh}\t{bw}\t{ref}")
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
