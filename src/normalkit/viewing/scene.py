"""What the viewer shows: the asset, an optional high-poly and views, checked up front.

:func:`resolve_scene` turns the command line's paths into a :class:`Scene`, checking
everything that can be checked without decoding a mesh or an image, so that bad input
fails at once with one line, before anything is served. The expensive parts (a mesh
file that is not a GLB is converted to one; an image the browser cannot show is
re-encoded) are :class:`Scene` methods that the server calls when the page first asks.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import NormalkitError

__all__ = ["BROWSER_IMAGES", "Scene", "resolve_scene"]

#: Image types every browser shows as they are; others (EXR, TIFF) are re-encoded as PNG.
BROWSER_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                  ".webp": "image/webp", ".bmp": "image/bmp"}
#: Mesh files the viewer converts to GLB (normalkit.mesh.io reads them).
_MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".gltf")


@dataclass(eq=False)
class Scene:
    """The viewer's inputs, checked.

    Attributes
    ----------
    asset : Path
        The mesh to show: a GLB (served as it is) or another mesh file (converted).
    normal_map : Path or None
        A tangent-space normal map (OpenGL green) for a non-GLB ``asset``.
    high : Path or None
        The high-poly, shown beside the asset or in its place.
    views : list of dict
        Per view: ``name``, ``camera`` (:meth:`Camera.to_json`) and ``image`` (a Path or
        None): the colour image, else the normal map.
    report : Path or None
        ``report.html`` (or ``report.json``) of a ``reduce`` / ``reconstruct`` folder.
    title : str
        The page title.
    """

    asset: Path
    normal_map: Path | None = None
    high: Path | None = None
    views: list = field(default_factory=list)
    report: Path | None = None
    title: str = ""
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def document(self) -> dict:
        """The page's ``scene.json``: what to load, and from which URLs."""
        return {
            "title": self.title,
            "asset": {"url": "asset.glb", "name": self.asset.name},
            "high": {"url": "high.glb", "name": self.high.name} if self.high else None,
            "views": [{"name": v["name"], "camera": v["camera"],
                       "image": f"views/{k}" if v["image"] is not None else None}
                      for k, v in enumerate(self.views)],
            "report": "report" if self.report is not None else None,
        }

    def glb(self, which: str) -> bytes:
        """The GLB bytes of ``"asset"`` or ``"high"`` (converted once, then cached)."""
        path = self.asset if which == "asset" else self.high
        if path is None:
            raise KeyError(which)
        return self._cached(which, lambda: _glb_bytes(
            path, self.normal_map if which == "asset" else None))

    def image(self, k: int) -> tuple[bytes, str]:
        """(bytes, content type) of view ``k``'s image; a PNG where the browser needs one."""
        path = self.views[k]["image"]
        if path is None:
            raise KeyError(k)
        return self._cached(f"view {k}", lambda: _browser_image(path))

    def _cached(self, key: str, make):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]


def resolve_scene(asset, *, high=None, views=None, normal_map=None, log=None) -> Scene:
    """Check the viewer's inputs and return the :class:`Scene` to serve.

    Parameters
    ----------
    asset : str or PathLike
        A GLB, another mesh file (OBJ, PLY, STL, OFF, glTF; converted to GLB when the page
        asks), or a ``normalkit reduce`` / ``reconstruct`` output folder: its GLB (named
        by ``report.json``, else the only ``*.glb`` there) and its report are used.
    high : str or PathLike, optional
        The high-poly mesh (any of those formats).
    views : str or PathLike, optional
        A views folder, ``cameras.json`` or ``transforms.json`` (as ``normalkit
        reconstruct`` reads them): its cameras are drawn as frustums carrying their images.
    normal_map : str or PathLike, optional
        A tangent-space normal map (PNG, EXR, …; OpenGL green) for an ``asset`` that is not
        a GLB; a GLB carries its own.
    log : callable(str), optional
        Receives one-line notices.

    Raises
    ------
    NormalkitError
        A path that does not exist; a folder with no GLB or several; a file that is not a
        mesh normalkit reads; a truncated or foreign GLB; a ``normal_map`` given with a GLB;
        views that cannot be read (see :func:`normalkit.reconstruction.views.view_cameras`).

    Cost: reads file headers and the views' JSON only (milliseconds): meshes and images are
    decoded when the page asks for them.
    """
    asset = _existing(asset, "asset")
    report = None
    if asset.is_dir():
        asset, report = _from_folder(asset)
    suffix = asset.suffix.lower()
    if suffix == ".glb":
        from ..mesh.io import check_glb

        check_glb(asset, asset.stat().st_size)
        if normal_map is not None:
            raise NormalkitError(f"'{asset}' is a GLB, which carries its own normal map; "
                                 "drop --normal-map, or give the OBJ the map was baked for")
    elif suffix not in _MESH_SUFFIXES:
        raise NormalkitError(f"cannot view '{asset}': not a mesh file normalkit reads "
                             f"({', '.join(('.glb',) + _MESH_SUFFIXES)}), nor an output "
                             "folder of `normalkit reduce` or `reconstruct`")
    nmap = _existing(normal_map, "normal map", folder=False) if normal_map is not None else None
    high_path = None
    if high is not None:
        high_path = _existing(high, "high-poly", folder=False)
        if high_path.suffix.lower() not in (".glb",) + _MESH_SUFFIXES:
            raise NormalkitError(f"cannot view '{high_path}' as the high-poly: not a mesh "
                                 f"file normalkit reads ({', '.join(('.glb',) + _MESH_SUFFIXES)})")
        if high_path.suffix.lower() == ".glb":
            from ..mesh.io import check_glb

            check_glb(high_path, high_path.stat().st_size)
    view_list = _views(views, log) if views is not None else []
    title = asset.parent.name + "/" + asset.name if report is not None else asset.name
    return Scene(asset=asset, normal_map=nmap, high=high_path, views=view_list, report=report,
                 title=title)


def _existing(path, what: str, folder: bool = True) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise NormalkitError(f"the {what} must be a path, got {type(path).__name__}")
    p = Path(path)
    if not p.exists():
        raise NormalkitError(f"the {what} '{p}' does not exist; check the path")
    if p.is_dir() and not folder:
        raise NormalkitError(f"the {what} '{p}' is a folder; give a file")
    return p


def _from_folder(folder: Path) -> tuple[Path, Path | None]:
    """(GLB, report) of a reduce / reconstruct output folder."""
    named = None
    rj = folder / "report.json"
    if rj.is_file():
        try:
            doc = json.loads(rj.read_text())
            named = doc.get("files", {}).get("glb") if isinstance(doc, dict) else None
        except (OSError, ValueError, AttributeError):
            named = None
    if isinstance(named, str) and (folder / named).is_file():
        glb = folder / named
    else:
        found = sorted(folder.glob("*.glb"))
        if not found:
            raise NormalkitError(f"'{folder}' holds no .glb; give an output folder of "
                                 "`normalkit reduce` or `reconstruct`, or a mesh file")
        if len(found) > 1:
            names = ", ".join(p.name for p in found[:4]) + (", …" if len(found) > 4 else "")
            raise NormalkitError(f"'{folder}' holds {len(found)} GLB files ({names}); give "
                                 "the one to view")
        glb = found[0]
    report = next((p for p in (folder / "report.html", rj) if p.is_file()), None)
    return glb, report


def _views(source, log) -> list:
    from ..reconstruction.views import view_cameras

    out = []
    for k, (camera, files) in enumerate(view_cameras(source, log)):
        image = files["rgb"] if files["rgb"] is not None else files["normal"]
        name = image.name if image is not None else f"view {k}"
        out.append({"name": name, "camera": camera.to_json(), "image": image})
    return out


def _glb_bytes(path: Path, normal_map: Path | None) -> bytes:
    """A mesh file as GLB bytes: a GLB as it is; others through normalkit's exporter, with
    MikkTSpace tangents when there is a normal map."""
    if path.suffix.lower() == ".glb":
        return path.read_bytes()
    import tempfile

    from ..assets.export import export_glb
    from ..images.io import read_image
    from ..maps.encode import decode_normals, encode_normals
    from ..mesh.io import load_mesh

    mesh = load_mesh(path)
    nmap = None
    if normal_map is not None:
        nmap = encode_normals(decode_normals(read_image(normal_map)), 8)
    color = mesh.base_color_texture
    if color is not None:
        color = color[..., :3].copy()
    with tempfile.TemporaryDirectory(prefix="normalkit_view_") as tmp:
        out = Path(tmp) / "mesh.glb"
        export_glb(out, mesh, nmap, color, name=path.stem)
        return out.read_bytes()


def _browser_image(path: Path) -> tuple[bytes, str]:
    kind = BROWSER_IMAGES.get(path.suffix.lower())
    if kind is not None:
        return path.read_bytes(), kind
    import io

    import numpy as np
    from PIL import Image

    from ..images.io import read_image

    img = read_image(path)
    if img.dtype != np.uint8:  # float (EXR: a normal map stores n itself) or 16-bit
        x = img.astype(np.float64)
        if img.dtype.kind == "f":
            x = np.clip(x * 0.5 + 0.5, 0, 1) if x.min() < 0 else np.clip(x, 0, 1)
        else:
            x = x / np.iinfo(img.dtype).max
        img = np.round(x * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img[..., :4] if img.ndim == 3 else img).save(buf, format="PNG")
    return buf.getvalue(), "image/png"
