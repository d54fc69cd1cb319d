"""``normalkit compare``: render high, low and low + map; write sheets, metrics, a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import command, log, shared


def run(args) -> int:
    """Render HIGH, LOW without its map and LOW with MAP from the same orbit views under
    the same lights. Writes one sheet per view (high | low | low + map | angular-error
    heat map in degrees), metrics.json (angular error mean/median/p95 in degrees, PSNR,
    SSIM, shading cost in ns/pixel) and report.html into DIR."""
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
    c = command(
        sub, "compare", run,
        help="render high, low and low + map side by side and measure the error",
        inputs={"high": "high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)",
                "low": "low-poly mesh with the UVs the map was baked for",
                "map": "its normal map (.png, .exr, .tif, …)"},
        output="output folder (created if missing; same-named files are replaced)",
        output_metavar="DIR")
    shared(c, "space", "quiet", directx="the map has a DirectX (flipped) green channel",
           size={"default": 512,
                 "help": "render width and height in pixels, 16-32768 (default 512)"},
           samples="shading rays per pixel, a perfect square (default 4: a 2×2 grid)",
           threads="render threads (default: all cores)")
    c.add_argument("--views", type=int, default=4, help="orbit views (default 4)")
    c.add_argument("--heat-max", type=_positive_float, metavar="DEG",
                   help="top of the heat-map scale in degrees (default: automatic)")
