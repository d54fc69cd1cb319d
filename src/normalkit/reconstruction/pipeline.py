"""``reconstruct``: posed views → a textured mesh with a normal texture, and its report.

One function serves the Python API and ``normalkit reconstruct``:
:func:`reconstruct` computes everything in memory; :func:`write_reconstruction` writes
the GLB (colour + normal textures, TANGENT), OBJ/MTL, the PNG textures and the reports
into a folder, atomically.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from ..core.progress import progress_bar
from ..mesh.model import Mesh

__all__ = ["ReconstructResult", "output_names", "reconstruct", "write_reconstruction"]

#: Triangles of the first, coarse fit that anchors the carving.
ANCHOR_FACES = 15000

#: Stages, in order, as they appear in the report's timings.
STAGES = ("views", "hull", "carve", "shape", "decimate", "unwrap", "normal texture",
          "colour texture", "residuals", "metrics")


@dataclass
class ReconstructResult:
    """What :func:`reconstruct` returns.

    mesh : Mesh, the output: ``faces`` triangles with UVs and normals (closed wherever
        the object is).
    normal_map : (T, T, 3) float32 MikkTSpace tangent-space unit normals (OpenGL green).
    color_map : (T, T, 4) uint8 sRGB RGBA.
    high : Mesh, the refined mesh the normal texture was baked from.
    hull : Mesh, the visual hull.
    report : dict, timings, counts, per-view residuals and (with a reference) metrics.
    """

    mesh: Mesh
    normal_map: np.ndarray
    color_map: np.ndarray
    high: Mesh
    hull: Mesh
    report: dict = field(default_factory=dict)

    def summary(self) -> str:
        r = self.report
        s = (f"{r['faces']:,} faces, {r['texture']}² textures from {r['views_used']} views in "
             f"{r['seconds']['total']:.1f} s; normal residual median "
             f"{r['residuals']['median_deg']:.2f}° (mesh alone "
             f"{r['residuals']['median_deg_mesh_only']:.2f}°), mask IoU "
             f"{r['residuals']['mask_iou']:.3f}")
        m = r.get("metrics")
        if m:
            s += (f"; vs reference: Chamfer {m['chamfer']:.4f}, F@0.05 "
                  f"{m['fscore']['0.05']['f']:.3f}")
        return s


def _check_args(faces, texture, resolution, rounds, threads) -> None:
    from ..baking.bake import check_threads
    from ..core.limits import check_size

    check_threads(threads)
    if isinstance(faces, bool) or int(faces) != faces or not 100 <= int(faces) <= 5_000_000:
        raise NormalkitError(f"faces must be an integer in [100, 5000000], got {faces!r}")
    check_size(texture, "texture")
    if isinstance(rounds, bool) or int(rounds) != rounds or not 0 <= int(rounds) <= 100:
        raise NormalkitError(f"rounds must be an integer in [0, 100], got {rounds!r}")
    if not 32 <= int(resolution) <= 512:
        raise NormalkitError(f"hull resolution must be in [32, 512], got {resolution!r}")


def reconstruct(views, *, faces: int = 20000, texture: int = 2048, use_views=None,
                reference=None, resolution: int = 160, rounds: int = 16,
                detail_faces: int | None = None, carve: bool = True,
                threads: int | None = None,
                progress: bool = False, log=None) -> ReconstructResult:
    """Reconstruct a textured mesh from posed views with normal maps.

    Parameters
    ----------
    views : path or list of View
        A views folder (``cameras.json``, as ``normalkit render`` writes it), a
        ``cameras.json`` or ``transforms.json`` path, or
        :class:`~normalkit.reconstruction.views.View` objects.
    faces : int
        Triangles of the output mesh.
    texture : int
        Side of the square colour and normal textures, in texels.
    use_views : list of int, optional
        Indices of the views to use (default: all).
    reference : Mesh or path, optional
        Ground truth: the report gets Chamfer distance, F-scores and normal consistency
        (:func:`normalkit.rendering.mesh_metrics.mesh_metrics`, MeshFormer's protocol).
    resolution : int
        Voxels along the visual hull's longest side.
    rounds : int
        Shape-from-normals rounds (0: the visual hull alone).
    detail_faces : int, optional
        Triangles of the refined mesh the normal texture is baked from (default
        max(3 × faces, 60000)).
    carve : bool
        Carve concavities that no silhouette shows, where the views' integrated normals
        put the surface behind the hull (:mod:`normalkit.reconstruction.carve`).
    threads : int, optional
    progress : bool
        A progress bar on stderr (on a terminal).
    log : callable, optional
        One-line notices.

    Returns
    -------
    ReconstructResult

    Raises
    ------
    NormalkitError
        Bad views (see :func:`~normalkit.reconstruction.views.load_views`), masks without a
        common volume, or bad parameters.
    """
    from ..assets.unwrap import unwrap
    from ..baking.bake import bake
    from ..core.limits import check_memory
    from ..mesh.normals import smooth_normals
    from .carve import carve as carve_hull
    from .denoise import denoise_views, keep_detail_only
    from .hull import visual_hull
    from .shape import decimate_closed, refine, refine_rounds, taubin
    from .texture import project_colors, project_normals, texel_frame, view_weights
    from .views import check_views, load_views, select_views

    _check_args(faces, texture, resolution, rounds, threads)
    faces, texture = int(faces), int(texture)
    detail = int(detail_faces) if detail_faces else max(3 * faces, 60000)
    # Bake-sized buffers for two textures plus the views.
    check_memory(2 * 64 * texture * texture + int(4e8), f"a {texture}² reconstruction",
                 "use a smaller --texture")
    say = log or (lambda _msg: None)
    seconds = {}
    bar = progress_bar(len(STAGES) + refine_rounds(detail, int(rounds)), progress,
                       "reconstruct", "step")
    t_all = time.perf_counter()

    def stage(name, t0):
        seconds[name] = round(time.perf_counter() - t0, 3)
        bar.update(1)

    t0 = time.perf_counter()
    if reference is not None and not isinstance(reference, Mesh):
        from ..mesh.io import load_mesh

        reference = load_mesh(reference)  # a bad path fails before any work
    source = None
    if isinstance(views, (str, os.PathLike)):
        source = str(Path(views).resolve())
        views = load_views(views, use_views=use_views, log=say)
    else:
        views = list(views)
        if use_views is not None:
            views = [views[i] for i in select_views(len(views), use_views)]
        views = check_views(views, log=say)
    # Geometry averages noise out; a projected texture would copy it.
    texture_views, noise = denoise_views(views, log=say)
    stage("views", t0)

    t0 = time.perf_counter()
    hull = visual = visual_hull(views, resolution=resolution, log=say)
    stage("hull", t0)

    carved = 0.0
    if carve and rounds:
        # A first, coarse fit anchors each view's integrated depth; the space in front
        # of it is carved from the hull (concavities that no silhouette shows).
        t0 = time.perf_counter()
        anchor, _ = refine(hull, views, faces=ANCHOR_FACES, rounds=int(rounds))
        hull, carved = carve_hull(hull, views, anchor, log=say)
        stage("carve", t0)
    else:
        stage("carve", time.perf_counter())

    t0 = time.perf_counter()
    high, info = refine(hull, views, faces=detail, rounds=int(rounds),
                        progress=lambda: bar.update(1))
    seconds["shape"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    low = decimate_closed(high, min(faces, high.n_faces), say)
    low = low.replace(name="reconstruction")
    stage("decimate", t0)

    t0 = time.perf_counter()
    # A reconstructed surface is smooth: its creases live in the normal texture.
    try:
        low_uv, _ = unwrap(low, size=texture, hard_angle=180.0, log=say)
    except NormalkitError:
        # Folds split xatlas's charts into thousands: smooth them out (the normal
        # texture, baked onto the smoothed mesh, keeps the detail) and unwrap again.
        say("unwrap: the mesh is too folded for one atlas; smoothing it (Taubin, 10 "
            "iterations) and unwrapping again")
        low = low.replace(positions=taubin(low.positions, low.faces, 10))
        low_uv, _ = unwrap(low, size=texture, hard_angle=180.0, log=say)
    low = low_uv
    stage("unwrap", t0)

    t0 = time.perf_counter()
    high_n = high.replace(normals=smooth_normals(high))
    # The fallback for texels no view sees; its own notices (a few missed texels, filled
    # by padding) would only repeat what the report's "normals_seen" says.
    baked = bake(high_n, low, size=texture, samples=4, threads=threads)
    frame = texel_frame(low, texture)
    weights = view_weights(low, frame, views, fields=hull.fields)  # for both textures
    texture_views = keep_detail_only(texture_views, high, noise, threads=threads)
    normal_tex = project_normals(low, frame, texture_views, weights, baked.normals)
    stage("normal texture", t0)

    t0 = time.perf_counter()
    colour = project_colors(frame, views, weights)
    stage("colour texture", t0)

    t0 = time.perf_counter()
    residuals = view_residuals(low, normal_tex["normals"], views, threads=threads)
    stage("residuals", t0)

    t0 = time.perf_counter()
    metrics = None
    if reference is not None:
        from ..rendering.mesh_metrics import mesh_metrics

        metrics = mesh_metrics(low, reference, log=say)
    stage("metrics", t0)
    bar.close()
    seconds["total"] = round(time.perf_counter() - t_all, 3)
    report = {
        "views_source": source,
        "views_used": len(views),
        "view_names": [v.name for v in views],
        "faces": low.n_faces,
        "detail_faces": high.n_faces,
        "hull_faces": visual.mesh.n_faces,
        "texture": texture,
        "hull_voxel": hull.voxel,
        "carved_fraction": carved,
        "refine": info.to_dict(),
        "colour_seen": colour["seen"],
        "normals_seen": normal_tex["seen"],
        "residuals": residuals,
        "view_noise": noise,
        "metrics": metrics,
        "seconds": seconds,
        "cores": os.cpu_count(),
    }
    return ReconstructResult(mesh=low, normal_map=normal_tex["normals"], color_map=colour["image"],
                             high=high, hull=visual.mesh, report=report)


def view_residuals(mesh: Mesh, normal_map: np.ndarray, views, *, threads=None) -> dict:
    """How well a result explains each view: normal angles and mask overlap.

    The mesh is rendered through each view's camera with and without its normal texture;
    the angle between the rendered and the input normal is taken where both masks hold.
    """
    from ..rendering.render import Renderer

    with_map = Renderer(mesh, normal_map=normal_map, threads=threads)
    plain = Renderer(mesh, threads=threads)
    per_view = []
    pooled, pooled_plain = [], []
    inter_sum = union_sum = 0
    for v in views:
        a = with_map.render(v.camera, passes=("normal_world", "mask"))
        b = plain.render(v.camera, passes=("normal_world",))
        both = a["mask"] & v.mask
        inter, union = int(both.sum()), int((a["mask"] | v.mask).sum())
        err = _angles(a["normal_world"][both], v.normals[both])
        err_plain = _angles(b["normal_world"][both], v.normals[both])
        pooled.append(err)
        pooled_plain.append(err_plain)
        inter_sum += inter
        union_sum += union
        per_view.append({"name": v.name, "median_deg": _median(err),
                         "mean_deg": float(err.mean()) if len(err) else None,
                         "median_deg_mesh_only": _median(err_plain),
                         "mask_iou": inter / union if union else 0.0})
    allerr = np.concatenate(pooled)
    allplain = np.concatenate(pooled_plain)
    return {"median_deg": _median(allerr), "mean_deg": float(allerr.mean()),
            "p95_deg": float(np.percentile(allerr, 95)),
            "median_deg_mesh_only": _median(allplain),
            "mask_iou": inter_sum / union_sum if union_sum else 0.0,
            "views": per_view}


def _angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)))


def _median(x: np.ndarray):
    return float(np.median(x)) if len(x) else None


def output_names(name: str = "mesh") -> list[str]:
    """The files :func:`write_reconstruction` writes."""
    return [f"{name}.glb", f"{name}.obj", f"{name}.mtl", f"{name}_basecolor.png",
            f"{name}_normal.png", "report.json", "report.html"]


def write_reconstruction(result: ReconstructResult, outdir, *, name: str = "mesh",
                         inputs=(), log=None) -> list[Path]:
    """Write ``result`` into ``outdir`` (atomically, as one set): GLB, OBJ/MTL, textures,
    ``report.json`` and ``report.html``. Returns the written paths."""
    import json

    from ..assets.export import export_glb, export_obj
    from ..core.atomic import atomic_folder, atomic_path, check_outputs
    from ..core.commands import view_command
    from ..images.io import write_image
    from ..maps.encode import encode_normals
    from ..mesh.tangents import compute_tangents
    from .report import html_report

    out = Path(outdir)
    names = output_names(name)
    result.report["viewer"] = view_command(out, views=result.report.get("views_source"))
    check_outputs([("output", n) for n in names], inputs, folder=out)
    with atomic_folder(out, inputs) as tmp:
        tmp = Path(tmp)
        color_png = tmp / f"{name}_basecolor.png"
        normal_png = tmp / f"{name}_normal.png"
        write_image(color_png, np.ascontiguousarray(result.color_map[..., :3]))
        write_image(normal_png, encode_normals(result.normal_map, 16))
        export_glb(tmp / f"{name}.glb", result.mesh, encode_normals(result.normal_map, 8),
                   np.ascontiguousarray(result.color_map[..., :3]),
                   tangents=compute_tangents(result.mesh), name=name, log=log,
                   check_map=False)
        export_obj(tmp / f"{name}.obj", result.mesh, normal_png, color_png, log=log,
                   check_textures=False)
        with atomic_path(tmp / "report.json") as p:
            Path(p).write_text(json.dumps(result.report, indent=1))
        with atomic_path(tmp / "report.html") as p:
            Path(p).write_text(html_report(result.report, name))
    return [out / n for n in names]
