"""The renderer's base colour: the mesh's corner colours × its texture (glTF), and "unlit".

What is asserted (64² images):

* Unlit rgb is the base colour itself, sRGB-encoded: a plane with one 8-bit sRGB colour per
  face renders, at every pixel, exactly that face's 8 bits (from the triangle pass); per-vertex
  colours affine in (x, y) render as that affine function at the hit (from the uv pass,
  u = x, v = y), so the barycentric interpolation picks the right corners.
* A sphere with two colours (upper and lower faces) shows both, each where its faces are.
* ``Mesh.base_color_texture`` at the UVs renders as an independent bilinear lookup of the
  sRGB-decoded texels (row 0 at the top, v up) and equals passing it as ``color_map``; a
  ``color_map`` replaces the mesh's texture; corner colours × texture multiply; a texture
  on a mesh without UVs is left out with a log line.
* Unlit ignores lights (same image under any rig, 1 and 4 samples per pixel).
* Lit: a mesh of one corner colour c renders exactly as the colourless mesh with
  ``material.base_color = c`` (GGX, default rig); a red mesh renders red.
* CLI: a PLY and an OBJ with vertex colours, through ``load_mesh`` and ``normalkit
  render``, give coloured rgb PNGs: unlit, each hit pixel holds its face's 8-bit colour;
  lit, red faces render red and blue ones blue. ``--shading`` offers every model.
"""

import json

import numpy as np
import pytest

from conftest import grid_plane
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image
from normalkit.mesh.io import save_ply
from normalkit.mesh.model import Mesh, srgb_lut
from normalkit.rendering.camera import Camera, orbit_cameras
from normalkit.rendering.render import (
    MODELS,
    AmbientLight,
    DirectionalLight,
    Material,
    PointLight,
    Renderer,
    linear_to_srgb,
    render,
    srgb_to_linear,
)
from scenes import unit_sphere

UNLIT = Material(model="unlit")
SIZE = 64
LUT8 = srgb_lut(np.uint8)


def top_camera(size: int = SIZE) -> Camera:
    """Orthographic, looking down −z at the unit square [0, 1]², which fills the image."""
    return Camera.orthographic_look_at((0.5, 0.5, 1), (0.5, 0.5, 0), up=(0, 1, 0),
                                       ortho_scale=1.0, width=size, height=size)


def face_colors(srgb8: np.ndarray) -> np.ndarray:
    """(F, 3) 8-bit sRGB colours → (F, 3, 4) linear per-corner RGBA, one colour per face."""
    rgba = np.ones((len(srgb8), 4), np.float32)
    rgba[:, :3] = LUT8[srgb8]
    return np.repeat(rgba[:, None], 3, axis=1)


def sphere(level: int = 3) -> Mesh:
    return unit_sphere(level)


def bilinear(texels: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Reference lookup, written from CONVENTIONS.md: texel (j, i) centred at
    u = (i + 0.5)/W, v = 1 − (j + 0.5)/H, bilinear, wrapping; float64."""
    h, w = texels.shape[:2]
    x = uv[:, 0] * w - 0.5
    y = (1 - uv[:, 1]) * h - 0.5
    i0, j0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = (x - i0)[:, None], (y - j0)[:, None]

    def at(j, i):
        return texels[j % h, i % w].astype(np.float64)

    return ((1 - fy) * ((1 - fx) * at(j0, i0) + fx * at(j0, i0 + 1))
            + fy * ((1 - fx) * at(j0 + 1, i0) + fx * at(j0 + 1, i0 + 1)))


# --------------------------------------------------------------------------------------------
# Corner colours


def test_unlit_face_colours_come_back_exactly():
    plane = grid_plane(4)  # 32 triangles, ~64 pixels each at 64²
    rng = np.random.default_rng(1)
    srgb8 = rng.integers(0, 256, (plane.n_faces, 3))
    res = render(plane.replace(colors=face_colors(srgb8)), top_camera(), material=UNLIT,
                 passes=("rgb", "triangle"))
    tri = res["triangle"]
    assert (tri >= 0).all()
    np.testing.assert_allclose(res["rgb"], srgb8[tri] / 255, atol=1e-5)
    np.testing.assert_array_equal(np.rint(res["rgb"] * 255), srgb8[tri])


def test_corner_colours_are_interpolated_with_the_hit_barycentrics():
    plane = grid_plane(3)
    x, y = plane.positions[:, 0], plane.positions[:, 1]

    def affine(x, y):  # linear RGB, in [0.1, 0.9] over the square
        return np.stack([0.1 + 0.8 * x, 0.9 - 0.5 * y, 0.2 + 0.3 * x + 0.4 * y], -1)

    rgba = np.concatenate([affine(x, y), np.ones((len(x), 1))], 1).astype(np.float32)
    res = render(plane.replace(colors=rgba[plane.faces]), top_camera(), material=UNLIT,
                 passes=("rgb", "uv"))
    uv = res["uv"].reshape(-1, 2).astype(np.float64)  # u = x, v = y at the hit
    expect = affine(uv[:, 0], uv[:, 1]).reshape(SIZE, SIZE, 3)
    np.testing.assert_allclose(srgb_to_linear(res["rgb"]), expect, atol=2e-6)


def test_a_two_colour_sphere_shows_both_where_their_faces_are():
    s = sphere()
    upper = s.corner_positions()[:, :, 2].mean(1) > 0
    srgb8 = np.where(upper[:, None], [[230, 40, 30]], [[20, 60, 220]])
    cam = Camera.look_at((0, -4, 0.5), (0, 0, 0), fov_deg=40, width=SIZE, height=SIZE)
    res = render(s.replace(colors=face_colors(srgb8)), cam, passes=("rgb", "triangle"))
    tri = res["triangle"]
    red, blue = (tri >= 0) & upper[tri], (tri >= 0) & ~upper[tri]
    assert red.sum() > 300 and blue.sum() > 300, (red.sum(), blue.sum())
    lin = srgb_to_linear(res["rgb"])
    # Diffuse follows the colour; the white specular adds about equally to all three, and a
    # few highlight pixels clip to white (excluded).
    red &= lin.max(-1) < 1
    blue &= lin.max(-1) < 1
    assert (lin[red][:, 0] > lin[red][:, 2]).all()
    assert (lin[blue][:, 2] > lin[blue][:, 0]).all()
    assert np.median(lin[red][:, 0] - lin[red][:, 2]) > 0.1
    assert np.median(lin[blue][:, 2] - lin[blue][:, 0]) > 0.1
    unlit = render(s.replace(colors=face_colors(srgb8)), cam, material=UNLIT,
                   passes=("rgb", "triangle"))
    np.testing.assert_array_equal(np.rint(unlit["rgb"][red] * 255), np.tile([230, 40, 30],
                                                                            (red.sum(), 1)))
    np.testing.assert_array_equal(np.rint(unlit["rgb"][blue] * 255), np.tile([20, 60, 220],
                                                                              (blue.sum(), 1)))


# --------------------------------------------------------------------------------------------
# Textures


def texture_plane() -> tuple[Mesh, np.ndarray]:
    plane = grid_plane(2)  # uv = (x, y)
    rng = np.random.default_rng(2)
    tex = rng.integers(0, 256, (5, 7, 4)).astype(np.uint8)
    tex[..., 3] = 255
    return plane, tex


def test_the_mesh_texture_renders_at_its_uvs():
    plane, tex = texture_plane()
    res = render(plane.replace(base_color_texture=tex), top_camera(), material=UNLIT,
                 passes=("rgb", "uv"))
    expect = bilinear(LUT8[tex[..., :3]], res["uv"].reshape(-1, 2).astype(np.float64))
    np.testing.assert_allclose(srgb_to_linear(res["rgb"]).reshape(-1, 3), expect, atol=2e-6)
    # The same texels given as color_map render the same image.
    same = render(plane, top_camera(), material=UNLIT, color_map=tex, passes=("rgb",))
    np.testing.assert_array_equal(same["rgb"], res["rgb"])


def test_color_map_replaces_the_mesh_texture():
    plane, tex = texture_plane()
    other = np.zeros((2, 2, 3), np.uint8)
    other[..., 1] = 180
    res = render(plane.replace(base_color_texture=tex), top_camera(), material=UNLIT,
                 color_map=other, passes=("rgb",))
    np.testing.assert_allclose(res["rgb"], np.broadcast_to([0, 180 / 255, 0], res["rgb"].shape),
                               atol=1e-6)


def test_corner_colours_times_texture():
    plane, tex = texture_plane()
    c = np.array([0.5, 1.0, 0.25], np.float32)
    colors = np.ones((plane.n_faces, 3, 4), np.float32)
    colors[..., :3] = c
    res = render(plane.replace(colors=colors, base_color_texture=tex), top_camera(),
                 material=UNLIT, passes=("rgb", "uv"))
    expect = c * bilinear(LUT8[tex[..., :3]], res["uv"].reshape(-1, 2).astype(np.float64))
    np.testing.assert_allclose(srgb_to_linear(res["rgb"]).reshape(-1, 3), expect, atol=2e-6)
    # Lit too: the colour multiplies the diffuse term (Lambert, ambient light of 1).
    lit = render(plane.replace(colors=colors, base_color_texture=tex), top_camera(),
                 material=Material(model="lambert"), lights=[AmbientLight(intensity=1.0)],
                 passes=("rgb",))
    np.testing.assert_allclose(srgb_to_linear(lit["rgb"]).reshape(-1, 3), expect, atol=2e-6)


def test_a_texture_without_uvs_is_left_out_with_a_log_line():
    plane, tex = texture_plane()
    msgs = []
    res = render(plane.replace(uvs=None, base_color_texture=tex), top_camera(size=8),
                 material=Material(model="unlit", base_color=(0.2, 0.4, 0.6)), passes=("rgb",),
                 log=msgs.append)
    np.testing.assert_allclose(srgb_to_linear(res["rgb"]),
                               np.broadcast_to([0.2, 0.4, 0.6], (8, 8, 3)), atol=2e-6)
    assert any("no UVs" in m and "not used" in m for m in msgs), msgs
    with pytest.raises(NormalkitError, match="no UVs"):  # an explicit map still needs them
        render(plane.replace(uvs=None), top_camera(size=8), color_map=tex)


# --------------------------------------------------------------------------------------------
# Unlit versus lit


def test_unlit_ignores_lights_and_normals():
    s = sphere()
    rng = np.random.default_rng(3)
    colored = s.replace(colors=face_colors(rng.integers(0, 256, (s.n_faces, 3))))
    r = Renderer(colored, threads=2)
    cam = orbit_cameras(colored, views=1, size=SIZE)[0]
    rigs = [None, [], [AmbientLight(intensity=5.0)],
            [DirectionalLight(direction=(1, 0, 0), intensity=9.0, space="world"),
             PointLight(position=(0, 0, 3), intensity=4.0)]]
    for samples in (1, 4):
        shots = [r.render(cam, lights=rig, material=UNLIT, samples=samples,
                          passes=("rgb", "alpha")) for rig in rigs]
        for shot in shots[1:]:
            np.testing.assert_array_equal(shot["rgb"], shots[0]["rgb"])
        assert shots[0]["rgb"].max() > 0
    # Other material fields play no part either.
    rough = r.render(cam, material=Material(model="unlit", roughness=1.0, metallic=1.0,
                                            base_color=(1, 0, 1)), passes=("rgb",))
    np.testing.assert_array_equal(rough["rgb"], r.render(cam, material=UNLIT,
                                                         passes=("rgb",))["rgb"])


def test_lit_colour_scales_like_the_material_base_colour():
    s = sphere()
    cam = orbit_cameras(s, views=1, size=SIZE)[0]
    for c in ((0.8, 0.3, 0.1), (1.0, 0.0, 0.0)):
        colors = np.ones((s.n_faces, 3, 4), np.float32)
        colors[..., :3] = c
        mine = render(s.replace(colors=colors), cam, passes=("rgb", "mask"))
        grey = render(s, cam, material=Material(base_color=c), passes=("rgb",))
        np.testing.assert_allclose(mine["rgb"], grey["rgb"], atol=1e-6)
    # The red one is red: with GGX, R beats G and B (which only the highlights add to);
    # with Lambert (no specular), G and B are exactly 0.
    m = mine["mask"]
    lin = srgb_to_linear(mine["rgb"][m])
    assert (lin[:, 0] >= lin[:, 1]).all() and np.median(lin[:, 0] - lin[:, 1]) > 0.1
    lam = render(s.replace(colors=colors), cam, material=Material(model="lambert"),
                 passes=("rgb",))["rgb"][m]
    assert (lam[:, 0] > 0).all()
    np.testing.assert_array_equal(lam[:, 1:], 0)


def test_unlit_is_a_model_and_the_cli_offers_every_model():
    import argparse

    from normalkit.cli import build_parser

    assert "unlit" in MODELS
    Material(model="unlit").validate()
    with pytest.raises(NormalkitError, match="material.model"):
        Material(model="albedo").validate()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    shading = next(a for a in sub.choices["render"]._actions if a.dest == "shading")
    assert tuple(shading.choices) == MODELS


def test_no_colour_no_texture_uses_material_base_color():
    res = render(grid_plane(1), top_camera(size=8),
                 material=Material(model="unlit", base_color=(0.25, 0.5, 1.0)), passes=("rgb",))
    np.testing.assert_allclose(res["rgb"], np.broadcast_to(
        linear_to_srgb(np.array([0.25, 0.5, 1.0])), (8, 8, 3)), atol=1e-6)


# --------------------------------------------------------------------------------------------
# CLI: vertex colours in files → coloured rgb PNGs


def two_colour_sphere():
    s = sphere(2)
    upper = s.corner_positions()[:, :, 2].mean(1) > 0
    srgb8 = np.where(upper[:, None], [[200, 30, 60]], [[40, 90, 210]])
    return s.replace(colors=face_colors(srgb8)), srgb8


def write_obj_with_vertex_colours(mesh: Mesh, srgb8: np.ndarray, path) -> None:
    """OBJ ``v x y z r g b`` (sRGB in [0, 1]), one vertex per corner so that faces keep
    their own colour."""
    p = mesh.corner_positions().reshape(-1, 3)
    c = np.repeat(srgb8, 3, axis=0) / 255
    lines = [f"v {a:.9g} {b:.9g} {z:.9g} {r:.9g} {g:.9g} {bb:.9g}"
             for (a, b, z), (r, g, bb) in zip(p, c, strict=True)]
    lines += [f"f {3 * k + 1} {3 * k + 2} {3 * k + 3}" for k in range(mesh.n_faces)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("fmt", ["ply", "obj"])
def test_cli_renders_vertex_colours_of_ply_and_obj(tmp_path, fmt):
    mesh, srgb8 = two_colour_sphere()
    path = tmp_path / f"sphere.{fmt}"
    if fmt == "ply":
        save_ply(mesh, path)
    else:
        write_obj_with_vertex_colours(mesh, srgb8, path)
    args = ["render", str(path), "--size", str(SIZE), "--azimuths", "0", "--elevations", "10",
            "--up", "0", "0", "1", "-q"]
    assert main(args + ["-o", str(tmp_path / "unlit"), "--shading", "unlit",
                        "--samples", "1"]) == 0
    assert json.loads((tmp_path / "unlit" / "cameras.json").read_text())["shading"] == "unlit"
    rgba = read_image(tmp_path / "unlit" / "rgb_000.png")
    tri_img = read_image(tmp_path / "unlit" / "triangle_000.png").astype(np.int64)
    tri = (tri_img[..., 0] << 16) + (tri_img[..., 1] << 8) + tri_img[..., 2] - 1
    hit = tri >= 0
    assert hit.sum() > 500
    np.testing.assert_array_equal(rgba[hit, 3], 255)
    # Both colours appear, and every hit pixel holds one of them exactly (faces are
    # one-coloured; the PLY splits vertices per colour, the OBJ has one vertex per corner).
    got = {tuple(int(v) for v in px) for px in rgba[hit, :3]}
    assert got == {(200, 30, 60), (40, 90, 210)}, got
    # Lit (default GGX rig): red where the red faces are, blue where the blue are (the
    # files keep the face order, so the triangle pass names each pixel's face).
    assert main(args + ["-o", str(tmp_path / "lit")]) == 0
    lit = read_image(tmp_path / "lit" / "rgb_000.png").astype(int)
    red_face = (srgb8 == [200, 30, 60]).all(1)
    red, blue = hit & red_face[tri], hit & ~red_face[tri]
    assert red.sum() > 100 and blue.sum() > 100
    assert np.median(lit[red, 0] - lit[red, 2]) > 40
    assert np.median(lit[blue, 2] - lit[blue, 0]) > 40
