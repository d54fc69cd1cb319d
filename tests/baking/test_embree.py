"""The direct Embree path (normalkit.baking.embree) against embreex's Python API: the same
hits, bit for bit, on every kind of query the baker makes."""

import numpy as np
import pytest

from normalkit.baking import embree, rays
from normalkit.baking.rays import RayCaster, _EmbreexScene, new_scene
from normalkit.mesh.examples import bumpy_torus_pair

pytestmark = pytest.mark.skipif(not embree.available(),
                                reason="Embree's library is not where embreex's wheel keeps it")


@pytest.fixture(scope="module")
def torus():
    high, _ = bumpy_torus_pair(high_faces=20_000, low_faces=256)
    return np.ascontiguousarray(high.positions, np.float32), high.faces


def _rays(n, seed=0):
    """Rays from a box around the torus towards random points near it: hits at every
    angle, grazing rays, misses, finite and infinite tfar, non-unit directions."""
    rng = np.random.default_rng(seed)
    o = rng.uniform(-2, 2, (n, 3)).astype(np.float32)
    target = rng.uniform(-1.4, 1.4, (n, 3)).astype(np.float32)
    target[:, 2] *= 0.3
    d = (target - o) * rng.uniform(0.5, 2.0, (n, 1)).astype(np.float32)
    tfar = np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0.2, 1.5, n)).astype(np.float32)
    return o, d, tfar


def test_direct_scene_matches_embreex_bit_for_bit(torus):
    v, f = torus
    o, d, tfar = _rays(20_003)  # not a multiple of the packet width
    n = len(o)
    out = {}
    for name, scene in (("direct", embree.Scene(v, f)), ("embreex", _EmbreexScene(v, f))):
        prim = np.empty(n, np.int32)
        u, w, t = np.empty(n, np.float32), np.empty(n, np.float32), tfar.copy()
        scene.intersect(o, d, t, prim, u, w)
        blocked = np.empty(n, bool)
        scene.occluded(o, d, tfar.copy(), blocked)
        out[name] = prim, u, w, t, blocked
    a, b = out["direct"], out["embreex"]
    hit = a[0] >= 0
    assert 0.2 < hit.mean() < 0.9  # both hits and misses are tested
    np.testing.assert_array_equal(a[0], b[0])
    for k in (1, 2):  # barycentrics of hits (a miss's are not defined by embreex)
        np.testing.assert_array_equal(a[k][hit], b[k][hit])
    np.testing.assert_array_equal(a[3], b[3])  # hit distances; misses keep tfar
    np.testing.assert_array_equal(a[4], b[4])
    np.testing.assert_array_equal(a[4], hit)  # occluded ⇔ some hit within tfar


def _packets_of(width):
    """Scene.intersect, but through packets of ``width``."""
    from normalkit.baking import packets

    def run(sc, o, d, t, prim, u, w, coherent):
        packets.intersect(sc.handle, o, d, t, prim, u, w, coherent, width)
    return run


@pytest.mark.parametrize("variant", ["coherent", "fast_build", "packets of 16",
                                     "coherent packets of 16"])
def test_traversal_and_build_variants_give_the_same_hits_but_for_edge_ties(torus, variant):
    """Rays as a bake casts them (a dense grid of parallel rays, in order), and the random
    ones: the coherent packet traversal (in packets of :func:`embree.packet_width`, and
    of 16 where Embree runs them natively), and a scene from Embree's fast (Morton)
    builder, find the same closest hits as the default (packets of 8, incoherent), bit
    for bit, except where a ray meets the edge two triangles share (either is then the
    closest hit; the grid has one such ray for the coherent traversal)."""
    if "16" in variant and embree.packet_width() != 16:
        pytest.skip("this CPU does not trace packets of 16 natively (no AVX-512)")
    v, f = torus
    scene = embree.Scene(v, f)
    other = embree.Scene(v, f, fast_build=True) if variant == "fast_build" else scene
    trace = {"packets of 16": _packets_of(16),
             "coherent packets of 16": _packets_of(16)}.get(variant, embree.Scene.intersect)
    g = np.linspace(-1.5, 1.5, 301, dtype=np.float32)
    gx, gy = np.meshgrid(g, g)
    grid_o = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, 1.0, np.float32)], 1)
    grid_d = np.tile(np.float32([0.02, -0.01, -1.0]), (gx.size, 1))
    grid_t = np.full(gx.size, np.inf, np.float32)
    for o, d, tfar in ((grid_o, grid_d, grid_t), _rays(20_003, seed=1)):
        n = len(o)
        out = []
        for sc, coherent, run in ((scene, False, _packets_of(8)),
                                  (other, variant.startswith("coherent"), trace)):
            prim = np.empty(n, np.int32)
            u, w, t = np.empty(n, np.float32), np.empty(n, np.float32), tfar.copy()
            run(sc, o, d, t, prim, u, w, coherent)
            out.append((prim, u, w, t))
        (p0, u0, w0, t0), (p1, u1, w1, t1) = out
        assert 0.2 < (p0 >= 0).mean() < 0.95
        same = p0 == p1
        assert same.mean() > 0.999
        for a, b in ((u0, u1), (w0, w1), (t0, t1)):
            np.testing.assert_array_equal(a[same], b[same])
        for i in np.nonzero(~same)[0]:
            # A tie: two triangles that share an edge, hit on it (one barycentric ~0)
            # at the same distance but for the last bits of each triangle's own test.
            assert p0[i] >= 0 and p1[i] >= 0
            assert len(set(f[p0[i]]) & set(f[p1[i]])) == 2
            assert abs(t0[i] - t1[i]) <= 4 * np.spacing(t0[i])


def test_raycaster_uses_the_direct_scene_and_checks_indices(torus):
    v, f = torus
    assert isinstance(new_scene(v, f), embree.Scene)
    with pytest.raises(ValueError, match="face indices"):
        RayCaster(v, np.array([[0, 1, len(v)]]))


def test_empty_scene_misses_everything():
    scene = embree.Scene(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64))
    o, d, tfar = _rays(10)
    prim = np.empty(10, np.int32)
    scene.intersect(o, d, tfar.copy(), prim, np.empty(10, np.float32), np.empty(10, np.float32))
    assert np.all(prim == -1)


def test_grouped_caster_matches_across_backends(torus, monkeypatch):
    v, f = torus
    groups = (np.arange(len(f)) % 3 == 0).astype(int)
    o, d, tfar = _rays(5000, seed=1)
    ray_group = np.random.default_rng(2).integers(0, 2, len(o))
    direct = RayCaster(v, f, groups=groups).intersect(o, d, tfar, group=ray_group)
    monkeypatch.setattr(rays.embree, "available", lambda: False)
    fallback = RayCaster(v, f, groups=groups)
    assert isinstance(fallback._groups[0][0], _EmbreexScene)
    ref = fallback.intersect(o, d, tfar, group=ray_group)
    np.testing.assert_array_equal(direct.prim, ref.prim)
    hit = ref.prim >= 0
    assert hit.any()
    np.testing.assert_array_equal(direct.t, ref.t)
    np.testing.assert_array_equal(direct.u[hit], ref.u[hit])
    assert np.all(groups[direct.prim[hit]] == ray_group[hit])  # each ray saw its group only


def test_environment_variable_turns_the_direct_path_off(monkeypatch):
    assert embree._find_library() is not None
    monkeypatch.setenv("NORMALKIT_EMBREE", "embreex")
    assert embree._find_library() is None


def test_bakes_are_identical_on_either_path(monkeypatch):
    from normalkit.baking.bake import bake

    high, low = bumpy_torus_pair(high_faces=20_000, low_faces=256)
    kw = dict(size=96, samples=4, maps=("normal", "ao", "thickness", "height"))
    direct = bake(high, low, **kw)
    monkeypatch.setattr(rays.embree, "available", lambda: False)
    ref = bake(high, low, **kw)
    assert direct.coverage.any()
    for name in kw["maps"]:
        np.testing.assert_array_equal(direct.maps[name], ref.maps[name])


def test_coherent_rays_go_in_packets_of_16_where_the_cpu_has_avx512(monkeypatch):
    """Embree traces 16-wide packets natively with AVX-512 (F, CD, DQ, BW and VL, its
    "AVX512" target); elsewhere coherent rays keep packets of 8, as they do with
    NORMALKIT_EMBREE_PACKET=8."""
    from pathlib import Path

    info = Path("/proc/cpuinfo")
    if not info.is_file():
        pytest.skip("no /proc/cpuinfo to read the CPU's flags from")
    flags = set(next((line.split(":", 1)[1].split() for line in info.read_text().splitlines()
                      if line.startswith("flags")), []))
    avx512 = {"avx512f", "avx512cd", "avx512dq", "avx512bw", "avx512vl"} <= flags
    assert embree.packet_width() == (16 if avx512 else 8)
    monkeypatch.setenv("NORMALKIT_EMBREE_PACKET", "8")
    embree.packet_width.cache_clear()
    try:
        assert embree.packet_width() == 8
    finally:
        monkeypatch.undo()
        embree.packet_width.cache_clear()
