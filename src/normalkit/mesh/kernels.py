"""Compiled per-element kernels of the mesh package (imported on first use: Numba's import
is heavy, and most of ``normalkit.mesh`` runs without it)."""

from __future__ import annotations

from ..core.jit import kernel


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
