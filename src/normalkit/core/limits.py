"""Limits every command shares: texture and image sizes, and the memory a job may take.

* Sizes (texture width/height in ``bake`` and ``reduce``, image width/height in
  ``render`` and ``compare``) are whole numbers in [``MIN_SIZE``, ``MAX_SIZE``].
* :func:`check_memory` refuses, before the work, a job whose estimated peak memory is more
  than the memory this process can get: the smallest of the system's available memory,
  the cgroup's (container's) limit, the process's address-space limit (``ulimit -v``)
  and ``NORMALKIT_MEMORY_LIMIT`` (bytes) when set.
  The estimates are the callers' (``bake.peak_bytes``, ``render.peak_bytes``), measured
  and rounded up.
"""

from __future__ import annotations

import math
import os
import resource
from pathlib import Path

import numpy as np

from .errors import NormalkitError

MIN_SIZE = 16
MAX_SIZE = 32768


def check_size(value, name: str = "size") -> int:
    """``value`` as an int in [MIN_SIZE, MAX_SIZE]; NormalkitError naming ``name`` otherwise."""
    whole = isinstance(value, (int, np.integer)) or (
        isinstance(value, (float, np.floating)) and math.isfinite(value)
        and float(value).is_integer())
    if isinstance(value, bool) or not whole or not MIN_SIZE <= int(value) <= MAX_SIZE:
        raise NormalkitError(f"{name} must be a whole number of pixels from {MIN_SIZE} to "
                             f"{MAX_SIZE}, got {value!r}")
    return int(value)


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        lim, used = _read_int(limit), _read_int(usage)
        if lim is not None and used is not None and lim < 1 << 60:
            return max(lim - used, 0)
    return None


def _address_space_available() -> int | None:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(soft - int(line.split()[1]) * 1024, 0)
    except (OSError, ValueError, IndexError):
        pass
    return soft


def available_memory() -> int | None:
    """Bytes this process can still allocate (None where the system does not say)."""
    values = [v for v in (_meminfo_available(), _cgroup_available(),
                          _address_space_available()) if v is not None]
    return min(values) if values else None


def gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_memory(need: int, what: str, fix: str) -> None:
    """Refuse, before any work, a job that needs ``need`` bytes at its peak when less is
    available: "WHAT needs about X of memory, but only Y is available; FIX"."""
    have = available_memory()
    ceiling = os.environ.get("NORMALKIT_MEMORY_LIMIT", "")  # bytes: jobs sharing a machine
    if ceiling.isdigit():
        have = int(ceiling) if have is None else min(have, int(ceiling))
    if have is not None and need > have:
        raise NormalkitError(f"{what} needs about {gib(need)} of memory, but only {gib(have)} "
                             f"is available; {fix}")
