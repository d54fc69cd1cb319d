"""``normalkit`` command line: a thin layer over the Python API.

Every command validates its arguments, calls the same function a Python user would,
writes its outputs atomically and ends with a one-line summary. Bad input prints one
``normalkit: error: …`` line and exits with code 2.

Commands live in ``normalkit.commands.<name>``, each with ``register(subparsers)``;
add a module to ``COMMAND_MODULES`` to add a command.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import NormalkitError

COMMAND_MODULES = (
    "bake",
    "tangents",
    "demo",
    "maps",
    "export",
    "compare",
    "render",
    "reduce",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="normalkit",
        description="Normal maps: bake high-poly detail into low-poly UV space "
                    "(MikkTSpace tangent space or object space), exactly as Blender decodes it.")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"normalkit.commands.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except NormalkitError as exc:
        print(f"normalkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("normalkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
