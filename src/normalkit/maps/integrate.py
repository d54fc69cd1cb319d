"""Normal integration: a camera-space normal map and a mask -> a depth map.

Frames follow CONVENTIONS.md: normals are in the OpenGL camera frame (x right,
y up, +z toward the viewer), pixel (row j, column i) has its centre at
(i + 0.5, j + 0.5), and depth is positive z-depth.

Two solvers, both sparse least squares over the 4-neighbour pixel grid:

- ``"fast"``: one weighted least-squares solve, conjugate gradients with an
  algebraic multigrid preconditioner (PyAMG smoothed aggregation). Smooth
  everywhere: depth discontinuities are smeared over the pixels around them.
- ``"bilateral"``: bilateral normal integration (BiNI, Cao et al., ECCV 2022),
  an iteratively reweighted least-squares (IRLS) scheme that down-weights the
  one-sided difference that crosses a depth jump, so discontinuities stay sharp.

Perspective cameras use the log-depth formulation of BiNI (depth is found up
to scale); orthographic cameras integrate depth directly (up to an offset).
"""

from __future__ import annotations

import math
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from ..core.errors import NormalkitError
from ..core.progress import progress_bar

__all__ = ["SOLVERS", "IntegrationInfo", "check_intrinsics", "integrate_normals"]

#: The solvers :func:`integrate_normals` accepts.
SOLVERS: tuple[str, ...] = ("fast", "bilateral")

# Relative residual of the multigrid-preconditioned solve of the first (uniform
# weight) system. 1e-7 changes the DiLiGenT depth errors by < 1e-4 mm against
# 1e-9 and costs about 10 V-cycles.
_FAST_RTOL = 1e-7
_FAST_MAXITER = 500
# Tiny diagonal shift for the multigrid solve: the system is a graph Laplacian,
# singular along constants; the shift pins them without changing the answer
# (the mean is removed afterwards anyway).
_SHIFT = 1e-10


@dataclass(frozen=True)
class IntegrationInfo:
    """What :func:`integrate_normals` did.

    Attributes
    ----------
    solver : str
        ``"fast"`` or ``"bilateral"``.
    projection : str
        ``"perspective"`` or ``"orthographic"``.
    pixels : int
        Pixels that received a depth (mask pixels with at least one 4-neighbour
        in the mask).
    iterations : int
        Linear systems solved: 1 for ``"fast"``; IRLS iterations for ``"bilateral"``.
    cg_iterations : int
        Conjugate-gradient iterations over all solves.
    converged : bool
        ``"fast"``: the solve reached its tolerance. ``"bilateral"``: the
        relative energy change fell below ``tol`` before ``max_iter``.
    energy : float
        Final weighted least-squares energy (for ``"fast"``, with weights 1/2).
    seconds : float
        Wall time of the call.
    """

    solver: str
    projection: str
    pixels: int
    iterations: int
    cg_iterations: int
    converged: bool
    energy: float
    seconds: float


def integrate_normals(
    normals: np.ndarray,
    mask: np.ndarray | None,
    K: np.ndarray | None = None,
    *,
    solver: str = "fast",
    orthographic: bool = False,
    pixel_size: float = 1.0,
    k: float = 2.0,
    max_iter: int = 150,
    tol: float = 1e-4,
    cg_tol: float = 1e-3,
    log=None,
    progress: bool = False,
) -> tuple[np.ndarray, IntegrationInfo]:
    """Integrate a camera-space normal map into a depth map.

    Parameters
    ----------
    normals : numpy.ndarray
        (H, W, 3) float camera-frame normals (OpenGL: x right, y up, +z toward
        the viewer), for example ``decode_normals(read_image(path))``. They are
        renormalized. Values outside ``mask`` are ignored (they may be NaN).
    mask : numpy.ndarray or None
        (H, W) boolean (or 0/1) mask of the surface; None means every pixel.
    K : numpy.ndarray, optional
        (3, 3) intrinsics ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` in pixels,
        with pixel (row j, column i) centred at (i + 0.5, j + 0.5). Required
        unless ``orthographic``.
    solver : {"fast", "bilateral"}
        ``"fast"``: one least-squares solve (smooth across depth jumps).
        ``"bilateral"``: discontinuity-preserving BiNI (IRLS), initialized with
        the ``"fast"`` solution.
    orthographic : bool
        Orthographic projection (then ``K`` must be None): pixel (j, i) sees the
        point (x, y) = (i, −j) · ``pixel_size``.
    pixel_size : float
        Orthographic only: the width of a pixel in depth units (default 1).
    k : float
        ``"bilateral"``: sharpness of the discontinuity weights (BiNI's k);
        larger keeps more, and smaller, jumps. Default 2, as in the paper.
    max_iter : int
        ``"bilateral"``: at most this many IRLS iterations (default 150).
    tol : float
        ``"bilateral"``: stop when the relative change of the energy between two
        iterations is below ``tol`` (default 1e-4).
    cg_tol : float
        ``"bilateral"``: relative residual at which each reweighted system's
        Jacobi-preconditioned conjugate-gradient solve stops (default 1e-3, as
        in BiNI). This tolerance is part of the method, not only of its cost:
        see Notes.
    log : callable, optional
        Called with one-line notices (which solver runs, on how many pixels).
    progress : bool
        Show a progress bar of the IRLS iterations on stderr.

    Returns
    -------
    depth : numpy.ndarray
        (H, W) float64 positive z-depth; NaN outside ``mask`` and at mask pixels
        without a 4-neighbour in the mask. Perspective: defined up to one scale
        factor per 4-connected region, fixed so that the region's geometric mean
        depth is 1. Orthographic: in units of ``pixel_size``, defined up to one
        offset per region, fixed so that the region's mean depth is 0 (add your
        own offset; "positive" then depends on it).
    info : IntegrationInfo
        Solver, iterations, convergence, energy and wall time.

    Raises
    ------
    NormalkitError
        Bad shapes (normals not (H, W, 3), mask or K of the wrong shape), NaN or
        zero-length normals inside the mask, an empty mask, neither or both of
        ``K`` and ``orthographic``, invalid intrinsics or parameters, or normals
        that mostly face away from the camera (a wrong frame: OpenCV z-forward
        normals must be converted, n -> (x, −y, −z)).

    Notes
    -----
    Each pixel p contributes, per image axis, a forward and a backward
    one-sided difference equation ``a_p (z_q − z_p) = b_p`` with its own normal
    (BiNI's discretization). Perspective: z is log depth,
    ``m = n_z − n_x (u − cx)/fx + n_y (v − cy)/fy``, ``a = fx·m`` (columns) or
    ``fy·m`` (rows), ``b = n_x`` or ``−n_y`` (rows go down). Orthographic: z is
    depth, ``a = n_z / pixel_size``. The normal equations are a weighted graph
    Laplacian, assembled once into a fixed CSR pattern whose values are
    refilled per iteration.

    ``"fast"`` weighs both differences 1/2 and solves with conjugate gradients
    preconditioned by a smoothed-aggregation multigrid V-cycle, to a relative
    residual of 1e-7: 0.1-0.3 s for 25k-57k pixels (about 13 V-cycles), 5-8 s
    for a million. ``"bilateral"`` then runs
    BiNI's IRLS: weights ``w = sigmoid(k·(d_b² − d_f²))`` for the forward and
    ``1 − w`` for the backward difference (d: the scaled one-sided differences),
    each system solved by Jacobi-preconditioned conjugate gradients, warm-started
    from the previous depth, to relative residual ``cg_tol``. The inexact inner
    solves steer which of the energy's many local minima IRLS settles in; on
    DiLiGenT, exact inner solves converge to different minima that are better on
    some objects and worse on others. Starting from the exact ``"fast"``
    solution (where BiNI starts from a partial solve) reaches an average depth
    error of 1.49 mm over the nine DiLiGenT objects, BiNI's published 1.50 mm.
    Cost is dominated by the Jacobi iterations, about 0.3 ms each for 56k pixels
    (one sparse product and a few vector operations, one core): 0.3-3.3 s per
    DiLiGenT object, 10.5 s for all nine; see ``benchmarks/bench_integration.py``.
    Jacobi needs more iterations on larger images (roughly with the width in
    pixels), so ``"bilateral"`` grows faster than linearly; ``"fast"`` is
    near-linear. Memory: about 1 KB per pixel at the peak of the multigrid setup.

    References
    ----------
    X. Cao, H. Santo, B. Shi, F. Okura, Y. Matsushita, "Bilateral Normal
    Integration", ECCV 2022.
    """
    t0 = time.perf_counter()
    n, m = _check_inputs(normals, mask)
    if solver not in SOLVERS:
        raise NormalkitError(f"solver must be one of {', '.join(SOLVERS)}, not {solver!r}")
    projection = _check_projection(K, orthographic, pixel_size)
    if solver == "bilateral":
        _check_bilateral(k, max_iter, tol, cg_tol)
    grid = _Grid(m)
    if grid.n == 0:
        raise NormalkitError(
            "no mask pixel has a 4-neighbour in the mask; nothing to integrate")
    grid.set_coefficients(*_coefficients(n, grid, K, projection, pixel_size))
    if log is not None:
        log(f"integrate: {solver} solver, {projection}, {grid.n:,} pixels"
            + (f" ({grid.isolated:,} isolated pixels left empty)" if grid.isolated else ""))

    # First system: both one-sided differences weighted 1/2 (BiNI's start).
    w = np.full((2, grid.n), 0.5)
    L, rhs = grid.assemble(*grid.edge_terms(w))
    z, cg_its, ok = _solve_multigrid(L, rhs)
    iterations = 1
    energy = grid.energy(z, w)

    if solver == "bilateral":
        energy0 = grid.energy(np.zeros(grid.n), w)
        z, iterations, its, ok, energy = _bilateral(grid, z, energy0, k, max_iter, tol, cg_tol,
                                                    progress)
        cg_its += its

    depth = grid.to_image(grid.remove_means(z))
    if projection == "perspective":
        np.exp(depth, out=depth)
    info = IntegrationInfo(solver=solver, projection=projection, pixels=grid.n,
                           iterations=iterations, cg_iterations=int(cg_its),
                           converged=bool(ok), energy=float(energy),
                           seconds=time.perf_counter() - t0)
    return depth, info


# ----------------------------------------------------------------------------
# validation


def _check_inputs(normals, mask) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(normals)
    if n.ndim != 3 or n.shape[2] != 3:
        raise NormalkitError(f"normals must have shape (H, W, 3), got {n.shape}")
    if n.dtype.kind not in "fiu":
        raise NormalkitError(f"normals must be a float array, got dtype {n.dtype}")
    if n.shape[0] == 0 or n.shape[1] == 0:
        raise NormalkitError(f"normals are empty, shape {n.shape}")
    m = _check_mask(mask, n.shape[:2])
    return n, m


def _check_mask(mask, shape) -> np.ndarray:
    if mask is None:
        return np.ones(shape, bool)
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.shape != tuple(shape):
        raise NormalkitError(f"mask has shape {m.shape}, the image is {tuple(shape)}; "
                             "give an (H, W) boolean mask of the same size")
    if m.dtype != bool:
        if m.dtype.kind not in "fiu":
            raise NormalkitError(f"mask must be boolean, got dtype {m.dtype}")
        m = m != 0
    if not m.any():
        raise NormalkitError("mask is empty: no pixel to integrate")
    return m


def check_intrinsics(K) -> np.ndarray:
    """Return ``K`` as a float64 (3, 3) array, or raise NormalkitError naming the problem.

    ``K`` must be ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` in pixels: finite, fx and
    fy positive, no skew (CONVENTIONS.md, "Cameras and image-space maps").
    """
    try:
        K = np.asarray(K, dtype=float) if K is not None else None
    except (TypeError, ValueError) as exc:
        raise NormalkitError(f"K must be a 3x3 matrix of numbers: {exc}") from exc
    if K is None or K.shape != (3, 3):
        shape = None if K is None else K.shape
        raise NormalkitError(f"K must be a 3x3 intrinsics matrix, got shape {shape}")
    if not np.isfinite(K).all():
        raise NormalkitError("K contains NaN or infinite values")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise NormalkitError(f"K: focal lengths fx, fy must be positive, got "
                             f"{K[0, 0]:g}, {K[1, 1]:g}")
    if K[0, 1] != 0 or K[1, 0] != 0 or not np.allclose(K[2], [0, 0, 1]):
        raise NormalkitError("K must be [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] (no skew)")
    return K


def _check_projection(K, orthographic: bool, pixel_size) -> str:
    if orthographic:
        if K is not None:
            raise NormalkitError("give either K (perspective) or orthographic=True, not both")
        if not (isinstance(pixel_size, int | float | np.floating | np.integer)
                and math.isfinite(pixel_size) and pixel_size > 0):
            raise NormalkitError(f"pixel_size must be a positive number, not {pixel_size!r}")
        return "orthographic"
    if K is None:
        raise NormalkitError("give K (3x3 intrinsics) for a perspective camera, or "
                             "orthographic=True")
    return "perspective"


def _check_bilateral(k, max_iter, tol, cg_tol) -> None:
    for name, v in (("k", k), ("tol", tol), ("cg_tol", cg_tol)):
        if not (isinstance(v, int | float | np.floating | np.integer) and math.isfinite(v)
                and v > 0):
            raise NormalkitError(f"{name} must be a positive number, not {v!r}")
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise NormalkitError(f"max_iter must be a positive integer, not {max_iter!r}")


# ----------------------------------------------------------------------------
# the system


class _Grid:
    """Unknowns (mask pixels with a 4-neighbour), edges and a fixed CSR pattern."""

    def __init__(self, mask: np.ndarray):
        H, W = mask.shape
        right = np.zeros_like(mask)
        right[:, :-1] = mask[:, :-1] & mask[:, 1:]
        down = np.zeros_like(mask)
        down[:-1] = mask[:-1] & mask[1:]
        linked = right | down
        linked[:, 1:] |= right[:, :-1]
        linked[1:] |= down[:-1]
        self.shape = (H, W)
        self.mask = linked
        self.isolated = int(mask.sum() - linked.sum())
        self.n = n = int(linked.sum())
        idx = np.full((H, W), -1, np.int64)
        idx[linked] = np.arange(n)
        self.rows, self.cols = np.nonzero(linked)
        # Edges: direction 0 = columns (q right of p), 1 = rows (q below p).
        p0, q0 = idx[:, :-1][right[:, :-1]], idx[:, 1:][right[:, :-1]]
        p1, q1 = idx[:-1][down[:-1]], idx[1:][down[:-1]]
        self.P = np.concatenate([p0, p1])
        self.Q = np.concatenate([q0, q1])
        self.fP = np.concatenate([p0, p1 + n])  # flat index into (2, n) per-direction arrays
        self.fQ = np.concatenate([q0, q1 + n])
        # CSR pattern of the Laplacian: entries (P, Q), (Q, P), (i, i), sorted by row, col.
        r = np.concatenate([self.P, self.Q, np.arange(n)])
        c = np.concatenate([self.Q, self.P, np.arange(n)])
        self.order = np.lexsort((c, r))
        itype = np.int32 if len(r) < 2**31 else np.int64
        self.indices = c[self.order].astype(itype)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))]).astype(itype)
        self._buf = np.empty(len(r))

    def set_coefficients(self, a: np.ndarray, b: np.ndarray) -> None:
        """Store ``a·∂z = b`` per pixel and direction, (2, n) each, and their edge gathers."""
        self.a, self.b = a, b
        self.aP, self.aQ = a.ravel()[self.fP], a.ravel()[self.fQ]
        self.aaP, self.aaQ = self.aP * self.aP, self.aQ * self.aQ
        self.abP = self.aP * b.ravel()[self.fP]
        self.abQ = self.aQ * b.ravel()[self.fQ]

    def edge_terms(self, w: np.ndarray):
        """Edge weights c and right-hand-side terms g for forward weights w (2, n)."""
        wf = w.ravel()[self.fP]
        wb = 1.0 - w.ravel()[self.fQ]
        return wf * self.aaP + wb * self.aaQ, wf * self.abP + wb * self.abQ

    def assemble(self, c: np.ndarray, g: np.ndarray, dtype=np.float64):
        """The Laplacian L (CSR, ``dtype``) and right-hand side of the normal equations."""
        n, E = self.n, len(c)
        buf = self._buf
        buf[:E] = -c
        buf[E:2 * E] = -c
        buf[2 * E:] = np.bincount(self.P, c, n) + np.bincount(self.Q, c, n)
        data = buf[self.order].astype(dtype, copy=False)
        L = sp.csr_matrix((data, self.indices, self.indptr), shape=(n, n))
        rhs = (np.bincount(self.Q, g, n) - np.bincount(self.P, g, n)).astype(dtype, copy=False)
        return L, rhs

    def differences(self, z: np.ndarray):
        """Scaled forward and backward differences (2, n); 0 where the neighbour is missing."""
        dz = z[self.Q] - z[self.P]
        fwd = np.zeros(2 * self.n)
        bwd = np.zeros(2 * self.n)
        fwd[self.fP] = self.aP * dz
        bwd[self.fQ] = self.aQ * dz
        return fwd.reshape(2, self.n), bwd.reshape(2, self.n)

    def energy(self, z, w, diffs=None) -> float:
        """Weighted residual of all 4n equations (forward weights w, backward 1 − w).

        An equation whose neighbour is missing has a zero row, so it contributes
        w·b², as in BiNI.
        """
        fwd, bwd = diffs if diffs is not None else self.differences(z)
        return float(np.sum(w * (fwd - self.b) ** 2) + np.sum((1.0 - w) * (bwd - self.b) ** 2))

    def remove_means(self, z: np.ndarray) -> np.ndarray:
        from scipy import ndimage

        labels, count = ndimage.label(self.mask)
        lab = labels[self.rows, self.cols]
        mean = np.bincount(lab, z, count + 1) / np.maximum(np.bincount(lab, minlength=count + 1), 1)
        return z - mean[lab]

    def to_image(self, z: np.ndarray) -> np.ndarray:
        out = np.full(self.shape, np.nan)
        out[self.rows, self.cols] = z
        return out


def _coefficients(n: np.ndarray, grid: _Grid, K, projection: str, pixel_size: float):
    """Per-pixel, per-direction a (2, n) and b (2, n) of ``a·∂z = b``."""
    v = np.asarray(n[grid.rows, grid.cols], dtype=np.float64)
    if not np.isfinite(v).all():
        bad = int((~np.isfinite(v).all(axis=1)).sum())
        raise NormalkitError(f"normals contain NaN or infinite values at {bad:,} pixels "
                             "inside the mask; fix them or leave them out of the mask")
    length = np.sqrt(np.einsum("ij,ij->i", v, v))
    if (length < 1e-6).any():
        raise NormalkitError(f"{int((length < 1e-6).sum()):,} normals inside the mask have zero "
                             "length; leave those pixels out of the mask")
    v /= length[:, None]
    nx, ny, nz = v[:, 0], v[:, 1], v[:, 2]
    if projection == "perspective":
        K = check_intrinsics(K)
        fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
        u = grid.cols + 0.5
        vv = grid.rows + 0.5
        # m = −n·r for the pixel's ray r = ((u − cx)/fx, −(v − cy)/fy, −1): > 0 if visible
        facing = nz - nx * (u - cx) / fx + ny * (vv - cy) / fy
        a = np.stack([fx * facing, fy * facing])
    else:
        facing = nz
        a = np.stack([nz / pixel_size, nz / pixel_size])
    away = float((facing <= 0).mean())
    if away > 0.5:
        raise NormalkitError(
            f"{100 * away:.0f}% of the normals inside the mask face away from the camera; "
            "normals must be in the OpenGL camera frame (+z toward the viewer): convert "
            "OpenCV-frame normals with n -> (x, -y, -z), and check the green channel")
    b = np.stack([nx, -ny])
    return a, b


# ----------------------------------------------------------------------------
# solvers


_RNG_LOCK = threading.Lock()


@contextmanager
def _seeded_global_rng(seed: int):
    """NumPy's global random state seeded for the block, then put back as it was.

    PyAMG's smoothed-aggregation setup estimates spectral radii from ``np.random.rand``
    start vectors; unseeded, the preconditioner, and so the depth, differed from run to
    run in the last digits, which later stages (carving, marching cubes) can amplify. The
    lock keeps two threads from seeding over each other.
    """
    with _RNG_LOCK:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def _solve_multigrid(L, rhs):
    """Solve the Laplacian system to relative residual _FAST_RTOL; CG + SA-AMG V-cycle."""
    try:
        import pyamg
    except ImportError as exc:  # pragma: no cover - pyamg is a dependency
        raise NormalkitError("normal integration needs PyAMG: pip install 'pyamg>=5.0'") from exc
    from scipy.sparse.linalg import cg

    d = L.diagonal()
    shift = _SHIFT * (float(d.mean()) if d.size else 1.0)
    A = (L + sp.diags(np.full(L.shape[0], shift))).tocsr()
    if L.shape[0] < 64:
        from scipy.sparse.linalg import spsolve

        return spsolve(A.tocsc(), rhs), 0, True
    with _seeded_global_rng(0):  # PyAMG starts its spectral-radius estimate at random
        ml = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric", max_coarse=50)
    count = [0]

    def tick(_):
        count[0] += 1

    x, info = cg(A, rhs, x0=np.zeros_like(rhs), M=ml.aspreconditioner(cycle="V"),
                 rtol=_FAST_RTOL, maxiter=_FAST_MAXITER, callback=tick)
    return x, count[0], info == 0


def _pcg_jacobi(L, b: np.ndarray, x: np.ndarray, rtol: float, maxiter: int) -> int:
    """Jacobi-preconditioned CG on ``L x = b`` from ``x`` (updated in place).

    The iterates and the stopping test (``||r|| < rtol·||b||``, checked before
    each iteration, so a good warm start costs no iteration) are those of
    ``scipy.sparse.linalg.cg`` with ``M = diag(L)^-1``, without its per-call
    overhead. Returns the number of iterations.
    """
    d = L.diagonal()
    floor = 1e-12 * float(np.abs(d).max()) if d.size else 1.0
    dinv = 1.0 / np.maximum(d, max(floor, float(np.finfo(d.dtype).tiny)))
    atol = rtol * float(np.linalg.norm(b))
    if atol == 0.0:
        return 0
    atol2 = atol * atol
    r = b - L @ x
    zbuf = np.empty_like(b)
    tmp = np.empty_like(b)
    p = None
    rho_prev = 1.0
    # numpy's dot, not scipy's BLAS wrappers: their threaded level-1 kernels are
    # several times slower on a loaded 2-core machine.
    for it in range(maxiter):
        if np.dot(r, r) < atol2:
            return it
        np.multiply(r, dinv, out=zbuf)
        rho = np.dot(r, zbuf)
        if p is None:
            p = zbuf.copy()
        else:
            p *= rho / rho_prev
            p += zbuf
        q = L @ p
        pq = np.dot(p, q)
        if pq <= 0.0:  # numerically converged on a singular system
            return it
        alpha = rho / pq
        np.multiply(p, alpha, out=tmp)
        x += tmp
        np.multiply(q, alpha, out=tmp)
        r -= tmp
        rho_prev = rho
    return maxiter


_CG_MAXITER = 5000


def _bilateral(grid: _Grid, z, energy0, k, max_iter, tol, cg_tol, progress):
    """BiNI's IRLS from the solution z of the uniform-weight system."""
    energy_old = energy0
    cg_total = 0
    converged = False
    bar = progress_bar(max_iter, progress, "bilateral IRLS", "it")
    it = 1
    try:
        while True:
            fwd, bwd = grid.differences(z)
            w = expit(k * (bwd * bwd - fwd * fwd))
            energy = grid.energy(z, w, (fwd, bwd))
            rel = abs(energy - energy_old) / energy_old if energy_old > 0 else 0.0
            bar.update(1)
            bar.set_postfix_str(f"energy {energy:.4g}, change {rel:.1e}")
            if rel < tol:
                converged = True
                break
            if it >= max_iter:
                break
            energy_old = energy
            # float64 on purpose: in float32 (30 % faster) rounding alone moves
            # DiLiGenT 'bear' between two minima (0.29 and 0.41 mm) from run to run.
            L, rhs = grid.assemble(*grid.edge_terms(w))
            cg_total += _pcg_jacobi(L, rhs, z, cg_tol, _CG_MAXITER)
            it += 1
    finally:
        bar.close()
    return z, it, cg_total, converged, energy
