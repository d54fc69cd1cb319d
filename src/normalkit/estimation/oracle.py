"""Oracle backends: they test the evaluation harness, not a model.

* ``oracle`` returns the ground truth itself: every error statistic must be 0°;
* ``oracle:DEG`` returns the truth with every normal turned by exactly DEG degrees about
  a random axis perpendicular to it: every pixel's error is DEG, so the mean, the median
  and the thresholds are known in advance.

An oracle knows the truth because the harness shows it each view first
(:meth:`OracleNormals.observe`); it finds it again by the image's content.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..core.errors import NormalkitError
from .backend import NormalEstimator, as_rgb, register

__all__ = ["OracleNormals", "perturb"]


def perturb(normals: np.ndarray, degrees: float, seed: int = 0) -> np.ndarray:
    """Each unit normal turned by exactly ``degrees`` about a random axis perpendicular
    to it (Rodrigues; the axis is uniform on the circle around the normal)."""
    n = np.asarray(normals, dtype=np.float64)
    rng = np.random.default_rng(seed)
    helper = np.where(np.abs(n[..., 2:3]) < 0.9, [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    u = np.cross(n, helper)
    u /= np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-30)
    v = np.cross(n, u)
    phi = rng.uniform(0.0, 2.0 * np.pi, n.shape[:-1])[..., None]
    t = np.radians(degrees)
    # Turning n by t about an axis k ⊥ n gives n·cos t + (k × n)·sin t, and k × n spans
    # the tangent plane as k does: a random direction in it.
    tangent = np.cos(phi) * u + np.sin(phi) * v
    return (n * np.cos(t) + tangent * np.sin(t)).astype(np.float32)


def _key(rgb: np.ndarray) -> str:
    a = as_rgb(rgb)
    return hashlib.sha1(a.tobytes() + str(a.shape).encode()).hexdigest()


class OracleNormals(NormalEstimator):
    """The truth, optionally turned by ``degrees`` at every pixel (see the module)."""

    def __init__(self, degrees: float = 0.0, seed: int = 0):
        if not np.isfinite(degrees) or not 0.0 <= degrees <= 180.0:
            raise NormalkitError(f"an oracle's perturbation must be 0 to 180 degrees, got "
                                 f"{degrees}")
        self.degrees = float(degrees)
        self.seed = int(seed)
        self.name = "oracle" if degrees == 0 else f"oracle:{degrees:g}"
        self._truth: dict[str, np.ndarray] = {}

    def describe(self) -> dict:
        return {"name": self.name, "perturbation_deg": self.degrees, "seed": self.seed}

    def observe(self, rgb: np.ndarray, normals: np.ndarray) -> None:
        """Learn the camera-frame truth of an image (zero vectors: no truth there)."""
        self._truth[_key(rgb)] = np.asarray(normals, dtype=np.float32)

    def _predict(self, rgb):
        truth = self._truth.get(_key(rgb))
        if truth is None:
            raise NormalkitError("the oracle has no truth for this image: it works only "
                                 "inside `normalkit estimate eval`, on views with normals")
        n = truth.copy()
        empty = np.linalg.norm(n, axis=-1) < 1e-6
        n[empty] = (0.0, 0.0, 1.0)
        if self.degrees:
            n = perturb(n, self.degrees, self.seed)
        return n, None


def _load(arg, task, **options):
    if task != "normals":
        raise NormalkitError("the oracle backends estimate normals only")
    unknown = {k for k, v in options.items() if v is not None} - {"seed"}
    if unknown:
        raise NormalkitError(f"the oracle takes no {', '.join(sorted(unknown))} option")
    try:
        degrees = float(arg) if arg is not None else 0.0
    except ValueError:
        raise NormalkitError(f"oracle:{arg}: the perturbation must be a number of degrees, "
                             "e.g. oracle:5") from None
    return OracleNormals(degrees, seed=options.get("seed") or 0)


register("oracle", _load)
