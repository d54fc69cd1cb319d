"""``normalkit estimate normals|depth|eval``: normal maps and depth from RGB with diffusion
models (Marigold), and the harness that measures them."""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import NormalkitError
from .common import log

NORMALS_MODEL = "prs-eth/marigold-normals-v1-1"
DEPTH_MODEL = "prs-eth/marigold-depth-v1-1"


def _options(args) -> dict:
    """The model options given on the command line; the estimator's own defaults (the
    ones --help names) fill in the rest, and an oracle refuses all but --seed."""
    opts = {"steps": args.steps, "ensemble": args.ensemble, "resolution": args.resolution,
            "seed": args.seed, "batch_size": args.batch_size, "device": args.device,
            "dtype": args.dtype}
    return {k: v for k, v in opts.items() if v is not None}


def _estimator(model: str, task: str, args):
    from ..estimation import load_estimator

    return load_estimator(model, task, **_options(args))


def _is_views(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() == ".json"


def run_normals(args) -> int:
    """Estimate a camera-frame normal map (x right, y up, +z toward the viewer; 16-bit
    PNG rgb = n/2 + 1/2, or EXR floats) from INPUT, a photo or render (RGB, RGBA or
    greyscale; alpha is composited over white). When INPUT is a views folder (or its
    cameras.json / transforms.json), every view gets its normal map: in place when the
    views have none yet, or, with -o OUTDIR, in a new copy of the views; `normalkit
    reconstruct` then runs on them. The default model is prs-eth/marigold-normals-v1-1
    (a hub id, or any local folder that diffusers' save_pretrained wrote)."""
    return _run_single(args, "normals")


def run_depth(args) -> int:
    """Estimate relative (affine-invariant) depth from INPUT with Marigold depth: 0 near,
    1 far, written as a 16-bit grey PNG or an EXR of floats."""
    return _run_single(args, "depth")


def _run_single(args, task: str) -> int:
    from ..core.atomic import check_outputs

    src = Path(args.input)
    model = args.model or (NORMALS_MODEL if task == "normals" else DEPTH_MODEL)
    if task == "normals" and _is_views(src):
        return _run_views(args, src, model)
    if args.output is None:
        raise NormalkitError("give the output image with -o (e.g. -o normals.png)")
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".exr"):
        raise NormalkitError(f"-o '{out}': write a .png (16-bit) or an .exr")
    outputs = {"-o": out}
    if args.uncertainty:
        if (args.ensemble or 1) < 2:
            raise NormalkitError("--uncertainty needs --ensemble 2 or more (the spread of "
                                 "the ensemble's predictions)")
        if Path(args.uncertainty).suffix.lower() not in (".png", ".exr"):
            raise NormalkitError(f"--uncertainty '{args.uncertainty}': write a .png (16-bit, "
                                 "clipped to [0, 1]) or an .exr")
        outputs["--uncertainty"] = Path(args.uncertainty)
    check_outputs(outputs, {"INPUT": src})
    from ..images.io import read_image

    image = read_image(src)
    est = _estimator(model, task, args).predict(image, label=str(src))
    pending = [(out, _encoded(est, task, out))]
    if args.uncertainty:
        pending.append((Path(args.uncertainty), _plane(est.uncertainty, Path(args.uncertainty))))
    from .common import write_images

    write_images(pending)
    h, w = image.shape[:2]
    print(f"{task} of {src} ({w}x{h}) in {est.model_seconds:.2f} s → {out}")
    return 0


def _encoded(est, task: str, out: Path):
    import numpy as np

    if task == "depth":
        return _plane(est.depth, out)
    if out.suffix.lower() == ".exr":
        return est.normals.astype(np.float32)
    from ..maps.encode import encode_normals

    return encode_normals(est.normals, 16)


def _plane(a, out: Path):
    import numpy as np

    if out.suffix.lower() == ".exr":
        return a.astype(np.float32)
    return np.rint(np.clip(a, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _run_views(args, src: Path, model: str) -> int:
    from ..estimation import estimate_views

    if args.uncertainty:
        raise NormalkitError("--uncertainty is for one image; a views folder keeps normals "
                             "only")
    est = _estimator(model, "normals", args)
    result = estimate_views(src, est, outdir=args.output, progress=not args.quiet, log=log)
    agree = result["agreement"]
    spread = ("" if agree["median_deg"] is None else
              f"; views disagree by a median {agree['median_deg']:.2f}° where they overlap "
              f"(on the visual hull, {agree['pixels']} pixel pairs)")
    print(f"estimated the normals of {len(result['views'])} views with {est.name} → "
          f"{result['folder']}{spread}")
    return 0


def run_eval(args) -> int:
    """Measure a model on VIEWS, a views folder with ground-truth normals (our renders,
    say): per image and pooled mean and median angular error and the share of pixels
    within 11.25°, 22.5° and 30°, over each view's mask in the camera frame; seconds per
    image (model and overhead) and peak memory; a sheet per view (RGB | truth |
    prediction | error heat map) and report.html in -o OUTDIR. --model oracle (the truth,
    0°) and oracle:DEG (every normal turned by DEG) test the harness itself."""
    from ..estimation import evaluate

    if not args.model:
        raise NormalkitError("give the model to measure with --model (a Marigold folder or "
                             "hub id, or oracle / oracle:DEG)")
    est = _estimator(args.model, "normals", args)
    other = _estimator(args.compare_to, "normals", args) if args.compare_to else None
    report = evaluate(args.views, est, compare_to=other, outdir=args.output,
                      progress=not args.quiet, log=log)
    for m in report["models"]:
        p, s = m["pooled"], m["seconds"]
        print(f"{m['model']['name']}: mean {p['mean']:.2f}°, median {p['median']:.2f}°, "
              f"< 11.25° {p['within_11.25']:.1f} %, < 22.5° {p['within_22.5']:.1f} %, "
              f"< 30° {p['within_30']:.1f} % over {p['pixels']} pixels of "
              f"{len(m['views'])} images; {s['seconds']:.2f} s per image "
              f"({s['overhead_seconds']:.3f} s outside the model)")
    if args.json:
        from ..core.atomic import atomic_path

        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=2))
    if args.output:
        print(f"sheets and report.html → {args.output}")
    return 0


def _model_options(p, default: str | None) -> None:
    p.add_argument("--model", default=None, metavar="M",
                   help=f"local Marigold folder or hub id (default {default})" if default
                   else "model to measure: a local Marigold folder, a hub id, oracle or "
                        "oracle:DEG")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="denoising steps (default: the checkpoint's)")
    p.add_argument("--ensemble", type=int, default=None, metavar="N",
                   help="predictions averaged per image; ≥ 2 gives an uncertainty (default 1)")
    p.add_argument("--resolution", type=int, default=None, metavar="PX",
                   help="processing resolution, the longer side, a multiple of 8 (default: "
                        "the checkpoint's, 768)")
    p.add_argument("--seed", type=int, default=None, help="seed of the noise (default 0)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="ensemble members per forward pass (default 1)")
    p.add_argument("--device", default=None, choices=("cpu", "cuda", "mps"),
                   help="where the model runs (default cpu)")
    p.add_argument("--dtype", default=None, choices=("float32", "float16", "bfloat16"),
                   help="weights' precision; half precision needs a GPU (default float32)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def register(sub) -> None:
    e = sub.add_parser("estimate", help="normal maps and depth from RGB with diffusion "
                                        "models (Marigold), and their evaluation",
                       description="Estimate camera-frame normal maps or relative depth from "
                                   "RGB images with Marigold (pip install "
                                   "'normalkit[estimate]'), and measure models against "
                                   "ground truth.")
    esub = e.add_subparsers(dest="estimate_command", required=True)
    for name, run, default, short, out_help in (
            ("normals", run_normals, NORMALS_MODEL,
             "camera-frame normal map of a photo, or of every view of a views folder",
             "output normal map (.png 16-bit or .exr); for a views folder, a new folder "
             "(default: fill the views in place)"),
            ("depth", run_depth, DEPTH_MODEL, "relative depth of a photo",
             "output depth (.png 16-bit or .exr)")):
        p = esub.add_parser(name, help=short,
                            description=" ".join((run.__doc__ or "").split()))
        p.add_argument("input", help="image (PNG, JPEG, EXR, …)"
                       + (" or a views folder / cameras.json / transforms.json"
                          if name == "normals" else ""))
        p.add_argument("-o", "--output", default=None, metavar="OUT", help=out_help)
        p.add_argument("--uncertainty", default=None, metavar="OUT",
                       help="also write the ensemble's uncertainty (needs --ensemble ≥ 2)")
        _model_options(p, default)
        p.set_defaults(func=run)
    p = esub.add_parser("eval", help="measure a model on views with ground-truth normals",
                        description=" ".join((run_eval.__doc__ or "").split()))
    p.add_argument("views", help="views folder, cameras.json or transforms.json with normals")
    p.add_argument("-o", "--output", default=None, metavar="OUTDIR",
                   help="folder for the sheets, report.json and report.html")
    p.add_argument("--compare-to", default=None, metavar="M2",
                   help="a second model, run on the same views")
    p.add_argument("--json", default=None, metavar="OUT.json", help="write the report here")
    _model_options(p, None)
    p.set_defaults(func=run_eval)
