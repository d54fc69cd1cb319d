"""``normalkit batch --engine ray`` against a real local Ray cluster the tests start.

The cluster listens on 127.0.0.1 only (Ray's single-machine mode,
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, with --node-ip-address 127.0.0.1), with usage
statistics off and token authentication on (a fresh token per run). The same cases as
the local engine run on it, plus a worker killed in the middle of a run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

import jobs_for_tests
from jobs_for_tests import (
    crash,
    crash_once,
    files_of,
    interrupt_then_resume,
    leftovers,
    sleep,
    wait_to_be_killed,
)
from normalkit.batch.jobs import Job, load_manifest
from normalkit.batch.runner import run_batch

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="the [ray] extra is not installed")]
# Ray reads its settings (authentication, loopback mode) when it is first imported: the
# cluster fixture sets them, then imports it.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node with 2 CPUs on 127.0.0.1; yields its address, then stops only it."""
    import psutil

    env = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the driver (this process) needs the same settings
    temp = tempfile.mkdtemp(prefix="nk_ray_", dir="/tmp")
    port = _free_port()
    ray_cli = str(Path(sys.executable).with_name("ray"))
    start = subprocess.run(
        [ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"], capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stdout + start.stderr
    import ray
    from ray import cloudpickle

    # Ray's workers cannot import this test folder: send the job callables by value.
    cloudpickle.register_pickle_by_value(jobs_for_tests)
    try:
        yield {"address": f"127.0.0.1:{port}", "temp": temp}
    finally:
        cloudpickle.unregister_pickle_by_value(jobs_for_tests)
        if ray.is_initialized():
            ray.shutdown()
        for p in psutil.process_iter(["cmdline"]):
            if any(temp in part for part in (p.info["cmdline"] or [])):
                p.kill()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _cluster_processes(temp: str):
    import psutil

    return [p for p in psutil.process_iter(["cmdline"])
            if any(temp in part for part in (p.info["cmdline"] or []))]


def test_the_cluster_listens_on_loopback_only(cluster):
    import psutil

    pids = {p.pid for p in _cluster_processes(cluster["temp"])}
    assert pids
    listening = [c for c in psutil.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.pid in pids]
    assert listening
    addresses = {c.laddr.ip for c in listening}
    assert addresses <= {"127.0.0.1", "::ffff:127.0.0.1"}, addresses


def test_bad_assets_fail_cleanly_and_the_rest_succeed(cluster, tmp_path):
    assets = jobs_for_tests.write_assets(tmp_path / "assets", n_good=4)
    out = tmp_path / "out"
    result = run_batch(load_manifest(assets["manifest"]), out, engine="ray",
                       address=cluster["address"], thumbnails=True)
    status = {j["id"]: j["status"] for j in result.jobs}
    assert {k for k, s in status.items() if s == "done"} == set(assets["good"])
    assert {k for k, s in status.items() if s == "failed"} == set(assets["bad"])
    assert result.engine == "ray" and result.slots == 2
    assert not any((out / b).exists() for b in assets["bad"]) and leftovers(out) == []
    doc = json.loads((out / "batch.json").read_text())
    assert doc["engine"] == "ray" and (out / "thumbnails" / "torus00.png").is_file()

    # The same job on the local engine writes the same bytes.
    local = run_batch([j for j in load_manifest(assets["manifest"]) if j.id == "torus01"],
                      tmp_path / "local", thumbnails=False)
    assert local.ok
    a, b = files_of(out / "torus01"), files_of(tmp_path / "local" / "torus01")
    assert sorted(a) == sorted(b)
    assert all(a[k] == b[k] for k in a if k != "report.json")


def test_a_crashing_job_is_retried_then_reported(cluster, tmp_path):
    flag = tmp_path / "crashed-once"
    result = run_batch([Job("always", crash), Job("once", crash_once, [str(flag)]),
                        Job("fine", sleep, ["0.1"])], tmp_path / "out", engine="ray",
                       address=cluster["address"], retries=1, thumbnails=False)
    by = {j["id"]: j for j in result.jobs}
    assert by["always"]["status"] == "crashed" and by["always"]["attempts"] == 2
    assert by["always"]["error"].startswith("the Ray worker died")
    assert by["once"]["status"] == "done" and by["once"]["attempts"] == 2
    assert by["fine"]["status"] == "done"
    assert not (tmp_path / "out" / "always").exists()


def test_a_worker_killed_mid_run_is_retried(cluster, tmp_path):
    pid_file, flag = tmp_path / "pid", tmp_path / "first"
    killed = {}

    def kill_when_it_runs():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not pid_file.exists():
            time.sleep(0.05)
        time.sleep(0.2)
        killed["pid"] = int(pid_file.read_text())
        os.kill(killed["pid"], signal.SIGKILL)

    t = threading.Thread(target=kill_when_it_runs)
    t.start()
    result = run_batch([Job("victim", wait_to_be_killed, [str(pid_file), str(flag)]),
                        *[Job(f"other{i}", sleep, ["0.5"]) for i in range(3)]],
                       tmp_path / "out", engine="ray", address=cluster["address"],
                       retries=2, thumbnails=False)
    t.join()
    by = {j["id"]: j for j in result.jobs}
    assert "pid" in killed
    assert by["victim"]["status"] == "done" and by["victim"]["attempts"] == 2
    assert by["victim"]["pid"] != killed["pid"]
    assert (tmp_path / "out" / "victim" / "ok.txt").read_text() == "after the kill"
    assert all(by[f"other{i}"]["status"] == "done" for i in range(3))


def test_a_job_past_its_timeout_is_cancelled(cluster, tmp_path):
    """As on the local engine: "timeout", not "done", for a 120 s job at --timeout 15."""
    result = run_batch([Job("slow", sleep, ["120"]), Job("quick", sleep, ["0.1"])],
                       tmp_path / "out", engine="ray", address=cluster["address"],
                       timeout=15, retries=0, thumbnails=False)
    by = {j["id"]: j for j in result.jobs}
    assert by["slow"]["status"] == "timeout" and by["quick"]["status"] == "done"
    assert not (tmp_path / "out" / "slow").exists()


def test_without_an_address_the_command_starts_its_own_cluster(tmp_path):
    """`--engine ray` alone: a one-node Ray on 127.0.0.1, stopped at the end."""
    import psutil

    from normalkit.mesh.examples import colored_bumpy_torus
    from normalkit.mesh.io import save_ply

    for i in range(2):
        save_ply(colored_bumpy_torus(high_faces=2048), tmp_path / f"t{i}.ply")
    def ray_daemons() -> set:
        return {p.pid for p in psutil.process_iter(["name"])
                if p.info["name"] in ("raylet", "gcs_server")}

    before = ray_daemons()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    proc = subprocess.run([sys.executable, "-m", "normalkit", "batch", "reduce",
                           str(tmp_path / "t*.ply"), "-o", str(tmp_path / "out"), "--faces",
                           "200", "--size", "64", "--engine", "ray", "-q"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 jobs on ray" in proc.stdout
    doc = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert doc["engine"] == "ray" and doc["counts"]["done"] == 2
    deadline = time.monotonic() + 30
    while ray_daemons() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray_daemons() - before == set()  # the cluster it started is gone


def test_interrupt_then_resume(cluster, tmp_path):
    assets = jobs_for_tests.write_assets(tmp_path / "assets", n_good=8)
    interrupt_then_resume(assets, tmp_path / "out", ["--engine", "ray", "--address",
                                                     cluster["address"]])


def test_joining_without_the_clusters_token_is_one_line_not_a_hang(cluster, tmp_path):
    (tmp_path / "a.ply").write_text("x")
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_TOKEN"}
    env["NORMALKIT_RAY_CONNECT_TIMEOUT"] = "10"
    proc = subprocess.run([sys.executable, "-m", "normalkit", "batch", "reduce",
                           str(tmp_path / "a.ply"), "-o", str(tmp_path / "out"), "--faces",
                           "10", "--engine", "ray", "--address", cluster["address"], "-q"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("normalkit: error:")]
    assert len(errors) == 1 and "RAY_AUTH_TOKEN" in errors[0], proc.stderr
    assert errors[0].startswith(f"normalkit: error: cannot join Ray at {cluster['address']}")
    assert not (tmp_path / "out").exists()
