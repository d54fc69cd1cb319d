"""Noise in the input normal maps, measured and smoothed away before it reaches a texture.

A normal estimator (Marigold, a multi-view diffusion model) leaves per-pixel noise that
geometry averages out but a projected normal texture would copy. Each view's
**roughness** is the median angle between a normal and the mean of its four neighbours:
about 0.05° on a clean render of a smooth surface at 320², and about 1.1× the noise
angle on noisy maps (5.6° for 5° of noise, 11.3° for 10°). Above :data:`CLEAN_DEG` the
view's normals are smoothed by a Gaussian of σ = roughness / 5 pixels (0.7 to 2.5),
inside the mask only (normalized convolution, so the background never bleeds in), which
takes 10° of noise down to about 3° on spot (the rest is the estimator's smooth tilt,
which no local filter can see). :func:`keep_detail_only` then takes that tilt out of the
texture: it keeps only the noisy views' fine detail on top of the fitted mesh's normals.
Clean views are left exactly as they are.
"""

from __future__ import annotations

import numpy as np

from .views import View

__all__ = ["CLEAN_DEG", "denoise_views", "keep_detail_only", "roughness_deg",
           "smooth_normals_image"]

#: Views rougher than this (degrees) are smoothed.
CLEAN_DEG = 1.0


def roughness_deg(normals: np.ndarray, mask: np.ndarray) -> float:
    """Median angle (degrees) between each normal and the mean of its 4 neighbours."""
    ok = mask.copy()
    ok[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    ok[[0, -1]] = False
    ok[:, [0, -1]] = False
    if not ok.any():
        return 0.0
    nb = np.zeros_like(normals, dtype=np.float64)
    nb[1:-1, 1:-1] = (normals[:-2, 1:-1] + normals[2:, 1:-1] + normals[1:-1, :-2]
                      + normals[1:-1, 2:])
    nb /= np.maximum(np.linalg.norm(nb, axis=-1, keepdims=True), 1e-12)
    cos = np.clip(np.einsum("ij,ij->i", normals[ok], nb[ok]), -1.0, 1.0)
    return float(np.degrees(np.median(np.arccos(cos))))


def _masked_gaussian(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W, C) Gaussian mean of ``values`` over the ``mask`` pixels only (normalized
    convolution: what lies outside the mask never bleeds in)."""
    from scipy.ndimage import gaussian_filter

    m = mask.astype(np.float64)
    out = np.stack([gaussian_filter(values[..., c] * m, sigma)
                    for c in range(values.shape[-1])], axis=-1)
    return out / np.maximum(gaussian_filter(m, sigma), 1e-12)[..., None]


def smooth_normals_image(normals: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian-smoothed unit normals inside ``mask`` (normalized convolution); 0 outside."""
    out = _masked_gaussian(normals, mask, sigma)
    out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
    out[~mask] = 0.0
    return out.astype(np.float32)


def denoise_views(views: list[View], log=None) -> tuple[list[View], list[dict]]:
    """Views whose noisy normal maps are smoothed; the roughness and σ of each view."""
    out, stats = [], []
    smoothed = []
    for v in views:
        r = roughness_deg(v.normals, v.mask)
        sigma = 0.0 if r <= CLEAN_DEG else float(np.clip(r / 5.0, 0.7, 2.5))
        stats.append({"name": v.name, "roughness_deg": r, "sigma_px": sigma})
        if sigma:
            smoothed.append(v.name)
            v = View(camera=v.camera, normals=smooth_normals_image(v.normals, v.mask, sigma),
                     mask=v.mask, rgb=v.rgb, name=v.name)
        out.append(v)
    if smoothed and log:
        rough = np.median([s["roughness_deg"] for s in stats])
        log(f"the normal maps look noisy (median roughness {rough:.1f}°, a clean map has "
            f"under {CLEAN_DEG:g}°): smoothing {len(smoothed)} of {len(views)} views before "
            "use")
    return out, stats


def keep_detail_only(views: list[View], mesh, stats: list[dict], sigma: float = 6.0,
                     threads=None) -> list[View]:
    """Noisy views' normals re-based on ``mesh``: its low frequencies, their detail.

    An estimator's maps also tilt smoothly, differently in every view; a mesh fitted to
    all views averages that out, but a texture projected from one view would keep it. For
    each noisy view (``stats[k]["sigma_px"] > 0``, from :func:`denoise_views`), the
    difference between its normals and the mesh's rendered normals is split at
    ``sigma`` pixels (a Gaussian, normalized inside the mask): the mesh keeps the smooth
    part, the view gives the fine part (bumps finer than the triangles). Clean views, and
    pixels the mesh misses, are kept as they are.
    """
    from ..rendering.render import Renderer

    if not any(s["sigma_px"] > 0 for s in stats):
        return views
    r = Renderer(mesh, threads=threads)
    out = []
    for v, s in zip(views, stats, strict=True):
        if s["sigma_px"] <= 0:
            out.append(v)
            continue
        res = r.render(v.camera, passes=("normal_world", "mask"))
        both = v.mask & res["mask"]
        diff = v.normals - res["normal_world"]
        n = res["normal_world"] + diff - _masked_gaussian(diff, both, sigma)
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        normals = np.where(both[..., None], n, v.normals).astype(np.float32)
        normals[~v.mask] = 0.0
        out.append(View(camera=v.camera, normals=normals, mask=v.mask, rgb=v.rgb,
                        name=v.name))
    return out
