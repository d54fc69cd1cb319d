"""SIGINT and SIGTERM: workers stop, temporary files go, exit 130 / 143, never a crash.

The fast tests drive :mod:`normalkit.core.interrupt` and :mod:`normalkit.core.parallel` in this
process. The slow one interrupts ``bake``, ``reduce`` and ``render`` 30 times each at
random moments (fixed seed), a third of them with SIGTERM and some with a second signal
during the cleanup, and checks every run: the exit code, no crash or traceback, no
temporary file left, and an output that is either absent or complete.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ASSETS, bump, grid_plane
from normalkit.cli import main
from normalkit.core import interrupt
from normalkit.core.parallel import map_threads, run_blocks, run_threads
from normalkit.mesh.io import save_obj, save_ply

ROCKER = ASSETS / "meshes" / "rocker-arm.obj"


class _Workers:
    """A work function that counts the items that started and those still running."""

    def __init__(self, seconds=0.03, fail_at=None):
        self.lock = threading.Lock()
        self.started = self.running = 0
        self.seconds, self.fail_at = seconds, fail_at

    def __call__(self, item):
        with self.lock:
            self.started += 1
            self.running += 1
        try:
            time.sleep(self.seconds)
            if item == self.fail_at:
                raise ValueError(item)
            return item
        finally:
            with self.lock:
                self.running -= 1


def test_map_threads_keeps_order_and_runs_in_this_thread_alone():
    assert run_threads(lambda x: x * x, range(50), 4) == [x * x for x in range(50)]
    where = run_threads(lambda _: threading.get_ident(), range(3), 1)
    assert where == [threading.get_ident()] * 3


def test_run_blocks_covers_every_item_once_in_order():
    assert run_blocks(lambda b: (b.start, b.stop), 10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert run_blocks(lambda b: threading.current_thread().name, 3, 4) == ["MainThread"]
    assert run_blocks(lambda b: b, 0, 4) == []


def test_a_failing_item_cancels_the_rest_and_waits_for_the_running_ones():
    work = _Workers(fail_at=1)
    with pytest.raises(ValueError):
        run_threads(work, range(40), 4)
    assert work.running == 0  # nobody still runs once the error is raised
    assert work.started < 40  # items not started were cancelled


def test_a_loop_that_raises_waits_for_the_running_workers():
    work = _Workers()
    with pytest.raises(RuntimeError):
        for _ in map_threads(work, range(40), 4):
            raise RuntimeError("the caller stops")
    assert work.running == 0
    assert work.started < 40


def test_a_stop_request_stops_the_workers_and_raises_interrupted():
    work = _Workers()
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(interrupt.Interrupted) as info:
        with interrupt.handling():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here (test code: it only records)
            assert interrupt.requested()
            run_threads(work, range(40), 4)
    assert info.value.exit_code == 143
    assert work.started == 0 and work.running == 0
    assert not interrupt.requested()  # reset when the handlers are restored
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_second_signal_is_not_raised_during_the_cleanup():
    cleaned = []
    with pytest.raises(interrupt.Interrupted):
        with interrupt.handling():
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
                interrupt.check()
            except BaseException:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C again while cleaning up
                time.sleep(0.05)
                cleaned.append(True)
                raise
    assert cleaned == [True]


def test_an_error_after_a_stop_request_counts_as_the_interrupt():
    # trimesh and SciPy catch BaseException around imports and fail later instead
    with pytest.raises(interrupt.Interrupted) as info:
        with interrupt.handling():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            raise TypeError("unsupported operand type(s) for |")
    assert isinstance(info.value.__cause__, TypeError)


@pytest.fixture(scope="module")
def plane_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("signals")
    h, n = bump()
    save_ply(grid_plane(60, height=h, normals=n), d / "high.ply")
    save_obj(grid_plane(2), d / "low.obj")
    return d


def test_sigterm_during_a_bake_exits_143_and_leaves_no_file(plane_files, tmp_path,
                                                            monkeypatch, capsys):
    import normalkit.baking.bake as bake_module

    rasterize = bake_module.rasterize_tile

    def signalled(*args, **kw):  # a worker thread: SIGTERM arrives mid-bake
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.02)
        return rasterize(*args, **kw)

    monkeypatch.setattr(bake_module, "rasterize_tile", signalled)
    code = main(["bake", str(plane_files / "high.ply"), str(plane_files / "low.obj"), "-o",
                 str(tmp_path / "out.png"), "--size", "256", "--extrusion", "0.1",
                 "--max-distance", "0.1", "--threads", "2", "-q"])
    assert code == 143
    assert "normalkit: interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- Ctrl-C and SIGTERM at random moments, in real processes -----------------------------

TRIES = 30


@pytest.fixture(scope="module")
def low_poly(tmp_path_factory):
    """A 2,000-triangle rocker arm with UVs and its normal map (reduce, in this process)."""
    from normalkit.assets.reduce import reduce

    d = tmp_path_factory.mktemp("low")
    res = reduce(ROCKER, d / "low", faces=2000, size=256)
    return res.files["obj"], res.files["normal_map"]


def _commands(low_poly):
    low, normal_map = low_poly
    return {
        # name: (argv after "normalkit", output, a file a complete output holds)
        "bake": (["bake", ROCKER, low, "-o", "out.png", "--size", "1024"], "out.png", None),
        "reduce": (["reduce", ROCKER, "-o", "out", "--faces", "2000", "--size", "1024"],
                   "out", "report.json"),
        "render": (["render", low, "--normal-map", normal_map, "-o", "out", "--views", "6",
                    "--size", "256"], "out", "cameras.json"),
    }


def _start(argv, cwd: Path) -> subprocess.Popen:
    """The console script's code path (cli.entry), whatever is installed on PATH."""
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    return subprocess.Popen(
        [sys.executable, "-c", "from normalkit.cli import entry; entry()",
         *[str(a) for a in argv], "-q"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _leftovers(folder: Path, output: str, complete: str | None) -> list[str]:
    """Paths under ``folder`` that are not a complete output."""
    bad = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] != output or any(p.startswith(".") for p in rel.parts):
            bad.append(str(rel))
    out = folder / output
    if complete and out.exists() and not (out / complete).is_file():
        bad.append(f"{output}/ without {complete}")
    return bad


@pytest.mark.slow
@pytest.mark.parametrize("command", ["bake", "reduce", "render"])
def test_signals_at_random_moments(command, low_poly, tmp_path):
    argv, output, complete = _commands(low_poly)[command]
    rng = random.Random(f"signals {command}")

    full = math.inf  # how long a run lasts here: the faster of two runs to the end
    for k in range(2):
        (tmp_path / f"full{k}").mkdir()
        t0 = time.perf_counter()
        p = _start(argv, tmp_path / f"full{k}")
        _, err = p.communicate(timeout=300)
        full = min(full, time.perf_counter() - t0)
        assert p.returncode == 0, err
        assert _leftovers(tmp_path / f"full{k}", output, complete) == []

    tally = {"interrupted": 0, "finished": 0}
    problems = []
    for k in range(TRIES):
        run = tmp_path / f"run{k:02d}"
        run.mkdir()
        sig = signal.SIGTERM if rng.random() < 1 / 3 else signal.SIGINT
        again = rng.random() < 0.3  # a second signal while it cleans up
        delay = rng.uniform(0.1, 0.9 * full)
        p = _start(argv, run)
        time.sleep(delay)
        p.send_signal(sig)
        if again:
            time.sleep(rng.uniform(0.0, 0.1))
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            problems.append(f"run {k}: hung after {sig.name} at {delay:.2f} s")
            continue
        # Two signals that both arrive while the main thread is in native code are
        # handled in signal-number order (CPython's pending-signal scan), so SIGINT's
        # handler runs first and its status (130) is as right as SIGTERM's.
        expected = {128 + sig} | ({128 + signal.SIGINT} if again else set())
        what = f"run {k} ({sig.name} at {delay:.2f} s{', twice' if again else ''})"
        if p.returncode == 0:
            tally["finished"] += 1
        elif p.returncode in expected:
            tally["interrupted"] += 1
        else:
            problems.append(f"{what}: exit code {p.returncode}: {err[-2000:]}")
        if "Fatal Python error" in err or "Traceback" in err:
            problems.append(f"{what}: {err[-2000:]}")
        left = _leftovers(run, output, complete)
        if left:
            problems.append(f"{what}: left {left}")
    print(f"{command}: {TRIES} runs of about {full:.1f} s: {tally}")
    assert problems == []
    assert tally["interrupted"] >= TRIES // 2  # the signals did land mid-run
