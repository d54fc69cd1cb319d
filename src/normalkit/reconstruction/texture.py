"""Colour texture from the views: every texel sampled from the views that see it.

For each texel of the unwrapped mesh (its surface point and normal, from the UV
rasterizer), every view that sees the point contributes its bilinear RGB with the weight

    w = max(0, n · v)^power × feather

where v points to the camera (head-on views win) and ``feather`` rises from 0 at the
mask's contour to 1 at ``feather_px`` pixels inside it, so no background colour bleeds in
at silhouettes and the seams between views blend. Visibility is a shadow ray from the
point to the camera (Embree). Texels that no view sees take the inverse-distance mean of
their nearest seen texels in 3D, which fills holes smoothly across UV seams; the gutter
around charts is padded like a bake. Colours are blended in linear RGB.
"""

from __future__ import annotations

import numpy as np

from ..baking.padding import dilate
from ..baking.raster import rasterize
from ..baking.rays import RayCaster
from ..mesh.model import Mesh, interpolate_corners, linear_to_srgb
from .hull import bilinear
from .views import View

__all__ = ["project_colors"]


def project_colors(mesh: Mesh, views: list[View], size: int, *, power: float = 4.0,
                   feather_px: float = 3.0, padding: float = 16, fields=None) -> dict:
    """Colour texture of ``mesh`` (with UVs and normals) from the views' RGB.

    Returns a dict: ``image`` (size, size, 4) uint8 sRGB RGBA, ``coverage`` (size, size)
    bool (texels on the mesh), ``seen`` the fraction of those that some view saw.
    ``fields``: the views' :class:`~normalkit.reconstruction.hull.SilhouetteField`, reused.
    """
    from scipy.spatial import cKDTree

    from .hull import SilhouetteField

    ts = rasterize(mesh.uvs, size, size, samples=1)
    corners = np.ascontiguousarray(
        np.concatenate([mesh.corner_positions(), mesh.normals], axis=2).astype(np.float32))
    at = interpolate_corners(corners, ts.face, ts.bary)
    pts = at[:3].T.astype(np.float64)
    nrm = at[3:].T.astype(np.float64)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    caster = RayCaster(mesh.positions, mesh.faces)
    diag = float(np.linalg.norm(np.ptp(mesh.positions, axis=0)))
    eps = 2e-3 * diag
    acc = np.zeros((len(pts), 3))
    wsum = np.zeros(len(pts))
    fields = fields or [SilhouetteField(v) for v in views]
    for v, fld in zip(views, fields, strict=True):
        if v.rgb is None:
            continue
        cam = v.camera
        if cam.orthographic:
            to_cam = np.broadcast_to(-cam.forward, pts.shape)
            dist = np.full(len(pts), 2 * diag + abs(float(cam.z_depth(pts).max())))
        else:
            to_cam = cam.position - pts
            dist = np.linalg.norm(to_cam, axis=1)
            to_cam = to_cam / dist[:, None]
        facing = np.einsum("ij,ij->i", nrm, to_cam)
        cand = np.flatnonzero(facing > 0.05)
        xy = cam.project(pts[cand])
        inside = (np.isfinite(xy).all(axis=1) & (xy[:, 0] >= 0) & (xy[:, 1] >= 0)
                  & (xy[:, 0] < cam.width) & (xy[:, 1] < cam.height))
        cand, xy = cand[inside], xy[inside]
        feather = np.clip((-fld.pixels(pts[cand]) - 0.5) / feather_px, 0.0, 1.0)
        keep = feather > 0
        cand, xy, feather = cand[keep], xy[keep], feather[keep]
        # Shadow rays from the point (lifted off its surface) toward the camera.
        o = pts[cand] + to_cam[cand] * eps
        hits = caster.intersect(o, to_cam[cand], (dist[cand] - 2 * eps).astype(np.float32))
        vis = hits.prim < 0
        cand, xy, feather = cand[vis], xy[vis], feather[vis]
        w = facing[cand] ** power * feather
        rgb = bilinear(v.rgb, xy[:, 0] - 0.5, xy[:, 1] - 0.5)
        acc[cand] += rgb * w[:, None]  # cand is a subset of the samples: no repeats
        wsum[cand] += w
    seen = wsum > 1e-6
    color = np.zeros((len(pts), 3))
    color[seen] = acc[seen] / wsum[seen, None]
    if seen.any() and not seen.all():
        tree = cKDTree(pts[seen])
        k = min(8, int(seen.sum()))
        dist_k, idx = tree.query(pts[~seen], k=k, workers=-1)
        dist_k = np.atleast_2d(dist_k.T).T if k > 1 else dist_k[:, None]
        idx = idx if k > 1 else idx[:, None]
        wk = 1.0 / np.maximum(dist_k, 1e-9) ** 2
        color[~seen] = (color[seen][idx] * wk[..., None]).sum(1) / wk.sum(1)[:, None]
    elif not seen.any():
        color[:] = 0.5
    img = np.zeros((size * size, 3), np.float32)
    img[ts.texel] = color
    cover = np.zeros(size * size, bool)
    cover[ts.texel] = True
    img = img.reshape(size, size, 3)
    cover = cover.reshape(size, size)
    img = dilate(img, cover, padding)
    srgb = np.rint(np.clip(linear_to_srgb(np.clip(img, 0, 1)), 0, 1) * 255).astype(np.uint8)
    rgba = np.concatenate([srgb, np.full((size, size, 1), 255, np.uint8)], axis=2)
    return {"image": rgba, "coverage": cover, "seen": float(seen.mean()) if len(seen) else 0.0}
