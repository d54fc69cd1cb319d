"""Image metrics: angular error statistics, PSNR and SSIM against known answers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from normalkit.core.errors import NormalkitError
from normalkit.rendering.metrics import angular_error, angular_error_stats, psnr, ssim


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _rotate_x(v, degrees):
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    r = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    return v @ r.T


def _random_normals(shape, seed=0):
    rng = np.random.default_rng(seed)
    return _unit(rng.normal(size=shape + (3,)))


# --- angular error -------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 179.0))
def test_a_known_rotation_gives_its_angle_at_every_pixel(deg):
    # Rotating about x turns vectors in the y-z plane by exactly `deg`.
    phi = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    a = np.stack([np.zeros_like(phi), np.cos(phi), np.sin(phi)], -1).reshape(8, 8, 3)
    s = angular_error_stats(a, _rotate_x(a, deg))
    for key in ("mean", "median", "p95"):
        assert s[key] == pytest.approx(deg, abs=2e-3)
    assert s["pixels"] == 64


def test_small_angles_are_accurate():
    a = np.array([[0.0, 0.0, 1.0]])
    err = angular_error(a, _rotate_x(a, 0.01))
    assert err[0] == pytest.approx(0.01, rel=1e-3)
    assert angular_error(a, a)[0] == 0.0


def test_stats_of_mixed_rotations_and_the_mask():
    # 100 pixels: pixel k is rotated by k/10 degrees; pixels ≥ 90 are masked out.
    a = np.tile([0.0, 0.0, 1.0], (10, 10, 1))
    deg = np.arange(100).reshape(10, 10) / 10.0
    b = np.stack([np.zeros_like(deg), -np.sin(np.radians(deg)), np.cos(np.radians(deg))], -1)
    mask = deg < 9.0
    s = angular_error_stats(a, b, mask)
    kept = deg[mask]
    assert s["pixels"] == 90
    assert s["mean"] == pytest.approx(kept.mean(), abs=1e-4)
    assert s["median"] == pytest.approx(np.median(kept), abs=1e-4)
    assert s["p95"] == pytest.approx(np.percentile(kept, 95), abs=1e-4)


def test_angular_error_ignores_vector_length():
    a = _random_normals((5, 5))
    assert np.allclose(angular_error(a, 3.0 * a), 0.0, atol=1e-3)
    assert np.allclose(angular_error(a, -a), 180.0, atol=1e-3)


@pytest.mark.parametrize("bad", [
    lambda: angular_error_stats(np.zeros((4, 4, 3)), np.zeros((4, 5, 3))),
    lambda: angular_error_stats(np.zeros((4, 4, 2)), np.zeros((4, 4, 2))),
    lambda: angular_error_stats(np.ones((4, 4, 3)), np.ones((4, 4, 3)), np.zeros((4, 4), bool)),
    lambda: angular_error_stats(np.ones((4, 4, 3)), np.ones((4, 4, 3)), np.ones((4, 5), bool)),
])
def test_bad_input_names_the_problem(bad):
    with pytest.raises(NormalkitError):
        bad()


# --- PSNR ----------------------------------------------------------------------------

def test_psnr_of_identical_images_is_infinite():
    img = np.random.default_rng(1).random((16, 16, 3))
    assert psnr(img, img) == math.inf


def test_psnr_of_known_noise_matches_the_formula():
    rng = np.random.default_rng(2)
    ref = rng.random((64, 64, 3))
    noise = rng.normal(0.0, 0.05, ref.shape)
    mse = np.mean(noise ** 2)
    assert psnr(ref + noise, ref) == pytest.approx(10 * np.log10(1.0 / mse), rel=1e-12)
    # σ = 0.05 on a unit range: ≈ 20·log10(1/0.05) = 26.02 dB
    assert psnr(ref + noise, ref) == pytest.approx(26.02, abs=0.1)
    # data_range scales as 20·log10
    assert psnr(255 * (ref + noise), 255 * ref, data_range=255.0) == pytest.approx(
        psnr(ref + noise, ref), rel=1e-9)


def test_psnr_counts_only_masked_pixels():
    ref = np.zeros((8, 8))
    img = ref.copy()
    img[:, :4] = 0.1  # error only in the left half
    left = np.zeros((8, 8), bool)
    left[:, :4] = True
    assert psnr(img, ref, left) == pytest.approx(20.0, abs=1e-9)  # MSE = 0.01
    assert psnr(img, ref, ~left) == math.inf
    assert psnr(img, ref) == pytest.approx(10 * np.log10(1 / 0.005), abs=1e-9)


def test_psnr_rejects_a_bad_range():
    with pytest.raises(NormalkitError, match="data_range"):
        psnr(np.zeros((4, 4)), np.zeros((4, 4)), data_range=0)


# --- SSIM ----------------------------------------------------------------------------

def test_ssim_of_identical_images_is_one():
    img = np.random.default_rng(3).random((32, 40, 3))
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    mask = np.zeros((32, 40), bool)
    mask[10:20, 10:30] = True
    assert ssim(img, img, mask) == pytest.approx(1.0, abs=1e-12)


def test_ssim_without_mask_equals_scikit_image():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(4)
    ref = rng.random((48, 48, 3))
    img = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1)
    expected = structural_similarity(img, ref, data_range=1.0, channel_axis=-1,
                                     gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    assert ssim(img, ref) == pytest.approx(expected, abs=1e-12)
    assert ssim(img, ref) < 0.99


def test_ssim_falls_with_noise():
    rng = np.random.default_rng(5)
    ref = rng.random((32, 32))
    values = [ssim(np.clip(ref + rng.normal(0, s, ref.shape), 0, 1), ref)
              for s in (0.01, 0.05, 0.2)]
    assert values[0] > values[1] > values[2]


def test_ssim_rejects_images_smaller_than_its_window():
    with pytest.raises(NormalkitError, match="11"):
        ssim(np.zeros((8, 8)), np.zeros((8, 8)))
