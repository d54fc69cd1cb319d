"""``normalkit bake``: high-poly → low-poly normal map."""

from __future__ import annotations

import time
from pathlib import Path

from .common import (
    command,
    image_output,
    log,
    map_options,
    map_settings,
    padding_arg,
    shared,
    size_options,
    width_height,
    write_images,
)


def run(args) -> int:
    """Bake HIGH's surface normals, and with --maps the rest of the standard set (ao,
    height, curvature, thickness, bent, position, id), into LOW's UV space, on the same
    rays. Rays start EXTRUSION above each low-poly texel along its normal (or on the
    cage) and take the closest high-poly hit up to MAX-DISTANCE below the surface; AO,
    bent normals and thickness add --ao-rays rays from each hit. With several maps, -o
    holds {map}: -o asset_{map}.png. Height, curvature and thickness are normalized to
    the range they use (or --height-range …), written into the file's metadata and the
    summary; float files (.exr) hold them raw, in mesh units. --groups bakes each
    low-poly object from its own high-poly object only (named X_low / X_high, or by
    order), so parts that lie close together do not project onto each other."""
    from ..baking.bake import bake
    from ..baking.maps import encode_map
    from ..core.atomic import check_outputs
    from ..core.errors import NormalkitError

    maps, settings = map_settings(args)
    template = args.output
    if len(maps) > 1 and "{map}" not in template:
        raise NormalkitError(f"-o {template!r} names one file for {len(maps)} maps; put "
                             "{map} in it, e.g. -o asset_{map}.png")
    outputs = {m: Path(template.replace("{map}", m)) for m in maps}
    out = outputs[maps[0]]
    bits = args.bits or (16 if out.suffix.lower() == ".png" else 32)
    for path in outputs.values():
        image_output(path, bits)
    for label, extra in (("--miss-mask", args.miss_mask), ("--mask", args.mask)):
        if extra:
            image_output(extra, 8, label)
    check_outputs({**{f"-o ({m})": p for m, p in outputs.items()},
                   "--miss-mask": args.miss_mask, "--mask": args.mask},
                  {"HIGH": args.high, "LOW": args.low, "--cage": args.cage})
    width, height = width_height(args)
    t0 = time.perf_counter()
    high, low = args.high, args.low
    if args.groups:
        from ..baking.bake import pair_parts
        from ..mesh.io import load_parts

        high, low = pair_parts(load_parts(high, log), load_parts(low, log), args.groups,
                               log)
        pairs = zip(high, low, strict=True)
        log("bake groups: " + ", ".join(f"{h.name} → {lo.name}" for h, lo in pairs))
    result = bake(high, low, width=width, height=height,
                  space=args.space, samples=args.samples, extrusion=args.extrusion,
                  max_distance=args.max_distance, cage=args.cage, padding=args.padding,
                  hard_angle=args.hard_angle, threads=args.threads,
                  progress=not args.quiet, log=log, maps=maps, map_settings=settings)
    pending = [(path, *encode_map(m, result, bits, directx=args.directx))
               for m, path in outputs.items()]
    if args.miss_mask:
        pending.append((args.miss_mask, result.misses.astype("uint8") * 255))
    if args.mask:
        pending.append((args.mask, result.coverage.astype("uint8") * 255))
    write_images(pending)
    seconds = time.perf_counter() - t0
    ranges = "".join(f", {m} range {r:.4g}" for m, r in result.ranges.items())
    wrote = ", ".join(str(p) for p in outputs.values())
    print(f"{result.summary()}{ranges}; wrote {wrote} ({bits}-bit) in {seconds:.2f} s total")
    return 0


def register(sub) -> None:
    b = command(
        sub, "bake", run, help="bake a high-poly's normals into a low-poly's UVs",
        inputs={"high": "high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)",
                "low": "low-poly mesh with UVs"},
        output="output map: .png (8/16-bit), .exr or .tif (32-bit float); with several "
               "--maps, a name with {map} in it")
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
    map_options(b)
    b.add_argument("--groups", choices=("name", "order"),
                   help="bake groups: each low-poly object bakes from its own high-poly "
                        "object only, paired by name (X_high / X_low) or by order")
