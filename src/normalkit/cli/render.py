"""``normalkit render``: views of a mesh (with its normal map) on an orbit, every pass as files."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..core.errors import NormalkitError
from ..core.plural import count as _count
from .common import command, log, shared, size_options, width_height

#: Encodings written into cameras.json (the "conventions" block) so the files explain themselves.
CONVENTIONS = {
    "camera_frame": "OpenGL: x right, y up, the camera looks down -z. cam_to_world (4x4, "
                    "row lists) has the camera's x, y, z axes and its centre as columns, in "
                    "the mesh's coordinates (= a Blender camera's matrix_world); world_to_cam "
                    "is its inverse.",
    "intrinsics": "K = [[fx, s, cx], [0, fy, cy], [0, 0, 1]] in pixels acts on (x, -y, -z) of "
                  "a camera-frame point (x, y, z): with z-depth d = -z, col = (fx*x + s*(-y))/d "
                  "+ cx and row = fy*(-y)/d + cy. Pixel (row j, column i) spans [i, i+1) x "
                  "[j, j+1): its centre is (i + 0.5, j + 0.5); row 0 is the top of the image.",
    "orthographic": "col = fx*x + cx, row = -fy*y + cy on camera-frame (x, y) in world units; "
                    "ortho_scale = max(width, height) / fx (Blender's).",
    "passes": "Geometric passes (normals, depth, mask, uv, triangle) are sampled by the ray "
              "through each pixel centre; rgb is antialiased with `samples` rays per pixel.",
    "normal_camera": "unit shading normal (after the normal map) in the camera frame: x right, "
                     "y up, +z toward the viewer (Marigold)",
    "normal_world": "unit shading normal in the mesh's coordinates",
    "normal_files": "*.png 8-bit and *_16.png 16-bit: rgb = round(max*(n/2 + 1/2)) (OpenGL "
                    "green); background pixels are 0. *.exr: float32 n in channels R, G, B; "
                    "background 0.",
    "depth": "z-depth: positive distance along the view axis, in mesh units. depth_*.exr: "
             "float32 channel Y, background 0. depth_*.png (8-bit) and depth_*_16.png: value "
             "v with maximum M: v = 0 is background, else depth = near + (v - 1)/(M - 1) * "
             "(far - near) with the view's depth_range [near, far].",
    "mask": "8-bit gray, 255 where the pixel-centre ray hits the mesh",
    "uv": "16-bit RGB: R = frac(u), G = frac(v) (v up, origin bottom-left) times 65535; "
          "B = 65535 where the mesh is hit",
    "triangle": "triangle index + 1 packed into RGB, 0 = background: 8-bit files hold "
                "R*65536 + G*256 + B; 16-bit files (meshes of 2^24 triangles or more) hold "
                "R*2^32 + G*2^16 + B",
    "rgb": "8-bit sRGB RGBA, straight alpha = fraction of the pixel's samples that hit; "
           "shaded by the model named in 'shading' ('unlit': the base colour alone, no "
           "lights); base colour = vertex colours x base-colour texture (glTF)",
}


#: The files of view k: role (the key in cameras.json's "files") → name pattern.
VIEW_FILES = {
    "rgb": "rgb_{k:03d}.png",
    **{f"{name}_{key}": f"{name}_{{k:03d}}{suffix}"
       for name in ("normal_camera", "normal_world", "depth")
       for key, suffix in (("8", ".png"), ("16", "_16.png"), ("exr", ".exr"))},
    "mask": "mask_{k:03d}.png",
    "uv": "uv_{k:03d}.png",
    "triangle": "triangle_{k:03d}.png",
}
#: At most this many views: each writes len(VIEW_FILES) files and keeps a turntable frame.
MAX_VIEWS = 1000


def output_names(views: int) -> list[str]:
    """Every file ``normalkit render`` may write for ``views`` views."""
    names = [pattern.format(k=k) for k in range(views) for pattern in VIEW_FILES.values()]
    return names + ["turntable.gif", "turntable.mp4", "cameras.json"]


def _write(out: Path, files: dict, role: str, k: int, image) -> None:
    from ..images.io import write_image

    files[role] = VIEW_FILES[role].format(k=k)
    write_image(out / files[role], image)


def _normal_files(name: str, n, mask, k: int, out: Path, files: dict) -> None:
    from ..maps.encode import encode_normals

    for bits in (8, 16):
        enc = encode_normals(n, bits)
        enc[~mask] = 0
        _write(out, files, f"{name}_{bits}", k, enc)
    _write(out, files, f"{name}_exr", k, n)


def _depth_files(depth, mask, k: int, out: Path, files: dict) -> list[float]:
    import numpy as np

    near = float(depth[mask].min()) if mask.any() else 0.0
    far = float(depth[mask].max()) if mask.any() else 0.0
    span = (far - near) or 1.0
    for bits in (8, 16):
        top = 255 if bits == 8 else 65535
        v = np.zeros(depth.shape, np.uint8 if bits == 8 else np.uint16)
        v[mask] = np.rint(1 + (depth[mask] - near) / span * (top - 1))
        _write(out, files, f"depth_{bits}", k, v)
    _write(out, files, "depth_exr", k, depth.astype(np.float32))
    return [near, far]


def _triangle_image(tri, n_faces: int):
    import numpy as np

    ids = tri.astype(np.int64) + 1
    if n_faces + 1 < 1 << 24:
        return np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], -1).astype(np.uint8)
    return np.stack([(ids >> 32) & 65535, (ids >> 16) & 65535, ids & 65535],
                    -1).astype(np.uint16)


def _straight_rgba(rgb, alpha):
    """Premultiplied sRGB over black + coverage → 8-bit straight-alpha sRGB RGBA."""
    import numpy as np

    from ..rendering.render import linear_to_srgb, srgb_to_linear

    lin = srgb_to_linear(rgb)
    a = alpha[..., None]
    straight = np.divide(lin, a, out=np.zeros_like(lin), where=a > 0)
    rgba = np.concatenate([linear_to_srgb(straight), alpha[..., None]], axis=-1)
    return np.rint(np.clip(rgba, 0, 1) * 255).astype(np.uint8)


def _over_background(rgb, alpha, grey: float = 0.18):
    """Premultiplied sRGB over black → 8-bit sRGB over a mid-grey background (linear blend)."""
    import numpy as np

    from ..rendering.render import linear_to_srgb, srgb_to_linear

    lin = srgb_to_linear(rgb) + (1.0 - alpha[..., None]) * np.float32(grey)
    return np.rint(linear_to_srgb(lin) * 255).astype(np.uint8)


def write_turntable(frames, out: Path) -> list[str]:
    """Write ``turntable.gif`` (Pillow) and, when imageio-ffmpeg is installed, ``turntable.mp4``.

    ``frames``: list of (H, W, 3) uint8 sRGB images in orbit order. Returns the file names.
    A full turn lasts about 4 s (at least 40 ms per frame).
    """
    from PIL import Image

    from ..core.atomic import atomic_path

    ms = max(40, round(4000 / len(frames)))
    written = []
    with atomic_path(out / "turntable.gif") as tmp:
        imgs = [Image.fromarray(f) for f in frames]
        imgs[0].save(tmp, save_all=True, append_images=imgs[1:], duration=ms, loop=0,
                     optimize=False)
    written.append("turntable.gif")
    try:
        import imageio_ffmpeg
    except ImportError:
        return written
    import numpy as np

    h, w = frames[0].shape[:2]
    he, we = h + h % 2, w + w % 2  # H.264 4:2:0 needs even sizes
    with atomic_path(out / "turntable.mp4") as tmp:
        gen = imageio_ffmpeg.write_frames(tmp, (we, he), fps=1000 / ms, codec="libx264",
                                          pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
                                          quality=8, macro_block_size=1,
                                          output_params=["-loglevel", "error"])
        gen.send(None)
        for f in frames:
            if (he, we) != (h, w):
                f = np.pad(f, ((0, he - h), (0, we - w), (0, 0)), mode="edge")
            gen.send(np.ascontiguousarray(f).tobytes())
        gen.close()
    written.append("turntable.mp4")
    return written


def run(args) -> int:
    """Render MESH from cameras on an orbit around it (framed automatically). Per view:
    shaded RGB, camera- and world-space normals (8/16-bit PNG and EXR), z-depth (PNG and
    EXR), mask, UV and triangle-id images; plus cameras.json (K and camera-to-world of
    every view, OpenGL frame) and a turntable GIF (and MP4 when imageio-ffmpeg is
    installed). The surface colour is the mesh's own, as glTF defines it: vertex colours
    (PLY, OBJ, glTF COLOR_0) times its base-colour texture (or --color instead of that
    texture); --base-color only for a mesh with neither. --shading unlit renders that
    colour alone, without lights: an albedo view to compare a reconstructed colour
    texture with."""
    import numpy as np

    from ..core.atomic import atomic_folder, atomic_path, check_outputs
    from ..core.limits import check_memory
    from ..core.progress import progress_bar
    from ..mesh.io import load_mesh
    from ..rendering.camera import orbit_angles, orbit_cameras, pixel_sample_offsets
    from ..rendering.render import PASSES, Material, Renderer, peak_bytes

    t_start = time.perf_counter()
    if args.views is not None and args.azimuths is not None:
        raise NormalkitError("give either --views or --azimuths, not both")
    if (args.normal_map is None) and (args.space != "tangent" or args.directx):
        raise NormalkitError("--space and --directx describe a --normal-map; give the map too")
    az, el = orbit_angles(args.views if args.views is not None else 8, args.azimuths,
                          args.elevations)
    if len(az) > MAX_VIEWS:
        raise NormalkitError(f"{len(az)} views is more than {MAX_VIEWS} (each writes "
                             f"{len(VIEW_FILES)} files); render fewer views per run")
    pixel_sample_offsets(args.samples)  # the renderer's own check, before any work
    width, height = width_height(args)
    check_memory(peak_bytes(width, height), f"a {width}×{height} render",
                 "render smaller images (--size)")
    material = Material(roughness=args.roughness, model=args.shading,
                        base_color=tuple(args.base_color)).validate()
    out = Path(args.output)
    inputs = {"MESH": args.mesh, "--normal-map": args.normal_map, "--color": args.color}
    check_outputs([("output", n) for n in output_names(len(az))], inputs, folder=out)
    mesh = load_mesh(args.mesh)
    renderer = Renderer(mesh, normal_map=args.normal_map, space=args.space,
                        directx=args.directx, color_map=args.color, threads=args.threads,
                        log=log)
    cams = orbit_cameras(renderer.mesh, azimuths=az, elevations=el, size=args.size,
                         width=width, height=height, fov_deg=args.fov,
                         distance=args.distance, up=tuple(args.up),
                         orthographic=args.ortho)

    views, frames = [], []
    rays = 0
    t_render = 0.0
    with atomic_folder(out, inputs) as stage:
        bar = progress_bar(len(cams), not args.quiet, "views", "view")
        for k, cam in enumerate(cams):
            t0 = time.perf_counter()
            res = renderer.render(cam, material=material, samples=args.samples,
                                  passes=PASSES + ("alpha",))
            t_render += time.perf_counter() - t0
            rays += renderer.last_stats["rays"]
            mask = res["mask"]
            files = {}
            _write(stage, files, "rgb", k, _straight_rgba(res["rgb"], res["alpha"]))
            frames.append(_over_background(res["rgb"], res["alpha"]))
            for name in ("normal_camera", "normal_world"):
                _normal_files(name, res[name], mask, k, stage, files)
            depth_range = _depth_files(res["depth"], mask, k, stage, files)
            _write(stage, files, "mask", k, mask.astype(np.uint8) * 255)
            uv = res["uv"]
            uv_img = np.zeros(uv.shape[:2] + (3,), np.uint16)
            uv_img[..., :2] = np.rint((uv - np.floor(uv)) * 65535).astype(np.uint16)
            uv_img[~mask] = 0
            uv_img[mask, 2] = 65535
            _write(stage, files, "uv", k, uv_img)
            _write(stage, files, "triangle", k,
                   _triangle_image(res["triangle"], renderer.mesh.n_faces))
            views.append({"index": k, "azimuth_deg": float(az[k]),
                          "elevation_deg": float(el[k]), **cam.to_json(),
                          "depth_range": depth_range, "files": files})
            bar.update(1)
        bar.close()
        extra = write_turntable(frames, stage)
        doc = {
            "format": "normalkit cameras 1",
            "mesh": Path(args.mesh).name,
            "faces": renderer.mesh.n_faces,
            "width": cams[0].width, "height": cams[0].height,
            "samples": args.samples,
            "normal_map": Path(args.normal_map).name if args.normal_map else None,
            "space": args.space if args.normal_map else None,
            "directx": bool(args.directx),
            "shading": args.shading,
            "conventions": CONVENTIONS,
            "turntable": extra,
            "views": views,
        }
        with atomic_path(stage / "cameras.json") as tmp:
            Path(tmp).write_text(json.dumps(doc, indent=1))
    seconds = time.perf_counter() - t_start
    c = cams[0]
    print(f"{renderer.mesh.name}: {renderer.mesh.n_faces:,} faces, {_count(len(cams), 'view')} "
          f"{c.width}×{c.height} at {args.samples} spp: {rays:,} rays in {t_render:.2f} s "
          f"({rays / max(t_render, 1e-9) / 1e6:.2f} Mrays/s, "
          f"{_count(renderer.threads, 'thread')}); {seconds:.2f} s total → {out}/ "
          f"(cameras.json, {', '.join(extra)})")
    return 0


def register(sub) -> None:
    r = command(
        sub, "render", run,
        help="render views of a mesh with its normal map (RGB, normals, depth, …)",
        inputs={"mesh": "mesh (OBJ, PLY, STL, OFF, glTF/GLB); UVs needed for maps"},
        output="output folder (created if missing)")
    size_options(r, 1024, "image")
    shared(r, "space", "threads", "quiet",
           directx="the map's green channel is DirectX (flipped)",
           samples="rays per pixel for the RGB view, a perfect square (default 4)")
    r.add_argument("--normal-map", help="normal map image (PNG 8/16-bit, EXR, TIFF)")
    r.add_argument("--color", help="base-colour texture (8/16-bit sRGB, or float linear); "
                                   "replaces the mesh's own texture, times its vertex colours")
    cams = r.add_argument_group("cameras")
    cams.add_argument("--views", type=int,
                      help="number of views evenly spaced in azimuth, at most 1000 (default 8)")
    cams.add_argument("--azimuths", type=float, nargs="+", metavar="DEG",
                      help="explicit azimuths in degrees (0 = front, 90 = right side)")
    cams.add_argument("--elevations", type=float, nargs="+", metavar="DEG",
                      help="elevations in degrees, paired with the azimuths, or one for all "
                           "(default 20)")
    cams.add_argument("--fov", type=float, default=40.0,
                      help="field of view across the larger side, degrees (default 40)")
    cams.add_argument("--distance", type=float,
                      help="camera distance from the mesh centre (default: frame the mesh)")
    cams.add_argument("--ortho", action="store_true", help="orthographic cameras")
    cams.add_argument("--up", type=float, nargs=3, default=(0.0, 0.0, 1.0),
                      metavar=("X", "Y", "Z"),
                      help="orbit axis and screen up (default 0 0 1; use 0 1 0 for Y-up "
                           "files)")
    look = r.add_argument_group("shading")
    # rendering.render.MODELS, spelled out: the CLI imports no NumPy until a command runs
    look.add_argument("--shading", choices=("ggx", "blinn-phong", "lambert", "unlit"),
                      default="ggx",
                      help="shading model (default ggx); lambert: diffuse only; unlit: the "
                           "base colour itself, no lights (albedo)")
    look.add_argument("--roughness", type=float, default=0.45, help="0-1 (default 0.45)")
    look.add_argument("--base-color", type=float, nargs=3, default=(0.7, 0.7, 0.7),
                      metavar=("R", "G", "B"),
                      help="linear base colour of a mesh without vertex colours or texture "
                           "(default 0.7 0.7 0.7)")
