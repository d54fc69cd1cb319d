"""The procedural solids of normalkit.mesh.examples: closed, manifold, outward, coloured."""

from __future__ import annotations

import numpy as np
import pytest

from normalkit.mesh.examples import bumpy_sphere, cup, geodesic_sphere, pattern_colors
from normalkit.mesh.model import Mesh


def _edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) directed edges, each triangle's in its winding order."""
    return np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])


def _signed_volume(mesh: Mesh) -> float:
    c = mesh.corner_positions()
    return float(np.einsum("ij,ij->i", c[:, 0], np.cross(c[:, 1], c[:, 2])).sum() / 6.0)


def _check_closed_solid(mesh: Mesh, agree: float = 0.99) -> None:
    mesh.validate()
    d = _edges(mesh.faces)
    _, counts = np.unique(np.sort(d, axis=1), axis=0, return_counts=True)
    assert (counts == 2).all(), "every edge is shared by exactly two triangles"
    # Consistent winding: each directed edge once (its twin runs the other way).
    assert len(np.unique(d, axis=0)) == len(d)
    # Manifold at the vertices too: V − E + F = 2 for one closed sphere-like surface.
    used = np.unique(mesh.faces)
    assert len(used) == len(mesh.positions)
    assert len(used) - len(counts) + mesh.n_faces == 2
    c = mesh.corner_positions()
    area = np.linalg.norm(np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]), axis=1)
    assert area.min() > 0
    assert _signed_volume(mesh) > 0, "outward-oriented"
    assert mesh.colors is not None and mesh.colors.shape == (mesh.n_faces, 3, 4)
    assert mesh.colors.dtype == np.float32
    assert 0.0 <= mesh.colors.min() and mesh.colors.max() <= 1.0
    assert mesh.normals is not None and mesh.normals.shape == (mesh.n_faces, 3, 3)
    # Smooth normals agree with the outward face normals (on a coarse mesh the corners of
    # a rim only a triangle wide average both of its sides).
    assert (np.einsum("fkc,fc->fk", mesh.normals, mesh.face_normals()) > 0).mean() >= agree


def test_cup_is_a_closed_outward_solid_with_a_cavity():
    mesh = cup()
    _check_closed_solid(mesh)
    assert 40_000 <= mesh.n_faces <= 80_000
    p = mesh.positions
    assert p[:, 2].min() == pytest.approx(0.0, abs=1e-9)
    assert p[:, 2].max() == pytest.approx(1.0, abs=1e-3)
    # A real concavity: the solid's volume is a fraction of its outer envelope's (a cone
    # frustum of radii 0.4 and 0.5, height 1, whose volume is π/3·(0.16 + 0.2 + 0.25)).
    assert 0.15 < _signed_volume(mesh) / (np.pi / 3 * 0.61) < 0.35
    # The axis at the inner floor is the cavity's bottom: its normal points up (+z).
    top_pole = np.argmax((p[:, 0] ** 2 + p[:, 1] ** 2 < 1e-12) * p[:, 2])
    fan = np.nonzero((mesh.faces == top_pole).any(axis=1))[0]
    assert p[top_pole, 2] == pytest.approx(0.08)
    assert (mesh.face_normals()[fan, 2] > 0.99).all()


def test_cup_sizes():
    mesh = cup(segments=16, profile_points=20)
    _check_closed_solid(mesh, agree=0.95)
    assert mesh.n_faces == 2 * 16 * 18


def test_bumpy_sphere_is_a_closed_outward_solid_with_fine_bumps():
    mesh = bumpy_sphere()
    _check_closed_solid(mesh)
    assert mesh.n_faces >= 100_000
    r = np.linalg.norm(mesh.positions, axis=1)
    assert r.min() >= 1 - 0.015 - 1e-9 and r.max() <= 1 + 0.015 + 1e-9
    assert r.max() - r.min() > 0.02  # the bumps are there, a few % of the radius
    assert _signed_volume(mesh) == pytest.approx(4 / 3 * np.pi, rel=0.01)


@pytest.mark.parametrize("frequency", [1, 2, 5])
def test_geodesic_sphere_welds_exactly(frequency):
    positions, faces = geodesic_sphere(frequency)
    assert len(faces) == 20 * frequency**2
    assert len(positions) == 10 * frequency**2 + 2
    np.testing.assert_allclose(np.linalg.norm(positions, axis=1), 1.0)
    _check_closed_solid(Mesh(positions=positions, faces=faces, normals=None,
                             colors=np.zeros((len(faces), 3, 4), np.float32)).replace(
        normals=np.repeat(_face_normals(positions, faces)[:, None], 3, axis=1)))


def _face_normals(positions, faces):
    c = positions[faces]
    n = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def test_pattern_colors_per_vertex_in_range():
    positions, faces = geodesic_sphere(4)
    mesh = Mesh(positions=positions * [3.0, 1.0, 0.5], faces=faces)
    col = pattern_colors(mesh)
    assert col.shape == (len(faces), 3, 4) and col.dtype == np.float32
    assert 0.0 <= col.min() and col.max() <= 1.0
    np.testing.assert_array_equal(col[..., 3], 1.0)
    # One colour per vertex: corners that share a vertex agree.
    per_vertex = np.zeros((len(positions), 4), np.float32)
    per_vertex[faces.ravel()] = col.reshape(-1, 4)
    np.testing.assert_array_equal(per_vertex[faces], col)
    # A pattern, not a flat colour; and invariant to where the mesh sits.
    assert col[..., :3].std() > 0.05
    moved = mesh.replace(positions=mesh.positions + [10.0, -5.0, 2.0])
    np.testing.assert_allclose(pattern_colors(moved), col, atol=1e-5)

