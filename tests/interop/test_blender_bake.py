"""Acceptance tests of the bake engine against Blender 5 (Cycles, selected-to-active).

Two pairs, each baked once per module (module-scoped fixtures) at 512², 1 sample, no padding,
with the same extrusion and ray limit in both tools (``blender_max_ray_distance`` converts
normalkit's "beyond the surface" limit to Blender's "from the extruded origin"):

* torus: ``bumpy_torus_pair`` (≈100k-face bumpy high-poly, PLY with normals; ≈2k-face plain
  low-poly, OBJ with vn + vt);
* spot: the shared spot.obj with normalkit's smooth normals (177 faces with mirrored UVs,
  MikkTSpace sign −1), and a high-poly made from it by two subdivisions and a bump
  displacement along its smooth normals (PLY with normals).

Tests
-----
a. normalkit tangent map → 16-bit PNG → Blender's Normal Map node (object-space bake) vs
   Blender's direct OBJECT bake; also over the texels of mirrored-UV faces.
b. normalkit OBJECT bake vs Blender's OBJECT bake.
c. normalkit tangent map vs Blender's TANGENT bake (decoded vectors).
d. Coverage: normalkit's coverage contains Blender's baked texels (up to a tiny fraction).

Bounds (a–c): median ≤ 0.1°, p95 ≤ 1° over the texels both tools cover.

What the remaining differences are (measured while writing these tests, 512²):

* Blender stores the files' normals as custom normals (int16 angles in corner fan spaces):
  the high-poly's shading normals move by a median 0.007° (torus PLY) / 0.002° (spot), the
  floor of the medians here. Feeding normalkit Blender's own corner normals and Blender's
  sample point (below) brings the medians to < 0.0001°.
* Blender shades texel (j, i) at u = (i + 0.501)/W, v = 1 − (j + 0.498)/H, normalkit at the
  centre; on spot's bumps that shift alone is worth ~0.006° of median, and at one spot texel
  whose ray origin lies on a fold of the (self-intersecting) displaced high-poly it flips the
  hit (66°).
* Torus, one texel at 0.4°: the ray meets the high-poly 1e-5 (barycentric) from a triangle
  edge; normalkit agrees with a float64 reference there to 0.001°, Blender does not.
* Spot's UV layout has 10 triangles with u slightly below 0 (to −0.052). normalkit wraps
  them a tile to the right (CONVENTIONS) but rasterizes before wrapping, so each texel next
  to them gets two samples: the wrapped triangle's real one plus a border fallback on the
  neighbouring unwrapped triangle (which, in unwrapped coordinates, looks uncovered). The
  texel is the average of both: up to ~5° off in 84 texels
  (see ``test_wrapped_uv_neighbourhood``, expected to fail until normalkit.baking.raster is fixed).

bpy is only ever imported in a subprocess; the module is skipped when it is missing.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ASSETS

if importlib.util.find_spec("bpy") is None:  # no import here: bpy stays out of pytest
    pytest.skip("bpy (Blender as a Python module) is not installed", allow_module_level=True)

import blender_ref as br  # noqa: E402
from blender_ref import bpy_works  # noqa: E402, F401  (skips without bpy)
from normalkit.baking.bake import bake  # noqa: E402
from normalkit.images.io import write_image  # noqa: E402
from normalkit.maps.encode import encode_normals  # noqa: E402
from normalkit.mesh.examples import bumpy_torus_pair  # noqa: E402
from normalkit.mesh.io import load_mesh, save_obj, save_ply  # noqa: E402
from normalkit.mesh.normals import ensure_normals  # noqa: E402
from normalkit.mesh.tangents import compute_tangents  # noqa: E402

pytestmark = pytest.mark.slow

SPOT = ASSETS / "meshes" / "spot.obj"
SIZE = 512
MEDIAN_MAX = 0.1   # degrees
P95_MAX = 1.0      # degrees
#: (extrusion, max_distance) in mesh units; the high-poly lies within ±0.024 (torus: bumps
#: 0.02 plus the low-poly's chord error) and ±0.013 (spot) of the low-poly.
RAYS = {"torus": (0.04, 0.04), "spot": (0.03, 0.03)}


# ------------------------------------------------------------------------------------------
# Test data
# ------------------------------------------------------------------------------------------
def _write_torus(tmp: Path) -> tuple[Path, Path]:
    high, low = bumpy_torus_pair(high_faces=100_000, low_faces=2_000)
    save_ply(high, tmp / "high.ply")
    save_obj(low, tmp / "low.obj")
    return tmp / "high.ply", tmp / "low.obj"


def _write_spot(tmp: Path) -> tuple[Path, Path]:
    """Low: spot with smooth normals. High: spot subdivided twice, bumped along its normals."""
    if not SPOT.is_file():
        pytest.skip(f"shared asset {SPOT} not found")
    return br.write_spot_pair(tmp, SPOT, "high.ply")


def _blender_face_map(uvs: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H, W) low-poly face whose UV triangle holds Blender's sample point of each texel.

    Blender's sample point is ``br.blender_sample_uv``; UVs are not wrapped (Blender clips
    triangles to the image). −1 where no triangle holds the point; on a shared edge the
    higher-numbered face wins.
    """
    xy = np.empty(uvs.shape, np.float64)
    xy[..., 0] = uvs[..., 0] * width - 0.501    # sample of column i at x = i
    xy[..., 1] = (1.0 - uvs[..., 1]) * height - 0.498
    out = np.full((height, width), -1, np.int64)
    lo = np.clip(np.ceil(xy.min(axis=1)), 0, [width, height]).astype(int)
    hi = np.clip(np.floor(xy.max(axis=1)), -1, [width - 1, height - 1]).astype(int)
    for f in np.nonzero(np.all(hi >= lo, axis=1))[0]:
        gy, gx = np.mgrid[lo[f, 1]:hi[f, 1] + 1, lo[f, 0]:hi[f, 0] + 1]
        p0, p1, p2 = xy[f]
        area = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0])
        if area == 0:
            continue
        inside = np.ones(gx.shape, bool)
        for a, b in ((p0, p1), (p1, p2), (p2, p0)):
            e = (b[0] - a[0]) * (gy - a[1]) - (b[1] - a[1]) * (gx - a[0])
            inside &= e * np.sign(area) >= 0
        out[gy[inside], gx[inside]] = f
    return out


def _report(pair, label, stats):
    if stats["count"] == 0:
        print(f"\n[blender_bake] {pair} {label}: no texels")
        return
    print(f"\n[blender_bake] {pair} {label}: median {stats['median']:.4f}°, "
          f"p95 {stats['p95']:.4f}°, max {stats['max']:.4f}° over {stats['count']} texels")


@pytest.fixture(scope="module", params=["torus", "spot"])
def pair(request, tmp_path_factory):
    """Both tools' bakes of one pair, each run once."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"bake_{name}")
    t0 = time.perf_counter()
    high_path, low_path = (_write_torus if name == "torus" else _write_spot)(tmp)
    extrusion, max_distance = RAYS[name]
    kw = dict(size=SIZE, samples=1, padding=0, extrusion=extrusion, max_distance=max_distance)
    ours_t = bake(high_path, low_path, space="tangent", **kw)
    ours_o = bake(high_path, low_path, space="object", **kw)
    write_image(tmp / "ours_tangent16.png", encode_normals(ours_t.normals, 16))
    t_ours = ours_t.stats["seconds"] + ours_o.stats["seconds"]

    ray = br.blender_max_ray_distance(extrusion, max_distance)
    b_kw = dict(extrusion=extrusion, max_ray_distance=ray)
    b_tan = br.bake_selected_to_active(high_path, low_path, SIZE, space="TANGENT", **b_kw)
    b_obj = br.bake_selected_to_active(high_path, low_path, SIZE, space="OBJECT", **b_kw)
    through = br.bake_through_normal_map(low_path, tmp / "ours_tangent16.png", SIZE)

    low = load_mesh(low_path)  # the same file both tools read
    face_map = _blender_face_map(low.uvs, SIZE, SIZE)
    sign = compute_tangents(ensure_normals(low)).reshape(-1, 3, 4)[..., 3]
    mirrored_face = np.all(sign < 0, axis=1)
    mirrored = (face_map >= 0) & mirrored_face[np.maximum(face_map, 0)]
    wrapped_face = np.any((low.uvs < 0) | (low.uvs > 1), axis=(1, 2))

    print(f"\n[blender_bake] {name} {SIZE}²: normalkit tangent+object {t_ours:.2f} s; Blender "
          f"bakes (TANGENT, OBJECT, through map) {b_tan['bake_seconds']:.2f} + "
          f"{b_obj['bake_seconds']:.2f} + {through['bake_seconds']:.2f} s, subprocesses "
          f"{b_tan['total_seconds'] + b_obj['total_seconds'] + through['total_seconds']:.1f} s;"
          f" fixture {time.perf_counter() - t0:.1f} s (2 cores); {int(mirrored_face.sum())} "
          f"mirrored faces, {int(wrapped_face.sum())} faces with UVs outside [0, 1]")
    return {"name": name, "ours_t": ours_t, "ours_o": ours_o, "b_tan": b_tan, "b_obj": b_obj,
            "through": through, "mirrored": mirrored, "mirrored_faces": int(mirrored_face.sum()),
            "face_map": face_map, "wrapped_face": wrapped_face, "low": low}


def _check(stats):
    assert stats["count"] > 0
    assert stats["median"] <= MEDIAN_MAX, stats
    assert stats["p95"] <= P95_MAX, stats


# ------------------------------------------------------------------------------------------
# a. Blender reads our tangent-space maps as its own
# ------------------------------------------------------------------------------------------
def test_tangent_map_through_blender_normal_map_node(pair):
    thr, obj, ours = pair["through"], pair["b_obj"], pair["ours_t"]
    assert thr["info"]["map"]["depth"] >= 48 and not thr["info"]["map"]["snorm"]  # 16-bit RGB
    both = obj["mask"] & thr["mask"] & ours.coverage
    stats = br.angle_stats(thr["normals"], obj["normals"], both)
    _report(pair["name"], "our tangent map via Blender's Normal Map node vs Blender OBJECT",
            stats)
    _check(stats)

    mirrored = both & pair["mirrored"]
    m_stats = br.angle_stats(thr["normals"], obj["normals"], mirrored)
    _report(pair["name"], f"  … over texels of the {pair['mirrored_faces']} mirrored-UV faces",
            m_stats)
    if pair["name"] == "spot":
        assert pair["mirrored_faces"] == 177
        assert m_stats["count"] > 1000
        _check(m_stats)
    else:
        assert pair["mirrored_faces"] == 0


# ------------------------------------------------------------------------------------------
# b. Object space
# ------------------------------------------------------------------------------------------
def test_object_space_matches_blender(pair):
    ours, obj = pair["ours_o"], pair["b_obj"]
    stats = br.angle_stats(ours.normals, obj["normals"], obj["mask"] & ours.coverage)
    _report(pair["name"], "our OBJECT bake vs Blender OBJECT", stats)
    _check(stats)


# ------------------------------------------------------------------------------------------
# c. Tangent space, compared directly
# ------------------------------------------------------------------------------------------
def test_tangent_space_matches_blender(pair):
    ours, tan = pair["ours_t"], pair["b_tan"]
    both = tan["mask"] & ours.coverage
    stats = br.angle_stats(ours.normals, tan["normals"], both)
    _report(pair["name"], "our TANGENT bake vs Blender TANGENT", stats)
    _check(stats)
    m_stats = br.angle_stats(ours.normals, tan["normals"], both & pair["mirrored"])
    _report(pair["name"], "  … over texels of mirrored-UV faces", m_stats)
    if pair["name"] == "spot":
        _check(m_stats)


# ------------------------------------------------------------------------------------------
# d. Coverage
# ------------------------------------------------------------------------------------------
def test_coverage_contains_blenders(pair):
    """normalkit rasterizes conservatively: every texel Blender bakes is ours too."""
    b = pair["b_obj"]["mask"]
    np.testing.assert_array_equal(b, pair["b_tan"]["mask"])
    for key in ("ours_t", "ours_o"):
        ours = pair[key].coverage
        missing = int((b & ~ours).sum())
        extra = int((ours & ~b).sum())
        print(f"\n[blender_bake] {pair['name']} coverage ({key}): Blender {int(b.sum())}, "
              f"normalkit {int(ours.sum())}, Blender-only {missing}, normalkit-only {extra}")
        assert missing <= 1e-3 * b.sum()
        assert ours.sum() >= b.sum()
    np.testing.assert_array_equal(pair["ours_t"].coverage, pair["ours_o"].coverage)


# ------------------------------------------------------------------------------------------
# Texels next to UV triangles that normalkit wraps (spot has ten faces with u < 0)
# ------------------------------------------------------------------------------------------
def test_wrapped_uv_neighbourhood(pair):
    """Texels within 1 texel of a UV triangle that lies partly outside [0, 1].

    Blender clips such triangles to the image; normalkit wraps them (CONVENTIONS), which
    changes nothing inside the image, so over these texels both should agree like anywhere
    else: no texel more than 1° off.
    """
    if not pair["wrapped_face"].any():
        pytest.skip(f"{pair['name']} has no UVs outside [0, 1]")
    fm = pair["face_map"]
    near = (fm >= 0) & pair["wrapped_face"][np.maximum(fm, 0)]
    near = near | np.roll(near, 1, 0) | np.roll(near, -1, 0)
    near = near | np.roll(near, 1, 1) | np.roll(near, -1, 1)
    ours, obj = pair["ours_o"], pair["b_obj"]
    both = near & obj["mask"] & ours.coverage
    stats = br.angle_stats(ours.normals, obj["normals"], both)
    ang = br.angles_deg(ours.normals[both], obj["normals"][both])
    _report(pair["name"], "OBJECT, texels next to wrapped UV triangles", stats)
    print(f"[blender_bake]   {int((ang > 1).sum())} of them more than 1° off")
    assert stats["max"] <= 1.0
