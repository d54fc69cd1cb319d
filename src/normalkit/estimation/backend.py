"""The estimator interface: RGB in, camera-frame unit normals (or relative depth) out.

Every backend (a diffusion model, an oracle, your own) subclasses
:class:`NormalEstimator` or :class:`DepthEstimator` and implements ``_predict``. The base
class owns everything at the boundary, once for all backends:

* the input is checked and made (H, W, 3) float32 sRGB in [0, 1]: greyscale is repeated
  into three channels, an alpha channel is composited over :data:`BACKGROUND`;
* the backend's normals are turned into normalkit's camera frame by ``frame`` (a 3×3
  matrix; identity for Marigold, whose frame is ours: x right, y up, +z toward the
  viewer), renormalised, and checked for shape and finiteness;
* the time spent in the model (``model_seconds``) is kept apart from the rest, so that
  the wrapper's own overhead can be measured.

Adding a backend: subclass, set ``name`` and ``frame``, implement
``_predict(rgb) -> (normals, uncertainty or None)``, and register a loader with
:func:`register` so that ``--model yourname:…`` finds it (README, "Estimate").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import NormalkitError

__all__ = ["BACKGROUND", "DepthEstimate", "DepthEstimator", "NormalEstimate",
           "NormalEstimator", "as_rgb", "load_estimator", "register"]

#: Colour (sRGB) behind transparent pixels of RGBA input: white, as image-to-3D front ends
#: (rembg'd photos, multi-view diffusion outputs) present objects.
BACKGROUND = (1.0, 1.0, 1.0)


@dataclass
class NormalEstimate:
    """A normal map estimated from one image.

    Attributes
    ----------
    normals : (H, W, 3) float32
        Unit normals in the camera frame (x right, y up, +z toward the viewer).
    uncertainty : (H, W) float32 or None
        The backend's per-pixel uncertainty (Marigold: the ensemble's spread), if any.
    model_seconds : float
        Time spent inside the model; the rest of a call is the wrapper's overhead.
    """

    normals: np.ndarray
    uncertainty: np.ndarray | None = None
    model_seconds: float = 0.0
    info: dict = field(default_factory=dict)


@dataclass
class DepthEstimate:
    """Relative (affine-invariant) depth estimated from one image: (H, W) float32, larger
    is farther; ``uncertainty`` and ``model_seconds`` as in :class:`NormalEstimate`."""

    depth: np.ndarray
    uncertainty: np.ndarray | None = None
    model_seconds: float = 0.0
    info: dict = field(default_factory=dict)


def as_rgb(image, label: str = "image") -> np.ndarray:
    """(H, W, 3) float32 sRGB in [0, 1] from a greyscale, RGB or RGBA array.

    Integer images are scaled by their type's maximum; float images must lie in [0, 1].
    Alpha is composited over :data:`BACKGROUND` (straight alpha).
    """
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or min(a.shape[:2]) < 1:
        raise NormalkitError(f"{label}: expected an (H, W), (H, W, 3) or (H, W, 4) image, got "
                             f"shape {tuple(np.shape(image))}")
    if np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        top = 1.0 if a.dtype == bool else float(np.iinfo(a.dtype).max)
        a = a.astype(np.float32) / top
    elif np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise NormalkitError(f"{label}: the image holds NaN or infinite values")
        if a.min() < -1e-3 or a.max() > 1.0 + 1e-3:
            raise NormalkitError(f"{label}: float images must lie in [0, 1], this one spans "
                                 f"[{a.min():.3g}, {a.max():.3g}]; scale it first")
        a = np.clip(a, 0.0, 1.0)
    else:
        raise NormalkitError(f"{label}: unsupported pixel type {a.dtype}")
    c = a.shape[2]
    colour = a[:, :, :1] if c in (1, 2) else a[:, :, :3]
    if c in (2, 4):
        alpha = a[:, :, -1:]
        colour = colour * alpha + np.asarray(BACKGROUND, np.float32)[:colour.shape[2]] * (1 - alpha)
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    return np.ascontiguousarray(colour, dtype=np.float32)


class _Estimator:
    """Shared by normal and depth estimators: a name, a description for reports."""

    #: Short name for reports and sheets.
    name: str = "estimator"

    def describe(self) -> dict:
        """Settings for report.json (JSON-serialisable)."""
        return {"name": self.name}

    def _run(self, image, label: str):
        """(rgb, the backend's output, seconds in the backend) for one image."""
        rgb = as_rgb(image, label)
        t0 = time.perf_counter()
        out = self._predict(rgb)
        return rgb, out, time.perf_counter() - t0


class NormalEstimator(_Estimator):
    """Base class of normal estimators; see the module docstring."""

    #: 3×3 matrix taking the backend's normal frame to normalkit's camera frame.
    frame: np.ndarray = np.eye(3)

    def predict(self, image, label: str = "image") -> NormalEstimate:
        """Estimate the normals of one image (any of :func:`as_rgb`'s forms)."""
        rgb, (normals, uncertainty), model = self._run(image, label)
        return NormalEstimate(normals=self._to_camera(normals, rgb.shape[:2]),
                              uncertainty=_plane(uncertainty, rgb.shape[:2], "uncertainty"),
                              model_seconds=model)

    def _predict(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def _to_camera(self, normals, shape) -> np.ndarray:
        n = np.asarray(normals, dtype=np.float32)
        if n.shape != (*shape, 3):
            raise NormalkitError(f"{self.name}: the backend returned normals of shape "
                                 f"{n.shape} for an image of {shape[1]}x{shape[0]}")
        m = np.asarray(self.frame, dtype=np.float32)
        if not np.array_equal(m, np.eye(3, dtype=np.float32)):
            n = n @ m.T
        length = np.linalg.norm(n, axis=2, keepdims=True)
        bad = ~np.isfinite(length) | (length < 1e-6)
        if bad.any():
            raise NormalkitError(f"{self.name}: the backend returned {int(bad.sum())} "
                                 "zero or non-finite normals")
        return (n / length).astype(np.float32)


class DepthEstimator(_Estimator):
    """Base class of relative-depth estimators: ``_predict(rgb) -> (depth, uncertainty)``."""

    def predict(self, image, label: str = "image") -> DepthEstimate:
        rgb, (depth, uncertainty), model = self._run(image, label)
        d = _plane(depth, rgb.shape[:2], "depth")
        if not np.isfinite(d).all():
            raise NormalkitError(f"{self.name}: the backend returned non-finite depth")
        return DepthEstimate(depth=d, uncertainty=_plane(uncertainty, rgb.shape[:2],
                                                         "uncertainty"),
                             model_seconds=model)

    def _predict(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


def _plane(a, shape, what: str) -> np.ndarray | None:
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.shape != tuple(shape):
        raise NormalkitError(f"the backend returned {what} of shape {a.shape} for an image of "
                             f"{shape[1]}x{shape[0]}")
    return a


# --------------------------------------------------------------------------------------------
# Registry: "--model" strings → estimators

_LOADERS: dict[str, Callable] = {}


def register(prefix: str, loader: Callable) -> None:
    """Make ``--model PREFIX:ARG`` (or just ``PREFIX``) call ``loader(ARG or None, task,
    **options)``, which returns an estimator."""
    _LOADERS[prefix] = loader


def load_estimator(model: str, task: str = "normals", **options):
    """The estimator that ``model`` names.

    ``model`` is a registered prefix (``oracle``, ``oracle:5``; see :func:`register`),
    or anything else: a local Marigold folder or a Hugging Face hub id, loaded by
    :class:`normalkit.estimation.marigold.Marigold` with ``options``.
    """
    if task not in ("normals", "depth"):
        raise NormalkitError(f"task must be 'normals' or 'depth', got {task!r}")
    if not isinstance(model, str) or not model.strip():
        raise NormalkitError("no model given; pass --model with a local Marigold folder or "
                             "a hub id such as prs-eth/marigold-normals-v1-1")
    prefix, _, arg = model.partition(":")
    if prefix in _LOADERS:
        return _LOADERS[prefix](arg or None, task, **options)
    from .marigold import Marigold, MarigoldDepth

    return (MarigoldDepth if task == "depth" else Marigold)(model, **options)
