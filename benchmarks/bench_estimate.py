"""Overhead of ``normalkit.estimation`` around a diffusion model, and the harness on renders.

The peer is diffusers itself: the same Marigold pipeline called directly on the same
768² image. normalkit's ``predict`` (input checks, frame conversion, renormalisation)
and the harness's per-image work (``evaluate``: decoding, the truth's frame, statistics)
are timed around the same call; the difference is normalkit's overhead (the issue's
goal: ≤ 0.5 s per 768² image). The model is the tiny random-weight pipeline of the tests
(no weights can be downloaded here), so the model's own time is small and the overhead
stands out.

Then ``normalkit estimate eval`` runs on a views folder rendered by normalkit (a bowl,
6 views at 768²) with both oracles and the tiny pipeline, and prints their
pooled figures: the oracles' must be 0° and exactly their perturbation.

Run: ``.venv/bin/python benchmarks/bench_estimate.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SIZE = 768
REPEATS = 5


def main() -> int:
    import torch

    import tiny_marigold
    from normalkit.cli import main as cli
    from normalkit.estimation import evaluate, load_estimator
    from normalkit.mesh.examples import cup
    from normalkit.mesh.io import save_obj

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = tiny_marigold.build(tmp / "tiny")
        est = load_estimator(str(model), resolution=SIZE)
        rgb = np.random.default_rng(0).random((SIZE, SIZE, 3)).astype(np.float32)
        est.predict(rgb)  # warm up (first call allocates)
        peer, ours, model_s = [], [], []
        for _ in range(REPEATS):
            g = torch.Generator().manual_seed(0)
            t0 = time.perf_counter()
            with torch.inference_mode():
                est.pipe(rgb, processing_resolution=SIZE, generator=g,
                         match_input_resolution=True)
            peer.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r = est.predict(rgb)
            ours.append(time.perf_counter() - t0)
            model_s.append(r.model_seconds)
        p, o, inside = (float(np.median(x)) for x in (peer, ours, model_s))
        overhead = o - inside
        print(f"one {SIZE}² image, median of {REPEATS}: diffusers pipeline {p:.3f} s, "
              f"normalkit predict {o:.3f} s (model {inside:.3f} s): overhead "
              f"{overhead:.3f} s, ratio {o / p:.3f}")

        save_obj(cup(height=0.3), tmp / "ball.obj")
        assert cli(["render", str(tmp / "ball.obj"), "-o", str(tmp / "views"), "--size",
                    str(SIZE), "--views", "6", "--samples", "1", "-q"]) == 0
        t0 = time.perf_counter()
        rep = evaluate(tmp / "views", load_estimator("oracle"),
                       compare_to=load_estimator("oracle:5"), progress=False)
        rep2 = evaluate(tmp / "views", est, outdir=tmp / "eval", progress=False)
        wall = time.perf_counter() - t0
        for m in rep["models"] + rep2["models"]:
            s, q = m["seconds"], m["pooled"]
            print(f"eval {m['model']['name']:>22}: pooled mean {q['mean']:7.3f}°, median "
                  f"{q['median']:7.3f}°, <11.25° {q['within_11.25']:5.1f} %, "
                  f"<30° {q['within_30']:5.1f} %; per image {s['seconds']:.3f} s "
                  f"(model {s['model_seconds']:.3f} s, overhead {s['overhead_seconds']:.3f} s);"
                  f" peak RSS {m['peak_memory_mb']:.0f} MB")
        print(f"harness total (3 models × 6 views of {SIZE}², sheets and report for the "
              f"last): {wall:.1f} s")
        worst = max(m["seconds"]["overhead_seconds"] for m in rep2["models"])
        ok = overhead <= 0.5 and worst <= 0.5 and rep["models"][0]["pooled"]["mean"] < 0.02 and \
            abs(rep["models"][1]["pooled"]["mean"] - 5) < 0.02
        print("goal (overhead ≤ 0.5 s, oracles exact):", "PASS" if ok else "MISS")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
