"""Tangent ↔ object space: the baker's own frames (identical to a samples=1 bake),
16-bit round trips within 0.05°, texels outside the UV layout left alone."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ASSETS, angle_deg, bump, grid_plane
from normalkit.baking.bake import bake
from normalkit.baking.spaces import object_to_tangent, tangent_to_object
from normalkit.core.errors import NormalkitError
from normalkit.maps.encode import decode_normals, encode_normals
from normalkit.mesh.io import load_mesh
from normalkit.mesh.normals import ensure_normals
from normalkit.mesh.tangents import compute_tangents

ROUND_TRIP_DEG = 0.05


@pytest.fixture(scope="module")
def spot():
    path = ASSETS / "meshes" / "spot.obj"
    if not path.is_file():
        pytest.skip(f"shared asset not found: {path}")
    mesh = ensure_normals(load_mesh(path))
    return mesh, compute_tangents(mesh)


@pytest.fixture(scope="module")
def mirrored_bumpy_plane():
    """A displaced grid whose right half mirrors the left half's UVs (tangent sign −1),
    as symmetric characters are unwrapped; the mirrored triangles own the texels."""
    h, n = bump(amp=0.05)

    def uv(x, y):
        return np.stack([np.where(x < 0.5, x, 1.0 - x) * 0.9 + 0.05, y * 0.9 + 0.05], 1)

    mesh = grid_plane(16, height=h, normals=n, uv_fn=uv)
    tangents = compute_tangents(mesh)
    assert (tangents[:, 3] < 0).any() and (tangents[:, 3] > 0).any()
    return mesh, tangents


def _random_tangent_map(rng, size, max_tilt_deg=70.0):
    tilt = np.radians(rng.uniform(0, max_tilt_deg, (size, size)))
    az = rng.uniform(0, 2 * np.pi, (size, size))
    return np.stack([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)], -1)


def _sixteen(n):
    return decode_normals(encode_normals(n, 16))


def _round_trips(mesh, tangents, size, seed):
    rng = np.random.default_rng(seed)
    t16 = _sixteen(_random_tangent_map(rng, size))
    obj, mask = tangent_to_object(t16, mesh, tangents=tangents)
    back, mask2 = object_to_tangent(_sixteen(obj), mesh, tangents=tangents)
    np.testing.assert_array_equal(mask, mask2)
    err_t = angle_deg(_sixteen(back).astype(np.float64), t16.astype(np.float64))[mask]

    o16 = _sixteen(rng.normal(size=(size, size, 3)))  # any object-space direction
    tan, _ = object_to_tangent(o16, mesh, tangents=tangents)
    again, _ = tangent_to_object(_sixteen(tan), mesh, tangents=tangents)
    err_o = angle_deg(_sixteen(again).astype(np.float64), o16.astype(np.float64))[mask]
    return mask, err_t, err_o


def test_16_bit_round_trips_on_spot_within_0_05_degrees(spot):
    mesh, tangents = spot
    mask, err_t, err_o = _round_trips(mesh, tangents, 256, seed=0)
    assert 0.3 < mask.mean() < 0.7  # spot's UV layout covers about half the texture
    assert err_t.max() < ROUND_TRIP_DEG, err_t.max()
    assert err_o.max() < ROUND_TRIP_DEG, err_o.max()


def test_16_bit_round_trips_on_a_mirrored_generated_mesh(mirrored_bumpy_plane):
    mesh, tangents = mirrored_bumpy_plane
    mask, err_t, err_o = _round_trips(mesh, tangents, 128, seed=1)
    assert 0.35 < mask.mean() < 0.45  # both halves share 0.45 × 0.9 of the texture
    assert err_t.max() < ROUND_TRIP_DEG and err_o.max() < ROUND_TRIP_DEG, (err_t.max(),
                                                                             err_o.max())


def test_object_to_tangent_reproduces_the_bakers_tangent_map(spot):
    # Same frames, same texel samples: converting the object-space bake gives the
    # tangent-space bake (one sample per texel, so no averaging differs).
    mesh, tangents = spot
    low = ensure_normals(mesh, flat=True)  # flat low-poly, smooth high-poly detail
    kw = dict(size=96, samples=1, padding=0, extrusion=0.01, max_distance=0.01)
    tan = bake(mesh, low, space="tangent", **kw)
    obj = bake(mesh, low, space="object", **kw)
    assert not tan.misses.any()
    converted, mask = object_to_tangent(obj.normals, low)
    np.testing.assert_array_equal(mask, tan.coverage)
    cov = tan.coverage
    assert angle_deg(converted[cov].astype(float), tan.normals[cov].astype(float)).max() < 1e-3
    back, _ = tangent_to_object(tan.normals, low)
    assert angle_deg(back[cov].astype(float), obj.normals[cov].astype(float)).max() < 1e-3


def test_flat_plane_frames_are_the_identity():
    # u = x, v = y, N = +z: T = +x, B = +y, so tangent space is object space.
    mesh = grid_plane(4)
    n = _random_tangent_map(np.random.default_rng(2), 32).astype(np.float32)
    obj, mask = tangent_to_object(n, mesh)
    assert mask.all()
    np.testing.assert_allclose(obj, n, atol=1e-6)
    np.testing.assert_allclose(object_to_tangent(n, mesh)[0], n, atol=1e-6)


def test_outside_texels_keep_their_value_or_take_fill():
    uv = lambda x, y: np.stack([x * 0.5, y * 0.5], 1)  # noqa: E731 - the lower-left quarter
    mesh = grid_plane(2, uv_fn=uv)
    n = _random_tangent_map(np.random.default_rng(3), 16).astype(np.float32)
    out, mask = tangent_to_object(n, mesh)
    assert mask[8:, :8].all() and not mask[:7].any() and not mask[:, 9:].any()
    np.testing.assert_array_equal(out[~mask], n[~mask])
    filled, _ = object_to_tangent(n, mesh, fill=(0, 0, 1))
    np.testing.assert_array_equal(filled[~mask], np.broadcast_to([0, 0, 1], filled[~mask].shape))


def test_wrapping_uvs_are_reported():
    mesh = grid_plane(2, uv_fn=lambda x, y: np.stack([x + 0.25, y], 1))
    messages = []
    _, mask = tangent_to_object(np.zeros((8, 8, 3)), mesh, log=messages.append)
    assert mask.all() and len(messages) == 1 and "wrap" in messages[0]


@pytest.mark.parametrize("change,match", [
    ({"mesh": "no_uvs"}, "no UVs"),
    ({"mesh": "no_normals"}, "no normals"),
    ({"mesh": "path"}, "normalkit Mesh"),
    ({"tangents": np.zeros((5, 4))}, r"tangents must have shape \(24, 4\)"),
    ({"fill": (0, 1)}, "fill"),
    ({"image": np.full((8, 8, 3), np.nan)}, "NaN"),
    ({"image": np.zeros((8, 8))}, r"\(H, W, 3\)"),
])
def test_bad_input(change, match):
    mesh = grid_plane(2)
    meshes = {"no_uvs": mesh.replace(uvs=None), "no_normals": mesh.replace(normals=None),
              "path": "plane.obj"}
    kwargs = {"image": np.zeros((8, 8, 3)), "mesh": mesh} | change
    if isinstance(kwargs["mesh"], str):
        kwargs["mesh"] = meshes[kwargs["mesh"]]
    image, m = kwargs.pop("image"), kwargs.pop("mesh")
    for fn in (tangent_to_object, object_to_tangent):
        with pytest.raises(NormalkitError, match=match):
            fn(image, m, **kwargs)
