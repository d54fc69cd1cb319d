"""The rest of the bake set (AO, height, curvature, thickness, bent normals, position,
ID) against analytic answers."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import bump, grid_plane
from normalkit.baking.bake import bake
from normalkit.baking.maps import MapSettings, hemisphere, mean_curvature
from normalkit.core.errors import NormalkitError
from normalkit.mesh.examples import geodesic_sphere
from normalkit.mesh.model import Mesh
from normalkit.mesh.normals import smooth_normals


def patch(centre, half: float, z: float, n: int = 4) -> Mesh:
    """A small square low-poly facing +z at height ``z``, UVs over the whole texture."""
    p = grid_plane(n, z=z)
    pos = p.positions.copy()
    pos[:, :2] = (pos[:, :2] - 0.5) * 2 * half + np.asarray(centre)[None, :]
    return p.replace(positions=pos, name="patch")


def sphere(radius: float, frequency: int = 48, centre=(0.0, 0.0, 0.0)) -> Mesh:
    pos, faces = geodesic_sphere(frequency)
    m = Mesh(positions=pos * radius + np.asarray(centre), faces=faces, name="sphere")
    return m.replace(normals=(pos / np.linalg.norm(pos, axis=1, keepdims=True))[faces])


def box(extents, centre=(0.0, 0.0, 0.0)) -> Mesh:
    import trimesh

    b = trimesh.creation.box(extents=extents)
    m = Mesh(positions=np.asarray(b.vertices) + np.asarray(centre),
             faces=np.asarray(b.faces), name="box")
    return m.replace(normals=smooth_normals(m, flat=True))


def test_hemisphere_directions_are_cosine_weighted():
    d = hemisphere(4096)
    assert np.allclose(np.linalg.norm(d, axis=1), 1) and (d[:, 2] > 0).all()
    # E[cos θ] = 2/3 and E[cos² θ] = 1/2 under a cosine-weighted density.
    assert d[:, 2].mean() == pytest.approx(2 / 3, abs=1e-3)
    assert (d[:, 2] ** 2).mean() == pytest.approx(0.5, abs=1e-3)
    assert np.abs(d[:, :2].mean(axis=0)).max() < 1e-3


def test_an_open_plane_is_unoccluded_and_bends_nothing():
    plane = grid_plane(8)
    r = bake(plane, plane, size=32, samples=1, maps="normal,ao,bent",
             map_settings=MapSettings(ao_rays=32), extrusion=0.01, max_distance=0.01)
    cov = r.coverage
    assert cov.all()
    np.testing.assert_array_equal(r.maps["ao"][cov], 1.0)
    np.testing.assert_allclose(r.maps["bent"][cov], [[0, 0, 1]] * int(cov.sum()), atol=1e-6)


def test_ao_and_bent_normal_at_the_bottom_of_a_hemispherical_bowl():
    """From the bottom of a hemispherical bowl of radius R the opening subtends a cone of
    half-angle 45°: the cosine-weighted share of directions through it is sin²45° = 1/2.
    The unoccluded directions average straight up."""
    pos, faces = geodesic_sphere(96)
    keep = pos[faces].mean(axis=1)[:, 2] < 0  # the lower half
    bowl = Mesh(positions=pos, faces=faces[keep][:, ::-1], name="bowl")  # facing inward
    bowl = bowl.replace(normals=-(pos / np.linalg.norm(pos, axis=1, keepdims=True))[
        faces[keep][:, ::-1]])
    low = patch((0.0, 0.0), 0.01, -0.99)
    r = bake(bowl, low, size=16, samples=1, maps="ao,bent", space="object",
             map_settings=MapSettings(ao_rays=1024, ao_distance=10.0), extrusion=0.001,
             max_distance=0.05)
    ao = r.maps["ao"][r.coverage]
    assert ao.mean() == pytest.approx(0.5, abs=0.02)
    bent = r.maps["bent"][r.coverage]
    assert np.degrees(np.arccos(np.clip(bent[:, 2], -1, 1))).max() < 2.0
    # With a distance limit d, a ray at θ from the axis meets the wall after the chord
    # 2R cos θ: it is blocked when cos θ < d / 2R, a cosine-weighted share (d / 2R)².
    for d in (0.5, 1.0):
        near = bake(bowl, low, size=16, samples=1, maps="ao", map_settings=MapSettings(
            ao_rays=1024, ao_distance=d), extrusion=0.001, max_distance=0.05)
        assert near.maps["ao"][near.coverage].mean() == pytest.approx(1 - (d / 2) ** 2,
                                                                       abs=0.01)


def test_secondary_rays_do_not_depend_on_tiles_threads_or_ray_order(monkeypatch):
    """Each sample's set of AO rays turns by an angle hashed from its texel and its index
    there, so AO, bent normals and thickness are the same bit for bit whatever the row
    tiles, the worker threads, or the order the samples are traced in (texel blocks)."""
    import normalkit.baking.bake as nb
    from normalkit.baking.maps import sample_spins

    pos, faces = geodesic_sphere(48)
    keep = pos[faces].mean(axis=1)[:, 2] < 0
    bowl = Mesh(positions=pos, faces=faces[keep][:, ::-1], name="bowl")
    bowl = bowl.replace(normals=-(pos / np.linalg.norm(pos, axis=1, keepdims=True))[
        faces[keep][:, ::-1]])
    low = patch((0.1, 0.0), 0.4, -0.8)

    def run(threads):
        r = bake(bowl, low, size=24, samples=4, maps="ao,bent,thickness", space="object",
                 map_settings=MapSettings(ao_rays=8, ao_distance=10.0), extrusion=0.3,
                 max_distance=0.3, threads=threads)
        return {m: r.maps[m] for m in ("ao", "bent", "thickness")}

    ref = run(2)
    assert ref["ao"][..., 0].std() > 0.02  # 8 rays a sample: AO varies with the spins
    monkeypatch.setattr(nb, "TILE_SAMPLES", 4 * 24 * 3)  # 3-row tiles instead of one
    monkeypatch.setattr(nb, "texel_block", lambda samples: 1)  # row-major samples
    for name, values in run(1).items():
        np.testing.assert_array_equal(values, ref[name], err_msg=name)
    spins = sample_spins(np.arange(100_000))
    assert 0 <= spins.min() and spins.max() < 2 * np.pi
    assert np.histogram(spins, 8, (0, 2 * np.pi))[0].min() > 12_000  # about uniform


def test_the_height_of_a_displaced_plane_is_its_displacement():
    h, n = bump(amp=0.03, fx=2, fy=1)
    high = grid_plane(256, height=h, normals=n)
    low = grid_plane(4)
    r = bake(high, low, size=64, samples=1, maps="height", extrusion=0.05,
             max_distance=0.05)
    size = 64
    c = (np.arange(size) + 0.5) / size
    x, y = np.meshgrid(c, 1 - c)  # row 0 is v = 1
    want = h(x, y)
    got = r.raw["height"][..., 0]
    assert np.abs(got - want).max() < 2e-4  # the high-poly's own piecewise-linear error
    assert r.ranges["height"] == pytest.approx(np.abs(got).max())
    # Normalized: 0.5 is the low-poly surface, 0 and 1 the range.
    np.testing.assert_allclose(r.maps["height"][..., 0],
                               0.5 + got / (2 * r.ranges["height"]), atol=1e-6)
    fixed = bake(high, low, size=64, samples=1, maps="height", extrusion=0.05,
                 max_distance=0.05, map_settings=MapSettings(height_range=0.06))
    assert fixed.ranges["height"] == 0.06
    np.testing.assert_allclose(fixed.maps["height"][..., 0], 0.5 + got / 0.12, atol=1e-6)


def test_maps_fill_uv_islands_that_do_not_span_the_texture():
    """The tiles cover only the columns the UVs reach: the maps must land there too."""
    h, n = bump(amp=0.03, fx=2, fy=1)
    high = grid_plane(128, height=h, normals=n)
    low = grid_plane(4, uv_fn=lambda x, y: np.stack([0.3 + 0.4 * x, 0.2 + 0.5 * y], 1))
    r = bake(high, low, size=64, samples=1, maps="height,ao,id", extrusion=0.05,
             max_distance=0.05, padding=0)
    cov = r.coverage
    assert 0.15 < cov.mean() < 0.3
    assert np.abs(r.raw["height"][cov]).max() > 0.02  # the bumps, not the flat value
    assert (r.maps["id"][cov] > 0).any(axis=-1).all()


def test_the_thickness_of_a_slab_is_its_width():
    slab = box((4.0, 4.0, 0.1))
    low = patch((0.0, 0.0), 0.5, 0.05)
    r = bake(slab, low, size=16, samples=1, maps="thickness", space="object",
             map_settings=MapSettings(ao_rays=256), extrusion=0.01, max_distance=0.01)
    t = r.raw["thickness"][r.coverage][:, 0]
    assert t.mean() == pytest.approx(0.1, rel=0.005)
    assert np.abs(t - 0.1).max() < 0.002
    assert r.maps["thickness"][r.coverage].max() == pytest.approx(1.0)


@pytest.mark.parametrize("radius", [0.5, 1.0, 2.0])
def test_the_curvature_of_a_sphere_is_one_over_its_radius(radius):
    high = sphere(radius)
    low = patch((0.0, 0.0), 0.05 * radius, radius * 1.001)
    r = bake(high, low, size=16, samples=1, maps="curvature", extrusion=0.01 * radius,
             max_distance=0.02 * radius)
    k = r.raw["curvature"][r.coverage][:, 0]
    assert k.mean() == pytest.approx(1.0 / radius, rel=0.01)
    # 0.5 is flat, convex is brighter: 0.5 + k / (2 R).
    assert (r.maps["curvature"][r.coverage] > 0.5).all()


def test_mean_curvature_is_negative_inside_a_bowl_and_zero_on_a_plane():
    assert np.abs(mean_curvature(grid_plane(8))).max() < 1e-9
    s = sphere(1.0, frequency=32)
    inside = s.replace(faces=s.faces[:, ::-1], normals=-s.normals[:, ::-1])
    assert mean_curvature(inside).mean() == pytest.approx(-1.0, rel=0.01)


def test_position_is_the_hit_normalized_to_the_high_polys_box():
    h, n = bump(amp=0.03)
    high = grid_plane(64, height=h, normals=n)
    low = grid_plane(4)
    r = bake(high, low, size=32, samples=1, maps="position,height", extrusion=0.05,
             max_distance=0.05, padding=0)
    c = (np.arange(32) + 0.5) / 32
    x, y = np.meshgrid(c, 1 - c)
    pos = r.maps["position"]
    np.testing.assert_allclose(pos[..., 0], x, atol=5e-5)  # float32 rays
    np.testing.assert_allclose(pos[..., 1], y, atol=5e-5)
    zmin, zmax = high.positions[:, 2].min(), high.positions[:, 2].max()
    np.testing.assert_allclose(pos[..., 2] * (zmax - zmin) + zmin, r.raw["height"][..., 0],
                               atol=5e-5)


def test_id_gives_each_part_its_own_flat_colour():
    a = grid_plane(8)
    b = grid_plane(8)
    b = b.replace(positions=b.positions + [1.2, 0.0, 0.0])  # a second part beside it
    high = Mesh(positions=np.concatenate([a.positions, b.positions]),
                faces=np.concatenate([a.faces, b.faces + len(a.positions)]),
                normals=np.concatenate([a.normals, b.normals]), name="two")
    low = patch((1.1, 0.5), 1.1, 0.0, n=8)  # spans both parts
    r = bake(high, low, size=32, samples=4, maps="id", extrusion=0.01, max_distance=0.01,
             padding=0)
    ids = r.maps["id"].reshape(-1, 3)[r.coverage.ravel()]
    colours = np.unique(np.round(ids, 6), axis=0)
    assert len(colours) == 2  # flat: no blends at the border
    left = r.maps["id"][:, :13][r.coverage[:, :13]]  # x < 0.9: the first part
    right = r.maps["id"][:, 19:][r.coverage[:, 19:]]  # x > 1.3: the second
    assert len(np.unique(np.round(left, 6), axis=0)) == 1
    assert len(np.unique(np.round(right, 6), axis=0)) == 1
    assert not np.allclose(left[0], right[0])


def test_bent_normals_are_in_the_normal_maps_space():
    """With UVs turned a quarter (u = y, v = 1 − x) the tangent frame is T = +y, B = −x:
    tangent-space bent normals are the object-space ones in that frame. Under a wide open
    sky they lean about like the normals."""
    h, n = bump(amp=0.03)
    high = grid_plane(128, height=h, normals=n)
    low = grid_plane(4, uv_fn=lambda x, y: np.stack([y, 1 - x], axis=1))
    kw = dict(size=32, samples=1, maps="normal,bent", extrusion=0.05, max_distance=0.05,
              map_settings=MapSettings(ao_rays=64))
    t = bake(high, low, space="tangent", **kw).maps["bent"]
    o = bake(high, low, space="object", **kw)
    ob = o.maps["bent"]
    np.testing.assert_allclose(t, np.stack([ob[..., 1], -ob[..., 0], ob[..., 2]], -1),
                               atol=1e-5)
    dot = np.einsum("ijk,ijk->ij", o.maps["normal"], ob)
    assert np.degrees(np.arccos(np.clip(dot, -1, 1))).max() < 10.0


@pytest.mark.parametrize("kwargs,match", [
    ({"maps": "normal,glow"}, "unknown or no maps"),
    ({"maps": ""}, "unknown or no maps"),
    ({"map_settings": MapSettings(ao_rays=0)}, "--ao-rays must be"),
    ({"map_settings": MapSettings(ao_distance=-1.0)}, "--ao-distance must be"),
    ({"map_settings": MapSettings(height_range=float("nan"))}, "--height-range must be"),
    ({"map_settings": MapSettings(id_source="object")}, "--id-source must be"),
])
def test_bad_map_options(kwargs, match):
    plane = grid_plane(2)
    with pytest.raises(NormalkitError, match=match):
        bake(plane, plane, size=16, **kwargs)


def test_id_from_colour_needs_colours():
    plane = grid_plane(2)
    with pytest.raises(NormalkitError, match="needs vertex colours"):
        bake(plane, plane, size=16, maps="id", map_settings=MapSettings(id_source="color"))


def two_parts(n: int):
    """(high_a, high_b, low_a, low_b): two bumped planes 0.01 apart (each within the
    other's ray range) and their low-polys, whose UVs take the texture's left and right
    halves."""
    ha, na = bump(amp=0.02, fx=2, fy=1)
    hb, nb = bump(amp=0.02, fx=1, fy=3)
    high_a = grid_plane(n, height=ha, normals=na)
    high_b = grid_plane(n, height=lambda x, y: hb(x, y) + 0.01, normals=nb)
    low_a = grid_plane(4, uv_fn=lambda x, y: np.stack([0.5 * x, y], 1))
    low_b = grid_plane(4, z=0.01, uv_fn=lambda x, y: np.stack([0.5 + 0.5 * x, y], 1))
    return high_a, high_b, low_a, low_b


def test_bake_groups_bake_interpenetrating_parts_as_if_each_were_alone():
    """Two parts whose high-polys interpenetrate (each 0.01 from the other's surface):
    without groups each low-poly's rays hit the other part's high-poly first; with
    groups (lists, paired by order) each bakes exactly as alone, AO's rays included."""
    high_a, high_b, low_a, low_b = two_parts(64)
    kw = dict(size=64, samples=1, extrusion=0.05, max_distance=0.05, padding=0,
              maps="normal,ao", map_settings=MapSettings(ao_rays=16, ao_distance=0.05))
    grouped = bake([high_a, high_b], [low_a, low_b], **kw)
    alone_a = bake(high_a, low_a, **kw)
    alone_b = bake(high_b, low_b, **kw)
    left, right = np.s_[:, :31], np.s_[:, 33:]
    for alone, side in ((alone_a, left), (alone_b, right)):
        cov = alone.coverage[side]
        assert cov.mean() > 0.9
        np.testing.assert_array_equal(grouped.normals[side][cov], alone.normals[side][cov])
        ao_diff = np.abs(grouped.maps["ao"][side][cov] - alone.maps["ao"][side][cov])
        assert ao_diff.mean() < 0.02  # equal up to the AO rays' per-tile rotation

    def merge(meshes):
        off = np.cumsum([0, len(meshes[0].positions)])
        return Mesh(positions=np.concatenate([m.positions for m in meshes]),
                    faces=np.concatenate([m.faces + o for m, o in zip(meshes, off,
                                                                       strict=True)]),
                    normals=np.concatenate([m.normals for m in meshes]),
                    uvs=np.concatenate([m.uvs for m in meshes]) if meshes[0].uvs is not None
                    else None, name="merged")

    mixed = bake(merge([high_a, high_b]), merge([low_a, low_b]), **kw)
    cov = alone_a.coverage[left]
    dot = np.einsum("ij,ij->i", mixed.normals[left][cov], alone_a.normals[left][cov])
    assert np.degrees(np.arccos(np.clip(dot, -1, 1))).max() > 5  # the other part shows


def test_bake_groups_need_one_high_part_per_low_part():
    plane = grid_plane(2)
    with pytest.raises(NormalkitError, match="got 2 high and 1 low parts"):
        bake([plane, plane], [plane], size=16)


def _scene_glb(path, parts: dict) -> None:
    """A GLB with one named node per (name: Mesh) (positions, faces, UVs if any)."""
    import trimesh

    geoms = {}
    for name, m in parts.items():
        visual = None
        if m.uvs is not None:  # one UV per vertex: these meshes have no seams
            uv = np.zeros((len(m.positions), 2))
            uv[m.faces.ravel()] = m.uvs.reshape(-1, 2)
            visual = trimesh.visual.TextureVisuals(uv=uv)
        geoms[name] = trimesh.Trimesh(m.positions, m.faces, process=False, visual=visual)
    trimesh.Scene(geoms).export(str(path))


def test_cli_bake_groups_pair_objects_by_name(tmp_path, capsys):
    """Objects named X_high / X_low in two files, listed in different orders, pair by
    name; the result equals the Python API's groups."""
    from conftest import run_cli
    from normalkit.images.io import read_image
    from normalkit.maps.encode import encode_normals

    high_a, high_b, low_a, low_b = two_parts(32)
    _scene_glb(tmp_path / "high.glb", {"rock_high": high_a, "moss_high": high_b})
    _scene_glb(tmp_path / "low.glb", {"moss_low": low_b, "rock_low": low_a})
    args = ["bake", tmp_path / "high.glb", tmp_path / "low.glb", "--size", "32",
            "--samples", "1", "--extrusion", "0.05", "--max-distance", "0.05", "--padding",
            "0", "--bits", "16", "-q"]
    code, _, err = run_cli([*args, "-o", tmp_path / "g.png", "--groups", "name"], capsys)
    assert code == 0, err
    assert "rock_high → rock_low" in err and "moss_high → moss_low" in err
    from normalkit.mesh.io import load_parts

    parts = {m.name: m for m in load_parts(tmp_path / "high.glb") +
             load_parts(tmp_path / "low.glb")}
    want = bake([parts["rock_high"], parts["moss_high"]], [parts["rock_low"],
                parts["moss_low"]], size=32, samples=1, extrusion=0.05, max_distance=0.05,
                padding=0)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"),
                                  encode_normals(want.normals, 16))
    code, _, err = run_cli([*args, "-o", tmp_path / "o.png", "--groups", "order"], capsys)
    assert code == 0  # by order the pairs cross: rock_high → moss_low
    assert not np.array_equal(read_image(tmp_path / "o.png"), read_image(tmp_path / "g.png"))
    _scene_glb(tmp_path / "low2.glb", {"stone_low": low_a})
    code, _, err = run_cli(["bake", tmp_path / "high.glb", tmp_path / "low2.glb", "-o",
                            tmp_path / "x.png", "--groups", "name", "--size", "16"], capsys)
    assert code == 2 and "no high-poly part for the low-poly part(s) stone_low" in err


def test_obj_objects_are_parts_in_file_order(tmp_path):
    from normalkit.mesh.io import load_parts

    (tmp_path / "two.obj").write_text(
        "o rock_low\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 0.5 0\nvt 0 1\nvn 0 0 1\n"
        "f 1/1/1 2/2/1 3/3/1\no moss_low\nv 2 0 0\nv 3 0 0\nv 2 1 0\nvt 0.5 0\nvt 1 0\n"
        "vt 0.5 1\nf 4/4/1 5/5/1 6/6/1\n")
    parts = load_parts(tmp_path / "two.obj")
    assert [m.name for m in parts] == ["rock_low", "moss_low"]
    assert [m.n_faces for m in parts] == [1, 1]
    np.testing.assert_array_equal(parts[1].corner_positions()[0],
                                  [[2, 0, 0], [3, 0, 0], [2, 1, 0]])


def test_each_map_reports_its_own_coverage():
    """Thickness needs an inside behind the hit: on an open plane every texel is sampled
    and hit, but none gets a thickness, and the stats and summary say so per map."""
    plane = grid_plane(8)
    r = bake(plane, plane, size=16, samples=1, maps="normal,ao,thickness",
             map_settings=MapSettings(ao_rays=8), extrusion=0.01, max_distance=0.01)
    maps = r.stats["maps"]
    assert maps["ao"] == {"texels": int(r.coverage.sum()), "miss_texels": 0}
    assert maps["thickness"] == {"texels": 0, "miss_texels": int(r.coverage.sum())}
    assert f"thickness {int(r.coverage.sum()):,} unfilled" in r.summary()


def test_id_by_material_splits_a_connected_part(tmp_path):
    """Two planes sharing an edge are one connected part but two glTF primitives (two
    materials): --id-source material gives two colours, part gives one."""
    import trimesh

    from normalkit.mesh.io import load_mesh

    a = grid_plane(4)
    b = a.replace(positions=a.positions + [1.0, 0.0, 0.0])  # shares the edge x = 1
    scene = trimesh.Scene({name: trimesh.Trimesh(m.positions, m.faces, process=False)
                           for name, m in (("left", a), ("right", b))})
    scene.export(str(tmp_path / "two.glb"))
    high = load_mesh(tmp_path / "two.glb")
    assert high.materials is not None and len(np.unique(high.materials)) == 2
    low = patch((1.0, 0.5), 1.0, 0.0, n=8)
    kw = dict(size=32, samples=1, maps="id", extrusion=0.01, max_distance=0.01, padding=0)
    by_part = bake(high, low, **kw).maps["id"]
    by_mat = bake(high, low, map_settings=MapSettings(id_source="material"), **kw)
    cov = by_mat.coverage
    assert len(np.unique(np.round(by_part[cov], 6), axis=0)) == 1
    assert len(np.unique(np.round(by_mat.maps["id"][cov], 6), axis=0)) == 2
