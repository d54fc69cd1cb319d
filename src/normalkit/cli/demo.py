"""``normalkit demo`` (what ``make demo`` runs): generate a procedural example with
normalkit's own code, bake and reduce it.

Writes into the output folder:

* ``high.ply``: bumpy torus, ~262k triangles, with normals and vertex colours (a hue
  around the ring, darker in the bump valleys);
* ``low.obj``: plain torus with UVs and normals, 2.3k triangles;
* ``normal_tangent.png`` (16-bit, OpenGL) and ``normal_object.png``: ``high.ply`` baked
  onto ``low.obj``, and ``tangents.npy``;
* ``torus.glb``, ``torus.obj`` + ``torus.mtl``, ``torus_normal.png``,
  ``torus_basecolor.png`` and ``report.json``: ``normalkit reduce`` of ``high.ply`` to
  5,000 triangles (its own decimation, UVs, normal and colour bakes);
* ``sheet_00.png`` … ``sheet_03.png``, ``metrics.json`` and ``report.html``:
  ``normalkit compare`` of ``high.ply`` against ``low.obj`` with and without
  ``normal_tangent.png``;
* ``reconstruct/``: ``normalkit reconstruct`` of the high-poly from six rendered views
  (the Zero123++ / MeshFormer layout, 320², its own colours unlit, world normals, masks),
  with the high-poly as the reference: ``mesh.glb``, ``mesh.obj`` + ``mesh.mtl``,
  ``mesh_basecolor.png``, ``mesh_normal.png``, ``report.json`` and ``report.html``
  (per-view residuals, Chamfer distance and F-scores against the high-poly).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import command, log, shared

REDUCE_FACES = 5_000
#: The reconstruction step: six views of this size, this many faces, this texture size.
RECONSTRUCT_VIEW_SIZE = 320
RECONSTRUCT_FACES = 5_000
RECONSTRUCT_TEXTURE = 512


def run_demo(out: Path, size: int = 1024, log=print) -> None:
    """Write the demo into ``out`` (created, or added to); every file appears at the end.

    ``size`` is the texture size of the bakes (16–32768), checked before any work.
    """
    from ..assets.reduce import reduce
    from ..baking.bake import bake
    from ..core.atomic import atomic_folder, atomic_path
    from ..core.limits import check_size
    from ..images.io import write_image
    from ..maps.encode import encode_normals
    from ..mesh.examples import bumpy_torus_pair, colored_bumpy_torus
    from ..mesh.io import save_obj, save_ply
    from ..mesh.tangents import compute_tangents
    from ..rendering.compare import compare_demo, summary

    out = Path(out)
    size = check_size(size, "--size")
    with atomic_folder(out) as stage:  # built beside out, moved in at the end
        t0 = time.perf_counter()
        high = colored_bumpy_torus(high_faces=262_144)
        _, low = bumpy_torus_pair(high_faces=64, low_faces=2_304)
        save_ply(high, stage / "high.ply")
        save_obj(low, stage / "low.obj")
        print(f"generated {out / 'high.ply'} ({high.n_faces:,} triangles, vertex colours) "
              f"and {out / 'low.obj'} ({low.n_faces:,} triangles, UVs) in "
              f"{time.perf_counter() - t0:.2f} s")
        tangents = compute_tangents(low)
        with atomic_path(stage / "tangents.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, tangents)
        for space in ("tangent", "object"):
            result = bake(stage / "high.ply", stage / "low.obj", size=size, space=space,
                          samples=4, extrusion=0.05, max_distance=0.05, padding=16,
                          progress=True, log=log)
            name = f"normal_{space}.png"
            write_image(stage / name, encode_normals(result.normals, 16))
            print(f"{result.summary()} → {out / name}")

        result = reduce(stage / "high.ply", stage, faces=REDUCE_FACES, size=size,
                        name="torus", progress=True, log=log)
        result.outdir = out
        print(result.table())
        print(result.summary())

        metrics = compare_demo(stage, stage / "high.ply", stage / "low.obj",
                               stage / "normal_tangent.png", log=log)
        print(summary(metrics, out))
        reconstruct_demo(high, stage / "reconstruct", out / "reconstruct", log=log)
        _retarget_viewer_commands(stage, out)
    print(f"look at it in the browser: normalkit view {out} --high {out / 'high.ply'}")


def _retarget_viewer_commands(stage: Path, out: Path) -> None:
    """The reports were written in the staging folder: make their ``normalkit view``
    commands name the folder they end up in."""
    old, new = str(Path(stage).resolve()), str(Path(out).resolve())
    for name in ("report.json", "metrics.json", "report.html", "reconstruct/report.json",
                 "reconstruct/report.html"):
        p = Path(stage) / name
        if p.is_file():
            p.write_text(p.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def reconstruct_demo(high, stage: Path, out: Path, log=print) -> None:
    """Render ``high`` (which has corner colours) from the six MeshFormer views and
    reconstruct it, with ``high`` as the reference; write the result into ``stage``
    (reported as ``out``) and print its summary."""
    from ..reconstruction.pipeline import reconstruct, write_reconstruction
    from ..reconstruction.synthetic import mvdiffusion_cameras, render_views

    t0 = time.perf_counter()
    cams = mvdiffusion_cameras(high, size=RECONSTRUCT_VIEW_SIZE)
    views = render_views(high, cams, shading="unlit")
    print(f"rendered {len(views)} views of {out.parent / 'high.ply'} at "
          f"{RECONSTRUCT_VIEW_SIZE}² (colour unlit, world normals, masks) in "
          f"{time.perf_counter() - t0:.2f} s")
    result = reconstruct(views, faces=RECONSTRUCT_FACES, texture=RECONSTRUCT_TEXTURE,
                         reference=high, progress=True, log=log)
    write_reconstruction(result, stage, log=log)
    print(f"reconstruct: {result.summary()} → {out}")


def run(args) -> int:
    """What `make demo` runs. Generates a bumpy, vertex-coloured torus (262k triangles)
    and its plain low-poly (2.3k triangles with UVs) with normalkit's own code, then
    writes into OUTDIR: high.ply, low.obj, tangents.npy, the tangent- and object-space
    bakes, `normalkit reduce` of the high-poly to a 5k-triangle asset (torus.glb,
    torus.obj + .mtl, maps, report.json), `normalkit compare` sheets, metrics.json
    and report.html, and in OUTDIR/reconstruct `normalkit reconstruct` of the high-poly
    from six rendered views (mesh.glb, mesh.obj, textures, report.json, report.html,
    with Chamfer distance and F-scores against the high-poly). Everything is built
    beside OUTDIR and moved in at the end."""
    run_demo(Path(args.output), size=args.size, log=log)
    return 0


def register(sub) -> None:
    d = command(
        sub, "demo", run, help="generate a procedural example and bake it into a folder",
        inputs={})
    shared(d, output={"required": False, "default": "out", "metavar": "OUTDIR",
                      "help": "output folder (default out/; created if missing)"},
           size={"default": 1024, "help": "texture size of the bakes, 16-32768 (default "
                                          "1024)"})
