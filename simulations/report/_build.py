"""The verification report: every claim of the theory checked by independent routes.

A *claim* is one statement of the theory ("Var xi_mu = 1/m") checked at several parameter
points. Each row of a claim carries the closed-form value (``noise_theory``), optionally a
second deterministic route (a sympy derivation from :mod:`derivations`, exact quadrature,
...) and optionally a Monte Carlo estimate with its standard error. The report decides
agreement row by row:

- deterministic routes agree when they match to a relative tolerance (``rtol``, stated in
  the claim; 1e-9 by default) or are both infinite;
- Monte Carlo agrees when ``|z| <= z_crit``, where ``z = (estimate - theory)/stderr`` and
  ``z_crit`` is the two-sided Bonferroni threshold for a family-wise error rate ``alpha``
  (default 1%) over *all* Monte Carlo tests of the report; distribution tests (KS) are put
  on the same scale through their p-value, ``z = Phi^-1(1 - p/2)``.

:func:`build_report` runs the checks (:mod:`simulations.report._sections`), draws the
figures, and writes ``report.md``, a self-contained ``report.html`` (figures embedded as
base64 PNG), the figures as PNG and SVG, and the data as CSV and JSON, all atomically.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from noise_theory._lib import ParameterValueError

from ..io import atomic_directory, atomic_write, dumps_json, write_csv
from ..mc import as_seed_sequence, die_with_parent, signals_held, terminate_pool
from ..mc._progress import progress as make_bar
from . import _sections  # deferred: the sections import scipy.stats and numba
from ._figure_bytes import FigureRenderer, figure_bytes, forget
from ._model import DEFAULT_ALPHA, Context, ReportResult, Section, bonferroni_z
from ._render import _claim_json, render_html, render_markdown

__all__ = ["ReportResult", "build_report", "export_figures"]


# ------------------------------------------------------------------ the builder
def build_report(out="bn-noise-report", *, full=False, rng=None, workers=None, force=False,
                 alpha=DEFAULT_ALPHA, sections=None, progress=None):
    r"""Run the verification suite and write the report folder `out` atomically.

    Parameters
    ----------
    out : path-like
        Folder to create (``report.md``, ``report.html``, ``report.json``, ``figures/``,
        ``data/``). It is built in a temporary sibling, made before any work (so an
        unwritable `out` fails at once), and swapped into place at the end
        (:func:`simulations.io.atomic_directory`): an interrupted or killed run leaves
        nothing half-written, and readers see the old folder or the new one.
    full : bool, keyword-only
        Use many more Monte Carlo samples (resolves smaller effects; minutes, not seconds).
    rng : None, int, SeedSequence or Generator, keyword-only
        Seed of every random draw. ``None`` draws fresh entropy (recorded in the report);
        ``rng=result.seed`` replays a run.
    workers : int or None, keyword-only
        Threads for the simulators and, when more than one, processes for the sympy
        derivations, the training runs and the figures (None: all cores). The report's
        bytes do not depend on it.
    force : bool, keyword-only
        Replace an existing `out`; otherwise an existing folder raises ``FileExistsError``.
    alpha : float, keyword-only
        Family-wise error rate of all Monte Carlo tests together (Bonferroni).
    sections : sequence of str or None, keyword-only
        Only these section keys (default: all); for quick partial runs.
    progress : bool or None, keyword-only
        Show a progress bar (None: only when stderr is a terminal).

    Returns
    -------
    ReportResult
        Where it was written, the seed, how many checks and disagreements, the
        threshold used and the run time.

    Raises
    ------
    FileExistsError
        `out` exists and ``force`` is False.
    OSError
        `out` cannot be created (raised before any work).
    ValueError
        `workers` < 1, an unknown section key, or `alpha` outside (0, 1).

    Notes
    -----
    Agreement: deterministic routes must match to each claim's ``rtol``/``atol``; a Monte
    Carlo estimate agrees when :math:`|z| \le z_\text{crit}`, the two-sided Bonferroni
    threshold for family-wise error rate `alpha` over all Monte Carlo tests of the run. Each
    check draws from its own stream ``SeedSequence(entropy, spawn_key=(key,))``, and the
    simulators' results do not depend on `workers`, so a seed reproduces the report.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from simulations import build_report
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rep"
    >>> res = build_report(out, rng=1, sections=["regularizer"])
    >>> res.all_agree, res.seed
    (True, 1)
    >>> sorted(p.name for p in out.iterdir())
    ['data', 'figures', 'report.html', 'report.json', 'report.md']
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"`out` folder {str(out)!r} exists; pass --force (force=True) "
                              f"to replace it.")
    if not 0 < alpha < 1:
        raise ParameterValueError(f"`alpha` must be in (0, 1); got alpha={alpha!r}.")
    seq = as_seed_sequence(rng)
    # the temporary folder is made first: an unwritable `out` fails before any work
    with atomic_directory(out, force=force) as tmp, \
            _running(sections, seq, full, workers, progress, extra_steps=1) as (built, bar):
        claims = [c for s in built for c in s.claims]
        n_rows = sum(len(c.rows) for c in claims)
        n_mc = sum(r.is_mc for c in claims for r in c.rows)
        z_crit = bonferroni_z(n_mc, alpha)
        n_disagree = sum(not ok for c in claims for _, ok in c.verdicts(z_crit))
        bar.set_postfix_str("writing", refresh=False)
        summary = dict(seed=_entropy(seq), full=bool(full), n_claims=len(claims),
                       n_rows=n_rows, n_mc_tests=n_mc, n_disagree=n_disagree, z_crit=z_crit,
                       alpha=alpha, seconds=time.perf_counter() - t0)
        files = _write(tmp, built, claims, summary, z_crit)
        bar.update(1)
    return ReportResult(out=out.resolve(), seed=_entropy(seq), full=bool(full),
                        n_claims=len(claims), n_rows=n_rows, n_mc_tests=n_mc,
                        n_disagree=n_disagree, z_crit=z_crit, alpha=alpha,
                        seconds=time.perf_counter() - t0,
                        files=tuple(sorted(str(p) for p in files)))


def export_figures(figdir, *, full=False, rng=None, workers=None, sections=None,
                   progress=None):
    """Run the checks and write only their figures, as PNG, into `figdir`.

    Files of the same name are replaced (each atomically); other files are left alone. This
    is the one command that regenerates ``docs/figures``. Returns the figure names.
    """
    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    names = []
    with _running(sections, as_seed_sequence(rng), full, workers, progress) as (built, _):
        for s in built:
            for fig in s.figures:
                atomic_write(figdir / f"{fig.name}.png", figure_bytes(fig.figure, "png"))
                names.append(fig.name)
    return names


def _entropy(seq):
    return int(seq.entropy) if np.ndim(seq.entropy) == 0 else seq.entropy


@contextlib.contextmanager
def _running(sections, seq, full, workers, progress, extra_steps=0):
    """Run the chosen sections' tasks under a progress bar; yield (sections, bar).

    With more than one worker (``workers`` None: one per core) a pool of worker processes
    runs beside the tasks: it builds the sympy derivations the disk cache does not hold
    (:func:`derivations.prefetch`); and each section's figures are rendered in a child
    forked when the section is done (:class:`FigureRenderer`), while the next section runs.
    The bytes written do not depend on the number of workers.
    """

    SECTIONS = _sections.SECTIONS

    if workers is not None and (isinstance(workers, bool)
                                or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ParameterValueError(f"`workers` must be an integer >= 1 or None; got workers={workers!r}.")
    if sections is not None:
        unknown = set(sections) - {s.key for s in SECTIONS}
        if unknown:
            valid = ", ".join(s.key for s in SECTIONS)
            raise ParameterValueError(f"`sections` has unknown key(s) {sorted(unknown)}; valid: {valid}.")
    chosen = [s for s in SECTIONS if sections is None or s.key in sections]
    order = {key: i for i, key in enumerate(_sections.RUN_ORDER)}
    shown = [s.key for s in chosen]
    total = sum(len(s.tasks) for s in chosen) + extra_steps
    bar = make_bar(total=total, desc="bn-noise report", enabled=progress, unit="step")
    ctx = Context(seq, full=full, workers=workers)
    built = []
    pool = _pool(workers)
    renderer = FigureRenderer(enabled=pool is not None)
    try:
        if pool is not None and sections is None:
            from derivations import prefetch  # deferred: sympy

            prefetch(pool)
        for spec in sorted(chosen, key=lambda s: order[s.key]):
            section = Section(key=spec.key, title=spec.title, intro=spec.intro)
            for task in spec.tasks:
                bar.set_postfix_str(f"{spec.key}: {task.__name__.lstrip('_')}", refresh=True)
                task(ctx, section)
                bar.update(1)
            built.append(section)
            # forked between tasks, when no simulator thread runs; a figure is never
            # pickled (a pickled copy once gave SVG coordinates that differed in the last
            # digits), the child renders the very object
            renderer.submit([f.figure for f in section.figures])
        renderer.collect()
        built.sort(key=lambda s: shown.index(s.key))   # the report shows SECTIONS' order
        yield built, bar
    except BaseException:
        # Ctrl-C / SIGTERM / an error: stop the workers now (a derivation being built in a
        # worker must not hold the exit up), then unwind so temporary outputs are removed
        renderer.stop()
        if pool is not None:
            terminate_pool(pool)
            pool = None
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for s in built:
            for f in s.figures:
                forget(f.figure)
                f.figure.clear()


def _pool(workers):
    """A process pool of `workers` (None: one per core) processes, or None for one.

    On Linux the processes are forked at once, before any simulator thread exists (a fork
    copies only the calling thread, so forking later could copy a lock held by another
    one); they start in milliseconds and need no ``if __name__ == "__main__"`` guard in
    the caller's script. Elsewhere they are spawned.
    """
    n = (os.cpu_count() or 1) if workers is None else int(workers)
    if n < 2:
        return None

    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(method),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    try:
        with signals_held():   # a held Ctrl-C is raised on leaving: stop the workers then
            pool.submit(int)   # with fork, the first submit starts every worker process now
    except BaseException:
        terminate_pool(pool)
        raise
    return pool


def _write(tmp, sections, claims, summary, z_crit):
    files = []
    (tmp / "figures").mkdir()
    (tmp / "data").mkdir()
    pngs = {}
    for s in sections:
        for fig in s.figures:
            for ext in ("png", "svg"):
                data = figure_bytes(fig.figure, ext)
                atomic_write(tmp / "figures" / f"{fig.name}.{ext}", data)
                files.append(Path("figures") / f"{fig.name}.{ext}")
                if ext == "png":
                    pngs[fig.name] = data
        for name, (header, rows) in s.data.items():
            write_csv(tmp / "data" / f"{name}.csv", header, rows)
            files.append(Path("data") / f"{name}.csv")
    for c in claims:
        header, rows = _claim_csv(c, z_crit)
        write_csv(tmp / "data" / f"{c.key}.csv", header, rows)
        files.append(Path("data") / f"{c.key}.csv")
    atomic_write(tmp / "report.md", render_markdown(sections, summary, z_crit))
    atomic_write(tmp / "report.html", render_html(sections, summary, z_crit, pngs))
    payload = {"summary": summary,
               "sections": [{"key": s.key, "title": s.title,
                             "claims": [_claim_json(c, z_crit) for c in s.claims],
                             "figures": [f.name for f in s.figures],
                             "data": {k: {"header": list(h), "rows": [list(r) for r in rows]}
                                      for k, (h, rows) in s.data.items()}}
                            for s in sections]}
    atomic_write(tmp / "report.json", dumps_json(payload))
    files += [Path("report.md"), Path("report.html"), Path("report.json")]
    return files


def _claim_csv(c, z_crit):
    """Machine-readable claim table: full precision numbers, not formatted strings."""
    names = [k for k, _ in c.rows[0].params] if c.rows else []
    header = [*names, "theory", "reference", "estimate", "stderr", "pvalue", "n", "z",
              "agrees", "note"]
    rows = []
    for r, (z, ok) in zip(c.rows, c.verdicts(z_crit)):
        rows.append([*(v for _, v in r.params), r.theory, r.reference, r.estimate, r.stderr,
                     r.pvalue, r.n, z, ok, r.note])
    return header, rows
