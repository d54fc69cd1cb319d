"""``normalkit compare``: render high, low and low + map; write sheets, metrics, a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import log


def run(args) -> int:
    from ..rendering.compare import compare, summary

    result = compare(args.high, args.low, args.map, Path(args.output), space=args.space,
                     directx=args.directx, views=args.views, size=args.size,
                     samples=args.samples, heat_max=args.heat_max, threads=args.threads,
                     progress=not args.quiet, log=log)
    print(summary(result, Path(args.output)))
    return 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of degrees, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive, finite number of degrees")
    return value


def register(sub) -> None:
    c = sub.add_parser(
        "compare", help="render high, low and low + map side by side and measure the error",
        description="Render HIGH, LOW without its map and LOW with MAP from the same orbit "
                    "views under the same lights. Writes one sheet per view (high | low | "
                    "low + map | angular-error heat map in degrees), metrics.json (angular "
                    "error mean/median/p95 in degrees, PSNR, SSIM, shading cost in "
                    "ns/pixel) and report.html into DIR.")
    c.add_argument("high", help="high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)")
    c.add_argument("low", help="low-poly mesh with the UVs the map was baked for")
    c.add_argument("map", help="its normal map (.png, .exr, .tif, …)")
    c.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output folder (created if missing; same-named files are replaced)")
    c.add_argument("--space", choices=("tangent", "object"), default="tangent",
                   help="the map's space: tangent (MikkTSpace, default) or object")
    c.add_argument("--directx", action="store_true",
                   help="the map has a DirectX (flipped) green channel")
    c.add_argument("--views", type=int, default=4, help="orbit views (default 4)")
    c.add_argument("--size", type=int, default=512,
                   help="render width and height in pixels, 16-32768 (default 512)")
    c.add_argument("--samples", type=int, default=4,
                   help="shading rays per pixel, a perfect square (default 4: a 2×2 grid)")
    c.add_argument("--heat-max", type=_positive_float, metavar="DEG",
                   help="top of the heat-map scale in degrees (default: automatic)")
    c.add_argument("--threads", type=int, help="render threads (default: all cores)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=run)
