"""normalkit: normal maps in Python.

Public API (imported lazily, so ``import normalkit`` stays cheap). Each name lives in
one domain subpackage (see the README's Architecture section):

- ``normalkit.mesh``: :func:`load_mesh`, :func:`save_obj`, :func:`smooth_normals`,
  :func:`compute_tangents`, :class:`Mesh`
- ``normalkit.images``: :func:`read_image`, :func:`write_image`
- ``normalkit.maps``: :func:`encode_normals`, :func:`decode_normals`, :func:`map_info`,
  :func:`height_to_normal`, :func:`normal_to_height`, :func:`blend_normals`,
  :func:`mip_chain`, :func:`integrate_normals`, :func:`depth_to_normals`, …
- ``normalkit.baking``: :func:`bake`, :class:`BakeResult`, :func:`tangent_to_object`,
  :func:`object_to_tangent`
- ``normalkit.assets``: :func:`reduce`, :func:`decimate`, :func:`unwrap`,
  :func:`export_glb`, :func:`export_obj`
- ``normalkit.rendering``: :class:`Camera`, :func:`orbit_cameras`, :func:`load_cameras`,
  :func:`render`, :class:`Renderer`, :func:`shading_cost`, :func:`compare`,
  :func:`mesh_metrics`
- ``normalkit.reconstruction``: :func:`reconstruct`, :class:`ReconstructResult`,
  :func:`load_views`

Subpackages have noun names (``baking``, ``rendering``, ``reconstruction``), so no module
ever shadows a function of the same name here (``normalkit.reconstruct`` is the function).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "NormalkitError": "normalkit.core.errors",
    "Mesh": "normalkit.mesh.model",
    "load_mesh": "normalkit.mesh.io",
    "save_obj": "normalkit.mesh.io",
    "smooth_normals": "normalkit.mesh.normals",
    "compute_tangents": "normalkit.mesh.tangents",
    "read_image": "normalkit.images.io",
    "write_image": "normalkit.images.io",
    "encode_normals": "normalkit.maps.encode",
    "decode_normals": "normalkit.maps.encode",
    "convert_texels": "normalkit.maps.convert",
    "map_info": "normalkit.maps.validate",
    "height_to_normal": "normalkit.maps.height",
    "normal_to_height": "normalkit.maps.height",
    "blend_normals": "normalkit.maps.blend",
    "mip_chain": "normalkit.maps.mips",
    "integrate_normals": "normalkit.maps.integrate",
    "depth_to_normals": "normalkit.maps.depth",
    "bake": "normalkit.baking.bake",
    "BakeResult": "normalkit.baking.bake",
    "PreparedHigh": "normalkit.baking.prepared",
    "tangent_to_object": "normalkit.baking.spaces",
    "object_to_tangent": "normalkit.baking.spaces",
    "reduce": "normalkit.assets.reduce",
    "ReduceResult": "normalkit.assets.reduce",
    "decimate": "normalkit.assets.decimate",
    "unwrap": "normalkit.assets.unwrap",
    "export_glb": "normalkit.assets.export",
    "export_obj": "normalkit.assets.export",
    "Camera": "normalkit.rendering.camera",
    "orbit_cameras": "normalkit.rendering.camera",
    "load_cameras": "normalkit.rendering.camera",
    "render": "normalkit.rendering.render",
    "Renderer": "normalkit.rendering.render",
    "shading_cost": "normalkit.rendering.render",
    "compare": "normalkit.rendering.compare",
    "mesh_metrics": "normalkit.rendering.mesh_metrics",
    "reconstruct": "normalkit.reconstruction.pipeline",
    "ReconstructResult": "normalkit.reconstruction.pipeline",
    "load_views": "normalkit.reconstruction.views",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'normalkit' has no attribute {name!r}")
