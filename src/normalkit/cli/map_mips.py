"""``normalkit map mips``: mip chain with renormalized normals, optional Toksvig roughness."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from ..core.plural import count
from .common import command, shared
from .map_convert import depth_name, output_bits, read_map, texel_bits, write_map

#: Names checked before any work: a 32768² map has 16 levels.
MAX_LEVELS = 16


def run(args) -> int:
    """Write every mip level of a normal map into a folder as STEM_mipK.EXT: a box
    filter of the unit vectors over the level-0 texels, then normalized. --roughness
    also writes STEM_roughness_mipK.EXT: perceptual (glTF/Blender) roughness from the
    averaged normal's length, roughness = (base⁴ + 2(1 − r)/r)^¼ (Toksvig)."""
    import numpy as np

    from ..core.atomic import atomic_folder, check_outputs
    from ..images.io import IMAGE_FORMATS, bits_to_extension, write_image
    from ..maps.mips import average_chain, toksvig_roughness

    out_dir = Path(args.output)
    src = Path(args.map)
    if args.base_roughness is not None and not args.roughness:
        raise NormalkitError("--base-roughness needs --roughness")
    if args.base_roughness is not None and not 0 <= args.base_roughness <= 1:
        raise NormalkitError(f"--base-roughness must be in [0, 1], got {args.base_roughness:g}")
    ext = args.format or (src.suffix.lower() if src.suffix.lower() in IMAGE_FORMATS
                          else ".png")
    if not ext.startswith("."):
        ext = "." + ext
    if args.bits is not None:
        bits_to_extension(args.bits, f"x{ext}")
    stem = src.stem
    names = [f"{stem}_mip{k}{ext}" for k in range(MAX_LEVELS)]
    if args.roughness:
        names += [f"{stem}_roughness_mip{k}{ext}" for k in range(MAX_LEVELS)]
    check_outputs([("output", n) for n in names], {"MAP": src}, folder=out_dir)
    t0 = time.perf_counter()
    normals, texels = read_map(src, directx=args.directx)
    bits = output_bits(f"x{ext}", args.bits, texel_bits(texels))
    means = average_chain(normals, levels=args.levels)
    with atomic_folder(out_dir, {"MAP": src}) as stage:
        for k, m in enumerate(means):
            length = np.sqrt(np.einsum("ijk,ijk->ij", m, m))[..., None]
            n = np.divide(m, length, out=np.zeros_like(m), where=length > 0)
            write_map(stage / f"{stem}_mip{k}{ext}", n, bits, directx=args.directx)
            if args.roughness:
                r = toksvig_roughness(m, base_roughness=args.base_roughness or 0.0)
                if bits == 32:
                    write_image(stage / f"{stem}_roughness_mip{k}{ext}", r)
                else:
                    top = 255 if bits == 8 else 65535
                    img = np.rint(r * top).astype(np.uint8 if bits == 8 else np.uint16)
                    write_image(stage / f"{stem}_roughness_mip{k}{ext}", img)
    last = means[-1].shape
    extra = " and Toksvig roughness" if args.roughness else ""
    print(f"{src} → {out_dir}/: {count(len(means), 'level')} "
          f"({normals.shape[1]}x{normals.shape[0]} "
          f"… {last[1]}x{last[0]}), {depth_name(bits)} {ext[1:].upper()}{extra} "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


def register(sub) -> None:
    p = command(
        sub, "mips", run, help="mip chain with renormalized normals (+ Toksvig roughness)",
        inputs={"map": "normal map (tangent or object space)"},
        output="output folder (created if needed)")
    shared(p, "bits", directx="input and outputs have DirectX (−Y) green")
    p.add_argument("--levels", type=int, help="number of levels (default: down to 1x1)")
    p.add_argument("--format", choices=(".png", ".exr", ".tif"),
                   help="file format (default: the input's)")
    rough = p.add_argument_group("roughness")
    rough.add_argument("--roughness", action="store_true", help="also write roughness maps")
    rough.add_argument("--base-roughness", type=float,
                       help="the material's roughness at level 0, 0..1 (default 0)")
