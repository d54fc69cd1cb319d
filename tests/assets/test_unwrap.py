"""Unwrapping: UVs in [0, 1], no overlaps, charts apart, seams at every hard edge."""

import numpy as np
import pytest
from scipy import ndimage

from conftest import ASSETS, grid_plane
from normalkit.assets.decimate import decimate
from normalkit.assets.unwrap import default_padding, hard_edges, unwrap, uv_seam
from normalkit.baking.raster import rasterize
from normalkit.core.errors import NormalkitError
from normalkit.mesh.examples import bumpy_torus_pair
from normalkit.mesh.model import Mesh


def cube() -> Mesh:
    p = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return Mesh(positions=p, faces=np.array(faces), name="cube")


def crease() -> Mesh:
    """A plane folded along x = 0.5, the fold fading out towards y = 0.3.

    The fold is sharper than 30° from the border at y = 1 down to y ≈ 0.45 only: its
    hard edges end inside the surface (a dart).
    """
    def h(x, y):
        return np.abs(x - 0.5) * np.clip((y - 0.3) / 0.7, 0, 1)
    return grid_plane(16, height=h).replace(normals=None, uvs=None)


@pytest.fixture(scope="module")
def torus_low():
    high = bumpy_torus_pair(high_faces=60_000, low_faces=64)[0]
    return decimate(high, faces=1500)[0]


def _charts(mesh: Mesh) -> np.ndarray:
    """Chart label per face: faces joined by edges whose two sides share their UVs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = mesh.n_faces
    key = {}
    rows, cols = [], []
    for i in range(f):
        for k in range(3):
            a, b = mesh.uvs[i, k], mesh.uvs[i, (k + 1) % 3]
            e = tuple(sorted((tuple(a), tuple(b))))
            if e in key:
                rows.append(key[e])
                cols.append(i)
            else:
                key[e] = i
    g = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(f, f))
    return connected_components(g, directed=False)[1]


def test_uvs_in_unit_square_same_triangles(torus_low):
    low, info = unwrap(torus_low, size=512)
    assert low.uvs.shape == (torus_low.n_faces, 3, 2)
    assert low.uvs.min() >= 0 and low.uvs.max() <= 1
    np.testing.assert_array_equal(low.faces, torus_low.faces)
    np.testing.assert_array_equal(low.positions, torus_low.positions)
    np.testing.assert_allclose(np.linalg.norm(low.normals, axis=-1), 1, atol=1e-12)
    assert info.size == 512 and info.padding == default_padding(512) == 2
    assert info.charts >= 1 and 0.3 < info.utilization <= 1


@pytest.mark.parametrize("size", [256, 1024])
def test_no_overlaps_and_charts_keep_their_padding(torus_low, size):
    low, info = unwrap(torus_low, size=size)
    ts = rasterize(low.uvs, size, size, samples=4)
    assert len(ts.overlap_texels) == 0
    # Texels of different charts (conservative coverage) stay apart by about the padding.
    chart = _charts(low)[ts.face]
    owner = np.full(size * size, -1)
    owner[ts.texel] = chart
    img = owner.reshape(size, size)
    gaps = []
    for c in np.unique(chart)[:12]:
        dist = ndimage.distance_transform_edt(img != c)
        other = (img >= 0) & (img != c)
        gaps.append(dist[other].min())
    assert min(gaps) >= info.padding - 1


def test_every_hard_edge_is_a_uv_seam_on_a_cube():
    low, info = unwrap(cube(), size=256, hard_angle=60)
    edges = hard_edges(low, 60)
    assert len(edges) == 12 and info.hard_edges == 12
    assert uv_seam(low, edges).all()
    # Split normals: each corner carries its face's normal.
    np.testing.assert_allclose(low.normals, np.repeat(low.face_normals()[:, None], 3, 1),
                               atol=1e-12)
    assert len(rasterize(low.uvs, 256, 256).overlap_texels) == 0


def test_darts_are_closed_so_their_edges_are_seams():
    notes = []
    low, info = unwrap(crease(), size=256, hard_angle=30, log=notes.append)
    edges = hard_edges(low, 30)
    assert len(edges) > 0 and info.extra_seam_edges > 0
    assert uv_seam(low, edges).all()
    assert not notes  # no "hard edges are not UV seams" warning


def test_seams_at_hard_edges_on_fandisk(assets):
    from normalkit.mesh.io import load_mesh

    low0, _ = decimate(load_mesh(ASSETS / "meshes" / "fandisk.obj"), faces=1500)
    low, info = unwrap(low0, size=512, hard_angle=60)
    edges = hard_edges(low, 60)
    assert len(edges) > 100 and info.hard_edges == len(edges)
    assert uv_seam(low, edges).all()
    assert len(rasterize(low.uvs, 512, 512).overlap_texels) == 0
    # Normals are split exactly where needed: across every hard edge they differ.
    fa, ka, fb, kb = edges.T
    assert not np.allclose(low.normals[fa, ka], low.normals[fb, (kb + 1) % 3])


def test_normals_are_smooth_away_from_cuts(torus_low):
    low, info = unwrap(torus_low, size=256, hard_angle=89)
    from normalkit.mesh.normals import smooth_normals

    ref = smooth_normals(torus_low)
    close = np.einsum("fkc,fkc->fk", low.normals, ref) > np.cos(np.radians(1e-4))
    assert info.hard_edges == 0 and close.all()  # no cut: smooth_normals' result


def test_bad_arguments_name_the_fix(torus_low):
    with pytest.raises(NormalkitError, match="size"):
        unwrap(torus_low, size=0)
    with pytest.raises(NormalkitError, match="hard_angle"):
        unwrap(torus_low, size=256, hard_angle=-1)
    with pytest.raises(NormalkitError, match="padding"):
        unwrap(torus_low, size=256, padding=-2)


def test_padding_scales_with_the_texture():
    assert [default_padding(s) for s in (64, 512, 2048, 4096, 8192)] == [2, 2, 8, 16, 16]
