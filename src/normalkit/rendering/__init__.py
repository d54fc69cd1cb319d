"""Rendering and measuring: exact cameras, the renderer, metrics, compare sheets.

- ``camera``: :class:`Camera` (OpenGL frame, K in pixels), orbits, cameras.json.
- ``render``: :class:`Renderer`, :func:`render` (RGB, normals, depth, mask, UV, ids).
- ``metrics``: angular error, PSNR, SSIM. ``report``: sheets, heat maps, report.html.
- ``compare``: :func:`compare` renders high, low and low + map and measures them.
- ``mesh_metrics``: :func:`mesh_metrics`, Chamfer distance, F-score and normal
  consistency of a mesh against a reference (MeshFormer's protocol).

May import: ``normalkit.core``, ``normalkit.images``, ``normalkit.mesh``,
``normalkit.maps``, ``normalkit.baking``.
"""
