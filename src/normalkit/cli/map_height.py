"""``normalkit map height2normal`` and ``normalkit map normal2height``."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log, shared
from .map_convert import depth_name, output_bits, read_map, write_map


def read_height(path):
    """A gray image as float32 (H, W): integers scaled to [0, 1], floats as stored."""
    import numpy as np

    from ..images.io import read_image

    img = read_image(path)
    if img.ndim == 3:
        rgb = img[:, :, :3] if img.shape[2] >= 3 else img[:, :, :1]
        if not (rgb == rgb[:, :, :1]).all():
            raise NormalkitError(f"'{path}' is a colour image; a height map must be gray "
                                 "(is it a normal map? see normalkit map info)")
        img = rgb[:, :, 0]
    if img.dtype in (np.uint8, np.uint16):
        return img.astype(np.float32) / np.float32(np.iinfo(img.dtype).max)
    if img.dtype.kind != "f":
        raise NormalkitError(f"'{path}': cannot read {img.dtype} heights; give 8/16-bit "
                             "or float data")
    return img.astype(np.float32)


def run_height2normal(args) -> int:
    """Normals of a gray height map: n = normalize(−s·∂h/∂x, −s·∂h/∂y, 1) with y up.
    8/16-bit heights are read as 0..1, floats as stored; STRENGTH is the height of 1.0
    in texels."""
    import numpy as np

    from ..core.atomic import check_outputs
    from ..maps.height import height_to_normal

    out = Path(args.output)
    bits = output_bits(out, args.bits, 16)
    check_outputs({"-o": out}, {"HEIGHT": args.height})
    t0 = time.perf_counter()
    h = read_height(args.height)
    n = height_to_normal(h, strength=args.strength, filter=args.filter,
                         mode="wrap" if args.wrap else "clamp")
    write_map(out, n, bits, directx=args.directx)
    tilt = np.degrees(np.arccos(np.clip(n[..., 2], -1.0, 1.0)))
    print(f"{args.height} → {out}: {h.shape[1]}x{h.shape[0]}, {depth_name(bits)}, "
          f"{args.filter}, {'wrapped' if args.wrap else 'clamped'} borders, strength "
          f"{args.strength:g}; tilt median {np.median(tilt):.2f}°, max {tilt.max():.2f}° "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


def run_normal2height(args) -> int:
    """Integrate a tangent-space normal map into heights by a least-squares Poisson
    solve: DCT (free borders) or FFT (periodic, tileable). EXR/TIFF outputs hold heights
    in texels (mean 0); PNG outputs are stretched to the full range, which the summary
    prints. Warns when the map looks object-space or DirectX green (as normalkit map
    info would say)."""
    import numpy as np

    from ..core.atomic import check_outputs
    from ..images.io import write_image
    from ..maps.height import normal_to_height

    out = Path(args.output)
    check_outputs({"-o": out}, {"NORMAL": args.normal})
    suffix = out.suffix.lower()
    bits = output_bits(out, args.bits, 32)
    t0 = time.perf_counter()
    n, _ = read_map(args.normal, directx=args.directx, space="tangent")
    h = normal_to_height(n, method=args.method, strength=args.strength, log=log)
    lo, hi = float(h.min()), float(h.max())
    if bits == 32:
        write_image(out, h)
        stored = "heights in texels (mean 0)"
    else:
        top = 255 if bits == 8 else 65535
        scaled = (h - lo) / (hi - lo) if hi > lo else np.zeros_like(h)
        write_image(out, np.rint(scaled * top).astype(np.uint8 if bits == 8 else np.uint16))
        stored = f"0..{top} = {lo:.4g}..{hi:.4g} texels"
    print(f"{args.normal} → {out}: {h.shape[1]}x{h.shape[0]}, {args.method.upper()} "
          f"({'periodic' if args.method == 'fft' else 'free'} borders), range "
          f"{hi - lo:.4g} texels; {depth_name(bits)} {suffix[1:].upper()}: {stored} "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


def register(sub) -> None:
    p = command(
        sub, "height2normal", run_height2normal,
        help="tangent-space normal map from a height map",
        inputs={"height": "gray height map (.png, .exr, .tif)"}, output="output normal map")
    shared(p, bits="output depth (default 16 for PNG, 32 for EXR)",
           directx="write DirectX (−Y) green")
    p.add_argument("--strength", type=float, default=1.0,
                   help="height of 1.0 (white) in texels (default 1)")
    p.add_argument("--filter", choices=("sobel", "scharr", "central"), default="sobel",
                   help="derivative filter (default sobel)")
    p.add_argument("--wrap", action="store_true",
                   help="tileable: borders read the opposite edge (default: clamp)")

    q = command(
        sub, "normal2height", run_normal2height,
        help="height map from a tangent-space normal map (Poisson)",
        inputs={"normal": "tangent-space normal map"},
        output="output height: .exr/.tif (float, texels) or .png (normalized)")
    shared(q, "directx", bits="output depth (default 32 for EXR/TIFF, 16 for PNG)")
    q.add_argument("--method", choices=("dct", "fft"), default="dct",
                   help="dct: free borders (default); fft: periodic, for tileable maps")
    q.add_argument("--strength", type=float, default=1.0,
                   help="the strength the map was made with; heights are divided by it")
