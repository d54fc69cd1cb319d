"""Ctrl-C and SIGTERM: stop at a safe point, clean up, exit with 130 or 143.

Python runs a signal handler in the main thread between two bytecodes, wherever they
are. Raising ``KeyboardInterrupt`` there, as Python's own SIGINT handler does, is not
safe in this process:

- Numba's compiled kernels box their result arrays through a Python function
  (``numba.core.serialize._numba_unpickle``); an exception raised inside it leaves a
  NULL in the kernel's result tuple, and unpacking that tuple segfaults;
- an extension module interrupted while it is imported (fast_simplification, xatlas,
  SciPy) crashes or stays half-initialised, and trimesh and SciPy catch
  ``BaseException`` around optional imports, so Ctrl-C turns into an unrelated error
  later;
- cleanup code (``except BaseException: remove the temporary files; raise``) that is
  itself interrupted leaves files behind.

So :func:`handling` (and :func:`install`, for the console script) installs handlers
that only *request* the stop: :func:`requested` turns true, the worker pools of
:mod:`normalkit.core.parallel` stop before their next item, and :class:`Interrupted` is
raised in the main thread only where that is safe: in normalkit's own code, outside
any import and outside any ``except`` or ``finally`` block that handles an exception.
Elsewhere the handler returns and asks again every 20 ms (``_thread.interrupt_main``)
until the main thread gets there. :class:`Interrupted` is raised once: later signals
(a second Ctrl-C during the cleanup) are recorded and ignored. A step that must not
stop halfway (moving finished files into place) runs under :func:`shielded`.

Long native calls in the main thread (an Embree BVH build, the decimation, xatlas)
finish before the stop, as they always did. If both signals arrive during such a call,
CPython runs their handlers in signal-number order, so the exit status is SIGINT's (130).
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time

__all__ = ["Interrupted", "check", "exit_code", "handling", "ignore", "install", "requested",
           "shielded"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_THIS = os.path.abspath(__file__)
_RETRY_S = 0.02

# Plain values, no Event: the handler runs between any two bytecodes of the main thread,
# also while it holds a lock of threading's own, so it takes no lock and starts no thread.
_state = {"signum": None, "raised": False, "quiet": False, "installed": 0, "shield": 0,
          "wake": None}
_lock = threading.RLock()  # installed count and handlers, against the retry thread


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the work; a KeyboardInterrupt, so every
    ``except BaseException`` cleanup runs. ``signum`` is the signal, ``exit_code``
    128 + signum (130 for Ctrl-C, 143 for SIGTERM)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def requested() -> bool:
    """True once SIGINT or SIGTERM arrived (while :func:`handling` is active)."""
    return _state["signum"] is not None


def check() -> None:
    """Raise :class:`Interrupted` if a stop was requested (any thread; call it between
    units of work, never inside cleanup code)."""
    if _state["signum"] is not None and not _state["quiet"] and not _state["shield"]:
        _state["raised"] = True
        raise Interrupted(_state["signum"] or signal.SIGINT)


def exit_code(exc: BaseException | None = None) -> int:
    """The exit status for an interrupted command: 128 + the signal number (130 for a
    plain KeyboardInterrupt)."""
    signum = getattr(exc, "signum", None) or _state["signum"] or signal.SIGINT
    return 128 + int(signum)


def _reset() -> None:
    _state.update(signum=None, raised=False, quiet=False)


def _safe(frame) -> bool:
    """May the main thread, stopped at ``frame``, raise here?"""
    if frame is None or _state["shield"] or sys.exc_info()[1] is not None:
        return False  # inside cleanup code, or a step that must not stop halfway
    name = frame.f_code.co_filename
    if not name.startswith(_PACKAGE) or name == _THIS:
        return False  # a library's code, perhaps called back from native code
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return False  # something is being imported
        frame = frame.f_back
    return True


def _handler(signum, frame) -> None:
    if _state["signum"] is None:
        _state["signum"] = signum
    if _state["raised"] or _state["quiet"]:
        return
    if not _safe(frame):
        with contextlib.suppress(OSError):  # wake the retry thread (a full pipe is awake)
            os.write(_state["wake"], b"!")
        return
    _state["raised"] = True
    raise Interrupted(_state["signum"])


def _start_retry_thread() -> None:
    """The thread that asks the main thread again, started once, before any signal."""
    if _state["wake"] is not None:
        return
    r, w = os.pipe()
    os.set_blocking(w, False)
    threading.Thread(target=_retry, args=(r,), name="normalkit-interrupt", daemon=True).start()
    _state["wake"] = w


def _retry(wake: int) -> None:
    """After each deferral, run the handler again every 20 ms (``interrupt_main``: no
    real signal) until it raised, or the handlers are gone."""
    while True:
        os.read(wake, 64)
        while True:
            time.sleep(_RETRY_S)
            with _lock:
                if (_state["raised"] or _state["quiet"] or not _state["installed"]
                        or _state["signum"] is None):
                    break
                _thread.interrupt_main(_state["signum"])


def install() -> None:
    """Install the handlers for the rest of the process (the console script)."""
    if threading.current_thread() is not threading.main_thread():
        return
    with _lock:
        if not _state["installed"]:
            _reset()
            _start_retry_thread()
            for s in SIGNALS:
                signal.signal(s, _handler)
        _state["installed"] += 1


@contextlib.contextmanager
def handling():
    """Handle SIGINT and SIGTERM as described above while the block runs (main thread
    only; nested blocks share the handlers, the outermost restores the previous ones).

    An exception other than KeyboardInterrupt that leaves the block after a stop was
    requested (a library that caught the interrupt and failed later) becomes
    :class:`Interrupted`.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    with _lock:
        if not _state["installed"]:
            _reset()
            _start_retry_thread()
            previous = {s: signal.signal(s, _handler) for s in SIGNALS}
        _state["installed"] += 1
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        if _state["signum"] is not None:
            raise Interrupted(_state["signum"]) from exc
        raise
    finally:
        with _lock:
            _state["installed"] -= 1
            if previous:
                for s, h in previous.items():
                    signal.signal(s, signal.SIG_DFL if h is None else h)
                _reset()


@contextlib.contextmanager
def shielded():
    """No :class:`Interrupted` is raised while the block runs (a commit that moves
    finished files into place must not stop halfway); a stop requested meanwhile is
    raised at the next safe point after it."""
    _state["shield"] += 1
    try:
        yield
    finally:
        _state["shield"] -= 1


def ignore() -> None:
    """From now on ignore SIGINT and SIGTERM (the work is over; the process exits)."""
    _state["quiet"] = True
    if threading.current_thread() is threading.main_thread():
        for s in SIGNALS:
            signal.signal(s, signal.SIG_IGN)
