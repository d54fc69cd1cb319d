"""export_glb / export_obj / ``normalkit export``: structure, round trips, validity, errors.

Every GLB these tests write is collected in one module fixture and checked by the Khronos
glTF validator (tests/gltf_validator.py): 0 errors and 0 warnings each.
"""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pygltflib
import pytest

import gltf_validator
from conftest import grid_plane
from normalkit.assets.export import export_glb, export_obj
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import write_image
from normalkit.maps.encode import encode_normals
from normalkit.mesh.examples import torus
from normalkit.mesh.io import load_mesh, save_obj
from normalkit.mesh.normals import smooth_normals
from normalkit.mesh.tangents import compute_tangents


# ------------------------------------------------------------------------------------------
# Test data
# ------------------------------------------------------------------------------------------
def _wavy_map(h: int, w: int) -> np.ndarray:
    """(H, W, 3) float unit tangent-space normals with structure in x and y."""
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    n = np.stack([0.4 * np.sin(6 * x), 0.3 * np.cos(4 * y), np.ones_like(x)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _mirrored_torus():
    """Torus whose u mirrors at 0.5, so half its corners have tangent sign −1."""
    m = torus(24, 12)
    uv = m.uvs.copy()
    uv[..., 0] = np.abs(2.0 * uv[..., 0] - 1.0)
    return m.replace(uvs=uv)


def _coloured(mesh):
    """The mesh with linear RGBA corner colours that vary per corner."""
    rng = np.random.default_rng(3)
    return mesh.replace(colors=rng.random((mesh.n_faces, 3, 4)).astype(np.float32))


def _color(h, w, channels=3) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)


def _cases():
    """name -> (mesh, kwargs for export_glb). Every one is written and validated."""
    tor = torus(24, 12)
    flat = tor.replace(normals=smooth_normals(tor, flat=True))
    return {
        "torus_16bit_color": (tor, dict(normal_map=encode_normals(_wavy_map(64, 96), 16),
                                        color_map=_color(32, 32))),
        "torus_8bit_no_normals": (tor.replace(normals=None),
                                  dict(normal_map=encode_normals(_wavy_map(32, 32), 8))),
        "mirrored_float_map_rgba_color": (_mirrored_torus(),
                                          dict(normal_map=_wavy_map(64, 64),
                                               color_map=_color(16, 16, 4))),
        "flat_normals_directx": (flat, dict(normal_map=encode_normals(_wavy_map(32, 32), 16),
                                            directx=True)),
        "no_maps": (tor, dict(normal_map=None)),
        "colours_no_uvs": (_coloured(tor.replace(uvs=None)), dict(normal_map=None)),
        "with_occlusion": (tor, dict(normal_map=encode_normals(_wavy_map(32, 32), 8),
                                     occlusion_map=_color(32, 32)[..., 0])),
        "uint32_indices": (grid_plane(256), dict(normal_map=encode_normals(
            _wavy_map(16, 16), 8))),
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every case exported once: name -> (path, mesh, kwargs, summary, log lines)."""
    d = tmp_path_factory.mktemp("glb")
    out = {}
    for name, (mesh, kw) in _cases().items():
        lines = []
        info = export_glb(d / f"{name}.glb", mesh, log=lines.append, **kw)
        out[name] = (d / f"{name}.glb", mesh, kw, info, lines)
    return out


@pytest.fixture(scope="module")
def cli_glb(tmp_path_factory):
    """A GLB written by ``normalkit export`` (also validated)."""
    d = tmp_path_factory.mktemp("cli_glb")
    low = torus(16, 8)
    save_obj(low, d / "low.obj")
    write_image(d / "normal.png", encode_normals(_wavy_map(32, 32), 16))
    write_image(d / "color.png", _color(16, 16))
    code = main(["export", str(d / "low.obj"), str(d / "normal.png"), "--color",
                 str(d / "color.png"), "-o", str(d / "asset.glb")])
    assert code == 0
    return d / "asset.glb"


@pytest.fixture(scope="module")
def reports(written, cli_glb):
    reason = gltf_validator.missing_tool()
    if reason:
        pytest.skip(reason)
    paths = [p for p, *_ in written.values()] + [cli_glb]
    reps = gltf_validator.validate(paths)
    for r in reps:
        print(f"\n[gltf-validator {r['validatorVersion']}] {gltf_validator.summary(r)}")
    return {p.name: r for p, r in zip(paths, reps, strict=True)}


def _read(path):
    """(gltf, accessor reader, image bytes reader) of a GLB."""
    g = pygltflib.GLTF2().load_binary(str(path))
    blob = g.binary_blob()
    dtypes = {5126: np.float32, 5125: np.uint32, 5123: np.uint16}
    widths = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}

    def accessor(i):
        a = g.accessors[i]
        v = g.bufferViews[a.bufferView]
        start = v.byteOffset + (a.byteOffset or 0)
        arr = np.frombuffer(blob, dtypes[a.componentType], a.count * widths[a.type], start)
        return arr.reshape(a.count, -1) if a.type != "SCALAR" else arr

    def image(i):
        v = g.bufferViews[g.images[i].bufferView]
        png = np.frombuffer(blob, np.uint8, v.byteLength, v.byteOffset)
        img = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
        if img.ndim == 3:  # OpenCV's BGR(A) -> RGB(A)
            img = img[..., [2, 1, 0, 3][:img.shape[2]]]
        return img
    return g, accessor, image


# ------------------------------------------------------------------------------------------
# Validity
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*_cases(), "cli"])
def test_khronos_validator_reports_no_errors_or_warnings(reports, name):
    r = reports["asset.glb" if name == "cli" else f"{name}.glb"]
    assert r["issues"]["numErrors"] == 0, gltf_validator.summary(r)
    assert r["issues"]["numWarnings"] == 0, gltf_validator.summary(r)


def test_validator_reads_16_bit_normal_texture(reports):
    images = [res["image"] for res in reports["torus_16bit_color.glb"]["info"]["resources"]
              if res["pointer"].startswith("/images/")]
    assert [(i["bits"], i["format"]) for i in images] == [(16, "rgb"), (8, "rgb")]


# ------------------------------------------------------------------------------------------
# Round trip of the structure
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["torus_16bit_color", "mirrored_float_map_rgba_color",
                                  "flat_normals_directx", "uint32_indices"])
def test_corners_round_trip(written, name):
    path, mesh, kw, info, _ = written[name]
    g, acc, _ = _read(path)
    prim = g.meshes[0].primitives[0]
    idx = acc(prim.indices).astype(np.int64)
    assert len(idx) == mesh.n_faces * 3 and info["triangles"] == mesh.n_faces
    expect_type = 5123 if info["vertices"] < 65535 else 5125
    assert g.accessors[prim.indices].componentType == expect_type
    pos, nrm = acc(prim.attributes.POSITION), acc(prim.attributes.NORMAL)
    uv, tan = acc(prim.attributes.TEXCOORD_0), acc(prim.attributes.TANGENT)
    assert len(pos) == info["vertices"]

    corner_pos = mesh.corner_positions().reshape(-1, 3).astype(np.float32)
    np.testing.assert_array_equal(pos[idx], corner_pos)
    np.testing.assert_allclose(nrm[idx], mesh.normals.reshape(-1, 3), atol=1e-6)
    v_up = np.stack([uv[idx, 0], 1.0 - uv[idx, 1]], axis=1)  # undo v' = 1 - v
    np.testing.assert_allclose(v_up, mesh.uvs.reshape(-1, 2), atol=1e-7)
    ours = compute_tangents(mesh)
    np.testing.assert_allclose(tan[idx, :3], ours[:, :3], atol=1e-6)
    np.testing.assert_array_equal(tan[idx, 3], ours[:, 3])
    # Every vertex is one distinct corner: no two share all four attributes.
    rows = np.concatenate([pos, nrm, uv, tan], axis=1)
    assert len(np.unique(rows, axis=0)) == len(rows)
    a = g.accessors[prim.attributes.POSITION]
    np.testing.assert_array_equal(a.min, corner_pos.min(axis=0))
    np.testing.assert_array_equal(a.max, corner_pos.max(axis=0))


def test_a_mesh_without_textures_needs_no_uvs_and_keeps_its_colours(written):
    """A high-poly without UVs: no TEXCOORD_0, no tangents; corner colours as COLOR_0."""
    path, mesh, _, info, _ = written["colours_no_uvs"]
    g, acc, _ = _read(path)
    prim = g.meshes[0].primitives[0]
    assert prim.attributes.TEXCOORD_0 is None and prim.attributes.TANGENT is None
    idx = acc(prim.indices).astype(np.int64)
    np.testing.assert_array_equal(acc(prim.attributes.POSITION)[idx],
                                  mesh.corner_positions().reshape(-1, 3).astype(np.float32))
    np.testing.assert_array_equal(acc(prim.attributes.COLOR_0)[idx],
                                  mesh.colors.reshape(-1, 4))
    assert info["vertices"] == mesh.n_faces * 3  # every corner has its own colour here


def test_ao_is_the_occlusion_texture(written):
    path, _, kw, _, _ = written["with_occlusion"]
    g, _, image = _read(path)
    m = g.materials[0]
    assert m.occlusionTexture is not None and m.normalTexture is not None
    src = g.textures[m.occlusionTexture.index].source
    np.testing.assert_array_equal(image(src), kw["occlusion_map"])


def test_mirrored_uvs_keep_their_signs(written):
    path, mesh, *_ = written["mirrored_float_map_rgba_color"]
    g, acc, _ = _read(path)
    w = acc(g.meshes[0].primitives[0].attributes.TANGENT)[:, 3]
    assert set(np.unique(w)) == {-1.0, 1.0}


def test_seams_and_hard_edges_split_vertices(written):
    """The torus has UV seams: positions repeat with different UVs; flat normals split more."""
    smooth = written["torus_16bit_color"][3]["vertices"]
    flat = written["flat_normals_directx"][3]["vertices"]
    n_positions = 24 * 12
    assert smooth == 25 * 13 > n_positions  # seam copies kept
    assert flat > smooth


def test_trimesh_reads_the_same_mesh(written):
    """load_mesh (trimesh's glTF reader, which flips v back) sees our corners."""
    path, mesh, *_ = written["torus_16bit_color"]
    back = load_mesh(path)
    np.testing.assert_array_equal(back.corner_positions(),
                                  mesh.corner_positions().astype(np.float32))
    np.testing.assert_allclose(back.uvs, mesh.uvs, atol=1e-7)
    np.testing.assert_allclose(back.normals, mesh.normals, atol=1e-6)


def test_material_textures_and_samplers(written):
    path, mesh, kw, info, _ = written["torus_16bit_color"]
    g, _, image = _read(path)
    assert g.asset.version == "2.0" and g.asset.generator.startswith("normalkit")
    mat = g.materials[g.meshes[0].primitives[0].material]
    pbr = mat.pbrMetallicRoughness
    assert pbr.metallicFactor == 0.0 and 0.0 < pbr.roughnessFactor < 1.0
    normal_tex = g.textures[mat.normalTexture.index]
    color_tex = g.textures[pbr.baseColorTexture.index]
    assert g.images[normal_tex.source].mimeType == "image/png"
    np.testing.assert_array_equal(image(normal_tex.source), kw["normal_map"])  # 16-bit as given
    np.testing.assert_array_equal(image(color_tex.source), kw["color_map"])
    for t in (normal_tex, color_tex):
        s = g.samplers[t.sampler]
        assert (s.magFilter, s.minFilter, s.wrapS, s.wrapT) == (9729, 9987, 10497, 10497)
    assert info["normal_map"] == "96×64 16-bit" and info["color_map"] == "32×32 8-bit"
    assert info["bytes"] == path.stat().st_size
    # GLB container: magic, version 2, total length; JSON then BIN chunk, 4-byte aligned.
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack("<I4s", data[12:20])
    assert json_type == b"JSON" and json_len % 4 == 0
    json.loads(data[20:20 + json_len])


def test_float_map_is_encoded_at_16_bits_and_alpha_kept_for_color(written):
    path, mesh, kw, info, _ = written["mirrored_float_map_rgba_color"]
    g, _, image = _read(path)
    mat = g.materials[0]
    np.testing.assert_array_equal(image(g.textures[mat.normalTexture.index].source),
                                  encode_normals(kw["normal_map"], 16))
    color = image(g.textures[mat.pbrMetallicRoughness.baseColorTexture.index].source)
    np.testing.assert_array_equal(color, kw["color_map"])  # RGBA, alpha kept


def test_directx_map_is_flipped_to_opengl_green(written):
    path, mesh, kw, *_ = written["flat_normals_directx"]
    g, _, image = _read(path)
    got = image(g.textures[g.materials[0].normalTexture.index].source)
    want = kw["normal_map"].copy()
    want[..., 1] = 65535 - want[..., 1]
    np.testing.assert_array_equal(got, want)


def test_no_maps_means_no_textures_and_no_tangents(written):
    path, *_ = written["no_maps"]
    g, *_ = _read(path)
    assert not g.textures and not g.images and not g.samplers
    assert g.materials[0].normalTexture is None
    assert g.meshes[0].primitives[0].attributes.TANGENT is None


def test_missing_normals_are_computed_as_the_baker_would(written):
    path, mesh, _, _, lines = written["torus_8bit_no_normals"]
    assert any("has no normals" in ln for ln in lines)
    g, acc, _ = _read(path)
    prim = g.meshes[0].primitives[0]
    nrm = acc(prim.attributes.NORMAL)[acc(prim.indices).astype(int)]
    np.testing.assert_allclose(nrm, smooth_normals(mesh).reshape(-1, 3), atol=1e-6)


def test_given_tangents_are_written(tmp_path):
    mesh = torus(12, 6)
    t = compute_tangents(mesh).copy()
    t[:, 3] = -t[:, 3]  # a visible change: every sign flipped
    export_glb(tmp_path / "t.glb", mesh, encode_normals(_wavy_map(8, 8), 8), tangents=t)
    g, acc, _ = _read(tmp_path / "t.glb")
    prim = g.meshes[0].primitives[0]
    w = acc(prim.attributes.TANGENT)[acc(prim.indices).astype(int), 3]
    np.testing.assert_array_equal(w, t[:, 3])


# ------------------------------------------------------------------------------------------
# OBJ + MTL
# ------------------------------------------------------------------------------------------
def _mtl_lines(path):
    return [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]


def test_obj_and_mtl_reference_textures_relatively(tmp_path):
    (tmp_path / "tex").mkdir()
    write_image(tmp_path / "tex" / "n.png", encode_normals(_wavy_map(8, 8), 16))
    write_image(tmp_path / "tex" / "c.png", _color(8, 8))
    mesh = torus(12, 6)
    info = export_obj(tmp_path / "asset.obj", mesh, tmp_path / "tex" / "n.png",
                      tmp_path / "tex" / "c.png")
    obj = (tmp_path / "asset.obj").read_text().splitlines()
    assert obj[:2] == ["mtllib asset.mtl", "usemtl asset"]
    lines = _mtl_lines(tmp_path / "asset.mtl")
    assert lines[0] == "newmtl asset"
    assert "map_Kd tex/c.png" in lines
    assert "norm tex/n.png" in lines and "map_Bump -bm 1 tex/n.png" in lines
    assert "tangent space" in (tmp_path / "asset.mtl").read_text()
    assert info["normal_map"] == "tex/n.png" and info["mtl"].endswith("asset.mtl")
    back = load_mesh(tmp_path / "asset.obj")
    np.testing.assert_allclose(back.corner_positions(), mesh.corner_positions(), atol=1e-8)
    np.testing.assert_allclose(back.uvs, mesh.uvs, atol=1e-8)
    np.testing.assert_allclose(back.normals, mesh.normals, atol=1e-8)


def test_obj_texture_in_a_parent_folder(tmp_path):
    write_image(tmp_path / "n.png", encode_normals(_wavy_map(8, 8), 8))
    (tmp_path / "out").mkdir()
    export_obj(tmp_path / "out" / "a.obj", torus(8, 4), tmp_path / "n.png")
    assert "map_Bump -bm 1 ../n.png" in _mtl_lines(tmp_path / "out" / "a.mtl")


def test_obj_without_normals_gets_the_bakers_normals(tmp_path):
    mesh = torus(12, 6)
    lines = []
    export_obj(tmp_path / "a.obj", mesh.replace(normals=None), log=lines.append)
    assert any("has no normals" in ln for ln in lines)
    np.testing.assert_allclose(load_mesh(tmp_path / "a.obj").normals, mesh.normals, atol=1e-8)


def test_obj_accepts_object_space_and_says_so(tmp_path):
    write_image(tmp_path / "n.png", encode_normals(_wavy_map(8, 8), 16))
    lines = []
    export_obj(tmp_path / "a.obj", torus(8, 4), tmp_path / "n.png", space="object",
               log=lines.append)
    text = (tmp_path / "a.mtl").read_text()
    assert "Object-space normal map" in text and "n.png" in text
    assert not [ln for ln in _mtl_lines(tmp_path / "a.mtl")
                if ln.startswith(("norm", "map_Bump", "bump"))]
    assert len(lines) == 1 and "object-space" in lines[0]


# ------------------------------------------------------------------------------------------
# Errors: one clear message, nothing written
# ------------------------------------------------------------------------------------------
def _no_files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("case,match", [
    ("object_space", "no object-space normal texture"),
    ("no_uvs", "unwrap"),
    ("no_folder", "does not exist"),
    ("is_dir", "is a folder"),
    ("gltf_suffix", "name the file .glb"),
    ("color_16bit", "8-bit sRGB"),
    ("color_float", "8-bit sRGB"),
    ("map_shape", "give an \\(H, W, 3\\)"),
    ("map_int32", "uint8 or uint16"),
    ("map_nan", "NaN"),
    ("tangents_shape", "tangents must have shape"),
    ("tangents_nan", "NaN"),
])
def test_export_glb_errors(tmp_path, case, match):
    mesh = torus(8, 4)
    nmap = encode_normals(_wavy_map(8, 8), 8)
    kw = dict(path=tmp_path / "a.glb", mesh=mesh, normal_map=nmap)
    if case == "object_space":
        kw["space"] = "object"
    elif case == "no_uvs":
        kw["mesh"] = mesh.replace(uvs=None)
    elif case == "no_folder":
        kw["path"] = tmp_path / "nope" / "a.glb"
    elif case == "is_dir":
        (tmp_path / "d.glb").mkdir()
        kw["path"] = tmp_path / "d.glb"
    elif case == "gltf_suffix":
        kw["path"] = tmp_path / "a.gltf"
    elif case == "color_16bit":
        kw["color_map"] = np.zeros((4, 4, 3), np.uint16)
    elif case == "color_float":
        kw["color_map"] = np.zeros((4, 4, 3), np.float32)
    elif case == "map_shape":
        kw["normal_map"] = nmap[..., 0]
    elif case == "map_int32":
        kw["normal_map"] = nmap.astype(np.int32)
    elif case == "map_nan":
        kw["normal_map"] = np.full((4, 4, 3), np.nan, np.float32)
    elif case == "tangents_shape":
        kw["tangents"] = np.zeros((5, 4), np.float32)
    elif case == "tangents_nan":
        kw["tangents"] = np.full((mesh.n_faces * 3, 4), np.nan, np.float32)
    before = _no_files(tmp_path)
    path = kw.pop("path")
    with pytest.raises(NormalkitError, match=match):
        export_glb(path, **kw)
    assert _no_files(tmp_path) == before


def test_object_space_message_names_the_way_out():
    with pytest.raises(NormalkitError) as exc:
        export_glb("x.glb", torus(8, 4), np.zeros((4, 4, 3), np.uint8), space="object")
    assert "OBJ" in str(exc.value) and "tangent" in str(exc.value)


@pytest.mark.parametrize("case,match", [
    ("missing_texture", "no such file"),
    ("no_uvs", "unwrap"),
    ("no_folder", "does not exist"),
    ("suffix", "name the file .obj"),
    ("space", "'tangent' or 'object'"),
])
def test_export_obj_errors(tmp_path, case, match):
    mesh, path, kw = torus(8, 4), tmp_path / "a.obj", {}
    if case == "missing_texture":
        kw["normal_map_path"] = tmp_path / "missing.png"
    elif case == "no_uvs":
        mesh = mesh.replace(uvs=None)
    elif case == "no_folder":
        path = tmp_path / "nope" / "a.obj"
    elif case == "suffix":
        path = tmp_path / "a.stl"
    elif case == "space":
        kw["space"] = "world"
    with pytest.raises(NormalkitError, match=match):
        export_obj(path, mesh, **kw)
    assert _no_files(tmp_path) == []


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_export")
    low = torus(16, 8)
    save_obj(low, d / "low.obj")
    save_obj(low.replace(normals=None), d / "low_nonormals.obj")
    save_obj(low.replace(uvs=None), d / "low_nouv.obj")
    write_image(d / "n16.png", encode_normals(_wavy_map(32, 32), 16))
    write_image(d / "n.exr", _wavy_map(32, 32).astype(np.float32))
    write_image(d / "c.png", _color(16, 16))
    write_image(d / "c16.png", _color(16, 16).astype(np.uint16) * 257)
    return d


def _run(args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_glb_summary(cli_files, tmp_path, capsys):
    d = cli_files
    code, out, err = _run(["export", d / "low_nonormals.obj", d / "n16.png", "--color",
                           d / "c16.png", "-o", tmp_path / "a.glb"], capsys)
    assert code == 0, err
    assert "256 triangles" in out and "normal map 32×32 16-bit" in out and "colour 16×16" in out
    assert "has no normals" in err and "rounded to 8 bits" in err
    g, _, image = _read(tmp_path / "a.glb")
    np.testing.assert_array_equal(
        image(g.textures[g.materials[0].pbrMetallicRoughness.baseColorTexture.index].source),
        _color(16, 16))


def test_cli_float_map_is_embedded_at_16_bits(cli_files, tmp_path, capsys):
    code, _, err = _run(["export", cli_files / "low.obj", cli_files / "n.exr", "-o",
                         tmp_path / "a.glb"], capsys)
    assert code == 0 and "16-bit PNG" in err
    g, _, image = _read(tmp_path / "a.glb")
    got = image(g.textures[g.materials[0].normalTexture.index].source)
    want = encode_normals(_wavy_map(32, 32).astype(np.float32), 16)
    assert np.abs(got.astype(int) - want).max() <= 1  # decode renormalizes float32 texels


def test_cli_obj(cli_files, tmp_path, capsys):
    code, out, _ = _run(["export", cli_files / "low.obj", cli_files / "n16.png", "--color",
                         cli_files / "c.png", "-o", tmp_path / "a.obj"], capsys)
    assert code == 0 and "a.mtl" in out
    lines = _mtl_lines(tmp_path / "a.mtl")
    rel = (cli_files / "n16.png").relative_to(tmp_path.parent)
    assert any(ln.startswith("map_Bump -bm 1 ") and ln.endswith(str(rel.name)) for ln in lines)


@pytest.mark.parametrize("case,args,match", [
    ("object_glb", ["LOW", "MAP", "--space", "object", "-o", "OUT.glb"], "OBJ"),
    ("no_uvs", ["NOUV", "MAP", "-o", "OUT.glb"], "unwrap"),
    ("missing_map", ["LOW", "missing.png", "-o", "OUT.glb"], "no such file"),
    ("missing_low", ["missing.obj", "MAP", "-o", "OUT.glb"], "no such file"),
    ("gltf", ["LOW", "MAP", "-o", "OUT.gltf"], "use .glb or .obj"),
    ("no_folder", ["LOW", "MAP", "-o", "nodir/OUT.glb"], "does not exist"),
    ("directx_obj", ["LOW", "MAP", "--directx", "-o", "OUT.obj"], "--directx"),
    ("color_bad", ["LOW", "MAP", "--color", "n.exr", "-o", "OUT.glb"], "8-bit"),
    ("map_not_image", ["LOW", "LOW", "-o", "OUT.glb"], "unknown image extension"),
])
def test_cli_errors_one_line_exit_2_no_files(cli_files, tmp_path, capsys, case, args, match):
    subst = {"LOW": cli_files / "low.obj", "NOUV": cli_files / "low_nouv.obj",
             "MAP": cli_files / "n16.png"}
    argv = ["export"]
    for a in args:
        if a in subst:
            argv.append(subst[a])
        elif a.startswith(("OUT", "nodir")):
            argv.append(tmp_path / a)
        elif a in ("missing.png", "missing.obj", "n.exr"):
            argv.append(cli_files / a)
        else:
            argv.append(a)
    code, out, err = _run(argv, capsys)
    assert code == 2
    errors = [ln for ln in err.splitlines() if ln.startswith("normalkit: error:")]
    assert len(errors) == 1 and match in errors[0], err
    assert _no_files(tmp_path) == []
