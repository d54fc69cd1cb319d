"""Mesh files in and out: OBJ, PLY, STL, OFF, glTF/GLB through trimesh; OBJ writer.

Loading keeps per-corner normals, UVs and colours exactly as the file gives them. Polygons are
triangulated once, on load, by trimesh's rule: a quad (0, 1, 2, 3) becomes
(0, 1, 2) and (2, 3, 0); n-gons are fanned from their first vertex. The triangles of
one polygon are consecutive and polygons keep their file order, so triangle i of the
Mesh is the same triangle in every later step (tangents, bake, export).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .errors import NormalkitError
from .mesh import Mesh, _normalize, encode_color, srgb_lut, srgb_to_linear

MESH_FORMATS = (".obj", ".ply", ".stl", ".off", ".gltf", ".glb")


def load_mesh(path: str | os.PathLike, log=None) -> Mesh:
    """Load a triangle mesh with its per-corner normals, UVs and colour.

    Parameters
    ----------
    path : str or PathLike
        An OBJ, PLY, STL, OFF, glTF or GLB file.
    log : callable, optional
        Receives one-line notices (e.g. a base-colour texture that had to be dropped).

    Returns
    -------
    Mesh
        ``normals`` is None when the file has none, ``uvs`` is None when it has no
        texture coordinates. glTF UVs come in the OBJ convention (v up; trimesh flips).
        A multi-mesh glTF scene is merged with its node transforms applied; a single
        mesh is returned in its own coordinates.

        Colour: vertex (or face) colours become per-corner linear ``colors``: 8-bit
        OBJ/PLY colours are decoded from sRGB, glTF ``COLOR_0`` is linear already. A
        base-colour texture (OBJ ``map_Kd``, glTF ``baseColorTexture``; needs Pillow,
        which trimesh uses to read it) becomes ``base_color_texture`` as stored (sRGB
        uint8 RGBA). Material colour factors (``Kd``, ``baseColorFactor``) are not
        applied. A scene whose parts use different textures keeps none (``log`` says so).

    Raises
    ------
    NormalkitError
        Missing, unreadable, unknown, empty or non-finite input.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise NormalkitError(f"cannot read '{path}': no such file")
    if suffix not in MESH_FORMATS:
        raise NormalkitError(
            f"'{path}': unknown mesh format '{suffix}' (supported: {', '.join(MESH_FORMATS)})")
    if suffix == ".ply":
        fast = _read_simple_binary_ply(path)
        if fast is not None:
            return fast.validate()

    import trimesh  # deferred: importing trimesh costs ~0.5 s of start-up

    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise NormalkitError(f"cannot read '{path}' as {suffix[1:].upper()}: {exc}") from None
    linear = suffix in (".gltf", ".glb")  # glTF COLOR_0 is linear; OBJ/PLY colours sRGB
    if isinstance(loaded, trimesh.Scene):
        parts = _scene_parts(loaded, linear)
    elif isinstance(loaded, trimesh.Trimesh):
        parts = [_corner_data(loaded, None, linear)]
    else:
        parts = []
    parts = [p for p in parts if len(p[1])]
    if not parts:
        raise NormalkitError(f"'{path}': the file holds no triangles (empty mesh)")
    mesh = _concatenate(parts, name=path.name, log=log)
    if suffix == ".obj":
        mesh = _obj_file_order(mesh, path)
    return mesh.validate()


def _obj_file_order(mesh: Mesh, path: Path) -> Mesh:
    """Put the triangles of an all-quad OBJ back in file order.

    trimesh triangulates a file of only quads in one vectorized step that emits the
    first triangle of every quad, then every second one; mixed files come out in file
    order already. Quad q becomes triangles 2q, 2q+1 either way.
    """
    n = mesh.n_faces
    if n % 2:
        return mesh
    with open(path, "rb") as fh:
        sizes = [len(line.split()) - 1 for line in fh if line.startswith(b"f ")]
    if len(sizes) * 2 != n or any(k != 4 for k in sizes):
        return mesh
    order = np.arange(n).reshape(2, -1).T.ravel()
    return mesh.subset(order)


_PLY_TYPES = {"float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}
_PLY_COLOR_TYPES = {"uchar": "u1", "uint8": "u1"}
_PLY_COLOR_NAMES = ("red", "green", "blue", "alpha")


def _read_simple_binary_ply(path: Path) -> Mesh | None:
    """Fast path for the common binary PLY: float vertex properties, triangle faces only.

    Reads the file with one ``np.fromfile``-style view instead of importing trimesh
    (whose import alone costs ~0.5 s), which keeps ``normalkit bake`` start-up lean on
    million-triangle high-polys. Returns None for anything else (ASCII, other layouts,
    polygons, extra elements), which then goes through trimesh.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
        end = head.find(b"end_header\n")
        if not head.startswith(b"ply") or end < 0:
            return None
        lines = head[:end].decode("ascii", "replace").splitlines()
        if "format binary_little_endian 1.0" not in [ln.strip() for ln in lines]:
            return None
        elements, props = [], {}
        for ln in lines:
            tok = ln.split()
            if tok[:1] == ["element"]:
                elements.append((tok[1], int(tok[2])))
                props[tok[1]] = []
            elif tok[:1] == ["property"] and elements:
                props[elements[-1][0]].append(tok[1:])
        if [e for e, _ in elements] != ["vertex", "face"]:
            return None
        vprops = props["vertex"]
        if any(len(p) != 2 or (p[0] not in _PLY_TYPES and not (
                p[0] in _PLY_COLOR_TYPES and p[1] in _PLY_COLOR_NAMES)) for p in vprops):
            return None
        fprops = props["face"]
        if len(fprops) != 1 or fprops[0][:3] != ["list", "uchar", fprops[0][2]] or \
                fprops[0][2] not in ("int", "int32", "uint", "uint32"):
            return None
        names = [p[1] for p in vprops]
        vdtype = np.dtype([(n, "<" + {**_PLY_TYPES, **_PLY_COLOR_TYPES}[p[0]])
                           for p, n in zip(vprops, names, strict=True)])
        fdtype = np.dtype([("n", "u1"), ("v", "<i4" if "u" not in fprops[0][2] else "<u4", (3,))])
        n_v, n_f = elements[0][1], elements[1][1]
        fh.seek(end + len(b"end_header\n"))
        vert = np.fromfile(fh, dtype=vdtype, count=n_v)
        face = np.fromfile(fh, dtype=fdtype, count=n_f)
    if len(vert) != n_v or len(face) != n_f or not np.all(face["n"] == 3):
        return None
    if not {"x", "y", "z"} <= set(names):
        return None
    positions = np.stack([vert["x"], vert["y"], vert["z"]], 1).astype(np.float64)
    faces = face["v"].astype(np.int64)
    if n_f and (faces.min() < 0 or faces.max() >= n_v):
        raise NormalkitError(f"'{path}': a face indexes a vertex that does not exist")
    normals = uvs = None
    if {"nx", "ny", "nz"} <= set(names):
        normals = _normalize(np.stack([vert["nx"], vert["ny"], vert["nz"]], 1)
                             .astype(np.float64))[faces]
    for u, v in (("s", "t"), ("u", "v"), ("texture_u", "texture_v")):
        if {u, v} <= set(names):
            uvs = np.stack([vert[u], vert[v]], 1).astype(np.float64)[faces]
            break
    colors = None
    if {"red", "green", "blue"} <= set(names):
        lut = srgb_lut(np.uint8)  # 8-bit sRGB → linear by table: no pow per vertex
        rgba = np.empty((n_v, 4), np.float32)
        for k, c in enumerate(("red", "green", "blue")):
            rgba[:, k] = lut[vert[c]]
        rgba[:, 3] = vert["alpha"] / np.float32(255) if "alpha" in names else 1.0
        colors = rgba[faces]
    if n_f == 0:
        raise NormalkitError(f"'{path}': the file holds no triangles (empty mesh)")
    return Mesh(positions=positions, faces=faces, normals=normals, uvs=uvs, name=path.name,
                colors=colors)


def _corner_data(tm, matrix, linear: bool = False):
    """(positions, faces, normals|None, uv|None, colors|None, texture|None) of one trimesh.

    ``matrix`` (optional) is applied; ``linear`` says the file's colours are linear
    (glTF) rather than sRGB-encoded (OBJ, PLY).
    """
    positions = np.asarray(tm.vertices, dtype=np.float64)
    faces = np.asarray(tm.faces, dtype=np.int64).reshape(-1, 3)
    normals = None
    if "vertex_normals" in tm._cache.cache and len(tm.vertices):  # only normals from the file
        normals = np.asarray(tm.vertex_normals, dtype=np.float64)[faces]
    uv = getattr(tm.visual, "uv", None)
    uvs = None if uv is None or len(uv) != len(positions) else np.asarray(uv, np.float64)[faces]
    colors, texture = _visual_colors(tm, faces, linear)
    if matrix is not None and not np.allclose(matrix, np.eye(4)):
        positions = positions @ matrix[:3, :3].T + matrix[:3, 3]
        if normals is not None:
            normals = normals @ np.linalg.inv(matrix[:3, :3])  # inverse transpose
        if np.linalg.det(matrix[:3, :3]) < 0:
            faces = faces[:, ::-1]
            normals = None if normals is None else normals[:, ::-1]
            uvs = None if uvs is None else uvs[:, ::-1]
            colors = None if colors is None else colors[:, ::-1]
    return positions, faces, normals, uvs, colors, texture


def _visual_colors(tm, faces, linear: bool):
    """Per-corner linear RGBA colours and the sRGB base-colour texture of one trimesh."""
    visual = tm.visual
    kind = getattr(visual, "kind", None)
    colors = texture = None
    if kind in ("vertex", "face"):
        raw = visual.vertex_colors if kind == "vertex" else visual.face_colors
        rgba = np.asarray(raw, np.float32) / np.float32(255)
        if not linear:
            rgba[:, :3] = srgb_to_linear(rgba[:, :3])
        colors = rgba[faces] if kind == "vertex" else np.repeat(rgba[:, None], 3, axis=1)
    elif kind == "texture":
        material = getattr(visual, "material", None)
        image = getattr(material, "baseColorTexture", None)
        if image is None:
            image = getattr(material, "image", None)
        if image is not None:
            texture = np.ascontiguousarray(np.asarray(image.convert("RGBA"), np.uint8))
            if _is_placeholder(texture):
                texture = None
    return colors, texture


def _is_placeholder(texture: np.ndarray) -> bool:
    """True for the 2×2 one-colour image trimesh makes up for a mesh with UVs but no
    material (``trimesh.visual.material.empty_material``): not the file's colour."""
    if texture.shape != (2, 2, 4):
        return False
    from trimesh.visual.material import color_image

    return bool(np.array_equal(texture, np.asarray(color_image().convert("RGBA"))))


def _scene_parts(scene, linear: bool = False):
    nodes = scene.graph.nodes_geometry
    if len(nodes) == 1:
        _, geom_name = scene.graph[nodes[0]]
        return [_corner_data(scene.geometry[geom_name], None, linear)]
    parts = []
    for node in nodes:
        matrix, geom_name = scene.graph[node]
        geom = scene.geometry[geom_name]
        if hasattr(geom, "faces"):
            parts.append(_corner_data(geom, matrix, linear))
    return parts


def _concatenate(parts, name, log=None):
    positions, faces, normals, uvs, colors, textures = [], [], [], [], [], []
    offset = 0
    for p, f, n, uv, c, tex in parts:
        positions.append(p)
        faces.append(f + offset)
        offset += len(p)
        normals.append(n)
        uvs.append(uv)
        colors.append(c)
        textures.append(tex)
    has_n = all(n is not None for n in normals)
    has_uv = all(uv is not None for uv in uvs)
    uv_all = np.concatenate(uvs) if has_uv else None  # trimesh already flips glTF v
    color_all = None
    if any(c is not None for c in colors):  # parts without colours are white (as in glTF)
        color_all = np.concatenate([
            c if c is not None else np.ones((len(f), 3, 4), np.float32)
            for c, f in zip(colors, faces, strict=True)])
    texture = textures[0]
    if any(t is not None for t in textures):
        same = all(t is not None and (t is texture or np.array_equal(t, texture))
                   for t in textures)
        if not (same and has_uv):
            texture = None
            if log is not None:
                log(f"{name}: the parts use different base-colour textures (or some have "
                    "none, or no UVs); the texture is not used. Merge the textures into "
                    "one atlas to bake their colour")
    return Mesh(
        positions=np.concatenate(positions),
        faces=np.concatenate(faces),
        normals=_normalize(np.concatenate(normals)) if has_n else None,
        uvs=uv_all,
        name=name,
        colors=color_all,
        base_color_texture=texture,
    )


def save_obj(mesh: Mesh, path: str | os.PathLike, mtl: str | None = None) -> None:
    """Write ``mesh`` as OBJ with per-corner ``vt``/``vn`` (deduplicated), atomically.

    Floats are written with 9 significant digits, so float32 data round-trips exactly.
    ``mtl`` names a material library and material to reference (``mtllib``/``usemtl``).
    """
    from .atomic import atomic_path

    buf = io.StringIO()
    if mtl:
        buf.write(f"mtllib {mtl}.mtl\nusemtl {mtl}\n")
    np.savetxt(buf, mesh.positions, fmt="v %.9g %.9g %.9g")
    f = mesh.n_faces
    cols = [mesh.faces.reshape(-1) + 1]
    if mesh.uvs is not None:
        uv_unique, uv_idx = np.unique(mesh.uvs.reshape(-1, 2), axis=0, return_inverse=True)
        np.savetxt(buf, uv_unique, fmt="vt %.9g %.9g")
        cols.append(uv_idx.reshape(-1) + 1)
    if mesh.normals is not None:
        n_unique, n_idx = np.unique(mesh.normals.reshape(-1, 3), axis=0, return_inverse=True)
        np.savetxt(buf, n_unique, fmt="vn %.9g %.9g %.9g")
        cols.append(n_idx.reshape(-1) + 1)
    if mesh.uvs is None and mesh.normals is not None:
        corner_fmt = "%d//%d"
    else:
        corner_fmt = "/".join(["%d"] * len(cols))
    corners = np.stack(cols, axis=1).reshape(f, -1)
    np.savetxt(buf, corners, fmt="f " + " ".join([corner_fmt] * 3))
    with atomic_path(path) as tmp:
        Path(tmp).write_text(buf.getvalue())


def save_ply(mesh: Mesh, path: str | os.PathLike) -> None:
    """Write ``mesh`` as binary little-endian PLY with per-vertex normals, atomically.

    PLY stores one normal per vertex, so every vertex must carry one normal at all its
    corners (true for smooth meshes); otherwise the mesh is split at those corners
    first. UVs, when present, are written as per-vertex ``s``/``t`` the same way, and
    colours as 8-bit sRGB ``red``/``green``/``blue``/``alpha``.
    Loads ~10× faster than OBJ, which matters for million-triangle high-polys.
    """
    from .atomic import atomic_path

    positions, faces = mesh.positions, mesh.faces
    normals = uvs = colors = None
    corner_rgba = None
    if mesh.colors is not None:
        corner_rgba = encode_color(mesh.colors.reshape(-1, 4))
    if mesh.normals is not None or mesh.uvs is not None or corner_rgba is not None:
        # One row per distinct (vertex, normal, uv, colour) corner combination.
        cols = [faces.reshape(-1, 1).astype(np.float64)]
        if mesh.normals is not None:
            cols.append(mesh.normals.reshape(-1, 3))
        if mesh.uvs is not None:
            cols.append(mesh.uvs.reshape(-1, 2))
        if corner_rgba is not None:
            cols.append(corner_rgba.astype(np.float64))
        key = np.ascontiguousarray(np.concatenate(cols, axis=1))
        _, first, inverse = np.unique(key.view(np.dtype((np.void, key.shape[1] * 8))).ravel(),
                                      return_index=True, return_inverse=True)
        corner_vertex = faces.reshape(-1)[first]
        positions = mesh.positions[corner_vertex]
        faces = inverse.reshape(-1, 3)
        if mesh.normals is not None:
            normals = mesh.normals.reshape(-1, 3)[first]
        if mesh.uvs is not None:
            uvs = mesh.uvs.reshape(-1, 2)[first]
        if corner_rgba is not None:
            colors = corner_rgba[first]
    fields = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    if normals is not None:
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    if uvs is not None:
        fields += [("s", "<f4"), ("t", "<f4")]
    if colors is not None:
        fields += [(c, "u1") for c in _PLY_COLOR_NAMES]
    vert = np.empty(len(positions), dtype=fields)
    vert["x"], vert["y"], vert["z"] = positions.T
    if normals is not None:
        vert["nx"], vert["ny"], vert["nz"] = normals.T
    if uvs is not None:
        vert["s"], vert["t"] = uvs.T
    if colors is not None:
        for k, c in enumerate(_PLY_COLOR_NAMES):
            vert[c] = colors[:, k]
    face = np.empty(len(faces), dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face["n"] = 3
    face["v"] = faces
    header = ["ply", "format binary_little_endian 1.0", f"element vertex {len(vert)}"]
    header += [f"property {'uchar' if kind == 'u1' else 'float'} {name}"
               for name, kind in fields]
    header += [f"element face {len(face)}", "property list uchar int vertex_indices",
               "end_header", ""]
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write("\n".join(header).encode("ascii"))
        fh.write(vert.tobytes())
        fh.write(face.tobytes())
