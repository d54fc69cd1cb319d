"""The MikkTSpace per-pixel frame: decode (shader) and its exact inverse (baker).

Conventions (CONVENTIONS.md): at a surface point, T and N are the barycentric
interpolations of the per-corner tangents and normals, *not* renormalized, and
B = sign·cross(N, T). A shader reads n = normalize(x·T + y·B + z·N); the baker writes
normalize(M⁻¹ n) with M = [T B N]. Both work on channel-major (3, N) float arrays so
that every operation runs on contiguous component rows.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import inline, kernel


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


@inline
def unit3(x, y, z):
    """(x, y, z) scaled to unit length; a zero vector stays zero. Compiled; kernels
    inline it."""
    length = np.sqrt(x * x + y * y + z * z)
    if length == 0:
        return x, y, z
    inv = 1.0 / length
    return x * inv, y * inv, z * inv


@inline
def encode_tangent(hx, hy, hz, tx, ty, tz, nx, ny, nz, sign):
    """One mesh-frame normal h into tangent space: the exact inverse of the decode.

    With M = [T B N], M⁻¹h ∝ (|N|²(T·h) − (N·T)(N·h), sign·(N × T)·h,
    |T|²(N·h) − (N·T)(T·h)); the common positive factor 1/(|T|²|N|² − (N·T)²)
    disappears in the normalization, and so does h's length: h need not be unit. A
    degenerate frame (T ∥ N or zero) gives (0, 0, 1); a zero h gives (0, 0, 0).
    Compiled; kernels inline it.
    """
    th = tx * hx + ty * hy + tz * hz
    nh = nx * hx + ny * hy + nz * hz
    nt = nx * tx + ny * ty + nz * tz
    n2 = nx * nx + ny * ny + nz * nz
    t2 = tx * tx + ty * ty + tz * tz
    if t2 * n2 - nt * nt <= 0:
        return 0.0, 0.0, 1.0
    s = -1.0 if sign < 0 else 1.0
    x = n2 * th - nt * nh
    y = s * ((ny * tz - nz * ty) * hx + (nz * tx - nx * tz) * hy + (nx * ty - ny * tx) * hz)
    z = t2 * nh - nt * th
    return unit3(x, y, z)


@kernel
def _encode_columns(h, t, n, sign, out):
    for i in range(h.shape[1]):
        out[0, i], out[1, i], out[2, i] = encode_tangent(
            h[0, i], h[1, i], h[2, i], t[0, i], t[1, i], t[2, i], n[0, i], n[1, i], n[2, i],
            sign[i])


def world_to_tangent(h: np.ndarray, t: np.ndarray, n: np.ndarray,
                     sign: np.ndarray) -> np.ndarray:
    """Encode mesh-frame unit normals into tangent space: the exact inverse of
    :func:`tangent_to_world` (see :func:`encode_tangent`, which the baker's kernel uses
    per ray).

    Parameters
    ----------
    h : (3, N) unit normals in the mesh's frame
    t, n : (3, N) interpolated, unnormalized tangent and normal
    sign : (N,) interpolated bitangent sign (its sign is used)

    Returns (3, N) unit tangent-space vectors, float64 (float32 if every input is).
    """
    dtype = np.result_type(h, t, n, sign, np.float32)
    out = np.empty((3, np.shape(h)[1]), dtype)
    _encode_columns(np.asarray(h, dtype), np.asarray(t, dtype), np.asarray(n, dtype),
                    np.asarray(sign, dtype), out)
    return out
