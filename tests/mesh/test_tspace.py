"""The tangent-space encode is the exact inverse of the MikkTSpace shader decode."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from normalkit.mesh.tspace import tangent_to_world, unit, world_to_tangent


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_encode_decode_round_trip_with_skewed_unnormalized_frames(seed):
    rng = np.random.default_rng(seed)
    n_pts = 200
    n = rng.normal(size=(3, n_pts)) * rng.uniform(0.5, 2.0, n_pts)  # unnormalized
    t = rng.normal(size=(3, n_pts)) * rng.uniform(0.5, 2.0, n_pts)  # not ⟂ n
    sign = rng.choice([-1.0, 1.0], n_pts)
    cosang = np.abs(np.sum(unit(n) * unit(t), axis=0))
    keep = cosang < 0.95  # well-conditioned frames
    h = unit(rng.normal(size=(3, n_pts)))
    h = np.where(np.sum(h * n, axis=0) < 0, -h, h)  # front-facing normals
    x = world_to_tangent(h, t, n, sign)
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), 1.0, atol=1e-9)
    back = tangent_to_world(x, t, n, sign)
    np.testing.assert_allclose(back[:, keep], h[:, keep], atol=1e-9)


def test_orthonormal_frame_is_a_rotation():
    t = np.array([[0.0], [1.0], [0.0]])
    n = np.array([[0.0], [0.0], [1.0]])
    # B = sign·(N × T) = sign·(−x); with sign −1, B = +x.
    x = world_to_tangent(np.array([[0.6], [0.0], [0.8]]), t, n, np.array([-1.0]))
    np.testing.assert_allclose(x[:, 0], [0.0, 0.6, 0.8], atol=1e-12)


def test_degenerate_frame_gives_flat():
    t = np.zeros((3, 1))
    n = np.array([[0.0], [0.0], [1.0]])
    np.testing.assert_allclose(world_to_tangent(n, t, n, np.ones(1))[:, 0], [0, 0, 1])
