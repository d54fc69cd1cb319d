"""Height ↔ normal: analytic normals, round trips through the Poisson solvers,
tileability (shift equivariance with wrapped borders) and strength scaling."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import angle_deg
from normalkit.core.errors import NormalkitError
from normalkit.maps.height import FILTERS, height_to_normal, normal_to_height

N = 128
ROW, COL = np.mgrid[0:N, 0:N].astype(np.float64)


def gaussian(amp=12.0, sigma=12.0, cx=70.0, cy=58.0):
    """Bump in texel units and its exact normal (y up = −row)."""
    h = amp * np.exp(-((COL - cx) ** 2 + (ROW - cy) ** 2) / (2 * sigma**2))
    dh_dx = -(COL - cx) / sigma**2 * h
    dh_drow = -(ROW - cy) / sigma**2 * h
    n = np.stack([-dh_dx, dh_drow, np.ones_like(h)], axis=-1)
    return h, n / np.linalg.norm(n, axis=-1, keepdims=True)


def sinusoid(amp=4.0, fx=3, fy=2):
    """Tileable over the N × N image."""
    return amp * np.sin(2 * np.pi * fx * COL / N) * np.cos(2 * np.pi * fy * ROW / N)


def test_a_ramp_gives_its_exact_slope_with_y_up():
    h = 0.5 * COL - 0.25 * ROW  # rises to the right and downward (so falls going up)
    expect = np.array([-0.5, -0.25, 1.0]) / np.linalg.norm([-0.5, -0.25, 1.0])
    for f in FILTERS:
        n = height_to_normal(h, filter=f)
        np.testing.assert_allclose(n[1:-1, 1:-1], np.broadcast_to(expect, (N - 2, N - 2, 3)),
                                   atol=1e-6)


@pytest.mark.parametrize("filt", FILTERS)
def test_gaussian_bump_matches_its_analytic_normals(filt):
    h, n_true = gaussian()
    n = height_to_normal(h, filter=filt)
    err = angle_deg(n.astype(np.float64), n_true)
    assert err.max() < 0.2 and err.mean() < 0.02, (err.max(), err.mean())
    # Above the centre (smaller row) the surface faces up: n_y > 0 (OpenGL green).
    assert n[40, 70, 1] > 0.1 and n[76, 70, 1] < -0.1 and n[58, 50, 0] < -0.1


@pytest.mark.parametrize("filt", FILTERS)
@pytest.mark.parametrize("mode,method", [("clamp", "dct"), ("wrap", "fft"), ("wrap", "dct")])
def test_height_normal_height_round_trip_of_a_bump(filt, mode, method):
    h, _ = gaussian()
    back = normal_to_height(height_to_normal(h, filter=filt, mode=mode), method=method)
    assert back.dtype == np.float32 and back.shape == h.shape
    assert abs(float(back.mean())) < 1e-4  # the free constant is fixed at mean zero
    err = back - (h - h.mean())
    assert np.abs(err).max() < 0.005 * h.max(), np.abs(err).max()


@pytest.mark.parametrize("filt", FILTERS)
def test_tileable_sinusoid_round_trip_with_fft(filt):
    h = sinusoid()
    back = normal_to_height(height_to_normal(h, filter=filt, mode="wrap"), method="fft")
    assert np.abs(back - h).max() < 0.01 * np.abs(h).max()


def test_dct_integrates_a_non_periodic_surface():
    h, _ = gaussian()
    h = h + 0.2 * COL + 0.05 * (ROW - 40) ** 2 / N  # tilted and curved: not tileable
    back = normal_to_height(height_to_normal(h, filter="central"), method="dct")
    err = back - (h - h.mean())
    assert np.sqrt(np.mean(err**2)) < 0.001 * np.ptp(h), np.sqrt(np.mean(err**2))


@pytest.mark.parametrize("shift", [(0, 17), (45, 0), (-31, 90)])
def test_wrapped_borders_make_both_directions_shift_equivariant(shift):
    # f(roll(x)) == roll(f(x)) for every shift is what "tileable" means.
    rng = np.random.default_rng(0)
    h = sinusoid() + rng.normal(scale=0.3, size=(N, N))

    def roll(a):
        return np.roll(a, shift, axis=(0, 1))

    n = height_to_normal(h, mode="wrap")
    np.testing.assert_allclose(height_to_normal(roll(h), mode="wrap"), roll(n), atol=1e-6)
    np.testing.assert_allclose(normal_to_height(roll(n), method="fft"),
                               roll(normal_to_height(n, method="fft")), atol=1e-4)


def test_strength_scales_slopes_and_normal_to_height_undoes_it():
    h, _ = gaussian(amp=3.0)
    np.testing.assert_allclose(height_to_normal(h, strength=2.5), height_to_normal(2.5 * h),
                               atol=1e-6)
    back = normal_to_height(height_to_normal(h, strength=4.0), strength=4.0)
    assert np.abs(back - (h - h.mean())).max() < 0.005 * h.max()


def test_unnormalized_normals_and_steep_or_downward_vectors_are_handled():
    h, n = gaussian()
    a = normal_to_height(n)
    np.testing.assert_allclose(normal_to_height(n * 3.0), a, atol=1e-4)  # scale-free
    n2 = n.copy()
    n2[0, 0] = (1.0, 0.0, -0.5)  # a broken texel: slope clamped, result stays finite
    assert np.isfinite(normal_to_height(n2)).all()


def test_tiny_and_single_row_images():
    assert normal_to_height(np.array([[[0.0, 0.0, 1.0]]])).tolist() == [[0.0]]
    row = height_to_normal(np.arange(5, dtype=np.float64)[None, :], filter="central")
    assert row.shape == (1, 5, 3)
    h = normal_to_height(row, method="dct")
    assert np.all(np.diff(h[0]) > 0)  # a rising ramp comes back rising


@pytest.mark.parametrize("call,match", [
    (lambda: height_to_normal(np.zeros((4, 4, 3))), r"\(H, W\)"),
    (lambda: height_to_normal(np.zeros((4, 4), np.uint8)), "scale integer"),
    (lambda: height_to_normal(np.full((4, 4), np.nan)), "NaN"),
    (lambda: height_to_normal(np.zeros((0, 4))), "empty"),
    (lambda: height_to_normal(np.zeros((4, 4)), filter="prewitt"), "sobel, scharr"),
    (lambda: height_to_normal(np.zeros((4, 4)), mode="reflect"), "clamp, wrap"),
    (lambda: height_to_normal(np.zeros((4, 4)), strength=0), "strength"),
    (lambda: normal_to_height(np.zeros((4, 4))), r"\(H, W, 3\)"),
    (lambda: normal_to_height(np.zeros((4, 4, 3)), method="fourier"), "dct, fft"),
    (lambda: normal_to_height(np.full((4, 4, 3), np.inf)), "NaN"),
    (lambda: normal_to_height(np.zeros((4, 4, 3)), strength=-2), "strength"),
])
def test_bad_input(call, match):
    with pytest.raises(NormalkitError, match=match):
        call()
