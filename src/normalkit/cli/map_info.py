"""``normalkit map info``: is this a normal map, which convention, is it clean?"""

from __future__ import annotations

from ..core.errors import NormalkitError
from .common import command, shared


def run(args) -> int:
    """Examine a normal map's texels: share of non-unit vectors (before
    renormalization), negative z, tangent or object space, a guess at DirectX vs OpenGL
    green with a confidence, and 8-bit banding. An image that is not a normal map (a
    photo, a colour texture) is reported as such; the exit code is 0 either way, 2 if
    the file cannot be read."""
    import numpy as np

    from ..images.io import read_image
    from ..maps.validate import map_info

    texels = read_image(args.map)
    mask = None
    if args.mask:
        m = read_image(args.mask)
        if m.ndim == 3:
            m = m[:, :, 3] if m.shape[2] == 4 else m[:, :, 0]
        if m.shape != texels.shape[:2]:
            raise NormalkitError(f"mask '{args.mask}' is {m.shape[1]}x{m.shape[0]} but the "
                                 f"map is {texels.shape[1]}x{texels.shape[0]}")
        mask = np.asarray(m) > 0
    print(f"{args.map}:")
    print(map_info(texels, mask))
    return 0


def register(sub) -> None:
    p = command(
        sub, "info", run,
        help="report on a normal map: unit length, z, DirectX/OpenGL, banding",
        inputs={"map": "normal map image"})
    shared(p, mask="examine only the texels where this image is non-zero (its alpha, or "
                   "first channel)")
