"""Procedural example meshes: a bumpy high-poly torus and its UV-mapped low-poly cage,
and two closed test solids for reconstruction (a cup and a finely bumped sphere).

Used by ``normalkit demo``, the tests (analytic answers) and the benchmarks. The torus
has a seamless analytic parametrisation, so the low-poly's UVs need no unwrapper:
u runs around the main ring, v around the tube, with one UV seam along each.

:func:`cup` (a concavity that no silhouette shows) and :func:`bumpy_sphere` (detail finer
than a 20k-triangle mesh holds) are closed, manifold and outward-oriented, with corner
colours from :func:`pattern_colors`, the pattern any colourless mesh can be given so that
colour comparisons have something to measure.
"""

from __future__ import annotations

import numpy as np

from .model import Mesh, srgb_to_linear, weld_positions
from .normals import smooth_normals


def torus_grid(n_major: int, n_minor: int):
    """Quad grid of a torus: (u, v) in [0, 1]² per grid vertex and triangles.

    Returns ``uv`` ((n_major+1)·(n_minor+1), 2) and ``faces`` (2·n_major·n_minor, 3),
    counter-clockwise seen from outside. The last row and column duplicate the first,
    so positions repeat along the seams while UVs differ.
    """
    u = np.linspace(0.0, 1.0, n_major + 1)
    v = np.linspace(0.0, 1.0, n_minor + 1)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    uv = np.stack([uu.ravel(), vv.ravel()], axis=1)
    i, j = np.meshgrid(np.arange(n_major), np.arange(n_minor), indexing="ij")
    a = (i * (n_minor + 1) + j).ravel()
    b = a + (n_minor + 1)
    faces = np.concatenate([np.stack([a, b, b + 1], 1), np.stack([a, b + 1, a + 1], 1)])
    return uv, faces


def bump_height(uv: np.ndarray, amplitude: float, freq: tuple[int, int]) -> np.ndarray:
    """Smooth periodic height field: amplitude · sin(2π fu u) · sin(2π fv v)."""
    return amplitude * np.sin(2 * np.pi * freq[0] * uv[:, 0]) * np.sin(
        2 * np.pi * freq[1] * uv[:, 1])


def torus(n_major: int = 48, n_minor: int = 24, major_radius: float = 1.0,
          minor_radius: float = 0.35, amplitude: float = 0.0,
          freq: tuple[int, int] = (12, 6), name: str = "torus") -> Mesh:
    """A torus around +z, optionally displaced along its normal by :func:`bump_height`.

    Parameters
    ----------
    n_major, n_minor : int
        Grid cells around the ring and around the tube; the mesh has
        2·n_major·n_minor triangles.
    amplitude, freq : float, (int, int)
        Height of the sinusoidal bumps (0 for a plain torus) and their counts.

    Returns
    -------
    Mesh
        Per-corner UVs and smooth normals (computed from the mesh, area- and
        angle-weighted), seams kept.
    """
    uv, faces = torus_grid(n_major, n_minor)
    theta = 2 * np.pi * uv[:, 0]
    phi = 2 * np.pi * uv[:, 1]
    normal = np.stack([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta),
                       np.sin(phi)], axis=1)
    centre = major_radius * np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)], 1)
    radius = minor_radius + (bump_height(uv, amplitude, freq) if amplitude else 0.0)
    positions = centre + np.asarray(radius)[..., None] * normal
    # Make seam duplicates bit-identical so welding by position joins them.
    last_u = uv[:, 0] == 1.0
    positions[last_u] = positions[np.nonzero(last_u)[0] - n_major * (n_minor + 1)]
    last_v = uv[:, 1] == 1.0
    positions[last_v] = positions[np.nonzero(last_v)[0] - n_minor]
    mesh = Mesh(positions=positions, faces=faces.astype(np.int64),
                uvs=uv[faces], name=name)
    return mesh.replace(normals=smooth_normals(mesh))


def bumpy_torus_pair(high_faces: int = 262_144, low_faces: int = 2_304,
                     amplitude: float = 0.02, freq: tuple[int, int] = (12, 6)):
    """A (high, low) bake pair: a bumpy dense torus and a plain coarse one with UVs.

    Face counts are rounded to the nearest 2:1 grid. The high-poly carries no UVs.
    """
    def grid(n):
        n_minor = max(3, int(round(np.sqrt(n / 4))))
        return 2 * n_minor, n_minor

    hi = torus(*grid(high_faces), amplitude=amplitude, freq=freq, name="high")
    lo = torus(*grid(low_faces), name="low")
    return hi.replace(uvs=None), lo


def colored_bumpy_torus(high_faces: int = 262_144) -> Mesh:
    """The high-poly of :func:`normalkit.mesh.examples.bumpy_torus_pair` with vertex colours.

    Colour (sRGB design, stored linear as :class:`~normalkit.mesh.model.Mesh` requires): the
    hue turns once around the main ring; brightness follows the bump height, darker in
    the valleys, so a colour bake shows both the layout and the detail.
    """
    high, _ = bumpy_torus_pair(high_faces=high_faces, low_faces=64)
    p = high.positions
    theta = np.arctan2(p[:, 1], p[:, 0])
    ring = np.stack([np.cos(theta), np.sin(theta), np.zeros_like(theta)], axis=1)
    height = np.linalg.norm(p - ring, axis=1) - 0.35  # bump height, ±0.02
    hue = (theta / (2 * np.pi)) % 1.0
    rgb = 0.5 + 0.5 * np.cos(2 * np.pi * (hue[:, None] + np.array([0.0, 1 / 3, 2 / 3])))
    rgb = 0.25 + 0.6 * rgb
    shade = np.clip(0.75 + 12.0 * height, 0.4, 1.0)[:, None]
    rgba = np.ones((len(p), 4), np.float32)
    rgba[:, :3] = srgb_to_linear(np.clip(rgb * shade, 0.0, 1.0))
    return high.replace(colors=rgba[high.faces])



# --------------------------------------------------------------------------------------------
# Closed test solids for reconstruction


def pattern_colors(mesh: Mesh, cycles: float = 3.0) -> np.ndarray:
    """A smooth, colourful stripe pattern from position: (F, 3, 4) linear RGBA corner colours.

    Each channel is a sinusoidal grating along its own oblique direction, ``cycles``
    periods across the mesh's longest bounding-box side (so the pattern scales with the
    mesh). Designed in sRGB in [0.15, 0.9] and stored linear, as
    :class:`~normalkit.mesh.model.Mesh` requires; alpha is 1. Per vertex, so the corners
    of a vertex agree and the colour is continuous across edges.

    Cost: O(V + F).
    """
    p = np.asarray(mesh.positions, np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    q = (p - (lo + hi) / 2) / max(float((hi - lo).max()), 1e-12)
    dirs = np.array([[1.0, 0.35, 0.2], [-0.25, 1.0, 0.4], [0.3, -0.45, 1.0]])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    phase = np.array([0.0, 2.1, 4.2])
    grating = 0.5 + 0.5 * np.sin(2 * np.pi * cycles * (q @ dirs.T) + phase)
    rgba = np.ones((len(p), 4), np.float32)
    rgba[:, :3] = srgb_to_linear(0.15 + 0.75 * grating)
    return rgba[mesh.faces]


def _fillet_polyline(corners: np.ndarray, radii, arc_steps: int = 48) -> np.ndarray:
    """A 2-D polyline with each interior corner k replaced by a circular arc of radius
    ``radii[k - 1]`` tangent to both segments (densely sampled: ``arc_steps`` per arc)."""
    pts = [corners[0]]
    for k in range(1, len(corners) - 1):
        a, c, b = corners[k - 1], corners[k], corners[k + 1]
        u, v = (a - c) / np.linalg.norm(a - c), (b - c) / np.linalg.norm(b - c)
        half = 0.5 * np.arccos(np.clip(u @ v, -1.0, 1.0))  # half the interior angle
        r = radii[k - 1]
        d = r / np.tan(half)  # corner → tangent points
        centre = c + (u + v) / np.linalg.norm(u + v) * (r / np.sin(half))
        t0, t1 = c + d * u, c + d * v
        a0 = np.arctan2(*(t0 - centre)[::-1])
        a1 = np.arctan2(*(t1 - centre)[::-1])
        sweep = (a1 - a0 + np.pi) % (2 * np.pi) - np.pi  # the short way round
        ang = a0 + sweep * np.linspace(0.0, 1.0, arc_steps)
        pts.extend(centre + r * np.stack([np.cos(ang), np.sin(ang)], axis=1))
    pts.append(corners[-1])
    return np.asarray(pts)


def _revolve(profile: np.ndarray, segments: int):
    """Positions and outward triangles of a closed solid of revolution around +z.

    ``profile`` is (M, 2) (r, z), going counter-clockwise around the solid's cross-section
    (material on the left), its first and last points on the axis (r = 0). Those two
    become single pole vertices with triangle fans; every other point becomes a ring of
    ``segments`` vertices. Triangles: 2·segments·(M − 2).
    """
    inner = profile[1:-1]
    m = len(inner)
    theta = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack([inner[:, :1] * np.cos(theta), inner[:, :1] * np.sin(theta),
                     np.repeat(inner[:, 1:], segments, axis=1)], axis=-1).reshape(-1, 3)
    positions = np.concatenate([[[0.0, 0.0, profile[0, 1]]], ring,
                                [[0.0, 0.0, profile[-1, 1]]]])
    first, last = 0, 1 + m * segments

    def vid(i, j):  # ring i (0-based over the inner points), segment j (wraps)
        return 1 + i * segments + j % segments

    j = np.arange(segments)
    i, jj = np.meshgrid(np.arange(m - 1), j, indexing="ij")
    i, jj = i.ravel(), jj.ravel()
    a, b = vid(i, jj), vid(i + 1, jj)  # a → b: along the profile
    c, d = vid(i, jj + 1), vid(i + 1, jj + 1)  # a → c: around the axis
    # Outward normal = ∂θ × ∂s for a counter-clockwise profile: triangles (a, c, b), (c, d, b).
    faces = np.concatenate([
        np.stack([np.full(segments, first), vid(0, j + 1), vid(0, j)], axis=1),
        np.stack([a, c, b], axis=1), np.stack([c, d, b], axis=1),
        np.stack([vid(m - 1, j), vid(m - 1, j + 1), np.full(segments, last)], axis=1),
    ])
    return positions, faces.astype(np.int64)


def cup(segments: int = 256, profile_points: int = 130, height: float = 1.0,
        radius: float = 0.5, bottom_radius: float = 0.4, wall: float = 0.05,
        base: float = 0.08, name: str = "cup") -> Mesh:
    """A cup: a closed solid of revolution around +z with an open top, thick walls and a base.

    The outer wall tapers from ``bottom_radius`` at z = 0 to ``radius`` at z = ``height``;
    the inner wall runs parallel to it, ``wall`` inside, down to the inner floor at
    z = ``base``; a round rim joins the two walls at the top; the outer and inner bottom
    edges are rounded. The inside is a real concavity, visible only from above.

    Parameters
    ----------
    segments : int
        Vertices around each ring (≥ 8).
    profile_points : int
        Points along the cross-section, uniform by arc length, the two axis points
        included (≥ 8). Triangles: 2·segments·(profile_points − 2), 65,536 by default.
    height, radius, bottom_radius, wall, base : float
        Dimensions (``wall`` is measured perpendicular to the wall).

    Returns
    -------
    Mesh
        Closed (every edge shared by exactly two triangles), manifold, counter-clockwise
        seen from outside (positive signed volume); smooth per-corner normals and
        :func:`pattern_colors` corner colours; no UVs.
    """
    if segments < 8 or profile_points < 8:
        raise ValueError("cup needs segments ≥ 8 and profile_points ≥ 8")
    if not 0 < wall < min(radius, bottom_radius) or not 0 < base < height:
        raise ValueError("cup needs 0 < wall < the radii and 0 < base < height")
    cos_taper = height / np.hypot(height, radius - bottom_radius)
    shift = wall / cos_taper  # horizontal offset of the inner wall

    def inner_r(z):
        return bottom_radius - shift + (radius - bottom_radius) * z / height

    corners = np.array([[0.0, 0.0], [bottom_radius, 0.0], [radius, height],
                        [radius - shift, height], [inner_r(base), base], [0.0, base]])
    rim = 0.49 * wall  # two fillets of almost half the wall: a round rim
    dense = _fillet_polyline(corners, [1.2 * wall, rim, rim, 0.8 * wall])
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
    t = np.linspace(0.0, s[-1], profile_points)
    profile = np.stack([np.interp(t, s, dense[:, 0]), np.interp(t, s, dense[:, 1])], axis=1)
    profile[[0, -1], 0] = 0.0
    positions, faces = _revolve(profile, segments)
    mesh = Mesh(positions=positions, faces=faces, name=name)
    return mesh.replace(normals=smooth_normals(mesh), colors=pattern_colors(mesh))


_ICO_T = (1.0 + 5.0 ** 0.5) / 2.0
_ICOSAHEDRON_VERTICES = np.array([
    [-1, _ICO_T, 0], [1, _ICO_T, 0], [-1, -_ICO_T, 0], [1, -_ICO_T, 0],
    [0, -1, _ICO_T], [0, 1, _ICO_T], [0, -1, -_ICO_T], [0, 1, -_ICO_T],
    [_ICO_T, 0, -1], [_ICO_T, 0, 1], [-_ICO_T, 0, -1], [-_ICO_T, 0, 1]], np.float64)
_ICOSAHEDRON_FACES = np.array([
    [0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
    [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
    [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], np.int64)


def geodesic_sphere(frequency: int = 32):
    """Unit geodesic sphere: each icosahedron face split into frequency² triangles.

    Returns ``positions`` (10·f² + 2, 3) and outward ``faces`` (20·f², 3). Points on
    shared icosahedron edges come out bit-identical from both faces (integer barycentric
    weights, one zero term), so welding by position joins them exactly.
    """
    n = int(frequency)
    if n < 1:
        raise ValueError(f"frequency must be ≥ 1, got {frequency!r}")
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = (i + j) <= n
    i, j = i[keep], j[keep]
    local = np.full((n + 1, n + 1), -1, np.int64)
    local[i, j] = np.arange(len(i))
    w = np.stack([n - i - j, i, j], axis=1).astype(np.float64)  # weights of A, B, C
    tri = _ICOSAHEDRON_VERTICES[_ICOSAHEDRON_FACES]  # (20, 3, 3)
    pts = np.einsum("pk,fkc->fpc", w, tri) / n  # (20, P, 3)
    pts /= np.linalg.norm(pts, axis=-1, keepdims=True)
    ui, uj = np.nonzero((np.arange(n)[:, None] + np.arange(n)[None, :]) <= n - 1)
    up = np.stack([local[ui, uj], local[ui + 1, uj], local[ui, uj + 1]], axis=1)
    di, dj = np.nonzero((np.arange(n)[:, None] + np.arange(n)[None, :]) <= n - 2)
    down = np.stack([local[di + 1, dj], local[di + 1, dj + 1], local[di, dj + 1]], axis=1)
    cells = np.concatenate([up, down])  # (f², 3), counter-clockwise like (A, B, C)
    faces = (cells[None] + (np.arange(20) * len(i))[:, None, None]).reshape(-1, 3)
    flat = pts.reshape(-1, 3)
    ids = weld_positions(flat)
    positions = np.empty((ids.max() + 1, 3))
    positions[ids] = flat
    return positions, ids[faces]


def bumpy_sphere(frequency: int = 100, amplitude: float = 0.015, wavelength: float = 0.15,
                 name: str = "bumpy_sphere") -> Mesh:
    """A unit sphere with fine bumps, finer than a 20k-triangle mesh can hold.

    The geodesic sphere (:func:`geodesic_sphere`) is displaced radially to
    r = 1 + amplitude · sin(kx) sin(ky) sin(kz), k = 2π / ``wavelength``, at its unit
    direction (x, y, z): an egg-crate of bumps, each about wavelength / 2 across.
    By default the bumps are 1.5 % of the radius high with slopes up to
    atan(amplitude · k) ≈ 32°, and each wavelength spans about 12 edges of this
    200,000-triangle mesh but only about 4 of a 20,000-triangle one.

    Parameters
    ----------
    frequency : int
        Geodesic frequency: 20·frequency² triangles (200,000 by default).
    amplitude, wavelength : float
        Bump height and period, in units of the radius.

    Returns
    -------
    Mesh
        Closed, manifold, outward-oriented; smooth per-corner normals and
        :func:`pattern_colors` corner colours; no UVs.
    """
    positions, faces = geodesic_sphere(frequency)
    k = 2 * np.pi / wavelength
    r = 1.0 + amplitude * np.prod(np.sin(k * positions), axis=1)
    mesh = Mesh(positions=positions * r[:, None], faces=faces, name=name)
    return mesh.replace(normals=smooth_normals(mesh), colors=pattern_colors(mesh))
