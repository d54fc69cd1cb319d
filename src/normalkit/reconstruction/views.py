"""Posed views: the one in-memory form that every input layout is read into.

Layouts (CONVENTIONS.md, "Multi-view sets"):

* normalkit's views folder, as ``normalkit render`` writes it: ``cameras.json``, and per
  view rgb, normal_camera (8/16-bit PNG or EXR) or normal_world, and mask files. Depth
  files are ignored.
* NeRF-style ``transforms.json`` (Blender synthetic, instant-ngp, nerfstudio).

Everything is converted here, at the boundary: normals to unit vectors in the world
frame (zero outside the mask), colour from sRGB to linear, masks to booleans, cameras to
:class:`~normalkit.rendering.camera.Camera`. Later stages trust a list of :class:`View`
and check nothing again.

Functions
---------
load_views(source, use_views=None, log=None)
    Read a views folder, a ``cameras.json`` or a ``transforms.json``.
view_files(source, log=None), view_cameras(source, log=None)
    The files, and the cameras with their files, of each view, decoding no image.
check_views(views, log=None)
    Validate (and normalise) views built in memory; ``load_views`` ends with the same checks.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from ..core.parallel import run_threads
from ..core.plural import count as _count
from ..images.io import read_image
from ..maps.encode import decode_normals
from ..mesh.model import srgb_lut
from ..rendering.camera import CAMERAS_FORMAT, Camera, load_cameras

__all__ = ["MAX_VIEWS", "MIN_VIEWS", "RECOMMENDED_VIEWS", "UNIT_LENGTH_RANGE", "View",
           "check_views", "load_views", "view_cameras", "view_files"]

#: Fewest views a reconstruction accepts.
MIN_VIEWS = 2
#: Fewer views than this are accepted with a warning.
RECOMMENDED_VIEWS = 4
#: Most views a reconstruction accepts (memory and time grow with each); pick with use_views.
MAX_VIEWS = 64
#: The median length of a normal map's non-zero texels inside the mask must lie here.
UNIT_LENGTH_RANGE = (0.9, 1.1)

#: Normal-map roles of a cameras.json view's "files", in order of preference, with their frame.
_NORMAL_ROLES = tuple((f"{name}_{enc}", frame)
                      for name, frame in (("normal_camera", "camera"), ("normal_world", "world"))
                      for enc in ("exr", "16", "8"))
#: Extensions tried, in order, for a transforms.json path given without one.
_EXTENSIONS = (".png", ".exr", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
#: transforms.json camera models read as pinholes (their distortion, if any, is ignored).
_PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE", "OPENCV", "SIMPLE_RADIAL", "RADIAL")
_DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")


@dataclass(eq=False)
class View:
    """One posed view.

    Attributes
    ----------
    camera : Camera
        Intrinsics (pinhole or orthographic) and camera-to-world, OpenGL frame.
    normals : (H, W, 3) float32
        Unit normals in the **world** frame (the mesh's coordinates); zero outside ``mask``.
    mask : (H, W) bool
        True where the object is.
    rgb : (H, W, 3) float32 or None
        Linear RGB in [0, 1] (decoded from sRGB on load); None when the view has no colour.
    name : str
        A label for messages and reports (usually the file name).
    """

    camera: Camera
    normals: np.ndarray
    mask: np.ndarray
    rgb: np.ndarray | None = None
    name: str = "view"


Log = Callable[[str], None]


# --------------------------------------------------------------------------------------------
# Public API


def load_views(source, *, use_views: Sequence[int] | None = None,
               log: Log | None = None) -> list[View]:
    """Read posed views from a views folder, a ``cameras.json`` or a ``transforms.json``.

    Parameters
    ----------
    source : str or PathLike
        One of:

        * a folder holding ``cameras.json`` (``normalkit render``'s layout), or a path to
          such a file (any name; recognised by ``"format": "normalkit cameras 1"``);
        * a folder holding ``transforms.json``, or a path to a NeRF-style JSON with a
          ``"frames"`` list (``transforms_train.json`` of Blender synthetic sets too).

        A folder with both reads ``cameras.json``.
    use_views : sequence of int, optional
        Indices of the views (the order of ``views`` / ``frames`` in the file) to keep, in
        this order. Each at most once.
    log : callable(str), optional
        Receives one-line notices: a missing mask and what replaced it, lens distortion
        that is ignored, fewer than :data:`RECOMMENDED_VIEWS` views.

    Returns
    -------
    list of View
        As :func:`check_views` returns them: world-frame unit normals (zero outside the
        mask), boolean masks, linear float32 RGB (None where a view has none), and a
        ``name`` (the image's file name). Views may differ in size.

    Notes
    -----
    normalkit layout: per view, ``files`` (in cameras.json) names the images. Normals are
    read from the first present of normal_camera exr, 16-bit PNG, 8-bit PNG, then the
    normal_world ones; camera-frame normals become world normals n_world = R·n_cam with
    R = ``cam_to_world[:3, :3]``. Integer-encoded texels that are all zero are background
    (zero vectors). rgb is 8-bit sRGB RGBA (straight alpha). The mask file (255 = object)
    is used when present; otherwise the rgb alpha > 0.5, otherwise the normal map's
    non-zero texels, with one ``log`` line saying which. Depth, uv and triangle files are
    not read.

    transforms.json layout: ``transform_matrix`` (4×4, or 3×4) is camera-to-world in the
    OpenGL frame, used as is (re-orthonormalised when off by < 1e-3, as float32 text can
    be). Intrinsics, per frame or at the top level (per frame wins): ``fl_x``, ``fl_y``,
    ``cx``, ``cy`` in pixels (pixel centres at +0.5, as in nerfstudio and instant-ngp),
    or ``camera_angle_x`` (horizontal field of view, radians: fx = fy = W/2 / tan(a/2);
    ``camera_angle_y`` sets fy); ``w``, ``h`` (default: the image's size; cx, cy default
    to the image centre). ``"camera_model": "ORTHOGRAPHIC"`` with ``ortho_scale`` (the
    view's extent along the larger side, Blender's) gives orthographic cameras. Lens
    distortion (``k1`` …) is ignored with a log line; fisheye and equirectangular models
    are refused. ``file_path`` (the colour image, RGBA with the mask in alpha, or RGB) and
    ``normal_file_path`` are relative to the JSON's folder and may lack an extension
    (".png", ".exr", ".jpg", … are tried). An optional ``mask_path`` (nerfstudio) names a
    mask image (> half its range = object); without one the alpha, then the normals'
    non-zero texels, make the mask. Top-level ``normal_frame``: ``"camera"`` (OpenGL
    camera frame, the default) or ``"world"``. Float normal maps (EXR, float TIFF) store n
    itself; 8/16-bit ones rgb = n/2 + 1/2, all-zero texels meaning background.
    instant-ngp's ``scale``/``offset``/``aabb_scale`` are not applied: the result is in
    the matrices' own world frame.

    Raises
    ------
    NormalkitError
        One line naming the problem and the fix: no cameras.json or transforms.json; an
        empty views/frames list; a bad ``use_views`` (out of range, repeated); fewer than
        :data:`MIN_VIEWS` or more than :data:`MAX_VIEWS` views; a referenced file that is
        missing (named); an image whose size differs from its camera's; a non-finite
        matrix or intrinsic; a normal map that is zero inside its mask or not unit length;
        masks that are all empty, or one view's empty mask. (Masks that contradict each
        other and cameras that miss the object are for the hull stage.)

    Cost: one decode per image (views in parallel, on all cores), then a few vectorised
    passes per view: 64 views of 512² (rgb PNG, normal EXR, mask PNG) take about 2 s on
    2 cores, half of it decoding the EXRs.
    """
    kind, path, doc = _resolve(source, log)
    if kind == "normalkit":
        cameras = load_cameras(path)
        entries = doc["views"]
        picks = select_views(len(entries), use_views)
        jobs = [lambda k=k: _normalkit_view(k, entries[k], cameras[k], path.parent)
                for k in picks]
    else:
        frames = _frames(doc, path)
        normal_frame = doc.get("normal_frame", "camera")
        if normal_frame not in ("camera", "world"):
            raise NormalkitError(f"cannot read '{path}': \"normal_frame\" must be \"camera\" "
                                 f"or \"world\", got {_short(normal_frame)}")
        picks = select_views(len(frames), use_views)
        jobs = [lambda k=k: _transforms_view(k, doc, frames[k], normal_frame, path)
                for k in picks]
    loaded = run_threads(lambda job: job(), jobs)
    # Logged here, not in the workers: image decoding captures stdout/stderr meanwhile.
    if log is not None:
        for _, notes in loaded:
            for note in notes:
                log(note)
    views = [v for v, _ in loaded]
    return _check(views, [f"view {k} ({v.name})" for k, v in zip(picks, views, strict=True)],
                  log)


def view_files(source, log: Log | None = None) -> tuple[str, Path, dict, list[dict]]:
    """The files of each view, without decoding any: for tools that fill a views folder in.

    Returns ``(kind, json_path, document, files)``: ``kind`` is ``"normalkit"``
    (cameras.json) or ``"transforms"``; ``files[k]`` holds ``rgb`` (a Path, or None when
    the view names none), ``mask`` (Path or None) and ``normal`` (the normal map the
    loader would read, or None when the view names none or it is missing).
    """
    kind, path, doc = _resolve(source, log)
    out = []
    if kind == "normalkit":
        folder = path.parent
        for k, entry in enumerate(doc["views"]):
            files = _files_of(k, entry)
            chosen = _normal_role(files, folder)
            rgb = folder / files["rgb"] if "rgb" in files else None
            if rgb is not None and not rgb.is_file():
                raise NormalkitError(f"view {k}: the rgb image '{rgb}' is missing; restore it")
            mask = folder / files["mask"] if "mask" in files else None
            out.append({"rgb": rgb, "mask": mask if mask and mask.is_file() else None,
                        "normal": folder / files[chosen[0]] if chosen else None})
    else:
        for k, frame in enumerate(_frames(doc, path)):
            label = f"view {k}"
            if not isinstance(frame, dict) or "file_path" not in frame:
                raise NormalkitError(f"{label}: the frame has no file_path (its image); add it")
            rgb = _find(path.parent, frame["file_path"], label, "file_path")
            mask = (_find(path.parent, frame["mask_path"], label, "mask_path")
                    if frame.get("mask_path") is not None else None)
            normal = None
            if frame.get("normal_file_path"):
                try:
                    normal = _find(path.parent, frame["normal_file_path"], label,
                                   "normal_file_path")
                except NormalkitError:
                    normal = None
            out.append({"rgb": rgb, "mask": mask, "normal": normal})
    return kind, path, doc, out


def view_cameras(source, log: Log | None = None) -> list[tuple[Camera, dict]]:
    """Each view's camera and files (as :func:`view_files` gives them), decoding no image:
    for tools that show the views, such as ``normalkit view``.

    A transforms.json camera needs its image's size: it is read from the image's header
    (PNG, JPEG, WebP, …); only a format without a header reader (EXR) is decoded.
    """
    kind, path, doc, files = view_files(source, log)
    if kind == "normalkit":
        return list(zip(load_cameras(path), files, strict=True))
    out = []
    for k, (frame, f) in enumerate(zip(_frames(doc, path), files, strict=True)):
        label = f"view {k}"
        if "transform_matrix" not in frame:
            raise NormalkitError(f"{label}: the frame has no transform_matrix; add its "
                                 "camera-to-world pose")
        notes: list = []
        out.append((_camera(doc, frame, label, _image_size(f["rgb"]), notes), f))
        if log is not None:
            for note in notes:
                log(note)
    return out


def _image_size(p: Path) -> tuple[int, int]:
    """(width, height) of an image file, from its header where Pillow reads one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError):
        img = read_image(p)
        return img.shape[1], img.shape[0]


def check_views(views: Sequence[View], log: Log | None = None) -> list[View]:
    """Validate posed views built in memory, and bring them to :class:`View`'s contract.

    Parameters
    ----------
    views : sequence of View
        Between :data:`MIN_VIEWS` and :data:`MAX_VIEWS` of them. Per view: ``camera`` a
        Camera; ``normals`` (H, W, 3) finite floats in the **world** frame with (H, W) the
        camera's (height, width); ``mask`` (H, W) bool; ``rgb`` None or (H, W, 3) finite
        linear floats.
    log : callable(str), optional
        Receives a warning for fewer than :data:`RECOMMENDED_VIEWS` views.

    Returns
    -------
    list of View
        New View objects (same cameras and names): normals float32, unit length where
        non-zero and zero outside the mask; rgb float32. Arrays that already comply are
        shared, not copied.

    Raises
    ------
    NormalkitError
        Too few or too many views; a wrong type, shape or dtype; NaN or infinity; every
        mask empty, or one view's mask empty; normals all zero inside a view's mask, or
        with a median length of the non-zero texels outside :data:`UNIT_LENGTH_RANGE`.

    Cost: a few passes over each view's pixels.
    """
    if isinstance(views, View) or not isinstance(views, Sequence):
        raise NormalkitError(f"views must be a list of View, got {type(views).__name__}")
    labels = [f"view {i} ({getattr(v, 'name', '?')})" for i, v in enumerate(views)]
    return _check(list(views), labels, log)


# --------------------------------------------------------------------------------------------
# Checks


def _check_count(n: int, chosen: bool) -> None:
    how = "--use-views (use_views) keeps" if chosen else "the set has"
    if n < MIN_VIEWS:
        raise NormalkitError(
            f"{how} {_count(n, 'view')}: reconstruction needs at least {MIN_VIEWS} posed "
            f"views ({RECOMMENDED_VIEWS} or more around the object recommended); add views")
    if n > MAX_VIEWS:
        step = math.ceil(n / MAX_VIEWS)
        raise NormalkitError(
            f"{how} {n} views, more than {MAX_VIEWS}; choose at most {MAX_VIEWS} with "
            f"--use-views (use_views=[...] in Python), e.g. every {step}th view")


def select_views(n: int, use_views) -> list[int]:
    """The view indices to read: all, or ``use_views`` checked against ``n`` views."""
    if use_views is None:
        _check_count(n, False)
        return list(range(n))
    if isinstance(use_views, (str, bytes)) or not isinstance(use_views, Sequence | np.ndarray):
        raise NormalkitError(f"use_views must be a list of view indices, got {_short(use_views)}")
    picks = []
    for i in use_views:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise NormalkitError(f"use_views must hold integer view indices, got {_short(i)}")
        if not 0 <= i < n:
            raise NormalkitError(f"use_views: view {i} does not exist; the set has "
                                 f"{_count(n, 'view')}, numbered 0 to {n - 1}")
        if i in picks:
            raise NormalkitError(f"use_views lists view {i} twice; list each view once")
        picks.append(int(i))
    _check_count(len(picks), True)
    return picks


def _lengths(n: np.ndarray) -> np.ndarray:
    """(H, W) lengths of (H, W, 3) vectors (float32 in, float32 out)."""
    x, y, z = n[..., 0], n[..., 1], n[..., 2]
    return np.sqrt(x * x + y * y + z * z)


def _unit(n: np.ndarray, lengths: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``n`` divided by its ``lengths`` where ``keep``, zero elsewhere (a new array)."""
    inv = np.zeros(lengths.shape, np.float32)
    np.divide(np.float32(1), lengths, out=inv, where=keep)
    return n * inv[..., None]


def _normals_problem(n: np.ndarray, mask: np.ndarray, lengths: np.ndarray | None = None):
    """What is wrong with normals ``n`` inside ``mask`` (None if nothing): all zero, or a
    median length of the non-zero texels outside UNIT_LENGTH_RANGE."""
    if lengths is None:
        lengths = _lengths(n)
    inside = lengths[mask]
    inside = inside[inside > 0]
    if inside.size == 0:
        return ("is all zeros inside the mask; give the normal map of this view (background "
                "texels are zero, the object's are unit normals)")
    med = float(np.median(inside))
    lo, hi = UNIT_LENGTH_RANGE
    if not lo <= med <= hi:
        hint = ""
        if n.dtype.kind == "f" and float(n[mask].min()) >= 0:
            hint = " (it looks encoded as rgb = n/2 + 1/2: a float map must store n itself)"
        return (f"holds normals of median length {med:.3g} inside the mask, not unit "
                f"vectors{hint}; give unit normals (length within [{lo}, {hi}])")
    return None


def _float_array(a, label: str, what: str, shape: tuple) -> np.ndarray:
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "fiu":
        raise NormalkitError(f"{label}: {what} must be a numeric numpy array of shape "
                             f"{_shape_text(shape)}, got {type(a).__name__}")
    if a.shape != shape:
        raise NormalkitError(f"{label}: {what} has shape {a.shape}, but the camera is "
                             f"{shape[1]}×{shape[0]}: it needs {_shape_text(shape)}")
    out = a.astype(np.float32, copy=False)
    if not np.isfinite(out).all():
        raise NormalkitError(f"{label}: {what} holds NaN or infinity; replace them (zero "
                             "vectors for background normals)")
    return out


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _check(views: list, labels: list[str], log: Log | None) -> list[View]:
    """check_views with ``labels`` naming each view in messages."""
    _check_count(len(views), False)
    for v, label in zip(views, labels, strict=True):
        if not isinstance(v, View):
            raise NormalkitError(f"{label}: expected a View, got {type(v).__name__}")
        if not isinstance(v.camera, Camera):
            raise NormalkitError(f"{label}: camera must be a normalkit Camera, got "
                                 f"{type(v.camera).__name__}")
        if not (isinstance(v.mask, np.ndarray) and v.mask.dtype == np.bool_):
            got = v.mask.dtype if isinstance(v.mask, np.ndarray) else type(v.mask).__name__
            raise NormalkitError(f"{label}: mask must be a bool array (True = object), got "
                                 f"{got}; pass e.g. mask > 0")
        hw = (v.camera.height, v.camera.width)
        if v.mask.shape != hw:
            raise NormalkitError(f"{label}: mask has shape {v.mask.shape}, but the camera is "
                                 f"{hw[1]}×{hw[0]}: it needs {_shape_text(hw)}")
    empty = [i for i, v in enumerate(views) if not v.mask.any()]
    if len(empty) == len(views):
        raise NormalkitError("every view's mask is empty: no view shows the object; check "
                             "the masks (True/255 = object) or the alpha of the images")
    if empty:
        raise NormalkitError(f"{labels[empty[0]]}: the mask is empty (the object is not in "
                             "this view); fix its mask or leave the view out with use_views")
    out = []
    for v, label in zip(views, labels, strict=True):
        hw = (v.camera.height, v.camera.width)
        n = _float_array(v.normals, label, "normals", hw + (3,))
        rgb = None if v.rgb is None else _float_array(v.rgb, label, "rgb", hw + (3,))
        lengths = _lengths(n)
        nonzero = lengths > 0
        inside = nonzero & v.mask
        unit = bool(inside.any()) and float(np.abs(lengths[nonzero] - 1).max()) <= 1e-5
        if not unit:  # (loaded views are unit already: no median to take)
            problem = _normals_problem(n, v.mask, lengths)
            if problem:
                raise NormalkitError(f"{label}: the normal map {problem}")
        if not unit or (nonzero & ~v.mask).any():
            n = _unit(n, lengths, inside)
        out.append(View(camera=v.camera, normals=n, mask=v.mask, rgb=rgb, name=v.name))
    if len(views) < RECOMMENDED_VIEWS and log is not None:
        log(f"only {_count(len(views), 'view')}: reconstruction works with {MIN_VIEWS}, but "
            f"{RECOMMENDED_VIEWS} or more around the object give a much better shape")
    return out


# --------------------------------------------------------------------------------------------
# Sources


def _read_json(p: Path):
    try:
        return json.loads(p.read_bytes())
    except OSError as exc:
        raise NormalkitError(f"cannot read '{p}': {exc.strerror or exc}") from None
    except RecursionError:
        raise NormalkitError(f"cannot read '{p}': the JSON is nested too deeply") from None
    except ValueError as exc:
        reason = " ".join(str(exc).split())[:160]
        raise NormalkitError(f"cannot read '{p}': not valid JSON ({reason}); fix or "
                             "re-export it") from None


def _resolve(source, log: Log | None) -> tuple[str, Path, dict]:
    """(kind, json path, document): kind "normalkit" (cameras.json) or "transforms"."""
    if not isinstance(source, (str, os.PathLike)):
        raise NormalkitError(f"source must be a folder or a JSON path, got "
                             f"{type(source).__name__}")
    p = Path(source)
    if p.is_dir():
        cams, tf = p / "cameras.json", p / "transforms.json"
        if cams.is_file():
            if tf.is_file() and log is not None:
                log(f"'{p}' holds cameras.json and transforms.json; reading cameras.json")
            p = cams
        elif tf.is_file():
            p = tf
        else:
            others = sorted(q.name for q in p.glob("transforms*.json"))
            hint = (f"; it has {', '.join(others)}: give that file's path" if others else
                    "; give a folder written by `normalkit render`, or a NeRF-style "
                    "transforms.json")
            raise NormalkitError(f"cannot read views from '{p}': it holds no cameras.json "
                                 f"or transforms.json{hint}")
    elif not p.is_file():
        raise NormalkitError(f"cannot read views from '{p}': no such file or folder; check "
                             "the path")
    doc = _read_json(p)
    if isinstance(doc, dict) and isinstance(doc.get("format"), str) and \
            doc["format"].startswith("normalkit cameras"):
        if doc["format"] == CAMERAS_FORMAT and not isinstance(doc.get("views"), list):
            load_cameras(p)  # its message for a missing or bad "views"
        return "normalkit", p, doc
    if isinstance(doc, dict) and "frames" in doc:
        return "transforms", p, doc
    raise NormalkitError(f"cannot read views from '{p}': it is neither a normalkit "
                         f"cameras.json (\"format\": \"{CAMERAS_FORMAT}\") nor a NeRF-style "
                         "transforms.json (a \"frames\" list)")


# --------------------------------------------------------------------------------------------
# Images


def _read(p: Path, label: str, what: str) -> np.ndarray:
    if not p.is_file():
        raise NormalkitError(f"{label}: the {what} '{p}' is missing; restore the file or fix "
                             "its name in the JSON")
    return read_image(p)


def _check_size(img: np.ndarray, w: int, h: int, label: str, name: str, fix: str) -> None:
    if img.shape[:2] != (h, w):
        raise NormalkitError(f"{label}: '{name}' is {img.shape[1]}×{img.shape[0]} pixels but "
                             f"its camera is {w}×{h}; {fix}")


def _unit_range(img: np.ndarray) -> np.ndarray:
    """Integer or float samples → float32 in [0, 1] (integers divided by their maximum)."""
    if img.dtype.kind in "ui":
        return img.astype(np.float32) / np.float32(np.iinfo(img.dtype).max)
    return img.astype(np.float32, copy=False)


def _colour(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(linear RGB (H, W, 3) float32, alpha (H, W) float32 in [0, 1] or None)."""
    if img.ndim == 2:
        img = img[..., None]
    alpha = _unit_range(img[..., 3]) if img.shape[2] == 4 else None
    c = img[..., :3] if img.shape[2] >= 3 else np.repeat(img, 3, axis=2)
    if c.dtype in (np.uint8, np.uint16):
        rgb = np.take(srgb_lut(c.dtype), np.ascontiguousarray(c))  # sRGB-encoded files
    else:
        rgb = np.ascontiguousarray(c, dtype=np.float32)  # float files hold linear light
    return rgb, alpha


def _mask_image(img: np.ndarray) -> np.ndarray:
    """Mask file → bool: gray, or the brightest of R, G, B, above half the range."""
    v = img if img.ndim == 2 else img[..., :3].max(axis=2)
    top = np.iinfo(v.dtype).max if v.dtype.kind in "ui" else 1.0
    return v > top / 2


def _normal_texels(img: np.ndarray, label: str, name: str) -> np.ndarray:
    """A normal-map image → (H, W, 3) float32 vectors, not normalised; zero where the
    integer encoding is all zero (background)."""
    if img.ndim != 3:
        raise NormalkitError(f"{label}: '{name}' is a gray image; a normal map has three "
                             "channels (rgb = n/2 + 1/2, or float n)")
    if img.dtype in (np.uint8, np.uint16):
        background = (img[..., 0] | img[..., 1] | img[..., 2]) == 0
        n = decode_normals(img, normalize=False)
        n[background] = 0
        return n
    if img.dtype.kind != "f":
        raise NormalkitError(f"{label}: '{name}' stores {img.dtype} texels; give an 8/16-bit "
                             "PNG (rgb = n/2 + 1/2) or a float EXR (n itself)")
    n = np.array(img[..., :3], dtype=np.float32)
    if not np.isfinite(n).all():
        raise NormalkitError(f"{label}: '{name}' holds NaN or infinity; write zero vectors "
                             "for background texels")
    return n


def _assemble(label: str, camera: Camera, rgb_img, rgb_name, n_img, n_name: str,
              normal_frame: str, mask_img, mask_name: str, fix: str) -> tuple[View, list]:
    """One View from decoded images (checked against the camera's size). Without
    ``mask_img``, ``mask_name`` says why, for the log line ("" or " ('mask_003.png' is
    missing)")."""
    w, h = camera.width, camera.height
    notes = []
    rgb = alpha = None
    if rgb_img is not None:
        _check_size(rgb_img, w, h, label, rgb_name, fix)
        rgb, alpha = _colour(rgb_img)
    _check_size(n_img, w, h, label, n_name, fix)
    n = _normal_texels(n_img, label, n_name)
    lengths = _lengths(n)
    if mask_img is not None:
        _check_size(mask_img, w, h, label, mask_name, fix)
        mask = _mask_image(mask_img)
    elif alpha is not None:
        mask = alpha > 0.5
        notes.append(f"{label}: no mask{mask_name}; using the rgb alpha (> 0.5)")
    else:
        mask = lengths > 0
        notes.append(f"{label}: no mask{mask_name}; using the normal map's non-zero pixels")
    if mask.any():  # an empty mask is reported by the set's checks, which name it
        problem = _normals_problem(n, mask, lengths)
        if problem:
            raise NormalkitError(f"{label}: '{n_name}' {problem}")
        holes = int((mask & (lengths == 0)).sum())
        if holes > 0.05 * mask.sum():
            notes.append(f"{label}: {holes / mask.sum():.0%} of the mask has no normal (zero "
                         f"texels in '{n_name}'); those pixels count for the silhouette only")
    keep = mask & (lengths > 0)
    n = _unit(n, lengths, keep)
    if normal_frame == "camera":
        r = camera.cam_to_world[:3, :3].astype(np.float32)
        n = n @ r.T  # n_world = R · n_cam, per pixel; zero vectors stay zero
    name = rgb_name if rgb_name is not None else n_name
    return View(camera=camera, normals=n, mask=mask, rgb=rgb, name=name), notes


# --------------------------------------------------------------------------------------------
# normalkit's views folder


def _files_of(k: int, entry) -> dict:
    """A cameras.json view's "files" object, checked: every value a file name."""
    files = entry.get("files") if isinstance(entry, dict) else None
    if not isinstance(files, dict):
        raise NormalkitError(f"view {k}: cameras.json has no \"files\" object naming its "
                             "images; re-render the views with `normalkit render`")
    for role, name in files.items():
        if not isinstance(name, str) or not name:
            raise NormalkitError(f"view {k}: cameras.json's file for {role!r} must be a file "
                                 f"name (relative to its folder), got {_short(name)}")
    return files


def _normal_role(files: dict, folder: Path) -> tuple[str, str] | None:
    """(role, frame) of the normal map the loader reads: the first present of
    :data:`_NORMAL_ROLES`; None when none is there."""
    return next(((role, frame) for role, frame in _NORMAL_ROLES
                 if role in files and (folder / files[role]).is_file()), None)


def _normalkit_view(k: int, entry: dict, camera: Camera, folder: Path) -> tuple[View, list]:
    label = f"view {k}"
    files = _files_of(k, entry)
    fix = "re-render the views, or fix width/height in cameras.json"

    rgb_img = None
    if "rgb" in files:
        rgb_img = _read(folder / files["rgb"], label, "rgb image")
    chosen = _normal_role(files, folder)
    if chosen is None:
        named = [files[role] for role, _ in _NORMAL_ROLES if role in files]
        if named:
            raise NormalkitError(f"{label}: the normal map '{folder / named[0]}' is missing "
                                 "(and no other encoding of it is there); restore it")
        raise NormalkitError(f"{label}: cameras.json's \"files\" names no normal map "
                             "(normal_camera_* or normal_world_*); re-render with "
                             "`normalkit render`, which writes them")
    role, frame = chosen
    n_img = read_image(folder / files[role])
    mask_img, mask_name = None, ""
    if "mask" in files:
        if (folder / files["mask"]).is_file():
            mask_img, mask_name = read_image(folder / files["mask"]), files["mask"]
        else:
            mask_name = f" ('{files['mask']}' is missing)"
    return _assemble(label, camera, rgb_img, files.get("rgb"), n_img, files[role], frame,
                     mask_img, mask_name, fix)


# --------------------------------------------------------------------------------------------
# transforms.json


def _focal_from_angle(value, size: int, label: str, key: str) -> float:
    """Focal length in pixels from a field of view in radians across ``size`` pixels."""
    angle = _number(value, label, key, positive=True)
    if angle >= math.pi:
        raise NormalkitError(f"{label}: {key} must be below π (radians), got {angle:g}; give "
                             "the field of view in radians")
    return 0.5 * size / math.tan(angle / 2)


def _number(value, label: str, key: str, positive: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    if not math.isfinite(v) or (positive and v <= 0):
        want = "a positive" if positive else "a"
        raise NormalkitError(f"{label}: {key} must be {want} finite number, got "
                             f"{_short(value)}; fix it in transforms.json")
    return v


def _pose(value, label: str) -> np.ndarray:
    """transform_matrix (4×4 or 3×4 row lists) → a rigid float64 4×4."""
    want = "transform_matrix must be a 4×4 (or 3×4) list of rows of finite numbers"
    try:
        m = np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise NormalkitError(f"{label}: {want}, got {_short(value)}") from None
    if m.shape == (3, 4):
        m = np.vstack([m, [0.0, 0.0, 0.0, 1.0]])
    if m.shape != (4, 4):
        raise NormalkitError(f"{label}: {want}, got shape {m.shape}")
    if not np.isfinite(m).all():
        raise NormalkitError(f"{label}: transform_matrix holds NaN or infinity; fix the "
                             "camera pose in transforms.json")
    if not np.allclose(m[3], [0, 0, 0, 1]):
        raise NormalkitError(f"{label}: transform_matrix's last row must be [0, 0, 0, 1], "
                             f"got {m[3].tolist()}")
    r = m[:3, :3]
    if np.abs(r.T @ r - np.eye(3)).max() > 1e-3 or np.linalg.det(r) <= 0:
        raise NormalkitError(
            f"{label}: transform_matrix is not a rigid camera-to-world transform (its 3×3 "
            "part must be a rotation: orthonormal, right-handed, no scale); fix the pose")
    u, _, vt = np.linalg.svd(r)
    m[:3, :3] = u @ vt  # exactly orthonormal (text holds ~7 digits)
    return m


def _find(base: Path, rel, label: str, key: str) -> Path:
    """A frame's image path: relative to the JSON's folder; extensions tried when absent."""
    if not isinstance(rel, str) or not rel:
        raise NormalkitError(f"{label}: {key} must be a non-empty path, got {_short(rel)}")
    p = Path(rel)
    p = p if p.is_absolute() else base / p
    if p.is_file():
        return p
    for ext in _EXTENSIONS:
        q = p.with_name(p.name + ext)
        if q.is_file():
            return q
    tried = "" if p.suffix else f" (nor with {', '.join(_EXTENSIONS[:3])}, …)"
    raise NormalkitError(f"{label}: {key} '{p}' is missing{tried}; restore the file or fix "
                         "the path in transforms.json")


def _camera(doc: dict, frame: dict, label: str, size: tuple[int, int],
            notes: list) -> Camera:
    """The frame's camera; ``size`` = (W, H) of its image."""
    def get(key):
        return frame[key] if key in frame else doc.get(key)

    img_w, img_h = size
    w = h = None
    if get("w") is not None or get("h") is not None:
        w = _number(get("w"), label, "w", positive=True)
        h = _number(get("h"), label, "h", positive=True)
        if (w, h) != (img_w, img_h):
            raise NormalkitError(f"{label}: the image is {img_w}×{img_h} pixels but "
                                 f"transforms.json gives w × h = {w:g}×{h:g}; give images "
                                 "of that size, or fix w, h and the intrinsics")
    w, h = img_w, img_h
    m = _pose(frame["transform_matrix"], label)
    model = get("camera_model")
    model = "PINHOLE" if model is None else str(model).upper()
    if model == "ORTHOGRAPHIC":
        scale = _number(get("ortho_scale"), label, "ortho_scale", positive=True)
        f = max(w, h) / scale
        k = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
        return Camera(K=k, width=w, height=h, cam_to_world=m, orthographic=True,
                      ortho_scale=scale)
    if model not in _PINHOLE_MODELS:
        raise NormalkitError(f"{label}: camera_model {_short(get('camera_model'))} is not "
                             "supported; give pinhole (PINHOLE, OPENCV) or ORTHOGRAPHIC "
                             "cameras, or undistort the images to a pinhole first")
    if get("fl_x") is not None:
        fx = _number(get("fl_x"), label, "fl_x", positive=True)
        fy = _number(get("fl_y"), label, "fl_y", positive=True) \
            if get("fl_y") is not None else fx
    elif get("camera_angle_x") is not None:
        fx = fy = _focal_from_angle(get("camera_angle_x"), w, label, "camera_angle_x")
        if get("camera_angle_y") is not None:
            fy = _focal_from_angle(get("camera_angle_y"), h, label, "camera_angle_y")
    else:
        raise NormalkitError(f"{label}: no intrinsics; give camera_angle_x (radians) or "
                             "fl_x, fl_y, cx, cy (pixels) in transforms.json")
    cx = _number(get("cx"), label, "cx") if get("cx") is not None else w / 2
    cy = _number(get("cy"), label, "cy") if get("cy") is not None else h / 2
    dist = {key: get(key) for key in _DISTORTION_KEYS if get(key)}
    if dist:
        terms = ", ".join(f"{key} = {v}" for key, v in dist.items())
        notes.append(f"{label}: lens distortion ({terms}) is ignored; undistort the images "
                     "for exact geometry")
    k = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Camera(K=k, width=w, height=h, cam_to_world=m)


def _frames(doc: dict, path: Path) -> list:
    """A transforms.json's "frames", checked: a non-empty list."""
    frames = doc.get("frames")
    if not isinstance(frames, list) or not frames:
        got = "missing" if frames is None else ("empty" if frames == [] else
                                                f"not a list ({type(frames).__name__})")
        raise NormalkitError(f"cannot read '{path}': \"frames\" must be a non-empty list "
                             f"of posed images, it is {got}; add the frames")
    return frames


def _transforms_view(k: int, doc: dict, frame, normal_frame: str,
                     path: Path) -> tuple[View, list]:
    label = f"view {k}"
    if not isinstance(frame, dict):
        raise NormalkitError(f"{label}: a frame must be a JSON object, got {_short(frame)}")
    base = path.parent
    if "file_path" not in frame:
        raise NormalkitError(f"{label}: the frame has no file_path (its image); add it")
    if "normal_file_path" not in frame:
        raise NormalkitError(f"{label}: the frame has no normal_file_path; add the path of "
                             "its normal map (camera frame unless \"normal_frame\": \"world\")")
    if "transform_matrix" not in frame:
        raise NormalkitError(f"{label}: the frame has no transform_matrix; add its "
                             "camera-to-world pose")
    rgb_path = _find(base, frame["file_path"], label, "file_path")
    n_path = _find(base, frame["normal_file_path"], label, "normal_file_path")
    mask_path = None
    if frame.get("mask_path") is not None:
        mask_path = _find(base, frame["mask_path"], label, "mask_path")
    rgb_img = read_image(rgb_path)
    notes: list = []
    camera = _camera(doc, frame, label, (rgb_img.shape[1], rgb_img.shape[0]), notes)
    n_img = read_image(n_path)
    mask_img = read_image(mask_path) if mask_path is not None else None
    view, more = _assemble(label, camera, rgb_img, rgb_path.name, n_img, n_path.name,
                           normal_frame, mask_img,
                           mask_path.name if mask_path is not None else "",
                           "give every image of a frame the same size")
    return view, notes + more


def _short(v, limit: int = 40) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."
