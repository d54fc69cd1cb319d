"""Reconstruction: posed multi-view RGB + normal maps → a textured mesh with a normal texture.

The pipeline (:func:`normalkit.reconstruction.pipeline.reconstruct`):

1. ``views``: every input layout is read at the boundary into one in-memory form, a list
   of :class:`~normalkit.reconstruction.views.View` (camera, linear RGB, world-space unit
   normals, boolean mask). normalkit's views folder (``cameras.json``, as ``normalkit
   render`` writes it) and NeRF-style ``transforms.json`` are read.
2. ``hull``: the visual hull of the masks, as a smooth signed-distance grid, its largest
   part meshed by marching cubes.
3. ``shape``: the hull is deformed until its normals explain the normal maps: rims (where
   the hull touches the true surface) are pinned, and a sparse least-squares solve makes
   every face perpendicular to the normals the views see on it, which carves concavities
   that no silhouette shows.
4. ``texture``: the refined mesh is decimated and unwrapped; colour is projected from the
   views (visibility by ray casting, head-on weights, feathered masks); the normal
   texture is the refined high-resolution mesh baked onto the low one (MikkTSpace).
5. ``report``: per-view residuals (normal and mask) from renders of the result, metrics
   against a reference mesh, timings.

Frames follow CONVENTIONS.md: cameras are OpenGL camera-to-world; normal maps of views
are camera frame (x right, y up, +z toward the viewer) on input and world frame inside.

May import: every subpackage except ``normalkit.cli``.
"""
