"""Issue #9: inputs that used to give a useless result with exit code 0 (or conflicting
flags silently ignored) now raise a one-line NormalkitError before any work, or warn
through ``log`` ("warning: <what>; <the fix>")."""

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from conftest import bump, grid_plane
from conftest import run_cli as run
from normalkit.assets.export import export_glb, export_obj
from normalkit.baking.bake import bake
from normalkit.core.errors import NormalkitError
from normalkit.images.io import write_image
from normalkit.maps.depth import depth_to_normals
from normalkit.maps.encode import encode_normals
from normalkit.maps.height import height_to_normal, normal_to_height
from normalkit.mesh.io import load_mesh, save_obj, save_ply
from normalkit.mesh.normals import check_hard_angle, ensure_normals, smooth_normals

MISSING = "/nonexistent/high.ply"  # errors about arguments must come before loading it


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("normalkit: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def pair():
    h, n = bump()
    return grid_plane(60, height=h, normals=n), grid_plane(2)


@pytest.fixture(scope="module")
def files(tmp_path_factory, pair):
    d = tmp_path_factory.mktemp("garbage")
    high, low = pair
    save_ply(high, d / "high.ply")
    save_obj(low, d / "low.obj")
    save_obj(low.replace(positions=low.positions + [0, 0, 0.1]), d / "cage.obj")
    rng = np.random.default_rng(0)
    h = gaussian_filter(rng.standard_normal((256, 256)).astype(np.float32), 4) * 40
    gl = encode_normals(height_to_normal(h), 16)
    dx = gl.copy()
    dx[..., 1] = 65535 - dx[..., 1]
    write_image(d / "gl.png", gl)
    write_image(d / "dx.png", dx)
    # Object space, z < 0 on a quarter of the texels (read_map's tangent gate lets it
    # through; map info calls it object space): polar angle 0..120° down the rows.
    theta = np.radians(np.linspace(0, 120, 128))[:, None]
    phi = np.linspace(0, 2 * np.pi, 128)[None, :]
    obj = np.stack(np.broadcast_arrays(np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi),
                                       np.cos(theta)), axis=-1)
    write_image(d / "object.png", encode_normals(obj, 16))
    (d / "notanimage.png").write_text("this is text, not a PNG\n")
    return d


# --------------------------------------------------------------------------------------
# 1. bake's numeric arguments


@pytest.mark.parametrize("kw, match", [
    ({"extrusion": math.nan}, "extrusion must be a finite number ≥ 0, got nan"),
    ({"extrusion": math.inf}, "extrusion must be a finite number ≥ 0, got inf"),
    ({"extrusion": -0.1}, "extrusion must be a finite number ≥ 0"),
    ({"max_distance": math.nan}, r"max_distance must be a number ≥ 0 \(0 or inf: no limit\)"),
    ({"max_distance": -1.0}, "max_distance must be a number ≥ 0"),
    ({"size": math.nan}, "texture width must be a whole number of pixels .*, got nan"),
    ({"size": math.inf}, "texture width must be a whole number of pixels"),
    ({"width": 64, "height": "64"}, "texture height must be a whole number of pixels"),
    ({"padding": math.nan}, "padding must be ≥ 0 texels or inf, got nan"),
    ({"padding": -1}, "padding must be ≥ 0 texels or inf"),
    ({"threads": -1}, "threads must be a whole number ≥ 1"),
    ({"threads": 0}, "threads must be a whole number ≥ 1"),
    ({"threads": 2.5}, "threads must be a whole number ≥ 1"),
    ({"hard_angle": math.nan}, r"hard_angle must be in \[0, 180\] degrees, got nan"),
    ({"hard_angle": -5}, r"hard_angle must be in \[0, 180\] degrees, got -5"),
    ({"hard_angle": 1000}, r"hard_angle must be in \[0, 180\] degrees, got 1000"),
])
def test_bake_rejects_bad_numbers_before_any_work(kw, match):
    with pytest.raises(NormalkitError, match=match):
        bake(MISSING, MISSING, **{"size": 16, **kw})


def test_bake_max_distance_inf_means_no_limit(pair):
    high, low = pair
    r = bake(high, low.replace(positions=low.positions + [0, 0, 0.5]), size=16, samples=1,
             extrusion=0.01, max_distance=math.inf, padding=0)
    assert r.coverage.all()


@pytest.mark.parametrize("flags, match", [
    (["--extrusion", "nan"], "extrusion must be a finite number ≥ 0, got nan"),
    (["--extrusion", "inf"], "extrusion must be a finite number ≥ 0, got inf"),
    (["--max-distance", "nan"], "max_distance must be a number ≥ 0"),
    (["--threads", "-1"], "threads must be a whole number ≥ 1"),
    (["--hard-angle", "nan"], "hard_angle must be in [0, 180] degrees"),
])
def test_bake_cli_exits_2_with_one_line_and_no_file(files, tmp_path, capsys, flags, match):
    out = tmp_path / "n.png"
    code, _, err = run(["bake", files / "high.ply", files / "low.obj", "-o", out, "--size",
                        "16", "-q", *flags], capsys)
    assert code == 2 and match in one_error_line(err)
    assert not out.exists()


def test_reduce_rejects_bad_threads_before_any_work(tmp_path):
    from normalkit.assets.reduce import reduce

    with pytest.raises(NormalkitError, match="threads must be a whole number ≥ 1"):
        reduce(MISSING, tmp_path / "out", faces=10, threads=-1)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------------------
# 2. one hard_angle check everywhere


@pytest.mark.parametrize("angle", [math.nan, -5, 1000, "abc", True])
def test_hard_angle_is_checked_at_the_library_boundary(pair, angle):
    _, low = pair
    for call in (lambda: check_hard_angle(angle),
                 lambda: smooth_normals(low, hard_angle=angle),
                 lambda: ensure_normals(low, hard_angle=angle)):
        with pytest.raises(NormalkitError, match=r"hard_angle must be in \[0, 180\] degrees"):
            call()
    assert check_hard_angle(0) == 0.0 and check_hard_angle(180) == 180.0


def test_reduce_uses_the_same_hard_angle_check(tmp_path):
    from normalkit.assets.reduce import reduce

    with pytest.raises(NormalkitError) as from_reduce:
        reduce(MISSING, tmp_path / "out", faces=10, hard_angle=math.nan)
    with pytest.raises(NormalkitError) as from_normals:
        check_hard_angle(math.nan)
    assert str(from_reduce.value) == str(from_normals.value)


@pytest.mark.parametrize("command", ["tangents", "to-object", "to-tangent"])
@pytest.mark.parametrize("angle", ["nan", "-5", "1000"])
def test_hard_angle_cli(files, tmp_path, capsys, command, angle):
    if command == "tangents":
        args = ["tangents", files / "low.obj", "-o", tmp_path / "t.npy"]
    else:
        args = ["map", command, files / "low.obj", files / "gl.png", "-o", tmp_path / "o.png"]
    code, _, err = run([*args, f"--hard-angle={angle}"], capsys)
    assert code == 2 and "hard_angle must be in [0, 180] degrees" in one_error_line(err)
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------
# 3. UVs that cover nothing


def test_uvs_all_at_one_point_are_refused_before_loading_the_high_poly(pair):
    _, low = pair
    flat = low.replace(uvs=np.full_like(low.uvs, 0.3))
    with pytest.raises(NormalkitError, match=r"UVs cover no texels .*unwrap it first "
                                             r"\(normalkit reduce unwraps\)"):
        bake(MISSING, flat, size=16)


def test_some_zero_area_uv_triangles_get_a_warning(pair):
    high, low = pair
    uvs = low.uvs.copy()
    uvs[:2] = 0.3  # two of eight triangles
    notes = []
    bake(high, low.replace(uvs=uvs), size=16, samples=1, extrusion=0.1, max_distance=0.1,
         log=notes.append)
    warned = [n for n in notes if "zero UV area" in n]
    assert warned == ["warning: plane: 2 of 8 triangles have zero UV area and get no texels; "
                      "give them UV space (unwrap again: normalkit reduce unwraps)"]
    notes.clear()
    bake(high, low, size=16, samples=1, extrusion=0.1, max_distance=0.1, log=notes.append)
    assert not [n for n in notes if "UV area" in n]


# --------------------------------------------------------------------------------------
# 4. depth without a valid pixel


def test_all_nan_depth_is_an_error():
    depth = np.full((8, 8), np.nan)
    with pytest.raises(NormalkitError, match="depth has no valid pixel: every value is NaN"):
        depth_to_normals(depth, orthographic=True)
    with pytest.raises(NormalkitError, match="depth has no valid pixel: the mask is empty"):
        depth_to_normals(np.ones((8, 8)), np.zeros((8, 8), bool), orthographic=True)
    lone = np.full((8, 8), np.nan)
    lone[2, 2] = lone[5, 5] = 1.0  # valid depths, but no neighbours: nothing gets a normal
    with pytest.raises(NormalkitError, match="no depth pixel has a neighbour"):
        depth_to_normals(lone, orthographic=True)


def test_depth2normal_cli_on_all_nan_depth_writes_nothing(tmp_path, capsys):
    np.save(tmp_path / "d.npy", np.full((8, 8), np.nan))
    out = tmp_path / "n.png"
    code, _, err = run(["map", "depth2normal", tmp_path / "d.npy", "-o", out,
                        "--orthographic"], capsys)
    assert code == 2 and "depth has no valid pixel" in one_error_line(err)
    assert not out.exists()


# --------------------------------------------------------------------------------------
# 5. normal2height on a map that is not an OpenGL tangent-space map


def test_normal2height_warns_on_an_object_space_map(files, tmp_path, capsys):
    code, _, err = run(["map", "normal2height", files / "object.png", "-o",
                        tmp_path / "h.exr"], capsys)
    assert code == 0
    assert "warning: the normal map looks object-space" in err
    assert "normalkit map to-tangent" in err


def test_normal2height_warns_on_directx_green(files, tmp_path, capsys):
    code, _, err = run(["map", "normal2height", files / "dx.png", "-o", tmp_path / "h.exr"],
                       capsys)
    assert code == 0 and "warning: the normal map's green looks DirectX" in err
    code, _, err = run(["map", "normal2height", files / "dx.png", "-o", tmp_path / "h.exr",
                        "--directx"], capsys)
    assert code == 0 and "warning" not in err
    code, _, err = run(["map", "normal2height", files / "gl.png", "-o", tmp_path / "h.exr"],
                       capsys)
    assert code == 0 and "warning" not in err


def test_normal_to_height_checks_only_with_log():
    n = np.zeros((32, 32, 3), np.float32)
    n[..., 2] = -0.2
    n[..., 0] = 1.0
    n[:20, :, 2] = 1.0
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    normal_to_height(n)  # no log: no check, no cost
    notes = []
    normal_to_height(n, log=notes.append)
    assert len(notes) == 1 and notes[0].startswith("warning: the normal map looks object-space")


# --------------------------------------------------------------------------------------
# 6. OBJ export of textures that are not images


@pytest.mark.parametrize("which", ["map", "color"])
def test_export_obj_refuses_unreadable_textures_before_writing(files, tmp_path, capsys, which):
    out = tmp_path / "x.obj"
    normal = files / ("notanimage.png" if which == "map" else "gl.png")
    extra = ["--color", files / "notanimage.png"] if which == "color" else []
    code, _, err = run(["export", files / "low.obj", normal, "-o", out, *extra], capsys)
    line = one_error_line(err)
    assert code == 2 and "notanimage.png" in line
    assert ("normal map" if which == "map" else "colour map") in line
    assert not out.exists() and not out.with_suffix(".mtl").exists()


def test_export_obj_library_refuses_unreadable_textures(files, tmp_path, pair):
    with pytest.raises(NormalkitError, match="normal map: cannot read"):
        export_obj(tmp_path / "x.obj", pair[1], files / "notanimage.png")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------
# 7. DirectX / OpenGL mismatch on export


@pytest.mark.parametrize("source, directx, expect", [
    ("dx.png", False, "give --directx"),
    ("gl.png", True, "drop --directx"),
    ("dx.png", True, None),
    ("gl.png", False, None),
])
def test_export_glb_warns_when_the_green_convention_looks_wrong(files, tmp_path, capsys,
                                                               source, directx, expect):
    flags = ["--directx"] if directx else []
    code, _, err = run(["export", files / "low.obj", files / source, "-o", tmp_path / "x.glb",
                        *flags], capsys)
    assert code == 0
    warnings = [line for line in err.splitlines() if "looks DirectX" in line]
    if expect is None:
        assert not warnings
    else:
        assert len(warnings) == 1 and expect in warnings[0]
        assert warnings[0].startswith("warning: normal map: its green channel looks DirectX")


def test_export_glb_float_map_with_directx_is_flipped_once(files, tmp_path, capsys):
    from normalkit.images.io import read_image
    from normalkit.maps.encode import decode_normals

    dx = decode_normals(read_image(files / "dx.png"))  # stored vectors, DirectX green
    write_image(tmp_path / "dx.exr", dx.astype(np.float32))
    code, _, err = run(["export", files / "low.obj", tmp_path / "dx.exr", "-o",
                        tmp_path / "x.glb", "--directx"], capsys)
    assert code == 0 and "looks DirectX" not in err


def test_export_obj_warns_on_a_directx_map(files, tmp_path, capsys, pair):
    code, _, err = run(["export", files / "low.obj", files / "dx.png", "-o", tmp_path / "x.obj"],
                       capsys)
    assert code == 0
    assert "warning: normal map dx.png: its green channel looks DirectX" in err
    assert "normalkit map convert --flip-green" in err
    notes = []
    export_obj(tmp_path / "y.obj", pair[1], files / "gl.png", log=notes.append)
    assert not [n for n in notes if n.startswith("warning")]
    export_obj(tmp_path / "z.obj", pair[1], files / "object.png", log=notes.append)
    assert [n for n in notes if "looks object-space" in n]


def test_export_glb_library_warns_too(files, pair, tmp_path):
    from normalkit.images.io import read_image

    notes = []
    export_glb(tmp_path / "x.glb", pair[1], read_image(files / "dx.png"), log=notes.append)
    assert [n for n in notes if "looks DirectX" in n and "directx=True" in n]


# --------------------------------------------------------------------------------------
# 8. no colour source, no colour map


def test_uvs_without_material_are_not_colour(tmp_path, assets):
    spot = load_mesh(assets / "meshes" / "spot.obj")
    assert spot.uvs is not None and not spot.has_color
    assert spot.base_color_texture is None
    save_obj(grid_plane(2), tmp_path / "p.obj")  # vt, no mtllib
    assert not load_mesh(tmp_path / "p.obj").has_color


def test_reduce_of_a_mesh_without_colour_makes_no_colour_map(tmp_path):
    from normalkit.assets.reduce import reduce
    from normalkit.mesh.examples import colored_bumpy_torus

    high = colored_bumpy_torus(high_faces=4000).replace(colors=None)
    rng = np.random.default_rng(1)
    save_obj(high.replace(uvs=rng.random((high.n_faces, 3, 2))), tmp_path / "plain.obj")
    result = reduce(tmp_path / "plain.obj", tmp_path / "out", faces=200, size=64, samples=1)
    assert "color_map" not in result.files and result.color is None
    assert not (tmp_path / "out" / "plain_basecolor.png").exists()
    assert result.report["bake"]["color"] is False


# --------------------------------------------------------------------------------------
# 9. conflicting flags


def test_cage_and_extrusion_conflict(pair, files, tmp_path, capsys):
    high, low = pair
    with pytest.raises(NormalkitError, match="cage replaces extrusion"):
        bake(MISSING, MISSING, cage=low, extrusion=0.1)
    out = tmp_path / "n.png"
    code, _, err = run(["bake", files / "high.ply", files / "low.obj", "-o", out, "--size", "16",
                        "-q", "--cage", files / "cage.obj", "--extrusion", "0.1"], capsys)
    line = one_error_line(err)
    assert code == 2 and "--cage" in line and "--extrusion" in line and not out.exists()


def test_miss_warning_with_a_cage_does_not_suggest_extrusion(pair):
    high, _ = pair
    low = grid_plane(1, z=0.5)  # far above the high-poly
    notes = []
    bake(high, low, size=16, samples=1, cage=low.replace(positions=low.positions + [0, 0, 0.1]),
         max_distance=0.1, padding=0, log=notes.append)
    miss = [n for n in notes if "got no hit" in n]
    assert len(miss) == 1 and "--extrusion" not in miss[0] and "--max-distance" in miss[0]


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    d = tmp_path_factory.mktemp("camera")
    n = np.zeros((16, 16, 4), np.uint8)
    n[..., :3] = (128, 128, 255)
    n[..., 3] = 255
    write_image(d / "cam.png", n)
    (d / "K.txt").write_text("20 0 8\n0 20 8\n0 0 1\n")
    np.save(d / "depth.npy", np.ones((16, 16)))
    return d


@pytest.mark.parametrize("flags, match", [
    (["-k", "3"], "-k only applies to --solver bilateral"),
    (["--max-iter", "5"], "--max-iter only applies to --solver bilateral"),
    (["--solver", "fast", "-k", "3", "--max-iter", "5"],
     "-k and --max-iter only apply to --solver bilateral"),
    (["--pixel-size", "2"], "--pixel-size is for --orthographic only"),
])
def test_integrate_refuses_flags_that_do_not_apply(camera, tmp_path, capsys, flags, match):
    out = tmp_path / "d.npy"
    code, _, err = run(["map", "integrate", camera / "cam.png", "-o", out, "--K",
                        camera / "K.txt", "-q", *flags], capsys)
    assert code == 2 and match in one_error_line(err) and not out.exists()


def test_integrate_flags_that_apply_still_work(camera, tmp_path, capsys):
    out = tmp_path / "d.npy"
    assert run(["map", "integrate", camera / "cam.png", "-o", out, "--K", camera / "K.txt",
                "-q", "--solver", "bilateral", "-k", "3", "--max-iter", "5"], capsys)[0] == 0
    assert run(["map", "integrate", camera / "cam.png", "-o", out, "--orthographic", "-q",
                "--pixel-size", "2"], capsys)[0] == 0


def test_depth2normal_refuses_pixel_size_with_K(camera, tmp_path, capsys):
    out = tmp_path / "n.png"
    code, _, err = run(["map", "depth2normal", camera / "depth.npy", "-o", out, "--K",
                        camera / "K.txt", "--pixel-size", "2"], capsys)
    assert code == 2 and "--pixel-size is for --orthographic only" in one_error_line(err)
    assert not out.exists()


# --------------------------------------------------------------------------------------
# 10. malformed K files


@pytest.mark.parametrize("text, match", [
    ("500 0 32\n0 500\n0 0 1 5\n", "it holds 3 + 2 + 4 numbers, K needs 9"),
    ("500 0 32\n0 abc 32\n0 0 1\n", "line 2: 'abc' is not a number"),
    ("500 0 32\n0 500 32\n", "it holds 3 + 3 numbers, K needs 9"),
    ("", "it holds no numbers, K needs 9"),
    (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not a text file"),
])
def test_malformed_K_is_one_clean_line(camera, tmp_path, capsys, text, match):
    k = tmp_path / "K.txt"
    if isinstance(text, bytes):
        k.write_bytes(text)
    else:
        k.write_text(text)
    code, _, err = run(["map", "integrate", camera / "cam.png", "-o", tmp_path / "d.npy",
                        "--K", k, "-q"], capsys)
    line = one_error_line(err)
    assert code == 2 and match in line and f"'{k}'" in line
    assert "usecols" not in line and "fx 0 cx / 0 fy cy / 0 0 1" in line


def test_K_with_commas_and_comments_is_read(camera, tmp_path, capsys):
    k = tmp_path / "K.txt"
    k.write_text("# intrinsics\n20, 0, 8\n0, 20, 8  # cy\n\n0 0 1\n")
    assert run(["map", "integrate", camera / "cam.png", "-o", tmp_path / "d.npy", "--K", k,
                "-q"], capsys)[0] == 0
    k.write_text("20 0 8 0 20 8 0 0 1\n")
    assert run(["map", "integrate", camera / "cam.png", "-o", tmp_path / "d.npy", "--K", k,
                "-q"], capsys)[0] == 0
