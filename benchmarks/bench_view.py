"""``normalkit view``: time until the page is served, against a bare static server.

The goal (issue 13): starting ``normalkit view`` takes under 1 s before the page is
served. Measured from the process's start until ``GET /`` answers 200, over REPEATS
runs, on a reduced asset's output folder (GLB 2,000 triangles, 512² maps). The peer is
``python -m http.server`` serving the same folder: the floor for any Python server.

Then, where Debian's chromium is installed, the page in headless Chromium (SwiftShader
WebGL, no GPU): seconds until it signals ready (GLB loaded, first frame drawn), and until
the 262k-triangle high-poly (converted to GLB on request) shows beside it.

Run: ``.venv/bin/python benchmarks/bench_view.py``.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

REPEATS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_to_page(args: list[str], url: str) -> float:
    """Seconds from spawning ``args`` until ``url`` answers 200."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{args[:3]} exited with {proc.returncode}") from None
                time.sleep(0.005)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    from normalkit.assets.reduce import reduce
    from normalkit.mesh.examples import colored_bumpy_torus
    from normalkit.mesh.io import save_ply

    cores = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="bench_view_") as tmp:
        tmp = Path(tmp)
        save_ply(colored_bumpy_torus(high_faces=262_144), tmp / "high.ply")
        reduce(tmp / "high.ply", tmp / "torus", faces=2000, size=512, name="torus")
        exe = str(Path(sys.executable).with_name("normalkit"))
        ours, peer = [], []
        for _ in range(REPEATS):
            port = free_port()
            ours.append(time_to_page([exe, "view", str(tmp / "torus"), "--no-browser",
                                      "--port", str(port)], f"http://127.0.0.1:{port}/"))
            port = free_port()
            peer.append(time_to_page([sys.executable, "-m", "http.server", str(port), "--bind",
                                      "127.0.0.1", "--directory", str(tmp / "torus")],
                                     f"http://127.0.0.1:{port}/"))
        a, b = statistics.median(ours), statistics.median(peer)
        print(f"time until the page is served (median of {REPEATS}, {cores} cores):")
        print(f"  normalkit view       {a:.3f} s (max {max(ours):.3f} s)")
        print(f"  python -m http.server {b:.3f} s")
        print(f"  ratio {a / b:.2f}x; goal < 1 s: {'PASS' if max(ours) < 1.0 else 'FAIL'}")
        browser_times(tmp)
    return 0


def browser_times(tmp: Path) -> None:
    from browser import launch, missing_browser

    why = missing_browser()
    if why:
        print(f"(no browser timings: {why})")
        return
    from playwright.sync_api import sync_playwright

    from normalkit.viewing.scene import resolve_scene
    from normalkit.viewing.server import ViewerServer

    scene = resolve_scene(tmp / "torus", high=tmp / "high.ply")
    with ViewerServer(scene) as server, sync_playwright() as p:
        b = launch(p)
        page = b.new_page(viewport={"width": 1280, "height": 800})
        t0 = time.perf_counter()
        page.goto(server.url)
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
        ready = time.perf_counter() - t0
        t0 = time.perf_counter()
        page.evaluate("window.normalkit.set('high', 'side')")
        high = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(5):
            page.evaluate("window.normalkit.capture()")
        frame = (time.perf_counter() - t0) / 5
        b.close()
    print("headless Chromium, SwiftShader WebGL (CPU), 1280×800:")
    print(f"  page ready (GLB loaded, first frame)        {ready:.2f} s")
    print(f"  high-poly beside it (262k triangles → GLB)  {high:.2f} s")
    print(f"  one frame with both, plus PNG readback      {frame:.3f} s")


if __name__ == "__main__":
    sys.exit(main())
