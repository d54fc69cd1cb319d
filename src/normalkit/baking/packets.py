"""Compiled kernels that trace rays against an Embree scene in packets of 8 or 16.

:func:`intersect` and :func:`occluded` call Embree 4's ``rtcIntersect8``/``16`` and
``rtcOccluded8`` (:mod:`normalkit.core.jit` kernels, the GIL released). Numba links them
against the library :mod:`normalkit.baking.embree` loads, which
:func:`llvmlite.binding.load_library_permanently` makes visible to its JIT when this
module is imported. The scenes themselves are :class:`normalkit.baking.embree.Scene`;
import this module only where :func:`normalkit.baking.embree.available` is true.

Packets of 16 are for coherent rays on CPUs where Embree traces them natively (AVX-512,
:func:`normalkit.baking.embree.packet_width`): a bake's 16 rays of a 4 × 4 block of
texels walk the BVH together, 15-25 % more rays per second than two packets of 8.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np

from ..core.jit import inline, kernel
from . import embree

_INVALID = 0xFFFFFFFF  # RTC_INVALID_GEOMETRY_ID
_QUERY_FLAG_COHERENT = 1 << 16  # RTCRayQueryFlags (rtcore_common.h)
_FEATURE_FLAG_ALL = 0xFFFFFFFF  # RTCFeatureFlags

#: A packet of W lanes (8 or 16): RTCRayHitW is structure-of-arrays, one row of W lanes
#: per field. Rows 0-11 are the ray (org xyz, tnear, dir xyz, time, tfar, mask, id,
#: flags), 12-20 the hit (Ng xyz, u, v, primID, geomID, instID, instPrimID); row 24 holds
#: the valid mask (−1 per active lane), kept in the same 64-byte-aligned block (Embree
#: wants W × 4 bytes). Rows 25-26 hold an RTCIntersectArguments (query flags, feature
#: mask, then null context, filter and intersect pointers; 32 bytes, 40 where Embree is
#: built with RTC_MIN_WIDTH, all zero beyond the first two fields).
_MAX_W = 16
_ROWS = 27
_ORG, _TNEAR, _DIR, _TIME, _TFAR, _MASK, _ID, _FLAGS = 0, 3, 4, 7, 8, 9, 10, 11
_U, _V, _PRIM, _GEOM, _INST = 15, 16, 17, 18, 19
_VALID = 24
_ARGS = 25


def _link() -> None:
    path = embree._find_library()
    if path is not None and embree.available():
        llvm.load_library_permanently(path)  # the kernels' rtcIntersect8/16, rtcOccluded8


_link()


def _externals():
    from numba import types

    ptr = types.intp  # pointers travel as integers (the same registers in the C ABI)
    sig = types.void(ptr, ptr, ptr, ptr)
    return (types.ExternalFunction("rtcIntersect8", sig),
            types.ExternalFunction("rtcIntersect16", sig),
            types.ExternalFunction("rtcOccluded8", sig))


_rtc_intersect8, _rtc_intersect16, _rtc_occluded8 = _externals()


@inline
def _packet(query_flags, width):
    """A zeroed, 64-byte-aligned packet block of ``width`` lanes: float32 and uint32
    views of (_ROWS, width), the block's address, its valid mask's and its intersect
    arguments' (``query_flags``)."""
    raw = np.zeros(_ROWS * _MAX_W + 16, np.float32)
    start = ((64 - raw.ctypes.data % 64) % 64) // 4
    flat = raw[start:start + _ROWS * width]
    base = flat.ctypes.data
    w = flat.view(np.uint32).reshape(_ROWS, width)
    w[_ARGS, 0] = query_flags
    w[_ARGS, 1] = _FEATURE_FLAG_ALL
    return (flat.reshape(_ROWS, width), w, base, base + _VALID * width * 4,
            base + _ARGS * width * 4)


@inline
def _load(f, w, origins, directions, tfar, start, hit):
    """Lanes 0..m-1 get rays start.., the rest are switched off; returns m."""
    width = f.shape[1]
    m = min(width, origins.shape[0] - start)
    for k in range(width):
        if k < m:
            i = start + k
            for c in range(3):
                f[_ORG + c, k] = origins[i, c]
                f[_DIR + c, k] = directions[i, c]
            f[_TNEAR, k] = 0.0
            f[_TIME, k] = 0.0
            f[_TFAR, k] = tfar[i]
            w[_MASK, k] = _INVALID
            w[_ID, k] = 0
            w[_FLAGS, k] = 0
            if hit:
                w[_PRIM, k] = _INVALID
                w[_GEOM, k] = _INVALID
                w[_INST, k] = _INVALID
            w[_VALID, k] = _INVALID
        else:
            w[_VALID, k] = 0
    return m


@kernel
def intersect(scene, origins, directions, tfar, prim, u, v, coherent, width):
    """Closest hits of N rays against ``scene`` (an ``RTCScene`` address).

    origins, directions : (N, 3) float32; tfar : (N,) float32, overwritten with the hit
    distance (left as is on a miss). Writes prim (N,) int32 (−1 for a miss) and the
    barycentrics u, v (N,) float32 (0 for a miss). ``coherent``: Embree's coherent packet
    traversal, for rays in order of neighbourhood (see the module's notes); ``width``:
    rays per packet, 8 or 16.
    """
    f, w, base, valid, args = _packet(_QUERY_FLAG_COHERENT if coherent else 0, width)
    for start in range(0, origins.shape[0], width):
        m = _load(f, w, origins, directions, tfar, start, True)
        if width == 16:
            _rtc_intersect16(valid, scene, base, args)
        else:
            _rtc_intersect8(valid, scene, base, args)
        for k in range(m):
            i = start + k
            if w[_GEOM, k] == _INVALID:
                prim[i] = -1
                u[i] = 0.0
                v[i] = 0.0
            else:
                prim[i] = np.int32(w[_PRIM, k])
                u[i] = f[_U, k]
                v[i] = f[_V, k]
                tfar[i] = f[_TFAR, k]


@kernel
def occluded(scene, origins, directions, tfar, out):
    """Whether each of N rays hits anything within [0, tfar]: ``out`` (N,) bool (packets
    of 8)."""
    f, w, base, valid, args = _packet(0, 8)
    for start in range(0, origins.shape[0], 8):
        m = _load(f, w, origins, directions, tfar, start, False)
        _rtc_occluded8(valid, scene, base, args)
        for k in range(m):
            out[start + k] = f[_TFAR, k] < 0  # Embree sets tfar to −inf on occlusion
