"""What a worker does with one job: run it, then describe its outputs and draw a thumbnail.

:func:`execute` runs in a worker process (the local pool's or Ray's): it calls
:func:`normalkit.cli.main` with the job's command line (stdout and stderr captured), or
the job's callable; then, when the job succeeded, reads its report for the batch report
(triangles, misses, metrics) and renders a 128² thumbnail of what it made, outside the
job's folder so that the folder holds exactly what the command writes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import traceback
from pathlib import Path

__all__ = ["THUMB_SIZE", "execute", "limit_threads", "summarize", "thumbnail"]

THUMB_SIZE = 128
#: Thread-count variables of the native libraries: a worker's share of the cores.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS")


def limit_threads(threads: int | None) -> None:
    """Set the native libraries' thread counts in this worker (before they are imported:
    a worker's first job fixes them for its life)."""
    if threads:
        for var in THREAD_VARS:
            os.environ.setdefault(var, str(int(threads)))


def execute(payload: dict) -> dict:
    """Run one job (a dict from the runner) and return what the runner records.

    Keys in: ``argv`` (a command line) or ``callable`` + ``args``; ``job_dir``; ``thumb``
    (the thumbnail's path, or None); ``job`` (the :class:`Job`, whose inputs are hashed
    first); ``threads``. Keys out: ``code`` (0 = success, 2 = refused input, 130/143 =
    interrupted, 1 = an unexpected error), ``error`` (one line), ``stdout`` (the
    command's last line: its summary), ``summary`` (dict), ``seconds``, ``pid``, ``hash``
    (:func:`~normalkit.batch.jobs.input_hash`).
    """
    t0 = time.perf_counter()
    limit_threads(payload.get("threads"))
    job_dir = Path(payload["job_dir"])
    out, err = io.StringIO(), io.StringIO()
    code, error, digest = 1, "", None
    try:
        if payload.get("job") is not None:  # the inputs as this run reads them
            from .jobs import input_hash

            digest = input_hash(payload["job"])
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            if payload.get("callable") is not None:
                job_dir.mkdir(parents=True, exist_ok=True)
                payload["callable"](job_dir, *payload.get("args", ()))
                code = 0
            else:
                from ..cli import main

                code = main(payload["argv"])
    except SystemExit as exc:  # argparse refused the options
        code = exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, not raised
        from ..core.errors import NormalkitError

        code = 2 if isinstance(exc, NormalkitError) else 1
        error = " ".join(f"{type(exc).__name__}: {exc}".split())
        if code == 1:
            err.write(traceback.format_exc())
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    if not error and code != 0:
        said = [ln for ln in lines if "error:" in ln]
        error = (said or lines or [f"exit code {code}"])[-1]
    stdout = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    result = {"code": code, "error": error.removeprefix("normalkit: error: "),
              "stdout": stdout[-1] if stdout else "", "summary": {}, "pid": os.getpid(),
              "hash": digest}
    if code == 0:
        result["summary"] = summarize(job_dir)
        if payload.get("thumb"):
            with contextlib.suppress(Exception):  # a thumbnail is a nicety, never a failure
                thumbnail(job_dir, Path(payload["thumb"]))
    result["seconds"] = time.perf_counter() - t0
    return result


def summarize(job_dir: Path) -> dict:
    """Figures for the batch report from a finished job's own report, where it has one:
    ``triangles``, ``misses`` (reduce), ``metrics`` (reconstruct against a reference)."""
    out: dict = {}
    rj = job_dir / "report.json"
    if rj.is_file():
        try:
            rep = json.loads(rj.read_text())
        except (OSError, ValueError):
            return out
        if "triangles_out" in rep:
            out["triangles"] = rep["triangles_out"]
            out["misses"] = rep.get("misses")
        elif "faces" in rep:
            out["triangles"] = rep["faces"]
            m = rep.get("metrics") or {}
            if m:
                out["metrics"] = {"chamfer": m.get("chamfer"),
                                  "f@0.05": (m.get("fscore") or {}).get("0.05", {}).get("f")}
            res = (rep.get("residuals") or {}).get("median_deg")
            if res is not None:
                out["residual_median_deg"] = res
    return out


def thumbnail(job_dir: Path, path: Path) -> None:
    """A THUMB_SIZE² picture of what the job made: its GLB rendered with its normal map,
    else its first image (a bake's map, a render's first view), scaled down."""
    import numpy as np
    from PIL import Image

    glbs = sorted(job_dir.glob("*.glb"))
    if glbs:
        from ..images.io import read_image
        from ..mesh.io import load_mesh
        from ..rendering.camera import orbit_cameras
        from ..rendering.render import render

        mesh = load_mesh(glbs[0])
        maps = sorted(job_dir.glob(f"{glbs[0].stem}_normal.png"))
        nmap = read_image(maps[0]) if maps and mesh.uvs is not None else None
        cam = orbit_cameras(mesh, azimuths=[35.0], elevations=[25.0], size=THUMB_SIZE)[0]
        rgb = render(mesh, cam, normal_map=nmap, samples=4, passes=("rgb", "alpha"),
                     threads=1)
        a = rgb["alpha"][..., None]
        img = np.clip(rgb["rgb"] * a + 0.17 * (1 - a), 0, 1)
        picture = Image.fromarray(np.round(img * 255).astype(np.uint8))
    else:
        images = sorted(p for p in job_dir.rglob("*.png") if not p.name.startswith("."))
        rgb = [p for p in images if p.name.startswith("rgb")]
        if not (rgb or images):
            return
        picture = Image.open((rgb or images)[0])
        if picture.mode not in ("RGB", "RGBA", "L"):
            picture = Image.fromarray((np.asarray(picture) >> 8).astype(np.uint8)
                                      if np.asarray(picture).dtype == np.uint16
                                      else np.asarray(picture))
        picture = picture.convert("RGB")
        picture.thumbnail((THUMB_SIZE, THUMB_SIZE))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    picture.save(tmp, format="PNG")
    os.replace(tmp, path)
