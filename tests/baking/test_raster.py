import numpy as np
import pytest

from normalkit.baking.raster import rasterize_tile, sample_offsets, uv_layout


def _raster(uvs, w, h, samples=1):
    lay = uv_layout(np.asarray(uvs, float), w, h)
    return lay, rasterize_tile(lay, lay.row_range, lay.col_range, sample_offsets(samples))


SQUARE = [[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1], [0, 1]]]


@pytest.mark.parametrize("samples", [1, 4, 16, 64])
def test_full_square_gets_every_sample_exactly_once(samples):
    lay, ts = _raster(SQUARE, 16, 8, samples)
    counts = np.bincount(ts.texel, minlength=16 * 8)
    assert (counts == samples).all()
    assert len(ts.overlap_texels) == 0
    np.testing.assert_allclose(ts.bary.sum(axis=1), 1.0, atol=1e-6)


def test_barycentrics_reproduce_the_sample_position():
    uvs = np.array([[[0.1, 0.2], [0.9, 0.3], [0.4, 0.95]]])
    w, h = 37, 29
    lay, ts = _raster(uvs, w, h, 4)
    uv = np.einsum("nk,kc->nc", ts.bary.astype(float), uvs[0])
    row, col = np.divmod(ts.texel, lay.col_range[1] - lay.col_range[0])
    row += lay.row_range[0]
    col += lay.col_range[0]
    # Inside samples lie within their texel; border samples (on the triangle's edge, the
    # point nearest the texel centre) lie within one texel of the centre.
    x, y = uv[:, 0] * w, (1 - uv[:, 1]) * h
    inside = np.all(ts.bary > 1e-6, axis=1)
    assert inside.sum() > 1000
    assert np.all((x[inside] >= col[inside]) & (x[inside] <= col[inside] + 1))
    assert np.all((y[inside] >= row[inside]) & (y[inside] <= row[inside] + 1))
    assert np.all(np.hypot(x - col - 0.5, y - row - 0.5) <= 1.0)


def test_texel_centres_follow_the_convention():
    # A tiny triangle around the centre of texel (row 1, col 2) of a 4×4 image:
    # u = 2.5/4, v = 1 - 1.5/4.
    u, v = 2.5 / 4, 1 - 1.5 / 4
    d = 0.05
    uvs = [[[u - d, v - d], [u + d, v - d], [u, v + d]]]
    lay, ts = _raster(uvs, 4, 4, 1)
    cols = lay.col_range[1] - lay.col_range[0]
    rows, colsx = np.divmod(ts.texel, cols)
    assert set(zip(rows + lay.row_range[0], colsx + lay.col_range[0], strict=True)) == {(1, 2)}
    # The centre sample is inside: barycentrics all positive.
    assert np.all(ts.bary > 0)


def test_conservative_coverage_reaches_every_touched_texel():
    # A thin sliver that misses most texel centres.
    uvs = [[[0.0, 0.501], [1.0, 0.502], [1.0, 0.503]]]
    lay, ts = _raster(uvs, 64, 64, 1)
    cols = lay.col_range[1] - lay.col_range[0]
    rows = ts.texel // cols + lay.row_range[0]
    colsx = ts.texel % cols + lay.col_range[0]
    assert set(colsx) == set(range(64))  # every column along the sliver is covered
    assert set(rows) <= {31}
    np.testing.assert_allclose(ts.bary.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(ts.bary >= -1e-6)


def test_overlapping_triangles_are_reported():
    tri = [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]
    lay, ts = _raster([tri, tri], 32, 32, 1)
    assert len(ts.overlap_texels) > 100
    assert np.bincount(ts.texel).max() == 1  # still one sample per texel


def test_wrapped_uvs_cover_the_same_texels():
    base = np.array(SQUARE, float) * 0.5 + 0.25
    _, ts0 = _raster(base, 16, 16)
    lay, ts1 = _raster(base + [1.0, -2.0], 16, 16)
    assert lay.wrapped
    out0 = _folded(uv_layout(base, 16, 16), ts0)
    out1 = _folded(lay, ts1)
    np.testing.assert_array_equal(out0, out1)
    assert out0.sum() == 64


def _folded(lay, ts, size=16):
    rows, cols = lay.row_range, lay.col_range
    shape = (rows[1] - rows[0], cols[1] - cols[0])
    counts = np.bincount(ts.texel, minlength=shape[0] * shape[1]).reshape(shape)
    out = np.zeros((size, size))
    out[rows[0]:rows[1], cols[0]:cols[1]] = counts
    return out


def test_zero_area_uv_triangles_are_skipped():
    lay, ts = _raster([[[0.1, 0.1], [0.5, 0.5], [0.9, 0.9]]], 8, 8)
    assert len(lay.faces) == 0 and len(ts.texel) == 0


@pytest.mark.parametrize("shift", [0.0, -0.05, 0.95])
def test_triangles_across_the_border_wrap_without_double_samples(shift):
    # A strip of two triangles crossing u = 0 (or u = 1) after the shift.
    strip = np.array(SQUARE, float) * [0.2, 1.0] + [shift, 0.0]
    lay, ts = _raster(strip, 20, 4, 4)
    assert lay.col_range[0] >= 0 and lay.col_range[1] <= 20
    cols = lay.col_range[1] - lay.col_range[0]
    texel_cols = ts.texel % cols + lay.col_range[0]
    counts = np.bincount(ts.texel)
    assert counts.max() == 4  # no texel gets samples from both sides of the wrap
    first = round(shift * 20)
    expected = {c % 20 for c in range(first, first + 4)}
    assert set(texel_cols.tolist()) == expected


def test_whole_image_rasterize_uses_image_indices():
    from normalkit.baking.raster import rasterize

    uvs = np.array([[[0.5, 0.0], [1.0, 0.0], [1.0, 0.5]]])  # bottom-right corner
    ts = rasterize(uvs, 8, 8)
    rows, cols = np.divmod(ts.texel, 8)
    assert rows.min() >= 4 and cols.min() >= 4 and len(ts.texel) >= 6


@pytest.mark.parametrize("samples, block", [(1, 4), (4, 2), (1, 3), (16, 1)])
def test_block_order_is_a_reordering_of_whole_texels(samples, block):
    """Samples in blocks of texels: the same samples as row-major order, each texel's own
    samples in the same order, the texels in block × block blocks (ragged at the tile's
    edges), then the border texels' samples as before."""
    uvs = np.array([[[0.05, 0.1], [0.93, 0.2], [0.4, 0.97]],
                    [[0.5, 0.05], [0.97, 0.05], [0.97, 0.6]]])
    lay = uv_layout(uvs, 37, 29)
    rows, cols = (3, 26), (1, 36)
    offsets = sample_offsets(samples)
    flat = rasterize_tile(lay, rows, cols, offsets)
    blocked = rasterize_tile(lay, rows, cols, offsets, block=block)
    np.testing.assert_array_equal(blocked.overlap_texels, flat.overlap_texels)
    width = cols[1] - cols[0]
    r, c = np.divmod(flat.texel, width)
    # A border texel's one sample is the triangle's point nearest its centre; the others
    # lie at the texel's sample offsets.
    uv = np.einsum("nk,nkc->nc", flat.bary.astype(float), uvs[flat.face])
    x, y = uv[:, 0] * 37 - (c + cols[0]), (1 - uv[:, 1]) * 29 - (r + rows[0])
    inside = np.abs(np.hypot(x[:, None] - offsets[:, 0], y[:, None] - offsets[:, 1])
                    ).min(axis=1) < 1e-4
    assert inside.sum() > 400 and (~inside).sum() >= 10
    assert (np.nonzero(~inside)[0] >= inside.sum()).all()  # the border samples come last
    # The expected order: inside samples sorted by (block row, block column, row,
    # column), stably (a texel's samples stay in order); border samples unchanged.
    key = ((r // block) * (width // block + 1) + c // block) * block * block \
        + (r % block) * block + c % block
    order = np.concatenate([np.nonzero(inside)[0][np.argsort(key[inside], kind="stable")],
                            np.nonzero(~inside)[0]])
    np.testing.assert_array_equal(blocked.texel, flat.texel[order])
    np.testing.assert_array_equal(blocked.face, flat.face[order])
    np.testing.assert_array_equal(blocked.bary, flat.bary[order])
