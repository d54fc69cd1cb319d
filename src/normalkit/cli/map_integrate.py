"""``normalkit map integrate`` (normals -> depth) and ``normalkit map depth2normal``."""

from __future__ import annotations

import time
from pathlib import Path

from ..core.errors import NormalkitError
from .common import command, log, shared

DEPTH_OUTPUTS = (".exr", ".tif", ".tiff", ".npy")
DEPTH_INPUTS = (".exr", ".tif", ".tiff", ".npy", ".png")
#: Documented defaults of options whose argparse default is None (so that "given" can
#: be told from "left out", and a flag that does not apply is refused).
PIXEL_SIZE, K_SHARPNESS, MAX_ITER = 1.0, 2.0, 150
_K_FORMAT = "write 3 rows of 3 numbers: fx 0 cx / 0 fy cy / 0 0 1"


def read_intrinsics(path):
    """A 3x3 K from a text file: 3 rows of 3 numbers, or one row of 9.

    Numbers are separated by spaces, tabs or commas; blank lines and ``#`` comments are
    skipped. Any other content raises one NormalkitError line naming the file, the line
    and the fix.
    """
    import numpy as np

    from ..maps.integrate import check_intrinsics

    p = Path(path)
    if not p.is_file():
        raise NormalkitError(f"cannot read K from '{path}': no such file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NormalkitError(f"cannot read K from '{path}': not a text file; "
                             f"{_K_FORMAT}") from None
    except OSError as exc:
        raise NormalkitError(f"cannot read K from '{path}': {exc.strerror or exc}") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].replace(",", " ").split()
        if not fields:
            continue
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            bad = next(f for f in fields if not _is_float(f))
            raise NormalkitError(f"cannot read K from '{path}': line {number}: {bad[:20]!r} "
                                 f"is not a number; {_K_FORMAT}") from None
    count = sum(len(r) for r in rows)
    if count != 9 or (len(rows) != 1 and any(len(r) != 3 for r in rows)):
        shape = " + ".join(str(len(r)) for r in rows) or "no"
        raise NormalkitError(f"cannot read K from '{path}': it holds {shape} numbers, K "
                             f"needs 9; {_K_FORMAT}")
    try:
        return check_intrinsics(np.array(rows, float).reshape(3, 3))
    except NormalkitError as exc:
        raise NormalkitError(f"'{path}': {exc}") from exc


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_mask(path, shape):
    """Boolean mask from an image: its alpha channel if it has one, else the first channel."""
    from ..images.io import read_image

    m = read_image(path)
    if m.ndim == 3:
        m = m[:, :, 3] if m.shape[2] == 4 else m[:, :, 0]
    if m.shape != tuple(shape):
        raise NormalkitError(f"mask '{path}' is {m.shape[1]}x{m.shape[0]} but the input is "
                             f"{shape[1]}x{shape[0]}")
    return m > 0


def read_depth(path):
    """A depth map as float64 (H, W): .npy, a one-channel EXR/TIFF, or a gray PNG (raw values)."""
    import numpy as np

    from ..images.io import read_image

    p = Path(path)
    ext = p.suffix.lower()
    if ext not in DEPTH_INPUTS:
        raise NormalkitError(f"cannot read depth from '{path}': use one of "
                             f"{', '.join(DEPTH_INPUTS)}")
    if ext == ".npy":
        if not p.is_file():
            raise NormalkitError(f"cannot read '{path}': no such file; check the path")
        try:
            d = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise NormalkitError(f"cannot read '{path}': {exc}") from exc
    else:
        d = read_image(p)
    if d.ndim == 3:
        if d.shape[2] == 1 or (d.shape[2] in (3, 4) and (d[:, :, :3] == d[:, :, :1]).all()):
            d = d[:, :, 0]
        else:
            raise NormalkitError(f"'{path}' has {d.shape[2]} different channels; a depth map "
                                 "has one")
    if d.ndim != 2 or d.dtype.kind not in "fiu":
        raise NormalkitError(f"'{path}' is not a depth map: {d.dtype} array of shape {d.shape}")
    return d.astype(np.float64)


def _camera(args):
    """K (None for orthographic); sets ``args.pixel_size`` to its default if left out."""
    if args.K and args.orthographic:
        raise NormalkitError("give either --K (perspective) or --orthographic, not both")
    if not args.K and not args.orthographic:
        raise NormalkitError("give --K K.txt (3x3 intrinsics in pixels) or --orthographic")
    if args.K and args.pixel_size is not None:
        raise NormalkitError("--pixel-size is for --orthographic only (with --K the pixel "
                             "scale is in K's focal lengths); drop --pixel-size")
    if args.pixel_size is None:
        args.pixel_size = PIXEL_SIZE
    return None if args.orthographic else read_intrinsics(args.K)


def _solver_options(args) -> None:
    """Refuse bilateral-only options with the fast solver; fill in their defaults."""
    if args.solver != "bilateral":
        given = [flag for flag, v in (("-k", args.k), ("--max-iter", args.max_iter))
                 if v is not None]
        if given:
            raise NormalkitError(f"{' and '.join(given)} only appl"
                                 f"{'ies' if len(given) == 1 else 'y'} to --solver bilateral; "
                                 f"drop {' and '.join(given)} or give --solver bilateral")
    if args.k is None:
        args.k = K_SHARPNESS
    if args.max_iter is None:
        args.max_iter = MAX_ITER


def run_integrate(args) -> int:
    """Integrate a camera-space normal map (OpenGL frame: +z toward the viewer) into
    positive z-depth. Perspective (--K): depth up to scale, geometric mean 1 per
    connected region; orthographic: up to offset, mean 0. fast: one
    multigrid-preconditioned least-squares solve, smooth across depth jumps. bilateral:
    bilateral normal integration (BiNI), keeps depth jumps, slower. Pixels outside the
    mask are NaN."""
    import numpy as np

    from ..core.atomic import atomic_path, check_outputs
    from ..images.io import write_image
    from ..maps.integrate import integrate_normals
    from .map_convert import read_map

    out = Path(args.output)
    if out.suffix.lower() not in DEPTH_OUTPUTS:
        raise NormalkitError(f"cannot write depth to '{out}': use one of "
                             f"{', '.join(DEPTH_OUTPUTS)} (float32)")
    check_outputs({"-o": out}, {"NORMALS": args.normals, "--mask": args.mask, "--K": args.K})
    K = _camera(args)
    _solver_options(args)
    if args.median_depth is not None and not (
            np.isfinite(args.median_depth) and (args.median_depth > 0 or args.orthographic)):
        raise NormalkitError(f"--median-depth must be a positive number, not "
                             f"{args.median_depth:g}")
    t0 = time.perf_counter()
    normals, texels = read_map(args.normals, directx=args.directx)
    shape = normals.shape[:2]
    if args.mask:
        mask = read_mask(args.mask, shape)
    elif texels.ndim == 3 and texels.shape[2] == 4:
        mask = texels[:, :, 3] > 0
    else:
        raise NormalkitError(f"'{args.normals}' has no alpha channel: give --mask MASK.png "
                             "(non-zero where the surface is)")
    depth, info = integrate_normals(
        normals, mask, K, solver=args.solver, orthographic=args.orthographic,
        pixel_size=args.pixel_size, k=args.k, max_iter=args.max_iter,
        log=None if args.quiet else log, progress=not args.quiet)
    if args.median_depth is not None:
        med = np.nanmedian(depth)
        depth = depth * (args.median_depth / med) if not args.orthographic \
            else depth + (args.median_depth - med)
    depth32 = depth.astype(np.float32)
    if out.suffix.lower() == ".npy":
        with atomic_path(out) as tmp, open(tmp, "wb") as fh:
            np.save(fh, depth32)
    else:
        write_image(out, depth32)
    lo, med, hi = np.nanpercentile(depth, [0, 50, 100])
    status = "converged" if info.converged else "stopped at the iteration limit"
    what = (f"{info.iterations} IRLS iterations ({status})" if info.solver == "bilateral"
            else f"{info.cg_iterations} CG iterations")
    print(f"{args.normals} → {out}: {shape[1]}x{shape[0]}, {info.pixels:,} pixels, "
          f"{info.solver} solver, {info.projection}, {what}; depth median {med:.4g} "
          f"(range {lo:.4g}..{hi:.4g}) in {time.perf_counter() - t0:.2f} s")
    return 0


def run_depth2normal(args) -> int:
    """Normals of a z-depth map in the OpenGL camera frame (+z toward the viewer), from
    back-projected points; one-sided differences where a neighbour is across a depth
    jump, no normal where both are. The output's alpha channel marks pixels with a
    normal. PNG depth is read as raw integers; zero, NaN and negative depth are empty
    unless --mask is given."""
    import numpy as np

    from ..core.atomic import check_outputs
    from ..images.io import write_image
    from ..maps.depth import depth_to_normals
    from ..maps.encode import encode_normals
    from .map_convert import depth_name, output_bits

    out = Path(args.output)
    bits = output_bits(out, args.bits, 16)
    check_outputs({"-o": out}, {"DEPTH": args.depth, "--mask": args.mask, "--K": args.K})
    K = _camera(args)
    t0 = time.perf_counter()
    depth = read_depth(args.depth)
    mask = read_mask(args.mask, depth.shape) if args.mask else None
    if not args.discontinuity >= 0:
        raise NormalkitError(f"--discontinuity must be ≥ 0 (0: never split), not "
                             f"{args.discontinuity:g}")
    threshold = None if args.discontinuity == 0 else args.discontinuity
    normals, valid = depth_to_normals(depth, mask, K, orthographic=args.orthographic,
                                      pixel_size=args.pixel_size, discontinuity=threshold)
    write_image(out, encode_normals(normals, bits, directx=args.directx), alpha=valid)
    surface = int(mask.sum()) if mask is not None else int(
        (np.isfinite(depth) & (depth > 0)).sum())
    print(f"{args.depth} → {out}: {depth.shape[1]}x{depth.shape[0]}, {depth_name(bits)}, "
          f"{int(valid.sum()):,} of {surface:,} surface pixels with a normal (alpha marks "
          f"them), {'orthographic' if args.orthographic else 'perspective'} "
          f"in {time.perf_counter() - t0:.2f} s")
    return 0


def _camera_args(p) -> None:
    cam = p.add_argument_group("camera")
    cam.add_argument("--K", metavar="K.txt",
                     help="3x3 intrinsics in pixels (fx 0 cx / 0 fy cy / 0 0 1), pixel "
                          "centres at (i+0.5, j+0.5)")
    cam.add_argument("--orthographic", action="store_true",
                     help="orthographic camera instead of --K")
    cam.add_argument("--pixel-size", type=float,
                     help="--orthographic only: pixel width in depth units (default 1)")
    shared(p, mask={"metavar": "MASK.png",
                    "help": "surface mask: non-zero where the surface is (alpha if present, "
                            "else the first channel)"})


def register(sub) -> None:
    p = command(
        sub, "integrate", run_integrate,
        help="depth map from a camera-space normal map (normal integration)",
        inputs={"normals": "camera-space normal map (.png, .exr, .tif)"},
        output="output depth: .exr, .tif or .npy (float32, NaN outside the mask)")
    _camera_args(p)
    shared(p, "directx", quiet="no progress bar or notices")
    p.add_argument("--solver", choices=("fast", "bilateral"), default="fast",
                   help="fast (default) or bilateral (discontinuity-preserving)")
    p.add_argument("-k", type=float,
                   help=f"--solver bilateral only: discontinuity sharpness (default "
                        f"{K_SHARPNESS:g})")
    p.add_argument("--max-iter", type=int,
                   help=f"--solver bilateral only: iteration limit (default {MAX_ITER})")
    p.add_argument("--median-depth", type=float, metavar="D",
                   help="scale (perspective) or shift (orthographic) so the median depth is D")

    q = command(
        sub, "depth2normal", run_depth2normal,
        help="camera-space normal map from a depth map",
        inputs={"depth": "depth map (.exr, .tif, .npy, or gray .png)"},
        output="output normal map: .png (8/16-bit), .exr (32-bit) or .tif")
    _camera_args(q)
    shared(q, bits="output depth (default 16 for PNG/TIFF, 32 for EXR)",
           directx="write DirectX (−Y) green")
    q.add_argument("--discontinuity", type=float, default=0.02, metavar="R",
                   help="relative depth step that splits two neighbours (default 0.02; "
                        "0 never splits)")
