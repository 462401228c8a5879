"""A report figure's PNG and SVG bytes, rendered in this process or in forked children.

Rendering the figures is a third of the report's work and needs nothing but the finished
figure, so with more than one worker each section's figures are rendered in a child
process forked as soon as the section's checks are done, while this process goes on with
the next section. A forked child holds an exact copy of the figure and of every cache
matplotlib keeps, and the bytes of a figure do not depend on what was rendered before it,
so the child writes the bytes this process would have written: the report is the same
whatever the number of workers (a test runs the whole default report both ways). The
figure itself is never pickled.
"""

from __future__ import annotations

import io
import os
import pickle
import signal
import sys
import weakref

from ..mc import die_with_parent, signals_held

__all__ = ["FigureRenderer", "figure_bytes", "forget"]

#: figure -> its {"png": bytes, "svg": bytes}, rendered once.
_RENDERED = weakref.WeakKeyDictionary()
#: fixed SVG id salt and metadata: the same figure gives the same bytes in any process.
_SVG_SALT = "bn-noise"
_DPI = 110


def _render(figure):
    """``{"png": bytes, "svg": bytes}`` of one figure; its layout is computed once.

    The constrained layout is solved by the PNG draw and then frozen for the SVG (it
    would otherwise be solved again); no ``bbox_inches="tight"``, which would draw the
    figure a third time: constrained layout already fits the figure.
    """
    import matplotlib  # deferred: matplotlib

    out = {}
    with matplotlib.rc_context({"svg.hashsalt": _SVG_SALT, "svg.fonttype": "path"}):
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            # no timestamps in the files: the same seed gives the same bytes
            meta = {"Software": None} if ext == "png" else {"Date": None}
            figure.savefig(buf, format=ext, dpi=_DPI, metadata=meta)
            out[ext] = buf.getvalue()
            figure.set_layout_engine("none")
    return out


def figure_bytes(figure, ext):
    """The `ext` ("png" or "svg") bytes of `figure`, rendered here unless already done."""
    done = _RENDERED.get(figure)
    if done is None:
        done = _RENDERED[figure] = _render(figure)
    return done[ext]


def forget(figure):
    """Drop the rendered bytes of `figure`."""
    _RENDERED.pop(figure, None)


def _can_fork():
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class FigureRenderer:
    """Render batches of figures in forked child processes; collect their bytes later.

    ``submit(figures)`` forks a child that renders them and sends the bytes back through a
    pipe; ``collect()`` waits for every child and stores the bytes where
    :func:`figure_bytes` finds them. A child that fails leaves its figures to be rendered
    in this process (same bytes, only slower). ``stop()`` kills the children at once
    (Ctrl-C, SIGTERM, an error); it is safe to call twice. Disabled (``enabled=False``,
    or where ``os.fork`` is missing) it does nothing and every figure is rendered here.

    Forking is safe here because it happens between the report's tasks, in the main
    thread, when no simulator thread exists (their pools are shut down after each call).
    """

    def __init__(self, enabled=True):
        self.enabled = bool(enabled) and _can_fork()
        self._jobs = []   # (pid, read end of the pipe, figures)

    def submit(self, figures):
        figures = [f for f in figures if f not in _RENDERED]
        if not self.enabled or not figures:
            return
        r, w = os.pipe()
        parent = os.getpid()
        with signals_held():   # a held Ctrl-C is raised on leaving, the child tracked
            pid = os.fork()
            if pid == 0:   # pragma: no cover - the child (its coverage is not collected)
                self._child(parent, r, w, figures)
            os.close(w)
            self._jobs.append((pid, r, figures))

    def _child(self, parent, r, w, figures):  # pragma: no cover - runs in the child
        code = 1
        try:
            die_with_parent(parent)
            for fd in [r] + [job[1] for job in self._jobs]:   # only the parent reads
                os.close(fd)
            data = pickle.dumps([_render(f) for f in figures], protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)

    def collect(self):
        jobs, self._jobs = self._jobs, []
        for pid, r, figures in jobs:
            with os.fdopen(r, "rb") as fh:
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                continue       # rendered here when asked for
            for fig, done in zip(figures, pickle.loads(data)):
                _RENDERED[fig] = done

    def stop(self):
        jobs, self._jobs = self._jobs, []
        for pid, r, _ in jobs:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:   # pragma: no cover - already gone
                pass
            os.close(r)
            os.waitpid(pid, 0)
