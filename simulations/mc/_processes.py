"""Child processes that behave: forks that cannot swallow Ctrl-C, workers that die with
their parent."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

__all__ = ["die_with_parent", "signals_held", "terminate_pool"]

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def signals_held():
    """Hold Ctrl-C and SIGTERM while forking; they are delivered right after.

    A signal that arrives during ``fork`` runs its Python handler inside an at-fork hook,
    where the KeyboardInterrupt it raises is printed and dropped: the run would go on. The
    children start with both blocked and unblock them (:func:`die_with_parent`).
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - other systems
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def die_with_parent(parent=None):
    """In a forked worker: die with the parent, even when it is killed by kill -9 (Linux).

    Without it a worker blocked on its queue outlives a killed report. `parent` is the
    parent's pid: if it is already gone when this runs, the child exits at once. Ctrl-C
    and SIGTERM get their default action (the parent, which handles interrupts, stops its
    workers with SIGTERM; a handler inherited from it must not turn that into a
    KeyboardInterrupt the worker might survive), then are unblocked (see
    :func:`signals_held`).
    """
    for sig in _STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):   # held by the parent while it forked
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    if not sys.platform.startswith("linux"):  # pragma: no cover - other systems
        return
    import ctypes  # deferred: only in worker processes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if parent is not None and os.getppid() != parent:  # pragma: no cover - a race
        os._exit(1)


def terminate_pool(pool):
    """Stop a ``ProcessPoolExecutor`` now: terminate its workers (their tasks are lost) and
    shut it down without waiting (Ctrl-C, SIGTERM or an error in the caller)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
