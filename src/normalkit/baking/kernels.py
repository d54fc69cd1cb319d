"""The baker's compiled per-ray kernels: ray set-up before Embree, shading after it.

Both read the low-poly's packed per-corner channels ``attrs`` (F, 3, K) float32 (see
``bake._LowFrame``): position 0:3, normal 3:6, then tangent xyz + sign at ``tangent_col``
(tangent space) and the cage position at ``cage_col`` (with a cage); −1 where absent.
Interpolation and encoding run in float64; rays are float32 for Embree. One call handles
one tile of samples on one worker thread, with the GIL released.
"""

from __future__ import annotations

import numpy as np

from ..core.jit import inline, kernel
from ..mesh.tspace import encode_tangent, unit3


@inline
def _lerp3(attrs, f, col, w0, w1, w2):
    """Barycentric interpolation of channels col:col+3 of face f."""
    return (w0 * attrs[f, 0, col] + w1 * attrs[f, 1, col] + w2 * attrs[f, 2, col],
            w0 * attrs[f, 0, col + 1] + w1 * attrs[f, 1, col + 1] + w2 * attrs[f, 2, col + 1],
            w0 * attrs[f, 0, col + 2] + w1 * attrs[f, 1, col + 2] + w2 * attrs[f, 2, col + 2])


@inline
def _lerp3_as_float32(table, corners, f, w0, w1, w2):
    """Barycentric interpolation of face f's corner vectors, rows ``corners[f]`` of the
    (K, 3) float64 ``table``, each value rounded to float32 first (the precision the
    baker has always shaded with)."""
    a, b, c = corners[f, 0], corners[f, 1], corners[f, 2]
    t = table
    return (w0 * np.float32(t[a, 0]) + w1 * np.float32(t[b, 0]) + w2 * np.float32(t[c, 0]),
            w0 * np.float32(t[a, 1]) + w1 * np.float32(t[b, 1]) + w2 * np.float32(t[c, 1]),
            w0 * np.float32(t[a, 2]) + w1 * np.float32(t[b, 2]) + w2 * np.float32(t[c, 2]))


@inline
def _frame(attrs, f, weights, i, tangent_col):
    """The low-poly's interpolated (unnormalized) tangent and normal and its bitangent
    sign at sample ``i`` (face ``f``): tx, ty, tz, nx, ny, nz, sign."""
    w0, w1 = np.float64(weights[0, i]), np.float64(weights[1, i])
    w2 = np.float64(weights[2, i])
    tx, ty, tz = _lerp3(attrs, f, tangent_col, w0, w1, w2)
    nx, ny, nz = _lerp3(attrs, f, 3, w0, w1, w2)
    sign = (w0 * attrs[f, 0, tangent_col + 3] + w1 * attrs[f, 1, tangent_col + 3]
            + w2 * attrs[f, 2, tangent_col + 3])
    return tx, ty, tz, nx, ny, nz, sign


@inline
def _to_map_space(hx, hy, hz, attrs, f, weights, i, tangent_col):
    """A mesh-frame vector at sample ``i`` (face ``f``) in the map's space: encoded in the
    sample's MikkTSpace frame (``tangent_col`` ≥ 0), else normalized."""
    if tangent_col < 0:
        return unit3(hx, hy, hz)
    tx, ty, tz, nx, ny, nz, sign = _frame(attrs, f, weights, i, tangent_col)
    return encode_tangent(hx, hy, hz, tx, ty, tz, nx, ny, nz, sign)


@kernel
def setup_rays(attrs, face, weights, extrusion, max_depth, cage_col, inset,
               origins, directions, tfar):
    """One ray per sample (Blender's selected-to-active model; see ``bake``).

    First moves samples on (or outside) a triangle's edge ``inset`` (barycentric) inside
    it, in place in ``weights`` ((3, N) barycentrics, one row per corner), so shading
    later reads the same point. Without a cage (``cage_col`` −1) the ray starts at
    P + extrusion·N̂, runs along −N̂ and ends ``max_depth`` below P; with one it starts
    at the cage point, runs through P and ends ``max_depth`` beyond it. Writes
    ``origins``/``directions`` (N, 3) and ``tfar`` (N,).
    """
    for i in range(face.shape[0]):
        w0, w1, w2 = weights[0, i], weights[1, i], weights[2, i]
        if min(w0, w1, w2) < inset:
            w0, w1, w2 = max(w0, inset), max(w1, inset), max(w2, inset)
            total = w0 + w1 + w2
            w0, w1, w2 = w0 / total, w1 / total, w2 / total
            weights[0, i], weights[1, i], weights[2, i] = w0, w1, w2
        w0, w1, w2 = np.float64(w0), np.float64(w1), np.float64(w2)
        f = face[i]
        px, py, pz = _lerp3(attrs, f, 0, w0, w1, w2)
        nx, ny, nz = _lerp3(attrs, f, 3, w0, w1, w2)
        nx, ny, nz = unit3(nx, ny, nz)
        if cage_col < 0:
            origins[i, 0] = px + extrusion * nx
            origins[i, 1] = py + extrusion * ny
            origins[i, 2] = pz + extrusion * nz
            directions[i, 0], directions[i, 1], directions[i, 2] = -nx, -ny, -nz
            tfar[i] = extrusion + max_depth
        else:
            cx, cy, cz = _lerp3(attrs, f, cage_col, w0, w1, w2)
            dx, dy, dz = px - cx, py - cy, pz - cz
            d = np.sqrt(dx * dx + dy * dy + dz * dz)
            origins[i, 0], origins[i, 1], origins[i, 2] = cx, cy, cz
            if d > 0:
                directions[i, 0], directions[i, 1], directions[i, 2] = dx / d, dy / d, dz / d
            else:
                directions[i, 0], directions[i, 1], directions[i, 2] = -nx, -ny, -nz
            tfar[i] = d + max_depth


#: Samples per chunk of :func:`shade_tile`'s passes: its buffers (13 rows of float64,
#: 26 KB) stay in the L1/L2 caches.
_CHUNK = 256


@inline
def _gather_frames(attrs, face, weights, start, m, tangent_col, t, nrm, sign):
    """Samples start..start+m−1's interpolated low-poly tangent, normal and bitangent
    sign, into columns 0..m−1 of ``t``, ``nrm`` (3, ·) and ``sign``."""
    for j in range(m):
        i = start + j
        (t[0, j], t[1, j], t[2, j], nrm[0, j], nrm[1, j], nrm[2, j],
         sign[j]) = _frame(attrs, face[i], weights, i, tangent_col)


@inline
def _encode_tangents(h, t, nrm, sign, m, out):
    """Columns 0..m−1: ``h`` encoded in the frames ``t``, ``nrm``, ``sign``
    (:func:`normalkit.mesh.tspace.encode_tangent`)."""
    for j in range(m):
        out[0, j], out[1, j], out[2, j] = encode_tangent(
            h[0, j], h[1, j], h[2, j], t[0, j], t[1, j], t[2, j], nrm[0, j], nrm[1, j],
            nrm[2, j], sign[j])


@inline
def _normalize_columns(h, m, out):
    """Columns 0..m−1 of ``h`` scaled to unit length (zero stays zero)."""
    for j in range(m):
        out[0, j], out[1, j], out[2, j] = unit3(h[0, j], h[1, j], h[2, j])


@kernel
def shade_tile(prim, hit_u, hit_v, normal_table, normal_corners, attrs, face, weights, texel,
               tangent_col, out, hits, covered, missed, r0, r1, c0, c1):
    """Shade every hit and average per texel, into the tile's part of the output.

    ``face`` and ``weights`` (3, N) are the samples' low-poly triangles and barycentrics;
    ``prim``, ``hit_u``, ``hit_v``: Embree's hit triangle (−1 for a miss) and
    barycentrics (hit corner weights 1−u−v, u, v) of the high-poly, whose corner normals
    are rows ``normal_corners`` (F, 3) int64 of ``normal_table`` (K, 3) float64 (read as
    float32; see :class:`normalkit.baking.prepared.HighNormals`). The hit normal is the
    normalized interpolation of its corner normals; in tangent space (``tangent_col``
    ≥ 0) it is encoded in the sample's MikkTSpace frame
    (:func:`normalkit.mesh.tspace.encode_tangent`), else kept in mesh coordinates.

    ``out`` (H, W, 3) float32, ``hits`` (H, W) uint16 (or (0, 0): not wanted),
    ``covered`` and ``missed`` (H, W) bool are the whole output; the tile is rows
    [r0, r1) × cols [c0, c1) of it (``texel`` indexes the tile row-major), and only the
    tile is written: ``out`` gets the unit mean of each texel's hits, or the flat
    (0, 0, 1) (tangent space) / (0, 0, 0) (object space) where none hit, ``hits`` the
    count of hits, ``covered`` whether any sample hit, ``missed`` whether the texel had
    samples and all of them missed. Returns the number of missed samples.
    """
    rows, width = r1 - r0, c1 - c0
    n = prim.shape[0]
    acc = np.zeros((rows * width, 3), np.float32)
    n_hit = np.zeros(rows * width, np.uint16)
    n_all = np.zeros(rows * width, np.uint16)
    # Samples go in chunks, each in three passes: gather each sample's hit normal (and
    # low-poly frame) into structure-of-arrays buffers, encode them all (a loop without
    # loads through indices, which the compiler runs in SIMD lanes: the same IEEE
    # operations per sample), then average per texel in sample order.
    h = np.empty((3, _CHUNK))
    t = np.empty((3, _CHUNK))
    nrm = np.empty((3, _CHUNK))
    sign = np.empty(_CHUNK)
    enc = np.empty((3, _CHUNK))
    misses = 0
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        for j in range(m):
            i = start + j
            p = prim[i]
            if p >= 0:
                u, v = np.float64(hit_u[i]), np.float64(hit_v[i])
                h[0, j], h[1, j], h[2, j] = _lerp3_as_float32(normal_table, normal_corners,
                                                              p, 1.0 - u - v, u, v)
            else:
                h[0, j], h[1, j], h[2, j] = 0.0, 0.0, 0.0
        if tangent_col >= 0:
            _gather_frames(attrs, face, weights, start, m, tangent_col, t, nrm, sign)
            _encode_tangents(h, t, nrm, sign, m, enc)
        else:
            _normalize_columns(h, m, enc)
        for j in range(m):
            i = start + j
            tex = texel[i]
            n_all[tex] += 1
            if prim[i] < 0:
                misses += 1
                continue
            acc[tex, 0] += enc[0, j]
            acc[tex, 1] += enc[1, j]
            acc[tex, 2] += enc[2, j]
            n_hit[tex] += 1
    flat_z = 1.0 if tangent_col >= 0 else 0.0
    for r in range(rows):
        for c in range(width):
            tex = r * width + c
            x, y, z = unit3(np.float64(acc[tex, 0]), np.float64(acc[tex, 1]),
                             np.float64(acc[tex, 2]))
            if n_hit[tex] == 0 or x == y == z == 0:
                x, y, z = 0.0, 0.0, flat_z
            out[r0 + r, c0 + c, 0] = x
            out[r0 + r, c0 + c, 1] = y
            out[r0 + r, c0 + c, 2] = z
            if hits.shape[0]:
                hits[r0 + r, c0 + c] = n_hit[tex]
            covered[r0 + r, c0 + c] = n_hit[tex] > 0
            missed[r0 + r, c0 + c] = n_all[tex] > 0 and n_hit[tex] == 0
    return misses


@kernel
def encode_samples(vecs, attrs, face, weights, tangent_col, out):
    """Per sample, the mesh-frame vector ``vecs[i]`` in the normal map's space: encoded
    in the sample's MikkTSpace frame (``tangent_col`` ≥ 0; as :func:`shade_tile` encodes
    the hit normal), else normalized. ``face``/``weights`` (3, N) as in
    :func:`shade_tile`; writes ``out`` (N, 3)."""
    for i in range(face.shape[0]):
        hx, hy, hz = _to_map_space(np.float64(vecs[i, 0]), np.float64(vecs[i, 1]),
                                   np.float64(vecs[i, 2]), attrs, face[i], weights, i,
                                   tangent_col)
        out[i, 0], out[i, 1], out[i, 2] = hx, hy, hz
