"""Renderer and cameras against analytic answers.

What is asserted (figures measured when these tests were written are in the comments):

* Sphere, 1024², pinhole: the camera-space normal pass vs the *exact* unit-sphere normal at
  the analytic ray–sphere hit of the same pixel-centre ray (rays built here from K and
  cam_to_world, independently of Camera.rays), over pixels whose exact normal is within 80°
  of the viewer (away from the silhouette): mean < 0.05°. The mesh is a level-6 icosphere
  (81,920 triangles) with analytic per-corner normals (the vertex directions), so the
  remaining error is the flat triangles' sag (≤ 5e-5 of the radius) seen at an angle.
  The depth pass matches the analytic sphere z-depth to < 1e-3 radius there (mean < 2e-4).
* Plane: depth pass = analytic z-depth to float32 precision (relative 1e-5), pinhole and
  orthographic; the orthographic sphere's normals and depth are analytic as well.
* cameras.json (CLI output) reprojects: every hit pixel's surface point, rebuilt from the
  triangle-id and UV images (mesh with UVs linear on each triangle), projects through the
  file's K and cam_to_world to that pixel's centre within 0.05 px (max); and projected mesh
  vertices land on pixels whose triangle is one of the vertex's faces.
* A flat plane with a map baked by normalkit.baking.bake from a bumpy high-poly renders the
  high-poly's analytic normals (tangent and object space, OpenGL and DirectX).
* Lambert shading and sRGB textures are exact; supersampled coverage is the sample fraction.
* Errors: camera inside the mesh, empty views, a map without UVs or of the wrong shape.
"""

import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import angle_deg, bump, grid_plane
from normalkit.baking.bake import bake
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image
from normalkit.maps.encode import encode_normals
from normalkit.mesh.io import save_obj
from normalkit.mesh.model import Mesh
from normalkit.rendering.camera import Camera, orbit_angles, orbit_cameras
from normalkit.rendering.render import (
    AmbientLight,
    DirectionalLight,
    Material,
    Renderer,
    linear_to_srgb,
    render,
    shading_cost,
    srgb_to_linear,
)
from scenes import unit_sphere


def icosphere(level: int = 6) -> Mesh:
    return unit_sphere(level, name="icosphere")


def pixel_rays(cam: Camera):
    """Pixel-centre rays from K and cam_to_world (float64), written from the definition."""
    j, i = np.mgrid[0:cam.height, 0:cam.width]
    p = np.stack([i + 0.5, j + 0.5, np.ones_like(i, float)], -1).reshape(-1, 3)
    q = p @ np.linalg.inv(cam.K).T  # OpenCV frame (x, y down, z forward) at depth 1
    r, eye = cam.cam_to_world[:3, :3], cam.cam_to_world[:3, 3]
    if cam.orthographic:
        o = eye + q[:, :1] * r[:, 0] - q[:, 1:2] * r[:, 1]
        d = np.broadcast_to(-r[:, 2], o.shape)
    else:
        o = np.broadcast_to(eye, q.shape)
        d = q[:, :1] * r[:, 0] - q[:, 1:2] * r[:, 1] - r[:, 2]  # camera z = −1: t = depth
    return o, d


def sphere_hits(o, d):
    """t of the first hit of rays o + t·d on the unit sphere (NaN for a miss)."""
    a = np.einsum("ij,ij->i", d, d)
    b = np.einsum("ij,ij->i", o, d)
    c = np.einsum("ij,ij->i", o, o) - 1.0
    disc = b * b - a * c
    with np.errstate(invalid="ignore"):
        return np.where(disc > 0, (-b - np.sqrt(disc)) / a, np.nan)


@pytest.fixture(scope="module")
def sphere():
    return icosphere(6)


def test_sphere_normals_and_depth_match_the_exact_sphere(sphere):
    cam = Camera.look_at((0.4, -3.2, 1.3), (0.05, 0.0, -0.03), fov_deg=45, width=1024,
                         height=1024)
    res = render(sphere, cam, passes=("normal_camera", "normal_world", "depth", "mask"))
    o, d = pixel_rays(cam)
    t = sphere_hits(o, d)
    hit = np.isfinite(t)
    p = o + t[:, None] * d
    n_cam = p @ cam.cam_to_world[:3, :3]  # Rᵀ·n for each row
    view = -d / np.linalg.norm(d, axis=1, keepdims=True)
    facing = np.einsum("ij,ij->i", p, view)
    core = hit & (facing > np.cos(np.radians(80)))
    mask = res["mask"].reshape(-1)
    assert mask[core].all() and not mask[~hit].any()
    err = angle_deg(res["normal_camera"].reshape(-1, 3)[core], n_cam[core])
    # measured: mean 0.0033°, max 0.029° (418,811 pixels)
    assert err.mean() < 0.05 and err.max() < 0.1, (err.mean(), err.max())
    assert angle_deg(res["normal_world"].reshape(-1, 3)[core], p[core]).mean() < 0.05
    derr = np.abs(res["depth"].reshape(-1)[core] - t[core])
    # measured: mean 7.6e-5, max 3.9e-4 (the icosphere's sag, 5.5e-5, along grazing rays)
    assert derr.mean() < 2e-4 and derr.max() < 1e-3, (derr.mean(), derr.max())
    assert (res["depth"].reshape(-1)[~mask] == 0).all()


@pytest.mark.parametrize("ortho", [False, True])
def test_plane_depth_is_exact(ortho):
    quad = Mesh(positions=np.array([[-99.0, -99, 0], [99, -99, 0], [99, 99, 0], [-99, 99, 0]]),
                faces=np.array([[0, 1, 2], [0, 2, 3]]), name="quad")
    if ortho:
        cam = Camera.orthographic_look_at((1, -3, 2), (0.2, 0.3, 0), ortho_scale=3.0,
                                          width=160, height=120)
    else:
        cam = Camera.look_at((1, -3, 2), (0.2, 0.3, 0), fov_deg=60, width=160, height=120)
    res = render(quad, cam, passes=("depth", "mask", "normal_camera", "triangle"))
    o, d = pixel_rays(cam)
    t = -o[:, 2] / d[:, 2]  # plane z = 0; pinhole: t is the z-depth
    if ortho:
        t = t * np.linalg.norm(d, axis=1)
    assert res["mask"].all()
    np.testing.assert_allclose(res["depth"].reshape(-1), t, rtol=1e-5)
    expect = cam.world_to_camera[:3, :3] @ [0, 0, 1]
    assert angle_deg(res["normal_camera"].reshape(-1, 3), expect).max() < 1e-3
    assert set(np.unique(res["triangle"])) <= {0, 1}


def test_orthographic_sphere_is_analytic(sphere):
    cam = Camera.orthographic_look_at((0, -5, 0), (0, 0, 0), ortho_scale=2.5, width=256,
                                      height=200)
    res = render(sphere, cam, passes=("normal_camera", "depth", "mask"))
    j, i = np.mgrid[0:200, 0:256]
    x = (i + 0.5 - 128) / cam.K[0, 0]
    y = -(j + 0.5 - 100) / cam.K[1, 1]
    r2 = x * x + y * y
    core = r2 < np.sin(np.radians(80)) ** 2
    z = np.sqrt(np.clip(1 - r2, 0, None))
    assert res["mask"][core].all() and not res["mask"][r2 > 1].any()
    err = angle_deg(res["normal_camera"][core], np.stack([x, y, z], -1)[core])
    assert err.mean() < 0.05
    assert np.abs(res["depth"][core] - (5 - z[core])).max() < 5e-4
    assert cam.ortho_scale == 2.5 and Camera.from_json(cam.to_json()).ortho_scale == 2.5


@settings(max_examples=40, deadline=None)
@given(eye=st.tuples(*[st.floats(-5, 5)] * 3), target=st.tuples(*[st.floats(-1, 1)] * 3),
       fov=st.floats(10, 120), w=st.integers(1, 40), h=st.integers(1, 40), ortho=st.booleans(),
       samples=st.sampled_from([1, 4, 9]))
def test_rays_project_back_to_their_sample_positions(eye, target, fov, w, h, ortho, samples):
    eye, target = np.array(eye), np.array(target)
    fwd = target - eye
    assume(np.linalg.norm(fwd) > 0.5 and abs(fwd[2]) < 0.95 * np.linalg.norm(fwd))
    cam = (Camera.orthographic_look_at(eye, target, ortho_scale=3.0, width=w, height=h)
           if ortho else Camera.look_at(eye, target, fov_deg=fov, width=w, height=h))
    o, d, pix = cam.rays(samples=samples)
    assert len(o) == w * h * samples and (np.bincount(pix, minlength=w * h) == samples).all()
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1, atol=1e-6)
    p = o.astype(float) + 2.5 * d.astype(float)
    xy = cam.project(p)
    s = int(np.sqrt(samples))
    off = (np.arange(s) + 0.5) / s  # stratum centres, row-major within the pixel
    k = np.arange(len(pix)) % samples
    tol = 2e-6 * max(w, h) * (1 if ortho else 1 + 1 / np.tan(np.radians(fov) / 2))
    np.testing.assert_allclose(xy[:, 0], pix % w + off[k % s], atol=tol)
    np.testing.assert_allclose(xy[:, 1], pix // w + off[k // s], atol=tol)
    np.testing.assert_allclose(cam.z_depth(p), 2.5 * (d.astype(float) @ cam.forward),
                               rtol=1e-5, atol=1e-5)
    back = Camera.from_json(json.loads(json.dumps(cam.to_json())))
    np.testing.assert_array_equal(back.K, cam.K)
    np.testing.assert_array_equal(back.cam_to_world, cam.cam_to_world)
    assert back.orthographic == cam.orthographic


def test_points_behind_a_pinhole_camera_do_not_project():
    cam = Camera.look_at((0, -3, 0), (0, 0, 0))
    assert np.isnan(cam.project([[0, -5, 0]])).all()
    assert np.isfinite(cam.project([[0, 0, 0]])).all()
    np.testing.assert_allclose(cam.project([[0, 0, 0]]), [[512, 512]])


def test_orbit_cameras_frame_the_mesh_and_follow_the_azimuth_convention(sphere):
    cams = orbit_cameras(sphere, views=4, size=200, fov_deg=40, margin=1.0)
    eyes = np.array([c.position for c in cams])
    # azimuth 0: front (camera on −y), 90: right (+x); elevation 20°
    assert eyes[0, 1] < 0 and abs(eyes[0, 0]) < 1e-9 and eyes[1, 0] > 0
    np.testing.assert_allclose(np.degrees(np.arcsin(eyes[:, 2] / np.linalg.norm(eyes, axis=1))),
                               20, atol=1e-9)
    for c in cams:
        uv = c.project(sphere.positions)
        # the mesh fills the frame: its extreme vertex touches the border (margin 1)
        ext = np.max(np.abs(uv - 100) / 100)
        assert 0.99 < ext <= 1.0 + 1e-9
    az, el = orbit_angles(azimuths=[0, 90], elevations=[10])
    assert az.tolist() == [0, 90] and el.tolist() == [10, 10]
    top = orbit_cameras(sphere, azimuths=[30], elevations=[90], size=64)[0]
    np.testing.assert_allclose(top.forward, [0, 0, -1], atol=1e-12)
    ortho = orbit_cameras(sphere, views=2, size=64, orthographic=True)
    assert all(c.orthographic for c in ortho)
    assert render(sphere, ortho[0], passes=("mask",))["mask"].any()


def test_camera_inside_the_mesh_is_an_error(sphere):
    with pytest.raises(NormalkitError, match="inside the mesh"):
        render(sphere, Camera.look_at((0.1, 0.2, 0.0), (1, 0, 0), width=16, height=16))
    with pytest.raises(NormalkitError, match="inside the mesh.*distance"):
        orbit_cameras(sphere, views=3, distance=0.5, size=16)
    # An open plane seen from behind is not "inside".
    plane = grid_plane(2)
    res = render(plane, Camera.look_at((0.5, 0.5, -2), (0.5, 0.5, 0), up=(0, 1, 0), width=16,
                                       height=16), passes=("normal_camera", "mask"))
    assert res["mask"].any() and (res["normal_camera"][res["mask"]][:, 2] > 0.99).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(azimuths=[]), "no views"),
    (dict(views=0), "views must be a positive integer"),
    (dict(azimuths=[0, 1, 2], elevations=[0, 1]), "equal counts"),
    (dict(views=2, elevations=[95]), r"\[-90, 90\]"),
])
def test_empty_or_bad_views_are_errors(sphere, kwargs, match):
    with pytest.raises(NormalkitError, match=match):
        orbit_cameras(sphere, size=16, **kwargs)


def test_bad_maps_and_arguments_are_errors(sphere):
    cam = Camera.look_at((0, -4, 0), (0, 0, 0), width=16, height=16)
    flat = np.full((8, 8, 3), 0.5, np.float32)
    with pytest.raises(NormalkitError, match="no UVs"):
        render(sphere, cam, normal_map=flat)
    plane = grid_plane(2)
    cam_p = Camera.look_at((0.5, 0.5, 2), (0.5, 0.5, 0), up=(0, 1, 0), width=16, height=16)
    with pytest.raises(NormalkitError, match=r"\(H, W, 3\)"):
        render(plane, cam_p, normal_map=np.zeros((8, 8), np.uint8))
    with pytest.raises(NormalkitError, match="space"):
        render(plane, cam_p, normal_map=flat, space="world")
    with pytest.raises(NormalkitError, match="perfect square"):
        render(plane, cam_p, samples=3)
    with pytest.raises(NormalkitError, match="unknown"):
        render(plane, cam_p, passes=("albedo",))
    with pytest.raises(NormalkitError, match="roughness"):
        render(plane, cam_p, material=Material(roughness=2))
    with pytest.raises(NormalkitError, match="parallel"):
        Camera.look_at((0, 0, 5), (0, 0, 0))  # up = +z along the view


@pytest.fixture(scope="module")
def baked_plane():
    h, n = bump()
    high = grid_plane(200, height=h, normals=n)
    low = grid_plane(1)
    maps = {space: bake(high, low, size=256, space=space, samples=1, extrusion=0.1,
                        max_distance=0.1, padding=0).normals for space in ("tangent", "object")}
    return low, maps, n


@pytest.mark.parametrize("space, directx", [("tangent", False), ("object", False),
                                            ("tangent", True)])
def test_normal_map_decode_gives_the_high_poly_normals(baked_plane, space, directx):
    low, maps, n = baked_plane
    cam = Camera.look_at((0.3, -0.4, 1.1), (0.5, 0.5, 0), up=(0, 1, 0), fov_deg=50,
                         width=256, height=256)
    texels = encode_normals(maps[space], 16, directx=directx)
    res = render(low, cam, normal_map=texels, space=space, directx=directx,
                 passes=("normal_world", "normal_camera", "uv", "mask"))
    m = res["mask"]
    uv = res["uv"][m]
    expected = n(uv[:, 0], uv[:, 1])  # plane: u = x, v = y, T = +x, B = +y, N = +z
    err = angle_deg(res["normal_world"][m], expected)
    # measured: median 0.048°, p95 0.078°, max 0.10° (mostly the 256² bake itself)
    assert np.median(err) < 0.1 and np.percentile(err, 95) < 0.3, (
        np.median(err), np.percentile(err, 95))
    cam_n = expected @ cam.cam_to_world[:3, :3]
    assert np.median(angle_deg(res["normal_camera"][m], cam_n)) < 0.1


def test_lambert_shading_and_srgb_are_exact(sphere):
    cam = Camera.look_at((0, -4, 1), (0, 0, 0), fov_deg=40, width=96, height=96)
    lights = [DirectionalLight(direction=(0, 0, -1), intensity=np.pi, space="world"),
              AmbientLight(intensity=0.2)]
    mat = Material(base_color=(0.5, 0.25, 0.1), model="lambert")
    res = render(sphere, cam, lights=lights, material=mat, passes=("rgb", "normal_world",
                                                                   "mask"))
    m = res["mask"]
    nz = np.clip(res["normal_world"][m][:, 2], 0, None)
    expect = np.array(mat.base_color) * (nz[:, None] + 0.2)
    np.testing.assert_allclose(srgb_to_linear(res["rgb"][m]), expect, atol=2e-5)
    assert (res["rgb"][~m] == 0).all()
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    np.testing.assert_allclose(srgb_to_linear(linear_to_srgb(x)), x, atol=1e-6)


def test_color_map_is_srgb_and_supersampling_gives_coverage():
    plane = grid_plane(1)
    cam = Camera.orthographic_look_at((0.5, 0.5, 1), (0.5, 0.5, 0), up=(0, 1, 0),
                                      ortho_scale=1.0, width=10, height=10)
    tex = np.full((4, 4, 3), 128, np.uint8)
    res = render(plane, cam, color_map=tex, lights=[AmbientLight(intensity=1.0)],
                 material=Material(model="lambert"), passes=("rgb",))
    np.testing.assert_allclose(res["rgb"], 128 / 255, atol=1e-6)
    # A plane whose right edge, x = 0.66, cuts pixel column 6 (x = 0.6 … 0.7) so that one of
    # the two sample columns (x = 0.625, 0.675) is inside, and the centre (0.65) too.
    part = plane.replace(positions=plane.positions * [0.66, 1, 1])
    res = render(part, cam, samples=4, lights=[AmbientLight(intensity=1.0)],
                 passes=("alpha", "mask", "rgb"))
    np.testing.assert_array_equal(res["alpha"][:, :6], 1)
    np.testing.assert_array_equal(res["alpha"][:, 6], 0.5)
    np.testing.assert_array_equal(res["alpha"][:, 7:], 0)
    assert res["mask"][:, :7].all() and not res["mask"][:, 7:].any()


def test_renderer_reuses_its_scene_and_reports_rays(sphere):
    r = Renderer(sphere, threads=2)
    cams = orbit_cameras(sphere, views=2, size=32)
    a = r.render(cams[0], samples=4, passes=("rgb", "mask"))
    assert r.last_stats["rays"] == 32 * 32 * 5  # centre rays + 4 shading rays per pixel
    b = r.render(cams[0], samples=4, passes=("rgb", "mask"))
    np.testing.assert_array_equal(a["rgb"], b["rgb"])
    one = Renderer(sphere, threads=1).render(cams[0], samples=4, passes=("rgb", "mask"))
    np.testing.assert_allclose(one["rgb"], a["rgb"], atol=1e-6)


def test_shading_cost_reports_both_spaces(baked_plane):
    low, maps, _ = baked_plane
    cam = Camera.look_at((0.5, 0.5, 1.2), (0.5, 0.5, 0), up=(0, 1, 0), width=64, height=64)
    cost = shading_cost(low, cam, encode_normals(maps["tangent"], 16),
                        encode_normals(maps["object"], 16), repeat=1)
    assert cost["pixels"] == 64 * 64
    for k in ("tangent", "object", "tangent_decode", "object_decode"):
        assert cost[k] > 0


# --------------------------------------------------------------------------------------------
# CLI


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from normalkit.mesh.examples import torus

    d = tmp_path_factory.mktemp("render")
    mesh = torus(24, 12)  # 576 triangles with UVs: several pixels per triangle at 160²
    save_obj(mesh, d / "torus.obj")
    tan = np.zeros((32, 32, 3), np.float32)
    tan[..., 2] = 1
    from normalkit.images.io import write_image

    write_image(d / "flat.png", encode_normals(tan, 16))
    out = d / "out"
    code = main(["render", str(d / "torus.obj"), "--normal-map", str(d / "flat.png"), "-o",
                 str(out), "--size", "160", "--azimuths", "0", "120", "240",
                 "--elevations", "10", "30", "50", "--samples", "4", "-q"])
    assert code == 0
    return d, out


def test_cli_writes_every_pass_cameras_json_and_a_turntable(cli_run):
    from PIL import Image

    _, out = cli_run
    doc = json.loads((out / "cameras.json").read_text())
    assert len(doc["views"]) == 3 and doc["width"] == doc["height"] == 160
    assert "OpenGL" in doc["conventions"]["camera_frame"]
    for v in doc["views"]:
        for name in v["files"].values():
            assert (out / name).is_file(), name
        assert np.array(v["K"]).shape == (3, 3) and np.array(v["cam_to_world"]).shape == (4, 4)
    v = doc["views"][0]
    assert read_image(out / v["files"]["normal_camera_16"]).dtype == np.uint16
    assert read_image(out / v["files"]["rgb"]).shape == (160, 160, 4)
    # The depth PNG decodes with the stated range to the EXR depth (16-bit quantization).
    exr = read_image(out / v["files"]["depth_exr"])
    png = read_image(out / v["files"]["depth_16"]).astype(float)
    near, far = v["depth_range"]
    m = png > 0
    dec = near + (png[m] - 1) / 65534 * (far - near)
    assert np.abs(dec - exr[m]).max() <= (far - near) / 65534
    assert m.sum() == (read_image(out / v["files"]["mask"]) > 0).sum()
    assert Image.open(out / "turntable.gif").n_frames == 3
    try:
        import imageio_ffmpeg
    except ImportError:
        assert doc["turntable"] == ["turntable.gif"]
    else:
        frames = imageio_ffmpeg.read_frames(str(out / "turntable.mp4"))
        assert next(frames)["size"] == (160, 160) and sum(1 for _ in frames) == 3


def test_cameras_json_reprojects_the_rendered_surface(cli_run):
    """Surface points rebuilt from the triangle and UV images project to their pixel centres."""
    from normalkit.mesh.io import load_mesh
    from normalkit.rendering.camera import load_cameras

    d, out = cli_run
    mesh = load_mesh(d / "torus.obj")
    doc = json.loads((out / "cameras.json").read_text())
    cams = load_cameras(out / "cameras.json")  # the reader takes what render writes
    assert len(cams) == len(doc["views"])
    for cam, v in zip(cams, doc["views"], strict=True):
        np.testing.assert_allclose(cam.K, v["K"])
        np.testing.assert_allclose(cam.cam_to_world, v["cam_to_world"])
        assert (cam.width, cam.height) == (doc["width"], doc["height"])
    worst = 0.0
    for v in doc["views"]:
        k = np.array(v["K"])
        w2c = np.linalg.inv(np.array(v["cam_to_world"]))
        tri_img = read_image(out / v["files"]["triangle"]).astype(np.int64)
        tri = (tri_img[..., 0] << 16) + (tri_img[..., 1] << 8) + tri_img[..., 2] - 1
        j, i = np.nonzero(tri >= 0)
        f = tri[j, i]
        uv = read_image(out / v["files"]["uv"])[j, i, :2] / 65535.0
        cuv = mesh.uvs[f]  # (n, 3, 2)
        uv += np.round(cuv.mean(axis=1) - uv)  # undo frac() (wrapping) near u or v = 1
        # barycentrics of uv in the UV triangle, then the 3D point
        e1, e2, r = cuv[:, 1] - cuv[:, 0], cuv[:, 2] - cuv[:, 0], uv - cuv[:, 0]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        b1 = (r[:, 0] * e2[:, 1] - r[:, 1] * e2[:, 0]) / det
        b2 = (e1[:, 0] * r[:, 1] - e1[:, 1] * r[:, 0]) / det
        c = mesh.positions[mesh.faces[f]]
        p = (1 - b1 - b2)[:, None] * c[:, 0] + b1[:, None] * c[:, 1] + b2[:, None] * c[:, 2]
        pc = p @ w2c[:3, :3].T + w2c[:3, 3]
        q = np.stack([pc[:, 0], -pc[:, 1], -pc[:, 2]], 1) @ k.T  # OpenCV frame through K
        px = q[:, :2] / q[:, 2:]
        err = np.hypot(px[:, 0] - (i + 0.5), px[:, 1] - (j + 0.5))
        worst = max(worst, err.max())
        # Projected vertices that are visible (the depth image at their pixel agrees with
        # their z-depth) land on a pixel showing one of their own faces.
        depth = read_image(out / v["files"]["depth_exr"])
        pv = mesh.positions @ w2c[:3, :3].T + w2c[:3, 3]
        qv = np.stack([pv[:, 0], -pv[:, 1], -pv[:, 2]], 1) @ k.T
        col, row = (qv[:, :2] / qv[:, 2:]).T
        inside = np.nonzero((col >= 0) & (col < 160) & (row >= 0) & (row < 160))[0]
        ci, ri = col[inside].astype(int), row[inside].astype(int)
        seen = np.abs(depth[ri, ci] - (-pv[inside, 2])) < 0.01 * -pv[inside, 2]
        at = tri[ri[seen], ci[seen]]
        corners = mesh.positions[mesh.faces[at]]  # (n, 3, 3); seam twins share positions
        own = (np.abs(corners - mesh.positions[inside[seen]][:, None]).max(-1) < 1e-9).any(1)
        assert seen.sum() > 50 and own.mean() > 0.95, (seen.sum(), own.mean())
        # measured: 100 % of the 82–145 visible vertices per view
    assert worst < 0.05, worst  # measured: max 0.006 px (16-bit UV quantization)


def test_cli_errors(cli_run, capsys):
    d, _ = cli_run
    assert main(["render", str(d / "torus.obj"), "-o", str(d / "x"), "--views", "2",
                 "--azimuths", "0", "-q"]) == 2
    assert "either --views or --azimuths" in capsys.readouterr().err
    assert main(["render", str(d / "torus.obj"), "-o", str(d / "x"), "--space", "object",
                 "-q"]) == 2
    assert "--normal-map" in capsys.readouterr().err
    assert main(["render", str(d / "torus.obj"), "-o", str(d / "x"), "--views", "0",
                 "-q"]) == 2
