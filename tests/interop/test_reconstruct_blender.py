"""Blender reads a reconstruction as we meant it: textures, tangents and normal-mapped shading.

The reconstruction: a bumped unit sphere (:func:`normalkit.mesh.examples.bumpy_sphere`,
bumps finer than the output holds, with :func:`~normalkit.mesh.examples.pattern_colors`)
seen from the six MeshFormer views at 320², reconstructed to 2,000 faces with 512²
textures and written by :func:`~normalkit.reconstruction.pipeline.write_reconstruction`.
Its normal texture carries the bumps, so the shading comparisons below measure a map with
real content, not a flat one.

a. GLB import (Blender's glTF importer, default options, in a subprocess as in
   tests/interop/test_export_blender.py, whose child script this reuses): one material
   whose base-colour image (sRGB) feeds the Principled BSDF's Base Color and whose
   normal image (Non-Color) feeds a Normal Map node (tangent space, strength 1, the
   imported UV map) connected to its Normal; our GLB has TANGENT and TEXCOORD_0, and
   Blender's own MikkTSpace tangents of the imported mesh match our TANGENT attribute.
b. Shading through the imported material: Blender bakes the normal-mapped object-space
   normals (NORMAL pass, not selected-to-active) through the GLB's own material; normalkit
   converts the same 8-bit map embedded in the GLB to object space with the same mesh
   (:func:`normalkit.baking.spaces.tangent_to_object`). Bounds as for reduce's GLB in
   test_export_blender: median ≤ 0.2°, p95 ≤ 2°.
c. Rendering: Cycles renders the OBJ with the 16-bit normal PNG through its Normal Map
   node (tests/interop/test_render_blender.py's ``blender_render``) and normalkit's
   Renderer renders the same OBJ and PNG through the same camera (a view that is not an
   input). Bounds as in test_render_blender: median ≤ 0.5°, p95 ≤ 0.1°, coverage
   differing at ≤ 1 % of the pixels.

Frames: the glTF importer turns glTF's +Y up into Blender's +Z up; everything read from
the GLB scene is converted back with test_export_blender's ``TO_OURS``.

bpy is only ever imported in a subprocess; the module is skipped when it is missing.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("bpy") is None:  # no import here: bpy stays out of pytest
    pytest.skip("bpy (Blender as a Python module) is not installed", allow_module_level=True)

from test_export_blender import (  # noqa: E402
    SAME_DATA_MAX_DEG,
    TO_OURS,
    _run_child,
    compare_tangents,
)

import blender_ref as br  # noqa: E402
from blender_ref import bpy_works  # noqa: E402, F401  (skips without bpy)

pytestmark = pytest.mark.slow

TEXTURE = 512
FACES = 2000
#: As test_export_blender's bounds for spot: Blender keeps imported normals as int16 custom
#: normals, which moves them by up to a few hundredths of a degree on a reconstruction's
#: irregular triangles, and MikkTSpace passes part of that on to the tangents; that the
#: whole difference is the normals is checked below (our MikkTSpace of the data Blender
#: imported against Blender's tangents).
TANGENT_DEG, TANGENT_SHARE, TANGENT_MAX_DEG = 0.01, 0.98, 0.05
BAKE_MEDIAN_MAX, BAKE_P95_MAX = 0.2, 2.0  # degrees, as test_export_blender
RENDER_MEDIAN_MAX, RENDER_P95_MAX = 0.5, 0.1  # degrees, as test_render_blender
RENDER_SIZE = 256


@pytest.fixture(scope="module")
def recon(tmp_path_factory):
    from normalkit.mesh.examples import bumpy_sphere
    from normalkit.reconstruction.pipeline import reconstruct, write_reconstruction
    from normalkit.reconstruction.synthetic import mvdiffusion_cameras, render_views

    tmp = tmp_path_factory.mktemp("reconstruct_blender")
    truth = bumpy_sphere(frequency=60)
    views = render_views(truth, mvdiffusion_cameras(truth, size=320), shading="unlit")
    result = reconstruct(views, faces=FACES, texture=TEXTURE)
    write_reconstruction(result, tmp, name="recon")
    child = _run_child(tmp / "recon.glb", tangents=True, bake_size=TEXTURE)
    print(f"\n[reconstruct_blender] {result.summary()}; Blender "
          f"{child['info']['blender_version']} imported {child['info']['vertices']} vertices, "
          f"baked in {child['info']['bake_seconds']:.1f} s")
    return {"tmp": tmp, "glb": tmp / "recon.glb", "result": result, "child": child}


def _glb_normal_image(path) -> np.ndarray:
    """The normal texture embedded in our GLB, decoded from its PNG (RGB, row 0 at the top)."""
    import cv2
    import pygltflib

    g = pygltflib.GLTF2().load_binary(str(path))
    blob = g.binary_blob()
    mat = g.materials[g.meshes[0].primitives[0].material]
    image = g.images[g.textures[mat.normalTexture.index].source]
    view = g.bufferViews[image.bufferView]
    png = np.frombuffer(blob, np.uint8, view.byteLength, view.byteOffset)
    img = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(img[..., [2, 1, 0]])  # OpenCV's BGR → RGB


# ------------------------------------------------------------------------------------------
# a. What Blender imports
# ------------------------------------------------------------------------------------------
def test_glb_has_tangents_uvs_and_both_textures(recon):
    import pygltflib

    g = pygltflib.GLTF2().load_binary(str(recon["glb"]))
    prim = g.meshes[0].primitives[0]
    assert prim.attributes.TANGENT is not None and prim.attributes.TEXCOORD_0 is not None
    assert prim.attributes.NORMAL is not None
    mat = g.materials[prim.material]
    assert mat.normalTexture is not None
    assert mat.pbrMetallicRoughness.baseColorTexture is not None


def test_blender_wires_both_textures_into_the_principled_bsdf(recon):
    info = recon["child"]["info"]
    assert info["uv_maps"], info
    (mat,) = info["materials"]
    nodes = {n["name"]: n for n in mat["nodes"]}
    feeds = {(a, c, d) for a, _, c, d in mat["links"]}
    (principled,) = [n["name"] for n in nodes.values()
                     if n["type"] == "ShaderNodeBsdfPrincipled"]
    (nmap,) = [n for n in nodes.values() if n["type"] == "ShaderNodeNormalMap"]
    assert nmap["space"] == "TANGENT" and nmap["strength"] == 1.0
    assert nmap["uv_map"] in info["uv_maps"]
    assert (nmap["name"], principled, "Normal") in feeds
    normal_img = [n for n in nodes.values() if n["type"] == "ShaderNodeTexImage"
                  and (n["name"], nmap["name"], "Color") in feeds]
    assert len(normal_img) == 1 and normal_img[0]["colorspace"] == "Non-Color"
    color_img = [n for n in nodes.values() if n["type"] == "ShaderNodeTexImage"
                 and (n["name"], principled, "Base Color") in feeds]
    assert len(color_img) == 1 and color_img[0]["colorspace"] == "sRGB"


def test_blender_tangents_match_our_tangent_attribute(recon):
    child = recon["child"]
    np.testing.assert_array_equal(child["info"]["matrix_world"], np.eye(4))
    c = compare_tangents(recon["glb"], child)
    ang = c["angle"]
    print(f"\n[reconstruct_blender] {len(ang)} corners matched by {c['how']}: Blender "
          f"tangents vs our TANGENT median {np.median(ang):.1e}°, max {ang.max():.1e}°, "
          f"{100 * c['share']:.2f}% ≤ {TANGENT_DEG}°; Blender's stored normals vs ours: max "
          f"{c['normal_angle'].max():.1e}°; our MikkTSpace of Blender's imported data vs "
          f"Blender: max {c['same_angle'].max():.1e}°")
    np.testing.assert_array_equal(child["sign"], c["sign"])
    assert c["share"] >= TANGENT_SHARE
    assert ang.max() <= TANGENT_MAX_DEG
    assert c["same_angle"].max() <= SAME_DATA_MAX_DEG


# ------------------------------------------------------------------------------------------
# b. Normal-mapped shading through the imported material
# ------------------------------------------------------------------------------------------
def test_blender_shading_through_the_glb_matches_ours(recon):
    from normalkit.baking.spaces import tangent_to_object
    from normalkit.maps.encode import decode_normals

    result, child = recon["result"], recon["child"]
    img = _glb_normal_image(recon["glb"])
    assert img.shape == (TEXTURE, TEXTURE, 3)
    ours, ours_mask = tangent_to_object(decode_normals(img), result.mesh)
    b_n, b_mask = br.decode_blender_normals(child["pixels"])
    b_n = b_n @ TO_OURS.T  # Blender's object frame (Z up) → the mesh's own (glTF) frame
    both = b_mask & ours_mask
    stats = br.angle_stats(b_n, ours, both)
    # How much the map does: the same comparison against the mesh's own (flat-map) normals.
    flat, _ = tangent_to_object(np.broadcast_to(np.float32([0, 0, 1]), img.shape), result.mesh)
    plain = br.angle_stats(b_n, flat, both)
    print(f"\n[reconstruct_blender] {TEXTURE}²: Blender's shading through our GLB vs ours: "
          f"median {stats['median']:.4f}°, p95 {stats['p95']:.4f}°, max {stats['max']:.3f}° "
          f"over {stats['count']} texels (vs the mesh alone: median {plain['median']:.2f}°)")
    assert stats["count"] > 0.9 * b_mask.sum()
    assert stats["median"] <= BAKE_MEDIAN_MAX, stats
    assert stats["p95"] <= BAKE_P95_MAX, stats
    assert plain["median"] > 10 * max(stats["median"], 0.01)  # the map has content


# ------------------------------------------------------------------------------------------
# c. Cycles renders the normal-mapped mesh as our Renderer does
# ------------------------------------------------------------------------------------------
def test_cycles_render_matches_our_renderer(recon):
    from test_render_blender import blender_render

    from normalkit.mesh.io import load_mesh
    from normalkit.rendering.camera import orbit_cameras
    from normalkit.rendering.render import render

    tmp = recon["tmp"]
    low = load_mesh(tmp / "recon.obj")  # exactly what Blender reads
    cam = orbit_cameras(low, azimuths=[0], elevations=[35], size=RENDER_SIZE)[0]
    ours = render(low, cam, normal_map=tmp / "recon_normal.png",
                  passes=("normal_camera", "mask"))
    bl = blender_render(tmp / "recon.obj", cam, map_path=tmp / "recon_normal.png")
    bl_cam = bl["normal"] @ cam.cam_to_world[:3, :3]  # world → camera frame
    both = ours["mask"] & bl["mask"]
    stats = br.angle_stats(ours["normal_camera"], bl_cam, both)
    differ = int((ours["mask"] != bl["mask"]).sum())
    print(f"\n[reconstruct_blender] render {RENDER_SIZE}² vs Cycles {bl['version']}: median "
          f"{stats['median']:.4f}°, p95 {stats['p95']:.4f}°, max {stats['max']:.3f}° over "
          f"{stats['count']} pixels; coverage differs at {differ} pixels")
    assert stats["count"] > 0.2 * RENDER_SIZE ** 2
    assert stats["median"] <= RENDER_MEDIAN_MAX, stats
    assert stats["p95"] <= RENDER_P95_MAX, stats
    assert differ <= 0.01 * both.sum()
