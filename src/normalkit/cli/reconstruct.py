"""``normalkit reconstruct``: posed views with normal maps → a textured mesh with a
normal texture (GLB, OBJ/MTL, PNG textures, report.json and report.html)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log, shared


def view_indices(text: str) -> list[int]:
    """argparse type for ``--use-views``: a comma-separated list of view indices, "0,2,4".

    Range and repeats are checked by the loader, which knows how many views there are.
    """
    parts = [p.strip() for p in text.split(",")]
    try:
        picks = [int(p) for p in parts]
    except ValueError:
        picks = None
    if not parts or picks is None or any(k < 0 for k in picks):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated view indices (whole numbers from 0, in the order of "
            f"the views in cameras.json or transforms.json), e.g. 0,2,4; got {text!r}")
    return picks


def file_stem(text: str) -> str:
    """argparse type for ``--name``: a plain file name stem (no folder, no wildcard)."""
    if not text or text.strip(".") == "" or any(c in text for c in '/\\:*?"<>|'):
        raise argparse.ArgumentTypeError(
            f"expected a plain file name without a folder, e.g. chair; got {text!r}")
    return text


def _inputs(views: Path, reference) -> dict:
    """The files the command reads that an output must never replace."""
    inputs = {"--reference": reference}
    if views.is_dir():
        for name in ("cameras.json", "transforms.json"):
            inputs[f"VIEWS' {name}"] = views / name
    else:
        inputs["VIEWS"] = views
    return inputs


def run(args) -> int:
    """Reconstruct a closed, textured mesh from posed views that have normal maps (RGB +
    normals + masks, e.g. from a multi-view diffusion model or `normalkit render`) and
    write it into OUTDIR. VIEWS is a views folder with cameras.json (as `normalkit
    render` writes it), or a NeRF-style transforms.json (or its folder); normal maps are
    camera frame (x right, y up, +z toward the viewer) unless the file says "world".
    The visual hull of the masks is carved where the views' integrated normals show
    empty space (concavities), refined until its normals explain the normal maps,
    decimated to --faces triangles and unwrapped; the colour texture is projected from
    the views, and so is the normal texture, on top of the refined mesh baked onto the
    output (MikkTSpace tangent space, OpenGL green). Writes NAME.glb (both textures and
    TANGENT embedded), NAME.obj + NAME.mtl, NAME_basecolor.png, NAME_normal.png
    (16-bit), report.json and report.html: per-view normal residuals with and without
    the normal texture, mask overlap, seconds per stage and, with --reference, Chamfer
    distance, F-scores and normal consistency against the ground truth (MeshFormer's
    protocol). Nothing partial is left in OUTDIR on failure."""
    from ..core.atomic import check_outputs
    from ..reconstruction.pipeline import output_names, reconstruct, write_reconstruction

    views = Path(args.views)
    if not views.exists():
        raise NormalkitError(f"VIEWS '{views}' does not exist; give a views folder (with "
                             "cameras.json or transforms.json) or one of those files")
    out = Path(args.output)
    inputs = _inputs(views, args.reference)
    check_outputs([("output", n) for n in output_names(args.name)], inputs, folder=out,
                  fix="choose another output folder or --name")
    # reconstruct checks --threads and reads --reference before any work.
    result = reconstruct(views, faces=args.faces, texture=args.texture,
                         use_views=args.use_views, reference=args.reference,
                         resolution=args.resolution, rounds=args.rounds,
                         threads=args.threads, progress=not args.quiet, log=log)
    write_reconstruction(result, out, name=args.name, inputs=inputs, log=log)
    print(f"{result.summary()} → {out}")
    return 0


def register(sub) -> None:
    r = command(
        sub, "reconstruct", run,
        help="posed views with normal maps → a textured mesh with a normal texture",
        inputs={"views": "views folder (cameras.json, as `normalkit render` writes it, or "
                         "transforms.json), or the JSON file itself"},
        output="output folder (created if missing)", output_metavar="OUTDIR")
    r.add_argument("--faces", type=int, default=20000, metavar="N",
                   help="triangles of the output mesh, 100-5000000 (default 20000)")
    r.add_argument("--texture", type=int, default=2048, metavar="SIZE",
                   help="side of the square colour and normal textures, 16-32768 "
                        "(default 2048)")
    r.add_argument("--use-views", type=view_indices, metavar="I,J,…",
                   help="indices of the views to use, e.g. 0,2,4 (default: all)")
    r.add_argument("--reference", metavar="MESH",
                   help="ground-truth mesh: the report gets Chamfer distance, F-scores and "
                        "normal consistency against it")
    r.add_argument("--resolution", type=int, default=160, metavar="N",
                   help="voxels along the visual hull's longest side, 32-512 (default 160)")
    r.add_argument("--rounds", type=int, default=16, metavar="N",
                   help="shape-from-normals rounds on the coarsest level, 0-100 (0: the "
                        "visual hull alone; default 16)")
    r.add_argument("--name", type=file_stem, default="mesh",
                   help="base name of the output files (default mesh)")
    shared(r, "quiet", threads="worker threads (default: all cores)")
