#!/usr/bin/python3
"""Lab colour fixtures: scikit-image's rgb2lab (D65, 2-degree observer) of the crop fixtures' decoded images.

Run with Debian's /usr/bin/python3 (python3-skimage 0.19, numpy):

    /usr/bin/python3 tools/golden/make_lab_fixtures.py [--dir src/test/resources/crops]

For each NAME.npy there (uint8 H x W x 3, the decode that make_crop_fixtures.py wrote), writes NAME.lab.npy:
float32 ceil(H / 4) x ceil(W / 4) x 3, skimage.color.rgb2lab(NAME / 255) at every 4th row and column (pixel
[4i, 4j]; a sixteenth keeps the files small and still holds every colour region) - L in [0, 100], a and b about
[-128, 127]. The Java test converts the same bytes, so only the colour conversion is compared.
"""
import argparse
import glob
import os

import numpy as np
from skimage import color

STRIDE = 4


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=os.path.join(root, "src", "test", "resources", "crops"))
    args = parser.parse_args()
    for src in sorted(glob.glob(os.path.join(args.dir, "*.npy"))):
        name = os.path.basename(src)
        if name.count(".") != 2:  # NAME.EXT.npy only: not the crops (NAME.EXT.crop0.npy) nor earlier outputs
            continue
        rgb = np.load(src)
        lab = color.rgb2lab(rgb.astype(np.float64) / 255.0)[::STRIDE, ::STRIDE].astype(np.float32)
        out = src[:-len(".npy")] + ".lab.npy"
        np.save(out, lab)
        print(f"{os.path.basename(out):40s} {lab.shape} L [{lab[..., 0].min():.2f}, {lab[..., 0].max():.2f}] "
              f"a [{lab[..., 1].min():.2f}, {lab[..., 1].max():.2f}] b [{lab[..., 2].min():.2f}, {lab[..., 2].max():.2f}]")


if __name__ == "__main__":
    main()
