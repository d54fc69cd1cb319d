"""Shared fixtures: analytic meshes and the shared assets folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from normalkit.mesh.model import Mesh

ASSETS = Path(__file__).resolve().parents[1].parent / "shared" / "assets"


def pytest_collection_modifyitems(items):
    # Interop tests need bpy; they are marked slow but run in CI too.
    pass


def grid_plane(n: int, height=None, normals=None, uv_fn=None, z: float = 0.0) -> Mesh:
    """Unit square [0,1]² tessellated n×n (2n² triangles), optionally displaced.

    height(x, y) -> z offset; normals(x, y) -> (N, 3) per-vertex normals;
    uv_fn(x, y) -> (N, 2) per-vertex UVs (default u = x, v = y).
    """
    g = np.linspace(0.0, 1.0, n + 1)
    x, y = np.meshgrid(g, g, indexing="xy")
    x, y = x.ravel(), y.ravel()
    zz = np.full_like(x, z) + (height(x, y) if height else 0.0)
    pos = np.stack([x, y, zz], axis=1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="xy")
    a = (j * (n + 1) + i).ravel()
    faces = np.concatenate([np.stack([a, a + 1, a + n + 2], 1),
                            np.stack([a, a + n + 2, a + n + 1], 1)])
    nrm = normals(x, y) if normals else np.tile([0.0, 0.0, 1.0], (len(x), 1))
    uv = uv_fn(x, y) if uv_fn else np.stack([x, y], axis=1)
    return Mesh(positions=pos, faces=faces, normals=nrm[faces], uvs=uv[faces], name="plane")


def bump(amp: float = 0.05, fx: int = 2, fy: int = 3):
    """Analytic height field h = amp·sin(2π fx x)·sin(2π fy y) and its unit normal."""

    def h(x, y):
        return amp * np.sin(2 * np.pi * fx * x) * np.sin(2 * np.pi * fy * y)

    def n(x, y):
        hx = amp * 2 * np.pi * fx * np.cos(2 * np.pi * fx * x) * np.sin(2 * np.pi * fy * y)
        hy = amp * 2 * np.pi * fy * np.sin(2 * np.pi * fx * x) * np.cos(2 * np.pi * fy * y)
        v = np.stack([-hx, -hy, np.ones_like(x)], axis=-1)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    return h, n


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)))


@pytest.fixture
def assets() -> Path:
    if not ASSETS.is_dir():
        pytest.skip(f"shared assets not found at {ASSETS}")
    return ASSETS


def run_cli(args, capsys):
    """Run ``normalkit ARGS`` in-process: (exit code, stdout, stderr)."""
    from normalkit.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err
