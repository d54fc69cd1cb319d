"""The small Mesh that every module works on: positions, triangles, per-corner attributes.

Per-corner data is indexed face × corner, in file order (CONVENTIONS.md): face i,
corner k is ``attr[i, k]``. Seams and hard edges therefore survive, because two
corners at the same position may carry different normals or UVs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import NormalkitError


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
    """

    positions: np.ndarray
    faces: np.ndarray
    normals: np.ndarray | None = None
    uvs: np.ndarray | None = None
    name: str = "mesh"

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    def corner_positions(self) -> np.ndarray:
        """(F, 3, 3) positions of every face corner."""
        return self.positions[self.faces]

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
                           ("UVs", self.uvs)):
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
    """(V,) id per vertex, equal for vertices with bit-identical positions (+0.0 == -0.0)."""
    p = np.ascontiguousarray(positions + 0.0)
    _, inverse = np.unique(p.view(np.dtype((np.void, p.dtype.itemsize * 3))).ravel(),
                           return_inverse=True)
    return inverse.ravel()
