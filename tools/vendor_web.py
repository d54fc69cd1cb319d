#!/usr/bin/env python3
"""Bundle three.js into the package: ``src/normalkit/viewing/web/vendor/three/``.

The viewer (``normalkit view``) is fully offline: its page loads three.js, GLTFLoader,
OrbitControls and RoomEnvironment from the package itself, never from a CDN. The version
is pinned in ``tools/web/package.json`` + ``package-lock.json``; this script runs
``npm ci`` there and copies the files the page imports (plus three.js's MIT licence),
keeping their relative layout so that the addons' own ``../utils/…`` imports resolve.

It runs at build time: ``setup.py`` calls :func:`vendor` before ``setup()`` (so
``pip install``, ``pip install -e`` and ``pip wheel`` all bundle it), and it can be run
by hand. A wheel
then carries the files and needs no Node.js. Nothing is done when the vendored copy is
already at the pinned version.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NPM_DIR = ROOT / "tools" / "web"
DEST = ROOT / "src" / "normalkit" / "viewing" / "web" / "vendor" / "three"

#: Paths inside the npm package ``three`` that the viewer's import map reaches.
FILES = (
    "LICENSE",
    "package.json",
    "build/three.module.js",
    "build/three.core.js",
    "examples/jsm/loaders/GLTFLoader.js",
    "examples/jsm/utils/BufferGeometryUtils.js",
    "examples/jsm/utils/SkeletonUtils.js",
    "examples/jsm/controls/OrbitControls.js",
    "examples/jsm/environments/RoomEnvironment.js",
)


def pinned_version() -> str:
    lock = json.loads((NPM_DIR / "package-lock.json").read_text())
    return lock["packages"]["node_modules/three"]["version"]


def vendored_version() -> str | None:
    try:
        meta = json.loads((DEST / "package.json").read_text())
    except (OSError, ValueError):
        return None
    if not all((DEST / f).is_file() for f in FILES):
        return None
    return meta.get("version")


def vendor(force: bool = False, log=print) -> Path:
    """Copy the pinned three.js into the package unless it is there already; returns DEST."""
    want = pinned_version()
    if not force and vendored_version() == want:
        return DEST
    src = NPM_DIR / "node_modules" / "three"
    try:
        have = json.loads((src / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        have = None
    if have != want:
        if shutil.which("npm") is None:
            raise SystemExit(
                "error: the viewer needs three.js bundled into the package, and npm is not "
                "on PATH to fetch it; install Node.js and npm (Debian: apt-get install npm), "
                "or install normalkit from a wheel, which carries it")
        log(f"vendor_web: npm ci in {NPM_DIR} (three {want})")
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"error: npm ci failed (exit {proc.returncode}):\n"
                             f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    tmp = DEST.with_name(DEST.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for rel in FILES:
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, tmp / rel)
    shutil.rmtree(DEST, ignore_errors=True)
    tmp.rename(DEST)
    log(f"vendor_web: three {want} → {DEST.relative_to(ROOT)}")
    return DEST


if __name__ == "__main__":
    vendor(force="--force" in sys.argv[1:])
