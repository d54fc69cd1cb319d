"""High-poly → game-ready low-poly asset in one call: decimate, unwrap, bake, export, report.

Stages (each timed, see :attr:`ReduceResult.seconds`):

1. **load**: the high-poly (a path or a :class:`~normalkit.mesh.model.Mesh`). A high-poly
   without normals gets smooth ones split at ``hard_angle`` (said in one line), so hard
   surfaces (CAD parts) keep their creases.
2. **decimate**: quadric error, part by part (:func:`normalkit.assets.decimate.decimate`); the
   distance it reached is measured.
3. **unwrap**: xatlas charts cut at every hard edge, packed for ``size``
   (:func:`normalkit.assets.unwrap.unwrap`).
4. **bake**: the normal map (:func:`normalkit.baking.bake.bake`) and, when the high-poly has
   colour, the base colour, with the same rays. Rays start on a *cage*: the low-poly
   pushed out along its averaged vertex normals (:func:`projection_cage`), and run
   through the low-poly surface, so on both sides of a hard edge they fan out from the
   same points and leave no gap or seam (xNormal's and Substance's "averaged normals"
   projection), while the tangent frames use the split normals. Cage distance and ray
   depth come from the measured decimation error: 2 × the largest distance of the
   high-poly outside (inside) the low-poly, plus 0.2 % of the bounding-box diagonal.
   Texels whose rays all missed get a second pass with rays twice as long; what still
   misses is reported and padded from its neighbours.
5. **export**: the PNG maps, ``NAME.glb`` (tangent space only: glTF has no
   object-space normal texture) and ``NAME.obj`` + ``NAME.mtl``, then ``report.json``
   (the PNG files are encoded on a second thread while the GLB is written).

Everything is built in a hidden temporary folder beside ``outdir`` and moved into place
at the end, so a failure leaves nothing partial in ``outdir``.

Files (NAME from the high-poly's file name):
``NAME.glb`` (mesh with MikkTSpace tangents, 8-bit normal map and base colour embedded),
``NAME.obj`` + ``NAME.mtl``, ``NAME_normal.png`` (16-bit, OpenGL green, MikkTSpace;
``NAME_normal_object.png`` in object space), ``NAME_basecolor.png`` (8-bit sRGB, when
the high-poly has colour), ``NAME_cage.obj`` (the projection cage, to re-bake elsewhere
with the same rays, e.g. Blender's "Cage Object") and ``report.json``.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_folder, check_outputs
from ..core.errors import NormalkitError
from ..core.parallel import run_threads
from ..mesh.model import Mesh, _normalize, weld_positions

STAGES = ("load", "decimate", "unwrap", "bake", "export")
SPACES = ("tangent", "object")
#: Ray extrusion and depth: this many times the measured decimation error, plus
#: RAY_MARGIN × the bounding-box diagonal.
RAY_FACTOR = 2.0
RAY_MARGIN = 0.002


@dataclass
class ReduceResult:
    """What :func:`reduce` produced.

    outdir : the output folder. files : role ("glb", "obj", "mtl", "normal_map",
    "color_map", "cage", "report") → path inside ``outdir``. report : the content of
    ``report.json``. seconds : wall time per stage (``STAGES``) and "total".
    low : the exported low-poly (per-corner normals and UVs). normals, color : the
    baked maps as :class:`~normalkit.baking.bake.BakeResult` arrays (color may be None).
    """

    outdir: Path
    files: dict
    report: dict
    seconds: dict
    low: Mesh
    normals: np.ndarray
    color: np.ndarray | None = None

    def table(self) -> str:
        """Timing table, one row per stage, seconds and share of the total."""
        r = self.report
        details = {
            "load": f"{r['triangles_in']:,} triangles",
            "decimate": (f"→ {r['triangles_out']:,} triangles, max error "
                         f"{r['decimation']['max_error']:.3g}"),
            "unwrap": f"{r['unwrap']['charts']} charts, {r['unwrap']['hard_edges']} hard edges",
            "bake": (f"{r['bake']['size']}² {r['bake']['space']}, {r['texels']:,} texels, "
                     f"{r['misses']:,} missed" + (" + colour" if r['bake']['color'] else "")),
            "export": "PNG, " + ", ".join(k.upper() for k in ("glb", "obj")
                                          if k in self.files),
        }
        total = self.seconds["total"]
        lines = [f"{'stage':<10}{'seconds':>9}{'share':>8}  detail"]
        for stage in STAGES:
            s = self.seconds[stage]
            lines.append(f"{stage:<10}{s:>9.2f}{100 * s / max(total, 1e-9):>7.0f}%  "
                         f"{details[stage]}")
        m = r["machine"]
        lines.append(f"{'total':<10}{total:>9.2f}{100:>7.0f}%  on {m['cores']} cores, load "
                     f"{m['load_average'][0]:.2f}")
        return "\n".join(lines)

    def summary(self) -> str:
        r = self.report
        return (f"{r['name']}: {r['triangles_in']:,} → {r['triangles_out']:,} triangles "
                f"(max error {r['decimation']['max_error']:.3g}, "
                f"{100 * r['decimation']['relative_error']:.3f}% of the diagonal), "
                f"{r['bake']['size']}² {r['bake']['space']}-space map, {r['misses']:,} missed "
                f"texels; wrote {', '.join(p.name for p in self.files.values())} to "
                f"{self.outdir} in {self.seconds['total']:.2f} s")


def _check_args(space, samples, size, hard_angle) -> None:
    from ..baking.raster import SAMPLE_COUNTS
    from ..core.limits import check_size
    from ..mesh.normals import check_hard_angle

    if space not in SPACES:
        raise NormalkitError(f"space must be 'tangent' or 'object', got {space!r}")
    if samples not in SAMPLE_COUNTS:
        raise NormalkitError(f"samples must be one of {SAMPLE_COUNTS}, got {samples!r}")
    check_size(size, "size")
    check_hard_angle(hard_angle)


def output_names(asset: str, space: str, maps=()) -> list[str]:
    """The files :func:`reduce` may write into its folder, for asset name ``asset``."""
    normal = f"{asset}_normal.png" if space == "tangent" else f"{asset}_normal_object.png"
    return [f"{asset}.glb", f"{asset}.obj", f"{asset}.mtl", normal, f"{asset}_basecolor.png",
            f"{asset}_cage.obj", "report.json",
            *[f"{asset}_{m}.png" for m in maps if m != "normal"]]


def _asset_name(name: str | None, high_name: str) -> str:
    stem = name if name is not None else Path(high_name).stem
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).strip(".") or "asset"
    return safe


def projection_cage(low: Mesh, distance: float) -> Mesh:
    """The low-poly pushed out by ``distance`` along its averaged vertex normals.

    Each vertex (welded by position) moves along the normalized sum of its corners'
    normals weighted by corner angle. Across a hard edge both sides share these
    vertices, so their rays fan out from the same cage edge and cover the edge instead
    of leaving a wedge unsampled. Same triangles (and triangle order) as ``low``.
    """
    from ..mesh.normals import corner_angles

    vid = weld_positions(low.positions)[low.faces]
    n_v = int(vid.max()) + 1
    weighted = (corner_angles(low.corner_positions())[..., None] * low.normals).reshape(-1, 3)
    acc = np.zeros((n_v, 3))
    for c in range(3):
        acc[:, c] = np.bincount(vid.reshape(-1), weights=weighted[:, c], minlength=n_v)
    pos = np.zeros((n_v, 3))
    pos[vid.reshape(-1)] = low.corner_positions().reshape(-1, 3)
    return Mesh(positions=pos + distance * _normalize(acc), faces=vid,
                name=f"{low.name} cage")


def reduce(high, outdir, *, faces: int | None = None, ratio: float | None = None,
           size: int = 2048, space: str = "tangent", hard_angle: float = 60.0,
           samples: int = 4, name: str | None = None, threads: int | None = None,
           progress: bool = False, log=None, maps=("normal",),
           map_settings=None) -> ReduceResult:
    """Turn a high-poly into a textured low-poly asset in ``outdir``.

    Parameters
    ----------
    high : Mesh or path
        The detailed model (OBJ, PLY, STL, OFF, glTF/GLB). Its vertex colours or
        base-colour texture, if any, are baked into ``NAME_basecolor.png``.
    outdir : path
        Output folder; created (with the files moved in at the end) if missing. Files
        of the same names in an existing folder are replaced; nothing else is touched.
    faces, ratio : int or float
        Target triangle count, or fraction of the input's triangles (exactly one).
    size : int
        Texture size (square), default 2048.
    space : "tangent" | "object"
        Normal map space. Object-space maps have no glTF slot: only the OBJ is written.
    hard_angle : float
        Degrees: sharper edges get split normals and UV seams (and a high-poly without
        normals gets its normals split there too).
    samples : 1, 4, 16 or 64
        Samples per texel.
    name : str, optional
        Base name of the files (default: the high-poly's file name without extension).
    threads : int, optional
        Bake threads (default: all cores).
    progress : bool
        Progress bar during the bake, one line per stage before.
    log : callable, optional
        Receives one-line notices and warnings.
    maps, map_settings
        The rest of the bake set, as :func:`normalkit.baking.bake.bake` takes them: each
        extra map is written as ``NAME_<map>.png`` (16-bit; ``id`` 8-bit), and with
        "ao" the GLB carries it as its ``occlusionTexture``.

    Returns
    -------
    ReduceResult

    Raises
    ------
    NormalkitError
        Bad arguments (checked before any work: a face target of zero, below zero or
        above the input's count, …), unreadable input, unwritable ``outdir``, or an
        output file that would replace the input (``high`` inside ``outdir`` under an
        output's name). Nothing is left in ``outdir`` then.

    Notes
    -----
    Cost: decimation ≈2 s per million input triangles (fast-simplification, one core),
    unwrapping ≈1 s per 5k output triangles, the bake ≈0.3 s per million rays on 2 cores
    (its high-poly BVH is built on the other core while decimation runs); a 2048² 16-bit
    PNG ≈0.05 s.
    """
    from ..baking.bake import check_threads
    from ..baking.bake import peak_bytes as bake_peak_bytes
    from ..baking.maps import check_maps
    from ..baking.prepared import PreparedHigh, _as_mesh
    from ..core.commands import view_command
    from ..core.limits import check_memory
    from ..core.parallel import default_threads
    from ..mesh.io import save_obj
    from ..mesh.normals import smooth_normals
    from .decimate import decimate, target_faces
    from .unwrap import unwrap

    t_start = time.perf_counter()
    log = log or (lambda msg: None)
    say = log if progress else (lambda msg: None)
    _check_args(space, samples, size, hard_angle)
    check_threads(threads)
    size = int(size)
    outdir = Path(outdir)
    seconds = {}
    t0 = time.perf_counter()
    if isinstance(high, (str, os.PathLike)):
        inputs, high_name = {"HIGH": high}, Path(high).name
    else:
        high = _as_mesh(high, "high-poly")
        inputs, high_name = {}, high.name
    asset = _asset_name(name, high_name)
    maps = check_maps(maps)
    check_outputs([("output", n) for n in output_names(asset, space, maps)], inputs,
                  folder=outdir,
                  fix="choose another output folder or --name")
    if inputs:
        from ..mesh.io import load_mesh

        high = load_mesh(high, log=log)
    target = target_faces(high.n_faces, faces, ratio)  # fail before any work
    check_memory(bake_peak_bytes(size, size, high.has_color), f"a {size}×{size} bake",
                 "use a smaller --size")
    if high.normals is None:
        log(f"{high.name}: has no normals; using smooth normals split at edges sharper than "
            f"{hard_angle:g}° (--hard-angle)")
        high = high.replace(normals=smooth_normals(high, hard_angle=float(hard_angle)))
    seconds["load"] = time.perf_counter() - t0

    try:
        with atomic_folder(outdir, inputs) as tmp:
            t0 = time.perf_counter()
            # The bake's high-poly side (Embree scene, packed normals) is built on a
            # thread meanwhile: decimation and unwrapping leave a core to it.
            prepared = PreparedHigh(high, log=log)
            say(f"decimating {high.n_faces:,} → {target:,} triangles …")
            low, dinfo = decimate(high, faces=target, log=log)
            # Let the high-poly side finish before xatlas runs: xatlas's thread pool can
            # lose its shutdown wake-up (it notifies without holding the worker's lock)
            # and hang when other threads crowd the cores. Decimation takes far longer
            # than the BVH build, so this costs no time.
            prepared.wait()
            seconds["decimate"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            say(f"unwrapping {low.n_faces:,} triangles for {size}² …")
            low, uinfo = unwrap(low, size=size, hard_angle=float(hard_angle), log=log)
            seconds["unwrap"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            extrusion = RAY_FACTOR * dinfo.max_outside + RAY_MARGIN * dinfo.diagonal
            depth = RAY_FACTOR * dinfo.max_inside + RAY_MARGIN * dinfo.diagonal
            cage = projection_cage(low, extrusion)
            result, second = _bake_two_passes(
                prepared, low, cage, extrusion, depth, log, size=size, space=space,
                samples=samples, threads=threads, progress=progress, color=high.has_color,
                maps=maps, map_settings=map_settings)
            seconds["bake"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            say("writing maps, GLB and OBJ …")
            files = _export(tmp, asset, low, result, space, log)
            files["cage"] = tmp / f"{asset}_cage.obj"
            save_obj(cage, files["cage"])

            cores = threads or default_threads()
            stats = result.stats
            report = {
                "normalkit": _version(),
                "name": asset,
                "input": high.name,
                "triangles_in": dinfo.faces_in,
                "triangles_out": low.n_faces,
                "target_faces": target,
                "texels": stats["texels"],
                "misses": stats["miss_texels"],
                "decimation": dinfo.to_dict(),
                "unwrap": uinfo.to_dict(),
                "bake": {"size": size, "space": space, "samples": samples,
                         "color": result.color is not None, "rays": stats["rays"],
                         "ray_misses": stats["ray_misses"], "miss_texels": stats["miss_texels"],
                         "texels": stats["texels"], "cage_extrusion": extrusion,
                         "max_distance": depth, "padding": "infinite",
                         "overlap_texels": stats["overlap_texels"], "second_pass": second,
                         "maps": [m for m in result.maps if m != "normal"],
                         "ranges": result.ranges, "map_coverage": stats.get("maps", {})},
                "files": {k: p.name for k, p in files.items()},
                "viewer": view_command(outdir, high=inputs.get("HIGH")),
                "seconds": {},
                "machine": {"cores": cores, "load_average": list(os.getloadavg())},
            }
            files["report"] = tmp / "report.json"
            report["files"]["report"] = "report.json"
            seconds["export"] = time.perf_counter() - t0
            seconds["total"] = time.perf_counter() - t_start
            report["seconds"] = {k: round(v, 4) for k, v in seconds.items()}
            files["report"].write_text(json.dumps(report, indent=2) + "\n")
    except OSError as exc:  # disk full, permissions changed meanwhile, …
        raise NormalkitError(f"cannot write the asset into '{outdir}': {exc.strerror or exc}; "
                             "free some space or choose another folder") from None
    files = {k: outdir / p.name for k, p in files.items()}
    seconds["total"] = time.perf_counter() - t_start
    return ReduceResult(outdir=outdir, files=files, report=report, seconds=seconds, low=low,
                        normals=result.normals, color=result.color)


def _bake_two_passes(high, low: Mesh, cage: Mesh, extrusion: float, depth: float, log,
                     **kw):
    """Bake; texels whose rays all missed get a second pass with rays twice as long.

    Both passes bake without padding; the merged maps are padded (to infinity) once.
    Returns the result and, if a second pass ran, a dict describing it (else None).
    """
    from ..baking.bake import bake
    from ..baking.padding import dilate_in_place

    def quiet(msg):  # the first pass's misses are handled (and reported) below
        if "got no hit" not in msg:
            log(msg)

    result = bake(high, low, cage=cage, max_distance=depth, padding=0, log=quiet, **kw)
    second = None
    first_misses = result.stats["miss_texels"]
    if first_misses:
        kw2 = dict(kw, progress=False)
        if result.ranges:  # normalize the second pass's maps like the first's
            from dataclasses import replace

            from ..baking.maps import MapSettings

            fixed = {f"{m}_range": r for m, r in result.ranges.items()}
            kw2["map_settings"] = replace(kw.get("map_settings") or MapSettings(), **fixed)
        again = bake(high, low, cage=projection_cage(low, 2 * extrusion),
                     max_distance=2 * depth, padding=0, log=lambda msg: None, **kw2)
        fill = result.misses & again.coverage
        result.normals[fill] = again.normals[fill]
        if result.color is not None:
            result.color[fill] = again.color[fill]
        for group in ("maps", "raw"):
            for m, img in getattr(result, group).items():
                if m != "normal":
                    img[fill] = getattr(again, group)[m][fill]
        result.coverage |= fill
        result.misses &= ~fill
        result.stats["miss_texels"] = int(result.misses.sum())
        second = {"texels": first_misses, "filled": int(fill.sum()),
                  "cage_extrusion": 2 * extrusion, "max_distance": 2 * depth,
                  "seconds": again.stats["seconds"]}
        log(f"{first_misses:,} texels got no hit within the ray distance derived from the "
            f"decimation error; a second pass with rays twice as long filled "
            f"{second['filled']:,} of them"
            + (f"; {result.stats['miss_texels']:,} stay empty and take their neighbours' "
               "values (padding). A larger --faces target leaves less to bridge"
               if result.stats["miss_texels"] else ""))
    if result.coverage.any():  # pad every map into the empty texels, once, in place
        images = [result.normals] + ([result.color] if result.color is not None else [])
        for group in ("maps", "raw"):
            images += [v for k, v in getattr(result, group).items()
                       if v is not result.normals and all(v is not x for x in images)]
        dilate_in_place(images, result.coverage, math.inf)
    return result, second


def _export(tmp: Path, asset: str, low: Mesh, result, space: str, log) -> dict:
    """PNG maps, GLB and OBJ into ``tmp``; the PNG files are encoded beside the GLB."""
    from ..baking.maps import encode_map
    from ..images.io import write_image
    from ..maps.encode import encode_normals
    from ..mesh.model import encode_color
    from ..mesh.tangents import compute_tangents
    from .export import export_glb, export_obj

    files = {}
    normal16 = encode_normals(result.normals, 16)
    files["normal_map"] = tmp / (f"{asset}_normal.png" if space == "tangent"
                                 else f"{asset}_normal_object.png")
    color8 = None
    if result.color is not None:
        color8 = encode_color(result.color)
        if (color8[..., 3] == 255).all():
            color8 = np.ascontiguousarray(color8[..., :3])  # opaque: RGB
        files["color_map"] = tmp / f"{asset}_basecolor.png"
    jobs = [lambda: write_image(files["normal_map"], normal16)]
    if color8 is not None:
        jobs.append(lambda: write_image(files["color_map"], color8))
    for m in result.maps:
        if m == "normal":
            continue
        files[f"{m}_map"] = tmp / f"{asset}_{m}.png"
        image, text = encode_map(m, result, 8 if m == "id" else 16)
        jobs.append(lambda p=files[f"{m}_map"], i=image, t=text: write_image(p, i, text=t))
    ao8 = None
    if "ao" in result.maps:  # glTF's occlusionTexture: linear, the R channel
        ao8 = np.round(np.clip(result.maps["ao"][..., 0], 0, 1) * 255).astype(np.uint8)
        ao8 = np.ascontiguousarray(np.repeat(ao8[..., None], 3, axis=2))
    if space == "tangent":
        files["glb"] = tmp / f"{asset}.glb"

        def glb():
            # The GLB carries the game-ready 8-bit map (what engines compress and web
            # viewers decode anyway; a third of the bytes); the PNG file keeps 16 bits.
            normal8 = encode_normals(result.normals, 8)
            export_glb(files["glb"], low, normal8, color8, tangents=compute_tangents(low),
                       name=asset, log=log, check_map=False,  # our own bake
                       occlusion_map=ao8)

        jobs.append(glb)
    else:
        log("object-space normal maps have no glTF equivalent (normalTexture is tangent "
            f"space): wrote {asset}.obj + PNG only; use --space tangent for a GLB")
    # Together: OpenCV's PNG encoder releases the GIL. An interrupt or a failure returns
    # only once none of them runs, before the staging folder is removed.
    run_threads(lambda job: job(), jobs, len(jobs))
    files["obj"] = tmp / f"{asset}.obj"
    export_obj(files["obj"], low, files["normal_map"], files.get("color_map"), space=space,
               log=log, check_textures=False)  # our own maps, just written
    files["mtl"] = tmp / f"{asset}.mtl"
    return files


def _version() -> str:
    from .. import __version__

    return __version__
