"""Shared utilities every other subpackage may use; imports nothing else of normalkit.

- ``errors``: :class:`NormalkitError`, the one exception for bad input.
- ``atomic``: safe output (checks before work, atomic files and folders, inputs never
  overwritten).
- ``limits``: the size rule (16–32768) and the memory estimate check.
- ``interrupt``: SIGINT/SIGTERM stop at a safe point; ``parallel``: thread pools that
  stop cleanly (``map_threads``, ``default_threads``).
- ``jit`` (Numba settings), ``progress`` (progress bars), ``plural`` (message wording),
  ``commands`` (command lines a report prints, such as the viewer's).
"""
