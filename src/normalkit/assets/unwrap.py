"""UV unwrapping with xatlas: charts cut at every hard edge, packed for one texture size.

A tangent-space normal map can only show a hard edge if the edge is a UV seam with
padding between its sides: each side's texels then belong to its own chart and are
decoded with its own side's normal. So:

1. Edges sharper than ``hard_angle`` are the *cut*. A hard edge that ends inside a
   smooth area (a dart) would only be a slit, its sides stitched at the end; the cut is
   extended from every such free end along the shortest path of soft edges to another
   cut or an open border, so every cut edge has separate sides.
2. Normals are smooth (area- and angle-weighted, as
   :func:`normalkit.mesh.normals.smooth_normals`) within each corner group: the corners
   around a vertex connected without crossing the cut. So they are split at every hard
   edge and along the few soft edges that close darts, and every normal discontinuity
   is a closed seam: no slits, which tools resolve differently (Blender's mesh API and
   Cycles disagree on MikkTSpace tangents around slit ends). The normal map hides the
   extra splits, as it does the hard edges.
3. xatlas gets one vertex per corner group. xatlas links triangles through *colocal*
   vertices, so the copies of a vertex are moved apart by a few float32 ulps (far below
   the mesh's scale): the cut edges then are mesh borders to xatlas and chart borders
   in the atlas.
4. xatlas packs into one square atlas (``resolution``; on a grid of at most
   ``PACK_MAX`` texels, scaled up to ``size``), ``padding`` empty texels between
   charts at ``size``, bilinear-safe borders, charts aligned to 4×4 blocks of the
   packing grid (for block compression), at a texel density (``texels_per_unit``)
   lowered until all charts fit one atlas.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..core.errors import NormalkitError
from ..core.limits import check_size
from ..mesh.model import Mesh, _normalize, weld_positions
from ..mesh.normals import check_hard_angle, corner_angles

#: First guess of the packed fraction of the atlas (charts + padding), refined by retries.
START_UTILIZATION = 0.42
MAX_ATTEMPTS = 8
#: Largest grid xatlas packs on; larger textures scale the packed layout up.
PACK_MAX = 1024
#: xatlas ChartOptions.max_iterations: 2 gives cleaner charts than the default 1 at the
#: same cost; raised up to MAX_CHART_ITERATIONS while a chart folds over itself.
CHART_ITERATIONS = 2
MAX_CHART_ITERATIONS = 4


@dataclass
class UnwrapInfo:
    """What :func:`unwrap` produced.

    charts : UV charts (islands). hard_edges : edges sharper than ``hard_angle`` (all of
    them UV seams). extra_seam_edges : soft edges cut to close darts. size : atlas
    texels per side. padding : texels between charts. texels_per_unit : texel density
    (texels per mesh unit). utilization : fraction of the atlas covered by charts.
    mirrored_faces : triangles whose UVs wind clockwise (MikkTSpace sign −1).
    overlap_texels : texels of the packing grid covered by two triangles (0 expected).
    chart_iterations : xatlas chart iterations used. attempts : xatlas runs needed.
    seconds : wall time.
    """

    charts: int
    hard_edges: int
    extra_seam_edges: int
    size: int
    padding: int
    texels_per_unit: float
    utilization: float
    mirrored_faces: int
    overlap_texels: int
    chart_iterations: int
    attempts: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.charts} charts, {self.hard_edges} hard edges cut (+{self.extra_seam_edges}"
                f" soft to close darts), {100 * self.utilization:.0f}% of {self.size}² used, "
                f"padding {self.padding} texels, {self.seconds:.2f} s")


def default_padding(size: int) -> int:
    """Texels between charts for a ``size``-texel atlas: size/256, within [2, 16].

    8 texels at 2048² keep charts apart down to the 256² mip level.
    """
    return int(min(16, max(2, size // 256)))


class _Edges:
    """Undirected edges of a mesh welded by position.

    ``slot_edge`` (3F,) maps face corner-edge slot f·3+k (corner k → k+1) to its edge;
    ``lo, hi`` (E,) welded vertex ids; ``count`` (E,) triangles per edge; for manifold
    edges (count 2) ``slot_a, slot_b`` are the two slots, else −1.
    """

    def __init__(self, mesh: Mesh):
        self.vid = weld_positions(mesh.positions)[mesh.faces]
        self.n_vertices = int(self.vid.max()) + 1
        a = self.vid.reshape(-1)
        b = np.roll(self.vid, -1, axis=1).reshape(-1)
        key = np.minimum(a, b) * np.int64(self.n_vertices) + np.maximum(a, b)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        start = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]]))
        self.count = np.diff(np.append(start, len(ks)))
        run = np.repeat(np.arange(len(start)), self.count)
        self.slot_edge = np.empty(len(ks), np.int64)
        self.slot_edge[order] = run
        self.lo = ks[start] // self.n_vertices
        self.hi = ks[start] % self.n_vertices
        two = self.count == 2
        self.slot_a = np.where(two, order[start], -1)
        self.slot_b = np.where(two, order[np.minimum(start + 1, len(ks) - 1)], -1)

    @property
    def n_edges(self) -> int:
        return len(self.lo)


def _hard_mask(mesh: Mesh, edges: _Edges, hard_angle: float) -> np.ndarray:
    """(E,) manifold edges whose face normals differ by more than ``hard_angle``."""
    fn = mesh.face_normals()
    two = edges.count == 2
    cos = np.ones(edges.n_edges)
    cos[two] = np.einsum("ij,ij->i", fn[edges.slot_a[two] // 3], fn[edges.slot_b[two] // 3])
    return two & (cos < np.cos(np.radians(hard_angle)) - 1e-12)


def hard_edges(mesh: Mesh, hard_angle: float) -> np.ndarray:
    """(E, 4) int64 rows (face a, corner a, face b, corner b) of every hard edge.

    A hard edge is an interior edge (exactly two triangles, welded by position) whose
    face normals differ by more than ``hard_angle`` degrees, the rule
    :func:`normalkit.mesh.normals.smooth_normals` splits normals by. Edge k of a face runs
    from its corner k to corner k+1 (mod 3).
    """
    edges = _Edges(mesh)
    hard = _hard_mask(mesh, edges, hard_angle)
    a, b = edges.slot_a[hard], edges.slot_b[hard]
    return np.stack([a // 3, a % 3, b // 3, b % 3], axis=1)


def uv_seam(mesh: Mesh, edges: np.ndarray) -> np.ndarray:
    """(E,) bool: True where the edge's two sides have different UVs (a UV seam).

    ``edges`` as :func:`hard_edges` returns them.
    """
    uv = mesh.require_uvs()
    fa, ka, fb, kb = edges.T
    a0, a1 = uv[fa, ka], uv[fa, (ka + 1) % 3]
    b0, b1 = uv[fb, kb], uv[fb, (kb + 1) % 3]
    # The shared edge runs a0→a1 in face a and a1→a0 in face b (consistent winding); try
    # both pairings so flipped neighbours are handled too.
    joined = (np.all(a0 == b1, axis=1) & np.all(a1 == b0, axis=1)) | (
        np.all(a0 == b0, axis=1) & np.all(a1 == b1, axis=1))
    return ~joined


def _close_darts(mesh: Mesh, edges: _Edges, cut: np.ndarray) -> np.ndarray:
    """Extend ``cut`` (E,) so no cut edge ends at a vertex inside the surface.

    A free end (a vertex on exactly one cut edge, not on a border or non-manifold
    edge) is joined by the shortest path of uncut edges to the nearest vertex of
    *another* part of the cut or of a border; if its part of the cut is the only one,
    to the nearest vertex of its own part two or more cut edges away.
    Returns the new mask. Cost: one Dijkstra per free end (O(E log V) each).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, dijkstra

    cut = cut.copy()
    nv = edges.n_vertices
    pos = np.zeros((nv, 3))
    pos[edges.vid.reshape(-1)] = mesh.positions[mesh.faces].reshape(-1, 3)
    length = np.linalg.norm(pos[edges.lo] - pos[edges.hi], axis=1) + 1e-12
    anchored = np.zeros(nv, bool)  # border and non-manifold vertices
    open_edge = edges.count != 2
    anchored[edges.lo[open_edge]] = True
    anchored[edges.hi[open_edge]] = True
    for _ in range(edges.n_edges):  # each round cuts at least one more edge
        deg = np.bincount(edges.lo[cut], minlength=nv) + np.bincount(edges.hi[cut], minlength=nv)
        free = np.flatnonzero((deg == 1) & ~anchored)
        if len(free) == 0:
            break
        v = int(free[0])
        ci = np.flatnonzero(cut)
        graph = coo_matrix((np.ones(len(ci)), (edges.lo[ci], edges.hi[ci])), shape=(nv, nv))
        _, part = connected_components(graph, directed=False)
        on_cut = deg > 0
        target = (on_cut & (part != part[v])) | anchored
        if not target.any():  # a lone cut: close it on itself, away from v's own edge
            hops = dijkstra(graph, directed=False, indices=v, unweighted=True)
            target = on_cut & (hops >= 2)
        if not target.any():  # a single isolated cut edge: nothing to close it with
            cut[np.flatnonzero(cut & ((edges.lo == v) | (edges.hi == v)))] = False
            continue
        soft = np.flatnonzero(~cut & (edges.count == 2))
        w = coo_matrix((length[soft], (edges.lo[soft], edges.hi[soft])), shape=(nv, nv)).tocsr()
        dist, pred = dijkstra(w, directed=False, indices=v, return_predecessors=True)
        dist[~target] = np.inf
        t = int(np.argmin(dist))
        if not np.isfinite(dist[t]):  # unreachable: leave this dart as it is
            anchored[v] = True
            continue
        path = []
        while t != v:
            path.append((min(t, pred[t]), max(t, pred[t])))
            t = int(pred[t])
        key = edges.lo * np.int64(nv) + edges.hi
        want = np.array([a * nv + b for a, b in path], np.int64)
        cut[np.isin(key, want)] = True
    return cut


def _corner_groups(edges: _Edges, cut: np.ndarray, n_faces: int) -> np.ndarray:
    """(3F,) label per face corner: corners around a vertex joined across uncut edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    link = np.flatnonzero(~cut & (edges.count == 2))
    sa, sb = edges.slot_a[link], edges.slot_b[link]
    fa, fb = sa // 3, sb // 3
    rows, cols = [], []
    # Slot f·3+k runs corner k → k+1; the neighbour runs the same edge the other way
    # (or the same way, if its winding is flipped): match corners by welded vertex.
    for ca in (sa % 3, (sa % 3 + 1) % 3):
        v = edges.vid[fa, ca]
        cb = np.argmax(edges.vid[fb] == v[:, None], axis=1)
        rows.append(fa * 3 + ca)
        cols.append(fb * 3 + cb)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                       shape=(3 * n_faces, 3 * n_faces))
    _, labels = connected_components(graph, directed=False)
    return labels


def _fitted_fraction(atlas) -> float:
    """Share of the charts' UV area that landed in the first of several atlases."""
    vmapping, indices, uvs = atlas[0]
    which = atlas.get_mesh_vertex_assignment(0)[0][indices[:, 0]]
    t = uvs[indices].astype(np.float64)
    area = np.abs((t[:, 1, 0] - t[:, 0, 0]) * (t[:, 2, 1] - t[:, 0, 1])
                  - (t[:, 1, 1] - t[:, 0, 1]) * (t[:, 2, 0] - t[:, 0, 0]))
    total = area.sum()
    return float(min(0.95, area[which == 0].sum() / total)) if total > 0 else 0.8


def _group_normals(corners: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(F, 3, 3) normals: angle × area weighted face normals summed per corner group."""
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    weighted = (corner_angles(corners)[:, :, None] * cross[:, None, :]).reshape(-1, 3)
    n_groups = int(group.max()) + 1
    acc = np.zeros((n_groups, 3))
    for c in range(3):
        acc[:, c] = np.bincount(group, weights=weighted[:, c], minlength=n_groups)
    out = _normalize(acc)[group].reshape(-1, 3, 3)
    bad = ~np.any(out, axis=-1)  # a group of degenerate triangles: their face normal
    if bad.any():
        out[bad] = np.repeat(_normalize(cross)[:, None, :], 3, axis=1)[bad]
    return out


def unwrap(mesh: Mesh, *, size: int = 2048, hard_angle: float = 60.0,
           padding: int | None = None, log=None) -> tuple[Mesh, UnwrapInfo]:
    """UV-unwrap ``mesh`` into one ``size × size`` atlas, with UV seams at hard edges.

    Parameters
    ----------
    mesh : Mesh
        Triangles with positions (e.g. the output of :func:`normalkit.assets.decimate.decimate`);
        normals, UVs and colours, if any, are replaced or dropped.
    size : int
        Texture size the charts are packed for (texels per side), 16–32768.
    hard_angle : float
        Degrees in [0, 180]; edges whose face normals differ by more are hard: the
        normals are split there and they are UV seams with padding between their sides.
    padding : int, optional
        Empty texels between charts (default :func:`default_padding`).
    log : callable, optional
        Receives one-line notices.

    Returns
    -------
    low : Mesh
        Same positions, triangles and triangle order as ``mesh``, with per-corner normals
        (smooth, split at hard edges and where darts were closed) and per-corner UVs in
        [0, 1] (origin bottom-left),
        charts without overlaps, ``padding`` texels apart at ``size``.
    info : UnwrapInfo

    Raises
    ------
    NormalkitError
        Bad ``size``/``padding``/``hard_angle``, or xatlas could not fit the charts.

    Notes
    -----
    Cost: xatlas chart computation (≈0.3 s per 5k triangles) plus packing, which grows
    with ``size`` (≈0.4 s at 2048²; repeated at a lower texel density when the charts
    did not fit, ``info.attempts``), plus one shortest-path search per dart end.
    """
    import xatlas

    t0 = time.perf_counter()
    log = log or (lambda msg: None)
    size = check_size(size, "size")
    hard_angle = check_hard_angle(hard_angle)
    pad = default_padding(size) if padding is None else int(padding)
    if pad < 0:
        raise NormalkitError(f"padding must be ≥ 0 texels, got {padding!r}")
    mesh = mesh.validate()
    corners = mesh.corner_positions()
    area = float(np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                         corners[:, 2] - corners[:, 0]), axis=1).sum() / 2)
    if area <= 0:
        raise NormalkitError(f"{mesh.name}: the mesh has zero surface area; nothing to unwrap")
    edges = _Edges(mesh)
    hard = _hard_mask(mesh, edges, float(hard_angle))
    cut = _close_darts(mesh, edges, hard)
    group = _corner_groups(edges, cut, mesh.n_faces)  # xatlas vertex of every corner
    normals = _group_normals(corners, group)

    # One xatlas vertex per corner group; copies of a position moved apart by ulps.
    n_groups = int(group.max()) + 1
    first = np.full(n_groups, -1, np.int64)
    first[group[::-1]] = np.arange(3 * mesh.n_faces)[::-1]  # first corner of each group
    g_vid = edges.vid.reshape(-1)[first]
    order = np.lexsort((np.arange(n_groups), g_vid))
    copy = np.empty(n_groups, np.int64)
    starts = np.concatenate([[True], g_vid[order][1:] != g_vid[order][:-1]])
    run_first = np.maximum.accumulate(np.where(starts, np.arange(n_groups), 0))
    copy[order] = np.arange(n_groups) - run_first
    x_pos = corners.reshape(-1, 3)[first].astype(np.float32)
    scale = np.maximum(1.0, np.abs(x_pos).max(axis=1, keepdims=True))
    ulp = np.float32(64 * np.finfo(np.float32).eps)
    x_pos = x_pos + (copy[:, None] * ulp * scale * np.array([1.0, 0.7, 0.4], np.float32))
    x_pos = np.ascontiguousarray(x_pos, np.float32)
    x_nrm = np.ascontiguousarray(normals.reshape(-1, 3)[first], np.float32)
    x_idx = np.ascontiguousarray(group.reshape(-1, 3), np.uint32)

    # Pack on a grid of at most PACK_MAX texels (xatlas's packing time grows with the
    # resolution), with the padding scaled so the gaps at ``size`` are at least ``pad``.
    pack_res = min(size, PACK_MAX)
    pack_pad = int(np.ceil(pad * pack_res / size))
    from ..baking.raster import rasterize

    tpu = pack_res * np.sqrt(START_UTILIZATION / area)
    attempt = 0
    for iterations in range(CHART_ITERATIONS, MAX_CHART_ITERATIONS + 1):
        chart_options = xatlas.ChartOptions()
        chart_options.max_iterations = iterations
        while True:
            attempt += 1
            pack = xatlas.PackOptions()
            pack.resolution = pack_res
            pack.padding = pack_pad
            pack.bilinear = True
            pack.blockAlign = True
            pack.texels_per_unit = float(tpu)
            atlas = xatlas.Atlas()
            atlas.add_mesh(x_pos, x_idx, x_nrm)
            atlas.generate(chart_options, pack)
            if atlas.atlas_count == 1:
                break
            if attempt == MAX_ATTEMPTS:
                raise NormalkitError(
                    f"{mesh.name}: xatlas could not pack the {atlas.chart_count} charts into "
                    f"one {size}² atlas after {MAX_ATTEMPTS} attempts; use a larger --size "
                    "(or fewer hard edges: a larger --hard-angle)")
            tpu *= _fitted_fraction(atlas) ** 0.5 * 0.95  # shrink to what fitted, again
        vmapping, indices, uvs = atlas[0]
        # xatlas keeps the triangle order; check that every corner maps back to its group.
        if indices.shape != (mesh.n_faces, 3) or not np.array_equal(
                vmapping[indices].astype(np.int64), group.reshape(-1, 3)):
            raise NormalkitError(f"{mesh.name}: xatlas changed the triangles (degenerate "
                                 "triangles?); remove zero-area triangles and try again")
        corner_uv = uvs.astype(np.float64)[indices]  # divided by the atlas size already
        if atlas.width != pack_res or atlas.height != pack_res:  # defensive: fit the texture
            corner_uv *= np.array([atlas.width, atlas.height], np.float64) / pack_res
        # A chart's boundary can fold over itself around a small hole (a triangle cut out
        # as a chart of its own): check on the packing grid, chart again if so.
        overlaps = len(rasterize(corner_uv, pack_res, pack_res).overlap_texels)
        if overlaps == 0:
            break
    if overlaps:
        log(f"warning: {mesh.name}: {overlaps} texels of {pack_res}² are covered by two "
            "triangles (a UV chart folds over itself); the bake gives each one of them")
    low = mesh.replace(normals=normals, uvs=corner_uv, colors=None, base_color_texture=None)

    hard_rows = np.stack([edges.slot_a[hard] // 3, edges.slot_a[hard] % 3,
                          edges.slot_b[hard] // 3, edges.slot_b[hard] % 3], axis=1)
    open_seams = int((~uv_seam(low, hard_rows)).sum())
    if open_seams:
        log(f"warning: {mesh.name}: {open_seams} hard edges are not UV seams; the normal map "
            "can show a seam artefact there")
    e1 = corner_uv[:, 1] - corner_uv[:, 0]
    e2 = corner_uv[:, 2] - corner_uv[:, 0]
    mirrored = int(((e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) < 0).sum())
    info = UnwrapInfo(charts=int(atlas.chart_count), hard_edges=int(hard.sum()),
                      extra_seam_edges=int((cut & ~hard).sum()), size=size, padding=pad,
                      texels_per_unit=float(atlas.texels_per_unit) * size / pack_res,
                      utilization=float(atlas.utilization), mirrored_faces=mirrored,
                      overlap_texels=overlaps, chart_iterations=iterations,
                      attempts=attempt, seconds=time.perf_counter() - t0)
    return low, info
