"""The batch runner: every job into its own folder, on an engine, with retries, resume,
a progress bar and the batch's reports.

Per job, in ``OUTDIR/<id>/``:

- before it runs, the folder is emptied (a run that never finished left it);
- on success a marker, ``.normalkit-batch.json``, is written last (atomically): the
  inputs' hash (:func:`~normalkit.batch.jobs.input_hash`), the command line and the
  outputs. ``resume`` skips a job whose marker has the same hash and whose outputs are
  all there;
- on failure (refused input, an exception, a crash, a timeout) the folder is removed,
  with any staging folder the command left beside it: nothing partial stays. Crashes and
  timeouts are retried ``retries`` times; refused input is not (it would fail again).

At the end (and when the batch is interrupted) ``OUTDIR/batch.json`` and
``OUTDIR/report.html`` describe every job; thumbnails are in ``OUTDIR/thumbnails/``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import interrupt
from ..core.errors import NormalkitError
from ..core.parallel import map_threads
from ..core.plural import count
from ..core.progress import progress_bar
from .jobs import Job, input_hash

__all__ = ["MARKER", "BatchResult", "run_batch"]

MARKER = ".normalkit-batch.json"
#: Reserved names in OUTDIR: a job may not take them as its id.
RESERVED = ("batch.json", "report.html", "thumbnails")


@dataclass
class BatchResult:
    """``jobs``: one dict per job (``id``, ``command``, ``status`` in done / skipped /
    failed / crashed / timeout / interrupted / not run, ``seconds``, ``attempts``,
    ``error``, ``outputs``, ``summary``, ``thumbnail``, ``stdout`` (the command's summary
    line), ``argv``, ``pid`` (of the worker process that ran it last)); ``counts`` per status;
    ``seconds``; ``engine``, ``slots``, ``threads``; ``interrupted``."""

    outdir: Path
    jobs: list
    counts: dict
    seconds: float
    engine: str
    slots: int
    threads: int
    interrupted: bool = False
    files: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(j["status"] in ("done", "skipped") for j in self.jobs)

    def table(self, limit: int = 20) -> str:
        """Counts by status, throughput, and the jobs that did not succeed."""
        done = self.counts.get("done", 0)
        rate = f", {done / self.seconds * 60:.1f} jobs/min" if done and self.seconds else ""
        lines = [f"batch: {count(len(self.jobs), 'job')} on {self.engine} ({self.slots} at a "
                 f"time, {count(self.threads, 'thread')} each) in {self.seconds:.1f} s{rate}",
                 "  " + ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)]
        bad = [j for j in self.jobs if j["status"] not in ("done", "skipped")]
        for j in bad[:limit]:
            tries = f" after {j['attempts']} tries" if j["attempts"] > 1 else ""
            lines.append(f"  {j['status']:<11} {j['id']}: {j['error'] or '-'}{tries}")
        if len(bad) > limit:
            lines.append(f"  … and {len(bad) - limit} more (batch.json lists them all)")
        return "\n".join(lines)


def run_batch(jobs: list[Job], outdir, *, engine: str = "local", address: str | None = None,
              parallel: int | None = None, cpus_per_job: int | None = None,
              retries: int = 2, timeout: float | None = None, resume: bool = False,
              thumbnails: bool = True, progress: bool = False, log=None) -> BatchResult:
    """Run ``jobs`` into ``outdir``, each in its own folder.

    Parameters
    ----------
    jobs : list of Job
        From :func:`~normalkit.batch.jobs.load_manifest`, :func:`glob_jobs` or built.
    outdir : path
        Created if missing; job ``j`` writes into ``outdir/j.id``.
    engine : {"local", "ray"}
        A pool of processes here, or Ray Core tasks (``address``: a cluster to join).
    parallel, cpus_per_job : int, optional
        Jobs at a time and threads per job. Defaults: ``cpus_per_job`` 1 and ``parallel``
        the cores (local) or the cluster's CPUs (Ray) divided by ``cpus_per_job``.
    retries : int
        Extra tries for a job whose process crashed or ran past ``timeout``.
    timeout : float, optional
        Seconds a job may run.
    resume : bool
        Skip jobs finished by an earlier run with unchanged inputs (their marker's hash).
    thumbnails : bool
        Draw a thumbnail per finished job for report.html.

    Returns
    -------
    BatchResult

    Raises
    ------
    NormalkitError
        Bad settings, ids that clash with the batch's own files, an unwritable ``outdir``.
    KeyboardInterrupt
        (``Interrupted``) after Ctrl-C or SIGTERM: running jobs are stopped and removed,
        and batch.json and report.html record where the batch stood.
    """
    from .engines import make_engine

    say = log or (lambda msg: None)
    outdir = Path(outdir)
    retries = _count(retries, "--retries", 0)
    if timeout is not None and not (timeout > 0):
        raise NormalkitError(f"--timeout must be a positive number of seconds, got {timeout}")
    for j in jobs:
        if j.id in RESERVED:
            raise NormalkitError(f"job id {j.id!r} is a name the batch uses itself; give the "
                                 "job another id")
    threads = 1 if cpus_per_job is None else _count(cpus_per_job, "--cpus-per-job", 1)
    slots = None if parallel is None else _count(parallel, "--jobs", 1)
    if engine not in ("local", "ray"):
        raise NormalkitError(f"--engine must be local or ray, got {engine!r}")
    t0 = time.perf_counter()

    records, pending = {}, []
    for j in jobs:
        records[j.id] = {"id": j.id, "command": j.name, "status": "not run", "seconds": 0.0,
                         "attempts": 0, "error": "", "outputs": [], "summary": {},
                         "thumbnail": None, "stdout": "", "argv": None, "pid": None}
    # Only a job with a marker can be skipped: hash just those inputs here (in threads);
    # the others are hashed by their worker, in parallel, as they start.
    markers = {j.id: _marker(outdir / j.id) for j in jobs} if resume else {}
    hashes = dict(zip([j.id for j in jobs if markers.get(j.id)],
                      map_threads(input_hash, [j for j in jobs if markers.get(j.id)]),
                      strict=True))
    for j in jobs:
        rec, marker = records[j.id], markers.get(j.id)
        if marker and marker.get("hash") == hashes[j.id] and all(
                (outdir / j.id / p).exists() for p in marker.get("outputs", [])):
            rec.update(status="skipped", outputs=marker["outputs"],
                       summary=marker.get("summary", {}), seconds=marker.get("seconds", 0.0))
            thumb = outdir / "thumbnails" / f"{j.id}.png"
            rec["thumbnail"] = f"thumbnails/{j.id}.png" if thumb.is_file() else None
        else:
            pending.append(j)
    if resume:
        say(f"resume: {len(jobs) - len(pending)} of {len(jobs)} jobs are done already")

    by_id = {j.id: j for j in jobs}
    bar = progress_bar(len(pending), progress and bool(pending), "batch", "job")
    interrupted = False
    runner = make_engine(engine, slots, threads, address, log=say) if pending else None
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError:
        if runner is not None:
            runner.close()
        raise
    queue = list(pending)
    try:
        while queue or (runner and runner.free() < runner.slots):
            while queue and runner.free() > 0:
                j = queue.pop(0)
                _clear(outdir, j.id)
                records[j.id]["attempts"] += 1
                records[j.id]["status"] = "running"
                payload = _payload(j, outdir, threads, thumbnails)
                records[j.id]["argv"] = payload.get("argv")
                runner.submit(j.id, payload, timeout,
                              memory=j.spec().memory if j.spec() else None)
            for key, (kind, value) in runner.poll(0.2):
                j, rec = by_id[key], records[key]
                if kind == "done":
                    rec["seconds"] += value["seconds"]
                    rec["stdout"], rec["pid"] = value["stdout"], value["pid"]
                    rec["hash"] = value.get("hash")
                    if value["code"] == 0:
                        rec.update(status="done", error="", summary=value["summary"])
                        rec["outputs"] = _finish(outdir, j, rec)
                        thumb = outdir / "thumbnails" / f"{j.id}.png"
                        rec["thumbnail"] = f"thumbnails/{j.id}.png" if thumb.is_file() else None
                        bar.update(1)
                        continue
                    kind = "interrupted" if value["code"] in (130, 143) else "failed"
                    value = value["error"]
                rec["error"] = value
                _clear(outdir, j.id, remove=True)
                if kind in ("crashed", "timeout") and rec["attempts"] <= retries:
                    say(f"{j.id}: {value}; trying again (try {rec['attempts'] + 1} of "
                        f"{retries + 1})")
                    queue.insert(0, j)
                    continue
                rec["status"] = kind
                bar.update(1)
            interrupt.check()
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        bar.close()
        if runner is not None:
            runner.close(abort=interrupted)
        for rec in records.values():
            if rec["status"] == "running":
                rec["status"] = "interrupted"
                _clear(outdir, rec["id"], remove=True)
        result = _result(outdir, list(records.values()), time.perf_counter() - t0,
                         runner.name if runner else engine,
                         runner.slots if runner else (slots or 0), threads, interrupted)
        with interrupt.shielded():
            _write_reports(result)
    return result


def _count(v, flag: str, low: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise NormalkitError(f"{flag} must be a whole number ≥ {low}, got {v!r}")
    return v


def _payload(j: Job, outdir: Path, threads: int, thumbnails: bool) -> dict:
    job_dir = outdir / j.id
    p = {"id": j.id, "job_dir": str(job_dir), "threads": threads, "job": j,
         "thumb": str(outdir / "thumbnails" / f"{j.id}.png") if thumbnails else None}
    if isinstance(j.command, str):
        p["argv"] = j.argv(job_dir, threads)
    else:
        p["callable"], p["args"] = j.command, list(j.args)
    return p


def _marker(job_dir: Path) -> dict | None:
    try:
        doc = json.loads((job_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _clear(outdir: Path, job_id: str, remove: bool = False) -> None:
    """Empty (or remove) a job's folder and any staging folder its command left beside
    it; the thumbnail goes too."""
    job_dir = outdir / job_id
    for stale in outdir.glob(f".{job_id}.*.partial"):
        shutil.rmtree(stale, ignore_errors=True)
    if job_dir.is_dir():
        shutil.rmtree(job_dir, ignore_errors=True)
    if not remove:
        job_dir.mkdir(parents=True, exist_ok=True)
    (outdir / "thumbnails" / f"{job_id}.png").unlink(missing_ok=True)


def _finish(outdir: Path, j: Job, rec: dict) -> list[str]:
    """The job's outputs (relative to its folder), recorded in its marker, written last."""
    from .. import __version__
    from ..core.atomic import atomic_path

    job_dir = outdir / j.id
    outputs = sorted(str(p.relative_to(job_dir)) for p in job_dir.rglob("*")
                     if p.is_file() and p.name != MARKER)
    marker = {"hash": rec["hash"], "command": j.name, "argv": rec.get("argv"),
              "outputs": outputs, "seconds": round(rec["seconds"], 3),
              "summary": rec["summary"], "normalkit": __version__}
    with atomic_path(job_dir / MARKER) as tmp:
        Path(tmp).write_text(json.dumps(marker, indent=1))
    return outputs


def _result(outdir, records, seconds, engine, slots, threads, interrupted) -> BatchResult:
    order = ("done", "skipped", "failed", "crashed", "timeout", "interrupted", "not run")
    counts = {s: sum(r["status"] == s for r in records) for s in order}
    for r in records:
        r.pop("hash", None)
        r["seconds"] = round(r["seconds"], 3)
    return BatchResult(outdir=outdir, jobs=records, counts=counts, seconds=seconds,
                       engine=engine, slots=slots, threads=threads, interrupted=interrupted,
                       files={"json": outdir / "batch.json", "html": outdir / "report.html"})


def _write_reports(result: BatchResult) -> None:
    from .. import __version__
    from ..core.atomic import atomic_path
    from .report import html_report

    doc = {"normalkit": __version__, "engine": result.engine, "slots": result.slots,
           "threads_per_job": result.threads, "seconds": round(result.seconds, 3),
           "interrupted": result.interrupted, "counts": result.counts,
           "cores": os.cpu_count(), "jobs": result.jobs}
    with atomic_path(result.files["json"]) as tmp:
        Path(tmp).write_text(json.dumps(doc, indent=1) + "\n")
    with atomic_path(result.files["html"]) as tmp:
        Path(tmp).write_text(html_report(doc), encoding="utf-8")
