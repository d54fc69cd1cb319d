"""``normalkit batch``: throughput against a shell loop, and each engine's overhead per job.

50 generated high-polys of about 200k triangles (bumpy tori, each scaled differently) are
reduced to 5,000 triangles with a 512² bake, three ways, on this machine:

1. a shell loop: ``for f in *.ply; do normalkit reduce "$f" …; done`` (each process uses
   every core);
2. ``normalkit batch reduce '*.ply' … --engine local`` (cores jobs at a time, 1 thread each);
3. the same with ``--engine ray`` (it starts a one-node Ray on 127.0.0.1 itself).

Printed: wall time, throughput (assets per minute) and its ratio to the shell loop, and
each engine's overhead per job, two ways:

- in the run: (wall × slots − Σ job seconds) / jobs, which includes starting the workers
  (and, for Ray, the cluster) spread over the 50 jobs;
- dispatch alone: 200 no-op jobs on an engine that is already up: wall × slots / jobs.

Targets (issue 14): local ≥ 1.5× the shell loop's throughput on 2 cores; Ray's overhead
per job ≤ 50 ms.

Run: ``.venv/bin/python benchmarks/bench_batch.py [N_ASSETS]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FACES, SIZE = 5000, 512
NOOPS = 200


def noop(job_dir) -> None:
    """A job that does nothing: what is left of its time is the engine's."""


def main() -> int:
    from normalkit.mesh.examples import colored_bumpy_torus
    from normalkit.mesh.io import save_ply

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    cores = os.cpu_count()
    exe = str(Path(sys.executable).with_name("normalkit"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as tmp:
        tmp = Path(tmp)
        src = tmp / "assets"
        src.mkdir()
        base = colored_bumpy_torus(high_faces=200_000)
        for i in range(n):
            save_ply(base.replace(positions=base.positions * (1 + 0.01 * i)),
                     src / f"a{i:03d}.ply")
        print(f"{n} assets of {base.n_faces:,} triangles → {FACES:,} triangles, {SIZE}² "
              f"bake; {cores} cores")
        opts = ["--faces", str(FACES), "--size", str(SIZE)]

        (tmp / "loop").mkdir()
        t0 = time.perf_counter()
        loop = (f'for f in "{src}"/*.ply; do "{exe}" reduce "$f" -o "{tmp}/loop/$(basename '
                f'"$f" .ply)" {" ".join(opts)} -q > /dev/null || exit 1; done')
        subprocess.run(["bash", "-c", loop], check=True, env=env)
        shell = time.perf_counter() - t0

        rows = [("shell loop", shell, None)]
        for engine in ("local", "ray"):
            out = tmp / engine
            t0 = time.perf_counter()
            proc = subprocess.run([exe, "batch", "reduce", str(src / "*.ply"), "-o", str(out),
                                   *opts, "--engine", engine, "-q", "--no-thumbnails"],
                                  capture_output=True, text=True, env=env)
            wall = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr)
                return 1
            doc = json.loads((out / "batch.json").read_text())
            busy = sum(j["seconds"] for j in doc["jobs"])
            overhead = (wall * doc["slots"] - busy) / len(doc["jobs"])
            rows.append((f"batch --engine {engine}", wall, overhead))

        print(f"{'':24}{'wall s':>9}{'assets/min':>12}{'vs loop':>9}{'overhead/job':>14}")
        for name, wall, overhead in rows:
            over = f"{overhead * 1000:.0f} ms" if overhead is not None else ""
            print(f"{name:24}{wall:9.1f}{n / wall * 60:12.1f}{shell / wall:8.2f}x{over:>14}")
        print("(overhead/job in the run = (wall × slots − Σ job seconds) / jobs: it "
              "includes starting the workers, and for Ray the cluster)")
        dispatch(tmp, env)
        local_ratio = shell / rows[1][1]
        print(f"goal local ≥ 1.5× the shell loop: {local_ratio:.2f}× "
              f"{'PASS' if local_ratio >= 1.5 else 'FAIL'}")
    return 0


def dispatch(tmp: Path, env: dict) -> None:
    """Per-job cost of an engine that is already up: NOOPS no-op jobs, after a warm-up."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    os.environ.update({"RAY_USAGE_STATS_ENABLED": "0",
                       "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    from bench_batch import noop as job

    from normalkit.batch.engines import make_engine

    for name in ("local", "ray"):
        engine = make_engine(name, None, 1)
        try:
            if name == "ray":
                from ray import cloudpickle

                cloudpickle.register_pickle_by_value(sys.modules["bench_batch"])
            for rounds in (engine.slots * 2, NOOPS):  # warm-up, then measured
                t0 = time.perf_counter()
                _run_noops(engine, job, tmp / f"noop_{name}", rounds)
                wall = time.perf_counter() - t0
            print(f"dispatch alone, {name}: {wall * engine.slots / NOOPS * 1000:.1f} ms per "
                  f"job ({NOOPS} no-op jobs, {engine.slots} at a time, {wall:.2f} s)")
        finally:
            engine.close()


def _run_noops(engine, job, folder: Path, count: int) -> None:
    pending = list(range(count))
    running = 0
    while pending or running:
        while pending and engine.free() > 0:
            k = pending.pop()
            engine.submit(k, {"id": str(k), "job_dir": str(folder / str(k)), "thumb": None,
                              "threads": 1, "callable": job, "args": []}, None)
            running += 1
        for _, (kind, value) in engine.poll(0.05):
            running -= 1
            if kind != "done" or value["code"] != 0:
                raise RuntimeError(f"a no-op job failed: {kind} {value}")


if __name__ == "__main__":
    sys.exit(main())
