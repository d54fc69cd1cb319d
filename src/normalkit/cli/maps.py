"""``normalkit map …``: image-space normal map tools, one module per subcommand.

Each ``normalkit.cli.map_<name>`` module exposes ``register(subparsers)`` and is
listed in ``MAP_COMMANDS``.
"""

from __future__ import annotations

import importlib

MAP_COMMANDS: tuple[str, ...] = (
    "convert",
    "info",
    "height",  # height2normal, normal2height
    "blend",
    "mips",
    "spaces",  # to-object, to-tangent
    "integrate",  # integrate, depth2normal
)


def register(sub) -> None:
    m = sub.add_parser("map", help="image-space normal map tools (convert, integrate, …)",
                       description="Image-space tools over normal maps: each reads and "
                                   "writes image files and calls the Python function of "
                                   "the same name.")
    msub = m.add_subparsers(dest="map_command", required=True)
    for name in MAP_COMMANDS:
        importlib.import_module(f"normalkit.cli.map_{name}").register(msub)
