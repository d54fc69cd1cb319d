"""Smooth normals: area- and angle-weighted, welded across UV seams, split at hard angles."""

import numpy as np

from conftest import angle_deg
from normalkit.mesh.examples import torus
from normalkit.mesh.model import Mesh
from normalkit.mesh.normals import corner_angles, ensure_normals, smooth_normals


def cube() -> Mesh:
    """Unit cube with every face's corners duplicated (as an OBJ with per-face UVs)."""
    import trimesh

    box = trimesh.creation.box()
    corners = box.vertices[box.faces]
    return Mesh(positions=corners.reshape(-1, 3), faces=np.arange(36).reshape(12, 3))


def test_sphere_normals_are_radial():
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=4)
    m = Mesh(positions=s.vertices, faces=s.faces)
    n = smooth_normals(m)
    radial = m.corner_positions()
    assert angle_deg(n, radial).max() < 0.5  # icosphere vertices are not all alike


def test_seams_do_not_split_normals():
    # The torus has duplicated vertices along its UV seams; normals must still agree there.
    t = torus(24, 12)
    err = angle_deg(t.normals, _analytic_torus_normal(t.corner_positions()))
    assert err.max() < 3.0  # coarse mesh: angle-weighted normals vs the analytic torus
    seam = np.isclose(t.uvs[..., 0], 0.0) | np.isclose(t.uvs[..., 0], 1.0)
    p = t.corner_positions()[seam]
    n = t.normals[seam]
    order = np.lexsort(p.T)
    p, n = p[order], n[order]
    same = np.all(p[1:] == p[:-1], axis=1)
    assert same.sum() > 10
    np.testing.assert_allclose(n[1:][same], n[:-1][same], atol=1e-12)


def _analytic_torus_normal(p, major=1.0):
    ring = p.copy()
    ring[..., 2] = 0
    ring = ring / np.linalg.norm(ring, axis=-1, keepdims=True) * major
    return p - ring


def test_hard_angle_splits_cube_edges():
    m = cube()
    smooth = smooth_normals(m)
    hard = smooth_normals(m, hard_angle=60)
    flat = smooth_normals(m, flat=True)
    np.testing.assert_allclose(hard, flat, atol=1e-12)
    # Without a hard angle, corners are averaged: 54.7° from each face normal.
    np.testing.assert_allclose(angle_deg(smooth, flat), np.degrees(np.arccos(1 / np.sqrt(3))),
                               atol=1e-6)
    # A 100° threshold keeps the cube's 90° edges smooth.
    np.testing.assert_allclose(smooth_normals(m, hard_angle=100), smooth, atol=1e-12)


def test_weights_are_area_times_angle():
    # Two triangles meeting at the origin: a big one in the xy-plane, a small one in xz.
    pos = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 0.1], [0.1, 0, 0]], float)
    m = Mesh(positions=pos, faces=np.array([[0, 1, 2], [0, 4, 3]]))
    n = smooth_normals(m)[0, 0]
    ang = corner_angles(m.corner_positions())
    w_big = ang[0, 0] * 4.0  # |cross| = 2·area
    w_small = ang[1, 0] * 0.01
    expected = w_big * np.array([0, 0, 1.0]) + w_small * np.array([0, -1.0, 0])
    np.testing.assert_allclose(n, expected / np.linalg.norm(expected), atol=1e-12)


def test_ensure_normals_keeps_file_normals_and_says_when_it_computes():
    msgs = []
    t = torus(8, 4)
    assert ensure_normals(t, log=msgs.append) is t and not msgs
    r = ensure_normals(t.replace(normals=None), log=msgs.append)
    assert r.normals is not None and len(msgs) == 1 and "no normals" in msgs[0]
