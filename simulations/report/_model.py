"""The report's data model: rows, claims, figures, sections, the result, the run context.

A *claim* is one statement of the theory ("Var xi_mu = 1/m") checked at several parameter
points. Each row of a claim carries the closed-form value (``noise_theory``), optionally a
second deterministic route (a sympy derivation from :mod:`derivations`, exact quadrature,
...) and optionally a Monte Carlo estimate with its standard error. Agreement:

- deterministic routes agree when they match to a relative tolerance (``rtol``, stated in
  the claim; 1e-9 by default) or are both infinite;
- Monte Carlo rows are decided by the project's one agreement rule,
  :func:`simulations.mc.verdict`, with the two-sided Bonferroni threshold ``z_crit`` over
  *all* Monte Carlo tests of the report; distribution tests (KS) are put on the same scale
  through their p-value, ``z = Phi^-1(1 - p/2)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from ..mc import DEFAULT_ALPHA, critical_z, named_seed, verdict

__all__ = ["Row", "row", "Claim", "Figure", "Section", "ReportResult", "Context",
           "bonferroni_z", "DEFAULT_ALPHA"]


# ------------------------------------------------------------------ data model
@dataclass(frozen=True)
class Row:
    """One parameter point of a claim.

    ``params`` is an ordered tuple of ``(name, value)`` pairs; ``theory`` the closed form;
    ``reference`` a second deterministic route (or None); ``estimate``/``stderr``/``n`` a
    Monte Carlo estimate (or None); ``pvalue`` replaces ``stderr`` for distribution tests;
    ``note`` says why a route is missing (e.g. a divergent moment).
    """

    params: tuple
    theory: float
    reference: float | None = None
    estimate: float | None = None
    stderr: float | None = None
    n: int | None = None
    pvalue: float | None = None
    note: str = ""

    @property
    def is_mc(self):
        return self.pvalue is not None or (self.estimate is not None and self.stderr is not None)

    def z(self):
        """z-score of the Monte Carlo estimate (KS: the normal quantile of its p-value)."""
        if self.pvalue is not None:
            return -NormalDist().inv_cdf(max(self.pvalue, 1e-300) / 2)
        if self.estimate is None or self.stderr is None:
            return None
        if self.stderr > 0:
            return float((self.estimate - self.theory) / self.stderr)
        return 0.0 if self.estimate == self.theory else math.inf


def row(params, theory, **kwargs):
    """Build a :class:`Row` from a ``dict`` of parameters (kept in order)."""
    clean = {k: (None if v is None else _scalar(v)) for k, v in kwargs.items()
             if k in ("reference", "estimate", "stderr", "pvalue")}
    kwargs.update(clean)
    if kwargs.get("n") is not None:
        kwargs["n"] = int(kwargs["n"])
    return Row(params=tuple(params.items()), theory=_scalar(theory), **kwargs)


def _scalar(x):
    x = np.asarray(x, dtype=float)
    if x.ndim:
        raise ValueError(f"expected a scalar, got shape {x.shape}")
    return float(x)


@dataclass(frozen=True)
class Claim:
    """A statement of the theory and the rows that check it."""

    key: str
    title: str
    statement: str
    routes: str
    rows: tuple
    reference_name: str = "sympy"
    estimate_name: str = "Monte Carlo"
    rtol: float = 1e-9
    atol: float = 0.0

    def reference_agrees(self, r):
        if r.reference is None:
            return True
        a, b = r.theory, r.reference
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= self.atol + self.rtol * max(abs(a), abs(b))

    def verdicts(self, z_crit):
        """Per row: ``(z or None, agrees)``; Monte Carlo rows by :func:`simulations.mc.verdict`."""
        out = []
        for r in self.rows:
            ok = self.reference_agrees(r)
            z = None
            if r.pvalue is not None:
                z = r.z()
                ok = ok and abs(z) <= z_crit
            elif r.estimate is not None and r.stderr is not None:
                v = verdict(r.estimate, r.theory, r.stderr, z_crit=z_crit)
                z = None if math.isnan(v.z) else float(v.z)
                ok = ok and v.status != "disagree"
            out.append((z, bool(ok)))
        return out


@dataclass
class Figure:
    """A finished matplotlib figure with its file stem and caption."""

    name: str
    caption: str
    figure: object  # matplotlib.figure.Figure


@dataclass
class Section:
    """A chapter of the report: prose, claims, figures and data tables."""

    key: str
    title: str
    intro: str = ""
    claims: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    #: name -> (header, rows): extra data written as CSV (claims are written automatically).
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote and found."""

    out: Path
    seed: int
    full: bool
    n_claims: int
    n_rows: int
    n_mc_tests: int
    n_disagree: int
    z_crit: float
    alpha: float
    seconds: float
    files: tuple

    @property
    def all_agree(self):
        return self.n_disagree == 0


def bonferroni_z(n_tests, alpha=DEFAULT_ALPHA):
    """Two-sided |z| threshold for `n_tests` tests at family-wise level `alpha`
    (:func:`simulations.mc.critical_z`)."""
    return critical_z(n_tests, alpha)


# ------------------------------------------------------------------ context
class Context:
    """What a check needs: sample sizes, its own random streams, workers, a shared cache."""

    def __init__(self, seed_sequence, *, full, workers):
        self._seq = seed_sequence
        self.full = full
        self.workers = workers
        #: results shared between tasks and sections (e.g. simulated samples).
        self.cache = {}
        #: the names of every stream drawn so far (a test checks that no two checks share one).
        self.streams = set()

    def seed_sequence(self, *names):
        """The stream called `names` (e.g. ``("bn", "m=4")``): keyed by stable hashed names
        (:func:`simulations.mc.named_seed`), independent of which other checks run."""
        self.streams.add(tuple(str(n) for n in names))
        return named_seed(self._seq, *names)

    def rng(self, *names):
        """A Generator on the stream called `names`."""
        return np.random.default_rng(self.seed_sequence(*names))

    def size(self, default, full):
        """`default` samples normally, `full` with ``--full``."""
        return full if self.full else default
