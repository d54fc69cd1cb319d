"""Build step: bundle three.js into the package (``tools/vendor_web.py`` says what is
copied and why), then the usual setuptools build; everything else is in pyproject.toml.

The bundle is made before ``setup()`` runs, so that package discovery sees its folders;
it is a no-op when the pinned version is already there.
"""

import importlib.util
from pathlib import Path

from setuptools import setup

_spec = importlib.util.spec_from_file_location(
    "vendor_web", Path(__file__).resolve().parent / "tools" / "vendor_web.py")
_vendor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_vendor)
_vendor.vendor()

setup()
