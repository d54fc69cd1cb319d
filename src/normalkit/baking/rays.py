"""Ray casting against a triangle mesh with Embree (embreex), threaded across chunks.

Embree releases the GIL while it traces, so chunks of one batch run in parallel on a
thread pool. Every query returns the closest hit along the ray within [0, tfar].
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import NamedTuple

import numpy as np

from ..core.parallel import run_threads

CHUNK = 1 << 16


class RayCaster:
    """An Embree scene over one triangle mesh.

    Parameters
    ----------
    positions : (V, 3) float
    faces : (F, 3) int

    Building costs about 1 s per million triangles (Embree builds its BVH on all cores).
    """

    def __init__(self, positions: np.ndarray, faces: np.ndarray):
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        self.scene = rtcore_scene.EmbreeScene()
        vertices = np.ascontiguousarray(positions, dtype=np.float32)
        indices = np.ascontiguousarray(faces, dtype=np.int32)
        self._mesh = TriangleMesh(self.scene, vertices, indices)
        self.n_faces = len(faces)
        # Embree builds the BVH lazily on the first query; do it now, once, so worker
        # threads never race to commit the scene.
        probe = np.zeros((1, 3), np.float32)
        self.scene.run(probe, probe + 1, dists=np.ones(1, np.float32), output=1)

    def intersect(self, origins: np.ndarray, directions: np.ndarray, tfar: np.ndarray,
                  pool: Executor | None = None) -> Hits:
        """Closest hits of N rays.

        Parameters
        ----------
        origins, directions : (N, 3) float32; directions need not be unit, ``tfar`` is in
            units of the direction's length.
        tfar : (N,) float32 maximum ray parameter; ``inf`` for none (left unchanged).
        pool : optional thread pool; chunks of ``CHUNK`` rays run on it.

        Returns
        -------
        Hits: Embree's own result arrays (no copies when the rays fit one chunk).
        """
        origins = np.ascontiguousarray(origins, dtype=np.float32)
        directions = np.ascontiguousarray(directions, dtype=np.float32)
        tfar = np.array(tfar, dtype=np.float32)  # a copy: Embree overwrites it with hits
        n = len(origins)
        if n <= CHUNK:
            res = self.scene.run(origins, directions, dists=tfar, output=1)
            return Hits(res["primID"], res["u"], res["v"], res["tfar"])
        out = Hits(np.empty(n, np.int32), np.empty(n, np.float32), np.empty(n, np.float32),
                   tfar)

        def run(start: int) -> None:
            sl = slice(start, min(start + CHUNK, n))
            res = self.scene.run(origins[sl], directions[sl], dists=tfar[sl], output=1)
            out.prim[sl] = res["primID"]
            out.u[sl] = res["u"]
            out.v[sl] = res["v"]

        # In this thread without a pool; a stop request is checked between chunks.
        run_threads(run, range(0, n, CHUNK), 1, pool=pool)
        return out

    def occluded(self, origins: np.ndarray, directions: np.ndarray,
                 tfar: np.ndarray) -> np.ndarray:
        """(N,) bool: whether each ray hits anything before ``tfar`` (Embree's occlusion
        query: any hit, not the closest; cheaper than :meth:`intersect`)."""
        origins = np.ascontiguousarray(origins, dtype=np.float32)
        directions = np.ascontiguousarray(directions, dtype=np.float32)
        tfar = np.array(tfar, dtype=np.float32)
        n = len(origins)
        out = np.empty(n, bool)

        def run(start: int) -> None:
            sl = slice(start, min(start + CHUNK, n))
            out[sl] = self.scene.run(origins[sl], directions[sl], dists=tfar[sl],
                                     query="OCCLUDED") >= 0

        run_threads(run, range(0, n, CHUNK), 1)
        return out


class Hits(NamedTuple):
    """Closest hits of N rays.

    prim : (N,) int32 hit triangle, −1 for a miss
    u, v : (N,) float32 Embree barycentrics: hit = (1−u−v)·p0 + u·p1 + v·p2
    t : (N,) float32 ray parameter of the hit (``tfar`` for a miss)
    """

    prim: np.ndarray
    u: np.ndarray
    v: np.ndarray
    t: np.ndarray
