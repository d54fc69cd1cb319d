"""Jobs: what a batch runs, read from a manifest or a glob, and how each one is run.

A job is one normalkit command on its inputs, with its options, writing into its own
folder ``OUTDIR/<id>/``: the same command line a user would type, with ``-o`` pointing
there (and ``--threads`` set to the batch's threads per job, unless the job sets it).
Running a job is calling :func:`normalkit.cli.main` with that command line, in a worker
process, so a job's outputs are exactly those of the command run alone.

Manifests
---------
CSV (a header row) or JSON Lines (one object per line), one job per row:

- ``command``: ``reduce``, ``bake``, ``render``, ``reconstruct``, ``estimate normals``,
  ``estimate depth`` or ``estimate eval``;
- ``inputs``: the command's positional inputs (bake: HIGH then LOW). CSV: one string,
  split like a shell line (quote paths with spaces); JSON: a list or a string;
- ``options`` (optional): the command's options. CSV: one shell-like string
  (``--faces 5000 --size 1024``); JSON: a list of words, or an object
  (``{"faces": 5000, "directx": true}``: true adds the flag, false and null leave it out);
- ``id`` (optional): the job's folder name; default the first input's file stem
  (made unique with ``-2``, ``-3`` …);
- ``output`` (optional): the file name, for commands that write one file (bake:
  ``normal.png``; estimate on a photo: ``normals.png`` / ``depth.png``).

Relative paths are relative to the manifest's folder. Blank lines and CSV rows whose
first cell starts with ``#`` are skipped.

Jobs can also be Python callables (the API only): ``Job(id, command=f, args=[...])`` runs
``f(job_dir, *args)`` in the worker; they are how a pipeline adds steps of its own.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import NormalkitError

__all__ = ["COMMANDS", "Job", "CommandSpec", "glob_jobs", "input_hash", "load_manifest"]


@dataclass(frozen=True)
class CommandSpec:
    """How a batch runs a command: its number of positional inputs, where ``-o`` points
    (``None``: the job's folder; else a file name in it), whether it takes
    ``--threads``, and the memory one job may need (bytes; Ray schedules by it)."""

    inputs: int
    output: str | None
    threads: bool
    memory: int


_GB = 1 << 30
#: The commands a manifest may name.
COMMANDS = {
    "reduce": CommandSpec(1, None, True, 3 * _GB),
    "bake": CommandSpec(2, "normal.png", True, 3 * _GB),
    "render": CommandSpec(1, None, True, 2 * _GB),
    "reconstruct": CommandSpec(1, None, True, 6 * _GB),
    "estimate normals": CommandSpec(1, "normals.png", False, 4 * _GB),
    "estimate depth": CommandSpec(1, "depth.png", False, 4 * _GB),
    "estimate eval": CommandSpec(1, None, False, 4 * _GB),
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass
class Job:
    """One job. ``command`` names a command of :data:`COMMANDS` (``args``: its inputs
    then its options, as on the command line) or is a callable ``f(job_dir, *args)``.
    ``output`` overrides the command's output file name."""

    id: str
    command: str | Callable
    args: list = field(default_factory=list)
    output: str | None = None
    inputs: list = field(default_factory=list)  # the paths whose content the hash covers

    @property
    def name(self) -> str:
        c = self.command
        return c if isinstance(c, str) else getattr(c, "__name__", "callable")

    def spec(self) -> CommandSpec | None:
        return COMMANDS.get(self.command) if isinstance(self.command, str) else None

    def argv(self, job_dir: Path, threads: int | None) -> list[str]:
        """The command line (without ``normalkit``) that runs this job into ``job_dir``."""
        spec = self.spec()
        if spec is None:
            raise NormalkitError(f"job {self.id}: {self.name} is not a command")
        words = [*self.command.split(), *map(str, self.args)]
        out = job_dir if spec.output is None else job_dir / (self.output or spec.output)
        if self.command.startswith("estimate") and spec.output is not None and \
                self.args and Path(self.args[0]).is_dir():
            out = job_dir  # a views folder in: a folder out
        words += ["-o", str(out)]
        if spec.threads and threads and "--threads" not in words:
            words += ["--threads", str(threads)]
        if "-q" not in words and "--quiet" not in words:
            words.append("-q")
        return words


def _words(value, what: str, where: str) -> list[str]:
    """A manifest cell as command-line words: a shell-like string or a list."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise NormalkitError(f"{where}: cannot split {what} {value!r} ({exc}); quote "
                                 "it like a shell line") from None
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise NormalkitError(f"{where}: {what} must be a string or a list of words, got "
                         f"{type(value).__name__}")


def _options(value, where: str) -> list[str]:
    if isinstance(value, dict):
        words = []
        for key, v in value.items():
            flag = "--" + str(key).replace("_", "-")
            if v is True:
                words.append(flag)
            elif v is False or v is None:
                continue
            elif isinstance(v, list):
                words += [flag, *map(str, v)]
            else:
                words += [flag, str(v)]
        return words
    return _words(value, "options", where)


def _rows(path: Path) -> list[tuple[str, dict]]:
    """(where, row) of every job row of a CSV or JSON Lines manifest."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise NormalkitError(f"the manifest '{path}' does not exist; check the path") from None
    except UnicodeDecodeError:
        raise NormalkitError(f"cannot read the manifest '{path}': not UTF-8 text; give a CSV "
                             "or JSON Lines file") from None
    rows = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name}, line {n}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise NormalkitError(f"{where}: not a JSON object ({exc}); write one job "
                                     "object per line") from None
            if not isinstance(row, dict):
                raise NormalkitError(f"{where}: a job must be a JSON object, got "
                                     f"{type(row).__name__}")
            rows.append((where, row))
        return rows
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "command" not in reader.fieldnames:
        raise NormalkitError(f"the manifest '{path}' has no \"command\" column; give a CSV "
                             "with a header row (command,inputs,options,id) or JSON Lines "
                             "(.jsonl)")
    for n, row in enumerate(reader, 2):
        first = next(iter(row.values()), "") or ""
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)) or \
                first.startswith("#"):
            continue
        rows.append((f"{path.name}, line {n}", row))
    return rows


def load_manifest(path) -> list[Job]:
    """Jobs of a CSV or JSON Lines manifest (module docstring), checked: known commands,
    the right number of inputs, inputs that exist, valid and unique ids.

    Raises
    ------
    NormalkitError
        One line naming the row and the fix; nothing is run.
    """
    path = Path(path)
    base = path.parent
    jobs = []
    for where, row in _rows(path):
        command = " ".join(str(row.get("command") or "").split())
        inputs = [_resolve(base, w) for w in _words(row.get("inputs"), "inputs", where)]
        options = _options(row.get("options"), where)
        jobs.append(_make(command, inputs, options, row.get("id"), row.get("output"), where,
                          base))
    if not jobs:
        raise NormalkitError(f"the manifest '{path}' lists no jobs; add one row per job")
    return _unique(jobs)


def glob_jobs(command: str, pattern: str, options: Sequence[str] = ()) -> list[Job]:
    """One job per path matching ``pattern`` (``**`` spans folders), with ``options``."""
    import glob

    matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    if not matches:
        raise NormalkitError(f"no file matches {pattern!r}; check the pattern (quote it, so "
                             "that the shell does not expand it)")
    jobs = [_make(command, [Path(m)], list(options), None, None, f"{m}", Path("."))
            for m in matches]
    return _unique(jobs)


def _resolve(base: Path, word: str) -> Path:
    p = Path(os.path.expanduser(word))
    return p if p.is_absolute() else base / p


def _make(command, inputs, options, job_id, output, where, base) -> Job:
    spec = COMMANDS.get(command)
    if spec is None:
        raise NormalkitError(f"{where}: unknown command {command!r}; use one of "
                             f"{', '.join(COMMANDS)}")
    if len(inputs) != spec.inputs:
        want = "HIGH and LOW" if command == "bake" else "one input"
        raise NormalkitError(f"{where}: {command} takes {want}, got {len(inputs)} "
                             f"({' '.join(map(str, inputs)) or 'none'})")
    for p in inputs:
        if not p.exists():
            raise NormalkitError(f"{where}: the input '{p}' does not exist; check the path "
                                 "(relative paths start at the manifest's folder)")
    if "-o" in options or "--output" in options:
        raise NormalkitError(f"{where}: options must not set -o; each job writes into "
                             "OUTDIR/<id>/ (name a file with the output column)")
    if job_id is not None and job_id != "":
        job_id = str(job_id)
        if not _ID.match(job_id):
            raise NormalkitError(f"{where}: id {job_id!r} must be a plain name (letters, "
                                 "digits, '.', '_', '-'; at most 128)")
    if output is not None and output != "" and (
            Path(str(output)).name != str(output) or str(output).startswith(".")):
        raise NormalkitError(f"{where}: output {output!r} must be a plain file name")
    # Option values that are existing paths are inputs too (a cage, a reference, a map).
    args, hashed = [str(p) for p in inputs], list(inputs)
    for w in options:
        p = None if w.startswith("-") else _resolve(base, w)
        if p is not None and p.exists():
            args.append(str(p))
            hashed.append(p)
        else:
            args.append(w)
    return Job(id=job_id or "", command=command, args=args,
               output=str(output) if output else None, inputs=hashed)


def _unique(jobs: list[Job]) -> list[Job]:
    """Give every job an id: its own (must be unique), else its first input's stem."""
    taken = {}
    for j in jobs:
        if j.id:
            if j.id in taken:
                raise NormalkitError(f"two jobs have the id {j.id!r}; give each its own")
            taken[j.id] = j
    for j in jobs:
        if not j.id:
            stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(j.inputs[0]).stem if j.inputs
                          else j.name).lstrip(".") or "job"
            k, name = 1, stem[:120]
            while name in taken:
                k += 1
                name = f"{stem[:120]}-{k}"
            j.id = name
            taken[name] = j
    return jobs


def input_hash(job: Job) -> str:
    """SHA-256 over normalkit's version, the command, its arguments and the content of
    every input (a folder: every file under it, by relative path): what ``--resume``
    compares with a finished job's marker."""
    from .. import __version__

    h = hashlib.sha256()
    h.update(f"{__version__}\0{job.name}\0{job.output}\0".encode())
    for a in job.args:
        h.update(str(a).encode() + b"\0")
    for p in job.inputs:
        p = Path(p)
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in files:
            h.update(str(f.relative_to(p) if p.is_dir() else f.name).encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()
