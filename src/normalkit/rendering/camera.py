"""Pinhole and orthographic cameras with exact intrinsics, and orbits around a mesh.

Conventions (CONVENTIONS.md, "Cameras and image-space maps"):

* Camera frame: OpenGL. x right, y up, the camera looks down −z. ``cam_to_world`` is the
  4×4 rigid transform whose columns are the camera's x, y, z axes and its position in
  world coordinates (exactly Blender's camera ``matrix_world``).
* Intrinsics K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]] in pixels, acting on the OpenCV-frame
  coordinates (x, −y, −z) of a camera-frame point: a point (x, y, z) with z-depth d = −z > 0
  lands on the continuous pixel position (col, row) = (fx·x/d + s·(−y/d) + cx, fy·(−y/d) + cy).
  Pixel (row j, column i) spans [i, i+1) × [j, j+1) and has its centre at (i + 0.5, j + 0.5);
  row 0 is the top of the image.
* Orthographic cameras use the same K on camera-plane coordinates in world units:
  (col, row) = (fx·x + cx, −fy·y + cy); fx = fy = max(W, H) / ortho_scale, where
  ``ortho_scale`` is the width of the view along the larger image side (Blender's).
* Depth is z-depth, d = −z in the camera frame, positive in front of the camera.

Functions and classes
---------------------
Camera
    The camera: ``look_at``, ``orthographic_look_at``, ``rays``, ``project``,
    ``world_to_camera``, ``to_json`` / ``from_json``.
load_cameras(path)
    The cameras of a cameras.json (``normalkit render``'s), validated.
orbit_angles(views, azimuths, elevations)
    The (azimuth, elevation) pairs of an orbit, in degrees.
orbit_cameras(mesh_or_bounds, views, ...)
    Cameras on an orbit around a mesh, looking at its centre, that frame it.
eye_inside(caster, face_normals, eye)
    Whether a point is inside a closed mesh (rays from it mostly hit back faces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import NormalkitError

__all__ = ["CAMERAS_FORMAT", "Camera", "eye_inside", "load_cameras", "orbit_angles",
           "orbit_cameras", "pixel_sample_offsets"]

#: Rays cast from a camera position by :func:`eye_inside`.
INSIDE_RAYS = 64


def _vec3(v, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.shape != (3,) or not np.isfinite(a).all():
        raise NormalkitError(f"{name} must be 3 finite numbers, got {v!r}")
    return a


def _size(v, name: str) -> int:
    if v is None or isinstance(v, bool) or int(v) != v or int(v) <= 0 or int(v) > 32768:
        raise NormalkitError(f"{name} must be a positive integer ≤ 32768, got {v!r}")
    return int(v)


def _frame(eye: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """4×4 cam_to_world of a camera at ``eye`` looking at ``target`` with ``up`` on screen up."""
    fwd = target - eye
    dist = np.linalg.norm(fwd)
    if dist == 0:
        raise NormalkitError("eye and target are the same point; move the camera away")
    fwd = fwd / dist
    right = np.cross(fwd, up)
    norm = np.linalg.norm(right)
    if norm < 1e-9 * max(np.linalg.norm(up), 1e-300):
        raise NormalkitError(
            f"up vector {tuple(up)} is parallel to the view direction {tuple(np.round(fwd, 6))}; "
            "give another up vector")
    right /= norm
    true_up = np.cross(right, fwd)
    m = np.eye(4)
    m[:3, 0] = right
    m[:3, 1] = true_up
    m[:3, 2] = -fwd
    m[:3, 3] = eye
    return m


def pixel_sample_offsets(samples: int) -> np.ndarray:
    """(S, 2) centres of a √S × √S grid of strata inside a pixel, in [0, 1)², row-major.

    Raises NormalkitError unless ``samples`` is a positive perfect square: the one check
    of a shading sample count, which commands also call before any work."""
    if isinstance(samples, bool) or int(samples) != samples or samples < 1:
        raise NormalkitError(f"samples must be a positive perfect square, got {samples!r}")
    s = math.isqrt(int(samples))
    if s * s != samples:
        raise NormalkitError(
            f"samples must be a perfect square (1, 4, 9, 16, …) for a √S×√S stratified grid, "
            f"got {samples}")
    g = (np.arange(s) + 0.5) / s
    ox, oy = np.meshgrid(g, g, indexing="xy")
    return np.stack([ox.ravel(), oy.ravel()], axis=1)


@dataclass(eq=False)
class Camera:
    """A pinhole (or orthographic) camera with exact pixel geometry.

    Attributes
    ----------
    K : (3, 3) float64
        Intrinsics in pixels (module docstring): fx, fy focal lengths (orthographic: pixels
        per world unit), cx, cy principal point, optional skew K[0, 1].
    width, height : int
        Image size in pixels.
    cam_to_world : (4, 4) float64
        Rigid camera-to-world transform, OpenGL camera frame (x right, y up, looking down
        −z); the same matrix as a Blender camera's ``matrix_world``.
    orthographic : bool
        Parallel projection instead of a pinhole.
    ortho_scale : float or None
        Orthographic only: view width along the larger image side, in world units
        (Blender's ``ortho_scale``); derived from K when None.

    Raises
    ------
    NormalkitError
        Bad shapes, a non-invertible K, a non-rigid ``cam_to_world``, or an
        ``ortho_scale`` that disagrees with K.
    """

    K: np.ndarray
    width: int
    height: int
    cam_to_world: np.ndarray
    orthographic: bool = False
    ortho_scale: float | None = None

    def __post_init__(self):
        self.K = np.array(self.K, dtype=np.float64)
        self.cam_to_world = np.array(self.cam_to_world, dtype=np.float64)
        self.width = _size(self.width, "width")
        self.height = _size(self.height, "height")
        self.orthographic = bool(self.orthographic)
        k = self.K
        if k.shape != (3, 3) or not np.isfinite(k).all():
            raise NormalkitError(f"K must be a finite 3×3 matrix, got shape {k.shape}")
        if k[1, 0] != 0 or k[2, 0] != 0 or k[2, 1] != 0 or k[2, 2] != 1:
            raise NormalkitError("K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]]")
        if k[0, 0] <= 0 or k[1, 1] <= 0:
            raise NormalkitError(f"K's focal lengths must be positive, got {k[0, 0]}, {k[1, 1]}")
        m = self.cam_to_world
        if m.shape != (4, 4) or not np.isfinite(m).all():
            raise NormalkitError(f"cam_to_world must be a finite 4×4 matrix, got shape {m.shape}")
        if not np.allclose(m[3], [0, 0, 0, 1]):
            raise NormalkitError("cam_to_world's last row must be [0, 0, 0, 1]")
        r = m[:3, :3]
        if not np.allclose(r.T @ r, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise NormalkitError(
                "cam_to_world must be a rigid transform (orthonormal, right-handed rotation, "
                "no scale); build it with Camera.look_at")
        if self.orthographic:
            scale = max(self.width, self.height) / k[0, 0]
            if self.ortho_scale is None:
                self.ortho_scale = float(scale)
            elif not math.isclose(float(self.ortho_scale), scale, rel_tol=1e-9):
                raise NormalkitError(
                    f"ortho_scale {self.ortho_scale} disagrees with K (fx = {k[0, 0]} px/unit "
                    f"gives {scale}); use Camera.orthographic_look_at")
            self.ortho_scale = float(self.ortho_scale)
        elif self.ortho_scale is not None:
            raise NormalkitError("ortho_scale is for orthographic cameras only")

    # ----------------------------------------------------------------------------------
    # Construction
    @classmethod
    def look_at(cls, eye, target, up=(0.0, 0.0, 1.0), fov_deg: float = 40.0,
                width: int = 1024, height: int = 1024) -> Camera:
        """A centred pinhole camera at ``eye`` looking at ``target``.

        Parameters
        ----------
        eye, target : 3 floats, world coordinates.
        up : 3 floats
            World direction that appears up on screen (default +z, Blender's up).
        fov_deg : float
            Field of view across the larger image side, in degrees (Blender's sensor fit
            AUTO), 0 < fov < 180. Square pixels: fx = fy = (max(W, H)/2) / tan(fov/2).
        width, height : int

        Raises
        ------
        NormalkitError
            ``eye == target``, ``up`` parallel to the view direction, or a bad fov/size.
        """
        w, h = _size(width, "width"), _size(height, "height")
        if not 0 < fov_deg < 180:
            raise NormalkitError(f"fov_deg must be in (0, 180), got {fov_deg!r}")
        f = 0.5 * max(w, h) / math.tan(math.radians(fov_deg) / 2)
        k = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
        m = _frame(_vec3(eye, "eye"), _vec3(target, "target"), _vec3(up, "up"))
        return cls(K=k, width=w, height=h, cam_to_world=m)

    @classmethod
    def orthographic_look_at(cls, eye, target, up=(0.0, 0.0, 1.0), ortho_scale: float = 2.0,
                             width: int = 1024, height: int = 1024) -> Camera:
        """A centred orthographic camera at ``eye`` looking at ``target``.

        ``ortho_scale`` is the view's extent along the larger image side, in world units;
        rays start on the camera plane through ``eye`` (nothing behind it is seen).
        """
        w, h = _size(width, "width"), _size(height, "height")
        if not (ortho_scale and ortho_scale > 0 and math.isfinite(ortho_scale)):
            raise NormalkitError(f"ortho_scale must be positive, got {ortho_scale!r}")
        f = max(w, h) / float(ortho_scale)
        k = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
        m = _frame(_vec3(eye, "eye"), _vec3(target, "target"), _vec3(up, "up"))
        return cls(K=k, width=w, height=h, cam_to_world=m, orthographic=True,
                   ortho_scale=float(ortho_scale))

    # ----------------------------------------------------------------------------------
    # Geometry
    @property
    def position(self) -> np.ndarray:
        """(3,) camera centre (orthographic: centre of the image plane) in world coordinates."""
        return self.cam_to_world[:3, 3].copy()

    @property
    def forward(self) -> np.ndarray:
        """(3,) unit viewing direction (the camera's −z axis) in world coordinates."""
        return -self.cam_to_world[:3, 2]

    @property
    def world_to_camera(self) -> np.ndarray:
        """(4, 4) inverse of ``cam_to_world`` (world → OpenGL camera frame)."""
        r = self.cam_to_world[:3, :3]
        out = np.eye(4)
        out[:3, :3] = r.T
        out[:3, 3] = -r.T @ self.cam_to_world[:3, 3]
        return out

    @property
    def fov_deg(self) -> tuple[float, float]:
        """(horizontal, vertical) field of view in degrees of a centred pinhole camera."""
        if self.orthographic:
            raise NormalkitError("an orthographic camera has no field of view; see ortho_scale")
        return (math.degrees(2 * math.atan(self.width / 2 / self.K[0, 0])),
                math.degrees(2 * math.atan(self.height / 2 / self.K[1, 1])))

    def to_camera(self, points) -> np.ndarray:
        """(N, 3) world points → (N, 3) camera-frame points (x right, y up, −z forward)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        m = self.world_to_camera
        return p @ m[:3, :3].T + m[:3, 3]

    def z_depth(self, points) -> np.ndarray:
        """(N,) z-depth of world points (positive in front of the camera)."""
        return -self.to_camera(points)[:, 2]

    def project(self, points) -> np.ndarray:
        """Continuous pixel coordinates of world points.

        Parameters
        ----------
        points : (N, 3) world coordinates.

        Returns
        -------
        (N, 2) float64 (col, row) = (x, y) pixel coordinates: pixel (row j, column i) spans
        [i, i+1) × [j, j+1), so its centre is (i + 0.5, j + 0.5). Points at or behind the
        camera plane of a pinhole camera give NaN. Points outside the image are not clipped.
        """
        c = self.to_camera(points)
        if self.orthographic:
            x, y = c[:, 0], -c[:, 1]
        else:
            d = -c[:, 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(d > 0, c[:, 0] / d, np.nan)
                y = np.where(d > 0, -c[:, 1] / d, np.nan)
        k = self.K
        return np.stack([k[0, 0] * x + k[0, 1] * y + k[0, 2], k[1, 1] * y + k[1, 2]], axis=1)

    def _pixel_rays(self, rows: tuple[int, int], offsets: np.ndarray, pixels: bool = True):
        """Rays through sample ``offsets`` of every pixel of rows [r0, r1).

        Returns origins (N, 3) float32, directions (N, 3) float32 scaled so that the ray
        parameter t *is* the z-depth (pinhole: camera-frame z component −1; orthographic: the
        unit forward vector), and pixel (N,) int64 flat indices j·W + i (None unless
        ``pixels``). Order: pixel-major, samples inner, so ray k belongs to pixel
        r0·W + k // S.
        """
        r0, r1 = rows
        w = self.width
        kinv = np.linalg.inv(self.K)
        px = np.arange(w, dtype=np.float64)[None, :, None] + offsets[None, None, :, 0]
        py = np.arange(r0, r1, dtype=np.float64)[:, None, None] + offsets[None, None, :, 1]
        # OpenCV-frame image-plane coordinates (y down), broadcast to (rows, W, S).
        xn = (kinv[0, 0] * px + kinv[0, 1] * py + kinv[0, 2]).astype(np.float32)
        yn = np.broadcast_to((kinv[1, 1] * py + kinv[1, 2]).astype(np.float32), xn.shape)
        r = self.cam_to_world[:3, :3].astype(np.float32)
        eye = self.cam_to_world[:3, 3]
        shape = xn.shape + (3,)
        if self.orthographic:
            # xn, yn are camera-plane coordinates in world units.
            origins = np.empty(shape, np.float32)
            np.multiply(xn[..., None], r[:, 0], out=origins)
            origins -= yn[..., None] * r[:, 1]
            origins += eye.astype(np.float32)
            directions = np.broadcast_to(-r[:, 2], shape)
        else:
            origins = np.broadcast_to(eye.astype(np.float32), shape)
            directions = np.empty(shape, np.float32)
            np.multiply(xn[..., None], r[:, 0], out=directions)
            directions -= yn[..., None] * r[:, 1]
            directions -= r[:, 2]
        pix = None
        if pixels:
            pix = np.repeat(np.arange(r0 * w, r1 * w, dtype=np.int64), len(offsets))
        return (np.ascontiguousarray(origins.reshape(-1, 3)),
                np.ascontiguousarray(directions.reshape(-1, 3)), pix)

    def rays(self, samples: int = 1):
        """Primary rays of every pixel, stratified within the pixel.

        Parameters
        ----------
        samples : int
            Rays per pixel, a perfect square S: the centres of a √S × √S grid of equal
            strata of the pixel (S = 1: the pixel centre (i + 0.5, j + 0.5)).

        Returns
        -------
        origins : (N, 3) float32, N = W·H·S, world coordinates (pinhole: the camera centre;
            orthographic: points on the camera plane).
        directions : (N, 3) float32 unit vectors.
        pixel : (N,) int64 flat pixel index j·W + i (row-major, row 0 at the top); the
            S samples of a pixel are consecutive.

        Cost: 28·N bytes of output; see :func:`normalkit.rendering.render.render` for tiled use.
        """
        o, d, pix = self._pixel_rays((0, self.height), pixel_sample_offsets(samples))
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        return o, d.astype(np.float32), pix

    # ----------------------------------------------------------------------------------
    # Serialization
    def to_json(self) -> dict:
        """A JSON-ready dict: ``json.dumps(camera.to_json())``; :meth:`from_json` inverts it.

        Keys: ``K``, ``width``, ``height``, ``cam_to_world``, ``world_to_cam`` (redundant,
        for convenience), ``orthographic``, ``ortho_scale`` and ``fov_deg`` ([horizontal,
        vertical], pinhole only). Matrices are nested row lists.
        """
        d = {"K": self.K.tolist(), "width": self.width, "height": self.height,
             "cam_to_world": self.cam_to_world.tolist(),
             "world_to_cam": self.world_to_camera.tolist(),
             "orthographic": self.orthographic, "ortho_scale": self.ortho_scale}
        if not self.orthographic:
            d["fov_deg"] = list(self.fov_deg)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Camera:
        """Rebuild a camera from :meth:`to_json` output (extra keys are ignored).

        Raises
        ------
        NormalkitError
            ``d`` is not a dict, a key is missing, or a value has the wrong type or shape
            (``K`` 3×3 and ``cam_to_world`` 4×4 finite numbers, ``width``/``height``
            positive integers, ``orthographic`` true/false, ``ortho_scale`` a positive
            number or null), or the camera itself is invalid (see :class:`Camera`).
        """
        if not isinstance(d, dict):
            raise NormalkitError(f"a camera must be a JSON object, got {_json_type(d)}")
        missing = [k for k in ("K", "width", "height", "cam_to_world") if k not in d]
        if missing:
            raise NormalkitError(f"the camera has no {', '.join(repr(k) for k in missing)}")
        ortho = d.get("orthographic", False)
        if not isinstance(ortho, (bool, np.bool_)):
            raise NormalkitError(f"orthographic must be true or false, got {_short(ortho)}")
        scale = d.get("ortho_scale")
        if scale is not None:
            try:
                scale = float(scale) if _is_number(scale) else math.nan
            except OverflowError:  # an integer beyond float range
                scale = math.inf
            if not 0 < scale < math.inf:
                raise NormalkitError(
                    f"ortho_scale must be a positive number, got {_short(d['ortho_scale'])}")
        for key in ("width", "height"):
            v = d[key]
            if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                    and 0 < v <= 32768):
                raise NormalkitError(
                    f"{key} must be a positive integer ≤ 32768, got {_short(v)}")
        k = _matrix(d["K"], (3, 3), "K")
        m = _matrix(d["cam_to_world"], (4, 4), "cam_to_world")
        with np.errstate(all="ignore"):  # 1e308 entries overflow in the checks: they fail
            return cls(K=k, width=d["width"], height=d["height"], cam_to_world=m,
                       orthographic=bool(ortho), ortho_scale=scale)


#: The ``format`` string of the cameras.json that ``normalkit render`` writes.
CAMERAS_FORMAT = "normalkit cameras 1"


def _json_type(v) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             type(None): "null"}
    for t, name in names.items():
        if isinstance(v, t):
            return name
    return "a number" if _is_number(v) else type(v).__name__


def _short(v, limit: int = 40) -> str:
    """A one-line, bounded repr of a JSON value for messages."""
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 3] + "..."


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_))


def _matrix(value, shape: tuple[int, int], name: str) -> np.ndarray:
    """``value`` (row lists or an array) as a finite float64 matrix of ``shape``."""
    rows, cols = shape
    want = f"{name} must be a {rows}×{cols} matrix of finite numbers (a list of {rows} rows)"
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise NormalkitError(f"{want}, got a {value.dtype} array")
        a = value.astype(np.float64)
    else:
        if not (isinstance(value, (list, tuple)) and len(value) == rows and all(
                isinstance(r, (list, tuple)) and len(r) == cols and all(map(_is_number, r))
                for r in value)):
            raise NormalkitError(f"{want}, got {_short(value)}")
        try:
            a = np.array(value, dtype=np.float64)
        except OverflowError:  # an integer beyond float range
            raise NormalkitError(f"{want}; a number is too large") from None
    if a.shape != shape:
        raise NormalkitError(f"{want}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise NormalkitError(f"{want}; it holds NaN or infinity")
    return a


def load_cameras(path) -> list[Camera]:
    """The cameras of a ``cameras.json`` as ``normalkit render`` writes it.

    Parameters
    ----------
    path : str or PathLike
        A JSON document with ``"format": "normalkit cameras 1"`` and a non-empty
        ``"views"`` list; each view holds :meth:`Camera.to_json` keys (``K``, ``width``,
        ``height``, ``cam_to_world``, optional ``orthographic``/``ortho_scale``); other
        keys (``files``, ``depth_range``, …) are ignored here.

    Returns
    -------
    list of Camera, in the order of ``views``.

    Raises
    ------
    NormalkitError
        One line naming the file and the problem: missing or unreadable file, not JSON,
        another format (or a newer version of this one), no views, or a view whose
        camera is invalid (as :meth:`Camera.from_json` checks).
    """
    import json
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        what = "it is a directory" if p.is_dir() else "no such file"
        raise NormalkitError(f"cannot read '{p}': {what}; check the path")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise NormalkitError(f"cannot read '{p}': {exc.strerror or exc}") from None
    try:
        doc = json.loads(data)
    except RecursionError:
        raise NormalkitError(f"cannot read '{p}': the JSON is nested too deeply; "
                             "it is not a cameras.json") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, huge integers
        reason = " ".join(str(exc).split())[:160]
        raise NormalkitError(f"cannot read '{p}': not valid JSON ({reason}); "
                             "re-render it with `normalkit render`") from None
    if not isinstance(doc, dict):
        raise NormalkitError(f"cannot read '{p}': the document is {_json_type(doc)}, not an "
                             f"object with \"format\": \"{CAMERAS_FORMAT}\"")
    fmt = doc.get("format")
    if fmt != CAMERAS_FORMAT:
        if isinstance(fmt, str) and fmt.startswith("normalkit cameras "):
            raise NormalkitError(f"cannot read '{p}': its format {_short(fmt)} is not "
                                 f"{CAMERAS_FORMAT!r}; a newer normalkit wrote it, upgrade")
        raise NormalkitError(f"cannot read '{p}': not a normalkit cameras.json (format "
                             f"{'missing' if fmt is None else _short(fmt)}, expected "
                             f"{CAMERAS_FORMAT!r})")
    views = doc.get("views")
    if not isinstance(views, list) or not views:
        got = "missing" if views is None else (
            "empty" if views == [] else _json_type(views))
        raise NormalkitError(f"cannot read '{p}': \"views\" must be a non-empty list of "
                             f"cameras, it is {got}")
    cams = []
    for k, view in enumerate(views):
        try:
            cams.append(Camera.from_json(view))
        except NormalkitError as exc:
            raise NormalkitError(f"cannot read '{p}': view {k}: {exc}") from None
    return cams


# --------------------------------------------------------------------------------------------
# Orbits


def orbit_angles(views: int | None = 8, azimuths=None, elevations=None):
    """(azimuth, elevation) pairs of an orbit, in degrees.

    Parameters
    ----------
    views : int
        Number of evenly spaced azimuths 0, 360/n, … (used when ``azimuths`` is None).
    azimuths, elevations : sequences of degrees, optional
        Explicit angles. They pair up element by element; a single value is repeated to
        the other's length. Default elevation: 20°.

    Returns
    -------
    (az, el) : two (V,) float64 arrays.

    Raises
    ------
    NormalkitError
        No views, lengths that cannot pair up, or an elevation outside [−90, 90].
    """
    if azimuths is None:
        if views is None or isinstance(views, bool) or int(views) != views or views < 1:
            raise NormalkitError(f"views must be a positive integer, got {views!r}")
        az = np.arange(int(views)) * (360.0 / int(views))
    else:
        az = np.asarray(azimuths, dtype=np.float64).reshape(-1)
    el = np.asarray([20.0] if elevations is None else elevations, np.float64).reshape(-1)
    if az.size == 0 or el.size == 0:
        raise NormalkitError("no views: give --views N ≥ 1 or at least one azimuth and elevation")
    if len(az) != len(el):
        if len(el) == 1:
            el = np.repeat(el, len(az))
        elif len(az) == 1:
            az = np.repeat(az, len(el))
        else:
            raise NormalkitError(
                f"{len(az)} azimuths and {len(el)} elevations: give equal counts (paired) "
                "or a single value for one of them")
    if not (np.isfinite(az).all() and np.isfinite(el).all()):
        raise NormalkitError("azimuths and elevations must be finite numbers of degrees")
    if np.abs(el).max() > 90:
        raise NormalkitError(f"elevations must lie in [-90, 90] degrees, got {el.tolist()}")
    return az, el


def _orbit_basis(up: np.ndarray):
    """(front, side, up) unit axes; the camera at azimuth a sits along cos a·front + sin a·side.

    For up = +z: front = −y (the camera at azimuth 0 sits on −y: Blender's front view) and
    side = +x (azimuth 90° is the right view). For up = +y: front = +z, side = +x.
    """
    length = np.linalg.norm(up)
    if not length > 0:
        raise NormalkitError(f"up must be a non-zero direction, got {tuple(up)}; e.g. 0 0 1 "
                             "(Z-up files) or 0 1 0 (Y-up files)")
    up = up / length
    ref = np.array([1.0, 0.0, 0.0])
    if abs(up @ ref) > 0.9:
        ref = np.array([0.0, 1.0, 0.0])
    front = -np.cross(up, ref)
    front -= (front @ up) * up
    front /= np.linalg.norm(front)
    side = np.cross(up, front)
    return front, side, up


def _bounds_points(mesh_or_bounds):
    """(points, positions-or-None) from a Mesh, a path, or (2, 3) bounds."""
    from ..mesh.model import Mesh

    if isinstance(mesh_or_bounds, Mesh):
        mesh_or_bounds.validate()
        return np.asarray(mesh_or_bounds.positions, np.float64), mesh_or_bounds
    if isinstance(mesh_or_bounds, str) or hasattr(mesh_or_bounds, "__fspath__"):
        from ..mesh.io import load_mesh

        m = load_mesh(mesh_or_bounds)
        return m.positions, m
    b = np.asarray(mesh_or_bounds, dtype=np.float64)
    if b.shape != (2, 3) or not np.isfinite(b).all() or (b[1] < b[0]).any():
        raise NormalkitError(
            "orbit_cameras needs a Mesh, a mesh path or bounds [[xmin, ymin, zmin], "
            "[xmax, ymax, zmax]]")
    corners = np.array([[b[i, 0], b[j, 1], b[k, 2]] for i in (0, 1) for j in (0, 1)
                        for k in (0, 1)])
    return corners, None


def orbit_cameras(mesh_or_bounds, views: int | None = 8, *, azimuths=None, elevations=None,
                  size: int = 1024, width: int | None = None, height: int | None = None,
                  fov_deg: float = 40.0, distance: float | None = None,
                  up=(0.0, 0.0, 1.0), orthographic: bool = False,
                  margin: float = 1.05) -> list[Camera]:
    """Cameras on an orbit around a mesh, looking at its bounding-box centre.

    Parameters
    ----------
    mesh_or_bounds : Mesh, path, or (2, 3) array of [min, max] corners
    views, azimuths, elevations
        The orbit, as in :func:`orbit_angles` (default: 8 views at 20° elevation).
        Azimuth 0 sees the front (for up = +z the camera sits on −y, Blender's front view;
        for up = +y on +z), 90° the right side; elevation 90° looks straight down.
    size, width, height : int
        Image size (``width``/``height`` override ``size``).
    fov_deg : float
        Pinhole field of view across the larger image side (degrees).
    distance : float, optional
        Camera distance from the centre. Default: the smallest distance at which every
        vertex (or bounds corner) projects inside the frame, with ``margin``, in every view
        (one distance for all views, so a turntable keeps its scale).
    up : 3 floats
        The orbit axis and screen-up direction (default +z). At elevation ±90° the screen up
        is the front axis instead.
    orthographic : bool
        Parallel cameras; ``ortho_scale`` is fitted the same way, and the camera plane sits
        outside the bounding sphere (or at ``distance``).
    margin : float
        Framing slack: 1.0 makes the outermost vertex touch the frame edge.

    Returns
    -------
    list of Camera, one per (azimuth, elevation).

    Raises
    ------
    NormalkitError
        No views; or a camera inside the mesh (with an explicit ``distance``): rays cast
        from its position hit the back faces of a closed surface.

    Cost: O(V·views) for the framing; with an explicit distance that puts the camera
    within the mesh's extent, an Embree scene is built for the inside test (~1 s per
    million triangles).
    """
    az, el = orbit_angles(views, azimuths, elevations)
    w = _size(size if width is None else width, "width")
    h = _size(size if height is None else height, "height")
    if not orthographic and not 0 < fov_deg < 180:
        raise NormalkitError(f"fov_deg must be in (0, 180), got {fov_deg!r}")
    if not (margin > 0):
        raise NormalkitError(f"margin must be positive, got {margin!r}")
    if distance is not None and not (distance > 0 and math.isfinite(distance)):
        raise NormalkitError(f"distance must be positive, got {distance!r}")
    points, mesh = _bounds_points(mesh_or_bounds)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (lo + hi)
    q = points - centre
    radius = float(np.sqrt((q * q).sum(axis=1).max())) or 1.0
    front, side, upv = _orbit_basis(_vec3(up, "up"))

    a, e = np.radians(az), np.radians(el)
    dirs = (np.cos(e)[:, None] * (np.cos(a)[:, None] * front + np.sin(a)[:, None] * side)
            + np.sin(e)[:, None] * upv)  # unit, centre → eye
    frames = []
    for k, wdir in enumerate(dirs):
        cam_up = upv if abs(wdir @ upv) < 1 - 1e-9 else (
            -np.sign(wdir @ upv) * (np.cos(a[k]) * front + np.sin(a[k]) * side))
        m = _frame(centre + wdir, centre, cam_up)  # axes only; position set below
        frames.append(m)

    big = max(w, h)
    if orthographic:
        half = np.zeros(len(frames))
        for k, m in enumerate(frames):
            x = np.abs(q @ m[:3, 0]).max() * big / w
            y = np.abs(q @ m[:3, 1]).max() * big / h
            half[k] = max(x, y)
        scale = 2.0 * margin * max(float(half.max()), 1e-12)
        dist = 2.0 * radius if distance is None else float(distance)
    else:
        f = 0.5 * big / math.tan(math.radians(fov_deg) / 2)
        tx, ty = (w / 2) / f, (h / 2) / f  # tan of the half-angles
        need = np.zeros(len(frames))
        for k, m in enumerate(frames):
            s = q @ dirs[k]
            need[k] = np.max(s + margin * np.maximum(np.abs(q @ m[:3, 0]) / tx,
                                                     np.abs(q @ m[:3, 1]) / ty))
        dist = float(need.max()) if distance is None else float(distance)

    cams = []
    for k, m in enumerate(frames):
        eye = centre + dist * dirs[k]
        m = m.copy()
        m[:3, 3] = eye
        if orthographic:
            f_o = big / scale
            kmat = np.array([[f_o, 0, w / 2], [0, f_o, h / 2], [0, 0, 1.0]])
            cams.append(Camera(kmat, w, h, m, orthographic=True, ortho_scale=scale))
        else:
            kmat = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])
            cams.append(Camera(kmat, w, h, m))

    if distance is not None and mesh is not None:
        # A camera whose position has every vertex in front of it (a separating plane) is
        # outside the mesh; test the others with rays.
        suspects = [k for k in range(len(cams)) if (q @ dirs[k]).max() >= dist]
        if suspects:
            from ..baking.rays import RayCaster

            caster = RayCaster(mesh.positions, mesh.faces)
            fn = mesh.face_normals()
            for k in suspects:
                inside, why = eye_inside(caster, fn, cams[k].position)
                if inside:
                    raise NormalkitError(
                        f"camera {k} (azimuth {az[k]:g}°, elevation {el[k]:g}°) is inside the "
                        f"mesh ({why}); increase the distance (now {dist:g}, bounding radius "
                        f"{radius:g}) or leave it out to frame the mesh automatically")
    return cams


def _fibonacci_sphere(n: int) -> np.ndarray:
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    r = np.sqrt(1 - z * z)
    phi = i * math.pi * (3 - math.sqrt(5))
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def eye_inside(caster, face_normals: np.ndarray, eye, rays: int = INSIDE_RAYS):
    """Whether ``eye`` is inside a closed mesh.

    Casts ``rays`` rays from ``eye`` in evenly spread directions. Inside a closed surface
    with counter-clockwise (outward) winding nearly every ray hits, and hits the back of a
    face. The point counts as inside when ≥ 90 % of the rays hit and more than half of
    the hits are back faces (so an open surface seen from behind is not "inside").

    Parameters
    ----------
    caster : normalkit.baking.rays.RayCaster over the mesh
    face_normals : (F, 3) geometric face normals (``Mesh.face_normals()``)
    eye : 3 floats

    Returns
    -------
    (inside, reason) : bool and a short description of the counts.
    """
    d = _fibonacci_sphere(rays)
    o = np.broadcast_to(_vec3(eye, "eye"), d.shape)
    prim = caster.intersect(o, d, np.full(rays, np.inf, np.float32)).prim
    hit = prim >= 0
    n_hit = int(hit.sum())
    back = int(((face_normals[prim[hit]] * d[hit]).sum(axis=1) > 0).sum())
    inside = n_hit >= 0.9 * rays and back > 0.5 * n_hit
    return inside, f"{back} of {rays} rays from it hit back faces, {rays - n_hit} escape"
