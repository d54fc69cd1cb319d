"""UV-space rasterization: which texel samples lie on which low-poly triangle.

Conventions (CONVENTIONS.md): UV origin bottom-left, image row 0 at the top; texel
(row j, column i) has its centre at u = (i + 0.5)/W, v = 1 − (j + 0.5)/H. In texel
coordinates x = u·W, y = (1 − v)·H, so texel (j, i) spans [i, i+1) × [j, j+1).

Coverage is conservative: every texel whose square touches a triangle gets samples.
Samples are stratified within the texel (a √S × √S grid); a texel that touches a
triangle but has none of its samples inside one (island borders) gets one sample at
the point of the nearest touching triangle closest to the texel centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_COUNTS = (1, 4, 16, 64)


@dataclass
class TexelSamples:
    """Samples of one tile.

    texel : (N,) int64, flat index into the tile buffer (rows × cols of the tile)
    face : (N,) int64, low-poly triangle of each sample
    bary : (N, 3) float32 barycentric weights of the triangle's corners 0, 1, 2
        (Fortran-ordered: ``bary[:, k]`` is contiguous)
    overlap_texels : (M,) int64 tile-buffer texels whose samples fall in 2+ triangles
    """

    texel: np.ndarray
    face: np.ndarray
    bary: np.ndarray
    overlap_texels: np.ndarray


@dataclass
class UVLayout:
    """Triangles in texel coordinates, shifted so UVs outside [0, 1] wrap.

    xy : (F, 3, 2) float64 texel coordinates of the kept triangles
    faces : (F,) int64 original face index of each kept triangle
    lo, hi : (F, 2) int64 inclusive texel bounding boxes (x, y)
    wrapped : bool, whether any UV lay outside [0, 1]
    """

    xy: np.ndarray
    faces: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    wrapped: bool
    width: int
    height: int

    @property
    def row_range(self) -> tuple[int, int]:
        if len(self.faces) == 0:
            return 0, 0
        return int(self.lo[:, 1].min()), int(self.hi[:, 1].max()) + 1

    @property
    def col_range(self) -> tuple[int, int]:
        if len(self.faces) == 0:
            return 0, 0
        return int(self.lo[:, 0].min()), int(self.hi[:, 0].max()) + 1


def uv_layout(uvs: np.ndarray, width: int, height: int) -> UVLayout:
    """Place (F, 3, 2) UV triangles in texel space; drop triangles of zero UV area.

    UVs outside [0, 1] wrap: a triangle is moved by whole texture tiles so that its
    lowest corner lies inside the image, and where it then crosses the right or bottom
    border, shifted copies are added on the opposite side. Every texel coordinate the
    rasterizer sees is therefore inside [0, W) × [0, H), and coverage, ownership and
    overlap are decided in image space.
    """
    uvs = np.asarray(uvs, dtype=np.float64)
    wrapped = bool((uvs < 0).any() or (uvs > 1).any())
    xy = np.empty_like(uvs)
    xy[..., 0] = uvs[..., 0] * width
    xy[..., 1] = (1.0 - uvs[..., 1]) * height
    e1 = xy[:, 1] - xy[:, 0]
    e2 = xy[:, 2] - xy[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    keep = np.abs(area2) > 1e-12
    faces = np.nonzero(keep)[0]
    xy = xy[keep]
    size = np.array([width, height], np.float64)
    if wrapped:
        xy = xy - np.floor(xy.min(axis=1, keepdims=True) / size) * size
        lo, hi = _texel_bounds(xy)
        tiles = hi // np.array([width, height]) + 1  # tiles spanned in x and y (≥ 1)
        copies = tiles[:, 0] * tiles[:, 1]
        src = np.repeat(np.arange(len(xy)), copies)
        k = np.arange(len(src)) - np.repeat(np.cumsum(copies) - copies, copies)
        shift = np.stack([k % tiles[src, 0], k // tiles[src, 0]], axis=1) * size
        xy = xy[src] - shift[:, None, :]
        faces = faces[src]
    lo, hi = _texel_bounds(xy)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    inside = np.all(lo <= hi, axis=1)
    return UVLayout(xy=xy[inside], faces=faces[inside], lo=lo[inside], hi=hi[inside],
                    wrapped=wrapped, width=width, height=height)


def _texel_bounds(xy: np.ndarray):
    """Inclusive texel bounding boxes; a vertex exactly on a texel's far edge doesn't touch it."""
    lo = np.floor(xy.min(axis=1)).astype(np.int64)
    top = xy.max(axis=1)
    hi = np.floor(top).astype(np.int64)
    hi = np.maximum(hi - (top == hi), lo)
    return lo, hi


def sample_offsets(samples: int) -> np.ndarray:
    """(S, 2) stratified sample positions inside a texel, in [0, 1)²; S=1 is the centre."""
    if samples not in SAMPLE_COUNTS:
        raise ValueError(f"samples must be one of {SAMPLE_COUNTS}")
    s = int(round(np.sqrt(samples)))
    g = (np.arange(s) + 0.5) / s
    ox, oy = np.meshgrid(g, g, indexing="xy")
    return np.stack([ox.ravel(), oy.ravel()], axis=1)


def _edge_coefficients(xy: np.ndarray):
    """Edge functions E_k(p) = a_k·x + b_k·y + c_k, positive inside, for the edge opposite k.

    E_k / (2·area) is the barycentric weight of corner k.
    """
    p0, p1, p2 = xy[:, 0], xy[:, 1], xy[:, 2]
    area2 = (p1[:, 0] - p0[:, 0]) * (p2[:, 1] - p0[:, 1]) - (p1[:, 1] - p0[:, 1]) * (
        p2[:, 0] - p0[:, 0])
    sgn = np.sign(area2)
    a = np.empty((len(xy), 3))
    b = np.empty((len(xy), 3))
    c = np.empty((len(xy), 3))
    for k, (pa, pb) in enumerate(((p1, p2), (p2, p0), (p0, p1))):
        # Edge from pa to pb; opposite corner k. E(p) = cross(pb - pa, p - pa).
        a[:, k] = -(pb[:, 1] - pa[:, 1])
        b[:, k] = pb[:, 0] - pa[:, 0]
        c[:, k] = -(a[:, k] * pa[:, 0] + b[:, k] * pa[:, 1])
    a *= sgn[:, None]
    b *= sgn[:, None]
    c *= sgn[:, None]
    return a, b, c, np.abs(area2)


def _edge_x_range(xy: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray):
    """x-extent of each triangle clipped to the band y ∈ [y_lo, y_hi] (a line if equal).

    xy : (P, 3, 2) triangles; y_lo, y_hi : (P,). Returns (x_min, x_max), with
    x_min > x_max where the band misses the triangle.
    """
    x_min = np.full(len(xy), np.inf)
    x_max = np.full(len(xy), -np.inf)
    for k0, k1 in ((0, 1), (1, 2), (2, 0)):
        p, q = xy[:, k0], xy[:, k1]
        ey_lo = np.minimum(p[:, 1], q[:, 1])
        ey_hi = np.maximum(p[:, 1], q[:, 1])
        ya = np.maximum(ey_lo, y_lo)
        yb = np.minimum(ey_hi, y_hi)
        valid = ya <= yb
        dy = q[:, 1] - p[:, 1]
        flat = dy == 0
        inv = np.divide(q[:, 0] - p[:, 0], dy, out=np.zeros_like(dy), where=~flat)
        xa = np.where(flat, p[:, 0], p[:, 0] + (ya - p[:, 1]) * inv)
        xb = np.where(flat, q[:, 0], p[:, 0] + (yb - p[:, 1]) * inv)
        lo = np.where(valid, np.minimum(xa, xb), np.inf)
        hi = np.where(valid, np.maximum(xa, xb), -np.inf)
        np.minimum(x_min, lo, out=x_min)
        np.maximum(x_max, hi, out=x_max)
    return x_min, x_max


def _runs(start: np.ndarray, stop: np.ndarray):
    """Expand half-open integer runs [start, stop) into (run index, value) arrays."""
    counts = np.maximum(stop - start, 0)
    run = np.repeat(np.arange(len(start)), counts)
    first = np.cumsum(counts) - counts
    value = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first - start, counts)
    return run, value


def rasterize_tile(layout: UVLayout, rows: tuple[int, int], cols: tuple[int, int],
                   offsets: np.ndarray) -> TexelSamples:
    """All samples of the texels in rows [r0, r1) × cols [c0, c1) (unwrapped texel space).

    Scanline rasterization: each triangle is cut into one span per texel row and per
    sample row, so work is proportional to the samples produced, not to bounding boxes.

    Cost: O(samples + touched texels) time and memory, about 60 bytes per sample.
    """
    r0, r1 = rows
    c0, c1 = cols
    width = c1 - c0
    n_tex = (r1 - r0) * width
    s_count = len(offsets)
    sel = np.nonzero((layout.hi[:, 1] >= r0) & (layout.lo[:, 1] < r1))[0]
    if len(sel) == 0:
        return TexelSamples(np.zeros(0, np.int64), np.zeros(0, np.int64),
                            np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    xy = layout.xy[sel]
    a, b, c, area2 = _edge_coefficients(xy)

    # One (triangle, texel row) pair per row a triangle touches inside the tile.
    row_lo = np.maximum(layout.lo[sel, 1], r0)
    row_hi = np.minimum(layout.hi[sel, 1], r1 - 1)
    pair_tri, pair_row = _runs(row_lo, row_hi + 1)
    pair_xy = xy[pair_tri]

    # Samples: the triangle's exact x-interval on each sample row, one run per
    # (pair, sample) holding the texel columns whose sample falls inside.
    ox, oy = offsets[:, 0], offsets[:, 1]
    y_s = pair_row[:, None] + oy[None, :]  # (P, S)
    xl, xr = _edge_x_range(np.repeat(pair_xy, s_count, axis=0), y_s.ravel(), y_s.ravel())
    run_pair = np.repeat(np.arange(len(pair_tri)), s_count)
    run_s = np.tile(np.arange(s_count), len(pair_tri))
    hit = xl <= xr
    xl, xr = np.where(hit, xl, 0.0), np.where(hit, xr, -1.0)
    start = np.maximum(np.ceil(xl - ox[run_s]), c0).astype(np.int64)
    stop = np.minimum(np.floor(xr - ox[run_s]), c1 - 1).astype(np.int64) + 1
    stop = np.where(hit, stop, start)
    run, col = _runs(start, stop)
    # Barycentrics are linear along a run: value at its first column + slope·offset
    # (float32 is exact enough once the offset is small).
    rt = pair_tri[run_pair]
    ry = y_s.ravel()
    inv_area = 1.0 / area2[rt]
    slope = a[rt] * inv_area[:, None]
    first = (a[rt] * (start + ox[run_s])[:, None] + b[rt] * ry[:, None] + c[rt]) * inv_area[:, None]
    # Channel-major (3, N): every later operation runs on contiguous rows.
    step = (col - start[run]).astype(np.float32)
    bary_t = np.take(np.ascontiguousarray(first.T, np.float32), run, axis=1)
    bary_t += np.take(np.ascontiguousarray(slope.T, np.float32), run, axis=1) * step
    del step
    local = (pair_row[run_pair[run]] - r0) * width + (col - c0)
    slot = local * s_count + run_s[run]
    sample_tri = rt[run]
    del first, slope

    # One triangle per sample. Samples on a shared edge lie in both triangles; either
    # is right, and the scatter keeps one of them in O(N) (no sort).
    n_slots = n_tex * s_count
    owner = np.full(n_slots, -1, np.int64)
    owner[slot] = np.arange(len(slot))
    keep = np.zeros(len(slot), bool)
    keep[owner[owner >= 0]] = True
    del owner
    # Overlapping UVs: a sample strictly inside two or more triangles.
    strict = (bary_t[0] > 1e-6) & (bary_t[1] > 1e-6) & (bary_t[2] > 1e-6)
    overlap_slots = np.nonzero(np.bincount(slot[strict], minlength=n_slots) > 1)[0]
    overlap_texels = np.unique(overlap_slots // s_count)
    if not keep.all():
        slot, sample_tri, bary_t = slot[keep], sample_tri[keep], bary_t[:, keep]
    texel = slot // s_count
    np.maximum(bary_t, 0.0, out=bary_t)

    # Border texels: touched by a triangle (conservatively) but holding no sample.
    covered = np.zeros(n_tex, bool)
    covered[texel] = True
    bx_lo, bx_hi = _edge_x_range(pair_xy, pair_row.astype(np.float64),
                                 pair_row + 1.0)
    hit = bx_lo <= bx_hi
    bx_lo, bx_hi = np.where(hit, bx_lo, 0.0), np.where(hit, bx_hi, 0.0)
    start = np.maximum(np.floor(bx_lo), c0).astype(np.int64)
    stop = np.minimum(np.ceil(bx_hi), c1).astype(np.int64)
    stop = np.where(hit, np.maximum(stop, start + (bx_lo == bx_hi)), start)
    run, col = _runs(start, stop)
    b_local = (pair_row[run] - r0) * width + (col - c0)
    miss = ~covered[b_local]
    if miss.any():
        b_local, b_pair, col = b_local[miss], run[miss], col[miss]
        b_tri = pair_tri[b_pair]
        cx = col + 0.5
        cy = pair_row[b_pair] + 0.5
        e = a[b_tri] * cx[:, None] + b[b_tri] * cy[:, None] + c[b_tri]
        dist = np.min(e / np.hypot(a[b_tri], b[b_tri]), axis=1)
        o = np.lexsort((-dist, b_local))  # per texel, the nearest triangle first
        b_local, b_tri, cx, cy = b_local[o], b_tri[o], cx[o], cy[o]
        keep = np.ones(len(o), bool)
        keep[1:] = b_local[1:] != b_local[:-1]
        b_local, b_tri, cx, cy = b_local[keep], b_tri[keep], cx[keep], cy[keep]
        bb = _closest_point_bary(xy[b_tri], np.stack([cx, cy], 1))
        texel = np.concatenate([texel, b_local])
        sample_tri = np.concatenate([sample_tri, b_tri])
        bary_t = np.concatenate([bary_t, bb.T.astype(np.float32)], axis=1)
    # (N, 3) view of the (3, N) array: bary[:, k] is contiguous.
    return TexelSamples(texel=texel, face=layout.faces[sel][sample_tri],
                        bary=bary_t.T, overlap_texels=overlap_texels)


def _closest_point_bary(tri_xy: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Barycentric weights of the point of each triangle closest to p (p outside or on it)."""
    best_d = np.full(len(p), np.inf)
    best = np.zeros((len(p), 3))
    for k0, k1 in ((0, 1), (1, 2), (2, 0)):
        a = tri_xy[:, k0]
        ab = tri_xy[:, k1] - a
        t = np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
        t = np.clip(t, 0.0, 1.0)
        q = a + t[:, None] * ab
        d = np.einsum("ij,ij->i", p - q, p - q)
        better = d < best_d
        w = np.zeros((len(p), 3))
        w[:, k0] = 1.0 - t
        w[:, k1] = t
        best[better] = w[better]
        best_d[better] = d[better]
    return best


def fold(values: np.ndarray, rows: tuple[int, int], cols: tuple[int, int],
         out: np.ndarray) -> None:
    """Add a tile buffer (rows × cols × ...) into its place in ``out`` (H × W × ...)."""
    out[rows[0]:rows[1], cols[0]:cols[1]] += values


def rasterize(uvs: np.ndarray, width: int, height: int, samples: int = 1) -> TexelSamples:
    """Rasterize a whole UV layout at once; ``texel`` indexes the flat (H·W) image.

    Convenience for image-sized work that fits in memory (map conversion, renders of
    texel frames); the baker streams :func:`rasterize_tile` over row tiles instead.
    """
    layout = uv_layout(uvs, width, height)
    (r0, r1), (c0, c1) = layout.row_range, layout.col_range
    ts = rasterize_tile(layout, (r0, r1), (c0, c1), sample_offsets(samples))
    span = max(c1 - c0, 1)

    def to_image(local):
        return (local // span + r0) * width + local % span + c0

    return TexelSamples(texel=to_image(ts.texel), face=ts.face, bary=ts.bary,
                        overlap_texels=to_image(ts.overlap_texels))
