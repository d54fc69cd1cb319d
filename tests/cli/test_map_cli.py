"""``normalkit map …`` end to end: each command's files, and every bad input → one
``normalkit: error:`` line, exit code 2, and no output file."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import angle_deg, grid_plane
from conftest import run_cli as run
from normalkit.images.io import read_image, write_image
from normalkit.maps.encode import decode_normals, encode_normals
from normalkit.maps.height import height_to_normal
from normalkit.mesh.io import save_obj

N = 64
ROW, COL = np.mgrid[0:N, 0:N].astype(np.float64)


def _bumps(seed):
    rng = np.random.default_rng(seed)
    h = np.zeros((N, N))
    for _ in range(8):
        cx, cy = rng.uniform(0, N, 2)
        s = rng.uniform(3, 8)
        h += rng.uniform(-1, 1) * s * np.exp(-((COL - cx) ** 2 + (ROW - cy) ** 2) / (2 * s * s))
    return h


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("map_cli")
    h = _bumps(0)
    write_image(d / "n16.png", encode_normals(height_to_normal(h), 16))
    write_image(d / "detail.png", encode_normals(height_to_normal(_bumps(1)), 16))
    write_image(d / "small.png", encode_normals(height_to_normal(_bumps(1)[:32]), 16))
    hn = (h - h.min()) / np.ptp(h)
    write_image(d / "h16.png", np.rint(hn * 65535).astype(np.uint16))
    write_image(d / "h.exr", h.astype(np.float32))
    write_image(d / "rgbheight.png", (np.zeros((8, 8, 3)) + [1, 2, 3]).astype(np.uint8))
    photo = np.stack([COL * 4, ROW * 3, np.full_like(COL, 60)], -1).astype(np.uint8)
    write_image(d / "photo.png", photo)
    (d / "broken.png").write_bytes(b"not a png")
    plane = grid_plane(4)
    save_obj(plane, d / "plane.obj")
    save_obj(plane.replace(uvs=None), d / "plane_nouv.obj")
    return d


def _decode(path):
    return decode_normals(read_image(path)).astype(np.float64)


def test_convert_bits_format_and_green(files, tmp_path, capsys):
    src = read_image(files / "n16.png")
    code, out, _ = run(["map", "convert", files / "n16.png", "-o", tmp_path / "n8.png",
                        "--bits", "8", "--flip-green"], capsys)
    assert code == 0 and "16-bit → 8-bit" in out and "green flipped" in out
    n8 = read_image(tmp_path / "n8.png")
    assert n8.dtype == np.uint8
    assert np.abs(n8[..., 1].astype(int) - (255 - np.rint(src[..., 1] / 257))).max() <= 1
    assert run(["map", "convert", files / "n16.png", "-o", tmp_path / "n.exr"], capsys)[0] == 0
    exr = read_image(tmp_path / "n.exr")
    assert exr.dtype == np.float32
    np.testing.assert_allclose(exr, src / 65535.0 * 2 - 1, atol=1e-6)
    # --swizzle=X-YZ is the same file as --directx-out
    assert run(["map", "convert", files / "n16.png", "-o", tmp_path / "a.png",
                "--swizzle=X-YZ"], capsys)[0] == 0
    assert run(["map", "convert", files / "n16.png", "-o", tmp_path / "b.png",
                "--directx-out"], capsys)[0] == 0
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), read_image(tmp_path / "b.png"))


def test_info_reports_and_exits_0(files, tmp_path, capsys):
    code, out, _ = run(["map", "info", files / "n16.png"], capsys)
    assert code == 0 and "verdict: tangent-space normal map, OpenGL green" in out
    run(["map", "convert", files / "n16.png", "-o", tmp_path / "dx.png", "--directx-out"],
        capsys)
    assert "DirectX green" in run(["map", "info", tmp_path / "dx.png"], capsys)[1]
    code, out, _ = run(["map", "info", files / "photo.png"], capsys)
    assert code == 0 and "verdict: not a normal map" in out
    code, out, _ = run(["map", "info", files / "h16.png"], capsys)
    assert code == 0 and "single-channel" in out


def test_height_to_normal_and_back(files, tmp_path, capsys):
    code, out, _ = run(["map", "height2normal", files / "h.exr", "-o", tmp_path / "n.png",
                        "--filter", "central"], capsys)
    assert code == 0 and "tilt median" in out
    n = _decode(tmp_path / "n.png")
    code, out, _ = run(["map", "normal2height", tmp_path / "n.png", "-o", tmp_path / "h.exr"],
                       capsys)
    assert code == 0 and "heights in texels" in out
    h = read_image(files / "h.exr")
    back = read_image(tmp_path / "h.exr")
    assert np.abs(back - (h - h.mean())).max() < 0.02 * np.ptp(h)
    assert n.shape == (N, N, 3)
    # 16-bit PNG heights are stretched to the full range
    code, out, _ = run(["map", "normal2height", tmp_path / "n.png", "-o", tmp_path / "h.png",
                        "--method", "fft"], capsys)
    hp = read_image(tmp_path / "h.png")
    assert code == 0 and hp.dtype == np.uint16 and hp.min() == 0 and hp.max() == 65535
    # a DirectX map with --directx integrates to the same heights
    run(["map", "height2normal", files / "h.exr", "-o", tmp_path / "dx.png", "--filter",
         "central", "--directx"], capsys)
    run(["map", "normal2height", tmp_path / "dx.png", "-o", tmp_path / "hdx.exr",
         "--directx"], capsys)
    np.testing.assert_allclose(read_image(tmp_path / "hdx.exr"), back, atol=1e-3)


def test_height_png_strength_is_texels_per_full_range(files, tmp_path, capsys):
    code, _, _ = run(["map", "height2normal", files / "h16.png", "-o", tmp_path / "n.exr",
                      "--strength", "5", "--wrap"], capsys)
    assert code == 0
    h = read_image(files / "h16.png") / 65535.0
    expect = height_to_normal(h * 5, mode="wrap")
    np.testing.assert_allclose(read_image(tmp_path / "n.exr"), expect, atol=1e-5)


def test_blend_with_a_flat_detail_returns_the_base(files, tmp_path, capsys):
    flat = np.zeros((N, N, 3)) + [0, 0, 1.0]
    write_image(tmp_path / "flat.png", encode_normals(flat, 16))
    code, out, _ = run(["map", "blend", files / "n16.png", tmp_path / "flat.png", "-o",
                        tmp_path / "b.png"], capsys)
    assert code == 0 and "RNM" in out
    # 16-bit "flat" is (32768, 32768, 65535), 0.0012° off (0, 0, 1); RNM rotates that.
    assert angle_deg(_decode(tmp_path / "b.png"), _decode(files / "n16.png")).max() < 0.005
    code, _, _ = run(["map", "blend", files / "n16.png", files / "detail.png", "-o",
                      tmp_path / "w.png", "--method", "whiteout", "--strength", "0.5"], capsys)
    assert code == 0 and read_image(tmp_path / "w.png").shape == (N, N, 3)


def test_mips_writes_every_level_and_roughness(files, tmp_path, capsys):
    out_dir = tmp_path / "mips"
    code, out, _ = run(["map", "mips", files / "n16.png", "-o", out_dir, "--roughness",
                        "--base-roughness", "0.2"], capsys)
    assert code == 0 and "7 levels" in out
    for k in range(7):
        level = read_image(out_dir / f"n16_mip{k}.png")
        assert level.shape == (N >> k, N >> k, 3) and level.dtype == np.uint16
        rough = read_image(out_dir / f"n16_roughness_mip{k}.png")
        assert rough.shape == (N >> k, N >> k)
    r0 = read_image(out_dir / "n16_roughness_mip0.png") / 65535
    np.testing.assert_allclose(r0, 0.2, atol=1e-4)
    assert read_image(out_dir / "n16_roughness_mip6.png")[0, 0] / 65535 > 0.2
    code, _, _ = run(["map", "mips", files / "n16.png", "-o", tmp_path / "m2", "--levels",
                      "2", "--format", ".exr"], capsys)
    assert code == 0 and sorted(p.name for p in (tmp_path / "m2").iterdir()) == [
        "n16_mip0.exr", "n16_mip1.exr"]


def test_to_object_and_back_on_a_mesh(files, tmp_path, capsys):
    code, out, _ = run(["map", "to-object", files / "plane.obj", files / "n16.png", "-o",
                        tmp_path / "o.png", "--mask", tmp_path / "mask.png"], capsys)
    assert code == 0 and "tangent → object" in out and "100.0%" in out
    assert read_image(tmp_path / "mask.png").min() == 255
    code, out, _ = run(["map", "to-tangent", files / "plane.obj", tmp_path / "o.png", "-o",
                        tmp_path / "t.png"], capsys)
    assert code == 0 and "MikkTSpace" in out
    assert angle_deg(_decode(files / "n16.png"), _decode(tmp_path / "t.png")).max() < 0.05
    # DirectX in and out: the same object-space map
    run(["map", "convert", files / "n16.png", "-o", tmp_path / "dx.png", "--directx-out"],
        capsys)
    run(["map", "to-object", files / "plane.obj", tmp_path / "dx.png", "-o",
         tmp_path / "o2.png", "--directx"], capsys)
    assert np.abs(read_image(tmp_path / "o2.png").astype(int)
                  - read_image(tmp_path / "o.png").astype(int)).max() <= 2


@pytest.mark.parametrize("args,match", [
    (["convert", "missing.png"], "no such file"),
    (["convert", "broken.png"], "cannot read"),
    (["convert", "photo.png"], "not a normal map"),
    (["convert", "h16.png"], "single-channel"),
    (["convert", "n16.png", "--swizzle", "XXZ"], "axis twice"),
    (["convert", "n16.png", "--flip-green", "--directx-in"], "--flip-green"),
    (["convert", "n16.png", "OUT=x.exr", "--bits", "8"], "cannot write 8-bit"),
    (["convert", "n16.png", "OUT=x.jpg"], "unknown image extension"),
    (["convert", "n16.png", "OUT=nodir/x.png"], "does not exist"),
    (["info", "broken.png"], "cannot read"),
    (["info", "n16.png", "--mask", "small.png"], "mask"),
    (["height2normal", "n16.png"], "colour image"),
    (["height2normal", "rgbheight.png"], "colour image"),
    (["height2normal", "h16.png", "--strength", "-1"], "strength"),
    (["normal2height", "photo.png"], "not a normal map"),
    (["blend", "n16.png", "small.png"], "resize or tile"),
    (["blend", "photo.png", "n16.png"], "not a normal map"),
    (["blend", "n16.png", "n16.png", "--strength", "-2"], "strength"),
    (["mips", "n16.png", "--levels", "9"], "levels"),
    (["mips", "n16.png", "--base-roughness", "0.5"], "--roughness"),
    (["to-object", "plane_nouv.obj", "n16.png"], "no UVs"),
    (["to-object", "missing.obj", "n16.png"], "no such file"),
    (["to-tangent", "plane.obj", "photo.png"], "not a normal map"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(files, tmp_path, capsys, args, match):
    out = tmp_path / ("mips" if args[0] == "mips" else "out.png")
    argv = ["map", args[0]]
    for a in args[1:]:
        if a.startswith("OUT="):
            out = tmp_path / a[4:]
        elif a.endswith((".png", ".obj", ".exr")):
            argv.append(files / a)
        else:
            argv.append(a)
    if args[0] != "info":
        argv += ["-o", out]
    code, stdout, stderr = run(argv, capsys)
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("normalkit: error:") and match in lines[0], \
        stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


def test_mips_output_must_be_a_folder(files, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, _, err = run(["map", "mips", files / "n16.png", "-o", tmp_path / "afile"], capsys)
    assert code == 2 and "give a folder name" in err and len(err.strip().splitlines()) == 1
