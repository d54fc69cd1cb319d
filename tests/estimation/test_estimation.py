"""normalkit.estimation: the estimator interface, Marigold through diffusers (a tiny
random-weight pipeline saved and loaded as a real checkpoint is), the oracles, the
evaluation harness, a whole views folder, and the CLI with its bad inputs.

No weights can be downloaded here: ``tiny_marigold.build`` makes the model. Its
predictions are noise; what is tested is what normalkit does around the model (shape,
frame, seeds, resolution, ensembling, errors), and the harness against oracles whose
errors are known in advance.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import tiny_marigold
from conftest import run_cli as run
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.estimation import (
    NormalEstimator,
    OracleNormals,
    as_rgb,
    estimate_views,
    evaluate,
    load_estimator,
    perturb,
    view_agreement,
)
from normalkit.images.io import read_image, write_image
from normalkit.maps.encode import decode_normals
from normalkit.mesh.io import save_obj
from normalkit.reconstruction.views import load_views
from scenes import unit_sphere

SIZE = 64


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return tiny_marigold.build(tmp_path_factory.mktemp("models") / "tiny-normals")


@pytest.fixture(scope="module")
def tiny_depth(tmp_path_factory) -> Path:
    return tiny_marigold.build(tmp_path_factory.mktemp("models") / "tiny-depth", "depth")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """A views folder of a unit sphere (6 views, 64²) with its ground-truth normals."""
    d = tmp_path_factory.mktemp("est_views")
    save_obj(unit_sphere(3), d / "sphere.obj")
    assert main(["render", str(d / "sphere.obj"), "-o", str(d / "views"), "--size", str(SIZE),
                 "--views", "6", "--samples", "1", "-q"]) == 0
    return d / "views"


def image(h=48, w=80, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# The interface


class Known(NormalEstimator):
    """A backend whose prediction is a known field in its own frame."""

    name = "known"

    def __init__(self, field, frame=None):
        self.field, self.frame = field, np.eye(3) if frame is None else frame

    def _predict(self, rgb):
        return self.field, None


def test_the_frame_is_converted_at_the_boundary():
    rng = np.random.default_rng(1)
    n = rng.normal(size=(8, 10, 3))
    n /= np.linalg.norm(n, axis=2, keepdims=True)
    # A backend in a y-down frame (DirectX-like screen space): our y = −its y.
    flip = np.diag([1.0, -1.0, 1.0])
    out = Known(n, flip).predict(image(8, 10)).normals
    np.testing.assert_allclose(out, n * [1, -1, 1], atol=1e-6)
    np.testing.assert_allclose(Known(n).predict(image(8, 10)).normals, n, atol=1e-6)
    # Not unit length on the way in: unit on the way out.
    np.testing.assert_allclose(np.linalg.norm(Known(3 * n).predict(image(8, 10)).normals,
                                              axis=2), 1.0, atol=1e-6)


def test_a_backend_with_wrong_output_is_reported():
    with pytest.raises(NormalkitError, match="shape"):
        Known(np.ones((4, 4, 3))).predict(image(8, 10))
    with pytest.raises(NormalkitError, match="zero or non-finite"):
        Known(np.zeros((8, 10, 3))).predict(image(8, 10))


def test_grey_rgba_and_integer_images_become_rgb():
    grey = np.full((4, 5), 0.25, np.float32)
    np.testing.assert_allclose(as_rgb(grey), 0.25)
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :2, 3] = 255  # opaque red on the left, transparent (→ white) on the right
    out = as_rgb(rgba)
    np.testing.assert_allclose(out[:, :2], np.broadcast_to([1.0, 0.0, 0.0], (4, 2, 3)))
    np.testing.assert_allclose(out[:, 2:], 1.0)
    np.testing.assert_allclose(as_rgb(np.full((2, 2, 3), 65535, np.uint16)), 1.0)
    assert as_rgb(np.zeros((3, 3, 2), np.uint8)).shape == (3, 3, 3)  # grey + alpha


@pytest.mark.parametrize("bad, match", [
    (np.full((4, 4, 3), 2.0), r"\[0, 1\]"),
    (np.full((4, 4, 3), np.nan), "NaN"),
    (np.zeros((4, 4, 5)), "expected an"),
    (np.zeros((4,)), "expected an"),
])
def test_bad_images_are_refused(bad, match):
    with pytest.raises(NormalkitError, match=match):
        as_rgb(bad)


# --------------------------------------------------------------------------------------------
# Marigold, through the path a real checkpoint takes


def test_marigold_shape_frame_and_unit_length_on_a_non_square_image(tiny):
    est = load_estimator(str(tiny))
    r = est.predict(image(48, 80))
    assert r.normals.shape == (48, 80, 3) and r.normals.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(r.normals, axis=2), 1.0, atol=1e-5)
    assert r.uncertainty is None and r.model_seconds > 0


def test_marigold_returns_the_pipelines_field_in_our_frame(tiny, monkeypatch):
    """Marigold's frame is ours: a pipeline whose prediction is a known field comes back
    unchanged (unit, same axes)."""
    est = load_estimator(str(tiny))
    rng = np.random.default_rng(2)
    field = rng.normal(size=(1, 48, 80, 3)).astype(np.float32)
    field /= np.linalg.norm(field, axis=3, keepdims=True)

    class Out:
        prediction, uncertainty = field, None

    monkeypatch.setattr(est, "pipe", lambda *a, **k: Out())
    np.testing.assert_allclose(est.predict(image(48, 80)).normals, field[0], atol=1e-6)


def test_marigold_is_deterministic_with_a_seed(tiny):
    a = load_estimator(str(tiny), seed=3).predict(image()).normals
    b = load_estimator(str(tiny), seed=3).predict(image()).normals
    c = load_estimator(str(tiny), seed=4).predict(image()).normals
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_processing_resolution_changes_the_work_not_the_output_size(tiny):
    a = load_estimator(str(tiny), resolution=32).predict(image(48, 80)).normals
    b = load_estimator(str(tiny), resolution=96).predict(image(48, 80)).normals
    assert a.shape == b.shape == (48, 80, 3)
    assert np.abs(a - b).max() > 1e-3


def test_ensembling_gives_an_uncertainty(tiny):
    r = load_estimator(str(tiny), ensemble=3, batch_size=2).predict(image(40, 56))
    assert r.uncertainty is not None and r.uncertainty.shape == (40, 56)
    assert np.isfinite(r.uncertainty).all() and r.uncertainty.max() > 0


def test_depth_is_relative_and_at_the_input_size(tiny_depth):
    r = load_estimator(str(tiny_depth), "depth").predict(image(40, 72))
    assert r.depth.shape == (40, 72) and np.isfinite(r.depth).all()
    assert 0.0 <= r.depth.min() <= r.depth.max() <= 1.0


def test_model_errors_name_the_remedy(tiny, tiny_depth, tmp_path):
    with pytest.raises(NormalkitError, match=r"no model at '.*nowhere': download "
                                             r"prs-eth/marigold-normals-v1-1.*local folder"):
        load_estimator(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(NormalkitError, match="not a Marigold pipeline folder"):
        load_estimator(str(tmp_path / "empty"))
    other = shutil.copytree(tiny, tmp_path / "other")
    index = json.loads((other / "model_index.json").read_text())
    (other / "model_index.json").write_text(json.dumps(dict(index, _class_name="FluxPipeline")))
    with pytest.raises(NormalkitError, match="not a Marigold pipeline"):
        load_estimator(str(other))
    with pytest.raises(NormalkitError, match="is a Marigold depth model, not a normals one"):
        load_estimator(str(tiny_depth))


@pytest.mark.parametrize("options, match", [
    ({"device": "cuda"}, "device 'cuda' is not available"),
    ({"device": "tpu"}, "device must be one of"),
    ({"dtype": "float16"}, "float16 is not available on the CPU"),
    ({"dtype": "int8"}, "dtype must be one of"),
    ({"steps": 0}, "steps must be a whole number"),
    ({"resolution": 100}, "multiple of 8"),
])
def test_device_dtype_and_option_errors(tiny, options, match):
    import torch

    if options.get("device") == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here")
    with pytest.raises(NormalkitError, match=match):
        load_estimator(str(tiny), **options)


def test_running_out_of_memory_suggests_a_lower_resolution(tiny, monkeypatch):
    est = load_estimator(str(tiny), resolution=64)

    def boom(*a, **k):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                           "allocate 123456789 bytes")

    monkeypatch.setattr(est, "pipe", boom)
    with pytest.raises(NormalkitError, match="out of memory.*lower --resolution"):
        est.predict(image())


# --------------------------------------------------------------------------------------------
# Oracles and the harness


def test_perturb_turns_every_normal_by_exactly_the_angle():
    rng = np.random.default_rng(5)
    n = rng.normal(size=(500, 3))
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    for deg in (0.5, 5.0, 30.0):
        m = perturb(n, deg, seed=1)
        ang = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", n, m), -1, 1)))
        np.testing.assert_allclose(ang, deg, atol=2e-3)
        np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-6)


def test_the_truth_scores_zero_and_a_known_perturbation_scores_itself(rendered):
    rep = evaluate(rendered, load_estimator("oracle"), compare_to=load_estimator("oracle:20"),
                   progress=False)
    truth, turned = rep["models"]
    assert truth["pooled"]["mean"] < 0.02 and truth["pooled"]["within_11.25"] == 100.0
    assert abs(turned["pooled"]["mean"] - 20.0) < 0.05
    assert abs(turned["pooled"]["median"] - 20.0) < 0.05
    assert turned["pooled"]["within_11.25"] == 0.0 and turned["pooled"]["within_22.5"] == 100.0
    assert turned["pooled"]["pixels"] == sum(v["mask_pixels"] for v in rep["views"])
    for row in turned["views"]:
        assert abs(row["mean"] - 20.0) < 0.05


def test_eval_writes_sheets_and_reports_for_two_models(rendered, tiny, tmp_path):
    out = tmp_path / "eval"
    rep = evaluate(rendered, load_estimator(str(tiny)), compare_to=load_estimator("oracle:5"),
                   outdir=out, progress=False)
    assert len(rep["models"]) == 2 and len(rep["views"]) == 6
    noise = rep["models"][0]["pooled"]
    assert 0 < noise["mean"] <= 180 and noise["pixels"] > 1000
    for v in rep["views"]:
        sheet = read_image(out / v["sheet"])
        assert sheet.shape[0] > SIZE and sheet.shape[1] > 6 * SIZE  # 6 panels + bar
    saved = json.loads((out / "report.json").read_text())
    assert saved["models"][1]["model"]["name"] == "oracle:5"
    page = (out / "report.html").read_text()
    assert "oracle:5" in page and "sheet_005.png" in page
    assert rep["models"][0]["seconds"]["model_seconds"] > 0
    assert rep["models"][0]["peak_memory_mb"] > 0


def test_an_oracle_outside_the_harness_says_so():
    with pytest.raises(NormalkitError, match="no truth for this image"):
        OracleNormals().predict(image())


# --------------------------------------------------------------------------------------------
# A whole views folder


def _rgb_only(rendered: Path, dest: Path) -> Path:
    """A transforms.json folder with RGBA images only (alpha = mask), no normals."""
    src = json.loads((rendered / "cameras.json").read_text())
    views = load_views(rendered)
    dest.mkdir()
    frames = []
    for k, (entry, v) in enumerate(zip(src["views"], views, strict=True)):
        rgba = read_image(rendered / entry["files"]["rgb"])
        write_image(dest / f"r_{k}.png", rgba)
        c = v.camera
        frames.append({"file_path": f"r_{k}", "transform_matrix": c.cam_to_world.tolist(),
                       "fl_x": float(c.K[0, 0]), "fl_y": float(c.K[1, 1]),
                       "cx": float(c.K[0, 2]), "cy": float(c.K[1, 2])})
    (dest / "transforms.json").write_text(json.dumps({"frames": frames}))
    return dest


def test_rgb_only_views_are_filled_in_place_and_then_load(rendered, tiny, tmp_path):
    folder = _rgb_only(rendered, tmp_path / "rgb_only")
    res = estimate_views(folder, load_estimator(str(tiny)), progress=False)
    doc = json.loads((folder / "transforms.json").read_text())
    assert doc["normal_frame"] == "camera"
    assert [f["normal_file_path"] for f in doc["frames"]] == [
        f"normal_est_{k:03d}.png" for k in range(6)]
    views = load_views(folder)
    assert len(views) == 6 and all(v.mask.sum() > 100 for v in views)
    assert res["agreement"]["pixels"] > 0
    # A second run would overwrite the estimates: refused, the folder untouched.
    before = (folder / "transforms.json").read_bytes()
    with pytest.raises(NormalkitError, match="already has a normal map.*-o OUTDIR"):
        estimate_views(folder, load_estimator(str(tiny)), progress=False)
    assert (folder / "transforms.json").read_bytes() == before


def test_views_with_normals_go_to_a_new_folder(rendered, tiny, tmp_path):
    before = {p.name: p.read_bytes() for p in rendered.iterdir()}
    out = tmp_path / "estimated"
    estimate_views(rendered, load_estimator(str(tiny)), outdir=out, progress=False)
    assert {p.name: p.read_bytes() for p in rendered.iterdir()} == before
    doc = json.loads((out / "cameras.json").read_text())
    assert all(set(v["files"]) == {"rgb", "mask", "normal_camera_16"} for v in doc["views"])
    est = decode_normals(read_image(out / "normal_est_000.png"))
    assert est.shape == (SIZE, SIZE, 3)
    assert len(load_views(out)) == 6


def test_view_agreement_sees_a_view_that_disagrees(rendered):
    views = load_views(rendered)
    floor = view_agreement(views)
    bad = list(views)
    v = bad[2]
    bad[2] = type(v)(camera=v.camera, mask=v.mask, rgb=v.rgb, name=v.name,
                     normals=perturb(v.normals, 25.0) * v.mask[..., None])
    worse = view_agreement(bad)
    print(f"\n[estimate] agreement of true normals on the hull: median "
          f"{floor['median_deg']:.2f}°; with one view turned by 25°: {worse['median_deg']:.2f}°")
    assert floor["median_deg"] < 8.0
    pair = {(i, j): m for i, j, m, _ in worse["pairs"]}
    two = [m for (i, j), m in pair.items() if 2 in (i, j)]
    rest = [m for (i, j), m in pair.items() if 2 not in (i, j)]
    assert min(two) > max(rest)


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_normals_of_one_image(tiny, tmp_path, capsys):
    src = tmp_path / "photo.png"
    write_image(src, (image(40, 56) * 255).astype(np.uint8))
    code, out, err = run(["estimate", "normals", src, "-o", tmp_path / "n.png", "--model",
                          tiny, "--ensemble", "2", "--uncertainty", tmp_path / "u.png"], capsys)
    assert code == 0, err
    n = read_image(tmp_path / "n.png")
    assert n.shape == (40, 56, 3) and n.dtype == np.uint16
    assert read_image(tmp_path / "u.png").shape == (40, 56)
    assert "→" in out


def test_cli_depth_and_greyscale_input(tiny_depth, tmp_path, capsys):
    src = tmp_path / "grey.png"
    write_image(src, (image(40, 56)[..., 0] * 255).astype(np.uint8))
    code, _, err = run(["estimate", "depth", src, "-o", tmp_path / "d.exr", "--model",
                        tiny_depth], capsys)
    assert code == 0, err
    assert read_image(tmp_path / "d.exr").shape[:2] == (40, 56)


def test_cli_eval_with_oracles(rendered, tmp_path, capsys):
    code, out, err = run(["estimate", "eval", rendered, "--model", "oracle:5", "-o",
                          tmp_path / "ev", "-q"], capsys)
    assert code == 0, err
    assert "oracle:5: mean 5.00°" in out
    assert (tmp_path / "ev" / "report.html").is_file()


@pytest.mark.parametrize("args, match", [
    (["normals", "{bad}", "-o", "{out}/n.png", "--model", "{tiny}"], "bad.png"),
    (["normals", "{img}", "-o", "{out}/n.png", "--model", "{out}/none"], "no model at"),
    (["normals", "{img}", "-o", "{out}/n.png", "--model", "{tiny}", "--device", "cuda"],
     "not available"),
    (["normals", "{img}", "-o", "{out}/n.png", "--model", "{tiny}", "--dtype", "bfloat16"],
     "not available on the CPU"),
    (["normals", "{img}", "-o", "{out}/n.jpg", "--model", "{tiny}"], r"\.png \(16-bit\)"),
    (["normals", "{img}", "-o", "{out}/n.png", "--model", "{tiny}", "--uncertainty",
      "{out}/u.png"], "--ensemble 2"),
    (["eval", "{views}", "--model", "oracle:x"], "number of degrees"),
    (["eval", "{views}"], "--model"),
])
def test_cli_bad_input_one_line_exit_2_no_output(args, match, tiny, rendered, tmp_path,
                                                  capsys):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is here")
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "bad.png").write_bytes(b"not a png")
    write_image(tmp_path / "img.png", (image(24, 24) * 255).astype(np.uint8))
    subs = {"{bad}": str(tmp_path / "bad.png"), "{img}": str(tmp_path / "img.png"),
            "{out}": str(out), "{tiny}": str(tiny), "{views}": str(rendered)}
    argv = ["estimate"]
    for a in args:
        for key, val in subs.items():
            a = a.replace(key, val)
        argv.append(a)
    code, _, err = run(argv, capsys)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("normalkit: error:"), err
    assert __import__("re").search(match, lines[0]), lines[0]
    assert list(out.iterdir()) == []


def test_rgb_views_to_a_mesh_through_estimated_normals(rendered, tmp_path):
    """MeshFormer's path, RGB views → estimated normals → reconstruct, with a perfect
    estimator (the oracle, shown each image's truth): the sphere comes back."""
    from normalkit.estimation.evaluate import truth_in_camera
    from normalkit.reconstruction.pipeline import reconstruct

    folder = _rgb_only(rendered, tmp_path / "rgb_only")
    oracle = OracleNormals()
    doc = json.loads((rendered / "cameras.json").read_text())
    for entry, view in zip(doc["views"], load_views(rendered), strict=True):
        oracle.observe(read_image(rendered / entry["files"]["rgb"]), truth_in_camera(view))
    res = estimate_views(folder, oracle, progress=False)
    assert res["agreement"]["median_deg"] < 8.0
    out = reconstruct(folder, faces=1000, texture=64, resolution=64, rounds=3,
                      reference=unit_sphere(5))
    f = out.report["metrics"]["fscore"]["0.05"]["f"]
    print(f"\n[estimate] sphere from RGB views and oracle normals: F@0.05 {f:.4f}")
    assert f > 0.95


def test_cli_normals_of_a_views_folder(rendered, tiny, tmp_path, capsys):
    code, out, err = run(["estimate", "normals", rendered, "-o", tmp_path / "est", "--model",
                          tiny, "-q"], capsys)
    assert code == 0, err
    assert "estimated the normals of 6 views" in out and "disagree by a median" in out
    assert len(load_views(tmp_path / "est")) == 6
