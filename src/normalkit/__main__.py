"""``python -m normalkit``: the same as the ``normalkit`` console script."""

from .cli import entry

entry()
