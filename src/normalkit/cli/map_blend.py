"""``normalkit map blend``: detail normal map onto a base normal map."""

from __future__ import annotations

import time
from pathlib import Path

from .common import command, image_output, shared
from .map_convert import depth_name, output_bits, read_map, texel_bits, write_map


def run(args) -> int:
    """Blend two tangent-space normal maps of the same size. RNM (reoriented normal
    mapping) keeps the detail's relief on the base's slopes; UDN and whiteout are
    cheaper approximations; linear averages."""
    from ..core.atomic import check_outputs
    from ..maps.blend import blend_normals

    out = Path(args.output)
    image_output(out, args.bits)
    check_outputs({"-o": out}, {"BASE": args.base, "DETAIL": args.detail})
    t0 = time.perf_counter()
    base, texels = read_map(args.base, directx=args.directx, space="tangent")
    detail, _ = read_map(args.detail, directx=args.directx, space="tangent")
    bits = output_bits(out, args.bits, texel_bits(texels))
    result = blend_normals(base, detail, method=args.method, strength=args.strength)
    write_map(out, result, bits, directx=args.directx)
    print(f"{args.base} + {args.detail} → {out}: {base.shape[1]}x{base.shape[0]}, "
          f"{args.method.upper()} at strength {args.strength:g}, {depth_name(bits)} "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


def register(sub) -> None:
    p = command(
        sub, "blend", run,
        help="blend a detail normal map onto a base (RNM, UDN, whiteout, linear)",
        inputs={"base": "base tangent-space normal map",
                "detail": "detail tangent-space normal map (same size)"},
        output="output normal map")
    shared(p, bits="output depth (default: the base's)",
           directx="inputs and output have DirectX (−Y) green")
    p.add_argument("--method", choices=("rnm", "udn", "whiteout", "linear"), default="rnm",
                   help="blend method (default rnm)")
    p.add_argument("--strength", type=float, default=1.0,
                   help="detail strength: 0 = base only, 1 = full detail (default 1)")
