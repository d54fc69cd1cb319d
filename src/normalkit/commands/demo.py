"""``normalkit demo``: the bundled procedural example (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path

from .common import log


def run(args) -> int:
    from ..demo import run_demo

    run_demo(Path(args.output), size=args.size, log=log)
    return 0


def register(sub) -> None:
    d = sub.add_parser("demo", help="generate a procedural example and bake it into a folder")
    d.add_argument("-o", "--output", default="out", help="output folder (default out/)")
    d.add_argument("--size", type=int, default=1024, help="texture size (default 1024)")
    d.set_defaults(func=run)
