"""``normalkit batch`` on the local engine (a pool of worker processes).

About 20 small generated assets, good and bad: the bad ones fail cleanly while the rest
succeed; a job that kills its own process is retried, then reported; a job past its
timeout is stopped; an interrupted run resumes; outputs are byte-identical to running
each command alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from jobs_for_tests import (
    crash,
    crash_once,
    files_of,
    interrupt_then_resume,
    leftovers,
    sleep,
    write_assets,
)
from normalkit.batch.jobs import Job, load_manifest
from normalkit.batch.runner import MARKER, run_batch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return write_assets(tmp_path_factory.mktemp("assets"))


@pytest.fixture(scope="module")
def batch(assets, tmp_path_factory):
    """The manifest run once through the CLI: (outdir, exit code, stdout, batch.json)."""
    from normalkit.cli import main

    out = tmp_path_factory.mktemp("batch") / "out"
    code = main(["batch", str(assets["manifest"]), "-o", str(out), "-q"])
    return out, code, json.loads((out / "batch.json").read_text())


def test_bad_assets_fail_cleanly_and_the_rest_succeed(assets, batch):
    out, code, doc = batch
    assert code == 1  # some jobs failed
    status = {j["id"]: j["status"] for j in doc["jobs"]}
    assert {k for k, s in status.items() if s == "done"} == set(assets["good"])
    assert {k for k, s in status.items() if s == "failed"} == set(assets["bad"])
    errors = {j["id"]: j["error"] for j in doc["jobs"]}
    assert "truncated" in errors["cut"] or "cut off" in errors["cut"], errors["cut"]
    assert "NaN" in errors["nan"] or "finite" in errors["nan"], errors["nan"]
    assert "UVs" in errors["no_uvs"], errors["no_uvs"]
    assert not any((out / bad).exists() for bad in assets["bad"])  # nothing partial
    assert all(j["attempts"] == 1 for j in doc["jobs"])  # refused input is not retried
    assert leftovers(out) == []
    for j in doc["jobs"]:
        if j["status"] == "done":
            marker = json.loads((out / j["id"] / MARKER).read_text())
            assert sorted(marker["outputs"]) == sorted(j["outputs"]) == sorted(
                files_of(out / j["id"]))
            assert j["thumbnail"] == f"thumbnails/{j['id']}.png"
            assert (out / j["thumbnail"]).is_file()
    reduced = next(j for j in doc["jobs"] if j["id"] == "torus00")
    assert 290 <= reduced["summary"]["triangles"] <= 300 and reduced["summary"]["misses"] == 0
    page = (out / "report.html").read_text()
    assert page.count("<tr>") == 1 + len(doc["jobs"])
    assert 'src="thumbnails/torus00.png"' in page
    assert doc["counts"]["done"] == len(assets["good"])
    assert doc["engine"] == "local" and doc["threads_per_job"] == 1


def test_outputs_are_byte_identical_to_the_command_alone(assets, batch, tmp_path, capsys):
    out, _, doc = batch
    jobs = {j["id"]: j for j in doc["jobs"]}
    for job_id in ("torus03", "bake1", "render"):
        argv = jobs[job_id]["argv"]
        solo = tmp_path / job_id
        solo.mkdir()
        i = argv.index("-o")
        target = Path(argv[i + 1])
        alone = [*argv[:i], "-o", str(solo / target.relative_to(out / job_id)), *argv[i + 2:]]
        code, _, err = run_cli(alone, capsys)
        assert code == 0, err
        a, b = files_of(out / job_id), files_of(solo)
        assert sorted(a) == sorted(b)
        for name in a:
            if name == "report.json":  # timings and paths differ run to run
                assert _untimed(json.loads(a[name])) == _untimed(json.loads(b[name]))
            else:
                assert a[name] == b[name], f"{job_id}/{name} differs"


def _untimed(doc):
    """A report without what differs run to run: timings, the machine, absolute paths."""
    if isinstance(doc, dict):
        return {k: _untimed(v) for k, v in doc.items()
                if k not in ("seconds", "machine", "viewer")}
    return [_untimed(v) for v in doc] if isinstance(doc, list) else doc


def test_a_crashing_job_is_retried_then_reported(tmp_path):
    flag = tmp_path / "crashed-once"
    jobs = [Job("always", crash), Job("once", crash_once, [str(flag)]),
            Job("fine", sleep, ["0.1"])]
    notes = []
    result = run_batch(jobs, tmp_path / "out", retries=1, thumbnails=False, log=notes.append)
    by = {j["id"]: j for j in result.jobs}
    assert by["always"]["status"] == "crashed" and by["always"]["attempts"] == 2
    assert by["always"]["error"] == "the worker process died (exit code 70)"
    assert by["once"]["status"] == "done" and by["once"]["attempts"] == 2
    assert sorted(files_of(tmp_path / "out" / "once")) == ["half.bin", "ok.txt"]
    assert by["fine"]["status"] == "done" and by["fine"]["attempts"] == 1
    assert not (tmp_path / "out" / "always").exists()
    assert any("always: the worker process died" in n and "try 2 of 2" in n for n in notes)
    assert not result.ok


def test_a_job_past_its_timeout_is_stopped(tmp_path):
    """A 120 s job with --timeout 15 ends as "timeout" (had it been waited for, it would
    be "done"); the quick one beside it is untouched. The timeout counts from the job's
    start, worker start-up included, hence its room."""
    result = run_batch([Job("slow", sleep, ["120"]), Job("quick", sleep, ["0.1"])],
                       tmp_path / "out", timeout=15, retries=0, thumbnails=False)
    by = {j["id"]: j for j in result.jobs}
    assert by["slow"]["status"] == "timeout" and "--timeout 15" in by["slow"]["error"]
    assert by["quick"]["status"] == "done"
    assert not (tmp_path / "out" / "slow").exists()


def test_interrupt_then_resume(assets, tmp_path):
    interrupt_then_resume(assets, tmp_path / "out", [])


def test_the_glob_shortcut_and_its_table(assets, tmp_path, capsys):
    pattern = str(assets["manifest"].parent / "torus0[0-2].ply")
    code, out, err = run_cli(["batch", "reduce", pattern, "-o", tmp_path / "g", "--faces",
                              "300", "--size", "64", "--samples", "1", "-q",
                              "--no-thumbnails"], capsys)
    assert code == 0, err
    assert out.splitlines()[0].startswith("batch: 3 jobs on local (2 at a time, 1 thread each)")
    assert "3 done" in out.splitlines()[1]
    assert sorted(p.name for p in (tmp_path / "g").iterdir()) == [
        "batch.json", "report.html", "torus00", "torus01", "torus02"]


def test_a_jsonl_manifest_with_option_objects(assets, tmp_path):
    d = assets["manifest"].parent
    (d / "jobs.jsonl").write_text("\n".join([
        json.dumps({"command": "bake", "inputs": ["pair_high.ply", "pair_low.obj"],
                    "options": {"size": 32, "samples": 1, "directx": True, "cage": None},
                    "id": "dx", "output": "dx.png"}),
        "",
        json.dumps({"command": "reduce", "inputs": "torus05.ply",
                    "options": ["--faces", "300", "--size", "64"]}),
    ]) + "\n")
    jobs = load_manifest(d / "jobs.jsonl")
    assert [j.id for j in jobs] == ["dx", "torus05"]
    argv = jobs[0].argv(tmp_path, 1)
    assert argv[:3] == ["bake", str(d / "pair_high.ply"), str(d / "pair_low.obj")]
    assert "--directx" in argv and "--cage" not in argv
    assert argv[argv.index("-o") + 1] == str(tmp_path / "dx.png")
    assert argv[argv.index("--threads") + 1] == "1"


@pytest.mark.parametrize("rows,match", [
    ("command,inputs\nreduse,a.ply\n", "unknown command 'reduse'"),
    ("command,inputs\nbake,a.ply\n", "bake takes HIGH and LOW, got 1"),
    ("command,inputs\nreduce,missing.ply\n", "the input '.*missing.ply' does not exist"),
    ("command,inputs,id\nreduce,a.ply,x\nreduce,a.ply,x\n", "two jobs have the id 'x'"),
    ("command,inputs,options\nreduce,a.ply,-o elsewhere\n", "must not set -o"),
    ("command,inputs,id\nreduce,a.ply,../up\n", "must be a plain name"),
    ("command,inputs,id\nreduce,a.ply,batch.json\n", "a name the batch uses itself"),
    ("command,inputs\n", "lists no jobs"),
    ("inputs\na.ply\n", "no \"command\" column"),
    ("command,inputs,options\nreduce,a.ply,\"--faces '5\"\n", "cannot split options"),
])
def test_bad_manifests_are_one_line_exit_2(tmp_path, capsys, rows, match):
    import re

    (tmp_path / "a.ply").write_text("x")
    (tmp_path / "m.csv").write_text(rows)
    code, out, err = run_cli(["batch", tmp_path / "m.csv", "-o", tmp_path / "out"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("normalkit: error: "), err
    assert re.search(match, lines[0]), lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,match", [
    (["reduce", "nothing/*.ply"], "no file matches"),
    (["reduce"], "give the inputs of reduce as a quoted glob"),
    (["reduse"], "neither a manifest file nor a command"),
    (["reduce", "{a}", "--jobs", "0"], "--jobs must be a whole number ≥ 1"),
    (["reduce", "{a}", "--timeout", "-1"], "--timeout must be a positive number"),
    (["reduce", "{a}", "--engine", "local", "--address", "auto"], "--address is for"),
])
def test_bad_batch_options_are_one_line_exit_2(tmp_path, capsys, args, match):
    (tmp_path / "a.ply").write_text("x")
    args = [a.replace("{a}", str(tmp_path / "a.ply")) for a in args]
    code, out, err = run_cli(["batch", *args, "-o", tmp_path / "out", "-q"], capsys)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and match in err, err


def test_workers_are_reused(tmp_path):
    """Six quick jobs on two workers: two processes ran them all."""
    result = run_batch([Job(f"j{i}", sleep, ["0.2"]) for i in range(6)], tmp_path / "out",
                       parallel=2, thumbnails=False)
    assert result.ok
    assert len({j["pid"] for j in result.jobs}) == 2
