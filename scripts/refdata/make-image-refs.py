#!/usr/bin/python3
"""Reference images from OpenCV, and damaged files, for the tests of lib/image.

testdata/image/ (inputs and what OpenCV 4.6 makes of them):
  gray-37x23.pgm, gray-38x24.pgm, gray-2100x3.pgm   random gray inputs (the last is wider
                                   than one strip of fm_gray_resize, 1024 columns)
  <input>-resize-WxH.pgm           cv2.resize(gray, (W, H), interpolation=INTER_LINEAR)
  <input>-exact-WxH.pgm            the same with INTER_LINEAR_EXACT, which OpenCV 4's
                                   CascadeClassifier uses for its image pyramid
  gray-37x23-equalized.pgm         cv2.equalizeHist(gray)
  <name>.jpg|png|pgm|ppm           small good files of each kind the decoder handles
  <name>.gray.pgm                  cv2.cvtColor(cv2.imread(file), COLOR_BGR2GRAY)

testdata/bad/image/ (each must fail to decode, see tests/unit/test_image.c):
  truncated.jpg, corrupt.jpg (entropy-coded bytes flipped), huge-header.jpg (SOF says
  65000x65000), empty.jpg (0 bytes), not-an-image.jpg (text), truncated.png,
  bad-crc.png (IDAT's CRC wrong), huge-header.png (IHDR says 100000x100000, valid CRC),
  huge.pgm (header P5 100000 100000 255), truncated.ppm

Inputs are made from a fixed seed, so a rerun gives the same bytes as long as libjpeg,
libpng and zlib do; PNGs that OpenCV cannot write (gray+alpha, palette, Adam7, eXIf) are
put together here chunk by chunk.

Run it with Debian's Python, which has cv2 (python3-opencv), numpy and PIL:
  /usr/bin/python3 scripts/refdata/make-image-refs.py            # rewrite the files
  /usr/bin/python3 scripts/refdata/make-image-refs.py --check    # exit 1 if any file is stale
"""
import argparse
import os
import struct
import sys
import tempfile
import zlib

import cv2
import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES_37x23 = [(37, 23), (20, 13), (12, 7), (36, 22), (53, 31), (74, 46), (5, 3), (1, 1),
               (37, 1), (1, 23), (100, 9)]


def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(rows, width, height, color_type, depth=8, interlace=False, extra=b"",
              palette=None, trns=None):
    """A PNG from unfiltered 8-bit sample arrays, written by hand (filter 0 per row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, int(interlace))
    a = rows.reshape(height, width, -1)
    raw = b""
    passes = ([(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
               (1, 0, 2, 2), (0, 1, 1, 2)] if interlace else [(0, 0, 1, 1)])
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        for y in range(sub.shape[0]):
            if sub.shape[1]:
                raw += b"\0" + sub[y].tobytes()
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
    if palette is not None:
        out += chunk(b"PLTE", palette)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def exif_orientation(value):
    """A big-endian TIFF block holding only IFD0's orientation entry."""
    return (b"MM\0\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) +
            struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(">I", 0))


def encode(ext, img, params=()):
    ok, buf = cv2.imencode(ext, img, list(params))
    assert ok
    return buf.tobytes()


def pnm(img):
    """Binary PGM/PPM of an RGB or gray array, 8 or 16 bits."""
    h, w = img.shape[:2]
    magic = b"P6" if img.ndim == 3 else b"P5"
    maxval = 65535 if img.dtype == np.uint16 else 255
    data = img.astype(">u2").tobytes() if maxval == 65535 else img.tobytes()
    return magic + b"\n# fermata test image\n%d %d\n%d\n" % (w, h, maxval) + data


def opencv_gray(path):
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)


def make(out):
    img_dir = os.path.join(out, "testdata", "image")
    bad_dir = os.path.join(out, "testdata", "bad", "image")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(bad_dir, exist_ok=True)
    files = {}

    def put(rel, data):
        path = os.path.join(out, rel)
        with open(path, "wb") as f:
            f.write(data)
        files[rel] = path
        return path

    rng = np.random.default_rng(20240601)
    # Smooth content with noise on top: both flat and busy neighbourhoods for the taps.
    def gray_input(h, w):
        smooth = cv2.GaussianBlur(rng.integers(0, 256, (h, w)).astype(np.uint8), (0, 0), 2)
        return np.clip(smooth.astype(int) + rng.integers(-20, 21, (h, w)), 0, 255).astype(
            np.uint8)

    for (w, h), sizes in [((37, 23), SIZES_37x23), ((38, 24), [(19, 12), (76, 48), (19, 13)]),
                          ((2100, 3), [(1500, 5), (1031, 2), (3001, 3)])]:
        g = gray_input(h, w)
        stem = "testdata/image/gray-%dx%d" % (w, h)
        put(stem + ".pgm", pnm(g))
        for dw, dh in sizes:
            r = cv2.resize(g, (dw, dh), interpolation=cv2.INTER_LINEAR)
            put("%s-resize-%dx%d.pgm" % (stem, dw, dh), pnm(r))
            r = cv2.resize(g, (dw, dh), interpolation=cv2.INTER_LINEAR_EXACT)
            put("%s-exact-%dx%d.pgm" % (stem, dw, dh), pnm(r))
        if (w, h) == (37, 23):
            put(stem + "-equalized.pgm", pnm(cv2.equalizeHist(g)))

    rgb = cv2.GaussianBlur(rng.integers(0, 256, (23, 37, 3)).astype(np.uint8), (0, 0), 1.5)
    rgb[3:9, 4:16] = (250, 20, 60)  # a saturated patch, where chroma subsampling bites
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])

    gray = rgb[:, :, 1].copy()
    alpha = rng.integers(0, 256, (23, 37)).astype(np.uint8)
    rgb16 = rgb.astype(np.uint16) * 257 + rng.integers(0, 257, rgb.shape).astype(np.uint16)
    gray16 = rgb16[:, :, 0].copy()
    pal_img = Image.fromarray(rgb).quantize(40)
    pal_idx = np.array(pal_img, dtype=np.uint8)
    palette = bytes(pal_img.getpalette()[:3 * 40])

    good = {
        "photo.jpg": encode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90]),
        "photo-progressive.jpg": encode(".jpg", bgr, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
        "gray.jpg": encode(".jpg", gray),
        "photo.png": encode(".png", bgr),
        "rgba.png": encode(".png", np.dstack([bgr, alpha])),
        "rgb16.png": encode(".png", np.ascontiguousarray(rgb16[:, :, ::-1])),
        "gray.png": encode(".png", gray),
        "gray16.png": encode(".png", gray16),
        "gray-alpha.png": png_bytes(np.dstack([gray, alpha]), 37, 23, 4),
        "palette-trns.png": png_bytes(pal_idx, 37, 23, 3, palette=palette,
                                      trns=bytes(range(0, 250, 25))),
        "adam7.png": png_bytes(rgb, 37, 23, 2, interlace=True),
        "orient6.png": png_bytes(rgb, 37, 23, 2, extra=chunk(b"eXIf", exif_orientation(6))),
        "text.png": png_bytes(rgb, 37, 23, 2, extra=chunk(b"tEXt", b"Comment\0fermata")),
        "gray.pgm": pnm(gray),
        "gray16.pgm": pnm(gray16),
        "photo.ppm": pnm(rgb),
        "photo16.ppm": pnm(rgb16),
    }
    # PIL writes the CMYK JPEG (inverted, with an Adobe marker, as Photoshop does) and the
    # EXIF one; OpenCV cannot write either.
    with tempfile.TemporaryDirectory() as t:
        p = os.path.join(t, "x.jpg")
        Image.fromarray(rgb).convert("CMYK").save(p, quality=90)
        good["cmyk.jpg"] = open(p, "rb").read()
        exif = Image.Exif()
        exif[0x0112] = 8
        Image.fromarray(rgb).save(p, quality=90, exif=exif.tobytes())
        good["orient8.jpg"] = open(p, "rb").read()
    for name, data in sorted(good.items()):
        path = put("testdata/image/" + name, data)
        put("testdata/image/%s.gray.pgm" % name, pnm(opencv_gray(path)))

    # --- damaged files ---
    jpeg = good["photo.jpg"]
    bigger = encode(".jpg", cv2.resize(bgr, (148, 92), interpolation=cv2.INTER_NEAREST),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
    # Cut in the entropy-coded data, so that some rows decode and the rest are missing.
    put("testdata/bad/image/truncated.jpg", bigger[:len(bigger) * 6 // 10])
    # Flip bits in the middle of the entropy-coded data, leaving marker bytes alone. Many
    # such flips decode to wrong pixels without a word from libjpeg; these leave the
    # decoder out of step, which it notices at the end marker.
    sos = bigger.index(b"\xff\xda")
    start = sos + 2 + struct.unpack(">H", bigger[sos + 2:sos + 4])[0]
    corrupt = bytearray(bigger)
    mid = (start + len(bigger) - 2) // 2
    for i in range(mid, mid + 64):
        if corrupt[i] != 0xFF and corrupt[i - 1] != 0xFF and corrupt[i] ^ 0x5A != 0xFF:
            corrupt[i] ^= 0x5A
    put("testdata/bad/image/corrupt.jpg", bytes(corrupt))
    sof = jpeg.index(b"\xff\xc0")
    huge = bytearray(jpeg)
    huge[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    put("testdata/bad/image/huge-header.jpg", bytes(huge))
    put("testdata/bad/image/empty.jpg", b"")
    put("testdata/bad/image/not-an-image.jpg", b"This is a text file with a .jpg name.\n")

    png = good["photo.png"]
    idat = png.index(b"IDAT")
    idat_len = struct.unpack(">I", png[idat - 4:idat])[0]
    put("testdata/bad/image/truncated.png", png[:idat + 4 + idat_len // 2])
    crc_at = idat + 4 + idat_len
    bad_crc = bytearray(png)
    bad_crc[crc_at] ^= 0xFF
    put("testdata/bad/image/bad-crc.png", bytes(bad_crc))
    put("testdata/bad/image/huge-header.png",
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2,
                                                            0, 0, 0)) +
        chunk(b"IDAT", zlib.compress(b"\0" * 301)) + chunk(b"IEND", b""))
    put("testdata/bad/image/huge.pgm", b"P5 100000 100000 255\n" + bytes(range(256)))
    ppm = good["photo.ppm"]
    put("testdata/bad/image/truncated.ppm", ppm[:len(ppm) - 37 * 3 * 5 - 10])
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()
    if not args.check:
        make(ROOT)
        return 0
    stale = 0
    with tempfile.TemporaryDirectory() as t:
        for rel, path in sorted(make(t).items()):
            mine = os.path.join(ROOT, rel)
            if not os.path.exists(mine) or open(mine, "rb").read() != open(path, "rb").read():
                print("stale: " + rel)
                stale = 1
    return stale


if __name__ == "__main__":
    sys.exit(main())
