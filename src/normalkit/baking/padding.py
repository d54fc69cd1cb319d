"""Padding: dilate a baked map into its empty texels so mipmaps and filtering don't bleed.

Each empty texel near the baked area takes the value of its nearest filled texel
(Euclidean distance; of equally near ones, the one
:func:`scipy.ndimage.distance_transform_edt` names: leftmost column, then upper row).
Texels farther than the padding width keep their original value (the padding colour
the baker wrote, e.g. flat (0.5, 0.5, 1)).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.errors import NormalkitError
from ..core.jit import kernel
from ..core.parallel import run_threads

__all__ = ["dilate", "dilate_in_place"]

# Texels per block of rows when infinite padding copies, so temporaries stay ~ a few MB.
_BLOCK_TEXELS = 1 << 20
#: Tile side for finite padding (texels): each tile's transform stays in the caches.
_TILE = 512


def dilate(image: np.ndarray, mask: np.ndarray, texels: float) -> np.ndarray:
    """Extend the filled texels of ``image`` outward by ``texels`` texels.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, C) or (H, W), any numeric dtype.
    mask : numpy.ndarray
        (H, W) bool: True where ``image`` holds a real (baked) value.
    texels : int or float
        Padding width, >= 0. Every empty texel whose Euclidean distance to the
        nearest filled texel (centre to centre, in texels) is <= ``texels``
        takes that texel's value. ``math.inf`` fills every empty texel; 0
        returns a copy. Ties between equally near filled texels are broken by
        scipy's feature transform (deterministically).

    Returns
    -------
    numpy.ndarray
        New array, same shape and dtype as ``image``. Filled texels, and empty
        texels farther than ``texels``, are unchanged. If ``mask`` has no True
        texel (nothing to spread) or no False texel, a plain copy.

    Raises
    ------
    NormalkitError
        Shapes disagree, ``mask`` is not 2-D, or ``texels`` is negative or NaN.

    Notes
    -----
    Cost: linear-time exact Euclidean feature transforms; no Python loop runs per
    texel. With a finite ``texels`` the image is cut into tiles of ``_TILE``² texels,
    each transformed with a halo of ``texels`` around it (the nearest filled texel
    within reach always lies in the halo, so the result is exact) by a compiled kernel
    that picks the same texel as scipy's transform, ties included, and copies the
    values itself; tiles run on a thread pool, and tiles with nothing to fill are left
    alone. With ``math.inf`` one scipy transform covers the whole image and the same
    copy kernel fills it, by blocks of rows. Measured on a 2-core AMD EPYC VM on an xatlas layout
    (43 % of the texels filled), 16 texels, one float32 RGB image: 0.06-0.08 s at
    4096² (scipy's transform per tile: 0.29-0.35 s).

    Memory, beyond the input and the output copy of ``image``: finite ``texels``,
    a few MB per thread; ``math.inf``, the whole-image transform's two int32
    indices per texel plus scipy's masks (about 10 bytes per texel: ~640 MiB at
    8192²).
    """
    image = np.asarray(image)
    out = np.array(image, order="C")  # the copy, padded in place
    dilate_in_place([out], mask, texels)
    return out


def dilate_in_place(images: list, mask: np.ndarray, texels: float) -> None:
    """:func:`dilate` of several images with one mask, in place, sharing each tile's
    feature transform.

    ``images``: C-contiguous (H, W, C) or (H, W) arrays. In place is exact: a texel is
    only ever written with its own value or a filled texel's, and filled texels never
    change. Raises as :func:`dilate`.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise NormalkitError(f"mask must be (H, W), got shape {mask.shape}")
    for image in images:
        if image.ndim not in (2, 3) or image.shape[:2] != mask.shape:
            raise NormalkitError(
                f"image shape {image.shape} does not match mask shape {mask.shape}; "
                "give image (H, W, C) and mask (H, W)"
            )
        if not image.flags.c_contiguous:
            raise NormalkitError("images padded in place must be C-contiguous")
    if (
        isinstance(texels, bool)
        or not isinstance(texels, numbers.Real)
        or math.isnan(texels)
        or texels < 0
    ):
        raise NormalkitError(f"texels must be a number >= 0 or math.inf, not {texels!r}")
    mask = mask.astype(bool, copy=False)
    if texels == 0 or mask.all() or not mask.any() or not images:
        return

    height, width = mask.shape
    # (H·W, bytes per texel) views: the copy kernel moves texels of any dtype as bytes.
    raw = [image.reshape(height * width, -1).view(np.uint8) for image in images]
    if math.isinf(texels):
        # Feature transform of the empty texels: for each texel, the (row, col) of the
        # nearest filled texel (filled texels point at themselves). (Letting scipy
        # allocate the int32 indices keeps them from coexisting with its int64 mask copy.)
        from scipy import ndimage

        indices = ndimage.distance_transform_edt(~mask, return_distances=False,
                                                 return_indices=True)
        rows_per_block = max(1, _BLOCK_TEXELS // width)
        for r0 in range(0, height, rows_per_block):
            r1 = min(height, r0 + rows_per_block)
            src = indices[0, r0:r1].astype(np.int64) * width + indices[1, r0:r1]
            src[mask[r0:r1]] = -1  # filled texels keep their own values
            for view in raw:
                _copy_from(view, src, r0, 0, width)
        return

    from ..core.parallel import default_threads

    halo = int(math.floor(texels))  # integer offsets of any texel within reach
    limit2 = float(texels) ** 2

    def tile(corner: tuple[int, int]) -> None:
        r0, c0 = corner
        r1, c1 = min(r0 + _TILE, height), min(c0 + _TILE, width)
        wr0, wc0 = max(r0 - halo, 0), max(c0 - halo, 0)
        window = mask[wr0:min(r1 + halo, height), wc0:min(c1 + halo, width)]
        if mask[r0:r1, c0:c1].all() or not window.any():
            return  # nothing to fill
        src = _tile_sources(mask, r0, r1, c0, c1, halo, limit2)
        for view in raw:
            _copy_from(view, src, r0, c0, width)

    corners = [(r, c) for r in range(0, height, _TILE) for c in range(0, width, _TILE)]
    run_threads(tile, corners, default_threads())  # the kernels release the GIL


@kernel
def _tile_sources(mask, r0, r1, c0, c1, halo, limit2):
    """For the tile rows [r0, r1) × cols [c0, c1) of ``mask``: the flat index (row · W +
    col) of each empty texel's nearest filled texel where that lies within √limit2, else
    −1 (filled texels too). ``halo`` = ⌊√limit2⌋.

    Exactly the texel :func:`scipy.ndimage.distance_transform_edt` picks: its feature
    transform (Maurer, Qi and Raghavan 2003) first takes the nearest filled texel of each
    column (ties: the upper one), then, along each row, the nearest of those column
    sites through a stack of the sites whose Voronoi cells on the row are not empty
    (ties: the leftmost); that is the nearest filled texel, ties going to the leftmost
    column, then the upper row. The same predicate and tie rules run here in exact
    integer arithmetic (scipy's doubles hold these integers exactly), and column sites
    farther than ``halo`` are left out: they are farther than √limit2 from the texel
    and never the nearest where one lies within it.
    """
    height, width = mask.shape
    wr0, wr1 = max(r0 - halo, 0), min(r1 + halo, height)
    wc0, wc1 = max(c0 - halo, 0), min(c1 + halo, width)
    n_rows, n_cols = r1 - r0, wc1 - wc0
    far = np.int64(1) << 40
    # Column sites of the tile's rows: the nearest filled row within the halo (−1: none).
    site = np.full((n_rows, n_cols), -1, np.int64)
    above = np.full(n_cols, -far, np.int64)
    for r in range(wr0, r1):  # down: the last filled row at or above r
        for j in range(n_cols):
            if mask[r, wc0 + j]:
                above[j] = r
        if r >= r0:
            for j in range(n_cols):
                site[r - r0, j] = above[j]
    below = np.full(n_cols, far, np.int64)
    for r in range(wr1 - 1, r0 - 1, -1):  # up: the next filled row at or below r
        for j in range(n_cols):
            if mask[r, wc0 + j]:
                below[j] = r
        if r < r1:
            for j in range(n_cols):
                up = site[r - r0, j]
                best = up if r - up <= below[j] - r else below[j]  # ties: the upper
                site[r - r0, j] = best if abs(best - r) <= halo else -1
    src = np.full((n_rows, c1 - c0), -1, np.int64)
    g = np.empty(n_cols, np.int64)  # the stack: columns (window-relative) of sites
    for i in range(n_rows):
        r = r0 + i
        fr = site[i]
        top = -1
        for j in range(n_cols):
            if fr[j] < 0:
                continue
            w_r = (fr[j] - r) * (fr[j] - r)
            while top >= 1:
                v, u = g[top], g[top - 1]
                a, b = v - u, j - v
                c = a + b
                u_r = (fr[u] - r) * (fr[u] - r)
                v_r = (fr[v] - r) * (fr[v] - r)
                if c * v_r - b * u_r - a * w_r - a * b * c <= 0:
                    break
                top -= 1
            top += 1
            g[top] = j
        if top < 0:
            continue
        k = 0
        for j in range(c0 - wc0, c1 - wc0):  # the sweep, from the tile's first column
            s = g[k]
            d1 = (fr[s] - r) * (fr[s] - r) + (s - j) * (s - j)
            while k < top:
                s2 = g[k + 1]
                d2 = (fr[s2] - r) * (fr[s2] - r) + (s2 - j) * (s2 - j)
                if d1 <= d2:
                    break
                d1 = d2
                k += 1
            if d1 > 0 and d1 <= limit2 and not mask[r, wc0 + j]:
                src[i, j - (c0 - wc0)] = fr[g[k]] * width + wc0 + g[k]
    return src


@kernel
def _copy_from(view, src, r0, c0, width):
    """``view`` (H·W, B) bytes: each texel of the tile at (r0, c0) with a source takes its
    bytes."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            s = src[i, j]
            if s >= 0:
                dst = (r0 + i) * width + c0 + j
                for ch in range(view.shape[1]):
                    view[dst, ch] = view[s, ch]


def warm_up() -> None:
    """Load the padding's kernels (from Numba's cache, ~0.1 s) with the argument types of
    real calls, so a caller can do it while it waits for other work."""
    mask = np.zeros((1, 1), bool)
    src = _tile_sources(mask, 0, 1, 0, 1, 1, 1.0)
    _copy_from(np.zeros((1, 4), np.uint8), src, 0, 0, 1)
