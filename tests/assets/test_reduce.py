"""``normalkit reduce``: files, report, colour, object space, and failures that leave nothing."""

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import grid_plane
from normalkit.assets.reduce import STAGES, reduce
from normalkit.assets.unwrap import hard_edges, uv_seam
from normalkit.baking.bake import bake
from normalkit.baking.raster import rasterize
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image, write_image
from normalkit.mesh.examples import colored_bumpy_torus
from normalkit.mesh.io import load_mesh, save_ply
from normalkit.mesh.model import Mesh, encode_color, linear_to_srgb, srgb_to_linear

FACES = 600
SIZE = 256


@pytest.fixture(scope="module")
def high_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("high") / "donut.ply"
    save_ply(colored_bumpy_torus(high_faces=20_000), path)
    return path


@pytest.fixture(scope="module")
def reduced(high_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("reduced") / "asset"
    notes = []
    result = reduce(high_path, out, faces=FACES, size=SIZE, samples=1, log=notes.append)
    return result, out, notes


def _leftovers(folder: Path) -> list:
    return [p.name for p in folder.iterdir() if p.name.endswith(".partial")]


def test_files_are_written(reduced):
    result, out, _ = reduced
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["donut.glb", "donut.obj", "donut.mtl", "donut_normal.png",
                            "donut_basecolor.png", "donut_cage.obj", "report.json"])
    assert set(result.files) == {"glb", "obj", "mtl", "normal_map", "color_map", "cage", "report"}
    assert all(p.parent == out and p.is_file() for p in result.files.values())
    assert not _leftovers(out.parent)
    assert oct(out.stat().st_mode & 0o777) != oct(0o700)  # not mkdtemp's private mode


def test_report(reduced, high_path):
    result, out, _ = reduced
    rep = json.loads((out / "report.json").read_text())
    assert rep == json.loads(json.dumps(result.report))
    assert rep["triangles_in"] == load_mesh(high_path).n_faces
    assert FACES - 1 <= rep["triangles_out"] <= FACES and rep["target_faces"] == FACES
    assert rep["decimation"]["max_error"] > 0 and rep["decimation"]["relative_error"] < 0.01
    assert rep["texels"] > 0.3 * SIZE * SIZE and rep["misses"] == 0
    assert rep["bake"]["cage_extrusion"] >= 2 * rep["decimation"]["max_outside"]
    assert rep["bake"]["max_distance"] >= 2 * rep["decimation"]["max_inside"]
    assert rep["bake"]["color"] is True and rep["bake"]["size"] == SIZE
    assert set(rep["seconds"]) == set(STAGES) | {"total"}
    assert all(v >= 0 for v in rep["seconds"].values())
    assert rep["seconds"]["total"] >= max(rep["seconds"][s] for s in STAGES)
    assert rep["machine"]["cores"] >= 1 and len(rep["machine"]["load_average"]) == 3
    assert rep["files"]["glb"] == "donut.glb" and rep["files"]["report"] == "report.json"
    # How to look at it: the viewer on this folder, with the high-poly to compare.
    assert rep["viewer"] == f"normalkit view {out.resolve()} --high {high_path.resolve()}"
    table = result.table()
    assert [line.split()[0] for line in table.splitlines()[1:]] == [*STAGES, "total"]


def test_low_poly_obj_round_trips_with_uvs_and_seams(reduced):
    result, out, _ = reduced
    low = load_mesh(out / "donut.obj")
    assert low.n_faces == result.report["triangles_out"]
    assert low.uvs.min() >= 0 and low.uvs.max() <= 1
    assert len(rasterize(low.uvs, SIZE, SIZE).overlap_texels) == 0
    assert uv_seam(low, hard_edges(low, 60)).all()
    mtl = (out / "donut.mtl").read_text()
    assert "donut_normal.png" in mtl and "map_Kd donut_basecolor.png" in mtl
    cage = load_mesh(out / "donut_cage.obj")
    assert cage.n_faces == low.n_faces
    # The cage lies outside the low-poly, about cage_extrusion away.
    gap = np.linalg.norm(cage.corner_positions() - low.corner_positions(), axis=-1)
    assert np.allclose(gap, result.report["bake"]["cage_extrusion"], rtol=1e-6)


def test_glb_has_tangents_and_both_textures(reduced):
    import pygltflib

    _, out, _ = reduced
    gltf = pygltflib.GLTF2().load(str(out / "donut.glb"))
    attrs = gltf.meshes[0].primitives[0].attributes
    assert attrs.POSITION is not None and attrs.NORMAL is not None
    assert attrs.TANGENT is not None and attrs.TEXCOORD_0 is not None
    mat = gltf.materials[0]
    assert mat.normalTexture is not None
    assert mat.pbrMetallicRoughness.baseColorTexture is not None


def test_normal_map_is_a_plausible_tangent_map(reduced):
    result, out, _ = reduced
    n = result.normals
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1, atol=1e-5)
    # Bumps of amplitude 0.02 on a smooth torus: mostly near (0, 0, 1), never backwards.
    assert np.median(n[..., 2]) > 0.95 and n[..., 2].min() > 0
    png = read_image(out / "donut_normal.png")
    assert png.dtype == np.uint16 and png.shape == (SIZE, SIZE, 3)


def test_color_map_follows_the_vertex_colours(reduced, high_path):
    result, out, _ = reduced
    png = read_image(out / "donut_basecolor.png")
    assert png.dtype == np.uint8 and png.shape == (SIZE, SIZE, 3)  # opaque: RGB
    np.testing.assert_array_equal(png, encode_color(result.color)[..., :3])
    # Every texel's colour is one the high-poly has (within bilinear mixing of neighbours).
    high = load_mesh(high_path)
    hi_rgb = linear_to_srgb(high.colors[..., :3].reshape(-1, 3))
    baked = png.reshape(-1, 3)[::97] / 255.0
    from scipy.spatial import cKDTree

    dist, _ = cKDTree(hi_rgb).query(baked)
    assert np.percentile(dist, 99) < 0.03


def test_constant_colour_survives_the_srgb_round_trip(tmp_path):
    high = colored_bumpy_torus(high_faces=8_000)
    srgb = np.array([200, 100, 50]) / 255
    rgba = np.ones(4, np.float32)
    rgba[:3] = srgb_to_linear(srgb)
    high = high.replace(colors=np.broadcast_to(rgba, high.colors.shape).copy())
    result = reduce(high, tmp_path / "out", faces=300, size=128, samples=4, name="flat")
    png = read_image(result.files["color_map"])
    covered = rasterize(result.low.uvs, 128, 128)
    texels = png.reshape(-1, 3)[np.unique(covered.texel)]
    assert np.abs(texels.astype(int) - [200, 100, 50]).max() <= 1


def test_texture_colour_is_baked_through_the_high_polys_uvs():
    size = 64
    gradient = np.zeros((32, 32, 4), np.uint8)
    gradient[..., 0] = np.linspace(0, 255, 32).round()[None, :]  # red grows with u
    gradient[..., 1] = np.linspace(255, 0, 32).round()[:, None]  # green high at v = 1 (top)
    gradient[..., 3] = 255
    high = grid_plane(24).replace(base_color_texture=gradient, name="textured")
    low = grid_plane(2)
    result = bake(high, low, size=size, samples=1, extrusion=0.1, max_distance=0.1, color=True)
    srgb = linear_to_srgb(result.color[..., :3])
    # Texel (j, i) of the bake sees the high-poly at the same UV: the texture, resampled.
    u = (np.arange(size) + 0.5) / size
    expect_r = np.interp(u * 32 - 0.5, np.arange(32), gradient[0, :, 0] / 255.0)
    np.testing.assert_allclose(srgb[size // 2, 2:-2, 0], expect_r[2:-2], atol=0.01)
    # (The outermost rows blend with the opposite edge: the texture repeats, as in glTF.)
    assert srgb[2, size // 2, 1] > 0.9 and srgb[-3, size // 2, 1] < 0.1
    np.testing.assert_allclose(result.color[result.coverage][:, 3], 1.0, atol=1e-6)


def test_bake_colour_without_colour_names_the_fix():
    plane = grid_plane(4)
    with pytest.raises(NormalkitError, match="no vertex colours"):
        bake(plane, plane, size=16, color=True)


def test_colour_loading(tmp_path):
    import trimesh

    # OBJ vertex colours are sRGB-encoded: decoded to linear.
    (tmp_path / "vc.obj").write_text("v 0 0 0 1 0.5 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 1\nf 1 2 3\n")
    m = load_mesh(tmp_path / "vc.obj")
    np.testing.assert_allclose(m.colors[0, 0], [1, srgb_to_linear(np.float32(128 / 255)), 0, 1],
                               atol=2e-3)
    # PLY written by save_ply keeps per-vertex colours (8-bit sRGB on disk), fast path too.
    plane = grid_plane(3)
    rng = np.random.default_rng(0)
    rgba = rng.random((len(plane.positions), 4)).astype(np.float32)
    plane = plane.replace(colors=rgba[plane.faces])
    save_ply(plane, tmp_path / "c.ply")
    back = load_mesh(tmp_path / "c.ply")
    np.testing.assert_allclose(linear_to_srgb(back.colors[..., :3]),
                               linear_to_srgb(plane.colors[..., :3]), atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(back.colors[..., 3], plane.colors[..., 3], atol=0.5 / 255 + 1e-6)
    # glTF COLOR_0 is linear: kept as is.
    tm = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    tm.visual.vertex_colors = [[255, 0, 0, 255], [0, 128, 0, 255], [0, 0, 255, 128]]
    tm.export(tmp_path / "c.glb")
    g = load_mesh(tmp_path / "c.glb")
    np.testing.assert_allclose(g.colors[0, :, 1], [0, 128 / 255, 0], atol=1e-6)
    # A textured OBJ brings its map_Kd image and UVs.
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[..., 2] = 255
    write_image(tmp_path / "blue.png", tex)
    (tmp_path / "t.mtl").write_text("newmtl m\nmap_Kd blue.png\n")
    (tmp_path / "t.obj").write_text("mtllib t.mtl\nusemtl m\nv 0 0 0\nv 1 0 0\nv 0 1 0\n"
                                    "vt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n")
    t = load_mesh(tmp_path / "t.obj")
    assert t.base_color_texture is not None and t.base_color_texture.shape == (8, 8, 4)
    assert (t.base_color_texture[..., 2] == 255).all() and t.has_color


def test_object_space_writes_obj_only_and_says_so(high_path, tmp_path):
    notes = []
    result = reduce(high_path, tmp_path / "obj", faces=FACES, size=SIZE, samples=1,
                    space="object", log=notes.append)
    names = sorted(p.name for p in (tmp_path / "obj").iterdir())
    assert "donut.glb" not in names and "donut_normal_object.png" in names
    assert "donut.obj" in names and "glb" not in result.files
    assert any("no glTF equivalent" in n for n in notes)
    assert "object-space" in (tmp_path / "obj" / "donut.mtl").read_text()


@pytest.mark.parametrize("faces", [0, -3, 10_000_000])
def test_bad_face_counts_fail_before_any_work(high_path, tmp_path, faces):
    out = tmp_path / "never"
    with pytest.raises(NormalkitError, match="faces"):
        reduce(high_path, out, faces=faces, size=SIZE)
    assert not out.exists() and not _leftovers(tmp_path)


@pytest.mark.parametrize("faces", ["0", "-3", "10000000"])
def test_cli_exits_2_with_one_line(high_path, tmp_path, capsys, faces):
    out = tmp_path / "never"
    code = main(["reduce", str(high_path), "-o", str(out), "--faces", faces, "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("normalkit: error: faces")
    assert not out.exists() and not _leftovers(tmp_path)


def test_failure_mid_way_leaves_outdir_as_it_was(high_path, tmp_path, monkeypatch):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (out / "donut.obj").write_text("old")

    def broken(*args, **kwargs):
        raise NormalkitError("disk full (simulated)")

    monkeypatch.setattr("normalkit.assets.export.export_obj", broken)
    with pytest.raises(NormalkitError, match="simulated"):
        reduce(high_path, out, faces=FACES, size=SIZE, samples=1)
    assert sorted(p.name for p in out.iterdir()) == ["donut.obj", "keep.txt"]
    assert (out / "donut.obj").read_text() == "old"
    assert not _leftovers(tmp_path)


def test_existing_outdir_gets_the_files_and_keeps_others(high_path, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    reduce(high_path, out, faces=FACES, size=SIZE, samples=1, name="ring")
    names = {p.name for p in out.iterdir()}
    assert {"keep.txt", "ring.glb", "ring.obj", "report.json"} <= names
    assert not _leftovers(tmp_path)


def test_outdir_that_is_a_file_is_refused(high_path, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NormalkitError, match="is a file"):
        reduce(high_path, tmp_path / "f", faces=FACES)


def test_cli_happy_path_prints_the_timing_table(high_path, tmp_path, capsys):
    code = main(["reduce", str(high_path), "-o", str(tmp_path / "cli"), "--ratio", "0.03",
                 "--size", "128", "--samples", "1", "-q"])
    out = capsys.readouterr().out
    assert code == 0
    for stage in (*STAGES, "total"):
        assert f"\n{stage}" in "\n" + out
    assert "cores" in out and (tmp_path / "cli" / "donut.glb").is_file()


def test_high_poly_without_normals_gets_them_split_at_the_hard_angle(tmp_path):
    # A box-like mesh without normals: reduce says how it made them.
    from normalkit.mesh.examples import torus

    t = torus(24, 12)
    mesh = Mesh(positions=np.round(t.positions * 4) / 4, faces=t.faces, name="blocky.obj")
    notes = []
    reduce(mesh, tmp_path / "b", faces=200, size=256, samples=1, log=notes.append)
    assert any("no normals" in n and "60°" in n for n in notes)
    assert math.isfinite(json.loads((tmp_path / "b" / "report.json").read_text())
                         ["decimation"]["max_error"])
    assert os.listdir(tmp_path) == ["b"]


def test_missed_texels_get_a_second_pass_with_longer_rays(high_path, tmp_path, monkeypatch):
    # Rays far too short for the decimation error: the first pass misses a lot.
    monkeypatch.setattr("normalkit.assets.reduce.RAY_FACTOR", 0.3)
    monkeypatch.setattr("normalkit.assets.reduce.RAY_MARGIN", 0.0)
    notes = []
    result = reduce(high_path, tmp_path / "short", faces=FACES, size=SIZE, samples=1,
                    log=notes.append)
    rep = result.report
    second = rep["bake"]["second_pass"]
    assert second is not None and second["filled"] > 0
    assert rep["misses"] == second["texels"] - second["filled"]
    assert second["cage_extrusion"] == pytest.approx(2 * rep["bake"]["cage_extrusion"])
    assert any("second pass" in n for n in notes)
    assert not any("--extrusion" in n for n in notes)  # bake's CLI hint does not apply
    # Padding filled every texel of the map, missed or not.
    length = np.linalg.norm(result.normals, axis=-1)
    assert np.isfinite(result.normals).all() and (length > 0.5).all()


def test_maps_beyond_the_normal_map(high_path, tmp_path):
    """--maps: the extra maps are written beside the asset, AO is the GLB's occlusion
    texture, and the normal map is the same as without them."""
    import pygltflib

    reduce(high_path, tmp_path / "plain", faces=FACES, size=SIZE, samples=1)
    full = reduce(high_path, tmp_path / "full", faces=FACES, size=SIZE, samples=1,
                  maps="normal,ao,height,position")
    names = sorted(p.name for p in (tmp_path / "full").iterdir())
    assert {"donut_ao.png", "donut_height.png", "donut_position.png"} <= set(names)
    assert (tmp_path / "full" / "donut_normal.png").read_bytes() == \
        (tmp_path / "plain" / "donut_normal.png").read_bytes()
    ao = read_image(tmp_path / "full" / "donut_ao.png")
    assert ao.dtype == np.uint16 and ao.ndim == 2 and ao.min() > 0
    g = pygltflib.GLTF2().load_binary(str(tmp_path / "full" / "donut.glb"))
    assert g.materials[0].occlusionTexture is not None
    assert pygltflib.GLTF2().load_binary(
        str(tmp_path / "plain" / "donut.glb")).materials[0].occlusionTexture is None
    assert full.report["bake"]["maps"] == ["ao", "height", "position"]
    assert set(full.report["bake"]["ranges"]) == {"height"}
