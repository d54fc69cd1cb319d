"""Textures from the views: every texel sampled from the views that see it.

For each texel of the unwrapped mesh (its surface point and normal, from the UV
rasterizer), every view that sees the point contributes its bilinear sample with the
weight

    w = max(0, n · v)^power × feather

where v points to the camera (head-on views win) and ``feather`` rises from 0 at the
mask's contour to 1 at ``feather_px`` pixels inside it, so no background bleeds in at
silhouettes and the seams between views blend. Visibility is a shadow ray from the point
to the camera (Embree). The weights depend on the cameras and masks only, so
:func:`view_weights` computes them once for both textures.

* Colour (:func:`project_colors`) is blended in linear RGB. Texels that no view sees take
  the inverse-distance mean of their nearest seen texels in 3D, which fills holes
  smoothly across UV seams.
* The normal texture (:func:`project_normals`) blends the views' world normals and
  re-expresses them in the mesh's MikkTSpace frame, so it carries the input maps' detail
  beyond what the triangles hold (as MeshFormer's exported normal texture does). Texels
  no view sees keep a fallback map (the refined mesh baked onto this one).

The gutter around charts is padded like a bake.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..baking.padding import dilate
from ..baking.raster import rasterize
from ..baking.rays import RayCaster
from ..mesh.model import Mesh, interpolate_corners, linear_to_srgb
from .hull import SilhouetteField, bilinear
from .views import View

__all__ = ["TexelFrame", "blend_views", "project_colors", "project_normals", "texel_frame",
           "view_weights"]


@dataclass
class TexelFrame:
    """The surface point and unit normal of every rasterized texel sample.

    texel : (N,) flat texel index; face : (N,) triangle; bary : (N, 3)
    points, normals : (N, 3) float64; size : texture side
    """

    texel: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    size: int

    def coverage(self) -> np.ndarray:
        cover = np.zeros(self.size * self.size, bool)
        cover[self.texel] = True
        return cover.reshape(self.size, self.size)


def texel_frame(mesh: Mesh, size: int) -> TexelFrame:
    """Rasterize ``mesh``'s UVs (one sample per texel centre) into surface points."""
    ts = rasterize(mesh.uvs, size, size, samples=1)
    corners = np.ascontiguousarray(
        np.concatenate([mesh.corner_positions(), mesh.normals], axis=2).astype(np.float32))
    at = interpolate_corners(corners, ts.face, ts.bary)
    nrm = at[3:].T.astype(np.float64)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    return TexelFrame(texel=ts.texel, face=ts.face, bary=np.asarray(ts.bary),
                      points=at[:3].T.astype(np.float64), normals=nrm, size=size)


def view_weights(mesh: Mesh, frame: TexelFrame, views: list[View], *, power: float = 4.0,
                 feather_px: float = 3.0, fields=None) -> list[tuple]:
    """Which texel samples each view sees, where, and how much it counts.

    Per view: ``(index, xy, w)``: the texel samples it sees (visible by a shadow ray,
    facing it, inside its mask's feather), their continuous pixel positions, and their
    weights. It depends on the cameras and masks only, so one pass serves every texture.
    """
    pts, nrm = frame.points, frame.normals
    caster = RayCaster(mesh.positions, mesh.faces)
    diag = float(np.linalg.norm(np.ptp(mesh.positions, axis=0)))
    eps = 2e-3 * diag
    fields = fields or [SilhouetteField(v) for v in views]
    out = []
    for v, fld in zip(views, fields, strict=True):
        cam = v.camera
        if cam.orthographic:
            to_cam = np.broadcast_to(-cam.forward, pts.shape)
            dist = np.full(len(pts), 2 * diag + float(np.abs(cam.z_depth(pts)).max()))
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
        out.append((cand, xy, facing[cand] ** power * feather))
    return out


def blend_views(weights: list[tuple], views: list[View], attr: str, n: int):
    """Σ w·sample and Σ w over the ``n`` texel samples, for the views' ``attr`` images
    ("rgb" or "normals"; views without one are skipped)."""
    acc = np.zeros((n, 3))
    wsum = np.zeros(n)
    for (cand, xy, w), v in zip(weights, views, strict=True):
        image = getattr(v, attr)
        if image is None:
            continue
        sample = bilinear(image, xy[:, 0] - 0.5, xy[:, 1] - 0.5)
        acc[cand] += sample * w[:, None]  # cand is a subset of the samples: no repeats
        wsum[cand] += w
    return acc, wsum


def _fill_unseen(values: np.ndarray, seen: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Inverse-distance mean of the 8 nearest seen samples, in 3D, for unseen samples."""
    from scipy.spatial import cKDTree

    if seen.all() or not seen.any():
        return values
    k = min(8, int(seen.sum()))
    dist, idx = cKDTree(points[seen]).query(points[~seen], k=k, workers=-1)
    if k == 1:
        dist, idx = dist[:, None], idx[:, None]
    w = 1.0 / np.maximum(dist, 1e-9) ** 2
    out = values.copy()
    out[~seen] = (values[seen][idx] * w[..., None]).sum(1) / w.sum(1)[:, None]
    return out


def _to_image(frame: TexelFrame, values: np.ndarray, channels: int) -> np.ndarray:
    img = np.zeros((frame.size * frame.size, channels), np.float32)
    img[frame.texel] = values
    return img.reshape(frame.size, frame.size, channels)


def project_colors(frame: TexelFrame, views: list[View], weights: list[tuple], *,
                   padding: float = 16) -> dict:
    """Colour texture: ``image`` (T, T, 4) uint8 sRGB RGBA and ``seen`` (the fraction of
    texel samples that some view saw). ``weights``: :func:`view_weights`."""
    acc, wsum = blend_views(weights, views, "rgb", len(frame.points))
    seen = wsum > 1e-6
    color = np.full((len(wsum), 3), 0.5)
    color[seen] = acc[seen] / wsum[seen, None]
    color = _fill_unseen(color, seen, frame.points)
    img = dilate(_to_image(frame, color, 3), frame.coverage(), padding)
    srgb = np.rint(np.clip(linear_to_srgb(np.clip(img, 0, 1)), 0, 1) * 255).astype(np.uint8)
    rgba = np.concatenate([srgb, np.full(srgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return {"image": rgba, "seen": float(seen.mean()) if len(seen) else 0.0}


def project_normals(mesh: Mesh, frame: TexelFrame, views: list[View], weights: list[tuple],
                    fallback: np.ndarray, *, padding: float = 16) -> dict:
    """Tangent-space (MikkTSpace) normal texture from the views' normals.

    ``weights``: :func:`view_weights` (of views with the same cameras and masks);
    ``fallback``: (T, T, 3) tangent-space unit normals for texels no view sees (e.g. a
    bake of the refined mesh). Returns ``normals`` (T, T, 3) float32 and ``seen``.
    """
    from ..baking.spaces import object_to_tangent, tangent_to_object

    acc, wsum = blend_views(weights, views, "normals", len(frame.points))
    norm = np.linalg.norm(acc, axis=1)
    seen = (wsum > 1e-6) & (norm > 1e-6 * np.maximum(wsum, 1e-30))
    fallback_obj, _ = tangent_to_object(fallback, mesh)
    world = fallback_obj.reshape(-1, 3)[frame.texel].astype(np.float64)
    world[seen] = acc[seen] / norm[seen, None]
    obj_img = dilate(_to_image(frame, world, 3), frame.coverage(), padding)
    tangent, converted = object_to_tangent(obj_img, mesh)
    out = np.where(converted[..., None], tangent, fallback)
    return {"normals": out.astype(np.float32), "seen": float(seen.mean()) if len(seen) else 0.0}
