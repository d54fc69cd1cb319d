"""Build hook: bundle three.js into the package before the Python files are collected.

Everything else is in pyproject.toml. ``tools/vendor_web.py`` says what is copied and why.
"""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

_HERE = Path(__file__).resolve().parent


class BuildPyWithViewer(build_py):
    def run(self):
        spec = importlib.util.spec_from_file_location("vendor_web",
                                                      _HERE / "tools" / "vendor_web.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.vendor()
        super().run()


setup(cmdclass={"build_py": BuildPyWithViewer})
