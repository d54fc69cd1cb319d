"""Normal map conversion: green-channel convention, channel swizzles, renormalization,
and bit depth / file format.

The vector functions (:func:`flip_green`, :func:`swizzle`, :func:`renormalize`) work
on decoded (H, W, 3) float normals. :func:`convert_texels` converts a file's texels to
another bit depth and convention in one call (the ``normalkit map convert`` command);
the format itself follows from the output file's extension
(:func:`normalkit.images.io.write_image`).
"""

from __future__ import annotations

import re

import numpy as np

from ..core.errors import NormalkitError
from .encode import encode_normals
from .validate import check_mask, check_normals, unpack_texels

__all__ = [
    "convert_texels",
    "flip_green",
    "parse_swizzle",
    "renormalize",
    "swizzle",
    "swizzle_inverse",
]

_AXES = "XYZ"
_TOKEN = re.compile(r"([+\-−]?)([XYZxyz])")


def flip_green(image) -> np.ndarray:
    """Convert between OpenGL (+Y) and DirectX (−Y) normals by negating y.

    Parameters
    ----------
    image : array_like
        (H, W, 3) float normals.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3), a new array with ``y → −y``. The operation is its own
        inverse.

    Raises
    ------
    NormalkitError
        Bad shape or NaN/inf (see :func:`normalkit.maps.validate.check_normals`).

    Examples
    --------
    >>> import numpy as np
    >>> flip_green(np.array([[[0.0, 0.6, 0.8]]])).astype(float).round(3).tolist()
    [[[0.0, -0.6, 0.8]]]
    """
    out = np.array(check_normals(image), copy=True)
    np.negative(out[..., 1], out=out[..., 1])
    return out


def parse_swizzle(spec: str) -> tuple[tuple[int, int, int], tuple[float, float, float]]:
    """Parse a swizzle such as ``"X-YZ"`` into (source axes, signs).

    Parameters
    ----------
    spec : str
        Three tokens, one per output channel (red, green, blue), each an optional
        sign (``+``, ``-`` or ``−``) and an axis letter ``X``, ``Y`` or ``Z``
        (case-insensitive); spaces and commas are ignored. Every axis must appear
        exactly once, so the swizzle is a rotation or reflection and keeps unit
        vectors unit. ``"X-YZ"`` flips green; ``"YXZ"`` swaps red and green.

    Returns
    -------
    axes : tuple of int
        Source component (0, 1, 2) of each output channel.
    signs : tuple of float
        ±1.0 per output channel.

    Raises
    ------
    NormalkitError
        Not three tokens, an unknown letter, or an axis used twice.
    """
    text = str(spec).replace(" ", "").replace(",", "")
    tokens = _TOKEN.findall(text)
    if "".join(s + a for s, a in tokens) != text or len(tokens) != 3:
        raise NormalkitError(
            f"swizzle {spec!r} is not three signed axes like 'X-YZ' (each output channel "
            "takes +X, -X, +Y, -Y, +Z or -Z)")
    axes = tuple(_AXES.index(a.upper()) for _, a in tokens)
    if sorted(axes) != [0, 1, 2]:
        raise NormalkitError(
            f"swizzle {spec!r} uses an axis twice; use each of X, Y and Z once so that "
            "normals stay unit vectors")
    signs = tuple(-1.0 if s in "-−" and s else 1.0 for s, _ in tokens)
    return axes, signs  # type: ignore[return-value]


def swizzle_inverse(spec: str) -> str:
    """The swizzle that undoes ``spec``: ``swizzle(swizzle(n, s), swizzle_inverse(s)) == n``.

    Examples
    --------
    >>> swizzle_inverse("Y-XZ")
    '-YXZ'
    """
    axes, signs = parse_swizzle(spec)
    out = [""] * 3
    for k, (a, s) in enumerate(zip(axes, signs, strict=True)):
        # output k = s · input a  ⇒  input a = s · output k
        out[a] = ("-" if s < 0 else "") + _AXES[k]
    return "".join(out)


def swizzle(image, spec: str) -> np.ndarray:
    """Rearrange and negate vector components: output channel k = ±input axis.

    Parameters
    ----------
    image : array_like
        (H, W, 3) float normals (or stored vectors).
    spec : str
        See :func:`parse_swizzle`, e.g. ``"X-YZ"`` (flip green) or ``"-XYZ"``
        (flip red).

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3), new array. Exact (only copies and negations), so
        :func:`swizzle_inverse` undoes it bit for bit.

    Raises
    ------
    NormalkitError
        Bad ``spec``, bad shape, or NaN/inf.
    """
    return _swizzle(check_normals(image), spec)


def _swizzle(n: np.ndarray, spec: str) -> np.ndarray:
    axes, signs = parse_swizzle(spec)
    out = np.empty_like(n)
    for k in range(3):
        np.multiply(n[..., axes[k]], np.float32(signs[k]), out=out[..., k])
    return out


def renormalize(image, mask=None) -> np.ndarray:
    """Scale every vector to unit length.

    Parameters
    ----------
    image : array_like
        (H, W, 3) float vectors.
    mask : array_like, optional
        (H, W) bool: renormalize only these texels; the others are copied.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3). Zero vectors become the flat tangent-space normal
        (0, 0, 1).

    Raises
    ------
    NormalkitError
        Bad shape, NaN/inf, or a mask that does not match.
    """
    n = check_normals(image)
    return _renormalize(n, check_mask(mask, n.shape[:2]))


def _renormalize(n: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    out = np.array(n, copy=True)
    length = np.sqrt(np.einsum("ijk,ijk->ij", n, n))
    sel = length > 0 if m is None else m & (length > 0)
    np.divide(out, length[..., None], out=out, where=sel[..., None])
    zero = length == 0 if m is None else m & (length == 0)
    out[zero] = (0.0, 0.0, 1.0)
    return out


def _rescale_alpha(alpha: np.ndarray, bits: int) -> np.ndarray:
    """Alpha in the output's dtype, same fraction of full scale."""
    if alpha.dtype in (np.uint8, np.uint16):
        frac = alpha.astype(np.float64) / np.iinfo(alpha.dtype).max
    else:
        frac = np.clip(alpha.astype(np.float64), 0.0, 1.0)
    if bits == 32:
        return frac.astype(np.float32)
    top = 255 if bits == 8 else 65535
    return np.rint(frac * top).astype(np.uint8 if bits == 8 else np.uint16)


def convert_texels(image, bits: int, *, directx_in: bool = False, directx_out: bool = False,
                   renormalize: bool = False, swizzle: str | None = None) -> np.ndarray:
    """Convert a normal map's texels to another bit depth and convention.

    Parameters
    ----------
    image : array_like
        Texels as read from a file: (H, W, 3) or (H, W, 4), uint8, uint16 or float
        (see :func:`normalkit.maps.validate.unpack_texels`).
    bits : int
        Output depth: 8, 16 (unsigned integers) or 32 (float32 vectors).
    directx_in, directx_out : bool
        Green convention of the input and of the output. Different values flip
        green; equal values keep it.
    renormalize : bool
        Scale the vectors to unit length. Without it the stored vectors are carried
        over as they are (8 → 16 bits is exact: value·257), so a conversion never
        changes more than the format asks.
    swizzle : str, optional
        Applied to the stored vectors first, before the green conventions; see
        :func:`parse_swizzle`.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) or, if the input had alpha, (H, W, 4) in uint8, uint16 or
        float32; alpha keeps its fraction of full scale.

    Raises
    ------
    NormalkitError
        Bad shape, dtype, ``bits`` or ``swizzle``, or NaN/inf texels.

    Notes
    -----
    Order: unpack (``rgb·2 − 1``, not normalized) → swizzle → flip green if
    ``directx_in != directx_out`` → renormalize → encode
    (:func:`normalkit.maps.encode.encode_normals`, which rounds and clips to [−1, 1]).
    Cost: a few vectorized passes; 4096² 16-bit → 8-bit in well under a second.
    """
    a = np.asarray(image)
    v = unpack_texels(a)
    v = check_normals(v, "texels")
    if swizzle is not None:
        v = _swizzle(v, swizzle)
    if directx_in != directx_out:
        np.negative(v[..., 1], out=v[..., 1])
    if renormalize:
        v = _renormalize(v, None)
    out = encode_normals(v, bits)
    if a.shape[2] == 4:
        out = np.concatenate([out, _rescale_alpha(a[:, :, 3], bits)[..., None]], axis=2)
    return out
