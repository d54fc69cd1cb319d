"""Ray-traced renders of a mesh with its normal map: shaded RGB plus exact geometric passes.

One primary ray per sample (Embree, row tiles on a thread pool), then vectorized shading:
per-corner attributes and texels are gathered row-major (one fetch per hit), and all math
runs on channel-major (3, N) arrays as in :mod:`normalkit.baking.bake`. No shadows, no
interreflection: direct light from a small rig plus ambient/hemisphere light, which is
what looking at a normal map needs.

Frames and encodings (CONVENTIONS.md)
-------------------------------------
* Normal maps decode exactly as the baker encodes them: tangent space is MikkTSpace,
  n = normalize(x·T + y·B + z·N) with the per-corner tangents of
  :func:`normalkit.mesh.tangents.compute_tangents` and the mesh's per-corner normals, T and N
  barycentrically interpolated and *not* renormalized, B = sign·cross(N, T)
  (:func:`normalkit.mesh.tspace.tangent_to_world`); object space: n = the map's value. On a back
  face the result is negated (as Cycles does). Green is OpenGL unless ``directx``.
* Textures are filtered bilinearly at the hit's UV, with wrap-around; texel (row j,
  column i) has its centre at u = (i + 0.5)/W, v = 1 − (j + 0.5)/H. The normal map is
  decoded per texel (:func:`normalkit.maps.encode.decode_normals`) and then filtered; the
  shader's final normalization makes the per-texel normalization irrelevant up to the
  filter weights (differences ≪ 0.01° for encoded unit vectors).
* Base colour, as glTF defines it: (corner colours, barycentrically interpolated, or white
  when the mesh has none) × (texture at the hit's UV: the ``color_map`` argument, else the
  mesh's ``base_color_texture``, or white when there is neither); ``material.base_color``
  only when the mesh has no corner colours and no texture applies. Corner colours
  (``Mesh.colors``) are linear; base-colour textures in 8/16-bit files (and
  ``Mesh.base_color_texture``) are sRGB and converted to linear per texel before filtering
  (as :mod:`normalkit.baking.bake` samples them); float textures are taken as linear. Alpha
  is ignored: surfaces are opaque. Output RGB is linear radiance converted to sRGB.
* Passes (all (H, W, …), row 0 at the top):

  - ``rgb`` float32 (H, W, 3): shaded colour, sRGB-encoded in [0, 1], over black
    (premultiplied by coverage; antialiased with ``samples`` rays per pixel);
  - ``alpha`` float32 (H, W): fraction of the pixel's samples that hit (on request only);
  - ``normal_world`` float32 (H, W, 3): unit shading normal (after the normal map) in mesh
    coordinates;
  - ``normal_camera`` float32 (H, W, 3): the same in the camera frame: x right, y up, +z
    toward the viewer (Marigold);
  - ``depth`` float32 (H, W): z-depth along the view axis (positive, camera frame);
  - ``mask`` bool (H, W): the pixel-centre ray hit the mesh;
  - ``uv`` float32 (H, W, 2): interpolated UV (not wrapped; 0 for a mesh without UVs);
  - ``triangle`` int32 (H, W): hit triangle index, −1 for background.

  Geometric passes (all but rgb and alpha) come from the ray through the pixel centre
  (i + 0.5, j + 0.5), so they are exact, unfiltered samples whatever ``samples`` is;
  background pixels hold 0 (triangle: −1). With ``samples`` > 1 the centre rays are traced
  in addition to the S stratified shading rays.

Lights and materials
--------------------
:class:`DirectionalLight`, :class:`PointLight`, :class:`AmbientLight`,
:class:`HemisphereLight` and :class:`Material` are plain dataclasses; light directions and
positions are given in the camera frame (``space="camera"``, the rig follows the camera) or
in world coordinates (``space="world"``). Radiance leaving a surface point is
Σ_lights (ρ(1−m)/π + F·D·V)·E·max(n·l, 0) + ambient terms, with E the light's irradiance
(colour × intensity, divided by distance² for point lights), ρ the base colour, m metallic,
and GGX (default, Smith height-correlated V, Schlick F) or normalized Blinn-Phong specular.
The "unlit" model returns the base colour itself (rgb = linear_to_srgb(ρ)), with no light
and no normal involved: the albedo pass that a reconstructed colour texture is compared to.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from ..core.errors import NormalkitError
from ..core.limits import check_memory
from ..core.parallel import map_threads
from ..core.progress import progress_bar
from ..mesh.model import Mesh, interpolate_corners, srgb_lut
from ..mesh.tspace import dot, tangent_to_world, unit
from .camera import Camera, eye_inside, pixel_sample_offsets

__all__ = [
    "PASSES", "ALL_PASSES", "DirectionalLight", "PointLight", "AmbientLight", "HemisphereLight",
    "Material", "Renderer", "default_lights", "render", "shading_cost", "srgb_to_linear",
    "linear_to_srgb",
]

#: Passes :func:`render` returns by default.
PASSES = ("rgb", "normal_world", "normal_camera", "depth", "mask", "uv", "triangle")
#: Every pass name :func:`render` knows.
ALL_PASSES = PASSES + ("alpha",)
SPACES = ("tangent", "object")
MODELS = ("ggx", "blinn-phong", "lambert", "unlit")
TILE_RAYS = 1 << 16  # rays per tile: bounds the per-thread working set (~30 MB)
_GEOMETRIC = frozenset(ALL_PASSES) - {"rgb", "alpha"}


# --------------------------------------------------------------------------------------------
# Lights and material


def _rgb(v, name: str) -> tuple[float, float, float]:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, 3)
    if a.shape != (3,) or not np.isfinite(a).all() or (a < 0).any():
        raise NormalkitError(f"{name} must be 3 non-negative numbers, got {v!r}")
    return tuple(float(x) for x in a)


def _space(space: str, name: str) -> str:
    if space not in ("camera", "world"):
        raise NormalkitError(f"{name}.space must be 'camera' or 'world', got {space!r}")
    return space


@dataclass
class DirectionalLight:
    """A distant light (sun).

    direction : 3 floats, the direction the light *travels* (from the light toward the
        scene), in the frame named by ``space``.
    color, intensity : linear RGB and scale; E = color·intensity is the irradiance on a
        surface facing the light (a white Lambertian surface then has radiance E/π).
    space : "camera" (default: the light follows the camera) or "world".
    """

    direction: tuple = (0.0, 0.0, -1.0)
    color: tuple = (1.0, 1.0, 1.0)
    intensity: float = 3.0
    space: str = "camera"


@dataclass
class PointLight:
    """An isotropic point light; irradiance falls off as intensity·color / distance²."""

    position: tuple = (0.0, 0.0, 0.0)
    color: tuple = (1.0, 1.0, 1.0)
    intensity: float = 1.0
    space: str = "world"


@dataclass
class AmbientLight:
    """Uniform environment radiance color·intensity (diffuse only)."""

    color: tuple = (1.0, 1.0, 1.0)
    intensity: float = 0.1


@dataclass
class HemisphereLight:
    """Sky/ground ambient: radiance blends from ``ground_color`` to ``sky_color`` as the
    normal turns from −up to +up (diffuse only, times ``intensity``)."""

    sky_color: tuple = (1.0, 1.0, 1.0)
    ground_color: tuple = (0.3, 0.3, 0.3)
    intensity: float = 0.35
    up: tuple = (0.0, 1.0, 0.0)
    space: str = "camera"


@dataclass
class Material:
    """Surface reflectance.

    base_color : linear RGB albedo, used only for a mesh without colour: corner colours,
        a ``color_map`` or the mesh's own texture replace it (module docstring).
    roughness : 0–1, perceptual (GGX α = roughness²; Blinn-Phong exponent 2/α² − 2).
    metallic : 0–1; dielectric F0 = 0.08·specular, metal F0 = base colour.
    specular : 0–1, dielectric reflectance scale (0.5 → F0 = 0.04).
    model : "ggx" (default), "blinn-phong", "lambert" (no specular), or "unlit" (the base
        colour itself; lights, normals and the other fields play no part).
    """

    base_color: tuple = (0.7, 0.7, 0.7)
    roughness: float = 0.45
    metallic: float = 0.0
    specular: float = 0.5
    model: str = "ggx"

    def validate(self) -> Material:
        _rgb(self.base_color, "material.base_color")
        for name in ("roughness", "metallic", "specular"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise NormalkitError(f"material.{name} must be in [0, 1], got {v!r}")
        if self.model not in MODELS:
            raise NormalkitError(f"material.model must be one of {MODELS}, got {self.model!r}")
        return self


def default_lights() -> list:
    """The default rig, in the camera frame so that every view of an orbit is lit alike.

    A key light from the upper left behind the viewer, a dimmer fill from the right, a rim
    light from behind, and a sky/ground hemisphere (camera up = sky).
    """
    return [
        DirectionalLight(direction=(0.45, -0.55, -0.70), intensity=2.2),
        DirectionalLight(direction=(-0.70, -0.15, -0.70), color=(0.9, 0.95, 1.0),
                         intensity=0.5),
        DirectionalLight(direction=(-0.20, -0.50, 0.85), intensity=0.8),
        HemisphereLight(intensity=0.2),
    ]


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] → linear (IEC 61966-2-1), float32."""
    x = np.asarray(x, dtype=np.float32)
    return np.where(x <= 0.04045, x / np.float32(12.92),
                    ((x + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4))


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear values → sRGB-encoded, clipped to [0, 1], float32."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * np.float32(12.92),
                    np.float32(1.055) * x ** np.float32(1 / 2.4) - np.float32(0.055))


# --------------------------------------------------------------------------------------------
# Inputs


def _as_mesh(mesh) -> Mesh:
    if isinstance(mesh, Mesh):
        return mesh.validate()
    if isinstance(mesh, (str, os.PathLike)):
        from ..mesh.io import load_mesh

        return load_mesh(mesh)
    raise NormalkitError(f"mesh: expected a Mesh or a path, got {type(mesh).__name__}")


def _linear_rgb(img: np.ndarray, label: str) -> np.ndarray:
    """(H, W, 3) base-colour texels → linear float32: uint8/uint16 are sRGB (decoded by the
    table the baker uses, :func:`normalkit.mesh.model.srgb_lut`), floats linear."""
    if img.dtype in (np.uint8, np.uint16):
        return srgb_lut(img.dtype)[img]
    if img.dtype.kind == "f":
        return img.astype(np.float32)
    raise NormalkitError(f"{label}: unsupported dtype {img.dtype}; "
                         "give uint8/uint16 (sRGB) or float (linear) texels")


def _as_image(img, label: str) -> np.ndarray:
    if isinstance(img, (str, os.PathLike)):
        from ..images.io import read_image

        img = read_image(img)
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or img.shape[0] < 1 or img.shape[1] < 1:
        raise NormalkitError(
            f"{label} must be an (H, W, 3) image (RGB; an alpha channel is ignored), "
            f"got shape {img.shape}")
    if img.dtype.kind == "f" and not np.isfinite(img[..., :3]).all():
        raise NormalkitError(f"{label} contains NaN or infinite texels; fix the file")
    return img


class _Texture:
    """An (H, W, C) float32 texture for bilinear lookups.

    Stored row-major (H·W, C): one gather fetches a texel's C channels together, which is
    several times faster than C separate channel gathers at random positions.
    """

    def __init__(self, texels: np.ndarray):
        self.h, self.w, c = texels.shape
        self.data = np.ascontiguousarray(texels.reshape(-1, c), dtype=np.float32)

    def sample(self, uv: np.ndarray) -> np.ndarray:
        """Bilinear, wrapping lookup at (2, N) UVs; returns (C, N) float32.

        Texel (row j, column i) has its centre at u = (i + 0.5)/W, v = 1 − (j + 0.5)/H.
        """
        x = uv[0] * np.float32(self.w) - np.float32(0.5)
        y = (np.float32(1.0) - uv[1]) * np.float32(self.h) - np.float32(0.5)
        x0 = np.floor(x)
        y0 = np.floor(y)
        fx = (x - x0)[:, None]
        fy = (y - y0)[:, None]
        i0 = x0.astype(np.int64) % self.w
        j0 = y0.astype(np.int64) % self.h
        i1 = i0 + 1
        i1[i1 == self.w] = 0
        j1 = (j0 + 1) * self.w
        j1[j1 == self.h * self.w] = 0
        j0 *= self.w
        d = self.data
        top = np.take(d, j0 + i0, axis=0)
        top += (np.take(d, j0 + i1, axis=0) - top) * fx
        bot = np.take(d, j1 + i0, axis=0)
        bot += (np.take(d, j1 + i1, axis=0) - bot) * fx
        top += (bot - top) * fy
        return np.ascontiguousarray(top.T)


class _Corners:
    """Per-corner attributes packed (F, 3, K) float32 for one gather per hit.

    ``parts`` maps a name to (F, 3, k) data; :meth:`interpolate` returns a dict of
    channel-major (k, N) arrays (views into one contiguous (K, N) block), so the shading
    math afterwards runs on contiguous component rows as in :mod:`normalkit.baking.bake`.
    """

    def __init__(self, parts: dict):
        self.slices = {}
        k0 = 0
        arrays = []
        for name, a in parts.items():
            k = a.shape[2]
            self.slices[name] = slice(k0, k0 + k)
            k0 += k
            arrays.append(np.asarray(a, np.float32))
        self.table = np.ascontiguousarray(np.concatenate(arrays, axis=2)) if arrays else None

    def interpolate(self, face: np.ndarray, b1: np.ndarray, b2: np.ndarray) -> dict:
        if self.table is None:
            return {}
        weights = np.stack([np.float32(1.0) - b1 - b2, b1, b2], axis=1)
        out = interpolate_corners(self.table, face, weights)
        return {name: out[sl] for name, sl in self.slices.items()}


@dataclass
class _Hits:
    """Ray hits of one tile: local pixel index, triangle, Embree barycentrics, t, direction."""

    pixel: np.ndarray
    face: np.ndarray
    b1: np.ndarray
    b2: np.ndarray
    t: np.ndarray
    direction: np.ndarray  # (3, n) as traced (not unit)
    origin: np.ndarray  # (3, n)
    n_rays: int = 0


@dataclass
class _Frame:
    """What shading needs per hit: shading normal (world), unit view vector, UV, linear
    corner colour (3, n) (None for a mesh without colours), position."""

    normal: np.ndarray
    view: np.ndarray
    uv: np.ndarray | None
    hits: _Hits
    color: np.ndarray | None = None


#: Peak memory of one view, measured (spot, all passes, 4 spp: 0.29 GB at 512², 0.43 at
#: 1024², 0.82 at 2048²; the samples are shaded in tiles, so their count does not
#: matter): about 125 bytes per pixel over a fixed 0.3 GB, rounded up for a margin.
PEAK_BYTES_PER_PIXEL = 160
PEAK_BYTES_FIXED = 400 << 20


def peak_bytes(width: int, height: int) -> int:
    """Estimated peak memory (bytes) of rendering one ``width`` × ``height`` view."""
    return PEAK_BYTES_FIXED + PEAK_BYTES_PER_PIXEL * int(width) * int(height)


class Renderer:
    """A mesh prepared for rendering: Embree scene, packed corner data, decoded textures.

    Build it once and call :meth:`render` per camera (the CLI renders every view of an orbit
    this way); :func:`render` is the one-shot form. Parameters are those of :func:`render`.
    After each call, ``last_stats`` holds ``rays``, ``seconds`` (tracing and shading),
    ``threads``, ``width``, ``height`` and ``samples``.

    Cost: the Embree BVH (~1 s per million triangles), MikkTSpace tangents for a
    tangent-space map (~3 s per million triangles), and about 110 bytes per triangle of
    packed corner data (normals, UVs, tangents; 36 more for corner colours) plus 12 bytes
    per texel of each texture.
    """

    def __init__(self, mesh, *, normal_map=None, space: str = "tangent", directx: bool = False,
                 color_map=None, threads: int | None = None, log=None):
        from ..baking.rays import RayCaster
        from ..core.parallel import default_threads
        from ..mesh.normals import ensure_normals

        if space not in SPACES:
            raise NormalkitError(f"space must be one of {SPACES}, got {space!r}")
        mesh = _as_mesh(mesh)
        mesh = ensure_normals(mesh, log=log)
        self.mesh = mesh
        self.space = space
        self.threads = int(threads) if threads else default_threads()
        if self.threads < 1:
            raise NormalkitError(f"threads must be ≥ 1, got {threads!r}")
        self.log = log or (lambda msg: None)

        self.normal_map = self.color_map = None
        mesh_texture = mesh.base_color_texture if color_map is None else None
        if mesh_texture is not None and mesh.uvs is None:
            self.log(f"{mesh.name}: the mesh has a base-colour texture but no UVs; "
                     "the texture is not used")
            mesh_texture = None
        if normal_map is not None or color_map is not None or mesh_texture is not None:
            what = "a normal map" if normal_map is not None else "a color map"
            if mesh.uvs is None:
                raise NormalkitError(
                    f"{mesh.name}: {what} was given but the mesh has no UVs to map it with; "
                    "use the mesh the map was baked for (with its UVs), or unwrap it first")
            if (mesh.uvs < 0).any() or (mesh.uvs > 1).any():
                self.log(f"warning: {mesh.name}: UVs outside [0, 1] wrap around the texture")
        if normal_map is not None:
            from ..maps.encode import decode_normals

            img = _as_image(normal_map, "normal map")
            self.normal_map = _Texture(decode_normals(img, directx=directx))
        if color_map is not None:
            self.color_map = _Texture(_linear_rgb(_as_image(color_map, "color map")[..., :3],
                                                  "color map"))
        elif mesh_texture is not None:
            self.color_map = _Texture(_linear_rgb(mesh_texture[..., :3],
                                                  f"{mesh.name}: base_color_texture"))

        self.caster = RayCaster(mesh.positions, mesh.faces)
        fn = mesh.face_normals()
        self._face_normals = fn
        self._ng = np.ascontiguousarray(fn, dtype=np.float32)  # (F, 3) row-major gathers
        tangents = None
        if self.normal_map is not None and space == "tangent":
            from ..mesh.tangents import compute_tangents

            tangents = compute_tangents(mesh).reshape(-1, 3, 4)
        self._corners = self._pack(self.normal_map is not None and space, tangents)

    def _pack(self, map_space, tangents=None) -> _Corners:
        """The corner table a configuration needs: tangent map → normal, UV, tangent+sign;
        object map → UV; no map → normal (+ UV when the mesh has UVs); each + linear RGB
        when the mesh has corner colours."""
        m = self.mesh
        if map_space == "tangent":
            parts = {"n": m.normals, "uv": m.uvs, "t": tangents}
        elif map_space == "object":
            parts = {"uv": m.uvs}
        else:
            parts = {"n": m.normals}
            if m.uvs is not None:
                parts["uv"] = m.uvs
        if m.colors is not None:
            parts["c"] = m.colors[..., :3]
        return _Corners(parts)

    # ----------------------------------------------------------------------------------
    def _trace(self, camera: Camera, rows, offsets) -> _Hits:
        o, d, _ = camera._pixel_rays(rows, offsets, pixels=False)
        rh = self.caster.intersect(o, d, np.full(len(o), np.inf, np.float32))
        hit = np.nonzero(rh.prim >= 0)[0]
        return _Hits(pixel=hit // len(offsets), face=rh.prim[hit].astype(np.int64),
                     b1=rh.u[hit], b2=rh.v[hit], t=rh.t[hit],
                     direction=np.ascontiguousarray(d[hit].T),
                     origin=np.ascontiguousarray(o[hit].T), n_rays=len(o))

    def _normals(self, h: _Hits, normal_map: _Texture | None, space: str,
                 corners: _Corners) -> _Frame:
        """Shading normal (world), view vector and UV of every hit."""
        a = corners.interpolate(h.face, h.b1, h.b2)
        uv = a.get("uv")
        if normal_map is None:
            n = unit(a["n"])
        elif space == "object":
            n = unit(normal_map.sample(uv))
        else:
            t = a["t"]
            n = tangent_to_world(normal_map.sample(uv), t[:3], a["n"], t[3])
        view = -unit(h.direction)
        ng = np.take(self._ng, h.face, axis=0).T
        n *= np.where(dot(ng, view) < 0, np.float32(-1.0), np.float32(1.0))
        return _Frame(normal=n, view=view, uv=uv, hits=h, color=a.get("c"))

    def _base_color(self, fr: _Frame, material: Material) -> np.ndarray:
        """(3, n) linear base colour, or (3, 1) ``material.base_color`` for a colourless mesh:
        corner colours × texture (each white when absent), as glTF defines it."""
        base = fr.color
        if self.color_map is not None and fr.uv is not None:
            tex = self.color_map.sample(fr.uv)
            base = tex if base is None else base * tex
        if base is None:
            base = np.asarray(material.base_color, np.float32)[:, None]
        return base

    def _radiance(self, fr: _Frame, lights, material: Material) -> np.ndarray:
        """(3, n) linear radiance toward the camera."""
        base = self._base_color(fr, material)
        if material.model == "unlit":
            return np.ascontiguousarray(np.broadcast_to(base, fr.view.shape), np.float32)
        n, v = fr.normal, fr.view
        metal = np.float32(material.metallic)
        diffuse = base * (np.float32(1.0) - metal) * np.float32(1 / math.pi)
        f0 = np.float32(0.08 * material.specular) * (np.float32(1.0) - metal) + base * metal
        nv = np.clip(dot(n, v), 1e-4, 1.0)
        alpha = np.float32(max(material.roughness ** 2, 1e-3))
        a2 = alpha * alpha
        out = np.zeros((3, n.shape[1]), np.float32)
        pos = None
        for light in lights:
            kind, data = light
            if kind == "ambient":
                out += diffuse * np.float32(math.pi) * data
                continue
            if kind == "hemisphere":
                sky, ground, up = data
                w = np.float32(0.5) * (np.float32(1.0) + dot(n, up))
                out += diffuse * np.float32(math.pi) * (ground + (sky - ground) * w)
                continue
            if kind == "directional":
                ldir, irr = data
                ldir = np.broadcast_to(ldir, n.shape)
            else:  # point
                lpos, power = data
                if pos is None:
                    pos = fr.hits.origin + fr.hits.direction * fr.hits.t
                ldir = lpos - pos
                d2 = np.maximum(dot(ldir, ldir), np.float32(1e-12))
                ldir = ldir / np.sqrt(d2)
                irr = power / d2
            nl = np.maximum(dot(n, ldir), 0.0)
            lit = nl > 0
            if not lit.any():
                continue
            term = diffuse * (irr * nl)
            if material.model != "lambert":
                hv = unit(ldir + v)
                nh = np.maximum(dot(n, hv), 0.0)
                vh = np.maximum(dot(v, hv), 0.0)
                fres = f0 + (np.float32(1.0) - f0) * (np.float32(1.0) - vh) ** 5
                if material.model == "ggx":
                    dd = nh * nh * (a2 - np.float32(1.0)) + np.float32(1.0)
                    d_ggx = a2 / (np.float32(math.pi) * dd * dd)
                    vis = np.float32(0.5) / (
                        nl * np.sqrt(nv * nv * (np.float32(1.0) - a2) + a2)
                        + nv * np.sqrt(nl * nl * (np.float32(1.0) - a2) + a2) + np.float32(1e-12))
                    spec = d_ggx * vis
                else:
                    s = np.float32(max(2.0 / a2 - 2.0, 1.0))
                    spec = (s + np.float32(8.0)) / np.float32(8 * math.pi) * nh ** s
                term += fres * (spec * nl) * irr
            out += np.where(lit, term, np.float32(0.0))
        return out

    # ----------------------------------------------------------------------------------
    def render(self, camera: Camera, *, lights=None, material: Material | None = None,
               samples: int = 1, passes=PASSES, progress: bool = False) -> dict:
        """Render one view; see :func:`render` for the parameters and passes."""
        if not isinstance(camera, Camera):
            raise NormalkitError(f"camera must be a normalkit.rendering.camera.Camera, "
                                 f"got {type(camera).__name__}")
        passes = tuple(passes)
        unknown = [p for p in passes if p not in ALL_PASSES]
        if unknown or not passes:
            raise NormalkitError(f"unknown or no passes {unknown}; choose from {ALL_PASSES}")
        offsets = pixel_sample_offsets(samples)
        check_memory(peak_bytes(camera.width, camera.height),
                     f"a {camera.width}×{camera.height} render", "render smaller images")
        material = (material or Material()).validate()
        lights = self._lights(camera, default_lights() if lights is None else lights)
        inside, why = eye_inside(self.caster, self._face_normals, camera.position)
        if inside:
            raise NormalkitError(
                f"the camera at {tuple(np.round(camera.position, 4))} is inside the mesh "
                f"({why}); move it outside (e.g. orbit_cameras frames the mesh automatically)")

        w, h = camera.width, camera.height
        want = set(passes)
        shade = bool(want & {"rgb", "alpha"})
        geometric = bool(want & _GEOMETRIC) or (shade and samples == 1)
        out = self._allocate(want, w, h)
        rot = camera.cam_to_world[:3, :3].astype(np.float32)

        def centre_tile(rows):
            hits = self._trace(camera, rows, np.array([[0.5, 0.5]]))
            sl = slice(rows[0] * w, rows[1] * w)
            fr = self._normals(hits, self.normal_map, self.space, self._corners)
            px = hits.pixel
            if "normal_world" in want:
                out["normal_world"].reshape(-1, 3)[sl][px] = fr.normal.T
            if "normal_camera" in want:
                out["normal_camera"].reshape(-1, 3)[sl][px] = (rot.T @ fr.normal).T
            if "depth" in want:
                out["depth"].reshape(-1)[sl][px] = hits.t
            if "mask" in want:
                out["mask"].reshape(-1)[sl][px] = True
            if "uv" in want and fr.uv is not None:
                out["uv"].reshape(-1, 2)[sl][px] = fr.uv.T
            if "triangle" in want:
                out["triangle"].reshape(-1)[sl][px] = hits.face
            if shade and samples == 1:
                if "rgb" in want:
                    out["rgb"].reshape(-1, 3)[sl][px] = self._radiance(fr, lights, material).T
                if "alpha" in want:
                    out["alpha"].reshape(-1)[sl][px] = 1.0
            return hits.n_rays

        def sample_tile(rows):
            hits = self._trace(camera, rows, offsets)
            sl = slice(rows[0] * w, rows[1] * w)
            n_pix = (rows[1] - rows[0]) * w
            s = np.float32(len(offsets))
            if "rgb" in want:
                fr = self._normals(hits, self.normal_map, self.space, self._corners)
                rad = self._radiance(fr, lights, material)
                dst = out["rgb"].reshape(-1, 3)[sl]
                for c in range(3):
                    dst[:, c] = np.bincount(hits.pixel, weights=rad[c], minlength=n_pix) / s
            if "alpha" in want:
                out["alpha"].reshape(-1)[sl] = np.bincount(hits.pixel, minlength=n_pix) / s
            return hits.n_rays

        jobs = []
        if geometric:
            jobs += [(centre_tile, r) for r in _tiles(h, w, 1)]
        if shade and samples > 1:
            jobs += [(sample_tile, r) for r in _tiles(h, w, len(offsets))]
        t0 = time.perf_counter()
        bar = progress_bar(len(jobs), progress, "rendering", "tile")
        n_rays = 0
        for n in map_threads(lambda job: job[0](job[1]), jobs, self.threads):
            n_rays += n
            bar.update(1)
        bar.close()
        if "rgb" in want:
            out["rgb"] = linear_to_srgb(out["rgb"])
        self.last_stats = {"rays": n_rays, "seconds": time.perf_counter() - t0,
                           "threads": self.threads, "width": w, "height": h,
                           "samples": int(samples)}
        return {p: out[p] for p in passes}

    @staticmethod
    def _allocate(want, w: int, h: int) -> dict:
        out = {}
        for p in want:
            if p in ("rgb", "normal_world", "normal_camera"):
                out[p] = np.zeros((h, w, 3), np.float32)
            elif p in ("depth", "alpha"):
                out[p] = np.zeros((h, w), np.float32)
            elif p == "mask":
                out[p] = np.zeros((h, w), bool)
            elif p == "uv":
                out[p] = np.zeros((h, w, 2), np.float32)
            elif p == "triangle":
                out[p] = np.full((h, w), -1, np.int32)
        return out

    @staticmethod
    def _lights(camera: Camera, lights) -> list:
        """Lights as (kind, data) tuples in world coordinates, float32 (3, 1) columns."""
        rot = camera.cam_to_world[:3, :3]
        eye = camera.cam_to_world[:3, 3]

        def col(v):
            return np.asarray(v, np.float32).reshape(3, 1)

        def unit3(v, name):
            a = np.asarray(v, np.float64).reshape(-1)
            if a.shape != (3,) or not np.isfinite(a).all() or not np.linalg.norm(a) > 0:
                raise NormalkitError(f"{name} must be a non-zero 3-vector, got {v!r}")
            return a / np.linalg.norm(a)

        def scalar(v, name):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise NormalkitError(f"{name} must be a non-negative number, got {v!r}")
            return float(v)

        out = []
        for k, light in enumerate(lights):
            name = f"lights[{k}]"
            if isinstance(light, DirectionalLight):
                d = unit3(light.direction, f"{name}.direction")
                if _space(light.space, name) == "camera":
                    d = rot @ d
                irr = np.asarray(_rgb(light.color, f"{name}.color")) * scalar(
                    light.intensity, f"{name}.intensity")
                out.append(("directional", (col(-d), col(irr))))
            elif isinstance(light, PointLight):
                p = np.asarray(light.position, np.float64).reshape(-1)
                if p.shape != (3,) or not np.isfinite(p).all():
                    raise NormalkitError(f"{name}.position must be 3 numbers")
                if _space(light.space, name) == "camera":
                    p = rot @ p + eye
                power = np.asarray(_rgb(light.color, f"{name}.color")) * scalar(
                    light.intensity, f"{name}.intensity")
                out.append(("point", (col(p), col(power))))
            elif isinstance(light, AmbientLight):
                out.append(("ambient", col(np.asarray(_rgb(light.color, f"{name}.color"))
                                           * scalar(light.intensity, f"{name}.intensity"))))
            elif isinstance(light, HemisphereLight):
                up = unit3(light.up, f"{name}.up")
                if _space(light.space, name) == "camera":
                    up = rot @ up
                k_i = scalar(light.intensity, f"{name}.intensity")
                out.append(("hemisphere", (
                    col(np.asarray(_rgb(light.sky_color, f"{name}.sky_color")) * k_i),
                    col(np.asarray(_rgb(light.ground_color, f"{name}.ground_color")) * k_i),
                    col(up))))
            else:
                raise NormalkitError(
                    f"{name}: expected DirectionalLight, PointLight, AmbientLight or "
                    f"HemisphereLight, got {type(light).__name__}")
        return out


def _tiles(h: int, w: int, samples: int) -> list[tuple[int, int]]:
    rows = max(1, TILE_RAYS // max(1, w * samples))
    return [(r, min(r + rows, h)) for r in range(0, h, rows)]


def render(mesh, camera: Camera, *, normal_map=None, space: str = "tangent",
           directx: bool = False, color_map=None, lights=None, material: Material | None = None,
           samples: int = 1, passes=PASSES, threads: int | None = None,
           progress: bool = False, log=None) -> dict[str, np.ndarray]:
    """Render a mesh through a camera: shaded RGB and exact geometric passes.

    Parameters
    ----------
    mesh : Mesh or path
        Triangles with per-corner normals (a mesh without them gets smooth normals, and
        ``log`` says so) and, for textures, per-corner UVs. Its own colour is the surface
        colour: per-corner linear ``colors`` × ``base_color_texture`` (sRGB, sampled at the
        UVs; ignored, with a ``log`` line, on a mesh without UVs), as glTF defines it.
    camera : Camera
        Pinhole or orthographic (:mod:`normalkit.rendering.camera`).
    normal_map : (H, W, 3|4) array or image path, optional
        uint8/uint16 texels encode rgb = n/2 + 1/2, float texels hold n
        (:func:`normalkit.maps.encode.decode_normals`); alpha is ignored.
    space : "tangent" (MikkTSpace, default) or "object"
    directx : bool
        The map's green channel is DirectX (flipped).
    color_map : (H, W, 3|4) array or image path, optional
        Base-colour texture: 8/16-bit texels are sRGB, float texels linear; alpha is
        ignored. Replaces the mesh's ``base_color_texture`` (and multiplies its corner
        colours, if any).
    lights : list of lights, optional
        Default :func:`default_lights` (a camera-relative rig).
    material : Material, optional
        Default ``Material()``: GGX, roughness 0.45, and grey where the mesh has no colour
        of its own (``base_color`` applies only then). ``model="unlit"`` renders the base
        colour alone (no lights).
    samples : int
        Shading rays per pixel, a perfect square (stratified √S×√S grid) for antialiased
        RGB; geometric passes always use the pixel-centre ray.
    passes : sequence of pass names
        Any of :data:`ALL_PASSES` (module docstring for their meaning).
    threads : int, optional
        Worker threads (default: all cores).
    progress : bool
        Progress bar over row tiles on stderr.
    log : callable, optional
        Receives one-line notices (e.g. computed normals, wrapped UVs).

    Returns
    -------
    dict mapping each requested pass name to its array.

    Raises
    ------
    NormalkitError
        A texture given for a mesh without UVs; a map that is not (H, W, 3|4); an unknown
        pass, space, light or material value; ``samples`` not a perfect square; the camera
        inside the mesh.

    Notes
    -----
    Cost: building the :class:`Renderer` (BVH, tangents) plus W·H rays for the geometric
    passes and W·H·S rays for RGB when S > 1, each followed by vectorized shading; memory is
    the output plus a bounded per-tile working set. To render several views of one mesh,
    build a :class:`Renderer` once and call its ``render``.
    """
    r = Renderer(mesh, normal_map=normal_map, space=space, directx=directx,
                 color_map=color_map, threads=threads, log=log)
    return r.render(camera, lights=lights, material=material, samples=samples, passes=passes,
                    progress=progress)


def shading_cost(mesh, camera: Camera, tangent_map, object_map, *, lights=None,
                 material: Material | None = None, repeat: int = 3) -> dict:
    """Per-pixel cost of shading with a tangent-space map versus an object-space map.

    The view's pixel-centre rays are traced once; then the shading of every covered pixel
    is timed on one thread for each map in turn, ``repeat`` times interleaved, keeping
    each map's best, from the hit (triangle and
    barycentrics) to linear RGB: corner-attribute interpolation, bilinear map lookup,
    normal decode (MikkTSpace frame for the tangent map, none for the object map) and the
    lighting, which is the same for both.

    Parameters
    ----------
    mesh : Mesh or path (with UVs)
    camera : Camera
    tangent_map, object_map : arrays or image paths, the two encodings of the same detail.

    Returns
    -------
    dict with ``tangent`` and ``object`` (ns per covered pixel, full shading),
    ``tangent_decode`` and ``object_decode`` (ns per pixel up to the world-space normal,
    lighting excluded), ``pixels`` (covered pixels) and ``tangent_setup_seconds``
    (MikkTSpace tangents for the mesh, a once-per-mesh cost).
    """
    from ..maps.encode import decode_normals

    # The tangent map is loaded as an "object" map so that the tangents are computed (and
    # timed) here, outside the Renderer.
    r = Renderer(mesh, normal_map=tangent_map, space="object", threads=1)
    obj = _Texture(decode_normals(_as_image(object_map, "object-space map")))
    t0 = time.perf_counter()
    from ..mesh.tangents import compute_tangents

    tangent_corners = r._pack("tangent", compute_tangents(r.mesh).reshape(-1, 3, 4))
    setup = time.perf_counter() - t0
    hits = r._trace(camera, (0, camera.height), np.array([[0.5, 0.5]]))
    n = len(hits.face)
    if n == 0:
        raise NormalkitError("the camera sees no part of the mesh; point it at the mesh")
    material = (material or Material()).validate()
    lights = r._lights(camera, default_lights() if lights is None else lights)
    cases = {"tangent": (r.normal_map, "tangent", tangent_corners),
             "object": (obj, "object", r._pack("object"))}
    out = {"pixels": n, "tangent_setup_seconds": setup}
    best = {name: [math.inf, math.inf] for name in cases}  # [decode, full]
    # Interleave the cases (t, o, t, o, …) and keep each one's best, so a burst of load on
    # a shared machine cannot land on one of them only.
    for _ in range(max(1, repeat)):
        for name, (tex, space, corners) in cases.items():
            t0 = time.perf_counter()
            fr = r._normals(hits, tex, space, corners)
            t1 = time.perf_counter()
            r._radiance(fr, lights, material)
            t2 = time.perf_counter()
            best[name] = [min(best[name][0], t1 - t0), min(best[name][1], t2 - t0)]
    for name, (decode, full) in best.items():
        out[name] = full / n * 1e9
        out[f"{name}_decode"] = decode / n * 1e9
    return out
