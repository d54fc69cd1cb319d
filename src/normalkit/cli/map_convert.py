"""``normalkit map convert``: green convention, bit depth, file format, swizzle.

Also holds the small helpers the other ``map_*`` command modules share: reading a
normal map (refusing images that are not one), choosing the output depth, writing.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, image_output, shared

_DEPTHS = {"uint8": 8, "uint16": 16}


def texel_bits(texels) -> int:
    """8, 16 or 32 (float) for texels as read from a file."""
    return _DEPTHS.get(str(texels.dtype), 32)


def output_bits(path, bits: int | None, like: int = 16) -> int:
    """The output depth: ``bits`` if given (checked against the extension), else
    ``like`` (the input's depth) if the extension holds it, else what it holds."""
    from ..images.io import bits_to_extension

    if bits is not None:
        bits_to_extension(bits, path)
        return bits
    for b in (like, 16, 32):
        try:
            bits_to_extension(b, path)
            return b
        except NormalkitError:
            continue
    bits_to_extension(like, path)  # raises the message naming the problem
    return like


def read_map(path, *, directx: bool = False, space: str | None = None):
    """Read a normal map file; return (unit normals float32 (H, W, 3), texels).

    Raises NormalkitError for unreadable files and for images that are not normal maps
    (see :func:`normalkit.maps.validate.check_normal_map`).
    """
    from ..images.io import read_image
    from ..maps.encode import decode_normals
    from ..maps.validate import check_normal_map

    texels = read_image(path)
    check_normal_map(texels, name=f"'{path}'", space=space)
    return decode_normals(texels, directx=directx), texels


def write_map(path, normals, bits: int, *, directx: bool = False) -> None:
    from ..images.io import write_image
    from ..maps.encode import encode_normals

    write_image(path, encode_normals(normals, bits, directx=directx))


def depth_name(bits: int) -> str:
    return "32-bit float" if bits == 32 else f"{bits}-bit"


def run(args) -> int:
    """Convert a normal map: green convention, bit depth (8/16-bit PNG or TIFF, 32-bit
    float EXR or TIFF, chosen by --bits and the output's extension), channel swizzle and
    renormalization. Without --renormalize the stored vectors are carried over as they
    are."""
    from ..core.atomic import check_outputs
    from ..images.io import read_image, write_image
    from ..maps.convert import convert_texels, parse_swizzle
    from ..maps.validate import check_normal_map

    if args.flip_green and (args.directx_in or args.directx_out):
        raise NormalkitError("--flip-green already means --directx-in without --directx-out; "
                             "give either --flip-green or --directx-in/--directx-out")
    if args.swizzle is not None:
        parse_swizzle(args.swizzle)
    out = Path(args.output)
    image_output(out, args.bits)
    check_outputs({"-o": out}, {"INPUT": args.input})
    t0 = time.perf_counter()
    texels = read_image(args.input)
    check_normal_map(texels, name=f"'{args.input}'")
    in_bits = texel_bits(texels)
    bits = output_bits(out, args.bits, in_bits)
    directx_in = args.directx_in or args.flip_green
    result = convert_texels(texels, bits, directx_in=directx_in,
                            directx_out=args.directx_out, renormalize=args.renormalize,
                            swizzle=args.swizzle)
    write_image(out, result)
    what = [f"{depth_name(in_bits)} → {depth_name(bits)}"]
    if directx_in != args.directx_out:
        what.append("green flipped (" + ("DirectX → OpenGL" if directx_in
                                         else "OpenGL → DirectX") + ")")
    if args.swizzle:
        what.append(f"swizzle {args.swizzle}")
    if args.renormalize:
        what.append("renormalized")
    h, w = texels.shape[:2]
    print(f"{args.input} → {out}: {w}x{h}, {', '.join(what)} in "
          f"{time.perf_counter() - t0:.2f} s")
    return 0


def register(sub) -> None:
    p = command(
        sub, "convert", run,
        help="flip green (DirectX ↔ OpenGL), change bit depth or format, swizzle",
        inputs={"input": "normal map (.png, .exr, .tif, .jpg, …)"},
        output="output: .png (8/16-bit), .exr (32-bit float) or .tif (any)")
    shared(p, bits="output depth (default: the input's, if the format holds it)")
    green = p.add_argument_group("green channel")
    green.add_argument("--directx-in", action="store_true",
                       help="the input has DirectX (−Y) green")
    green.add_argument("--directx-out", action="store_true",
                       help="write DirectX (−Y) green")
    green.add_argument("--flip-green", action="store_true",
                       help="flip the green channel (same as --directx-in)")
    p.add_argument("--renormalize", action="store_true",
                   help="scale every vector to unit length")
    p.add_argument("--swizzle", metavar="SPEC",
                   help="output channels as signed axes, e.g. X-YZ (flip green) or YXZ; "
                        "write --swizzle=-XYZ when SPEC starts with '-'")
