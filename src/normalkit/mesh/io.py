"""Mesh files in and out: OBJ, PLY, STL, OFF, glTF/GLB through trimesh; OBJ writer.

Loading keeps per-corner normals, UVs and colours exactly as the file gives them. Polygons are
triangulated once, on load, by trimesh's rule: a quad (0, 1, 2, 3) becomes
(0, 1, 2) and (2, 3, 0); n-gons are fanned from their first vertex. The triangles of
one polygon are consecutive and polygons keep their file order, so triangle i of the
Mesh is the same triangle in every later step (tangents, bake, export).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import struct
from pathlib import Path

import numpy as np

from ..core.errors import NormalkitError
from .model import Mesh, _normalize, encode_color, srgb_lut, srgb_to_linear

MESH_FORMATS = (".obj", ".ply", ".stl", ".off", ".gltf", ".glb")


class _Corrupt(ValueError):
    """Inconsistent data found after parsing; load_mesh names the file."""


@contextlib.contextmanager
def _quiet_trimesh():
    """Silence trimesh's log (it warns, e.g. "unable to convert colors!", on stderr when the
    application configures no logging) and NumPy's floating-point warnings (thread-local),
    while it parses. Whatever matters is checked afterwards and reported as one
    NormalkitError.
    """
    from ..images.io import _quiet_loggers

    with _quiet_loggers("trimesh"), np.errstate(all="ignore"):
        yield


def load_mesh(path: str | os.PathLike, log=None, *, geometry=None) -> Mesh:
    """Load a triangle mesh with its per-corner normals, UVs and colour.

    Parameters
    ----------
    path : str or PathLike
        An OBJ, PLY, STL, OFF, glTF or GLB file.
    log : callable, optional
        Receives one-line notices (e.g. a base-colour texture that had to be dropped).
    geometry : callable, optional
        Called once with the mesh's ``positions`` and ``faces`` as soon as they are read
        (for a binary PLY, before the per-corner normals, UVs and colours are assembled
        and the mesh is checked; for other files, when the mesh is complete), so a caller
        can start work on the shape, such as a BVH build, while the rest loads. The
        returned Mesh holds these same arrays unless loading fails.

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
        One line naming the file: missing, unreadable, unknown, empty, corrupt,
        truncated or non-finite input. PLY, STL and GLB headers are checked against
        the file size first, so a header that claims 10¹² vertices fails at once,
        without allocating. Whatever trimesh logs or warns while parsing is silenced;
        its exceptions become this error.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    size = _check_file(path, suffix)
    if suffix == ".ply":
        header = _ply_header(path, size)
        with np.errstate(all="ignore"):  # NaN/inf data: Mesh.validate reports it
            fast = _read_simple_binary_ply(path, header, geometry)
        if fast is not None:
            return fast.validate()
    elif suffix == ".obj":
        with np.errstate(all="ignore"):
            fast = _read_simple_obj(path)
        if fast is not None:
            return _announce(fast.validate(), geometry)

    linear = suffix in (".gltf", ".glb")  # glTF COLOR_0 is linear; OBJ/PLY colours sRGB
    # trimesh parses lazily (colours, UVs, embedded images are decoded on first access),
    # so the conversion below covers reading the parts too. Its warnings (NumPy
    # deprecations, overflow in casts of absurd numbers) are noise for a user: the checks
    # that matter come after, in Mesh.validate.
    parts = _trimesh_parts(path, suffix, linear, split=False)
    parts = [p for _, p in parts if len(p[1])]
    if not parts:
        raise NormalkitError(_empty_message(path))
    with np.errstate(all="ignore"):
        mesh = _concatenate(parts, name=path.name, log=log)
    if suffix == ".obj":
        mesh = _obj_file_order(mesh, path)
    return _announce(mesh.validate(), geometry)


def _announce(mesh: Mesh, geometry) -> Mesh:
    if geometry is not None:
        geometry(mesh.positions, mesh.faces)
    return mesh


def _check_file(path: Path, suffix: str) -> int:
    """The checks every loader runs before parsing: a file, a known format, not empty,
    and (GLB, glTF, STL) a header that fits the file. Returns the size in bytes."""
    if not path.is_file():
        what = "it is a directory" if path.is_dir() else "no such file"
        raise NormalkitError(f"cannot read '{path}': {what}")
    if suffix not in MESH_FORMATS:
        raise NormalkitError(
            f"'{path}': unknown mesh format '{suffix}' (supported: {', '.join(MESH_FORMATS)})")
    size = path.stat().st_size
    if size == 0:
        raise NormalkitError(f"cannot read '{path}': the file is empty (0 bytes); "
                             "export the mesh again")
    if suffix == ".glb":
        check_glb(path, size)
    elif suffix == ".gltf":
        _check_gltf(path)
    elif suffix == ".stl":
        _check_stl(path, size)
    return size


def load_parts(path: str | os.PathLike, log=None) -> list[Mesh]:
    """The objects of a mesh file, each its own :class:`Mesh` named as in the file: glTF
    nodes (with their transforms), OBJ objects (``o``); a file with one object gives one
    part. For bake groups (:func:`normalkit.baking.bake.bake` with lists).

    Raises
    ------
    NormalkitError
        As :func:`load_mesh`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".obj", ".gltf", ".glb"):  # one object per file
        return [load_mesh(path, log).replace(name=path.stem)]
    _check_file(path, suffix)
    out = []
    for name, part in _trimesh_parts(path, suffix, suffix in (".gltf", ".glb"), split=True):
        if len(part[1]):
            with np.errstate(all="ignore"):
                out.append(_concatenate([part], name=name, log=log).validate())
    if not out:
        raise NormalkitError(_empty_message(path))
    if suffix == ".obj":  # trimesh's scene order is not the file's: restore it
        order = {}
        with open(path, "rb") as fh:
            for line in fh:
                if line.startswith(b"o ") or line.startswith(b"o\t"):
                    order.setdefault(line[2:].strip().decode("utf-8", "replace"), len(order))
        out.sort(key=lambda m: order.get(m.name, len(order)))
    return out


def _trimesh_parts(path: Path, suffix: str, linear: bool, split: bool) -> list:
    """[(name, corner data)] of the file's meshes through trimesh (``split``: OBJ objects
    apart). trimesh is imported here: it costs about 0.5 s of start-up."""
    import trimesh

    kwargs = {"split_objects": True, "group_material": False} if split and \
        suffix == ".obj" else {}
    try:
        with _quiet_trimesh():
            loaded = trimesh.load(str(path), process=False, **kwargs)
            if isinstance(loaded, trimesh.Scene):
                parts = _scene_parts(loaded, linear, names=True)
            elif isinstance(loaded, trimesh.Trimesh):
                parts = [(path.stem, _corner_data(loaded, None, linear))]
            else:
                parts = []
    except NormalkitError:
        raise
    except _Corrupt as exc:
        raise NormalkitError(f"cannot read '{path}': {exc}; re-export it") from None
    except MemoryError:
        raise NormalkitError(
            f"cannot read '{path}': it declares more data than fits in memory; the file is "
            "corrupt, or too large for this machine") from None
    except Exception as exc:  # trimesh (and NumPy, PIL under it) raise many types
        raise NormalkitError(_trimesh_message(path, suffix, exc)) from None
    return parts


def _empty_message(path: Path) -> str:
    return (f"'{path}': the file holds no triangles (empty mesh); export the mesh itself "
            "(polygons, not only points, lines, cameras or empty nodes)")


def _reason(exc: BaseException, limit: int = 160) -> str:
    """A library exception as one bounded line (its type when it has no message)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _trimesh_message(path: Path, suffix: str, exc: Exception) -> str:
    """One line for an exception trimesh (or a library under it) raised on ``path``."""
    kind = suffix[1:].upper()
    text = str(exc)
    if suffix == ".ply" and "unexpected length" in text:
        return (f"cannot read '{path}': its binary data does not match the header (a "
                "truncated file, extra bytes, or polygons of mixed sizes: binary PLY faces "
                "must be all triangles or all quads); re-export it triangulated")
    if isinstance(exc, json.JSONDecodeError):
        return (f"cannot read '{path}': its glTF JSON is not valid ({_reason(exc)}); "
                "export it again")
    if isinstance(exc, FileNotFoundError):
        return (f"cannot read '{path}': a file it refers to is missing ({_reason(exc)}); "
                "keep a .gltf's buffers and images beside it, or export a .glb")
    if isinstance(exc, UnicodeDecodeError):
        return (f"cannot read '{path}' as {kind}: byte {exc.start} is not text where text "
                "belongs; the file is corrupt (or binary), re-export it")
    if isinstance(exc, IndexError) and "out of bounds" in text:
        return (f"cannot read '{path}' as {kind}: an index refers to something the file "
                f"does not have (a face to a missing vertex, UV or normal: {_reason(exc)}); "
                "re-export it")
    return (f"cannot read '{path}' as {kind}: the file is corrupt or not {kind} "
            f"({type(exc).__name__}: {_reason(exc)}); re-export it")


_GLB_MAGIC, _GLB_JSON, _GLB_BIN = b"glTF", 0x4E4F534A, 0x004E4942


def check_glb(path: Path, size: int) -> None:
    """Check a GLB's 12-byte header and its JSON chunk header against the file size.

    trimesh reports a cut-off or foreign file with an IndexError or an unpacking error;
    this names the problem instead.
    """
    def bad(problem: str) -> NormalkitError:
        return NormalkitError(f"cannot read '{path}': {problem}")

    with open(path, "rb") as fh:
        head = fh.read(20)
    if len(head) < 12 or head[:4] != _GLB_MAGIC:
        if head[:4] == _GLB_MAGIC:
            raise bad(f"truncated GLB: {size} bytes, less than its 12-byte header; "
                      "export it again")
        hint = ("; it looks like text glTF, name it .gltf" if head.lstrip()[:1] == b"{"
                else "; export the mesh as glTF 2.0 binary (.glb) again")
        raise bad(f"not a binary glTF file (it does not start with 'glTF'){hint}")
    version, length = struct.unpack_from("<II", head, 4)
    if version != 2:
        raise bad(f"GLB container version {version}; normalkit reads glTF 2.0 only, "
                  "export it again as glTF 2.0")
    if length > size:
        raise bad(f"truncated GLB: the header declares {length:,} bytes, the file has "
                  f"{size:,}; export it again")
    if len(head) < 20 or length < 20:
        raise bad("the GLB has no JSON chunk (an empty glTF container); export the mesh "
                  "again")
    chunk, kind = struct.unpack_from("<II", head, 12)
    if kind != _GLB_JSON:
        raise bad("the GLB's first chunk is not its JSON; export it again")
    if 20 + chunk > length:
        raise bad(f"truncated GLB: its JSON chunk of {chunk:,} bytes runs past the "
                  f"{length:,} the header declares; export it again")
    with open(path, "rb") as fh:
        fh.seek(20)
        _check_gltf_json(path, fh.read(chunk))


def _check_gltf_json(path: Path, data: bytes) -> None:
    """The glTF JSON (a .gltf, or a GLB's JSON chunk) must be an object with "asset"."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise NormalkitError(f"cannot read '{path}': its JSON is nested too deeply; it is "
                             "not glTF") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise NormalkitError(f"cannot read '{path}': its glTF JSON is not valid "
                             f"({_reason(exc)}); export it again") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("asset"), dict):
        raise NormalkitError(f"cannot read '{path}': the JSON is not glTF (no \"asset\" "
                             "object at the top); export it again as glTF 2.0")


def _check_stl(path: Path, size: int) -> None:
    """A binary STL's triangle count must match its size (84 + 50 bytes per triangle).

    A file that does not match is read as ASCII STL; one that is not text either is a
    binary STL with a wrong count, which trimesh would report as an empty mesh.
    """
    with open(path, "rb") as fh:
        head = fh.read(512)
    if size >= 84:
        with open(path, "rb") as fh:
            fh.seek(80)
            (count,) = struct.unpack("<I", fh.read(4))
        if 84 + 50 * count == size:
            return
    else:
        count = None
    if head.lstrip()[:5].lower() == b"solid" and b"\0" not in head[80:]:
        return  # ASCII
    if count is None:
        raise NormalkitError(f"cannot read '{path}': truncated STL ({size} bytes, less than "
                             "a binary STL's 84-byte header); export it again")
    raise NormalkitError(
        f"cannot read '{path}': the binary STL header declares {count:,} triangles "
        f"({84 + 50 * count:,} bytes), the file has {size:,} bytes (truncated or corrupt); "
        "export it again")


def _check_gltf(path: Path) -> None:
    """A .gltf must hold a glTF JSON object (or, misnamed, be a GLB)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] == _GLB_MAGIC:
        check_glb(path, len(data))
    else:
        _check_gltf_json(path, data)


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


#: Bytes per value of the PLY scalar types.
_PLY_SIZES = {"char": 1, "int8": 1, "uchar": 1, "uint8": 1, "short": 2, "int16": 2,
              "ushort": 2, "uint16": 2, "int": 4, "int32": 4, "uint": 4, "uint32": 4,
              "int64": 8, "uint64": 8, "float16": 2, "float": 4, "float32": 4, "double": 8,
              "float64": 8}
_PLY_END = re.compile(rb"(?:^|\n)end_header[ \t\r]*\n")
_PLY_FORMATS = ("ascii", "binary_little_endian", "binary_big_endian")
_PLY_HEADER_MAX = 1 << 16


def _ply_header(path: Path, size: int):
    """Parse and check a PLY header: (format, [(element, count, [property tokens])], start).

    Raises NormalkitError for a header that is not PLY, is cut off or malformed, names an
    unknown type, or declares more elements than the bytes after it can hold (a header
    that claims 10¹² vertices fails here, before anything is allocated).
    """
    def bad(problem: str) -> NormalkitError:
        return NormalkitError(f"cannot read '{path}': {problem}; re-export the file")

    with open(path, "rb") as fh:
        head = fh.read(_PLY_HEADER_MAX)
    if not head.startswith(b"ply"):
        raise bad("not a PLY file (it does not start with 'ply')")
    found = _PLY_END.search(head)
    if found is None:
        raise bad(f"no 'end_header' line in the first {_PLY_HEADER_MAX // 1024} KB; the "
                  "header is cut off or this is not a PLY file")
    end, start = found.start(), found.end()
    try:
        lines = head[:end].decode("ascii").splitlines()[1:]
    except UnicodeDecodeError:
        raise bad("the PLY header is not ASCII text") from None
    fmt, elements = None, []
    for line in lines:
        tok = line.split()
        if not tok or tok[0] in ("comment", "obj_info"):
            continue
        if tok[0] == "format":
            if len(tok) < 2 or tok[1] not in _PLY_FORMATS:
                raise bad(f"unknown PLY format line {line.strip()[:60]!r}")
            fmt = tok[1]
        elif tok[0] == "element":
            if len(tok) != 3 or not tok[2].isdigit():
                raise bad(f"bad PLY element line {line.strip()[:60]!r} (want 'element NAME "
                          "COUNT')")
            elements.append((tok[1], int(tok[2]), []))
        elif tok[0] == "property":
            scalar = len(tok) == 3 and tok[1] in _PLY_SIZES
            listed = (len(tok) == 5 and tok[1] == "list" and tok[2] in _PLY_SIZES
                      and tok[3] in _PLY_SIZES)
            if not (scalar or listed):
                raise bad(f"bad PLY property line {line.strip()[:60]!r}")
            if not elements:
                raise bad("a PLY property comes before any element")
            elements[-1][2].append(tok[1:])
    if fmt is None:
        raise bad("the PLY header has no 'format' line")
    vertex = [props for name, _, props in elements if name == "vertex"]
    if len(vertex) != 1 or not {"x", "y", "z"} <= {p[-1] for p in vertex[0] if len(p) == 2}:
        raise bad("the PLY header needs one 'vertex' element with x, y and z properties")
    data = size - start
    need, what = 0, []
    for name, count, props in elements:
        # Smallest possible row: each scalar, and each list's length with no items
        # (binary); one character and a separator per value (ASCII).
        row = (sum(_PLY_SIZES[p[1] if p[0] == "list" else p[0]] for p in props)
               if fmt != "ascii" else max(2 * len(props) - 1, 0))
        need += count * row
        what.append(f"{count:,} {name}")
    if need > max(data, 0):
        raise bad(f"the header declares {', '.join(what)} elements, at least {need:,} bytes "
                  f"of {'binary' if fmt != 'ascii' else 'text'} data, but only "
                  f"{max(data, 0):,} bytes follow it (truncated or corrupt)")
    return fmt, elements, start


def _read_ply_vertices(path: Path, header):
    """The vertex records (a structured array), positions (V, 3) float64 and faces
    (F, 3) int64 of a binary PLY that :func:`_read_simple_binary_ply` can read, or None.
    Raises NormalkitError for a face that indexes a vertex that does not exist."""
    fmt, elements, start = header
    if fmt != "binary_little_endian" or [e[0] for e in elements] != ["vertex", "face"]:
        return None
    vprops, fprops = elements[0][2], elements[1][2]
    if any(len(p) != 2 or (p[0] not in _PLY_TYPES and not (
            p[0] in _PLY_COLOR_TYPES and p[1] in _PLY_COLOR_NAMES)) for p in vprops):
        return None
    if len(fprops) != 1 or fprops[0][:2] != ["list", "uchar"] or \
            fprops[0][2] not in ("int", "int32", "uint", "uint32"):
        return None
    names = [p[1] for p in vprops]
    if len(set(names)) != len(names):
        return None
    vdtype = np.dtype([(n, "<" + {**_PLY_TYPES, **_PLY_COLOR_TYPES}[p[0]])
                       for p, n in zip(vprops, names, strict=True)])
    fdtype = np.dtype([("n", "u1"), ("v", "<i4" if "u" not in fprops[0][2] else "<u4", (3,))])
    n_v, n_f = elements[0][1], elements[1][1]
    with open(path, "rb") as fh:
        fh.seek(start)
        vert = np.fromfile(fh, dtype=vdtype, count=n_v)
        face = np.fromfile(fh, dtype=fdtype, count=n_f)
    if len(vert) != n_v or len(face) != n_f or not np.all(face["n"] == 3):
        return None
    if not {"x", "y", "z"} <= set(names):
        return None
    positions = np.stack([vert["x"], vert["y"], vert["z"]], 1).astype(np.float64)
    faces = face["v"].astype(np.int64)
    if n_f and (faces.min() < 0 or faces.max() >= n_v):
        raise NormalkitError(f"'{path}': a face indexes a vertex that does not exist; "
                             "re-export the file")
    return vert, positions, faces


def _ply_vertex_normals(vert) -> np.ndarray:
    """(V, 3) float64 unit normals of PLY vertex records (zero stays zero)."""
    return _normalize(np.stack([vert["nx"], vert["ny"], vert["nz"]], 1).astype(np.float64))


def load_vertex_normals(path: str | os.PathLike, *, geometry=None):
    """A binary PLY's shape and per-vertex normals, without the per-corner arrays that
    :func:`load_mesh` assembles (for a 1.3M-triangle mesh its corner normals alone are
    94 MB): (positions (V, 3) float64, faces (F, 3) int64, normals (V, 3) float64, unit
    or zero, as :func:`load_mesh` reads them), so that ``load_mesh(path).normals ==
    normals[faces]``.

    Returns None where the file is not such a PLY (no normals, ASCII, another layout or
    format) or holds non-finite positions or normals: :func:`load_mesh` reads those, or
    reports them. ``geometry`` as for :func:`load_mesh` (called before the normals are
    read, so it may be called for a file that then returns None). Raises NormalkitError as
    :func:`load_mesh` does for a missing, unreadable or malformed file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    size = _check_file(path, suffix)
    if suffix != ".ply":
        return None
    header = _ply_header(path, size)
    with np.errstate(all="ignore"):
        read = _read_ply_vertices(path, header)
        if read is None or not {"nx", "ny", "nz"} <= set(read[0].dtype.names):
            return None
        vert, positions, faces = read
        if len(faces) == 0 or not np.isfinite(positions).all():
            return None
        if geometry is not None:
            geometry(positions, faces)
        normals = _ply_vertex_normals(vert)
        if not np.isfinite(normals).all():
            return None
    return positions, faces, normals


def _read_simple_binary_ply(path: Path, header, geometry=None) -> Mesh | None:
    """Fast path for the common binary PLY: float vertex properties, triangle faces only.

    Reads the file with one ``np.fromfile``-style view instead of importing trimesh
    (whose import alone costs ~0.5 s), which keeps ``normalkit bake`` start-up lean on
    million-triangle high-polys. ``header`` is what :func:`_ply_header` returned (so the
    counts fit the file). Returns None for anything else (ASCII, other layouts, polygons,
    extra elements), which then goes through trimesh.
    """
    read = _read_ply_vertices(path, header)
    if read is None:
        return None
    vert, positions, faces = read
    names = vert.dtype.names
    n_v, n_f = len(positions), len(faces)
    if geometry is not None and n_f:
        geometry(positions, faces)
    normals = uvs = None
    if {"nx", "ny", "nz"} <= set(names):
        normals = _ply_vertex_normals(vert)[faces]
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
        raise NormalkitError(_empty_message(path))
    return Mesh(positions=positions, faces=faces, normals=normals, uvs=uvs, name=path.name,
                colors=colors)


#: OBJ statements the fast path reads (``v``, ``vt``, ``vn``, ``f``) or may skip because
#: they change nothing load_mesh returns (comments, one object or group name, smoothing
#: groups); any other (``usemtl``, ``mtllib``, a second object, lines, free-form
#: geometry…) sends the file through trimesh.
_OBJ_KEYS = {b"v", b"vt", b"vn", b"f", b"s", b"o", b"g"}
_OBJ_KEY = re.compile(rb"(?m)^[ \t]*([^\s#][^ \t\n]*)")


def _parse_numbers(text: bytes, dtype) -> np.ndarray:
    """The whitespace-separated numbers in ``text``, parsed in C (correctly rounded, as
    Python's float()); parsing stops at the first token that is not a number, which the
    caller sees as a short count."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # NumPy on a bad token
        return np.fromstring(text, dtype=dtype, sep=" ")


def _read_simple_obj(path: Path) -> Mesh | None:
    """Fast path for the common OBJ: ``v``/``vt``/``vn`` of 3/2/3 numbers and faces that
    are all triangles or all quads with one index pattern (``v``, ``v/vt``, ``v//vn`` or
    ``v/vt/vn``, positive indices), in one object without materials.

    Parses with a few NumPy calls instead of importing trimesh (whose import alone costs
    ~0.3 s, most of a 4k-triangle low-poly's load). It returns what the trimesh path
    returns for such a file (the same per-corner positions, normals and UVs, triangles in
    file order, quads split (0, 1, 2), (2, 3, 0)), keeping only vertices a face uses, and
    None for anything else, which then goes through trimesh.
    """
    data = path.read_bytes()
    if b"\\" in data or b"\r" in data:  # line continuations, CRLF: leave to trimesh
        return None
    keys = _OBJ_KEY.findall(data)
    if not set(keys) <= _OBJ_KEYS or keys.count(b"o") + keys.count(b"g") > 1:
        return None
    groups = {k: re.findall(rb"(?m)^[ \t]*" + k + rb"[ \t]+([^\n]*)", data)
              for k in (b"v", b"vt", b"vn", b"f")}
    if not groups[b"f"] or not groups[b"v"]:
        return None

    def numbers(key: bytes, k: int, dtype):
        rows = groups[key]
        if not rows:
            return None
        vals = _parse_numbers(b" ".join(rows), dtype)
        return vals.reshape(-1, k) if len(vals) == k * len(rows) else False

    v, vt, vn = numbers(b"v", 3, np.float64), numbers(b"vt", 2, np.float64), \
        numbers(b"vn", 3, np.float64)
    if v is False or vt is False or vn is False:
        return None
    faces = groups[b"f"]
    first = faces[0].split()
    corners, pattern = len(first), first[0].count(b"/")
    if corners not in (3, 4) or pattern > 2:
        return None
    parts = first[0].split(b"/")
    slots = [k for k, p in enumerate(parts) if p]  # which of v/vt/vn each corner gives
    if slots[0] != 0:
        return None
    idx = _parse_numbers(b" ".join(faces).replace(b"/", b" "), np.int64)
    per = corners * len(slots)
    if len(idx) != per * len(faces) or any(
            len(f.split()) != corners or f.count(b"/") != corners * pattern for f in faces):
        return None
    idx = idx.reshape(len(faces), corners, len(slots)) - 1
    if idx.size and idx.min() < 0:
        return None  # relative (negative) indices
    sources = {0: v, 1: vt, 2: vn}
    for k, slot in enumerate(slots):
        src = sources[slot]
        if src is None or idx[..., k].max() >= len(src):
            return None
    if corners == 4:
        idx = idx[:, [0, 1, 2, 2, 3, 0]].reshape(-1, 3, len(slots))
    used = np.zeros(len(v), bool)
    used[idx[..., 0]] = True
    remap = np.cumsum(used) - 1  # file order among the vertices faces use
    uvs = normals = None
    for k, slot in enumerate(slots[1:], start=1):
        if slot == 1:
            uvs = vt[idx[..., k]]
        else:
            normals = _normalize(vn[idx[..., k]])  # as _concatenate does on that path
    return Mesh(positions=v[used], faces=remap[idx[..., 0]], normals=normals, uvs=uvs,
                name=path.name)


def _corner_data(tm, matrix, linear: bool = False):
    """(positions, faces, normals|None, uv|None, colors|None, texture|None) of one trimesh.

    ``matrix`` (optional) is applied; ``linear`` says the file's colours are linear
    (glTF) rather than sRGB-encoded (OBJ, PLY).
    """
    positions = np.asarray(tm.vertices, dtype=np.float64)
    if positions.size == 0:
        positions = positions.reshape(0, 3)
    if positions.ndim != 2 or positions.shape[1] != 3:
        k = positions.shape[1] if positions.ndim == 2 else "no"
        raise _Corrupt(f"its vertices have {k} coordinates, not 3 (a malformed vertex line, "
                       "property or accessor)")
    faces = np.asarray(tm.faces, dtype=np.int64).reshape(-1, 3)
    if faces.size and (faces.min() < 0 or faces.max() >= len(positions)):
        bad = faces.min() if faces.min() < 0 else faces.max()
        raise _Corrupt(f"a face refers to vertex {bad} of {len(positions)} (0-based)")
    normals = None
    if "vertex_normals" in tm._cache.cache and len(tm.vertices):  # only normals from the file
        normals = np.asarray(tm.vertex_normals, dtype=np.float64)[faces]
    uv = getattr(tm.visual, "uv", None)
    uvs = None
    if uv is not None and len(uv) == len(positions):
        uv = np.asarray(uv, np.float64)
        if uv.ndim != 2 or uv.shape[1] < 2:
            k = uv.shape[1] if uv.ndim == 2 else "no"
            raise _Corrupt(f"its texture coordinates have {k} component(s), not 2 (a "
                           "malformed vt line, property or accessor)")
        uvs = uv[:, :2][faces]
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
        owners = tm.vertices if kind == "vertex" else faces
        if rgba.ndim != 2 or rgba.shape[1] != 4 or len(rgba) != len(owners):
            raise _Corrupt(f"it has {len(rgba)} {kind} colours for {len(owners)} {kind}s")
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


def _scene_parts(scene, linear: bool = False, names: bool = False):
    """Corner data of a scene's meshes (``names``: as (node name, data) pairs)."""
    nodes = scene.graph.nodes_geometry
    if len(nodes) == 1:
        _, geom_name = scene.graph[nodes[0]]
        data = _corner_data(scene.geometry[geom_name], None, linear)
        return [(str(nodes[0]), data)] if names else [data]
    parts = []
    for node in nodes:
        matrix, geom_name = scene.graph[node]
        geom = scene.geometry[geom_name]
        if hasattr(geom, "faces"):
            data = _corner_data(geom, matrix, linear)
            parts.append((str(node), data) if names else data)
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
    materials = None
    if len(parts) > 1:  # each part of the file (primitive, node, material group): an index
        materials = np.repeat(np.arange(len(parts), dtype=np.int32), [len(f) for f in faces])
    return Mesh(
        positions=np.concatenate(positions),
        faces=np.concatenate(faces),
        normals=_normalize(np.concatenate(normals)) if has_n else None,
        uvs=uv_all,
        name=name,
        colors=color_all,
        base_color_texture=texture,
        materials=materials,
    )


def save_obj(mesh: Mesh, path: str | os.PathLike, mtl: str | None = None) -> None:
    """Write ``mesh`` as OBJ with per-corner ``vt``/``vn`` (deduplicated), atomically.

    Floats are written with 9 significant digits, so float32 data round-trips exactly.
    ``mtl`` names a material library and material to reference (``mtllib``/``usemtl``).
    """
    from ..core.atomic import atomic_path

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
    from ..core.atomic import atomic_path

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
