"""Shape from normals: deform the visual hull until its normals explain the normal maps.

Each round casts every mask pixel of every view at the current mesh (Embree). A face
collects the normals its pixels see, weighted toward head-on views, into one target
normal. Every vertex then moves along its own normal by d_i, found by one sparse
least-squares solve over all vertices:

* normal rows: every edge (a, b) of a seen face f becomes perpendicular to its target
  T_f: T_f · ((x_a + d_a N_a) − (x_b + d_b N_b)) = 0. This integrates the normals over
  the mesh, the way normal integration does over an image. A face's rows weigh by the
  square root of the number of pixels that see it (capped at 4× the median);
* silhouette rows: every mask pixel whose ray misses the mesh pulls the contour vertex
  nearest to it in the image outward by its distance (world units at the vertex's
  depth), and a contour vertex that projects outside the mask is pulled back in;
* the hull as an active set: vertices the solve moves outside it are held on it, and the
  solve runs again, so the correction spreads smoothly;
* smoothness on d over edges, and a small damping.

After each solve, vertices where the faces' targets meet at a crease or a corner are
moved onto the meeting of their planes (a truncated QEF, as in dual contouring: the
mesh's edges rarely follow a crease, so without it the faces across one blend both
sides and round it). The vertices are then pulled back inside the hull, down its
distance field's gradient (the true surface lies inside every silhouette cone), and
relaxed toward their neighbours only along directions their faces' normals leave free
(triangle quality without drift of the surface: on a crease, along the crease). The
rounds run coarse to fine: the hull is decimated to a few thousand triangles, refined,
then subdivided (×4) and refined again, so large moves converge on the coarse mesh and
detail on the fine one.
Topology is the hull's: the mesh stays closed and consistently oriented.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..baking.rays import RayCaster
from ..mesh.model import Mesh, weld_positions
from .hull import Hull
from .views import View

__all__ = ["RefineInfo", "decimate_closed", "euler_characteristic", "refine", "refine_rounds",
           "taubin"]

#: Share of the way to its neighbours' centroid (in its tangent plane) that a vertex moves
#: after each round: keeps triangles well shaped without moving the surface.
RELAX = 0.5
#: The relaxation slides a vertex only along directions in which its faces' normals vary
#: by less than this (an eigenvalue of their area-weighted covariance, as a share of its
#: trace; a 90° crease between equal faces has 0.5 across it): on a crease it slides
#: along the crease, at a corner not at all, so creases are not rounded.
CREASE_HOLD = 0.1
#: How a mesh is decimated until it is closed and manifold (:func:`decimate_closed`):
#: directly (0), then through an intermediate of this many times the target's triangles.
DECIMATE_VIA = (0, 2, 4, 3, 6)
#: A vertex whose faces' *target* normals span a second direction above this share (a
#: crease of about 45° and sharper) is moved onto the intersection of their planes.
SNAP = 0.15


@dataclass
class RefineInfo:
    rounds: int
    faces: int
    seen_faces: float
    residual_deg: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"rounds": self.rounds, "faces": self.faces, "seen_faces": self.seen_faces,
                "median_residual_deg": self.residual_deg}


def _vertex_normals(p: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])  # area-weighted
    vn = np.zeros_like(p)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-30)
    fu = fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
    return vn, fu


def _edges(f: np.ndarray) -> np.ndarray:
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


def _face_targets(views: list[View], caster: RayCaster, n_faces: int, face_n: np.ndarray,
                  power: float):
    """Σ w·n over the pixels that hit each face, Σ w, the number of those pixels, the
    per-pixel angle residuals, and per view the (col, row) centres of mask pixels whose
    rays miss the mesh."""
    acc = np.zeros((n_faces, 3))
    wsum = np.zeros(n_faces)
    count = np.zeros(n_faces)
    residuals = []
    missing = []
    for v in views:
        o, d, pix = v.camera.rays()
        m = v.mask.reshape(-1)[pix]
        o, d, pix = o[m], d[m], pix[m]
        hits = caster.intersect(o, d, np.full(len(o), np.inf, np.float32))
        ok = hits.prim >= 0
        miss = pix[~ok]
        missing.append(np.stack([miss % v.camera.width, miss // v.camera.width], 1) + 0.5)
        prim = hits.prim[ok].astype(np.int64)
        n = v.normals.reshape(-1, 3)[pix[ok]].astype(np.float64)
        facing = -np.einsum("ij,ij->i", d[ok], n)
        w = np.clip(facing, 0.0, 1.0) ** power
        good = np.linalg.norm(n, axis=1) > 0.5
        w = np.where(good, w, 0.0)
        np.add.at(acc, prim, n * w[:, None])
        np.add.at(wsum, prim, w)
        np.add.at(count, prim, (good & (facing > 0)).astype(np.float64))
        cos = np.clip(np.einsum("ij,ij->i", face_n[prim], n), -1, 1)
        residuals.append(np.degrees(np.arccos(cos[good])))
    residual = np.concatenate(residuals) if residuals else np.zeros(0)
    return acc, wsum, count, residual, missing


def outside_distance(view: View) -> np.ndarray:
    """(3, H, W) float32: each pixel's distance, in pixels, to the nearest mask pixel (0
    on the mask), and that distance's gradient along rows and along columns. It depends
    on the mask only: :func:`refine` computes it once per view."""
    from scipy import ndimage

    dist = ndimage.distance_transform_edt(~view.mask).astype(np.float32)
    return np.stack([dist, *np.gradient(dist)])


def _silhouette_rows(views: list[View], p: np.ndarray, f: np.ndarray, fn: np.ndarray,
                     vn: np.ndarray, missing: list, outside: list, reach_px: float = 12.0,
                     slack_px: float = 0.5, min_rate: float = 0.7):
    """(vertex, target displacement) pairs that fit the mesh's outline to the masks.

    A vertex is on a view's contour generator when its faces face both toward and away
    from the camera; moving it along its normal (perpendicular to the ray there) moves
    its projection across the outline. Both ways:

    * every mask pixel whose ray misses the mesh pulls the contour vertex nearest to it in
      the image outward by its distance;
    * a contour vertex that projects outside the mask, more than ``slack_px`` beyond
      the nearest mask pixel centre (``outside``: :func:`outside_distance` per view,
      interpolated between pixel centres), is pulled inward by the excess. A mask
      pixel's centre is inside the silhouette and its background neighbour's centre
      outside, so the outline lies between them, half a pixel out on average: the two
      kinds of rows hold it between the last mask pixel's centre and half a pixel
      beyond (``slack_px``), where the hull's bound is a voxel. The pull (world units) is the
      excess divided by the rate at which moving the vertex along its normal ``vn``
      carries it out across the outline (pixels per world unit, from the distance's
      gradient); only vertices whose normal crosses the outline at ``min_rate`` or
      more of the full rate get one: a corner's normal may run along the outline, and
      pulling it would only dent the surface.

    Outward distances are converted to world units at the vertex's depth.
    """
    from scipy import ndimage
    from scipy.spatial import cKDTree

    rows_v, rows_t = [], []
    centres = p[f].mean(axis=1)
    for v, miss, (dist_out, grad_row, grad_col) in zip(views, missing, outside, strict=True):
        cam = v.camera
        ray = (np.broadcast_to(cam.forward, centres.shape) if cam.orthographic
               else centres - cam.position)
        front = (np.einsum("ij,ij->i", fn, ray) < 0).astype(np.int8)
        lo = np.ones(len(p), np.int8)
        hi = np.zeros(len(p), np.int8)
        for k in range(3):
            np.minimum.at(lo, f[:, k], front)
            np.maximum.at(hi, f[:, k], front)
        idx = np.flatnonzero(lo != hi)
        if len(idx) == 0:
            continue
        xy = cam.project(p[idx])
        ok = np.isfinite(xy).all(axis=1)
        idx, xy = idx[ok], xy[ok]
        push = np.zeros(len(idx))
        if len(miss):
            dist, near = cKDTree(xy).query(miss, distance_upper_bound=reach_px, workers=-1)
            hit = np.isfinite(dist)
            np.maximum.at(push, near[hit], dist[hit])
        # Bilinear between pixel centres: 0 at a mask pixel's centre, 1 at the centre of
        # the background pixel beside it, which the silhouette does not reach.
        at = [xy[:, 1] - 0.5, xy[:, 0] - 0.5]
        beyond = ndimage.map_coordinates(dist_out, at, order=1, mode="nearest") - slack_px
        pull = np.flatnonzero((push == 0) & (beyond > 0))
        pull_t = np.zeros(0)
        if len(pull):
            gy, gx = (ndimage.map_coordinates(g, [a[pull] for a in at], order=1,
                                              mode="nearest") for g in (grad_row, grad_col))
            z = (np.ones(len(pull)) if cam.orthographic
                 else np.maximum(cam.z_depth(p[idx[pull]]), 1e-9))
            h = 1e-3 * z  # world units: a thousandth of the depth
            moved = cam.project(p[idx[pull]] + h[:, None] * vn[idx[pull]]) - xy[pull]
            rate = (moved[:, 0] * gx + moved[:, 1] * gy) / h  # pixels per world unit
            full = 0.5 * (cam.K[0, 0] + cam.K[1, 1]) / z
            keep = rate > min_rate * full
            pull, pull_t = pull[keep], -beyond[pull[keep]] / rate[keep]
        sel = push > 0
        if not sel.any() and not len(pull):
            continue
        scale = (np.full(sel.sum(), 1.0) if cam.orthographic
                 else np.maximum(cam.z_depth(p[idx[sel]]), 1e-9))
        f_px = 0.5 * (cam.K[0, 0] + cam.K[1, 1])
        rows_v += [idx[sel], idx[pull]]
        rows_t += [push[sel] * scale / f_px, pull_t]
    if not rows_v:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(rows_v), np.concatenate(rows_t)


def _vertex_quadrics(f: np.ndarray, nv: int, normals: np.ndarray, weight: np.ndarray,
                     points: np.ndarray | None = None):
    """Per vertex, Σ w·n nᵀ over its faces (and Σ w·n nᵀ c for face points c), divided by
    its trace: (V, 3, 3) and (V, 3)."""
    nnt = weight[:, None, None] * normals[:, :, None] * normals[:, None, :]
    q = np.zeros((nv, 3, 3))
    for k in range(3):
        np.add.at(q, f[:, k], nnt)
    tr = np.maximum(np.trace(q, axis1=1, axis2=2), 1e-30)
    if points is None:
        return q / tr[:, None, None], None
    qc = np.einsum("fij,fj->fi", nnt, points)
    r = np.zeros((nv, 3))
    for k in range(3):
        np.add.at(r, f[:, k], qc)
    return q / tr[:, None, None], r / tr[:, None]


def _snap_creases(p: np.ndarray, f: np.ndarray, target: np.ndarray, weight: np.ndarray,
                  tau: float = SNAP) -> np.ndarray:
    """Move each vertex whose faces' target normals meet at a crease or a corner onto the
    meeting of their planes (the planes through the faces' centroids, perpendicular to
    their targets): the least-squares point, truncated to the directions whose
    eigenvalue exceeds ``tau`` (dual contouring's QEF), and to the two strongest: a
    vertex goes onto a crease's line, never onto a corner's point, where the vertices
    around it would meet and make zero-area triangles. Elsewhere vertices stay: the
    solve already moves them along their normal, and a smooth surface has no second
    direction to snap in. A mesh's edges rarely follow a crease; without this, the faces
    across it take a blend of both sides' normals and round it."""
    q, r = _vertex_quadrics(f, len(p), target, weight, p[f].mean(axis=1))
    lam, vec = np.linalg.eigh(q)  # ascending
    crease = lam[:, 1] > tau
    inv = np.where(lam > tau, 1.0 / np.maximum(lam, 1e-30), 0.0)
    inv[:, 0] = 0.0  # never to a point: the vertices around a corner would all meet there
    along = np.einsum("vjk,vj->vk", vec, r - np.einsum("vij,vj->vi", q, p))
    delta = np.einsum("vjk,vk->vj", vec, along * inv)
    delta[~crease] = 0.0
    return p + delta


def _relax(p: np.ndarray, f: np.ndarray, edges: np.ndarray, amount: float) -> np.ndarray:
    """Move vertices toward their neighbours' centroid, only in the directions their
    faces' normals do not constrain (:data:`CREASE_HOLD`): the tangent plane on a smooth
    surface, the crease's line on a crease, none at a corner."""
    nv = len(p)
    s = np.zeros_like(p)
    c = np.zeros(nv)
    for a, b in ((0, 1), (1, 0)):
        np.add.at(s, edges[:, a], p[edges[:, b]])
        np.add.at(c, edges[:, a], 1.0)
    delta = s / np.maximum(c, 1)[:, None] - p
    fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
    area = np.linalg.norm(fn, axis=1)
    cov, _ = _vertex_quadrics(f, nv, fn / np.maximum(area, 1e-30)[:, None], area)
    lam, vec = np.linalg.eigh(cov)
    free = np.clip(1.0 - lam / CREASE_HOLD, 0.0, 1.0)
    delta = np.einsum("vik,vk,vjk,vj->vi", vec, free, vec, delta)
    return p + amount * delta


def _subdivide(p: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoint subdivision: every triangle becomes four (closed stays closed)."""
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(e, axis=1)
    uniq, inv = np.unique(key, axis=0, return_inverse=True)
    mid = len(p) + inv.reshape(3, -1).T  # (F, 3): midpoints of edges 01, 12, 20
    p2 = np.concatenate([p, 0.5 * (p[uniq[:, 0]] + p[uniq[:, 1]])])
    a, b, c = f[:, 0], f[:, 1], f[:, 2]
    m01, m12, m20 = mid[:, 0], mid[:, 1], mid[:, 2]
    f2 = np.concatenate([np.stack([a, m01, m20], 1), np.stack([m01, b, m12], 1),
                         np.stack([m20, m12, c], 1), np.stack([m01, m12, m20], 1)])
    return p2, f2


def taubin(p: np.ndarray, f: np.ndarray, iterations: int, lam: float = 0.5,
           mu: float = -0.53) -> np.ndarray:
    """Taubin's λ|μ smoothing of vertex positions (uniform weights): removes folds and
    noise without the shrinking of plain Laplacian smoothing."""
    from scipy.sparse import coo_matrix, diags

    e = _edges(f)
    n = len(p)
    adj = coo_matrix((np.ones(2 * len(e)), (np.concatenate([e[:, 0], e[:, 1]]),
                                            np.concatenate([e[:, 1], e[:, 0]]))),
                     shape=(n, n)).tocsr()
    avg = diags(1.0 / np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1)) @ adj
    q = np.array(p, dtype=np.float64)
    for _ in range(int(iterations)):
        q = q + lam * (avg @ q - q)
        q = q + mu * (avg @ q - q)
    return q


def _levels(faces: int) -> tuple[int, int]:
    """Levels of the coarse-to-fine refinement and the coarsest level's triangles."""
    levels, base = 1, int(faces)
    while base // 4 >= 6000:
        base //= 4
        levels += 1
    return levels, base


def refine_rounds(faces: int, rounds: int) -> int:
    """How many rounds :func:`refine` runs (its ``progress`` calls) for these arguments."""
    levels, _ = _levels(faces)
    return sum(max(int(rounds) >> level, 1 if rounds else 0) for level in range(levels))


def refine(hull: Hull, views: list[View], *, faces: int = 60000, rounds: int = 16,
           smooth: float = 0.02, silhouette: float = 1.0, power: float = 2.0,
           progress=None, log=None) -> tuple[Mesh, RefineInfo]:
    """Deform ``hull.mesh`` to fit the views' normals, coarse to fine.

    The hull is decimated to a coarse mesh (a quarter, a sixteenth… of ``faces``, at
    least 6,000 triangles), refined for ``rounds`` rounds, then subdivided (×4 faces)
    and refined for half as many rounds per level until it has about ``faces``
    triangles: large moves (concavities) converge on the coarse mesh, detail on the fine.

    Parameters
    ----------
    hull : Hull
    views : list of View
    faces : int
        Triangles of the refined mesh.
    rounds : int
        Ray-cast / solve rounds on the coarsest level.
    smooth, silhouette : float
        Weights of the smoothness and silhouette rows relative to the normal rows.
    power : float
        Head-on preference: a pixel's weight is cos(angle to the view)^power.
    progress : callable, optional
        Called once per round.

    Returns
    -------
    mesh : Mesh, closed, outward-oriented
    info : RefineInfo
    """
    levels, base = _levels(faces)
    mesh = hull.mesh
    if mesh.n_faces > base:
        mesh = decimate_closed(mesh, base, log)
    p, f = mesh.positions.copy(), mesh.faces.copy()
    residual_log, seen = [], 0.0
    outside = [outside_distance(v) for v in views]
    for level in range(levels):
        if level:
            p, f = _subdivide(p, f)
        n = max(int(rounds) >> level, 1 if rounds else 0)
        p, res, seen = _refine_level(hull, views, outside, p, f, n, smooth, silhouette,
                                     power, progress)
        residual_log += res
    refined = Mesh(positions=p, faces=f, name="refined mesh")
    return refined, RefineInfo(rounds=len(residual_log), faces=len(f), seen_faces=seen,
                               residual_deg=residual_log)


def euler_characteristic(mesh_or_faces) -> int:
    """V − E + F of a mesh's connectivity (2 for a closed genus-0 surface)."""
    f = getattr(mesh_or_faces, "faces", mesh_or_faces)
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    return int(np.unique(f).size - len(np.unique(e, axis=0)) + len(f))


def decimate_closed(high: Mesh, faces: int, log) -> Mesh:
    """``high`` decimated to about ``faces`` triangles, closed and manifold: every edge
    between two triangles, as many parts, and no pinched vertex (the Euler
    characteristic does not drop; closing a tiny handle raises it). Quadric decimation
    can fold two sheets onto one edge, or split a part, where large flat areas leave it
    no preferred collapse order (a box's faces); passing through an intermediate size
    (:data:`DECIMATE_VIA` × the target) changes that order, so those are tried in turn,
    and the last result is kept (with a log line) if none is clean."""
    from ..assets.decimate import decimate, edge_counts, part_labels

    want = euler_characteristic(high)
    parts = part_labels(high.faces, len(high.positions))[1]
    low = high
    for k, via in enumerate(DECIMATE_VIA):
        src = high
        if via and faces * via < high.n_faces:
            src, _ = decimate(high, faces=faces * via)
        low, _ = decimate(src, faces=faces, log=log if k == 0 else None)
        f = weld_positions(low.positions)[low.faces]
        nv = int(f.max()) + 1
        if (edge_counts(f, nv) == (0, 0) and euler_characteristic(f) >= want
                and part_labels(f, nv)[1] == parts):
            return low
    if log:
        log(f"decimate: the {low.n_faces}-triangle mesh is not closed and manifold after "
            f"{len(DECIMATE_VIA)} tries; kept as is")
    return low


def _refine_level(hull, views, outside, p, f, rounds, smooth, silhouette, power, progress):
    from scipy.sparse import coo_matrix, diags
    from scipy.sparse.linalg import spsolve

    p = p.copy()
    nv, nf = len(p), len(f)
    edges = _edges(f)
    step_cap = 3.0 * hull.voxel
    residual_log = []
    seen = 0.0
    for _ in range(rounds):
        vn, fn = _vertex_normals(p, f)
        caster = RayCaster(p, f)
        acc, wsum, count, res, missing = _face_targets(views, caster, nf, fn, power)
        residual_log.append(float(np.median(res)) if len(res) else float("nan"))
        has = wsum > 1e-6
        seen = float(has.mean())
        target = np.zeros((nf, 3))
        target[has] = acc[has] / np.linalg.norm(acc[has], axis=1, keepdims=True)
        # Weight: the pixels that see each face, capped so that large faces don't
        # dominate. Counted, not cos-weighted: a face seen only at a grazing angle (a box's
        # bottom, from views 10° below its plane) keeps its normal rows, while the target
        # itself still prefers head-on views.
        wf = np.sqrt(np.minimum(count / max(np.median(count[has]), 1e-12), 4.0))
        fi = np.flatnonzero(has)
        rows, cols, vals, rhs = [], [], [], []
        r0 = 0
        for a, b in ((0, 1), (1, 2), (2, 0)):
            va, vb = f[fi, a], f[fi, b]
            t = target[fi]
            w = wf[fi]
            ridx = r0 + np.arange(len(fi))
            rows += [ridx, ridx]
            cols += [va, vb]
            vals += [w * np.einsum("ij,ij->i", t, vn[va]), -w * np.einsum("ij,ij->i", t, vn[vb])]
            rhs.append(-w * np.einsum("ij,ij->i", t, p[va] - p[vb]))
            r0 += len(fi)
        sv, st = _silhouette_rows(views, p, f, fn, vn, missing, outside)
        if len(sv):
            ws = np.sqrt(silhouette)
            ridx = r0 + np.arange(len(sv))
            rows.append(ridx)
            cols.append(sv)
            vals.append(np.full(len(sv), ws))
            rhs.append(ws * st)
            r0 += len(sv)
        a_mat = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(r0, nv)).tocsr()
        b_vec = np.concatenate(rhs)
        # Smoothness over edges (graph Laplacian of d) and damping.
        e0, e1 = edges[:, 0], edges[:, 1]
        ones = np.ones(len(edges))
        lap = coo_matrix((np.concatenate([ones, ones, -ones, -ones]),
                          (np.concatenate([e0, e1, e0, e1]), np.concatenate([e0, e1, e1, e0]))),
                         shape=(nv, nv)).tocsr()
        base = a_mat.T @ a_mat + smooth * lap + diags(np.full(nv, 1e-4))
        rhs_vec = a_mat.T @ b_vec
        d = spsolve(base.tocsc(), rhs_vec)
        # The hull as an active set: vertices the solve moved outside it get rows that hold
        # them on its surface, and the solve runs again, so the correction spreads smoothly.
        out = hull.distance(p + d[:, None] * vn)
        over = out > 0.1 * hull.voxel
        if over.any():
            wh = np.zeros(nv)
            wh[over] = 1.0
            d = spsolve((base + diags(wh)).tocsc(), rhs_vec + wh * (d - out))
        d = np.clip(d, -step_cap, step_cap)
        p = p + d[:, None] * vn
        p = _snap_creases(p, f, target, np.where(has, wf, 0.0))
        p = hull.pull_inside(p)
        p = _relax(p, f, edges, RELAX)
        if progress:
            progress()
    return p, residual_log, seen
