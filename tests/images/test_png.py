"""The parallel PNG writer: exact round trips through libpng (OpenCV) and Pillow."""

import io
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from normalkit.images import png
from normalkit.images.png import write_png


def _encode(image, **kw):
    buf = io.BytesIO()
    write_png(buf, image, **kw)
    return buf.getvalue()


def _cv2_decode(data):
    out = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if out.ndim == 3:  # BGR(A) → RGB(A)
        out = out[..., [2, 1, 0, 3][: out.shape[2]]]
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
@pytest.mark.parametrize("strip_bytes", [1, 500, 1 << 21])  # one row per strip … one strip
@pytest.mark.parametrize("deflater", ["isal", "zlib"])
def test_round_trip_through_libpng(monkeypatch, dtype, channels, strip_bytes, deflater):
    monkeypatch.setattr(png, "_STRIP_BYTES", strip_bytes)
    if deflater == "zlib":  # as on a machine without isal
        monkeypatch.setattr(png, "_compressor", lambda level: zlib)
    else:
        assert png._compressor(1).__name__ == "isal.isal_zlib"
    rng = np.random.default_rng(7)
    shape = (37, 53) if channels is None else (37, 53, channels)
    image = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    image[5:20] = image[5]  # repeated rows: the Up filter gives zeros
    np.testing.assert_array_equal(_cv2_decode(_encode(image, threads=3)), image)


@pytest.mark.parametrize("channels, mode", [(1, "L"), (2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_pillow_reads_every_colour_type(channels, mode, monkeypatch):
    monkeypatch.setattr(png, "_STRIP_BYTES", 64)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (20, 9, channels), dtype=np.uint8)
    with Image.open(io.BytesIO(_encode(image))) as im:
        im.load()  # checks the chunk CRCs and the zlib stream (incl. Adler-32)
        assert im.mode == mode
        np.testing.assert_array_equal(np.asarray(im).reshape(image.shape), image)


@pytest.mark.parametrize("level", [0, 1, 3, 4, 9])
def test_every_level_decodes_through_pillow_and_libpng(level, monkeypatch):
    monkeypatch.setattr(png, "_STRIP_BYTES", 300)  # many strips joined by sync flushes
    rng = np.random.default_rng(level)
    image = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    image[10:30] = image[10]
    data = _encode(image, level=level, threads=2)
    np.testing.assert_array_equal(_cv2_decode(data), image)
    with Image.open(io.BytesIO(data)) as im:
        np.testing.assert_array_equal(np.asarray(im), image)
    assert png._compressor(level).__name__ == ("isal.isal_zlib" if 1 <= level <= 3 else "zlib")


def test_smooth_maps_compress():
    y, x = np.mgrid[0:256, 0:256] / 256.0
    n = np.stack([np.sin(6 * x) * 0.3, np.cos(5 * y) * 0.3, np.ones_like(x)], axis=2)
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    image = np.round((n * 0.5 + 0.5) * 65535).astype(np.uint16)
    assert len(_encode(image)) < 0.5 * image.nbytes


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=70_000))
def test_adler32_combine_matches_zlib(a, b):
    assert png._adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


@pytest.mark.parametrize("image", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 5), np.uint8),
                                   np.zeros((0, 4), np.uint8)])
def test_unsupported_images_are_rejected(image):
    with pytest.raises(ValueError, match="PNG holds"):
        _encode(image)
