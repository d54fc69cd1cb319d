"""``normalkit metrics``: Chamfer distance, F-score and normal consistency of a mesh
against a reference, by MeshFormer's protocol."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log


def run(args) -> int:
    """Measure MESH (e.g. a reconstruction) against REFERENCE (the ground truth) by
    MeshFormer's protocol: both scaled so that the reference's bounding box has a longest
    side of 1, --points samples uniform by area on each surface, then the Chamfer
    distance (mean of the two directions' mean nearest-neighbour distances, not squared),
    the F-score at 0.05, 0.02 and 0.01 and the normal consistency. --align first moves
    MESH onto REFERENCE by rigid ICP. --json writes every figure (per-τ precision and
    recall, the scale, the transform) to a file."""
    from ..core.atomic import atomic_path, check_outputs
    from ..rendering.mesh_metrics import format_metrics, mesh_metrics

    out = None
    if args.json is not None:
        out = Path(args.json)
        if out.suffix.lower() != ".json":
            raise NormalkitError(f"--json '{out}': give a file name ending in .json")
        check_outputs({"--json": out}, {"MESH": args.mesh, "REFERENCE": args.reference})

    t0 = time.perf_counter()  # mesh_metrics checks --points before it reads the meshes
    result = mesh_metrics(args.mesh, args.reference, points=args.points, seed=args.seed,
                          align=args.align, log=log)
    seconds = time.perf_counter() - t0
    print(f"{args.mesh} against {args.reference}:")
    print(format_metrics(result))
    if out is not None:
        import json

        with atomic_path(out) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n",
                                 encoding="utf-8")
    print(f"measured in {seconds:.2f} s" + (f" → {out}" if out is not None else ""))
    return 0


def register(sub) -> None:
    p = command(
        sub, "metrics", run,
        help="Chamfer distance, F-score and normal consistency of a mesh against a "
             "reference",
        inputs={"mesh": "mesh to measure (e.g. a reconstruction)",
                "reference": "ground-truth mesh; its bounding box sets the scale"})
    p.add_argument("--points", type=int, default=100_000, metavar="N",
                   help="samples per surface, ≥ 1000 (default 100000, the protocol's)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the sampling (default 0)")
    p.add_argument("--align", action="store_true",
                   help="first align MESH to REFERENCE by rigid ICP (rotation and "
                        "translation, no scale)")
    p.add_argument("--json", metavar="OUT.json", help="also write every figure to this file")
