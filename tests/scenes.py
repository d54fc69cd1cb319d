"""Analytic camera scenes for the depth, integration and CLI tests: a sphere and a torn
plane seen by a pinhole camera (OpenGL frame), with exact depth and normals."""

from __future__ import annotations

import numpy as np


def intrinsics(H: int, W: int, f: float) -> np.ndarray:
    return np.array([[f, 0.0, W / 2], [0.0, f, H / 2], [0.0, 0.0, 1.0]])


def rays(H: int, W: int, K: np.ndarray) -> np.ndarray:
    """(H, W, 3) rays through pixel centres with z = −1 (OpenGL camera frame)."""
    u = np.arange(W) + 0.5
    v = np.arange(H) + 0.5
    x = np.broadcast_to((u[None, :] - K[0, 2]) / K[0, 0], (H, W))
    y = np.broadcast_to(-(v[:, None] - K[1, 2]) / K[1, 1], (H, W))
    return np.stack([x, y, -np.ones((H, W))], axis=-1)


def sphere_scene(H=96, W=128, f=240.0, centre=(0.1, -0.05, -4.0), radius=1.0,
                 orthographic=False, pixel_size=None):
    """Depth, mask, K (None if orthographic) and unit normals of a sphere.

    Also returns ``facing``: cos of the angle between the normal and the direction
    to the camera (small near the silhouette).
    """
    c = np.asarray(centre, float)
    if orthographic:
        ps = pixel_size or 2.4 * radius / min(H, W)
        jj, ii = np.mgrid[0:H, 0:W] + 0.5
        x = (ii - W / 2) * ps + c[0]
        y = -(jj - H / 2) * ps + c[1]
        r2 = radius ** 2 - (x - c[0]) ** 2 - (y - c[1]) ** 2
        mask = r2 > 0
        h = np.sqrt(np.where(mask, r2, 0.0))
        depth = np.where(mask, -c[2] - h, np.nan)
        n = np.stack([x - c[0], y - c[1], h], axis=-1) / radius
        n[~mask] = 0
        return depth, mask, None, n, n[..., 2], ps
    K = intrinsics(H, W, f)
    r = rays(H, W, K)
    rc = r @ c
    rr = np.einsum("ijk,ijk->ij", r, r)
    disc = rc ** 2 - rr * (c @ c - radius ** 2)
    mask = disc > 0
    t = np.where(mask, (rc - np.sqrt(np.where(mask, disc, 0.0))) / rr, np.nan)
    P = t[..., None] * r
    n = (P - c) / radius
    n[~mask] = 0
    view = -P / np.linalg.norm(np.where(mask[..., None], P, 1.0), axis=-1, keepdims=True)
    facing = np.where(mask, np.einsum("ijk,ijk->ij", n, view), 0.0)
    return t, mask, K, n, facing, None


def interior(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    """Mask pixels whose (2·margin+1)² neighbourhood is inside the mask."""
    from scipy import ndimage

    return ndimage.binary_erosion(mask, np.ones((2 * margin + 1,) * 2, bool))


def tear_scene(H=40, W=40, slope=0.5, base=100.0):
    """Orthographic: left half flat, right half tilted; the depth jump along the
    middle column grows linearly away from the middle row."""
    jj, ii = np.mgrid[0:H, 0:W]
    right = ii >= W // 2
    depth = np.where(right, base + slope * (jj + 0.5 - H / 2), base)
    n = np.zeros((H, W, 3))
    n[..., 2] = 1
    tilt = np.array([0.0, -slope, 1.0])
    n[right] = tilt / np.linalg.norm(tilt)
    return depth, n, right


def unit_sphere(subdivisions: int = 3, name: str = "sphere"):
    """A unit icosphere (trimesh) as a normalkit Mesh with exact per-corner normals."""
    import trimesh

    from normalkit.mesh.model import Mesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    pos = np.asarray(s.vertices, np.float64)
    pos /= np.linalg.norm(pos, axis=1, keepdims=True)
    faces = np.asarray(s.faces, np.int64)
    return Mesh(positions=pos, faces=faces, normals=pos[faces], name=name)
