"""``normalkit map to-object`` and ``normalkit map to-tangent``: convert a mesh's map."""

from __future__ import annotations

import time
from pathlib import Path

from .common import command, image_output, log, shared, write_images
from .map_convert import depth_name, output_bits, read_map, texel_bits

_FILL = {"keep": None, "flat": (0.0, 0.0, 1.0), "zero": (0.0, 0.0, 0.0)}


def _run(args, to_object: bool) -> int:
    from ..baking.spaces import object_to_tangent, tangent_to_object
    from ..core.atomic import check_outputs
    from ..maps.encode import encode_normals
    from ..mesh.io import load_mesh
    from ..mesh.normals import ensure_normals

    out = Path(args.output)
    image_output(out, args.bits)
    if args.mask:
        image_output(args.mask, 8, "--mask")
    check_outputs({"-o": out, "--mask": args.mask}, {"MESH": args.mesh, "MAP": args.map})
    t0 = time.perf_counter()
    mesh = ensure_normals(load_mesh(args.mesh), hard_angle=args.hard_angle, log=log)
    src, texels = read_map(args.map, directx=args.directx and to_object,
                           space="tangent" if to_object else None)
    bits = output_bits(out, args.bits, texel_bits(texels))
    convert = tangent_to_object if to_object else object_to_tangent
    result, mask = convert(src, mesh, fill=_FILL[args.fill], log=log)
    pending = [(out, encode_normals(result, bits, directx=args.directx and not to_object))]
    if args.mask:
        pending.append((args.mask, mask.astype("uint8") * 255))
    write_images(pending)
    what = "tangent → object" if to_object else "object → tangent (MikkTSpace)"
    print(f"{args.map} → {out}: {what} on {mesh.name} ({mesh.n_faces:,} faces), "
          f"{src.shape[1]}x{src.shape[0]}, {int(mask.sum()):,} texels in the UV layout "
          f"({100 * mask.mean():.1f}%), {depth_name(bits)} in "
          f"{time.perf_counter() - t0:.2f} s")
    return 0


def run_to_object(args) -> int:
    return _run(args, to_object=True)


def run_to_tangent(args) -> int:
    return _run(args, to_object=False)


def _add(sub, name, func, help_, src, dst, directx_help):
    p = command(
        sub, name, func, help=help_,
        description=f"Convert MESH's {src} normal map to {dst}, texel by texel, in the "
                    "MikkTSpace frames normalkit bake uses (one sample per texel). Texels "
                    "outside the UV layout keep their value (see --fill). Meshes without "
                    "normals get smooth ones: give the normals the map was baked with.",
        inputs={"mesh": "mesh with UVs (OBJ, PLY, glTF, …)", "map": f"{src} normal map"},
        output=f"output {dst} normal map")
    shared(p, "bits", directx=directx_help,
           mask="also write a PNG marking the texels in the UV layout",
           hard_angle="recompute mesh normals, split at edges sharper than DEG")
    p.add_argument("--fill", choices=tuple(_FILL), default="keep",
                   help="texels outside the UV layout: keep (default), flat (0,0,1) or zero")


def register(sub) -> None:
    _add(sub, "to-object", run_to_object, "tangent-space map → object-space map",
         "tangent-space", "object space", "the input has DirectX (−Y) green")
    _add(sub, "to-tangent", run_to_tangent, "object-space map → tangent-space map",
         "object-space", "tangent space (MikkTSpace)", "write DirectX (−Y) green")
