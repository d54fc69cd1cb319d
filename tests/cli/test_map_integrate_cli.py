"""``normalkit map integrate`` and ``map depth2normal``: files in, files out, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import angle_deg
from conftest import run_cli as run
from normalkit.images.io import read_image, write_image
from normalkit.maps.encode import decode_normals, encode_normals
from scenes import sphere_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A perspective sphere: 16-bit normal map, mask, K.txt, depth as .npy/.exr/.tif/.png."""
    d = tmp_path_factory.mktemp("integrate_cli")
    depth, mask, K, n, facing, _ = sphere_scene(H=48, W=64, f=120.0)
    write_image(d / "n.png", encode_normals(n, 16))
    write_image(d / "n_alpha.png", encode_normals(n, 16), alpha=mask)
    write_image(d / "mask.png", (mask * 255).astype(np.uint8))
    write_image(d / "mask_small.png", np.zeros((10, 10), np.uint8))
    write_image(d / "mask_empty.png", np.zeros(mask.shape, np.uint8))
    np.savetxt(d / "K.txt", K)
    (d / "K8.txt").write_text("1 0 0 0 1 0 0 0\n")
    (d / "Kbad.txt").write_text("a b c\n")
    filled = np.where(mask, depth, 0.0)
    np.save(d / "depth.npy", np.where(mask, depth, np.nan))
    np.save(d / "depth1d.npy", np.zeros(5))
    write_image(d / "depth.exr", filled.astype(np.float32))
    write_image(d / "depth.tif", filled.astype(np.float32))
    write_image(d / "depth_mm.png", np.rint(filled * 1000).astype(np.uint16))
    rgb = np.zeros(mask.shape + (3,), np.float32)
    rgb[..., 0] = 1
    write_image(d / "rgb.exr", rgb)
    nan_n = n.astype(np.float32)
    nan_n[24, 32] = np.nan
    write_image(d / "n_nan.exr", nan_n)
    return dict(dir=d, depth=depth, mask=mask, K=K, n=n, facing=facing)


def _inner(s):
    from scipy import ndimage

    return ndimage.binary_erosion(s["mask"], np.ones((5, 5), bool)) & (s["facing"] > 0.3)


@pytest.mark.parametrize("solver,ext", [("fast", ".exr"), ("bilateral", ".npy"),
                                        ("fast", ".tif")])
def test_integrate_writes_float_depth(scene, tmp_path, capsys, solver, ext):
    d = scene["dir"]
    out = tmp_path / f"depth{ext}"
    code, stdout, _ = run(["map", "integrate", d / "n.png", "--mask", d / "mask.png",
                           "--K", d / "K.txt", "--solver", solver, "-o", out, "-q"], capsys)
    assert code == 0
    est = np.load(out) if ext == ".npy" else read_image(out)
    assert est.dtype == np.float32 and est.shape == scene["mask"].shape
    assert np.isnan(est[~scene["mask"]]).all()
    sel = _inner(scene)
    gt = scene["depth"]
    s = np.median(gt[sel] / est[sel])
    assert (np.abs(s * est[sel] - gt[sel]) / gt[sel]).max() < 2e-3
    assert f"{solver} solver" in stdout and "perspective" in stdout and " s" in stdout


def test_integrate_alpha_mask_median_depth_and_notices(scene, tmp_path, capsys):
    d = scene["dir"]
    out = tmp_path / "d.exr"
    code, stdout, stderr = run(["map", "integrate", d / "n_alpha.png", "--K", d / "K.txt",
                                "--median-depth", "4", "-o", out], capsys)
    assert code == 0
    est = read_image(out)
    np.testing.assert_array_equal(np.isfinite(est), scene["mask"])
    assert abs(np.nanmedian(est) - 4.0) < 1e-5
    assert "integrate: fast solver" in stderr


def test_integrate_orthographic(scene, tmp_path, capsys):
    d = scene["dir"]
    out = tmp_path / "o.exr"
    code, stdout, _ = run(["map", "integrate", d / "n.png", "--mask", d / "mask.png",
                           "--orthographic", "--pixel-size", "0.02", "--median-depth", "10",
                           "-o", out, "-q"], capsys)
    assert code == 0 and "orthographic" in stdout
    assert abs(np.nanmedian(read_image(out)) - 10) < 1e-4


@pytest.mark.parametrize("src", ["depth.npy", "depth.exr", "depth.tif", "depth_mm.png"])
def test_depth2normal(scene, tmp_path, capsys, src):
    d = scene["dir"]
    out = tmp_path / "n.png"
    code, stdout, _ = run(["map", "depth2normal", d / src, "--K", d / "K.txt", "-o", out],
                          capsys)
    assert code == 0 and "16-bit" in stdout
    img = read_image(out)
    assert img.dtype == np.uint16 and img.shape == scene["mask"].shape + (4,)
    valid = img[..., 3] > 0
    assert not valid[~scene["mask"]].any()
    sel = _inner(scene) & valid
    assert sel.sum() > 0.9 * _inner(scene).sum()
    err = angle_deg(decode_normals(img)[sel], scene["n"][sel])
    # a coarse sphere (f = 120): one-sided differences where steep steps exceed 2 %;
    # the PNG holds depth rounded to 1/1000 (pixels are ~29/1000 wide)
    assert np.median(err) < (1.0 if src == "depth_mm.png" else 0.3)
    assert err.max() < (5 if src == "depth_mm.png" else 3)


def test_depth2normal_bits_and_directx(scene, tmp_path, capsys):
    d = scene["dir"]
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.exr"
    base = ["map", "depth2normal", d / "depth.npy", "--K", d / "K.txt"]
    assert run([*base, "-o", a, "--bits", "8"], capsys)[0] == 0
    assert run([*base, "-o", b, "--bits", "8", "--directx"], capsys)[0] == 0
    assert run([*base, "-o", c], capsys)[0] == 0
    ga, gb = read_image(a).astype(int), read_image(b).astype(int)
    assert ga.dtype != np.uint16 and read_image(a).dtype == np.uint8
    m = ga[..., 3] > 0
    assert np.abs(ga[..., 1][m] + gb[..., 1][m] - 255).max() <= 1
    assert read_image(c).dtype == np.float32


def test_round_trip_through_files(scene, tmp_path, capsys):
    d = scene["dir"]
    n_png, z = tmp_path / "n.png", tmp_path / "z.npy"
    assert run(["map", "depth2normal", d / "depth.npy", "--K", d / "K.txt", "-o", n_png],
               capsys)[0] == 0
    assert run(["map", "integrate", n_png, "--K", d / "K.txt", "-o", z, "--solver",
                "bilateral", "-q"], capsys)[0] == 0
    est = np.load(z).astype(np.float64)
    sel = _inner(scene) & np.isfinite(est)
    gt = scene["depth"]
    s = np.median(gt[sel] / est[sel])
    assert np.median(np.abs(s * est[sel] - gt[sel]) / gt[sel]) < 1e-3


INTEGRATE = ["map", "integrate", "N=n.png", "--mask", "M=mask.png", "--K", "M=K.txt", "-q"]


@pytest.mark.parametrize("args,match", [
    (["map", "integrate", "N=n.png", "--mask", "M=mask_small.png", "--K", "M=K.txt"],
     "is 10x10 but the input is 64x48"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask_empty.png", "--K", "M=K.txt"],
     "mask is empty"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask.png"], "give --K"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask.png", "--K", "M=K.txt",
      "--orthographic"], "not both"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask.png", "--K", "M=K8.txt"], "needs 9"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask.png", "--K", "M=Kbad.txt"],
     "cannot read K"),
    (["map", "integrate", "N=n.png", "--mask", "M=mask.png", "--K", "M=missing.txt"],
     "no such file"),
    (["map", "integrate", "N=n.png", "--K", "M=K.txt"], "no alpha channel"),
    (["map", "integrate", "N=n_nan.exr", "--mask", "M=mask.png", "--K", "M=K.txt"], "NaN"),
    (["map", "integrate", "N=missing.png", "--mask", "M=mask.png", "--K", "M=K.txt"],
     "no such file"),
    ([*INTEGRATE, "--median-depth", "-1"], "median-depth"),
    (["map", "depth2normal", "N=rgb.exr", "--K", "M=K.txt"], "different channels"),
    (["map", "depth2normal", "N=depth1d.npy", "--K", "M=K.txt"], "not a depth map"),
    (["map", "depth2normal", "N=depth.npy", "--orthographic", "--discontinuity", "-1"],
     "discontinuity"),
    (["map", "depth2normal", "N=depth.npy", "--K", "M=K.txt", "--mask", "M=mask_small.png"],
     "is 10x10"),
    (["map", "depth2normal", "N=depth.jpg", "--K", "M=K.txt"], "cannot read depth"),
])
def test_bad_input_is_one_line_exit_2(scene, tmp_path, capsys, args, match):
    d = scene["dir"]
    out = tmp_path / ("depth.exr" if args[1] == "integrate" else "n.png")
    argv = [d / a[2:] if a.startswith(("N=", "M=")) else a for a in args]
    code, _, err = run([*argv, "-o", out], capsys)
    assert code == 2
    assert err.startswith("normalkit: error:") and err.strip().count("\n") == 0
    assert match in err
    assert not out.exists()


@pytest.mark.parametrize("cmd,out", [("integrate", "depth.png"), ("integrate", "nodir/d.exr"),
                                     ("depth2normal", "n.jpg")])
def test_bad_output_is_refused_before_work(scene, tmp_path, capsys, cmd, out):
    d = scene["dir"]
    src = d / ("n.png" if cmd == "integrate" else "depth.npy")
    code, _, err = run(["map", cmd, src, "--mask", d / "mask.png", "--K", d / "K.txt",
                        "-o", tmp_path / out], capsys)
    assert code == 2 and err.strip().count("\n") == 0 and "cannot write" in err
