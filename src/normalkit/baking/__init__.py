"""Baking: a high-poly's surface into a low-poly's UV space.

Data flow: Mesh → MikkTSpace tangents → texel samples (``raster``) → rays (``rays``,
Embree) → hits → the shader's inverse (``kernels``) → per-texel normals → ``padding``.

- ``bake``: :func:`bake`, :class:`BakeResult`, the memory estimate ``peak_bytes``.
- ``prepared``: :class:`PreparedHigh`, a high-poly loaded and its scene built on
  threads, for one bake or several (imports no Numba).
- ``raster``: UV rasterization into stratified texel samples (compiled).
- ``rays``: :class:`RayCaster`, closest hits and occlusion with Embree.
- ``embree``: scenes through Embree's C API over shared buffers (the library embreex
  ships; ``rays`` falls back to embreex's Python API without it); ``packets``: the
  compiled kernels that trace them in packets of 8 or 16.
- ``maps``: the rest of the bake set on the same rays (AO, height, curvature,
  thickness, bent normals, position, ID): :class:`MapSettings`, ``encode_map``.
- ``kernels``: compiled ray set-up and hit shading.
- ``padding``: dilation past UV islands.
- ``spaces``: tangent ↔ object space of a map, texel by texel, in the baker's frames.

May import: ``normalkit.core``, ``normalkit.images``, ``normalkit.mesh``,
``normalkit.maps``.
"""
