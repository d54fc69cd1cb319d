"""normalkit.reconstruction.shape's crease handling, on a folded sheet whose answer is
known: the plane z = 0 for x < 0 meets the plane z = 3x for x > 0 (72° apart) along
the y axis."""

from __future__ import annotations

import numpy as np

from normalkit.mesh.model import Mesh
from normalkit.reconstruction.shape import _edges, _relax, _snap_creases, euler_characteristic
from scenes import unit_sphere

SLOPE = np.array([-3.0, 0.0, 1.0]) / np.sqrt(10.0)  # the normal of z = 3x
FLAT = np.array([0.0, 0.0, 1.0])


def folded_sheet(xs) -> tuple[np.ndarray, np.ndarray]:
    """Grid vertices at columns ``xs`` and rows y = 0, 0.1, …, 1 on the fold."""
    ys = np.linspace(0.0, 1.0, 11)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    p = np.stack([x.ravel(), y.ravel(), 3.0 * np.maximum(x, 0.0).ravel()], axis=1)
    n = len(ys)
    faces = []
    for i in range(len(xs) - 1):
        for j in range(n - 1):
            a, b, c, d = i * n + j, (i + 1) * n + j, (i + 1) * n + j + 1, i * n + j + 1
            faces += [(a, b, c), (a, c, d)]
    return p, np.array(faces)


def test_snap_pulls_crease_vertices_back_onto_the_crease():
    """Each snap solves the vertex's QEF over planes through its faces' centroids, which
    include the vertex itself (weight 1/3): a vertex off the crease comes part of the way
    back per round and converges over the rounds the refinement runs, moving in the
    crease's normal plane only; vertices among faces of one plane do not move."""
    xs = np.array([-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3])
    p, f = folded_sheet(xs)
    on = p[:, 0] == 0.0
    target = np.where(p[f].mean(axis=1)[:, :1] < 0, FLAT, SLOPE)
    q0 = _snap_creases(p, f, target, np.ones(len(f)))
    np.testing.assert_allclose(q0, p, atol=1e-12)  # the exact fold is a fixed point
    moved = p.copy()
    moved[on, 0] += 0.02  # off the crease, along the flat side's plane
    q = _snap_creases(moved, f, target, np.ones(len(f)))
    off = np.linalg.norm(q[on][:, [0, 2]], axis=1)
    assert np.all(off < 0.7 * 0.02), off
    for _ in range(15):
        q = _snap_creases(q, f, target, np.ones(len(f)))
    assert np.linalg.norm(q[on][:, [0, 2]], axis=1).max() < 1e-4
    np.testing.assert_allclose(q[on, 1], p[on, 1], atol=1e-12)  # not along the crease
    np.testing.assert_array_equal(q[np.abs(p[:, 0]) > 0.15], moved[np.abs(p[:, 0]) > 0.15])


def test_relax_slides_crease_vertices_along_the_crease_only():
    xs = np.array([-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3])
    p, f = folded_sheet(xs)
    rng = np.random.default_rng(0)
    on = p[:, 0] == 0.0
    p[on, 1] += rng.uniform(-0.03, 0.03, on.sum()) * (p[on, 1] > 0) * (p[on, 1] < 1)
    q = _relax(p, f, _edges(f), 0.5)
    np.testing.assert_allclose(q[on][:, [0, 2]], 0.0, atol=1e-12)  # still on the crease
    assert np.abs(q[on, 1] - p[on, 1]).max() > 1e-3  # but spaced along it
    inner = (np.abs(p[:, 0]) > 0.05) & (np.abs(p[:, 0]) < 0.25)
    np.testing.assert_allclose(q[inner, 2], 3.0 * np.maximum(q[inner, 0], 0.0), atol=1e-12)


def test_euler_characteristic_counts_handles():
    s = unit_sphere(2)
    assert euler_characteristic(s) == 2
    import trimesh

    t = trimesh.creation.torus(1.0, 0.3)
    assert euler_characteristic(Mesh(positions=t.vertices, faces=t.faces)) == 0
