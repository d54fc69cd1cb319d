"""Mipmaps: block means of the level-0 unit normals at every level (odd sizes too),
renormalized outputs, and Toksvig roughness against its closed form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalkit.core.errors import NormalkitError
from normalkit.maps.mips import average_chain, mip_chain, mip_count, toksvig_roughness


def _unit(rng, shape):
    v = rng.normal(size=shape + (3,))
    v[..., 2] = np.abs(v[..., 2]) + 0.3
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_power_of_two_levels_are_block_means():
    rng = np.random.default_rng(0)
    n = _unit(rng, (16, 8))
    chain = average_chain(n)
    assert [c.shape[:2] for c in chain] == [(16, 8), (8, 4), (4, 2), (2, 1), (1, 1)]
    for k, level in enumerate(chain):
        b = 2**k
        rows, cols = max(1, 16 // b), max(1, 8 // b)
        expect = n.reshape(rows, 16 // rows, cols, 8 // cols, 3).mean(axis=(1, 3))
        np.testing.assert_allclose(level, expect, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 23), st.integers(1, 23), st.integers(0, 2**32 - 1))
def test_every_level_texel_counts_once_for_any_size(h, w, seed):
    # Odd sizes fold their last texel into the last pair; the top level is the mean of
    # all level-0 normals, and the levels shrink by halving down to 1 × 1.
    n = _unit(np.random.default_rng(seed), (h, w))
    chain = average_chain(n)
    assert len(chain) == mip_count(h, w) == int(max(h, w)).bit_length()
    assert chain[-1].shape == (1, 1, 3)
    for a, b in zip(chain, chain[1:], strict=False):
        assert b.shape[:2] == (max(1, a.shape[0] // 2), max(1, a.shape[1] // 2))
    np.testing.assert_allclose(chain[-1][0, 0], n.reshape(-1, 3).mean(axis=0), atol=1e-5)
    assert all((np.linalg.norm(c, axis=-1) <= 1 + 1e-6).all() for c in chain)


def test_odd_size_uses_blocks_of_two_and_three():
    n = _unit(np.random.default_rng(1), (3, 5))
    level1 = average_chain(n, levels=2)[1]
    assert level1.shape == (1, 2, 3)
    np.testing.assert_allclose(level1[0, 0], n[:, :2].reshape(-1, 3).mean(0), atol=1e-6)
    np.testing.assert_allclose(level1[0, 1], n[:, 2:].reshape(-1, 3).mean(0), atol=1e-6)


def test_mip_chain_is_unit_and_keeps_a_constant_map():
    rng = np.random.default_rng(2)
    chain = mip_chain(_unit(rng, (32, 32)) * 5)  # inputs are normalized first
    for level in chain:
        np.testing.assert_allclose(np.linalg.norm(level, axis=-1), 1.0, atol=1e-6)
    const = np.broadcast_to(np.array([0.6, 0.0, 0.8], np.float32), (8, 8, 3))
    for level in mip_chain(const):
        np.testing.assert_allclose(level, np.broadcast_to([0.6, 0.0, 0.8], level.shape),
                                   atol=1e-6)
    opposite = np.zeros((2, 2, 3), np.float32)
    opposite[:, 0, 0], opposite[:, 1, 0] = 1, -1
    np.testing.assert_array_equal(mip_chain(opposite)[1][0, 0], [0, 0, 1])  # zero mean → flat


def test_levels_limits_the_chain():
    n = _unit(np.random.default_rng(3), (8, 8))
    assert len(mip_chain(n, levels=2)) == 2
    assert len(mip_chain(n, levels=1)) == 1


@pytest.mark.parametrize("theta", [2.0, 10.0, 30.0])
def test_toksvig_roughness_closed_form_on_a_checkerboard(theta):
    # Normals alternating ±θ around z average to length cos θ.
    t = np.radians(theta)
    n = np.zeros((4, 4, 3), np.float32)
    sign = np.where((np.add.outer(np.arange(4), np.arange(4)) % 2) == 0, 1.0, -1.0)
    n[..., 0] = sign * np.sin(t)
    n[..., 2] = np.cos(t)
    means = average_chain(n)
    np.testing.assert_allclose(np.linalg.norm(means[1], axis=-1), np.cos(t), atol=1e-6)
    r = np.cos(t)
    for base in (0.0, 0.3):
        expect = (base**4 + 2 * ((1 - r) / r - 1e-6)) ** 0.25
        np.testing.assert_allclose(toksvig_roughness(means[1], base_roughness=base),
                                   np.full((2, 2), expect), rtol=1e-4)
        # unit normals (up to float32 rounding) give the base roughness back
        unit = _unit(np.random.default_rng(9), (16, 16))
        np.testing.assert_allclose(toksvig_roughness(unit, base_roughness=base), base,
                                   atol=1e-6)


def test_roughness_grows_with_level_on_bumpy_maps_and_is_clipped():
    rng = np.random.default_rng(4)
    means = average_chain(_unit(rng, (64, 64)))
    med = [float(np.median(toksvig_roughness(m))) for m in means]
    assert all(a <= b + 1e-6 for a, b in zip(med, med[1:], strict=False))
    assert med[-1] > 0.5
    away = np.zeros((1, 1, 3), np.float32)  # opposite normals cancel: r → 0
    assert toksvig_roughness(away)[0, 0] == 1.0


@pytest.mark.parametrize("call,match", [
    (lambda: mip_chain(np.zeros((4, 4))), r"\(H, W, 3\)"),
    (lambda: mip_chain(np.full((4, 4, 3), np.nan)), "NaN"),
    (lambda: mip_chain(np.ones((4, 4, 3)), levels=0), "levels must be an integer from 1 to 3"),
    (lambda: mip_chain(np.ones((4, 4, 3)), levels=4), "from 1 to 3"),
    (lambda: mip_chain(np.ones((4, 4, 3)), levels=2.5), "levels"),
    (lambda: toksvig_roughness(np.ones((2, 2, 3)), base_roughness=1.5), r"\[0, 1\]"),
    (lambda: toksvig_roughness(np.ones((2, 2))), r"\(H, W, 3\)"),
])
def test_bad_input(call, match):
    with pytest.raises(NormalkitError, match=match):
        call()
