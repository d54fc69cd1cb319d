"""Normal map encoding: unit vectors <-> 8-bit, 16-bit or float texels.

The one encoding every normalkit command uses (CONVENTIONS.md, "Normal maps"):

- 8-bit: rgb = round(255 * (n * 0.5 + 0.5)), uint8;
- 16-bit: rgb = round(65535 * (n * 0.5 + 0.5)), uint16;
- 32-bit: the float32 vector n itself, in [-1, 1] (EXR, TIFF);
- decoding: n = normalize(rgb * 2 - 1).

Green is OpenGL (+Y, glTF/Blender/Unity) by default; ``directx=True`` flips it
(n_y -> -n_y), as Unreal and 3ds Max expect.

Worst-case angular error of an encode -> decode round trip of a unit vector is
arcsin(sqrt(3) / 255) = 0.39 degrees at 8 bits, arcsin(sqrt(3) / 65535) =
0.0015 degrees at 16 bits, and float32 rounding (about 1e-5 degrees) at 32 bits.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import NormalkitError

__all__ = ["FLAT_TANGENT", "decode_normals", "encode_normals"]

#: The flat tangent-space normal; encodes to (128, 128, 255) at 8 bits.
FLAT_TANGENT = (0, 0, 1)

_INT_MAX = {8: 255, 16: 65535}
_DTYPE = {8: np.uint8, 16: np.uint16, 32: np.float32}


def encode_normals(normals: np.ndarray, bits: int, *, directx: bool = False) -> np.ndarray:
    """Encode unit normals as texel values of a ``bits``-bit normal map.

    Parameters
    ----------
    normals : numpy.ndarray
        (H, W, 3) float unit vectors (any leading shape ``(..., 3)`` works).
        They are not renormalized; components are clipped to [-1, 1].
    bits : int
        8 (uint8), 16 (uint16) or 32 (float32).
    directx : bool, optional
        Flip the green channel (n_y -> -n_y) before encoding.

    Returns
    -------
    numpy.ndarray
        Same shape as ``normals``: uint8 ``round(255 * (n/2 + 1/2))``,
        uint16 ``round(65535 * (n/2 + 1/2))``, or float32 ``n`` clipped to [-1, 1].

    Raises
    ------
    NormalkitError
        ``bits`` is not 8, 16 or 32, the last axis is not 3, or a value is NaN/inf.

    Notes
    -----
    8/16 bits: one compiled pass (float32 arithmetic, as NumPy's
    ``rint(clip(n · scale + half))`` in float32) over blocks of texels on all cores,
    writing the output directly: no temporary copies.
    """
    if bits not in _DTYPE:
        raise NormalkitError(f"bits must be 8, 16 or 32, not {bits!r}")
    n = np.asarray(normals)
    if n.ndim < 1 or n.shape[-1] != 3:
        raise NormalkitError(f"normals must have shape (H, W, 3), got {n.shape}")
    if n.dtype.kind not in "fiu":
        raise NormalkitError(f"normals must be a float array, got dtype {n.dtype}")
    green = -1.0 if directx else 1.0
    if bits == 32:
        if not np.isfinite(n).all():
            raise NormalkitError(_NOT_FINITE)
        out = np.array(n, dtype=np.float32, copy=True)
        if directx:
            np.negative(out[..., 1], out=out[..., 1])
        return np.clip(out, -1.0, 1.0, out=out)
    from ..core.parallel import run_blocks
    from .kernels import encode_rows

    half = 0.5 * _INT_MAX[bits]
    scale = np.array([half, green * half, half], dtype=np.float32)
    src = n.reshape(-1, 3) if n.dtype.kind == "f" else n.reshape(-1, 3).astype(np.float32)
    out = np.empty(n.shape, _DTYPE[bits])
    flat = out.reshape(-1, 3)
    bad = run_blocks(lambda b: encode_rows(src[b], scale, np.float32(half),
                                           np.float32(_INT_MAX[bits]), flat[b]),
                     len(src), _ENCODE_BLOCK)
    if sum(bad):
        raise NormalkitError(_NOT_FINITE)
    return out


_NOT_FINITE = "normals contain NaN or infinite values; fix or mask them first"
_ENCODE_BLOCK = 1 << 18  # texels per thread task


def decode_normals(image: np.ndarray, *, directx: bool = False,
                   normalize: bool = True) -> np.ndarray:
    """Decode normal-map texels back to unit vectors.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W, 3) or (H, W, 4) (alpha is ignored); any leading shape works.
        uint8 and uint16 are read as ``rgb * 2 - 1`` with rgb = value / max;
        float16/32/64 are taken as n itself.
    directx : bool, optional
        The map has a DirectX (flipped) green channel; flip it back.
    normalize : bool, optional
        False returns the stored vectors as they are (for validation of their length).

    Returns
    -------
    numpy.ndarray
        float32, shape ``image.shape[:-1] + (3,)``, unit length (with ``normalize``);
        zero vectors stay zero.

    Raises
    ------
    NormalkitError
        The last axis is not 3 or 4, or the dtype is not uint8, uint16 or float.

    Notes
    -----
    One vectorized pass; memory is the float32 output (12 bytes per texel)
    plus a float32 length per texel.
    """
    image = np.asarray(image)
    if image.ndim < 1 or image.shape[-1] not in (3, 4):
        raise NormalkitError(f"image must have shape (H, W, 3) or (H, W, 4), got {image.shape}")
    rgb = image[..., :3]
    if image.dtype in (np.uint8, np.uint16):
        maxval = np.iinfo(image.dtype).max
        n = np.multiply(rgb, np.float32(2.0 / maxval), dtype=np.float32)
        n -= np.float32(1.0)
    elif image.dtype.kind == "f":
        n = np.array(rgb, dtype=np.float32, copy=True)
    else:
        raise NormalkitError(
            f"cannot decode a {image.dtype} normal map; give uint8, uint16 or float texels"
        )
    if directx:
        np.negative(n[..., 1], out=n[..., 1])
    if not normalize:
        return n
    length = np.sqrt(np.einsum("...i,...i->...", n, n))[..., None]
    np.divide(n, length, out=n, where=length > 0)
    return n
