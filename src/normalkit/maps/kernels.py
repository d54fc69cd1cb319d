"""Compiled per-texel kernels of the maps package (imported on first use: Numba's import
is heavy, and most of ``normalkit.maps`` runs without it)."""

from __future__ import annotations

import numpy as np

from ..core.jit import kernel


@kernel
def encode_rows(normals, scale, half, top, out):
    """``out = rint(clip(normals · scale + half, 0, top))``, all in float32 like NumPy's
    ``np.multiply(n, scale, dtype=np.float32)`` then ``+= half``, ``clip``, ``rint``.

    normals : (N, 3) float (cast to float32 first); scale : (3,) float32; half, top :
    float32; out : (N, 3) uint8 or uint16. Returns the number of non-finite inputs
    (their texels are left unspecified).
    """
    bad = 0
    for i in range(normals.shape[0]):
        for c in range(3):
            x = np.float32(normals[i, c])
            if not np.isfinite(x):
                bad += 1
                continue
            v = x * scale[c] + half
            v = min(max(v, np.float32(0.0)), top)
            out[i, c] = np.rint(v)
    return bad
