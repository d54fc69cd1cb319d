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
