"""Validate the Blender reference harness (tests/blender_ref.py) against Blender itself.

The acceptance test for normalkit's baker pushes a 16-bit tangent-space map through Blender's
Normal Map node and compares the resulting object-space normals with Blender's own direct
object-space selected-to-active bake. Here Blender bakes the tangent map itself, so the
comparison measures how well Blender agrees with itself, i.e. the floor under our targets
(median ≤ 0.1°, p95 ≤ 1°). The probes at the end pin down Blender's ray semantics
(extrusion, max ray distance, cage) on scenes with a known answer.

bpy is only ever imported in a subprocess; the whole module is skipped when it is missing.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import ASSETS

if importlib.util.find_spec("bpy") is None:  # no import here: bpy stays out of pytest
    pytest.skip("bpy (Blender as a Python module) is not installed", allow_module_level=True)

import blender_ref as br  # noqa: E402
from blender_ref import bpy_works  # noqa: E402, F401  (skips without bpy)
from normalkit.mesh.io import save_obj  # noqa: E402
from normalkit.mesh.model import Mesh  # noqa: E402

pytestmark = pytest.mark.slow

SPOT = ASSETS / "meshes" / "spot.obj"
SIZE = 256
EXTRUSION = 0.03      # normalkit units: ray starts 0.03 above the low-poly surface
MAX_DISTANCE = 0.03   # ... and accepts hits up to 0.03 below it


# ------------------------------------------------------------------------------------------
# Test data
# ------------------------------------------------------------------------------------------
def _grid(x0, x1, nx, y0, y1, ny, z, normal):
    """Grid over [x0, x1] × [y0, y1], UV = (x, y); z(x) → height, normal(positions) → (N, 3)."""
    xs = np.linspace(x0, x1, nx + 1)
    ys = np.linspace(y0, y1, ny + 1)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    pos = np.stack([gx, gy, z(gx)], axis=-1).reshape(-1, 3)
    idx = np.arange(pos.shape[0]).reshape(nx + 1, ny + 1)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    faces = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])  # CCW from +z
    nrm = normal(pos)
    return Mesh(positions=pos, faces=faces, normals=nrm[faces],
                uvs=pos[:, :2][faces].copy(), name="grid")


def _concat(*meshes):
    offs = np.cumsum([0] + [len(m.positions) for m in meshes[:-1]])
    return Mesh(positions=np.concatenate([m.positions for m in meshes]),
                faces=np.concatenate([m.faces + o for m, o in zip(meshes, offs, strict=True)]),
                normals=np.concatenate([m.normals for m in meshes]),
                uvs=np.concatenate([m.uvs for m in meshes]), name="concat")


@pytest.fixture(scope="module")
def spot_pair(tmp_path_factory):
    """Low: spot with smooth normals. High: spot subdivided twice, bumped along its normals."""
    if not SPOT.is_file():
        pytest.skip(f"shared asset {SPOT} not found")
    tmp = tmp_path_factory.mktemp("spot_pair")
    br.write_spot_pair(tmp, SPOT, "high.obj")
    return tmp


def _write_png16(path, normals, directx=False):
    """CONVENTIONS encoding: round(65535 · (n/2 + 1/2)), RGB, flat (0.5, 0.5, 1) padding."""
    import cv2

    n = np.asarray(normals, np.float64).copy()
    n[~np.any(n != 0, axis=-1)] = (0.0, 0.0, 1.0)
    if directx:
        n[..., 1] *= -1.0
    rgb = np.round((n * 0.5 + 0.5) * 65535.0).astype(np.uint16)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))  # cv2 wants BGR


def _write_exr(path, normals):
    """32-bit float EXR storing n itself (CONVENTIONS)."""
    import OpenEXR

    n = np.asarray(normals, np.float32).copy()
    n[~np.any(n != 0, axis=-1)] = (0.0, 0.0, 1.0)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": n}) as f:
        f.write(str(path))


def _report(label, stats, extra=""):
    print(f"\n[blender_ref] {label}: median {stats['median']:.5f}°, p95 {stats['p95']:.5f}°, "
          f"max {stats['max']:.5f}° over {stats['count']} texels{extra}")


@pytest.fixture(scope="module")
def spot_bakes(spot_pair):
    """Blender's direct TANGENT and OBJECT selected-to-active bakes of the spot pair."""
    ray = br.blender_max_ray_distance(EXTRUSION, MAX_DISTANCE)
    kw = dict(extrusion=EXTRUSION, max_ray_distance=ray)
    tan = br.bake_selected_to_active(spot_pair / "high.obj", spot_pair / "low.obj", SIZE,
                                     space="TANGENT", **kw)
    obj = br.bake_selected_to_active(spot_pair / "high.obj", spot_pair / "low.obj", SIZE,
                                     space="OBJECT", **kw)
    _write_png16(spot_pair / "tangent16.png", tan["normals"])
    for name, r in (("TANGENT", tan), ("OBJECT", obj)):
        print(f"\n[blender_ref] selected-to-active {name} {SIZE}²: bake {r['bake_seconds']:.2f} s, "
              f"subprocess {r['total_seconds']:.2f} s (2 cores)")
    return {"tangent": tan, "object": obj, "dir": spot_pair}


# ------------------------------------------------------------------------------------------
# Self-agreement
# ------------------------------------------------------------------------------------------
def test_selected_to_active_outputs_are_sane(spot_bakes):
    tan, obj = spot_bakes["tangent"], spot_bakes["object"]
    assert tan["normals"].shape == (SIZE, SIZE, 3) and tan["normals"].dtype == np.float32
    assert tan["mask"].shape == (SIZE, SIZE) and tan["mask"].dtype == bool
    np.testing.assert_array_equal(tan["mask"], obj["mask"])  # same rays, same coverage
    assert 0.3 < tan["mask"].mean() < 0.8   # spot's UV layout covers about half the square
    for r in (tan, obj):
        length = np.linalg.norm(r["normals"][r["mask"]], axis=-1)
        np.testing.assert_allclose(length, 1.0, atol=1e-5)
        assert not r["normals"][~r["mask"]].any()
        assert 0 < r["bake_seconds"] < r["total_seconds"]
    tilt = np.degrees(np.arccos(np.clip(tan["normals"][tan["mask"]][:, 2], -1, 1)))
    assert 3.0 < np.median(tilt) < 30.0     # the bumps are there, and mostly facing out
    info = tan["info"]
    assert info["blender_version"].startswith("5.")
    for label in ("low", "high"):
        assert info[label]["has_custom_normals"]
    assert info["bake_args"]["use_clear"] is False and info["bake_args"]["margin"] == 0


def test_self_agreement_png16(spot_bakes):
    """Blender's tangent map (16-bit PNG) through its Normal Map node == its object bake."""
    obj = spot_bakes["object"]
    thr = br.bake_through_normal_map(spot_bakes["dir"] / "low.obj",
                                     spot_bakes["dir"] / "tangent16.png", SIZE)
    assert thr["info"]["map"]["is_float"] and not thr["info"]["map"]["snorm"]
    assert np.all(thr["mask"][obj["mask"]])  # every texel with a hit is covered by the UVs
    both = thr["mask"] & obj["mask"]
    stats = br.angle_stats(thr["normals"], obj["normals"], both)
    _report(f"self-agreement, 16-bit PNG, {SIZE}²", stats,
            f"; through-map bake {thr['bake_seconds']:.2f} s, subprocess "
            f"{thr['total_seconds']:.2f} s")
    # 16-bit quantisation alone is ±1/65535 per channel (≈ 0.001°).
    assert stats["median"] < 0.005
    assert stats["p95"] < 0.005
    assert stats["max"] < 0.01


def test_self_agreement_float_exr(spot_bakes):
    """A 32-bit float EXR (stores n itself) removes the quantisation: float32 noise only."""
    path = spot_bakes["dir"] / "tangent.exr"
    _write_exr(path, spot_bakes["tangent"]["normals"])
    thr = br.bake_through_normal_map(spot_bakes["dir"] / "low.obj", path, SIZE)
    assert thr["info"]["map"]["snorm"]
    obj = spot_bakes["object"]
    stats = br.angle_stats(thr["normals"], obj["normals"], thr["mask"] & obj["mask"])
    _report(f"self-agreement, float EXR, {SIZE}²", stats)
    assert stats["median"] < 1e-4
    assert stats["max"] < 0.01


def test_directx_green_flip(spot_bakes):
    path = spot_bakes["dir"] / "tangent16_dx.png"
    _write_png16(path, spot_bakes["tangent"]["normals"], directx=True)
    thr = br.bake_through_normal_map(spot_bakes["dir"] / "low.obj", path, SIZE, directx=True)
    obj = spot_bakes["object"]
    stats = br.angle_stats(thr["normals"], obj["normals"], thr["mask"] & obj["mask"])
    _report(f"self-agreement, 16-bit PNG, DirectX green, {SIZE}²", stats)
    assert stats["median"] < 0.005 and stats["max"] < 0.01


def test_bump_map_correction_would_bend_tilted_normals(spot_bakes):
    """Why the harness turns Cycles' Bump Map Correction off (it is on by default).

    With it on, the Principled BSDF's specular closure uses
    ``ensure_valid_specular_reflection(Ng, wi, N)`` and the normal pass averages the closure
    normals, so texels whose mapped normal leans far from the bake's view direction (the
    smooth normal) come out bent.
    """
    thr = br.bake_through_normal_map(spot_bakes["dir"] / "low.obj",
                                     spot_bakes["dir"] / "tangent16.png", SIZE,
                                     bump_map_correction=True)
    obj = spot_bakes["object"]
    both = thr["mask"] & obj["mask"]
    stats = br.angle_stats(thr["normals"], obj["normals"], both)
    bent = int((br.angles_deg(thr["normals"][both], obj["normals"][both]) > 0.01).sum())
    _report("with Bump Map Correction on", stats, f"; {bent} texels bent by > 0.01°")
    assert stats["median"] < 0.005       # most texels are untouched ...
    assert stats["max"] > 1.0            # ... but some are bent a lot


# ------------------------------------------------------------------------------------------
# Ray semantics probes (small synthetic scenes with a known answer)
# ------------------------------------------------------------------------------------------
def _flat(value):
    return lambda x: np.full_like(x, value)


def _const_normal(n):
    n = np.asarray(n, np.float64) / np.linalg.norm(n)
    return lambda p: np.tile(n, (len(p), 1))


K, D = 0.3, 0.1   # high-poly probe surface: z = -D + K (x - 0.5)², below z = 0 on the square


def _parabola_mesh():
    return _grid(-0.5, 1.5, 200, -0.2, 1.2, 7, lambda x: -D + K * (x - 0.5) ** 2,
                 lambda p: np.stack([-2 * K * (p[:, 0] - 0.5), np.zeros(len(p)),
                                     np.ones(len(p))], 1) / np.sqrt(
                     1 + (2 * K * (p[:, 0] - 0.5)) ** 2)[:, None])


def _parabola_normal_along(origin, direction):
    """Object-space normal where the ray origin + t·direction (t ≥ 0) meets the parabola."""
    ox, oz = origin[..., 0] - 0.5, origin[..., 2]
    dx, dz = direction[..., 0], direction[..., 2]
    a, b, c = K * dx**2, 2 * K * dx * ox - dz, K * ox**2 - D - oz
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = np.sqrt(b**2 - 4 * a * c)
        t_lin = -c / b
        t1, t2 = (-b - disc) / (2 * a), (-b + disc) / (2 * a)
    t = np.where(np.abs(a) < 1e-12, t_lin, np.where(t1 >= 0, t1, t2))
    x = ox + t * dx
    n = np.stack([-2 * K * x, np.zeros_like(x), np.ones_like(x)], -1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _texel_points(size):
    """Low-poly probe points: the grid is the UV square, so (u, v, 0) at Blender's samples."""
    uv = br.blender_sample_uv(size, size)
    return np.concatenate([uv, np.zeros_like(uv[..., :1])], axis=-1)


TILT = np.radians(20.0)
N_TILT = np.array([np.sin(TILT), 0.0, np.cos(TILT)])


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("probes")
    # Low: the unit square at z = 0, UV = (x, y), custom normals tilted 20° towards +x.
    save_obj(_grid(0, 1, 4, 0, 1, 4, _flat(0.0), _const_normal(N_TILT)), tmp / "low_tilted.obj")
    save_obj(_grid(0, 1, 4, 0, 1, 4, _flat(0.0), _const_normal([0, 0, 1])), tmp / "low_flat.obj")
    # Cage: the low grid shifted by (0.05, 0, 0.2).
    cage = _grid(0, 1, 4, 0, 1, 4, _flat(0.0), _const_normal([0, 0, 1]))
    save_obj(cage.replace(positions=cage.positions + [0.05, 0.0, 0.2]), tmp / "cage.obj")
    save_obj(_parabola_mesh(), tmp / "parabola.obj")
    # Two flat strips: x < 0.5 at z = -0.05, x > 0.5 at z = -0.15.
    up = _const_normal([0, 0, 1])
    save_obj(_concat(_grid(-0.2, 0.5, 7, -0.2, 1.2, 7, _flat(-0.05), up),
                     _grid(0.5, 1.2, 7, -0.2, 1.2, 7, _flat(-0.15), up)), tmp / "steps.obj")
    return tmp


def test_max_ray_distance_is_measured_from_the_extruded_origin(probe_dir):
    """extrusion 0.1: hits at t = 0.15 (left strip) and t = 0.25 (right strip).

    normalkit's max_distance = 0.1 beyond the surface converts to Blender's 0.2 from the
    origin: the left strip (0.05 below the surface) is hit, the right one (0.15 below) is not.
    Were Blender's limit measured from the surface, both would be hit.
    """
    e = 0.1
    ray = br.blender_max_ray_distance(e, 0.1)
    assert ray == pytest.approx(0.2)
    r = br.bake_selected_to_active(probe_dir / "steps.obj", probe_dir / "low_flat.obj", 64,
                                   extrusion=e, max_ray_distance=ray)
    left = _texel_points(64)[..., 0] < 0.5
    np.testing.assert_array_equal(r["mask"], left)
    np.testing.assert_allclose(r["normals"][left], [[0, 0, 1]] * int(left.sum()), atol=1e-5)
    assert br.blender_max_ray_distance(e, None) == 0.0   # unlimited
    assert br.blender_max_ray_distance(0.0, 0.0) > 0.0   # 0 would mean unlimited in Blender


def test_extrusion_follows_the_interpolated_custom_normals(probe_dir):
    """Origin = P + e·n̂, direction −n̂, n̂ = interpolated (custom) vertex normal.

    The low-poly's file normals lean 20° towards +x while its faces face +z; the hit point on
    the parabola (and so the baked normal) tells which direction Blender used.
    """
    e = 0.1
    r = br.bake_selected_to_active(probe_dir / "parabola.obj", probe_dir / "low_tilted.obj",
                                   64, extrusion=e, max_ray_distance=0.0)
    assert r["mask"].all()
    p = _texel_points(64)
    custom = _parabola_normal_along(p + e * N_TILT, np.broadcast_to(-N_TILT, p.shape))
    geometric = _parabola_normal_along(p + [0, 0, e], np.broadcast_to([0, 0, -1.0], p.shape))
    s_custom = br.angle_stats(r["normals"], custom, r["mask"])
    s_geom = br.angle_stats(r["normals"], geometric, r["mask"])
    _report("extrusion along custom normals vs analytic", s_custom)
    assert s_custom["median"] < 0.005 and s_custom["max"] < 0.02
    assert s_geom["median"] > 0.5   # the geometric normal would be ~1° off


def test_custom_cage_casts_from_cage_to_low_and_ignores_extrusion(probe_dir):
    """With a cage object: origin = cage point, direction = normalize(low point − cage point)."""
    r = br.bake_selected_to_active(probe_dir / "parabola.obj", probe_dir / "low_tilted.obj",
                                   64, extrusion=0.5, max_ray_distance=0.0,
                                   cage_path=probe_dir / "cage.obj")
    assert r["info"]["bake_args"]["use_cage"]
    assert r["mask"].all()
    p = _texel_points(64)
    offset = np.array([0.05, 0.0, 0.2])
    expected = _parabola_normal_along(p + offset,
                                      np.broadcast_to(-offset / np.linalg.norm(offset), p.shape))
    stats = br.angle_stats(r["normals"], expected, r["mask"])
    _report("custom cage vs analytic", stats)
    assert stats["median"] < 0.005 and stats["max"] < 0.02
