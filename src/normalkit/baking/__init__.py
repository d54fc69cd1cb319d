"""Baking: a high-poly's surface into a low-poly's UV space.

Data flow: Mesh → MikkTSpace tangents → texel samples (``raster``) → rays (``rays``,
Embree) → hits → the shader's inverse (``kernels``) → per-texel normals → ``padding``.

- ``bake``: :func:`bake`, :class:`BakeResult`, :class:`PreparedHigh` (a high-poly's
  scene built once, on a thread, for one bake or several), the memory estimate
  ``peak_bytes``.
- ``raster``: UV rasterization into stratified texel samples (compiled).
- ``rays``: :class:`RayCaster`, closest hits and occlusion with Embree.
- ``embree``: Embree's C API over shared buffers, with compiled packet kernels (the
  library embreex ships; ``rays`` falls back to embreex's Python API without it).
- ``maps``: the rest of the bake set on the same rays (AO, height, curvature,
  thickness, bent normals, position, ID): :class:`MapSettings`, ``encode_map``.
- ``kernels``: compiled ray set-up and hit shading.
- ``padding``: dilation past UV islands.
- ``spaces``: tangent ↔ object space of a map, texel by texel, in the baker's frames.

May import: ``normalkit.core``, ``normalkit.images``, ``normalkit.mesh``,
``normalkit.maps``.
"""
