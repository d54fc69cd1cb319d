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

from ..core.jit import inline, kernel

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


@inline
def _edges(xy, t):
    """Edge functions E_k(p) = a_k·x + b_k·y + c_k of triangle t, positive inside, for the
    edge opposite corner k, and twice its (unsigned) area: E_k / (2·area) is the
    barycentric weight of corner k."""
    x0, y0 = xy[t, 0, 0], xy[t, 0, 1]
    x1, y1 = xy[t, 1, 0], xy[t, 1, 1]
    x2, y2 = xy[t, 2, 0], xy[t, 2, 1]
    area2 = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    sgn = 1.0 if area2 > 0 else -1.0
    # Edge from pa to pb, opposite corner k: E(p) = cross(pb − pa, p − pa).
    a0, b0 = -(y2 - y1) * sgn, (x2 - x1) * sgn
    a1, b1 = -(y0 - y2) * sgn, (x0 - x2) * sgn
    a2, b2 = -(y1 - y0) * sgn, (x1 - x0) * sgn
    c0 = -(a0 * x1 + b0 * y1)
    c1 = -(a1 * x2 + b1 * y2)
    c2 = -(a2 * x0 + b2 * y0)
    return a0, a1, a2, b0, b1, b2, c0, c1, c2, abs(area2)


@inline
def _band_x_range(xy, t, y_lo, y_hi):
    """x-extent of triangle t clipped to the band y ∈ [y_lo, y_hi] (a line if equal);
    x_min > x_max where the band misses it."""
    x_min = np.inf
    x_max = -np.inf
    for k0 in range(3):
        k1 = (k0 + 1) % 3
        px, py = xy[t, k0, 0], xy[t, k0, 1]
        qx, qy = xy[t, k1, 0], xy[t, k1, 1]
        ya = max(min(py, qy), y_lo)
        yb = min(max(py, qy), y_hi)
        if ya > yb:
            continue
        dy = qy - py
        if dy == 0:
            xa, xb = px, qx
        else:
            inv = (qx - px) / dy
            xa = px + (ya - py) * inv
            xb = px + (yb - py) * inv
        x_min = min(x_min, xa, xb)
        x_max = max(x_max, xa, xb)
    return x_min, x_max


@inline
def _closest_point_bary(xy, t, px, py):
    """Barycentric weights of the point of triangle t closest to (px, py) (outside or on it)."""
    best_d = np.inf
    w0 = w1 = w2 = 0.0
    for k0 in range(3):
        k1 = (k0 + 1) % 3
        ax, ay = xy[t, k0, 0], xy[t, k0, 1]
        abx, aby = xy[t, k1, 0] - ax, xy[t, k1, 1] - ay
        s = ((px - ax) * abx + (py - ay) * aby) / max(abx * abx + aby * aby, 1e-300)
        s = min(max(s, 0.0), 1.0)
        dx, dy = px - (ax + s * abx), py - (ay + s * aby)
        d = dx * dx + dy * dy
        if d < best_d:
            best_d = d
            if k0 == 0:  # edge 0 → 1
                w0, w1, w2 = 1.0 - s, s, 0.0
            elif k0 == 1:  # edge 1 → 2
                w0, w1, w2 = 0.0, 1.0 - s, s
            else:  # edge 2 → 0
                w0, w1, w2 = s, 0.0, 1.0 - s
    return w0, w1, w2


@kernel
def _raster_kernel(xy, row_lo, row_hi, r0, r1, c0, c1, offsets, block):
    """Scanline rasterization of triangles ``xy`` (T, 3, 2) into rows [r0, r1) × cols
    [c0, c1); ``row_lo``/``row_hi`` are their inclusive texel-row bounds. Returns texel,
    triangle, (3, N) float32 barycentrics and the overlap texels (see rasterize_tile),
    the samples in ``block`` × ``block`` blocks of texels."""
    width = c1 - c0
    n_tex = (r1 - r0) * width
    n_s = offsets.shape[0]
    n_slots = n_tex * n_s
    # One triangle per sample slot. Samples on a shared edge lie in both triangles;
    # either is right, and the last one written keeps the slot.
    slot_tri = np.full(n_slots, -1, np.int32)
    slot_bary = np.empty((n_slots, 3), np.float32)
    strict = np.zeros(n_slots, np.uint8)  # triangles holding the sample strictly inside
    for t in range(xy.shape[0]):
        a0, a1, a2, b0, b1, b2, e0, e1, e2, area2 = _edges(xy, t)
        inv_area = 1.0 / area2
        for row in range(max(row_lo[t], r0), min(row_hi[t], r1 - 1) + 1):
            for s in range(n_s):
                ox, oy = offsets[s, 0], offsets[s, 1]
                ys = row + oy
                xl, xr = _band_x_range(xy, t, ys, ys)
                if xl > xr:
                    continue
                start = max(int(np.ceil(xl - ox)), c0)
                stop = min(int(np.floor(xr - ox)), c1 - 1)
                base = (row - r0) * width - c0
                for col in range(start, stop + 1):
                    x = col + ox
                    w0 = (a0 * x + b0 * ys + e0) * inv_area
                    w1 = (a1 * x + b1 * ys + e1) * inv_area
                    w2 = (a2 * x + b2 * ys + e2) * inv_area
                    slot = (base + col) * n_s + s
                    slot_tri[slot] = t
                    slot_bary[slot, 0] = max(w0, 0.0)
                    slot_bary[slot, 1] = max(w1, 0.0)
                    slot_bary[slot, 2] = max(w2, 0.0)
                    if w0 > 1e-6 and w1 > 1e-6 and w2 > 1e-6 and strict[slot] < 2:
                        strict[slot] += 1

    covered = np.zeros(n_tex, np.bool_)
    overlap = np.zeros(n_tex, np.bool_)
    n = 0
    for tex in range(n_tex):
        for slot in range(tex * n_s, (tex + 1) * n_s):
            if slot_tri[slot] >= 0:
                covered[tex] = True
                n += 1
            if strict[slot] > 1:
                overlap[tex] = True

    # Border texels: touched by a triangle (conservatively) but holding no sample. Each
    # takes the nearest touching triangle (largest signed distance of its centre).
    best_tri = np.full(n_tex, -1, np.int64)
    best_dist = np.full(n_tex, -np.inf)
    for t in range(xy.shape[0]):
        a0, a1, a2, b0, b1, b2, e0, e1, e2, area2 = _edges(xy, t)
        h0, h1, h2 = np.hypot(a0, b0), np.hypot(a1, b1), np.hypot(a2, b2)
        for row in range(max(row_lo[t], r0), min(row_hi[t], r1 - 1) + 1):
            bx_lo, bx_hi = _band_x_range(xy, t, float(row), row + 1.0)
            if bx_lo > bx_hi:
                continue
            start = max(int(np.floor(bx_lo)), c0)
            stop = min(int(np.ceil(bx_hi)), c1)
            if bx_lo == bx_hi:
                stop = min(max(stop, start + 1), c1)
            cy = row + 0.5
            for col in range(start, stop):
                tex = (row - r0) * width + col - c0
                if covered[tex]:
                    continue
                cx = col + 0.5
                dist = min((a0 * cx + b0 * cy + e0) / h0, (a1 * cx + b1 * cy + e1) / h1,
                           (a2 * cx + b2 * cy + e2) / h2)
                if dist > best_dist[tex]:
                    best_dist[tex] = dist
                    best_tri[tex] = t
    n_border = 0
    for tex in range(n_tex):
        if best_tri[tex] >= 0:
            n_border += 1

    texel = np.empty(n + n_border, np.int64)
    tri = np.empty(n + n_border, np.int64)
    bary = np.empty((3, n + n_border), np.float32)
    i = 0
    rows = r1 - r0
    for block_row in range(0, rows, block):
        for block_col in range(0, width, block):
            for row in range(block_row, min(block_row + block, rows)):
                for col in range(block_col, min(block_col + block, width)):
                    tex = row * width + col
                    for slot in range(tex * n_s, (tex + 1) * n_s):
                        if slot_tri[slot] >= 0:
                            texel[i] = tex
                            tri[i] = slot_tri[slot]
                            for k in range(3):
                                bary[k, i] = slot_bary[slot, k]
                            i += 1
    for tex in range(n_tex):
        t = best_tri[tex]
        if t >= 0:
            w0, w1, w2 = _closest_point_bary(xy, t, tex % width + c0 + 0.5,
                                             tex // width + r0 + 0.5)
            texel[i] = tex
            tri[i] = t
            bary[0, i], bary[1, i], bary[2, i] = w0, w1, w2
            i += 1
    return texel, tri, bary, np.nonzero(overlap)[0].astype(np.int64)


def rasterize_tile(layout: UVLayout, rows: tuple[int, int], cols: tuple[int, int],
                   offsets: np.ndarray, block: int = 1) -> TexelSamples:
    """All samples of the texels in rows [r0, r1) × cols [c0, c1) (unwrapped texel space).

    Scanline rasterization (a compiled kernel): each triangle is cut into one span per
    texel row and per sample row, so work is proportional to the samples produced, not
    to bounding boxes. Samples come out in texel order, each texel's own samples
    together (in the order of ``offsets``), so neighbouring rays are neighbours in
    memory: row-major, or with ``block`` > 1 in square blocks of ``block`` × ``block``
    texels (row-major within a block and from block to block), so that a packet of
    rays covers a compact patch. The border texels' samples (see the module's notes)
    follow, row-major.

    Cost: O(samples + touched texels) time; memory about 40 bytes per sample slot of the
    tile (rows × cols × samples).
    """
    r0, r1 = rows
    c0, c1 = cols
    sel = np.nonzero((layout.hi[:, 1] >= r0) & (layout.lo[:, 1] < r1))[0]
    if len(sel) == 0 or r1 <= r0 or c1 <= c0:
        return TexelSamples(np.zeros(0, np.int64), np.zeros(0, np.int64),
                            np.zeros((3, 0), np.float32).T, np.zeros(0, np.int64))
    texel, tri, bary_t, overlap = _raster_kernel(
        np.ascontiguousarray(layout.xy[sel]), layout.lo[sel, 1], layout.hi[sel, 1],
        int(r0), int(r1), int(c0), int(c1), np.asarray(offsets, np.float64), int(block))
    # (N, 3) view of the (3, N) array: bary[:, k] is contiguous.
    return TexelSamples(texel=texel, face=layout.faces[sel][tri], bary=bary_t.T,
                        overlap_texels=overlap)


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
