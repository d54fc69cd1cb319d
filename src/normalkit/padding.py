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

from .errors import NormalkitError

__all__ = ["dilate"]

# Rows processed at a time when gathering, so temporaries stay ~ a few MB.
_BLOCK_TEXELS = 1 << 20


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
        returns a copy. Ties between equally near filled texels are broken as
        scipy's feature transform breaks them (deterministic).

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
    Cost: one exact Euclidean feature transform (linear time, in C) plus one
    vectorized gather, done in row blocks of about 1M texels. No Python loop
    runs per texel. Measured on a shared 2-core AMD EPYC VM: about 1.5 s at
    4096 x 4096 (of which the feature transform ~1.2 s) and 7-10 s at
    8192 x 8192, for any ``texels``.

    Memory, beyond the input and the output copy of ``image``: the feature
    transform holds two int32 indices per texel (8 bytes per texel; 512 MiB at
    8192 x 8192), plus the inverted mask and scipy's int8 copy of it (2 bytes
    per texel). While converting the mask scipy briefly builds an int64 copy
    (8 bytes per texel), freed before the indices are allocated. Peak extra
    memory is therefore about 10 bytes per texel: ~640 MiB at 8192 x 8192,
    ~160 MiB at 4096 x 4096. Distances are never stored for the whole image:
    squared distances are computed per block of rows, in int64.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise NormalkitError(f"mask must be (H, W), got shape {mask.shape}")
    if image.ndim not in (2, 3) or image.shape[:2] != mask.shape:
        raise NormalkitError(
            f"image shape {image.shape} does not match mask shape {mask.shape}; "
            "give image (H, W, C) and mask (H, W)"
        )
    if (
        isinstance(texels, bool)
        or not isinstance(texels, numbers.Real)
        or math.isnan(texels)
        or texels < 0
    ):
        raise NormalkitError(f"texels must be a number >= 0 or math.inf, not {texels!r}")
    mask = mask.astype(bool, copy=False)

    if texels == 0 or mask.all() or not mask.any():
        return image.copy()

    # Feature transform of the empty texels: for each texel, the (row, col) of
    # the nearest filled texel (filled texels point at themselves).
    # (Letting scipy allocate the int32 indices, rather than passing them in,
    # keeps them from coexisting with scipy's temporary int64 copy of the mask.)
    indices = ndimage.distance_transform_edt(~mask, return_distances=False, return_indices=True)

    # Gather out = image[source texel] block by block through flat indices;
    # texels beyond reach use their own index, so they keep their value.
    height, width = mask.shape
    src_image = np.ascontiguousarray(image).reshape(height * width, -1)
    out = np.empty(image.shape, image.dtype)
    out_flat = out.reshape(height * width, -1)
    limit2 = None if math.isinf(texels) else float(texels) ** 2
    cols = np.arange(width, dtype=np.int64)
    rows_per_block = max(1, _BLOCK_TEXELS // width)
    for r0 in range(0, height, rows_per_block):
        r1 = min(height, r0 + rows_per_block)
        rows = np.arange(r0, r1, dtype=np.int64)[:, None]
        src = indices[0, r0:r1] * np.int64(width) + indices[1, r0:r1]
        if limit2 is not None:
            dr = indices[0, r0:r1] - rows
            dc = indices[1, r0:r1] - cols
            far = dr * dr + dc * dc > limit2
            src[far] = (rows * width + cols)[far]
        np.take(src_image, src.ravel(), axis=0, out=out_flat[r0 * width : r1 * width], mode="clip")
    return out
