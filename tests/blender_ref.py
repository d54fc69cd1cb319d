"""Blender reference bakes for the interop tests, run in a subprocess.

Each call starts ``sys.executable`` on a generated script that imports ``bpy`` (Blender as a
Python module), so Blender's global state and memory never enter the pytest process. The
child writes the baked float image as ``.npy``; this module decodes it to unit vectors.

Functions
---------
bake_selected_to_active(high, low, size, *, space, extrusion, max_ray_distance, cage_path)
    Blender's own high → low bake (Cycles, bake type NORMAL, selected-to-active).
bake_through_normal_map(low, map_path, size, *, directx)
    Render a tangent-space map on the low-poly through Blender's Normal Map node and bake the
    resulting object-space normals (not selected-to-active).
blender_max_ray_distance(extrusion, max_distance)
    Convert normalkit's ray limit (measured beyond the low-poly surface) to Blender's
    ``max_ray_distance`` (measured from the extruded ray origin).
blender_sample_uv(width, height)
    The UV point Blender actually shades for every texel.
angle_stats(a, b, mask), angles_deg(a, b)
    Angles in degrees between normal fields.

Both bakes return a dict: ``normals`` (H, W, 3) float32 unit vectors, row 0 = top
(CONVENTIONS.md), zero where nothing was baked; ``mask`` (H, W) bool, the texels Blender
actually wrote; ``bake_seconds`` (the ``bpy.ops.object.bake`` call alone); ``total_seconds``
(the whole subprocess: start, imports, scene set-up, bake, result transfer); ``info`` (what the
child saw: mesh sizes, custom normals, the settings used).

Set-up (and why)
----------------
* Cycles, CPU, 1 sample, no denoising. Sample 0 uses filter offset (0.5, 0.5), i.e. no
  sub-texel jitter (``integrator_init_from_bake``, ``bake_jitter_barycentric``).
* Target: a 32-bit float RGBA Non-Color image in the active Image Texture node, initialised to
  (0, 0, 0, 0); margin 0; ``use_clear=False``. With ``use_clear=True`` and margin 0,
  ``write_internal_bake_pixels`` (editors/object/object_bake_api.cc) copies the *whole*
  result buffer with no coverage mask (unbaked texels come out (0.5, 0.5, 1, 1) in tangent
  space), so coverage could not be told apart. With ``use_clear=False`` only texels with a
  valid primitive are written, all with alpha 1: ``mask = alpha > 0.5``.
* Decoding: ``normal_compress`` (render/intern/bake.cc) writes
  ``rgb = sign·n[axis] / 2 + 0.5 + 1e-5`` per the swizzle, set here to POS_X/POS_Y/POS_Z, so
  n = normalize((rgb − 1e-5)·2 − 1). Blender's pixel rows run bottom-up; they are flipped.
* Meshes: OBJ through ``wm.obj_import`` and PLY through ``wm.ply_import``, both with
  forward_axis='Y', up_axis='Z' (the file's axes). ``vn`` / nx,ny,nz become custom normals
  (int16 angles in corner "fan" spaces: up to ~0.035° from the file's vectors). A mesh with
  file normals gets every face smooth and no sharp edges (re-applying the same corner
  normals); both importers already import such files that way. Materials from the file are
  dropped: the high-poly then renders with Cycles' default surface, whose NORMAL pass is the
  interpolated shading normal.
* Normal Map path: Image Texture (Closest, Non-Color, alpha CHANNEL_PACKED so alpha cannot
  touch the colour, ``use_half_precision=False`` because Cycles otherwise keeps 16-bit files
  as half floats) → Normal Map (TANGENT, the active UV map) → Principled BSDF Normal, with the
  material's Cycles "Bump Map Correction" off (see :func:`bake_through_normal_map`).

Blender 5.0 semantics (source function names)
---------------------------------------------
* Texel sample point (``RE_bake_pixels_populate`` + ``zspan_scanconvert``): the UV triangle is
  rasterised at integer pixel positions after shifting it by (−0.501, −0.502) pixels, so texel
  (row j from the top, column i) is shaded at u = (i + 0.501)/W, v = 1 − (j + 0.498)/H: 0.001
  texel right of and 0.002 texel above the CONVENTIONS centre. See :func:`blender_sample_uv`.
  When Cycles itself shades the low-poly (the Normal Map path), a sample lying exactly on a
  triangle edge (a barycentric exactly 0) is moved anyway: ``bake_jitter_barycentric``'s
  inside test is strict, so it retries with hashed offsets of up to half a texel. Such texels
  are rare (1–4 in 130k–515k texels on spot at 512²–1024², none at 256²) and account for the
  only differences above 0.01° in the self-agreement test (up to 0.54°).
* Ray (``calc_point_from_barycentric_extrusion``): P = barycentric interpolation of the
  low-poly positions; n̂ = normalize(barycentric interpolation of the three *vertex* normals)
  on smooth faces, the face normal on flat faces; origin = P + cage_extrusion·n̂; direction
  −n̂. ``Mesh::vert_normals()`` in 5.0 honours custom normals: each vertex normal is the
  corner-angle-weighted mix of its corners' custom normals (``mix_normals_corner_to_vert``).
  So with one file normal per vertex the ray follows the file normals (checked against an
  analytic scene in tests/test_blender_ref.py); where a vertex has several corner normals
  (a hard edge given only through ``vn``), Blender's ray direction is their average while
  shading uses the corner normals. Without file normals: angle-weighted geometric vertex
  normals (``normals_calc_verts``), not normalkit's angle × area weights.
* Hit (``cast_ray_highpoly``): ``BLI_bvhtree_ray_cast`` from the origin, watertight,
  two-sided, the nearest hit with t ≥ 0 (nothing behind the origin); over several high-poly
  objects the nearest in world space. It is accepted if |hit − origin|² < max_ray_distance²
  (distance from the *extruded origin*, not from the surface); max_ray_distance = 0 means
  unlimited.
* use_cage without a cage object: the same extrusion, on the low-poly evaluated without Edge
  Split modifiers, with n̂ always interpolated (``is_cage`` forces smooth).
* Cage object (``calc_point_from_barycentric_cage``): origin = the cage point with the same
  triangle index and barycentrics; direction = normalize(low point − cage point);
  cage_extrusion is ignored; max_ray_distance is still measured from the cage point. The cage
  needs the low-poly's face and corner counts (and the same triangulation).
* Output (``RE_bake_normal_world_to_object`` / ``RE_bake_normal_world_to_tangent``): the
  high-poly's shading normal at the hit (Cycles: normalized interpolated vertex/corner
  normal; Principled average of closure normals when the material perturbs it), then object
  space via the inverse object matrix, or tangent space via the exact inverse of the
  low-poly's per-texel [T, B, N] (T, N interpolated and unnormalised, B = sign·cross(N, T),
  MikkTSpace of the active UV map, corner normals), normalised.
* Normal Map node (Cycles ``svm_node_normal_map``): c = 2·(rgb − 0.5) (not normalised);
  N = normalize(c.x·T + c.y·B + c.z·N) with the unnormalised interpolated tangent and
  normal, B = sign·cross(N, T); then to world space, negated on back faces. At strength 1
  nothing else is applied. The Principled BSDF then runs ``maybe_ensure_valid_specular_
  reflection(sd, N)`` for its specular closure when the material's Bump Map Correction is
  on, and the NORMAL pass is the weight-averaged closure normal
  (``surface_shader_average_normal``), so that correction can bend strongly tilted normals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

__all__ = [
    "BLENDER_NORMAL_BIAS",
    "bpy_works",
    "angle_stats",
    "angles_deg",
    "bake_selected_to_active",
    "bake_through_normal_map",
    "blender_max_ray_distance",
    "blender_sample_uv",
    "decode_blender_normals",
]

@pytest.fixture(scope="module", autouse=True)
def bpy_works():
    """Skip the module when Blender as a module does not import (import this fixture into
    a test module: ``from blender_ref import bpy_works  # noqa: F401``)."""
    proc = subprocess.run([sys.executable, "-c", "import bpy"], capture_output=True, text=True,
                          timeout=120)
    if proc.returncode != 0:
        pytest.skip(f"bpy does not import: {proc.stderr.strip().splitlines()[-1:]}")


#: ``normal_compress`` (render/intern/bake.cc) adds this to every encoded channel.
BLENDER_NORMAL_BIAS = 1e-5

#: Smallest ``max_ray_distance`` that still limits the ray: Blender compares squared float32
#: distances and treats a squared limit of exactly 0 as "unlimited".
_MIN_BLENDER_RAY = 1e-6


def blender_max_ray_distance(extrusion: float, max_distance: float | None) -> float:
    """Blender's ``max_ray_distance`` equivalent to normalkit's ``(extrusion, max_distance)``.

    normalkit: origin = surface + extrusion·n̂, direction −n̂, hits accepted up to
    ``max_distance`` *beyond the low-poly surface*, i.e. at ray parameter t ≤ extrusion +
    max_distance. Blender (``cast_ray_highpoly``): the nearest hit along the ray is accepted if
    its distance *from the ray origin* (the extruded point) is < ``max_ray_distance``; 0 means
    unlimited. So Blender's value is ``extrusion + max_distance``.

    ``max_distance`` None or inf → 0.0 (unlimited). A total of 0 would read as unlimited in
    Blender, so it becomes 1e-6 instead.
    """
    if max_distance is None or not np.isfinite(max_distance):
        return 0.0
    if extrusion < 0 or max_distance < 0:
        raise ValueError("extrusion and max_distance must be non-negative")
    return max(float(extrusion) + float(max_distance), _MIN_BLENDER_RAY)


def blender_sample_uv(width: int, height: int) -> np.ndarray:
    """(H, W, 2) UV at which Blender shades each texel, row 0 = top.

    ``RE_bake_pixels_populate`` shifts the UV triangles by (−0.501, −0.502) pixels before
    rasterising at integer positions: u = (i + 0.501)/W, v = 1 − (j + 0.498)/H, i.e. 0.001
    texel right of and 0.002 texel above the texel centre of CONVENTIONS.md.
    """
    u = (np.arange(width) + 0.501) / width
    v = 1.0 - (np.arange(height) + 0.498) / height
    uu, vv = np.meshgrid(u, v, indexing="xy")
    return np.stack([uu, vv], axis=-1)


def decode_blender_normals(pixels: np.ndarray, swizzle=("POS_X", "POS_Y", "POS_Z")):
    """Decode a Blender normal-bake float buffer to (normals, mask), row 0 = top.

    ``pixels`` is (H, W, 4) as read from ``Image.pixels`` (row 0 = bottom). ``mask`` is
    alpha > 0.5 (the harness initialises alpha to 0 and Blender writes 1). Normals outside the
    mask are 0.
    """
    px = np.asarray(pixels, dtype=np.float64)[::-1]
    mask = px[..., 3] > 0.5
    enc = (px[..., :3] - BLENDER_NORMAL_BIAS) * 2.0 - 1.0
    n = np.zeros_like(enc)
    for out_c, sw in enumerate(swizzle):
        axis = "XYZ".index(sw[-1])
        sign = -1.0 if sw.startswith("NEG") else 1.0
        n[..., axis] = sign * enc[..., out_c]
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    n = np.divide(n, length, out=np.zeros_like(n), where=length > 0)
    n[~mask] = 0.0
    return n.astype(np.float32), mask


def angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-vector angle in degrees between (..., 3) arrays (normalised here).

    Uses atan2(|a × b|, a · b), which stays accurate at tiny angles where arccos(a · b) of
    float32 unit vectors has a noise floor of ~0.02°.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1),
                                 np.einsum("...i,...i->...", a, b)))


def angle_stats(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Angle between two (H, W, 3) normal fields over ``mask`` (default: both non-zero).

    Returns ``{"median", "p95", "max", "mean"}`` in degrees and ``"count"`` (texels).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if mask is None:
        mask = np.any(a != 0, axis=-1) & np.any(b != 0, axis=-1)
    ang = angles_deg(a[mask], b[mask])
    if ang.size == 0:
        return {"median": float("nan"), "p95": float("nan"), "max": float("nan"),
                "mean": float("nan"), "count": 0}
    return {"median": float(np.median(ang)), "p95": float(np.percentile(ang, 95)),
            "max": float(ang.max()), "mean": float(ang.mean()), "count": int(ang.size)}


# --------------------------------------------------------------------------------------------
# The script that runs inside the child process. It reads its parameters from a JSON file
# named on the command line and writes pixels.npy + result.json into the same directory.
# --------------------------------------------------------------------------------------------
_CHILD = r'''
import json, os, sys, time, warnings
T_START = time.perf_counter()
params = json.load(open(sys.argv[1]))
out_dir = os.path.dirname(sys.argv[1])
import numpy as np
import bpy

info = {}
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = int(params.get("samples", 1))
scene.cycles.use_adaptive_sampling = False
scene.cycles.use_denoising = False
scene.render.threads_mode = "AUTO"


def import_mesh(path, label):
    before = set(bpy.data.objects)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".obj":
        bpy.ops.wm.obj_import(filepath=path, forward_axis="Y", up_axis="Z",
                              use_split_objects=False, use_split_groups=False)
    elif ext == ".ply":
        bpy.ops.wm.ply_import(filepath=path, forward_axis="Y", up_axis="Z")
    else:
        raise SystemExit(f"blender_ref: unsupported mesh format {ext!r} ({path})")
    new = [o for o in bpy.data.objects if o not in before and o.type == "MESH"]
    if len(new) != 1:
        raise SystemExit(f"blender_ref: {path} gave {len(new)} mesh objects, expected 1")
    ob = new[0]
    ob.name = label
    me = ob.data
    # Drop materials that came with the file: the high-poly then uses Cycles' default surface
    # (normal pass = interpolated shading normal, no node graph in between).
    me.materials.clear()
    n_faces = len(me.polygons)
    smooth = np.zeros(n_faces, bool)
    me.polygons.foreach_get("use_smooth", smooth)
    sharp_e = me.attributes.get("sharp_edge")
    n_sharp_edges = 0
    if sharp_e is not None:
        se = np.zeros(len(me.edges), bool)
        sharp_e.data.foreach_get("value", se)
        n_sharp_edges = int(se.sum())
    d = {"vertices": len(me.vertices), "faces": n_faces, "corners": len(me.loops),
         "has_custom_normals": bool(me.has_custom_normals),
         "flat_faces_on_import": int(n_faces - smooth.sum()),
         "sharp_edges_on_import": n_sharp_edges,
         "uv_maps": [uv.name for uv in me.uv_layers]}
    if me.has_custom_normals and (d["flat_faces_on_import"] or n_sharp_edges):
        # Make Blender interpolate the file's normals: all faces smooth, no sharp edges (which
        # would split the mesh for the bake), then re-apply the same corner normals (the
        # custom-normal encoding is relative to the smoothing fans, which just changed).
        cn = np.zeros(len(me.loops) * 3, np.float32)
        me.corner_normals.foreach_get("vector", cn)
        me.polygons.foreach_set("use_smooth", np.ones(n_faces, bool))
        if sharp_e is not None:
            sharp_e.data.foreach_set("value", np.zeros(len(me.edges), bool))
        me.normals_split_custom_set(cn.reshape(-1, 3).tolist())
        me.update()
        d["made_smooth"] = True
    info[label] = d
    return ob


def new_material(name):
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mat.use_nodes = True
    return mat


def bake_target(mat, w, h):
    img = bpy.data.images.new("nk_bake_target", w, h, alpha=True, float_buffer=True)
    img.colorspace_settings.name = "Non-Color"
    img.pixels.foreach_set(np.zeros(w * h * 4, np.float32))  # alpha 0 = not baked
    nodes = mat.node_tree.nodes
    for n in nodes:
        n.select = False
    tex = nodes.new("ShaderNodeTexImage")
    tex.name = "nk_bake_target"
    tex.image = img
    tex.interpolation = "Closest"
    tex.select = True
    nodes.active = tex
    return img


def principled(mat):
    for n in mat.node_tree.nodes:
        if n.bl_idname == "ShaderNodeBsdfPrincipled":
            return n
    raise SystemExit("blender_ref: new material has no Principled BSDF")


w, h = params["size"]
low = import_mesh(params["low"], "low")
mat = new_material("nk_low")
low.data.materials.append(mat)
mat.cycles.use_bump_map_correction = bool(params.get("bump_map_correction", False))
img = bake_target(mat, w, h)

if params["mode"] == "selected_to_active":
    high = import_mesh(params["high"], "high")
    cage = import_mesh(params["cage"], "cage") if params.get("cage") else None
    bpy.ops.object.select_all(action="DESELECT")
    high.select_set(True)
    low.select_set(True)
    bpy.context.view_layer.objects.active = low
    kw = dict(use_selected_to_active=True, normal_space=params["space"],
              cage_extrusion=params["extrusion"], max_ray_distance=params["max_ray_distance"],
              use_cage=cage is not None, cage_object=cage.name if cage else "")
else:
    mapimg = bpy.data.images.load(params["map"], check_existing=False)
    mapimg.colorspace_settings.name = "Non-Color"
    mapimg.alpha_mode = "CHANNEL_PACKED"   # colour independent of any alpha channel
    mapimg.use_half_precision = False      # Cycles would otherwise keep 16-bit files as half
    info["map"] = {"size": list(mapimg.size), "depth": mapimg.depth,
                   "is_float": bool(mapimg.is_float), "channels": mapimg.channels,
                   "snorm": params["snorm"]}
    nt = mat.node_tree
    tex = nt.nodes.new("ShaderNodeTexImage")
    tex.image = mapimg
    tex.interpolation = "Closest"
    tex.extension = "REPEAT"
    tex.select = False
    color = tex.outputs["Color"]
    if params["snorm"]:  # float file storing n itself: rgb = n * 0.5 + 0.5
        ma = nt.nodes.new("ShaderNodeVectorMath")
        ma.operation = "MULTIPLY_ADD"
        ma.inputs[1].default_value = (0.5, 0.5, 0.5)
        ma.inputs[2].default_value = (0.5, 0.5, 0.5)
        nt.links.new(color, ma.inputs[0])
        color = ma.outputs["Vector"]
    if params["directx"]:  # green down: g' = 1 - g
        sep = nt.nodes.new("ShaderNodeSeparateColor")
        comb = nt.nodes.new("ShaderNodeCombineColor")
        sub = nt.nodes.new("ShaderNodeMath")
        sub.operation = "SUBTRACT"
        sub.inputs[0].default_value = 1.0
        nt.links.new(color, sep.inputs[0])
        nt.links.new(sep.outputs[0], comb.inputs[0])
        nt.links.new(sep.outputs[1], sub.inputs[1])
        nt.links.new(sub.outputs[0], comb.inputs[1])
        nt.links.new(sep.outputs[2], comb.inputs[2])
        color = comb.outputs[0]
    nmap = nt.nodes.new("ShaderNodeNormalMap")
    nmap.space = "TANGENT"
    uv = low.data.uv_layers.active
    if uv is None:
        raise SystemExit("blender_ref: the low-poly has no UV map")
    nmap.uv_map = uv.name
    nmap.inputs["Strength"].default_value = 1.0
    nt.links.new(color, nmap.inputs["Color"])
    nt.links.new(nmap.outputs["Normal"], principled(mat).inputs["Normal"])
    bpy.ops.object.select_all(action="DESELECT")
    low.select_set(True)
    bpy.context.view_layer.objects.active = low
    kw = dict(use_selected_to_active=False, normal_space="OBJECT")

bake_type = params.get("bake_type", "NORMAL")
if bake_type == "AO":  # the world's AO distance limits the rays; one AO ray per sample
    world = bpy.data.worlds.new("nk_world")
    scene.world = world
    world.light_settings.distance = float(params["ao_distance"])
    info["ao_distance"] = world.light_settings.distance
kw.update(type=bake_type, normal_r="POS_X", normal_g="POS_Y", normal_b="POS_Z", margin=0,
          use_clear=False, target="IMAGE_TEXTURES", save_mode="INTERNAL")
info["bake_args"] = kw
T_READY = time.perf_counter()
t0 = time.perf_counter()
result = bpy.ops.object.bake(**kw)
bake_seconds = time.perf_counter() - t0
if result != {"FINISHED"}:
    raise SystemExit(f"blender_ref: bake returned {result}")
px = np.empty(w * h * 4, np.float32)
img.pixels.foreach_get(px)
np.save(os.path.join(out_dir, "pixels.npy"), px.reshape(h, w, 4))
info["setup_seconds"] = T_READY - T_START
info["blender_version"] = bpy.app.version_string
with open(os.path.join(out_dir, "result.json"), "w") as f:
    json.dump({"bake_seconds": bake_seconds, "info": info}, f)
'''


def _size(size) -> tuple[int, int]:
    if np.isscalar(size):
        return int(size), int(size)
    w, h = size
    return int(w), int(h)


def run_blender(script: str, params: dict, tmp: Path, timeout: float) -> dict:
    """Run ``script`` (which imports bpy) in a child Python with ``params`` as JSON.

    The child runs in ``tmp`` with ``params.json`` as its argument and must write
    ``result.json`` there; that dict is returned. A failed child raises RuntimeError
    with the tail of its output.
    """
    pfile = Path(tmp) / "params.json"
    pfile.write_text(json.dumps(params))
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.run([sys.executable, "-c", script, str(pfile)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=tmp)
    res_file = Path(tmp) / "result.json"
    if proc.returncode != 0 or not res_file.is_file():
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"Blender subprocess failed (exit {proc.returncode}):\n{tail}")
    return json.loads(res_file.read_text())


def write_spot_pair(tmp: Path, spot: Path, high_name: str = "high.ply") -> tuple[Path, Path]:
    """Low: spot with smooth normals (OBJ). High: spot subdivided twice and bumped along
    its normals, with smooth normals (PLY or OBJ by ``high_name``). Returns both paths."""
    import trimesh

    from normalkit.mesh.io import load_mesh, save_obj, save_ply
    from normalkit.mesh.model import Mesh
    from normalkit.mesh.normals import ensure_normals, smooth_normals

    low = ensure_normals(load_mesh(spot))
    save_obj(low, tmp / "low.obj")
    v, f = trimesh.remesh.subdivide(low.positions, low.faces)
    v, f = trimesh.remesh.subdivide(v, f)
    sub = Mesh(positions=v, faces=f, name="high")
    vn = np.zeros_like(v)
    vn[f.reshape(-1)] = smooth_normals(sub).reshape(-1, 3)  # welded: equal at seam copies
    bump = 0.012 * np.sin(40 * v[:, 0]) * np.sin(40 * v[:, 1]) * np.sin(40 * v[:, 2])
    high = Mesh(positions=v + bump[:, None] * vn, faces=f, name="high")
    high = high.replace(normals=smooth_normals(high))
    (save_ply if high_name.endswith(".ply") else save_obj)(high, tmp / high_name)
    return tmp / high_name, tmp / "low.obj"


def _run_child(params: dict, timeout: float) -> dict:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nk_blender_") as tmp:
        res = run_blender(_CHILD, params, Path(tmp), timeout)
        pixels = np.load(Path(tmp) / "pixels.npy")
    kind = params.get("bake_type", "NORMAL")
    if kind != "NORMAL":  # AO: the R channel; POSITION: RGB = x, y, z; with alpha
        px = np.asarray(pixels, dtype=np.float64)[::-1]  # Blender's row 0 is the bottom
        return {"values": px[..., 0] if kind == "AO" else px[..., :3], "mask": px[..., 3] > 0,
                "bake_seconds": float(res["bake_seconds"]),
                "total_seconds": time.perf_counter() - t0, "info": res["info"]}
    normals, mask = decode_blender_normals(pixels)
    return {"normals": normals, "mask": mask, "bake_seconds": float(res["bake_seconds"]),
            "total_seconds": time.perf_counter() - t0, "info": res["info"]}


def bake_selected_to_active(high_path, low_path, size, *, space: str = "OBJECT",
                            extrusion: float, max_ray_distance: float, cage_path=None,
                            timeout: float = 600, bake_type: str = "NORMAL",
                            samples: int = 1, ao_distance: float | None = None) -> dict:
    """Blender's selected-to-active NORMAL (or AO) bake of ``high_path`` onto
    ``low_path``'s UVs.

    Parameters
    ----------
    size : int or (W, H)
    space : "OBJECT" or "TANGENT"
        OBJECT: normals in the low-poly's object coordinates (= file coordinates; the
        importers keep the file's axes). TANGENT: MikkTSpace of the low-poly's active UV map.
    extrusion : float
        Blender's ``cage_extrusion``: ray origin = low-poly point + extrusion · n̂, direction
        −n̂, n̂ the normalised interpolation of the *vertex* normals, which Blender 5.0 mixes
        from the file's corner normals (module docstring).
    max_ray_distance : float
        Passed to Blender as is: measured from the ray origin, 0 = unlimited. To reproduce a
        normalkit bake use ``blender_max_ray_distance(extrusion, max_distance)``.
    cage_path : optional
        A cage mesh with the low-poly's topology. Blender then casts from each cage point
        towards the matching low-poly point, and ignores ``extrusion``.
    bake_type, samples, ao_distance
        ``"AO"``: Cycles' ambient-occlusion bake with ``samples`` render samples (one AO
        ray each, cosine-weighted) and the world's AO ``distance``. ``"POSITION"``: the
        hit's position (object = world here: the imported objects have no transform).

    Returns
    -------
    dict with ``normals`` (NORMAL) or ``values`` (AO: the R channel; POSITION: RGB),
    ``mask``,
    ``bake_seconds``, ``total_seconds``, ``info``.
    """
    space = space.upper()
    if space not in ("OBJECT", "TANGENT"):
        raise ValueError(f"space must be 'OBJECT' or 'TANGENT', not {space!r}")
    params = {"mode": "selected_to_active", "high": str(Path(high_path).resolve()),
              "low": str(Path(low_path).resolve()), "size": _size(size), "space": space,
              "extrusion": float(extrusion), "max_ray_distance": float(max_ray_distance),
              "cage": str(Path(cage_path).resolve()) if cage_path is not None else None,
              "bake_type": bake_type, "samples": int(samples), "ao_distance": ao_distance}
    return _run_child(params, timeout)


def _map_is_snorm(path: Path) -> bool:
    """True when the file stores n itself (CONVENTIONS: 32-bit float EXR/TIFF)."""
    suffix = path.suffix.lower()
    if suffix == ".exr":
        return True
    if suffix in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(str(path)) as tf:
            return np.dtype(tf.pages[0].dtype).kind == "f"
    return False


def bake_through_normal_map(low_path, map_path, size, *, directx: bool = False,
                            encoding: str = "auto", bump_map_correction: bool = False,
                            timeout: float = 600) -> dict:
    """Object-space normals of ``low_path`` shaded through a tangent-space map in Blender.

    Material: Image Texture (the map, Non-Color, Closest, full float precision, alpha
    ignored) → [DirectX: g' = 1 − g] → Normal Map (TANGENT, the active UV map, strength 1) →
    Principled BSDF Normal. Bake type NORMAL, OBJECT space, not selected-to-active, into the
    same kind of float target as :func:`bake_selected_to_active`.

    ``encoding``: "unorm" (rgb = n/2 + 1/2, PNG and integer TIFF), "snorm" (the file stores n,
    CONVENTIONS for 32-bit float EXR/TIFF) or "auto" (snorm for EXR and float TIFF).
    ``bump_map_correction``: Cycles' per-material "Bump Map Correction" (default on in
    Blender); it can bend strongly tilted normals toward the geometric normal (see
    ``maybe_ensure_valid_specular_reflection``), so it is off here unless asked for.
    """
    map_path = Path(map_path).resolve()
    if encoding == "auto":
        snorm = _map_is_snorm(map_path)
    elif encoding in ("unorm", "snorm"):
        snorm = encoding == "snorm"
    else:
        raise ValueError(f"encoding must be 'auto', 'unorm' or 'snorm', not {encoding!r}")
    params = {"mode": "through_normal_map", "low": str(Path(low_path).resolve()),
              "map": str(map_path), "size": _size(size), "directx": bool(directx),
              "snorm": snorm, "bump_map_correction": bool(bump_map_correction)}
    return _run_child(params, timeout)
