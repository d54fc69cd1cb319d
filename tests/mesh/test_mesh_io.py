"""Mesh loading keeps per-corner normals/UVs, seams and hard edges; errors are clear."""

import numpy as np
import pytest
import trimesh

from conftest import grid_plane
from normalkit.core.errors import NormalkitError
from normalkit.mesh import io as mesh_io
from normalkit.mesh.io import load_mesh, save_obj, save_ply

QUAD_OBJ = """\
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
v 2 1 0
vt 0 0
vt 0.5 0
vt 0.5 1
vt 0 1
vt 0.6 0
vt 1 0
vt 1 1
vt 0.6 1
vn 0 0 1
vn 0 1 0
f 1/1/1 2/2/1 3/3/1 4/4/1
f 2/5/2 5/6/2 6/7/2 3/8/2
"""


def test_obj_quads_are_triangulated_once_with_per_corner_data(tmp_path):
    path = tmp_path / "quads.obj"
    path.write_text(QUAD_OBJ)
    m = load_mesh(path)
    assert m.n_faces == 4
    p = m.corner_positions()
    # trimesh's rule: quad (0,1,2,3) → (0,1,2), (2,3,0), in file order.
    np.testing.assert_allclose(p[0], [[0, 0, 0], [1, 0, 0], [1, 1, 0]])
    np.testing.assert_allclose(p[1], [[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    # Hard edge along x = 1: the same position carries two normals, and two UVs (seam).
    assert np.allclose(m.normals[:2], [0, 0, 1]) and np.allclose(m.normals[2:], [0, 1, 0])
    np.testing.assert_allclose(m.uvs[0], [[0, 0], [0.5, 0], [0.5, 1]])
    np.testing.assert_allclose(m.uvs[2], [[0.6, 0], [1, 0], [1, 1]])


def test_obj_round_trip_is_exact_for_float32(tmp_path):
    h = lambda x, y: 0.1 * np.sin(3 * x) * y  # noqa: E731
    m = grid_plane(5, height=h)
    m = m.replace(normals=m.normals + [0.1, 0, 0])
    m = m.replace(normals=m.normals / np.linalg.norm(m.normals, axis=-1, keepdims=True))
    save_obj(m, tmp_path / "a.obj")
    r = load_mesh(tmp_path / "a.obj")
    np.testing.assert_array_equal(r.corner_positions().astype(np.float32),
                                  m.corner_positions().astype(np.float32))
    np.testing.assert_allclose(r.normals, m.normals, atol=1e-8)
    np.testing.assert_allclose(r.uvs, m.uvs, atol=1e-9)


@pytest.mark.parametrize("ext", ["ply", "stl", "off", "glb"])
def test_other_formats_load(tmp_path, ext):
    m = grid_plane(3)
    tm = trimesh.Trimesh(m.positions, m.faces, process=False)
    path = tmp_path / f"mesh.{ext}"
    tm.export(path)
    r = load_mesh(path)
    assert r.n_faces == m.n_faces
    np.testing.assert_allclose(np.sort(r.corner_positions().reshape(-1, 3), axis=0),
                               np.sort(m.corner_positions().reshape(-1, 3), axis=0), atol=1e-6)


def test_glb_uvs_and_normals_survive_with_v_flipped_back(tmp_path):
    m = grid_plane(2, uv_fn=lambda x, y: np.stack([0.25 + 0.5 * x, 0.1 + 0.3 * y], 1))
    vis = trimesh.visual.TextureVisuals(uv=m.uvs[:, 0] * 0)  # placeholder, set below
    uv_per_vertex = np.zeros((len(m.positions), 2))
    uv_per_vertex[m.faces.ravel()] = m.uvs.reshape(-1, 2)
    vis = trimesh.visual.TextureVisuals(uv=uv_per_vertex)
    tm = trimesh.Trimesh(m.positions, m.faces, visual=vis, process=False,
                         vertex_normals=np.tile([0, 0, 1.0], (len(m.positions), 1)))
    path = tmp_path / "m.glb"
    tm.export(path)
    r = load_mesh(path)
    np.testing.assert_allclose(np.sort(r.uvs.reshape(-1, 2), axis=0),
                               np.sort(m.uvs.reshape(-1, 2), axis=0), atol=1e-6)
    assert r.normals is not None and np.allclose(r.normals, [0, 0, 1])


def test_fast_ply_path_matches_trimesh(tmp_path):
    m = grid_plane(4, height=lambda x, y: x * y)
    save_ply(m, tmp_path / "m.ply")
    fast = load_mesh(tmp_path / "m.ply")
    tm = trimesh.load(tmp_path / "m.ply", process=False)
    np.testing.assert_allclose(fast.corner_positions(), tm.vertices[tm.faces], atol=1e-6)
    np.testing.assert_allclose(fast.normals, m.normals, atol=1e-6)
    np.testing.assert_allclose(fast.uvs, m.uvs, atol=1e-6)


def test_spot_loads_with_seams(assets):
    m = load_mesh(assets / "meshes" / "spot.obj")
    assert m.n_faces == 5856 and m.uvs is not None and m.normals is None
    assert len(np.unique(m.positions, axis=0)) == 2930
    # Seams: some vertex has corners with different UVs (UVs are per corner).
    uv_of = {}
    seams = 0
    for v, uv in zip(m.faces.ravel(), m.uvs.reshape(-1, 2), strict=True):
        seams += uv_of.setdefault(int(v), tuple(uv)) != tuple(uv)
    assert seams > 0


@pytest.mark.parametrize("text,match", [
    ("v 0 0 0\nv 1 0 0\nv 0 1 0\n", "empty"),
    ("v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n", "non-finite"),
    ("v 0 0 0\nv 1 inf 0\nv 0 1 0\nf 1 2 3\n", "non-finite"),
])
def test_bad_meshes_are_rejected(tmp_path, text, match):
    path = tmp_path / "bad.obj"
    path.write_text(text)
    with pytest.raises(NormalkitError, match=match):
        load_mesh(path)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(NormalkitError, match="no such file"):
        load_mesh(tmp_path / "nope.obj")
    (tmp_path / "x.xyz").write_text("1 2 3")
    with pytest.raises(NormalkitError, match="unknown mesh format"):
        load_mesh(tmp_path / "x.xyz")
    (tmp_path / "junk.ply").write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(NormalkitError):
        load_mesh(tmp_path / "junk.ply")


def test_mixed_polygons_keep_file_order(tmp_path):
    path = tmp_path / "mixed.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 2 0 0\nv 2 1 0\nv 3 0 0\n"
                    "f 1 2 3 4\nf 2 5 3\nf 5 7 6 3 2\n")
    m = load_mesh(path)
    xy = m.corner_positions()[:, :, :2]
    assert m.n_faces == 2 + 1 + 3
    np.testing.assert_allclose(xy[0], [[0, 0], [1, 0], [1, 1]])
    np.testing.assert_allclose(xy[1], [[1, 1], [0, 1], [0, 0]])
    np.testing.assert_allclose(xy[2], [[1, 0], [2, 0], [1, 1]])
    np.testing.assert_allclose(xy[3], [[2, 0], [3, 0], [2, 1]])  # pentagon fan from vertex 0


# --- The fast OBJ path (io._read_simple_obj) returns what the trimesh path returns -------
_TRI = "v 0 0 0\nv 1 0 0\nv 1 1 0.25\nv 0 1 0\nv 5 5 5\n"  # the last vertex is unused
_VT = "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5 0.5\n"
_VN = "vn 0 0 1\nvn 0 0.6 0.8\nvn 0.1 0 1\nvn 0 0 2\n"
FAST_OBJ = {
    "positions only": _TRI + "f 1 2 3\nf 1 3 4\n",
    "v/vt with a seam": _TRI + _VT + "o part\ns off\nf 1/1 2/2 3/3\nf 1/5 3/3 4/4\n",
    "v//vn": _TRI + _VN + "# comment\nf 1//1 2//2 3//3\nf 1//4 3//3 4//1\n",
    "v/vt/vn": _TRI + _VT + _VN + "g grp\nf 1/1/1 2/2/2 3/3/3\nf 1/5/4 3/3/3 4/4/1\n",
    "quads": _TRI + _VT + "f 1/1 2/2 3/3 4/4\nf 4/4 3/3 2/2 1/5\n",
}


def _trimesh_path(monkeypatch, path):
    with monkeypatch.context() as m:
        m.setattr(mesh_io, "_read_simple_obj", lambda p: None)
        return load_mesh(path)


def _same_mesh(a, b):
    np.testing.assert_array_equal(a.corner_positions(), b.corner_positions())
    for attr in ("normals", "uvs", "colors", "materials"):
        x, y = getattr(a, attr), getattr(b, attr)
        assert (x is None) == (y is None), attr
        if x is not None:
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", list(FAST_OBJ))
def test_fast_obj_path_matches_trimesh(tmp_path, monkeypatch, name):
    path = tmp_path / "m.obj"
    path.write_text(FAST_OBJ[name])
    fast = mesh_io._read_simple_obj(path)
    assert fast is not None
    _same_mesh(fast.validate(), _trimesh_path(monkeypatch, path))
    assert len(fast.positions) == 4  # only the vertices faces use, in file order
    np.testing.assert_array_equal(fast.positions[:, 2], [0, 0, 0.25, 0])


@pytest.mark.parametrize("mesh", ["spot.obj", "stanford-bunny.obj", "fandisk.obj"])
def test_fast_obj_path_matches_trimesh_on_real_meshes(assets, monkeypatch, mesh):
    path = assets / "meshes" / mesh
    fast = mesh_io._read_simple_obj(path)
    assert fast is not None
    _same_mesh(fast.validate(), _trimesh_path(monkeypatch, path))


@pytest.mark.parametrize("text", [
    _TRI + "mtllib m.mtl\nusemtl red\nf 1 2 3\n",  # materials
    _TRI + "o a\nf 1 2 3\no b\nf 1 3 4\n",  # two objects
    _TRI + "f -3 -2 -1\n",  # relative indices
    _TRI + "f 1 2 3\nf 1 2 3 4\n",  # triangles and quads
    _TRI + "f 1 2 3 4\nf 2 5 3\nf 5 4 3 2 1\n",  # 12 indices in all, as 3 quads would be
    _TRI + "vt 0 0 0\nvt 1 0 0\nvt 1 1 0\nf 1/1 2/2 3/3\n",  # 3-component UVs
    _TRI + "f 1/1 2/2 3/3\n",  # UV indices without UVs
    _TRI + "f 1 2 3\nf 1/1 3/1 4/1\n" + _VT,  # two index patterns
    _TRI.replace("\n", "\r\n") + "f 1 2 3\r\n",  # CRLF
    "v 0 0 0 1 0 0\nv 1 0 0 1 0 0\nv 0 1 0 1 0 0\nf 1 2 3\n",  # vertex colours
    "v 0 0 0\nv 1 0 \\\n 0\nv 0 1 0\nf 1 2 3\n",  # a line continuation
])
def test_fast_obj_path_leaves_other_files_to_trimesh(tmp_path, text):
    path = tmp_path / "m.obj"
    path.write_text(text)
    assert mesh_io._read_simple_obj(path) is None


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".stl"])
def test_geometry_callback_gets_the_meshes_own_arrays(tmp_path, suffix):
    m = grid_plane(6, height=lambda x, y: x * y)
    path = tmp_path / f"m{suffix}"
    if suffix == ".ply":
        save_ply(m, path)
    elif suffix == ".obj":
        save_obj(m, path)
    else:
        trimesh.Trimesh(m.positions, m.faces, process=False).export(path)
    seen = []
    loaded = load_mesh(path, geometry=lambda p, f: seen.append((p, f)))
    assert len(seen) == 1
    assert seen[0][0] is loaded.positions and seen[0][1] is loaded.faces
    np.testing.assert_allclose(loaded.corner_positions(), m.corner_positions(), atol=1e-6)


def _binary_ply(path, positions, faces, normals=None):
    """A binary PLY with float32 positions (and normals) per vertex, int32 triangles."""
    props = ["x", "y", "z"] + (["nx", "ny", "nz"] if normals is not None else [])
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(positions)}\n"
              + "".join(f"property float {p}\n" for p in props)
              + f"element face {len(faces)}\nproperty list uchar int vertex_indices\n"
              "end_header\n")
    vert = np.concatenate([positions] + ([normals] if normals is not None else []), 1)
    face = np.zeros(len(faces), [("n", "u1"), ("v", "<i4", (3,))])
    face["n"], face["v"] = 3, faces
    path.write_bytes(header.encode() + vert.astype("<f4").tobytes() + face.tobytes())


def test_vertex_normals_of_a_ply_are_load_meshs_corner_normals(tmp_path):
    """load_vertex_normals reads the same positions, faces and (normalized) normals as
    load_mesh, per vertex: load_mesh's corner normals are normals[faces], bit for bit."""
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(500, 3))
    nrm = rng.normal(size=(500, 3)) * rng.uniform(0.1, 5, (500, 1))
    nrm[7] = 0  # a zero normal stays zero
    faces = rng.integers(0, 500, (900, 3))
    path = tmp_path / "m.ply"
    _binary_ply(path, pos, faces, nrm)
    seen = []
    p, f, n = mesh_io.load_vertex_normals(path, geometry=lambda *a: seen.append(a))
    m = load_mesh(path)
    np.testing.assert_array_equal(p, m.positions)
    np.testing.assert_array_equal(f, m.faces)
    np.testing.assert_array_equal(n[f], m.normals)
    assert seen[0][0] is p and seen[0][1] is f
    length = np.linalg.norm(n, axis=1)
    np.testing.assert_allclose(length[np.arange(500) != 7], 1, atol=1e-12)
    assert length[7] == 0


def test_vertex_normals_leave_other_files_to_load_mesh(tmp_path):
    """None (load_mesh reads or reports those) for a PLY without normals, another
    format, or non-finite values, even an infinite normal no face uses; errors as
    load_mesh's."""
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], float)
    faces = np.array([[0, 1, 2]])
    nrm = np.tile([0, 0, 1.0], (4, 1))
    _binary_ply(tmp_path / "plain.ply", pos, faces)
    assert mesh_io.load_vertex_normals(tmp_path / "plain.ply") is None
    nrm[3] = [np.inf, 0, 0]  # vertex 3 is in no face: load_mesh takes the file
    _binary_ply(tmp_path / "unused_inf.ply", pos, faces, nrm)
    assert mesh_io.load_vertex_normals(tmp_path / "unused_inf.ply") is None
    assert load_mesh(tmp_path / "unused_inf.ply").n_faces == 1
    nrm[3] = np.nan  # normalized to zero by both, as a zero normal
    _binary_ply(tmp_path / "nan.ply", pos, faces, nrm)
    np.testing.assert_array_equal(mesh_io.load_vertex_normals(tmp_path / "nan.ply")[2][3], 0)
    pos[1, 0] = np.inf
    _binary_ply(tmp_path / "inf.ply", pos, faces, np.tile([0, 0, 1.0], (4, 1)))
    assert mesh_io.load_vertex_normals(tmp_path / "inf.ply") is None
    (tmp_path / "m.obj").write_text(QUAD_OBJ)
    assert mesh_io.load_vertex_normals(tmp_path / "m.obj") is None
    with pytest.raises(NormalkitError, match="no such file"):
        mesh_io.load_vertex_normals(tmp_path / "missing.ply")
