"""Command lines that outputs print for the user to run next (e.g. to open the viewer)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

__all__ = ["view_command"]


def view_command(asset, *, high=None, normal_map=None, views=None) -> str | None:
    """The ``normalkit view`` command for an asset (a mesh file or an output folder), with
    absolute paths, so that a report can say how to look at what it describes; None when
    ``asset`` is not a path (an in-memory mesh has nothing to serve). Options whose value
    is not a path are left out."""
    def path(p):
        return shlex.quote(str(Path(p).resolve())) if isinstance(p, str | os.PathLike) else None

    first = path(asset)
    if first is None:
        return None
    words = ["normalkit", "view", first]
    for flag, value in (("--normal-map", normal_map), ("--high", high), ("--views", views)):
        if path(value) is not None:
            words += [flag, path(value)]
    return " ".join(words)
