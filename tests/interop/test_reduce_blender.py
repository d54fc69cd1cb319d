"""Acceptance: ``normalkit reduce`` on hard-surface models reads in Blender without seams.

For fandisk and rocker-arm (CAD parts with sharp and smooth regions):

* the high-poly is the shared OBJ with normals split at 60° (the same rule ``reduce``
  applies to a high-poly without normals), written as PLY so both tools read the same
  normals;
* ``reduce`` makes the low-poly, its UVs, the tangent-space map and the projection cage;
* Blender bakes the same high-poly onto our low-poly directly (selected-to-active,
  OBJECT space, with our cage as its Cage Object so both tools cast the same rays), and
  renders our map through its Normal Map node (OBJECT-space NORMAL bake of the low-poly
  alone); the angle between the two is the error of our map *as Blender reads it*.

Two runs of ``reduce`` per model:

1. As shipped (4 samples per texel): overall median ≤ 0.2°, p95 ≤ 2°.
2. Seams: 1 sample per texel, placed at Blender's own sample point (0.501, 0.498) of
   the texel instead of its centre (see ``blender_ref.blender_sample_uv``). Near hard
   edges the high-poly's normals turn fast (fillets, creases), so the 0.002-texel
   offset between the two tools' sample points alone makes near-edge errors several
   times larger than elsewhere (rocker-arm: median 0.009° vs 0.003°) although both are
   tiny; at the same point, what is left is the map. Texels within 2 px of a hard edge
   (on either side's chart border) must then have median and p95 errors at most twice
   those elsewhere.

A few texels whose ray meets a high-poly hard edge exactly (ties between the two faces
at float precision; ~10 of 28k near-edge texels on fandisk, 90° apart) are counted in
the report but do not move the median or p95.

bpy is only ever imported in a subprocess; the module is skipped when it is missing.
"""

from __future__ import annotations

import importlib.util
import json
import time

import numpy as np
import pytest

if importlib.util.find_spec("bpy") is None:  # no import here: bpy stays out of pytest
    pytest.skip("bpy (Blender as a Python module) is not installed", allow_module_level=True)

import blender_ref as br  # noqa: E402
from blender_ref import bpy_works  # noqa: E402, F401  (skips without bpy)
from conftest import ASSETS  # noqa: E402
from normalkit.assets.reduce import reduce  # noqa: E402
from normalkit.assets.unwrap import hard_edges, uv_seam  # noqa: E402
from normalkit.mesh.io import load_mesh, save_ply  # noqa: E402
from normalkit.mesh.normals import smooth_normals  # noqa: E402

pytestmark = pytest.mark.slow

SIZE = 1024
HARD_ANGLE = 60.0
MODELS = {"fandisk": 2000, "rocker-arm": 3000}  # target triangles (from 12,946 and 20,088)
BLENDER_SAMPLE = np.array([[0.501, 0.498]])  # texel offsets of Blender's sample point
NEAR_PX = 2.0
MEDIAN_MAX, P95_MAX = 0.2, 2.0  # degrees, overall
SEAM_RATIO = 2.0


def near_hard_edges(low, size: int, radius: float = NEAR_PX) -> np.ndarray:
    """(H, W) texels whose centre lies within ``radius`` texels of a hard edge's UV segment.

    Both sides of every hard edge count (each lies on its own chart's border).
    """
    from scipy import ndimage

    edges = hard_edges(low, HARD_ANGLE)
    uv = low.uvs
    seg = []
    for f, k in ((edges[:, 0], edges[:, 1]), (edges[:, 2], edges[:, 3])):
        seg.append(np.stack([uv[f, k], uv[f, (k + 1) % 3]], axis=1))
    seg = np.concatenate(seg)  # (S, 2, 2) UV segments
    xy = np.empty_like(seg)
    xy[..., 0] = seg[..., 0] * size - 0.5  # texel-centre coordinates: centre of (j, i) at (i, j)
    xy[..., 1] = (1.0 - seg[..., 1]) * size - 0.5
    # Mark the texels each segment passes through (dense samples along it), then grow.
    mask = np.zeros((size, size), bool)
    n = np.maximum(2, np.ceil(np.linalg.norm(xy[:, 1] - xy[:, 0], axis=1) * 4).astype(int))
    t = np.concatenate([np.linspace(0, 1, k) for k in n])
    s = np.repeat(np.arange(len(xy)), n)
    p = xy[s, 0] + t[:, None] * (xy[s, 1] - xy[s, 0])
    ij = np.clip(np.round(p).astype(int), 0, size - 1)
    mask[ij[:, 1], ij[:, 0]] = True
    return ndimage.distance_transform_edt(~mask) <= radius


def _stats(a: np.ndarray) -> dict:
    return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95)),
            "mean": float(a.mean()), "max": float(a.max()), "over_1deg": int((a > 1).sum()),
            "count": int(a.size)}


def _fmt(s: dict) -> str:
    return (f"median {s['median']:.4f}°, p95 {s['p95']:.4f}°, mean {s['mean']:.4f}°, "
            f"max {s['max']:.2f}°, {s['over_1deg']} > 1° of {s['count']}")


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request, tmp_path_factory):
    name = request.param
    path = ASSETS / "meshes" / f"{name}.obj"
    if not path.is_file():
        pytest.skip(f"shared asset {path} not found")
    tmp = tmp_path_factory.mktemp(f"reduce_{name}")
    t0 = time.perf_counter()
    high = load_mesh(path)
    high = high.replace(normals=smooth_normals(high, hard_angle=HARD_ANGLE))
    high_path = tmp / f"{name}.ply"
    save_ply(high, high_path)

    shipped = reduce(high_path, tmp / "shipped", faces=MODELS[name], size=SIZE,
                     hard_angle=HARD_ANGLE, samples=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("normalkit.baking.bake.sample_offsets", lambda samples: BLENDER_SAMPLE)
        point = reduce(high_path, tmp / "point", faces=MODELS[name], size=SIZE,
                       hard_angle=HARD_ANGLE, samples=1)
    # Both runs decimate and unwrap identically; only the bake's sampling differs.
    for key in ("obj", "cage"):
        assert shipped.files[key].read_bytes() == point.files[key].read_bytes()

    rep = json.loads(shipped.files["report"].read_text())
    ext, depth = rep["bake"]["cage_extrusion"], rep["bake"]["max_distance"]
    low_path = shipped.files["obj"]
    direct = br.bake_selected_to_active(high_path, low_path, SIZE, space="OBJECT",
                                        extrusion=ext, cage_path=shipped.files["cage"],
                                        max_ray_distance=br.blender_max_ray_distance(ext, depth))
    through = {label: br.bake_through_normal_map(low_path, r.files["normal_map"], SIZE)
               for label, r in (("shipped", shipped), ("point", point))}
    low = load_mesh(low_path)
    near = near_hard_edges(low, SIZE)
    out = {"name": name, "report": rep, "low": low, "near": near}
    for label, thr in through.items():
        both = direct["mask"] & thr["mask"]
        ang = np.zeros((SIZE, SIZE))
        ang[both] = br.angles_deg(thr["normals"][both], direct["normals"][both])
        out[label] = {"all": _stats(ang[both]), "near": _stats(ang[both & near]),
                      "else": _stats(ang[both & ~near])}
    print(f"\n[reduce_blender] {name}: {rep['triangles_in']:,} → {rep['triangles_out']:,} "
          f"triangles, decimation max error {rep['decimation']['max_error']:.4g} "
          f"({100 * rep['decimation']['relative_error']:.3f}% of the diagonal), "
          f"{rep['unwrap']['charts']} charts, {rep['unwrap']['hard_edges']} hard edges, "
          f"{rep['misses']} missed texels; fixture {time.perf_counter() - t0:.1f} s")
    for label in ("shipped", "point"):
        for region in ("all", "near", "else"):
            print(f"[reduce_blender] {name} {label:>7} {region:>4}: {_fmt(out[label][region])}")
    return out


def test_hard_edges_are_uv_seams(case):
    edges = hard_edges(case["low"], HARD_ANGLE)
    assert len(edges) > 20
    assert uv_seam(case["low"], edges).all()
    assert case["report"]["misses"] == 0


def test_overall_error_in_blenders_reading(case):
    s = case["shipped"]["all"]
    assert s["count"] > 100_000
    assert s["median"] <= MEDIAN_MAX, s
    assert s["p95"] <= P95_MAX, s


def test_no_seams_at_hard_edges(case):
    near, rest = case["point"]["near"], case["point"]["else"]
    assert near["count"] > 1000
    ratio_median = near["median"] / rest["median"]
    ratio_p95 = near["p95"] / rest["p95"]
    print(f"\n[reduce_blender] {case['name']}: near/else median ×{ratio_median:.2f}, "
          f"p95 ×{ratio_p95:.2f}, mean ×{near['mean'] / rest['mean']:.2f}")
    assert ratio_median <= SEAM_RATIO, (near, rest)
    assert ratio_p95 <= SEAM_RATIO, (near, rest)
    # Seam artefacts would be whole rows of texels degrees off; ties are a handful.
    assert near["over_1deg"] <= 0.002 * near["count"], near
