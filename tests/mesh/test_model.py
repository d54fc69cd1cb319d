"""Mesh model helpers: colour encoding."""

from __future__ import annotations

import numpy as np
import pytest


def _numpy_encode_color(color):
    """encode_color's reference formula in NumPy (the compiled kernel's contract)."""
    from normalkit.mesh import model

    model.encode_color(np.zeros((1, 4), np.float32))  # builds the table
    steps, lut = model._ENCODE_STEPS, model._ENCODE_LUT
    out = np.empty(color.shape, np.uint8)
    idx = np.clip(color[..., :3] * steps, 0, steps - 1).astype(np.int64)
    out[..., :3] = lut[idx]
    out[..., 3:] = np.round(np.clip(color[..., 3:], 0, 1) * 255)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_encode_color_matches_the_numpy_formula(dtype):
    from normalkit.mesh.model import encode_color, linear_to_srgb

    rng = np.random.default_rng(2)
    color = rng.uniform(-0.1, 1.1, (600, 700, 4)).astype(dtype)  # several thread blocks
    color[0, :5] = [[0, 0, 0, 0], [1, 1, 1, 1], [0.5, 0.25, 1e-9, 0.5], [2, -1, 0.999, 0.002],
                    [1 / 255, 0.5 / 255, 254.5 / 255, 1.5 / 255]]
    got = encode_color(color)
    np.testing.assert_array_equal(got, _numpy_encode_color(color))
    # And the encoding itself: sRGB to within the table's rounding.
    want = np.round(linear_to_srgb(np.clip(color[..., :3].astype(np.float64), 0, 1)) * 255)
    assert np.abs(got[..., :3].astype(int) - want).max() <= 1
