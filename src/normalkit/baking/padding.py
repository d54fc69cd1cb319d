"""Padding: dilate a baked map into its empty texels so mipmaps and filtering don't bleed.

Each empty texel near the baked area takes the value of its nearest filled texel
(Euclidean distance, as :func:`scipy.ndimage.distance_transform_edt` measures
it). Texels farther than the padding width keep their original value (the
padding colour the baker wrote, e.g. flat (0.5, 0.5, 1)).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import ndimage

from ..core.errors import NormalkitError
from ..core.parallel import run_threads

__all__ = ["dilate", "dilate_in_place"]

# Rows processed at a time when gathering, so temporaries stay ~ a few MB.
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
    Cost: exact Euclidean feature transforms (linear time, scipy's C code) plus a
    vectorized gather; no Python loop runs per texel. With a finite ``texels`` the
    image is cut into tiles of ``_TILE``² texels, each transformed with a halo of
    ``texels`` around it (the nearest filled texel within reach always lies in the
    halo, so the result is exact), on a thread pool; tiles with nothing to fill are
    left alone. With ``math.inf`` one transform covers the whole image. Measured on a
    shared 2-core AMD EPYC VM on spot's UV layout (half the texels filled), 16
    texels: 0.16 s at 2048², 0.54 s at 4096², 1.4 s at 8192²; ``math.inf`` (one
    whole-image transform): 0.39 s, 1.7 s, 7.2 s.

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
    flat = [image.reshape(height * width, -1) for image in images]  # views
    if math.isinf(texels):
        # Feature transform of the empty texels: for each texel, the (row, col) of the
        # nearest filled texel (filled texels point at themselves). (Letting scipy
        # allocate the int32 indices keeps them from coexisting with its int64 mask copy.)
        indices = ndimage.distance_transform_edt(~mask, return_distances=False,
                                                 return_indices=True)
        rows_per_block = max(1, _BLOCK_TEXELS // width)
        for r0 in range(0, height, rows_per_block):
            r1 = min(height, r0 + rows_per_block)
            _fill(width, flat, indices[0, r0:r1], indices[1, r0:r1], r0, 0, None)
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
        idx = ndimage.distance_transform_edt(~window, return_distances=False,
                                             return_indices=True)
        sub = np.s_[r0 - wr0:r1 - wr0, c0 - wc0:c1 - wc0]
        _fill(width, flat, idx[0][sub] + wr0, idx[1][sub] + wc0, r0, c0, limit2)

    corners = [(r, c) for r in range(0, height, _TILE) for c in range(0, width, _TILE)]
    run_threads(tile, corners, default_threads())  # scipy's transform releases the GIL


def _fill(width: int, flat: list, feat_r: np.ndarray, feat_c: np.ndarray,
          r0: int, c0: int, limit2: float | None) -> None:
    """Each image's block at (r0, c0) takes its values at the feature texels (absolute
    rows ``feat_r``, columns ``feat_c``); only texels whose feature lies within √limit2
    (and is not the texel itself) are written. ``flat``: (H·W, C) views of the images,
    ``width`` W."""
    image_width = width
    height, width = feat_r.shape
    rows = np.arange(r0, r0 + height, dtype=np.int64)[:, None]
    cols = np.arange(c0, c0 + width, dtype=np.int64)
    src = feat_r.astype(np.int64) * image_width + feat_c
    dst = rows * image_width + cols
    take = src != dst
    if limit2 is not None:
        take &= (feat_r - rows) ** 2 + (feat_c - cols) ** 2 <= limit2
    src, dst = src[take], dst[take]
    for view in flat:
        view[dst] = view[src]
