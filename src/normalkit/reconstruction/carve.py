"""Carving concavities that no silhouette shows, with depth integrated from the normals.

The visual hull fills every concavity that no view sees through: the inside of a cup
seen from above stays a lid at the rim. The normal maps know better. Each view's normals
are integrated into a depth map (discontinuity-preserving BiNI,
:func:`normalkit.maps.integrate.integrate_normals`), which is exact up to one scale per
connected region (perspective) or one offset (orthographic). That unknown is fixed
robustly against the current mesh's own depth in the view (a median ratio, or
difference, over the region): the mesh is right almost everywhere, and wrong only where
the hull is. Where a depth jump leaves no trace in the normals, its place is ambiguous;
each view is integrated with two BiNI sharpness values and the deeper result kept
(:func:`integrated_depth`).

The space in front of a view's integrated surface is empty. A voxel is carved when at
least ``votes`` views see it, by more than ``margin`` voxels, in front of the surface they
integrated: the carve field is the ``votes``-th largest of the views' free distances, so
one view with a bad integration cannot carve alone. The carved hull is the largest of
the hull's and the carve field's values, meshed again by marching cubes.
"""

from __future__ import annotations

import numpy as np

from ..mesh.model import Mesh
from ..rendering.camera import Camera
from .hull import Hull, mesh_grid
from .views import View

__all__ = ["carve"]


#: Views are integrated at most this many pixels across (box-filtered down): carving needs
#: depth to about a voxel, and BiNI's cost grows faster than the pixel count.
INTEGRATION_SIZE = 192
#: Iterations of the closing that keeps carving from cutting tunnels through thin walls.
CLOSE_ITER = 2


def coarse_view(view: View, factor: int) -> tuple[Camera, np.ndarray, np.ndarray]:
    """The view box-filtered by ``factor``: its camera, world normals and mask.

    A coarse pixel is in the mask when all its fine pixels are; its normal is their
    normalized mean. K scales exactly: coarse pixel (i, j) covers fine pixels
    [f·i, f·i + f) × [f·j, f·j + f), so its centre maps to the same ray.
    """
    cam = view.camera
    if factor == 1:
        return cam, view.normals, view.mask
    h, w = view.mask.shape
    h2, w2 = h // factor, w // factor
    m = view.mask[:h2 * factor, :w2 * factor].reshape(h2, factor, w2, factor)
    n = view.normals[:h2 * factor, :w2 * factor].reshape(h2, factor, w2, factor, 3)
    mask = m.all(axis=(1, 3))
    normals = n.sum(axis=(1, 3))
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    normals[~mask] = 0.0
    k = cam.K.copy()
    k[:2] /= factor
    coarse = Camera(K=k, width=w2, height=h2, cam_to_world=cam.cam_to_world,
                    orthographic=cam.orthographic)
    return coarse, normals.astype(np.float32), mask


#: BiNI sharpness values each view is integrated with (see :func:`integrated_depth`).
SHARPNESS = (2.0, 4.0)


def integrated_depth(cam: Camera, normals: np.ndarray, mask: np.ndarray,
                     mesh_depth: np.ndarray, mesh_mask: np.ndarray,
                     max_iter: int = 60, sharpness=SHARPNESS) -> np.ndarray:
    """A view's world normals integrated into z-depth, scaled to agree with the mesh's.

    Where a depth jump leaves no trace in the normals, BiNI's choice of where to put it is
    not unique: a cup's floor, seen past the near rim whose top faces the same way, joins
    either the far rim (right) or the near one (then it lies in front of the truth and
    carves nothing), and which one it joins flips with BiNI's sharpness ``k`` and the
    resolution. So the view is integrated once per ``sharpness`` value, each result is
    anchored, and the deepest is kept per pixel: a hypothesis that is too shallow only
    carves less, and one that is too deep is outvoted by the other views (:func:`carve`).

    NaN where the integration gives nothing or a region has no mesh depth to anchor it.
    """
    out = np.full(mask.shape, np.nan)
    for k in sharpness:
        out = np.fmax(out, _anchored_depth(cam, normals, mask, mesh_depth, mesh_mask,
                                           max_iter, float(k)))
    return out


def _anchored_depth(cam, normals, mask, mesh_depth, mesh_mask, max_iter, k) -> np.ndarray:
    from scipy import ndimage

    from ..maps.integrate import integrate_normals

    n_cam = normals @ cam.cam_to_world[:3, :3]  # world → camera frame (R^T n)
    n_cam[~mask] = (0.0, 0.0, 1.0)
    if cam.orthographic:
        d, _ = integrate_normals(n_cam, mask, orthographic=True,
                                 pixel_size=1.0 / cam.K[0, 0], solver="bilateral",
                                 k=k, max_iter=max_iter)
    else:
        d, _ = integrate_normals(n_cam, mask, cam.K, solver="bilateral", k=k,
                                 max_iter=max_iter)
    labels, n = ndimage.label(np.isfinite(d))
    out = np.full(d.shape, np.nan)
    for region in range(1, n + 1):
        r = labels == region
        both = r & mesh_mask & (mesh_depth > 0)
        if both.sum() < 16:
            continue
        if cam.orthographic:
            out[r] = d[r] + np.median(mesh_depth[both] - d[both])
        else:
            out[r] = d[r] * np.median(mesh_depth[both] / d[both])
    return out


def _clean(carved: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Keep carving that opens the hull from outside and is more than a voxel thick.

    A morphological opening drops specks and one-voxel sheets (the usual product of a
    bad integration at a silhouette, and of tunnels through thin walls); then only carved
    voxels connected to the outside stay, so no sealed void is left inside the object.
    """
    from scipy import ndimage

    carved = ndimage.binary_opening(carved, structure=np.ones((3, 3, 3), bool))
    if not carved.any():
        return carved
    labels, _ = ndimage.label(carved | outside)
    border = np.unique(np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel(),
                                       labels[:, :, [0, -1]].ravel()]))
    return carved & np.isin(labels, border[border > 0])


def carve(hull: Hull, views: list[View], mesh: Mesh, *, margin: float = 3.0, votes: int = 2,
          log=None) -> tuple[Hull, float]:
    """Carve ``hull`` where the views' integrated depth says it is empty.

    Parameters
    ----------
    hull : Hull
    views : list of View
    mesh : Mesh
        The current shape (e.g. the refined hull), whose depth anchors each integration.
    margin : float
        Voxels a point must lie in front of an integrated surface to count as empty.
    votes : int
        Views that must agree (fewer when fewer views exist).

    Returns
    -------
    hull : Hull, carved (the input when nothing was carved)
    carved : float, the fraction of the hull's volume removed
    """
    from ..rendering.render import Renderer

    r = Renderer(mesh)
    inside = hull.values <= 0
    idx = np.argwhere(inside)
    pts = hull.origin + idx * hull.voxel
    free = np.full((len(views), len(pts)), -np.inf, np.float32)
    for k, v in enumerate(views):
        factor = max(1, int(np.ceil(max(v.camera.width, v.camera.height) / INTEGRATION_SIZE)))
        cam, normals, mask = coarse_view(v, factor)
        if mask.sum() < 64:
            continue
        res = r.render(cam, passes=("depth", "mask"))
        target = integrated_depth(cam, normals, mask, res["depth"], res["mask"])
        xy = cam.project(pts)
        ok = np.isfinite(xy).all(axis=1)
        col = np.floor(np.where(ok, xy[:, 0], -1)).astype(np.int64)
        row = np.floor(np.where(ok, xy[:, 1], -1)).astype(np.int64)
        ok &= (col >= 0) & (row >= 0) & (col < cam.width) & (row < cam.height)
        t = np.full(len(pts), np.nan)
        t[ok] = target[row[ok], col[ok]]
        z = cam.z_depth(pts)
        seen = np.isfinite(t)
        free[k, seen] = (t[seen] - z[seen]) - margin * hull.voxel
    need = min(int(votes), len(views))
    field = np.sort(free, axis=0)[-need]  # the need-th largest free distance
    grid_field = np.full(hull.values.shape, -np.inf, np.float32)
    grid_field[tuple(idx.T)] = field
    carved = _clean(grid_field > 0, hull.values > 0)
    if carved.any() and CLOSE_ITER > 0:
        # Tunnels through thin walls: what a closing of the remaining solid fills back is
        # not carved (a concavity wider than the closing stays open).
        from scipy import ndimage

        solid = (hull.values <= 0) & ~carved
        refilled = ndimage.binary_closing(solid, structure=np.ones((3, 3, 3), bool),
                                          iterations=CLOSE_ITER) & ~solid
        carved &= ~refilled
    if not carved.any():
        return hull, 0.0
    vals = hull.values.copy()
    vals[carved] = np.maximum(vals[carved], np.minimum(grid_field[carved], 4 * hull.voxel))
    band = float(hull.values.max())
    new_mesh = mesh_grid(vals, hull.origin, hull.voxel, band, log=log, what="carved hull")
    fraction = float(carved.sum() / len(pts))
    if log and fraction > 0.001:
        log(f"carve: removed {fraction:.1%} of the visual hull's volume that the normals "
            "show empty")
    return Hull(mesh=new_mesh, origin=hull.origin, voxel=hull.voxel, values=vals,
                fields=hull.fields), fraction
