"""Package a low-poly and its maps for game engines and viewers: binary glTF (GLB) or OBJ + MTL.

Both writers keep the mesh's own axes (CONVENTIONS.md: no Y-up/Z-up rotation) and its
per-corner data: a glTF vertex is one unique (position, normal, UV, tangent, colour)
combination,
so UV seams and hard edges survive. The normal map must be the one baked for *these*
normals and tangents; the tangents written are the MikkTSpace tangents the baker used
(:func:`normalkit.mesh.tangents.compute_tangents`), unless the caller passes its own.

glTF (:func:`export_glb`)
-------------------------
* Attributes: POSITION (with min/max), NORMAL, TANGENT (MikkTSpace xyz, w = sign, so
  bitangent = w · cross(N, T)), TEXCOORD_0 with v' = 1 − v (glTF's v runs down; the image
  is not flipped), COLOR_0 (linear RGBA) when the mesh has corner colours; indices uint16
  when there are fewer than 65,535 vertices, else uint32. A mesh without textures needs
  no UVs (a high-poly, say): then there is no TEXCOORD_0 unless it has UVs anyway.
* One metallic-roughness material: metallic 0, roughness 0.5, ``normalTexture`` (linear,
  tangent space, OpenGL green) and, when given, ``baseColorTexture`` (8-bit sRGB). Both
  are PNGs inside the GLB's binary chunk; one sampler: linear / linear-mipmap-linear,
  repeat in u and v.
* Normal map bit depth: the glTF 2.0 specification requires 8-bit values for the base
  colour (and emissive) texture only; the normal texture is linear data with no such
  rule (like ``metallicRoughnessTexture``, which "MAY use more than 8 bits per channel"),
  and the Khronos validator accepts 16-bit PNGs there. Blender's importer reads 16-bit
  PNGs at full precision; web viewers (three.js, Babylon.js) decode images through the
  browser into 8-bit textures, i.e. they see an 8-bit map. 16-bit costs about twice the
  bytes of 8-bit. Colour textures must be uint8.
* glTF has no object-space normal texture: an object-space map is refused (use OBJ).

OBJ (:func:`export_obj`)
------------------------
The mesh through :func:`normalkit.mesh.io.save_obj` (v/vt/vn) plus an MTL beside it whose
material references the textures by paths relative to the OBJ: ``map_Kd`` for colour,
``norm`` and ``map_Bump -bm 1`` for a tangent-space normal map (Blender's OBJ importer reads
``map_Bump`` into a Normal Map node; ``norm`` is the PBR-extension keyword other readers use).
MTL cannot declare an object-space normal map, so such a map is named in a comment only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_path, check_writable
from ..core.errors import NormalkitError
from ..mesh.model import Mesh, _normalize

__all__ = ["export_glb", "export_obj"]

SPACES = ("tangent", "object")

#: glTF enums (glTF 2.0 specification, section 5 "Properties Reference").
_FLOAT, _USHORT, _UINT = 5126, 5123, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_LINEAR, _LINEAR_MIPMAP_LINEAR, _REPEAT = 9729, 9987, 10497
_TRIANGLES = 4

#: Roughness of the exported material: a neutral dielectric (metallic 0).
ROUGHNESS = 0.5


def _check_space(space: str) -> str:
    if space not in SPACES:
        raise NormalkitError(f"space must be 'tangent' or 'object', not {space!r}")
    return space


def _prepare_mesh(mesh: Mesh, log, uvs: bool = True) -> Mesh:
    """Validate; require UVs (when ``uvs``); give the mesh normals as the baker would (said
    in one line)."""
    from ..mesh.normals import ensure_normals

    if not isinstance(mesh, Mesh):
        raise NormalkitError(f"expected a normalkit Mesh, got {type(mesh).__name__}")
    mesh.validate()
    if uvs:
        mesh.require_uvs()
    return ensure_normals(mesh, log=log)


# --------------------------------------------------------------------------------------
# glTF


def export_glb(path: str | os.PathLike, mesh: Mesh, normal_map: np.ndarray | None,
               color_map: np.ndarray | None = None, *, tangents: np.ndarray | None = None,
               space: str = "tangent", directx: bool = False, name: str = "normalkit",
               log=None, check_map: bool = True,
               occlusion_map: np.ndarray | None = None) -> dict:
    """Write ``mesh`` with its normal map (and colour texture) as a binary glTF 2.0 file.

    Parameters
    ----------
    path : str or PathLike
        Output ``.glb``; written atomically (no partial file on failure).
    mesh : Mesh
        The low-poly, with UVs (origin bottom-left, v up) when a texture is given. A mesh
        without normals gets smooth ones, exactly as :func:`normalkit.baking.bake.bake`
        gives it (``log`` says so). Corner colours become COLOR_0.
    normal_map : (H, W, 3) ndarray or None
        The tangent-space map baked onto this mesh, row 0 at the top, OpenGL green:
        uint8 or uint16 texels are embedded as 8- or 16-bit PNG as given; float unit
        vectors (what :func:`~normalkit.baking.bake.bake` returns) are encoded at 16 bits. A
        fourth (alpha) channel is dropped (glTF normal textures should have none).
    color_map : (H, W), (H, W, 3) or (H, W, 4) uint8 ndarray, optional
        Base colour, sRGB-encoded (glTF requires 8-bit). Its alpha, if any, is stored
        but ignored by viewers (the material is opaque).
    tangents : (F * 3, 4) or (F, 3, 4) float ndarray, optional
        Per-corner tangent xyz and sign w = ±1, in face-corner order. Must be the tangents
        the map was baked with. Default: :func:`normalkit.mesh.tangents.compute_tangents`
        of the mesh (MikkTSpace, as the baker and Blender compute them). Without a
        normal map no TANGENT attribute is written (nothing would use it).
    space : {"tangent", "object"}
        What ``normal_map`` holds. glTF's ``normalTexture`` is tangent space only, so
        ``"object"`` raises.
    directx : bool
        ``normal_map`` has DirectX green (−Y); it is flipped to OpenGL green, as glTF
        requires, before embedding.
    name : str
        Name of the glTF node, mesh and material.
    log : callable, optional
        Receives one-line notices (computed normals, dropped alpha, repaired tangents) and
        a warning when the map's green looks DirectX as embedded (about 0.1 s).
    check_map : bool
        Look at the map for that warning (default); :func:`normalkit.assets.reduce.reduce` turns
        it off for the map it has just baked.
    occlusion_map : (H, W) or (H, W, 3) uint8 ndarray, optional
        Ambient occlusion (1 = 255 unoccluded), embedded as the material's
        ``occlusionTexture`` (glTF reads its R channel, linearly).

    Returns
    -------
    dict
        ``path``, ``vertices`` (after splitting corners), ``triangles``, ``bytes`` (file
        size), ``normal_map`` ("W×H B-bit" or None), ``color_map`` (same, or None).

    Raises
    ------
    NormalkitError
        Object-space map, a texture for a mesh without UVs, bad array shapes or dtypes,
        non-finite data, or an unwritable path (checked before any work).

    Notes
    -----
    Cost: O(F log F) for splitting corners (one sort over 3F keys of 52 bytes), plus
    MikkTSpace when ``tangents`` is None, plus PNG encoding (zlib level 3). Measured on a
    shared 2-core x86-64 VM: a smooth 2048² map encodes in 0.7 s at 16 bits (5.9 MB),
    0.15 s at 8 bits; 200k triangles with a 2048² 8-bit map: 1.8 s in all. Memory: about
    0.3 KB per triangle plus the encoded images.

    Axes: positions, normals and tangents are written in the mesh's own coordinates
    (CONVENTIONS.md). glTF is +Y up, so a +Z-up mesh shows lying on its back in glTF
    viewers; tangent-space maps are unaffected by such a rotation.

    Examples
    --------
    >>> from normalkit.baking.bake import bake
    >>> result = bake("high.ply", low, size=1024)            # doctest: +SKIP
    >>> export_glb("asset.glb", low, encode_normals(result.normals, 16))  # doctest: +SKIP
    """
    import pygltflib as gl

    from ..mesh.tangents import compute_tangents

    if _check_space(space) == "object":
        raise NormalkitError(
            "glTF has no object-space normal texture (normalTexture is tangent space, "
            "MikkTSpace); export OBJ instead (an .obj output, which references the map "
            "file), keep the PNG, or bake in tangent space (normalkit bake --space tangent)")
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise NormalkitError(f"'{path}': export_glb writes binary glTF; name the file .glb")
    check_writable(path)
    mesh = _prepare_mesh(mesh, log, uvs=any(m is not None for m in (normal_map, color_map,
                                                                    occlusion_map)))
    normal_png = (None if normal_map is None
                  else _normal_png(normal_map, directx, log, check_map))
    color_png = None if color_map is None else _color_png(color_map)
    occlusion_png = None
    if occlusion_map is not None:
        occlusion = np.asarray(occlusion_map)
        if occlusion.dtype != np.uint8 or occlusion.ndim not in (2, 3):
            raise NormalkitError(f"occlusion map must be an (H, W) or (H, W, 3) uint8 array, "
                                 f"got {occlusion.shape} {occlusion.dtype}")
        occlusion_png = _png_bytes(occlusion)
    if normal_png is None:  # tangents only serve the normal texture
        tangents = None
    elif tangents is None:
        tangents = compute_tangents(mesh)
    else:
        tangents = _check_tangents(tangents, mesh)
    corners, layout = _corner_attributes(mesh, tangents, log)
    vertices, indices = _split_vertices(corners)
    n_vertices = len(vertices)

    # Binary chunk: one 4-byte-aligned bufferView per array, then the PNGs.
    blob = bytearray()
    views: list = []

    def add_view(data: bytes, target: int | None) -> int:
        blob.extend(b"\0" * (-len(blob) % 4))
        views.append(gl.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data),
                                   target=target))
        blob.extend(data)
        return len(views) - 1

    index_type = _USHORT if n_vertices < 65535 else _UINT  # 65535 is reserved (restart)
    index_data = indices.astype(np.uint16 if index_type == _USHORT else np.uint32)
    accessors = [gl.Accessor(
        bufferView=add_view(index_data.tobytes(), _ELEMENT_ARRAY_BUFFER),
        componentType=index_type, count=len(index_data), type="SCALAR")]
    attributes = {}
    start = 0
    for semantic, width in layout:
        data = np.ascontiguousarray(vertices[:, start:start + width])
        start += width
        kind = f"VEC{width}"
        acc = gl.Accessor(bufferView=add_view(data.tobytes(), _ARRAY_BUFFER),
                          componentType=_FLOAT, count=n_vertices, type=kind)
        if semantic == "POSITION":  # required by the specification
            acc.min = data.min(axis=0).tolist()
            acc.max = data.max(axis=0).tolist()
        attributes[semantic] = len(accessors)
        accessors.append(acc)

    images, textures = [], []
    slot = {}
    for png, label in ((normal_png, "normal"), (color_png, "base_color"),
                       (occlusion_png, "occlusion")):
        if png is not None:
            images.append(gl.Image(bufferView=add_view(png, None), mimeType="image/png",
                                   name=f"{name}_{label}"))
            textures.append(gl.Texture(sampler=0, source=len(images) - 1,
                                       name=f"{name}_{label}"))
            slot[label] = len(textures) - 1
    blob.extend(b"\0" * (-len(blob) % 4))

    pbr = gl.PbrMetallicRoughness(baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0,
                                  roughnessFactor=ROUGHNESS)
    material = gl.Material(name=name, pbrMetallicRoughness=pbr, doubleSided=False)
    if normal_png is not None:
        material.normalTexture = gl.NormalMaterialTexture(index=slot["normal"])
    if color_png is not None:
        pbr.baseColorTexture = gl.TextureInfo(index=slot["base_color"])
    if occlusion_png is not None:
        material.occlusionTexture = gl.OcclusionTextureInfo(index=slot["occlusion"])

    from .. import __version__

    gltf = gl.GLTF2(
        asset=gl.Asset(version="2.0", generator=f"normalkit {__version__}"),
        scene=0,
        scenes=[gl.Scene(nodes=[0])],
        nodes=[gl.Node(name=name, mesh=0)],
        meshes=[gl.Mesh(name=name, primitives=[gl.Primitive(
            attributes=gl.Attributes(**attributes), indices=0, material=0,
            mode=_TRIANGLES)])],
        materials=[material],
        accessors=accessors,
        bufferViews=views,
        buffers=[gl.Buffer(byteLength=len(blob))],
        images=images,
        textures=textures,
        samplers=[gl.Sampler(magFilter=_LINEAR, minFilter=_LINEAR_MIPMAP_LINEAR,
                             wrapS=_REPEAT, wrapT=_REPEAT)] if textures else [],
    )
    gltf.set_binary_blob(bytes(blob))
    data = b"".join(gltf.save_to_bytes())
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return {"path": str(path), "vertices": n_vertices, "triangles": mesh.n_faces,
            "bytes": len(data), "normal_map": _describe(normal_map),
            "color_map": _describe(color_map)}


def _describe(image) -> str | None:
    if image is None:
        return None
    image = np.asarray(image)
    bits = 8 if image.dtype == np.uint8 else 16
    return f"{image.shape[1]}×{image.shape[0]} {bits}-bit"


def _check_tangents(tangents, mesh: Mesh) -> np.ndarray:
    """Caller-given tangents as (3F, 4), after checking shape and finiteness."""
    tangents = np.asarray(tangents)
    n_corners = mesh.n_faces * 3
    if tangents.shape not in ((n_corners, 4), (mesh.n_faces, 3, 4)):
        raise NormalkitError(
            f"tangents must have shape ({n_corners}, 4) (one row per face corner) for "
            f"{mesh.name}'s {mesh.n_faces} faces, got {tangents.shape}")
    if not np.issubdtype(tangents.dtype, np.number) or not np.isfinite(tangents).all():
        raise NormalkitError("tangents hold NaN, infinity or non-numbers; recompute them "
                             "with normalkit.mesh.tangents.compute_tangents(mesh)")
    return tangents.reshape(n_corners, 4)


def _corner_attributes(mesh: Mesh, tangents: np.ndarray | None,
                       log) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """float32 per corner, (3F, C), and its column layout [(glTF semantic, width)]:
    position, unit normal, then glTF uv (v' = 1 − v) when the mesh has UVs, tangent when
    ``tangents`` is given, linear RGBA colour when the mesh has corner colours.

    glTF requires unit NORMAL and TANGENT.xyz and w = ±1. Zero-length normals (corners of
    degenerate triangles) become the face normal, or +Z; zero tangents (MikkTSpace leaves
    them where a corner's contributions cancel) become a unit vector perpendicular to the
    normal. ``log`` reports how many corners were repaired.
    """
    n = mesh.n_faces * 3
    cols = {"POSITION": mesh.corner_positions().reshape(n, 3)}
    normals = mesh.normals.reshape(n, 3).astype(np.float64)
    face_n = np.repeat(mesh.face_normals(), 3, axis=0)
    bad_n = np.linalg.norm(normals, axis=1) < 1e-6
    normals[bad_n] = face_n[bad_n]
    still = np.linalg.norm(normals, axis=1) < 1e-6
    normals[still] = (0.0, 0.0, 1.0)
    normals = _normalize(normals)
    cols["NORMAL"] = normals
    if mesh.uvs is not None:
        uv = mesh.uvs.reshape(n, 2)
        cols["TEXCOORD_0"] = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)
    bad_t = np.zeros(n, bool)
    if tangents is not None:
        t = tangents[:, :3].astype(np.float64)
        bad_t = np.linalg.norm(t, axis=1) < 1e-6
        if bad_t.any():
            # Any unit vector perpendicular to the normal: cross with the least aligned axis.
            nb = normals[bad_t]
            axis = np.eye(3)[np.argmin(np.abs(nb), axis=1)]
            t[bad_t] = np.cross(nb, axis)
        cols["TANGENT"] = np.concatenate(
            [_normalize(t), np.where(tangents[:, 3:4] < 0, -1.0, 1.0)], axis=1)
    if mesh.colors is not None:
        cols["COLOR_0"] = np.clip(mesh.colors.reshape(n, 4), 0.0, 1.0)
    if log is not None and (bad_n.any() or bad_t.any()):
        log(f"{mesh.name}: {int(bad_n.sum())} corner normals and {int(bad_t.sum())} corner "
            "tangents had zero length (degenerate or zero-UV-area triangles); wrote unit "
            "vectors there, as glTF requires")
    layout = [(k, v.shape[1]) for k, v in cols.items()]
    return np.concatenate(list(cols.values()), axis=1).astype(np.float32), layout


def _split_vertices(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One glTF vertex per distinct corner row, in order of first use.

    Returns ``(vertices (V, C) float32, indices (3F,) int64)``. Rows are compared
    bit for bit, with −0.0 folded into +0.0.
    """
    key = np.ascontiguousarray(corners + np.float32(0.0))
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return key[first[order]], rank[inverse.ravel()]


def _normal_png(normal_map, directx: bool, log, check: bool = True) -> bytes:
    """Validate a tangent-space map and encode it as an 8- or 16-bit RGB PNG."""
    from ..maps.encode import encode_normals

    image = np.asarray(normal_map)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or 0 in image.shape[:2]:
        raise NormalkitError(
            f"normal map has shape {image.shape}; give an (H, W, 3) RGB array")
    if image.shape[2] == 4:
        if log is not None:
            log("normal map: dropped its alpha channel (glTF normal textures have none)")
        image = image[:, :, :3]
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise NormalkitError("normal map holds NaN or infinity")
        image = encode_normals(image, 16, directx=directx)
    elif image.dtype in (np.uint8, np.uint16):
        if directx:
            image = image.copy()
            image[..., 1] = np.iinfo(image.dtype).max - image[..., 1]
    else:
        raise NormalkitError(
            f"cannot embed a {image.dtype} normal map; give uint8 or uint16 texels, or float "
            "unit vectors (encoded at 16 bits)")
    z = image[..., 2].astype(np.float32) * (2.0 / np.iinfo(image.dtype).max) - 1.0
    if log is not None and float(np.median(z)) < 0.5:
        log(f"normal map: median blue (z) is {float(np.median(z)):.2f}, where a tangent-space "
            "map is near 1; is it an object-space map? glTF reads it as tangent space")
    elif log is not None and check:
        guess = _guess_convention(image)
        if guess is not None:  # the map as it will be embedded looks DirectX
            fix = ("drop --directx (directx=False): the map is OpenGL already" if directx else
                   "give --directx (directx=True) to flip it")
            log(f"warning: normal map: its green channel looks DirectX (−Y, {guess}), but "
                f"glTF needs OpenGL (+Y); {fix}")
    return _png_bytes(image)


def _guess_convention(texels) -> str | None:
    """"confidence 0.97" when :func:`normalkit.maps.validate.guess_space` finds a tangent-space
    map with DirectX green, confidently (≥ ``CONFIDENT``); else None."""
    from ..maps.validate import guess_space

    info = guess_space(texels)
    if info.looks_directx:
        return f"confidence {info.convention_confidence:.2f}"
    return None


def _color_png(color_map) -> bytes:
    image = np.asarray(color_map)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))) or \
            0 in image.shape[:2]:
        raise NormalkitError(
            f"colour map has shape {image.shape}; give an (H, W), (H, W, 3) or (H, W, 4) array")
    if image.dtype != np.uint8:
        fix = ("convert it with (image / 257).round().astype(np.uint8)"
               if image.dtype == np.uint16 else "give sRGB-encoded uint8 texels")
        raise NormalkitError(
            f"glTF base colour textures must be 8-bit sRGB, got {image.dtype}; {fix}")
    return _png_bytes(image)


def _png_bytes(image: np.ndarray) -> bytes:
    """PNG of an RGB(A)/gray uint8/uint16 array (row 0 on top), no colour-space chunks."""
    import io

    from ..images.png import write_png

    buf = io.BytesIO()
    write_png(buf, image, level=6)  # embedded in the GLB: worth a smaller file
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# OBJ + MTL


def export_obj(path: str | os.PathLike, mesh: Mesh,
               normal_map_path: str | os.PathLike | None = None,
               color_map_path: str | os.PathLike | None = None, *, space: str = "tangent",
               log=None, check_textures: bool = True) -> dict:
    """Write ``mesh`` as OBJ (v/vt/vn) plus an MTL beside it that references the textures.

    Parameters
    ----------
    path : str or PathLike
        Output ``.obj``. The material library is ``path`` with suffix ``.mtl``, and the
        material is named after the file's stem. Both files are written atomically: on
        failure neither is left behind.
    mesh : Mesh
        The low-poly, with UVs. A mesh without normals gets smooth ones, as the baker
        gives it, and they are written as ``vn`` so that every reader shades with the
        normals the map was baked for.
    normal_map_path, color_map_path : str or PathLike, optional
        Existing image files, referenced by paths relative to the OBJ's folder (forward
        slashes). Colour: ``map_Kd``. Tangent-space normal map: ``norm`` and
        ``map_Bump -bm 1``. Both are read once (before anything is written) to make
        sure they are images; the OBJ itself then references them as they are.
    space : {"tangent", "object"}
        What the normal map holds. MTL has no statement for an object-space normal map
        (readers take ``norm``/``map_Bump`` as tangent space), so an object-space map is
        named in a comment only, and ``log`` says so.
    log : callable, optional
        Receives one-line notices, and warnings when a tangent-space normal map looks
        like DirectX green (OBJ readers expect OpenGL), object space, or not a normal
        map at all (:func:`normalkit.maps.validate.guess_space`).
    check_textures : bool
        Read the textures first, refusing files that are not images, and look at the
        normal map (default). :func:`normalkit.assets.reduce.reduce` turns it off for the maps
        it has just written itself.

    Returns
    -------
    dict
        ``path``, ``mtl``, ``vertices`` (positions), ``triangles``, ``normal_map`` and
        ``color_map`` (the relative references, or None).

    Raises
    ------
    NormalkitError
        Mesh without UVs, missing or unreadable texture files (not an image), or an
        unwritable path.

    Notes
    -----
    Cost: that of :func:`normalkit.mesh.io.save_obj`, O(F log F) (deduplicating vt/vn),
    plus reading the textures (~0.2 s for a 2048² 16-bit PNG) and, with ``log``, a
    convention guess on the normal map (~0.1 s at any size).
    """
    from ..mesh.io import save_obj

    space = _check_space(space)
    path = Path(path)
    if path.suffix.lower() != ".obj":
        raise NormalkitError(f"'{path}': export_obj writes OBJ; name the file .obj")
    mtl_path = path.with_suffix(".mtl")
    check_writable(path)
    check_writable(mtl_path)
    if any(c.isspace() for c in path.stem):
        raise NormalkitError(
            f"'{path.name}': OBJ's mtllib/usemtl statements cannot hold spaces; "
            "choose a file name without them")
    refs, texels = {}, {}
    for label, tex in (("normal map", normal_map_path), ("colour map", color_map_path)):
        if tex is None:
            refs[label] = None
            continue
        tex = Path(tex)
        if not tex.is_file():
            raise NormalkitError(f"{label} '{tex}': no such file; write the texture first")
        if check_textures:
            texels[label] = _read_texture(tex, label)
        try:
            rel = os.path.relpath(tex.resolve(), path.parent.resolve())
        except ValueError:  # another drive (Windows): keep it absolute
            rel = str(tex.resolve())
        refs[label] = rel.replace(os.sep, "/")

    if log is not None and space == "tangent" and "normal map" in texels:
        _warn_obj_normal_map(texels["normal map"], normal_map_path, log)
    mesh = _prepare_mesh(mesh, log)
    material = path.stem
    lines = [f"# normalkit: material for {path.name}",
             f"newmtl {material}",
             "Kd 1 1 1" if refs["colour map"] else "Kd 0.8 0.8 0.8",
             "Ks 0.5 0.5 0.5",
             "Ns 250",
             f"Pr {ROUGHNESS:g}",
             "Pm 0",
             "illum 2"]
    if refs["colour map"]:
        lines.append(f"map_Kd {refs['colour map']}")
    normal_ref = refs["normal map"]
    if normal_ref and space == "tangent":
        lines += ["# Normal map: tangent space (MikkTSpace of the vn normals and vt UVs), "
                  "OpenGL green (+Y), linear data (Non-Color).",
                  "# 'norm' is the PBR-extension keyword; Blender's importer reads map_Bump "
                  "as a normal map (some readers, e.g. three.js, take map_Bump as a bump map).",
                  "# Blender: set this image's Color Space to Non-Color after import (its OBJ "
                  "importer leaves it sRGB).",
                  f"norm {normal_ref}",
                  f"map_Bump -bm 1 {normal_ref}"]
    elif normal_ref:
        lines += [f"# Object-space normal map (mesh coordinates): {normal_ref}",
                  "# Not bound: MTL has no object-space normal map statement, and readers take "
                  "norm/map_Bump as tangent space.",
                  "# Connect it by hand, e.g. Blender: Image Texture (Non-Color) -> Normal Map "
                  "node, space Object."]
        if log is not None:
            log(f"{mtl_path.name}: object-space normal map {normal_ref} is named in a comment, "
                "not bound (MTL readers only know tangent-space normal maps)")
    text = "\n".join(lines) + "\n"
    with atomic_path(mtl_path) as tmp_mtl, atomic_path(path) as tmp_obj:
        save_obj(mesh, tmp_obj, mtl=material)
        Path(tmp_mtl).write_text(text)
    return {"path": str(path), "mtl": str(mtl_path), "vertices": len(mesh.positions),
            "triangles": mesh.n_faces, "normal_map": normal_ref,
            "color_map": refs["colour map"]}


def _read_texture(path: Path, label: str) -> np.ndarray:
    """The texture's texels, or NormalkitError naming it (an OBJ must not reference a file
    that is not an image)."""
    from ..images.io import read_image

    try:
        return read_image(path)
    except NormalkitError as exc:
        raise NormalkitError(f"{label}: {exc} (it must be an image the OBJ can "
                             "reference)") from None


def _warn_obj_normal_map(texels: np.ndarray, path, log) -> None:
    """Warn when an OBJ's tangent-space normal map looks DirectX, object space, or not
    like a normal map: OBJ readers take it as it is, as OpenGL tangent space."""
    from ..maps.validate import guess_space

    name = Path(path).name
    info = guess_space(texels)
    if info.kind == "none":
        log(f"warning: normal map {name}: {info.verdict}; check the file (normalkit map info)")
    elif info.kind == "object":
        log(f"warning: normal map {name} looks object-space ({info.negative_z_fraction:.0%} of "
            "its vectors have negative z) but is bound as tangent space; give --space object "
            "(space='object') if it is one")
    elif info.looks_directx:
        log(f"warning: normal map {name}: its green channel looks DirectX (−Y, confidence "
            f"{info.convention_confidence:.2f}), but OBJ readers (Blender) expect OpenGL "
            "(+Y); flip it (normalkit map convert --flip-green) or export .glb --directx")
