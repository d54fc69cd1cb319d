"""Image metrics for comparing renders: angular error of normals, PSNR and SSIM.

Every function takes NumPy arrays, row 0 at the top (CONVENTIONS.md), plus an optional
boolean ``mask`` (True where the pixel is compared), and returns plain Python floats so
results go straight into JSON. Angles are in degrees. Invalid input raises
:class:`~normalkit.core.errors.NormalkitError` naming the bad argument.

- :func:`angular_error` — per-pixel angle between two normal images, in degrees.
- :func:`angular_error_stats` — its mean, median and p95 over a mask
  (:func:`stats_of` for errors pooled from several images).
- :func:`psnr` — peak signal-to-noise ratio, in dB, over a mask
  (:func:`psnr_from_mse` for a pooled squared error).
- :func:`ssim` — structural similarity (Wang et al. 2004) through scikit-image, averaged
  over a mask.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import NormalkitError

__all__ = ["angular_error", "angular_error_stats", "psnr", "psnr_from_mse", "ssim", "ssim_map",
           "stats_of", "SSIM_SIGMA"]

#: Gaussian window of SSIM (Wang et al. 2004): σ = 1.5 px, truncated at 3.5 σ (11 × 11).
SSIM_SIGMA = 1.5
_SSIM_WIN = 2 * int(3.5 * SSIM_SIGMA + 0.5) + 1  # scikit-image's window for σ = 1.5 → 11


def _check_pair(a, b, name_a: str, name_b: str, vectors: bool):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise NormalkitError(f"{name_a} has shape {a.shape} but {name_b} has {b.shape}; "
                             "give images of the same size")
    if vectors and (a.ndim < 1 or a.shape[-1] != 3):
        raise NormalkitError(f"{name_a} must have shape (H, W, 3), got {a.shape}")
    if a.size == 0:
        raise NormalkitError(f"{name_a} is empty, shape {a.shape}")
    for name, arr in ((name_a, a), (name_b, b)):
        if arr.dtype.kind not in "fiub":
            raise NormalkitError(f"{name} must be numeric, got dtype {arr.dtype}")
    return a, b


def _check_mask(mask, shape: tuple[int, ...], name: str = "mask") -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise NormalkitError(f"{name} has shape {mask.shape}, expected {shape}; "
                             "give one boolean per pixel")
    if mask.dtype != bool:
        mask = mask.astype(bool)
    if not mask.any():
        raise NormalkitError(f"{name} selects no pixel; nothing to compare "
                             "(do the two images cover the same part of the view?)")
    return mask


def angular_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between corresponding vectors of two normal images, in degrees.

    Parameters
    ----------
    a, b : numpy.ndarray
        (..., 3) float vectors of the same shape, e.g. (H, W, 3) camera-space normals.
        They need not be unit length; a zero vector gives 90° against anything
        (mask such pixels out).

    Returns
    -------
    numpy.ndarray
        float32 (...,) angles in [0, 180] degrees.

    Notes
    -----
    Computed as ``atan2(|a × b|, a · b)``, which stays accurate for small angles
    (``arccos`` of a dot product loses about 0.03° near zero in float32). One vectorized
    pass in float32; temporary memory is about 30 bytes per pixel.
    """
    a, b = _check_pair(a, b, "a", "b", vectors=True)
    a = a.astype(np.float32, copy=False)
    b = b.astype(np.float32, copy=False)
    cross = np.cross(a, b)
    sin = np.sqrt(np.einsum("...i,...i->...", cross, cross))
    cos = np.einsum("...i,...i->...", a, b)
    return np.degrees(np.arctan2(sin, cos)).astype(np.float32, copy=False)


def angular_error_stats(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> dict:
    """Mean, median and 95th percentile of the angle between two normal images.

    Parameters
    ----------
    a, b : numpy.ndarray
        (H, W, 3) float normals of the same shape (any leading shape ``(..., 3)``).
    mask : numpy.ndarray, optional
        (H, W) bool, True where both images hold a surface (e.g. ``mask_a & mask_b``).
        Default: every pixel.

    Returns
    -------
    dict
        ``{"mean": float, "median": float, "p95": float, "pixels": int}``; angles in
        degrees, ``pixels`` is the number of compared pixels.

    Raises
    ------
    NormalkitError
        Shapes differ, the last axis is not 3, or the mask selects no pixel.

    Notes
    -----
    Percentiles use NumPy's default linear interpolation. Cost: one pass of
    :func:`angular_error` plus an O(N) partition for the percentiles.
    """
    a, b = _check_pair(a, b, "a", "b", vectors=True)
    mask = _check_mask(mask, a.shape[:-1])
    err = angular_error(a, b)
    return stats_of(err if mask is None else err[mask])


def stats_of(errors: np.ndarray) -> dict:
    """``{"mean", "median", "p95", "pixels"}`` of a flat array of per-pixel errors (degrees).

    Used to pool the pixels of several views into one set of statistics.
    """
    errors = np.asarray(errors, dtype=np.float64).ravel()
    if errors.size == 0:
        raise NormalkitError("no pixel to compute error statistics over")
    median, p95 = np.percentile(errors, [50.0, 95.0])
    return {"mean": float(errors.mean()), "median": float(median), "p95": float(p95),
            "pixels": int(errors.size)}


def psnr(image: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None, *,
         data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio of ``image`` against ``reference``, in dB.

    Parameters
    ----------
    image, reference : numpy.ndarray
        (H, W) or (H, W, C) arrays of the same shape, e.g. float sRGB renders in [0, 1].
    mask : numpy.ndarray, optional
        (H, W) bool; the mean squared error is taken over these pixels (all channels).
        Default: every pixel.
    data_range : float
        The signal's peak-to-peak range: 1.0 for float images in [0, 1], 255 for uint8.

    Returns
    -------
    float
        ``10·log10(data_range² / MSE)``; ``math.inf`` for identical images (MSE = 0).
        Strict JSON has no infinity: writers store it as ``null``.

    Raises
    ------
    NormalkitError
        Shapes differ, ``data_range`` ≤ 0, or the mask selects no pixel.

    Notes
    -----
    One vectorized pass in float64. For additive Gaussian noise of standard deviation σ,
    PSNR ≈ ``20·log10(data_range/σ)``.
    """
    image, reference = _check_pair(image, reference, "image", "reference", vectors=False)
    if not data_range > 0:
        raise NormalkitError(f"data_range must be > 0, got {data_range!r}")
    mask = _check_mask(mask, image.shape[:2])
    diff = image.astype(np.float64) - reference.astype(np.float64)
    sq = diff * diff
    mse = float(sq.mean() if mask is None else sq[mask].mean())
    return psnr_from_mse(mse, data_range)


def psnr_from_mse(mse: float, data_range: float = 1.0) -> float:
    """``10·log10(data_range² / mse)`` in dB; ``math.inf`` when ``mse`` is 0.

    For pooling: PSNR over several images is this of their pooled mean squared error.
    """
    if mse <= 0.0:
        return math.inf
    return float(10.0 * np.log10(data_range * data_range / mse))


def ssim_map(image: np.ndarray, reference: np.ndarray, *, data_range: float = 1.0):
    """Per-pixel SSIM of ``image`` against ``reference``, and where it is valid.

    scikit-image's ``structural_similarity`` with the settings of Wang et al. (2004):
    an 11 × 11 Gaussian window of σ = 1.5 px, population (not sample) covariances,
    K1 = 0.01, K2 = 0.03. Colour images get the mean of their per-channel SSIM.

    Parameters
    ----------
    image, reference : numpy.ndarray
        (H, W) or (H, W, C) arrays of the same shape, H and W ≥ 11.
    data_range : float
        The signal's peak-to-peak range (1.0 for float images in [0, 1]).

    Returns
    -------
    values : numpy.ndarray
        (H, W) float64 SSIM per pixel (the window centred there), in [-1, 1].
    valid : numpy.ndarray
        (H, W) bool, False in the 5-pixel border where the window leaves the image
        (scikit-image excludes it from its mean too).

    Notes
    -----
    Cost: five Gaussian filters per channel, O(H·W·C); memory about 60 bytes per pixel
    and channel.
    """
    from skimage.metrics import structural_similarity

    image, reference = _check_pair(image, reference, "image", "reference", vectors=False)
    if not data_range > 0:
        raise NormalkitError(f"data_range must be > 0, got {data_range!r}")
    if image.ndim not in (2, 3) or min(image.shape[:2]) < _SSIM_WIN:
        raise NormalkitError(
            f"SSIM needs (H, W) or (H, W, C) images of at least {_SSIM_WIN}×{_SSIM_WIN} "
            f"pixels, got shape {image.shape}; render larger images")
    _, values = structural_similarity(
        image.astype(np.float64), reference.astype(np.float64), data_range=data_range,
        channel_axis=-1 if image.ndim == 3 else None, gaussian_weights=True,
        sigma=SSIM_SIGMA, use_sample_covariance=False, full=True)
    if values.ndim == 3:
        values = values.mean(axis=-1)
    pad = (_SSIM_WIN - 1) // 2
    valid = np.zeros(values.shape, bool)
    valid[pad:-pad, pad:-pad] = True
    return values, valid


def ssim(image: np.ndarray, reference: np.ndarray, mask: np.ndarray | None = None, *,
         data_range: float = 1.0) -> float:
    """Mean structural similarity (SSIM) of ``image`` against ``reference``, over a mask.

    Parameters
    ----------
    image, reference : numpy.ndarray
        (H, W) or (H, W, C) arrays of the same shape, H and W ≥ 11, e.g. float sRGB
        renders in [0, 1].
    mask : numpy.ndarray, optional
        (H, W) bool; SSIM is averaged over these pixels (minus the 5-pixel image border,
        see :func:`ssim_map`). Default: every pixel, which equals scikit-image's
        ``structural_similarity`` with the same settings.
    data_range : float
        The signal's peak-to-peak range (1.0 for float images in [0, 1]).

    Returns
    -------
    float
        Mean SSIM in [-1, 1]; exactly 1.0 for identical images.

    Raises
    ------
    NormalkitError
        Shapes differ, images smaller than 11 × 11, or the mask selects no pixel
        inside the border.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
       assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004.
    """
    values, valid = ssim_map(image, reference, data_range=data_range)
    mask = _check_mask(mask, values.shape)
    sel = valid if mask is None else valid & mask
    if not sel.any():
        raise NormalkitError("the SSIM mask selects only border pixels; nothing to compare")
    return float(values[sel].mean())
