"""Batch: many jobs (reduce, bake, render, reconstruct, estimate …) on every core of this
machine or on a Ray cluster, each into its own folder, surviving bad assets and crashes,
resumable.

- ``jobs``: :class:`Job`, manifests (CSV, JSON Lines) and globs → jobs; the hash of a
  job's inputs.
- ``engines``: :class:`LocalEngine` (a pool of reused worker processes) and
  :class:`RayEngine` (Ray Core tasks; the ``[ray]`` extra) behind one small interface.
- ``work``: what a worker does with a job: run it, describe it, draw its thumbnail.
- ``runner``: :func:`run_batch`: folders, markers, retries, resume, progress, reports.
- ``report``: report.html. ``command``: ``normalkit batch``.

Contract: a job is a command line, run through :func:`normalkit.cli.main` in a worker
process, with ``-o OUTDIR/<id>`` (and ``--threads``), so its outputs are the command's own,
byte for byte. That makes this the top layer: it may import every other subpackage, the
CLI included; the CLI registers ``normalkit batch`` from ``batch.command`` by name.
"""
