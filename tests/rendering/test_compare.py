"""normalkit compare: on a small baked torus pair, low + map is much closer to high than low.

Renders stay small (≤ 128² pixels, 1-2 views) and meshes coarse, so the file runs in well
under a minute on two shared cores.
"""

import json

import numpy as np
import pytest

from normalkit.baking.bake import bake
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image, write_image
from normalkit.maps.encode import encode_normals
from normalkit.mesh.examples import bumpy_torus_pair
from normalkit.mesh.io import save_obj, save_ply
from normalkit.rendering.compare import METRICS_KEYS, compare

SIZE = 128
FAST = dict(views=2, size=SIZE, samples=1)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A bumpy torus (~18k triangles), its coarse low-poly and 256² maps baked by normalkit."""
    d = tmp_path_factory.mktemp("compare")
    high, low = bumpy_torus_pair(high_faces=18_000, low_faces=1_152, amplitude=0.03,
                                 freq=(8, 4))
    save_ply(high, d / "high.ply")
    save_obj(low, d / "low.obj")
    save_obj(low.replace(uvs=None), d / "low_nouv.obj")
    maps = {}
    for space in ("tangent", "object"):
        res = bake(high, low, size=256, space=space, samples=4, extrusion=0.05,
                   max_distance=0.05)
        maps[space] = res.normals
        write_image(d / f"{space}.png", encode_normals(res.normals, 16))
    return {"dir": d, "high": high, "low": low, "maps": maps}


@pytest.fixture(scope="module")
def result(pair, tmp_path_factory):
    out = tmp_path_factory.mktemp("result") / "cmp"
    return out, compare(pair["dir"] / "high.ply", pair["dir"] / "low.obj",
                        pair["dir"] / "tangent.png", out, **FAST)


def test_low_plus_map_is_much_closer_to_high_than_low(result):
    _, m = result
    for entry in [*m["views"], m["overall"]]:
        ae = entry["angular_error_deg"]
        assert ae["low_map"]["median"] < 0.5 * ae["low"]["median"]
        assert ae["low_map"]["mean"] < 0.5 * ae["low"]["mean"]
        assert entry["ssim"]["low_map"] > entry["ssim"]["low"]
        assert entry["psnr_db"]["low_map"] > entry["psnr_db"]["low"]
    # the bumps tilt normals by ~10°: the plain low-poly misses them
    assert m["overall"]["angular_error_deg"]["low"]["median"] > 3.0


def test_the_report_says_how_to_open_the_viewer(result, pair):
    out, m = result
    d = pair["dir"].resolve()
    assert m["viewer"] == (f"normalkit view {d / 'low.obj'} --normal-map {d / 'tangent.png'} "
                           f"--high {d / 'high.ply'}")
    assert m["viewer"] in (out / "report.html").read_text()


def test_files_exist_and_metrics_json_has_the_documented_keys(result):
    out, m = result
    on_disk = json.loads((out / "metrics.json").read_text())
    assert tuple(on_disk) == METRICS_KEYS
    assert len(on_disk["views"]) == 2
    assert on_disk["viewer"] == m["viewer"]
    for v in [*on_disk["views"], on_disk["overall"]]:
        for who in ("low", "low_map"):
            assert set(v["angular_error_deg"][who]) == {"mean", "median", "p95", "pixels"}
            assert isinstance(v["psnr_db"][who], float)
            assert -1.0 <= v["ssim"][who] <= 1.0
    for v in on_disk["views"]:
        sheet = read_image(out / v["sheet"])
        assert sheet.shape == (v["sheet_size"][1], v["sheet_size"][0], 3)
        assert sheet.shape[1] > 4 * SIZE  # four panels and a colour bar
        assert set(v["camera"]) >= {"K", "cam_to_world", "width", "height"}
    sc = on_disk["shading_cost_ns_per_pixel"]
    assert sc["tangent"] > 0 and sc["object"] > 0
    assert on_disk["timing"]["cores"] >= 1
    page = (out / "report.html").read_text()
    for v in on_disk["views"]:
        assert f'src="{v["sheet"]}"' in page
    assert "<table>" in page and "ns/pixel" in page and "object-space" in page
    assert "http" not in page.replace("http-equiv", "")  # self-contained
    assert not list(out.parent.glob(".cmp.*"))  # no temporary folder left behind


def test_an_object_space_map_from_a_file_with_an_existing_output_folder(pair, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    m = compare(pair["high"], pair["low"], pair["dir"] / "object.png", out, space="object",
                views=1, size=96, samples=1)
    ae = m["overall"]["angular_error_deg"]
    assert ae["low_map"]["median"] < 0.5 * ae["low"]["median"]
    assert (out / "keep.txt").read_text() == "mine"
    assert {p.name for p in out.iterdir()} == {"keep.txt", "sheet_00.png", "metrics.json",
                                               "report.html"}


def test_directx_maps_need_the_flag(pair, tmp_path):
    dx = encode_normals(pair["maps"]["tangent"], 16, directx=True)
    args = (pair["high"], pair["low"], dx)
    good = compare(*args, tmp_path / "dx", directx=True, views=1, size=64, samples=1)
    bad = compare(*args, tmp_path / "gl", views=1, size=64, samples=1)
    med = [m["overall"]["angular_error_deg"]["low_map"]["median"] for m in (good, bad)]
    assert med[0] < 0.5 * med[1]


def test_a_high_poly_s_own_colours_do_not_change_the_shading_figures(pair, tmp_path):
    """compare measures shading: a coloured high-poly scores as its grey copy does."""
    high = pair["high"]
    red = np.zeros((high.n_faces, 3, 4), np.float32)
    red[..., 0] = red[..., 3] = 1.0
    args = (pair["low"], pair["maps"]["tangent"])
    grey = compare(high, *args, tmp_path / "grey", views=1, size=64, samples=1)
    coloured = compare(high.replace(colors=red), *args, tmp_path / "red", views=1, size=64,
                       samples=1)
    assert grey["overall"] == coloured["overall"]


def test_cli_writes_the_report_and_a_summary(pair, tmp_path, capsys):
    d = pair["dir"]
    out = tmp_path / "cli"
    code = main(["compare", str(d / "high.ply"), str(d / "low.obj"), str(d / "tangent.png"),
                 "-o", str(out), "--views", "1", "--size", "64", "--samples", "1", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "report.html" in captured.out and "°" in captured.out
    assert (out / "report.html").is_file() and (out / "sheet_00.png").is_file()


def _cli_error(args, capsys):
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("normalkit: error: ") and err.count("\n") == 1
    return err


@pytest.mark.parametrize("case, expect", [
    ("nouv", "no UVs"),
    ("object_as_tangent", "--space object"),
    ("empty_map", "does not match"),
    ("gray_map", "RGB"),
    ("black_map", "not a normal map"),
    ("views0", "views"),
    ("size_small", "size"),
    ("apart", "share no pixel"),
    ("no_parent", "does not exist"),
])
def test_bad_input_is_one_clear_line_and_writes_nothing(pair, tmp_path, capsys, case, expect):
    d = pair["dir"]
    high, low, nmap = d / "high.ply", d / "low.obj", d / "tangent.png"
    out = tmp_path / "out"
    extra = ["--size", "64", "--views", "1", "--samples", "1", "-q"]
    if case == "nouv":
        low = d / "low_nouv.obj"
    elif case == "object_as_tangent":
        nmap = d / "object.png"
    elif case == "empty_map":  # a map whose islands lie elsewhere: one corner filled
        nmap = tmp_path / "elsewhere.png"
        n = np.zeros((64, 64, 3))
        n[:24, :24] = (0.0, 0.0, 1.0)
        write_image(nmap, encode_normals(n, 8))
    elif case == "black_map":
        nmap = tmp_path / "black.png"
        write_image(nmap, np.zeros((64, 64, 3), np.uint8))
    elif case == "gray_map":
        nmap = tmp_path / "gray.png"
        write_image(nmap, np.full((64, 64), 128, np.uint8))
    elif case == "views0":
        extra[3] = "0"
    elif case == "size_small":
        extra[1] = "8"
    elif case == "apart":
        high = tmp_path / "far.ply"
        h = pair["high"]
        save_ply(h.replace(positions=h.positions + [10.0, 0.0, 0.0]), high)
    elif case == "no_parent":
        out = tmp_path / "missing" / "out"
    err = _cli_error(["compare", high, low, nmap, "-o", out, *extra], capsys)
    assert expect in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_python_api_rejects_bad_arguments(pair, tmp_path):
    with pytest.raises(NormalkitError, match="space"):
        compare(pair["high"], pair["low"], pair["maps"]["tangent"], tmp_path / "x",
                space="world")
    with pytest.raises(NormalkitError, match="heat_max"):
        compare(pair["high"], pair["low"], pair["maps"]["tangent"], tmp_path / "x",
                heat_max=-1.0)
    with pytest.raises(NormalkitError, match="shape"):
        compare(pair["high"], pair["low"], np.zeros((8, 3)), tmp_path / "x")
    assert not (tmp_path / "x").exists()


# --- report building blocks ---------------------------------------------------------------

def test_nice_ceiling_follows_the_1_2_5_series():
    from normalkit.rendering.report import nice_ceiling

    assert [nice_ceiling(x) for x in (0.7, 1.0, 1.01, 3.0, 9.7, 12.0, 0.031)] == [
        1.0, 1.0, 2.0, 5.0, 10.0, 20.0, 0.05]


def test_heatmap_colours_zero_saturation_background_and_mismatch():
    from normalkit.rendering.report import BACKGROUND, MISMATCH, _lut, heatmap, to_uint8

    err = np.array([[0.0, 5.0, 50.0, 1.0]])
    mask = np.array([[True, True, True, False]])
    covered = np.array([[True, True, True, True]])
    out = heatmap(err, mask, 5.0, covered=covered)
    lut = _lut()
    assert (out[0, 0] == lut[0]).all() and (out[0, 1] == lut[255]).all()
    assert (out[0, 2] == lut[255]).all()  # saturates above vmax
    assert (out[0, 3] == to_uint8(np.array(MISMATCH))).all()
    out = heatmap(err, mask, 5.0)
    assert (out[0, 3] == to_uint8(np.array(BACKGROUND))).all()


def test_composite_puts_premultiplied_renders_over_the_background():
    from normalkit.rendering.report import composite

    rgb = np.array([[[0.5, 0.5, 0.5], [0.2, 0.1, 0.0], [0.0, 0.0, 0.0]]])
    alpha = np.array([[1.0, 0.5, 0.0]])
    out = composite(rgb, alpha, background=(0.2, 0.4, 0.6))
    assert np.allclose(out, [[[0.5, 0.5, 0.5], [0.3, 0.3, 0.3], [0.2, 0.4, 0.6]]])


def test_colour_bar_and_sheet_shapes():
    from normalkit.rendering.report import colour_bar, compose_sheet

    bar = colour_bar(100, 10.0, font_size=10, clipped=True)
    assert bar.shape[0] == 100 and bar.dtype == np.uint8
    panel = np.zeros((100, 80, 3), np.uint8)
    sheet = compose_sheet([("a", panel), ("a very long title for a narrow panel", panel)],
                          extra=bar, caption="caption 1°", font_size=10)
    assert sheet.shape[1] > 2 * 80 + bar.shape[1] and sheet.shape[0] > 100
    with pytest.raises(NormalkitError, match="one height"):
        compose_sheet([("a", panel), ("b", panel[:50])])
