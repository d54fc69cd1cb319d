"""Job callables and assets for the batch tests (importable by worker processes: the
local engine's spawned workers and Ray's workers find this folder on ``sys.path``)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def crash(job_dir: Path) -> None:
    """Kill the worker process, as a native crash would."""
    os._exit(70)


def crash_once(job_dir: Path, flag: str) -> None:
    """Crash on the first try (leaving a half-written file), succeed on the next."""
    (job_dir / "half.bin").write_bytes(b"\0" * 1000)
    if not Path(flag).exists():
        Path(flag).write_text("crashed once")
        os._exit(71)
    (job_dir / "ok.txt").write_text("second try")


def sleep(job_dir: Path, seconds: str) -> None:
    time.sleep(float(seconds))
    (job_dir / "slept.txt").write_text(seconds)


def wait_to_be_killed(job_dir: Path, pid_file: str, flag: str) -> None:
    """First try: write this process's pid and sleep (the test kills it). Later tries:
    finish at once."""
    if not Path(flag).exists():
        Path(flag).write_text("first try")
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(120)
    (job_dir / "ok.txt").write_text("after the kill")


def write_assets(d: Path, n_good: int = 16) -> dict:
    """Small generated assets, good and bad, and a CSV manifest over them.

    Good: ``n_good`` bumpy tori (4k triangles) to reduce; two bake pairs (a high-poly onto
    a low-poly with UVs); one render. Bad: a cut-off PLY, a mesh with a NaN vertex, a bake
    whose low-poly has no UVs. Returns {"manifest": path, "good": ids, "bad": ids}.
    """
    from normalkit.mesh.examples import bumpy_torus_pair, colored_bumpy_torus
    from normalkit.mesh.io import save_obj, save_ply

    d.mkdir(parents=True, exist_ok=True)
    rows = ["command,inputs,options,id"]
    good, bad = [], []
    for i in range(n_good):
        t = colored_bumpy_torus(high_faces=4096)
        save_ply(t.replace(positions=t.positions * (1.0 + 0.05 * i)), d / f"torus{i:02d}.ply")
        rows.append(f"reduce,torus{i:02d}.ply,--faces 300 --size 64 --samples 1,")
        good.append(f"torus{i:02d}")
    high, low = bumpy_torus_pair(high_faces=4096, low_faces=256)
    save_ply(high, d / "pair_high.ply")
    save_obj(low, d / "pair_low.obj")
    for k in range(2):
        rows.append(f"bake,pair_high.ply pair_low.obj,--size {64 * (k + 1)} --samples 1,"
                    f"bake{k}")
        good.append(f"bake{k}")
    rows.append("render,pair_low.obj,--size 48 --samples 1 --views 2,render")
    good.append("render")
    (d / "cut.ply").write_bytes((d / "torus00.ply").read_bytes()[:300])
    rows.append("reduce,cut.ply,--faces 300 --size 64,cut")
    bad.append("cut")
    (d / "nan.obj").write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nvt 0 0\nvt 1 0\nvt 0 1\n"
                               "f 1/1 2/2 3/3\n")
    rows.append("reduce,nan.obj,--faces 1 --size 64,nan")
    bad.append("nan")
    save_obj(low.replace(uvs=None), d / "no_uvs.obj")
    rows.append("bake,pair_high.ply no_uvs.obj,--size 64,no_uvs")
    bad.append("no_uvs")
    (d / "jobs.csv").write_text("\n".join(rows) + "\n")
    return {"manifest": d / "jobs.csv", "good": good, "bad": bad}


def files_of(folder: Path) -> dict:
    """{relative path: bytes} of every file under ``folder`` (the batch's marker left out)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".normalkit-batch.json"}


def leftovers(root: Path) -> list[str]:
    """Staging folders and temporary files anywhere under ``root``."""
    return [str(p) for p in root.rglob("*") if p.name.endswith((".partial", ".tmp"))]


def interrupt_then_resume(assets: dict, out: Path, engine_args: list) -> None:
    """Ctrl-C mid-run: finished jobs keep their outputs, the running one is removed, the
    reports say so; --resume runs only what is left and skips what is done; a changed
    input runs again. ``engine_args``: extra batch options (the engine)."""
    import json
    import signal
    import subprocess
    import sys

    from normalkit.batch.runner import MARKER

    good = [r for r in assets["manifest"].read_text().splitlines()
            if r.startswith(("command", "reduce,torus"))]
    manifest = assets["manifest"].parent / "resume.csv"
    manifest.write_text("\n".join(good[:9]) + "\n")
    cmd = [sys.executable, "-m", "normalkit", "batch", str(manifest), "-o", str(out), "-q",
           "--jobs", "1", *engine_args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(list(out.glob(f"*/{MARKER}"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    doc = json.loads((out / "batch.json").read_text())
    assert doc["interrupted"] is True
    done = {j["id"] for j in doc["jobs"] if j["status"] == "done"}
    assert 2 <= len(done) < 8
    assert {j["status"] for j in doc["jobs"]} <= {"done", "interrupted", "not run"}
    for j in doc["jobs"]:
        assert (out / j["id"]).exists() == (j["id"] in done), j
    assert leftovers(out) == []
    before = {k: files_of(out / k) for k in done}

    rerun = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    doc = json.loads((out / "batch.json").read_text())
    status = {j["id"]: j["status"] for j in doc["jobs"]}
    assert {k for k, s in status.items() if s == "skipped"} == done
    assert all(s in ("done", "skipped") for s in status.values())
    assert {k: files_of(out / k) for k in done} == before  # untouched

    # A changed input runs again; the others stay skipped.
    changed = sorted(done)[0]
    src = assets["manifest"].parent / f"{changed}.ply"
    backup = src.read_bytes()
    try:
        from normalkit.mesh.examples import colored_bumpy_torus
        from normalkit.mesh.io import save_ply

        save_ply(colored_bumpy_torus(high_faces=2048), src)
        subprocess.run([*cmd, "--resume"], capture_output=True, timeout=600)
    finally:
        src.write_bytes(backup)
    doc = json.loads((out / "batch.json").read_text())
    status = {j["id"]: j["status"] for j in doc["jobs"]}
    assert status[changed] == "done"
    assert sum(s == "skipped" for s in status.values()) == len(status) - 1




__all__ = ["crash", "crash_once", "files_of", "interrupt_then_resume", "leftovers", "sleep",
           "wait_to_be_killed", "write_assets"]
