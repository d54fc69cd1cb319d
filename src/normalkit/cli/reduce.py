"""``normalkit reduce``: high-poly → game-ready low-poly asset (GLB, OBJ, maps, report)."""

from __future__ import annotations

from .common import command, log, map_options, map_settings, shared


def _positive_int(text: str) -> int:
    """argparse type: an integer (its range is checked by the library, with the fix)."""
    import argparse

    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def run(args) -> int:
    """Turn HIGH into a low-poly asset in OUTDIR: quadric decimation to --faces/--ratio,
    xatlas UVs with seams at hard edges, a baked normal map (and base colour when HIGH
    has vertex colours or a texture), exported as NAME.glb and NAME.obj + .mtl + PNGs,
    with report.json. --maps adds the rest of the bake set on the same rays
    (NAME_ao.png …; the GLB carries AO as its occlusion texture). Nothing partial is left
    in OUTDIR on failure."""
    from ..assets.reduce import reduce

    maps, settings = map_settings(args)
    result = reduce(args.high, args.output, faces=args.faces, ratio=args.ratio,
                    size=args.size, space=args.space, hard_angle=args.hard_angle,
                    samples=args.samples, name=args.name, threads=args.threads,
                    progress=not args.quiet, log=log, maps=maps, map_settings=settings)
    print(result.table())
    print(result.summary())
    return 0


def register(sub) -> None:
    r = command(
        sub, "reduce", run, help="decimate, unwrap, bake and export a game-ready low-poly",
        inputs={"high": "high-poly mesh (OBJ, PLY, STL, OFF, glTF/GLB)"},
        output="output folder (created if missing)", output_metavar="OUTDIR")
    target = r.add_mutually_exclusive_group(required=True)
    target.add_argument("--faces", type=_positive_int, metavar="N",
                        help="target triangle count (1 … the input's count)")
    target.add_argument("--ratio", type=float, metavar="R",
                        help="target as a fraction of the input's triangles, e.g. 0.01")
    shared(r, size={"default": 2048, "help": "texture size, 16-32768 (default 2048)"},
           space="normal map space: tangent (MikkTSpace, default) or object (OBJ only: "
                 "glTF has no object-space normal texture)",
           hard_angle={"default": 60.0, "help": "edges sharper than DEG get split normals "
                                                "and UV seams (default 60)"},
           samples={"choices": (1, 4, 16, 64), "help": "samples per texel (default 4)"},
           threads="bake threads (default: all cores)", quiet="no progress output")
    r.add_argument("--name", help="base name of the output files (default: HIGH's name)")
    map_options(r)
