"""Progress bars for long work: tqdm on stderr when it is a terminal, else a silent
stand-in (a bar redrawn with carriage returns is noise in a log file or a pipe)."""

from __future__ import annotations

import sys


class _NoBar:
    """Accepts the calls a tqdm bar gets and does nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, enabled: bool, desc: str, unit: str):
    """A tqdm bar (cleared when done) when ``enabled`` and stderr is a terminal, else a
    no-op with the same methods."""
    if not enabled or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)
