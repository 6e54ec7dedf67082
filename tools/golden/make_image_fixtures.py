#!/usr/bin/python3
"""Image-decoding fixtures: real PNG and JPEG files from real encoders, and PIL's decode of each beside it.

Run with Debian's /usr/bin/python3 (python3-pil 9.4 + numpy) with libjpeg-turbo-progs installed (cjpeg):

    /usr/bin/python3 tools/golden/make_image_fixtures.py [--out src/test/resources/images]

Writes, for every case, the encoded file and NAME.npy: what torchvision's default loader returns for it,
np.asarray(Image.open(f).convert('RGB')) as uint8 H x W x 3, with one stated exception: a 16-bit grey PNG,
which PIL opens as mode "I" and convert('RGB') clips to 0/255, is referenced as its 16-bit values >> 8 (jmoco
keeps the high byte, as PIL does for 16-bit RGB). EXIF orientation is not applied (PIL's open + convert does
not). Files PIL refuses (truncated, corrupt) get no .npy: the script checks that PIL raises on them.
manifest.tsv lists every file, its reference (NAME.npy or "fails") and what it exercises; dev.jmoco.data's
ImageFixturesTest reads it. Deterministic: fixed seeds, so re-running rewrites the same bytes (for one PIL
and libjpeg-turbo version).
"""
import argparse
import io
import os
import struct
import subprocess
import tempfile
import zlib

import numpy as np
from PIL import Image

W, H = 48, 32


def picture(w, h, seed):
    """Smooth colour gradients, hard edges and a little noise: exercises the IDCT, upsampling and clamping."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(1, w - 1)
    g = 255 * y / max(1, h - 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img = np.stack([r, g, b], axis=-1)
    img[(x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 4) ** 2] = [250, 20, 40]  # a saturated disc
    img[:, : w // 6] = 255 - img[:, : w // 6]
    img += rng.normal(0, 6, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_raw(path, pixels, color_type, depth=16):
    """A PNG PIL cannot write (16-bit colour, 4-bit grey): filter 0 rows, big-endian samples."""
    h, w = pixels.shape[:2]
    if depth == 16:
        rows = [pixels[row].astype(">u2").tobytes() for row in range(h)]
    else:  # 4-bit grey: two samples a byte, high nibble first
        padded = np.pad(pixels, ((0, 0), (0, w % 2))).astype(np.uint8)
        rows = [(padded[row, 0::2] << 4 | padded[row, 1::2]).tobytes() for row in range(h)]
    raw = b"".join(b"\0" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9))
                + png_chunk(b"IEND", b""))


def icc_linear_rgb():
    """A minimal ICC v2 RGB display profile, far from sRGB (linear curves, primaries swapped around): a
    decoder that applied it would change the pixels; PIL ignores it, and so must jmoco."""
    def xyz(x, y, z):
        return b"XYZ " + b"\0" * 4 + struct.pack(">iii", *(round(v * 65536) for v in (x, y, z)))
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 0x0100) + b"\0\0"  # gamma 1.0, padded to 4 bytes
    desc_text = b"jmoco test linear RGB\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 8 + b"\0" * 2 + b"\0" * 1 \
        + b"\0" * 67
    desc += b"\0" * (-len(desc) % 4)
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),
            (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)), (b"bXYZ", xyz(0.3851, 0.7169, 0.0971)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve), (b"cprt", b"text" + b"\0" * 4 + b"none\0\0\0\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" \
        + b"\0" * 28 + struct.pack(">iii", 63190, 65536, 54061) + b"\0" * 48
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def cjpeg(path, pixels, *args):
    """libjpeg-turbo's cjpeg on a PPM/PGM of the pixels."""
    grey = pixels.ndim == 2
    with tempfile.NamedTemporaryFile(suffix=".pgm" if grey else ".ppm") as src:
        Image.fromarray(pixels).save(src.name)
        subprocess.run(["cjpeg", *args, "-outfile", path, src.name], check=True)


def reference(path):
    """torchvision's pil_loader: Image.open(f).convert('RGB'), as uint8 H x W x 3."""
    with open(path, "rb") as f:
        img = Image.open(f)
        if img.mode == "I":  # a 16-bit grey PNG: the stated exception (see the module comment)
            grey = (np.asarray(img).astype(np.int64) >> 8).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        return np.asarray(img.convert("RGB"))


def pil_fails(path):
    try:
        with open(path, "rb") as f:
            Image.open(f).convert("RGB")
        return False
    except (OSError, SyntaxError, ValueError):
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="src/test/resources/images")
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    rows = []

    def case(name, write, what, fails=False):
        path = os.path.join(out, name)
        write(path)
        if fails:
            assert pil_fails(path), name + ": PIL decodes it"
            rows.append((name, "fails", what))
        else:
            np.save(os.path.join(out, name + ".npy"), reference(path), allow_pickle=False)
            rows.append((name, name + ".npy", what))

    rgb = picture(W, H, 1)
    odd = picture(37, 50, 2)
    grey = np.asarray(Image.fromarray(rgb).convert("L"))

    def pil(img, **kw):
        return lambda p: img.save(p, **kw)

    # JPEG through PIL (its libjpeg-turbo): chroma subsamplings, qualities, progressive, odd sizes
    base = Image.fromarray(rgb)
    case("pil_444_q95.jpg", pil(base, quality=95, subsampling=0), "baseline 4:4:4 q95")
    case("pil_422_q95.jpg", pil(base, quality=95, subsampling=1), "baseline 4:2:2 q95")
    case("pil_420_q50.jpg", pil(base, quality=50, subsampling=2), "baseline 4:2:0 q50")
    case("pil_420_q95_progressive.jpg", pil(base, quality=95, subsampling=2, progressive=True),
         "progressive 4:2:0 q95")
    case("pil_444_q50_progressive.jpg", pil(base, quality=50, subsampling=0, progressive=True),
         "progressive 4:4:4 q50")
    case("pil_37x50_420_q95.jpg", pil(Image.fromarray(odd), quality=95, subsampling=2), "odd size 37x50 4:2:0")
    case("pil_37x50_422_q50.jpg", pil(Image.fromarray(odd), quality=50, subsampling=1), "odd size 37x50 4:2:2")
    case("pil_grey_q95.jpg", pil(Image.fromarray(grey), quality=95), "grayscale JPEG")
    case("pil_cmyk_q95.jpg", pil(base.convert("CMYK"), quality=95), "Adobe CMYK JPEG (inverted, as Photoshop)")
    case("pil_icc_linear_q95.jpg", pil(base, quality=95, icc_profile=icc_linear_rgb()),
         "JPEG with a non-sRGB ICC profile, not applied")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display; PIL's open + convert ignores it
    case("pil_exif_orientation6.jpg", pil(base, quality=95, exif=exif.tobytes()),
         "EXIF orientation 6, not applied")

    # JPEG through cjpeg: its own quantisation tables and Huffman coding, restart markers, 4:4:0
    case("cjpeg_420_q75.jpg", lambda p: cjpeg(p, rgb, "-quality", "75"), "cjpeg baseline 4:2:0 q75")
    case("cjpeg_440_q90_restart.jpg", lambda p: cjpeg(p, odd, "-quality", "90", "-sample", "1x2", "-restart", "1"),
         "cjpeg 4:4:0 with restart markers, 37x50")
    case("cjpeg_progressive_optimize.jpg", lambda p: cjpeg(p, rgb, "-quality", "85", "-progressive", "-optimize"),
         "cjpeg progressive, optimised Huffman tables")
    case("cjpeg_grey.jpg", lambda p: cjpeg(p, grey, "-quality", "80"), "cjpeg grayscale")

    # PNG through PIL, plus the 16-bit colour types PIL cannot write
    case("rgb8.png", pil(base), "PNG 8-bit RGB")
    case("rgb8_icc.png", pil(base, icc_profile=icc_linear_rgb()), "PNG with a non-sRGB ICC profile, not applied")
    case("grey8.png", pil(Image.fromarray(grey)), "PNG 8-bit grey")
    case("grey16.png", pil(Image.fromarray(grey.astype(np.uint16) * 257 + np.arange(W, dtype=np.uint16)[None, :])),
         "PNG 16-bit grey (high byte)")
    case("rgb16.png", lambda p: png_raw(p, rgb.astype(np.uint16) * 256 + 255 - rgb, 2), "PNG 16-bit RGB")
    alpha = ((np.arange(W)[None, :] * 5 + np.arange(H)[:, None] * 7) % 256).astype(np.uint16)
    case("rgba16.png", lambda p: png_raw(p, np.dstack([rgb.astype(np.uint16) * 257, alpha * 257]), 6),
         "PNG 16-bit RGBA, alpha dropped")
    case("rgba8.png", pil(Image.fromarray(np.dstack([rgb, alpha.astype(np.uint8)]))), "PNG RGBA, alpha dropped")
    case("la8.png", pil(Image.fromarray(np.dstack([grey, alpha.astype(np.uint8)]), "LA")), "PNG grey + alpha")
    case("palette.png", pil(base.quantize(colors=37)), "PNG palette")
    pal_t = base.quantize(colors=16)
    case("palette_trns.png", pil(pal_t, transparency=3), "PNG palette with a transparent index")
    case("bilevel.png", pil(Image.fromarray(grey).convert("1")), "PNG 1-bit grey")
    case("palette4.png", pil(Image.fromarray(grey).quantize(colors=16), bits=4), "PNG 4-bit palette")
    case("grey4.png", lambda p: png_raw(p, grey >> 4, 0, depth=4), "PNG 4-bit grey (PIL scales by 17)")

    # Broken files: PIL refuses them, and so must jmoco, naming the file
    good = io.BytesIO()
    base.save(good, "JPEG", quality=95)
    good = good.getvalue()
    prog = io.BytesIO()
    base.save(prog, "JPEG", quality=95, progressive=True)
    prog = prog.getvalue()

    def raw(content):
        return lambda p: open(p, "wb").write(content)

    case("truncated.jpg", raw(good[: len(good) * 3 // 5]), "baseline JPEG cut at 60%", fails=True)
    case("truncated_progressive.jpg", raw(prog[: len(prog) // 2]), "progressive JPEG cut at 50%", fails=True)
    case("truncated_header.jpg", raw(good[:200]), "JPEG cut inside its headers", fails=True)
    dht = good.index(b"\xff\xc4")
    bad = bytearray(good)
    bad[dht + 5: dht + 21] = b"\xff" * 16  # Huffman code counts summing past 256: a fatal libjpeg error
    case("corrupt_huffman.jpg", raw(bytes(bad)), "JPEG with a bogus Huffman table", fails=True)
    case("corrupt_not_an_image.jpg", raw(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 2), "JPEG marker, then noise",
         fails=True)
    png = io.BytesIO()
    base.save(png, "PNG")
    png = png.getvalue()
    case("truncated.png", raw(png[: len(png) // 2]), "PNG cut at 50%", fails=True)
    # Decodable with a libjpeg warning (garbage before the end marker): PIL accepts it, so jmoco does too
    eoi = good.rindex(b"\xff\xd9")
    case("warning_extraneous_bytes.jpg", raw(good[:eoi] + b"\x00\x11\x22\x33" + good[eoi:]),
         "JPEG with extraneous bytes before its end marker (a libjpeg warning)")

    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        f.write("# file\treference\twhat (written by tools/golden/make_image_fixtures.py)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    total = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    print(f"{len(rows)} fixtures, {total} bytes in {out}")


if __name__ == "__main__":
    main()
