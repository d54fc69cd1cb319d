"""Worker threads that stop cleanly: the one way normalkit runs work on a thread pool.

:func:`map_threads` runs ``fn`` over items on worker threads (NumPy, Embree, zlib, SciPy
and the compiled kernels release the GIL) and yields the results in order. When the
caller stops early (an item failed, the caller's loop raised, or SIGINT / SIGTERM
asked for a stop: workers check :func:`normalkit.core.interrupt.check` before each item),
the items not started are cancelled and the call waits for the running ones to return
before the exception goes on. So no worker is still inside native code (Embree, zlib,
a kernel) writing into arrays that the unwinding frees, and temporary files are
removed only after their writers stopped.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

from . import interrupt

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["default_threads", "map_threads", "run_blocks", "run_threads"]


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def map_threads(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None, *,
                pool: Executor | None = None) -> Iterator[R]:
    """Yield ``fn(item)`` for each item, in order, computed on up to ``threads`` threads
    (default: all cores), or on ``pool`` when given (it is left running).

    One thread (or one item) runs in the calling thread. Consume the iterator fully or
    close it (a ``for`` loop that raises does): closing cancels what has not started
    and waits for what runs.
    """
    items = list(items)
    if pool is None:
        if threads is None:
            threads = default_threads()
        threads = max(1, min(int(threads), len(items)))
        if threads == 1:
            for item in items:
                interrupt.check()
                yield fn(item)
            return
    return (yield from _on_pool(fn, items, threads, pool))


def run_threads(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None, *,
                pool: Executor | None = None) -> list[R]:
    """``list(map_threads(...))``: all results, in order."""
    return list(map_threads(fn, items, threads, pool=pool))


def run_blocks(fn: Callable[[slice], R], n: int, block: int,
               threads: int | None = None) -> list[R]:
    """``fn(slice)`` for consecutive blocks of ``block`` of ``n`` items (the last one
    shorter), on up to ``threads`` threads (:func:`run_threads`; one block runs in the
    calling thread). Results in block order."""
    return run_threads(lambda start: fn(slice(start, min(start + block, n))),
                       range(0, n, block), threads)


def _on_pool(fn, items: list, threads: int | None, pool: Executor | None) -> Iterator:
    def run(item):
        interrupt.check()
        return fn(item)

    own = pool is None
    if own:
        pool = ThreadPoolExecutor(threads, thread_name_prefix="normalkit")
    futures: list[Future] = []
    try:
        futures = [pool.submit(run, item) for item in items]
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
        _wait(futures)
        if own:
            pool.shutdown(wait=True)  # quick: every item is done or cancelled


def _wait(futures: list[Future]) -> None:
    """Wait until every future is done; a KeyboardInterrupt (Python's default handler,
    outside the CLI) does not cut the wait short: it is raised after it."""
    pending = [f for f in futures if not f.done()]
    stopped = None
    while pending:
        try:
            concurrent.futures.wait(pending)
        except KeyboardInterrupt as exc:
            stopped = stopped or exc
        pending = [f for f in pending if not f.done()]
    if stopped is not None:
        raise stopped
