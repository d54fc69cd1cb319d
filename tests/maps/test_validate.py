"""Validation: the DirectX/OpenGL guess on maps of known height fields in both
conventions (and on a real bake), unit-length and z statistics, banding, and the
"not a normal map" verdict."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import bump, grid_plane
from normalkit.baking.bake import bake
from normalkit.core.errors import NormalkitError
from normalkit.maps.encode import encode_normals
from normalkit.maps.height import height_to_normal
from normalkit.maps.validate import (
    check_mask,
    check_normal_map,
    check_normals,
    length_tolerance,
    map_info,
    unpack_texels,
)

N = 192
ROW, COL = np.mgrid[0:N, 0:N].astype(np.float64)


def bumps(seed=0, k=25):
    """Random Gaussian bumps and dents: mixed curvature everywhere."""
    rng = np.random.default_rng(seed)
    h = np.zeros((N, N))
    for _ in range(k):
        cx, cy = rng.uniform(0, N, 2)
        s = rng.uniform(4, 20)
        h += rng.uniform(-1, 1) * s * np.exp(-((COL - cx) ** 2 + (ROW - cy) ** 2) / (2 * s * s))
    return h


def egg_crate():
    return 6 * np.sin(2 * np.pi * 3 * COL / N) * np.sin(2 * np.pi * 2 * ROW / N)


@pytest.mark.parametrize("height", [bumps(0), bumps(1), egg_crate()],
                         ids=["bumps0", "bumps1", "egg_crate"])
@pytest.mark.parametrize("bits", [8, 16, 32])
@pytest.mark.parametrize("directx", [False, True])
def test_green_convention_is_recognized(height, bits, directx):
    texels = encode_normals(height_to_normal(height), bits, directx=directx)
    info = map_info(texels)
    assert info.kind == "tangent"
    assert info.convention == ("DirectX" if directx else "OpenGL"), info
    assert info.convention_confidence > 0.8 and info.convention_texels >= 100


def test_convention_of_a_real_bake_in_both_conventions():
    h, n = bump(amp=0.05)
    high = grid_plane(60, height=h, normals=n)
    result = bake(high, grid_plane(2), size=96, samples=1, extrusion=0.1, max_distance=0.1)
    for directx in (False, True):
        info = map_info(encode_normals(result.normals, 16, directx=directx))
        assert info.convention == ("DirectX" if directx else "OpenGL")
        assert info.convention_confidence > 0.8


def test_surfaces_without_mixed_curvature_are_unknown():
    ramp_and_grooves = 0.2 * COL + 3 * np.sin(ROW / 7.0)  # h = f(x) + g(y)
    info = map_info(encode_normals(height_to_normal(ramp_and_grooves), 16))
    assert info.kind == "tangent" and info.convention == "unknown"
    assert info.convention_confidence == 0.0


def test_clean_maps_have_no_non_unit_vectors_at_any_depth():
    n = height_to_normal(bumps(2))
    for bits in (8, 16, 32):
        info = map_info(encode_normals(n, bits))
        assert info.bits == bits and info.nonunit_fraction == 0.0, (bits, info)
        assert info.negative_z_fraction == 0.0 and info.kind == "tangent"
    assert length_tolerance(np.uint8) == pytest.approx(2 * np.sqrt(3) / 255)


def test_shortened_vectors_are_counted_before_renormalization():
    n = height_to_normal(bumps(3))
    n[: N // 4] *= 0.97  # a quarter of the map written without renormalizing
    info = map_info(encode_normals(n, 16))
    assert info.nonunit_fraction == pytest.approx(0.25, abs=0.01)
    assert info.far_from_unit_fraction == 0.0 and info.kind == "tangent"
    assert any("renormalize" in note for note in info.notes)


def test_photos_and_colour_textures_are_not_normal_maps():
    rng = np.random.default_rng(4)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    gradient = np.stack([COL / N * 255, ROW / N * 200, np.full_like(COL, 60)], -1)
    wood = np.broadcast_to(np.array([140, 90, 50], np.uint8), (32, 32, 3))
    for img in (noise, gradient.astype(np.uint8), wood):
        info = map_info(img)
        assert info.kind == "none" and not info.is_normal_map
        assert info.verdict.startswith("not a normal map")
        with pytest.raises(NormalkitError, match="not a normal map"):
            check_normal_map(img, "img")
    gray = map_info(np.zeros((8, 8), np.uint16))
    assert gray.kind == "none" and "single-channel" in gray.verdict
    with pytest.raises(NormalkitError, match="single-channel"):
        check_normal_map(np.zeros((8, 8), np.uint8))
    empty = map_info(np.full((8, 8, 3), 0.0, np.float32))
    assert empty.kind == "none" and "zero vectors" in empty.verdict


def test_object_space_maps_and_mostly_negative_z():
    rng = np.random.default_rng(5)
    v = rng.normal(size=(64, 64, 3))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    info = map_info(encode_normals(v, 16))
    assert info.kind == "object" and info.convention is None
    assert 0.4 < info.negative_z_fraction < 0.6
    check_normal_map(encode_normals(v, 16))  # a normal map, just not tangent space
    down = v.copy()
    down[..., 2] = -np.abs(down[..., 2])
    info = map_info(encode_normals(down, 8))
    assert info.negative_z_fraction > 0.99 and info.kind == "object"
    assert any("not a normal map" in note for note in info.notes)
    with pytest.raises(NormalkitError, match="negative z"):
        check_normal_map(encode_normals(down, 8), "down.png", space="tangent")


def test_8_bit_banding_in_gentle_gradients():
    gentle = height_to_normal(0.15 * egg_crate())
    info8 = map_info(encode_normals(gentle, 8))
    assert info8.banding and info8.banded_fraction > 0.5
    info16 = map_info(encode_normals(gentle, 16))
    assert not info16.banding and info16.banded_fraction == 0.0
    # The same 8-bit values in a 16-bit file are still 8-bit data.
    widened = encode_normals(gentle, 8).astype(np.uint16) * 257
    info_w = map_info(widened)
    assert info_w.effective_bits == 8 and info_w.banding
    assert any("multiple of 257" in note for note in info_w.notes)
    # Rough, detailed relief (stone, fabric) changes by many steps per texel: no banding.
    from scipy.ndimage import gaussian_filter

    rough = gaussian_filter(np.random.default_rng(6).normal(size=(N, N)), 1.5, mode="wrap")
    info = map_info(encode_normals(height_to_normal(rough / rough.std()), 8))
    assert not info.banding and info.banded_fraction < 0.1


def test_histogram_gaps_reveal_posterized_maps():
    n = height_to_normal(bumps(7))
    t = encode_normals(n, 8)
    poster = (t // 4 * 4).astype(np.uint8)
    assert map_info(t).histogram_gap_fraction < 0.1
    info = map_info(poster)
    assert info.histogram_gap_fraction > 0.6
    assert any("posterized" in note for note in info.notes)


def test_mask_restricts_the_statistics():
    n = height_to_normal(bumps(8))
    t = encode_normals(n, 16)
    t[:, : N // 2] = [200, 30, 10]  # garbage (not unit) on the left half
    assert map_info(t).kind == "none"
    mask = np.zeros((N, N), bool)
    mask[:, N // 2:] = True
    info = map_info(t, mask)
    assert info.texels == mask.sum() and info.kind == "tangent"
    with pytest.raises(NormalkitError, match="mask has shape"):
        map_info(t, mask[1:])


def test_report_text_names_the_findings():
    text = str(map_info(encode_normals(height_to_normal(bumps(9)), 8, directx=True)))
    assert text.startswith("verdict: tangent-space normal map, DirectX green")
    assert "green channel: DirectX, confidence" in text and "8-bit banding" in text


def test_input_checks_name_the_argument():
    with pytest.raises(NormalkitError, match=r"base must be an \(H, W, 3\)"):
        check_normals(np.zeros((3, 3, 4)), "base")
    with pytest.raises(NormalkitError, match="decode"):
        check_normals(np.zeros((3, 3, 3), np.uint8))
    with pytest.raises(NormalkitError, match="2 texels with NaN"):
        check_normals(np.array([[[np.nan, 0, 1], [0, np.inf, 1]]]))
    assert check_mask(None, (2, 2)) is None
    assert check_mask(np.eye(2, dtype=np.uint8), (2, 2)).dtype == bool
    with pytest.raises(NormalkitError, match="boolean"):
        check_mask(np.full((2, 2), 2), (2, 2))
    with pytest.raises(NormalkitError, match="uint32"):
        unpack_texels(np.zeros((2, 2, 3), np.uint32))


def test_convention_on_real_photometric_stereo_maps(assets):
    # DiLiGenT camera-space maps (x right, y up: OpenGL) on a white background, and the
    # same maps with green flipped. Noisy real data, so a lower confidence bar.
    from normalkit.images.io import read_image

    for obj in ("bear", "buddha", "cat", "cow", "goblet", "harvest", "pot1", "pot2",
                "reading"):
        gl = read_image(assets / "diligent" / obj / "normal_map.png")
        dx = gl.copy()
        fg = (dx != 65535).any(axis=2)
        dx[..., 1][fg] = 65535 - dx[..., 1][fg]
        for texels, expect in ((gl, "OpenGL"), (dx, "DirectX")):
            info = map_info(texels)
            assert info.empty_fraction > 0.5  # the white background is left out
            assert info.convention == expect and info.convention_confidence > 0.3, (obj, info)


def test_large_maps_vote_in_row_bands(monkeypatch):
    # Above the texel limit the neighbourhood statistics use evenly spaced row bands;
    # shrink the limit so a small map takes that path.
    import normalkit.maps.validate as validate

    bands = validate._bands
    monkeypatch.setattr(validate, "_bands", lambda h, w: bands(h, w, limit=N * 64, band=32))
    assert [(b.start, b.stop) for b in validate._bands(N, N)] == [(0, 32), (N - 32, N)]
    for directx in (False, True):
        info = map_info(encode_normals(height_to_normal(bumps(10)), 16, directx=directx))
        assert info.convention == ("DirectX" if directx else "OpenGL")
        assert 100 <= info.convention_texels < N * 64
    gentle = map_info(encode_normals(height_to_normal(0.15 * egg_crate()), 8))
    assert gentle.banding
