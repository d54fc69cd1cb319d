"""Image-space normal map tools: plain functions over decoded ``(H, W, 3)`` float
normals (OpenGL green unless ``directx``), with a boolean mask where there is one. No
mesh is involved (converting through a mesh's UV layout is ``normalkit.baking.spaces``).

- ``encode``: :func:`encode_normals`, :func:`decode_normals` (rgb = n·0.5 + 0.5).
- ``convert``: green convention, bit depth, swizzles. ``validate``: :func:`map_info`,
  :func:`guess_space`, :func:`check_normal_map`.
- ``height``: height ↔ normal. ``depth``: depth → normals. ``integrate``: normal
  integration (fast least squares, bilateral).
- ``blend``: RNM, UDN, whiteout, linear. ``mips``: mip chains and Toksvig roughness.

May import: ``normalkit.core``, ``normalkit.images``.
"""
