"""depth_to_normals: analytic spheres and planes, depth jumps, DiLiGenT ground truth, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ASSETS, angle_deg
from normalkit.core.errors import NormalkitError
from normalkit.maps.depth import backproject, depth_to_normals


def intrinsics(H: int, W: int, f: float) -> np.ndarray:
    return np.array([[f, 0.0, W / 2], [0.0, f, H / 2], [0.0, 0.0, 1.0]])


def rays(H: int, W: int, K: np.ndarray) -> np.ndarray:
    """(H, W, 3) rays through pixel centres with z = −1 (OpenGL camera frame)."""
    u = np.arange(W) + 0.5
    v = np.arange(H) + 0.5
    x = np.broadcast_to((u[None, :] - K[0, 2]) / K[0, 0], (H, W))
    y = np.broadcast_to(-(v[:, None] - K[1, 2]) / K[1, 1], (H, W))
    return np.stack([x, y, -np.ones((H, W))], axis=-1)


def sphere_scene(H=96, W=128, f=240.0, centre=(0.1, -0.05, -4.0), radius=1.0,
                 orthographic=False, pixel_size=None):
    """Depth, mask, K (None if orthographic) and unit normals of a sphere.

    Also returns ``facing``: cos of the angle between the normal and the direction
    to the camera (small near the silhouette).
    """
    c = np.asarray(centre, float)
    if orthographic:
        ps = pixel_size or 2.4 * radius / min(H, W)
        jj, ii = np.mgrid[0:H, 0:W] + 0.5
        x = (ii - W / 2) * ps + c[0]
        y = -(jj - H / 2) * ps + c[1]
        r2 = radius ** 2 - (x - c[0]) ** 2 - (y - c[1]) ** 2
        mask = r2 > 0
        h = np.sqrt(np.where(mask, r2, 0.0))
        depth = np.where(mask, -c[2] - h, np.nan)
        n = np.stack([x - c[0], y - c[1], h], axis=-1) / radius
        n[~mask] = 0
        return depth, mask, None, n, n[..., 2], ps
    K = intrinsics(H, W, f)
    r = rays(H, W, K)
    rc = r @ c
    rr = np.einsum("ijk,ijk->ij", r, r)
    disc = rc ** 2 - rr * (c @ c - radius ** 2)
    mask = disc > 0
    t = np.where(mask, (rc - np.sqrt(np.where(mask, disc, 0.0))) / rr, np.nan)
    P = t[..., None] * r
    n = (P - c) / radius
    n[~mask] = 0
    view = -P / np.linalg.norm(np.where(mask[..., None], P, 1.0), axis=-1, keepdims=True)
    facing = np.where(mask, np.einsum("ijk,ijk->ij", n, view), 0.0)
    return t, mask, K, n, facing, None


def interior(mask: np.ndarray, margin: int = 2) -> np.ndarray:
    """Mask pixels whose (2·margin+1)² neighbourhood is inside the mask."""
    from scipy import ndimage

    return ndimage.binary_erosion(mask, np.ones((2 * margin + 1,) * 2, bool))


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


def tear_scene(H=40, W=40, slope=0.5, base=100.0):
    """Orthographic: left half flat, right half tilted; the depth jump along the
    middle column grows linearly away from the middle row."""
    jj, ii = np.mgrid[0:H, 0:W]
    right = ii >= W // 2
    depth = np.where(right, base + slope * (jj + 0.5 - H / 2), base)
    n = np.zeros((H, W, 3))
    n[..., 2] = 1
    tilt = np.array([0.0, -slope, 1.0])
    n[right] = tilt / np.linalg.norm(tilt)
    return depth, n, right


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
