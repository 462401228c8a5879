r"""Monte Carlo of the expected GLM loss under real BN / MBN batch statistics.

Each simulated unit draws the statistics the layer would really use - one batch of m
standard normal inputs for BN, or, for MBN, the stationary running mean/variance built by
an EMA over ``burn`` such batches - and evaluates the loss of fixed out-of-batch samples
``h`` (population units)::

    eta = gamma (h - mu_run) / sqrt(var_run + eps) + beta,   loss = A(eta) - y eta.

Nothing here uses the noise laws of :mod:`noise_theory`: it checks them (and the
quadrature of :func:`noise_theory.expected_glm_loss`) from raw samples. For MBN it samples
the *exact* EMA law, so its difference from the quadrature (which uses the moment-matched
Gamma law) measures that approximation.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from noise_theory import glm_family, validate_glm_inputs
from noise_theory._lib import ParameterValueError

from ..mc._accumulators import Moments
from ..mc._engine import run_chunks
from ..mc._limits import MAX_DRAWS, check_draws, count

__all__ = ["simulate_glm_loss", "GLMLossSimulation", "glm_loss_draws"]

#: noise draws per block (per random stream); part of the experiment's definition.
_BLOCK = 1 << 13


def _burn_in(momentum, tol=1e-10):
    """EMA steps so that the weight left on the start value is below `tol`."""
    if momentum == 0.0:
        return 1
    return int(math.ceil(math.log(tol) / math.log(momentum))) + 1


#: Most points (h, y, gamma, beta) per call: each holds a block of losses in memory.
MAX_POINTS = 1000
#: Values drawn at once: a larger (m, size) batch array is drawn in groups of rows.
_GROUP = 1 << 20


def _batch_stats(rng, m, size):
    if m * size <= _GROUP:
        x = rng.standard_normal((m, size))
        mu = x.mean(axis=0)
        var = np.einsum("ij,ij->j", x, x) / m - mu * mu
        return mu, np.maximum(var, 0.0)
    # the same numbers in groups of rows (bounded memory; sums in another order)
    s1, s2 = np.zeros(size), np.zeros(size)
    rows = max(1, _GROUP // size)
    for a in range(0, m, rows):
        x = rng.standard_normal((min(rows, m - a), size))
        s1 += x.sum(axis=0)
        s2 += np.einsum("ij,ij->j", x, x)
    mu = s1 / m
    return mu, np.maximum(s2 / m - mu * mu, 0.0)


def glm_loss_draws(n, m, momentum):
    """Random numbers :func:`simulate_glm_loss` draws: ``n x m x`` the EMA burn-in
    (``ceil(log(1e-10)/log(momentum)) + 1`` batches, about 23/(1 - momentum))."""
    return n * m * _burn_in(momentum)


def _loss_kernel(seed_seq, size, *, h, y, gamma, beta, m, family, momentum, eps):
    """One block: `size` noise draws, the loss at every (h, y, gamma, beta) point."""
    rng = np.random.default_rng(seed_seq)
    mu, var = _batch_stats(rng, m, size)
    for _ in range(_burn_in(momentum) - 1):   # stationary EMA (exact law, truncated)
        mb, vb = _batch_stats(rng, m, size)
        mu = momentum * mu + (1.0 - momentum) * mb
        var = momentum * var + (1.0 - momentum) * vb
    u = 1.0 / np.sqrt(var + eps)
    eta = gamma[:, None] * (h[:, None] - mu) * u + beta[:, None]
    loss = family.A(eta) - y[:, None] * eta
    return Moments.from_data({f"loss{i}": loss[i] for i in range(h.size)})


@dataclasses.dataclass(frozen=True)
class GLMLossSimulation:
    """Monte Carlo expected losses: one :class:`SimulationResult` per point.

    Attributes
    ----------
    results : tuple of SimulationResult
        Flattened broadcast order of the points.
    entropy : int
        Seed entropy (replay with ``rng=entropy``).
    """

    results: tuple
    entropy: int


def simulate_glm_loss(h, y, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0,
                      n=100_000, rng=None, workers=1, progress=None):
    r"""Monte Carlo estimate of :math:`E[A(\eta) - y\eta]` from raw BN/MBN batches.

    Parameters
    ----------
    h, y, gamma, beta : array_like
        Points to evaluate (broadcast together; flattened). ``h`` is in population units.
    m : int
        Batch size, >= 2.
    family : {'logistic', 'squared', 'poisson'} or GLMFamily, optional
    momentum : float, optional
        MBN weight on history (lambda); > 0 simulates the stationary EMA of batch
        statistics (exact law, truncated where the start value's weight is < 1e-10).
    eps : float, optional
        BN epsilon in population units.
    n : int, optional
        Noise draws (all points share them).
    rng : None, int, SeedSequence or Generator, optional
    workers : int, optional
        Threads for :func:`simulations.run_chunks`.
    progress : bool, optional
        Progress bar (default: only on a terminal).

    Returns
    -------
    GLMLossSimulation
        ``results``: one :class:`SimulationResult` per point (flattened broadcast order);
        ``entropy``: the seed used. Where the expectation is infinite the sample mean does not converge
        and its standard error is meaningless: compare with
        :func:`noise_theory.expected_glm_loss` only where that is finite.

    Raises
    ------
    ValueError, TypeError
        As :func:`noise_theory.expected_glm_loss`; `n` not an integer; a run drawing more
        than 10**11 numbers (:func:`glm_loss_draws`: the cost grows like
        ``n m / (1 - momentum)``), refused up front.

    Notes
    -----
    Time is proportional to :func:`glm_loss_draws` (about 8 ns per number on one core);
    memory is bounded (a block of 8192 draws, batches drawn in groups of 2**20 numbers)
    whatever `n`, `m` and `momentum`.

    Examples
    --------
    >>> from simulations import simulate_glm_loss
    >>> res = simulate_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=16, n=20_000, rng=1)
    >>> r = res.results[0]
    >>> abs(r.estimate - 0.12856061) < 5 * r.stderr
    True
    """

    h, y, gamma, beta, m, fam, momentum, eps = validate_glm_inputs(
        h, y, gamma=gamma, beta=beta, m=m, family=family, momentum=momentum, eps=eps)
    n = count(n, "n", maximum=MAX_DRAWS)
    if h.size > MAX_POINTS:
        raise ParameterValueError(f"`h`, `y`, `gamma` and `beta` broadcast to {h.size} points; "
                                  f"at most {MAX_POINTS} (each costs 64 KiB per thread).")
    if not np.all(np.isfinite(np.asarray(m, dtype=float))):
        raise ParameterValueError(f"`m` must be a finite integer >= 2 for the Monte Carlo; got m={m!r}.")
    m = int(m)
    check_draws(glm_loss_draws(n, m, float(momentum)),
                f"n={n} x m={m} x {_burn_in(float(momentum))} EMA batches at momentum="
                f"{float(momentum)!r}", "lower `n`, `m` or `momentum`")
    h, y, gamma, beta = (np.ascontiguousarray(a, dtype=float).ravel() for a in (h, y, gamma, beta))
    kernel = functools.partial(_loss_kernel, h=h, y=y, gamma=gamma, beta=beta, m=m,
                               family=glm_family(fam), momentum=momentum, eps=eps)
    run = run_chunks(kernel, n, block_size=_BLOCK, rng=rng, workers=workers,
                     progress=progress, desc=f"loss m={m}")
    acc = run.accumulator
    results = [acc.mean_result(f"loss{i}", label=f"E loss (h={h[i]:g})") for i in range(h.size)]
    return GLMLossSimulation(tuple(results), run.entropy)
