"""The small Mesh that every module works on: positions, triangles, per-corner attributes.

Per-corner data is indexed face × corner, in file order (CONVENTIONS.md): face i,
corner k is ``attr[i, k]``. Seams and hard edges therefore survive, because two
corners at the same position may carry different normals or UVs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.errors import NormalkitError


@dataclass(eq=False)
class Mesh:
    """Triangle mesh with per-corner attributes.

    Attributes
    ----------
    positions : (V, 3) float64
        Vertex positions in the file's own axes.
    faces : (F, 3) int64
        Counter-clockwise triangles indexing ``positions``.
    normals : (F, 3, 3) float64 or None
        Unit normal of every face corner.
    uvs : (F, 3, 2) float64 or None
        UV of every face corner; origin bottom-left, v up.
    name : str
        A label for messages (usually the file name).
    colors : (F, 3, 4) float32 or None
        RGBA of every face corner, **linear** (not sRGB-encoded), in [0, 1]. Loaders
        decode 8-bit vertex colours of OBJ/PLY files from sRGB; glTF ``COLOR_0`` is
        linear already (glTF 2.0, 3.7.2.1).
    base_color_texture : (H, W, 4) uint8 or uint16, or None
        Base-colour image as stored in the file: sRGB-encoded RGBA, row 0 at the top
        (CONVENTIONS.md), sampled at ``uvs`` (which it requires). The surface colour is
        ``colors × texture`` (each white when absent), as glTF defines it.
    materials : (F,) int32 or None
        The material of every face, as an index, when the file has several (each glTF
        primitive or node, each OBJ material group, as trimesh splits them); None for one.
    """

    positions: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    uvs: np.ndarray | None = None
    name: str = "mesh"
    colors: np.ndarray | None = None
    base_color_texture: np.ndarray | None = None
    materials: np.ndarray | None = None

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    def corner_positions(self) -> np.ndarray:
        """(F, 3, 3) positions of every face corner."""
        return self.positions[self.faces]

    @property
    def has_color(self) -> bool:
        """True when the mesh carries colour: corner colours, or a texture with UVs."""
        return self.colors is not None or (
            self.base_color_texture is not None and self.uvs is not None)

    def subset(self, faces: np.ndarray) -> Mesh:
        """The mesh restricted to ``faces`` (indices or a boolean mask), in that order.

        Positions are kept whole (unused vertices stay); every per-corner attribute
        follows its face.
        """
        def take(a):
            return None if a is None else a[faces]

        return self.replace(faces=self.faces[faces], normals=take(self.normals),
                            uvs=take(self.uvs), colors=take(self.colors),
                            materials=take(self.materials))

    def face_normals(self) -> np.ndarray:
        """(F, 3) unit geometric normals (zero for degenerate triangles)."""
        p = self.corner_positions()
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        return _normalize(n)

    def replace(self, **changes) -> Mesh:
        return replace(self, **changes)

    def validate(self) -> Mesh:
        """Check shapes, emptiness and finiteness; raise NormalkitError naming the problem."""
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or self.n_faces == 0:
            raise NormalkitError(f"{self.name}: the mesh has no triangles (empty mesh)")
        if self.positions.ndim != 2 or self.positions.shape[1] != 3:
            raise NormalkitError(f"{self.name}: positions must have shape (V, 3)")
        if self.faces.min() < 0 or self.faces.max() >= len(self.positions):
            raise NormalkitError(f"{self.name}: a face indexes a vertex that does not exist")
        for label, arr in (("vertex coordinates", self.positions), ("normals", self.normals),
                           ("UVs", self.uvs), ("colours", self.colors)):
            if arr is not None and not np.isfinite(arr).all():
                bad = int((~np.isfinite(arr)).any(axis=-1).sum())
                raise NormalkitError(
                    f"{self.name}: {bad} non-finite (NaN or inf) {label}; "
                    "repair the mesh before baking")
        n_f = self.n_faces
        if self.normals is not None and self.normals.shape != (n_f, 3, 3):
            raise NormalkitError(f"{self.name}: normals must have shape (F, 3, 3)")
        if self.uvs is not None and self.uvs.shape != (n_f, 3, 2):
            raise NormalkitError(f"{self.name}: uvs must have shape (F, 3, 2)")
        if self.colors is not None and self.colors.shape != (n_f, 3, 4):
            raise NormalkitError(f"{self.name}: colors must have shape (F, 3, 4) (linear RGBA)")
        if self.materials is not None and self.materials.shape != (n_f,):
            raise NormalkitError(f"{self.name}: materials must have shape (F,)")
        tex = self.base_color_texture
        if tex is not None and (tex.ndim != 3 or tex.shape[2] != 4 or 0 in tex.shape
                                or tex.dtype not in (np.uint8, np.uint16)):
            raise NormalkitError(
                f"{self.name}: base_color_texture must be an (H, W, 4) uint8 or uint16 "
                f"sRGB image, got {tex.dtype} {tex.shape}")
        return self

    def require_uvs(self) -> np.ndarray:
        if self.uvs is None:
            raise NormalkitError(
                f"{self.name}: the low-poly has no UVs; unwrap it first "
                "(e.g. Blender's Smart UV Project, or `normalkit reduce`)")
        return self.uvs


def _normalize(v: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """Normalize along the last axis; zero vectors stay zero."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v, dtype=np.result_type(v, np.float32)),
                     where=n > eps)


def weld_positions(positions: np.ndarray) -> np.ndarray:
    """(V,) id per vertex, equal for vertices with bit-identical positions (+0.0 == -0.0).

    Ids are compact (0 … U−1 for U distinct positions) in no particular order. Sorts a
    64-bit hash of each position, falling back to sorting the positions themselves if
    two different positions share a hash.
    """
    p = np.ascontiguousarray(positions, dtype=np.float64) + 0.0
    if len(p) == 0:
        return np.zeros(0, np.int64)
    words = p.view(np.uint64).reshape(len(p), 3)
    h = np.zeros(len(p), np.uint64)
    for c in range(3):  # multiply-xorshift mix; uint64 arithmetic wraps
        h ^= words[:, c]
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    order = np.argsort(h)
    hs = h[order]
    same = hs[1:] == hs[:-1]
    ws = words[order]
    if np.any(same & np.any(ws[1:] != ws[:-1], axis=1)):  # a hash collision
        _, inverse = np.unique(p.view(np.dtype((np.void, 24))).ravel(), return_inverse=True)
        return inverse.ravel()
    run = np.zeros(len(p), np.int64)
    np.cumsum(~same, out=run[1:])
    ids = np.empty(len(p), np.int64)
    ids[order] = run
    return ids


# Colour encoding (IEC 61966-2-1 sRGB transfer function). Per-corner colours and baked
# colour maps are linear; files (8-bit vertex colours, PNG textures) are sRGB-encoded.

def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """Decode sRGB-encoded values in [0, 1] to linear light (float32, same shape)."""
    c = np.asarray(c, np.float32)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Encode linear values to sRGB in [0, 1] (float32, same shape; clipped to [0, 1])."""
    c = np.clip(np.asarray(c, np.float32), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92,
                    1.055 * c ** (1 / 2.4) - 0.055).astype(np.float32)


def srgb_lut(dtype) -> np.ndarray:
    """(256,) or (65536,) float32 table: stored integer sRGB value → linear value."""
    top = np.iinfo(dtype).max
    return srgb_to_linear(np.arange(top + 1, dtype=np.float32) / top)


_ENCODE_STEPS = 1 << 16
_ENCODE_LUT = None


def encode_color(color: np.ndarray) -> np.ndarray:
    """(..., 4) linear float RGBA → uint8 sRGB RGBA (alpha stays linear), for PNG/glTF.

    The transfer function goes through a 65,536-entry table over [0, 1] (exact to the
    8-bit rounding except within 1/65,536 of a rounding boundary). One compiled pass, in
    the input's float type, over blocks of texels on all cores.
    """
    global _ENCODE_LUT
    if _ENCODE_LUT is None:
        x = (np.arange(_ENCODE_STEPS, dtype=np.float64) + 0.5) / _ENCODE_STEPS
        _ENCODE_LUT = np.round(linear_to_srgb(x) * 255).astype(np.uint8)
    color = np.asarray(color)
    if color.dtype.kind != "f" or color.shape[-1:] != (4,):
        raise NormalkitError(f"colour must be a float (..., 4) RGBA array, got "
                             f"{color.dtype} {color.shape}")
    from ..core.parallel import run_blocks
    from .kernels import encode_color_rows

    if color.dtype.itemsize < 4:
        color = color.astype(np.float32)
    out = np.empty(color.shape, np.uint8)
    src, dst = color.reshape(-1, 4), out.reshape(-1, 4)
    f = color.dtype.type
    run_blocks(lambda b: encode_color_rows(src[b], _ENCODE_LUT, f(_ENCODE_STEPS), f(0), f(1),
                                           f(255), dst[b]),
               len(src), 1 << 18)  # texels per thread task
    return out


def interpolate_corners(corners: np.ndarray, face: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Barycentric interpolation of packed per-corner data at N surface points.

    Parameters
    ----------
    corners : (F, 3, K) float32, C-contiguous per-corner channels (one gather per point).
    face : (N,) int triangle of each point.
    weights : (N, 3) corner weights (barycentrics).

    Returns
    -------
    (K, N) float32, channel-major, so the per-point math that follows runs on contiguous
    rows. The renderer and map-space conversion share it (the baker interpolates per ray
    in its compiled kernels).
    """
    return np.einsum("nkc,nk->cn", np.take(corners, face, axis=0), weights)
