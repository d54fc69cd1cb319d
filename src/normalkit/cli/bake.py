"""``normalkit bake``: high-poly → low-poly normal map."""

from __future__ import annotations

import time
from pathlib import Path

from .common import image_output, log, padding_arg, width_height, write_images


def run(args) -> int:
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
    b = sub.add_parser(
        "bake", help="bake a high-poly's normals into a low-poly's UVs",
        description="Bake HIGH's surface normals into LOW's UV space. Rays start "
                    "EXTRUSION above each low-poly texel along its normal (or on the cage) "
                    "and take the closest high-poly hit up to MAX-DISTANCE below the surface.")
    b.add_argument("high", help="high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)")
    b.add_argument("low", help="low-poly mesh with UVs")
    b.add_argument("-o", "--output", required=True,
                   help="output map: .png (8/16-bit), .exr or .tif (32-bit float)")
    b.add_argument("--size", type=int, default=2048,
                   help="square texture size, 16-32768 (default 2048)")
    b.add_argument("--width", type=int, help="texture width, with --height (instead of --size)")
    b.add_argument("--height", type=int, help="texture height, with --width (instead of --size)")
    b.add_argument("--space", choices=("tangent", "object"), default="tangent",
                   help="tangent (MikkTSpace, default) or object space")
    b.add_argument("--samples", type=int, choices=(1, 4, 16, 64), default=4,
                   help="stratified samples per texel (default 4)")
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
    b.add_argument("--bits", type=int, choices=(8, 16, 32),
                   help="8/16 (PNG) or 32 (EXR/TIFF float); default from the extension")
    b.add_argument("--directx", action="store_true",
                   help="flip the green channel (DirectX/Unreal convention)")
    b.add_argument("--hard-angle", type=float, metavar="DEG",
                   help="recompute low-poly normals, split at edges sharper than DEG (0-180)")
    b.add_argument("--miss-mask", help="also write a PNG marking texels whose rays all missed")
    b.add_argument("--mask", help="also write a PNG marking texels filled by a hit")
    b.add_argument("--threads", type=int, help="worker threads, ≥ 1 (default: all cores)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=run)
