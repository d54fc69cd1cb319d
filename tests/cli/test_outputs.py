"""Output safety (issue 9): no command ever overwrites or deletes one of its inputs, every
output is checked before any work, and a failed run leaves nothing behind.

The property test runs every command with each of its outputs set to each of its inputs
(directly, through a symbolic link and through a hard link) and checks that every input
keeps its checksum and nothing new appears.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import bump, grid_plane
from normalkit.cli import main
from normalkit.core.atomic import atomic_folder, check_outputs
from normalkit.core.errors import NormalkitError
from normalkit.images.io import write_image
from normalkit.maps.encode import encode_normals
from normalkit.mesh.io import save_obj, save_ply


def _make_inputs(d: Path) -> None:
    h, n = bump()
    save_ply(grid_plane(24, height=h, normals=n), d / "high.ply")
    low = grid_plane(2)
    save_obj(low, d / "low.obj")
    save_obj(low.replace(positions=low.positions + [0, 0, 0.1]), d / "cage.obj")
    flat = np.zeros((16, 16, 3), np.float32)
    flat[..., 2] = 1
    write_image(d / "map.png", encode_normals(flat, 16))
    write_image(d / "map_f.exr", flat, alpha=np.ones((16, 16), bool))
    write_image(d / "detail.png", encode_normals(flat, 8))
    write_image(d / "color.png", np.full((16, 16, 3), 128, np.uint8))
    write_image(d / "height.png", np.tile(np.arange(16, dtype=np.uint8) * 16, (16, 1)))
    write_image(d / "depth.exr", np.full((16, 16), 2.0, np.float32))
    write_image(d / "mask.png", np.full((16, 16), 255, np.uint8))
    (d / "K.txt").write_text("20 0 8\n0 20 8\n0 0 1\n")


BAKE = ["--size", "16", "--samples", "1", "--max-distance", "0.1", "-q"]

#: (command, its input files, its file outputs as option → default name).
#: "{X}" in an argument is replaced by the path of input X; "{OUT}" by the output.
COMMANDS = [
    (["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", *BAKE, "--extrusion", "0.1"],
     ["high.ply", "low.obj"]),
    (["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", *BAKE, "--cage", "{cage.obj}"],
     ["cage.obj"]),
    (["bake", "{high.ply}", "{low.obj}", "-o", "out.png", *BAKE, "--mask", "{OUT}"],
     ["high.ply", "low.obj"]),
    (["bake", "{high.ply}", "{low.obj}", "-o", "out.png", *BAKE, "--miss-mask", "{OUT}"],
     ["high.ply", "low.obj"]),
    (["tangents", "{low.obj}", "-o", "{OUT}"], ["low.obj"]),
    (["export", "{low.obj}", "{map.png}", "--color", "{color.png}", "-o", "{OUT}"],
     ["low.obj", "map.png", "color.png"]),
    (["map", "convert", "{map.png}", "-o", "{OUT}"], ["map.png"]),
    (["map", "blend", "{map.png}", "{detail.png}", "-o", "{OUT}"], ["map.png", "detail.png"]),
    (["map", "height2normal", "{height.png}", "-o", "{OUT}"], ["height.png"]),
    (["map", "normal2height", "{map.png}", "-o", "{OUT}"], ["map.png"]),
    (["map", "integrate", "{map.png}", "--mask", "{mask.png}", "--K", "{K.txt}", "-o",
      "{OUT}"], ["map.png", "mask.png", "K.txt"]),
    (["map", "integrate", "{map_f.exr}", "--K", "{K.txt}", "-o", "{OUT}"], ["map_f.exr"]),
    (["map", "depth2normal", "{depth.exr}", "--K", "{K.txt}", "-o", "{OUT}"],
     ["depth.exr", "K.txt"]),
    (["map", "to-object", "{low.obj}", "{map.png}", "-o", "{OUT}"], ["low.obj", "map.png"]),
    (["map", "to-tangent", "{low.obj}", "{map.png}", "-o", "o.png", "--mask", "{OUT}"],
     ["low.obj", "map.png"]),
]


def _args(template, d: Path, out) -> list[str]:
    args = []
    for a in template:
        if a == "{OUT}":
            args.append(str(out))
        elif a.startswith("{"):
            args.append(str(d / a[1:-1]))
        elif a in ("out.png", "o.png"):
            args.append(str(d / a))
        else:
            args.append(a)
    return args


def _snapshot(d: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.iterdir()) if p.is_file() and not p.is_symlink()}


@pytest.fixture()
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    _make_inputs(d)
    return d


CASES = [(k, name, how) for k, (_, ins) in enumerate(COMMANDS) for name in ins
         for how in ("same", "symlink", "hardlink")]


@pytest.mark.parametrize("k,name,how", CASES,
                         ids=[f"{' '.join(COMMANDS[k][0][:2])}-{n}-{h}" for k, n, h in CASES])
def test_an_output_that_is_an_input_is_refused_and_nothing_changes(inputs, capsys, k, name,
                                                                    how):
    template, _ = COMMANDS[k]
    target = inputs / name
    if how == "symlink":
        out = inputs.parent / f"link{target.suffix}"
        out.symlink_to(target)
    elif how == "hardlink":
        out = inputs.parent / f"hard{target.suffix}"
        os.link(target, out)
    else:
        out = target
    before = _snapshot(inputs)
    code = main(_args(template, inputs, out))
    err = capsys.readouterr().err
    assert code == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("normalkit: error:")
    # An input of the output's kind is refused as an input; others already by their kind.
    assert "never overwrites an input" in line or any(
        why in line for why in ("extension", "written as .npy", "output format",
                                "use one of")), line
    assert _snapshot(inputs) == before  # no input changed, no output appeared


def test_two_outputs_may_not_share_a_path(inputs, capsys):
    same = inputs.parent / "same.png"
    code = main(_args(["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", *BAKE, "--mask",
                       str(same)], inputs, same))
    err = capsys.readouterr().err
    assert code == 2 and "both" in err and not same.exists()


def test_reduce_refuses_to_replace_its_input_inside_outdir(tmp_path, assets, capsys):
    sculpt = tmp_path / "sculpt.obj"
    shutil.copy(assets / "meshes" / "fandisk.obj", sculpt)
    before = _snapshot(tmp_path)
    for outdir in (tmp_path, Path(os.path.relpath(tmp_path))):
        code = main(["reduce", str(sculpt), "-o", str(outdir), "--faces", "300", "--size",
                     "64", "-q"])
        err = capsys.readouterr().err
        assert code == 2 and "never overwrites an input" in err, err
        assert _snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) \
            == ["sculpt.obj"]
    # Under another name the input stays and the asset lands beside it.
    code = main(["reduce", str(sculpt), "-o", str(tmp_path), "--faces", "300", "--size", "64",
                 "--name", "game", "-q"])
    capsys.readouterr()
    assert code == 0 and (tmp_path / "game.glb").is_file()
    assert _snapshot(tmp_path)["sculpt.obj"] == before["sculpt.obj"]


def test_render_and_compare_refuse_an_input_named_like_their_outputs(inputs, capsys):
    out = inputs  # the folder holding the inputs
    shutil.copy(inputs / "map.png", inputs / "normal_camera_000.png")
    shutil.copy(inputs / "map.png", inputs / "sheet_00.png")
    before = _snapshot(inputs)
    code = main(["render", str(inputs / "low.obj"), "--normal-map",
                 str(inputs / "normal_camera_000.png"), "-o", str(out), "--views", "1",
                 "--size", "16", "-q"])
    assert code == 2 and "never overwrites an input" in capsys.readouterr().err
    code = main(["compare", str(inputs / "high.ply"), str(inputs / "low.obj"),
                 str(inputs / "sheet_00.png"), "-o", str(out), "--views", "1", "--size", "16",
                 "-q"])
    assert code == 2 and "never overwrites an input" in capsys.readouterr().err
    assert _snapshot(inputs) == before


def test_atomic_folder_never_replaces_an_input_even_if_unplanned(tmp_path):
    """The commit re-checks: a file staged under an input's name is refused, nothing moves."""
    src = tmp_path / "in.png"
    src.write_bytes(b"precious")
    with pytest.raises(NormalkitError, match="never overwrites an input"):
        with atomic_folder(tmp_path, {"MAP": src}) as stage:
            (stage / "other.png").write_bytes(b"x")
            (stage / "in.png").write_bytes(b"y")
    assert src.read_bytes() == b"precious" and sorted(p.name for p in tmp_path.iterdir()) \
        == ["in.png"]
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "keep.obj").write_text("v 0 0 0\n")
    with pytest.raises(NormalkitError, match="never deletes an input"):
        with atomic_folder(tmp_path, {"MESH": sub / "keep.obj"}) as stage:
            (stage / "sub").mkdir()
    assert (sub / "keep.obj").read_text() == "v 0 0 0\n"


# --- unwritable outputs: checked by creating a file, before any work -------------------------

PROC = [
    ["bake", "{high.ply}", "{low.obj}", "-o", "/proc/x.png", *BAKE],
    ["tangents", "{low.obj}", "-o", "/proc/x.npy"],
    ["export", "{low.obj}", "{map.png}", "-o", "/proc/x.glb"],
    ["map", "convert", "{map.png}", "-o", "/proc/x.png"],
    ["map", "blend", "{map.png}", "{detail.png}", "-o", "/proc/x.png"],
    ["map", "height2normal", "{height.png}", "-o", "/proc/x.png"],
    ["map", "normal2height", "{map.png}", "-o", "/proc/x.exr"],
    ["map", "integrate", "{map.png}", "--mask", "{mask.png}", "--K", "{K.txt}", "-o",
     "/proc/x.exr"],
    ["map", "depth2normal", "{depth.exr}", "--K", "{K.txt}", "-o", "/proc/x.png"],
    ["map", "to-object", "{low.obj}", "{map.png}", "-o", "/proc/x.png"],
    ["map", "mips", "{map.png}", "-o", "/proc/mips"],
    ["render", "{low.obj}", "-o", "/proc/renders", "--size", "16", "-q"],
    ["compare", "{high.ply}", "{low.obj}", "{map.png}", "-o", "/proc/cmp", "--size", "16",
     "-q"],
    ["reduce", "{high.ply}", "-o", "/proc/asset", "--faces", "100", "--size", "16", "-q"],
]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("template", PROC, ids=[" ".join(t[:2]) for t in PROC])
def test_an_output_in_a_folder_that_takes_no_files_is_one_error_line(inputs, capsys, template):
    code = main(_args(template, inputs, None))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("normalkit: error:"), err
    assert "/proc" in err[0] and "choose another folder" in err[0]


def test_check_outputs_proves_writability_by_creating_a_file(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    check_outputs({"-o": ro / "a.png"})
    assert list(ro.iterdir()) == []  # the probe is gone
    with pytest.raises(NormalkitError, match="does not exist"):
        check_outputs({"-o": tmp_path / "missing" / "a.png"})
    with pytest.raises(NormalkitError, match="is a folder"):
        check_outputs({"-o": ro})


# --- failed runs leave nothing behind -------------------------------------------------------

def _listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.mark.parametrize("template,new", [
    (["bake", "{high.ply}", "{low.obj}", "-o", "out.png", *BAKE, "--mask", "m.jpg"], "m.jpg"),
    (["bake", "{high.ply}", "{low.obj}", "-o", "out.png", *BAKE, "--miss-mask", "m.exr"],
     "m.exr"),
    (["map", "to-object", "{low.obj}", "{map.png}", "-o", "out.png", "--mask", "x.jpg"],
     "x.jpg"),
    (["map", "mips", "{map.png}", "-o", "mips", "--roughness", "--base-roughness", "2"], "mips"),
    (["render", "{low.obj}", "-o", "renders", "--size", "16", "--samples", "3", "-q"],
     "renders"),
    (["render", "{low.obj}", "-o", "renders", "--size", "16", "--views", "1001", "-q"],
     "renders"),
    (["render", "{low.obj}", "-o", "renders", "--width", "32", "-q"], "renders"),
    (["render", "{low.obj}", "-o", "renders", "--size", "16", "--up", "0", "0", "0", "-q"],
     "renders"),
    (["demo", "-o", "d", "--size", "0"], "d"),
], ids=["bake-mask-jpg", "bake-miss-exr", "to-object-mask-jpg", "mips-roughness",
        "render-samples", "render-views", "render-width", "render-up", "demo-size"])
def test_bad_options_fail_before_any_output(inputs, capsys, monkeypatch, template, new):
    monkeypatch.chdir(inputs)
    before = _listing(inputs.parent)
    code = main([a.replace(str(inputs) + "/", "") for a in _args(template, inputs, None)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("normalkit: error:"), err
    assert _listing(inputs.parent) == before, f"{new} or a temporary file was left behind"


def test_render_that_fails_midway_leaves_no_views(inputs, capsys, monkeypatch):
    """A full disk at the third view: nothing of the run appears (README: nothing behind)."""
    import normalkit.cli.render as cmd

    calls = {"n": 0}
    real = cmd._write

    def failing(out, files, role, k, image):
        if k == 2:
            raise OSError(28, "No space left on device", str(out / "x.png"))
        calls["n"] += 1
        return real(out, files, role, k, image)

    monkeypatch.setattr(cmd, "_write", failing)
    before = _listing(inputs.parent)
    code = main(["render", str(inputs / "low.obj"), "-o", str(inputs.parent / "r"),
                 "--views", "3", "--size", "16", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "free some space" in err
    assert calls["n"] > 0 and _listing(inputs.parent) == before


def test_a_bake_that_cannot_fit_in_memory_is_refused_before_any_work(inputs, capsys):
    """Under `ulimit -v 4 GB`, a 30000² bake names its memory need instead of a traceback."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        "from normalkit.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    out = inputs.parent / "big.png"
    r = subprocess.run([sys.executable, "-c", code, "bake", str(inputs / "high.ply"),
                        str(inputs / "low.obj"), "-o", str(out), "--size", "30000", "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("normalkit: error: a 30000×30000 bake needs about") and "GiB" in line
    assert "smaller size" in line and not out.exists()


def test_memory_limit_setting_lowers_the_ceiling(inputs, capsys, monkeypatch):
    monkeypatch.setenv("NORMALKIT_MEMORY_LIMIT", str(1 << 30))
    out = inputs.parent / "o.png"
    for command in (["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", "--size", "8192", "-q"],
                    ["render", "{low.obj}", "-o", "{OUT}", "--size", "4096", "-q"],
                    ["reduce", "{high.ply}", "-o", "{OUT}", "--faces", "50", "--size", "8192",
                     "-q"]):
        code = main(_args(command, inputs, out))
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and "but only 1.0 GiB is available" in err[-1], err
        assert not out.exists()
    monkeypatch.setenv("NORMALKIT_MEMORY_LIMIT", str(1 << 40))
    code = main(_args(["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", *BAKE], inputs, out))
    assert code == 0 and out.is_file()


def test_memory_error_and_os_error_are_one_line(inputs, capsys, monkeypatch):
    import normalkit.baking.bake as bake_mod

    def oom(*a, **k):
        raise MemoryError("Unable to allocate 10.1 GiB for an array with shape (3,)")

    monkeypatch.setattr(bake_mod, "bake", oom)
    code = main(_args(["bake", "{high.ply}", "{low.obj}", "-o", "{OUT}", *BAKE], inputs,
                      inputs.parent / "o.png"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0] == ("normalkit: error: out of memory: unable to allocate 10.1 GiB; use a "
                      "smaller --size, fewer threads or samples, or free some memory")


def test_progress_bars_stay_out_of_logs(inputs):
    """stderr to a pipe: no carriage-return bar text, only the notices."""
    r = subprocess.run([sys.executable, "-m", "normalkit", "bake", str(inputs / "high.ply"),
                        str(inputs / "low.obj"), "-o", str(inputs.parent / "o.png"),
                        "--size", "16", "--samples", "1"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "baking" not in r.stderr
    assert "on 1 thread)" in r.stdout or "threads)" in r.stdout or "thread" in r.stdout


def test_demo_has_a_description(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "make demo" in capsys.readouterr().out


def test_demo_reports_name_the_final_folder(tmp_path):
    """The demo writes its reports in a staging folder; their viewer commands must name
    the folder the files end up in."""
    import json

    from normalkit.cli.demo import _retarget_viewer_commands
    from normalkit.core.commands import view_command

    stage, out = tmp_path / "out.partial", tmp_path / "out"
    (stage / "reconstruct").mkdir(parents=True)
    (stage / "report.json").write_text(json.dumps(
        {"viewer": view_command(stage, high=stage / "high.ply")}))
    (stage / "reconstruct" / "report.html").write_text(
        f"<code>{view_command(stage / 'reconstruct')}</code>")
    _retarget_viewer_commands(stage, out)
    assert json.loads((stage / "report.json").read_text())["viewer"] == \
        f"normalkit view {out.resolve()} --high {out.resolve() / 'high.ply'}"
    assert (stage / "reconstruct" / "report.html").read_text() == \
        f"<code>normalkit view {out.resolve() / 'reconstruct'}</code>"
