"""Numbers with their nouns in messages: "1 view", "2 views", "1,024 texels"."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` (with thousands separators) and ``noun``, plural unless ``n`` is 1."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"
