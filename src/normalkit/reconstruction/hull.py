"""The visual hull of the views' masks, as a signed-distance grid and a closed mesh.

Each view's mask becomes a signed distance in pixels (positive outside, by exact Euclidean
distance transforms), which a voxel samples bilinearly where it projects and converts to
world units at its depth. The hull is the intersection of the silhouette cones, so its
value is the largest of the views' values; its zero level is meshed by marching cubes.
A point outside a view's image counts as outside that view's cone.

The grid's box is found, not guessed: a coarse carve starts from a box around the
cameras and grows it while the hull touches its border, then the fine grid spans the
hull's bounds with a margin. Only the largest connected part is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import NormalkitError
from ..mesh.model import Mesh
from .views import View

__all__ = ["Hull", "SilhouetteField", "visual_hull"]


class SilhouetteField:
    """Signed distances to one view's silhouette, in pixels and in world units.

    ``pixels(points)`` is the bilinear signed pixel distance (positive outside the mask)
    at the projection of world points; ``world(points)`` scales it to world units at each
    point's depth (pinhole: × depth / f; orthographic: / f). Points behind a pinhole camera
    are outside.
    """

    def __init__(self, view: View):
        from scipy.ndimage import distance_transform_edt

        m = view.mask
        self.camera = view.camera
        self.mask = m
        # Pixel centres inside are negative, outside positive; the contour lies half-way.
        self.sdf = (distance_transform_edt(~m) - distance_transform_edt(m)).astype(np.float32)
        self.sdf += np.where(m, 0.5, -0.5).astype(np.float32)
        self.f = 0.5 * (view.camera.K[0, 0] + view.camera.K[1, 1])

    def pixels(self, points: np.ndarray) -> np.ndarray:
        cam = self.camera
        xy = cam.project(points)
        h, w = self.sdf.shape
        bad = ~np.isfinite(xy).all(axis=1)
        xy = np.where(bad[:, None], 0.0, xy)
        # Array coordinates of pixel centres: index = position − 0.5.
        x = xy[:, 0] - 0.5
        y = xy[:, 1] - 0.5
        xc = np.clip(x, 0, w - 1)
        yc = np.clip(y, 0, h - 1)
        out = bilinear(self.sdf, xc, yc) + np.hypot(x - xc, y - yc)
        out[bad] = np.float32(1e6)
        return out

    def world(self, points: np.ndarray) -> np.ndarray:
        s = self.pixels(points)
        if self.camera.orthographic:
            return s / self.f
        d = np.maximum(self.camera.z_depth(points), 1e-9)
        return s * d / self.f


def bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``img`` (H, W[, C]) at array coordinates x (column), y (row)."""
    h, w = img.shape[:2]
    x0 = np.clip(np.floor(x).astype(np.int64), 0, w - 1)
    y0 = np.clip(np.floor(y).astype(np.int64), 0, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    if img.ndim == 3:
        fx = fx[:, None]
        fy = fy[:, None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@dataclass
class Hull:
    """The visual hull.

    mesh : Mesh, closed and outward-oriented (marching cubes of the largest part)
    origin : (3,) world position of voxel (0, 0, 0)'s centre
    voxel : float, the voxel edge length
    values : (X, Y, Z) float32 signed distance to the hull (positive outside), world units
    fields : one SilhouetteField per view
    """

    mesh: Mesh
    origin: np.ndarray
    voxel: float
    values: np.ndarray
    fields: list
    _gradient: np.ndarray | None = None

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance of world points to the hull (positive outside), trilinear."""
        from scipy.ndimage import map_coordinates

        idx = ((np.asarray(points) - self.origin) / self.voxel).T
        return map_coordinates(self.values, idx, order=1, mode="nearest")

    def pull_inside(self, points: np.ndarray, steps: int = 4) -> np.ndarray:
        """Move points outside the hull onto it, down the distance field's gradient."""
        from scipy.ndimage import map_coordinates

        if self._gradient is None:
            self._gradient = np.stack(np.gradient(self.values, self.voxel))
        p = np.array(points, dtype=np.float64)
        for _ in range(steps):
            d = self.distance(p)
            out = np.flatnonzero(d > 0)
            if len(out) == 0:
                break
            idx = ((p[out] - self.origin) / self.voxel).T
            g = np.stack([map_coordinates(c, idx, order=1, mode="nearest")
                          for c in self._gradient], axis=1)
            g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
            p[out] -= d[out, None] * g
        return p


def _carve(fields: list, points: np.ndarray, band: float | None = None) -> np.ndarray:
    """Hull values (max over views of the world-unit silhouette distance) at points."""
    out = np.full(len(points), -np.inf, np.float32)
    live = np.arange(len(points))
    for f in fields:
        v = f.world(points[live]).astype(np.float32)
        out[live] = np.maximum(out[live], v)
        if band is not None:  # far outside stays outside: skip it for the other views
            live = live[out[live] < band]
    return out


def _grid(lo: np.ndarray, hi: np.ndarray, n: int):
    """A grid of about n voxels along the box's longest side: origin, voxel, shape."""
    voxel = float((hi - lo).max()) / n
    shape = np.maximum(np.ceil((hi - lo) / voxel).astype(int) + 1, 2)
    return lo, voxel, tuple(int(s) for s in shape)


def _points(origin, voxel, shape) -> np.ndarray:
    axes = [origin[i] + voxel * np.arange(shape[i]) for i in range(3)]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in g], axis=1)


def _start_box(views: list[View]) -> tuple[np.ndarray, np.ndarray]:
    eyes = np.array([v.camera.position for v in views])
    centre = eyes.mean(axis=0)
    # Where the views look: the least-squares point nearest to all optical axes.
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for v in views:
        d = v.camera.forward
        p = np.eye(3) - np.outer(d, d)
        a += p
        b += p @ v.camera.position
    if np.linalg.cond(a) < 1e8:
        centre = np.linalg.solve(a, b)
    radius = float(np.linalg.norm(eyes - centre, axis=1).max())
    return centre - radius, centre + radius


def _describe_empty(views: list[View], fields: list, pts: np.ndarray) -> str:
    """Which view empties the hull: the one whose removal leaves most of the others' hull."""
    inside = [f.world(pts) <= 0 for f in fields]
    best, best_count = None, 0
    for k in range(len(views)):
        others = np.logical_and.reduce([m for j, m in enumerate(inside) if j != k])
        if others.sum() > best_count:
            best, best_count = k, int(others.sum())
    if best is not None:
        return (f"the masks have no common volume: {views[best].name}'s camera does not see "
                f"the object that the other views agree on; check its pose (camera-to-world, "
                f"OpenGL frame) or drop it with --use-views")
    return ("the masks have no common volume (their visual hull is empty); check that the "
            "cameras are camera-to-world in the OpenGL frame and share one coordinate system")


def visual_hull(views: list[View], *, resolution: int = 160, log=None) -> Hull:
    """The visual hull of ``views``' masks: a signed-distance grid and its closed mesh.

    Parameters
    ----------
    views : list of View
    resolution : int
        Voxels along the hull's longest side (16–512).
    log : callable, optional

    Raises
    ------
    NormalkitError
        The masks have no common volume (naming the view whose camera disagrees, when
        one does), or the hull is cut by a view's image border.
    """
    if not 16 <= int(resolution) <= 512:
        raise NormalkitError(f"hull resolution must be in [16, 512], got {resolution}")
    fields = [SilhouetteField(v) for v in views]
    lo, hi = _start_box(views)
    coarse = 48
    for _ in range(6):
        origin, voxel, shape = _grid(lo, hi, coarse)
        pts = _points(origin, voxel, shape)
        vals = _carve(fields, pts).reshape(shape)
        inside = vals <= 0
        if not inside.any():
            raise NormalkitError(_describe_empty(views, fields, pts))
        idx = np.argwhere(inside)
        touches = (idx.min(axis=0) == 0).any() or (idx.max(axis=0) == np.array(shape) - 1).any()
        if not touches:
            break
        c, r = 0.5 * (lo + hi), (hi - lo)
        lo, hi = c - r, c + r  # twice as large
    else:
        raise NormalkitError("the visual hull is unbounded: some part of the object is seen "
                             "by no view from another side; add views around the object")
    lo = origin + voxel * (idx.min(axis=0) - 2)
    hi = origin + voxel * (idx.max(axis=0) + 2)
    origin, voxel, shape = _grid(lo, hi, int(resolution))
    pad = 2
    origin = origin - pad * voxel
    shape = tuple(s + 2 * pad for s in shape)
    pts = _points(origin, voxel, shape)
    band = 4 * voxel
    vals = _carve(fields, pts, band=band)
    vals = np.minimum(vals, band).reshape(shape).astype(np.float32)
    inside = vals <= 0
    if not inside.any():
        raise NormalkitError(_describe_empty(views, fields, pts))
    mesh = mesh_grid(vals, origin, voxel, band, log=log, what="visual hull")
    return Hull(mesh=mesh, origin=origin, voxel=voxel, values=vals, fields=fields)


def mesh_grid(vals: np.ndarray, origin: np.ndarray, voxel: float, band: float, *, log=None,
              what: str = "visual hull") -> Mesh:
    """Marching cubes of a signed-distance grid's largest inside part (``vals`` ≤ 0).

    Smaller parts are set outside in ``vals`` (in place), and the grid's border is closed,
    so the mesh is closed and outward-oriented.
    """
    from scipy import ndimage
    from skimage.measure import marching_cubes

    inside = vals <= 0
    labels, n = ndimage.label(inside)
    if n > 1:
        sizes = np.bincount(labels.ravel())[1:]
        keep = 1 + int(np.argmax(sizes))
        vals[inside & (labels != keep)] = np.float32(voxel)
        if log and sizes.sum() - sizes.max() > 0.01 * sizes.max():
            log(f"{what}: dropped {n - 1} small disconnected part(s) "
                f"({(sizes.sum() - sizes.max()) / sizes.sum():.1%} of its volume)")
    vals[[0, -1], :, :] = band
    vals[:, [0, -1], :] = band
    vals[:, :, [0, -1]] = band
    verts, faces, _, _ = marching_cubes(vals, level=0.0, spacing=(voxel,) * 3,
                                        allow_degenerate=False)
    faces = faces.astype(np.int64)
    mesh = Mesh(positions=(verts + origin).astype(np.float64), faces=faces, name=what)
    if _signed_volume(mesh) < 0:
        mesh = mesh.replace(faces=faces[:, ::-1].copy())
    return mesh


def _signed_volume(mesh: Mesh) -> float:
    p = mesh.positions[mesh.faces]
    return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6)
