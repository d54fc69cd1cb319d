"""Ray casting against a triangle mesh with Embree, threaded across chunks.

Embree releases the GIL while it traces, so chunks of one batch run in parallel on a
thread pool. Every query returns the closest hit along the ray within [0, tfar].

Two ways into Embree, with bit-identical results: :mod:`normalkit.baking.embree` (Embree's
C API over shared buffers, compiled packet kernels; used wherever embreex's wheel carries
the library where it looks) and embreex's Python API (the fallback).
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import NamedTuple

import numpy as np

from ..core.parallel import run_threads
from . import embree

CHUNK = 1 << 16


class _EmbreexScene:
    """The fallback: a scene through embreex's Python API (it copies the mesh into Embree
    in an interpreted loop and traces one ray per call; ``fast_build`` is not offered)."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, fast_build: bool = False):
        from embreex import rtcore_scene
        from embreex.mesh_construction import TriangleMesh

        self._scene = rtcore_scene.EmbreeScene()
        # Embree's geometry object must outlive its scene.
        self._mesh = TriangleMesh(self._scene, np.ascontiguousarray(vertices, np.float32),
                                  np.ascontiguousarray(faces, np.int32))
        # Embree builds the BVH lazily on the first query; do it now, once, so worker
        # threads never race to commit the scene.
        probe = np.zeros((1, 3), np.float32)
        self._scene.run(probe, probe + 1, dists=np.ones(1, np.float32), output=1)

    def intersect(self, origins, directions, tfar, prim, u, v, coherent=False) -> None:
        res = self._scene.run(origins, directions, dists=tfar, output=1)
        prim[:] = res["primID"]
        u[:] = res["u"]
        v[:] = res["v"]

    def occluded(self, origins, directions, tfar, out) -> None:
        out[:] = self._scene.run(origins, directions, dists=tfar, query="OCCLUDED") >= 0


def new_scene(vertices: np.ndarray, faces: np.ndarray, fast_build: bool = False):
    """An Embree scene over one mesh, its BVH built: :class:`normalkit.baking.embree.Scene`
    where Embree's library is at hand, else embreex's."""
    if embree.available():
        return embree.Scene(vertices, faces, fast_build)
    return _EmbreexScene(vertices, faces)


class RayCaster:
    """An Embree scene over one triangle mesh, or one scene per bake group.

    Parameters
    ----------
    positions : (V, 3) float
    faces : (F, 3) int
    groups : (F,) int, optional
        A bake group per face: each group gets its own scene, and a ray then sees only
        the group it is cast for (``group=`` of the queries). Hits report the face's
        index in ``faces`` either way.
    fast_build : bool
        Embree's fastest builder, for scenes that trace few rays per triangle (see
        :class:`normalkit.baking.embree.Scene`).

    Building costs about 0.23 s for 1.3M triangles on 2 cores, 0.08 s with
    ``fast_build`` (Embree builds its BVH on all cores; 1 s through embreex's Python
    API, which copies the mesh in a loop).
    """

    def __init__(self, positions: np.ndarray, faces: np.ndarray,
                 groups: np.ndarray | None = None, fast_build: bool = False):
        self.n_faces = len(faces)
        vertices = np.asarray(positions)  # each scene converts them to Embree's float32
        faces = np.asarray(faces)
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise ValueError(f"face indices must lie in [0, {len(vertices)}); got "
                             f"[{faces.min()}, {faces.max()}]")  # Embree would read wild
        if groups is None:
            self.scene = new_scene(vertices, faces, fast_build)
            self._groups = None
        else:
            groups = np.asarray(groups)
            self.scene = None
            self._groups = {int(g): (new_scene(vertices, faces[groups == g], fast_build),
                                     np.nonzero(groups == g)[0].astype(np.int32))
                            for g in np.unique(groups)}

    def intersect(self, origins: np.ndarray, directions: np.ndarray, tfar: np.ndarray,
                  pool: Executor | None = None, group: np.ndarray | None = None,
                  coherent: bool = False) -> Hits:
        """Closest hits of N rays.

        Parameters
        ----------
        origins, directions : (N, 3) float32; directions need not be unit, ``tfar`` is in
            units of the direction's length.
        tfar : (N,) float32 maximum ray parameter; ``inf`` for none (left unchanged).
        pool : optional thread pool; chunks of ``CHUNK`` rays run on it.
        group : (N,) int, the bake group of each ray (with groups only).
        coherent : bool
            The rays come in order of neighbourhood and run side by side (a bake's rays
            of neighbouring texels, a camera's rays): Embree's coherent packet
            traversal, faster on such rays. The hits are the same, except that a ray
            that meets the edge two triangles share may report either of them (see
            :mod:`normalkit.baking.embree`).

        Returns
        -------
        Hits: Embree's own result arrays (no copies when the rays fit one chunk).
        """
        origins = np.ascontiguousarray(origins, dtype=np.float32)
        directions = np.ascontiguousarray(directions, dtype=np.float32)
        tfar = np.array(tfar, dtype=np.float32)  # a copy: Embree overwrites it with hits
        if self._groups is not None:
            return self._grouped(origins, directions, tfar, group, pool, coherent)
        return _intersect(self.scene, origins, directions, tfar, pool, coherent)

    def occluded(self, origins: np.ndarray, directions: np.ndarray, tfar: np.ndarray,
                 group: np.ndarray | None = None) -> np.ndarray:
        """(N,) bool: whether each ray hits anything before ``tfar`` (Embree's occlusion
        query: any hit, not the closest; cheaper than :meth:`intersect`)."""
        origins = np.ascontiguousarray(origins, dtype=np.float32)
        directions = np.ascontiguousarray(directions, dtype=np.float32)
        tfar = np.array(tfar, dtype=np.float32)
        if self._groups is None:
            return _occluded(self.scene, origins, directions, tfar)
        out = np.empty(len(origins), bool)
        for g, sel in self._split(group):
            out[sel] = _occluded(self._groups[g][0], origins[sel], directions[sel], tfar[sel])
        return out

    def _split(self, group):
        if group is None:
            raise ValueError("a grouped RayCaster needs the group of every ray")
        group = np.asarray(group)
        for g in np.unique(group):
            yield int(g), np.nonzero(group == g)[0]

    def _grouped(self, origins, directions, tfar, group, pool, coherent) -> Hits:
        n = len(origins)
        out = Hits(np.full(n, -1, np.int32), np.zeros(n, np.float32),
                   np.zeros(n, np.float32), tfar.copy())
        for g, sel in self._split(group):
            scene, index = self._groups[g]
            h = _intersect(scene, origins[sel], directions[sel], tfar[sel], pool, coherent)
            hit = h.prim >= 0
            out.prim[sel] = np.where(hit, index[np.maximum(h.prim, 0)], -1)
            out.u[sel], out.v[sel], out.t[sel] = h.u, h.v, h.t
        return out


def _intersect(scene, origins, directions, tfar, pool=None, coherent=False) -> Hits:
    n = len(origins)
    out = Hits(np.empty(n, np.int32), np.empty(n, np.float32), np.empty(n, np.float32), tfar)
    if n <= CHUNK:
        scene.intersect(origins, directions, tfar, out.prim, out.u, out.v, coherent)
        return out

    def run(start: int) -> None:
        sl = slice(start, min(start + CHUNK, n))
        scene.intersect(origins[sl], directions[sl], tfar[sl], out.prim[sl], out.u[sl],
                        out.v[sl], coherent)

    # In this thread without a pool; a stop request is checked between chunks.
    run_threads(run, range(0, n, CHUNK), 1, pool=pool)
    return out


def _occluded(scene, origins, directions, tfar) -> np.ndarray:
    n = len(origins)
    out = np.empty(n, bool)

    def run(start: int) -> None:
        sl = slice(start, min(start + CHUNK, n))
        scene.occluded(origins[sl], directions[sl], tfar[sl], out[sl])

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
