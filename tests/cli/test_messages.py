"""What the CLI says (issue 9): library warnings as one line, numbers with the right
plural, and one size rule for every command."""

from __future__ import annotations

import warnings

import pytest

from conftest import grid_plane
from normalkit.cli import main
from normalkit.core.plural import count
from normalkit.mesh.io import save_obj


def test_count_says_one_thing_or_many():
    assert count(1, "thread") == "1 thread"
    assert count(2, "view") == "2 views"
    assert count(0, "level") == "0 levels"
    assert count(12_345, "texel") == "12,345 texels"
    assert count(3, "vertex", "vertices") == "3 vertices"


def test_a_library_warning_is_one_line_without_source(monkeypatch, capsys):
    import normalkit.cli.tangents as cmd

    def noisy(args):
        warnings.warn("usecols is deprecated;\n  use something else", UserWarning,
                      stacklevel=1)
        return 0

    monkeypatch.setattr(cmd, "run", noisy)
    assert main(["tangents", "x.obj", "-o", "x.npy"]) == 0
    err = capsys.readouterr().err
    assert err == "warning: usecols is deprecated; use something else\n"


@pytest.fixture(scope="module")
def low(tmp_path_factory):
    d = tmp_path_factory.mktemp("sizes")
    save_obj(grid_plane(2), d / "low.obj")
    return d / "low.obj"


@pytest.mark.parametrize("size", ["15", "32769", "0"])
@pytest.mark.parametrize("command", ["bake", "reduce", "render", "compare"])
def test_every_command_has_the_same_size_rule(low, tmp_path, capsys, command, size):
    out = tmp_path / "out"
    args = {"bake": ["bake", low, low, "-o", f"{out}.png"],
            "reduce": ["reduce", low, "-o", out, "--faces", "2"],
            "render": ["render", low, "-o", out],
            "compare": ["compare", low, low, low, "-o", out]}[command]
    code = main([str(a) for a in args] + ["--size", size, "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].endswith(f"from 16 to 32768, got {size}"), err
    assert list(tmp_path.iterdir()) == []
