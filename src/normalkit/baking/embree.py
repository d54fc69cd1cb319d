"""Embree 4 through its C API: scenes over shared buffers, traced by compiled kernels.

embreex, our Embree dependency, ships the Embree 4 library, but its Python API copies every
vertex and index into Embree in an interpreted loop (0.65 s for a million triangles, with
the GIL held) and allocates five result arrays per call. This module drives the same
library directly:

- :class:`Scene` gives Embree its buffers in place (``rtcSetSharedGeometryBuffer``: float32
  vertices and uint32 faces, converted by NumPy in one pass each, which Embree reads
  without copying) and commits the BVH through ctypes, which releases the GIL while
  Embree builds on all cores;
- :mod:`normalkit.baking.packets` holds the compiled kernels that trace rays in packets of
  8 or 16 (``rtcIntersect8``/``16``, ``rtcOccluded8``) with the GIL released. It is
  imported at the first query: building a scene needs no Numba.

The scene is built with ``RTC_SCENE_FLAG_ROBUST`` (watertight traversal), as embreex builds
its scenes, so hits, barycentrics and distances are bit-identical to embreex's.

``Scene.intersect(..., coherent=True)`` asks Embree for its coherent packet traversal
(``RTC_RAY_QUERY_FLAG_COHERENT``: one walk of the BVH per packet, against the packet's
frustum), for rays that run side by side, such as a bake's rays of neighbouring texels
(1.8× the rays per second there), in packets of 16 where the CPU traces them natively
(:func:`packet_width`; another 15-25 % on a bake's rays, with its texels in square
blocks). Each ray gets the same closest hit, bit for bit, except where it meets the edge
two triangles share: both are hit there, at distances that agree but for the last bits
of each triangle's test, and the two traversals may report different ones (on a 4096²
bake: 1 ray of 7.2M, and the same 16-bit map).

:func:`available` says whether the library was found (Linux and Windows wheels keep it in
``embreex.libs``, macOS wheels in ``embreex/.dylibs``); ``NORMALKIT_EMBREE=embreex`` (read
at the first use) turns this path off. Without it :class:`normalkit.baking.rays.RayCaster`
falls back to embreex's Python API, with the same results.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
import threading

import numpy as np

# Embree 4 constants (rtcore_common.h, rtcore_buffer.h, rtcore_scene.h, rtcore_geometry.h).
_GEOMETRY_TRIANGLE = 0
_BUFFER_INDEX, _BUFFER_VERTEX = 0, 1
_FORMAT_UINT3, _FORMAT_FLOAT3 = 0x5003, 0x9003
_SCENE_FLAG_ROBUST = 4
_BUILD_QUALITY_LOW = 0  # RTCBuildQuality: Embree's Morton builder
_PROPERTY_NATIVE_RAY16 = 34  # RTCDeviceProperty: rtcIntersect16 runs natively (AVX-512)


def _find_library() -> str | None:
    if os.environ.get("NORMALKIT_EMBREE", "").lower() == "embreex":
        return None
    try:
        import embreex
    except ImportError:
        return None
    pkg = os.path.dirname(os.path.abspath(embreex.__file__))
    for folder in (pkg + ".libs", os.path.join(pkg, ".dylibs"), pkg):
        for name in sorted(glob.glob(os.path.join(folder, "*embree4*"))):
            if name.endswith((".so", ".dylib", ".dll")) or ".so." in name:
                return name
    return None


_LOCK = threading.Lock()


def _library():
    """(ctypes library, device) or None where Embree's library is not found or won't load.
    Loaded once per process; threads that ask at the same time wait for the first."""
    with _LOCK:
        return _load_library()


@functools.cache
def _load_library():
    path = _find_library()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    vp, u32, size = ctypes.c_void_p, ctypes.c_uint, ctypes.c_size_t
    for name, res, args in (
            ("rtcNewDevice", vp, [ctypes.c_char_p]),
            ("rtcGetDeviceError", ctypes.c_int, [vp]),
            ("rtcGetDeviceProperty", ctypes.c_ssize_t, [vp, ctypes.c_int]),
            ("rtcNewScene", vp, [vp]),
            ("rtcSetSceneFlags", None, [vp, ctypes.c_int]),
            ("rtcSetSceneBuildQuality", None, [vp, ctypes.c_int]),
            ("rtcSetGeometryBuildQuality", None, [vp, ctypes.c_int]),
            ("rtcNewGeometry", vp, [vp, ctypes.c_int]),
            ("rtcSetSharedGeometryBuffer", None,
             [vp, ctypes.c_int, u32, ctypes.c_int, vp, size, size, size]),
            ("rtcCommitGeometry", None, [vp]),
            ("rtcAttachGeometry", u32, [vp, vp]),
            ("rtcReleaseGeometry", None, [vp]),
            ("rtcCommitScene", None, [vp]),
            ("rtcReleaseScene", None, [vp])):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    device = lib.rtcNewDevice(None)
    if not device:
        return None
    return lib, device


def available() -> bool:
    """Whether Embree's library was found and loaded (else use embreex's Python API)."""
    return _library() is not None


@functools.cache
def packet_width() -> int:
    """Rays per packet for coherent rays: 16 where this CPU runs Embree's 16-wide packets
    natively (AVX-512), else 8. ``NORMALKIT_EMBREE_PACKET=8`` (read once) keeps 8."""
    loaded = _library()
    if loaded is None or os.environ.get("NORMALKIT_EMBREE_PACKET") == "8":
        return 8
    lib, device = loaded
    return 16 if lib.rtcGetDeviceProperty(device, _PROPERTY_NATIVE_RAY16) else 8


class Scene:
    """One triangle mesh in an Embree scene, its BVH built (committed) on construction.

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int, every index in [0, V)
    fast_build : bool
        Build with Embree's Morton builder (``RTC_BUILD_QUALITY_LOW`` for the scene and
        the mesh): about 3× faster to build (0.08 s against 0.23 s for 1.3M triangles on
        2 cores), about 10 % slower to trace; worth it below about 20 rays per triangle.
        Hits are the same, but for which of two triangles a ray meeting their shared
        edge reports (the order of traversal differs; see the module's notes).

    Embree reads the arrays in place: the scene keeps them (a padded float32 copy of the
    vertices, as Embree reads 16 bytes at the last one, and uint32 faces).
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, fast_build: bool = False):
        lib, device = _library()
        self._lib = lib
        n_v, n_f = len(vertices), len(faces)
        self._vertices = np.zeros((n_v + 1, 3), np.float32)
        self._vertices[:n_v] = vertices
        self._faces = np.ascontiguousarray(faces, dtype=np.uint32)
        self.handle = lib.rtcNewScene(device)
        if not self.handle:
            raise RuntimeError(f"Embree could not create a scene (error "
                               f"{lib.rtcGetDeviceError(device)})")
        lib.rtcSetSceneFlags(self.handle, _SCENE_FLAG_ROBUST)
        if fast_build:
            lib.rtcSetSceneBuildQuality(self.handle, _BUILD_QUALITY_LOW)
        if n_f:
            geom = lib.rtcNewGeometry(device, _GEOMETRY_TRIANGLE)
            lib.rtcSetSharedGeometryBuffer(geom, _BUFFER_VERTEX, 0, _FORMAT_FLOAT3,
                                           self._vertices.ctypes.data, 0, 12, n_v)
            lib.rtcSetSharedGeometryBuffer(geom, _BUFFER_INDEX, 0, _FORMAT_UINT3,
                                           self._faces.ctypes.data, 0, 12, n_f)
            if fast_build:
                lib.rtcSetGeometryBuildQuality(geom, _BUILD_QUALITY_LOW)
            lib.rtcCommitGeometry(geom)
            lib.rtcAttachGeometry(self.handle, geom)
            lib.rtcReleaseGeometry(geom)
        lib.rtcCommitScene(self.handle)  # the BVH build; ctypes releases the GIL
        error = lib.rtcGetDeviceError(device)
        if error:
            raise RuntimeError(f"Embree failed to build the scene (error {error}; 6 is "
                               "out of memory)")

    def intersect(self, origins, directions, tfar, prim, u, v, coherent: bool = False) -> None:
        """Closest hits into ``prim``/``u``/``v``; ``tfar`` is overwritten with hit
        distances (see :func:`normalkit.baking.packets.intersect`). Coherent rays go in
        packets of :func:`packet_width`, others in packets of 8."""
        from .packets import intersect

        intersect(self.handle, origins, directions, tfar, prim, u, v, coherent,
                  packet_width() if coherent else 8)

    def occluded(self, origins, directions, tfar, out) -> None:
        from .packets import occluded

        occluded(self.handle, origins, directions, tfar, out)

    def __del__(self):
        if getattr(self, "handle", None):
            self._lib.rtcReleaseScene(self.handle)
            self.handle = None
