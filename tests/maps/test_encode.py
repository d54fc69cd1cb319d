"""Normal map encoding: exact CONVENTIONS.md values and round-trip error bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from normalkit.core.errors import NormalkitError
from normalkit.maps.encode import FLAT_TANGENT, decode_normals, encode_normals

# Rigorous worst case: each component is off by at most half a step (1/255 or
# 1/65535 in n units), so |error| <= sqrt(3) * half step and angle <= asin(|error|).
BOUND_DEG = {
    8: math.degrees(math.asin(math.sqrt(3) / 255)),  # 0.389
    16: math.degrees(math.asin(math.sqrt(3) / 65535)),  # 0.00151
    32: 1e-4,  # float32 rounding only
}


def _angles_deg(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    dot = np.sum(a * b, axis=-1)
    return np.degrees(np.arctan2(cross, dot))


unit_vectors = (
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(1, 5), st.just(3)),
        elements=st.floats(-1, 1, allow_nan=False, allow_subnormal=False),
    )
    .filter(lambda v: bool(np.all(np.linalg.norm(v, axis=-1) > 1e-3)))
    .map(lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True))
)


@settings(max_examples=200, deadline=None)
@given(n=unit_vectors, bits=st.sampled_from([8, 16, 32]), directx=st.booleans())
def test_round_trip_within_quantization_bound(n, bits, directx):
    encoded = encode_normals(n, bits, directx=directx)
    decoded = decode_normals(encoded, directx=directx)
    assert decoded.dtype == np.float32 and decoded.shape == n.shape
    assert _angles_deg(decoded, n).max() <= BOUND_DEG[bits] * (1 + 1e-3) + 1e-5
    np.testing.assert_allclose(np.linalg.norm(decoded, axis=-1), 1, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(n=unit_vectors, bits=st.sampled_from([8, 16, 32]))
def test_directx_twice_is_identity(n, bits):
    flipped = n * np.array([1, -1, 1])
    # Flipping green on the input and again in the encoder cancels exactly.
    np.testing.assert_array_equal(
        encode_normals(flipped, bits, directx=True), encode_normals(n, bits)
    )
    # Decoding as DirectX is decoding as OpenGL, then negating green, exactly;
    # so flipping twice (encode as DirectX, decode as DirectX) is the identity.
    image = encode_normals(n, bits)
    np.testing.assert_array_equal(
        decode_normals(image, directx=True), decode_normals(image) * np.float32([1, -1, 1])
    )


@settings(max_examples=100, deadline=None)
@given(n=unit_vectors, bits=st.sampled_from([8, 16, 32]))
def test_directx_only_changes_green(n, bits):
    gl = encode_normals(n, bits).astype(np.float64)
    dx = encode_normals(n, bits, directx=True).astype(np.float64)
    np.testing.assert_array_equal(gl[..., [0, 2]], dx[..., [0, 2]])
    if bits == 32:
        np.testing.assert_array_equal(dx[..., 1], -gl[..., 1])
    else:  # green' = max - green, up to round-half-to-even at exact ties
        top = 255 if bits == 8 else 65535
        assert np.abs(dx[..., 1] - (top - gl[..., 1])).max() <= 1


def test_exact_convention_values():
    n = np.array([[FLAT_TANGENT, (1, 0, 0), (-1, 0, 0), (0, -1, 0)]], np.float64)
    assert encode_normals(n, 8).tolist() == [
        [[128, 128, 255], [255, 128, 128], [0, 128, 128], [128, 0, 128]]
    ]
    assert encode_normals(n, 16).tolist() == [
        [[32768, 32768, 65535], [65535, 32768, 32768], [0, 32768, 32768], [32768, 0, 32768]]
    ]
    assert encode_normals(n, 8).dtype == np.uint8
    assert encode_normals(n, 16).dtype == np.uint16
    out32 = encode_normals(n, 32)
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32, n)
    # DirectX: only green flips.
    assert encode_normals(n, 8, directx=True)[0, 3].tolist() == [128, 255, 128]
    np.testing.assert_array_equal(encode_normals(n, 32, directx=True)[..., 1], -n[..., 1])


def test_float_encoding_is_exact_and_clipped():
    rng = np.random.default_rng(0)
    n = rng.normal(size=(8, 9, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    np.testing.assert_array_equal(encode_normals(n, 32), n)
    over = np.array([[[1.5, -2.0, 0.5]]])
    np.testing.assert_array_equal(encode_normals(over, 32), [[[1, -1, 0.5]]])
    assert encode_normals(over, 8).tolist() == [[[255, 0, 191]]]


def test_decode_uint_values_and_rgba():
    image = np.array([[[0, 255, 255, 7]]], np.uint8)
    out = decode_normals(image)
    assert out.shape == (1, 1, 3)
    np.testing.assert_allclose(out, [[[-1, 1, 1]]] / np.sqrt(3), atol=1e-6)
    image16 = np.array([[[65535, 32768, 32768, 0]]], np.uint16)
    np.testing.assert_allclose(decode_normals(image16)[0, 0], [1, 0, 0], atol=1e-4)


def test_decode_keeps_zero_vectors_zero_and_normalizes_floats():
    image = np.array([[[0, 0, 0], [0, 0, 2]], [[3, 4, 0], [0, -5, 0]]], np.float32)
    out = decode_normals(image)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 0])
    np.testing.assert_allclose(out[0, 1], [0, 0, 1])
    np.testing.assert_allclose(out[1, 0], [0.6, 0.8, 0])
    np.testing.assert_allclose(decode_normals(image, directx=True)[1, 1], [0, 1, 0])
    assert not np.isnan(out).any()
    # input untouched
    assert image[0, 1, 2] == 2


def test_errors():
    n = np.zeros((2, 2, 3))
    with pytest.raises(NormalkitError, match="8, 16 or 32"):
        encode_normals(n, 12)
    with pytest.raises(NormalkitError, match=r"\(H, W, 3\)"):
        encode_normals(np.zeros((2, 2, 4)), 8)
    with pytest.raises(NormalkitError, match="NaN"):
        encode_normals(np.full((1, 1, 3), np.nan), 8)
    with pytest.raises(NormalkitError, match=r"\(H, W, 3\) or \(H, W, 4\)"):
        decode_normals(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(NormalkitError, match="int32"):
        decode_normals(np.zeros((2, 2, 3), np.int32))


def _numpy_encode(n, bits, directx):
    """The reference formula, in NumPy's float32 arithmetic (the compiled kernel's
    contract: the same bits)."""
    top = {8: 255, 16: 65535}[bits]
    half = 0.5 * top
    scale = np.array([half, (-1 if directx else 1) * half, half], dtype=np.float32)
    out = np.multiply(n, scale, dtype=np.float32)
    out += np.float32(half)
    np.clip(out, 0.0, top, out=out)
    np.rint(out, out=out)
    return out.astype(np.uint8 if bits == 8 else np.uint16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("directx", [False, True])
def test_compiled_encoding_matches_numpy_bit_for_bit(dtype, bits, directx):
    rng = np.random.default_rng(bits)
    n = rng.normal(size=(700, 1100, 3))  # > one thread block, not a multiple of it
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    top = {8: 255, 16: 65535}[bits]
    # Exact ties of the rounding (k + 0.5 after scaling), out-of-range values, ±0.
    n.reshape(-1, 3)[:top, 0] = (np.arange(top) + 0.5 - 0.5 * top) / (0.5 * top)
    n[-1, :4] = [[1.5, -1.5, 0.0], [-0.0, 2.0, -2.0], [1, -1, 0], [1e-30, -1e-30, 0.999999]]
    n = n.astype(dtype)
    np.testing.assert_array_equal(encode_normals(n, bits, directx=directx),
                                  _numpy_encode(n, bits, directx))


def test_compiled_encoding_rejects_non_finite_anywhere():
    n = np.zeros((600, 600, 3), np.float32)
    n[..., 2] = 1
    n[599, 599, 1] = np.inf  # in the last block
    with pytest.raises(NormalkitError, match="NaN or infinite"):
        encode_normals(n, 16)
