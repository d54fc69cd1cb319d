"""Posed views of a known mesh, rendered in memory: inputs for tests, benchmarks and the demo.

:func:`render_views` gives exactly what :func:`normalkit.reconstruction.views.load_views`
reads back from a folder that ``normalkit render`` wrote (world-space normals, masks,
linear RGB), without the files. :func:`mvdiffusion_cameras` is the six-view layout of
Zero123++ v1.2 and MeshFormer.
"""

from __future__ import annotations

import numpy as np

from ..rendering.camera import Camera, orbit_cameras
from ..rendering.render import Material, Renderer, srgb_to_linear
from .views import View

__all__ = ["MVD_AZIMUTHS", "MVD_ELEVATIONS", "mvdiffusion_cameras", "render_views"]

#: Zero123++ v1.2 / MeshFormer: azimuths 30° + 60°·k, elevations alternating 20° and −10°.
MVD_AZIMUTHS = tuple(30.0 + 60.0 * k for k in range(6))
MVD_ELEVATIONS = tuple(20.0 if k % 2 == 0 else -10.0 for k in range(6))


def mvdiffusion_cameras(mesh, size: int = 320, fov_deg: float = 30.0, **kw) -> list[Camera]:
    """The six cameras of the Zero123++ v1.2 / MeshFormer layout, framing ``mesh``."""
    return orbit_cameras(mesh, azimuths=MVD_AZIMUTHS, elevations=MVD_ELEVATIONS, size=size,
                         fov_deg=fov_deg, **kw)


def render_views(mesh, cameras, *, shading: str = "unlit", threads: int | None = None,
                 log=None) -> list[View]:
    """Render ``mesh`` through ``cameras`` into :class:`View` objects.

    RGB is the mesh's own colour (``shading="unlit"``, the default: the albedo that a
    reconstructed colour texture should reproduce) or shaded by the renderer's default
    lights; normals are the world-space shading normals; the mask is the pixel-centre hit.
    """
    r = Renderer(mesh, threads=threads, log=log)
    material = Material(model=shading)
    views = []
    for k, cam in enumerate(cameras):
        res = r.render(cam, material=material, passes=("rgb", "normal_world", "mask"))
        views.append(View(camera=cam, normals=res["normal_world"].astype(np.float32),
                          mask=res["mask"].astype(bool),
                          rgb=srgb_to_linear(res["rgb"]).astype(np.float32),
                          name=f"view {k}"))
    return views
