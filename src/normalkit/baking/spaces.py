"""Tangent-space ↔ object-space normal maps for a mesh with UVs.

Every texel is converted in the frame the baker uses for it (CONVENTIONS.md): the
mesh's UVs are rasterized with one sample per texel exactly as
:func:`normalkit.baking.bake.bake` does with ``samples=1`` (:mod:`normalkit.baking.raster`:
the texel centre, or on island borders the nearest point of the nearest
triangle), the per-corner MikkTSpace tangents (:func:`normalkit.mesh.tangents.
compute_tangents`) and normals are interpolated there in float32, unnormalized,
and :mod:`normalkit.mesh.tspace` applies the shader's decode or its exact inverse. A
tangent-space map made by :func:`object_to_tangent` therefore equals the baker's
tangent-space output for the same rays, and the two functions undo each other.

Texels the UV layout does not touch have no frame: they keep their value (or
``fill``), and the returned mask is False there.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import NormalkitError
from ..maps.validate import check_normals
from ..mesh.model import Mesh, interpolate_corners
from ..mesh.tspace import tangent_to_world, world_to_tangent
from .raster import rasterize_tile, sample_offsets, uv_layout

__all__ = ["object_to_tangent", "tangent_to_object"]

# Texels rasterized per tile: bounds the working set to ~100 MB whatever the size.
_TILE_TEXELS = 1 << 20


def tangent_to_object(image, mesh: Mesh, *, tangents=None, fill=None,
                      log=None) -> tuple[np.ndarray, np.ndarray]:
    """Convert a tangent-space normal map of ``mesh`` to object space.

    Parameters
    ----------
    image : array_like
        (H, W, 3) float tangent-space normals, OpenGL green (flip DirectX maps
        first), as a shader reads them: n = normalize(x·T + y·B + z·N).
    mesh : Mesh
        The mesh the map belongs to, with UVs and per-corner normals (use
        :func:`normalkit.mesh.normals.ensure_normals` on meshes without: the map only
        decodes right with the normals it was baked with).
    tangents : array_like, optional
        (F·3, 4) MikkTSpace tangents of ``mesh`` from
        :func:`normalkit.mesh.tangents.compute_tangents` (computed if not given).
    fill : array_like, optional
        3-vector for texels outside the UV layout; default: keep their value.
    log : callable, optional
        Receives a one-line warning when UVs outside [0, 1] wrap around.

    Returns
    -------
    normals : numpy.ndarray
        float32 (H, W, 3): unit object-space normals inside the UV layout.
    mask : numpy.ndarray
        bool (H, W): True where the UV layout covers the texel (conservatively, as
        the baker's coverage), i.e. where the map was converted.

    Raises
    ------
    NormalkitError
        Bad image, a mesh without UVs or normals, tangents of the wrong shape, or
        a bad ``fill``.

    Notes
    -----
    Cost: rasterization and one frame interpolation per covered texel, in tiles of
    ~1M texels (bounded memory), plus :func:`~normalkit.mesh.tangents.compute_tangents`.
    Measured on spot (5,856 faces) on a shared 2-core VM (load 3-4): 0.4-0.5 s at
    2048², 3-5 s at 4096² per direction; the working set stays ~100 MB plus the
    output.
    """
    return _convert(image, mesh, tangents, fill, log, to_object=True)


def object_to_tangent(image, mesh: Mesh, *, tangents=None, fill=None,
                      log=None) -> tuple[np.ndarray, np.ndarray]:
    """Convert an object-space normal map of ``mesh`` to tangent space (MikkTSpace).

    Parameters
    ----------
    image : array_like
        (H, W, 3) float object-space normals, in the mesh's own coordinates.
    mesh, tangents, fill, log
        As in :func:`tangent_to_object`.

    Returns
    -------
    normals : numpy.ndarray
        float32 (H, W, 3): unit tangent-space normals (OpenGL green) inside the UV
        layout, the exact inverse of the shader's decode, as the baker writes them.
        Where the interpolated frame is degenerate (T ∥ N), (0, 0, 1).
    mask : numpy.ndarray
        bool (H, W), as in :func:`tangent_to_object`.

    Raises
    ------
    NormalkitError
        As in :func:`tangent_to_object`.
    """
    return _convert(image, mesh, tangents, fill, log, to_object=False)


def _corner_frames(mesh: Mesh, tangents) -> np.ndarray:
    """(F, 3, 7) float32 corner data: normal xyz, tangent xyz, sign (as the baker packs it)."""
    if not isinstance(mesh, Mesh):
        raise NormalkitError(f"mesh must be a normalkit Mesh (load_mesh), got "
                             f"{type(mesh).__name__}")
    if mesh.uvs is None:
        raise NormalkitError(f"{mesh.name}: the mesh has no UVs, so its texels have no "
                             "tangent frames; unwrap it first")
    if mesh.normals is None:
        raise NormalkitError(f"{mesh.name}: the mesh has no normals; give it the normals "
                             "the map was baked with (normalkit.mesh.normals.ensure_normals "
                             "computes smooth ones)")
    if tangents is None:
        from ..mesh.tangents import compute_tangents

        tangents = compute_tangents(mesh)
    tangents = np.asarray(tangents)
    if tangents.shape != (mesh.n_faces * 3, 4):
        raise NormalkitError(f"tangents must have shape ({mesh.n_faces * 3}, 4) for "
                             f"{mesh.name}'s {mesh.n_faces} faces, got {tangents.shape}")
    packed = np.concatenate([mesh.normals, tangents.reshape(-1, 3, 4)], axis=2)
    return np.ascontiguousarray(packed, dtype=np.float32)


def _check_fill(fill) -> np.ndarray | None:
    if fill is None:
        return None
    f = np.asarray(fill, dtype=np.float64)
    if f.shape != (3,) or not np.isfinite(f).all():
        raise NormalkitError(f"fill must be a 3-vector such as (0, 0, 1), got {fill!r}")
    return f.astype(np.float32)


def _convert(image, mesh, tangents, fill, log, *, to_object: bool):
    src = check_normals(image)
    fill_value = _check_fill(fill)
    attrs = _corner_frames(mesh, tangents)
    height, width = src.shape[:2]
    layout = uv_layout(mesh.uvs, width, height)
    if layout.wrapped and log is not None:
        log(f"warning: {mesh.name}: UVs outside [0, 1] wrap around the texture")
    out = np.array(src, copy=True)
    mask = np.zeros(height * width, bool)
    flat_src = src.reshape(-1, 3)
    flat_out = out.reshape(-1, 3)
    r_lo, r_hi = layout.row_range
    c_lo, c_hi = layout.col_range
    span = max(c_hi - c_lo, 1)
    tile_rows = max(1, _TILE_TEXELS // span)
    offsets = sample_offsets(1)
    for r0 in range(r_lo, r_hi, tile_rows):
        rows = (r0, min(r0 + tile_rows, r_hi))
        ts = rasterize_tile(layout, rows, (c_lo, c_hi), offsets)
        texel = (ts.texel // span + r0) * width + ts.texel % span + c_lo
        frame = interpolate_corners(attrs, ts.face, ts.bary)
        n, t, sign = frame[0:3], frame[3:6], frame[6]
        vec = np.ascontiguousarray(flat_src[texel].T)
        if to_object:
            res = tangent_to_world(vec, t, n, sign)
        else:
            res = world_to_tangent(vec, t, n, sign)
        flat_out[texel] = res.T
        mask[texel] = True
    mask = mask.reshape(height, width)
    if fill_value is not None:
        out[~mask] = fill_value
    return out, mask
