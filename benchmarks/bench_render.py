"""Speed of ``normalkit.rendering.render`` against Blender Cycles on a 1.3M-triangle mesh, and the
per-pixel cost of tangent- versus object-space normal maps.

Run: ``.venv/bin/python benchmarks/bench_render.py`` (about a minute; ``--skip-blender`` to
leave Blender out, ``--size``, ``--map-size``, ``--faces``, ``--repeat``, ``--json PATH``).

What one run does
-----------------
1. Scene: a UV-mapped torus of ~1.3M triangles (``normalkit.mesh.examples.torus``, no bumps) and
   2048² tangent- and object-space maps baked by ``normalkit.bake`` from the bumpy high-poly of
   ``bumpy_torus_pair`` onto its 2,304-face low-poly. The dense torus shares the low-poly's
   analytic UV parametrization (u around the ring, v around the tube), so the maps fit it.
2. normalkit: a 1024² frame at 1 sample per pixel with all default passes, camera from
   ``orbit_cameras`` (azimuth 30°, elevation 25°). Reported: the :class:`Renderer` build
   (Embree BVH, MikkTSpace tangents, packing, map decode) and the render call (best of
   ``--repeat``), with rays per second (the W·H pixel-centre rays / render seconds), plus the
   raw Embree trace of the same rays for reference.
3. Blender (Cycles, CPU, all cores, 1 sample, no denoising, max bounces 0, i.e. direct light
   only like normalkit, same camera, the same map through Image Texture → Normal Map →
   Principled BSDF, three sun lamps matching normalkit's key/fill/rim lights): the
   ``bpy.ops.render.render`` call, which includes scene sync, BVH build and tangents, the
   path tracing, and writing a multilayer EXR (timed inside the child). The mesh goes in as
   binary PLY with normals and UVs. Both tools' camera-space normals are compared on the
   pixels both cover, so the timings are known to be of the same picture.
4. ``shading_cost``: ns per covered pixel of shading (one thread, no trace) with the tangent
   map and with the object map, same mesh and view.

The machine load (``uptime``'s 1-minute average) is printed next to every timing: other jobs
on the 2 shared cores skew all of these numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cores"


def faces_grid(faces: int) -> tuple[int, int]:
    n_minor = max(3, int(round(np.sqrt(faces / 4))))
    return 2 * n_minor, n_minor


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="frame size (default 1024)")
    ap.add_argument("--map-size", type=int, default=2048, help="normal map size (default 2048)")
    ap.add_argument("--faces", type=int, default=1_300_000, help="mesh triangles (default 1.3M)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N renders (default 3)")
    ap.add_argument("--skip-blender", action="store_true")
    ap.add_argument("--json", help="also write the results as JSON here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="nk_bench_render_") as tmp:
        return run(args, Path(tmp))


def run(args, tmp: Path) -> int:
    from normalkit.baking.bake import bake
    from normalkit.images.io import write_image
    from normalkit.maps.encode import encode_normals
    from normalkit.mesh.examples import bumpy_torus_pair, torus
    from normalkit.mesh.io import save_ply
    from normalkit.rendering.camera import orbit_cameras
    from normalkit.rendering.render import DirectionalLight, Renderer, default_lights, shading_cost

    results: dict = {"cores": os.cpu_count()}
    print(f"# normalkit render benchmark ({load()})")

    t0 = time.perf_counter()
    mesh = torus(*faces_grid(args.faces), name="torus")
    high, low = bumpy_torus_pair()
    maps = {}
    for space in ("tangent", "object"):
        r = bake(high, low, size=args.map_size, space=space, samples=1, extrusion=0.04,
                 max_distance=0.04)
        maps[space] = encode_normals(r.normals, 16)
        write_image(tmp / f"{space}.png", maps[space])
    print(f"scene: {mesh.n_faces:,}-triangle torus, {args.map_size}² tangent and object maps "
          f"baked in {time.perf_counter() - t0:.1f} s")
    cam = orbit_cameras(mesh, azimuths=[30], elevations=[25], size=args.size)[0]

    # normalkit ---------------------------------------------------------------------------
    t0 = time.perf_counter()
    renderer = Renderer(mesh, normal_map=maps["tangent"], space="tangent")
    build = time.perf_counter() - t0
    print(f"normalkit Renderer build (BVH, tangents, packing): {build:.2f} s  [{load()}]")
    best = np.inf
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        ours = renderer.render(cam, samples=1)
        best = min(best, time.perf_counter() - t0)
    rays = args.size * args.size
    covered = int(ours["mask"].sum())
    results["normalkit"] = {"build_seconds": build, "render_seconds": best, "rays": rays,
                            "rays_per_second": rays / best, "covered_pixels": covered,
                            "threads": renderer.threads}
    print(f"normalkit render {args.size}² @ 1 spp, all passes: {best:.3f} s "
          f"({rays / best / 1e6:.2f} Mrays/s incl. shading, {covered:,} pixels covered, "
          f"{renderer.threads} threads)  [{load()}]")

    o, d, _ = cam._pixel_rays((0, args.size), np.array([[0.5, 0.5]]))
    tfar = np.full(len(o), np.inf, np.float32)
    with ThreadPoolExecutor(renderer.threads) as pool:
        best_t = np.inf
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            renderer.caster.intersect(o, d, tfar, pool)
            best_t = min(best_t, time.perf_counter() - t0)
    results["embree_trace_seconds"] = best_t
    print(f"  raw Embree trace of the same rays: {best_t:.3f} s ({rays / best_t / 1e6:.2f} "
          f"Mrays/s)  [{load()}]")

    # Blender -----------------------------------------------------------------------------
    if not args.skip_blender:
        import importlib.util

        if importlib.util.find_spec("bpy") is None:
            print("Blender: bpy is not installed; skipped")
        else:
            # tests/ for blender_ref, tests/interop/ for the Blender render itself.
            sys.path[:0] = [str(TESTS), str(TESTS / "interop")]
            from test_render_blender import blender_render

            save_ply(mesh, tmp / "torus.ply")
            rot = cam.cam_to_world[:3, :3]
            suns = [(rot @ (np.asarray(lt.direction) / np.linalg.norm(lt.direction)),
                     lt.intensity) for lt in default_lights()
                    if isinstance(lt, DirectionalLight)]
            bl = blender_render(tmp / "torus.ply", cam, map_path=tmp / "tangent.png",
                                samples=1, filter_width=1.5, max_bounces=0, suns=suns)
            both = ours["mask"] & bl["mask"]
            a = ours["normal_camera"][both].astype(np.float64)
            b = bl["normal"][both].astype(np.float64) @ rot
            b /= np.linalg.norm(b, axis=1, keepdims=True)
            ang = np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1),
                                        np.einsum("ij,ij->i", a, b)))
            results["blender"] = {"render_seconds": bl["render_seconds"],
                                  "setup_seconds": bl["setup_seconds"],
                                  "total_seconds": bl["total_seconds"],
                                  "version": bl["version"],
                                  "normal_median_deg": float(np.median(ang))}
            print(f"Blender {bl['version']} Cycles CPU {args.size}² @ 1 spp: render call "
                  f"{bl['render_seconds']:.2f} s ({rays / bl['render_seconds'] / 1e6:.2f} "
                  f"Mpixels/s; sync + BVH + tangents + path tracing + EXR), child process "
                  f"{bl['total_seconds']:.1f} s incl. PLY import  [{load()}]")
            print(f"  same picture: camera-space normals differ by median {np.median(ang):.4f}°, "
                  f"p95 {np.percentile(ang, 95):.4f}° over {both.sum():,} pixels (Cycles' first "
                  f"sample sits at the pixel centre, as ours)")
            print(f"  ratio: Blender render call / normalkit render = "
                  f"{bl['render_seconds'] / best:.1f}×; / (build + render) = "
                  f"{bl['render_seconds'] / (build + best):.1f}×")

    # Shading cost ------------------------------------------------------------------------
    cost = shading_cost(mesh, cam, maps["tangent"], maps["object"], repeat=max(3, args.repeat))
    results["shading_cost"] = cost
    print(f"shading cost, one thread, {cost['pixels']:,} pixels: tangent-space "
          f"{cost['tangent']:.0f} ns/px (normal decode {cost['tangent_decode']:.0f}), "
          f"object-space {cost['object']:.0f} ns/px (normal decode "
          f"{cost['object_decode']:.0f}); tangent/object = "
          f"{cost['tangent'] / cost['object']:.2f}× (decode "
          f"{cost['tangent_decode'] / cost['object_decode']:.2f}×); MikkTSpace tangents for "
          f"the mesh {cost['tangent_setup_seconds']:.1f} s once  [{load()}]")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
