"""MikkTSpace tangents, vectorized, reproducing Blender's implementation.

This is our own NumPy implementation of Morten Mikkelsen's MikkTSpace as Blender
computes it (``intern/mikktspace`` in Blender's sources: its C++ port of the
reference code). Every step is an array operation over all triangles at once; the
only Python loops run over non-manifold edges (three or more triangles on one edge)
and over rounds of the group-with-any rule below, never over triangles or corners.

Steps, on float32 data exactly as Blender sees it:

1. **Weld.** Corners with bit-identical float32 position, normal and UV share a
   welded vertex (``-0.0 == 0.0``).
2. **Degenerate triangles**, with two corners at identical float32 positions, are
   set aside; their corners later copy the tangent space of the first good corner
   (in triangle, then corner order) with the same welded vertex.
3. **Face tangents.** Each good triangle gets the unit direction of increasing u,
   ``vOs``, flipped when the UV winding is clockwise, and an orientation
   (``signed UV area > 0``). Triangles with zero UV area or a zero ``vOs`` / ``vOt``
   (``|x| <= FLT_MIN``) are *group-with-any*: they add nothing, and take the
   orientation of the first group that reaches them.
4. **Neighbours.** Two good triangles are neighbours across an edge that they use
   in opposite directions (in welded vertices), matched greedily in triangle order.
5. **Groups.** The corners around a welded vertex that are connected across
   neighbour edges, through triangles of one orientation, form one group.
6. **Accumulate.** Each corner adds its face tangent, projected into the plane of its
   normal and weighted by its corner angle (Blender's ``fast_acosf``), to its group;
   the group sum is normalized. A corner's output is its group's tangent, with
   sign +1 for an orientation-preserving group and -1 otherwise. A corner without a
   group keeps the default ``(1, 0, 0)``, sign -1.

Agreement with Blender
----------------------
On meshes of up to 10,000 triangles Blender runs single-threaded, and the results
here are bit-identical (Blender 5.0.1, x86-64): the float32 arithmetic follows
Blender's order of operations, and group sums are accumulated in float32 in
Blender's order. Above that, Blender sums with atomic adds in a thread-dependent
order, so its own last bits vary from run to run (we keep the sequential order;
measured: ≤ 1e-5° apart). A Blender build that fuses multiply-adds (FMA, e.g. on
ARM) differs in the last bits too, and in principle in a ``> 0`` or ``FLT_MIN``
test on a triangle whose UV area is at the edge of float32 precision.

One part of MikkTSpace is order-dependent by design: a group-with-any triangle takes
the orientation of the *first* group (in order of the group's seed corner) that
reaches it, and that group's reach can itself run through other group-with-any
triangles. Blender settles this with one sequential depth-first search per group; we
reach the same outcome in vectorized rounds (see :func:`_resolve_any_groups`). On
the meshes we tested, up to 94% group-with-any triangles in shuffled face orders,
the signs and tangents are bit-identical to Blender's.

Only triangles are handled: quads are triangulated on load (mesh.io), so Blender's
quad rules (shortest UV diagonal, one-degenerate-half quads) never apply to our data.
Compare with Blender on triangulated meshes.

References
----------
.. [1] M. S. Mikkelsen, "Simulation of wrinkled surfaces revisited", MSc thesis,
   University of Copenhagen, 2008. http://image.diku.dk/projects/media/morten.mikkelsen.08.pdf
.. [2] Blender, ``intern/mikktspace/mikktspace.hh`` (Apache-2.0).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import NormalkitError
from .model import Mesh

__all__ = ["mikktspace", "compute_tangents"]

_F = np.float32
_FLT_MIN = _F(np.finfo(np.float32).tiny)  # 1.17549435e-38, C's FLT_MIN
_NO = -1  # "no group"


def mikktspace(corner_positions: np.ndarray, corner_normals: np.ndarray,
               corner_uvs: np.ndarray) -> np.ndarray:
    """MikkTSpace tangent and sign of every triangle corner, as Blender computes them.

    Parameters
    ----------
    corner_positions : (F, 3, 3) array_like of float
        Position of corner k of triangle i, in the mesh's own axes.
    corner_normals : (F, 3, 3) array_like of float
        Unit normal of every corner (the shading normals a renderer interpolates).
    corner_uvs : (F, 3, 2) array_like of float
        UV of every corner; origin bottom-left, v up (CONVENTIONS.md).

    All three are cast to float32 first, as Blender stores them; welding and the
    degeneracy test compare those float32 values exactly (``-0.0 == 0.0``).

    Returns
    -------
    (F, 3, 4) float32
        ``[..., :3]`` is the unit tangent (the direction of increasing u, projected
        into the plane of the corner normal); ``[..., 3]`` is the sign w = ±1, with
        bitangent ``B = w · cross(N, T)``. Corners that MikkTSpace cannot assign
        (every triangle around them has zero UV area, or they belong to a degenerate
        triangle with no good neighbour at the same welded vertex) get Blender's
        default ``(1, 0, 0, -1)``. A corner whose group's contributions cancel
        exactly gets a zero tangent, as in Blender.

    Raises
    ------
    NormalkitError
        If an argument has the wrong shape or holds NaN or infinity.

    Notes
    -----
    Cost: O(F log F) time (sorts to weld corners and to match edges, plus connected
    components) and O(F) memory, about 0.6 KB per triangle at peak. Single-threaded;
    measured on a shared 2-core x86-64 machine: 5,856 triangles (spot) ≈ 0.01 s,
    a 1M-triangle grid ≈ 2.3 s. Zero-UV-area triangles add rounds of connected
    components over the links that touch them: 2% of them costs little (1M: 2.8 s),
    58% (a pathological 1M mesh) about 5 s. The first call also imports scipy
    (~0.3 s).
    Bit-identical to Blender on x86-64 up to 10,000 triangles; above that, see the
    module docstring.

    Examples
    --------
    A unit square, u along +x, v along +y:

    >>> p = np.array([[[0, 0, 0], [1, 0, 0], [1, 1, 0]], [[0, 0, 0], [1, 1, 0], [0, 1, 0]]])
    >>> n = np.broadcast_to([0.0, 0.0, 1.0], p.shape)
    >>> mikktspace(p, n, p[..., :2])[0, 0]
    array([1., 0., 0., 1.], dtype=float32)
    """
    pos = _as_corners(corner_positions, 3, "corner_positions")
    nor = _as_corners(corner_normals, 3, "corner_normals")
    uv = _as_corners(corner_uvs, 2, "corner_uvs")
    n_tri = len(pos)
    if len(nor) != n_tri or len(uv) != n_tri:
        raise NormalkitError(
            f"corner_positions, corner_normals and corner_uvs describe different numbers "
            f"of triangles ({n_tri}, {len(nor)}, {len(uv)})")

    out = np.zeros((n_tri, 3, 4), np.float32)
    out[..., 0] = 1.0
    out[..., 3] = -1.0
    if n_tri == 0:
        return out

    vid = _weld(pos, nor, uv)  # (F, 3)
    p0, p1, p2 = pos[:, 0], pos[:, 1], pos[:, 2]
    degenerate = ((p0 == p1).all(-1) | (p0 == p2).all(-1) | (p1 == p2).all(-1))
    good = np.flatnonzero(~degenerate)
    if len(good) == 0:
        return out

    pos_g, nor_g, vid_g = pos[good], nor[good], vid[good]
    face_t, orient, any_group = _face_tangents(pos_g, uv[good])
    nbr_corner = _corner_links(vid_g)
    group, group_orient = _groups(nbr_corner, orient, any_group)

    tangent = _accumulate(pos_g, nor_g, face_t, group, any_group)  # (n_groups, 3)
    has = group >= 0
    out_g = out[good]
    out_g[has, :3] = tangent[group[has]]
    out_g[has, 3] = np.where(group_orient[group[has]], _F(1), _F(-1))
    out[good] = out_g

    bad = np.flatnonzero(degenerate)
    if len(bad):
        # Degenerate corners copy the first good corner with the same welded vertex.
        flat_vid = vid_g.reshape(-1)
        first_vid, first_at = np.unique(flat_vid, return_index=True)
        want = vid[bad].reshape(-1)
        at = np.minimum(np.searchsorted(first_vid, want), len(first_vid) - 1)
        found = first_vid[at] == want
        src = out_g.reshape(-1, 4)[first_at[at]]
        out_bad = out[bad].reshape(-1, 4)
        out_bad[found] = src[found]
        out[bad] = out_bad.reshape(-1, 3, 4)
    return out


def compute_tangents(mesh: Mesh) -> np.ndarray:
    """MikkTSpace tangents of a mesh, one row per face corner, as Blender computes them.

    Parameters
    ----------
    mesh : Mesh
        Needs ``uvs`` and ``normals``. Normals are not computed here: tangents depend
        on them, so the caller decides which (the file's, or
        :func:`normalkit.mesh.normals.ensure_normals`, which says so in one line).

    Returns
    -------
    (F * 3, 4) float32
        Row ``3 i + k`` is face i, corner k: unit tangent xyz in the mesh's own axes,
        and sign w = ±1 (bitangent ``B = w · cross(N, T)``).

    Raises
    ------
    NormalkitError
        If the mesh has no UVs or no normals.

    Notes
    -----
    Cost: that of :func:`mikktspace`, O(F log F).
    """
    uvs = mesh.require_uvs()
    if mesh.normals is None:
        raise NormalkitError(
            f"{mesh.name}: tangents need normals and the mesh has none; compute them first "
            "with normalkit.mesh.normals.ensure_normals(mesh)")
    return mikktspace(mesh.corner_positions(), mesh.normals, uvs).reshape(-1, 4)


# --------------------------------------------------------------------------------------
# Steps


def _as_corners(a, width: int, name: str) -> np.ndarray:
    """Validate an (F, 3, width) argument and return it as C-contiguous float32."""
    arr = np.asarray(a)
    if arr.ndim != 3 or arr.shape[1:] != (3, width):
        raise NormalkitError(f"{name} must have shape (F, 3, {width}), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise NormalkitError(f"{name} must be numeric, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise NormalkitError(f"{name} holds NaN or infinity; repair the mesh first")
    return arr


def _weld(pos: np.ndarray, nor: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(F, 3) id per corner, equal for bit-identical float32 (position, normal, uv)."""
    n = pos.shape[0] * 3
    key = np.empty((n, 8), np.float32)
    key[:, 0:3] = pos.reshape(n, 3)
    key[:, 3:6] = nor.reshape(n, 3)
    key[:, 6:8] = uv.reshape(n, 2)
    key += _F(0.0)  # -0.0 -> +0.0, so that they weld as Blender's == does
    words = key.view(np.uint64)  # (n, 4): the 8 floats, two per word
    h = np.zeros(n, np.uint64)
    for c in range(4):  # multiply-xorshift mix; uint64 arithmetic wraps
        h ^= words[:, c]
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return _ids_by_hash(key, h).reshape(-1, 3)


def _ids_by_hash(key: np.ndarray, h: np.ndarray) -> np.ndarray:
    """(n,) id per row of the (n, 8) float32 ``key``, equal for bit-identical rows.

    Sorts the (n,) uint64 hash ``h`` of the rows; if two different rows share a hash,
    falls back to an exact (slower) sort of the rows themselves.
    """
    n = len(key)
    order = np.argsort(h)
    hs = h[order]
    rows = key.view(np.dtype((np.void, 32))).ravel()[order]  # one 32-byte item per row
    same_hash = hs[1:] == hs[:-1]
    if np.any(same_hash & (rows[1:] != rows[:-1])):  # a hash collision
        return np.unique(key.view(np.uint64), axis=0, return_inverse=True)[1].ravel()
    run = np.zeros(n, np.int64)
    np.cumsum((~same_hash).view(np.uint8), out=run[1:])
    ids = np.empty(n, np.int64)
    ids[order] = run
    return ids


def _face_tangents(pos: np.ndarray, uv: np.ndarray):
    """Per good triangle: unit face tangent (G, 3), orientation (G,), group-with-any (G,).

    float32 throughout, in Blender's order of operations, so that the exact tests
    (``> 0``, ``|x| > FLT_MIN``) decide as Blender's do.
    """
    t21 = uv[:, 1] - uv[:, 0]
    t31 = uv[:, 2] - uv[:, 0]
    d1 = pos[:, 1] - pos[:, 0]
    d2 = pos[:, 2] - pos[:, 0]
    t21x, t21y = t21[:, 0:1], t21[:, 1:2]
    t31x, t31y = t31[:, 0:1], t31[:, 1:2]
    signed_area = (t21x * t31y - t21y * t31x)[:, 0]
    v_os = t31y * d1 - t21y * d2
    v_ot = (-t31x) * d1 + t21x * d2
    orient = signed_area > 0
    len_os2 = _dot(v_os, v_os)
    len_ot2 = _dot(v_ot, v_ot)
    area_ok = np.abs(signed_area) > _FLT_MIN
    os_ok = area_ok & (np.abs(len_os2) > _FLT_MIN)
    tangent = np.zeros_like(v_os)
    f_s = np.where(orient, _F(1), _F(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = f_s / np.sqrt(len_os2)
    tangent[os_ok] = v_os[os_ok] * scale[os_ok, None]
    any_group = ~(os_ok & (np.abs(len_ot2) > _FLT_MIN))
    return tangent, orient, any_group


def _corner_links(vid: np.ndarray) -> np.ndarray:
    """(L, 2) pairs of flat corner ids (3 t + k) that touch across a neighbour edge.

    Each pair is two corners at the same welded vertex in two triangles that are
    neighbours across an edge through that vertex. Edge (t, k) runs from corner k to
    corner k+1; two triangles are neighbours if they use an edge in opposite
    directions. On an edge with more than two uses, entries are matched greedily in
    (triangle, edge) order, each to the first later unmatched entry running the other
    way, as Blender does.
    """
    a = vid.reshape(-1)
    b = np.roll(vid, -1, axis=1).reshape(-1)
    key = np.minimum(a, b) * (int(a.max()) + 1) + np.maximum(a, b)
    # Unstable sort: on an edge used twice the order does not matter, and the rare
    # longer runs are put back in (triangle, edge) order below.
    order = np.argsort(key)
    key_s = key[order]
    starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])

    pair = starts[sizes == 2]
    x, y = order[pair], order[pair + 1]
    keep = a[x] == b[y]  # opposite directions
    x, y = x[keep], y[keep]

    big = np.flatnonzero(sizes > 2)
    if len(big):  # non-manifold edges: rare, replicate the greedy order exactly
        xs, ys = [], []
        for s, m in zip(starts[big].tolist(), sizes[big].tolist(), strict=True):
            entries = np.sort(order[s:s + m])
            src, dst, entries = a[entries].tolist(), b[entries].tolist(), entries.tolist()
            taken = [False] * m
            for i in range(m):
                if taken[i]:
                    continue
                for j in range(i + 1, m):
                    if not taken[j] and src[i] == dst[j]:
                        taken[i] = taken[j] = True
                        xs.append(entries[i])
                        ys.append(entries[j])
                        break
        x = np.concatenate([x, np.array(xs, np.int64)])
        y = np.concatenate([y, np.array(ys, np.int64)])

    # Edge x = (t, k) from vertex a to b; edge y = (t', k') from b to a.
    def nxt(e):
        return e - e % 3 + (e % 3 + 1) % 3

    return np.concatenate([np.stack([x, nxt(y)], axis=1), np.stack([nxt(x), y], axis=1)])


def _groups(links: np.ndarray, orient: np.ndarray, any_group: np.ndarray):
    """Group of every good corner: ((G, 3) int64 group id or -1, (n_groups,) orientation).

    Without group-with-any triangles, groups are the connected components of the
    corner links between triangles of equal orientation; each is *seeded* by its
    smallest corner id, the order in which Blender creates groups. Group-with-any
    triangles are resolved by :func:`_resolve_any_groups`.
    """
    from .kernels import component_labels

    n_tri = len(orient)
    n_corner = 3 * n_tri
    orient = orient.copy()
    t1, t2 = links[:, 0] // 3, links[:, 1] // 3

    # Base components over triangles with a real tangent: fixed for the whole run.
    solid = ~any_group
    keep = solid[t1] & solid[t2] & (orient[t1] == orient[t2])
    base = component_labels(links[keep, 0], links[keep, 1], n_corner)
    corner_tri = np.repeat(np.arange(n_tri), 3)
    big = np.iinfo(np.int64).max
    base_seed = np.full(int(base.max()) + 1, big, np.int64)
    seeded_corners = np.flatnonzero(solid[corner_tri])
    np.minimum.at(base_seed, base[seeded_corners], seeded_corners)

    seed = base_seed
    if any_group.any():
        seed = _resolve_any_groups(links, t1, t2, orient, any_group, base, base_seed)

    # Keep only components with a seed; number them by seed (Blender's creation order).
    corner_seed = seed[base]
    has = corner_seed != big
    is_seed = np.zeros(n_corner, bool)
    is_seed[corner_seed[has]] = True
    rank = np.cumsum(is_seed.view(np.uint8), dtype=np.int64) - 1
    group = np.full(n_corner, _NO, np.int64)
    group[has] = rank[corner_seed[has]]
    group_orient = orient[np.flatnonzero(is_seed) // 3]
    return group.reshape(-1, 3), group_orient


def _resolve_any_groups(links, t1, t2, orient, any_group, base, base_seed):
    """Orient group-with-any triangles and merge the groups they join; Blender's order.

    In Blender, groups are built one at a time in seed order, each by a depth-first
    walk; an unoriented group-with-any triangle that the walk reaches takes the
    group's orientation, and later groups of the other orientation stop there. We
    reproduce the outcome in rounds. In each round and for each orientation o, the
    *flood* of a group of orientation o is its connected component when every
    still-unoriented triangle is taken to have orientation o: everything it could
    reach. Each unoriented triangle notes the earliest seed whose flood touches it.
    A flood whose triangles all note its own seed is touched by no earlier group, so
    its group really is the first to reach them: they take its orientation now. The
    earliest flood of a round always qualifies, so every round makes progress.

    Updates ``orient`` in place and returns the seed of every base component after
    the merges. Works on a quotient graph whose nodes are the base components that
    touch a group-with-any triangle (each group-with-any corner is a base component of
    its own). After each round, nodes joined by links between two oriented triangles
    are merged, and nodes that no longer touch a reachable unoriented triangle are set
    aside, so a round costs O(links that still touch such triangles).
    """
    from .kernels import component_labels as labels

    big = np.iinfo(np.int64).max
    touch = any_group[t1] | any_group[t2]
    nodes, qa, qb = _compact(base[links[touch, 0]], base[links[touch, 1]], len(base_seed))
    tris, ca, cb = _compact(t1[touch], t2[touch], len(orient))  # compact triangle ids
    c_orient = orient[tris]
    fixed = ~any_group[tris]
    dead = np.zeros(len(tris), bool)  # unoriented and out of every group's reach
    node_seed = base_seed[nodes]
    node_tri = np.full(len(nodes), -1, np.int64)  # triangle of an unoriented corner node
    node_tri[qa[~fixed[ca]]] = ca[~fixed[ca]]
    node_tri[qb[~fixed[cb]]] = cb[~fixed[cb]]
    out = base_seed.copy()
    alive = np.arange(len(nodes))  # entries of `nodes` that may still change ...
    cur = alive.copy()  # ... and their current node

    while True:
        # Merge across links whose two triangles are oriented alike; drop every link
        # between two oriented triangles (merged now, or never passable).
        both = fixed[ca] & fixed[cb]
        merge = both & (c_orient[ca] == c_orient[cb])
        if merge.any():
            comp = labels(qa[merge], qb[merge], len(node_seed))
            seed = np.full(comp.max() + 1, big, np.int64)
            np.minimum.at(seed, comp, node_seed)
            tri = np.full(len(seed), -1, np.int64)
            is_open = node_tri >= 0
            tri[comp[is_open]] = node_tri[is_open]  # unoriented nodes never merge
            node_seed, node_tri = seed, tri
            qa, qb, cur = comp[qa], comp[qb], comp[cur]
        keep = ~(both | dead[ca] | dead[cb])
        qa, qb, ca, cb = qa[keep], qb[keep], ca[keep], cb[keep]
        # Nodes on no remaining link are final.
        on_link, qa, qb = _compact(qa, qb, len(node_seed))
        new_id = np.full(len(node_seed), -1, np.int64)
        new_id[on_link] = np.arange(len(on_link))
        done = new_id[cur] < 0
        out[nodes[alive[done]]] = node_seed[cur[done]]
        alive, cur = alive[~done], new_id[cur[~done]]
        node_seed, node_tri = node_seed[on_link], node_tri[on_link]
        if len(qa) == 0:
            break

        open_node = np.flatnonzero(node_tri >= 0)
        open_tri = node_tri[open_node]
        floods = []  # per orientation: seed of the flood through each open node
        first = np.full(len(tris), big, np.int64)  # earliest flood touching each triangle
        for o in (False, True):
            eff = np.where(fixed, c_orient, o)
            keep = eff[ca] == eff[cb]
            comp = labels(qa[keep], qb[keep], len(node_seed))
            seed = np.full(comp.max() + 1, big, np.int64)
            np.minimum.at(seed, comp, node_seed)
            seed = seed[comp[open_node]]
            floods.append(seed)
            np.minimum.at(first, open_tri, seed)
        # Floods only shrink as triangles are oriented, so a triangle that none
        # touches now is never reached: drop it and its links.
        dead[open_tri[first[open_tri] == big]] = True
        newly = np.zeros(len(tris), bool)
        for o, seed in zip((False, True), floods, strict=True):
            touched = seed != big
            f_seed, f_tri = seed[touched], open_tri[touched]
            if len(f_seed) == 0:
                continue
            unsafe = np.zeros(int(f_seed.max()) + 1, bool)  # indexed by seed corner
            unsafe[f_seed[first[f_tri] < f_seed]] = True
            take = f_tri[~unsafe[f_seed]]
            c_orient[take] = o
            newly[take] = True
        if not newly.any():  # no group reaches the remaining ones
            break
        fixed |= newly
        node_tri[open_node[newly[open_tri]]] = -1

    out[nodes[alive]] = node_seed[cur]
    orient[tris] = c_orient
    return out


def _compact(a: np.ndarray, b: np.ndarray, n: int):
    """Renumber ids in [0, n) that occur in ``a`` or ``b`` as 0, 1, ...

    Returns (the ids that occur, sorted; ``a`` renumbered; ``b`` renumbered), in O(n).
    """
    seen = np.zeros(n, bool)
    seen[a] = True
    seen[b] = True
    new_id = np.cumsum(seen.view(np.uint8), dtype=np.int64) - 1
    return np.flatnonzero(seen), new_id[a], new_id[b]


def _accumulate(pos, nor, face_t, group, any_group):
    """(n_groups, 3) float32 unit group tangents: sum of angle-weighted projections."""
    n_groups = int(group.max()) + 1
    acc = np.zeros((max(n_groups, 0), 3), np.float32)
    if n_groups <= 0:
        return acc
    rows = np.flatnonzero(~any_group)
    p, n, t = pos[rows], nor[rows], face_t[rows]
    contrib = np.empty((len(rows), 3, 3), np.float32)
    for k in range(3):
        nk, pk = n[:, k], p[:, k]
        e_next = _project(nk, p[:, (k + 1) % 3] - pk)
        e_prev = _project(nk, p[:, (k + 2) % 3] - pk)
        cos = np.clip(_dot(e_next, e_prev), _F(-1), _F(1))
        contrib[:, k] = _project(nk, t) * _fast_acos(cos)[:, None]
    g = group[rows].reshape(-1)
    m = g >= 0
    g, contrib = g[m], contrib.reshape(-1, 3)[m]
    for c in range(3):  # float32, in (triangle, corner) order, as Blender sums
        col = np.zeros(n_groups, np.float32)
        np.add.at(col, g, contrib[:, c])
        acc[:, c] = col
    return _normalize(acc)


# --------------------------------------------------------------------------------------
# float32 vector helpers in Blender's order of operations


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _normalize(v: np.ndarray) -> np.ndarray:
    """v * (1 / |v|); zero vectors stay zero."""
    length = np.sqrt(_dot(v, v))
    with np.errstate(divide="ignore"):
        inv = np.where(length != 0, _F(1) / length, _F(1))
    return v * inv[..., None]


def _project(n: np.ndarray, v: np.ndarray) -> np.ndarray:
    """normalize(v - n * dot(n, v)): v projected into the plane with normal n."""
    return _normalize(v - n * _dot(n, v)[..., None])


def _fast_acos(x: np.ndarray) -> np.ndarray:
    """Blender's polynomial arccos (cycles math_fast.h), max error 4.5e-5 rad, float32."""
    f = np.abs(x)
    one = _F(1)
    m = np.where(f < one, one - (one - f), one)
    poly = _F(1.5707963267) + m * (_F(-0.213300989) + m * (_F(0.077980478)
                                                          + m * _F(-0.02164095)))
    a = np.sqrt(one - m) * poly
    return np.where(x < 0, _F(3.1415926535897932) - a, a)
