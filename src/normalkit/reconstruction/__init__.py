"""Reconstruction: posed multi-view RGB + normal maps → a textured mesh with a normal texture.

The pipeline (:func:`normalkit.reconstruction.pipeline.reconstruct`):

1. ``views``: every input layout is read at the boundary into one in-memory form, a list
   of :class:`~normalkit.reconstruction.views.View` (camera, linear RGB, world-space unit
   normals, boolean mask). normalkit's views folder (``cameras.json``, as ``normalkit
   render`` writes it) and NeRF-style ``transforms.json`` are read.
2. ``hull``: the visual hull of the masks, as a smooth signed-distance grid, its largest
   part meshed by marching cubes.
3. ``carve``: each view's normals integrated into depth (BiNI); the space in front of
   that surface is carved from the hull where two views agree: concavities that no
   silhouette shows.
4. ``shape``: the carved hull is deformed, coarse to fine, until its normals explain the
   normal maps: a sparse least-squares solve per round makes every face perpendicular to
   the normals the views see on it; mask pixels it misses pull its outline out; the hull
   bounds it.
5. ``texture``: the refined mesh is decimated and unwrapped; colour and normals are
   projected from the views (visibility by ray casting, head-on weights, feathered
   masks), the normals re-expressed in MikkTSpace; texels no view sees fall back on
   nearby colour and a bake of the refined mesh.
6. ``pipeline`` (:func:`reconstruct`, :func:`write_reconstruction`) runs the stages and
   measures the result: per-view residuals (normal and mask) from renders of the
   result, metrics against a reference mesh, timings; ``report`` writes ``report.html``.
   ``synthetic`` renders views of a known mesh in memory (tests, benchmarks, the demo).

Frames follow CONVENTIONS.md: cameras are OpenGL camera-to-world; normal maps of views
are camera frame (x right, y up, +z toward the viewer) on input and world frame inside.

May import: every subpackage except ``normalkit.cli``.
"""
