"""Quadric-error decimation (fast-simplification), part by part, with the error it reached.

The mesh is welded by position first (so seams and hard edges of the file do not become
borders), degenerate triangles are dropped, and every connected part is decimated on its
own: the face budget is shared among the parts in proportion to their surface area, so a
small bolt is not reduced to nothing while the body keeps thousands of triangles.

Open borders are kept: fast-simplification is first run with ``preserve_border`` (no
border vertex moves); a part whose border is too long for its budget is decimated again
without it, where a border vertex still merges only with another border vertex, at one
of the two ends or the midpoint, so borders stay on the original outline.

The error is measured, not estimated: the distance from the high-poly's vertices (all of
them up to ``ERROR_SAMPLES``, evenly strided beyond) to the decimated surface, exact up
to rare over-estimates (see :func:`surface_distance`), signed by the closest
triangle's normal (+ outside, − inside).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..core.errors import NormalkitError
from ..core.parallel import run_threads
from ..core.plural import count
from ..mesh.model import Mesh, weld_positions

#: A part whose area share is below this many triangles keeps this many (if it has them).
MIN_PART_FACES = 4
#: High-poly vertices measured for the error at most (evenly strided beyond that).
ERROR_SAMPLES = 250_000


@dataclass
class DecimateInfo:
    """What :func:`decimate` reached.

    faces_in, faces_out, target : triangle counts (``target`` as asked).
    parts : connected parts of the welded input; ``parts_decimated`` of them were
        reduced, ``parts_dropped`` (the smallest, when there were more parts than the
        budget allows) removed.
    border_edges, nonmanifold_edges : open edges and edges shared by 3+ triangles.
    border_mode : "preserved" (border vertices fixed), "on-border" (border vertices
        only merge along the border) or "none" (the mesh is closed).
    max_error, mean_error : distance from the high-poly vertices to the result, mesh
        units; ``relative_error`` is ``max_error`` / bounding-box diagonal.
    max_outside, max_inside : largest distance of a high-poly vertex outside (along
        the low-poly normal) and inside the result; ray extrusion and depth need these.
    diagonal : bounding-box diagonal of the input.
    seconds : wall time (decimation and error measurement).
    """

    faces_in: int
    faces_out: int
    target: int
    parts: int
    parts_decimated: int
    parts_dropped: int
    border_edges: int
    nonmanifold_edges: int
    border_mode: str
    max_error: float
    mean_error: float
    relative_error: float
    max_outside: float
    max_inside: float
    diagonal: float
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.faces_in:,} → {self.faces_out:,} triangles ({self.parts} part"
                f"{'s' if self.parts != 1 else ''}), max error {self.max_error:.4g} "
                f"({100 * self.relative_error:.3f}% of the diagonal), mean "
                f"{self.mean_error:.3g}, in {self.seconds:.2f} s")


def target_faces(n_faces: int, faces: int | None = None, ratio: float | None = None) -> int:
    """The face budget from ``faces`` or ``ratio``; raises NormalkitError naming the fix.

    ``faces`` must be an integer in [1, n_faces]; ``ratio`` a number in (0, 1] that
    leaves at least one triangle. Exactly one of them is given.
    """
    if (faces is None) == (ratio is None):
        raise NormalkitError("give exactly one of faces (a triangle count) or ratio "
                             "(a fraction of the input's triangles), e.g. --faces 5000")
    if faces is not None:
        if isinstance(faces, bool) or int(faces) != faces:
            raise NormalkitError(f"faces must be a whole number of triangles, got {faces!r}")
        faces = int(faces)
        if faces <= 0:
            raise NormalkitError(f"faces must be at least 1, got {faces}; ask for a positive "
                                 "triangle count such as --faces 5000")
        if faces > n_faces:
            raise NormalkitError(f"faces {faces:,} is more than the input's {n_faces:,} "
                                 f"triangles; ask for at most {n_faces:,} (decimation only "
                                 "removes triangles)")
        return faces
    ratio = float(ratio)
    if not 0 < ratio <= 1:
        raise NormalkitError(f"ratio must be in (0, 1], got {ratio:g}; e.g. --ratio 0.01 keeps "
                             "1% of the triangles")
    faces = int(round(ratio * n_faces))
    if faces < 1:
        raise NormalkitError(f"ratio {ratio:g} of {n_faces:,} triangles leaves none; use a "
                             f"ratio of at least {1 / n_faces:.2g} or give --faces")
    return faces


def decimate(mesh: Mesh, *, faces: int | None = None, ratio: float | None = None,
             log=None) -> tuple[Mesh, DecimateInfo]:
    """Reduce ``mesh`` to about ``faces`` triangles (or ``ratio`` of them), quadric error.

    Parameters
    ----------
    mesh : Mesh
        Any triangle mesh; per-corner attributes are ignored (the result is new
        geometry). Vertices at bit-identical positions are welded first.
    faces : int, optional
        Target triangle count, 1 ≤ faces ≤ ``mesh.n_faces``.
    ratio : float, optional
        Target as a fraction of ``mesh.n_faces``, in (0, 1].
    log : callable, optional
        Receives one-line notices: non-manifold edges, dropped parts, borders that
        could not stay fixed.

    Returns
    -------
    low : Mesh
        Positions and triangles only (no normals, UVs or colours), named like
        ``mesh``. Triangles come part by part (parts in order of their first triangle
        in ``mesh``), each part in fast-simplification's output order: deterministic.
        The count is the target, or at most one less per decimated part (an edge
        collapse removes two triangles); more only when parts are kept whole.
    info : DecimateInfo

    Raises
    ------
    NormalkitError
        Neither or both of ``faces``/``ratio``; a target of zero, below zero or above
        the input's count; a mesh with no valid triangle.

    Notes
    -----
    Cost: O(F log F) for welding and parts, fast-simplification's O(F) passes (about
    2 s per million triangles), and the error measurement: a k-d tree query per
    high-poly vertex plus ~7 point-triangle distances each (≈0.5 s per million
    vertices). Memory: a few hundred bytes per input triangle.
    """
    import fast_simplification

    t0 = time.perf_counter()
    log = log or (lambda msg: None)
    mesh.validate()
    target = target_faces(mesh.n_faces, faces, ratio)

    # Weld by position and drop triangles that collapse to a line or a point.
    ids = weld_positions(mesh.positions)  # compact ids 0..U-1
    positions = np.empty((int(ids.max()) + 1, 3))
    positions[ids] = mesh.positions
    tris = ids[mesh.faces]
    valid = (tris[:, 0] != tris[:, 1]) & (tris[:, 1] != tris[:, 2]) & (tris[:, 2] != tris[:, 0])
    tris = tris[valid]
    if len(tris) == 0:
        raise NormalkitError(f"{mesh.name}: every triangle is degenerate (zero area)")

    # The edge census and the parts are independent sorts and graph passes that release
    # the GIL: on two threads.
    (border_edges, nonmanifold), (labels, n_parts) = run_threads(
        lambda job: job(tris, len(positions)), [edge_counts, part_labels], 2)
    if nonmanifold:
        log(f"warning: {mesh.name}: {nonmanifold:,} non-manifold edges (shared by 3+ "
            "triangles); decimation can open holes there. Repair them first if the result "
            "shows holes (e.g. Blender: Select > All by Trait > Non Manifold)")

    part_faces = np.bincount(labels, minlength=n_parts)
    part_area = (np.bincount(labels, weights=_areas(positions, tris), minlength=n_parts)
                 if n_parts > 1 else np.ones(1))
    budget = _share_budget(target, part_faces, part_area)
    dropped = int((budget == 0).sum())
    if dropped:
        share = 100 * part_area[budget == 0].sum() / max(part_area.sum(), 1e-300)
        log(f"warning: {mesh.name}: {n_parts:,} separate parts but a budget of {target:,} "
            f"triangles; dropped the {dropped:,} smallest ({share:.2g}% of the area). Ask for "
            "more faces to keep them")

    order = (np.argsort(labels, kind="stable") if n_parts > 1  # grouped by part, file order
             else np.arange(len(tris)))
    bounds = np.concatenate([[0], np.cumsum(part_faces)])
    out_pos, out_tri, offset = [], [], 0
    decimated = 0
    border_mode = "preserved" if border_edges else "none"
    for part in range(n_parts):
        if budget[part] == 0:
            continue
        sel = tris[order[bounds[part]:bounds[part + 1]]]
        if n_parts == 1 and len(positions) == int(sel.max()) + 1:
            p, t = positions, sel  # every vertex is used: no compaction needed
        else:
            used, local = np.unique(sel, return_inverse=True)
            p, t = positions[used], local.reshape(-1, 3)
        if budget[part] < len(t):
            decimated += 1
            p, t, mode = _simplify(fast_simplification, p, t, int(budget[part]))
            if mode == "on-border":
                border_mode = mode
            p, t = drop_doubled(p, t)
        out_pos.append(p)
        out_tri.append(t + offset)
        offset += len(p)
    if border_mode == "on-border":
        log(f"{mesh.name}: open borders too long for the budget to stay fixed; border "
            "vertices were merged along the border instead")
    if sum(len(t) for t in out_tri) == 0:
        raise NormalkitError(f"{mesh.name}: decimating to {count(target, 'triangle')} left "
                             "no surface; ask for more faces (e.g. --faces 500)")
    low = Mesh(positions=np.concatenate(out_pos), faces=np.concatenate(out_tri).astype(np.int64),
               name=mesh.name)

    diag = float(np.linalg.norm(np.ptp(positions, axis=0)))
    stride = max(1, -(-len(positions) // ERROR_SAMPLES))
    probe = np.arange(0, len(positions), stride)
    dist = surface_distance(positions[probe], _vertex_directions(positions, tris, probe),
                            low.positions, low.faces)
    unsigned = np.abs(dist)
    max_err = float(unsigned.max()) if len(unsigned) else 0.0
    info = DecimateInfo(
        faces_in=mesh.n_faces, faces_out=low.n_faces, target=target, parts=n_parts,
        parts_decimated=decimated, parts_dropped=dropped, border_edges=border_edges,
        nonmanifold_edges=nonmanifold, border_mode=border_mode, max_error=max_err,
        mean_error=float(unsigned.mean()) if len(unsigned) else 0.0,
        relative_error=max_err / diag if diag > 0 else 0.0,
        max_outside=float(max(dist.max(), 0.0)), max_inside=float(max(-dist.min(), 0.0)),
        diagonal=diag, seconds=time.perf_counter() - t0)
    return low, info


#: fast-simplification runs tried in order until one reaches the budget:
#: (preserve_border, aggressiveness). Aggressiveness 5 grows the error threshold more
#: slowly than the library's default 7, which on a 1.3M-triangle bumpy torus at 5k
#: triangles gives 5 instead of ~120 folded edges (dihedral > 60°) for the same time; 7
#: is the fallback when 5 cannot reach the target.
_ATTEMPTS = ((True, 5.0), (True, 7.0), (False, 7.0))


def _simplify(fs, p: np.ndarray, t: np.ndarray, budget: int):
    """fast-simplification on a copy scaled to unit size (its error threshold is absolute).

    Returns positions, triangles and the border mode reached ("preserved" or
    "on-border"); the last attempt's result when none reaches the budget.
    """
    centre = 0.5 * (p.min(axis=0) + p.max(axis=0))
    scale = float(np.linalg.norm(np.ptp(p, axis=0))) or 1.0
    q = (p - centre) / scale
    tri = t.astype(np.int32)
    for preserve, agg in _ATTEMPTS:
        p2, t2 = fs.simplify(q, tri, target_count=budget, agg=agg, preserve_border=preserve)
        if len(t2) <= budget:
            break
    return p2 * scale + centre, t2.astype(np.int64), "preserved" if preserve else "on-border"


def drop_doubled(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove triangles that share all three vertices with another (both of a back-to-back
    pair: edge collapses in a fold leave them, and they make edges non-manifold), and the
    vertices no triangle uses any more. A part with fewer than four other triangles (the
    budget crushed it to a sheet) is kept as it is."""
    key = np.sort(t, axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    keep = counts[inverse.ravel()] == 1
    if keep.all() or keep.sum() < 4:  # a part collapsed to a sheet: keep it as it is
        return p, t
    t = t[keep]
    used, local = np.unique(t, return_inverse=True)
    return p[used], local.reshape(-1, 3)


def edge_counts(tris: np.ndarray, n_vertices: int) -> tuple[int, int]:
    """(open edges, edges with 3+ triangles) of a welded triangle list."""
    a = tris.reshape(-1)
    b = np.roll(tris, -1, axis=1).reshape(-1)
    key = np.sort(np.minimum(a, b) * np.int64(n_vertices) + np.maximum(a, b))
    start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    count = np.diff(np.append(start, len(key)))
    return int((count == 1).sum()), int((count > 2).sum())


def part_labels(tris: np.ndarray, n_vertices: int) -> tuple[np.ndarray, int]:
    """(F,) connected-part label of every triangle (vertex-connected), labels by first use."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # Two edges per triangle connect its three vertices; weak components of the
    # directed graph need no symmetric copy.
    rows = tris[:, :2].reshape(-1)
    cols = tris[:, 1:].reshape(-1)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)),
                       shape=(n_vertices, n_vertices))
    n, vlabel = connected_components(graph, directed=True, connection="weak")
    flabel = vlabel[tris[:, 0]]
    if n == 1 or (flabel == flabel[0]).all():
        return np.zeros(len(tris), np.int64), 1
    # Relabel in order of each part's first triangle, so the output order is the file's.
    _, first = np.unique(flabel, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    used = np.unique(flabel)
    relabel = np.zeros(n, np.int64)
    relabel[used] = rank
    return relabel[flabel], len(used)


def _areas(positions: np.ndarray, tris: np.ndarray) -> np.ndarray:
    p = positions[tris]
    return 0.5 * np.linalg.norm(_cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1)


def _vertex_directions(positions: np.ndarray, tris: np.ndarray,
                       vertices: np.ndarray) -> np.ndarray:
    """(len(vertices), 3) unnormalized normal of one triangle touching each given vertex."""
    touching = np.zeros(len(positions), np.int64)
    touching[tris.reshape(-1)] = np.repeat(np.arange(len(tris)), 3)
    p = positions[tris[touching[vertices]]]
    return _cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])


def _share_budget(target: int, part_faces: np.ndarray, part_area: np.ndarray) -> np.ndarray:
    """Integer face budget per part: ∝ area, capped at each part's count, summing to target.

    Every kept part gets at least min(MIN_PART_FACES, its count); when those minimums
    alone exceed the target, the smallest parts (by area) get 0 (dropped).
    """
    n = len(part_faces)
    floor = np.minimum(part_faces, MIN_PART_FACES)
    keep = np.ones(n, bool)
    if floor.sum() > target:  # drop the smallest parts until the minimums fit
        by_area = np.argsort(-part_area, kind="stable")
        fits = np.cumsum(floor[by_area]) <= target
        keep[:] = False
        keep[by_area[fits]] = True
    budget = np.where(keep, floor, 0).astype(np.int64)
    free = keep & (budget < part_faces)
    left = target - int(budget.sum())
    while left > 0 and free.any():  # water-filling: share ∝ area among uncapped parts
        w = np.where(free, part_area, 0.0)
        if w.sum() <= 0:
            w = free.astype(np.float64)
        share = left * w / w.sum()
        room = part_faces - budget
        take = np.minimum(np.floor(share).astype(np.int64), room)
        capped = free & (share >= room)
        if capped.any():  # fill the capped parts exactly, then share the rest again
            take = np.where(capped, room, 0)
        elif take.sum() == 0:  # only fractions left: largest remainders get one each
            frac = np.where(free, share - np.floor(share), -1.0)
            best = np.argsort(-frac, kind="stable")[:left]
            take = np.zeros(n, np.int64)
            take[best[free[best]]] = 1
        budget += take
        left -= int(take.sum())
        free &= budget < part_faces
    return budget


def surface_distance(points: np.ndarray, directions: np.ndarray, positions: np.ndarray,
                     faces: np.ndarray) -> np.ndarray:
    """Signed distance from points near a triangle mesh to that mesh.

    Parameters
    ----------
    points, directions : (P, 3) float
        Query points and a direction roughly normal to the mesh at each (e.g. the
        high-poly's vertex normals); need not be unit.
    positions, faces : the mesh, (V, 3) float and (F, 3) int.

    Returns
    -------
    (P,) float64, + on the side the closest triangle's counter-clockwise normal points.

    Notes
    -----
    Candidate search, then exact point-triangle distances: a ray each way along the
    direction finds the triangle under the point (Embree); when the closest point on it
    lies on its boundary, its three edge neighbours are tested too. Points whose rays
    both miss, or whose candidate is farther than the nearest mesh vertex, test the
    triangles around that vertex. The result is an upper bound of the true distance,
    equal to it wherever the closest triangle is among the candidates (checked against
    brute force on the test models: exact at > 99 % of the points). Cost: two rays,
    a k-d tree query and 1–4 point-triangle tests per point (≈1 s per million points
    on 2 cores).
    """
    from scipy.spatial import cKDTree

    from ..baking.rays import RayCaster

    points = np.asarray(points, np.float64)
    if len(points) == 0:
        return np.zeros(0)
    tri = positions[faces]
    normal = _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    caster = RayCaster(positions, faces)
    o = points.astype(np.float32)
    d = np.asarray(directions, np.float32)
    far = np.full(len(o), np.inf, np.float32)
    up = caster.intersect(o, d, far)
    dn = caster.intersect(o, -d, far)
    p_up, p_dn = up.prim, dn.prim
    t_up = np.where(p_up >= 0, up.t, np.inf)
    t_dn = np.where(p_dn >= 0, dn.t, np.inf)
    face = np.where(t_up <= t_dn, p_up, p_dn).astype(np.int64)
    missed = face < 0
    face[missed] = 0

    q, inside = _closest_on_triangles(points, tri[face], interior=True)
    diff = points - q
    best = np.einsum("ij,ij->i", diff, diff)
    sign = np.einsum("ij,ij->i", diff, normal[face])
    best[missed] = np.inf
    todo = np.nonzero(~inside & ~missed)[0]  # closest point on an edge/corner: neighbours
    if len(todo):
        nbr = _edge_neighbours(faces)[face[todo]]  # (T, 3), the face itself on borders
        cand = nbr.reshape(-1)
        pts = np.repeat(points[todo], 3, axis=0)
        q2, _ = _closest_on_triangles(pts, tri[cand])
        diff2 = pts - q2
        d2 = np.einsum("ij,ij->i", diff2, diff2).reshape(-1, 3)
        s2 = np.einsum("ij,ij->i", diff2, normal[cand]).reshape(-1, 3)
        k = np.argmin(d2, axis=1)
        rows = np.arange(len(todo))
        better = d2[rows, k] < best[todo]
        best[todo[better]] = d2[rows, k][better]
        sign[todo[better]] = s2[rows, k][better]
    # Rays that missed, or hit something farther than the nearest mesh vertex (sharp
    # convex features, where both rays leave the surface): the triangles around that
    # vertex instead.
    dv, nearest = cKDTree(positions).query(points, k=1, workers=-1)
    todo = np.nonzero(best > dv * dv)[0]
    if len(todo):
        d2, s2 = _ring_distance(points[todo], nearest[todo], tri, normal, faces)
        better = d2 < best[todo]
        best[todo[better]] = d2[better]
        sign[todo[better]] = s2[better]
    out = np.where(sign >= 0, 1.0, -1.0) * np.sqrt(best)
    _verify_largest(out, points, tri, normal)
    return out


def _verify_largest(dist: np.ndarray, points: np.ndarray, tri: np.ndarray,
                    normal: np.ndarray, batch: int = 64, limit: int = 8192) -> None:
    """Make the largest |dist| exact, in place.

    Every estimate is an upper bound, so points are checked against all triangles
    (those whose bounding box is within the bound) in decreasing order of their
    estimate, until the largest exact value found is at least the next estimate: the
    maximum is then exact. At most ``limit`` points are checked.
    """
    order = np.argsort(-np.abs(dist), kind="stable")
    lo = tri.min(axis=1)
    hi = tri.max(axis=1)
    exact_max = 0.0
    for start in range(0, min(len(order), limit), batch):
        idx = order[start:start + batch]
        if abs(dist[idx[0]]) <= exact_max:
            break
        for i in idx:
            p = points[i]
            bound = abs(dist[i])
            gap = np.maximum(np.maximum(lo - p, p - hi), 0.0)
            cand = np.flatnonzero(np.einsum("ij,ij->i", gap, gap) <= bound * bound)
            if len(cand) == 0:
                continue
            q, _ = _closest_on_triangles(np.broadcast_to(p, (len(cand), 3)), tri[cand])
            diff = p - q
            d2 = np.einsum("ij,ij->i", diff, diff)
            k = int(np.argmin(d2))
            side = float(diff[k] @ normal[cand[k]])
            dist[i] = (1.0 if side >= 0 else -1.0) * np.sqrt(d2[k])
        exact_max = max(exact_max, float(np.abs(dist[idx]).max()))


def _ring_distance(points, vertex, tri, normal, faces):
    """Squared distance and side from each point to the triangles around ``vertex``."""
    corner_vertex = faces.reshape(-1)
    ring_face = np.argsort(corner_vertex, kind="stable") // 3
    ring_count = np.bincount(corner_vertex, minlength=int(faces.max()) + 1)
    ring_start = np.cumsum(ring_count) - ring_count
    counts = ring_count[vertex]
    point = np.repeat(np.arange(len(points)), counts)
    first = np.cumsum(counts) - counts
    slot = (np.arange(int(counts.sum())) - np.repeat(first, counts)
            + np.repeat(ring_start[vertex], counts))
    face = ring_face[slot]
    q, _ = _closest_on_triangles(points[point], tri[face])
    diff = points[point] - q
    d2 = np.einsum("ij,ij->i", diff, diff)
    side = np.einsum("ij,ij->i", diff, normal[face])
    best = np.minimum.reduceat(d2, first)
    is_best = d2 <= np.repeat(best, counts)
    sgn = np.maximum.reduceat(np.where(is_best, np.sign(side) + 0.5, -2.0), first)
    return best, sgn


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (faster than np.cross for large N)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _edge_neighbours(faces: np.ndarray) -> np.ndarray:
    """(F, 3) face across edge k (corner k → k+1) of each face; the face itself on borders."""
    f = len(faces)
    a = faces.reshape(-1)
    b = np.roll(faces, -1, axis=1).reshape(-1)
    key = np.minimum(a, b) * np.int64(faces.max() + 1) + np.maximum(a, b)
    order = np.argsort(key, kind="stable")
    same = np.nonzero(key[order[1:]] == key[order[:-1]])[0]
    nbr = np.repeat(np.arange(f), 3)
    nbr[order[same]] = order[same + 1] // 3
    nbr[order[same + 1]] = order[same] // 3
    return nbr.reshape(f, 3)


def _closest_on_triangles(p: np.ndarray, tri: np.ndarray, interior: bool = False):
    """(N, 3) closest point of triangle tri[i] to p[i], and (N,) True where it is interior.

    Ericson, Real-Time Collision Detection, 5.1.5, vectorized over the Voronoi regions.
    """
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac, ap = b - a, c - a, p - a

    def dot(x, y):
        return np.einsum("ij,ij->i", x, y)

    d1, d2 = dot(ab, ap), dot(ac, ap)
    bp = p - b
    d3, d4 = dot(ab, bp), dot(ac, bp)
    cp = p - c
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v = np.where(denom != 0, vb / denom, 0.0)
        w = np.where(denom != 0, vc / denom, 0.0)
        out = a + ab * v[:, None] + ac * w[:, None]  # interior
        inside = np.ones(len(p), bool)
        # Edges (checked before vertices, which override them).
        m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        if m.any():
            t = d1[m] / (d1[m] - d3[m])
            out[m] = a[m] + ab[m] * t[:, None]
            inside &= ~m
        m = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        if m.any():
            t = d2[m] / (d2[m] - d6[m])
            out[m] = a[m] + ac[m] * t[:, None]
            inside &= ~m
        m = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
        if m.any():
            t = (d4[m] - d3[m]) / ((d4[m] - d3[m]) + (d5[m] - d6[m]))
            out[m] = b[m] + (c[m] - b[m]) * t[:, None]
            inside &= ~m
    for m, corner in (((d1 <= 0) & (d2 <= 0), a), ((d3 >= 0) & (d4 <= d3), b),
                      ((d6 >= 0) & (d5 <= d6), c)):
        out[m] = corner[m]
        inside &= ~m
    return out, inside
