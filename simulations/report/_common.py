"""What every section of checks shares: the section spec, KS p-values, figures, the sympy route.

The checks of ``bn-noise report``: one section per part of the theory.

Each section is a :class:`SectionSpec` whose ``tasks`` run in order on a shared
:class:`~simulations.report._model.Section`; a task adds claims (closed form vs a second
deterministic route vs Monte Carlo), figures and data. Each task draws from its own random
stream (``ctx.rng(key)`` with a fixed key), so a section's numbers do not depend on which
other sections run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import simulate_bn  # deferred: numba and scipy
from ._model import Figure, row

__all__ = ["SectionSpec", "ks_pvalue", "new_figure", "sympy_function", "call_sympy", "BN_BATCH_SIZES",
           "bn_sims", "bn_samples", "sim_moment", "sim_ks", "ks_row", "mc_row", "sim_sd", "md_rows"]


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    intro: str
    tasks: tuple


# ------------------------------------------------------------------ estimators
def ks_pvalue(sample, cdf, *, nodes=256):
    """Kolmogorov-Smirnov statistic and p-value of `sample` against the continuous `cdf`.

    The statistic is exact, but `cdf` (which may be costly, e.g. a Laplace inversion) is
    evaluated only where it can matter: first at `nodes` evenly spaced order statistics.
    Between two evaluated order statistics a monotone F lies between their values, which
    bounds the deviation ``max(i/n - F, F - (i-1)/n)`` of every order statistic in between;
    the intervals holding one whose bound reaches the largest deviation found so far are
    halved (a few small rounds), until no unevaluated order statistic can be the maximum.
    The rest are filled by linear interpolation, which stays inside the bounds, and the
    p-value is scipy's for the same statistic. ``nodes=None`` evaluates `cdf` everywhere.

    >>> from scipy.stats import kstest, norm
    >>> x = np.random.default_rng(0).standard_normal(20_000)
    >>> ks_pvalue(x, norm.cdf) == tuple(kstest(x, norm.cdf)[:2])
    True
    """
    from scipy.stats import kstest  # deferred: scipy

    x = np.sort(np.asarray(sample, dtype=float).ravel())
    n = x.size
    if nodes is None or n <= 4 * nodes:
        values = np.asarray(cdf(x), dtype=float)
    else:
        values = np.full(n, np.nan)
        new = np.unique(np.linspace(0, n - 1, int(nodes)).round().astype(np.int64))
        i = np.arange(1, n + 1)
        while new.size:
            values[new] = cdf(x[new])
            known = np.flatnonzero(~np.isnan(values))
            kv = values[known]
            d_known = np.max(np.maximum(i[known] / n - kv, kv - (i[known] - 1) / n))
            after = np.searchsorted(known, np.arange(n))     # first evaluated at or after i
            left, right = known[np.maximum(after - 1, 0)], known[np.minimum(after, known.size - 1)]
            bound = np.maximum(i / n - values[left], values[right] - (i - 1) / n)
            cand = np.flatnonzero(np.isnan(values) & (bound >= d_known))
            if cand.size <= 64:
                new = cand
            else:  # halve the intervals that hold a candidate
                new = np.unique((left[cand] + right[cand]) // 2)
        unknown = np.isnan(values)
        values[unknown] = np.interp(x[unknown], x[~unknown], values[~unknown])
    res = kstest(x, lambda t: values[np.searchsorted(x, t)])
    return float(res.statistic), float(res.pvalue)


# ------------------------------------------------------------------ figures
def new_figure(section, name, caption, *, figsize, ncols=1):
    """Add a matplotlib figure (no pyplot, so no global state) to `section`; return its axes."""
    from matplotlib.figure import Figure as MplFigure  # deferred: matplotlib

    fig = MplFigure(figsize=figsize, layout="constrained")
    section.figures.append(Figure(name, caption, fig))
    return fig.subplots(1, ncols) if ncols > 1 else fig.subplots()


# ------------------------------------------------------------------ sympy route
def sympy_function(name, key=None):
    """Numeric (lambdified) function of the result `key` of the sympy derivation `name`."""
    from derivations import get_derivation  # deferred: sympy

    return get_derivation(name).function(key)


#: values of the sympy functions' keywords a check does not vary (BN defaults).
_SYMPY_DEFAULTS = {"ddof": 0, "eps": 0.0}


def call_sympy(fn, **kwargs):
    """Evaluate a lambdified derivation with the keywords it takes (BN defaults for the rest)."""
    if fn is None:
        return None
    args = {k: kwargs[k] if k in kwargs else _SYMPY_DEFAULTS[k] for k in fn.keywords}
    return float(np.asarray(fn(**args), dtype=float))


# ------------------------------------------------------------------ BN simulations shared by sections
BN_BATCH_SIZES = (2, 3, 4, 5, 6, 8, 16, 32, 64, 128, 256)


def bn_sims(ctx):
    """``simulate_bn`` at every batch size (Gaussian input), run once per report."""

    if "bn" not in ctx.cache:
        ctx.cache["bn"] = {
            m: simulate_bn(m, bn_samples(ctx, m), rng=ctx.seed_sequence("bn", f"m={m}"),
                           workers=ctx.workers, ks_batches=ctx.size(1 << 16, 1 << 20),
                           progress=False)
            for m in BN_BATCH_SIZES}
    return ctx.cache["bn"]


def bn_samples(ctx, m):
    """Input samples at batch size m: 1e5 batches (4e6 with --full), at most 1e7 (4e8) draws."""
    return int(min(ctx.size(100_000, 4_000_000) * m, ctx.size(10_000_000, 400_000_000)))


def sim_moment(sim, quantity):
    """``(estimate, stderr, n)`` of one simulated moment of a ``simulate_bn`` result."""
    for check in sim.moments:
        if check.quantity == quantity:
            r = check.result
            return r.estimate, r.stderr, r.n
    raise KeyError(f"simulate_bn gave no {quantity!r}")


def sim_ks(sim, quantity):
    """``(D, p-value, n)`` of a KS check, conservatively: the binned statistic's upper bound
    and the p-value's lower bound, so binning can only over-report a disagreement."""
    for k in sim.ks:
        if k.quantity == quantity:
            return k.statistic_high, k.pvalue_low, k.n
    raise KeyError(f"simulate_bn gave no KS check of {quantity!r}")


def ks_row(params, sim, quantity):
    d, pv, n = sim_ks(sim, quantity)
    return row(params, 0.0, estimate=d, pvalue=pv, n=n)


def mc_row(params, theory, sim, quantity, reference=None):
    est, se, n = sim_moment(sim, quantity)
    return row(params, theory, reference=reference, estimate=est, stderr=se, n=n)


def sim_sd(sim, quantity):
    """Standard deviation and its delta-method standard error from a simulated variance."""
    v, se, _ = sim_moment(sim, quantity)
    return float(np.sqrt(v)), float(se / (2 * np.sqrt(v)))


def md_rows(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])
