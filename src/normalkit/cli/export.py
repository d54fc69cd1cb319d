"""``normalkit export``: package a low-poly and its maps as GLB, or as OBJ + MTL."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log, shared

OUTPUTS = (".glb", ".obj")


def _read_normal_map(path, directx: bool):
    """The map as uint8/uint16 RGB for embedding (float files are encoded at 16 bits)."""
    import numpy as np

    from ..images.io import read_image
    from ..maps.encode import decode_normals, encode_normals

    image = read_image(path)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise NormalkitError(f"'{path}': a normal map needs RGB channels, got shape "
                             f"{image.shape}")
    if image.dtype.kind == "f" or image.dtype not in (np.uint8, np.uint16):
        log(f"{Path(path).name}: {image.dtype} texels; embedding them as a 16-bit PNG")
        image = encode_normals(decode_normals(image[..., :3]), 16)  # export_glb flips green
    return image, directx


def _read_color_map(path):
    import numpy as np

    from ..images.io import read_image

    image = read_image(path)
    if image.dtype == np.uint16:
        log(f"{Path(path).name}: 16-bit colour; glTF base colour is 8-bit sRGB, "
            "so it is rounded to 8 bits")
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise NormalkitError(
            f"'{path}': {image.dtype} colour texels; glTF base colour is 8-bit sRGB, "
            "give an 8-bit PNG or JPEG")
    return image


def run(args) -> int:
    """Package LOW (with UVs) and its normal MAP for engines and viewers. .glb: binary
    glTF 2.0 with MikkTSpace tangents and the textures embedded (tangent-space maps
    only). .obj: OBJ plus an MTL that references the textures by relative path. LOW's
    normals are used as given, or computed exactly as `normalkit bake` computes them."""
    from ..assets.export import export_glb, export_obj
    from ..core.atomic import check_outputs
    from ..mesh.io import load_mesh

    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in OUTPUTS:
        hint = "; write .glb (binary glTF with the textures inside)" if suffix == ".gltf" else ""
        raise NormalkitError(
            f"'{out}': unknown output format '{suffix or '(none)'}' (use .glb or .obj){hint}")
    if suffix == ".glb" and args.space == "object":
        raise NormalkitError(
            "glTF has no object-space normal texture (normalTexture is tangent space); "
            "export OBJ instead (-o OUT.obj), or bake in tangent space")
    if suffix == ".obj" and args.directx:
        raise NormalkitError(
            "--directx only applies to .glb (the map is re-encoded with OpenGL green); "
            "an OBJ references MAP as is: flip its green channel first, or export .glb")
    check_outputs({"-o": out, "its material file": out.with_suffix(".mtl") if suffix == ".obj"
                   else None}, {"LOW": args.low, "MAP": args.map, "--color": args.color})
    for label, p in (("map", args.map), ("colour texture", args.color)):
        if p is not None and not Path(p).is_file():
            raise NormalkitError(f"cannot read {label} '{p}': no such file")

    t0 = time.perf_counter()
    mesh = load_mesh(args.low)
    mesh.require_uvs()
    if suffix == ".glb":
        normal_map, directx = _read_normal_map(args.map, args.directx)
        color = _read_color_map(args.color) if args.color else None
        info = export_glb(out, mesh, normal_map, color, directx=directx,
                          name=Path(args.low).stem, log=log)
        what = f"{info['bytes']:,} bytes, normal map {info['normal_map']}"
        if info["color_map"]:
            what += f", colour {info['color_map']}"
    else:
        info = export_obj(out, mesh, args.map, args.color, space=args.space, log=log)
        what = f"+ {Path(info['mtl']).name} → {info['normal_map']}"
        if info["color_map"]:
            what += f", {info['color_map']}"
    print(f"{mesh.name}: {info['triangles']:,} triangles, {info['vertices']:,} vertices → "
          f"{out} ({what}) in {time.perf_counter() - t0:.2f} s")
    return 0


def register(sub) -> None:
    e = command(
        sub, "export", run, help="package a low-poly and its maps as .glb or .obj + .mtl",
        inputs={"low": "low-poly mesh with UVs (the one the map was baked on)",
                "map": "normal map image (PNG 8/16-bit; EXR/TIFF float is embedded as "
                       "16-bit PNG)"},
        output="output .glb or .obj")
    e.add_argument("--color", metavar="TEX", help="base colour texture (sRGB)")
    shared(e, space="what MAP holds (default tangent); object space needs .obj",
           directx="MAP has DirectX green; flip it to OpenGL green for glTF (.glb only)")
