"""Decimation: face budgets, parts, borders, the measured error, and bad targets."""

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ASSETS, grid_plane
from normalkit.assets.decimate import (
    _closest_on_triangles,
    _share_budget,
    decimate,
    surface_distance,
    target_faces,
)
from normalkit.core.errors import NormalkitError
from normalkit.mesh.examples import bumpy_torus_pair, torus
from normalkit.mesh.model import Mesh


@pytest.fixture(scope="module")
def bumpy():
    return bumpy_torus_pair(high_faces=20_000, low_faces=64)[0]


def _parts(mesh: Mesh) -> int:
    from normalkit.assets.decimate import part_labels

    return part_labels(mesh.faces, len(mesh.positions))[1]


def _brute_distance(points, mesh):
    tri = mesh.positions[mesh.faces]
    out = np.empty(len(points))
    for i, p in enumerate(points):
        q, _ = _closest_on_triangles(np.broadcast_to(p, (len(tri), 3)), tri)
        out[i] = np.sqrt(((q - p) ** 2).sum(axis=1).min())
    return out


@pytest.mark.parametrize("faces", [1000, 999, 64])
def test_face_count_is_hit(bumpy, faces):
    low, info = decimate(bumpy, faces=faces)
    assert faces - 1 <= low.n_faces <= faces
    assert info.faces_out == low.n_faces and info.target == faces
    assert info.faces_in == bumpy.n_faces
    assert low.normals is None and low.uvs is None and low.colors is None
    low.validate()


def test_ratio_gives_the_rounded_share(bumpy):
    low, info = decimate(bumpy, ratio=0.05)
    assert info.target == round(0.05 * bumpy.n_faces)
    assert info.target - 1 <= low.n_faces <= info.target


def test_seams_are_welded_so_a_closed_surface_stays_closed(bumpy):
    # The generated torus duplicates positions along its UV seams; decimation welds them.
    low, info = decimate(bumpy, faces=500)
    assert info.border_edges == 0 and info.border_mode == "none"
    assert trimesh.Trimesh(low.positions, low.faces, process=False).is_watertight


def test_error_is_measured_and_small_for_a_dense_target(bumpy):
    low, info = decimate(bumpy, faces=2000)
    assert 0 < info.mean_error <= info.max_error
    assert info.relative_error == pytest.approx(info.max_error / info.diagonal)
    assert info.max_error < 0.01 * info.diagonal  # bumps of 0.02 on a 3.9-diagonal torus
    assert max(info.max_outside, info.max_inside) == pytest.approx(info.max_error)
    # The reported maximum is exact: brute force over every high-poly vertex agrees.
    exact = _brute_distance(bumpy.positions[::7], low)
    assert exact.max() <= info.max_error + 1e-12


def test_surface_distance_matches_brute_force(bumpy):
    low, _ = decimate(bumpy, faces=300)
    rng = np.random.default_rng(1)
    pts = bumpy.positions[rng.choice(len(bumpy.positions), 400, replace=False)]
    pts = pts + rng.normal(scale=0.01, size=pts.shape)
    dirs = rng.normal(size=pts.shape)  # poor probe directions: the fallbacks must cope
    est = np.abs(surface_distance(pts, dirs, low.positions, low.faces))
    exact = _brute_distance(pts, low)
    assert np.all(est >= exact - 1e-12)  # an upper bound everywhere
    assert est.max() == pytest.approx(exact.max(), rel=1e-9)  # the maximum is exact
    assert np.mean(est - exact < 1e-9) > 0.9


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_closest_point_on_triangle_matches_trimesh(seed):
    rng = np.random.default_rng(seed)
    tri = rng.normal(size=(64, 3, 3))
    p = rng.normal(scale=2.0, size=(64, 3))
    q, inside = _closest_on_triangles(p, tri)
    np.testing.assert_allclose(q, trimesh.triangles.closest_point(tri, p), atol=1e-9)
    # "inside" means the closest point is interior: its barycentrics are all positive.
    bary = trimesh.triangles.points_to_barycentric(tri[inside], q[inside])
    assert np.all(bary > -1e-9)


def test_parts_share_the_budget_by_area():
    big = torus(40, 20, major_radius=1.0, minor_radius=0.3)
    small = torus(40, 20, major_radius=0.25, minor_radius=0.075)
    small = small.replace(positions=small.positions + [5.0, 0.0, 0.0])
    both = Mesh(positions=np.concatenate([big.positions, small.positions]),
                faces=np.concatenate([big.faces, small.faces + len(big.positions)]),
                name="two")
    low, info = decimate(both, faces=340)
    assert info.parts == 2 and info.parts_decimated == 2 and info.parts_dropped == 0
    assert 338 <= low.n_faces <= 340
    assert _parts(low) == 2
    on_small = low.positions[low.faces[:, 0], 0] > 2.5
    # Areas differ 16×; the small torus gets about 1/17 of the triangles (at least 4).
    assert 10 <= on_small.sum() <= 40


def test_too_many_parts_for_the_budget_drops_the_smallest_with_a_warning():
    parts = []
    for k in range(30):
        t = torus(8, 4, major_radius=1.0 + 0.01 * k, minor_radius=0.2)
        parts.append(t.replace(positions=t.positions + [3.0 * k, 0.0, 0.0]))
    offsets = np.cumsum([0] + [len(p.positions) for p in parts[:-1]])
    faces = [p.faces + o for p, o in zip(parts, offsets, strict=True)]
    many = Mesh(positions=np.concatenate([p.positions for p in parts]),
                faces=np.concatenate(faces), name="many")
    notes = []
    low, info = decimate(many, faces=40, log=notes.append)
    assert info.parts == 30 and info.parts_dropped == 20
    assert low.n_faces <= 40
    assert any("dropped the 20 smallest" in n for n in notes)
    # The largest parts (by area) survive.
    assert low.positions[:, 0].max() > 3.0 * 25


def test_open_borders_stay_in_place():
    h = lambda x, y: 0.05 * np.sin(6 * x) * np.cos(5 * y)  # noqa: E731
    plane = grid_plane(40, height=h)
    low, info = decimate(plane, faces=200)
    assert info.border_edges > 0 and info.border_mode == "preserved"
    assert 199 <= low.n_faces <= 200
    tm = trimesh.Trimesh(low.positions, low.faces, process=False)
    edges = tm.edges_sorted[trimesh.grouping.group_rows(tm.edges_sorted, require_count=1)]
    border = low.positions[np.unique(edges)]
    on_square = np.isclose(border[:, 0], 0) | np.isclose(border[:, 0], 1) | \
        np.isclose(border[:, 1], 0) | np.isclose(border[:, 1], 1)
    assert on_square.all()
    # The outline is complete: the border still spans the whole square.
    assert np.allclose(border[:, :2].min(axis=0), 0) and np.allclose(border[:, :2].max(axis=0), 1)


def test_nonmanifold_edges_are_reported():
    plane = grid_plane(6)  # vertices 8 and 16 span an interior diagonal (two triangles)
    fin = Mesh(positions=np.concatenate([plane.positions, [[0.3, 0.3, 0.7]]]),
               faces=np.concatenate([plane.faces, [[8, 16, len(plane.positions)]]]), name="fin")
    notes = []
    _, info = decimate(fin, faces=30, log=notes.append)
    assert info.nonmanifold_edges == 1
    assert any("non-manifold" in n for n in notes)


@pytest.mark.parametrize("kw, fix", [
    ({"faces": 0}, "at least 1"),
    ({"faces": -5}, "at least 1"),
    ({"faces": 10_000_000}, "at most"),
    ({"ratio": 0.0}, "(0, 1]"),
    ({"ratio": 1.5}, "(0, 1]"),
    ({"ratio": 1e-9}, "leaves none"),
    ({}, "exactly one"),
    ({"faces": 10, "ratio": 0.5}, "exactly one"),
    ({"faces": 2.5}, "whole number"),
])
def test_bad_targets_name_the_fix(bumpy, kw, fix):
    with pytest.raises(NormalkitError, match=fix.replace("(", r"\(").replace("]", r"\]")):
        decimate(bumpy, **kw)


def test_target_equal_to_the_input_keeps_everything(bumpy):
    assert target_faces(100, faces=100) == 100
    low, info = decimate(bumpy, faces=bumpy.n_faces)
    assert low.n_faces == bumpy.n_faces and info.parts_decimated == 0 and info.max_error < 1e-9


def test_budget_sharing_is_exact_and_capped():
    faces = np.array([1000, 10, 500, 3])
    area = np.array([10.0, 5.0, 1.0, 0.001])
    b = _share_budget(300, faces, area)
    assert b.sum() == 300 and np.all(b <= faces) and np.all(b >= np.minimum(faces, 4))
    assert b[1] == 10  # capped at its own count; the rest goes to the others by area
    assert b[0] > b[2]


def test_fandisk_keeps_its_features(assets):
    from normalkit.mesh.io import load_mesh

    path = ASSETS / "meshes" / "fandisk.obj"
    low, info = decimate(load_mesh(path), faces=1500)
    assert 1499 <= low.n_faces <= 1500
    assert info.relative_error < 0.002  # sharp CAD features survive the reduction


def test_back_to_back_triangles_are_dropped_with_their_unused_vertices():
    from normalkit.assets.decimate import drop_doubled

    p = np.arange(18, dtype=float).reshape(6, 3)
    t = np.array([[0, 1, 2], [2, 1, 0], [0, 2, 3], [1, 3, 4], [3, 4, 5], [0, 3, 5],
                  [1, 2, 3]])
    p2, t2 = drop_doubled(p, t)
    assert len(t2) == 5
    assert len(p2) == 6  # every vertex is still used
    assert not ({tuple(sorted(x)) for x in p2[t2][:, :, 0].astype(int) // 3}
                & {(0, 1, 2)})
    # A part crushed to a sheet (nothing but doubled triangles) is kept whole.
    sheet = np.array([[0, 1, 2], [2, 1, 0]])
    assert drop_doubled(p, sheet)[1].shape == (2, 3)
