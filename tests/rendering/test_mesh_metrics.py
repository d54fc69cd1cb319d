"""Mesh metrics (MeshFormer's protocol) against figures derived by hand.

The sampling floor: N points uniform on a surface of area A are (locally) a Poisson
process of density N / A, whose nearest-neighbour distance from an independent point
has mean ½ √(A / N) and tail P(d > r) = exp(−π r² N / A). Two independent samplings of
one surface therefore give a Chamfer distance of ½ √(A / N), not 0.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import trimesh

import normalkit
from normalkit.core.errors import NormalkitError
from normalkit.mesh.io import save_obj
from normalkit.mesh.model import Mesh
from normalkit.rendering.mesh_metrics import format_metrics, mesh_metrics

N = 20_000


def _mesh(tm: trimesh.Trimesh, name: str) -> Mesh:
    return Mesh(positions=np.asarray(tm.vertices, dtype=np.float64),
                faces=np.asarray(tm.faces, dtype=np.int64), name=name)


@pytest.fixture(scope="module")
def sphere() -> Mesh:
    return _mesh(trimesh.creation.icosphere(subdivisions=5), "sphere")  # 20,480 faces


def _area(mesh: Mesh, scale: float) -> float:
    p = mesh.corner_positions() * scale
    return 0.5 * float(np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]),
                                      axis=1).sum())


def _floor(mesh: Mesh, scale: float, n: int) -> float:
    """Mean nearest-neighbour distance of two independent n-samplings of the surface."""
    return 0.5 * math.sqrt(_area(mesh, scale) / n)


def _rotation(axis: int, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


def test_a_mesh_against_itself_gives_the_sampling_floor_at_the_protocol_size(sphere):
    d = mesh_metrics(sphere, sphere)  # the protocol: 100,000 points, seed 0
    floor = _floor(sphere, d["scale"], 100_000)  # ≈ 0.0028
    assert d["chamfer"] == pytest.approx(floor, rel=0.05)
    assert d["chamfer_sum"] == pytest.approx(2 * d["chamfer"])
    assert d["accuracy"] == pytest.approx(floor, rel=0.05)
    assert d["completeness"] == pytest.approx(floor, rel=0.05)
    # P(d > 0.01) = exp(−π·0.01²·N/A) ≈ 5e-5: F = 1 to within 1e-3 at every τ.
    assert list(d["fscore"]) == ["0.05", "0.02", "0.01"]
    for v in d["fscore"].values():
        assert v["f"] > 0.999 and v["precision"] > 0.999 and v["recall"] > 0.999
    assert d["fscore"]["0.05"]["f"] == 1.0
    assert d["normal_consistency"] > 0.999
    assert d["points"] == 100_000 and d["seed"] == 0 and d["aligned"] is False
    np.testing.assert_array_equal(d["transform"], np.eye(4))
    json.dumps(d, allow_nan=False)  # plain numbers only


def test_the_floor_shrinks_as_one_over_root_n(sphere):
    d = mesh_metrics(sphere, sphere, points=N)
    assert d["chamfer"] == pytest.approx(_floor(sphere, d["scale"], N), rel=0.05)
    # P(d > 0.01) = exp(−π·1e-4·N/A) ≈ exp(−2): recall and precision near 1 − e⁻².
    tail = math.exp(-math.pi * 0.01 ** 2 * N / _area(sphere, d["scale"]))
    assert d["fscore"]["0.01"]["f"] == pytest.approx(1 - tail, abs=0.02)


def test_same_seed_same_figures_other_seed_other_samples(sphere):
    a = mesh_metrics(sphere, sphere, points=N, seed=3)
    b = mesh_metrics(sphere, sphere, points=N, seed=3)
    c = mesh_metrics(sphere, sphere, points=N, seed=4)
    assert a == b
    assert c["chamfer"] != a["chamfer"]
    assert c["chamfer"] == pytest.approx(a["chamfer"], rel=0.05)


@pytest.mark.parametrize("s", [1.06, 1 / 1.06])
def test_concentric_spheres_give_the_radius_gap(sphere, s):
    """Radii 1 (reference) and s: after scaling by the reference's box (longest side
    ≈ 2), every point lies |s − 1|·scale from the other surface."""
    d = mesh_metrics(sphere.replace(positions=sphere.positions * s), sphere, points=N)
    gap = abs(s - 1) * d["scale"]  # ≈ 0.03 or 0.028
    assert d["scale"] == pytest.approx(0.5, rel=1e-2)
    # The samples sit up to ~spacing sideways: d = √(gap² + lateral²) ≥ gap, and the
    # excess is about E[lateral²] / (2 gap) = A / (2π N gap) ≈ 0.5e-3.
    assert gap <= d["accuracy"] < gap + 2e-3
    assert gap <= d["completeness"] < gap + 2e-3
    assert gap <= d["chamfer"] < gap + 2e-3
    for tau, v in d["fscore"].items():
        expected = 1.0 if float(tau) > gap + 0.01 else 0.0  # τ = 0.05: all; 0.02, 0.01: none
        assert v["precision"] == v["recall"] == v["f"] == expected, tau
    assert d["normal_consistency"] > 0.999  # concentric: parallel normals


def test_translation_gives_the_shift_and_icp_takes_it_back(sphere):
    """A sphere of radius r shifted by t < r: a point at polar cosine u is
    |√(r² + t² − 2rtu) − r| from the other sphere, and that averages to exactly t/2 over
    u (substitute w = √(…): ½∫|w − r| w dw / (rt) over [r − t, r + t] = t/2)."""
    moved = sphere.replace(positions=sphere.positions + [0.2, 0.0, 0.0])
    d = mesh_metrics(moved, sphere, points=N)
    r, t = 1.0 * d["scale"], 0.2 * d["scale"]  # 0.5 and 0.1 after scaling
    u = np.linspace(-1.0, 1.0, 200_001)
    quadrature = float(np.mean(np.abs(np.sqrt(r * r + t * t - 2 * r * t * u) - r)))
    assert quadrature == pytest.approx(t / 2, rel=1e-4)
    assert d["chamfer"] == pytest.approx(t / 2, abs=3e-3)
    assert d["fscore"]["0.01"]["f"] < 0.2

    same = mesh_metrics(sphere, sphere, points=N)
    aligned = mesh_metrics(moved, sphere, points=N, align=True)
    assert aligned["aligned"] is True and aligned["icp_iterations"] >= 1
    assert aligned["chamfer"] == pytest.approx(same["chamfer"], rel=0.05)
    transform = np.array(aligned["transform"])
    assert transform.shape == (4, 4)
    np.testing.assert_allclose(transform[:3, 3], [-0.2, 0, 0], atol=5e-3)  # input units


def test_icp_recovers_a_rotation_and_translation_of_an_ellipsoid(sphere):
    ellipsoid = sphere.replace(positions=sphere.positions * [1.0, 0.7, 0.4])
    rot = _rotation(0, 7.0) @ _rotation(2, 10.0)
    shift = np.array([0.15, -0.1, 0.05])
    posed = ellipsoid.replace(positions=ellipsoid.positions @ rot.T + shift)
    lines = []
    unaligned = mesh_metrics(posed, ellipsoid, points=N)
    d = mesh_metrics(posed, ellipsoid, points=N, align=True, log=lines.append)
    same = mesh_metrics(ellipsoid, ellipsoid, points=N)
    assert unaligned["chamfer"] > 5 * same["chamfer"]
    assert d["chamfer"] == pytest.approx(same["chamfer"], rel=0.1)
    assert d["normal_consistency"] > 0.999
    t = np.array(d["transform"])
    angle = math.degrees(math.acos(np.clip((np.trace(t[:3, :3] @ rot) - 1) / 2, -1, 1)))
    assert angle < 0.5
    np.testing.assert_allclose(t[:3, :3] @ shift + t[:3, 3], 0, atol=5e-3)
    np.testing.assert_allclose(t[:3, :3] @ t[:3, :3].T, np.eye(3), atol=1e-9)
    assert np.linalg.det(t[:3, :3]) == pytest.approx(1.0)
    assert len(lines) == 1 and lines[0].startswith("ICP:")


def test_the_reference_sets_the_scale_not_the_mesh(sphere):
    """Scaling both inputs by the same factor changes nothing (up to rounding); the
    scale reported is one over the reference's longest side."""
    small = mesh_metrics(sphere.replace(positions=sphere.positions * 1.1), sphere, points=N)
    big = mesh_metrics(sphere.replace(positions=sphere.positions * 11.0),
                       sphere.replace(positions=sphere.positions * 10.0), points=N)
    assert big["chamfer"] == pytest.approx(small["chamfer"], rel=1e-9)
    assert big["scale"] == pytest.approx(small["scale"] / 10)
    lo, hi = sphere.positions.min(axis=0), sphere.positions.max(axis=0)
    assert small["scale"] == pytest.approx(1 / (hi - lo).max())


def test_a_mesh_in_another_frame_or_unit_gets_a_notice(sphere):
    def notices(mesh, **kw):
        lines = []
        mesh_metrics(mesh, sphere, points=1000, log=lines.append, **kw)
        return lines

    assert notices(sphere) == []
    assert notices(sphere.replace(positions=sphere.positions + [0.2, 0, 0])) == []
    (line,) = notices(sphere.replace(positions=sphere.positions * 3))  # millimetres vs …
    assert "3× the size of the reference's" in line and "one frame and unit" in line
    far = sphere.replace(positions=sphere.positions + [1.0, 0, 0])
    (line,) = notices(far)
    assert "centre 0.5 of it away" in line
    assert [ln for ln in notices(far, align=True) if not ln.startswith("ICP:")] == []


def test_normal_consistency_sees_a_crease():
    """A flat square against a tent of the same outline: normals 20° apart everywhere,
    so |cos| = cos 20° in both directions."""
    g = np.linspace(0.0, 1.0, 21)
    x, y = np.meshgrid(g, g)
    flat_pos = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], axis=1)
    tent_pos = flat_pos.copy()
    tent_pos[:, 2] = np.tan(np.radians(20)) * (0.5 - np.abs(flat_pos[:, 0] - 0.5))
    i, j = np.meshgrid(np.arange(20), np.arange(20))
    a = (j * 21 + i).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + 22], 1), np.stack([a, a + 22, a + 21], 1)])
    flat = Mesh(positions=flat_pos, faces=faces, name="flat")
    tent = Mesh(positions=tent_pos, faces=faces, name="tent")
    d = mesh_metrics(tent, flat, points=N)
    assert d["normal_consistency"] == pytest.approx(math.cos(math.radians(20)), abs=2e-3)


def test_paths_and_the_top_level_name(sphere, tmp_path):
    save_obj(sphere, tmp_path / "a.obj")
    d = normalkit.mesh_metrics(tmp_path / "a.obj", str(tmp_path / "a.obj"), points=N)
    direct = mesh_metrics(sphere, sphere, points=N)
    assert d["chamfer"] == pytest.approx(direct["chamfer"], rel=1e-3)
    text = format_metrics(d)
    assert "Chamfer distance" in text and "sum" in text and "Normal consistency" in text
    assert "F@0.05" in text and "F@0.02" in text and "F@0.01" in text
    assert len(text.splitlines()) <= 5


def test_fscore_is_zero_when_nothing_is_within_tau(sphere):
    far = sphere.replace(positions=sphere.positions * 1.15)  # gap 0.075 after scaling
    d = mesh_metrics(far, sphere, points=N, taus=(0.07, 0.01, 0.1))
    assert list(d["fscore"]) == ["0.07", "0.01", "0.1"]
    assert d["fscore"]["0.01"] == {"precision": 0.0, "recall": 0.0, "f": 0.0}
    assert d["fscore"]["0.07"] == {"precision": 0.0, "recall": 0.0, "f": 0.0}
    assert d["fscore"]["0.1"] == {"precision": 1.0, "recall": 1.0, "f": 1.0}


def _tri(positions, name="tri"):
    return Mesh(positions=np.asarray(positions, dtype=np.float64),
                faces=np.array([[0, 1, 2]], dtype=np.int64), name=name)


GOOD = _tri([[0, 0, 0], [1, 0, 0], [0, 1, 0]], "good")


@pytest.mark.parametrize("mesh, reference, kw, match", [
    (GOOD, GOOD, {"points": 999}, r"points = 999 .*at least 1000"),
    (GOOD, GOOD, {"points": 1000.0}, r"points must be a whole number"),
    (GOOD, GOOD, {"seed": -1}, r"seed must be a whole number ≥ 0, got -1"),
    (GOOD, GOOD, {"taus": ()}, r"taus must be finite thresholds > 0"),
    (GOOD, GOOD, {"taus": (0.05, -1)}, r"taus must be finite thresholds > 0"),
    (GOOD.replace(faces=np.zeros((0, 3), np.int64)), GOOD, {},
     r"mesh good: the mesh has no triangles.*not a point cloud"),
    (GOOD, GOOD.replace(faces=np.zeros((0, 3), np.int64)), {},
     r"reference good: the mesh has no triangles"),
    (_tri([[0, 0, 0], [1, 1, 1], [2, 2, 2]], "line"), GOOD, {},
     r"mesh line: all 1 triangles have zero area.*give a mesh with a surface"),
    (GOOD, _tri([[0, 0, 0], [1, 0, 0], [2, 0, 0]], "line"), {},
     r"reference line: all 1 triangles have zero area"),
    (GOOD, _tri([[1, 1, 1]] * 3, "dot"), {},
     r"reference dot: its bounding box is a single point \(longest side 0\)"),
    (_tri([[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]], "nan"), GOOD, {},
     r"mesh nan: 1 vertices with non-finite \(NaN or inf\) coordinates; repair"),
    (GOOD, _tri([[0, 0, 0], [np.inf, 0, 0], [0, 1, 0]], "inf"), {},
     r"reference inf: 1 vertices with non-finite"),
    (GOOD.replace(faces=np.array([[0, 1, 5]])), GOOD, {}, r"indexes a vertex that does not"),
    (GOOD, "/nonexistent/ref.obj", {}, r"cannot read '/nonexistent/ref.obj': no such file"),
    (GOOD, 42, {}, r"reference must be a normalkit Mesh or a mesh file path, got int"),
])
def test_bad_input_is_one_line(mesh, reference, kw, match):
    with pytest.raises(NormalkitError, match=match) as exc:
        mesh_metrics(mesh, reference, **kw)
    assert "\n" not in str(exc.value)
