"""Bake a high-poly's normals into a low-poly's UV space (tangent or object space).

Ray model (compatible with Blender's selected-to-active bake): each texel sample on the
low-poly surface point P with interpolated normal N casts a ray from
``P + extrusion·N̂`` in direction ``−N̂`` and accepts the closest high-poly hit up to
``max_distance`` beyond the surface (a ray length of ``extrusion + max_distance``).
With a cage (same topology as the low-poly) the ray starts at the cage point instead
and runs through P, again up to ``max_distance`` beyond P.

Tangent space is the exact inverse of the MikkTSpace shader decode (CONVENTIONS.md):
with the interpolated, unnormalized T and N and B = sign·cross(N, T), the texel holds
normalize(M⁻¹ n) where M = [T B N]. Object space stores n in mesh coordinates.

Work is split into row tiles that run on a thread pool (Embree and most NumPy kernels
release the GIL), so memory stays bounded by the tile size, not the texture size.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .errors import NormalkitError
from .mesh import Mesh
from .normals import ensure_normals
from .raster import SAMPLE_COUNTS, fold, rasterize_tile, sample_offsets, uv_layout
from .rays import RayCaster, default_threads
from .tspace import dot, unit, world_to_tangent

SPACES = ("tangent", "object")
TILE_SAMPLES = 1 << 19  # samples per tile: bounds the per-thread working set (~150 MB)


@dataclass
class BakeResult:
    """What :func:`bake` returns.

    normals : (H, W, 3) float32 unit normals (tangent or object space), padded; texels
        no ray filled hold the flat tangent normal (0, 0, 1), or (0, 0, 0) in object space.
    coverage : (H, W) bool, texels filled by at least one ray hit (before padding).
    misses : (H, W) bool, texels on the low-poly's UVs where every ray missed.
    space : "tangent" or "object".
    stats : dict of counts and seconds (see ``summary``).
    """

    normals: np.ndarray
    coverage: np.ndarray
    misses: np.ndarray
    space: str
    stats: dict = field(default_factory=dict)

    def summary(self) -> str:
        s = self.stats
        rays = s["rays"]
        miss_pct = 100.0 * s["ray_misses"] / rays if rays else 0.0
        return (f"{s['width']}×{s['height']} {self.space}-space map: {s['texels']:,} texels, "
                f"{s['samples']} samples/texel, {rays:,} rays, {s['ray_misses']:,} misses "
                f"({miss_pct:.2f}%), {s['miss_texels']:,} texels unfilled, "
                f"{s['seconds']:.2f} s on {s['threads']} threads")


def _as_mesh(m, label: str) -> Mesh:
    from .mesh_io import load_mesh

    if isinstance(m, Mesh):
        return m.validate()
    if isinstance(m, (str, os.PathLike)):
        return load_mesh(m)
    raise NormalkitError(f"{label}: expected a Mesh or a path, got {type(m).__name__}")


def _check_size(size, width, height) -> tuple[int, int]:
    w = size if width is None else width
    h = size if height is None else height
    for name, v in (("width", w), ("height", h)):
        if v is None or int(v) != v or int(v) <= 0:
            raise NormalkitError(f"texture {name} must be a positive integer, got {v!r}")
        if int(v) > 32768:
            raise NormalkitError(f"texture {name} {v} is larger than 32768")
    return int(w), int(h)


def bake(high, low, *, size: int = 2048, width: int | None = None, height: int | None = None,
         space: str = "tangent", samples: int = 4, extrusion: float | None = None,
         max_distance: float | None = None, cage=None, padding: float = 16,
         hard_angle: float | None = None, threads: int | None = None,
         progress: bool = False, log=None) -> BakeResult:
    """Bake the high-poly's normals into the low-poly's UV space.

    Parameters
    ----------
    high, low : Mesh or path
        The detailed source and the UV-mapped target. Meshes without normals get
        smooth ones (and ``log`` says so); ``low`` must have UVs.
    size, width, height : int
        Texture size; ``width``/``height`` override ``size`` per axis.
    space : "tangent" | "object"
    samples : 1, 4, 16 or 64
        Stratified samples per texel; the texel holds their normalized mean.
    extrusion, max_distance : float, optional
        Ray start above the low-poly surface and maximum hit depth below it, in mesh
        units. Defaults: 1 % and 2 % of the low-poly's bounding-box diagonal.
        ``max_distance=0`` means no limit (as in Blender).
    cage : Mesh or path, optional
        Explicit ray start surface with the low-poly's topology (replaces extrusion).
    padding : int or math.inf
        Texels to dilate into empty space around UV islands (0 for none).
    hard_angle : float, optional
        Recompute the low-poly's normals, split at edges sharper than this (degrees).
    threads : int, optional
        Worker threads (default: all cores).
    progress : bool
        Show a progress bar on stderr.
    log : callable, optional
        Receives one-line notices and warnings (e.g. ``print``).

    Returns
    -------
    BakeResult

    Cost: O(texels × samples) rays plus O(F_high) to build the Embree BVH; memory is
    about 20 bytes per texel for the output plus a bounded per-tile working set.
    """
    t_start = time.perf_counter()
    log = log or (lambda msg: None)
    if space not in SPACES:
        raise NormalkitError(f"space must be one of {SPACES}, got {space!r}")
    if samples not in SAMPLE_COUNTS:
        raise NormalkitError(f"samples must be one of {SAMPLE_COUNTS}, got {samples!r}")
    w, h = _check_size(size, width, height)
    if padding is None or padding < 0:
        raise NormalkitError(f"padding must be ≥ 0 texels or inf, got {padding!r}")

    low = _as_mesh(low, "low-poly")
    uvs = low.require_uvs()
    high = _as_mesh(high, "high-poly")
    low = ensure_normals(low, hard_angle=hard_angle, log=log)
    high = ensure_normals(high, log=log)
    cage_mesh = None
    if cage is not None:
        cage_mesh = _as_mesh(cage, "cage")
        if cage_mesh.n_faces != low.n_faces or not np.array_equal(
                _topology(cage_mesh), _topology(low)):
            raise NormalkitError(
                f"cage '{cage_mesh.name}' does not match the low-poly's topology "
                f"({cage_mesh.n_faces} vs {low.n_faces} faces, or different connectivity); "
                "make the cage from a copy of the low-poly")

    diag = float(np.linalg.norm(np.ptp(low.positions, axis=0)))
    if extrusion is None:
        extrusion = 0.01 * diag
    if max_distance is None:
        max_distance = 0.02 * diag
    if extrusion < 0 or max_distance < 0:
        raise NormalkitError("extrusion and max-distance must be ≥ 0")
    max_depth = np.inf if max_distance == 0 else float(max_distance)

    tangents = None
    if space == "tangent":
        from .tangents import compute_tangents

        tangents = compute_tangents(low).reshape(-1, 3, 4)

    layout = uv_layout(uvs, w, h)
    if layout.wrapped:
        log(f"warning: {low.name}: UVs outside [0, 1] wrap around the texture")
    caster = RayCaster(high.positions, high.faces)
    frame = _LowFrame(low, tangents, cage_mesh)
    high_normals = _high_normals(high)
    offsets = sample_offsets(samples)

    acc = np.zeros((h, w, 3), np.float32)
    hits = np.zeros((h, w), np.uint16)  # ≤ 64 samples per texel
    sampled = np.zeros((h, w), np.uint16)
    overlap = np.zeros((h, w), bool)

    r_lo, r_hi = layout.row_range
    c_lo, c_hi = layout.col_range
    tile_rows = max(1, TILE_SAMPLES // max(1, (c_hi - c_lo) * samples))
    tiles = [(r, min(r + tile_rows, r_hi)) for r in range(r_lo, r_hi, tile_rows)]
    n_threads = threads or default_threads()
    counts = {"rays": 0, "ray_misses": 0}

    def work(rows):
        ts = rasterize_tile(layout, rows, (c_lo, c_hi), offsets)
        n_tex = (rows[1] - rows[0]) * (c_hi - c_lo)
        vec, ok = _trace(ts.face, ts.bary, frame, caster, high_normals,
                         float(extrusion), max_depth)
        shape = (rows[1] - rows[0], c_hi - c_lo)
        tex_hit = ts.texel[ok]
        out = np.empty(shape + (3,), np.float32)
        for c in range(3):
            out[..., c] = np.bincount(tex_hit, weights=vec[c], minlength=n_tex).reshape(shape)
        n_hit = np.bincount(tex_hit, minlength=n_tex).reshape(shape).astype(np.uint16)
        n_all = np.bincount(ts.texel, minlength=n_tex).reshape(shape).astype(np.uint16)
        ov = np.zeros(n_tex, bool)
        ov[ts.overlap_texels] = True
        return rows, out, n_hit, n_all, ov.reshape(shape), len(ok), int((~ok).sum())

    bar = _progress(len(tiles), progress)
    with ThreadPoolExecutor(n_threads) as pool:
        for rows, out, n_hit, n_all, ov, n_rays, n_miss in pool.map(work, tiles):
            cols = (c_lo, c_hi)
            fold(out, rows, cols, acc)
            fold(n_hit, rows, cols, hits)
            fold(n_all, rows, cols, sampled)
            fold(ov, rows, cols, overlap)
            counts["rays"] += n_rays
            counts["ray_misses"] += n_miss
            bar.update(1)
    bar.close()

    coverage = hits > 0
    misses = (sampled > 0) & ~coverage
    normals = acc  # normalized in place: no second full-size float image
    length = np.sqrt(np.einsum("ijk,ijk->ij", acc, acc))
    np.divide(acc, length[..., None], out=acc, where=length[..., None] > 0)
    del length
    if space == "tangent":
        normals[~coverage] = (0.0, 0.0, 1.0)
    n_overlap = int(overlap.sum())
    if n_overlap:
        log(f"warning: {low.name}: {n_overlap:,} texels are covered by overlapping UV "
            "triangles; each such texel takes one of them (give overlapping islands "
            "their own UV space)")
    if padding > 0 and coverage.any():
        from .padding import dilate

        normals = dilate(normals, coverage, padding)
    n_miss_tex = int(misses.sum())
    if n_miss_tex:
        log(f"warning: {n_miss_tex:,} texels got no hit within the ray distance; "
            "raise --extrusion/--max-distance or use a cage")
    stats = {
        "width": w, "height": h, "samples": samples, "texels": int((sampled > 0).sum()),
        "rays": counts["rays"], "ray_misses": counts["ray_misses"],
        "miss_texels": n_miss_tex, "overlap_texels": n_overlap,
        "extrusion": float(extrusion), "max_distance": float(max_distance),
        "threads": n_threads, "seconds": time.perf_counter() - t_start,
    }
    return BakeResult(normals=normals, coverage=coverage, misses=misses, space=space,
                      stats=stats)


def _topology(mesh: Mesh) -> np.ndarray:
    """Corner → vertex pattern after welding by position, relabelled by first use.

    Two meshes have the same topology when these are equal, however their files split
    vertices at seams.
    """
    from .mesh import weld_positions

    ids = weld_positions(mesh.positions)[mesh.faces].ravel()
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse.ravel()]


class _LowFrame:
    """Per-corner low-poly data, packed once channel-major for fast per-sample gathers.

    Channels: position (3), normal (3), then tangent xyz + sign (4) in tangent space,
    then cage position (3) with a cage. ``attrs`` is (3·K, F) float32: K rows for
    corner 0, then corner 1, then corner 2, so one ``np.take`` fetches everything and
    all later math runs on contiguous (3, N) component arrays.
    """

    def __init__(self, low: Mesh, tangents, cage: Mesh | None):
        parts = [low.corner_positions(), low.normals]
        self.has_tangents = tangents is not None
        if tangents is not None:
            parts.append(tangents)
        self.has_cage = cage is not None
        if cage is not None:
            parts.append(cage.corner_positions())
        packed = np.concatenate(parts, axis=2).astype(np.float32)  # (F, 3, K)
        self.k = packed.shape[2]
        self.attrs = np.ascontiguousarray(packed.transpose(1, 2, 0).reshape(3 * self.k, -1))

    def interpolate(self, face: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """(K, N) barycentric interpolation of every channel."""
        c = np.take(self.attrs, face, axis=1)
        k = self.k
        out = c[:k] * bary[:, 0]
        out += c[k:2 * k] * bary[:, 1]
        out += c[2 * k:] * bary[:, 2]
        return out


def _high_normals(high: Mesh) -> np.ndarray:
    """(9, F) float32 channel-major corner normals of the high-poly."""
    return np.ascontiguousarray(high.normals.astype(np.float32).transpose(1, 2, 0).reshape(9, -1))


def _trace(face, bary, frame: _LowFrame, caster: RayCaster, high_normals,
           extrusion: float, max_depth: float):
    """Cast one ray per sample; return (3, N_hit) encoded vectors and the (N,) hit mask."""
    attrs = frame.interpolate(face, np.ascontiguousarray(bary.T).T)
    p = attrs[0:3]
    n = attrs[3:6]
    n_hat = unit(n)
    if not frame.has_cage:
        origin = p + np.float32(extrusion) * n_hat
        direction = -n_hat
        tfar = np.full(p.shape[1], extrusion + max_depth, np.float32)
    else:
        origin = attrs[-3:]
        d = p - origin
        length = np.sqrt(dot(d, d))
        direction = np.where(length > 0, d / np.maximum(length, 1e-30), -n_hat)
        tfar = (length + max_depth).astype(np.float32)
    prim, buv, _ = caster.intersect(origin.T, direction.T, tfar)
    ok = prim >= 0
    u = buv[ok, 0]
    v = buv[ok, 1]
    hn = np.take(high_normals, prim[ok], axis=1)
    h = unit(hn[0:3] * (1 - u - v) + hn[3:6] * u + hn[6:9] * v)
    if not frame.has_tangents:
        return h, ok
    sub = attrs[:, ok]
    return world_to_tangent(h, sub[6:9], sub[3:6], sub[9]), ok


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="baking", unit="tile", leave=False, dynamic_ncols=True)
