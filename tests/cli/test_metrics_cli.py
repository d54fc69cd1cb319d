"""``normalkit metrics`` end to end: the summary, the JSON file, and every bad input →
one ``normalkit: error:`` line, exit code 2, and no output file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from conftest import run_cli as run
from normalkit.cli import main
from normalkit.mesh.io import save_obj
from normalkit.mesh.model import Mesh
from normalkit.rendering.mesh_metrics import mesh_metrics


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("metrics_cli")
    tm = trimesh.creation.icosphere(subdivisions=4)
    sphere = Mesh(positions=np.asarray(tm.vertices, dtype=np.float64),
                  faces=np.asarray(tm.faces, dtype=np.int64), name="sphere")
    save_obj(sphere, d / "ref.obj")
    save_obj(sphere.replace(positions=sphere.positions * 1.06), d / "big.obj")
    save_obj(sphere.replace(positions=sphere.positions + [0.2, 0.0, 0.0]), d / "moved.obj")
    (d / "nan.obj").write_text("v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n")
    (d / "empty.obj").write_text("# nothing\n")
    (d / "flat.obj").write_text("v 0 0 0\nv 1 1 1\nv 2 2 2\nf 1 2 3\n")
    return d


def test_prints_the_summary_and_writes_the_json(files, tmp_path, capsys):
    out = tmp_path / "m.json"
    code, stdout, _ = run(["metrics", files / "big.obj", files / "ref.obj", "--points", "20000",
                           "--seed", "1", "--json", out], capsys)
    assert code == 0
    assert "Chamfer distance" in stdout and "F@0.05 1.0000" in stdout
    assert "F@0.02 0.0000" in stdout and "Normal consistency" in stdout
    assert stdout.rstrip().splitlines()[-1].endswith(f"→ {out}")
    d = json.loads(out.read_text())
    assert d == mesh_metrics(files / "big.obj", files / "ref.obj", points=20000, seed=1)
    assert d["chamfer"] == pytest.approx(0.03, abs=2e-3)  # the radius gap, 0.06 · 0.5
    assert d["points"] == 20000 and d["seed"] == 1 and d["aligned"] is False
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers


def test_align_takes_a_shift_back(files, capsys):
    code, stdout, stderr = run(["metrics", files / "moved.obj", files / "ref.obj",
                                "--points", "20000"], capsys)
    assert code == 0 and "aligned" not in stdout
    shifted = float(stdout.split("Chamfer distance")[1].split()[0])
    code, stdout, stderr = run(["metrics", files / "moved.obj", files / "ref.obj",
                                "--points", "20000", "--align"], capsys)
    assert code == 0 and "aligned by ICP" in stdout and stderr.startswith("ICP:")
    aligned = float(stdout.split("Chamfer distance")[1].split()[0])
    assert shifted == pytest.approx(0.05, abs=3e-3) and aligned < 0.01


def test_help_is_the_run_docstring(capsys):
    with pytest.raises(SystemExit):
        main(["metrics", "--help"])
    text = capsys.readouterr().out
    assert "MeshFormer's protocol" in text and "--points N" in text and "--json OUT.json" in text


@pytest.mark.parametrize("mesh, ref, extra, match", [
    ("missing.obj", "ref.obj", [], "cannot read"),
    ("ref.obj", "missing.obj", [], "no such file"),
    ("nan.obj", "ref.obj", [], "non-finite"),
    ("empty.obj", "ref.obj", [], "empty"),
    ("flat.obj", "ref.obj", [], "zero area"),
    ("ref.obj", "ref.obj", ["--points", "10"], "at least 1000"),
    ("ref.obj", "ref.obj", ["--seed", "-1"], "seed must be a whole number ≥ 0"),
    ("ref.obj", "ref.obj", ["--json", "OUT=m.txt"], "ending in .json"),
    ("ref.obj", "ref.obj", ["--json", "OUT=nodir/m.json"], "does not exist"),
    ("ref.obj", "ref.obj", ["--json", "LINK=ref.json"], "never overwrites an input"),
])
def test_bad_input_is_one_line_exit_2_and_no_file(files, tmp_path, capsys, mesh, ref, extra,
                                                  match):
    args = ["metrics", files / mesh, files / ref]
    outs = []
    for e in extra:
        if e.startswith("OUT="):
            outs.append(tmp_path / e[4:])
            args.append(outs[-1])
        elif e.startswith("LINK="):  # a symbolic link to the reference, named .json
            (tmp_path / e[5:]).symlink_to(files / ref)
            args.append(tmp_path / e[5:])
        else:
            args.append(e)
    before = (files / "ref.obj").read_bytes()
    code, stdout, stderr = run(args, capsys)
    assert code == 2
    lines = [ln for ln in stderr.splitlines() if ln.startswith("normalkit: error:")]
    assert len(lines) == 1 and match in lines[0], stderr
    assert stdout == ""
    assert not any(p.exists() for p in outs)
    assert not list(tmp_path.glob(".*"))
    assert (files / "ref.obj").read_bytes() == before  # the link's target is untouched
