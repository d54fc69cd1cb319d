"""Meshes: the :class:`Mesh` (positions, triangles, per-corner normals/UVs/colours),
mesh files, normals, MikkTSpace tangents and the per-pixel tangent frame.

- ``model``: :class:`Mesh`, position welding, colour encodings.
- ``io``: :func:`load_mesh` (OBJ, PLY, STL, OFF, glTF/GLB), :func:`load_parts` (a
  file's objects apart, for bake groups), :func:`save_obj`,
  :func:`save_ply`.
- ``normals``: :func:`smooth_normals`, :func:`ensure_normals`, the hard-angle rule.
- ``tangents``: :func:`compute_tangents`, MikkTSpace as Blender computes it.
- ``tspace``: the shader's decode and its exact inverse, per texel or pixel (compiled).
- ``examples``: procedural meshes (bumpy tori, a cup with a real cavity, a bumpy sphere,
  colour patterns) for the demo, tests and benchmarks.

May import: ``normalkit.core``, ``normalkit.images`` (textures of mesh files).
"""
