"""depth_to_normals: analytic spheres and planes, depth jumps, DiLiGenT ground truth, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ASSETS, angle_deg
from normalkit.core.errors import NormalkitError
from normalkit.maps.depth import backproject, depth_to_normals
from scenes import interior, intrinsics, rays, sphere_scene, tear_scene


def test_perspective_sphere_normals():
    depth, mask, K, n, facing, _ = sphere_scene()
    out, valid = depth_to_normals(depth, mask, K)
    assert out.dtype == np.float32 and out.shape == depth.shape + (3,)
    sel = interior(mask) & (facing > 0.3)
    assert valid[sel].all()
    err = angle_deg(out[sel], n[sel])
    assert np.median(err) < 0.05 and err.max() < 0.5
    np.testing.assert_allclose(np.linalg.norm(out[valid], axis=-1), 1.0, atol=1e-5)
    assert (out[~valid] == 0).all()


def test_orthographic_sphere_normals():
    depth, mask, _, n, facing, ps = sphere_scene(orthographic=True)
    out, valid = depth_to_normals(depth, mask, orthographic=True, pixel_size=ps)
    # steeper than ~67° a pixel step exceeds 2 % of the depth: one-sided differences there
    sel = interior(mask) & (facing > 0.5)
    assert valid[sel].all()
    err = angle_deg(out[sel], n[sel])
    assert np.median(err) < 0.05 and err.max() < 0.5


def test_default_mask_is_finite_positive_depth():
    depth, mask, K, *_ = sphere_scene()
    d = depth.copy()
    d[~mask] = 0.0
    d[0, 0] = np.inf
    out, valid = depth_to_normals(d, None, K)
    assert not valid[~mask].any()
    _, valid_nan = depth_to_normals(depth, None, K)  # NaN outside the sphere
    np.testing.assert_array_equal(valid, valid_nan)


@settings(max_examples=25, deadline=None)
@given(nx=st.floats(-0.6, 0.6), ny=st.floats(-0.6, 0.6), dist=st.floats(0.5, 50.0),
       ortho=st.booleans())
def test_planes_are_exact(nx, ny, dist, ortho):
    # Back-projected points of a plane lie on it exactly, so every difference does too.
    H, W = 12, 16
    normal = np.array([nx, ny, 1.0])
    normal /= np.linalg.norm(normal)
    if ortho:
        jj, ii = np.mgrid[0:H, 0:W] + 0.5
        x, y = ii * 0.1, -jj * 0.1
        # plane n·p = −dist through p = (x, y, −d): d = (n_x x + n_y y + dist) / n_z
        depth = (normal[0] * x + normal[1] * y + dist + 2.0) / normal[2]  # > 0
        out, valid = depth_to_normals(depth, None, orthographic=True, pixel_size=0.1,
                                      discontinuity=None)
    else:
        K = intrinsics(H, W, 20.0)
        r = rays(H, W, K)
        depth = -dist / (r @ normal)  # n·(t r) = −dist
        out, valid = depth_to_normals(depth, None, K, discontinuity=None)
    assert valid.all()
    np.testing.assert_allclose(out, np.broadcast_to(normal, out.shape), atol=2e-6)


def test_no_normals_across_a_depth_jump():
    depth, n, right = tear_scene()
    out, valid = depth_to_normals(depth, None, orthographic=True)  # 2 % of 100 = 2
    jump = np.abs(depth[:, 20] - depth[:, 19])
    rows = jump > 2
    assert rows.sum() > 20 and valid.all()
    for col in (19, 20):  # the two columns beside the jump use their own side only
        assert angle_deg(out[rows, col], n[rows, col]).max() < 0.01
    # without the threshold, central differences mix the two sides
    mixed, _ = depth_to_normals(depth, None, orthographic=True, discontinuity=None)
    assert angle_deg(mixed[rows, 19], n[rows, 19]).min() > 5


def test_pixels_without_a_neighbour_pair_are_invalid():
    d = np.full((7, 9), 5.0)
    mask = np.zeros((7, 9), bool)
    mask[1, 1] = True  # isolated
    mask[4, 2:8] = True  # a one-pixel-high line: no vertical neighbour
    mask[0:3, 5:8] = True  # a 3x3 block
    out, valid = depth_to_normals(d, mask, orthographic=True)
    assert not valid[1, 1] and not valid[4].any()
    assert valid[0:3, 5:8].all()
    np.testing.assert_allclose(out[0:3, 5:8], np.broadcast_to([0, 0, 1], (3, 3, 3)), atol=1e-7)
    assert (out[~valid] == 0).all()
    # a pixel whose every neighbour is across a jump is invalid too
    d2 = np.full((5, 5), 5.0)
    d2[2, 2] = 9.0
    _, valid2 = depth_to_normals(d2, None, orthographic=True)
    assert not valid2[2, 2] and valid2.sum() == 24


def test_backproject_frame():
    K = intrinsics(4, 6, 10.0)
    P = backproject(np.full((4, 6), 2.0), K)
    # column right of centre -> +x, row above centre -> +y, in front of the camera -> −z
    assert P[0, 5, 0] > 0 and P[0, 5, 1] > 0 and (P[..., 2] == -2.0).all()
    np.testing.assert_allclose(P[1, 2, :2], [2.0 * (2.5 - 3) / 10, -2.0 * (1.5 - 2) / 10])


@pytest.mark.skipif(not (ASSETS / "diligent").is_dir(), reason="shared DiLiGenT assets missing")
def test_diligent_ground_truth_depth_matches_its_normals():
    from normalkit.images.io import read_image
    from normalkit.maps.encode import decode_normals

    folder = ASSETS / "diligent" / "cat"
    n = decode_normals(read_image(folder / "normal_map.png"))
    mask = read_image(folder / "mask.png") > 0
    K = np.loadtxt(folder / "K.txt")
    with np.load(folder / "depth_gt.npz") as f:
        depth = f["depth_gt"]
    out, valid = depth_to_normals(depth, mask, K)
    assert valid.sum() > 0.99 * mask.sum()
    err = angle_deg(out[valid], n[valid])
    assert np.median(err) < 1.0  # ~0.45° measured: frames and pixel centres agree


@pytest.mark.parametrize("kwargs,match", [
    (dict(depth=np.ones((4, 4, 2))), "shape"),
    (dict(depth=np.ones(5)), "shape"),
    (dict(depth=np.ones((0, 4))), "empty"),
    (dict(depth=np.array([["a", "b"]])), "numeric"),
    (dict(mask=np.ones((3, 4), bool)), "mask has shape"),
    (dict(depth=np.full((4, 4), np.nan), mask=np.ones((4, 4), bool)), "NaN"),
    (dict(depth=-np.ones((4, 4)), mask=np.ones((4, 4), bool)), "≤ 0"),
    (dict(K=None), "give K"),
    (dict(orthographic=True), "not both"),
    (dict(K=np.eye(2)), "3x3"),
    (dict(K=np.diag([-1.0, 1.0, 1.0])), "positive"),
    (dict(K=np.array([[1.0, 0.1, 0], [0, 1, 0], [0, 0, 1]])), "skew"),
    (dict(K=np.full((3, 3), np.nan)), "NaN"),
    (dict(K=None, orthographic=True, pixel_size=0.0), "pixel_size"),
    (dict(discontinuity=-0.1), "discontinuity"),
    (dict(discontinuity=float("nan")), "discontinuity"),
])
def test_errors_name_the_problem(kwargs, match):
    args = dict(depth=np.ones((4, 4)), mask=None, K=intrinsics(4, 4, 4.0))
    args.update(kwargs)
    with pytest.raises(NormalkitError, match=match):
        depth_to_normals(args.pop("depth"), args.pop("mask"), **args)
