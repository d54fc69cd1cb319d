"""``normalkit view`` without a browser: input checks, the server's routes, the process.

The page itself is tested in a real browser in test_viewer_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from normalkit.mesh.examples import torus
from normalkit.mesh.io import save_obj
from normalkit.viewing.scene import resolve_scene
from normalkit.viewing.server import HOST, WEB_ROOT, ViewerServer


@pytest.fixture(scope="module")
def asset(tmp_path_factory):
    """A small GLB with a normal map (via `normalkit export`), its OBJ and map."""
    from normalkit.images.io import write_image
    from normalkit.maps.encode import encode_normals

    d = tmp_path_factory.mktemp("view")
    low = torus(24, 12)
    save_obj(low, d / "low.obj")
    y, x = np.mgrid[0:32, 0:32] / 32.0
    n = np.stack([0.3 * np.sin(6 * x), 0.2 * np.cos(5 * y), np.ones_like(x)], axis=-1)
    write_image(d / "normal.png", encode_normals(n / np.linalg.norm(n, axis=-1,
                                                                    keepdims=True), 8))
    assert cli(["export", d / "low.obj", d / "normal.png", "-o", d / "asset.glb"]) == 0
    return d


def cli(args) -> int:
    from normalkit.cli import main

    return main([str(a) for a in args])


def get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("Content-Type", "")


def test_the_glb_is_served_byte_for_byte(asset):
    with ViewerServer(resolve_scene(asset / "asset.glb")) as server:
        assert server.url.startswith(f"http://{HOST}:")
        status, body, kind = get(server.url + "asset.glb")
        assert status == 200 and kind == "model/gltf-binary"
        assert body == (asset / "asset.glb").read_bytes()  # TANGENT and all
        status, page, kind = get(server.url)
        assert status == 200 and kind.startswith("text/html") and b"importmap" in page
        status, js, kind = get(server.url + "vendor/three/build/three.module.js")
        assert status == 200 and kind.startswith("text/javascript") and len(js) > 100_000
        doc = json.loads(get(server.url + "scene.json")[1])
        assert doc["asset"] == {"url": "asset.glb", "name": "asset.glb"}
        assert doc["high"] is None and doc["views"] == [] and doc["report"] is None


def test_a_mesh_file_with_a_map_is_converted_with_tangents(asset, tmp_path):
    from normalkit.mesh.io import load_mesh

    with ViewerServer(resolve_scene(asset / "low.obj",
                                    normal_map=asset / "normal.png")) as server:
        status, body, _ = get(server.url + "asset.glb")
    assert status == 200 and body[:4] == b"glTF"
    (tmp_path / "c.glb").write_bytes(body)
    doc = json.loads(body[20:20 + int.from_bytes(body[12:16], "little")])
    prim = doc["meshes"][0]["primitives"][0]
    assert {"POSITION", "NORMAL", "TEXCOORD_0", "TANGENT"} <= set(prim["attributes"])
    assert "normalTexture" in doc["materials"][0]
    assert load_mesh(tmp_path / "c.glb").n_faces == torus(24, 12).n_faces


def test_nothing_outside_the_page_is_served(asset):
    with ViewerServer(resolve_scene(asset / "asset.glb")) as server:
        for path in ("../server.py", "%2e%2e/server.py", "..%2f..%2f__init__.py",
                     "views/0", "high.glb", "report", "vendor/", "nope.js"):
            status, _, _ = get(server.url + path)
            assert status == 404, path
        assert (WEB_ROOT.parent / "server.py").is_file()


def test_a_mesh_that_cannot_be_converted_answers_422_with_the_reason(asset, tmp_path):
    bad = tmp_path / "bad.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nf 1 2 3\n")  # a face with a missing vertex
    lines = []
    with ViewerServer(resolve_scene(asset / "asset.glb", high=bad), log=lines.append) as s:
        status, body, _ = get(s.url + "high.glb")
    assert status == 422 and body.decode().startswith(f"cannot read '{bad}'"), body
    assert lines == [f"normalkit: error: {body.decode()}"]


def test_an_output_folder_finds_its_glb_and_report(asset, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "thing.glb").write_bytes((asset / "asset.glb").read_bytes())
    (out / "other.glb").write_bytes((asset / "asset.glb").read_bytes())
    (out / "report.json").write_text(json.dumps({"files": {"glb": "thing.glb"}}))
    scene = resolve_scene(out)
    assert scene.asset == out / "thing.glb" and scene.report == out / "report.json"
    (out / "report.html").write_text("<html>report</html>")
    scene = resolve_scene(out)
    assert scene.report == out / "report.html"
    with ViewerServer(scene) as server:
        status, body, kind = get(server.url + "report")
        assert status == 200 and body == b"<html>report</html>" and kind.startswith("text/html")


def test_views_give_cameras_and_images(asset, tmp_path):
    views = tmp_path / "views"
    code = cli(["render", asset / "asset.glb", "-o", views, "--size", "32", "--samples",
                "1", "--azimuths", "0", "120", "240", "-q"])
    assert code == 0
    scene = resolve_scene(asset / "asset.glb", views=views)
    doc = scene.document()
    assert len(doc["views"]) == 3
    cams = json.loads((views / "cameras.json").read_text())["views"]
    for v, c in zip(doc["views"], cams, strict=True):
        assert v["camera"]["K"] == c["K"] and v["camera"]["cam_to_world"] == c["cam_to_world"]
    with ViewerServer(scene) as server:
        status, body, kind = get(server.url + "views/1")
        assert status == 200 and kind == "image/png" and body[:4] == b"\x89PNG"
        assert get(server.url + "views/3")[0] == 404


def test_transforms_json_views_need_no_image_decoding(asset, tmp_path):
    """A NeRF-style set: intrinsics from camera_angle_x and the image's header size; an
    EXR image (no browser shows one) is re-encoded as PNG."""
    from normalkit.images.io import write_image

    d = tmp_path / "nerf"
    d.mkdir()
    write_image(d / "a.png", np.zeros((24, 40, 4), np.uint8))
    write_image(d / "b.exr", np.full((24, 40, 3), 0.5, np.float32))
    pose = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 3], [0, 0, 0, 1]]
    (d / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.8, "frames": [
        {"file_path": "a", "transform_matrix": pose},
        {"file_path": "b.exr", "transform_matrix": pose}]}))
    scene = resolve_scene(asset / "asset.glb", views=d)
    cams = [v["camera"] for v in scene.document()["views"]]
    assert [(c["width"], c["height"]) for c in cams] == [(40, 24), (40, 24)]
    assert cams[0]["K"][0][0] == pytest.approx(20 / np.tan(0.4))
    body, kind = scene.image(1)
    assert kind == "image/png" and body[:4] == b"\x89PNG"


@pytest.mark.parametrize("case,match", [
    ("missing", "does not exist; check the path"),
    ("folder_without_glb", "holds no .glb"),
    ("folder_two_glbs", "holds 2 GLB files"),
    ("not_a_mesh", "not a mesh file normalkit reads"),
    ("truncated_glb", "truncated GLB"),
    ("text_as_glb", "not a binary glTF file"),
    ("glb_with_map", "carries its own normal map"),
    ("high_missing", "the high-poly '.*' does not exist"),
    ("high_folder", "is a folder; give a file"),
    ("map_missing", "the normal map '.*' does not exist"),
    ("views_missing", "no such file or folder"),
    ("views_empty_folder", "holds no cameras.json or transforms.json"),
    ("port", "expected a port"),
])
def test_bad_input_is_one_line_exit_2(asset, tmp_path, capsys, case, match):
    glb = asset / "asset.glb"
    args = [glb, "--no-browser"]
    if case == "missing":
        args[0] = tmp_path / "nope.glb"
    elif case == "folder_without_glb":
        args[0] = tmp_path
    elif case == "folder_two_glbs":
        for name in ("a.glb", "b.glb"):
            (tmp_path / name).write_bytes(glb.read_bytes())
        args[0] = tmp_path
    elif case == "not_a_mesh":
        (tmp_path / "x.png").write_bytes(b"\x89PNG")
        args[0] = tmp_path / "x.png"
    elif case == "truncated_glb":
        (tmp_path / "t.glb").write_bytes(glb.read_bytes()[:200])
        args[0] = tmp_path / "t.glb"
    elif case == "text_as_glb":
        (tmp_path / "t.glb").write_text("hello")
        args[0] = tmp_path / "t.glb"
    elif case == "glb_with_map":
        args += ["--normal-map", asset / "normal.png"]
    elif case == "high_missing":
        args += ["--high", tmp_path / "high.ply"]
    elif case == "high_folder":
        args += ["--high", tmp_path]
    elif case == "map_missing":
        args = [asset / "low.obj", "--normal-map", tmp_path / "n.png", "--no-browser"]
    elif case == "views_missing":
        args += ["--views", tmp_path / "views"]
    elif case == "views_empty_folder":
        args += ["--views", tmp_path]
    elif case == "port":
        args += ["--port", "70000"]
    before = sorted(p.name for p in tmp_path.iterdir())
    if case == "port":
        with pytest.raises(SystemExit) as e:
            run_cli(["view", *args], capsys)
        assert e.value.code == 2
        assert match in capsys.readouterr().err
        return
    code, out, err = run_cli(["view", *args], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("normalkit: error: "), err
    assert re.search(match, lines[0]), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_taken_port_is_one_line(asset, capsys):
    with ViewerServer(resolve_scene(asset / "asset.glb")) as server:
        code, _, err = run_cli(["view", asset / "asset.glb", "--no-browser", "--port",
                                server.port], capsys)
    assert code == 2 and "choose another --port" in err and len(err.strip().splitlines()) == 1


def test_the_command_serves_until_ctrl_c(asset):
    """The process prints the address, serves 127.0.0.1 only, and stops cleanly on SIGINT."""
    proc = subprocess.Popen([sys.executable, "-m", "normalkit", "view", str(asset / "asset.glb"),
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving asset.glb on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].split()[0]
        assert get(url + "asset.glb")[1] == (asset / "asset.glb").read_bytes()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.strip() == "stopped" and err == ""


def test_the_bundle_is_complete():
    """Every file the page imports is in the package: nothing comes from a CDN."""
    page = (WEB_ROOT / "index.html").read_text() + (WEB_ROOT / "viewer.js").read_text()
    assert "http://" not in page.replace("http://127.0.0.1", "") and "https://" not in page
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>',
                                   (WEB_ROOT / "index.html").read_text(), re.S).group(1))
    three = WEB_ROOT / imports["imports"]["three"]
    addons = WEB_ROOT / imports["imports"]["three/addons/"]
    assert three.is_file()
    for name in re.findall(r"from 'three/addons/([^']+)'", (WEB_ROOT / "viewer.js").read_text()):
        module = addons / name
        assert module.is_file(), name
        for rel in re.findall(r"from '(\.[^']+)'", module.read_text()):
            assert (module.parent / rel).resolve().is_file(), (name, rel)
    assert "MIT" in (three.parents[1] / "LICENSE").read_text()


def test_starting_does_not_import_the_heavy_libraries(asset):
    """The page is served before any mesh library is imported (the start stays fast)."""
    code = ("import sys, threading; from normalkit.cli import main; "
            "import normalkit.viewing.server as s; "
            "orig = s.ViewerServer.__init__\n"
            "def init(self, *a, **k):\n"
            "    orig(self, *a, **k)\n"
            "    print(sorted(m for m in ('trimesh', 'scipy', 'numba', 'embreex', 'cv2') "
            "if m in sys.modules), flush=True)\n"
            "    raise SystemExit(0)\n"
            "s.ViewerServer.__init__ = init\n"
            f"main(['view', {str(asset / 'asset.glb')!r}, '--no-browser'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout  # the timing: benchmarks/bench_view.py


@pytest.mark.slow
def test_a_wheel_carries_three_js(tmp_path):
    """What makes the page work from a wheel on a machine without Node.js: the built wheel
    holds the page and every three.js file it imports, and three.js's licence."""
    import zipfile

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                           "--no-build-isolation", "-w", str(tmp_path), str(root)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("normalkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    web = "normalkit/viewing/web/"
    packaged = {p.relative_to(WEB_ROOT).as_posix() for p in WEB_ROOT.rglob("*") if p.is_file()}
    assert {"index.html", "viewer.js", "vendor/three/build/three.module.js",
            "vendor/three/build/three.core.js", "vendor/three/LICENSE"} <= packaged
    assert {web + p for p in packaged} <= names
