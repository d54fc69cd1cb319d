"""``normalkit batch``: the command line of :func:`normalkit.batch.runner.run_batch`.

Registered by ``normalkit.cli`` like every command, but it lives here: a batch runs
command lines through ``normalkit.cli.main``, so the batch sits above the CLI.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..cli.common import log

#: Exit code when the batch ran but some jobs did not succeed (bad input to the batch
#: command itself is 2, as everywhere).
SOME_FAILED = 1


def _options(p) -> None:
    p.add_argument("-o", "--output", metavar="OUTDIR",
                   help="output folder: one folder per job, plus batch.json, report.html and "
                        "thumbnails/ (created if missing)")
    p.add_argument("--engine", choices=("local", "ray"),
                   help="local: a pool of processes here (default); ray: Ray Core tasks "
                        "(pip install 'normalkit[ray]')")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="Ray cluster to join (default: start one on 127.0.0.1)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="jobs at a time (default: cores ÷ --cpus-per-job)")
    p.add_argument("--cpus-per-job", type=int, metavar="K",
                   help="threads of each job (default 1; jobs × threads = cores)")
    p.add_argument("--retries", type=int, metavar="N",
                   help="extra tries for a job whose process crashed or timed out (default 2)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds a job may run")
    p.add_argument("--resume", action="store_true", default=None,
                   help="skip jobs an earlier run finished, whose inputs are unchanged")
    p.add_argument("--no-thumbnails", action="store_true", default=None,
                   help="draw no thumbnails for report.html")
    p.add_argument("-q", "--quiet", action="store_true", default=None, help="no progress bar")


def run(args) -> int:
    """Run many jobs, each a normalkit command (reduce, bake, render, reconstruct,
    estimate …) writing into its own folder OUTDIR/<id>/, on every core (--engine local,
    the default: a pool of reused worker processes, so a crash kills only its job) or on
    a Ray cluster (--engine ray). MANIFEST is a CSV (columns command, inputs, options, id,
    output) or JSON Lines file, one job per row; or give a command and a quoted glob,
    then that command's options: `normalkit batch reduce 'scans/**/*.ply' -o out/ --faces
    5000`. A failed job (refused input, an exception, a crash, --timeout) never stops the
    others and leaves nothing behind; crashes and timeouts are retried. --resume skips
    jobs whose outputs are complete and whose inputs are unchanged (a hash in each
    folder's .normalkit-batch.json). Ends with a table, OUTDIR/batch.json (per job:
    status, seconds, tries, the error line, the outputs) and OUTDIR/report.html (a row
    per asset with a thumbnail). Exit code 0 when every job succeeded, 1 when some did
    not, 2 for bad input to the batch itself."""
    from ..core.errors import NormalkitError
    from .jobs import COMMANDS, glob_jobs, load_manifest
    from .runner import run_batch

    again = argparse.ArgumentParser(prog="normalkit batch", add_help=False)
    _options(again)
    more, rest = again.parse_known_args(args.rest)
    for key, value in vars(more).items():
        if value is not None:
            setattr(args, key, value)
    if not args.output:
        raise NormalkitError("give the output folder: -o OUTDIR")
    what = args.what
    words = [what, *rest[:1]] if what == "estimate" else [what]
    command = " ".join(words)
    if command in COMMANDS:
        rest = rest[len(words) - 1:]
        if not rest or rest[0].startswith("-"):
            raise NormalkitError(f"give the inputs of {command} as a quoted glob, e.g. "
                                 f"normalkit batch {command} 'scans/**/*.ply' -o OUTDIR")
        jobs = glob_jobs(command, rest[0], rest[1:])
    else:
        if not Path(what).exists() and not Path(what).suffix:
            raise NormalkitError(f"{command!r} is neither a manifest file nor a command "
                                 f"({', '.join(COMMANDS)})")
        if rest:
            raise NormalkitError(f"unexpected {' '.join(rest)!r} after the manifest; "
                                 "command options go in its options column")
        jobs = load_manifest(what)
    result = run_batch(jobs, args.output, engine=args.engine or "local",
                       address=args.address, parallel=args.jobs,
                       cpus_per_job=args.cpus_per_job,
                       retries=2 if args.retries is None else args.retries,
                       timeout=args.timeout, resume=bool(args.resume),
                       thumbnails=not args.no_thumbnails, progress=not args.quiet, log=log)
    print(result.table())
    print(f"→ {result.files['json']}, {result.files['html']}")
    return 0 if result.ok else SOME_FAILED


def register(sub) -> None:
    p = sub.add_parser("batch", help="many jobs (reduce, bake, …) on every core or a Ray "
                                     "cluster, with retries and resume",
                       description=" ".join((run.__doc__ or "").split()))
    p.add_argument("what", metavar="MANIFEST|COMMAND",
                   help="a CSV / JSON Lines manifest, or a command (reduce, bake, render, "
                        "reconstruct, estimate normals|depth|eval) followed by a quoted glob "
                        "and its options")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    _options(p)
    p.set_defaults(func=run)
