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

    A triangle whose UVs lie outside [0, 1] is moved by whole tiles so that its lowest
    corner is inside; texels past the image border then wrap (see ``fold``).
    """
    uvs = np.asarray(uvs, dtype=np.float64)
    wrapped = bool((uvs < 0).any() or (uvs > 1).any())
    if wrapped:
        uvs = uvs - np.floor(uvs.min(axis=1, keepdims=True))
    xy = np.empty_like(uvs)
    xy[..., 0] = uvs[..., 0] * width
    xy[..., 1] = (1.0 - uvs[..., 1]) * height
    e1 = xy[:, 1] - xy[:, 0]
    e2 = xy[:, 2] - xy[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    keep = np.abs(area2) > 1e-12
    faces = np.nonzero(keep)[0]
    xy = xy[keep]
    lo = np.floor(xy.min(axis=1)).astype(np.int64)
    hi = np.floor(xy.max(axis=1)).astype(np.int64)
    # A vertex exactly on a texel's far edge does not touch the next texel.
    on_edge = xy.max(axis=1) == hi
    hi = np.maximum(hi - on_edge, lo)
    return UVLayout(xy=xy, faces=faces, lo=lo, hi=hi, wrapped=wrapped,
                    width=width, height=height)


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


def rasterize_tile(layout: UVLayout, rows: tuple[int, int], cols: tuple[int, int],
                   offsets: np.ndarray) -> TexelSamples:
    """All samples of the texels in rows [r0, r1) × cols [c0, c1) (unwrapped texel space).

    Cost: O(sum of triangle bounding-box areas inside the tile × S) time and memory.
    """
    r0, r1 = rows
    c0, c1 = cols
    width = c1 - c0
    sel = np.nonzero((layout.hi[:, 1] >= r0) & (layout.lo[:, 1] < r1))[0]
    empty = TexelSamples(np.zeros(0, np.int64), np.zeros(0, np.int64),
                         np.zeros((0, 3), np.float32), np.zeros(0, np.int64))
    if len(sel) == 0:
        return empty
    lo = layout.lo[sel].copy()
    hi = layout.hi[sel].copy()
    lo[:, 1] = np.maximum(lo[:, 1], r0)
    hi[:, 1] = np.minimum(hi[:, 1], r1 - 1)
    nx = hi[:, 0] - lo[:, 0] + 1
    ny = hi[:, 1] - lo[:, 1] + 1
    counts = nx * ny
    total = int(counts.sum())
    tri = np.repeat(np.arange(len(sel)), counts)
    start = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(total, dtype=np.int64) - start
    px = lo[tri, 0] + k % nx[tri]
    py = lo[tri, 1] + k // nx[tri]
    del k, start

    a, b, c, area2 = _edge_coefficients(layout.xy[sel])
    cx = px + 0.5
    cy = py + 0.5
    e_centre = a[tri] * cx[:, None] + b[tri] * cy[:, None] + c[tri]  # (P, 3)
    reach = 0.5 * (np.abs(a) + np.abs(b))  # half-texel extent of each edge function
    touches = np.all(e_centre + reach[tri] >= 0.0, axis=1)
    tri, px, py, e_centre = tri[touches], px[touches], py[touches], e_centre[touches]
    cx, cy = cx[touches], cy[touches]
    local = (py - r0) * width + (px - c0)

    # Stratified samples: E at centre + offset.
    off = offsets - 0.5  # relative to the texel centre
    s_count = len(offsets)
    inside_list = []
    for s in range(s_count):
        e = e_centre + a[tri] * off[s, 0] + b[tri] * off[s, 1]
        inside = np.all(e >= 0.0, axis=1)
        idx = np.nonzero(inside)[0]
        inside_list.append((s, idx, e[idx]))
    sample_id = np.concatenate([local[idx] * s_count + s for s, idx, _ in inside_list])
    sample_tri = np.concatenate([tri[idx] for _, idx, _ in inside_list])
    sample_e = np.concatenate([e for _, _, e in inside_list])
    strict = np.concatenate([np.all(e > 1e-9 * area2[tri[idx], None], axis=1)
                             for _, idx, e in inside_list])

    # One triangle per sample: the first in face order; overlaps counted on strict interiors.
    order = np.lexsort((sample_tri, sample_id))
    sample_id, sample_tri, sample_e, strict = (sample_id[order], sample_tri[order],
                                               sample_e[order], strict[order])
    first = np.ones(len(sample_id), bool)
    first[1:] = sample_id[1:] != sample_id[:-1]
    strict_id = sample_id[strict]
    dup = strict_id[1:][strict_id[1:] == strict_id[:-1]]
    overlap_texels = np.unique(dup // s_count)
    sample_id, sample_tri, sample_e = sample_id[first], sample_tri[first], sample_e[first]
    bary = sample_e / area2[sample_tri, None]
    texel = sample_id // s_count

    # Border texels: touched by a triangle, but no sample inside any triangle.
    has_sample = np.zeros(len(local), bool)
    covered = np.unique(texel)
    has_sample = np.isin(local, covered)
    if not has_sample.all():
        cand = np.nonzero(~has_sample)[0]
        # Nearest touching triangle: largest signed distance of the centre to its edges.
        norm = np.hypot(a[tri[cand]], b[tri[cand]])
        dist = np.min(e_centre[cand] / norm, axis=1)
        o = np.lexsort((-dist, local[cand]))
        cand = cand[o]
        keep = np.ones(len(cand), bool)
        keep[1:] = local[cand][1:] != local[cand][:-1]
        cand = cand[keep]
        btri = tri[cand]
        bb = _closest_point_bary(layout.xy[sel][btri], np.stack([cx[cand], cy[cand]], 1))
        texel = np.concatenate([texel, local[cand]])
        sample_tri = np.concatenate([sample_tri, btri])
        bary = np.concatenate([bary, bb])
    return TexelSamples(texel=texel.astype(np.int64), face=layout.faces[sel][sample_tri],
                        bary=bary.astype(np.float32), overlap_texels=overlap_texels)


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
         height: int, width: int, out: np.ndarray) -> None:
    """Add a tile buffer (rows × cols × ...) into ``out`` (H × W × ...), wrapping indices."""
    r = np.arange(rows[0], rows[1]) % height
    c = np.arange(cols[0], cols[1]) % width
    if rows[0] >= 0 and rows[1] <= height and cols[0] >= 0 and cols[1] <= width:
        out[rows[0]:rows[1], cols[0]:cols[1]] += values
        return
    np.add.at(out, (r[:, None], c[None, :]), values)
