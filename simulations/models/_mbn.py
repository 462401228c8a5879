r"""The MBN simulator: EMA chains of batch statistics under any momentum schedule.

A *chain* is one run of training statistics: at each step a batch of m Gaussian samples
is drawn from the current population ``N(mu_t, sigma_t^2)`` and the running statistics are
updated with the step's momentum (weight on history)::

    mu_hat  <- momentum * mu_hat  + (1 - momentum) * mu_B
    var_hat <- momentum * var_hat + (1 - momentum) * sigma_B^2      (ddof as given)

At the recorded steps the chain reports, in population units of that step,

- ``mu``  = ``(mu_hat - mu_t) / sigma_t``  (mean noise, plus staleness under drift),
- ``var`` = ``var_hat / sigma_t^2``        (variance noise).

Chains are independent, so the engine (:func:`simulations.run_chunks`) parallelises over
them: a block of chains runs through all steps and its per-step statistics are accumulated
(:class:`simulations.Moments`). Two paths draw the batch statistics:

- **raw**: the m samples of every batch (``O(m)`` per step);
- **fast**: ``(mu_B, sigma_B^2)`` from their exact joint law for Gaussian input,
  ``mu_B ~ N(mu_t, sigma_t^2/m)`` independent of
  ``sigma_B^2 ~ sigma_t^2 chi2(m-1)/(m-ddof)`` (Cochran) - ``O(1)`` per step whatever m.

Population drift (optional) exposes the trade-off between noise and stale statistics:
the mean moves ``linear`` (``mu_t = rate * t``) or as a random ``walk``
(``mu_t = mu_{t-1} + rate * N(0, 1)``); the log standard deviation likewise
(``std_drift``). Every chain draws its own walk.

Draw order at each step (so runs can be replayed and checked): mean-walk increments
``standard_normal(n)`` (if any), std-walk increments ``standard_normal(n)`` (if any), then
raw ``standard_normal((n, m))`` or fast ``standard_normal(n)`` and
``standard_gamma((m - 1)/2, n)`` (at m = 2 a second ``standard_normal(n)``, squared:
chi2(1) = Z^2).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings

import numpy as np

from noise_theory._lib import (
    ParameterTypeError,
    ParameterValueError,
    choice,
    integer_array,
    positive_int,
    real_array,
)

from ..mc._accumulators import Moments
from ..mc._engine import run_chunks
from ..mc._limits import MAX_DRAWS, check_draws, count

__all__ = ["simulate_mbn", "MBNSimulation", "MbnSimulation", "mbn_chains", "simulate_drift_scan",
           "DriftScan", "parse_drift", "mbn_kernel"]

#: Chains per block (per random stream) unless given: part of the experiment's definition.
DEFAULT_CHAINS_PER_BLOCK = 1024
#: Default number of recorded steps (evenly spaced, first and last included).
DEFAULT_RECORDED = 100
#: Most steps of a chain (len(momenta)): the theory and the schedule hold a few arrays of
#: this length.
MAX_STEPS = 10 ** 6
#: Most recorded steps (each costs 16 bytes per chain of a block in every thread).
MAX_RECORDED = 1000
#: Largest m of the raw path (one batch is drawn at once); use ``fast=True`` above it.
RAW_MAX_M = 1 << 20
#: Values drawn at once on the raw path (chains are drawn in groups of this many values).
_RAW_GROUP = 1 << 17
#: Most chains x recorded steps that :func:`mbn_chains` returns in memory (2 float64
#: arrays: 128 MiB, plus per-step temporaries of chains floats).
MAX_IN_MEMORY = 1 << 23


# ---------------------------------------------------------------- drift specs
def parse_drift(spec, name="drift"):
    """``None``/``"none"`` -> None; ``"linear:RATE"``/``"walk:SD"`` -> (kind, rate).

    Also accepts a ``(kind, rate)`` tuple. Rates are per step, in population-sd units.
    """

    if spec is None or spec == "none":
        return None
    if isinstance(spec, tuple):
        kind, rate = spec
    else:
        kind, sep, text = str(spec).partition(":")
        choice(kind, name, ("none", "linear", "walk"))
        if not sep:
            raise ParameterValueError(f"`{name}` needs a rate, e.g. '{kind}:0.01'; got {name}={spec!r}.")
        try:
            rate = float(text)
        except ValueError:
            raise ParameterValueError(f"`{name}` rate must be a real number; got {name}={spec!r}.") from None
    kind = choice(kind, name, ("linear", "walk"))
    rate = float(real_array(rate, f"{name} rate", minimum=0))
    return kind, rate


# ---------------------------------------------------------------- the chains
def _record_index(record, steps):

    if record is None:
        k = min(steps, DEFAULT_RECORDED)
        return np.unique(np.round(np.linspace(1, steps, k)).astype(np.int64))
    rec = np.atleast_1d(integer_array(record, "record", minimum=1, maximum=steps))
    if rec.ndim != 1:
        raise ParameterValueError(f"`record` must be a 1-D array of steps; got shape {rec.shape}.")
    rec = np.unique(rec)
    if rec.size > MAX_RECORDED:
        raise ParameterValueError(f"`record` must list at most {MAX_RECORDED} distinct steps; "
                                  f"got {rec.size}.")
    return rec


def _chains(rng, n, *, m, momenta, record, fast, ddof, start, mean_drift, std_drift,
            window=None):
    """Run `n` chains; return ``(mu, var)`` arrays of shape (len(record), n), or, when
    `window` (a first step) is given, the per-chain mean of ``mu**2`` over steps >= it."""
    mu_pop = np.zeros(n)
    log_sd = np.zeros(n)
    if start == "fixed":
        mu_hat, var_hat = np.zeros(n), np.ones(n)
    else:
        mu_hat = var_hat = None
    rec_pos = {int(s): i for i, s in enumerate(record)}
    out_mu = np.empty((len(record), n))
    out_var = np.empty((len(record), n))
    win_sum = np.zeros(n) if window is not None else None
    drifting = mean_drift is not None or std_drift is not None
    shape, half = (m - 1) / 2.0, 2.0 / (m - ddof)
    inv_sqrt_m = 1.0 / np.sqrt(m)
    for t in range(1, len(momenta) + 1):
        if mean_drift is not None:
            kind, rate = mean_drift
            mu_pop = mu_pop + (rate if kind == "linear" else rate * rng.standard_normal(n))
        if std_drift is not None:
            kind, rate = std_drift
            log_sd = log_sd + (rate if kind == "linear" else rate * rng.standard_normal(n))
        sd = np.exp(log_sd) if std_drift is not None else None
        if fast:
            mb = rng.standard_normal(n) * inv_sqrt_m
            if m == 2:  # chi2(1) = Z^2: faster than a Gamma(1/2) draw
                vb = rng.standard_normal(n)
                vb *= vb
                vb *= 0.5 * half
            else:
                vb = rng.standard_gamma(shape, n) * half
            if drifting:
                if sd is not None:
                    mb *= sd
                    vb *= sd * sd
                mb += mu_pop
        else:
            # chains in groups of <= _RAW_GROUP values: the same numbers as one
            # standard_normal((n, m)) (filled in order), in bounded memory
            mb, vb = np.empty(n), np.empty(n)
            g = max(1, _RAW_GROUP // m)
            for a in range(0, n, g):
                b = min(n, a + g)
                x = rng.standard_normal((b - a, m))
                if drifting:
                    x = mu_pop[a:b, None] + (x if sd is None else sd[a:b, None] * x)
                mb[a:b] = x.mean(axis=1)
                vb[a:b] = x.var(axis=1, ddof=ddof)
        lam = momenta[t - 1]
        if mu_hat is None:  # the first batch initialises the statistics
            mu_hat, var_hat = mb, vb
        else:
            mu_hat = lam * mu_hat + (1.0 - lam) * mb
            var_hat = lam * var_hat + (1.0 - lam) * vb
        i = rec_pos.get(t)
        if i is not None or win_sum is not None:
            err = mu_hat - mu_pop if drifting else mu_hat
            ratio = var_hat
            if sd is not None:
                err = err / sd
                ratio = var_hat / (sd * sd)
            if i is not None:
                out_mu[i] = err
                out_var[i] = ratio
            if win_sum is not None and t >= window:
                win_sum += err * err
    if win_sum is not None:
        return win_sum / (len(momenta) - window + 1)
    return out_mu, out_var


def _chains_iv(m, momenta, record, ddof, start, drift, std_drift):

    m = positive_int(m, "m", minimum=2)
    momenta = np.atleast_1d(real_array(momenta, "momenta", minimum=0, maximum=1,
                                       max_open=True))
    if momenta.ndim != 1:
        raise ParameterValueError(f"`momenta` must be a 1-D array of per-step momenta; "
                         f"got shape {momenta.shape}.")
    if not 1 <= momenta.size <= MAX_STEPS:
        raise ParameterValueError(f"`momenta` must have between 1 and {MAX_STEPS} steps; got "
                                  f"{momenta.size}.")
    ddof = int(integer_array(ddof, "ddof", minimum=0, maximum=m - 1))
    start = choice(start, "start", ("batch", "fixed"))
    record = _record_index(record, momenta.size)
    return (m, momenta, record, ddof, start, parse_drift(drift),
            parse_drift(std_drift, "std_drift"))


def _check_cost(m, steps, chains, fast, drift, std_drift, runs=1):
    """Refuse up front a raw path at m > RAW_MAX_M or a run above MAX_DRAWS numbers."""
    if not fast and m > RAW_MAX_M:
        raise ParameterValueError(
            f"`m` must be <= {RAW_MAX_M} for raw batches (m numbers per chain and step); "
            f"got m={m}; use fast=True (CLI: --fast), exact for Gaussian input.")
    per_step = (2 if fast else m) + (drift is not None) + (std_drift is not None)
    check_draws(chains * steps * per_step * runs,
                f"chains={chains} x {steps} steps x {per_step} per step"
                + (f" x {runs} momenta" if runs > 1 else ""),
                "lower the number of chains or of steps" + ("" if fast else ", or use fast=True"))


def _block_size(block_size):
    """Chains per block: `block_size`, default :data:`DEFAULT_CHAINS_PER_BLOCK`, <= 65536."""
    block_size = positive_int(DEFAULT_CHAINS_PER_BLOCK if block_size is None else block_size,
                              "block_size")
    if block_size > 1 << 16:
        raise ParameterValueError(f"`block_size` must be an integer >= 1 and <= 65536; "
                                  f"got block_size={block_size}.")
    return block_size


def _chains_arg(chains, n_chains):
    """`chains`, or the deprecated spelling `n_chains` (the vocabulary says `chains`)."""
    if n_chains is not None:
        if chains is not None:
            raise ParameterTypeError("give `chains` only (`n_chains` is its deprecated alias).")
        warnings.warn("`n_chains` is deprecated; use `chains`.", DeprecationWarning, stacklevel=3)
        return n_chains
    if chains is None:
        raise ParameterTypeError("`chains` (the number of independent chains) is required.")
    return chains




def mbn_chains(m, momenta, *, chains=None, record=None, fast=False, ddof=0, start="batch",
               drift=None, std_drift=None, rng=None, n_chains=None):
    r"""Run `chains` MBN chains in memory and return the recorded statistics.

    Parameters
    ----------
    m : int
        Batch size, ``m >= 2``.
    momenta : array_like, shape (steps,)
        Momentum (weight on history) of each step, e.g. from
        :func:`noise_theory.momentum_schedule`.
    chains : int
        Number of independent chains.
    record : array_like of int, optional
        Steps (1-based) to record; default about 100 evenly spaced steps.
    fast : bool, optional
        Draw ``(mu_B, sigma_B^2)`` from their exact joint law instead of raw batches.
    ddof : int, optional
        The batch variance divides by ``m - ddof``.
    start : {"batch", "fixed"}, optional
        ``"batch"``: the first batch initialises the statistics (``momenta[0]`` ignored);
        ``"fixed"``: they start at the step-0 population values (0, 1).
    drift, std_drift : None, "none", "linear:RATE", "walk:SD" or (kind, rate), optional
        Drift of the population mean / of the log standard deviation, per step.
    rng : None, int, SeedSequence or Generator, optional
        Seed.

    Returns
    -------
    steps, mu, var : ndarray
        Recorded steps (1-based) and the arrays of shape ``(len(steps), chains)``
        described in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> from simulations import mbn_chains
    >>> steps, mu, var = mbn_chains(4, np.full(50, 0.9), chains=1000, rng=1, fast=True)
    >>> mu.shape, int(steps[-1])
    ((50, 1000), 50)
    """

    m, momenta, record, ddof, start, drift, std_drift = _chains_iv(
        m, momenta, record, ddof, start, drift, std_drift)
    chains = count(_chains_arg(chains, n_chains), "chains", maximum=MAX_DRAWS)
    if chains * max(1, record.size) > MAX_IN_MEMORY:
        raise ParameterValueError(
            f"`chains` x recorded steps must be <= {MAX_IN_MEMORY} (the arrays are returned "
            f"in memory; simulate_mbn summarises any number of chains); got chains="
            f"{chains} x {record.size} steps.")
    _check_cost(m, momenta.size, chains, fast, drift, std_drift)
    rng = np.random.default_rng(rng)
    mu, var = _chains(rng, chains, m=m, momenta=momenta, record=record, fast=bool(fast),
                      ddof=ddof, start=start, mean_drift=drift, std_drift=std_drift)
    return record, mu, var


def mbn_kernel(seed_seq, size, *, m, momenta, record, fast, ddof, start, drift, std_drift):
    """Engine kernel: `size` chains from `seed_seq`, summarised per recorded step.

    Returns a :class:`Moments` with names ``mu@t`` and ``var@t`` for each recorded step t.
    """
    rng = np.random.default_rng(seed_seq)
    mu, var = _chains(rng, size, m=m, momenta=momenta, record=record, fast=fast, ddof=ddof,
                      start=start, mean_drift=drift, std_drift=std_drift)
    names = [f"mu@{t}" for t in record] + [f"var@{t}" for t in record]
    rows = np.concatenate([mu, var])
    shifts = np.concatenate([np.zeros(len(record)), np.full(len(record), (m - 1) / (m - ddof))])
    sums = Moments.power_sums(rows, shifts)
    return Moments.from_power_sums(names, size, shifts, sums)


# ---------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True, eq=False)
class MBNSimulation:
    """What :func:`simulate_mbn` returns.

    Attributes
    ----------
    m : int
        Batch size.
    momenta : ndarray
        Momentum of every step (as used: the first is 0 with ``start="batch"``).
    steps : ndarray
        Recorded steps (1-based).
    moments : Moments
        Per recorded step t: ``mu@t`` and ``var@t`` (see the module docstring).
    n : int
        Chains simulated.
    entropy : int
        Seed entropy (replay with ``rng=entropy``).
    fast : bool
        Whether the exact joint-law fast path was used.
    seconds : float
        Wall-clock time.
    """

    m: int
    momenta: np.ndarray
    steps: np.ndarray
    moments: Moments
    n: int
    entropy: int
    fast: bool
    seconds: float

    def mean_noise_mean(self):
        """``E mu`` at each recorded step (0 without drift), list of SimulationResult."""
        return [self.moments.mean_result(f"mu@{t}") for t in self.steps]

    def mean_noise_mse(self):
        """``E mu**2`` at each recorded step: the mean-noise variance without drift, the
        mean squared error of the running mean (noise + staleness) with drift."""
        return [self.moments.raw_moment_result(f"mu@{t}", 2) for t in self.steps]

    def variance_noise_mean(self):
        """``E var`` at each recorded step, list of SimulationResult."""
        return [self.moments.mean_result(f"var@{t}") for t in self.steps]

    def variance_noise_var(self):
        """``Var var`` at each recorded step, list of SimulationResult."""
        return [self.moments.var_result(f"var@{t}") for t in self.steps]

    @property
    def chain_steps_per_second(self):
        """Chain-steps simulated per second of wall-clock time."""
        return self.n * self.momenta.size / self.seconds if self.seconds > 0 else float("inf")


#: the old name of :class:`MBNSimulation` (BN and MBN are spelled alike).
MbnSimulation = MBNSimulation


def simulate_mbn(m, momenta, *, chains=None, record=None, fast=False, ddof=0, start="batch",
                 drift=None, std_drift=None, rng=None, workers=None, block_size=None,
                 executor=None, progress=None, n_chains=None):
    r"""Simulate MBN's running statistics over independent chains with the Monte Carlo engine.

    Parameters
    ----------
    m, momenta, record, fast, ddof, start, drift, std_drift
        As in :func:`mbn_chains`.
    chains : int
        Number of independent chains (the engine's units).
    rng : None, int, SeedSequence or Generator, optional
        Seed; the entropy used is in the result.
    workers, executor, progress
        Passed to :func:`simulations.run_chunks`; they never change the result.
    block_size : int, optional
        Chains per block (per random stream), default 1024; part of the experiment.

    Returns
    -------
    MBNSimulation
        Per recorded step moments of the mean noise and the variance noise, compare with
        :func:`noise_theory.noise_trajectory` (no drift) or
        :func:`noise_theory.drift_mse` (drift, late steps).

    Notes
    -----
    Momentum 0 is plain BN: the recorded statistics are then the batch statistics of the
    very same draws. The fast path is exact for Gaussian input, so both paths have the same
    law; they use different draws.

    Cost, refused up front beyond the limits (``ParameterValueError`` naming the
    argument): time is proportional to ``chains x steps x`` (m on the raw path, about
    2 on the fast one) random numbers, at most 10**11 (15 minutes to 3 hours on one core); the raw
    path needs ``m <= 2**20``; at most 10**6 steps and 1000 recorded steps. Memory is
    bounded by the block size (1024 chains x recorded steps x 16 bytes per thread), not by
    `chains`, m or the number of steps.

    Examples
    --------
    >>> import numpy as np
    >>> from noise_theory import noise_trajectory
    >>> from simulations import simulate_mbn
    >>> lam = np.full(40, 0.9)
    >>> sim = simulate_mbn(4, lam, chains=4096, rng=3, fast=True, workers=1)
    >>> r = sim.mean_noise_mse()[-1]
    >>> theory = noise_trajectory(4, lam).mean_noise_var[-1]
    >>> bool(abs(r.estimate - theory) < 5 * r.stderr)
    True
    """


    m, momenta, record, ddof, start, drift, std_drift = _chains_iv(
        m, momenta, record, ddof, start, drift, std_drift)
    chains = count(_chains_arg(chains, n_chains), "chains", maximum=MAX_DRAWS)
    block_size = _block_size(block_size)
    _check_cost(m, momenta.size, chains, fast, drift, std_drift)
    kernel = functools.partial(mbn_kernel, m=m, momenta=momenta, record=record,
                               fast=bool(fast), ddof=ddof, start=start, drift=drift,
                               std_drift=std_drift)
    run = run_chunks(kernel, chains, block_size=block_size, rng=rng, workers=workers,
                     executor=executor, progress=progress, desc="mbn chains")
    used = momenta.copy()
    if start == "batch":
        used[0] = 0.0
    return MBNSimulation(m=m, momenta=used, steps=record, moments=run.accumulator,
                         n=run.n, entropy=run.entropy, fast=bool(fast), seconds=run.seconds)


# ---------------------------------------------------------------- drift scan
def _drift_scan_kernel(seed_seq, size, *, m, grid, steps, window, fast, drift):
    names, rows = [], []
    for lam in grid:
        # common random numbers: every momentum sees the same batches and drift
        rng = np.random.default_rng(seed_seq)
        rows.append(_chains(rng, size, m=m, momenta=np.full(steps, lam), record=[],
                            fast=fast, ddof=0, start="batch", mean_drift=drift,
                            std_drift=None, window=window))
        names.append(f"mse@{lam!r}")
    return Moments.from_data(dict(zip(names, rows)))


@dataclasses.dataclass(frozen=True, eq=False)
class DriftScan:
    """What :func:`simulate_drift_scan` returns.

    Attributes
    ----------
    momenta : ndarray
        The scanned momenta.
    mse : list of SimulationResult
        Simulated mean squared error of the running mean (time average over the window of
        each chain; chains are the independent units).
    best : float
        The scanned momentum with the smallest simulated MSE.
    entropy : int
        Seed entropy.
    """

    momenta: np.ndarray
    mse: list
    best: float
    entropy: int


def simulate_drift_scan(m, momenta, *, drift, steps, chains=None, window=None, fast=True,
                        rng=None, workers=None, block_size=None, progress=None, n_chains=None):
    """Simulated stationary MSE of the running mean under drift, for a grid of momenta.

    Every momentum sees the same batches and the same drift (common random numbers), so
    differences between momenta are much more precise than each MSE. Each chain runs
    `steps` steps at constant momentum and averages the squared error of the running
    mean (against the current population mean, in population-sd units) over its last
    `window` steps (default: the last half).

    Parameters
    ----------
    m : int
        Batch size.
    momenta : array_like
        Momenta to scan (weight on history).
    drift : "linear:RATE", "walk:SD" or (kind, rate)
        Drift of the population mean per step.
    steps, chains : int
        Steps per chain (long enough to forget the start) and number of chains.
    block_size : int, optional
        Chains per block (per random stream), default 1024 as in :func:`simulate_mbn`;
        part of the experiment.

    Returns
    -------
    DriftScan

    Examples
    --------
    >>> from simulations import simulate_drift_scan
    >>> scan = simulate_drift_scan(4, [0.5, 0.9], drift="walk:0.05", steps=200,
    ...                            chains=256, rng=0, workers=1)
    >>> len(scan.mse)
    2
    """


    m = positive_int(m, "m", minimum=2)
    grid = np.atleast_1d(real_array(momenta, "momenta", minimum=0, maximum=1, max_open=True))
    drift = parse_drift(drift)
    if drift is None:
        raise ParameterValueError("`drift` must be 'linear:RATE' or 'walk:SD' for a drift scan; got none.")
    steps = positive_int(steps, "steps", minimum=2)
    if steps > MAX_STEPS:
        raise ParameterValueError(f"`steps` must be an integer >= 2 and <= {MAX_STEPS}; "
                                  f"got steps={steps}.")
    window = positive_int(window or steps // 2, "window", minimum=1)
    if window > steps:
        raise ParameterValueError(f"`window` must be <= steps={steps}; got window={window}.")
    chains = count(_chains_arg(chains, n_chains), "chains", maximum=MAX_DRAWS)
    _check_cost(m, steps, chains, fast, drift, None, runs=grid.size)
    block_size = _block_size(block_size)
    first = steps - window + 1
    kernel = functools.partial(_drift_scan_kernel, m=m, grid=tuple(float(g) for g in grid),
                               steps=steps, window=first, fast=bool(fast), drift=drift)
    run = run_chunks(kernel, chains, block_size=block_size,
                     rng=rng, workers=workers, progress=progress, desc="drift scan")
    mse = [run.accumulator.mean_result(f"mse@{float(g)!r}", label=f"MSE(lambda={g:g})")
           for g in grid]
    best = float(grid[int(np.argmin([r.estimate for r in mse]))])
    return DriftScan(momenta=grid, mse=mse, best=best, entropy=run.entropy)
