"""The high-poly side of a bake, prepared on threads while the caller does other work.

:class:`PreparedHigh` loads a high-poly, completes its normals, builds its Embree scene
and packs its corner normals on a thread of its own. It imports neither Numba nor the
baker's kernels. (Starting it before the command line imports them was measured and
gains nothing on 2 cores: both threads then compete for the cores and the GIL.)
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from typing import NamedTuple

import numpy as np

from ..core.errors import NormalkitError
from ..mesh.model import Mesh
from ..mesh.normals import ensure_normals
from .rays import RayCaster


def _as_mesh(m, label: str, geometry=None) -> Mesh:
    from ..mesh.io import load_mesh

    if isinstance(m, Mesh):
        return m.validate()
    if isinstance(m, (str, os.PathLike)):
        return load_mesh(m, geometry=geometry)
    raise NormalkitError(f"{label}: expected a Mesh or a path, got {type(m).__name__}")


class _Background:
    """``fn(*args)`` on a daemon thread, started at once; :meth:`result` waits for it and
    returns its value or raises its exception."""

    def __init__(self, fn, *args, name: str = "normalkit"):
        self._value = self._error = None

        def run():
            try:
                self._value = fn(*args)
            except BaseException as exc:  # handed over by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self):
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value


class HighNormals(NamedTuple):
    """The high-poly's corner normals as the shading kernel reads them: corner k of face
    f has normal ``table[corners[f, k]]``. From a mesh, ``table`` is its (F·3, 3) corner
    normals and ``corners`` numbers them; from a PLY with per-vertex normals, ``table``
    is those (V, 3) and ``corners`` the faces, so the (F, 3, 3) array is never built."""

    table: np.ndarray  # (K, 3) float64, C-contiguous
    corners: np.ndarray  # (F, 3) int64 rows of table


class PreparedHigh:
    """A high-poly made ready for :func:`bake` on a thread of its own, started at once:
    loaded (from a path), its normals completed, its Embree scene built and its corner
    normals packed. Pass it to :func:`bake` as ``high``, for one bake or several (other
    low-polys, sizes, cages): the scene is built once. Meanwhile the calling thread is
    free: ``bake`` prepares the low-poly, :func:`normalkit.assets.reduce.reduce`
    decimates and unwraps.

    From a path, the BVH build starts on one more thread as soon as the file's
    positions and triangles are read (``load_mesh(geometry=)``), while the loader
    assembles the corner data. With ``mesh=False``, a binary PLY with per-vertex
    normals is read without any corner data
    (:func:`normalkit.mesh.io.load_vertex_normals`): enough for normal maps, and for
    1.3M triangles 94 MB less and a load of 0.10-0.15 s instead of 0.32-0.69 s.

    Parameters
    ----------
    high : Mesh or path
    log : callable, optional
        Receives the notices of the preparation (e.g. smooth normals computed), in
        order, from the thread that next waits for it, never interleaved with its own.
    groups : (F,) int, optional
        The bake group of each face (see :class:`~normalkit.baking.rays.RayCaster`).
    rays : int, optional
        About how many rays the bakes will trace. Below ``FAST_BUILD_RAYS`` per
        triangle the scene is built with Embree's fastest builder (3× faster to build,
        ~10 % slower to trace); by default, and above, with its default one.
    mesh : bool
        Keep the high-poly as a :class:`~normalkit.mesh.model.Mesh` (the default; bakes
        of colour and of maps other than normals need it). False allows the PLY path
        above, where :meth:`result` then gives None for the mesh.
    """

    #: Rays per high-poly triangle below which the fast build pays (its 0.15 s saved on
    #: 1.3M triangles buy ~27M rays at 10 % more each, on 2 cores).
    FAST_BUILD_RAYS = 20

    def __init__(self, high, *, log=None, groups=None, rays: int | None = None,
                 mesh: bool = True):
        self._notes: list[str] = []
        self._log = log or (lambda msg: None)
        self._rays = rays
        self._mesh = mesh
        self._job = _Background(self._prepare, high, groups, name="normalkit-high")

    def _fast_build(self, faces) -> bool:
        return self._rays is not None and self._rays < self.FAST_BUILD_RAYS * len(faces)

    def _prepare(self, high, groups):
        early = []

        def start(positions, faces):
            build = functools.partial(RayCaster, fast_build=self._fast_build(faces))
            early.append((positions, faces,
                          _Background(build, positions, faces, name="normalkit-bvh")))

        try:
            if not self._mesh and groups is None and isinstance(high, (str, os.PathLike)):
                from ..mesh.io import load_vertex_normals

                shape = load_vertex_normals(high, geometry=start)
                if shape is not None:
                    return None, early[-1][2].result(), HighNormals(shape[2], shape[1])
            high = _as_mesh(high, "high-poly", geometry=start if groups is None else None)
            high = ensure_normals(high, log=self._notes.append)
        finally:
            for *_, build in early:
                build.wait()  # never leave a build running behind an error
        caster = next((build.result() for positions, faces, build in early
                       if positions is high.positions and faces is high.faces), None)
        if caster is None:
            caster = RayCaster(high.positions, high.faces, groups=groups,
                               fast_build=self._fast_build(high.faces))
        return high, caster, _high_normals(high)

    def wait(self) -> None:
        """Wait until the preparation has finished (or failed); :meth:`result` tells which."""
        self._job.wait()

    def result(self):
        """(high, caster, high_normals) once ready: the Mesh (None where ``mesh=False``
        let the PLY path skip it), its :class:`~normalkit.baking.rays.RayCaster` and
        :class:`HighNormals`; raises what the preparation raised.
        Called while another exception is on its way (from a ``finally``), it waits and
        returns Nones so that one goes through."""
        self._job.wait()
        notes, self._notes = self._notes, []
        for note in notes:
            self._log(note)
        if sys.exc_info()[1] is not None:  # leaving with another error: that one wins
            return None, None, None
        return self._job.result()


def _high_normals(high: Mesh) -> HighNormals:
    """The mesh's corner normals as :class:`HighNormals`: its own float64 array viewed as
    (F·3, 3) where it is C-contiguous float64 already (a float32 copy of a
    million-triangle mesh's would cost 0.1 s of fresh memory; the shading kernel rounds
    each value to float32 as it reads it)."""
    table = np.ascontiguousarray(high.normals, dtype=np.float64).reshape(-1, 3)
    return HighNormals(table, np.arange(len(table), dtype=np.int64).reshape(-1, 3))
