"""normalkit.core.jit: cached kernels, and a working fallback where nothing can be cached."""

import numpy as np
from numba.core import caching

from normalkit.core.jit import kernel


def _total(a):
    s = 0.0
    for x in a:
        s += x
    return s


def test_kernels_are_cached_and_release_the_gil():
    k = kernel(_total)
    assert k.targetoptions["nogil"]
    assert isinstance(k._cache, caching.FunctionCache)
    assert k(np.arange(5.0)) == 10.0


def test_without_a_writable_cache_location_kernels_still_compile(monkeypatch):
    # A read-only install with no writable home: numba finds no cache locator.
    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])
    k = kernel(_total)
    assert not isinstance(k._cache, caching.FunctionCache)
    assert k(np.arange(4.0)) == 6.0
