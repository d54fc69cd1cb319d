"""Vertex normals for meshes that have none: smooth, area- and angle-weighted, welded by position.

Welding by position means UV seams do not split the normal; only ``hard_angle``
(or ``flat``) does.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import NormalkitError
from .model import Mesh, _normalize, weld_positions


def check_hard_angle(hard_angle) -> float:
    """``hard_angle`` as a float, or NormalkitError unless it is a number of degrees in
    [0, 180]. The one check for every command and function that takes it."""
    try:
        value = float(hard_angle)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(hard_angle, bool) or not 0 <= value <= 180:  # also refuses NaN
        raise NormalkitError(f"hard_angle must be in [0, 180] degrees, got {hard_angle!r}")
    return value


def corner_angles(corners: np.ndarray) -> np.ndarray:
    """(F, 3) interior angle in radians at each corner of (F, 3, 3) triangles."""
    e_next = np.roll(corners, -1, axis=1) - corners
    e_prev = np.roll(corners, 1, axis=1) - corners
    cos = np.einsum("fkc,fkc->fk", _normalize(e_next), _normalize(e_prev))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def smooth_normals(mesh: Mesh, hard_angle: float | None = None, flat: bool = False) -> np.ndarray:
    """Per-corner smooth normals.

    Each face contributes ``angle × cross(e1, e2)`` (corner angle times twice its area,
    along its normal) to every corner that shares its position. With ``hard_angle``
    (degrees), corners are only shared across edges whose dihedral angle is at most
    ``hard_angle``; sharper edges get split normals. ``flat`` gives face normals.
    ``hard_angle`` must lie in [0, 180] degrees (:func:`check_hard_angle`).

    Returns
    -------
    (F, 3, 3) float64 unit normals, one per face corner.

    Cost: O(F log F) (a sort to weld positions, a connected-components pass for
    ``hard_angle``).

    Raises
    ------
    NormalkitError
        ``hard_angle`` is not a number in [0, 180] (NaN included).
    """
    if hard_angle is not None:
        hard_angle = check_hard_angle(hard_angle)
    corners = mesh.corner_positions()
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    if flat:
        return np.repeat(_normalize(cross)[:, None, :], 3, axis=1)
    weighted = corner_angles(corners)[:, :, None] * cross[:, None, :]  # (F, 3, 3)
    vid = weld_positions(mesh.positions)[mesh.faces]  # (F, 3)
    if hard_angle is None:
        group = vid.reshape(-1)
    else:
        group = _smooth_groups(vid, _normalize(cross), hard_angle)
    n_groups = int(group.max()) + 1
    acc = np.zeros((n_groups, 3))
    for c in range(3):
        acc[:, c] = np.bincount(group, weights=weighted[..., c].reshape(-1), minlength=n_groups)
    out = _normalize(acc)[group].reshape(-1, 3, 3)
    # A corner whose group sums to zero (isolated degenerate face) falls back to its face normal.
    bad = ~np.any(out, axis=-1)
    if bad.any():
        out[bad] = np.repeat(_normalize(cross)[:, None, :], 3, axis=1)[bad]
    return out


def _smooth_groups(vid: np.ndarray, face_n: np.ndarray, hard_angle: float) -> np.ndarray:
    """Label each of the 3F corners with its smoothing group around its welded vertex."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = len(vid)
    a = vid
    b = np.roll(vid, -1, axis=1)
    lo, hi = np.minimum(a, b).reshape(-1), np.maximum(a, b).reshape(-1)
    edge_face = np.repeat(np.arange(f), 3)
    edge_k = np.tile(np.arange(3), f)
    order = np.lexsort((edge_face, hi, lo))
    lo, hi, edge_face, edge_k = lo[order], hi[order], edge_face[order], edge_k[order]
    # Pair consecutive entries on the same undirected edge (a chain for non-manifold edges).
    same = (lo[1:] == lo[:-1]) & (hi[1:] == hi[:-1])
    i, j = np.nonzero(same)[0], np.nonzero(same)[0] + 1
    f1, f2 = edge_face[i], edge_face[j]
    cos = np.einsum("ij,ij->i", face_n[f1], face_n[f2])
    smooth = cos >= np.cos(np.radians(hard_angle)) - 1e-12
    i, j, f1, f2 = i[smooth], j[smooth], f1[smooth], f2[smooth]
    rows, cols = [], []
    for endpoint in (lo, hi):
        v = endpoint[i]
        # corner index of vertex v in face f1 and in f2
        k1 = np.argmax(vid[f1] == v[:, None], axis=1)
        k2 = np.argmax(vid[f2] == v[:, None], axis=1)
        rows.append(f1 * 3 + k1)
        cols.append(f2 * 3 + k2)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(3 * f, 3 * f))
    _, labels = connected_components(graph, directed=False)
    return labels


def ensure_normals(mesh: Mesh, hard_angle: float | None = None, flat: bool = False,
                   log=None) -> Mesh:
    """Return ``mesh`` with normals: the file's own, or computed smooth ones (said in one line).

    ``hard_angle`` or ``flat`` force recomputation even when the file has normals.
    A ``hard_angle`` outside [0, 180] degrees (or NaN) raises NormalkitError, before any
    work.
    """
    if hard_angle is not None:
        hard_angle = check_hard_angle(hard_angle)
    if mesh.normals is not None and hard_angle is None and not flat:
        return mesh
    if log is not None:
        how = "flat normals" if flat else (
            f"smooth normals split at edges sharper than {hard_angle:g}°"
            if hard_angle is not None
            else "smooth normals (area- and angle-weighted, welded by position)")
        reason = "has no normals" if mesh.normals is None else "normals recomputed"
        log(f"{mesh.name}: {reason}; using {how}")
    return mesh.replace(normals=smooth_normals(mesh, hard_angle=hard_angle, flat=flat))
