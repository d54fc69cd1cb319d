"""The one place normalkit configures Numba for its compiled per-texel and per-ray kernels.

Kernels are compiled on first use and cached on disk (``cache=True``: next to the module,
or in ``NUMBA_CACHE_DIR``), so only the first run after an install pays for compilation.
They release the GIL (``nogil=True``), so the baker's worker threads run them in parallel
with each other and with Embree. Arithmetic is IEEE (no fast-math), so results do not
depend on instruction reordering.
"""

from __future__ import annotations

import numba

__all__ = ["kernel", "inline"]


def kernel(fn):
    """Compile a loop kernel called from Python (cached, GIL released)."""
    return _njit(fn)


def inline(fn):
    """Compile a small scalar helper that kernels call (inlined into them)."""
    return _njit(fn, inline="always")


def _njit(fn, **options):
    try:
        return numba.njit(cache=True, nogil=True, error_model="numpy", **options)(fn)
    except RuntimeError:  # no writable cache location (read-only install, no home):
        # compile in every process instead
        return numba.njit(nogil=True, error_model="numpy", **options)(fn)
