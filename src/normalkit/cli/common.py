"""Small helpers shared by the command modules."""

from __future__ import annotations

import argparse
import math
import sys


def log(msg: str) -> None:
    """One-line notices and warnings go to stderr; results go to stdout."""
    print(msg, file=sys.stderr)


def padding_arg(text: str) -> float:
    """argparse type for ``--padding``: a non-negative integer or 'inf'."""
    if text.lower() in ("inf", "infinite", "infinity"):
        return math.inf
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"padding must be an integer or 'inf', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("padding must be ≥ 0")
    return value


def image_output(path, bits: int | None, label: str = "-o") -> None:
    """Before any work: ``path`` is an image file name whose format holds ``bits`` (any
    depth when None)."""
    from ..images.io import check_output_path

    check_output_path(path, bits, label)


def write_images(pending) -> None:
    """Write (path, image) pairs so that all files appear together, or none: each goes
    to a temporary file first, and the renames happen only once every write succeeded."""
    import contextlib

    from ..core.atomic import atomic_path
    from ..core.interrupt import shielded
    from ..images.io import write_image

    with contextlib.ExitStack() as outer:
        with contextlib.ExitStack() as stack:
            for path, image in pending:
                write_image(stack.enter_context(atomic_path(path)), image)
            outer.enter_context(shielded())  # held while `stack` renames them all


def width_height(args) -> tuple[int, int]:
    """``--width``/``--height`` (both or neither), else ``--size`` square; in range."""
    from ..core.errors import NormalkitError
    from ..core.limits import check_size

    if (args.width is None) != (args.height is None):
        given, missing = ("--width", "--height") if args.height is None else ("--height",
                                                                               "--width")
        raise NormalkitError(f"{given} needs {missing} too (or --size N for a square)")
    if args.width is None:
        size = check_size(args.size, "--size")
        return size, size
    return check_size(args.width, "--width"), check_size(args.height, "--height")
