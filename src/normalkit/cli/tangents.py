"""``normalkit tangents``: MikkTSpace tangents of a mesh as .npy."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log, shared


def run(args) -> int:
    """Write MikkTSpace tangents: float32 (n_faces·3, 4) with columns tx, ty, tz, sign;
    row 3i+k is face i, corner k."""
    import numpy as np

    from ..core.atomic import atomic_path, check_outputs
    from ..mesh.io import load_mesh
    from ..mesh.normals import ensure_normals
    from ..mesh.tangents import compute_tangents

    out = Path(args.output)
    if out.suffix.lower() != ".npy":
        raise NormalkitError(f"'{out}': tangents are written as .npy")
    check_outputs({"-o": out}, {"MESH": args.mesh})
    mesh = ensure_normals(load_mesh(args.mesh), hard_angle=args.hard_angle, log=log)
    mesh.require_uvs()
    t0 = time.perf_counter()
    tangents = compute_tangents(mesh)
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.save(fh, tangents)
    mirrored = int((tangents[:, 3] < 0).sum())
    print(f"{mesh.name}: {mesh.n_faces:,} faces, {len(tangents):,} corner tangents "
          f"({mirrored:,} with sign −1) in {time.perf_counter() - t0:.3f} s → {out}")
    return 0


def register(sub) -> None:
    t = command(sub, "tangents", run, help="MikkTSpace tangents of a mesh as .npy",
                inputs={"mesh": "mesh with UVs"}, output="output .npy")
    shared(t, hard_angle="recompute normals, split at edges sharper than DEG")
