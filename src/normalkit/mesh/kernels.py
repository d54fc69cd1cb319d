"""Compiled per-element kernels of the mesh package (imported on first use: Numba's import
is heavy, and most of ``normalkit.mesh`` runs without it)."""

from __future__ import annotations

import numpy as np

from ..core.jit import inline, kernel


@kernel
def encode_color_rows(color, lut, steps, zero, one, c255, out):
    """Linear RGBA rows → 8-bit sRGB RGBA, as :func:`normalkit.mesh.model.encode_color`
    does, in the input's float type (``steps``, ``zero``, ``one``, ``c255`` are of it):
    RGB through ``lut[int(clip(c · steps, 0, steps − 1))]``, alpha
    ``rint(clip(a, 0, 1) · 255)``. color : (N, 4); out : (N, 4) uint8. A NaN channel
    encodes as 0."""
    top = steps - one
    for i in range(color.shape[0]):
        for c in range(3):
            v = min(max(color[i, c] * steps, zero), top)
            out[i, c] = lut[int(v)] if v == v else lut[0]
        a = min(max(color[i, 3], zero), one)
        out[i, 3] = round(a * c255) if a == a else 0


@inline
def _root(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@kernel
def component_labels(rows, cols, n):
    """Connected components of the undirected graph on nodes 0..n-1 with an edge per
    (rows[e], cols[e]): (n,) int64 labels 0..k-1, numbered in the order of each
    component's smallest node. Union-find (the smaller root becomes the parent, path
    halving); O((n + E)·α(n)). For small graphs on the critical path, where importing
    :mod:`scipy.sparse.csgraph` (0.1 s) would cost more than the work."""
    parent = np.arange(n)
    for e in range(rows.shape[0]):
        a, b = _root(parent, rows[e]), _root(parent, cols[e])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    label = np.full(n, -1, np.int64)
    out = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        r = _root(parent, i)
        if label[r] < 0:
            label[r] = k
            k += 1
        out[i] = label[r]
    return out
