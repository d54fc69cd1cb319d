"""Safe output: every check before any work, nothing partial after a failure, and never
an input overwritten.

Contract
--------
* :func:`check_outputs` runs before any work. It refuses, with a
  :class:`~normalkit.core.errors.NormalkitError` naming both paths, an output that resolves
  to one of the command's inputs (the same path, a symbolic link to it or a hard link
  of it) and two outputs that share a path. It then proves that every output can be
  created by creating (and removing) a temporary file beside it: permission bits alone
  do not tell (root passes ``os.access`` on ``/proc``, a read-only mount says yes).
* :func:`atomic_path` writes one file: a temporary file beside the target, renamed onto
  it on success and removed on any failure or interruption.
* :func:`atomic_folder` builds a folder of outputs in a hidden ``.NAME.*.partial``
  folder beside it and moves the files in at the end: a new folder in one rename, an
  existing one file by file (each rename atomic; files of other names are left alone).
  A failure removes the staging folder, so the target folder never holds part of a run.
  Before it moves anything it checks again that no file it would replace is an input.
* Renames onto the targets run under :func:`normalkit.core.interrupt.shielded`: Ctrl-C or
  SIGTERM during them takes effect after the last one.

Cost: a few system calls per output path.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import interrupt
from .errors import NormalkitError

PathLike = str | os.PathLike

__all__ = ["atomic_folder", "atomic_path", "check_folder", "check_outputs", "check_writable",
           "same_file"]


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` name one file: equal resolved paths (symbolic links
    followed) or, both existing, the same inode (hard links)."""
    a, b = Path(a), Path(b)
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop, an unreadable folder
        pass
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _probe(folder: Path, what: Path) -> None:
    """Create and remove a temporary file in ``folder``: the only reliable writability test."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".normalkit.", suffix=".probe", dir=folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NormalkitError(f"cannot write '{what}': cannot create files in '{folder}' "
                             f"({reason}); choose another folder") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_writable(path: PathLike) -> Path:
    """Fail early, before any work, if the file ``path`` cannot be created."""
    path = Path(path)
    parent = _parent(path)
    if path.is_dir():
        raise NormalkitError(f"cannot write '{path}': it is a folder; give a file name")
    if not parent.is_dir():
        raise NormalkitError(f"cannot write '{path}': folder '{parent}' does not exist")
    _probe(parent, path)
    return path


def check_folder(outdir: PathLike) -> Path:
    """Fail early if the output folder ``outdir`` cannot be created or written into."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise NormalkitError(f"cannot write into '{outdir}': it is a file; give a folder name")
    parent = _parent(outdir)
    if not parent.is_dir():
        raise NormalkitError(f"cannot create '{outdir}': folder '{parent}' does not exist")
    _probe(parent, outdir)  # the staging folder goes beside it
    if outdir.is_dir():
        _probe(outdir, outdir)
    return outdir


def _named(items) -> list[tuple[str, Path]]:
    if isinstance(items, Mapping):
        items = items.items()
    return [(label, Path(p)) for label, p in items if p is not None]


def _refuse_inputs(out_label: str, out: Path, inputs: list[tuple[str, Path]],
                   fix: str = "give another output name") -> None:
    for in_label, inp in inputs:
        if same_file(out, inp):
            raise NormalkitError(
                f"{out_label} '{out}' is {in_label} '{inp}': normalkit never overwrites an "
                f"input; {fix}")


def check_outputs(outputs: Mapping[str, PathLike | None] | Iterable,
                  inputs: Mapping[str, PathLike | None] | Iterable = (), *,
                  folder: PathLike | None = None,
                  fix: str = "give another output name") -> list[Path]:
    """Check a command's output files before any work.

    Parameters
    ----------
    outputs : {label: path}
        The files the command will write (None entries are skipped). With ``folder``,
        paths are names inside that folder. Labels name them in messages ("-o",
        "--mask").
    inputs : {label: path}
        The files the command reads (None entries skipped).
    folder : path, optional
        The output folder the files go into (checked with :func:`check_folder`).
    fix : str
        What the message tells the user to do when an output is an input.

    Returns the output paths. Raises NormalkitError when an output is an input, two
    outputs share a path, or an output cannot be created.
    """
    ins = _named(inputs)
    outs = _named(outputs)
    if folder is not None:
        folder = check_folder(folder)
        outs = [(label, folder / p) for label, p in outs]
    for k, (label, out) in enumerate(outs):
        _refuse_inputs(label, out, ins, fix)
        for other_label, other in outs[:k]:
            if same_file(out, other):
                raise NormalkitError(f"{other_label} and {label} are both '{out}'; give each "
                                     "output its own name")
    if folder is None:
        for _, out in outs:
            check_writable(out)
    else:
        for _, out in outs:
            if out.is_dir():
                raise NormalkitError(f"cannot write '{out}': it is a folder; move it away "
                                     "or choose another output folder")
    return [out for _, out in outs]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: PathLike):
    """Yield a temporary path with the target's suffix; rename it onto ``path`` on success."""
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix,
                                   dir=_parent(path))
    except OSError as exc:
        raise NormalkitError(f"cannot write '{path}': {exc.strerror or exc}; choose another "
                             "folder") from None
    os.close(fd)
    try:
        yield tmp
        with interrupt.shielded():  # a signal here must not leave the file half-placed
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(outdir: PathLike, inputs: Mapping[str, PathLike | None] | Iterable = ()):
    """Yield a staging folder; on success move its files into ``outdir``.

    ``outdir`` is created if missing (in one rename of the staging folder). Into an
    existing folder, same-named files are replaced, each by an atomic rename, in the
    order: images and data first, ``.json`` next, ``.html`` last (a report's links
    exist by the time it appears); other files are left alone. A file that would
    replace one of ``inputs`` is refused before anything moves. On any failure or
    interruption the staging folder is removed and ``outdir`` is untouched.
    """
    outdir = check_folder(outdir)
    ins = _named(inputs)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{outdir.name or 'out'}.", suffix=".partial",
                                      dir=_parent(outdir)))
    except OSError as exc:
        raise NormalkitError(f"cannot create a work folder beside '{outdir}': "
                             f"{exc.strerror or exc}; choose another folder") from None
    try:
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp's 0700 would become outdir's mode
        yield stage
        with interrupt.shielded():  # a signal must not stop the moves halfway
            _commit(stage, outdir, ins)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


_COMMIT_ORDER = {".json": 1, ".html": 2}


def _commit(stage: Path, outdir: Path, inputs: list[tuple[str, Path]]) -> None:
    items = sorted(stage.iterdir(), key=lambda f: (_COMMIT_ORDER.get(f.suffix, 0), f.name))
    if not outdir.exists():
        with contextlib.suppress(OSError):  # lost a race with another creator: go on
            os.rename(stage, outdir)
            return
        outdir.mkdir(exist_ok=True)
    for item in items:
        dest = outdir / item.name
        _refuse_inputs("output", dest, inputs)
        if item.is_dir() and dest.is_dir():
            for label, inp in inputs:
                if inp.resolve().is_relative_to(dest.resolve()):
                    raise NormalkitError(f"output folder '{dest}' holds {label} '{inp}': "
                                         "normalkit never deletes an input; give another "
                                         "output folder")
        if dest.is_dir() and not item.is_dir():
            raise NormalkitError(f"cannot write '{dest}': it is a folder; move it away or "
                                 "choose another output folder")
    for item in items:
        dest = outdir / item.name
        if item.is_dir() and dest.is_dir():
            shutil.rmtree(dest)
        os.replace(item, dest)
    stage.rmdir()
