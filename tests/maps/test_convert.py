"""Conversion: green flip and swizzles are exact involutions/bijections; bit depth and
convention changes keep every texel where the encoding says it belongs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from normalkit.core.errors import NormalkitError
from normalkit.maps.convert import (
    convert_texels,
    flip_green,
    parse_swizzle,
    renormalize,
    swizzle,
    swizzle_inverse,
)
from normalkit.maps.encode import decode_normals, encode_normals

vectors = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3)),
                 elements=st.floats(-1, 1, width=32, allow_subnormal=False))
specs = st.tuples(st.permutations("XYZ"), st.tuples(*[st.sampled_from(["", "-", "+"])] * 3)
                  ).map(lambda p: "".join(s + a for a, s in zip(p[0], p[1], strict=True)))


def _unit(rng, shape):
    v = rng.normal(size=shape + (3,))
    v[..., 2] = np.abs(v[..., 2]) + 0.2
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(vectors)
def test_flip_green_is_an_exact_involution(v):
    once = flip_green(v)
    np.testing.assert_array_equal(once[..., 1], -v[..., 1])
    np.testing.assert_array_equal(once[..., [0, 2]], v[..., [0, 2]])
    np.testing.assert_array_equal(flip_green(once), v)


@settings(max_examples=80, deadline=None)
@given(vectors, specs)
def test_swizzle_then_its_inverse_is_the_identity(v, spec):
    np.testing.assert_array_equal(swizzle(swizzle(v, spec), swizzle_inverse(spec)), v)
    np.testing.assert_array_equal(swizzle(swizzle(v, swizzle_inverse(spec)), spec), v)
    # a signed permutation keeps lengths
    np.testing.assert_allclose(np.linalg.norm(swizzle(v, spec), axis=-1),
                               np.linalg.norm(v, axis=-1), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(vectors)
def test_flip_swizzle_is_flip_green_and_its_own_inverse(v):
    np.testing.assert_array_equal(swizzle(v, "X-YZ"), flip_green(v))
    assert swizzle_inverse("X-YZ") == "X-YZ"
    np.testing.assert_array_equal(swizzle(swizzle(v, "YXZ"), "YXZ"), v)


def test_swizzle_semantics_and_spellings():
    v = np.array([[[0.1, 0.2, 0.3]]], np.float32)
    np.testing.assert_array_equal(swizzle(v, "y-x z"), v[..., [1, 0, 2]] * [1, -1, 1])
    np.testing.assert_array_equal(swizzle(v, "−Z,+X,Y"), v[..., [2, 0, 1]] * [-1, 1, 1])
    assert parse_swizzle("X-YZ") == ((0, 1, 2), (1.0, -1.0, 1.0))
    for spec in itertools.product(("X", "-X"), ("Y", "-Y"), ("Z", "-Z")):
        s = "".join(spec)
        assert swizzle_inverse(s) == s  # sign flips alone are involutions


@pytest.mark.parametrize("spec,match", [
    ("XXZ", "axis twice"), ("XY", "three"), ("XYZW", "three"), ("ABC", "three"),
    ("X--YZ", "three"), ("", "three"),
])
def test_bad_swizzles_are_refused(spec, match):
    with pytest.raises(NormalkitError, match=match):
        parse_swizzle(spec)


def test_renormalize_with_mask_and_zero_vectors():
    v = np.array([[[0.0, 0.0, 2.0], [0.3, 0.0, 0.4]], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]],
                 np.float32)
    out = renormalize(v)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out[0, 1], [0.6, 0.0, 0.8], atol=1e-6)
    np.testing.assert_array_equal(out[1, 0], [0, 0, 1])  # zero → flat
    mask = np.array([[True, False], [False, True]])
    part = renormalize(v, mask)
    np.testing.assert_array_equal(part[~mask], v[~mask])
    np.testing.assert_allclose(np.linalg.norm(part[mask], axis=-1), 1.0, atol=1e-6)


def test_8_to_16_bit_is_exact_and_back_is_lossless():
    rng = np.random.default_rng(0)
    t8 = encode_normals(_unit(rng, (16, 16)), 8)
    t16 = convert_texels(t8, 16)
    assert t16.dtype == np.uint16
    np.testing.assert_array_equal(t16, t8.astype(np.uint16) * 257)
    np.testing.assert_array_equal(convert_texels(t16, 8), t8)
    f = convert_texels(t8, 32)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f, t8 / 255.0 * 2 - 1, atol=1e-6)  # not renormalized
    np.testing.assert_array_equal(convert_texels(f, 8), t8)


@pytest.mark.parametrize("bits", [8, 16])
def test_directx_conversion_mirrors_green_and_keeps_red_blue(bits):
    rng = np.random.default_rng(1)
    gl = encode_normals(_unit(rng, (8, 8)), bits)
    dx = convert_texels(gl, bits, directx_out=True)
    top = 255 if bits == 8 else 65535
    np.testing.assert_array_equal(dx[..., [0, 2]], gl[..., [0, 2]])
    np.testing.assert_array_equal(dx[..., 1].astype(int), top - gl[..., 1].astype(int))
    np.testing.assert_array_equal(convert_texels(dx, bits, directx_in=True), gl)
    np.testing.assert_array_equal(convert_texels(gl, bits, directx_in=True, directx_out=True),
                                  gl)
    # decoding the DirectX file as DirectX gives the OpenGL vectors back
    np.testing.assert_allclose(decode_normals(dx, directx=True), decode_normals(gl),
                               atol=2.0 / top)


def test_renormalize_flag_and_alpha_is_kept():
    rng = np.random.default_rng(2)
    v = _unit(rng, (8, 8)) * 0.9  # shortened vectors, as filtered maps have
    alpha = (rng.random((8, 8)) * 255).astype(np.uint8)
    t8 = np.concatenate([encode_normals(v, 8), alpha[..., None]], axis=2)
    raw = convert_texels(t8, 32)
    assert raw.shape == (8, 8, 4)
    np.testing.assert_allclose(np.linalg.norm(raw[..., :3], axis=-1), 0.9, atol=0.01)
    np.testing.assert_allclose(raw[..., 3], alpha / 255.0, atol=1e-7)
    fixed = convert_texels(t8, 32, renormalize=True)
    np.testing.assert_allclose(np.linalg.norm(fixed[..., :3], axis=-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(convert_texels(t8, 16)[..., 3], alpha.astype(np.uint16) * 257)


def test_swizzle_in_convert_applies_to_the_stored_vectors():
    rng = np.random.default_rng(3)
    t = encode_normals(_unit(rng, (4, 4)), 16)
    np.testing.assert_array_equal(convert_texels(t, 16, swizzle="X-YZ"),
                                  convert_texels(t, 16, directx_out=True))


@pytest.mark.parametrize("bad,match", [
    (np.zeros((4, 4)), "3 or 4 channels"),
    (np.zeros((4, 4, 3), np.int32), "int32"),
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
])
def test_bad_texels(bad, match):
    with pytest.raises(NormalkitError, match=match):
        convert_texels(bad, 16)


def test_bad_bits_and_bad_vectors():
    with pytest.raises(NormalkitError, match="bits"):
        convert_texels(np.zeros((2, 2, 3), np.uint8), 12)
    with pytest.raises(NormalkitError, match=r"\(H, W, 3\)"):
        flip_green(np.zeros((4, 3)))
    with pytest.raises(NormalkitError, match="NaN"):
        swizzle(np.full((2, 2, 3), np.inf), "XYZ")
    with pytest.raises(NormalkitError, match="decode"):
        renormalize(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(NormalkitError, match="mask has shape"):
        renormalize(np.ones((2, 2, 3)), np.ones((3, 2), bool))
