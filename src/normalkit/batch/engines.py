"""Engines: where jobs run. One small interface, two implementations.

An engine has ``slots`` (how many jobs run at once) and three calls:

- ``submit(key, payload, timeout)``: start a job on a free slot (the runner only submits
  when ``free()`` > 0);
- ``poll(wait)``: wait up to ``wait`` seconds, return ``[(key, outcome)]`` for jobs that
  ended: ``("done", result)`` with :func:`~normalkit.batch.work.execute`'s dict,
  ``("crashed", why)`` when the process running it died, ``("timeout", why)``;
- ``close(abort=False)``: stop (``abort``: kill what still runs).

:class:`LocalEngine` is a pool of worker processes on this machine; :class:`RayEngine`
runs Ray Core tasks on a Ray cluster (the ``[ray]`` extra).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait as wait_any

from ..core.errors import NormalkitError

__all__ = ["RAY_CONNECT_TIMEOUT_S", "LocalEngine", "RayEngine", "make_engine"]

#: Seconds to wait for Ray to start or to join a cluster (NORMALKIT_RAY_CONNECT_TIMEOUT).
RAY_CONNECT_TIMEOUT_S = 60.0

def make_engine(name: str, slots: int | None, threads: int, address: str | None = None,
                log=None):
    """The engine ``name`` with ``slots`` jobs at a time (None: as many as its CPUs allow
    at ``threads`` each)."""
    if name == "local":
        if address is not None:
            raise NormalkitError("--address is for --engine ray; drop it, or add --engine ray")
        return LocalEngine(slots or max(1, (os.cpu_count() or 1) // threads), threads)
    if name == "ray":
        return RayEngine(slots, threads, address, log=log)
    raise NormalkitError(f"unknown engine {name!r}; use local or ray")


# --------------------------------------------------------------------------------------------
# Local: a pool of reused worker processes


def _worker_main(conn) -> None:
    """A worker: run the payloads that arrive, one at a time, until told to stop (each
    payload carries its threads: :func:`~normalkit.batch.work.execute` sets them)."""
    # The parent decides when the batch stops; a job's command handles its own signals
    # while it runs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .work import execute

    while True:
        try:
            payload = conn.recv()
        except (EOFError, OSError):
            return
        if payload is None:
            return
        result = execute(payload)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
        if result["code"] in (130, 143):  # a signal stopped the job: the batch is ending
            return


class _Worker:
    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child,), daemon=True,
                                name="normalkit-batch-worker")
        self.proc.start()
        child.close()
        self.key = None
        self.started = 0.0
        self.timeout = None


class LocalEngine:
    """``slots`` worker processes (spawned, reused across jobs) for jobs of ``threads``
    threads each (each payload sets them in its worker). A worker that dies takes only
    its job with it and is replaced; one that runs past its job's timeout is killed and
    replaced."""

    name = "local"

    def __init__(self, slots: int, threads: int):
        self.slots, self.threads = int(slots), int(threads)
        self.ctx = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []

    def free(self) -> int:
        return self.slots - sum(w.key is not None for w in self.workers)

    def submit(self, key, payload: dict, timeout: float | None,
               memory: int | None = None) -> None:
        w = next((w for w in self.workers if w.key is None and w.proc.is_alive()), None)
        if w is None:
            self.workers = [w for w in self.workers if w.proc.is_alive() or w.key is not None]
            w = _Worker(self.ctx)
            self.workers.append(w)
        w.conn.send(payload)
        w.key, w.started, w.timeout = key, time.monotonic(), timeout

    def poll(self, wait: float) -> list:
        busy = [w for w in self.workers if w.key is not None]
        if not busy:
            time.sleep(min(wait, 0.05))
            return []
        ready = set(wait_any([w.conn for w in busy] + [w.proc.sentinel for w in busy],
                             timeout=wait))
        ended = []
        now = time.monotonic()
        for w in busy:
            outcome = None
            if w.conn in ready:
                try:
                    outcome = ("done", w.conn.recv())
                except (EOFError, OSError):
                    outcome = None
            if outcome is None and (w.proc.sentinel in ready or not w.proc.is_alive()):
                w.proc.join(timeout=1)
                outcome = ("crashed", _death(w.proc.exitcode))
            if outcome is None and w.timeout and now - w.started > w.timeout:
                _kill(w.proc)
                outcome = ("timeout", f"ran past --timeout {w.timeout:g} s and was stopped")
            if outcome is not None:
                ended.append((w.key, outcome))
                w.key = None
                if outcome[0] != "done" or not w.proc.is_alive():
                    self._retire(w)
        return ended

    def _retire(self, w: _Worker) -> None:
        _kill(w.proc)
        w.conn.close()
        self.workers.remove(w)

    def close(self, abort: bool = False) -> None:
        for w in list(self.workers):
            if w.key is None and not abort:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + (0 if abort else 10)
        for w in list(self.workers):
            if abort and w.proc.is_alive():
                w.proc.terminate()  # SIGTERM: a running command cleans up and exits 143
        for w in list(self.workers):
            w.proc.join(timeout=max(0.0, deadline - time.monotonic()) if not abort else 10)
            _kill(w.proc)
            w.conn.close()
        self.workers = []


def _death(code) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process died ({name})"
    return f"the worker process died (exit code {code})"


def _kill(proc) -> None:
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Ray


class RayEngine:
    """Ray Core tasks, ``slots`` at a time, each asking for ``threads`` CPUs and its
    command's memory. ``address``: an existing cluster ("auto", or "HOST:PORT"); None
    starts a local one on 127.0.0.1 with usage statistics off. A task whose worker dies
    is reported as crashed (Ray does not retry it: the batch's ``--retries`` does)."""

    name = "ray"

    def __init__(self, slots: int | None, threads: int, address: str | None = None, log=None):
        # Ray reads these when it is first imported: no usage statistics; without an
        # address (or with a loopback one), one node on loopback only (Ray's
        # single-machine mode).
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address is None or address.rsplit(":", 1)[0] in ("127.0.0.1", "localhost"):
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        try:
            import ray
        except ImportError:
            raise NormalkitError("--engine ray needs Ray: pip install 'normalkit[ray]'") \
                from None
        self.ray = ray
        self.threads = int(threads)
        self.running: dict = {}  # ObjectRef -> (key, started, timeout)
        self._owns = False
        if not ray.is_initialized():
            self._init(ray, slots, address)
            self._owns = True
        cluster = int(ray.cluster_resources().get("CPU", 1))
        self.slots = int(slots) if slots else max(1, cluster // self.threads)
        from .work import execute

        self._task = ray.remote(max_retries=0)(execute)

    def _init(self, ray, slots, address) -> None:
        """Start a local Ray, or join ``address``. Joining runs in a thread: a cluster
        whose authentication token this machine lacks makes Ray retry for many minutes;
        give up after :data:`RAY_CONNECT_TIMEOUT_S` with one line instead. (Starting one
        stays in the main thread, where Ray installs its signal handlers.)"""
        import threading

        kwargs = {"include_dashboard": False, "log_to_driver": False,
                  "configure_logging": False}
        where = address or "a local cluster"
        fix = ("check --address (`ray status` on the head node prints it) and that this "
               "machine has the cluster's token (RAY_AUTH_TOKEN or ~/.ray/auth_token)")
        if address is None:
            cpus = (slots or max(1, (os.cpu_count() or 1) // self.threads)) * self.threads
            try:
                ray.init(num_cpus=cpus, _node_ip_address="127.0.0.1", **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise NormalkitError(f"cannot start Ray here: "
                                     f"{' '.join(str(exc).split())[:200]}") from None
            return
        outcome: dict = {}

        def join():
            try:
                ray.init(address=address, **kwargs)
                outcome["ok"] = True
            except Exception as exc:  # noqa: BLE001 - reported below as one line
                outcome["error"] = exc

        t = threading.Thread(target=join, daemon=True, name="normalkit-ray-init")
        t.start()
        limit = float(os.environ.get("NORMALKIT_RAY_CONNECT_TIMEOUT", RAY_CONNECT_TIMEOUT_S))
        t.join(limit)
        if "ok" in outcome:
            return
        why = (" ".join(str(outcome["error"]).split())[:200] if "error" in outcome
               else f"no answer within {limit:g} s")
        raise NormalkitError(f"cannot join Ray at {where}: {why}; {fix}")

    def free(self) -> int:
        return self.slots - len(self.running)

    def submit(self, key, payload: dict, timeout: float | None, memory: int | None = None):
        opts = {"num_cpus": self.threads}
        if memory:
            opts["memory"] = int(memory)
        ref = self._task.options(**opts).remote(payload)
        self.running[ref] = (key, time.monotonic(), timeout)

    def poll(self, wait: float) -> list:
        ray = self.ray
        if not self.running:
            time.sleep(min(wait, 0.05))
            return []
        done, _ = ray.wait(list(self.running), num_returns=len(self.running), timeout=wait)
        ended = []
        for ref in done:
            key, _, _ = self.running.pop(ref)
            try:
                ended.append((key, ("done", ray.get(ref))))
            except ray.exceptions.TaskCancelledError:
                ended.append((key, ("timeout", "stopped after --timeout")))
            except ray.exceptions.RayError as exc:  # a dead worker or node, a task error
                ended.append((key, ("crashed", "the Ray worker died ("
                                    + " ".join(str(exc).split())[:160] + ")")))
        now = time.monotonic()
        for ref, (key, started, timeout) in list(self.running.items()):
            if timeout and now - started > timeout:
                ray.cancel(ref, force=True)
                self.running.pop(ref)
                ended.append((key, ("timeout", f"ran past --timeout {timeout:g} s and was "
                                               "stopped")))
        return ended

    def close(self, abort: bool = False) -> None:
        if abort:
            for ref in list(self.running):
                self.ray.cancel(ref, force=True)
        self.running = {}
        if self._owns:
            self.ray.shutdown()
