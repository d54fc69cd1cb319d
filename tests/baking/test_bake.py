"""Bake engine against analytic answers: a bumpy height field over a flat low-poly."""

import numpy as np
import pytest

from conftest import angle_deg, bump, grid_plane
from normalkit.baking.bake import bake
from normalkit.core.errors import NormalkitError

SIZE = 64


def texel_xy(size):
    i = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(i, 1.0 - i, indexing="xy")  # row 0 is v = 1 (top)
    return x, y


@pytest.fixture(scope="module")
def pair():
    h, n = bump()
    high = grid_plane(200, height=h, normals=n)
    low = grid_plane(1)
    return high, low, n


@pytest.mark.parametrize("space", ["object", "tangent"])
def test_flat_low_poly_bakes_the_analytic_normal(pair, space):
    high, low, n = pair
    r = bake(high, low, size=SIZE, space=space, samples=1, extrusion=0.1, max_distance=0.1,
             padding=0)
    x, y = texel_xy(SIZE)
    expected = n(x, y)  # on a flat plane with u = x, v = y, T = +x, B = +y, N = +z
    err = angle_deg(r.normals, expected)
    assert r.coverage.all() and not r.misses.any()
    assert np.median(err) < 0.08 and err.max() < 0.25
    assert r.stats["rays"] == SIZE * SIZE and r.stats["ray_misses"] == 0


def test_mirrored_uvs_flip_the_tangent_x(pair):
    high, _, n = pair
    low = grid_plane(1, uv_fn=lambda x, y: np.stack([1 - x, y], axis=1))
    r = bake(high, low, size=SIZE, samples=1, extrusion=0.1, max_distance=0.1, padding=0)
    x, y = texel_xy(SIZE)
    expected = n(1 - x, y) * [-1, 1, 1]  # texel u ↔ world x = 1 − u; T = −x, sign −1
    assert np.median(angle_deg(r.normals, expected)) < 0.08


def test_rotated_uvs_rotate_the_tangent_frame(pair):
    high, _, n = pair
    # u = y, v = 1 − x: T (direction of +u) = +y, B = −x.
    low = grid_plane(1, uv_fn=lambda x, y: np.stack([y, 1 - x], axis=1))
    r = bake(high, low, size=SIZE, samples=1, extrusion=0.1, max_distance=0.1, padding=0)
    u, v = texel_xy(SIZE)
    world = n(1 - v, u)  # x = 1 − v, y = u
    expected = np.stack([world[..., 1], -world[..., 0], world[..., 2]], axis=-1)
    assert np.median(angle_deg(r.normals, expected)) < 0.08


def test_supersampling_averages_the_stratified_samples(pair):
    high, low, n = pair
    r = bake(high, low, size=SIZE, space="object", samples=4, extrusion=0.1,
             max_distance=0.1, padding=0)
    x, y = texel_xy(SIZE)
    d = 0.25 / SIZE
    mean = sum(n(x + dx, y + dy) for dx in (-d, d) for dy in (-d, d))
    assert np.median(angle_deg(r.normals, mean)) < 0.08
    assert r.stats["rays"] == 4 * SIZE * SIZE


def test_rays_beyond_max_distance_miss_and_stay_flat(pair):
    high, _, _ = pair
    low = grid_plane(1, z=0.5)  # far above the high-poly (which spans |z| ≤ 0.05)
    r = bake(high, low, size=16, samples=1, extrusion=0.01, max_distance=0.1, padding=0)
    assert not r.coverage.any() and r.misses.all()
    np.testing.assert_array_equal(r.normals, np.broadcast_to([0, 0, 1], r.normals.shape))
    r2 = bake(high, low, size=16, samples=1, extrusion=0.01, max_distance=0.6, padding=0)
    assert r2.coverage.all()


def test_cage_replaces_extrusion(pair):
    high, low, _ = pair
    cage = low.replace(positions=low.positions + [0, 0, 0.1])
    a = bake(high, low, size=SIZE, space="object", samples=1, extrusion=0.1,
             max_distance=0.1, padding=0)
    b = bake(high, low, size=SIZE, space="object", samples=1, cage=cage, max_distance=0.1,
             padding=0)
    assert np.median(angle_deg(a.normals, b.normals)) < 1e-3


def test_cage_with_other_topology_is_rejected(pair):
    high, low, _ = pair
    with pytest.raises(NormalkitError, match="topology"):
        bake(high, low, size=16, cage=grid_plane(2))


def test_low_poly_without_uvs_is_rejected(pair):
    high, low, _ = pair
    with pytest.raises(NormalkitError, match="unwrap"):
        bake(high, low.replace(uvs=None), size=16)


@pytest.mark.parametrize("size", [0, -5, 2.5, 15, 32769, float("nan"), True])
def test_bad_sizes_are_rejected(pair, size):
    high, low, _ = pair
    with pytest.raises(NormalkitError, match="from 16 to 32768"):
        bake(high, low, size=size)


def test_rectangular_maps(pair):
    high, low, n = pair
    r = bake(high, low, width=48, height=24, space="object", samples=1, extrusion=0.1,
             max_distance=0.1, padding=0)
    assert r.normals.shape == (24, 48, 3)
    u = (np.arange(48) + 0.5) / 48
    v = 1 - (np.arange(24) + 0.5) / 24
    x, y = np.meshgrid(u, v, indexing="xy")
    assert np.median(angle_deg(r.normals, n(x, y))) < 0.08


def test_tiles_and_threads_do_not_change_the_result(pair, monkeypatch):
    import normalkit.baking.bake as nb

    high, low, _ = pair
    a = bake(high, low, size=SIZE, samples=4, extrusion=0.1, max_distance=0.1, padding=0,
             threads=1)
    monkeypatch.setattr(nb, "TILE_SAMPLES", 1000)  # many small tiles
    b = bake(high, low, size=SIZE, samples=4, extrusion=0.1, max_distance=0.1, padding=0,
             threads=2)
    np.testing.assert_allclose(a.normals, b.normals, atol=1e-6)


def test_overlapping_and_wrapped_uvs_are_reported(pair):
    high, low, _ = pair
    doubled = low.replace(faces=np.concatenate([low.faces, low.faces]),
                          normals=np.concatenate([low.normals, low.normals]),
                          uvs=np.concatenate([low.uvs, low.uvs]))
    msgs = []
    r = bake(high, doubled, size=16, samples=1, extrusion=0.1, max_distance=0.1, padding=0,
             log=msgs.append)
    # Every texel is covered twice; the 16 whose centre lies exactly on the quad's
    # diagonal are on an edge, not strictly inside, so they don't count as overlap.
    assert r.stats["overlap_texels"] == 240
    assert any("240 texels" in m and "overlapping" in m for m in msgs)
    msgs.clear()
    shifted = low.replace(uvs=low.uvs + [1.0, 0.0])
    r2 = bake(high, shifted, size=16, samples=1, extrusion=0.1, max_distance=0.1, padding=0,
              log=msgs.append)
    assert any("wrap" in m for m in msgs) and r2.coverage.all()


@pytest.mark.parametrize("space, flat", [("tangent", (0, 0, 1)), ("object", (0, 0, 0))])
def test_texels_outside_the_uv_islands_hold_the_flat_value(pair, space, flat):
    high, low, n = pair
    small = low.replace(uvs=low.uvs * 0.5 + 0.25)  # island in the middle half
    r = bake(high, small, size=32, space=space, samples=1, extrusion=0.1, max_distance=0.1,
             padding=0)
    inside = np.zeros((32, 32), bool)
    inside[8:24, 8:24] = True
    np.testing.assert_array_equal(r.coverage, inside)
    np.testing.assert_array_equal(r.normals[~inside], np.broadcast_to(flat, (32 * 32 - 256, 3)))
    np.testing.assert_allclose(np.linalg.norm(r.normals[inside], axis=1), 1.0, atol=1e-5)


def test_each_kernel_is_compiled_for_one_set_of_argument_types(pair, monkeypatch):
    """Every kind of bake calls the compiled kernels with the same argument types, so no
    bake pays for a second compilation (or cache load) of a kernel."""
    import normalkit.baking.bake as nb
    from normalkit.baking import kernels as bake_kernels
    from normalkit.baking import raster

    high, low, _ = pair
    bands = low.uvs.copy()
    bands[0] = bands[0] * [0.5, 0.2] + [0.0, 0.8]  # two islands, rows between them empty
    bands[1] = bands[1] * [0.5, 0.2]
    monkeypatch.setattr(nb, "TILE_SAMPLES", 64)  # one-row tiles: some hold no samples
    kw = dict(extrusion=0.1, max_distance=0.1)
    bake(high, low, size=16, samples=1, **kw)
    bake(high, low.replace(uvs=bands), size=16, space="object", samples=4, **kw)
    bake(high, low, size=16, samples=16, cage=low.replace(positions=low.positions + [0, 0, 0.1]),
         padding=0, max_distance=0.1)
    for kernel in (raster._raster_kernel, bake_kernels.setup_rays, bake_kernels.shade_tile):
        assert len(kernel.signatures) == 1, kernel.signatures


def test_high_poly_side_errors_and_notices_come_in_order(pair, tmp_path):
    """The high-poly loads on a thread: a bad low-poly is still reported first, a bad
    high-poly after a good low-poly, and the thread's notices reach ``log``."""
    high, low, _ = pair
    missing = tmp_path / "missing.ply"
    with pytest.raises(NormalkitError, match="no UVs"):
        bake(missing, low.replace(uvs=None), size=32)
    with pytest.raises(NormalkitError, match="missing.ply"):
        bake(missing, low, size=32)
    notes = []
    result = bake(high.replace(normals=None), low, size=32, samples=1, log=notes.append)
    assert result.coverage.any()
    assert any("normals" in n for n in notes), notes


def test_bake_picks_embrees_fast_build_for_few_rays_per_triangle(pair, monkeypatch):
    """Few rays per high-poly triangle: the fast (Morton) build, whose hits are the same;
    many: Embree's default build."""
    import normalkit.baking.prepared as npre

    high, low, _ = pair
    builds = []
    real = npre.RayCaster

    def spy(*a, fast_build=False, **k):
        builds.append(fast_build)
        return real(*a, fast_build=fast_build, **k)

    monkeypatch.setattr(npre, "RayCaster", spy)
    monkeypatch.setattr(npre.PreparedHigh, "FAST_BUILD_RAYS", 2)  # a small bake crosses it
    rays_per_triangle = {}
    for size, samples in ((16, 1), (256, 4)):
        result = bake(high, low, size=size, samples=samples)
        rays_per_triangle[builds[-1]] = result.stats["rays"] / high.n_faces
    assert rays_per_triangle[True] < npre.PreparedHigh.FAST_BUILD_RAYS
    assert rays_per_triangle[False] > npre.PreparedHigh.FAST_BUILD_RAYS
    np.testing.assert_array_equal(bake(high, low, size=32, samples=1).normals,
                                  bake(npre.PreparedHigh(high), low, size=32,
                                       samples=1).normals)


def test_prepared_high_serves_several_bakes_with_one_scene(pair, monkeypatch):
    import normalkit.baking.prepared as npre

    high, low, _ = pair
    built = []
    real = npre.RayCaster
    monkeypatch.setattr(npre, "RayCaster", lambda *a, **k: built.append(1) or real(*a, **k))
    prepared = npre.PreparedHigh(high)
    first = bake(prepared, low, size=32, samples=1)
    second = bake(prepared, low, size=48, samples=4, space="object")
    assert len(built) == 1
    np.testing.assert_array_equal(first.normals, bake(high, low, size=32, samples=1).normals)
    np.testing.assert_array_equal(second.normals,
                                  bake(high, low, size=48, samples=4, space="object").normals)
    with pytest.raises(NormalkitError, match="bake groups"):
        bake(prepared, [low], size=32)


def test_a_normal_bake_from_a_ply_reads_no_corner_data(pair, tmp_path, monkeypatch):
    """A normal-map bake of a PLY with vertex normals reads it without a Mesh (no
    (F, 3, 3) corner normals) and bakes the same map as from the loaded Mesh; colour or
    other maps need the Mesh and load it."""
    import normalkit.baking.prepared as npre
    import normalkit.mesh.io as mio
    from normalkit.mesh.io import save_ply

    high, low, _ = pair
    path = tmp_path / "high.ply"
    save_ply(high, path)
    loaded = []
    real = mio.load_mesh
    monkeypatch.setattr(mio, "load_mesh", lambda *a, **k: loaded.append(1) or real(*a, **k))
    for space in ("tangent", "object"):
        fast = bake(path, low, size=64, samples=4, space=space)
        assert not loaded
        ref = bake(real(path), low, size=64, samples=4, space=space)
        np.testing.assert_array_equal(fast.normals, ref.normals)
        np.testing.assert_array_equal(fast.coverage, ref.coverage)
    mesh, _, shading = npre.PreparedHigh(path, mesh=False).result()
    assert mesh is None and shading.table.shape == (len(real(path).positions), 3)
    bake(path, low, size=16, samples=1, maps="normal,height")
    assert loaded


def test_packet_width_and_texel_order_leave_the_map_unchanged(pair, monkeypatch):
    """The bake's rays go in packets of 16 from square blocks of texels where Embree runs
    16-wide packets natively; packets of 8 and row-major texels give the same map (the
    samples of a texel are shaded in the same order either way)."""
    import normalkit.baking.bake as nb
    from normalkit.baking import embree

    high, low, _ = pair
    ref = {s: bake(high, low, size=48, samples=s).normals for s in (1, 4)}
    monkeypatch.setattr(embree, "packet_width", lambda: 8)
    monkeypatch.setattr(nb, "texel_block", lambda samples: 1)
    for s, normals in ref.items():
        np.testing.assert_array_equal(bake(high, low, size=48, samples=s).normals, normals)
