"""Pictures and pages for ``normalkit compare``: heat maps, colour bars, sheets, report.html.

Everything is array composition: panels are float or uint8 (H, W, 3) images, row 0 at the
top, placed into a canvas by slicing; only text goes through Pillow (its default font,
which has the degree sign but not arrows or "≥", so labels stay in ASCII plus "°").

- :func:`composite` — a render over the fixed sheet background, by its mask.
- :func:`heatmap` — per-pixel angular error → colours (inferno), background and
  "only one mesh covers this pixel" in two greys.
- :func:`colour_bar` — the heat map's scale, labelled in degrees.
- :func:`compose_sheet` — titled panels side by side, plus a caption line.
- :func:`write_report` — a self-contained report.html (relative image links, inline CSS).
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError

__all__ = ["BACKGROUND", "MISMATCH", "colour_bar", "compose_sheet", "composite", "heatmap",
           "nice_ceiling", "to_uint8", "write_report"]

#: Sheet background behind every render and heat map (sRGB, 0..1): a neutral dark grey.
BACKGROUND = (0.25, 0.25, 0.25)
#: Heat-map colour of pixels that only one of the two meshes covers (not compared).
MISMATCH = (0.6, 0.6, 0.6)
_PAGE = (255, 255, 255)
_INK = (20, 20, 20)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] (clipped) → uint8 ``round(255·x)``; uint8 passes through."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def composite(rgb: np.ndarray, alpha: np.ndarray, background=BACKGROUND) -> np.ndarray:
    """Put a premultiplied render over a constant background: ``rgb + (1 − alpha)·background``.

    Parameters
    ----------
    rgb : numpy.ndarray
        (H, W, 3) float sRGB in [0, 1], premultiplied by coverage (over black), as
        :func:`normalkit.rendering.render.render` returns it.
    alpha : numpy.ndarray
        (H, W) coverage: the ``alpha`` pass (fraction of a pixel's samples that hit), or a
        bool mask.
    background : sequence of 3 floats
        sRGB colour behind the surface.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) float32. Sheets and image metrics then see the same background whatever
        the renderer leaves in empty pixels, and antialiased silhouettes stay clean.
        (Blending happens on sRGB values, as image viewers composite.)
    """
    rgb = np.asarray(rgb, dtype=np.float32)
    alpha = np.asarray(alpha, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or alpha.shape != rgb.shape[:2]:
        raise NormalkitError(f"composite needs rgb (H, W, 3) and alpha (H, W), got "
                             f"{rgb.shape} and {alpha.shape}")
    bg = np.asarray(background, np.float32)
    return rgb + (np.float32(1.0) - np.clip(alpha, 0.0, 1.0))[..., None] * bg


def _lut(name: str = "INFERNO") -> np.ndarray:
    """(256, 3) uint8 RGB lookup table of an OpenCV colour map."""
    import cv2

    ramp = np.arange(256, dtype=np.uint8)[:, None]
    bgr = cv2.applyColorMap(ramp, getattr(cv2, f"COLORMAP_{name}"))
    return np.ascontiguousarray(bgr[:, 0, ::-1])


def nice_ceiling(x: float) -> float:
    """Smallest number of the 1-2-5 series (…, 0.5, 1, 2, 5, 10, …) that is ≥ ``x`` (> 0)."""
    if not x > 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        v = m * 10.0 ** exp
        if v >= x * (1 - 1e-9):
            return float(f"{v:.6g}")
    return float(f"{10.0 ** (exp + 1):.6g}")


def heatmap(errors: np.ndarray, mask: np.ndarray, vmax: float, *,
            covered: np.ndarray | None = None) -> np.ndarray:
    """Colour a per-pixel error image (degrees) with the inferno map from 0 to ``vmax``.

    Parameters
    ----------
    errors : numpy.ndarray
        (H, W) float angular errors in degrees (values outside ``mask`` are ignored).
    mask : numpy.ndarray
        (H, W) bool, the compared pixels.
    vmax : float
        Error shown at the top of the scale (> 0); larger errors saturate.
    covered : numpy.ndarray, optional
        (H, W) bool, pixels either image covers; those outside ``mask`` are drawn in
        :data:`MISMATCH` grey (silhouette differences). The rest is :data:`BACKGROUND`.

    Returns
    -------
    numpy.ndarray
        (H, W, 3) uint8 RGB.
    """
    errors = np.asarray(errors, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    if errors.ndim != 2 or mask.shape != errors.shape:
        raise NormalkitError(f"heatmap needs errors and mask of one (H, W) shape, got "
                             f"{errors.shape} and {mask.shape}")
    if not vmax > 0:
        raise NormalkitError(f"vmax must be > 0 degrees, got {vmax!r}")
    idx = np.clip(np.nan_to_num(errors) * np.float32(255.0 / vmax), 0, 255)
    out = _lut()[np.rint(idx).astype(np.uint8)]
    out[~mask] = to_uint8(np.asarray(BACKGROUND))
    if covered is not None:
        out[np.asarray(covered, bool) & ~mask] = to_uint8(np.asarray(MISMATCH))
    return out


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _ticks(vmax: float) -> np.ndarray:
    """Tick values 0..vmax in 4 or 5 equal, round steps (vmax from the 1-2-5 series)."""
    lead = round(vmax / 10.0 ** math.floor(math.log10(vmax)))
    n = 4 if lead == 2 else 5
    return np.linspace(0.0, vmax, n + 1)


def colour_bar(height: int, vmax: float, *, font_size: int = 14, clipped: bool = False,
               unit: str = "°") -> np.ndarray:
    """A vertical colour bar for :func:`heatmap`, ticks labelled in degrees.

    Parameters
    ----------
    height : int
        Height in pixels (the heat map's height); the bar spans it minus a margin so
        the end labels fit.
    vmax : float
        Value at the top.
    font_size : int
        Label size in pixels (Pillow's default font).
    clipped : bool
        Some errors exceed ``vmax``: the top label reads ``>vmax°``.
    unit : str
        Appended to every tick label.

    Returns
    -------
    numpy.ndarray
        (height, W, 3) uint8 RGB on the page colour, W set by the widest label.
    """
    from PIL import Image, ImageDraw

    font = _font(font_size)
    ticks = _ticks(vmax)
    labels = [f"{t:g}{unit}" for t in ticks]
    if clipped:
        labels[-1] = ">" + labels[-1]
    label_w = max(int(font.getlength(s)) for s in labels)
    bar_w = max(12, font_size)
    pad = font_size // 2 + 2
    width = bar_w + 6 + label_w + 4
    canvas = np.full((height, width, 3), _PAGE, np.uint8)
    top, bottom = pad, height - pad
    if bottom - top < 8:
        raise NormalkitError(f"colour bar of height {height} is too small; render larger views")
    rows = np.arange(bottom - top)
    level = (1.0 - rows / max(bottom - top - 1, 1)) * 255.0
    canvas[top:bottom, :bar_w] = _lut()[np.rint(level).astype(np.uint8)][:, None, :]
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for t, s in zip(ticks, labels, strict=True):
        y = bottom - 1 - (t / vmax) * (bottom - top - 1)
        draw.line([(bar_w, y), (bar_w + 4, y)], fill=_INK)
        draw.text((bar_w + 6, y), s, fill=_INK, font=font, anchor="lm")
    return np.asarray(img)


def compose_sheet(panels: list[tuple[str, np.ndarray]], *, extra: np.ndarray | None = None,
                  caption: str = "", font_size: int = 14, gap: int = 8) -> np.ndarray:
    """Titled panels side by side on a white page, an optional strip after the last one
    (e.g. a :func:`colour_bar`) and a caption line underneath.

    Parameters
    ----------
    panels : list of (title, image)
        Images of one height: (H, W, 3) uint8, or float in [0, 1].
    extra : numpy.ndarray, optional
        (H, w, 3) uint8 strip placed right after the last panel, without a gap.
    caption : str
        One line of text under the panels (ASCII and "°"; the default font lacks arrows).
    font_size, gap : int
        Text size and spacing in pixels.

    Returns
    -------
    numpy.ndarray
        (H_sheet, W_sheet, 3) uint8 RGB.
    """
    from PIL import Image, ImageDraw

    if not panels:
        raise NormalkitError("a sheet needs at least one panel")
    images = [to_uint8(im) for _, im in panels]
    h = images[0].shape[0]
    if any(im.shape[0] != h or im.ndim != 3 or im.shape[2] != 3 for im in images):
        raise NormalkitError("sheet panels must be (H, W, 3) images of one height, got "
                             f"{[im.shape for im in images]}")
    strips = list(images)
    if extra is not None:
        if extra.shape[0] != h:
            raise NormalkitError(f"sheet extra strip has height {extra.shape[0]}, panels {h}")
        strips.append(to_uint8(extra))
    title_h = font_size + gap
    caption_h = (font_size + gap) if caption else 0
    xs = []
    x = gap
    for i, im in enumerate(strips):
        if extra is not None and i == len(strips) - 1:
            x -= gap - 2  # the strip hugs its panel
        xs.append(x)
        x += im.shape[1] + gap
    width = x
    height = gap + title_h + h + caption_h + gap
    canvas = np.full((height, width, 3), _PAGE, np.uint8)
    y0 = gap + title_h
    for x, im in zip(xs, strips, strict=True):
        canvas[y0:y0 + h, x:x + im.shape[1]] = im
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    font = _font(font_size)
    for (title, im), x in zip(panels, xs, strict=False):
        f = font
        room = im.shape[1] - 2
        if f.getlength(title) > room:  # shrink a long title to its panel's width
            f = _font(max(6, int(font_size * room / f.getlength(title))))
        draw.text((x + im.shape[1] / 2, gap + font_size / 2), title, fill=_INK, font=f,
                  anchor="mm")
    if caption:
        draw.text((gap, y0 + h + gap / 2), caption, fill=_INK, font=font, anchor="la")
    return np.asarray(img)


def _fmt(x, digits: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.{digits}f}"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #141414; max-width: 1400px; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
tr.overall td { font-weight: bold; border-top: 2px solid #888; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1.5em; }
.note { color: #555; font-size: 0.9em; }
"""


def _viewer_paragraph(command: str | None) -> str:
    """The report's pointer to ``normalkit view`` (orbit the low-poly with its map)."""
    if not command:
        return ""
    return ("<p>To orbit the low-poly with its map, the high-poly beside it, in the browser: "
            f"<code>{html.escape(command)}</code></p>")


def write_report(path: str | os.PathLike, metrics: dict) -> None:
    """Write report.html for a :func:`normalkit.rendering.compare.compare` result.

    Parameters
    ----------
    path : str or os.PathLike
        Output file; the sheets named in ``metrics["views"][i]["sheet"]`` are linked
        relative to its folder, so the folder can be moved or zipped as a whole.
    metrics : dict
        The dict :func:`~normalkit.rendering.compare.compare` returns (and writes as metrics.json).

    Notes
    -----
    The page is self-contained: inline CSS, no scripts, no external resources. It is
    written atomically (temporary file, then rename).
    """
    from ..core.atomic import atomic_path

    e = html.escape
    inp, st = metrics["inputs"], metrics["settings"]
    rows = []
    for v in metrics["views"] + [dict(metrics["overall"], view="all")]:
        ae = v["angular_error_deg"]
        cls = ' class="overall"' if v["view"] == "all" else ""
        cells = [str(v["view"]), f"{v['pixels_compared']:,}"]
        for key in ("low", "low_map"):
            cells += [_fmt(ae[key][s]) for s in ("mean", "median", "p95")]
        cells += [_fmt(v["psnr_db"]["low"]), _fmt(v["psnr_db"]["low_map"]),
                  _fmt(v["ssim"]["low"], 4), _fmt(v["ssim"]["low_map"], 4)]
        rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    sc = metrics["shading_cost_ns_per_pixel"]
    t = metrics["timing"]
    figures = "\n".join(
        f'<h3>View {v["view"]}: azimuth {v["azimuth_deg"]:g}°, elevation '
        f'{v["elevation_deg"]:.3g}°</h3>\n<img src="{e(v["sheet"])}" alt="view {v["view"]}: '
        f'high, low, low + map and the angular error heat map" width="{v["sheet_size"][0]}" '
        f'height="{v["sheet_size"][1]}">' for v in metrics["views"])
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>normalkit compare: {e(inp["low"])} + {e(inp["map"])} vs {e(inp["high"])}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>normalkit compare</h1>
<p>High-poly <code>{e(inp["high"])}</code>, low-poly <code>{e(inp["low"])}</code>,
{e(inp["space"])}-space map <code>{e(inp["map"])}</code>
({inp["map_size"][0]}×{inp["map_size"][1]}{", DirectX green" if inp["directx"] else ""}).
{st["views"]} views at {st["size"]}×{st["size"]} px, {st["samples"]} samples per pixel,
the same lights for every render.</p>

{_viewer_paragraph(metrics.get("viewer"))}
<h2>Metrics</h2>
<p class="note">Angular error: the angle between the camera-space normals of each
low-poly render and of the high-poly, in degrees, over pixels both cover.
PSNR (dB) and SSIM compare the shaded sRGB images over pixels either covers.
"all" pools the pixels of every view.</p>
<table>
<tr><th rowspan="2">view</th><th rowspan="2">pixels</th>
<th colspan="3">low: angular error (°)</th><th colspan="3">low + map: angular error (°)</th>
<th colspan="2">PSNR (dB)</th><th colspan="2">SSIM</th></tr>
<tr><th>mean</th><th>median</th><th>p95</th><th>mean</th><th>median</th><th>p95</th>
<th>low</th><th>low + map</th><th>low</th><th>low + map</th></tr>
{chr(10).join(rows)}
</table>

<h2>Shading cost</h2>
<p>Shading one covered pixel with a tangent-space map costs
<b>{_fmt(sc["tangent"], 1)} ns</b>, with an object-space map <b>{_fmt(sc["object"], 1)} ns</b>
(tangent / object = {_fmt(sc["ratio"])}×); up to the world-space normal alone,
{_fmt(sc["tangent_decode"], 1)} ns against {_fmt(sc["object_decode"], 1)} ns.
Per pixel, on one thread, over {sc["pixels"]:,} pixels of view 0 (ns/pixel).</p>
<p class="note">{e(sc["method"])}</p>
<p>Games often use object-space maps for static, non-deforming models because the shader
only samples the map and rotates it by the model matrix, with no per-vertex tangent frame to
store, interpolate and rebuild per pixel (and no tangent-basis mismatch between baker and
engine), while tangent-space maps stay the choice for skinned or deforming meshes and for
textures reused across mirrored or tiled UVs.</p>

<h2>Views</h2>
<p class="note">Each sheet: high | low | low + map | angular error of low + map against
high (colour bar in degrees; light grey: only one of the two meshes covers the pixel).</p>
{figures}
<p class="note">Generated by normalkit {e(metrics["normalkit_version"])} in
{t["seconds"]:.1f} s on {t["cores"]} cores (1-minute load average {t["load_1min"]:.2f} at the
start, {t["load_1min_end"]:.2f} at the end).</p>
</body>
</html>
"""
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
