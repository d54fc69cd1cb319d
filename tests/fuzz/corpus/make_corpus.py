"""Regenerate the seed corpus of tests/test_fuzz_loaders.py: tiny valid files of every format.

Run from the repository root: ``python tests/fuzz/corpus/make_corpus.py``. The files are
committed, so the fuzz tests do not depend on this script (or on the writers staying
byte-identical); rerun it only to add seeds. Each file is a few hundred bytes to a few KB.

Layout: ``<format>/<name>.<ext>``; the extension picks the loader (``load_mesh``,
``read_image`` or ``load_cameras``). ``regressions/`` holds inputs the fuzzer once broke
a loader with; this script does not touch them.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from normalkit.assets.export import export_glb
from normalkit.images.io import write_image
from normalkit.mesh.io import save_obj, save_ply
from normalkit.mesh.model import Mesh
from normalkit.rendering.camera import Camera

HERE = Path(__file__).resolve().parent


def _out(fmt: str, name: str) -> Path:
    d = HERE / fmt
    d.mkdir(exist_ok=True)
    return d / name


def _tetra(normals=True, uvs=True, colors=False) -> Mesh:
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int64)
    m = Mesh(positions=pos, faces=faces, name="tetra")
    if normals:
        n = pos - 0.25
        m.normals = (n / np.linalg.norm(n, axis=1, keepdims=True))[faces]
    if uvs:
        m.uvs = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float64)[faces]
    if colors:
        c = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 0.5]], np.float32)
        m.colors = c[faces]
    return m


OBJ_QUADS = """# two quads
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
v 2 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 1
f 1/1/1 2/2/1 3/3/1 4/4/1
f 2/1/1 5/2/1 6/3/1 3/4/1
"""

OBJ_MIXED = """o mixed
v 0 0 0 1 0 0
v 1 0 0 0 1 0
v 1 1 0 0 0 1
v 0 1 0 1 1 1
v 2 0.5 0 0.5 0.5 0.5
f 1 2 3
f 1 3 4
f 2 5 3 4 1
"""

PLY_ASCII = """ply
format ascii 1.0
comment a quad and a triangle, with colours
element vertex 5
property float x
property float y
property float z
property uchar red
property uchar green
property uchar blue
element face 2
property list uchar int vertex_indices
end_header
0 0 0 255 0 0
1 0 0 0 255 0
1 1 0 0 0 255
0 1 0 255 255 255
2 0 0 10 20 30
4 0 1 2 3
3 1 4 2
"""

PLY_ASCII_NORMALS_UV = """ply
format ascii 1.0
element vertex 4
property float x
property float y
property float z
property float nx
property float ny
property float nz
property float s
property float t
element face 2
property list uchar int vertex_indices
end_header
0 0 0 0 0 1 0 0
1 0 0 0 0 1 1 0
1 1 0 0 0 1 1 1
0 1 0 0 0 1 0 1
3 0 1 2
3 0 2 3
"""

OFF = """OFF
# a square pyramid
5 5 0
0 0 0
1 0 0
1 1 0
0 1 0
0.5 0.5 1
4 3 2 1 0
3 0 1 4
3 1 2 4
3 2 3 4
3 3 0 4
"""


def _binary_ply(fmt: str, quads: bool) -> bytes:
    """A binary PLY the fast path does not take: big-endian, or with quads."""
    e = "<" if fmt == "binary_little_endian" else ">"
    pos = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0]], np.float32)
    head = (f"ply\nformat {fmt} 1.0\nelement vertex {len(pos)}\nproperty float x\n"
            "property float y\nproperty float z\nelement face 2\n"
            "property list uchar int vertex_indices\nend_header\n").encode()
    body = pos.astype(e + "f4").tobytes()
    # (trimesh reads binary PLY lists of one length only: all quads, or all triangles)
    polys = [[0, 1, 2, 3], [1, 4, 2, 3]] if quads else [[0, 1, 2], [0, 2, 3]]
    for p in polys:
        body += struct.pack(e + "B" + "i" * len(p), len(p), *p)
    return head + body


def meshes() -> None:
    save_obj(_tetra(), _out("obj", "tetra_vt_vn.obj"))
    save_obj(_tetra(uvs=False), _out("obj", "tetra_vn.obj"))
    _out("obj", "quads.obj").write_text(OBJ_QUADS)
    _out("obj", "mixed_colors.obj").write_text(OBJ_MIXED)

    save_ply(_tetra(), _out("ply", "fast_normals_uv.ply"))
    save_ply(_tetra(normals=False, uvs=False), _out("ply", "fast_plain.ply"))
    save_ply(_tetra(uvs=False, colors=True), _out("ply", "fast_colors.ply"))
    _out("ply", "binary_quads.ply").write_bytes(_binary_ply("binary_little_endian", True))
    _out("ply", "binary_big_endian.ply").write_bytes(_binary_ply("binary_big_endian", False))
    _out("ply", "ascii_colors_quad.ply").write_text(PLY_ASCII)
    _out("ply", "ascii_normals_uv.ply").write_text(PLY_ASCII_NORMALS_UV)

    import trimesh

    tm = trimesh.Trimesh(_tetra().positions, _tetra().faces, process=False)
    _out("stl", "tetra_binary.stl").write_bytes(tm.export(file_type="stl"))
    _out("stl", "tetra_ascii.stl").write_text(tm.export(file_type="stl_ascii"))
    _out("off", "pyramid.off").write_text(OFF)

    normal_map = np.full((4, 4, 3), (128, 128, 255), np.uint8)
    export_glb(_out("gltf", "tetra_normal_map.glb"), _tetra(), normal_map)
    export_glb(_out("gltf", "tetra_plain.glb"), _tetra(), None)
    # Two nodes (merged with their transforms), one with vertex colours, as .gltf with the
    # buffer embedded as a data: URI.
    a = trimesh.Trimesh(_tetra().positions, _tetra().faces, process=False)
    b = trimesh.Trimesh(_tetra().positions + 2, _tetra().faces, process=False,
                        vertex_colors=np.array([[255, 0, 0, 255]] * 4, np.uint8))
    scene = trimesh.Scene()
    scene.add_geometry(a, node_name="a", geom_name="a")
    scene.add_geometry(b, node_name="b", geom_name="b",
                       transform=trimesh.transformations.rotation_matrix(0.5, [0, 0, 1]))
    files = trimesh.exchange.gltf.export_gltf(scene, embed_buffers=True)
    _out("gltf", "two_nodes_embedded.gltf").write_bytes(files["model.gltf"])
    _out("gltf", "two_nodes.glb").write_bytes(trimesh.exchange.gltf.export_glb(scene))


def images() -> None:
    rng = np.random.default_rng(9)
    for bits, dtype in ((8, np.uint8), (16, np.uint16)):
        top = np.iinfo(dtype).max
        for name, shape in (("gray", (4, 5)), ("rgb", (4, 5, 3)), ("rgba", (3, 4, 4))):
            write_image(_out("png", f"{name}{bits}.png"),
                        rng.integers(0, top, shape, endpoint=True).astype(dtype))
    n = rng.normal(size=(4, 4, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    write_image(_out("exr", "rgb_float.exr"), n)
    write_image(_out("exr", "rgb_half.exr"), n.astype(np.float16))
    write_image(_out("exr", "rgba_half.exr"),
                np.concatenate([n, np.ones((4, 4, 1), np.float32)], 2).astype(np.float16))
    write_image(_out("exr", "depth_y.exr"), rng.random((3, 5)).astype(np.float32))
    write_image(_out("tiff", "rgb8.tif"), rng.integers(0, 255, (4, 4, 3)).astype(np.uint8))
    write_image(_out("tiff", "rgba_float.tiff"), rng.random((3, 4, 4)).astype(np.float32))
    import cv2

    ok, jpg = cv2.imencode(".jpg", rng.integers(0, 255, (8, 8, 3)).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 50])
    assert ok
    _out("jpeg", "rgb.jpg").write_bytes(jpg.tobytes())


def cameras() -> None:
    cams = [Camera.look_at((0, -3, 1), (0, 0, 0), width=16, height=12),
            Camera.orthographic_look_at((2, 0, 0), (0, 0, 0), ortho_scale=2.5,
                                        width=8, height=8)]
    views = [{"index": k, "azimuth_deg": 90.0 * k, "elevation_deg": 20.0, **c.to_json(),
              "depth_range": [1.0, 4.0], "files": {"rgb": f"rgb_{k:03d}.png"}}
             for k, c in enumerate(cams)]
    doc = {"format": "normalkit cameras 1", "mesh": "tetra.obj", "faces": 4,
           "width": 16, "height": 12, "samples": 1, "views": views}
    _out("cameras", "cameras.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    meshes()
    images()
    cameras()
    files = sorted(p for p in HERE.rglob("*") if p.is_file() and p.suffix != ".py")
    print(f"{len(files)} files, {sum(p.stat().st_size for p in files):,} bytes")
    for p in files:
        print(f"  {p.relative_to(HERE)}: {p.stat().st_size:,} bytes")
