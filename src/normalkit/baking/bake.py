"""Bake a high-poly's normals into a low-poly's UV space (tangent or object space).

Ray model (compatible with Blender's selected-to-active bake): each texel sample on the
low-poly surface point P with interpolated normal N casts a ray from
``P + extrusion·N̂`` in direction ``−N̂`` and accepts the closest high-poly hit up to
``max_distance`` beyond the surface (a ray length of ``extrusion + max_distance``).
With a cage (same topology as the low-poly) the ray starts at the cage point instead
and runs through P, again up to ``max_distance`` beyond P.
Texel samples on a triangle's edge are moved ``EDGE_INSET`` (barycentric) inside it.

Tangent space is the exact inverse of the MikkTSpace shader decode (CONVENTIONS.md):
with the interpolated, unnormalized T and N and B = sign·cross(N, T), the texel holds
normalize(M⁻¹ n) where M = [T B N]. Object space stores n in mesh coordinates.

Colour (``color=True``) rides on the same rays: at each hit (high-poly triangle and
barycentrics) the high-poly's per-corner colours are interpolated and/or its base-colour
texture is sampled (bilinear, repeat) at the interpolated UV; samples are averaged per
texel in **linear** light, exactly like the normals. Encode with
:func:`normalkit.mesh.model.encode_color` for an sRGB PNG / glTF ``baseColorTexture``.

Work is split into row tiles that run on a thread pool, so memory stays bounded by the
tile size, not the texture size. Per tile: the compiled rasterizer lists the samples,
the compiled ray set-up interpolates the low-poly frame, Embree traces, and the compiled
shading kernel interpolates the hit normal, encodes it and averages it into the tile's
own rows of the output. All of these release the GIL.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import NormalkitError
from ..core.limits import MIN_SIZE, available_memory, check_memory, check_size
from ..core.parallel import default_threads, map_threads
from ..core.plural import count
from ..core.progress import progress_bar
from ..mesh.model import Mesh
from ..mesh.normals import check_hard_angle, ensure_normals
from .kernels import encode_samples, setup_rays, shade_tile
from .maps import (
    CHANNELS,
    RANGED,
    SECONDARY,
    HighSurface,
    MapSettings,
    check_maps,
    flat_value,
    normalized,
)
from .prepared import HighNormals, PreparedHigh, _as_mesh
from .raster import SAMPLE_COUNTS, rasterize_tile, sample_offsets, uv_layout
from .rays import RayCaster

SPACES = ("tangent", "object")
TILE_SAMPLES = 1 << 15  # samples per tile: its samples, rays and hits (~3 MB) stay in the
# caches between the kernels, and many small tiles balance the threads (measured best)
#: Samples on (or outside) a triangle's edge are moved this far inside it (barycentric),
#: so a texel centre lying exactly on a UV seam along a hard edge (xatlas aligns chart
#: borders with texel centres) casts its ray on its own triangle's side of the edge.
EDGE_INSET = 1e-4


def texel_block(samples: int) -> int:
    """Side of the square blocks of texels whose rays go out together: 16 rays, a packet
    of Embree's widest (4 × 4 texels at 1 sample, 2 × 2 at 4, one texel from 16 on).
    Compact patches keep a packet's rays close: with packets of 16, 15-25 % more rays
    per second than rows of texels in packets of 8 (measured on a bake's rays at 1 and
    4 samples). Only the order of the rays changes: each texel's samples are shaded in
    the same order, so the maps are the same."""
    return max(1, 4 // math.isqrt(samples))


@dataclass
class BakeResult:
    """What :func:`bake` returns.

    normals : (H, W, 3) float32 unit normals (tangent or object space), padded; texels
        no ray filled hold the flat tangent normal (0, 0, 1), or (0, 0, 0) in object space.
    coverage : (H, W) bool, texels filled by at least one ray hit (before padding).
    misses : (H, W) bool, texels on the low-poly's UVs where every ray missed.
    space : "tangent" or "object".
    stats : dict of counts and seconds (see ``summary``).
    color : (H, W, 4) float32 or None
        With ``color=True``: the high-poly's surface colour, **linear** RGBA (not
        sRGB-encoded), the mean over each texel's hits, padded like ``normals``; texels
        no ray filled (beyond the padding) are (0, 0, 0, 0).
    maps : dict
        Every map asked for with ``maps`` (:mod:`normalkit.baking.maps`), padded, as
        float32 (H, W, C): "normal" and "bent" unit vectors; "ao", "position", "id" in
        [0, 1]; "height", "curvature", "thickness" normalized to [0, 1] by ``ranges``.
    raw : dict
        "height", "curvature", "thickness" (when asked for) in mesh units (1/units for
        curvature), before normalization.
    ranges : dict
        The range R each of those was normalized with.
    """

    normals: np.ndarray
    coverage: np.ndarray
    misses: np.ndarray
    space: str
    stats: dict = field(default_factory=dict)
    color: np.ndarray | None = None
    maps: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)

    def summary(self) -> str:
        s = self.stats
        rays = s["rays"]
        miss_pct = 100.0 * s["ray_misses"] / rays if rays else 0.0
        extra = "".join(f", {m} {v['miss_texels']:,} unfilled"
                        for m, v in s.get("maps", {}).items()
                        if v["miss_texels"] != s["miss_texels"])
        return (f"{s['width']}×{s['height']} {self.space}-space map: {s['texels']:,} texels, "
                f"{s['samples']} samples/texel, {rays:,} rays, {s['ray_misses']:,} misses "
                f"({miss_pct:.2f}%), {s['miss_texels']:,} texels unfilled{extra}, "
                f"{s['seconds']:.2f} s on {count(s['threads'], 'thread')}")


def _check_size(size, width, height) -> tuple[int, int]:
    return (check_size(size if width is None else width, "texture width"),
            check_size(size if height is None else height, "texture height"))


def _number(value, name: str, rule: str, ok) -> float:
    """``value`` as a float if ``ok(float)``; else NormalkitError "NAME must be RULE"."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not ok(v):
        raise NormalkitError(f"{name} must be {rule}, got {value!r}")
    return v


#: Peak memory of a bake, measured (spot onto itself, 16-bit PNG, 4 samples: 0.30 GB at
#: 1024², 0.41 at 2048², 0.83 at 4096²; 2.3 GB at 8192² for a 2M-triangle high-poly):
#: about 33 bytes per texel over a fixed 0.3 GB, rounded up here to keep a margin.
PEAK_BYTES_PER_TEXEL = 40
PEAK_BYTES_PER_TEXEL_COLOR = 24  # the linear RGBA accumulator and its padding copy
PEAK_BYTES_FIXED = 400 << 20  # interpreter, Numba, Embree and the meshes of a typical job


def peak_bytes(width: int, height: int, color: bool = False) -> int:
    """Estimated peak memory (bytes) of a ``width`` × ``height`` bake and its encoding."""
    per_texel = PEAK_BYTES_PER_TEXEL + (PEAK_BYTES_PER_TEXEL_COLOR if color else 0)
    return PEAK_BYTES_FIXED + per_texel * int(width) * int(height)


def _largest_fitting(width: int, height: int, color: bool) -> int:
    """The largest power-of-two square size whose bake fits in the available memory."""
    have = available_memory()
    size = 1 << max(int(max(width, height)).bit_length() - 1, 4)
    while size > MIN_SIZE and have is not None and peak_bytes(size, size, color) > have:
        size //= 2
    return size


def check_threads(threads) -> int | None:
    """``threads`` as an int ≥ 1, or None (all cores); NormalkitError otherwise.

    Shared by :func:`bake` and :func:`normalkit.assets.reduce.reduce`, so a bad count fails
    before any work instead of inside the thread pool.
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise NormalkitError(f"threads must be a whole number ≥ 1 (leave it out for all cores), "
                             f"got {threads!r}")
    return int(threads)


def _check_uv_area(low: Mesh, layout, log) -> None:
    """Refuse a low-poly whose UV triangles all have zero area (nothing to bake); warn
    when only some (with a real surface in 3D) do: they get no texels."""
    in_layout = np.zeros(low.n_faces, bool)
    in_layout[layout.faces] = True
    if not in_layout.any():
        raise NormalkitError(
            f"{low.name}: the low-poly's UVs cover no texels (every triangle has zero UV "
            "area, e.g. all UVs at one point); unwrap it first (normalkit reduce unwraps)")
    if in_layout.all():
        return
    c = low.corner_positions()
    area2 = np.linalg.norm(np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]), axis=1)
    scale = float(np.max(area2)) if len(area2) else 0.0
    n_flat = int((~in_layout & (area2 > 1e-9 * scale)).sum())
    if n_flat:
        log(f"warning: {low.name}: {n_flat:,} of {low.n_faces:,} triangles have zero UV area "
            "and get no texels; give them UV space (unwrap again: normalkit reduce unwraps)")


def bake(high, low, *, size: int = 2048, width: int | None = None, height: int | None = None,
         space: str = "tangent", samples: int = 4, extrusion: float | None = None,
         max_distance: float | None = None, cage=None, padding: float = 16,
         hard_angle: float | None = None, threads: int | None = None,
         progress: bool = False, log=None, color: bool = False, maps=("normal",),
         map_settings: MapSettings | None = None) -> BakeResult:
    """Bake the high-poly's normals (and the rest of the map set) into the low-poly's UV
    space.

    Parameters
    ----------
    high, low : Mesh or path, or lists of them (bake groups)
        The detailed source and the UV-mapped target. Meshes without normals get
        smooth ones (and ``log`` says so); ``low`` must have UVs. ``high`` may also be a
        :class:`PreparedHigh` (its scene built once for several bakes, or while the
        caller does other work). Two lists of the same
        length are bake groups, paired by order: low part k is baked from high part k
        only (its rays, and every map's secondary rays, see no other part), so parts that
        lie close together or interpenetrate do not project onto each other. The low
        parts share the texture: their UVs must not overlap.
    size, width, height : int
        Texture size; ``width``/``height`` override ``size`` per axis.
    space : "tangent" | "object"
    samples : 1, 4, 16 or 64
        Stratified samples per texel; the texel holds their normalized mean.
    extrusion, max_distance : float, optional
        Ray start above the low-poly surface (finite, ≥ 0) and maximum hit depth below
        it (≥ 0), in mesh units. Defaults: 1 % and 2 % of the low-poly's bounding-box
        diagonal. ``max_distance=0`` (or ``inf``) means no limit (as in Blender).
    cage : Mesh or path, optional
        Explicit ray start surface with the low-poly's topology. It replaces
        ``extrusion``: giving both raises.
    padding : int or math.inf
        Texels (≥ 0) to dilate into empty space around UV islands (0 for none).
    hard_angle : float, optional
        Recompute the low-poly's normals, split at edges sharper than this (degrees,
        in [0, 180]).
    threads : int, optional
        Worker threads, ≥ 1 (default: all cores).
    progress : bool
        Show a progress bar on stderr.
    log : callable, optional
        Receives one-line notices and warnings (e.g. ``print``).
    color : bool
        Also bake the high-poly's colour (``high.colors`` and/or
        ``high.base_color_texture`` at ``high.uvs``) into ``BakeResult.color``.
    maps : sequence of str, or a comma-separated string
        Maps to bake on the same rays (:data:`normalkit.baking.maps.MAPS`): "normal",
        "ao", "height", "curvature", "thickness", "bent", "position", "id"; results in
        ``BakeResult.maps``. The normal map is always computed (``normals``).
    map_settings : MapSettings, optional
        AO rays and distance, fixed ranges, the ID source (defaults: see
        :class:`~normalkit.baking.maps.MapSettings`).

    Returns
    -------
    BakeResult

    Raises
    ------
    NormalkitError
        Before any work: a bad ``space``, ``samples``, size, ``padding``, ``threads``,
        ``hard_angle``, a NaN/infinite/negative ``extrusion`` or NaN/negative
        ``max_distance``, or both ``cage`` and ``extrusion``. After loading: a low-poly
        without UVs, or whose UVs cover no texels (every UV triangle has zero area; the
        rasterizer gives any other triangle at least the texels it touches); a cage of
        another topology. Low-poly triangles of zero UV area (but not zero area in 3D)
        get a warning through ``log``.

    Cost: O(texels × samples) rays plus O(F_high) to build the Embree BVH; memory is
    about 14 bytes per texel for the output arrays (32 with colour) plus a bounded
    per-tile working set; a whole CLI bake with padding and PNG encoding peaks near 35
    bytes per texel (2.3 GB at 8192²).
    """
    t_start = time.perf_counter()
    log = log or (lambda msg: None)
    if space not in SPACES:
        raise NormalkitError(f"space must be one of {SPACES}, got {space!r}")
    maps = check_maps(maps)
    settings = (map_settings or MapSettings()).check()
    extra_maps = [m for m in maps if m != "normal"]

    if samples not in SAMPLE_COUNTS:
        raise NormalkitError(f"samples must be one of {SAMPLE_COUNTS}, got {samples!r}")
    w, h = _check_size(size, width, height)
    padding = _number(padding, "padding", "≥ 0 texels or inf", lambda v: v >= 0)
    if extrusion is not None:
        if cage is not None:
            raise NormalkitError("cage replaces extrusion (rays start on the cage): give one "
                                 "of them (--cage or --extrusion), not both")
        extrusion = _number(extrusion, "extrusion", "a finite number ≥ 0",
                            lambda v: math.isfinite(v) and v >= 0)
    if max_distance is not None:
        max_distance = _number(max_distance, "max_distance", "a number ≥ 0 (0 or inf: no "
                               "limit)", lambda v: v >= 0)
    if hard_angle is not None:
        hard_angle = check_hard_angle(hard_angle)
    threads = check_threads(threads)
    check_memory(peak_bytes(w, h, color), f"a {w}×{h} bake",
                 f"use a smaller size (at most {_largest_fitting(w, h, color)} fits)")

    high_group = low_group = None
    if isinstance(high, PreparedHigh) and isinstance(low, (list, tuple)):
        raise NormalkitError("bake groups need the high-poly parts themselves, not a "
                             "PreparedHigh")
    if isinstance(high, (list, tuple)) or isinstance(low, (list, tuple)):
        if cage is not None:
            raise NormalkitError("bake groups take no cage yet; bake each group with its own "
                                 "cage, or use extrusion")
        high, low, high_group, low_group = _groups(high, low, hard_angle, log)
        hard_angle = None  # applied per part
    # The high-poly loads and gets its BVH on a thread while this one prepares the
    # low-poly and the output buffers (the two mostly run outside the GIL: file reads,
    # NumPy, Embree's build, page faults).
    if isinstance(high, PreparedHigh):
        high_side = high
    else:  # at most this many rays (fewer where the UVs leave texels empty)
        secondary = settings.ao_rays if any(m in SECONDARY for m in maps) else 0
        high_side = PreparedHigh(high, log=log, groups=high_group,
                                 rays=w * h * samples * (1 + secondary),
                                 mesh=color or bool(extra_maps))
    try:
        low = _as_mesh(low, "low-poly")
        uvs = low.require_uvs()
        layout = uv_layout(uvs, w, h)
        _check_uv_area(low, layout, log)
        if layout.wrapped:
            log(f"warning: {low.name}: UVs outside [0, 1] wrap around the texture")
        low = ensure_normals(low, hard_angle=hard_angle, log=log)
        cage_mesh = None
        if cage is not None:
            cage_mesh = _as_mesh(cage, "cage")
            if cage_mesh.n_faces != low.n_faces or not np.array_equal(
                    _topology(cage_mesh), _topology(low)):
                raise NormalkitError(
                    f"cage '{cage_mesh.name}' does not match the low-poly's topology "
                    f"({cage_mesh.n_faces} vs {low.n_faces} faces, or different "
                    "connectivity); make the cage from a copy of the low-poly")

        diag = float(np.linalg.norm(np.ptp(low.positions, axis=0)))
        if extrusion is None:
            extrusion = 0.01 * diag
        if max_distance is None:
            max_distance = 0.02 * diag
        max_depth = np.inf if max_distance == 0 else float(max_distance)

        tangents = None
        if space == "tangent":
            from ..mesh.tangents import compute_tangents

            tangents = compute_tangents(low).reshape(-1, 3, 4)
        frame = _LowFrame(low, tangents, cage_mesh)
        frame.group = low_group
        offsets = sample_offsets(samples)

        # Row tiles span the whole width and fill rows [r_lo, r_hi) of every buffer
        # (texels no ray hit get the flat value); rows outside keep the flat value, set
        # here. The rest of each buffer is first touched by the tiles: its pages are
        # faulted in by the worker threads, in parallel.
        r_lo, r_hi = layout.row_range
        flat = (0.0, 0.0, 1.0) if space == "tangent" else (0.0, 0.0, 0.0)
        acc = np.empty((h, w, 3), np.float32)
        acc[:r_lo] = flat
        acc[r_hi:] = flat
        acc_color = np.zeros((h, w, 4), np.float32) if color else None
        extra = {}
        for name in extra_maps:
            extra[name] = np.empty((h, w, CHANNELS[name]), np.float32)
            extra[name][...] = flat_value(name, space)
        # Maps whose samples can fail on their own (thickness: no inside behind the hit).
        extra_coverage = {m: np.zeros((h, w), bool) for m in extra_maps if m == "thickness"}
        # Hit counts (≤ 64 samples per texel) for the colour's mean only.
        hits = np.zeros((h, w) if color else (0, 0), np.uint16)
        coverage = np.zeros((h, w), bool)  # the tiles write their rows
        misses = np.zeros((h, w), bool)
        _warm_up(layout, frame, offsets, acc, hits, coverage, misses, r_lo, padding)
    finally:
        high, caster, high_normals = high_side.result()  # the low-poly's errors first
    if color and not high.has_color:
        raise NormalkitError(
            f"{high.name}: asked to bake colour, but the high-poly has no vertex colours and "
            "no base-colour texture with UVs; bake normals only, or give a high-poly with "
            "colour (PLY/OBJ vertex colours, glTF COLOR_0 or baseColorTexture)")
    high_color = _HighColor(high) if color else None
    surface = HighSurface(high, caster, extra_maps, settings, log) if extra_maps else None

    block = texel_block(samples)
    tile_rows = max(block, TILE_SAMPLES // (w * samples) // block * block)
    tiles = [(r, min(r + tile_rows, r_hi)) for r in range(r_lo, r_hi, tile_rows)]
    n_threads = threads or default_threads()
    counts = {"rays": 0, "ray_misses": 0, "overlap_texels": 0}

    def work(rows):
        ts = rasterize_tile(layout, rows, (0, w), offsets, block)
        tile = (rows[0], rows[1], 0, w)
        # Each texel lies in exactly one row tile, so workers write their own parts.
        hit, n_miss, origins, directions = _trace(ts, frame, caster, high_normals,
                                                  float(extrusion), max_depth, acc, hits,
                                                  coverage, misses, tile)
        if surface is not None:
            _shade_maps(surface, ts, frame, origins, directions, hit, extra, extra_coverage,
                        tile, w)
        if high_color is not None:
            ok = hit.prim >= 0
            rgba = high_color.sample(hit.prim[ok], hit.u[ok], hit.v[ok])
            n_tex = (rows[1] - rows[0]) * w
            view = acc_color[rows[0]:rows[1]]
            for c in range(4):
                view[..., c] = np.bincount(ts.texel[ok], weights=rgba[c],
                                           minlength=n_tex).reshape(view.shape[:2])
        # Each texel lies in one tile: the tiles' overlap texels are distinct.
        return len(hit.prim), n_miss, len(ts.overlap_texels)

    bar = progress_bar(len(tiles), progress, "baking", "tile")
    # An interrupt or a failing tile stops the loop only once no worker runs (parallel.py).
    for n_rays, n_miss, n_overlap in map_threads(work, tiles, n_threads):
        counts["rays"] += n_rays
        counts["ray_misses"] += n_miss
        counts["overlap_texels"] += n_overlap
        bar.update(1)
    bar.close()

    ao_distance = surface.ao_distance if surface is not None else None
    # Free the high-poly, its BVH and the tile data now: padding and encoding then reuse
    # their memory instead of faulting in fresh pages (slow on virtual machines).
    caster = surface = frame = high_normals = high_color = work = None
    high = None  # the loaded high-poly (when given as a path)
    normals = acc  # each tile normalized its own texels
    n_overlap = counts["overlap_texels"]
    if n_overlap:
        log(f"warning: {low.name}: {n_overlap:,} texels are covered by overlapping UV "
            "triangles; each such texel takes one of them (give overlapping islands "
            "their own UV space)")
    if acc_color is not None:  # mean of the hits, in place
        np.divide(acc_color, hits[..., None], out=acc_color, where=coverage[..., None])
    if padding > 0 and coverage.any() and not coverage.all():  # else nothing to pad
        from .padding import dilate_in_place

        # In place, one feature transform for every buffer (a copy of a 4096² normal
        # map alone would be another 200 MB).
        dilate_in_place([normals, *([acc_color] if acc_color is not None else []),
                         *extra.values()], coverage, padding)
    result_maps, raw, ranges = {"normal": normals} if "normal" in maps else {}, {}, {}
    for name in extra_maps:
        if name in RANGED:
            raw[name] = extra[name]
            given = getattr(settings, f"{name}_range")
            result_maps[name], ranges[name] = normalized(name, extra[name], coverage, given)
        else:
            result_maps[name] = extra[name]
    n_miss_tex = int(np.count_nonzero(misses))
    if n_miss_tex:
        log(f"warning: {n_miss_tex:,} texels got no hit within the ray distance; "
            + ("raise --max-distance or push the cage further out" if cage_mesh is not None
               else "raise --extrusion/--max-distance or use a cage"))
    stats = {
        "width": w, "height": h, "samples": samples,
        "texels": int(np.count_nonzero(coverage)) + n_miss_tex,  # covered or missed
        "rays": counts["rays"], "ray_misses": counts["ray_misses"],
        "miss_texels": n_miss_tex, "overlap_texels": n_overlap,
        "extrusion": float(extrusion), "max_distance": float(max_distance),
        "threads": n_threads, "seconds": time.perf_counter() - t_start,
    }
    if extra_maps:
        stats["ao_rays"] = settings.ao_rays
        stats["ao_distance"] = ao_distance
        # Per map: texels filled and texels sampled but left without a value.
        sampled = coverage | misses
        stats["maps"] = {m: {"texels": int(extra_coverage.get(m, coverage).sum()),
                             "miss_texels": int((sampled & ~extra_coverage.get(
                                 m, coverage)).sum())} for m in extra_maps}
    return BakeResult(normals=normals, coverage=coverage, misses=misses, space=space,
                      stats=stats, color=acc_color, maps=result_maps, raw=raw, ranges=ranges)


def pair_parts(high_parts: list, low_parts: list, by: str = "name", log=None) -> tuple:
    """Bake groups from two files' parts (:func:`normalkit.mesh.io.load_parts`): (highs,
    lows), paired. ``by="name"``: a low part ``X_low`` takes the high part ``X_high``
    (case-insensitive; a name without the suffix matches the same name), as Marmoset and
    Substance match; high parts no low part takes are left out (``log`` says so).
    ``by="order"``: the k-th of each.

    Raises
    ------
    NormalkitError
        A low part without its high part (named, with the names there are), or, by
        order, unequal counts.
    """
    if by == "order":
        if len(high_parts) != len(low_parts):
            raise NormalkitError(f"--groups order pairs parts by order: the high-poly has "
                                 f"{len(high_parts)} parts, the low-poly {len(low_parts)}; "
                                 "give both files the same objects, or use --groups name")
        return list(high_parts), list(low_parts)
    if by != "name":
        raise NormalkitError(f"--groups must be name or order, got {by!r}")

    def key(name: str, suffix: str) -> str:
        n = name.lower()
        return n[: -len(suffix)] if n.endswith(suffix) else n

    highs = {key(m.name, "_high"): m for m in high_parts}
    pairs, missing = [], []
    for low in low_parts:
        k = key(low.name, "_low")
        if k in highs:
            pairs.append((highs.pop(k), low))
        else:
            missing.append(low.name)
    if missing:
        raise NormalkitError(
            f"no high-poly part for the low-poly part(s) {', '.join(missing)}; name the pairs "
            f"X_high / X_low (high-poly parts: {', '.join(m.name for m in high_parts)})")
    if highs and log is not None:
        log(f"high-poly parts without a low-poly part are left out: {', '.join(highs)}")
    return [h for h, _ in pairs], [lo for _, lo in pairs]


def _groups(high, low, hard_angle, log):
    """Bake groups: lists of high and low parts, paired by order → one high and one low
    mesh, and the group of each of their faces. Normals are completed per part (a
    part's smooth normals never weld with another's)."""
    high = list(high) if isinstance(high, (list, tuple)) else [high]
    low = list(low) if isinstance(low, (list, tuple)) else [low]
    if len(high) != len(low) or not high:
        raise NormalkitError(f"bake groups pair high and low parts by order: got {len(high)} "
                             f"high and {len(low)} low parts; give one high part per low "
                             "part")
    highs = [ensure_normals(_as_mesh(m, f"high-poly part {k}"), log=log)
             for k, m in enumerate(high)]
    lows = []
    for k, m in enumerate(low):
        m = _as_mesh(m, f"low-poly part {k}")
        m.require_uvs()
        lows.append(ensure_normals(m, hard_angle=hard_angle, log=log))
    return (_concatenate(highs, "high"), _concatenate(lows, "low"),
            np.repeat(np.arange(len(highs)), [m.n_faces for m in highs]),
            np.repeat(np.arange(len(lows)), [m.n_faces for m in lows]))


def _concatenate(parts: list, name: str) -> Mesh:
    """One mesh of ``parts`` (their corner data kept; UVs and colours only when every
    part has them)."""
    offsets = np.cumsum([0] + [len(m.positions) for m in parts[:-1]])

    def stack(attr):
        vals = [getattr(m, attr) for m in parts]
        return None if any(v is None for v in vals) else np.concatenate(vals)

    materials = None
    if any(m.materials is not None for m in parts):  # every part keeps its own
        base = np.cumsum([0] + [int(m.materials.max()) + 1 if m.materials is not None else 1
                                for m in parts[:-1]])
        materials = np.concatenate([
            (m.materials if m.materials is not None else np.zeros(m.n_faces, np.int32)) + b
            for m, b in zip(parts, base, strict=True)]).astype(np.int32)
    return Mesh(positions=np.concatenate([m.positions for m in parts]),
                faces=np.concatenate([m.faces + o for m, o in zip(parts, offsets,
                                                                   strict=True)]),
                normals=stack("normals"), uvs=stack("uvs"), colors=stack("colors"),
                name=" + ".join(m.name for m in parts) or name, materials=materials)


def _topology(mesh: Mesh) -> np.ndarray:
    """Corner → vertex pattern after welding by position, relabelled by first use.

    Two meshes have the same topology when these are equal, however their files split
    vertices at seams.
    """
    from ..mesh.model import weld_positions

    ids = weld_positions(mesh.positions)[mesh.faces].ravel()
    _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    return rank[inverse.ravel()]


class _LowFrame:
    """Per-corner low-poly data, packed once for the ray kernels.

    ``attrs`` (F, 3, K) float32: position (3), normal (3), then tangent xyz + sign (4)
    in tangent space (``tangent_col``), then the cage position (3) with a cage
    (``cage_col``); each column is −1 where absent. A sample reads one contiguous row.
    """

    group = None  # (F,) bake group of each low-poly face, with bake groups

    def __init__(self, low: Mesh, tangents, cage: Mesh | None):
        parts = [low.corner_positions(), low.normals]
        self.tangent_col = self.cage_col = -1
        if tangents is not None:
            self.tangent_col = 6
            parts.append(tangents)
        if cage is not None:
            self.cage_col = sum(p.shape[2] for p in parts)
            parts.append(cage.corner_positions())
        self.attrs = np.ascontiguousarray(np.concatenate(parts, axis=2), dtype=np.float32)


def _warm_up(layout, frame: _LowFrame, offsets, acc, hits, coverage, misses, row,
             padding) -> None:
    """While the high-poly is still being prepared: load the tile loop's and the padding's
    compiled kernels from Numba's cache (the first call of each does, about 0.1 s apiece)
    and, for infinite padding, SciPy's image module, so neither falls on the critical
    path later. The kernels run for real on one row, and on no samples where they need
    the high-poly; the argument types are those of the tile loop's calls (one
    compilation per kernel)."""
    from . import embree

    width = acc.shape[1]
    ts = rasterize_tile(layout, (row, row + 1), (0, width), offsets, texel_block(1))
    n = len(ts.face)
    origins, directions = np.empty((n, 3), np.float32), np.empty((n, 3), np.float32)
    tfar = np.empty(n, np.float32)
    weights = ts.bary.T
    setup_rays(frame.attrs, ts.face, weights, 0.0, 1.0, frame.cage_col, EDGE_INSET,
               origins, directions, tfar)
    none = slice(0, 0)
    prim, hit_u, hit_v = np.empty(0, np.int32), np.empty(0, np.float32), np.empty(0, np.float32)
    if embree.available():  # no rays: Embree itself is not called
        from .packets import intersect

        intersect(0, origins[none], directions[none], tfar[none], prim, hit_u, hit_v, True,
                  embree.packet_width())
    shade_tile(prim, hit_u, hit_v, np.empty((0, 3)), np.empty((0, 3), np.int64), frame.attrs,
               ts.face[none], weights[:, none], ts.texel[none], frame.tangent_col, acc, hits,
               coverage, misses, row, row, 0, width)
    if padding > 0:
        from . import padding as pad

        pad.warm_up()
        if math.isinf(padding):
            from scipy import ndimage  # noqa: F401 (the infinite padding's transform)


def _trace(ts, frame: _LowFrame, caster: RayCaster, high_normals: HighNormals,
           extrusion: float, max_depth: float, acc, hits, coverage, misses, tile):
    """Cast one ray per sample of a tile and shade the hits into the tile's part
    ``tile`` = (r0, r1, c0, c1) of ``acc``, ``hits``, ``coverage`` and ``misses``
    (:func:`normalkit.baking.kernels.shade_tile`). Returns Embree's
    :class:`~normalkit.baking.rays.Hits` and the miss count.
    """
    n = len(ts.face)
    origins = np.empty((n, 3), np.float32)
    directions = np.empty((n, 3), np.float32)
    tfar = np.empty(n, np.float32)
    weights = ts.bary.T  # (3, N) C-contiguous: one row per corner
    setup_rays(frame.attrs, ts.face, weights, extrusion, max_depth, frame.cage_col,
               EDGE_INSET, origins, directions, tfar)
    group = None if frame.group is None else frame.group[ts.face]
    # Neighbouring texels' rays, in texel order: Embree's coherent traversal.
    hit = caster.intersect(origins, directions, tfar, group=group, coherent=True)
    n_miss = shade_tile(hit.prim, hit.u, hit.v, high_normals.table, high_normals.corners,
                        frame.attrs, ts.face, weights, ts.texel, frame.tangent_col, acc, hits,
                        coverage, misses, *tile)
    return hit, n_miss, origins, directions


def _shade_maps(surface: HighSurface, ts, frame: _LowFrame, origins, directions, hit,
                extra: dict, extra_coverage: dict, tile, width: int) -> None:
    """The maps beyond the normal map for one tile: per hit sample (HighSurface.shade),
    then per texel the mean of its samples (ID: its first sample), into the tile's rows
    of each ``extra`` buffer (``width`` texels wide); texels without a value keep the
    flat one."""
    r0, r1, c0, c1 = tile
    ok = hit.prim >= 0
    if not ok.any():
        return
    # Each sample's key: its texel's index in the image × 64 + its index among the
    # texel's samples (which lie side by side).
    n = len(ts.texel)
    first = np.ones(n, bool)
    first[1:] = ts.texel[1:] != ts.texel[:-1]
    index = np.arange(n)
    in_texel = index - np.maximum.accumulate(np.where(first, index, 0))
    tile_w = c1 - c0
    image_texel = (r0 + ts.texel // tile_w) * width + c0 + ts.texel % tile_w
    keys = (image_texel * 64 + in_texel)[ok]
    weights = ts.bary.T
    low_points = None
    if "height" in surface.maps:  # the low-poly point of each sample
        corners = frame.attrs[ts.face, :, 0:3].astype(np.float64)  # (N, 3, 3)
        low_points = np.einsum("nkj,kn->nj", corners, weights.astype(np.float64))
    group = None if frame.group is None else frame.group[ts.face[ok]]
    values = surface.shade(ok, origins, directions, hit, low_points, keys, group)
    texel = ts.texel[ok]
    n_tex = (r1 - r0) * (c1 - c0)
    for name, (vals, valid) in values.items():
        if name == "bent":
            enc = np.empty_like(vals)
            sel = np.nonzero(ok)[0]
            encode_samples(np.ascontiguousarray(vals), frame.attrs, ts.face[sel],
                           np.ascontiguousarray(weights[:, sel]), frame.tangent_col, enc)
            vals = enc
        # Row tiles span the whole width: the tile's rows are one contiguous block, and
        # this is a view of them (a narrower tile would fail the reshape, not copy).
        view = extra[name][r0:r1].reshape(n_tex, -1)
        tex = texel if valid is None else texel[valid]
        vals = vals if valid is None else vals[valid]
        if name == "id":
            first_tex, first = np.unique(tex, return_index=True)
            view[first_tex] = vals[first]
            continue
        n = np.bincount(tex, minlength=n_tex)
        has = n > 0
        if valid is not None:  # a map with its own coverage (thickness: rays that hit)
            extra_coverage[name][r0:r1, c0:c1] = has.reshape(r1 - r0, c1 - c0)
        sums = np.stack([np.bincount(tex, weights=vals[:, c], minlength=n_tex)
                         for c in range(vals.shape[1])], axis=1)
        mean = sums[has] / n[has, None]
        if name == "bent":
            length = np.linalg.norm(mean, axis=1, keepdims=True)
            mean = np.where(length > 0, mean / np.maximum(length, 1e-300), view[has])
        view[has] = mean


class _HighColor:
    """The high-poly's colour at ray hits: corner colours × base-colour texture (linear).

    Corner colours are packed channel-major like :class:`_LowFrame` ((12, F) float32);
    the texture is sampled bilinearly with wrap-around at the interpolated UV, each tap
    decoded from sRGB through a lookup table before blending (filtering in linear light).
    """

    def __init__(self, high: Mesh):
        self.colors = None
        if high.colors is not None:
            self.colors = np.ascontiguousarray(
                high.colors.astype(np.float32).transpose(1, 2, 0).reshape(12, -1))
        self.texture = None
        if high.base_color_texture is not None and high.uvs is not None:
            tex = high.base_color_texture
            self.texture = tex.reshape(-1, 4)
            self.tex_h, self.tex_w = tex.shape[:2]
            from ..mesh.model import srgb_lut

            self.lut = srgb_lut(tex.dtype)
            self.alpha_scale = np.float32(1.0 / np.iinfo(tex.dtype).max)
            self.uvs = np.ascontiguousarray(
                high.uvs.astype(np.float32).transpose(1, 2, 0).reshape(6, -1))

    def sample(self, prim: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(4, N) float32 linear RGBA at hits (triangle ``prim``, Embree barycentrics)."""
        w0 = 1 - u - v
        out = np.ones((4, len(prim)), np.float32)
        if self.colors is not None:
            c = np.take(self.colors, prim, axis=1)
            out = c[0:4] * w0 + c[4:8] * u + c[8:12] * v
        if self.texture is not None:
            t = np.take(self.uvs, prim, axis=1)
            tu = t[0] * w0 + t[2] * u + t[4] * v
            tv = t[1] * w0 + t[3] * u + t[5] * v
            out *= self._bilinear(tu, tv)
        return out

    def _bilinear(self, tu: np.ndarray, tv: np.ndarray) -> np.ndarray:
        w, h = self.tex_w, self.tex_h
        x = tu.astype(np.float64) * w - 0.5  # texel centres at (i + 0.5) / W
        y = (1.0 - tv.astype(np.float64)) * h - 0.5  # row 0 at the top
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = (x - x0).astype(np.float32)
        fy = (y - y0).astype(np.float32)
        x0 = x0.astype(np.int64) % w
        y0 = y0.astype(np.int64) % h
        x1 = (x0 + 1) % w
        y1 = (y0 + 1) % h
        out = np.zeros((4, len(tu)), np.float32)
        for yy, xx, wt in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x1, fx * (1 - fy)),
                           (y1, x0, (1 - fx) * fy), (y1, x1, fx * fy)):
            texel = np.take(self.texture, yy * w + xx, axis=0)  # (N, 4) stored values
            out[:3] += self.lut[texel[:, :3]].T * wt
            out[3] += texel[:, 3] * self.alpha_scale * wt
        return out


