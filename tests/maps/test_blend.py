"""Detail blending: the identities of each method, RNM as a true rotation, strength."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import angle_deg
from normalkit.core.errors import NormalkitError
from normalkit.maps.blend import BLEND_METHODS, blend_normals


def _unit(rng, shape, min_z=0.05):
    v = rng.normal(size=shape + (3,))
    v[..., 2] = np.abs(v[..., 2]) + min_z
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _flat(shape):
    f = np.zeros(shape + (3,), np.float32)
    f[..., 2] = 1
    return f


seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_rnm_flat_detail_returns_the_base_and_flat_base_the_detail_exactly(seed):
    rng = np.random.default_rng(seed)
    b, d = _unit(rng, (5, 7)), _unit(rng, (5, 7))
    np.testing.assert_array_equal(blend_normals(b, _flat((5, 7))), b)
    np.testing.assert_array_equal(blend_normals(_flat((5, 7)), d), d)


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_rnm_is_the_rotation_taking_z_to_the_base(seed):
    # A rotation keeps angles: ∠(r, b) = ∠(d, z), and r has unit length.
    rng = np.random.default_rng(seed)
    b, d = _unit(rng, (6, 6), 0.3), _unit(rng, (6, 6), 0.0)
    r = blend_normals(b, d)
    np.testing.assert_allclose(np.linalg.norm(r, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(angle_deg(r.astype(float), b.astype(float)),
                               angle_deg(d.astype(float), _flat((6, 6))), atol=0.01)


def test_rnm_reorients_detail_on_a_slope():
    # Detail tilted 10° toward +x on a base tilted 30° toward +x → 40° toward +x.
    def tilt(deg):
        a = np.radians(deg)
        return np.array([[[np.sin(a), 0.0, np.cos(a)]]], np.float32)

    np.testing.assert_allclose(blend_normals(tilt(30), tilt(10)), tilt(40), atol=1e-6)
    # UDN flattens: the result leans less than 40°.
    udn = blend_normals(tilt(30), tilt(10), method="udn")
    assert angle_deg(udn[0, 0], np.array([0, 0, 1.0])) < 39.0


@pytest.mark.parametrize("method", BLEND_METHODS)
def test_strength_zero_returns_the_base(method):
    rng = np.random.default_rng(4)
    b, d = _unit(rng, (8, 8)), _unit(rng, (8, 8))
    np.testing.assert_allclose(blend_normals(b, d, method=method, strength=0.0), b,
                               atol=1e-6)


@pytest.mark.parametrize("method", ["rnm", "udn", "whiteout"])
def test_flat_detail_returns_the_base(method):
    rng = np.random.default_rng(5)
    b = _unit(rng, (8, 8))
    np.testing.assert_allclose(blend_normals(b, _flat((8, 8)), method=method), b, atol=1e-6)


def test_whiteout_flat_base_returns_the_detail_and_linear_averages():
    rng = np.random.default_rng(6)
    d = _unit(rng, (8, 8))
    np.testing.assert_allclose(blend_normals(_flat((8, 8)), d, method="whiteout"), d,
                               atol=1e-6)
    b = _unit(rng, (8, 8))
    lin = blend_normals(b, d, method="linear")
    mid = (b + d) / np.linalg.norm(b + d, axis=-1, keepdims=True)
    np.testing.assert_allclose(lin, mid, atol=1e-6)
    # linear is the one method where a flat detail does not give the base back
    assert angle_deg(blend_normals(b, _flat((8, 8)), method="linear"), b).max() > 1.0


@pytest.mark.parametrize("method", ["rnm", "udn", "whiteout"])
def test_strength_scales_the_detail_slopes(method):
    rng = np.random.default_rng(7)
    b, d = _unit(rng, (8, 8), 0.5), _unit(rng, (8, 8), 0.5)
    s = 0.4
    scaled = d * [s, s, 1]
    scaled /= np.linalg.norm(scaled, axis=-1, keepdims=True)
    np.testing.assert_allclose(blend_normals(b, d, method=method, strength=s),
                               blend_normals(b, scaled, method=method), atol=1e-6)
    # more strength, farther from the base
    far = [angle_deg(blend_normals(b, d, method=method, strength=k), b).mean()
           for k in (0.25, 0.5, 1.0)]
    assert far[0] < far[1] < far[2]


def test_mask_keeps_the_base_outside():
    rng = np.random.default_rng(8)
    b, d = _unit(rng, (6, 6)), _unit(rng, (6, 6))
    mask = rng.random((6, 6)) > 0.5
    out = blend_normals(b, d, mask=mask)
    np.testing.assert_array_equal(out[~mask], b[~mask])
    np.testing.assert_array_equal(out[mask], blend_normals(b, d)[mask])


def test_inputs_are_not_modified():
    rng = np.random.default_rng(9)
    b, d = _unit(rng, (4, 4)) * 2, _unit(rng, (4, 4)) * 3
    b0, d0 = b.copy(), d.copy()
    blend_normals(b, d, strength=0.5)
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_array_equal(d, d0)


@pytest.mark.parametrize("kwargs,match", [
    ({"detail": np.zeros((4, 5, 3))}, "resize or tile"),
    ({"detail": np.full((4, 4, 3), np.nan)}, "detail has 16 texels with NaN"),
    ({"base": np.zeros((4, 4))}, r"base must be an \(H, W, 3\)"),
    ({"method": "overlay"}, "rnm, udn, whiteout, linear"),
    ({"strength": -1.0}, "strength"),
    ({"strength": float("nan")}, "strength"),
    ({"mask": np.ones((4, 3), bool)}, "mask has shape"),
    ({"mask": np.full((4, 4), 0.5)}, "boolean"),
])
def test_bad_input(kwargs, match):
    args = {"base": _flat((4, 4)), "detail": _flat((4, 4))} | kwargs
    base, detail = args.pop("base"), args.pop("detail")
    with pytest.raises(NormalkitError, match=match):
        blend_normals(base, detail, **args)
