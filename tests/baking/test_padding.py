"""Dilation padding: reach, nearest-value fill, untouched filled texels, dtypes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from normalkit.baking.padding import dilate
from normalkit.core.errors import NormalkitError


def _scene(dtype=np.float32, shape=(31, 40), channels=3, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    mask[5:9, 6:12] = True
    mask[20:26, 25:33] = True
    mask[14, 3] = True
    if np.dtype(dtype).kind == "f":
        image = rng.uniform(-1, 1, (*shape, channels)).astype(dtype)
    else:
        image = rng.integers(0, np.iinfo(dtype).max, (*shape, channels), endpoint=True).astype(
            dtype
        )
    return image, mask


def test_single_texel_with_inf_fills_everything():
    image = np.zeros((13, 17, 3), np.float32)
    mask = np.zeros((13, 17), bool)
    mask[4, 9] = True
    image[4, 9] = (0.25, -0.5, 1.0)
    out = dilate(image, mask, math.inf)
    np.testing.assert_array_equal(out, np.broadcast_to([0.25, -0.5, 1.0], image.shape))


def test_single_texel_radius_two_fills_exactly_the_disc():
    image = np.full((11, 12, 4), 9, np.uint8)
    mask = np.zeros((11, 12), bool)
    mask[5, 6] = True
    image[5, 6] = (1, 2, 3, 4)
    out = dilate(image, mask, 2)
    rr, cc = np.mgrid[:11, :12]
    disc = (rr - 5) ** 2 + (cc - 6) ** 2 <= 4  # includes (±2, 0) but not (±2, ±1)
    assert disc.sum() == 13
    np.testing.assert_array_equal(out[disc], np.broadcast_to([1, 2, 3, 4], (13, 4)))
    np.testing.assert_array_equal(out[~disc], image[~disc])


@pytest.mark.parametrize("tile", [512, 7])  # one tile, or many with halos across borders
@pytest.mark.parametrize("texels", [1, 2, 3.5, 7, math.inf])
def test_reach_matches_scipy_distance_and_nearest_value(texels, tile, monkeypatch):
    import normalkit.baking.padding as padding

    monkeypatch.setattr(padding, "_TILE", tile)
    image, mask = _scene()
    out = dilate(image, mask, texels)
    dist = ndimage.distance_transform_edt(~mask)
    reach = ~mask & (dist <= texels)
    np.testing.assert_array_equal(out[~reach], image[~reach])
    # Brute force: each reached texel holds the value of a filled texel that is
    # at the minimum distance (values are unique random floats, so they identify texels).
    filled_at = np.argwhere(mask)
    filled_vals = image[mask]
    for p, v in zip(np.argwhere(reach), out[reach], strict=True):
        src = np.flatnonzero((filled_vals == v).all(1))
        assert len(src) == 1
        assert np.sqrt(((filled_at[src[0]] - p) ** 2).sum()) == pytest.approx(dist[tuple(p)])


def _masks(rng):
    """Masks with many exact ties: lattices, mirrored points, blobs, scattered texels."""
    lattice = np.zeros((97, 131), bool)
    lattice[3::6, 2::4] = True
    mirrored = np.zeros((80, 96), bool)
    mirrored[rng.integers(0, 80, 30), rng.integers(0, 96, 30)] = True
    mirrored |= mirrored[::-1] | mirrored[:, ::-1]
    blobs = ndimage.binary_dilation(rng.random((150, 70)) < 0.004, iterations=3)
    scattered = rng.random((64, 200)) < 0.01
    return lattice, mirrored, blobs, scattered


@pytest.mark.parametrize("tile", [512, 13])
@pytest.mark.parametrize("texels", [1, 2, 4.5, 16])
def test_finite_padding_takes_the_texel_scipys_feature_transform_picks(texels, tile,
                                                                       monkeypatch):
    """Ties included: finite padding (compiled, per tile) copies from exactly the filled
    texel that scipy's whole-image feature transform names, so maps do not change with
    the tiling or the implementation."""
    import normalkit.baking.padding as padding

    monkeypatch.setattr(padding, "_TILE", tile)
    rng = np.random.default_rng(7)
    for mask in _masks(rng):
        image = rng.random((*mask.shape, 2)).astype(np.float32)
        out = dilate(image, mask, texels)
        rows, cols = ndimage.distance_transform_edt(~mask, return_distances=False,
                                                    return_indices=True)
        rr, cc = np.indices(mask.shape)
        reach = ~mask & ((rows - rr) ** 2 + (cols - cc) ** 2 <= texels ** 2)
        assert reach.any()
        expected = image.copy()
        expected[reach] = image[rows[reach], cols[reach]]
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.int16, np.float16, np.float32, np.float64]
)
def test_dtype_shape_preserved_and_filled_texels_unchanged(dtype):
    image, mask = _scene(dtype)
    out = dilate(image, mask, 4)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out[mask], image[mask])


def test_input_not_modified_and_output_is_a_copy():
    image, mask = _scene()
    before = image.copy()
    for texels in (0, 3, math.inf):
        out = dilate(image, mask, texels)
        assert not np.shares_memory(out, image)
    np.testing.assert_array_equal(image, before)


def test_zero_and_degenerate_masks_return_copies():
    image, mask = _scene()
    np.testing.assert_array_equal(dilate(image, mask, 0), image)
    empty = np.zeros_like(mask)
    np.testing.assert_array_equal(dilate(image, empty, math.inf), image)
    full = np.ones_like(mask)
    np.testing.assert_array_equal(dilate(image, full, math.inf), image)


def test_two_dimensional_image_and_int_mask():
    image = np.arange(20, dtype=np.float32).reshape(4, 5)
    mask = np.zeros((4, 5), np.uint8)
    mask[0, 0] = 1
    np.testing.assert_array_equal(dilate(image, mask, math.inf), np.zeros((4, 5)))


def test_wide_image_uses_several_row_blocks(monkeypatch):
    import normalkit.baking.padding as padding

    monkeypatch.setattr(padding, "_BLOCK_TEXELS", 64)  # 1 row per block at W=40
    image, mask = _scene()
    monkeypatch.undo()
    want = dilate(image, mask, math.inf)
    monkeypatch.setattr(padding, "_BLOCK_TEXELS", 64)
    np.testing.assert_array_equal(dilate(image, mask, math.inf), want)


@pytest.mark.parametrize("texels", [-1, math.nan, "3", None, True])
def test_bad_texels(texels):
    image, mask = _scene()
    with pytest.raises(NormalkitError, match="texels"):
        dilate(image, mask, texels)


def test_shape_mismatch():
    image, mask = _scene()
    with pytest.raises(NormalkitError, match="does not match"):
        dilate(image, mask[:-1], 2)
    with pytest.raises(NormalkitError, match=r"mask must be \(H, W\)"):
        dilate(image, mask[..., None], 2)


@pytest.mark.parametrize("texels", [3.5, math.inf])
def test_in_place_padding_of_several_images_matches_dilate(texels, monkeypatch):
    import normalkit.baking.padding as padding

    monkeypatch.setattr(padding, "_TILE", 16)  # many tiles, halos across their borders
    rng = np.random.default_rng(5)
    mask = ndimage.binary_dilation(rng.random((70, 90)) < 0.01, iterations=2)
    a = rng.normal(size=(70, 90, 3)).astype(np.float32)
    b = rng.integers(0, 65535, (70, 90)).astype(np.uint16)
    want = [dilate(a, mask, texels), dilate(b, mask, texels)]
    before = a.copy()
    padding.dilate_in_place([a, b], mask, texels)
    np.testing.assert_array_equal(a, want[0])
    np.testing.assert_array_equal(b, want[1])
    assert not np.array_equal(a, before)  # padding did fill texels


def test_in_place_padding_needs_contiguous_images():
    from normalkit.baking.padding import dilate_in_place

    image = np.zeros((8, 8, 3), np.float32)[:, :, :2]
    with pytest.raises(NormalkitError, match="C-contiguous"):
        dilate_in_place([image], np.eye(8, dtype=bool), 2)
