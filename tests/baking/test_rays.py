"""Embree ray casting: exact hits on analytic geometry, chunking, misses, tfar."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from normalkit.baking import rays
from normalkit.baking.rays import RayCaster

# The plane z = 0.5 over [0, 1]², as two triangles.
PLANE_V = np.array([[0, 0, 0.5], [1, 0, 0.5], [1, 1, 0.5], [0, 1, 0.5]], float)
PLANE_F = np.array([[0, 1, 2], [0, 2, 3]])


def _grid_rays(n):
    rng = np.random.default_rng(3)
    xy = rng.uniform(-0.2, 1.2, (n, 2))
    o = np.column_stack([xy, np.full(n, 2.0)]).astype(np.float32)
    d = np.tile(np.float32([0, 0, -2.0]), (n, 1))  # not unit: t is in units of |d|
    return xy, o, d


def test_hits_on_a_plane_are_exact():
    caster = RayCaster(PLANE_V, PLANE_F)
    xy, o, d = _grid_rays(5000)
    tfar = np.full(len(o), np.inf, np.float32)
    h = caster.intersect(o, d, tfar)
    inside = np.all((xy >= 0) & (xy <= 1), axis=1)
    edge = np.any(np.abs(xy - np.round(xy)) < 1e-5, axis=1) | (np.abs(xy[:, 0] - xy[:, 1]) < 1e-5)
    assert np.array_equal((h.prim >= 0)[~edge], inside[~edge])
    hit = h.prim >= 0
    np.testing.assert_allclose(h.t[hit], 0.75, atol=1e-6)  # (2 − 0.5) / |d|
    # Barycentrics reproduce the hit point on its triangle.
    tri = PLANE_V[PLANE_F[h.prim[hit]]]
    u, v = h.u[hit, None], h.v[hit, None]
    p = (1 - u - v) * tri[:, 0] + u * tri[:, 1] + v * tri[:, 2]
    np.testing.assert_allclose(p[:, :2], xy[hit], atol=1e-6)
    assert np.all(np.isinf(tfar))  # the caller's tfar is left alone


def test_tfar_limits_the_hit_distance():
    caster = RayCaster(PLANE_V, PLANE_F)
    o = np.float32([[0.3, 0.3, 2.0], [0.3, 0.3, 2.0]])
    d = np.float32([[0, 0, -1], [0, 0, -1]])
    h = caster.intersect(o, d, np.float32([1.49, 1.51]))
    assert h.prim[0] == -1 and h.prim[1] >= 0


@pytest.mark.parametrize("use_pool", [False, True])
def test_chunked_batches_match_one_batch(monkeypatch, use_pool):
    caster = RayCaster(PLANE_V, PLANE_F)
    _, o, d = _grid_rays(3000)
    tfar = np.full(len(o), np.inf, np.float32)
    one = caster.intersect(o, d, tfar)
    monkeypatch.setattr(rays, "CHUNK", 256)
    with ThreadPoolExecutor(2) as pool:
        many = caster.intersect(o, d, tfar, pool if use_pool else None)
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(a, b)
