"""The evaluation harness: how good is an estimator on views whose normals are known?

:func:`evaluate` reads a views folder (``cameras.json`` or ``transforms.json``, as
``normalkit reconstruct`` reads it) that has ground-truth normals, runs one estimator (and
optionally a second, ``compare_to``) on every view's colour image, and measures the angle
between prediction and truth over the view's mask, in the camera frame:

* per image: mean and median angle, and the share of pixels within 11.25°, 22.5° and 30°
  (the thresholds of the Marigold, DSINE and Lotus papers);
* pooled: the same statistics over the pixels of all images together (each pixel counts
  once, as DSINE pools), and the mean of the per-image means and medians beside them;
* time per image, split into the model's own work and the rest (the wrapper's
  overhead: input conversion, frame conversion, statistics), and the peak memory: the
  process's resident set (``ru_maxrss``) and, on CUDA, PyTorch's peak allocation.

With ``outdir``, it writes one sheet per view (RGB | truth | prediction | error heat map
with its colour bar; a second model adds its prediction and heat map), ``report.json``
and ``report.html``, as one set (atomically).
"""

from __future__ import annotations

import html
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from ..core.progress import progress_bar
from ..reconstruction.views import View, load_views
from ..rendering.metrics import angular_error
from ..rendering.render import linear_to_srgb
from ..rendering.report import BACKGROUND, colour_bar, compose_sheet, heatmap, nice_ceiling

__all__ = ["THRESHOLDS", "error_stats", "evaluate", "truth_in_camera"]

#: Angles (degrees) whose "share of pixels within" the report gives.
THRESHOLDS = (11.25, 22.5, 30.0)


def error_stats(errors: np.ndarray) -> dict:
    """Mean, median and the share (%) of errors within each of :data:`THRESHOLDS`."""
    e = np.asarray(errors, dtype=np.float64).ravel()
    if e.size == 0:
        raise NormalkitError("no pixel to measure: the mask is empty")
    out = {"mean": float(e.mean()), "median": float(np.median(e)), "pixels": int(e.size)}
    for t in THRESHOLDS:
        out[f"within_{t:g}"] = float(100.0 * np.count_nonzero(e < t) / e.size)
    return out


def truth_in_camera(view: View) -> np.ndarray:
    """The view's world-frame truth in its camera frame: n_cam = Rᵀ n_world."""
    r = view.camera.cam_to_world[:3, :3].astype(np.float32)
    return view.normals @ r


def _photo(view: View, label: str) -> np.ndarray:
    if view.rgb is None:
        raise NormalkitError(f"{label} has no colour image: estimators need RGB; add the "
                             "view's rgb file")
    return np.clip(linear_to_srgb(view.rgb), 0.0, 1.0).astype(np.float32)


def _peak_memory_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1 << 20) if sys.platform == "darwin" else kb / 1024.0


def _cuda_peak_mb(estimator) -> float | None:
    torch = getattr(estimator, "_torch", None)
    if torch is None or getattr(estimator, "device", "cpu") != "cuda":
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def evaluate(source, estimator, *, compare_to=None, outdir=None, use_views=None,
             progress: bool = True, log=None) -> dict:
    """Measure ``estimator`` (and ``compare_to``) against a views folder's normals.

    Parameters
    ----------
    source : str or PathLike
        A views folder, ``cameras.json`` or ``transforms.json`` with normal maps.
    estimator, compare_to : NormalEstimator
        See :mod:`normalkit.estimation.backend`; oracles are shown the truth first.
    outdir : str or PathLike, optional
        Where to write the sheets, report.json and report.html.
    use_views : sequence of int, optional
        Views to evaluate (default: all).

    Returns
    -------
    dict
        The report: ``models`` (per model: ``describe()``, ``views`` with per-image
        statistics and seconds, ``pooled``, ``mean_of_images``, ``seconds``,
        ``peak_memory_mb``), ``views`` (names, sizes), ``thresholds``.
    """
    views = load_views(source, use_views=use_views, log=log)
    models = [m for m in (estimator, compare_to) if m is not None]
    photos = [_photo(v, f"view {k} ({v.name})") for k, v in enumerate(views)]
    truths = [truth_in_camera(v) for v in views]
    for m in models:
        if hasattr(m, "observe"):
            for rgb, truth in zip(photos, truths, strict=True):
                m.observe(rgb, truth)
    results, predictions = [], []
    bar = progress_bar(len(views) * len(models), progress, "estimate eval", "image")
    try:
        for m in models:
            rows, preds, pooled = [], [], []
            for k, (v, rgb, truth) in enumerate(zip(views, photos, truths, strict=True)):
                t0 = time.perf_counter()
                est = m.predict(rgb, label=f"view {k} ({v.name})")
                err = angular_error(est.normals, truth)
                stats = error_stats(err[v.mask])
                total = time.perf_counter() - t0
                stats.update(view=v.name, seconds=total, model_seconds=est.model_seconds,
                             overhead_seconds=total - est.model_seconds)
                rows.append(stats)
                preds.append((est.normals, err))
                pooled.append(err[v.mask])
                bar.update(1)
            summary = {
                "model": m.describe(),
                "views": rows,
                "pooled": error_stats(np.concatenate(pooled)),
                "mean_of_images": {key: float(np.mean([r[key] for r in rows]))
                                   for key in ("mean", "median", *(f"within_{t:g}"
                                                                   for t in THRESHOLDS))},
                "seconds": {key: float(np.mean([r[key] for r in rows]))
                            for key in ("seconds", "model_seconds", "overhead_seconds")},
                "peak_memory_mb": _peak_memory_mb(),
                "cuda_peak_memory_mb": _cuda_peak_mb(m),
            }
            results.append(summary)
            predictions.append(preds)
    finally:
        bar.close()
    report = {
        "source": str(source),
        "thresholds": list(THRESHOLDS),
        "pooling": ("pooled: every masked pixel of every image counts once; "
                    "mean_of_images: each image's statistic, averaged over images"),
        "views": [{"name": v.name, "width": v.camera.width, "height": v.camera.height,
                   "mask_pixels": int(v.mask.sum())} for v in views],
        "models": results,
    }
    if outdir is not None:
        _write(outdir, report, views, photos, truths, predictions, source)
    return report


def _encode(n: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Normals as colours (n/2 + 1/2), background in the sheet grey."""
    img = np.clip(n * 0.5 + 0.5, 0.0, 1.0)
    img[~mask] = BACKGROUND
    return img


def _write(outdir, report, views, photos, truths, predictions, source) -> None:
    from ..core.atomic import atomic_folder
    from ..images.io import write_image

    worst = max(float(np.percentile(err[v.mask], 95)) for preds in predictions
                for (_, err), v in zip(preds, views, strict=True))
    vmax = nice_ceiling(max(worst, 1.0))
    names = [r["model"]["name"] for r in report["models"]]
    with atomic_folder(outdir, {"views": Path(source)}) as tmp:
        for k, v in enumerate(views):
            panels = [("RGB", photos[k]), ("truth", _encode(truths[k], v.mask))]
            clipped = False
            for name, preds in zip(names, predictions, strict=True):
                n, err = preds[k]
                panels.append((name, _encode(n, v.mask)))
                panels.append((f"{name} error", heatmap(err, v.mask, vmax)))
                clipped |= bool((err[v.mask] > vmax).any())
            stats = [r["views"][k] for r in report["models"]]
            caption = "; ".join(f"{name}: mean {s['mean']:.2f}°, median {s['median']:.2f}°"
                                for name, s in zip(names, stats, strict=True))
            sheet = compose_sheet(panels, extra=colour_bar(v.camera.height, vmax,
                                                           clipped=clipped),
                                  caption=f"{v.name}: {caption}")
            fname = f"sheet_{k:03d}.png"
            write_image(tmp / fname, sheet)
            report["views"][k]["sheet"] = fname
        (tmp / "report.json").write_text(json.dumps(report, indent=2))
        (tmp / "report.html").write_text(report_html(report))


def report_html(report: dict) -> str:
    """report.html: the pooled table, per-image tables and the sheets."""
    e = html.escape
    cols = ["mean", "median", *(f"within_{t:g}" for t in report["thresholds"])]
    heads = "".join(f"<th>{c} (°)</th>" for c in cols[:2]) + "".join(
        f"<th>&lt; {t:g}° (%)</th>" for t in report["thresholds"])

    def row(label, s):
        return (f"<tr><td>{e(label)}</td>"
                + "".join(f"<td>{s[c]:.2f}</td>" for c in cols) + "</tr>")

    pooled = "".join(row(m["model"]["name"] + " (pooled)", m["pooled"])
                     + row(m["model"]["name"] + " (mean of images)", m["mean_of_images"])
                     for m in report["models"])
    timing = "".join(f"<tr><td>{e(m['model']['name'])}</td><td>{m['seconds']['seconds']:.3f}"
                     f"</td><td>{m['seconds']['model_seconds']:.3f}</td><td>"
                     f"{m['seconds']['overhead_seconds']:.3f}</td><td>"
                     f"{m['peak_memory_mb']:.0f}</td></tr>" for m in report["models"])
    per = "".join(f"<h3>{e(m['model']['name'])}</h3><table><tr><th>view</th>{heads}</tr>"
                  + "".join(row(r["view"], r) for r in m["views"]) + "</table>"
                  for m in report["models"])
    sheets = "".join(f'<p><img src="{e(v["sheet"])}" alt="{e(v["name"])}"></p>'
                     for v in report["views"] if "sheet" in v)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>normalkit estimate eval</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}img{{max-width:100%}}</style>
</head><body><h1>Normal estimation: {e(report['source'])}</h1>
<p>Angular error between prediction and truth over each view's mask, camera frame.
{e(report['pooling'])}.</p>
<table><tr><th>model</th>{heads}</tr>{pooled}</table>
<h2>Time per image (s) and memory</h2>
<table><tr><th>model</th><th>total</th><th>model</th><th>overhead</th><th>peak RSS (MB)</th></tr>
{timing}</table>
<h2>Per image</h2>{per}
<h2>Sheets</h2>{sheets}
</body></html>
"""
