"""normalkit.reconstruction.views: every input layout read into the same posed views.

The reference is a real ``normalkit render`` of a unit sphere (6 views, 64²): its
normal_world files are the truth for the world normals that load_views derives from the
camera-frame ones, its mask files for the masks, its cameras.json for the cameras. The
same render is rewritten as NeRF-style transforms.json sets (RGBA with the mask in alpha,
camera- or world-frame normal PNGs, both intrinsics spellings, paths without an
extension), which must give the same cameras (same pixel for the same 3D point) and the
same normals. Each bad input has its own test, matching the one-line message.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import angle_deg
from normalkit.cli import main
from normalkit.core.errors import NormalkitError
from normalkit.images.io import read_image, write_image
from normalkit.maps.encode import decode_normals
from normalkit.mesh.io import save_obj
from normalkit.mesh.model import Mesh
from normalkit.reconstruction.views import View, check_views, load_views
from normalkit.rendering.camera import Camera, load_cameras
from normalkit.rendering.render import srgb_to_linear
from scenes import unit_sphere

VIEWS = 6
SIZE = 64


def sphere_mesh() -> Mesh:
    return unit_sphere(3)


def render(d: Path, *extra: str) -> Path:
    save_obj(sphere_mesh(), d / "sphere.obj")
    out = d / "views"
    assert main(["render", str(d / "sphere.obj"), "-o", str(out), "--size", str(SIZE),
                 "--samples", "1", "-q", *extra]) == 0
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render(tmp_path_factory.mktemp("render"), "--views", str(VIEWS))


@pytest.fixture()
def folder(rendered, tmp_path) -> Path:
    """A private copy of the rendered views folder, free to damage."""
    return Path(shutil.copytree(rendered, tmp_path / "views"))


def doc_of(folder: Path) -> dict:
    return json.loads((folder / "cameras.json").read_text())


def save_doc(folder: Path, doc: dict, name: str = "cameras.json") -> Path:
    (folder / name).write_text(json.dumps(doc))
    return folder / name


def truth(folder: Path, k: int):
    """(world normals from normal_world_16, mask) of view k as the renderer wrote them."""
    files = doc_of(folder)["views"][k]["files"]
    enc = read_image(folder / files["normal_world_16"])
    n = decode_normals(enc)
    mask = read_image(folder / files["mask"]) > 127
    return n, mask


def max_angle(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(angle_deg(a[mask].astype(np.float64), b[mask].astype(np.float64)).max())


# --------------------------------------------------------------------------------------------
# normalkit's layout


def test_views_folder_gives_world_normals_masks_linear_rgb_and_its_cameras(folder):
    views = load_views(folder)
    cams = load_cameras(folder / "cameras.json")
    doc = doc_of(folder)
    assert len(views) == VIEWS
    for k, v in enumerate(views):
        assert np.array_equal(v.camera.K, cams[k].K)
        assert np.array_equal(v.camera.cam_to_world, cams[k].cam_to_world)
        assert (v.camera.width, v.camera.height) == (SIZE, SIZE)
        n_true, mask = truth(folder, k)
        assert v.mask.dtype == np.bool_ and np.array_equal(v.mask, mask)
        assert v.normals.dtype == np.float32 and v.normals.shape == (SIZE, SIZE, 3)
        assert max_angle(v.normals, n_true, mask) < 1.0  # EXR camera → world vs 16-bit world
        assert np.allclose(np.linalg.norm(v.normals[mask], axis=1), 1, atol=1e-5)
        assert not v.normals[~mask].any()
        # Linear light: the sRGB decode of the 8-bit file, not the file's values / 255.
        srgb = read_image(folder / doc["views"][k]["files"]["rgb"])[..., :3] / 255.0
        assert v.rgb.dtype == np.float32 and v.rgb.shape == (SIZE, SIZE, 3)
        assert np.allclose(v.rgb, srgb_to_linear(srgb), atol=1e-6)
        mid = (srgb > 0.2) & (srgb < 0.8)
        assert mid.any() and (v.rgb[mid] < srgb[mid] - 0.02).all()
        assert v.name == f"rgb_{k:03d}.png"
    # The sphere: a world normal is the direction from the centre, seen from the camera side.
    fwd = np.array([c.forward for c in cams])
    assert all((v.normals[v.mask] @ f).mean() < -0.5 for v, f in zip(views, fwd, strict=True))


def test_cameras_json_path_reads_the_same_as_its_folder(folder):
    a = load_views(folder)
    b = load_views(folder / "cameras.json")
    assert all(np.array_equal(x.normals, y.normals) and np.array_equal(x.mask, y.mask)
               for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("drop, limit", [
    (("normal_camera_exr",), 0.1),  # 16-bit camera PNG
    (("normal_camera_exr", "normal_camera_16"), 1.0),  # 8-bit camera PNG
    (("normal_camera_exr", "normal_camera_16", "normal_camera_8"), 0.1),  # world EXR
])
def test_every_normal_encoding_gives_the_same_world_normals(folder, drop, limit):
    doc = doc_of(folder)
    for view in doc["views"]:
        for role in drop:
            (folder / view["files"][role]).unlink()  # named in cameras.json, gone from disk
    views = load_views(folder)
    for k, v in enumerate(views):
        n_true, mask = truth(folder, k)
        assert np.array_equal(v.mask, mask)
        assert max_angle(v.normals, n_true, mask) < limit
        assert not v.normals[~mask].any()  # 8/16-bit background (0, 0, 0) is no normal


def test_missing_mask_falls_back_to_alpha_then_to_the_normals(folder):
    doc = doc_of(folder)
    masks = [truth(folder, k)[1] for k in range(VIEWS)]
    (folder / doc["views"][3]["files"]["mask"]).unlink()
    del doc["views"][1]["files"]["mask"]
    del doc["views"][2]["files"]["mask"], doc["views"][2]["files"]["rgb"]
    save_doc(folder, doc)
    lines = []
    views = load_views(folder, log=lines.append)
    assert lines == ["view 1: no mask; using the rgb alpha (> 0.5)",
                     "view 2: no mask; using the normal map's non-zero pixels",
                     "view 3: no mask ('mask_003.png' is missing); using the rgb alpha (> 0.5)"]
    for k in (1, 3):  # alpha > 0.5 vs the pixel-centre hit: a few silhouette pixels apart
        assert (views[k].mask != masks[k]).sum() <= 0.02 * masks[k].sum()
    assert np.array_equal(views[2].mask, masks[2]) and views[2].rgb is None


def test_use_views_keeps_those_views_in_that_order(folder):
    lines = []
    views = load_views(folder, use_views=[4, 1, 5], log=lines.append)
    assert [v.name for v in views] == ["rgb_004.png", "rgb_001.png", "rgb_005.png"]
    assert len(lines) == 1 and "only 3 views" in lines[0] and "4 or more" in lines[0]
    lines.clear()
    assert len(load_views(folder, use_views=np.array([0, 2]), log=lines.append)) == 2
    assert "only 2 views" in lines[0]


def test_views_of_different_sizes_load(tmp_path, folder):
    (tmp_path / "wide").mkdir()
    other = render(tmp_path / "wide", "--views", "2", "--width", "48", "--height", "40")
    doc, extra = doc_of(folder), doc_of(other)
    for view in extra["views"]:
        for role, name in view["files"].items():
            new = f"wide_{name}"
            shutil.copy(other / name, folder / new)
            view["files"][role] = new
    doc["views"] += extra["views"]
    save_doc(folder, doc)
    views = load_views(folder)
    assert [v.normals.shape[:2] for v in views] == [(SIZE, SIZE)] * VIEWS + [(40, 48)] * 2


def test_orthographic_cameras_json(tmp_path):
    out = render(tmp_path, "--views", "4", "--ortho")
    views = load_views(out)
    assert all(v.camera.orthographic for v in views)
    for k, v in enumerate(views):
        n_true, mask = truth(out, k)
        assert max_angle(v.normals, n_true, mask) < 1.0


# --------------------------------------------------------------------------------------------
# transforms.json


def write_transforms(folder: Path, variant: str = "angle", normal_frame: str | None = None,
                     name: str = "transforms.json", **top) -> Path:
    """The render as a NeRF-style set in ``folder/nerf``: train/r_k.png (RGBA, alpha = the
    mask), normals/r_k.png (16-bit, camera frame, or world with normal_frame="world")."""
    doc = doc_of(folder)
    root = folder / "nerf"
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "normals").mkdir(exist_ok=True)
    frames = []
    for k, view in enumerate(doc["views"]):
        files = view["files"]
        rgba = read_image(folder / files["rgb"]).copy()
        rgba[..., 3] = read_image(folder / files["mask"])
        write_image(root / "train" / f"r_{k}.png", rgba)
        role = "normal_world_16" if normal_frame == "world" else "normal_camera_16"
        shutil.copy(folder / files[role], root / "normals" / f"r_{k}.png")
        frame = {"file_path": f"./train/r_{k}", "normal_file_path": f"normals/r_{k}.png",
                 "transform_matrix": view["cam_to_world"]}
        frames.append(frame)
    cam = doc["views"][0]
    out = {"frames": frames, **top}
    if variant == "angle" and not cam["orthographic"]:
        out["camera_angle_x"] = math.radians(cam["fov_deg"][0])
    else:
        k = cam["K"]
        out.update(fl_x=k[0][0], fl_y=k[1][1], cx=k[0][2], cy=k[1][2], w=cam["width"],
                   h=cam["height"])
    if normal_frame is not None:
        out["normal_frame"] = normal_frame
    (root / name).write_text(json.dumps(out, indent=1))
    return root / name


def probe_points() -> np.ndarray:
    """The sphere's centre, poles and a spread of surface points."""
    rng = np.random.default_rng(3)
    p = rng.normal(size=(40, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return np.vstack([np.zeros((1, 3)), np.eye(3), -np.eye(3), p])


@pytest.mark.parametrize("variant", ["angle", "pixels"])
def test_transforms_cameras_project_like_normalkits_and_normals_agree(folder, variant):
    path = write_transforms(folder, variant)
    mine = load_views(folder)
    for source in (path, path.parent):  # the file, or the folder holding it
        views = load_views(source)
        assert len(views) == VIEWS
        for v, ref in zip(views, mine, strict=True):
            uv, uv_ref = v.camera.project(probe_points()), ref.camera.project(probe_points())
            assert np.abs(uv - uv_ref).max() < 1e-6
            assert np.allclose(uv_ref[0], SIZE / 2)  # the centre is in the middle
            assert np.array_equal(v.mask, ref.mask)
            assert max_angle(v.normals, ref.normals, ref.mask) < 1.0
            assert np.allclose(v.rgb, ref.rgb, atol=1e-6)
    assert views[0].name == "r_0.png"


def test_transforms_world_frame_normals(folder):
    path = write_transforms(folder, normal_frame="world")
    for k, v in enumerate(load_views(path)):
        n_true, mask = truth(folder, k)
        assert np.array_equal(v.mask, mask)
        assert max_angle(v.normals, n_true, mask) < 0.01  # the same file, decoded


def test_transforms_per_frame_intrinsics_and_the_mask_path(folder):
    path = write_transforms(folder, "pixels")
    doc = json.loads(path.read_text())
    top = {key: doc.pop(key) for key in ("fl_x", "fl_y", "cx", "cy", "w", "h")}
    for k, frame in enumerate(doc["frames"]):
        frame.update(top)
        # An RGB image (no alpha) and a separate mask, nerfstudio's mask_path.
        rgba = read_image(path.parent / "train" / f"r_{k}.png")
        write_image(path.parent / "train" / f"r_{k}.png", rgba[..., :3].copy())
        write_image(path.parent / f"m_{k}.png", rgba[..., 3].copy())
        frame["mask_path"] = f"m_{k}.png"
    path.write_text(json.dumps(doc))
    lines = []
    views = load_views(path, log=lines.append)
    assert lines == []  # the mask came from mask_path: nothing to say
    for k, v in enumerate(views):
        assert np.array_equal(v.mask, truth(folder, k)[1])


def test_transforms_without_mask_or_alpha_uses_the_normals(folder):
    path = write_transforms(folder)
    for k in range(VIEWS):
        p = path.parent / "train" / f"r_{k}.png"
        write_image(p, read_image(p)[..., :3].copy())
    lines = []
    views = load_views(path, log=lines.append)
    assert lines[0] == "view 0: no mask; using the normal map's non-zero pixels"
    assert np.array_equal(views[0].mask, truth(folder, 0)[1])


def test_transforms_orthographic(tmp_path):
    out = render(tmp_path, "--views", "4", "--ortho")
    mine = load_views(out)
    path = write_transforms(out, camera_model="ORTHOGRAPHIC",
                            ortho_scale=mine[0].camera.ortho_scale)
    for v, ref in zip(load_views(path), mine, strict=True):
        assert v.camera.orthographic
        uv, uv_ref = v.camera.project(probe_points()), ref.camera.project(probe_points())
        assert np.abs(uv - uv_ref).max() < 1e-6
        assert max_angle(v.normals, ref.normals, ref.mask) < 1.0


def test_transforms_lens_distortion_is_ignored_with_a_note(folder):
    path = write_transforms(folder, "pixels", k1=0.01)
    lines = []
    load_views(path, log=lines.append)
    assert any("lens distortion (k1 = 0.01) is ignored" in line for line in lines)


def test_transforms_train_json_by_path(folder):
    path = write_transforms(folder, name="transforms_train.json")
    assert len(load_views(path)) == VIEWS
    with pytest.raises(NormalkitError, match="it has transforms_train.json: give that file"):
        load_views(path.parent)


# --------------------------------------------------------------------------------------------
# Bad input: one line naming the problem and the fix


def test_error_folder_without_cameras_or_transforms(tmp_path):
    with pytest.raises(NormalkitError, match="holds no cameras.json or transforms.json"):
        load_views(tmp_path)
    with pytest.raises(NormalkitError, match="no such file or folder"):
        load_views(tmp_path / "nowhere")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(NormalkitError, match="neither a normalkit cameras.json"):
        load_views(tmp_path / "other.json")


def test_error_empty_frames_and_empty_views(folder):
    path = write_transforms(folder)
    path.write_text(json.dumps({"camera_angle_x": 0.7, "frames": []}))
    with pytest.raises(NormalkitError, match='"frames" must be a non-empty list.*it is empty'):
        load_views(path)
    doc = doc_of(folder)
    doc["views"] = []
    save_doc(folder, doc)
    with pytest.raises(NormalkitError, match='"views" must be a non-empty list.*it is empty'):
        load_views(folder)


@pytest.mark.parametrize("role", ["rgb", "normal_camera_exr", "mask"])
def test_error_image_size_differs_from_its_camera(folder, role):
    name = doc_of(folder)["views"][2]["files"][role]
    img = read_image(folder / name)
    write_image(folder / name, np.ascontiguousarray(img[:32, :48]))
    with pytest.raises(NormalkitError,
                       match=rf"view 2: '{name}' is 48×32 pixels but its camera is 64×64"):
        load_views(folder)


def test_error_transforms_image_size_differs_from_w_h(folder):
    path = write_transforms(folder, "pixels")
    p = path.parent / "normals" / "r_1.png"
    write_image(p, np.ascontiguousarray(read_image(p)[:60]))
    with pytest.raises(NormalkitError, match=r"view 1: 'r_1.png' is 64×60 pixels but its "
                                             r"camera is 64×64"):
        load_views(path)
    doc = json.loads(path.read_text())
    doc["w"] = 128
    path.write_text(json.dumps(doc))
    with pytest.raises(NormalkitError, match=r"view 0: the image is 64×64 pixels but "
                                             r"transforms.json gives w × h = 128×64"):
        load_views(path)


def test_error_normal_map_all_zero_inside_the_mask(folder):
    name = doc_of(folder)["views"][3]["files"]["normal_camera_exr"]
    write_image(folder / name, np.zeros((SIZE, SIZE, 3), np.float32))
    with pytest.raises(NormalkitError,
                       match=rf"view 3: '{name}' is all zeros inside the mask"):
        load_views(folder)


def test_error_normal_map_not_unit_length(folder):
    name = doc_of(folder)["views"][1]["files"]["normal_camera_exr"]
    n = read_image(folder / name)
    write_image(folder / name, n * np.float32(2))
    with pytest.raises(NormalkitError, match=r"view 1: '.*' holds normals of median length 2 "
                                             r"inside the mask, not unit vectors"):
        load_views(folder)
    write_image(folder / name, np.where(n.any(axis=2, keepdims=True), n * 0.5 + 0.5, 0)
                .astype(np.float32))
    with pytest.raises(NormalkitError, match="looks encoded as rgb = n/2 \\+ 1/2"):
        load_views(folder)


def test_error_nan_in_a_normal_map(folder):
    name = doc_of(folder)["views"][0]["files"]["normal_camera_exr"]
    n = read_image(folder / name)
    n[5, 5, 0] = np.nan
    write_image(folder / name, n)
    with pytest.raises(NormalkitError, match=rf"'{name}' holds NaN or infinity"):
        load_views(folder)


def test_error_every_mask_empty(folder):
    for view in doc_of(folder)["views"]:
        write_image(folder / view["files"]["mask"], np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(NormalkitError, match="every view's mask is empty"):
        load_views(folder)


def test_error_one_mask_empty_names_the_view(folder):
    name = doc_of(folder)["views"][4]["files"]["mask"]
    write_image(folder / name, np.zeros((SIZE, SIZE), np.uint8))
    with pytest.raises(NormalkitError, match=r"view 4 \(rgb_004.png\): the mask is empty.*"
                                             "use_views"):
        load_views(folder)


def test_error_nan_in_a_matrix(folder):
    path = write_transforms(folder, "pixels")
    doc = json.loads(path.read_text())
    doc["frames"][2]["transform_matrix"][0][3] = float("nan")
    path.write_text(json.dumps(doc))
    with pytest.raises(NormalkitError, match="view 2: transform_matrix holds NaN or infinity"):
        load_views(path)
    doc["frames"][2]["transform_matrix"][0][3] = 0.0
    doc["fl_x"] = float("inf")
    path.write_text(json.dumps(doc))
    with pytest.raises(NormalkitError, match="fl_x must be a positive finite number, got inf"):
        load_views(path)
    cams = doc_of(folder)
    cams["views"][1]["K"][0][0] = float("nan")
    save_doc(folder, cams)
    with pytest.raises(NormalkitError, match="view 1: K must be a 3×3 matrix.*NaN or infinity"):
        load_views(folder)


def test_error_non_rigid_transform_matrix(folder):
    path = write_transforms(folder, "pixels")
    doc = json.loads(path.read_text())
    m = np.array(doc["frames"][0]["transform_matrix"])
    m[:3, :3] *= 2
    doc["frames"][0]["transform_matrix"] = m.tolist()
    path.write_text(json.dumps(doc))
    with pytest.raises(NormalkitError, match="not a rigid camera-to-world transform"):
        load_views(path)


def test_error_fewer_than_two_views(folder):
    with pytest.raises(NormalkitError,
                       match=r"--use-views \(use_views\) keeps 1 view: reconstruction needs at"):
        load_views(folder, use_views=[3])
    doc = doc_of(folder)
    doc["views"] = doc["views"][:1]
    save_doc(folder, doc)
    with pytest.raises(NormalkitError, match="the set has 1 view: reconstruction needs"):
        load_views(folder)


def test_error_more_than_64_views_suggests_use_views(tmp_path):
    m = np.eye(4).tolist()
    frames = [{"file_path": f"r_{k}", "normal_file_path": f"n_{k}", "transform_matrix": m}
              for k in range(65)]  # no images: the count is checked before any is read
    (tmp_path / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.7,
                                                          "frames": frames}))
    with pytest.raises(NormalkitError, match="65 views, more than 64; choose at most 64 "
                                             "with --use-views"):
        load_views(tmp_path)


@pytest.mark.parametrize("use_views, message", [
    ([0, 6], "use_views: view 6 does not exist; the set has 6 views, numbered 0 to 5"),
    ([0, -1], "use_views: view -1 does not exist"),
    ([1, 2, 1], "use_views lists view 1 twice"),
    ([0, 1.5], "use_views must hold integer view indices"),
    ("0 1", "use_views must be a list of view indices"),
])
def test_error_bad_use_views(folder, use_views, message):
    with pytest.raises(NormalkitError, match=message):
        load_views(folder, use_views=use_views)


def test_error_missing_referenced_files(folder):
    (folder / "rgb_003.png").unlink()
    with pytest.raises(NormalkitError, match=r"view 3: the rgb image '.*rgb_003.png' is "
                                             "missing"):
        load_views(folder)
    doc = doc_of(folder)
    for role in ("normal_camera_exr", "normal_camera_16", "normal_camera_8",
                 "normal_world_exr", "normal_world_16", "normal_world_8"):
        (folder / doc["views"][0]["files"][role]).unlink()
    with pytest.raises(NormalkitError, match=r"view 0: the normal map '.*normal_camera_000.exr'"
                                             " is missing"):
        load_views(folder)


def test_error_missing_transforms_files(folder):
    path = write_transforms(folder)
    (path.parent / "train" / "r_4.png").unlink()
    with pytest.raises(NormalkitError, match=r"view 4: file_path '.*train/r_4' is missing "
                                             r"\(nor with .png"):
        load_views(path)
    write_transforms(folder)
    (path.parent / "normals" / "r_5.png").unlink()
    with pytest.raises(NormalkitError, match=r"view 5: normal_file_path '.*r_5.png' is "
                                             "missing"):
        load_views(path)
    doc = json.loads(path.read_text())
    del doc["frames"][1]["normal_file_path"]
    path.write_text(json.dumps(doc))
    with pytest.raises(NormalkitError, match="view 1: the frame has no normal_file_path"):
        load_views(path)


def test_error_bad_normal_frame_and_camera_model(folder):
    path = write_transforms(folder, normal_frame="object")
    with pytest.raises(NormalkitError, match='"normal_frame" must be "camera" or "world"'):
        load_views(path)
    path = write_transforms(folder, camera_model="OPENCV_FISHEYE")
    with pytest.raises(NormalkitError, match="camera_model 'OPENCV_FISHEYE' is not supported"):
        load_views(path)


# --------------------------------------------------------------------------------------------
# check_views: views built in memory


def memory_views(n: int = 4) -> list[View]:
    cams = [Camera.look_at((3 * math.cos(a), 3 * math.sin(a), 0.5), (0, 0, 0), width=8,
                           height=6) for a in np.linspace(0, 2 * math.pi, n, endpoint=False)]
    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:6] = True
    views = []
    for k, c in enumerate(cams):
        normals = np.zeros((6, 8, 3))
        normals[mask] = -c.forward * 1.05  # float64, not quite unit: accepted and normalised
        normals[0, 0] = (0, 0, 1)  # outside the mask: dropped
        views.append(View(camera=c, normals=normals, mask=mask.copy(), name=f"v{k}"))
    return views


def test_check_views_normalises_and_leaves_the_inputs_alone():
    views = memory_views()
    out = check_views(views)
    assert len(out) == 4 and [v.name for v in out] == ["v0", "v1", "v2", "v3"]
    for v, src in zip(out, views, strict=True):
        assert v.normals.dtype == np.float32 and v.rgb is None and v.camera is src.camera
        assert np.allclose(np.linalg.norm(v.normals[v.mask], axis=1), 1, atol=1e-6)
        assert np.allclose(v.normals[v.mask], -src.camera.forward, atol=1e-6)
        assert not v.normals[~v.mask].any()
        assert src.normals[0, 0, 2] == 1  # the caller's array is untouched


def test_check_views_errors():
    views = memory_views()
    views[1].normals = views[1].normals[:, :7]
    with pytest.raises(NormalkitError, match=r"view 1 \(v1\): normals has shape \(6, 7, 3\), "
                                             r"but the camera is 8×6"):
        check_views(views)
    views = memory_views()
    views[2].mask = views[2].mask.astype(np.uint8)
    with pytest.raises(NormalkitError, match=r"view 2 \(v2\): mask must be a bool array"):
        check_views(views)
    views = memory_views()
    views[0].rgb = np.full((6, 8, 3), np.inf)
    with pytest.raises(NormalkitError, match="rgb holds NaN or infinity"):
        check_views(views)
    views = memory_views()
    views[3].normals = views[3].normals * 3
    with pytest.raises(NormalkitError, match=r"view 3 \(v3\): the normal map holds normals of "
                                             "median length 3.15"):
        check_views(views)
    with pytest.raises(NormalkitError, match="the set has 1 view"):
        check_views(memory_views()[:1])
    with pytest.raises(NormalkitError, match="more than 64"):
        check_views(memory_views()[:1] * 65)
    with pytest.raises(NormalkitError, match="views must be a list of View"):
        check_views(memory_views()[0])
