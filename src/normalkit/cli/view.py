"""``normalkit view``: the asset in a three.js page served on 127.0.0.1."""

from __future__ import annotations

import time

from .common import command, log


def port_number(text: str) -> int:
    """argparse type for ``--port``: 0 (any free port) to 65535."""
    import argparse

    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 (any free one) to 65535, "
                                         f"got {text!r}")
    return port


def run(args) -> int:
    """Look at an asset in the browser: orbit it lit by a sun you drag (Shift-drag) and
    an environment light, and toggle its normal map, a wireframe, a UV checker, view-space
    normals as colours and the map texture itself. ASSET is a GLB (its TANGENT attribute
    is what makes three.js read the map as it was baked), another mesh file (converted,
    with --normal-map), or an output folder of `normalkit reduce` or `reconstruct`
    (its GLB and report). --high shows the high-poly beside it or in its place; --views
    draws a reconstruction's cameras as frustums carrying their images, and a click looks
    through one with its image over the render. The page is served on 127.0.0.1 only
    (a free port unless --port), works offline (three.js is bundled), and opens in the
    browser unless --no-browser. Ctrl-C stops it."""
    from ..core import interrupt
    from ..viewing.scene import resolve_scene
    from ..viewing.server import ViewerServer

    scene = resolve_scene(args.asset, high=args.high, views=args.views,
                          normal_map=args.normal_map, log=log)
    with ViewerServer(scene, port=args.port, log=log) as server:
        print(f"serving {scene.title} on {server.url} (Ctrl-C stops)", flush=True)
        if not args.no_browser:
            import webbrowser

            if not webbrowser.open(server.url):
                log(f"no browser could be opened here; open {server.url} yourself")
        try:
            while True:
                time.sleep(0.2)
                interrupt.check()
        except KeyboardInterrupt:
            print("stopped", flush=True)
    return 0


def register(sub) -> None:
    v = command(
        sub, "view", run,
        help="look at an asset in the browser (three.js, served on 127.0.0.1)",
        inputs={"asset": "a GLB, another mesh file (OBJ, PLY, …), or an output folder of "
                         "`normalkit reduce` or `reconstruct`"})
    v.add_argument("--high", metavar="MESH",
                   help="the high-poly, to compare beside the asset or in its place")
    v.add_argument("--views", metavar="VIEWS",
                   help="views folder (cameras.json or transforms.json), or the JSON file: "
                        "draws the cameras with their images")
    v.add_argument("--normal-map", metavar="PNG",
                   help="tangent-space normal map (OpenGL green) for an asset that is not a "
                        "GLB")
    v.add_argument("--port", type=port_number, default=0,
                   help="port on 127.0.0.1 (default 0: any free port)")
    v.add_argument("--no-browser", action="store_true",
                   help="only serve the page; do not open a browser")
