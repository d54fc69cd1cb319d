"""``normalkit`` command line: a thin layer over the Python API.

Every command validates its arguments, calls the same function a Python user would,
writes its outputs atomically and ends with a one-line summary. Bad input prints one
``normalkit: error: …`` line and exits with code 2.

Commands live in ``normalkit.cli.<name>``, each with ``register(subparsers)``;
add a module to ``COMMAND_MODULES`` to add a command. ``batch`` is the exception: it
runs command lines, so it lives above the CLI, in ``normalkit.batch.command``. Options
that several commands share are declared once in ``normalkit.cli.common``. ``demo`` is
also what ``make demo`` runs.

May import: every other subpackage (the top layer).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import sys
import warnings

from ..core import interrupt
from ..core.errors import NormalkitError

COMMAND_MODULES = (
    "bake",
    "tangents",
    "demo",
    "maps",
    "export",
    "compare",
    "render",
    "reduce",
    "metrics",
    "reconstruct",
    "estimate",
    "view",
    # Lives in normalkit.batch, which sits above the CLI: its jobs are command lines.
    "normalkit.batch.command",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="normalkit",
        description="Normal maps: bake high-poly detail into low-poly UV space "
                    "(MikkTSpace tangent space or object space), exactly as Blender decodes it.")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        module = name if "." in name else f"normalkit.cli.{name}"
        importlib.import_module(module).register(sub)
    return p


#: What to do about an operating-system error, by errno.
_OS_FIXES = {
    errno.ENOSPC: "free some space or choose another folder",
    errno.EDQUOT: "free some space or choose another folder",
    errno.EACCES: "check the permissions or choose another folder",
    errno.EPERM: "check the permissions or choose another folder",
    errno.EROFS: "it is on a read-only file system; choose another folder",
    errno.ENOENT: "check that the folder exists and is a normal folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder; give a file name",
    errno.ENAMETOOLONG: "use a shorter name",
}


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: the path, what the system said, and the fix."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = f"'{exc.filename}': " if exc.filename else ""
    fix = _OS_FIXES.get(exc.errno)
    return f"{where}{what.rstrip('.')}" + (f"; {fix}" if fix else "")


def describe_memory_error(exc: MemoryError) -> str:
    """One line for a MemoryError (numpy's names the size it could not allocate)."""
    what = str(exc).split(" for an array")[0].strip() or "an allocation failed"
    return (f"out of memory: {what[0].lower()}{what[1:]}; use a smaller --size, fewer "
            "threads or samples, or free some memory")


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings (NumPy, trimesh, …) as one ``warning:`` line, without the source
    file, line number and code line Python prints by default."""
    text = " ".join(str(message).split())
    print(f"warning: {text}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_line
        return _run(args)


def _run(args) -> int:
    try:
        with interrupt.handling():  # SIGINT / SIGTERM stop at a safe point (interrupt.py)
            return args.func(args)
    except NormalkitError as exc:
        print(f"normalkit: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        print(f"normalkit: error: {describe_memory_error(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"normalkit: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("normalkit: interrupted", file=sys.stderr)
        return interrupt.exit_code(exc)  # 130 for SIGINT, 143 for SIGTERM


def entry() -> None:
    """The ``normalkit`` console script: :func:`main` with SIGINT and SIGTERM handled
    from the start to the end of the process.

    After an interrupt (once :func:`main` has stopped the workers and removed the
    temporary files) the process ends at once with ``os._exit``: the interpreter's
    shutdown would run with native thread pools (Embree's, Numba's) still alive, and a
    further signal during it would kill Python by default. After a run that was not
    interrupted, further signals are ignored and the process ends through
    :func:`_finish`.
    """
    import os

    interrupt.install()
    try:
        code = main()
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code
    except KeyboardInterrupt as exc:  # a signal while the parser is built, or at the end
        print("normalkit: interrupted", file=sys.stderr)
        code = interrupt.exit_code(exc)
    interrupt.ignore()
    if interrupt.requested():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code if isinstance(code, int) else interrupt.exit_code())
    _finish(code)


def _finish(code) -> None:
    """End the console script: exit handlers run and streams are flushed, then the process
    exits without the interpreter's teardown, which only frees memory the operating
    system reclaims anyway, object by object: with Numba loaded (its LLVM objects) that
    takes about 0.2 s, a tenth of a 2048² bake. Every output is complete by now (written
    through atomic renames). Where threads other than daemons still run, or the code is
    not a number, Python exits normally."""
    import atexit
    import os
    import threading

    if not (code is None or isinstance(code, int)) or any(
            t is not threading.main_thread() and not t.daemon and t.is_alive()
            for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # Ray's shutdown, weakref finalizers, logging's flush
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
