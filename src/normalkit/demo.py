"""``make demo``: generate a procedural example with normalkit's own code and bake it.

Writes into the output folder: ``high.ply`` (bumpy torus, ~262k triangles),
``low.obj`` (plain torus with UVs and normals, 2.3k triangles), the tangent-space
map ``normal_tangent.png`` (16-bit, OpenGL), the object-space map
``normal_object.png`` and ``tangents.npy``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def run_demo(out: Path, size: int = 1024, log=print) -> None:
    from .atomic import atomic_path
    from .bake import bake
    from .encode import encode_normals
    from .errors import NormalkitError
    from .examples import bumpy_torus_pair
    from .imageio import write_image
    from .mesh_io import save_obj, save_ply
    from .tangents import compute_tangents

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NormalkitError(f"cannot create output folder '{out}': {exc.strerror}") from None
    t0 = time.perf_counter()
    high, low = bumpy_torus_pair(high_faces=262_144, low_faces=2_304)
    save_ply(high, out / "high.ply")
    save_obj(low, out / "low.obj")
    print(f"generated {out / 'high.ply'} ({high.n_faces:,} triangles) and "
          f"{out / 'low.obj'} ({low.n_faces:,} triangles, UVs) in "
          f"{time.perf_counter() - t0:.2f} s")
    tangents = compute_tangents(low)
    with atomic_path(out / "tangents.npy") as tmp, open(tmp, "wb") as fh:
        np.save(fh, tangents)
    for space in ("tangent", "object"):
        result = bake(out / "high.ply", out / "low.obj", size=size, space=space, samples=4,
                      extrusion=0.05, max_distance=0.05, padding=16, progress=True, log=log)
        path = out / f"normal_{space}.png"
        write_image(path, encode_normals(result.normals, 16))
        print(f"{result.summary()} → {path}")
