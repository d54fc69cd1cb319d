"""See it and measure it: render high, low and low + map from the same views and compare.

:func:`compare` renders, from ``views`` orbit cameras and under one set of lights
(:func:`normalkit.rendering.render.default_lights`): the high-poly; the low-poly without its map;
the low-poly with its map. It writes into ``outdir``:

- ``sheet_00.png`` … one sheet per view: high | low | low + map | a heat map of the
  angular error between the camera-space normals of low + map and of high, with a
  colour bar in degrees (:mod:`normalkit.rendering.report`);
- ``metrics.json``: per view and pooled over all views, the angular error of low and of
  low + map against high (mean, median, p95, degrees) over the pixels both cover, the
  PSNR (dB) and SSIM of the shaded images over the pixels either covers, and the
  renderer's per-pixel shading cost with a tangent-space and an object-space map;
- ``report.html``: the sheets, a table of the metrics and the shading-cost figures.

Choices
-------
- **Pixels.** Normals are compared where both meshes cover the pixel
  (``mask_high & mask_low``): a normal only exists there. Shaded images are compared
  where either covers it (``mask_high | mask_low``, or any antialiased coverage), after
  putting both renders over the same background (:data:`normalkit.rendering.report.BACKGROUND`):
  silhouette differences count, the empty background does not inflate PSNR or SSIM.
- **Pooling.** "overall" statistics pool the pixels of every view (a pooled median,
  a PSNR of the pooled squared error), not means of per-view numbers.
- **Object-space map for the shading cost.** The given map is converted to the other
  space on the low-poly itself (:mod:`normalkit.baking.spaces`: per texel, the MikkTSpace
  frame of the low-poly, exactly as the renderer decodes it), rather than baking a
  second map from HIGH. The two maps then hold the same normals, so the timing differs
  only by the decode path, and the conversion costs one UV rasterization instead of a
  second bake.
- **Views.** ``views`` cameras on an orbit around both meshes (one distance framing both),
  azimuths evenly spaced from 0° (the front), elevations spread from 10° to 60°
  (:func:`view_elevations`).
- **Heat-map scale.** 0 to the 1-2-5 ceiling of the pooled p95 error of low + map
  (at least 1°), the same for every view, so the worst 5 % saturate (the colour bar then
  reads ">N°"); ``heat_max`` fixes it to compare runs.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_folder, check_outputs
from ..core.errors import NormalkitError
from ..core.plural import count
from ..core.progress import progress_bar
from ..mesh.model import Mesh

__all__ = ["compare", "compare_demo", "summary", "view_elevations", "METRICS_KEYS"]

SPACES = ("tangent", "object")
#: Renders smaller than this are enlarged (nearest neighbour) on the sheets.
SHEET_MIN_PANEL = 64


def output_names(views: int) -> list[str]:
    """The files :func:`compare` writes into its folder for ``views`` views."""
    return [f"sheet_{i:02d}.png" for i in range(views)] + ["metrics.json", "report.html"]
#: Top-level keys of metrics.json (see :func:`compare`).
METRICS_KEYS = ("normalkit_version", "inputs", "viewer", "settings", "units", "views",
                "overall", "shading_cost_ns_per_pixel", "timing")
_PASSES = ("rgb", "alpha", "normal_camera", "mask")
_MAX_EMPTY = 0.5        # more empty texels under LOW's UVs than this: wrong map
_MAX_BELOW = 0.10       # tangent map with more texels at z ≤ 0 than this: wrong space
_COST_REPEAT = 7        # shading-cost timing: best of 7 interleaved runs (shared machines)


def compare(high, low, normal_map, outdir, *, space: str = "tangent", directx: bool = False,
            views: int = 4, size: int = 512, samples: int = 4,
            heat_max: float | None = None, threads: int | None = None,
            progress: bool = False, log=None) -> dict:
    """Render high, low and low + map from the same views; write sheets, metrics and a report.

    Parameters
    ----------
    high, low : Mesh or path
        The detailed mesh and the UV-mapped low-poly the map was baked for. Meshes
        without normals get smooth ones (and ``log`` says so).
    normal_map : path or numpy.ndarray
        The low-poly's normal map: an image file (PNG, EXR, TIFF, …) or an (H, W, 3|4)
        array, uint8/uint16 texels or float vectors (CONVENTIONS.md encoding).
    outdir : path
        Output folder. Created if missing; files of the same names inside it are
        replaced, other files are left alone.
    space : "tangent" | "object"
        The map's space (tangent = MikkTSpace of ``low``).
    directx : bool
        The map's green channel is DirectX (flipped).
    views : int
        Number of orbit cameras (≥ 1), all framing both meshes.
    size : int
        Render width and height in pixels (≥ 32).
    samples : int
        Shading rays per pixel of every render, a perfect square (1, 4, 9, …): the
        renderer's stratified √S × √S grid. Normals always come from the pixel centre.
    heat_max : float, optional
        Top of the heat-map scale in degrees (default: automatic, see module notes).
    threads : int, optional
        Render threads (default: all cores).
    progress : bool
        Show a progress bar on stderr.
    log : callable, optional
        Receives one-line notices and warnings (e.g. ``print``).

    Returns
    -------
    dict
        The content of metrics.json, with keys :data:`METRICS_KEYS`:

        - ``views``: one entry per view with ``view``, ``azimuth_deg``, ``elevation_deg``,
          ``sheet`` (file name), ``sheet_size`` [w, h], ``camera`` (``Camera.to_json()``),
          ``pixels_compared``,
          ``angular_error_deg`` {``low``, ``low_map``} × {``mean``, ``median``, ``p95``,
          ``pixels``}, ``psnr_db`` and ``ssim`` {``low``, ``low_map``}, ``pixels_shaded``.
        - ``overall``: the same statistics pooled over every view's pixels.
        - ``viewer``: the ``normalkit view`` command that orbits the low-poly with its map
          beside the high-poly (None for object-space maps or inputs given as arrays).
        - ``shading_cost_ns_per_pixel``: ``tangent``, ``object`` (full shading),
          ``ratio`` (tangent / object), ``tangent_decode``, ``object_decode`` (up to the
          world-space normal), ``pixels``, ``threads``, ``tangent_setup_seconds``,
          ``method``.
        - ``timing``: ``seconds``, ``render_seconds``, ``cores``, ``load_1min`` (at the
          start) and ``load_1min_end``.

        A PSNR of identical images is infinite; metrics.json stores it as ``null``.

    Raises
    ------
    NormalkitError
        Bad arguments; ``low`` without UVs; a map that does not fit the low-poly's UV
        layout or its ``space``; a view in which the two meshes share no pixel. Nothing
        is written to ``outdir`` then.

    Notes
    -----
    Cost: 3 · ``views`` renders of ``size``² pixels × ``samples``, one UV rasterization
    of the map (to check it and to convert it to the other space) and the renderer's
    shading-cost measurement. Memory: a few full-size float images per view.
    """
    from .. import __version__
    from ..core.commands import view_command
    from .report import colour_bar, compose_sheet, heatmap, nice_ceiling, write_report

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    log = log or (lambda msg: None)
    views, size, samples = _check_args(space, views, size, samples, heat_max)
    outdir = Path(outdir)
    inputs = {label: p for label, p in (("HIGH", high), ("LOW", low), ("MAP", normal_map))
              if isinstance(p, str | os.PathLike)}
    check_outputs([("output", n) for n in output_names(views)], inputs, folder=outdir)

    high_mesh = _as_mesh(high, "high-poly", log)
    low_mesh = _as_mesh(low, "low-poly", log)
    if low_mesh.uvs is None:
        raise NormalkitError(
            f"{low_mesh.name}: the low-poly has no UVs, so the normal map cannot be applied; "
            "give the low-poly the map was baked for (with its UVs)")
    map_name = Path(normal_map).name if isinstance(normal_map, str | os.PathLike) else "array"
    texels = _load_map(normal_map)
    normals_map = _check_map(texels, low_mesh, space, directx, map_name, log)

    from .camera import orbit_angles, orbit_cameras
    from .render import Renderer, default_lights, shading_cost

    azimuths, elevations = orbit_angles(views, None, view_elevations(views))
    cameras = orbit_cameras(_bounds(high_mesh, low_mesh), azimuths=azimuths,
                            elevations=elevations, size=size)
    lights = default_lights()
    # One Renderer per mesh and map: the BVH and tangents are built once for all views.
    # The map goes in decoded (float, OpenGL green), so the renderer must not flip it again.
    # Shading only: the renderer would show a high-poly's own colours, and the low-poly
    # renders are grey, so the comparison drops them.
    high_grey = high_mesh.replace(colors=None, base_color_texture=None)
    renderers = (Renderer(high_grey, threads=threads, log=log),
                 Renderer(low_mesh, threads=threads, log=log),
                 Renderer(low_mesh, normal_map=normals_map, space=space, directx=False,
                          threads=threads, log=log))

    bar = progress_bar(3 * len(cameras), progress, "rendering", "image")
    t_render = 0.0
    per_view, pooled = [], {"err_low": [], "err_map": [], "sq_low": [], "sq_map": [],
                            "ssim_low": [], "ssim_map": []}
    panels = []
    for i, cam in enumerate(cameras):
        t0 = time.perf_counter()
        shots = []
        for r in renderers:
            shots.append(r.render(cam, lights=lights, samples=samples, passes=_PASSES))
            bar.update(1)
        t_render += time.perf_counter() - t0
        r_high, r_low, r_map = shots
        entry, parts = _view_metrics(i, r_high, r_low, r_map)
        entry["azimuth_deg"] = float(azimuths[i])
        entry["elevation_deg"] = float(elevations[i])
        entry["camera"] = _camera_json(cam)
        per_view.append(entry)
        for k in pooled:
            pooled[k].append(parts[k])
        panels.append(parts["panels"])  # uint8 composites + error image: a few MB per view
        del shots, r_high, r_low, r_map
    bar.close()
    del renderers

    overall = _pooled_metrics(pooled)
    if heat_max is None:
        heat_max = nice_ceiling(max(overall["angular_error_deg"]["low_map"]["p95"], 1.0))
    heat_max = float(heat_max)

    cost = _shading_cost(shading_cost, low_mesh, cameras[0], normals_map, space)

    with atomic_folder(outdir, inputs) as tmp:
        font = max(10, min(16, size // 24))
        zoom = -(-SHEET_MIN_PANEL // size)  # small renders are shown enlarged (nearest)
        bar_img = None
        for i, (img_high, img_low, img_map, err, both, either) in enumerate(panels):
            clipped = bool((err[both] > heat_max).any())
            bar_img = colour_bar(size * zoom, heat_max, font_size=font, clipped=clipped)
            e = per_view[i]
            ae, ps = e["angular_error_deg"], e["psnr_db"]
            caption = (f"view {i} (azimuth {e['azimuth_deg']:.0f}°, "
                       f"elevation {e['elevation_deg']:.0f}°): median angular error "
                       f"low {ae['low']['median']:.2f}° -> low+map {ae['low_map']['median']:.2f}°"
                       f", PSNR {_db(ps['low'])} -> {_db(ps['low_map'])} dB, SSIM "
                       f"{e['ssim']['low']:.3f} -> {e['ssim']['low_map']:.3f}")
            images = [img_high, img_low, img_map, heatmap(err, both, heat_max, covered=either)]
            images = [np.repeat(np.repeat(im, zoom, 0), zoom, 1) for im in images]
            sheet = compose_sheet(
                list(zip(("high", "low", "low + map", "angular error, low + map vs high"),
                         images, strict=True)),
                extra=bar_img, caption=caption, font_size=font)
            name = f"sheet_{i:02d}.png"
            _write_png(tmp / name, sheet)
            e["sheet"] = name
            e["sheet_size"] = [int(sheet.shape[1]), int(sheet.shape[0])]
        seconds = time.perf_counter() - t_start
        result = {
            "normalkit_version": __version__,
            "inputs": {"high": high_mesh.name, "low": low_mesh.name, "map": map_name,
                       "space": space, "directx": bool(directx),
                       "map_size": [int(texels.shape[1]), int(texels.shape[0])],
                       "high_faces": high_mesh.n_faces, "low_faces": low_mesh.n_faces},
            "viewer": (view_command(low, normal_map=normal_map, high=high)
                       if space == "tangent" else None),
            "settings": {"views": len(cameras), "size": size, "samples": samples,
                         "heat_max_deg": heat_max, "passes": list(_PASSES)},
            "units": {"angular_error": "degrees", "psnr": "dB", "ssim": "1",
                      "shading_cost": "ns/pixel", "seconds": "s"},
            "views": per_view,
            "overall": overall,
            "shading_cost_ns_per_pixel": cost,
            "timing": {"seconds": seconds, "render_seconds": t_render,
                       "cores": os.cpu_count(), "load_1min": load_start,
                       "load_1min_end": os.getloadavg()[0]},
        }
        (tmp / "metrics.json").write_text(
            json.dumps(_jsonable(result), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        write_report(tmp / "report.html", result)
    return result


def compare_demo(outdir, high, low, normal_map, *, space: str = "tangent",
                 log=print) -> dict:
    """What ``make demo`` runs after its bake: 4 views at 512², 4 shading rays per pixel.

    Writes sheet_00.png … sheet_03.png, metrics.json and report.html into ``outdir``
    (which may already hold the demo's meshes and maps); see :func:`summary`.
    """
    return compare(high, low, normal_map, outdir, space=space, views=4, size=512,
                   samples=4, progress=True, log=log)


def summary(result: dict, outdir: Path) -> str:
    """One line: the overall median/p95 errors, PSNR, SSIM, shading costs and time."""
    o = result["overall"]
    ae, ps, ss = o["angular_error_deg"], o["psnr_db"], o["ssim"]
    sc = result["shading_cost_ns_per_pixel"]
    t = result["timing"]
    st = result["settings"]
    return (f"{count(st['views'], 'view')} at {st['size']}², {st['samples']} spp: angular error "
            f"median/p95 low {ae['low']['median']:.2f}°/{ae['low']['p95']:.2f}° → low+map "
            f"{ae['low_map']['median']:.2f}°/{ae['low_map']['p95']:.2f}°, PSNR "
            f"{_db(ps['low'])} → {_db(ps['low_map'])} dB, SSIM {ss['low']:.3f} → "
            f"{ss['low_map']:.3f}; shading {sc['tangent']:.1f} ns/px tangent vs "
            f"{sc['object']:.1f} ns/px object; wrote {outdir / 'report.html'} in "
            f"{t['seconds']:.1f} s on {t['cores']} cores (load {t['load_1min']:.2f})")


# --- input checks ------------------------------------------------------------------------

def _check_args(space, views, size, samples, heat_max):
    if space not in SPACES:
        raise NormalkitError(f"space must be one of {SPACES}, got {space!r}")
    from ..core.limits import check_memory, check_size
    from .camera import pixel_sample_offsets
    from .render import peak_bytes as render_peak_bytes

    if isinstance(views, bool) or not isinstance(views, int | np.integer) or views < 1:
        raise NormalkitError(f"views must be an integer ≥ 1, got {views!r}")
    size = check_size(size, "size")
    pixel_sample_offsets(samples)  # the renderer's check: a perfect square
    check_memory(render_peak_bytes(size, size), f"{size}×{size} renders",
                 "render smaller images (--size)")
    if heat_max is not None and not (heat_max > 0 and math.isfinite(heat_max)):
        raise NormalkitError(f"heat_max must be a positive number of degrees, got {heat_max!r}")
    return int(views), int(size), int(samples)


def _as_mesh(m, label: str, log) -> Mesh:
    from ..mesh.io import load_mesh
    from ..mesh.normals import ensure_normals

    if isinstance(m, Mesh):
        mesh = m.validate()
    elif isinstance(m, str | os.PathLike):
        mesh = load_mesh(m)
    else:
        raise NormalkitError(f"{label}: expected a Mesh or a path, got {type(m).__name__}")
    return ensure_normals(mesh, log=log)


def _load_map(normal_map) -> np.ndarray:
    from ..images.io import read_image

    if isinstance(normal_map, str | os.PathLike):
        texels = read_image(normal_map)
    else:
        texels = np.asarray(normal_map)
    if texels.ndim != 3 or texels.shape[2] not in (3, 4):
        raise NormalkitError(
            f"the normal map must be an RGB or RGBA image (H, W, 3|4), got shape "
            f"{texels.shape}; give the baked map, not a mask or height map")
    if min(texels.shape[:2]) < 2:
        raise NormalkitError(f"the normal map is only {texels.shape[1]}×{texels.shape[0]} "
                             "texels; give the baked map")
    if texels.dtype.kind == "f" and not np.isfinite(texels[..., :3]).all():
        raise NormalkitError("the normal map contains NaN or infinite values; re-bake it")
    return texels


def _check_map(texels, low: Mesh, space: str, directx: bool, map_name: str, log):
    """Decode the map and check it against LOW's UV layout and the stated space.

    Returns the (H, W, 3) float32 decoded normals (OpenGL green). "Under the UVs" means
    the texels :func:`normalkit.baking.raster.rasterize` samples for LOW's UV triangles.
    """
    from ..baking.raster import rasterize
    from ..maps.encode import decode_normals
    from ..maps.validate import FAR_FROM_UNIT, check_normal_map, unpack_texels

    check_normal_map(texels, name=f"'{map_name}'")  # photos, colour textures, empty images
    h, w = texels.shape[:2]
    ts = rasterize(low.uvs, w, h, samples=1)  # wraps UVs outside [0, 1] (the renderer warns)
    covered = np.zeros(h * w, bool)
    covered[ts.texel] = True
    n_cov = int(covered.sum())
    if n_cov == 0:
        raise NormalkitError(f"{low.name}: its UV triangles cover no texel of the "
                             f"{w}×{h} map; check the low-poly's UVs")
    raw = unpack_texels(texels).reshape(-1, 3)[covered]
    # Padding, zero vectors, black or white: anything an encoder never writes for a normal.
    empty = np.abs(np.sqrt(np.einsum("ij,ij->i", raw, raw)) - 1.0) > FAR_FROM_UNIT
    if texels.shape[2] == 4:
        empty |= texels.reshape(-1, 4)[covered, 3] == 0
    frac_empty = float(empty.mean())
    if frac_empty > _MAX_EMPTY:
        raise NormalkitError(
            f"'{map_name}' does not match {low.name}'s UV layout: {100 * frac_empty:.0f}% "
            f"of the texels under its UV triangles hold no normal (padding, empty or "
            f"transparent); "
            f"bake the map for this low-poly (normalkit bake HIGH LOW -o MAP)")
    normals = decode_normals(texels, directx=directx)
    z = normals.reshape(-1, 3)[covered, 2][~empty]
    if space == "tangent":
        below = float((z <= 0).mean()) if z.size else 0.0
        if below > _MAX_BELOW:
            raise NormalkitError(
                f"'{map_name}' does not look like a tangent-space map: {100 * below:.0f}% "
                "of the texels under the UVs point below the surface (z ≤ 0); if it is an "
                "object-space map, pass --space object")
    elif z.size and float((z > 0.98).mean()) > 0.95:
        log(f"warning: '{map_name}' is almost uniformly +z (blue), like a tangent-space "
            "map; pass --space tangent if it is one")
    return normals


def view_elevations(views: int) -> list[float]:
    """Elevations (degrees) of the ``views`` orbit cameras: 20° for one view, else spread
    evenly from 10° to 60°, so that each view sees the surface at another angle (a model
    with rotational symmetry seen from one elevation would give identical views)."""
    if views == 1:
        return [20.0]
    return np.linspace(10.0, 60.0, views).tolist()


def _bounds(*meshes: Mesh) -> np.ndarray:
    lo = np.min([m.positions.min(axis=0) for m in meshes], axis=0)
    hi = np.max([m.positions.max(axis=0) for m in meshes], axis=0)
    return np.stack([lo, hi])


# --- per-view metrics ---------------------------------------------------------------------

def _view_metrics(i: int, r_high: dict, r_low: dict, r_map: dict):
    """Metrics of one view, the pixels to pool, and the (uint8) images of its sheet."""
    from .metrics import angular_error, psnr_from_mse, ssim_map, stats_of
    from .report import composite, to_uint8

    m_high, m_low = r_high["mask"], r_low["mask"]
    both = m_high & m_low
    either = m_high | m_low | (r_high["alpha"] > 0) | (r_low["alpha"] > 0)
    if not both.any():
        raise NormalkitError(
            f"view {i}: the high-poly and the low-poly share no pixel; they must overlap "
            "in space (same units, same origin, same axes)")
    img_high = composite(r_high["rgb"], r_high["alpha"])
    err_low = angular_error(r_low["normal_camera"], r_high["normal_camera"])
    err_map = angular_error(r_map["normal_camera"], r_high["normal_camera"])
    entry = {"view": i, "pixels_compared": int(both.sum()), "pixels_shaded": int(either.sum()),
             "angular_error_deg": {"low": stats_of(err_low[both]),
                                   "low_map": stats_of(err_map[both])},
             "psnr_db": {}, "ssim": {}}
    parts = {"err_low": err_low[both], "err_map": err_map[both]}
    images = [to_uint8(img_high)]
    for key, r in (("low", r_low), ("low_map", r_map)):
        img = composite(r["rgb"], r["alpha"])
        images.append(to_uint8(img))
        sq = np.square(img.astype(np.float64) - img_high)[either]
        values, valid = ssim_map(img, img_high, data_range=1.0)
        sel = either & valid
        entry["psnr_db"][key] = psnr_from_mse(float(sq.mean()))
        entry["ssim"][key] = float(values[sel].mean()) if sel.any() else float("nan")
        short = "low" if key == "low" else "map"
        parts[f"sq_{short}"] = sq.ravel()
        parts[f"ssim_{short}"] = values[sel]
    parts["panels"] = (*images, err_map, both, either)
    return entry, parts


def _pooled_metrics(pooled: dict) -> dict:
    from .metrics import psnr_from_mse, stats_of

    err_low = np.concatenate(pooled["err_low"])
    err_map = np.concatenate(pooled["err_map"])
    out = {"pixels_compared": int(err_low.size),
           "pixels_shaded": int(sum(len(s) for s in pooled["sq_low"]) // 3),
           "angular_error_deg": {"low": stats_of(err_low), "low_map": stats_of(err_map)},
           "psnr_db": {}, "ssim": {}}
    for key, short in (("low", "low"), ("low_map", "map")):
        out["psnr_db"][key] = psnr_from_mse(float(np.concatenate(pooled[f"sq_{short}"]).mean()))
        out["ssim"][key] = float(np.concatenate(pooled[f"ssim_{short}"]).mean())
    return out


# --- shading cost and map conversion --------------------------------------------------------

def _shading_cost(shading_cost, low: Mesh, camera, normals: np.ndarray, space: str) -> dict:
    from ..baking.spaces import object_to_tangent, tangent_to_object

    other = "object" if space == "tangent" else "tangent"
    convert = tangent_to_object if space == "tangent" else object_to_tangent
    converted, _ = convert(normals, low)
    maps = {space: normals, other: converted}
    # One renderer and one tangent set-up; shading_cost interleaves the timings itself.
    c = shading_cost(low, camera, maps["tangent"], maps["object"], repeat=_COST_REPEAT)
    return {"tangent": float(c["tangent"]), "object": float(c["object"]),
            "ratio": float(c["tangent"] / c["object"]) if c["object"] > 0 else None,
            "tangent_decode": float(c["tangent_decode"]),
            "object_decode": float(c["object_decode"]),
            "pixels": int(c["pixels"]), "threads": 1,
            "tangent_setup_seconds": float(c["tangent_setup_seconds"]),
            "method": (f"normalkit.shading_cost on view 0: each covered pixel shaded on "
                       f"one thread (best of {_COST_REPEAT} interleaved runs), from the ray hit "
                       f"to linear RGB (interpolation, bilinear lookup, decode, the same "
                       f"lighting); the given {space}-space map against the same map converted "
                       f"to {other} space on the low-poly "
                       f"(MikkTSpace), so both hold the same normals. *_decode stops at the "
                       f"world-space normal.")}


# --- output ---------------------------------------------------------------------------------

def _camera_json(cam):
    j = cam.to_json()
    return json.loads(j) if isinstance(j, str) else j


def _write_png(path: Path, image: np.ndarray) -> None:
    from ..images.io import write_image

    write_image(path, image)


def _db(x) -> str:
    return "inf" if x is None or math.isinf(x) else f"{x:.2f}"


def _jsonable(obj):
    """Non-finite floats → None (strict JSON); NumPy scalars → Python numbers."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj
