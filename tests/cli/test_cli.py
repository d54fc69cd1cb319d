"""The CLI: a bake end to end, and every bad input → one-line error, exit code 2, no file."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import bump, grid_plane
from conftest import run_cli as run
from normalkit.images.io import read_image
from normalkit.mesh.io import save_obj, save_ply


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    h, n = bump()
    save_ply(grid_plane(60, height=h, normals=n), d / "high.ply")
    low = grid_plane(2)
    save_obj(low, d / "low.obj")
    save_obj(low.replace(uvs=None), d / "low_nouv.obj")
    save_obj(low.replace(positions=low.positions + [0, 0, 0.1]), d / "cage.obj")
    save_obj(grid_plane(3), d / "cage_bad.obj")
    (d / "nan.obj").write_text("v 0 0 0\nv 1 nan 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1\n")
    (d / "empty.obj").write_text("# nothing\n")
    (d / "unknown.xyz").write_text("0 0 0\n")
    return d


BASE = ["--size", "32", "--samples", "1", "--extrusion", "0.1", "--max-distance", "0.1", "-q"]


def test_bake_writes_a_16_bit_map_and_a_summary(files, tmp_path, capsys):
    out = tmp_path / "n.png"
    code, stdout, _ = run(["bake", files / "high.ply", files / "low.obj", "-o", out, *BASE,
                           "--bits", "16", "--miss-mask", tmp_path / "miss.png"], capsys)
    assert code == 0
    img = read_image(out)
    assert img.dtype == np.uint16 and img.shape == (32, 32, 3)
    assert "1,024 texels" in stdout and "misses" in stdout and " s " in stdout
    assert read_image(tmp_path / "miss.png").max() == 0


def test_directx_flips_green(files, tmp_path, capsys):
    a, b = tmp_path / "gl.png", tmp_path / "dx.png"
    assert run(["bake", files / "high.ply", files / "low.obj", "-o", a, *BASE], capsys)[0] == 0
    assert run(["bake", files / "high.ply", files / "low.obj", "-o", b, *BASE, "--directx"],
               capsys)[0] == 0
    gl, dx = read_image(a).astype(int), read_image(b).astype(int)
    np.testing.assert_array_equal(gl[..., [0, 2]], dx[..., [0, 2]])
    assert np.abs(gl[..., 1] + dx[..., 1] - 65535).max() <= 1


def test_32_bit_exr(files, tmp_path, capsys):
    out = tmp_path / "n.exr"
    assert run(["bake", files / "high.ply", files / "low.obj", "-o", out, *BASE, "--bits", "32"],
               capsys)[0] == 0
    img = read_image(out)
    assert img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img[..., :3], axis=-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("case,extra,match", [
    ("no_uvs", ["LOW=low_nouv.obj"], "unwrap"),
    ("nan", ["HIGH=nan.obj"], "non-finite"),
    ("empty", ["HIGH=empty.obj"], "empty"),
    ("unknown", ["HIGH=unknown.xyz"], "unknown mesh format"),
    ("missing", ["HIGH=missing.obj"], "no such file"),
    ("cage", ["--cage", "cage_bad.obj"], "topology"),
    ("size0", ["--size", "0"], "from 16 to 32768"),
    ("size-", ["--size", "-8"], "from 16 to 32768"),
    ("width_alone", ["--width", "512"], "--width needs --height"),
    ("badout", ["OUT=nodir/n.png"], "does not exist"),
    ("badext", ["OUT=n.jpgx"], "unknown image extension"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(files, tmp_path, capsys, case, extra, match):
    high, low, out = files / "high.ply", files / "low.obj", tmp_path / "n.png"
    rest = []
    for e in extra:
        if e.startswith("HIGH="):
            high = files / e[5:]
        elif e.startswith("LOW="):
            low = files / e[4:]
        elif e.startswith("OUT="):
            out = tmp_path / e[4:]
        elif e.endswith(".obj"):
            rest.append(files / e)
        else:
            rest.append(e)
    base = list(BASE)
    if "--cage" in extra:  # the cage replaces --extrusion (giving both is refused)
        i = base.index("--extrusion")
        del base[i:i + 2]
    args = ["bake", high, low, "-o", out, *base, *rest]
    code, stdout, stderr = run(args, capsys)
    assert code == 2
    lines = [ln for ln in stderr.splitlines() if ln.startswith("normalkit: error:")]
    assert len(lines) == 1 and match in lines[0], stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


def test_tangents_command_writes_rows_per_corner(files, tmp_path, capsys):
    out = tmp_path / "t.npy"
    code, stdout, _ = run(["tangents", files / "low.obj", "-o", out], capsys)
    assert code == 0
    t = np.load(out)
    assert t.dtype == np.float32 and t.shape == (8 * 3, 4)
    np.testing.assert_allclose(t[:, :3], np.tile([1, 0, 0], (24, 1)), atol=1e-6)
    assert np.all(t[:, 3] == 1)


def test_console_script_exit_code(files, tmp_path):
    r = subprocess.run([sys.executable, "-m", "normalkit", "bake", str(files / "high.ply"),
                        str(files / "low_nouv.obj"), "-o", str(tmp_path / "x.png")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "unwrap" in r.stderr and "Traceback" not in r.stderr


def test_console_script_flushes_before_its_fast_exit(files, tmp_path):
    """A run that succeeds ends with os._exit after the exit handlers: its summary still
    reaches a pipe, whole, and the exit code is 0 (also for --help, an argparse exit)."""
    out = tmp_path / "n.png"
    r = subprocess.run([sys.executable, "-m", "normalkit", "bake", str(files / "high.ply"),
                        str(files / "low.obj"), "-o", str(out), *map(str, BASE)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("total") and f"wrote {out}" in r.stdout
    assert out.is_file()
    r = subprocess.run([sys.executable, "-m", "normalkit", "bake", "--help"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "usage: normalkit bake" in r.stdout


def test_outputs_get_the_usual_file_mode(files, tmp_path, capsys):
    import os
    import stat

    out = tmp_path / "n.png"
    assert run(["bake", files / "high.ply", files / "low.obj", "-o", out, *BASE], capsys)[0] == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask
