"""The rest of the standard bake set, on the normal map's rays: AO, height, curvature,
thickness, bent normals, position and ID.

Every map shares the normal bake's rasterization and primary rays: per texel sample,
the low-poly point P, the ray (origin O, unit direction d) and its closest high-poly hit
H (triangle, barycentrics, distance). AO, bent normals and thickness add secondary rays
from H through the same Embree scene, on the same worker thread as the tile.

What each map holds (per texel, the mean over its samples that hit the high-poly):

``ao``
    The fraction of ``ao_rays`` cosine-weighted hemisphere rays around the high-poly's
    shading normal at H that reach ``ao_distance`` without hitting the high-poly (the
    low-poly is not in the scene). 1 is unoccluded. This is Blender's AO bake (cosine-
    weighted, distance-limited).
``height``
    The signed distance from the low-poly surface to H along the ray: −(H − P)·d,
    positive where the high-poly is outside the low-poly. Raw in mesh units.
``curvature``
    The high-poly's mean curvature at H, (κ₁ + κ₂)/2 in 1/mesh units, positive where the
    surface is convex (a sphere of radius r: 1/r): the cotangent-Laplacian estimate at
    the (position-welded) vertices, interpolated with H's barycentrics.
``thickness``
    The depth of the high-poly behind H: ``ao_rays`` cosine-weighted rays into the inside
    (around −n); each hit at distance t along a ray at angle θ to −n counts t·cos θ, the
    depth along the normal (a slab of width w gives w for every ray); the mean over the
    rays that hit. Raw in mesh units.
``bent``
    Bent normals: the normalized mean of the unoccluded AO directions, in the normal
    map's space (tangent: the low-poly's MikkTSpace frame, exactly as the normals).
``position``
    H in object space, normalized per axis to the high-poly's bounding box: 0 at its
    minimum, 1 at its maximum (a flat axis gives 0.5).
``id``
    A flat colour per high-poly connected part (``id_source="part"``: parts by shared,
    position-welded vertices, hues spaced by the golden angle in part order), per
    material (``"material"``: each part of the file as the loader splits it, glTF
    primitives and nodes, OBJ material groups; :attr:`Mesh.materials`), or the face's own
    vertex colour (``"color"``). A texel takes its first hitting sample's
    colour (ID maps are not blended).

Secondary rays: the same ``ao_rays`` directions (:func:`hemisphere`) at every sample,
turned about the normal by an angle hashed from the sample's texel and its index there
(:func:`sample_spins`), so the noise is the same whatever the tiles, threads or ray order.

Scalars with a range (height, curvature, thickness) are raw here; :func:`normalized`
maps them to [0, 1] for 8/16-bit files: height and curvature as 0.5 + x / (2R) (0.5 is
the low-poly surface / flat, Substance's convention for curvature), thickness as x / R.
R is the given range, else the largest |x| over covered texels (the 99.5th percentile
for curvature, whose spikes at sharp edges would flatten everything else); it is
returned so that reports and file metadata can carry it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import NormalkitError
from ..mesh.model import Mesh

__all__ = ["CHANNELS", "MAPS", "RANGED", "HighSurface", "MapSettings", "check_maps",
           "flat_value", "hemisphere", "normalized"]

MAPS = ("normal", "ao", "height", "curvature", "thickness", "bent", "position", "id")
CHANNELS = {"normal": 3, "ao": 1, "height": 1, "curvature": 1, "thickness": 1, "bent": 3,
            "position": 3, "id": 3}
#: Scalar maps stored raw and normalized by a range: "signed" ones around 0.5.
RANGED = {"height": "signed", "curvature": "signed", "thickness": "positive"}
#: Maps that need secondary rays from the hit point.
SECONDARY = ("ao", "bent", "thickness")
#: Secondary rays start this far (× the high-poly's diagonal) off the surface.
OFFSET = 1e-5
#: Secondary rays are traced in chunks of this many samples (× rays per sample).
CHUNK_SAMPLES = 2048


@dataclass
class MapSettings:
    """Options of the maps beyond the normal map (see the module docstring)."""

    ao_rays: int = 64
    ao_distance: float | None = None  # default: 10 % of the high-poly's bounding diagonal
    height_range: float | None = None
    curvature_range: float | None = None
    thickness_range: float | None = None
    id_source: str = "part"

    def check(self) -> MapSettings:
        if isinstance(self.ao_rays, bool) or not isinstance(self.ao_rays, int) or \
                not 1 <= self.ao_rays <= 4096:
            raise NormalkitError(f"--ao-rays must be a whole number from 1 to 4096, got "
                                 f"{self.ao_rays!r}")
        for name in ("ao_distance", "height_range", "curvature_range", "thickness_range"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v)
                                      and v > 0):
                flag = "--" + name.replace("_", "-")
                raise NormalkitError(f"{flag} must be a positive finite number, got {v!r}")
        if self.id_source not in ("part", "material", "color"):
            raise NormalkitError(f"--id-source must be part, material or color, got "
                                 f"{self.id_source!r}")
        return self


def check_maps(maps) -> tuple[str, ...]:
    """The requested maps, checked and without repeats, in the order given."""
    if isinstance(maps, str):
        maps = [m.strip() for m in maps.split(",") if m.strip()]
    maps = tuple(dict.fromkeys(maps))
    unknown = [m for m in maps if m not in MAPS]
    if unknown or not maps:
        raise NormalkitError(f"unknown or no maps {unknown}; choose from {', '.join(MAPS)}")
    return maps


def flat_value(name: str, space: str) -> tuple:
    """What a texel no ray filled holds (before padding)."""
    if name in ("normal", "bent"):
        return (0.0, 0.0, 1.0) if space == "tangent" else (0.0, 0.0, 0.0)
    return (1.0,) if name == "ao" else (0.0,) * CHANNELS[name]


def hemisphere(n: int) -> np.ndarray:
    """(n, 3) cosine-weighted directions about +z: a Hammersley set of ⌈n/2⌉ points
    (x = (i + ½)/m, the radical inverse in base 2) through Malley's method, each with its
    mirror image through the axis, so that an unoccluded point's directions average to
    the axis exactly (for even n); deterministic."""
    m = (n + 1) // 2
    half = _hammersley_cosine(m)
    mirrored = half * np.array([-1.0, -1.0, 1.0])
    return np.stack([half, mirrored], axis=1).reshape(-1, 3)[:n]


def _hammersley_cosine(n: int) -> np.ndarray:
    i = np.arange(n)
    u1 = (i + 0.5) / n
    bits = i.astype(np.uint32)
    bits = ((bits << 16) | (bits >> 16)) & 0xFFFFFFFF
    bits = ((bits & 0x55555555) << 1) | ((bits & 0xAAAAAAAA) >> 1)
    bits = ((bits & 0x33333333) << 2) | ((bits & 0xCCCCCCCC) >> 2)
    bits = ((bits & 0x0F0F0F0F) << 4) | ((bits & 0xF0F0F0F0) >> 4)
    bits = ((bits & 0x00FF00FF) << 8) | ((bits & 0xFF00FF00) >> 8)
    u2 = bits.astype(np.float64) / 2.0 ** 32
    r, phi = np.sqrt(u1), 2 * np.pi * u2
    return np.stack([r * np.cos(phi), r * np.sin(phi), np.sqrt(np.maximum(0, 1 - u1))], 1)


def sample_spins(keys: np.ndarray) -> np.ndarray:
    """A rotation angle in [0, 2π) per sample, a hash (splitmix64) of its key: the
    texel's index in the image × 64 + the sample's index in the texel. So each sample's
    set of secondary rays is the same whatever the tiles, their order or the threads."""
    z = np.asarray(keys, np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 * np.pi / 2.0**53)


def _basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors completing unit normals ``n`` (M, 3) to orthonormal frames
    (Duff et al. 2017, branchless)."""
    s = np.where(n[:, 2] >= 0, 1.0, -1.0)
    a = -1.0 / (s + n[:, 2])
    b = n[:, 0] * n[:, 1] * a
    t1 = np.stack([1 + s * n[:, 0] ** 2 * a, s * b, -s * n[:, 0]], 1)
    t2 = np.stack([b, s + n[:, 1] ** 2 * a, -n[:, 1]], 1)
    return t1, t2


class HighSurface:
    """The high-poly's per-face data the maps read at a hit, built once per bake."""

    def __init__(self, high: Mesh, caster, maps, settings: MapSettings, log=None):
        self.maps = tuple(maps)
        self.caster = caster
        self.settings = settings
        self.normals = np.ascontiguousarray(high.normals, dtype=np.float64)  # (F, 3, 3)
        corners = high.corner_positions().astype(np.float64)
        lo, hi = high.positions.min(0), high.positions.max(0)
        self.box_min, self.box_size = lo, hi - lo
        self.diag = float(np.linalg.norm(hi - lo)) or 1.0
        fn = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        self.face_normals = fn / np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-300)
        self.ao_distance = float(settings.ao_distance or 0.1 * self.diag)
        self.thickness_distance = 2.0 * self.diag
        self.dirs = hemisphere(settings.ao_rays)
        self.corner_curvature = mean_curvature(high) if "curvature" in maps else None
        self.face_ids = _id_colours(high, settings.id_source, log) if "id" in maps else None

    def shade(self, ok, origins, directions, hit, low_points, keys, group=None) -> dict:
        """Per hit sample (``ok`` selects the samples that hit): each map's raw values.
        ``keys``: a number per hit sample that no other sample of the bake has (see
        :func:`sample_spins`). ``group``: the bake group of each of those samples (with
        bake groups), whose part alone the secondary rays see.

        Returns {name: (values (M, C) float64, valid (M,) bool)} for the maps other
        than "normal" and "bent"'s encoding (bent is returned as world directions).
        """
        prim = hit.prim[ok].astype(np.int64)
        u = hit.u[ok].astype(np.float64)
        v = hit.v[ok].astype(np.float64)
        w = np.stack([1 - u - v, u, v], 1)  # (M, 3) corner weights
        d = directions[ok].astype(np.float64)
        h = origins[ok].astype(np.float64) + hit.t[ok, None].astype(np.float64) * d
        out = {}
        if "height" in self.maps:
            out["height"] = (-np.einsum("ij,ij->i", h - low_points[ok], d)[:, None], None)
        if "position" in self.maps:
            size = np.where(self.box_size > 0, self.box_size, 1.0)
            pos = np.where(self.box_size > 0, (h - self.box_min) / size, 0.5)
            out["position"] = (pos, None)
        if "curvature" in self.maps:
            out["curvature"] = (np.einsum("ij,ij->i", self.corner_curvature[prim], w)[:, None],
                                None)
        if "id" in self.maps:
            out["id"] = (self.face_ids[prim], None)
        if any(m in self.maps for m in SECONDARY):
            n = np.einsum("ijk,ij->ik", self.normals[prim], w)
            n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
            ng = self.face_normals[prim]
            out.update(self._secondary(h, n, ng, keys, group))
        return out

    def _secondary(self, h, n, ng, keys, group=None) -> dict:
        """AO, bent normals and thickness from ``ao_rays`` rays per hit point."""
        k = len(self.dirs)
        m = len(h)
        spin = sample_spins(keys)  # a rotation of the set per sample
        eps = OFFSET * self.diag
        want = {name: name in self.maps for name in SECONDARY}
        ao = np.ones(m) if want["ao"] else None
        bent = np.zeros((m, 3)) if want["bent"] else None
        depth = np.zeros(m) if want["thickness"] else None
        n_in = np.zeros(m) if want["thickness"] else None
        for s0 in range(0, m, CHUNK_SAMPLES):
            sl = slice(s0, min(s0 + CHUNK_SAMPLES, m))
            c, s = np.cos(spin[sl])[:, None], np.sin(spin[sl])[:, None]
            rays_group = None if group is None else np.repeat(group[sl], k)
            lx = c * self.dirs[None, :, 0] - s * self.dirs[None, :, 1]  # (c, k)
            ly = s * self.dirs[None, :, 0] + c * self.dirs[None, :, 1]
            lz = np.broadcast_to(self.dirs[None, :, 2], lx.shape)
            side = np.where(np.einsum("ij,ij->i", ng[sl], n[sl]) >= 0, 1.0, -1.0)[:, None]
            if want["ao"] or want["bent"]:
                t1, t2 = _basis(n[sl])
                world = (lx[..., None] * t1[:, None] + ly[..., None] * t2[:, None]
                         + lz[..., None] * n[sl][:, None])  # (c, k, 3)
                o = np.repeat(h[sl] + eps * side * ng[sl], k, axis=0)
                blocked = self.caster.occluded(o, world.reshape(-1, 3),
                                               np.full(len(o), self.ao_distance),
                                               group=rays_group)
                free = ~blocked.reshape(-1, k)
                if want["ao"]:
                    ao[sl] = free.mean(axis=1)
                if want["bent"]:
                    b = np.einsum("ck,ckj->cj", free.astype(np.float64), world)
                    none = ~free.any(axis=1)
                    b[none] = n[sl][none]  # fully occluded: the surface normal
                    bent[sl] = b
            if want["thickness"]:
                inward = -n[sl]
                t1, t2 = _basis(inward)
                world = (lx[..., None] * t1[:, None] + ly[..., None] * t2[:, None]
                         + lz[..., None] * inward[:, None])
                o = np.repeat(h[sl] - eps * side * ng[sl], k, axis=0)
                res = self.caster.intersect(o, world.reshape(-1, 3),
                                            np.full(len(o), self.thickness_distance),
                                            group=rays_group)
                got = (res.prim >= 0).reshape(-1, k)
                along = res.t.reshape(-1, k).astype(np.float64) * lz  # t·cos θ
                depth[sl] = np.where(got, along, 0).sum(axis=1)
                n_in[sl] = got.sum(axis=1)
        out = {}
        if want["ao"]:
            out["ao"] = (ao[:, None], None)
        if want["bent"]:
            out["bent"] = (bent, None)
        if want["thickness"]:
            valid = n_in > 0
            out["thickness"] = ((depth / np.maximum(n_in, 1))[:, None], valid)
        return out


def mean_curvature(mesh: Mesh) -> np.ndarray:
    """(F, 3) mean curvature at each face corner: the cotangent-Laplacian estimate
    H = −½ (Δp · n̂) at the position-welded vertices (Meyer et al. 2003, mixed area
    simplified to a third of the one-ring area), positive where convex."""
    from scipy import sparse

    from ..mesh.model import weld_positions

    ids = weld_positions(mesh.positions)
    faces = ids[mesh.faces]
    n_v = int(ids.max()) + 1 if len(ids) else 0
    pos = np.zeros((n_v, 3))
    pos[ids] = mesh.positions
    p = pos[faces]  # (F, 3, 3)
    area = np.zeros(n_v)
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    fa = 0.5 * np.linalg.norm(fn, axis=1)
    rows, cols, vals = [], [], []
    for k in range(3):
        i, j, o = faces[:, (k + 1) % 3], faces[:, (k + 2) % 3], faces[:, k]
        a, b = pos[i] - pos[o], pos[j] - pos[o]
        cot = np.einsum("ij,ij->i", a, b) / np.maximum(np.linalg.norm(np.cross(a, b), axis=1),
                                                        1e-300)
        rows += [i, j]
        cols += [j, i]
        vals += [0.5 * cot, 0.5 * cot]
        np.add.at(area, o, fa / 3)
    w = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_v, n_v))
    deg = np.asarray(w.sum(axis=1)).ravel()
    lap = (w @ pos - deg[:, None] * pos) / np.maximum(area, 1e-300)[:, None]
    vn = np.zeros((n_v, 3))
    np.add.at(vn, faces.ravel(), np.repeat(fn, 3, axis=0))
    vn /= np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-300)
    h = -0.5 * np.einsum("ij,ij->i", lap, vn)
    return h[faces]


def _id_colours(mesh: Mesh, source: str, log=None) -> np.ndarray:
    """(F, 3) ID colour per high-poly face, in [0, 1]."""
    if source == "material":
        if mesh.materials is None:
            if log is not None:
                log(f"{mesh.name}: one material: the id map is one colour")
            return np.tile(_hsv(np.zeros(1), 0.65, 0.95), (mesh.n_faces, 1))
        index = np.unique(mesh.materials, return_inverse=True)[1]
        return _hsv((index * 0.6180339887498949) % 1.0, 0.65, 0.95)
    if source == "color":
        if mesh.colors is None:
            raise NormalkitError(f"{mesh.name}: --id-source color needs vertex colours; the "
                                 "high-poly has none (use --id-source part)")
        from ..mesh.model import encode_color

        rgb = encode_color(mesh.colors.mean(axis=1))[..., :3]  # sRGB 8-bit, as stored
        return rgb.astype(np.float64) / 255.0
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from ..mesh.model import weld_positions

    ids = weld_positions(mesh.positions)[mesh.faces]
    n_v = int(ids.max()) + 1
    f = np.repeat(np.arange(len(ids)), 3)
    graph = coo_matrix((np.ones(len(f)), (f, ids.ravel() + len(ids))),
                       shape=(len(ids) + n_v,) * 2)
    _, labels = connected_components(graph, directed=False)
    part = np.unique(labels[:len(ids)], return_inverse=True)[1]
    hue = (part * 0.6180339887498949) % 1.0
    return _hsv(hue, 0.65, 0.95)


def _hsv(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """(N, 3) RGB of hues ``h`` in [0, 1) at saturation ``s`` and value ``v``."""
    k = (np.array([5.0, 3.0, 1.0])[None, :] + h[:, None] * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def normalized(name: str, raw: np.ndarray, coverage: np.ndarray,
               given: float | None) -> tuple[np.ndarray, float | None]:
    """(values in [0, 1], the range R used) of a ranged scalar map (see module notes)."""
    if name not in RANGED:
        return raw, None
    x = raw[..., 0]
    covered = np.abs(x[coverage]) if coverage.any() else np.zeros(1)
    if given is not None:
        r = float(given)
    elif name == "curvature":
        r = float(np.percentile(covered, 99.5)) if covered.size else 0.0
    else:
        r = float(covered.max()) if covered.size else 0.0
    r = r if r > 0 else 1.0
    if RANGED[name] == "signed":
        v = 0.5 + x / (2 * r)
    else:
        v = x / r
    return np.clip(v, 0.0, 1.0)[..., None].astype(np.float32), r


def encode_map(name: str, result, bits: int, directx: bool = False) -> tuple:
    """(image, text metadata) of map ``name`` of a :class:`~normalkit.baking.bake.BakeResult`
    for a ``bits``-deep file: 8/16 integer levels of the [0, 1] values; 32 float, where
    height, curvature and thickness are written raw (mesh units). Normal-type maps (normal,
    bent) are encoded like the normal map, ``directx`` flipping their green channel.
    The metadata ({"normalkit": JSON}) names the map and, for ranged maps, the range and
    how values were mapped, so the raw values can be recovered from an 8/16-bit file."""
    import json

    from ..maps.encode import encode_normals

    meta = {"map": name}
    if name in ("normal", "bent"):
        img = encode_normals(result.maps[name], bits, directx=directx)
        meta.update(space=result.space, green="DirectX" if directx else "OpenGL")
    elif bits == 32:
        src = result.raw[name] if name in RANGED else result.maps[name]
        img = np.ascontiguousarray(src[..., 0] if src.shape[-1] == 1 else src, np.float32)
        if name in RANGED:
            meta["units"] = "1/mesh units" if name == "curvature" else "mesh units"
    else:
        top = 255 if bits == 8 else 65535
        v = result.maps[name]
        img = np.round(np.clip(v, 0, 1) * top).astype(np.uint8 if bits == 8 else np.uint16)
        img = np.ascontiguousarray(img[..., 0] if img.shape[-1] == 1 else img)
    if name in RANGED:
        meta["range"] = result.ranges[name]
        if bits != 32:
            meta["encoding"] = ("value = 0.5 + x / (2 range)" if RANGED[name] == "signed"
                                else "value = x / range")
    return img, {"normalkit": json.dumps(meta)}
