"""Atomic output: write to a temporary file beside the target, rename on success.

A failed or interrupted command therefore never leaves a partial output file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import NormalkitError


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any work, if ``path`` cannot be created."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise NormalkitError(f"cannot write '{path}': it is a directory; give a file name")
    if not parent.is_dir():
        raise NormalkitError(f"cannot write '{path}': folder '{parent}' does not exist")
    if not os.access(parent, os.W_OK):
        raise NormalkitError(f"cannot write '{path}': folder '{parent}' is not writable")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path with the target's suffix; rename it onto ``path`` on success."""
    path = check_writable(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
