"""What the command modules share: their set-up (:func:`command`, :func:`shared`, one
declaration of every option that several commands take) and small helpers."""

from __future__ import annotations

import argparse
import math
import sys


def log(msg: str) -> None:
    """One-line notices and warnings go to stderr; results go to stdout."""
    print(msg, file=sys.stderr)


def padding_arg(text: str) -> float:
    """argparse type for ``--padding``: a non-negative integer or 'inf'."""
    if text.lower() in ("inf", "infinite", "infinity"):
        return math.inf
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"padding must be an integer or 'inf', got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("padding must be ≥ 0")
    return value


def image_output(path, bits: int | None, label: str = "-o") -> None:
    """Before any work: ``path`` is an image file name whose format holds ``bits`` (any
    depth when None)."""
    from ..images.io import check_output_path

    check_output_path(path, bits, label)


def write_images(pending) -> None:
    """Write (path, image) pairs, or (path, image, text metadata), so that all files
    appear together, or none: each goes to a temporary file first, and the renames
    happen only once every write succeeded."""
    import contextlib

    from ..core.atomic import atomic_path
    from ..core.interrupt import shielded
    from ..images.io import write_image

    with contextlib.ExitStack() as outer:
        with contextlib.ExitStack() as stack:
            for path, image, *text in pending:
                write_image(stack.enter_context(atomic_path(path)), image,
                            text=text[0] if text else None)
            outer.enter_context(shielded())  # held while `stack` renames them all


def width_height(args) -> tuple[int, int]:
    """``--width``/``--height`` (both or neither), else ``--size`` square; in range."""
    from ..core.errors import NormalkitError
    from ..core.limits import check_size

    if (args.width is None) != (args.height is None):
        given, missing = ("--width", "--height") if args.height is None else ("--height",
                                                                               "--width")
        raise NormalkitError(f"{given} needs {missing} too (or --size N for a square)")
    if args.width is None:
        size = check_size(args.size, "--size")
        return size, size
    return check_size(args.width, "--width"), check_size(args.height, "--height")


#: Options that several commands take, declared once: name → (flags, argparse settings).
#: A command adds them with :func:`shared`, giving its own help text where it differs.
SHARED_OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
    "output": (("-o", "--output"), {"required": True}),
    "bits": (("--bits",), {"type": int, "choices": (8, 16, 32),
                           "help": "output depth (default: the input's)"}),
    "directx": (("--directx",), {"action": "store_true",
                                 "help": "the map has DirectX (−Y) green"}),
    "quiet": (("-q", "--quiet"), {"action": "store_true", "help": "no progress bar"}),
    "threads": (("--threads",), {"type": int, "help": "worker threads (default: all cores)"}),
    "size": (("--size",), {"type": int}),
    "width": (("--width",), {"type": int}),
    "height": (("--height",), {"type": int}),
    "space": (("--space",), {"choices": ("tangent", "object"), "default": "tangent",
                             "help": "the map's space: tangent (MikkTSpace, default) or "
                                     "object"}),
    "hard_angle": (("--hard-angle",), {"type": float, "metavar": "DEG"}),
    "samples": (("--samples",), {"type": int, "default": 4}),
    "mask": (("--mask",), {}),
}


def shared(parser, *names: str, **settings) -> None:
    """Add shared options to ``parser``: ``shared(p, "quiet", bits="output depth …",
    size={"default": 1024, "help": "…"})``. A name alone takes the declared help; a
    string replaces the help; a dict overrides any setting."""
    for name in names:
        settings.setdefault(name, {})
    for name, value in settings.items():
        flags, base = SHARED_OPTIONS[name]
        extra = {"help": value} if isinstance(value, str) else value
        parser.add_argument(*flags, **{**base, **extra})


def command(sub, name: str, run, *, help: str, inputs: dict, description: str | None = None,
            output: str | None = None, output_metavar: str | None = None):
    """A subcommand: its parser with positional ``inputs`` ({name: help}) and, when
    ``output`` (its help) is given, ``-o/--output``; ``run(args)`` carries it out.
    ``--help`` describes the command with ``description``, by default ``run``'s
    docstring (so the text stands next to the code it describes)."""
    import inspect

    if description is None:
        description = inspect.cleandoc(run.__doc__ or "")
    p = sub.add_parser(name, help=help, description=description)
    for arg, text in inputs.items():
        p.add_argument(arg, help=text)
    if output is not None:
        shared(p, output={"help": output, "metavar": output_metavar})
    p.set_defaults(func=run)
    return p


def map_options(parser) -> None:
    """``--maps`` and the options of the maps beyond the normal map (bake, reduce)."""
    parser.add_argument("--maps", default="normal", metavar="LIST",
                        help="comma-separated maps to bake on the same rays: normal, ao, "
                             "height, curvature, thickness, bent, position, id (default "
                             "normal)")
    parser.add_argument("--ao-rays", type=int, default=64, metavar="N",
                        help="hemisphere rays per sample for ao, bent and thickness "
                             "(default 64)")
    parser.add_argument("--ao-distance", type=float, metavar="D",
                        help="how far ao and bent rays look (default 10%% of the "
                             "high-poly's bbox diagonal)")
    for name in ("height", "curvature", "thickness"):
        parser.add_argument(f"--{name}-range", type=float, metavar="R",
                            help=f"fix the {name} map's range (default: the range it uses)")
    parser.add_argument("--id-source", choices=("part", "material", "color"),
                        default="part",
                        help="id map: a colour per connected part (default), per material, "
                             "or the vertex colour")


def map_settings(args):
    """(maps, MapSettings) from :func:`map_options`' arguments, checked."""
    from ..baking.maps import MapSettings, check_maps

    return check_maps(args.maps), MapSettings(
        ao_rays=args.ao_rays, ao_distance=args.ao_distance, height_range=args.height_range,
        curvature_range=args.curvature_range, thickness_range=args.thickness_range,
        id_source=args.id_source).check()


def size_options(parser, default: int, what: str) -> None:
    """``--size`` (square) or ``--width`` with ``--height``; see :func:`width_height`."""
    shared(parser, size={"default": default,
                         "help": f"square {what} size, 16-32768 (default {default})"},
           width=f"{what} width, with --height (instead of --size)",
           height=f"{what} height, with --width (instead of --size)")
