"""``normalkit view`` in a real browser: headless Chromium (Debian's) with WebGL on
SwiftShader, driven by Playwright for Python (tests/browser.py).

What is asserted:

* WebGL works here: the renderer string, and a lit cube that is not blank;
* the page loads a GLB, reports ready, and every toggle changes the picture;
* three.js reads our maps as we do: the page's view-space normal pass
  (MeshNormalMaterial with the normal map and the GLB's TANGENT attribute) against
  ``normalkit render``'s normal_camera pass from the same camera, on a reduced asset and
  on spot (mirrored UVs): median ≤ 1°, p95 ≤ 3° over pixels both cover, read back in
  8 bits. The same GLB without its TANGENT attribute is measurably worse. The views are
  sized so that a texel covers about a pixel: where the map is minified, three.js filters
  it through mipmaps (trilinear) and normalkit render samples full resolution, which is
  a difference of filtering, not of frames (spot's 1024² map at 400²: p95 2.9°; at 800²:
  1.0°; without TANGENT, 7.5° at 400²);
* with the map on and off, the lit picture differs where the map has detail;
* the views' frustums: a click on one looks through that camera, whose render lines up
  with the view's own mask.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from browser import data_url_image, launch, missing_browser, required, rgba_pixels

pytestmark = pytest.mark.slow

ASSETS = Path(__file__).resolve().parents[2].parent / "shared" / "assets"
VIEWPORT = (800, 600)


@dataclass
class Asset:
    glb: Path
    folder: Path
    high: Path | None = None


@pytest.fixture(scope="module")
def browser():
    why = missing_browser()
    if why:
        if required():
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def torus(tmp_path_factory) -> Asset:
    """A reduced asset: bumpy torus (65k triangles) → 2,000 triangles, 512² maps."""
    from normalkit.assets.reduce import reduce
    from normalkit.mesh.examples import colored_bumpy_torus
    from normalkit.mesh.io import save_ply

    d = tmp_path_factory.mktemp("torus")
    save_ply(colored_bumpy_torus(high_faces=65_536), d / "high.ply")
    r = reduce(d / "high.ply", d / "reduced", faces=2000, size=512, name="torus")
    return Asset(glb=r.files["glb"], folder=d / "reduced", high=d / "high.ply")


@pytest.fixture(scope="module")
def spot(tmp_path_factory) -> Asset:
    """spot (artist UVs, 177 faces mirrored) with a bumped high-poly baked onto it."""
    if not (ASSETS / "meshes" / "spot.obj").is_file():
        pytest.skip(f"shared assets not found at {ASSETS}")
    from blender_ref import write_spot_pair
    from normalkit.assets.export import export_glb
    from normalkit.baking.bake import bake
    from normalkit.maps.encode import encode_normals
    from normalkit.mesh.io import load_mesh
    from normalkit.mesh.tangents import compute_tangents

    d = tmp_path_factory.mktemp("spot")
    high, low_path = write_spot_pair(d, ASSETS / "meshes" / "spot.obj")
    result = bake(high, low_path, size=1024, extrusion=0.03, max_distance=0.03)
    low = load_mesh(low_path)
    export_glb(d / "spot.glb", low, encode_normals(result.normals, 8),
               tangents=compute_tangents(low), name="spot")
    return Asset(glb=d / "spot.glb", folder=d, high=high)


class Viewer:
    """A page of ``normalkit view`` on a scene, with its server."""

    def __init__(self, browser, scene, viewport=VIEWPORT):
        from normalkit.viewing.server import ViewerServer

        self.server = ViewerServer(scene)
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(self.server.url)
        self.page.wait_for_function(
            "document.body.dataset.ready === '1' || document.body.dataset.error !== undefined",
            timeout=120_000)
        error = self.page.evaluate("document.body.dataset.error")
        assert error is None, error

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def capture(self) -> np.ndarray:
        return data_url_image(self.js("window.normalkit.capture()"))

    def set(self, name: str, value):
        return self.js("([n, v]) => window.normalkit.set(n, v)", [name, value])

    def normal_pass(self, camera) -> tuple[np.ndarray, np.ndarray]:
        """(unit normals (H, W, 3), coverage (H, W)) of the page's normal pass."""
        px = rgba_pixels(self.js("(c) => window.normalkit.normalPass(c)", camera.to_json()))
        n = px[..., :3].astype(np.float64) / 255.0 * 2.0 - 1.0
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        return n, px[..., 3] > 0

    def close(self):
        assert not self.errors, self.errors
        self.page.close()
        self.server.close()


@pytest.fixture
def open_viewer(browser):
    opened = []

    def make(asset, **kw):
        from normalkit.viewing.scene import resolve_scene

        v = Viewer(browser, resolve_scene(asset, **kw))
        opened.append(v)
        return v

    yield make
    for v in opened:
        v.close()


# --------------------------------------------------------------------------------------------
# What normalkit render sees


def glb_normal_texture(path: Path) -> np.ndarray:
    """The normal texture embedded in a GLB, decoded (row 0 at the top)."""
    from PIL import Image

    data = path.read_bytes()
    (json_len,) = struct.unpack_from("<I", data, 12)
    doc = json.loads(data[20:20 + json_len])
    bin_start = 20 + json_len + 8
    tex = doc["materials"][0]["normalTexture"]["index"]
    view = doc["bufferViews"][doc["images"][doc["textures"][tex]["source"]]["bufferView"]]
    png = data[bin_start + view.get("byteOffset", 0):][:view["byteLength"]]
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def reference_normals(glb: Path, camera, normal_map: bool = True):
    """normalkit render's normal_camera pass (and mask) of the GLB's mesh and map."""
    from normalkit.mesh.io import load_mesh
    from normalkit.rendering.render import render

    out = render(load_mesh(glb), camera, normal_map=glb_normal_texture(glb) if normal_map
                 else None, passes=("normal_camera", "mask"))
    return out["normal_camera"].astype(np.float64), out["mask"]


def angles(a, b, mask) -> np.ndarray:
    return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1.0, 1.0)))[mask]


def strip_tangents(src: Path, dst: Path) -> Path:
    """The GLB without the TANGENT attribute (its accessor left unused)."""
    data = bytearray(src.read_bytes())
    (json_len,) = struct.unpack_from("<I", data, 12)
    doc = json.loads(data[20:20 + json_len])
    for mesh in doc["meshes"]:
        for prim in mesh["primitives"]:
            prim["attributes"].pop("TANGENT")
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    rest = data[20 + json_len:]
    out = b"glTF" + struct.pack("<II", 2, 20 + len(text) + len(rest)) + \
        struct.pack("<I", len(text)) + b"JSON" + text + rest
    dst.write_bytes(out)
    return dst


def torus_camera(width=400, height=300):
    from normalkit.rendering.camera import Camera

    return Camera.look_at(eye=(2.2, -2.0, 1.6), target=(0, 0, 0), up=(0, 0, 1), fov_deg=35,
                          width=width, height=height)


def spot_camera(width=800, height=800):
    from normalkit.mesh.io import load_mesh
    from normalkit.rendering.camera import orbit_cameras

    mesh = load_mesh(ASSETS / "meshes" / "spot.obj")
    # Azimuth 60° at 20° elevation, y up: the side with the mirrored UV islands in view.
    return orbit_cameras(mesh, azimuths=[60.0], elevations=[20.0], width=width,
                         height=height, up=(0, 1, 0))[0]


# --------------------------------------------------------------------------------------------
# Tests


def test_webgl_probe_names_the_renderer_and_lights_a_cube(browser):
    from normalkit.viewing.scene import Scene
    from normalkit.viewing.server import ViewerServer

    with ViewerServer(Scene(asset=Path("unused.glb"))) as server:
        page = browser.new_page()
        page.goto(server.url + "webgl-check.html")
        page.wait_for_function("document.body.dataset.ready === '1' || "
                               "document.body.dataset.error !== undefined")
        info = page.evaluate("window.webgl")
        assert info is not None, page.evaluate("document.body.dataset.error")
        assert "SwiftShader" in info["renderer"] or "ANGLE" in info["renderer"], info
        assert info["three"] == "187"
        img = data_url_image(page.evaluate("document.getElementById('cube').toDataURL()"))
        page.close()
    lit = img.astype(int).sum(-1) > 30
    assert 0.1 < lit.mean() < 0.8  # the cube covers part of the canvas
    # Three faces in view, lit differently by the sun: three distinct shades.
    shades = np.unique(img[lit].astype(int).sum(-1) // 24)
    assert len(shades) >= 3, shades


def test_page_loads_the_glb_and_keeps_its_tangents(open_viewer, torus):
    v = open_viewer(torus.folder)  # a reduce output folder
    info = v.js("window.normalkit.info()")
    assert info["triangles"] == 2000
    assert info["tangents"] is True and info["normalMap"] is True
    assert info["normalScale"] == [[1, 1]]  # with tangents GLTFLoader leaves it as is
    assert "torus.glb" in v.js("document.title")
    # The report of the folder is linked and served.
    assert v.js("document.querySelector('#links a').getAttribute('href')") == "report"


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels whose colour differs by more than 8/255 in some channel."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(-1) > 8).mean())


def test_each_toggle_changes_the_picture(open_viewer, torus, tmp_path):
    v = open_viewer(torus.glb, high=torus.high)
    base = v.capture()
    assert changed(base, np.full_like(base, base[0, 0])) > 0.1  # the asset is in view
    cases = [("normalMap", False, True), ("wireframe", True, False), ("checker", True, False),
             ("normals", True, False), ("environment", 1.5, 0.4), ("high", "side", "off"),
             ("high", "place", "off")]
    seen = {}
    for name, value, back in cases:
        v.set(name, value)
        seen[f"{name}={value}"] = changed(base, v.capture())
        v.set(name, back)
        assert changed(base, v.capture()) < 0.002, f"{name} did not switch back"
    # The map texture is shown over the view (a DOM panel, so a page screenshot).
    before = np.asarray(_screenshot(v.page))
    v.set("texture", True)
    seen["texture=True"] = changed(before, np.asarray(_screenshot(v.page)))
    v.set("texture", False)
    # Shift-drag moves the light.
    v.page.keyboard.down("Shift")
    v.page.mouse.move(300, 300)
    v.page.mouse.down()
    v.page.mouse.move(450, 250, steps=5)
    v.page.mouse.up()
    v.page.keyboard.up("Shift")
    seen["light drag"] = changed(base, v.capture())
    print({k: round(f, 4) for k, f in seen.items()})
    # In place, the high-poly looks like the low-poly with its map (that is what the bake
    # is for): only the silhouette changes, and less than turning the map off does.
    place = seen.pop("high=place")
    assert 0.001 < place < seen["normalMap=False"], (place, seen)
    for what, frac in seen.items():
        assert frac > 0.01, f"{what} changed only {frac:.2%} of the picture ({seen})"


def _screenshot(page):
    from PIL import Image

    return Image.open(io.BytesIO(page.screenshot())).convert("RGB")


@pytest.mark.parametrize("which", ["torus", "spot"])
def test_three_reads_our_maps_as_we_do(open_viewer, which, request, tmp_path):
    asset = request.getfixturevalue(which)
    camera = torus_camera() if which == "torus" else spot_camera()
    ref, ref_mask = reference_normals(asset.glb, camera)
    flat_ref, _ = reference_normals(asset.glb, camera, normal_map=False)

    v = open_viewer(asset.glb)
    n, mask = v.normal_pass(camera)
    both = mask & ref_mask
    assert both.sum() > 0.95 * ref_mask.sum() and both.sum() > 0.95 * mask.sum()
    err = angles(n, ref, both)
    # The map matters here: without it the normals are this far off.
    detail = angles(flat_ref, ref, both)
    assert np.percentile(detail, 95) > 8.0
    med, p95 = float(np.median(err)), float(np.percentile(err, 95))
    print(f"{which}: three.js vs normalkit render, median {med:.3f}°, p95 {p95:.3f}° over "
          f"{both.sum()} px (map detail p95 {np.percentile(detail, 95):.1f}°)")
    assert med <= 1.0 and p95 <= 3.0, (med, p95)

    # The same GLB without TANGENT: three.js falls back to derivative tangents.
    bare = strip_tangents(asset.glb, tmp_path / "no_tangents.glb")
    w = open_viewer(bare)
    assert w.js("window.normalkit.info()")["tangents"] is False
    n2, mask2 = w.normal_pass(camera)
    err2 = angles(n2, ref, mask2 & ref_mask)
    med2, p952 = float(np.median(err2)), float(np.percentile(err2, 95))
    print(f"{which}: without TANGENT, median {med2:.3f}°, p95 {p952:.3f}°")
    assert p952 > 1.5 * p95 and med2 > med, (med, p95, med2, p952)


def test_the_map_changes_the_lit_picture_where_its_detail_is(open_viewer, torus):
    v = open_viewer(torus.glb)
    w, h = v.js("window.normalkit.info()")["canvas"]
    camera = torus_camera(w, h)  # the canvas's size: its pixels are the camera's
    ref, mask = reference_normals(torus.glb, camera)
    flat, _ = reference_normals(torus.glb, camera, normal_map=False)
    detail = np.where(mask, np.degrees(np.arccos(np.clip((ref * flat).sum(-1), -1, 1))), 0)

    v.js("(c) => window.normalkit.lookThrough(c)", camera.to_json())
    on = v.capture().astype(float)
    v.set("normalMap", False)
    off = v.capture().astype(float)
    diff = np.abs(on - off).sum(-1)
    strong = mask & (detail > np.percentile(detail[mask], 75))
    weak = mask & (detail < np.percentile(detail[mask], 25))
    print(f"map on/off: mean |Δrgb| {diff[strong].mean():.1f} where the map tilts the normal "
          f"most, {diff[weak].mean():.1f} where least, {diff[~mask].mean():.2f} off the asset")
    assert diff[strong].mean() > 3 * diff[weak].mean()
    assert diff[~mask].mean() < 0.5  # the background does not change


def test_views_are_drawn_and_a_click_looks_through_one(open_viewer, torus, tmp_path):
    from normalkit.images.io import read_image
    from normalkit.rendering.camera import load_cameras

    views = tmp_path / "views"
    code = _cli(["render", torus.glb, "-o", views, "--size", "96", "--samples", "1",
                 "--azimuths", "0", "90", "180", "270", "--elevations", "25", "-q"])
    assert code == 0
    cams = load_cameras(views / "cameras.json")
    v = open_viewer(torus.glb, views=views)
    assert v.js("window.normalkit.info()")["views"] == len(cams)
    v.set("up", "z")  # the torus file is z-up: its cameras orbit about +z
    cw, ch = v.js("window.normalkit.info()")["canvas"]
    hit = None
    for k in range(len(cams)):
        pos = v.js("(k) => window.normalkit.viewOnScreen(k)", k)
        if pos and 20 < pos["x"] < cw - 20 and 20 < pos["y"] < ch - 20:
            hit = (k, pos)
            break
    assert hit is not None, "no frustum in view"
    k, pos = hit
    v.page.mouse.click(pos["x"], pos["y"])
    assert v.js("window.normalkit.state.looking") == k
    assert v.js("document.getElementById('overlay').hidden") is False
    # Through the view's camera the asset covers the view's own mask (letterboxed).
    img = v.capture()
    bg = img[2, 2].astype(int)
    covered = np.abs(img.astype(int) - bg).max(-1) > 10
    s = min(cw / cams[k].width, ch / cams[k].height)
    ox = int(round((cw - s * cams[k].width) / 2))
    oy = int(round((ch - s * cams[k].height) / 2))
    box = covered[oy:oy + int(round(s * cams[k].height)), ox:ox + int(round(s * cams[k].width))]
    files = json.loads((views / "cameras.json").read_text())["views"][k]["files"]
    view_mask = read_image(views / files["mask"]) > 127
    rows = (np.arange(box.shape[0]) + 0.5) / s
    cols = (np.arange(box.shape[1]) + 0.5) / s
    expect = view_mask[np.clip(rows.astype(int), 0, view_mask.shape[0] - 1)][
        :, np.clip(cols.astype(int), 0, view_mask.shape[1] - 1)]
    iou = (box & expect).sum() / (box | expect).sum()
    assert iou > 0.95, iou
    v.page.keyboard.press("Escape")
    assert v.js("window.normalkit.state.looking") is None


def _cli(args) -> int:
    from normalkit.cli import main

    return main([str(a) for a in args])
