"""``normalkit demo``: the bundled procedural example (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path

from .common import command, log, shared


def run(args) -> int:
    """What `make demo` runs. Generates a bumpy, vertex-coloured torus (262k triangles)
    and its plain low-poly (2.3k triangles with UVs) with normalkit's own code, then
    writes into OUTDIR: high.ply, low.obj, tangents.npy, the tangent- and object-space
    bakes, `normalkit reduce` of the high-poly to a 5k-triangle asset (torus.glb,
    torus.obj + .mtl, maps, report.json) and `normalkit compare` sheets, metrics.json
    and report.html. Everything is built beside OUTDIR and moved in at the end."""
    from .demo_job import run_demo

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
