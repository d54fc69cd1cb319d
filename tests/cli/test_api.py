"""The top-level API (``normalkit.<name>``): every public name is what it says, every time.

Before the subpackage layout, ``normalkit.bake`` was both a lazy export and a module
name: the first call imported ``normalkit.bake`` the module, which rebound the package
attribute, so a second ``normalkit.bake(...)`` raised "'module' object is not callable".
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import numpy as np

import normalkit
from conftest import bump, grid_plane


def test_every_public_name_resolves_to_the_same_object_twice():
    for name in normalkit.__all__:
        first = getattr(normalkit, name)
        second = getattr(normalkit, name)
        assert first is second, name
        assert not isinstance(first, types.ModuleType), name
        assert first.__module__.startswith("normalkit."), name


def test_public_functions_can_be_called_twice_in_one_process():
    """The reported bug: bake, then bake again; render in a loop over views."""
    h, n = bump()
    high, low = grid_plane(12, height=h, normals=n), grid_plane(2)
    maps = [normalkit.bake(high, low, size=16, samples=1, extrusion=0.1, max_distance=0.1)
            for _ in range(2)]
    np.testing.assert_array_equal(maps[0].normals, maps[1].normals)
    cams = normalkit.orbit_cameras(low, views=2, size=16)
    images = [normalkit.render(low, cam) for cam in cams]
    assert len(images) == 2 and all("rgb" in im for im in images)


def test_subpackage_modules_do_not_shadow_functions():
    """Importing every submodule first must not rebind a public name to a module."""
    code = (
        "import importlib, pkgutil, types, normalkit\n"
        "for m in pkgutil.walk_packages(normalkit.__path__, 'normalkit.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = [n for n in normalkit.__all__\n"
        "       if isinstance(getattr(normalkit, n), types.ModuleType)]\n"
        "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr


def test_every_subpackage_states_its_contract():
    for sub in ("core", "images", "mesh", "maps", "baking", "assets", "rendering", "cli"):
        doc = importlib.import_module(f"normalkit.{sub}").__doc__ or ""
        assert len(doc.split()) > 20, sub
        if sub != "core":
            assert "May import" in doc, sub
