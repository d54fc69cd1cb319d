"""The AO bake against Blender's, on the same pair, rays and distance, in one run.

A 1.3M-triangle bumpy torus (normalkit's ``bumpy_torus_pair``) onto its 4k-triangle
unwrapped low-poly; one texel sample and 64 AO rays per texel for normalkit
(``--samples 1 --ao-rays 64``), 64 render samples for Blender's Cycles AO bake (one
cosine-weighted AO ray per sample), the same AO distance, the same primary rays.

Printed per size: Blender's bake call (``bpy.ops.object.bake`` alone, as
tests/blender_ref.py measures it) and normalkit's ``bake()`` (preloaded meshes), their
ratio, and the agreement of the two maps (mean AO, correlation of 4×4-texel block
means: both are Monte Carlo estimates, so single texels differ by noise).

Target (issue 15): normalkit ≥ 3× faster than Blender's bake call at 2048².

Run: ``.venv/bin/python benchmarks/bench_ao.py [--sizes 1024 2048] [--high-faces N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

EXTRUSION, DISTANCE, AO_DISTANCE, RAYS = 0.04, 0.04, 0.3, 64


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048])
    ap.add_argument("--high-faces", type=int, default=1_300_000)
    args = ap.parse_args()

    from blender_ref import bake_selected_to_active, blender_max_ray_distance
    from normalkit.baking.bake import bake
    from normalkit.baking.maps import MapSettings
    from normalkit.mesh.examples import bumpy_torus_pair
    from normalkit.mesh.io import load_mesh, save_obj, save_ply

    with tempfile.TemporaryDirectory(prefix="bench_ao_") as tmp:
        tmp = Path(tmp)
        high, low = bumpy_torus_pair(high_faces=args.high_faces, low_faces=4096)
        save_ply(high, tmp / "high.ply")
        save_obj(low, tmp / "low.obj")
        high, low = load_mesh(tmp / "high.ply"), load_mesh(tmp / "low.obj")
        print(f"AO bake: {high.n_faces:,} → {low.n_faces:,} triangles, {RAYS} rays per "
              f"texel, AO distance {AO_DISTANCE}, {os.cpu_count()} cores")
        for size in args.sizes:
            theirs = bake_selected_to_active(
                tmp / "high.ply", tmp / "low.obj", size, extrusion=EXTRUSION,
                max_ray_distance=blender_max_ray_distance(EXTRUSION, DISTANCE),
                bake_type="AO", samples=RAYS, ao_distance=AO_DISTANCE, timeout=3600)
            t0 = time.perf_counter()
            ours = bake(high, low, size=size, samples=1, maps="ao", extrusion=EXTRUSION,
                        max_distance=DISTANCE, padding=0,
                        map_settings=MapSettings(ao_rays=RAYS, ao_distance=AO_DISTANCE))
            seconds = time.perf_counter() - t0
            both = theirs["mask"] & ours.coverage
            a, b = theirs["values"], ours.maps["ao"][..., 0].astype(np.float64)
            k = 4
            blocks = [x.reshape(size // k, k, size // k, k).mean(axis=(1, 3)) for x in
                      (a, b, both.astype(float))]
            full = blocks[2] == 1
            corr = np.corrcoef(blocks[0][full], blocks[1][full])[0, 1]
            ratio = theirs["bake_seconds"] / seconds
            rays = ours.stats["texels"] * (RAYS + 1)
            print(f"{size}²: Blender's bake call {theirs['bake_seconds']:.2f} s, normalkit "
                  f"bake() {seconds:.2f} s ({rays / seconds / 1e6:.1f} M rays/s): "
                  f"{ratio:.2f}×; mean AO {a[both].mean():.4f} vs {b[both].mean():.4f}, "
                  f"4×4-block correlation {corr:.4f}"
                  + (f"; goal ≥ 3×: {'PASS' if ratio >= 3 else 'FAIL'}" if size == 2048
                     else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
