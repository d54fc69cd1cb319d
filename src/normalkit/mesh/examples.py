"""Procedural example meshes: a bumpy high-poly torus and its UV-mapped low-poly cage.

Used by ``normalkit demo``, the tests (analytic answers) and the benchmarks. The torus
has a seamless analytic parametrisation, so the low-poly's UVs need no unwrapper:
u runs around the main ring, v around the tube, with one UV seam along each.
"""

from __future__ import annotations

import numpy as np

from .model import Mesh, srgb_to_linear
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
