"""Game assets: high-poly → textured low-poly, and packaging for engines.

- ``decimate``: quadric decimation (fast-simplification), part by part.
- ``unwrap``: xatlas UVs with seams at hard edges.
- ``reduce``: :func:`reduce` decimates, unwraps, bakes and exports in one call.
- ``export``: :func:`export_glb` (glTF 2.0 with MikkTSpace tangents) and
  :func:`export_obj` (OBJ + MTL).

May import: ``normalkit.core``, ``normalkit.images``, ``normalkit.mesh``,
``normalkit.maps``, ``normalkit.baking``.
"""
