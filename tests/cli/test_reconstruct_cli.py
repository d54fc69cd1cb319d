"""``normalkit reconstruct`` end to end, on a real ``normalkit render`` of a unit sphere
(6 views, 96²).

The happy path writes the GLB (validator-clean, both textures, TANGENT), OBJ/MTL, the
PNG textures and the reports, and ends with the summary line. Every bad input (a views
folder without cameras, an image of the wrong size, an all-zero normal map, empty masks,
a camera that looks away, a NaN in a matrix, one view, masks that contradict each
other, …) gives one ``normalkit: error:`` line, exit code 2, and no output folder.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import gltf_validator
from conftest import run_cli as run
from normalkit.cli import main
from normalkit.images.io import read_image, write_image
from normalkit.mesh.io import save_obj
from normalkit.mesh.model import Mesh
from normalkit.reconstruction.pipeline import output_names
from scenes import unit_sphere

SIZE = 96
VIEWS = 6
#: Small and quick: the CLI is under test here, not the reconstruction's accuracy.
FAST = ["--faces", "1000", "--texture", "128", "--resolution", "64", "--rounds", "3", "-q"]


def sphere_mesh() -> Mesh:
    return unit_sphere(3)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("reconstruct_cli")
    save_obj(sphere_mesh(), d / "sphere.obj")
    assert main(["render", str(d / "sphere.obj"), "-o", str(d / "views"), "--size", str(SIZE),
                 "--views", str(VIEWS), "--samples", "1", "-q"]) == 0
    return d


@pytest.fixture()
def folder(rendered, tmp_path) -> Path:
    """A private copy of the rendered views folder, free to damage."""
    return Path(shutil.copytree(rendered / "views", tmp_path / "views"))


def doc_of(folder: Path) -> dict:
    return json.loads((folder / "cameras.json").read_text())


def save_doc(folder: Path, doc: dict) -> None:
    (folder / "cameras.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def happy(rendered, tmp_path_factory):
    """One full run with a reference: (output folder, exit code, stdout, stderr)."""
    out = tmp_path_factory.mktemp("happy") / "recon"
    code = main(["reconstruct", str(rendered / "views"), "-o", str(out), "--reference",
                 str(rendered / "sphere.obj"), "--name", "ball", *FAST])
    return out, code


# --------------------------------------------------------------------------------------------
# Happy path


def test_writes_every_file_and_the_summary(rendered, tmp_path, capsys):
    out = tmp_path / "recon"
    code, stdout, stderr = run(["reconstruct", rendered / "views", "-o", out, *FAST], capsys)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(output_names("mesh"))
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("1,000 faces, 128² textures from 6 views") and last.endswith(f"→ {out}")
    assert "normal residual median" in last and "mask IoU" in last
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    obj = (out / "mesh.obj").read_text()
    assert "mtllib mesh.mtl" in obj
    mtl = (out / "mesh.mtl").read_text()
    assert "mesh_basecolor.png" in mtl and "mesh_normal.png" in mtl
    normal = read_image(out / "mesh_normal.png")
    color = read_image(out / "mesh_basecolor.png")
    assert normal.shape == (128, 128, 3) and normal.dtype == np.uint16
    assert color.shape == (128, 128, 3) and color.dtype == np.uint8
    assert "<html" in (out / "report.html").read_text()


def test_report_has_residuals_timings_views_and_metrics(happy, rendered):
    out, code = happy
    assert code == 0
    assert (out / "ball.glb").is_file() and (out / "ball.obj").is_file()
    rep = json.loads((out / "report.json").read_text())
    assert rep["views_used"] == VIEWS and len(rep["view_names"]) == VIEWS
    views = (rendered / "views").resolve()
    assert rep["views_source"] == str(views)
    assert rep["viewer"] == f"normalkit view {out.resolve()} --views {views}"
    assert rep["viewer"] in (out / "report.html").read_text()
    assert rep["faces"] <= 1000 and rep["texture"] == 128
    res = rep["residuals"]
    assert [v["name"] for v in res["views"]] == rep["view_names"]
    for v in res["views"]:
        assert v["median_deg"] < 5 and v["mask_iou"] > 0.95
    assert res["median_deg"] <= res["median_deg_mesh_only"]
    assert set(rep["seconds"]) >= {"views", "hull", "shape", "total"}
    assert all(s >= 0 for s in rep["seconds"].values())
    assert rep["metrics"]["chamfer"] < 0.02 and rep["metrics"]["fscore"]["0.05"]["f"] > 0.9


def test_glb_is_validator_clean_with_both_textures_and_tangents(happy):
    import pygltflib

    out, code = happy
    assert code == 0
    g = pygltflib.GLTF2().load_binary(str(out / "ball.glb"))
    prim = g.meshes[0].primitives[0]
    assert prim.attributes.TANGENT is not None and prim.attributes.TEXCOORD_0 is not None
    mat = g.materials[prim.material]
    assert mat.normalTexture is not None
    assert mat.pbrMetallicRoughness.baseColorTexture is not None
    reason = gltf_validator.missing_tool()
    if reason:
        pytest.skip(reason)
    (report,) = gltf_validator.validate([out / "ball.glb"])
    print(f"\n[gltf-validator {report['validatorVersion']}] {gltf_validator.summary(report)}")
    assert report["issues"]["numErrors"] == 0, gltf_validator.summary(report)
    assert report["issues"]["numWarnings"] == 0, gltf_validator.summary(report)


def test_help_is_the_run_docstring(capsys):
    with pytest.raises(SystemExit):
        main(["reconstruct", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Reconstruct a closed, textured mesh from posed views" in text
    for flag in ("--faces", "--texture", "--use-views", "--reference", "--resolution",
                 "--rounds", "--name", "--quiet", "--threads"):
        assert flag in text


# --------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, no output folder


def _no_cameras(folder: Path) -> Path:
    empty = folder.parent / "empty"
    empty.mkdir()
    return empty


def _wrong_size(folder: Path) -> Path:
    name = doc_of(folder)["views"][2]["files"]["rgb"]
    write_image(folder / name, np.ascontiguousarray(read_image(folder / name)[:40, :56]))
    return folder


def _zero_normals(folder: Path) -> Path:
    name = doc_of(folder)["views"][3]["files"]["normal_camera_exr"]
    write_image(folder / name, np.zeros((SIZE, SIZE, 3), np.float32))
    return folder


def _empty_masks(folder: Path) -> Path:
    for view in doc_of(folder)["views"]:
        write_image(folder / view["files"]["mask"], np.zeros((SIZE, SIZE), np.uint8))
    return folder


def _looks_away(folder: Path) -> Path:
    doc = doc_of(folder)
    m = np.array(doc["views"][1]["cam_to_world"])
    m[:3, 0] *= -1  # half a turn about the camera's own y axis: it now looks away
    m[:3, 2] *= -1
    doc["views"][1]["cam_to_world"] = m.tolist()
    save_doc(folder, doc)
    return folder


def _nan_matrix(folder: Path) -> Path:
    doc = doc_of(folder)
    doc["views"][1]["cam_to_world"][0][3] = float("nan")
    save_doc(folder, doc)
    return folder


def _corner_blob(folder: Path) -> Path:
    """View 2 sees only a small blob in its corner, with normals there: no common volume."""
    files = doc_of(folder)["views"][2]["files"]
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[2:8, 2:8] = 255
    normals = np.zeros((SIZE, SIZE, 3), np.float32)
    normals[2:8, 2:8, 2] = 1.0
    write_image(folder / files["mask"], mask)
    write_image(folder / files["normal_camera_exr"], normals)
    return folder


@pytest.mark.parametrize("damage, extra, message", [
    (_no_cameras, [], "holds no cameras.json or transforms.json"),
    (_wrong_size, [], "view 2: 'rgb_002.png' is 56×40 pixels but its camera is 96×96"),
    (_zero_normals, [], "view 3: 'normal_camera_003.exr' is all zeros inside the mask"),
    (_empty_masks, [], "every view's mask is empty"),
    (_looks_away, [], "the masks have no common volume: rgb_001.png's camera does not see "
                      "the object"),
    (_nan_matrix, [], "view 1: cam_to_world must be a 4×4 matrix of finite numbers"),
    (lambda f: f, ["--use-views", "0"], "keeps 1 view: reconstruction needs at least 2"),
    (lambda f: f, ["--use-views", "0,1,9"], "view 9 does not exist"),
    (_corner_blob, [], "the masks have no common volume: rgb_002.png's camera"),
], ids=["no-cameras", "wrong-size", "zero-normals", "empty-masks", "looks-away", "nan",
        "one-view", "no-such-view", "contradicting-masks"])
def test_bad_views_one_line_exit_2_no_output(folder, tmp_path, capsys, damage, extra,
                                             message):
    views = damage(folder)
    out = tmp_path / "out"
    code, stdout, stderr = run(["reconstruct", views, "-o", out, *FAST, *extra], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("normalkit: error: "), stderr
    assert message in lines[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_output_fails_before_reading_the_views(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    for out, message in ((tmp_path / "file", "it is a file"),
                         (tmp_path / "missing" / "out", "does not exist")):
        # VIEWS would fail too, but the output is checked first.
        code, _, stderr = run(["reconstruct", tmp_path, "-o", out, *FAST], capsys)
        assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1


def test_bad_reference_fails_before_the_reconstruction(rendered, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, stderr = run(["reconstruct", rendered / "views", "-o", out, "--reference",
                           tmp_path / "nope.obj", *FAST], capsys)
    assert code == 2 and "nope.obj" in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("flag, value", [("--use-views", "0,x"), ("--use-views", "-1,2"),
                                         ("--use-views", ""), ("--name", "a/b")])
def test_bad_option_values_exit_2(rendered, tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as exc:
        main(["reconstruct", str(rendered / "views"), "-o", str(tmp_path / "out"), flag,
              value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: expected" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--faces", "10", "faces must be an integer in [100, 5000000]"),
    ("--texture", "8", "texture"),
    ("--resolution", "8", "hull resolution must be in [32, 512]"),
    ("--rounds", "-1", "rounds must be an integer in [0, 100]"),
    ("--threads", "0", "threads must be a whole number ≥ 1"),
])
def test_bad_numbers_one_line_exit_2(rendered, tmp_path, capsys, flag, value, message):
    out = tmp_path / "out"
    code, _, stderr = run(["reconstruct", rendered / "views", "-o", out, "-q", flag, value],
                          capsys)
    assert code == 2 and message in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# The demo's reconstruction step


@pytest.mark.slow
def test_demo_reconstruction_step(tmp_path, capsys):
    """``make demo``'s last step on a smaller torus: the files and the summary line."""
    from normalkit.cli.demo import reconstruct_demo
    from normalkit.mesh.examples import colored_bumpy_torus

    high = colored_bumpy_torus(high_faces=16_384)
    reconstruct_demo(high, tmp_path / "stage", tmp_path / "out" / "reconstruct",
                     log=lambda _msg: None)
    assert sorted(p.name for p in (tmp_path / "stage").iterdir()) == sorted(output_names("mesh"))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("rendered 6 views of ")
    # About 5,000: decimation stops at the target, less any back-to-back pairs it drops.
    head = re.match(r"reconstruct: (\d),(\d{3}) faces, 512² textures from 6 views", lines[-1])
    assert head and 4900 <= int(head[1] + head[2]) <= 5000, lines[-1]
    assert "vs reference: Chamfer" in lines[-1]
    assert lines[-1].endswith(f"→ {tmp_path / 'out' / 'reconstruct'}")
    rep = json.loads((tmp_path / "stage" / "report.json").read_text())
    assert rep["metrics"]["fscore"]["0.05"]["f"] > 0.5
