"""Headless Chromium for the viewer tests: Debian's ``chromium``, driven by Playwright for
Python through ``executable_path`` (``playwright install`` would download a browser,
which cannot work here). WebGL runs on SwiftShader, Chromium's CPU renderer.

:func:`missing_browser` says why the tests cannot run; they skip for that reason, except
where ``NORMALKIT_REQUIRE_BROWSER=1`` (CI's ``.ci/run`` sets it, after installing the
package where it is missing), which turns the skip into a failure.
"""

from __future__ import annotations

import base64
import io
import os
import shutil

import numpy as np

#: Where Debian's package puts it; NORMALKIT_CHROMIUM overrides.
CHROMIUM = os.environ.get("NORMALKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
#: As root, with no GPU, no display and no network beyond 127.0.0.1.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
        "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not os.path.isfile(CHROMIUM):
        return (f"no Chromium at {CHROMIUM}; install Debian's chromium package "
                "(apt-get install chromium) or set NORMALKIT_CHROMIUM")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def required() -> bool:
    return os.environ.get("NORMALKIT_REQUIRE_BROWSER") == "1"


def launch(playwright):
    """A headless Chromium (Playwright Browser) with a fresh profile."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)


def data_url_image(url: str) -> np.ndarray:
    """A ``data:image/png;base64,…`` URL (canvas.toDataURL) as an (H, W, 3) uint8 array."""
    from PIL import Image

    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def rgba_pixels(result: dict) -> np.ndarray:
    """``normalkit.normalPass``'s result as an (H, W, 4) uint8 array, row 0 at the top."""
    raw = base64.b64decode(result["data"])
    return np.frombuffer(raw, np.uint8).reshape(result["height"], result["width"], 4)
