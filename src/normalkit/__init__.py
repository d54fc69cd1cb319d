"""normalkit: normal maps in Python.

Public API (imported lazily, so ``import normalkit`` stays cheap):

- :func:`load_mesh`, :func:`save_obj` — mesh files (``normalkit.mesh_io``)
- :func:`compute_tangents` — MikkTSpace tangents (``normalkit.tangents``)
- :func:`bake` — high-poly → low-poly normal maps (``normalkit.bake``)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Mesh": "normalkit.mesh",
    "NormalkitError": "normalkit.errors",
    "load_mesh": "normalkit.mesh_io",
    "save_obj": "normalkit.mesh_io",
    "smooth_normals": "normalkit.normals",
    "compute_tangents": "normalkit.tangents",
    "bake": "normalkit.bake",
    "BakeResult": "normalkit.bake",
    "read_image": "normalkit.imageio",
    "write_image": "normalkit.imageio",
    "encode_normals": "normalkit.encode",
    "decode_normals": "normalkit.encode",
    "export_glb": "normalkit.export",
    "export_obj": "normalkit.export",
    "Camera": "normalkit.camera",
    "orbit_cameras": "normalkit.camera",
    "render": "normalkit.render",
    "Renderer": "normalkit.render",
    "shading_cost": "normalkit.render",
    "compare": "normalkit.compare",
    "reduce": "normalkit.reduce",
    "ReduceResult": "normalkit.reduce",
    "decimate": "normalkit.decimate",
    "unwrap": "normalkit.unwrap",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'normalkit' has no attribute {name!r}")
