"""Image file round trips, channel order, exact values, and clean failures."""

from __future__ import annotations

import cv2
import numpy as np
import OpenEXR
import pytest
import tifffile

from normalkit.core.errors import NormalkitError
from normalkit.images import io as imageio
from normalkit.images.io import IMAGE_FORMATS, bits_to_extension, read_image, write_image

H, W = 17, 23  # odd, non-square: catches transposes and row/column mix-ups


def _random(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(-1.5, 1.5, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


CASES = [
    (ext, dtype, channels)
    for ext, dtypes in IMAGE_FORMATS.items()
    for dtype in dtypes
    for channels in (None, 3, 4)
]


@pytest.mark.parametrize(("ext", "dtype", "channels"), CASES)
def test_round_trip_every_format_dtype_and_layout(tmp_path, ext, dtype, channels):
    shape = (H, W) if channels is None else (H, W, channels)
    image = _random(dtype, shape)
    path = tmp_path / f"map{ext}"
    write_image(path, image)
    back = read_image(path)
    want_dtype = np.float32 if ext == ".exr" else np.dtype(dtype)
    assert back.dtype == want_dtype
    assert back.shape == shape
    assert back.flags.c_contiguous
    np.testing.assert_array_equal(back, image.astype(want_dtype))
    assert _leftovers(tmp_path) == [f"map{ext}"]


def test_png_16bit_keeps_every_value_exactly(tmp_path):
    # Every uint16 value appears once per channel, so any byte swap or scaling shows.
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    image = np.stack([values, values[::-1], values.T], axis=-1)
    write_image(tmp_path / "all.png", image)
    np.testing.assert_array_equal(read_image(tmp_path / "all.png"), image)


@pytest.mark.parametrize("ext", [".png", ".exr", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_pure_red_reads_back_red(tmp_path, ext, channels):
    dtype = np.float32 if ext == ".exr" else np.uint8
    image = np.zeros((4, 5, channels), dtype)
    image[..., 0] = 1 if ext == ".exr" else 255
    if channels == 4:
        image[..., 3] = image[..., 0]
    write_image(tmp_path / f"red{ext}", image)
    back = read_image(tmp_path / f"red{ext}")
    assert back[..., 0].min() > 0
    assert not back[..., 1:3].any()


def test_png_on_disk_is_rgb_for_other_readers(tmp_path):
    """Another reader (OpenCV, BGR) sees red in its last channel: we wrote true RGB."""
    image = np.zeros((3, 3, 3), np.uint8)
    image[..., 0] = 200
    write_image(tmp_path / "red.png", image)
    bgr = cv2.imread(str(tmp_path / "red.png"), cv2.IMREAD_UNCHANGED)
    assert bgr[0, 0].tolist() == [0, 0, 200]


def test_row_zero_is_the_top_row(tmp_path):
    for ext, top in ((".png", 65535), (".tif", 65535), (".exr", 1.0)):
        image = np.zeros((8, 6, 3), np.float32 if ext == ".exr" else np.uint16)
        image[0] = top  # top row white
        write_image(tmp_path / f"top{ext}", image)
        back = read_image(tmp_path / f"top{ext}")
        assert back[0].min() == top and back[1:].max() == 0
    # cross-check with tifffile itself: row 0 of the file is row 0 of the array
    on_disk = tifffile.imread(tmp_path / "top.tif")
    assert on_disk[0].min() == 65535 and on_disk[1:].max() == 0


def test_exr_float_values_exact_and_channel_names(tmp_path):
    image = _random(np.float32, (H, W, 3), seed=3)
    image[0, 0] = [np.float32(1) / 3, -0.0, np.finfo(np.float32).tiny]
    write_image(tmp_path / "n.exr", image, alpha=np.ones((H, W), bool))
    back = read_image(tmp_path / "n.exr")
    assert back.dtype == np.float32 and back.shape == (H, W, 4)
    np.testing.assert_array_equal(back[..., :3], image)  # bit-exact, incl. 1/3
    np.testing.assert_array_equal(back[..., 3], 1.0)
    f = OpenEXR.File(str(tmp_path / "n.exr"), separate_channels=True)
    assert f.header()["compression"] == OpenEXR.ZIP_COMPRESSION
    chans = f.channels()
    assert set(chans) == {"R", "G", "B", "A"}
    np.testing.assert_array_equal(chans["G"].pixels, image[..., 1])


def test_exr_from_noncontiguous_view_is_correct(tmp_path):
    # The OpenEXR bindings ignore strides; write_image must copy channel planes.
    big = _random(np.float32, (H, W * 2, 3), seed=4)
    view = big[:, ::2]
    write_image(tmp_path / "v.exr", view)
    np.testing.assert_array_equal(read_image(tmp_path / "v.exr"), view)


def test_exr_half_reads_as_float32(tmp_path):
    image = _random(np.float16, (H, W, 3))
    write_image(tmp_path / "h.exr", image)
    back = read_image(tmp_path / "h.exr")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image.astype(np.float32))


@pytest.mark.parametrize(
    ("ext", "dtype", "top"),
    [
        (".png", np.uint8, 255),
        (".png", np.uint16, 65535),
        (".exr", np.float32, 1.0),
        (".tif", np.float32, 1.0),
        (".tif", np.int16, 32767),
    ],
)
def test_alpha_mask_is_zero_or_max(tmp_path, ext, dtype, top):
    image = _random(dtype, (H, W, 3))
    mask = np.zeros((H, W), bool)
    mask[2:9, 3:7] = True
    write_image(tmp_path / f"a{ext}", image, alpha=mask)
    back = read_image(tmp_path / f"a{ext}")
    assert back.shape == (H, W, 4)
    np.testing.assert_array_equal(back[..., :3], image)
    np.testing.assert_array_equal(back[..., 3], np.where(mask, top, 0))


def test_tiff_rgba_is_tagged_unassociated_alpha(tmp_path):
    write_image(tmp_path / "a.tif", np.zeros((2, 2, 3), np.uint8), alpha=np.ones((2, 2)))
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        page = tif.pages[0]
        assert page.photometric == tifffile.PHOTOMETRIC.RGB
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert list(page.extrasamples) == [tifffile.EXTRASAMPLE.UNASSALPHA]


def test_planar_tiff_is_read_interleaved(tmp_path):
    image = _random(np.uint16, (H, W, 3))
    tifffile.imwrite(
        tmp_path / "p.tif", np.moveaxis(image, -1, 0), photometric="rgb", planarconfig="separate"
    )
    np.testing.assert_array_equal(read_image(tmp_path / "p.tif"), image)


def test_uppercase_extension(tmp_path):
    image = _random(np.uint8, (H, W, 3))
    write_image(tmp_path / "M.PNG", image)
    np.testing.assert_array_equal(read_image(tmp_path / "M.PNG"), image)


def test_jpeg_is_readable_not_writable(tmp_path):
    image = np.full((8, 8, 3), (200, 10, 10), np.uint8)
    cv2.imwrite(str(tmp_path / "r.jpg"), image[..., ::-1].copy())
    back = read_image(tmp_path / "r.jpg")
    assert back.dtype == np.uint8 and back[..., 0].min() > 150 and back[..., 2].max() < 60
    with pytest.raises(NormalkitError, match="read, not written"):
        write_image(tmp_path / "w.jpg", image)


@pytest.mark.parametrize(
    ("name", "image", "match"),
    [
        ("f.png", np.zeros((4, 4, 3), np.float32), r"float32.*\.png.*encode"),
        ("f.png", np.zeros((4, 4, 3), np.int16), r"int16.*uint8 or uint16"),
        ("i.exr", np.zeros((4, 4, 3), np.uint16), r"uint16.*\.exr"),
        ("d.exr", np.zeros((4, 4, 3), np.float64), r"float64.*astype\(np.float32\)"),
        ("b.tif", np.zeros((4, 4, 3), bool), r"bool.*\.tif"),
        ("x.jpgx", np.zeros((4, 4, 3), np.uint8), r"unknown image extension '\.jpgx'.*\.png"),
        ("noext", np.zeros((4, 4, 3), np.uint8), r"unknown image extension"),
        ("s.png", np.zeros((4, 4, 2), np.uint8), r"shape \(4, 4, 2\)"),
        ("s.png", np.zeros((0, 4, 3), np.uint8), r"empty"),
    ],
)
def test_bad_input_raises_and_leaves_nothing(tmp_path, name, image, match):
    with pytest.raises(NormalkitError, match=match):
        write_image(tmp_path / name, image)
    assert _leftovers(tmp_path) == []


def test_bad_alpha_raises(tmp_path):
    with pytest.raises(NormalkitError, match="alpha has shape"):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8), alpha=np.ones((4, 5)))
    with pytest.raises(NormalkitError, match="alpha needs an RGB"):
        write_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8), alpha=np.ones((4, 4)))
    assert _leftovers(tmp_path) == []


def test_missing_folder_raises(tmp_path):
    with pytest.raises(NormalkitError, match="does not exist"):
        write_image(tmp_path / "nope" / "a.png", np.zeros((2, 2, 3), np.uint8))


@pytest.mark.parametrize("ext", [".png", ".exr", ".tif"])
def test_encoder_failure_leaves_no_file_and_keeps_old_one(tmp_path, monkeypatch, ext):
    target = tmp_path / f"keep{ext}"
    old = np.full((2, 2, 3), 7, np.float32 if ext == ".exr" else np.uint8)
    write_image(target, old)

    def boom(tmp, image, *rest):
        with open(tmp, "wb") as f:  # a partial file, then failure
            f.write(b"partial")
        raise RuntimeError("disk full")

    name = {".png": "_write_png", ".exr": "_write_exr", ".tif": "_write_tiff"}[ext]
    monkeypatch.setattr(imageio, name, boom)
    with pytest.raises(NormalkitError, match="disk full"):
        write_image(target, np.zeros_like(old))
    assert _leftovers(tmp_path) == [target.name]
    np.testing.assert_array_equal(read_image(target), old)


def test_read_errors(tmp_path):
    with pytest.raises(NormalkitError, match="no such file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(NormalkitError, match="directory"):
        read_image(tmp_path / "d.png")
    for ext in (".png", ".exr", ".tif"):
        (tmp_path / f"junk{ext}").write_bytes(b"not an image at all")
        with pytest.raises(NormalkitError, match="cannot read"):
            read_image(tmp_path / f"junk{ext}")
    with pytest.raises(NormalkitError, match="unknown image extension"):
        read_image(tmp_path / "a.jpgx")


def test_exr_with_unknown_channels_is_rejected(tmp_path):
    z = np.zeros((3, 3), np.float32)
    OpenEXR.File({"type": OpenEXR.scanlineimage}, {"N.X": z, "N.Y": z}).write(
        str(tmp_path / "layers.exr")
    )
    with pytest.raises(NormalkitError, match=r"channels \['N.X', 'N.Y'\]"):
        read_image(tmp_path / "layers.exr")


def test_bits_to_extension():
    assert bits_to_extension(8) == ".png"
    assert bits_to_extension(16) == ".png"
    assert bits_to_extension(32) == ".exr"
    assert bits_to_extension(32, "out/n.TIF") == ".tif"
    assert bits_to_extension(16, "n.tiff") == ".tiff"
    assert bits_to_extension(16, "n") == ".png"
    assert bits_to_extension(32, "n.exr") == ".exr"
    with pytest.raises(NormalkitError, match=r"32-bit.*\.png.*\.exr or \.tif"):
        bits_to_extension(32, "n.png")
    with pytest.raises(NormalkitError, match=r"8-bit.*\.exr"):
        bits_to_extension(8, "n.exr")
    with pytest.raises(NormalkitError, match="8, 16 or 32"):
        bits_to_extension(12)
    with pytest.raises(NormalkitError, match="unknown image extension"):
        bits_to_extension(8, "n.jpgx")
