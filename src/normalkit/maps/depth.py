"""Depth map -> camera-space normal map, without differencing across depth jumps.

Frames follow CONVENTIONS.md: depth is positive z-depth, the camera frame is
OpenGL (x right, y up, looking down −z), so the normals have +z toward the
viewer; pixel (row j, column i) has its centre at (i + 0.5, j + 0.5).
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import NormalkitError
from .integrate import check_intrinsics

__all__ = ["backproject", "depth_to_normals"]


def backproject(depth: np.ndarray, K: np.ndarray | None = None, *, orthographic: bool = False,
                pixel_size: float = 1.0) -> np.ndarray:
    """Camera-frame 3D points of every pixel of a depth map.

    Parameters
    ----------
    depth : numpy.ndarray
        (H, W) positive z-depth (NaN is passed through).
    K : numpy.ndarray, optional
        (3, 3) intrinsics ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``; required
        unless ``orthographic``.
    orthographic : bool
        Orthographic camera: pixel (j, i) is at x = (i + 0.5)·pixel_size,
        y = −(j + 0.5)·pixel_size.
    pixel_size : float
        Orthographic only: pixel width in depth units.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) float64 points in the OpenGL camera frame:
        perspective ``(d·(u − cx)/fx, −d·(v − cy)/fy, −d)`` with
        ``(u, v) = (i + 0.5, j + 0.5)``; z is always −depth.

    Notes
    -----
    One vectorized pass; memory is the (H, W, 3) float64 output.
    """
    d = np.asarray(depth, dtype=np.float64)
    H, W = d.shape
    u = np.arange(W) + 0.5
    v = np.arange(H) + 0.5
    P = np.empty((H, W, 3))
    if orthographic:
        P[..., 0] = u[None, :] * pixel_size
        P[..., 1] = -v[:, None] * pixel_size
    else:
        K = check_intrinsics(K)
        P[..., 0] = d * ((u[None, :] - K[0, 2]) / K[0, 0])
        P[..., 1] = d * (-(v[:, None] - K[1, 2]) / K[1, 1])
    P[..., 2] = -d
    return P


def depth_to_normals(
    depth: np.ndarray,
    mask: np.ndarray | None = None,
    K: np.ndarray | None = None,
    *,
    orthographic: bool = False,
    pixel_size: float = 1.0,
    discontinuity: float | None = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame unit normals of a depth map, one-sided at depth discontinuities.

    Parameters
    ----------
    depth : numpy.ndarray
        (H, W) (or (H, W, 1)) positive z-depth, any float or integer dtype.
    mask : numpy.ndarray, optional
        (H, W) boolean: where the surface is. Default: where ``depth`` is
        finite and positive. Inside the mask, depth must be finite and > 0.
    K : numpy.ndarray, optional
        (3, 3) intrinsics in pixels, pixel centres at (i + 0.5, j + 0.5).
        Required unless ``orthographic``.
    orthographic : bool
        Orthographic camera looking down −z (then ``K`` must be None).
    pixel_size : float
        Orthographic only: pixel width in depth units (default 1).
    discontinuity : float or None
        Relative depth-jump threshold: two 4-neighbours p, q belong to one
        surface only if ``|d_q − d_p| <= discontinuity · min(d_p, d_q)``.
        Default 0.02 (2 %). None: never split (every pair in the mask is used).

    Returns
    -------
    normals : numpy.ndarray
        (H, W, 3) float32 unit normals in the OpenGL camera frame (+z toward the
        viewer); zero vectors where ``valid`` is False.
    valid : numpy.ndarray
        (H, W) bool: pixels in the mask with at least one usable neighbour along
        each image axis.

    Raises
    ------
    NormalkitError
        ``depth`` is not 2-D, the mask's shape differs, depth inside the mask is
        NaN, infinite or not positive, neither or both of ``K`` and
        ``orthographic``, invalid ``K``, ``pixel_size`` or ``discontinuity``; no
        valid depth at all (all NaN, infinite or ≤ 0, or an empty mask), or no pixel
        that gets a normal (the result would be empty).

    Notes
    -----
    Pixels are back-projected with :func:`backproject`. Along each image axis
    the tangent is the central difference of the two neighbours' points when
    both pairs are usable (same surface, inside the mask), the one-sided
    difference when only one is, and the pixel is invalid when neither is. The
    normal is ``normalize(T_rows × T_cols)`` (rows go down, columns right), which
    faces the camera. A step of relative size ``r`` at a pixel seen at angle θ
    from the view axis in a camera of focal length f (pixels) means
    ``tan θ ≈ r·f``: 2 % at f = 500 splits only surfaces steeper than about 84°.

    Cost: a handful of vectorized passes over (H, W, 3) float64 arrays, about
    0.5 s per million pixels; peak memory about 225 bytes per pixel.
    """
    d = np.asarray(depth)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[:, :, 0]
    if d.ndim != 2:
        raise NormalkitError(f"depth must have shape (H, W), got {d.shape}")
    if d.dtype.kind not in "fiu":
        raise NormalkitError(f"depth must be numeric, got dtype {d.dtype}")
    if d.shape[0] == 0 or d.shape[1] == 0:
        raise NormalkitError(f"depth is empty, shape {d.shape}")
    d = d.astype(np.float64)
    if orthographic and K is not None:
        raise NormalkitError("give either K (perspective) or orthographic=True, not both")
    if not orthographic and K is None:
        raise NormalkitError("give K (3x3 intrinsics) for a perspective camera, or "
                             "orthographic=True")
    if orthographic and not (_is_number(pixel_size) and pixel_size > 0):
        raise NormalkitError(f"pixel_size must be a positive number, not {pixel_size!r}")
    if discontinuity is not None and not (_is_number(discontinuity) and discontinuity > 0):
        raise NormalkitError(f"discontinuity must be a positive number or None, "
                             f"not {discontinuity!r}")
    with np.errstate(invalid="ignore"):
        good = np.isfinite(d) & (d > 0)
    if mask is None:
        m = good
    else:
        m = np.asarray(mask)
        if m.ndim == 3 and m.shape[2] == 1:
            m = m[:, :, 0]
        if m.shape != d.shape:
            raise NormalkitError(f"mask has shape {m.shape}, depth is {d.shape}; give an "
                                 "(H, W) boolean mask of the same size")
        m = m.astype(bool)
        bad = int((m & ~good).sum())
        if bad:
            raise NormalkitError(f"depth inside the mask is NaN, infinite or ≤ 0 at {bad:,} "
                                 "pixels; leave them out of the mask")
    if not m.any():
        raise NormalkitError(
            "depth has no valid pixel: " + ("the mask is empty" if mask is not None else
                                            "every value is NaN, infinite or ≤ 0")
            + "; give a depth map with positive, finite depths (z-depth, not disparity)")
    P = backproject(np.where(m, d, 1.0), K, orthographic=orthographic, pixel_size=pixel_size)
    t_cols, ok_cols = _tangent(P, d, m, axis=1, threshold=discontinuity)
    t_rows, ok_rows = _tangent(P, d, m, axis=0, threshold=discontinuity)
    valid = m & ok_cols & ok_rows
    n = np.cross(t_rows, t_cols)
    length = np.sqrt(np.einsum("ijk,ijk->ij", n, n))
    valid &= length > 0
    if not valid.any():
        raise NormalkitError(
            f"no depth pixel has a neighbour on the same surface along both image axes "
            f"({int(m.sum()):,} valid depths, all isolated or across depth jumps); give a "
            "denser depth map, or a larger discontinuity threshold")
    out = np.zeros(d.shape + (3,), np.float32)
    out[valid] = n[valid] / length[valid, None]
    return out, valid


def _is_number(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and math.isfinite(v)


def _tangent(P, d, m, axis: int, threshold):
    """Tangent along ``axis`` (central / one-sided) and where one exists."""
    H, W = d.shape
    # pair[k] links pixel k and k+1 along the axis (shape: one shorter on that axis)
    lo = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
    hi = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
    pair = m[lo] & m[hi]
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            pair &= np.abs(d[hi] - d[lo]) <= threshold * np.minimum(d[lo], d[hi])
    step = P[hi] - P[lo]  # (…, 3) difference across each pair
    fwd = np.zeros((H, W), bool)
    bwd = np.zeros((H, W), bool)
    fwd[lo] = pair
    bwd[hi] = pair
    t = np.zeros((H, W, 3))
    t_fwd = np.zeros((H, W, 3))
    t_fwd[lo] = step
    t_bwd = np.zeros((H, W, 3))
    t_bwd[hi] = step
    both = fwd & bwd
    t[both] = 0.5 * (t_fwd[both] + t_bwd[both])
    only_f = fwd & ~bwd
    t[only_f] = t_fwd[only_f]
    only_b = bwd & ~fwd
    t[only_b] = t_bwd[only_b]
    return t, fwd | bwd
