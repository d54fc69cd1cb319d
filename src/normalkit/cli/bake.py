"""``normalkit bake``: high-poly → low-poly normal map."""

from __future__ import annotations

import time
from pathlib import Path

from .common import (
    command,
    image_output,
    log,
    padding_arg,
    shared,
    size_options,
    width_height,
    write_images,
)


def run(args) -> int:
    """Bake HIGH's surface normals into LOW's UV space. Rays start EXTRUSION above each
    low-poly texel along its normal (or on the cage) and take the closest high-poly hit
    up to MAX-DISTANCE below the surface."""
    from ..baking.bake import bake
    from ..core.atomic import check_outputs
    from ..maps.encode import encode_normals

    out = Path(args.output)
    bits = args.bits or (16 if out.suffix.lower() == ".png" else 32)
    image_output(out, bits)
    for label, extra in (("--miss-mask", args.miss_mask), ("--mask", args.mask)):
        if extra:
            image_output(extra, 8, label)
    check_outputs({"-o": out, "--miss-mask": args.miss_mask, "--mask": args.mask},
                  {"HIGH": args.high, "LOW": args.low, "--cage": args.cage})
    width, height = width_height(args)
    t0 = time.perf_counter()
    result = bake(args.high, args.low, width=width, height=height,
                  space=args.space, samples=args.samples, extrusion=args.extrusion,
                  max_distance=args.max_distance, cage=args.cage, padding=args.padding,
                  hard_angle=args.hard_angle, threads=args.threads,
                  progress=not args.quiet, log=log)
    pending = [(out, encode_normals(result.normals, bits, directx=args.directx))]
    if args.miss_mask:
        pending.append((args.miss_mask, result.misses.astype("uint8") * 255))
    if args.mask:
        pending.append((args.mask, result.coverage.astype("uint8") * 255))
    write_images(pending)
    seconds = time.perf_counter() - t0
    print(f"{result.summary()}; wrote {out} ({bits}-bit) in {seconds:.2f} s total")
    return 0


def register(sub) -> None:
    b = command(
        sub, "bake", run, help="bake a high-poly's normals into a low-poly's UVs",
        inputs={"high": "high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)",
                "low": "low-poly mesh with UVs"},
        output="output map: .png (8/16-bit), .exr or .tif (32-bit float)")
    size_options(b, 2048, "texture")
    shared(b, space="tangent (MikkTSpace, default) or object space",
           samples={"choices": (1, 4, 16, 64),
                    "help": "stratified samples per texel (default 4)"},
           bits="8/16 (PNG) or 32 (EXR/TIFF float); default from the extension",
           directx="flip the green channel (DirectX/Unreal convention)",
           hard_angle="recompute low-poly normals, split at edges sharper than DEG (0-180)",
           mask="also write a PNG marking texels filled by a hit",
           threads="worker threads, ≥ 1 (default: all cores)", quiet="no progress bar")
    b.add_argument("--extrusion", type=float,
                   help="ray start above the low-poly surface, ≥ 0 (default 1%% of its bbox "
                        "diagonal; not with --cage)")
    b.add_argument("--max-distance", type=float,
                   help="max hit depth below the surface; 0 = unlimited "
                        "(default 2%% of the bbox diagonal)")
    b.add_argument("--cage", help="cage mesh with the low-poly's topology; rays start on it "
                                  "(replaces --extrusion: give one)")
    b.add_argument("--padding", type=padding_arg, default=16,
                   help="texels to dilate past UV islands, or 'inf' (default 16)")
    b.add_argument("--miss-mask", help="also write a PNG marking texels whose rays all missed")
