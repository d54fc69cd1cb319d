"""Speed benchmark of ``normalkit bake`` against Blender's Cycles bake, and of its ray throughput.

Run: ``.venv/bin/python benchmarks/bench_bake.py`` (several minutes; Blender at 4096² alone
takes 20 s or more per bake). Options: ``--sizes 1024 2048 4096``, ``--samples 1 4``,
``--high-faces 1300000``, ``--low-faces 4096``, ``--uvs xatlas|grid``, ``--low-format
obj|ply``, ``--repeat N``, ``--keep DIR`` (keep meshes and maps there), ``--skip-blender``,
``--json PATH``; ``--help`` lists the rest.

What one run does
-----------------
1. Generates the bake pair with normalkit's own code (``normalkit.mesh.examples.bumpy_torus_pair``):
   a ~1.3M-triangle bumpy torus (bumps of amplitude 0.02 on a torus of radii 1 and 0.35) and a
   ~4k-triangle plain torus, unwrapped into xatlas charts with split normals by
   ``normalkit.assets.unwrap`` (about half the texels covered; ``--uvs grid`` keeps the
   torus' own grid UVs, which cover every texel). The high-poly is written as binary PLY
   with normals, the low-poly as OBJ with ``vt``/``vn`` (as artists export it).
2. For each size and sample count: Blender's selected-to-active NORMAL bake (Cycles CPU,
   ``cycles.samples`` = the same samples per texel, tangent
   space, all cores: ``render.threads_mode = "AUTO"``) through ``tests/blender_ref.py``, and the
   whole ``normalkit bake … --samples N --bits 16 -q`` process. Both run as child processes,
   timed from spawn to exit; their peak RSS comes from GNU time's ``%M`` (per child; neither
   ``RUSAGE_CHILDREN`` nor a child's own ``ru_maxrss`` would do: see :func:`run_child`).
   Blender's numbers:

   * job: the whole child: interpreter start, ``import bpy``, factory settings, OBJ and PLY
     import, bake, writing the float pixels as ``.npy``. (blender_ref's own ``total_seconds``
     also counts the parent's decoding of that buffer; the job time here leaves it out.)
   * bake: the ``bpy.ops.object.bake`` call alone, as blender_ref measures it inside the child
     (BVH build, Cycles kernels, tangents, shading, writing into the image).

   Both tools cast one ray per sample from ``P + extrusion·n̂`` along ``−n̂``, accepted within
   ``extrusion + max_distance`` (Blender's ``max_ray_distance``, see ``blender_max_ray_distance``).
   Misses are reported for both, and the two maps are compared (angle between them on a subset
   of texels) so the timings are known to be of the same work.
3. Ray throughput at 2048²: the exact rays normalkit casts (recorded by wrapping its
   ``RayCaster.intersect``), re-traced with raw embreex ``EmbreeScene.run(..., output=1)`` in
   chunks on a thread pool over all cores (best chunk size of several, best of 5), versus
   normalkit's in-bake throughput: rays / tile-loop time (rasterize + trace + shade +
   accumulate, best of 5 bakes on preloaded meshes; the BVH is built on a thread beside
   the low-poly's preparation, so it is not in the loop).
4. A phase profile of the normalkit process: one more ``normalkit bake`` per size, run through
   ``normalkit.cli.main`` in a child with timers wrapped around its phases (see
   :func:`instrument`): start-up and imports, mesh loading, normals/tangents/UV layout, BVH
   build, the tile loop (with thread-seconds in rasterization, ray set-up/shading and Embree),
   padding, the rest of ``bake()``, encoding and the PNG write.

On a shared machine use ``--quiet-wait S`` (wait for other processes to go quiet before each
timed run) and ``--repeat N`` (best of N); every run prints how many cores other processes
used meanwhile.

Also printed, without a target: normalkit at 4 samples per texel against Blender's bake at
twice the size and 1 sample, where both were run. Blender's bake casts one ray per texel
whatever ``cycles.samples`` is (its samples re-shade that hit), so baking at twice the size
and downsampling is its way to 4 rays per texel: the same rays, equally antialiased maps.

Targets (PASS/FAIL), at every sample count: at 2048² the normalkit process is ≥ 2× faster
than Blender's job and ≥ 3× faster than Blender's bake call; at 4096² ≥ 10× faster than
Blender's bake call; the in-bake ray throughput is ≥ 60 % of raw Embree through embreex's
Python API (normalkit traces through Embree's C API in packets, see
``normalkit.baking.embree``).

The machine load (``os.getloadavg``) is recorded around every measurement: other processes
competing for the cores skew all of these numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

TARGETS = {
    "job_2048": 2.0,  # Blender job / normalkit process at 2048²
    "bake_2048": 3.0,  # Blender bake call / normalkit process at 2048²
    "bake_4096": 10.0,  # Blender bake call / normalkit process at 4096²
    "throughput": 0.60,  # normalkit in-bake rays/s ÷ raw Embree rays/s
}


# --------------------------------------------------------------------------------------------
# Child processes: wall time from spawn to exit and per-child peak memory
# --------------------------------------------------------------------------------------------
def _busy_cpu_seconds() -> float | None:
    """CPU-seconds all cores of the machine have been busy since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class CpuWatch:
    """CPU that *other* processes used while a measurement ran, in average cores.

    Machine-wide busy CPU-seconds (/proc/stat) minus this process's own CPU and the measured
    child's: what the rest of the machine (other jobs, other benchmarks) took from the cores
    during the measurement. 0 on an otherwise idle machine; ~1 means one core was busy
    elsewhere the whole time (on 2 cores, that can halve a 2-thread tool's speed).
    """

    def __init__(self):
        self.busy0 = _busy_cpu_seconds()
        self.self0 = _self_cpu()
        self.t0 = time.perf_counter()

    def others(self, child_cpu: float = 0.0) -> float | None:
        busy = _busy_cpu_seconds()
        wall = time.perf_counter() - self.t0
        if busy is None or self.busy0 is None or wall <= 0:
            return None
        foreign = (busy - self.busy0) - (_self_cpu() - self.self0) - child_cpu
        return max(0.0, foreign / wall)


@dataclass
class ChildRun:
    returncode: int
    wall: float  # seconds from spawn to exit
    maxrss_mb: float  # peak resident set size of the child
    cpu: float  # user + system CPU seconds of the child
    sys: float  # system (kernel) CPU seconds: page faults, I/O, thread start-up
    others: float | None  # average cores other processes used meanwhile (CpuWatch)
    stdout: str
    stderr: str


_GNU_TIME = "/usr/bin/time"


def compile_sources() -> int:
    """Byte-compile normalkit's modules, as installing a wheel does, so timed runs do not
    compile them (a checkout's editable install, or ``PYTHONDONTWRITEBYTECODE``, would
    leave each run compiling ~0.3 s of source). Returns how many were compiled."""
    import compileall
    import io

    import normalkit

    before = sum(1 for _ in Path(normalkit.__file__).parent.rglob("*.pyc"))
    with contextlib.redirect_stdout(io.StringIO()):
        compileall.compile_dir(Path(normalkit.__file__).parent, quiet=2)
    return sum(1 for _ in Path(normalkit.__file__).parent.rglob("*.pyc")) - before


def run_child(cmd, *, env=None, cwd=None, timeout=None) -> ChildRun:
    """Run ``cmd``; time it from spawn to exit, with its CPU (``os.wait4``) and peak memory.

    Peak memory comes from GNU time's ``%M`` when /usr/bin/time exists: ``ru_maxrss`` of a
    child this (large) process forks starts at this process's own RSS, because Linux carries
    the high-water mark across fork + exec, so only a grandchild forked by the small ``time``
    process is measured cleanly. Without GNU time the wait4 figure is used (an upper bound).
    """
    use_time = os.access(_GNU_TIME, os.X_OK)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="nk_time_") as tdir:
        tfile = Path(tdir) / "maxrss"
        full = [_GNU_TIME, "-f", "%M", "-o", str(tfile), *cmd] if use_time else list(cmd)
        watch = CpuWatch()
        t0 = time.perf_counter()
        # Own process group, so a timeout kills the tool too, not only GNU time.
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env, cwd=cwd,
                                start_new_session=True)
        timer = (threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL)) if timeout
                 else None)
        if timer:
            timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        maxrss_mb = ru.ru_maxrss / 1024.0
        if use_time:
            try:
                maxrss_mb = int(tfile.read_text().split()[-1]) / 1024.0
            except (OSError, ValueError, IndexError):
                pass
        out.seek(0)
        err.seek(0)
        cpu = ru.ru_utime + ru.ru_stime
        return ChildRun(proc.returncode, wall, maxrss_mb, cpu, ru.ru_stime, watch.others(cpu),
                        out.read().decode("utf-8", "replace"),
                        err.read().decode("utf-8", "replace"))


class _TimedSubprocess:
    """Stands in for the ``subprocess`` module inside tests/blender_ref.py.

    blender_ref only calls ``subprocess.run(cmd, capture_output=True, text=True, timeout=…,
    env=…, cwd=…)``; this runs the same command through :func:`run_child`, so the Blender
    child gets the same spawn-to-exit timing and per-child peak memory as normalkit's.
    """

    def __init__(self):
        self.last: ChildRun | None = None

    def run(self, cmd, *, capture_output=True, text=True, timeout=None, env=None, cwd=None):
        res = run_child(cmd, env=env, cwd=cwd, timeout=timeout)
        self.last = res
        return subprocess.CompletedProcess(cmd, res.returncode, res.stdout, res.stderr)


def blender_bake(high, low, size, extrusion, max_distance, samples=1) -> dict:
    """tests/blender_ref.py's ``bake_selected_to_active``, plus child wall time and memory."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import blender_ref

    shim = _TimedSubprocess()
    real = blender_ref.subprocess
    blender_ref.subprocess = shim
    try:
        res = blender_ref.bake_selected_to_active(
            high, low, size, space="TANGENT", extrusion=extrusion,
            max_ray_distance=blender_ref.blender_max_ray_distance(extrusion, max_distance),
            samples=samples)
    finally:
        blender_ref.subprocess = real
    child = shim.last
    return {"job": child.wall, "bake": res["bake_seconds"], "harness_total": res["total_seconds"],
            "setup": res["info"].get("setup_seconds"), "maxrss_mb": child.maxrss_mb,
            "cpu": child.cpu, "sys": child.sys, "others": child.others,
            "written": int(res["mask"].sum()),
            "normals": res["normals"],
            "mask": res["mask"], "version": res["info"].get("blender_version")}


def normalkit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "normalkit"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "normalkit"]


_SUMMARY = re.compile(r"([\d,]+) rays, ([\d,]+) misses .*?([\d,]+) texels unfilled")


def normalkit_bake(high, low, out, size, extrusion, max_distance, samples=1) -> dict:
    """The whole ``normalkit bake`` process, timed from spawn to exit."""
    out = Path(out)
    if out.exists():
        out.unlink()
    cmd = normalkit_cmd() + [
        "bake", str(high), str(low), "-o", str(out), "--size", str(size), "--samples",
        str(samples), "--space", "tangent", "--extrusion", repr(extrusion), "--max-distance",
        repr(max_distance), "--bits", "16", "-q"]
    res = run_child(cmd, timeout=3600)
    if res.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"normalkit bake failed (exit {res.returncode}, output "
                           f"{'present' if out.is_file() else 'missing'}):\n"
                           f"{res.stdout}\n{res.stderr}")
    m = _SUMMARY.search(res.stdout)
    rays, misses, unfilled = ([int(g.replace(",", "")) for g in m.groups()] if m
                              else (None, None, None))
    return {"process": res.wall, "maxrss_mb": res.maxrss_mb, "cpu": res.cpu, "sys": res.sys,
            "others": res.others, "rays": rays,
            "ray_misses": misses, "unfilled_texels": unfilled,
            "output_bytes": out.stat().st_size, "summary": res.stdout.strip()}


def compare_maps(png: Path, blender: dict, max_texels: int = 1 << 20) -> dict:
    """Angles (degrees) between normalkit's 16-bit map and Blender's, on texels Blender wrote.

    Every k-th row only, so at most ``max_texels`` texels (the comparison is a sanity check
    that both tools did the same work, not part of any timing).
    """
    from normalkit.images.io import read_image
    from normalkit.maps.encode import decode_normals

    mask = blender["mask"]
    step = max(1, int(np.ceil(mask.size / max_texels)))
    nk = decode_normals(read_image(png)[::step])
    bl = blender["normals"][::step]
    m = mask[::step]
    a = nk[m].astype(np.float64)
    b = bl[m].astype(np.float64)
    ang = np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1),
                                np.einsum("ij,ij->i", a, b)))
    return {"median": float(np.median(ang)), "p99": float(np.percentile(ang, 99)),
            "max": float(ang.max()), "texels": int(ang.size)}


# --------------------------------------------------------------------------------------------
# In-process instrumentation of normalkit (monkeypatched module attributes, restored after)
# --------------------------------------------------------------------------------------------
class Timings:
    """Accumulated seconds per label; safe to add to from worker threads."""

    def __init__(self):
        self.t: dict[str, float] = {}
        self.lock = threading.Lock()

    def add(self, label: str, dt: float) -> None:
        with self.lock:
            self.t[label] = self.t.get(label, 0.0) + dt


@contextlib.contextmanager
def instrument(record_rays: list | None = None):
    """Time normalkit's bake phases by wrapping the functions ``bake()`` looks up at call time.

    Yields a :class:`Timings`. Threaded phases (rasterize, trace, Embree) add up thread-seconds
    across the pool's workers; ``tile_loop`` is the wall time of the thread pool that runs the
    tiles. With ``record_rays`` (a list), every ``RayCaster.intersect`` call appends copies of
    its (origins, directions, tfar) before tracing: the exact rays normalkit casts.
    """
    import normalkit.baking.bake as nb
    import normalkit.baking.padding as npad
    import normalkit.baking.prepared as npre
    import normalkit.images.io as nimg
    import normalkit.maps.encode as nenc
    import normalkit.mesh.io as mio
    import normalkit.mesh.tangents as ntan

    tm = Timings()
    saved = []

    def patch(mod, name, make, required=False):
        # normalkit's internals move; a phase whose function is gone is simply not timed
        # (it then shows up under "bake: other"), except the hooks the ray test needs.
        if not hasattr(mod, name):
            if required:
                raise RuntimeError(f"bench_bake: {mod.__name__}.{name} is gone; update the "
                                   "benchmark's instrumentation")
            return
        orig = getattr(mod, name)
        saved.append((mod, name, orig))
        setattr(mod, name, make(orig))

    def timed(label):
        def make(orig):
            def wrapper(*a, **k):
                t0 = time.perf_counter()
                try:
                    return orig(*a, **k)
                finally:
                    name = label(*a) if callable(label) else label
                    tm.add(name, time.perf_counter() - t0)
            return wrapper
        return make

    def load_label(path, *a):
        return "load high" if Path(path).resolve() == _HIGH else "load low"

    base_caster = npre.RayCaster

    class TimedCaster(base_caster):
        def __init__(self, *a, **k):
            t0 = time.perf_counter()
            super().__init__(*a, **k)
            tm.add("bvh_build", time.perf_counter() - t0)

        def intersect(self, origins, directions, tfar, pool=None, **k):
            if record_rays is not None:
                with tm.lock:
                    record_rays.append((np.array(origins, np.float32),
                                        np.array(directions, np.float32),
                                        np.array(tfar, np.float32)))
            t0 = time.perf_counter()
            try:
                return super().intersect(origins, directions, tfar, pool, **k)
            finally:
                tm.add("embree (thread-s)", time.perf_counter() - t0)

    def timed_tiles(orig):
        def run(*a, **k):  # the tile loop: from the first tile submitted to the last result
            t0 = time.perf_counter()
            try:
                yield from orig(*a, **k)
            finally:
                tm.add("tile_loop", time.perf_counter() - t0)
        return run

    patch(npre, "RayCaster", lambda orig: TimedCaster, required=True)  # the high-poly side
    patch(nb, "map_threads", timed_tiles, required=True)
    patch(nb, "bake", timed("bake() total"))
    patch(mio, "load_mesh", timed(load_label))
    patch(mio, "load_vertex_normals", timed(load_label))  # a normal bake's PLY high-poly
    patch(nb, "ensure_normals", timed("normals"))
    patch(npre, "ensure_normals", timed("normals"))
    patch(ntan, "compute_tangents", timed("tangents"))
    patch(nb, "uv_layout", timed("uv layout"))
    patch(nb, "_LowFrame", timed("low frame"))
    patch(npre, "_high_normals", timed("high normals"))
    patch(nb, "rasterize_tile", timed("rasterize (thread-s)"))
    patch(nb, "_trace", timed("trace (thread-s)"))
    patch(nb, "_normalize", timed("normalize"))  # older bake.py; now inline (bake: rest)
    patch(npad, "dilate", timed("padding"))  # older bake.py
    patch(npad, "dilate_in_place", timed("padding"))
    patch(nenc, "encode_normals", timed("encode 16-bit"))
    patch(nimg, "write_image", timed("PNG write"))
    try:
        yield tm
    finally:
        for mod, name, orig in reversed(saved):
            setattr(mod, name, orig)


#: Mesh loads of this path count as "load high" in the profile (set by the profiling child).
_HIGH: Path | None = None

# The profiling child: the real ``normalkit bake`` command line (``normalkit.cli.main``) with
# :func:`instrument`'s timers around its phases. argv: this file's folder, a JSON file with
# {"argv": [...], "high": path, "out": result path}.
_PROFILE_CHILD = r"""
import time
T0 = time.perf_counter()
import json, sys
sys.path.insert(0, sys.argv[1])
params = json.load(open(sys.argv[2]))
import bench_bake
from pathlib import Path
bench_bake._HIGH = Path(params["high"]).resolve()
with bench_bake.instrument() as tm:
    import normalkit.cli
    T1 = time.perf_counter()
    rc = normalkit.cli.main(params["argv"])
    T2 = time.perf_counter()
res = dict(tm.t, imports=T1 - T0, main=T2 - T1, rc=rc)
open(params["out"], "w").write(json.dumps(res))
"""


def profile_process(high, low, out, size, extrusion, max_distance) -> dict:
    """Phase times of one real ``normalkit bake`` process (same arguments as the timed run).

    The child imports this module for :func:`instrument`, then runs ``normalkit.cli.main``.
    "imports" is the child's own clock before ``main`` (Python-level imports: numpy, normalkit,
    SciPy, OpenCV, Embree), "interpreter start + exit" the rest of its spawn-to-exit wall time
    outside ``main``, "main: other" the part of ``main`` outside the listed phases (argument
    parsing, output checks, the summary) and "bake: rest" the part of ``bake()`` outside them
    (normalizing the accumulated map, masks, statistics).
    """
    out = Path(out)
    argv = ["bake", str(high), str(low), "-o", str(out), "--size", str(size), "--samples", "1",
            "--space", "tangent", "--extrusion", repr(extrusion), "--max-distance",
            repr(max_distance), "--bits", "16", "-q"]
    with tempfile.TemporaryDirectory(prefix="nk_prof_") as tmp:
        pfile, rfile = Path(tmp) / "params.json", Path(tmp) / "result.json"
        pfile.write_text(json.dumps({"argv": argv, "high": str(high), "out": str(rfile)}))
        child = run_child([sys.executable, "-c", _PROFILE_CHILD, str(Path(__file__).parent),
                           str(pfile)], timeout=3600)
        if child.returncode != 0 or not rfile.is_file():
            raise RuntimeError(f"profiling run failed (exit {child.returncode}):\n"
                               f"{child.stdout}\n{child.stderr}")
        ph = json.loads(rfile.read_text())
    if ph.pop("rc") != 0 or not out.is_file():
        raise RuntimeError(f"profiled normalkit bake failed:\n{child.stdout}\n{child.stderr}")
    main_s = ph.pop("main")
    ph["process (profiled)"] = child.wall
    ph["interpreter start + exit"] = child.wall - ph["imports"] - main_s
    listed = sum(ph.get(k, 0.0) for k in ("bake() total", "encode 16-bit", "PNG write"))
    # The high-poly side (load high, its normals, BVH, high normals) runs on threads beside
    # the main thread's low-poly phases; the rest of bake() includes waiting for it.
    ph["bake: rest"] = ph.get("bake() total", 0.0) - sum(
        ph.get(k, 0.0) for k in ("load low", "tangents", "uv layout", "low frame",
                                 "tile_loop", "normalize", "padding"))
    ph["main: other"] = main_s - listed
    ph["ray set-up + shading (thread-s)"] = (ph.get("trace (thread-s)", 0.0)
                                             - ph.get("embree (thread-s)", 0.0))
    ph["peak MB"] = child.maxrss_mb
    ph["others"] = child.others
    return ph


# --------------------------------------------------------------------------------------------
# Ray throughput
# --------------------------------------------------------------------------------------------
def raw_embree(scene, origins, dirs, tfar, threads, chunks=(1 << 14, 1 << 16, 1 << 18),
               repeat=5) -> dict:
    """Best rays/s of ``EmbreeScene.run(o, d, dists, output=1)`` over chunks on a thread pool.

    ``run`` overwrites ``dists`` with the hit distances, so every pass gets a fresh copy (made
    outside the timing). Returns the best rate, its chunk size, every rate tried and the
    primitive ids of the last pass (to check the hits against normalkit's).
    """
    n = len(origins)
    rates = {}
    prim = np.empty(n, np.int32)
    with ThreadPoolExecutor(threads) as pool:
        for chunk in chunks:
            starts = range(0, n, chunk)
            best = np.inf
            for _ in range(repeat):
                dists = tfar.copy()

                def run(s, dists=dists, chunk=chunk):
                    sl = slice(s, min(s + chunk, n))
                    r = scene.run(origins[sl], dirs[sl], dists=dists[sl], output=1)
                    prim[sl] = r["primID"]

                t0 = time.perf_counter()
                list(pool.map(run, starts))
                best = min(best, time.perf_counter() - t0)
            rates[chunk] = n / best
    best_chunk = max(rates, key=rates.get)
    return {"rays_per_s": rates[best_chunk], "chunk": best_chunk,
            "all": {str(k): v for k, v in rates.items()}, "prim": prim}


def ray_throughput(high_path, low_path, size, extrusion, max_distance, repeat=5) -> dict:
    """normalkit's in-bake ray throughput versus raw Embree on exactly the same rays."""
    from normalkit.baking.bake import bake
    from normalkit.baking.rays import _EmbreexScene
    from normalkit.core.parallel import default_threads
    from normalkit.mesh.io import load_mesh

    high = load_mesh(high_path)
    low = load_mesh(low_path)
    kw = dict(size=size, space="tangent", samples=1, extrusion=extrusion,
              max_distance=max_distance, padding=16)

    # Pass 1 records the rays (the copies slow it down, so it is not timed).
    rays: list = []
    with instrument(record_rays=rays):
        rec = bake(high, low, **kw)
    # Timed passes on the preloaded meshes; the best one counts.
    runs = []
    for _ in range(repeat):
        with instrument() as tm:
            watch = CpuWatch()
            t0 = time.perf_counter()
            res = bake(high, low, **kw)
            total = time.perf_counter() - t0
            others = watch.others()
        runs.append({"bake": total, "build": tm.t["bvh_build"], "tile_loop": tm.t["tile_loop"],
                     "rays": res.stats["rays"], "misses": res.stats["ray_misses"],
                     "others": others})
    best = min(runs, key=lambda r: r["bake"] - r["build"])
    n_rays = best["rays"]

    origins = np.concatenate([r[0] for r in rays])
    dirs = np.concatenate([r[1] for r in rays])
    tfar = np.concatenate([r[2] for r in rays])
    del rays
    if len(origins) != rec.stats["rays"] or n_rays != rec.stats["rays"]:
        raise RuntimeError(f"recorded {len(origins):,} rays, the bake cast {n_rays:,}")
    # embreex's own scene and Python API: the baseline normalkit's tracing is held to.
    embreex_scene = _EmbreexScene(np.ascontiguousarray(high.positions, np.float32),
                                  high.faces)._scene
    threads = default_threads()
    watch = CpuWatch()
    raw = raw_embree(embreex_scene, origins, dirs, tfar, threads)
    raw_others = watch.others()
    raw_misses = int((raw.pop("prim") < 0).sum())

    # The BVH is built on a thread while bake() prepares the low-poly, so "bake minus
    # build" would undercount; the tile loop (rasterize + trace + shade) is the measure.
    nk_rate = n_rays / best["tile_loop"]
    loop_rate = nk_rate
    return {"size": size, "rays": n_rays, "threads": threads,
            "raw_mrays": raw["rays_per_s"] / 1e6, "raw_chunk": raw["chunk"],
            "raw_all_mrays": {k: v / 1e6 for k, v in raw["all"].items()},
            "raw_misses": raw_misses, "nk_misses": best["misses"],
            "bake_seconds": best["bake"], "bvh_build_seconds": best["build"],
            "tile_loop_seconds": best["tile_loop"],
            "nk_mrays": nk_rate / 1e6, "nk_loop_mrays": loop_rate / 1e6,
            "ratio": nk_rate / raw["rays_per_s"], "loop_ratio": loop_rate / raw["rays_per_s"],
            "others_nk": best["others"], "others_raw": raw_others, "runs": runs}


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------
def load_str() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def wait_quiet(max_wait: float, threshold: float = 0.25, window: float = 2.0) -> float:
    """Wait (up to ``max_wait`` s) until other processes use < ``threshold`` cores.

    Samples :class:`CpuWatch` over ``window``-second windows while this process sleeps.
    Returns the seconds waited. A no-op when ``max_wait`` is 0.
    """
    t0 = time.perf_counter()
    while max_wait > 0 and time.perf_counter() - t0 < max_wait:
        watch = CpuWatch()
        time.sleep(window)
        others = watch.others()
        if others is None or others < threshold:
            break
    return time.perf_counter() - t0


def verdict(value, target) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value >= target else "FAIL"


def fmt(v, spec=".2f", missing="—"):
    return missing if v is None else format(v, spec)


def timed_row(args, high_path, low_path, work, size, samples, ext, dist) -> dict:
    """One size and sample count: the normalkit process and Blender, ``--repeat`` times
    each (best of each kept), the maps compared, the ratios."""
    row: dict = {"size": size, "samples": samples, "load_before": load_str(),
                 "normalkit_runs": [], "blender_runs": []}
    for rep in range(args.repeat):
        tag = f"{size}², {samples} sample(s)" + (f", run {rep + 1}/{args.repeat}"
                                                if args.repeat > 1 else "")
        wait_quiet(args.quiet_wait)
        out = work / f"normalkit_{size}_{samples}.png"
        nk = normalkit_bake(high_path, low_path, out, size, ext, dist, samples)
        row["normalkit_runs"].append(nk)
        print(f"{tag}: normalkit process {nk['process']:.2f} s (peak "
              f"{nk['maxrss_mb']:.0f} MB, CPU {nk['cpu'] / nk['process']:.2f} cores, "
              f"{nk['sys']:.2f} s of it kernel; {nk['ray_misses']:,} ray misses, "
              f"{nk['unfilled_texels']:,} texels unfilled; other processes used "
              f"{fmt(nk['others'])} cores meanwhile)", flush=True)
        if args.skip_blender:
            continue
        wait_quiet(args.quiet_wait)
        bl = blender_bake(high_path, low_path, size, ext, dist, samples)
        bl["unwritten_texels"] = size * size - bl["written"]
        if rep == 0:
            row["agreement_deg"] = compare_maps(out, bl)
        del bl["normals"], bl["mask"]
        row["blender_runs"].append(bl)
        print(f"{' ' * len(tag)}  Blender {bl['version']}: job {bl['job']:.2f} s, bake "
              f"call {bl['bake']:.2f} s (peak {bl['maxrss_mb']:.0f} MB, CPU "
              f"{bl['cpu'] / bl['job']:.2f} cores, {bl['sys']:.2f} s kernel; "
              f"{bl['unwritten_texels']:,} of {size * size:,} texels unwritten; other "
              f"processes used {fmt(bl['others'])} cores meanwhile)", flush=True)
    # Best of the repeats: fastest normalkit process; Blender's fastest job and fastest
    # bake call (each on its own); peak memory the largest seen.
    nk = dict(min(row["normalkit_runs"], key=lambda r: r["process"]))
    nk["maxrss_mb"] = max(r["maxrss_mb"] for r in row["normalkit_runs"])
    row["normalkit"] = nk
    if row["blender_runs"]:
        bl = dict(min(row["blender_runs"], key=lambda r: r["job"]))
        bl["bake"] = min(r["bake"] for r in row["blender_runs"])
        bl["maxrss_mb"] = max(r["maxrss_mb"] for r in row["blender_runs"])
        row["blender"] = bl
        row["ratio_job"] = bl["job"] / nk["process"]
        row["ratio_bake"] = bl["bake"] / nk["process"]
        cmp = row["agreement_deg"]
        best = " (best of each)" if args.repeat > 1 else ""
        print(f"   ratios{best}: job/normalkit {row['ratio_job']:.2f}×, bake/normalkit "
              f"{row['ratio_bake']:.2f}×; maps differ by median {cmp['median']:.4f}°, p99 "
              f"{cmp['p99']:.3f}°, max {cmp['max']:.2f}° ({cmp['texels']:,} texels "
              "compared)", flush=True)
    row["load_after"] = load_str()
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    p.add_argument("--high-faces", type=int, default=1_300_000)
    p.add_argument("--low-faces", type=int, default=4096)
    p.add_argument("--extrusion", type=float, default=0.05,
                   help="ray start above the low-poly (default 0.05; bumps are ±0.02)")
    p.add_argument("--max-distance", type=float, default=0.05,
                   help="max hit depth below the low-poly (default 0.05)")
    p.add_argument("--keep", metavar="DIR", help="write meshes and maps here and keep them")
    p.add_argument("--skip-blender", action="store_true", help="time normalkit only")
    p.add_argument("--throughput-size", type=int, default=2048,
                   help="texture size of the ray-throughput test (0 to skip; default 2048)")
    p.add_argument("--no-profile", action="store_true",
                   help="skip the phase profile (an instrumented extra normalkit run per size)")
    p.add_argument("--no-warmup", action="store_true",
                   help="skip byte-compiling normalkit and the small warm-up bake of each "
                   "tool (page cache, .pyc files)")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="time each tool N times per size and keep the best (default 1)")
    p.add_argument("--quiet-wait", type=float, default=0, metavar="S",
                   help="before each timed run, wait up to S seconds for other processes to "
                        "use < 0.25 cores (shared machines; default 0 = don't wait)")
    p.add_argument("--samples", type=int, nargs="+", default=[1, 4],
                   help="samples per texel, the same for both tools (default 1 4)")
    p.add_argument("--low-format", choices=("ply", "obj"), default="obj",
                   help="file format of the low-poly (default obj, as artists export it)")
    p.add_argument("--uvs", choices=("xatlas", "grid"), default="xatlas",
                   help="the low-poly's UVs: xatlas charts from normalkit's unwrap "
                        "(default; about half the texels covered) or the torus' own grid "
                        "(every texel covered)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = p.parse_args(argv)

    from normalkit.core.parallel import default_threads
    from normalkit.mesh.examples import bumpy_torus_pair
    from normalkit.mesh.io import save_obj, save_ply

    ext, dist = args.extrusion, args.max_distance
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "threads": default_threads(),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "settings": {"extrusion": ext, "max_distance": dist, "samples": args.samples,
                     "space": "tangent", "bits": 16, "low_format": args.low_format,
                     "uvs": args.uvs},
        "sizes": {}, "load": {"start": load_str()},
    }
    print(f"normalkit bake benchmark — {default_threads()} threads, Python "
          f"{platform.python_version()}, load average {load_str()}")

    if args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="nk_bench_")
        work = Path(cleanup.name)
    try:
        t0 = time.perf_counter()
        high, low = bumpy_torus_pair(high_faces=args.high_faces, low_faces=args.low_faces)
        if args.uvs == "xatlas":
            from normalkit.assets.unwrap import unwrap

            low, _ = unwrap(low, size=2048)  # charts and normals, as reduce makes them
        high_path, low_path = work / "high.ply", work / f"low.{args.low_format}"
        save_ply(high, high_path)
        (save_ply if args.low_format == "ply" else save_obj)(low, low_path)
        print(f"meshes: high {high.n_faces:,} triangles → {high_path.name} "
              f"({high_path.stat().st_size / 1e6:.1f} MB), low {low.n_faces:,} triangles → "
              f"{low_path.name} ({args.uvs} UVs); generated and written in "
              f"{time.perf_counter() - t0:.1f} s")
        results["meshes"] = {"high_faces": high.n_faces, "low_faces": low.n_faces,
                             "high_bytes": high_path.stat().st_size}
        del high, low
        print(f"rays: extrusion {ext}, max distance {dist} (Blender max_ray_distance "
              f"{ext + dist:g}); samples per texel {args.samples} (both tools), tangent "
              "space, 16-bit PNG")

        if not args.no_warmup:
            compiled = compile_sources()
            if compiled:
                print(f"byte-compiled {compiled} normalkit modules (as a wheel install does)")
            normalkit_bake(high_path, low_path, work / "warmup.png", 256, ext, dist)
            if not args.skip_blender:
                blender_bake(high_path, low_path, 64, ext, dist)
            print(f"warm-up bakes done (load {load_str()})")

        for size in args.sizes:
            for samples in args.samples:
                key = f"{size}/{samples}"
                results["sizes"][key] = timed_row(args, high_path, low_path, work, size,
                                                  samples, ext, dist)

        if args.throughput_size:
            wait_quiet(args.quiet_wait)
            tp = ray_throughput(high_path, low_path, args.throughput_size, ext, dist)
            tp["load_after"] = load_str()
            results["throughput"] = tp
            print(f"ray throughput at {tp['size']}²: "
                  f"{tp['rays']:,} rays; raw Embree {tp['raw_mrays']:.2f} Mrays/s "
                  f"(chunks of {tp['raw_chunk']:,}, {tp['threads']} threads; "
                  + ", ".join(f"{k}: {v:.2f}" for k, v in tp["raw_all_mrays"].items())
                  + f"); normalkit bake() {tp['bake_seconds']:.2f} s, of it the "
                  f"tile loop {tp['tile_loop_seconds']:.2f} s → {tp['nk_loop_mrays']:.2f} "
                  f"Mrays/s; misses normalkit {tp['nk_misses']:,}, raw {tp['raw_misses']:,} "
                  f"(load {tp['load_after']}; other processes used {fmt(tp['others_nk'])} "
                  f"cores during the best normalkit pass, {fmt(tp['others_raw'])} during the "
                  "raw passes)")

        if not args.no_profile:
            prof = {}
            for size in args.sizes:
                wait_quiet(args.quiet_wait)
                prof[str(size)] = profile_process(high_path, low_path, work / f"profile_{size}.png",
                                                  size, ext, dist)
            results["profile"] = prof
            results["profile_load_after"] = load_str()
    finally:
        if cleanup is not None:
            cleanup.cleanup()
    results["load"]["end"] = load_str()

    print_tables(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float) + "\n")
        print(f"\nresults written to {args.json}")
    return 0


def print_tables(results: dict, args) -> None:
    sizes = results["sizes"]
    print("\n" + "=" * 100)
    print("normalkit bake vs Blender (Cycles CPU, the same samples per texel), "
          f"{results['meshes']['high_faces']:,}-triangle high-poly → "
          f"{results['meshes']['low_faces']:,}-triangle low-poly, "
          f"{results['machine']['threads']} threads")
    print("=" * 100)
    print("times: wall clock, spawn to exit (Blender bake = the bpy.ops.object.bake call)"
          + (f", best of {args.repeat} runs" if args.repeat > 1 else "")
          + "; others: average\ncores used by other processes on the machine during each run")
    hdr = (f"{'size':>6} | {'spp':>3} | {'normalkit':>9} | {'Blender':>8} | {'Blender':>8} | "
           f"{'job/nk':>6} | {'bake/nk':>7} | {'nk peak':>8} | {'Bl peak':>8} | "
           f"{'nk miss':>7} | {'Bl miss':>7} | {'others':>9}")
    sub = (f"{'':>6} | {'':>3} | {'process s':>9} | {'job s':>8} | {'bake s':>8} | {'':>6} | "
           f"{'':>7} | {'MB':>8} | {'MB':>8} | {'rays':>7} | {'texels':>7} | "
           f"{'nk/Bl':>9}")
    print(hdr)
    print(sub)
    print("-" * len(hdr))
    for row in sizes.values():
        nk = row["normalkit"]
        bl = row.get("blender", {})
        loads = f"{fmt(nk['others'], '.1f')}/{fmt(bl.get('others'), '.1f')}"
        print(f"{str(row['size']) + '²':>6} | {row['samples']:>3} | {nk['process']:>9.2f} | "
              f"{fmt(bl.get('job')):>8} | "
              f"{fmt(bl.get('bake')):>8} | {fmt(row.get('ratio_job'), '.2f'):>5}× | "
              f"{fmt(row.get('ratio_bake'), '.2f'):>6}× | {nk['maxrss_mb']:>8.0f} | "
              f"{fmt(bl.get('maxrss_mb'), '.0f'):>8} | {nk['ray_misses']:>7,} | "
              f"{fmt(bl.get('unwritten_texels'), ','):>7} | {loads:>9}")

    # Blender's bake casts one ray per texel whatever its sample count (its samples re-shade
    # that hit), so its 4-sample row does a quarter of normalkit's ray work. Its way to get
    # 4 rays per texel is a bake at twice the size, downsampled: that pairing, where both
    # rows were measured, compares equal ray counts and equally antialiased maps.
    pairs = [(row, sizes.get(f"{2 * row['size']}/1", {})) for row in sizes.values()
             if row["samples"] == 4]
    pairs = [(row, big) for row, big in pairs if big.get("blender", {}).get("bake")]
    if pairs:
        print("\nEqual rays (information, no target): normalkit at 4 samples per texel against "
              "Blender's\nbake call at twice the size and 1 sample (the same rays, 4 per "
              "texel of the smaller map)")
        for row, big in pairs:
            nk_s, bl_s = row["normalkit"]["process"], big["blender"]["bake"]
            print(f"  normalkit {row['size']}², 4 spp {nk_s:.2f} s vs Blender "
                  f"{big['size']}², 1 spp {bl_s:.2f} s: {bl_s / nk_s:.2f}×")

    print("\nTargets")
    checks = []
    for samples in args.samples:
        r2048 = sizes.get(f"2048/{samples}", {})
        r4096 = sizes.get(f"4096/{samples}", {})
        at = f"{samples} sample{'s' if samples > 1 else ''}"
        checks.append((f"2048², {at}: Blender job / normalkit process",
                       r2048.get("ratio_job"), TARGETS["job_2048"], "×"))
        checks.append((f"2048², {at}: Blender bake call / normalkit process",
                       r2048.get("ratio_bake"), TARGETS["bake_2048"], "×"))
        checks.append((f"4096², {at}: Blender bake call / normalkit process",
                       r4096.get("ratio_bake"), TARGETS["bake_4096"], "×"))
    tp = results.get("throughput")
    checks.append(("ray throughput: normalkit tile loop / raw embreex",
                   tp["ratio"] if tp else None, TARGETS["throughput"], "%"))
    verdicts = {}
    for label, value, target, unit in checks:
        if unit == "%":
            shown = "—" if value is None else f"{100 * value:.0f} %"
            goal = f"≥ {100 * target:.0f} %"
        else:
            shown = "—" if value is None else f"{value:.2f}×"
            goal = f"≥ {target:.1f}×"
        v = verdict(value, target)
        verdicts[label] = v
        print(f"  {label:<58} {shown:>8}  (target {goal:>6})  {v}")
    results["verdicts"] = verdicts

    if tp:
        print(f"\nRay throughput at {tp['size']}² ({tp['rays']:,} rays, {tp['threads']} threads)")
        rows = [(f"embreex EmbreeScene.run(output=1), chunks of {tp['raw_chunk']:,}",
                 tp["raw_mrays"], None),
                (f"normalkit tile loop: rasterize+trace+shade ({tp['tile_loop_seconds']:.2f} s)",
                 tp["nk_loop_mrays"], tp["loop_ratio"])]
        for label, rate, ratio in rows:
            pct = "" if ratio is None else f" = {100 * ratio:.0f} % of raw"
            print(f"  {label:<56} {rate:6.2f} Mrays/s{pct}")

    prof = results.get("profile")
    if prof:
        print("\nWhere a normalkit bake process spends its time (s; a second, instrumented "
              "run at 1 sample;\nthread-s are summed over the worker threads and lie inside "
              "the tile loop; (thread)\nphases run beside the low-poly's on the high-poly's "
              "threads; (*) includes waiting for them)")
        keys = ["interpreter start + exit", "imports", "load high", "load low", "normals",
                "tangents", "uv layout", "low frame", "high normals", "bvh_build", "tile_loop",
                "rasterize (thread-s)", "embree (thread-s)", "ray set-up + shading (thread-s)",
                "normalize", "padding", "bake: rest", "encode 16-bit", "PNG write",
                "main: other", "process (profiled)"]
        labels = {"bvh_build": "BVH build (thread)", "tile_loop": "tile loop (wall)",
                  "high normals": "high normals (thread)", "normals": "normals (both)",
                  "rasterize (thread-s)": "  rasterize (thread-s)",
                  "embree (thread-s)": "  Embree rays (thread-s)",
                  "ray set-up + shading (thread-s)": "  ray set-up+shade (th-s)",
                  "load high": "load high (PLY, thread)", "load low": "load low (OBJ)",
                  "bake: rest": "bake: rest, waits (*)",
                  "tangents": "tangents (+Numba start)"}
        names = list(prof)
        print(f"  {'phase':<26}" + "".join(f"{n + '²':>10}" for n in names))
        for k in keys:
            if not any(k in prof[n] for n in names):
                continue  # a phase this normalkit version does not have as a function
            print(f"  {labels.get(k, k):<26}"
                  + "".join(f"{prof[n].get(k, 0.0):>10.2f}" for n in names))
        print(f"  {'process (timed run above)':<26}"
              + "".join(f"{fmt(sizes.get(f'{n}/1', {}).get('normalkit', {}).get('process')):>10}"
                        for n in names))
        print(f"  {'peak MB (profiled run)':<26}"
              + "".join(f"{prof[n]['peak MB']:>10.0f}" for n in names))
        print(f"  {'others (cores, profiled)':<26}"
              + "".join(f"{fmt(prof[n]['others']):>10}" for n in names))
    print(f"\nload average at start {results['load']['start']}, at end {results['load']['end']}")


if __name__ == "__main__":
    sys.exit(main())
