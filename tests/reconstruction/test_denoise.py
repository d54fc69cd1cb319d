"""Noise in input normal maps: measured, and smoothed only when it is there."""

import numpy as np
import pytest

from normalkit.reconstruction.denoise import (
    CLEAN_DEG,
    denoise_views,
    roughness_deg,
    smooth_normals_image,
)
from normalkit.reconstruction.views import View
from normalkit.rendering.camera import Camera


def _sphere_view(size: int = 96):
    """Orthographic view of a unit sphere filling most of the frame: exact normals."""
    cam = Camera.orthographic_look_at((0, 0, 5), (0, 0, 0), up=(0, 1, 0), ortho_scale=2.4,
                                      width=size, height=size)
    c = (np.arange(size) + 0.5) / size * 2.4 - 1.2
    x, y = np.meshgrid(c, -c)
    r2 = x * x + y * y
    mask = r2 < 0.95
    n = np.zeros((size, size, 3), np.float32)
    n[mask] = np.stack([x[mask], y[mask], np.sqrt(1 - r2[mask])], axis=1)
    return View(camera=cam, normals=n, mask=mask, name="sphere")


def _noisy(v: View, deg: float, seed: int = 0) -> View:
    rng = np.random.default_rng(seed)
    n = v.normals.astype(np.float64)
    g = rng.normal(size=n.shape)
    g -= np.sum(g * n, axis=-1, keepdims=True) * n
    g /= np.maximum(np.linalg.norm(g, axis=-1, keepdims=True), 1e-12)
    a = np.radians(deg) * np.abs(rng.normal(size=n.shape[:2]))[..., None]
    out = np.cos(a) * n + np.sin(a) * g
    out[~v.mask] = 0
    return View(camera=v.camera, normals=out.astype(np.float32), mask=v.mask, name=v.name)


def _median_error(a, b, mask):
    return float(np.degrees(np.median(np.arccos(np.clip(
        np.sum(a[mask] * b[mask], axis=-1), -1, 1)))))


def test_a_clean_map_is_smooth_and_left_exactly_as_it_is():
    v = _sphere_view()
    assert roughness_deg(v.normals, v.mask) < CLEAN_DEG
    out, stats = denoise_views([v])
    assert out[0] is v and stats[0]["sigma_px"] == 0.0


@pytest.mark.parametrize("deg", [5.0, 10.0])
def test_noise_is_measured_and_smoothed_away(deg):
    clean = _sphere_view()
    noisy = _noisy(clean, deg)
    r = roughness_deg(noisy.normals, noisy.mask)
    assert 0.8 * deg < r < 2.0 * deg
    notes = []
    out, stats = denoise_views([noisy], log=notes.append)
    assert stats[0]["sigma_px"] > 0 and len(notes) == 1
    before = _median_error(noisy.normals, clean.normals, clean.mask)
    after = _median_error(out[0].normals, clean.normals, clean.mask)
    assert after < 0.5 * before
    assert np.all(out[0].normals[~clean.mask] == 0)  # the background stays empty


def test_smoothing_keeps_unit_length_and_never_pulls_in_the_background():
    v = _sphere_view()
    s = smooth_normals_image(v.normals, v.mask, 2.0)
    lengths = np.linalg.norm(s[v.mask], axis=-1)
    assert np.allclose(lengths, 1, atol=1e-5)
    # At the rim the mean of inside normals only: still pointing outward, not toward 0.
    rim = v.mask & ~np.roll(v.mask, 1, axis=1)
    assert np.all(s[rim][:, 0] < 0)


def test_a_noisy_view_keeps_its_detail_but_takes_the_mesh_s_smooth_shape():
    """A smooth tilt (an estimator's) is taken out; a clean view is left alone."""
    from normalkit.reconstruction.denoise import keep_detail_only
    from scenes import unit_sphere

    clean = _sphere_view(128)
    n = clean.normals.astype(np.float64)
    h, w = clean.mask.shape
    y, x = np.mgrid[0:h, 0:w] / h
    angle = np.radians(6.0) * np.sin(2 * np.pi * (0.6 * x + 0.3 * y))[..., None]
    axis = np.array([0.0, 0.0, 1.0])
    tilted = np.cos(angle) * n + np.sin(angle) * np.cross(axis, n)  # turn about z
    tilted[~clean.mask] = 0
    noisy = View(camera=clean.camera, normals=tilted.astype(np.float32), mask=clean.mask,
                 name="tilted")
    mesh = unit_sphere(5)
    before = _median_error(noisy.normals, clean.normals, clean.mask)
    out = keep_detail_only([noisy, clean], mesh,
                           [{"sigma_px": 1.0}, {"sigma_px": 0.0}])
    after = _median_error(out[0].normals, clean.normals, clean.mask)
    assert after < 0.5 * before, (before, after)
    assert out[1] is clean
