"""Estimate the normal maps of a whole views folder: RGB views → views that
``normalkit reconstruct`` reads (MeshFormer's path: RGB views → estimated normals → a
textured mesh with a normal texture).

:func:`estimate_views` runs an estimator on every view's colour image and writes each
prediction as a 16-bit camera-frame normal map (``normal_est_000.png`` …):

* in place, into a views folder whose views name no normal map yet: the folder's
  ``cameras.json`` gains ``files["normal_camera_16"]`` per view, or its ``transforms.json``
  gains ``normal_file_path`` per frame and ``"normal_frame": "camera"``;
* or into a new folder (``outdir``), a copy of the views (colour and mask images, the
  JSON) with the estimated normals in place of any that were there; the source is left
  as it was.

Each view is predicted in its own camera's frame. Where views overlap, their predictions
should agree once turned into the world frame; :func:`view_agreement` measures that on
the visual hull of the masks (a pixel's ray meets the hull, the point is projected into
each other view that sees it, and the two world normals are compared).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from ..core.progress import progress_bar
from ..images.io import read_image, write_image
from ..maps.encode import encode_normals
from ..reconstruction.views import View, load_views, view_files

__all__ = ["estimate_views", "view_agreement"]


def _out_name(k: int) -> str:
    return f"normal_est_{k:03d}.png"


def estimate_views(source, estimator, *, outdir=None, progress: bool = True,
                   log=None) -> dict:
    """Fill in the normal maps of every view of ``source`` (see the module).

    Returns a dict: ``folder`` (where the views now are), ``views`` (per view: name,
    seconds, model seconds), ``agreement`` (:func:`view_agreement` of the result).
    """
    kind, json_path, doc, files = view_files(source, log)
    missing = [k for k, f in enumerate(files) if f["rgb"] is None]
    if missing:
        raise NormalkitError(f"view {missing[0]} names no rgb image: estimation needs the "
                             "colour of every view")
    named = [k for k, f in enumerate(files) if f["normal"] is not None]
    if outdir is None and named:
        raise NormalkitError(f"view {named[0]} of '{json_path}' already has a normal map "
                             f"('{files[named[0]]['normal'].name}'); pass -o OUTDIR to write "
                             "the views with estimated normals to a new folder")
    rows, predictions = [], []
    bar = progress_bar(len(files), progress, "estimate", "view")
    try:
        for k, f in enumerate(files):
            img = read_image(f["rgb"])
            est = estimator.predict(img, label=f"view {k} ({f['rgb'].name})")
            predictions.append(encode_normals(est.normals, 16))
            rows.append({"name": f["rgb"].name, "model_seconds": est.model_seconds})
            bar.update(1)
    finally:
        bar.close()
    doc = json.loads(json.dumps(doc))  # a copy to edit
    entries = doc["views"] if kind == "normalkit" else doc["frames"]
    if outdir is None:
        folder = json_path.parent
        _write_in_place(folder, json_path, kind, doc, entries, predictions)
    else:
        folder = _write_copy(Path(outdir), json_path, kind, doc, entries, files, predictions)
    try:
        agreement = view_agreement(load_views(folder / json_path.name, log=None))
    except NormalkitError as exc:  # the normals are written; only the measure failed
        agreement = {"median_deg": None, "mean_deg": None, "pairs": [], "pixels": 0,
                     "error": str(exc)}
    return {"folder": str(folder), "views": rows, "agreement": agreement,
            "model": estimator.describe()}


def _set_normal(kind: str, doc: dict, entry: dict, name: str) -> None:
    if kind == "normalkit":
        files = entry["files"]
        for role in [r for r in files if r.startswith(("normal_camera_", "normal_world_"))]:
            del files[role]
        files["normal_camera_16"] = name
    else:
        entry["normal_file_path"] = name
        doc["normal_frame"] = "camera"


def _write_in_place(folder, json_path, kind, doc, entries, predictions) -> None:
    from ..core.atomic import atomic_path

    written = []
    try:
        for k, (entry, img) in enumerate(zip(entries, predictions, strict=True)):
            with atomic_path(folder / _out_name(k)) as tmp:
                write_image(tmp, img)
            written.append(folder / _out_name(k))
            _set_normal(kind, doc, entry, _out_name(k))
        with atomic_path(json_path) as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=2))
    except BaseException:
        for p in written:  # no half-filled folder: the JSON still names no normals
            p.unlink(missing_ok=True)
        raise


def _write_copy(outdir, json_path, kind, doc, entries, files, predictions) -> Path:
    from ..core.atomic import atomic_folder

    with atomic_folder(outdir, {"views": json_path}) as tmp:
        for k, (entry, f, img) in enumerate(zip(entries, files, predictions, strict=True)):
            rgb = f"rgb_{k:03d}{f['rgb'].suffix}"
            shutil.copyfile(f["rgb"], tmp / rgb)
            if f["mask"] is not None:
                mask = f"mask_{k:03d}{f['mask'].suffix}"
                shutil.copyfile(f["mask"], tmp / mask)
            write_image(tmp / _out_name(k), img)
            if kind == "normalkit":
                entry["files"] = {"rgb": rgb, **({"mask": mask} if f["mask"] else {})}
            else:
                entry["file_path"] = rgb
                if f["mask"] is not None:
                    entry["mask_path"] = mask
            _set_normal(kind, doc, entry, _out_name(k))
        (tmp / json_path.name).write_text(json.dumps(doc, indent=2))
    return outdir


def view_agreement(views: list[View], *, resolution: int = 96, stride: int = 2) -> dict:
    """How far the views' world-frame normals disagree where they see the same surface.

    The surface is the visual hull of the masks (coarse: ``resolution`` voxels across),
    so this measures disagreement up to the hull's error; ground-truth normals give its
    floor. Every ``stride``-th pixel of each view's mask is cast at the hull; the hit is
    projected into each other view, which must see it first (its own ray meets the hull
    within a voxel of it) and hold it inside its mask.

    Returns ``{"median_deg", "mean_deg", "pairs": [[i, j, median, pixels], …], "pixels"}``.
    """
    from ..baking.rays import RayCaster
    from ..reconstruction.hull import visual_hull

    hull = visual_hull(views, resolution=resolution)
    caster = RayCaster(hull.mesh.positions, hull.mesh.faces)
    tol = 1.5 * hull.voxel
    pairs, errors = [], []
    for i, vi in enumerate(views):
        o, d, pix = vi.camera.rays()
        keep = vi.mask.reshape(-1)[pix] & (np.arange(len(pix)) % stride == 0)
        o, d, pix = o[keep], d[keep], pix[keep]
        hits = caster.intersect(o, d, np.full(len(o), np.inf, np.float32))
        ok = hits.prim >= 0
        x = o[ok] + d[ok] * hits.t[ok, None]
        ni = vi.normals.reshape(-1, 3)[pix[ok]]
        for j, vj in enumerate(views):
            if j == i:
                continue
            xy = vj.camera.project(x)
            col = np.floor(xy[:, 0]).astype(np.int64)
            row = np.floor(xy[:, 1]).astype(np.int64)
            inside = ((col >= 0) & (col < vj.camera.width) & (row >= 0)
                      & (row < vj.camera.height) & np.isfinite(xy).all(axis=1))
            sel = np.flatnonzero(inside)
            sel = sel[vj.mask[row[sel], col[sel]]]
            if len(sel) == 0:
                continue
            oj = np.broadcast_to(vj.camera.position, (len(sel), 3)).astype(np.float32)
            if vj.camera.orthographic:
                dirs = np.broadcast_to(vj.camera.forward, (len(sel), 3)).astype(np.float32)
                oj = (x[sel] - dirs * 100.0 * hull.voxel * resolution).astype(np.float32)
            else:
                dirs = (x[sel] - oj).astype(np.float32)
                dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
            hj = caster.intersect(oj, dirs, np.full(len(sel), np.inf, np.float32))
            first = oj + dirs * hj.t[:, None]
            seen = (hj.prim >= 0) & (np.linalg.norm(first - x[sel], axis=1) < tol)
            sel = sel[seen]
            if len(sel) == 0:
                continue
            nj = vj.normals[row[sel], col[sel]]
            cos = np.clip(np.einsum("ij,ij->i", ni[sel], nj), -1.0, 1.0)
            ang = np.degrees(np.arccos(cos))
            pairs.append([i, j, float(np.median(ang)), int(len(ang))])
            errors.append(ang)
    if not errors:
        return {"median_deg": None, "mean_deg": None, "pairs": [], "pixels": 0}
    allerr = np.concatenate(errors)
    return {"median_deg": float(np.median(allerr)), "mean_deg": float(allerr.mean()),
            "pairs": pairs, "pixels": int(len(allerr))}
