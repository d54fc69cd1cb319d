"""The MikkTSpace per-pixel frame: decode (shader) and its exact inverse (baker).

Conventions (CONVENTIONS.md): at a surface point, T and N are the barycentric
interpolations of the per-corner tangents and normals, *not* renormalized, and
B = sign·cross(N, T). A shader reads n = normalize(x·T + y·B + z·N); the baker writes
normalize(M⁻¹ n) with M = [T B N]. Both work on channel-major (3, N) float arrays so
that every operation runs on contiguous component rows.
"""

from __future__ import annotations

import numpy as np


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of (3, N) arrays."""
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise cross product of (3, N) arrays."""
    return np.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                     a[0] * b[1] - a[1] * b[0]])


def unit(v: np.ndarray) -> np.ndarray:
    """Normalize (3, N) columns; zero columns stay zero."""
    length = np.sqrt(dot(v, v))
    return v * np.divide(1.0, length, out=np.zeros_like(length), where=length > 0)


def _sign(sign: np.ndarray) -> np.ndarray:
    return np.where(sign < 0, -1.0, 1.0).astype(np.result_type(sign, np.float32))


def tangent_to_world(x: np.ndarray, t: np.ndarray, n: np.ndarray,
                     sign: np.ndarray) -> np.ndarray:
    """Decode tangent-space vectors: normalize(x·T + y·B + z·N), B = sign·(N × T).

    Parameters
    ----------
    x : (3, N) tangent-space vectors (decoded map values, not necessarily unit)
    t, n : (3, N) interpolated, unnormalized tangent and normal
    sign : (N,) interpolated bitangent sign (its sign is used)

    Returns (3, N) unit vectors in the mesh's frame, as Blender's Normal Map node does.
    """
    b = _sign(sign) * cross(n, t)
    return unit(x[0] * t + x[1] * b + x[2] * n)


def world_to_tangent(h: np.ndarray, t: np.ndarray, n: np.ndarray,
                     sign: np.ndarray) -> np.ndarray:
    """Encode mesh-frame unit normals into tangent space: the exact inverse of
    :func:`tangent_to_world`.

    With M = [T B N], M⁻¹h ∝ (|N|²(T·h) − (N·T)(N·h), sign·(N × T)·h,
    |T|²(N·h) − (N·T)(T·h)); the common positive factor 1/(|T|²|N|² − (N·T)²)
    disappears in the normalization. A degenerate frame (T ∥ N or zero) gives (0, 0, 1).

    Returns (3, N) unit tangent-space vectors.
    """
    th, nh, nt = dot(t, h), dot(n, h), dot(n, t)
    n2, t2 = dot(n, n), dot(t, t)
    vec = np.stack([n2 * th - nt * nh, _sign(sign) * dot(cross(n, t), h), t2 * nh - nt * th])
    degenerate = t2 * n2 - nt * nt <= 0
    vec = unit(vec)
    vec[:, degenerate] = np.array([[0.0], [0.0], [1.0]], vec.dtype)
    return vec
