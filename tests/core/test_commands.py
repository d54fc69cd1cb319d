"""view_command: the viewer command line that reports print."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np

from normalkit.core.commands import view_command


def test_paths_become_absolute_and_quoted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmd = view_command("my out", high="high poly.ply", normal_map=Path("n.png"),
                       views="views")
    words = shlex.split(cmd)
    assert words[:3] == ["normalkit", "view", str(tmp_path / "my out")]
    assert words[3:] == ["--normal-map", str(tmp_path / "n.png"),
                         "--high", str(tmp_path / "high poly.ply"),
                         "--views", str(tmp_path / "views")]


def test_arrays_and_meshes_are_left_out():
    assert view_command(np.zeros(3)) is None
    assert view_command("/a/b", high=np.zeros(3), normal_map=None) == "normalkit view /a/b"
