r"""The BN simulator: raw batches, their noise, and a comparison with ``noise_theory``.

For batches of m standardised inputs (population mean 0, sd 1; see
:mod:`simulations._distributions`) each batch gives

- ``xi_mu = mu_B`` (the mean noise), ``xi_sigma = sigma_B^2`` (the variance noise, dividing
  by ``m - ddof``), their product (whose mean is ``Cov(xi_mu, xi_sigma)``);
- ``sigma / sqrt(sigma_B^2 + eps)`` (the multiplicative noise, ``eps`` in population units);
- the **in-batch** output ``z = (x_1 - mu_B)/sqrt(sigma_B^2 + eps)`` of the batch's first
  sample (one per batch, so the z's are independent);
- the **out-of-batch** output ``y = (x' - mu_B)/sqrt(sigma_B^2 + eps)`` where ``x'`` is the
  first sample of a *different* batch of the same sub-block (batch j of the first half is
  paired with batch j of the second half, so the y's are independent; one y per two
  batches, no extra draw).

Speed: a block of batches (one random stream, :func:`_block_generator`: SFC64, the fastest
numpy bit generator for normals) is processed in sub-blocks of 2^17 samples, each one
C-contiguous ``(m, batches)`` array (batch on the leading axis) filled in place by the
generator into a reused per-thread buffer. Everything after that is ONE compiled loop
(numba, :func:`_batch_stats_py`, imported on first use and cached on disk): per batch the
mean, the centred sum of squares (two passes over the m values while they are in cache, so
near-constant batches keep an accurate variance), sigma_B^2, ``1/sqrt(sigma_B^2 + eps)``, z, y
and all the power sums, vectorised across batches without reassociating any sum - the
samples are read from cache, not streamed through memory by a dozen numpy calls. xi_mu and
xi_sigma are summarised by central moments (from power sums around the theoretical mean,
:meth:`Moments.from_power_sums`), the other quantities only by the raw power sums their
reported moments need (:class:`PowerSums`). At m = 8 the statistics cost about 0.65 ns
per sample against the generator's 7.5 ns: the simulator runs at about 0.9 of the
generator's own speed and about 2.1 times a naive numpy ``mean``/``var`` on the same
numbers (which draws them too, so that ratio cannot exceed about 2.4 here; ``bn-noise
bench``). The compiled loop releases the GIL, so threads scale.
"""

from __future__ import annotations

import functools
import math
import threading

import numpy as np

from noise_theory._lib import ParameterValueError, positive_int, real_array

from ..mc import Moments, PitHistogram, PowerSums
from ..mc._engine import run_chunks
from ..mc._limits import MAX_DRAWS, check_draws, count
from ._bn_checks import (
    _KS_LAW_NAMES,
    BNSimulation,
    _exact_laws,
    _moment_rows,
    _verdicts,
)
from ._laws import gaussian_batch_statistics, input_law

__all__ = ["simulate_bn", "bn_kernel", "bn_block_size",
           "QUANTITIES"]

#: Per-batch quantities accumulated by :func:`bn_kernel`, in order.
QUANTITIES = ("xi_sigma", "xi_mu", "inv_scale", "z_in2", "xi_mu_xi_sigma", "y_out")
#: summarised by central moments (:class:`Moments`): variances are reported for these
_CENTRAL = QUANTITIES[:2]
#: summarised by raw power sums (:class:`PowerSums`): E[q] and E[q^2] are reported
_RAW = QUANTITIES[2:]

#: Samples per sub-block: the (m, batches) array processed at once (cache-resident).
_SUB_SAMPLES = 1 << 17
#: Sub-blocks per block (per random stream); amortises the per-block fixed costs.
_SUBS_PER_BLOCK = 8

#: Batches per tile of the compiled statistics (:func:`_batch_stats_py`): the SIMD loops
#: run over a tile's batches; 128 measured fastest at m = 2, 8 and 64 (32 and 64 close).
_LANES = 128
#: Row of each KS quantity in the per-batch values written by :func:`_batch_stats_py`.
_KS_ROWS = {"xi_mu": 0, "xi_sigma": 1, "z_in": 2, "y_out": 3}

_local = threading.local()

#: Largest batch drawn value by value (a sub-block then holds 2 batches: 16 MiB per
#: thread). Above it Gaussian batches come from the exact law of their statistics
#: (:func:`~simulations.models._laws.gaussian_batch_statistics`, 3 numbers per batch
#: whatever m); other input laws are refused there.
RAW_MAX_M = 1 << 20
#: Most KS histogram bins (memory: the engine keeps up to 2 x 16 tasks x 16 blocks x 4
#: histograms of 8 bytes per bin in flight, about 270 MB at this limit).
MAX_BINS = 1 << 14
#: Batches per block and per sub-block on the exact-statistics path (m > RAW_MAX_M).
_EXACT_BLOCK, _EXACT_SUB = 1 << 16, 1 << 13


def bn_block_size(m):
    """Batches per block (per random stream) at batch size `m`: a fixed function of m, so
    results depend only on the seed."""
    if m > RAW_MAX_M:
        return _EXACT_BLOCK
    return _sub_size(m) * _SUBS_PER_BLOCK


def _sub_size(m):
    return max(2, _SUB_SAMPLES // int(m))


def _buffer(size):
    """Per-thread reusable float64 buffer for the (m, nb) sample block: fresh multi-MiB
    temporaries cost page faults on every sub-block; reuse keeps the kernel near generator
    speed."""
    buf = getattr(_local, "buf", None)
    if buf is None or buf.size != size:
        buf = np.empty(size)
        _local.buf = buf
    return buf


def _block_generator(seed_seq):
    """The Generator a block draws from: SFC64 (the fastest numpy bit generator for normals
    here) seeded by the block's SeedSequence. The one place that defines a block's stream."""
    return np.random.Generator(np.random.SFC64(seed_seq))


def _batch_stats_py(xs, ddof, eps, shift, csums, rsums, ks_out):
    """Fused per-batch statistics of one (m, nb) sub-block; compiled by :func:`_batch_stats`.

    For every batch (column) j: mu_B, the centred sum of squares (two passes over the
    batch's m values, which are still in cache), sigma_B^2 = SS / (m - ddof),
    ``inv = 1/sqrt(sigma_B^2 + eps)``, the in-batch ``z = (x_1 - mu_B) inv`` and, for
    ``j < nb // 2``, the out-of-batch ``y = (x'_1 - mu_B) inv`` with x'_1 the first sample
    of batch ``j + nb // 2``. Adds to `csums` (4, 2) the power sums 1-4 of
    (sigma_B^2 - shift, mu_B) and to `rsums` (4, 4) the tracked raw power sums of
    (inv, z^2, mu_B sigma_B^2, y): S1, S2, S4 of inv and z^2, S1, S2 of mu_B sigma_B^2 and
    S2, S4 of y (the other entries are left alone). The first ``ks_out.shape[1]`` batches
    write (mu_B, sigma_B^2, z, y) into the rows of `ks_out` (y only where it exists).

    Batches are taken in tiles of :data:`_LANES` columns: every loop below runs over the
    tile's batches, which are independent, so the compiler vectorises it without
    reassociating any sum (``fastmath=False``: the mean is ``x_1 + x_2 + ... + x_m`` in
    that order, as numpy's). Power sums are accumulated per lane (column of the tile) in
    float64 and the lanes are added at the end: blocked summation, more accurate than one
    running sum.
    """
    m, nb = xs.shape
    half = nb // 2
    nks = ks_out.shape[1]
    dof = m - ddof
    acc = np.zeros((18, _LANES))     # rows: (xi_sigma - shift)^1..4, xi_mu^1..4, inv^(1, 2, 4),
    w = np.empty((5, _LANES))        # (z^2)^(1, 2, 4), (mu var)^(1, 2), (y^2)^(1, 2)
    mu, var, inv, z, y = w[0], w[1], w[2], w[3], w[4]
    for j0 in range(0, nb, _LANES):
        n = min(_LANES, nb - j0)
        x0 = xs[0, j0:j0 + n]
        for t in range(n):
            mu[t] = x0[t]
        for i in range(1, m):
            xi = xs[i, j0:j0 + n]
            for t in range(n):
                mu[t] += xi[t]
        for t in range(n):
            mu[t] /= m
            d = x0[t] - mu[t]
            var[t] = d * d
        for i in range(1, m):
            xi = xs[i, j0:j0 + n]
            for t in range(n):
                d = xi[t] - mu[t]
                var[t] += d * d
        for t in range(n):
            v = var[t] / dof
            var[t] = v
            inv[t] = 1.0 / np.sqrt(v + eps)
        for t in range(n):
            z[t] = (x0[t] - mu[t]) * inv[t]
        for r in range(2):           # central group, around (shift, 0)
            src = w[1 - r]
            c = shift if r == 0 else 0.0
            for t in range(n):
                a = src[t] - c
                aa = a * a
                acc[4 * r, t] += a
                acc[4 * r + 1, t] += aa
                acc[4 * r + 2, t] += aa * a
                acc[4 * r + 3, t] += aa * aa
        for r in range(2):           # inv and z^2: S1, S2, S4
            src = w[2 + r]
            for t in range(n):
                a = src[t]
                if r == 1:
                    a = a * a
                aa = a * a
                acc[8 + 3 * r, t] += a
                acc[9 + 3 * r, t] += aa
                acc[10 + 3 * r, t] += aa * aa
        for t in range(n):
            a = mu[t] * var[t]
            acc[14, t] += a
            acc[15, t] += a * a
        ny = min(n, half - j0)
        if ny > 0:
            xy = xs[0, half + j0:half + j0 + ny]
            for t in range(ny):
                a = (xy[t] - mu[t]) * inv[t]
                y[t] = a
                aa = a * a
                acc[16, t] += aa
                acc[17, t] += aa * aa
        for t in range(min(n, nks - j0)):
            ks_out[0, j0 + t] = mu[t]
            ks_out[1, j0 + t] = var[t]
            ks_out[2, j0 + t] = z[t]
            if t < ny:
                ks_out[3, j0 + t] = y[t]
    tot = np.zeros(18)
    for k in range(18):
        for t in range(_LANES):
            tot[k] += acc[k, t]
    for k in range(4):
        csums[k, 0] += tot[k]
        csums[k, 1] += tot[4 + k]
    for r in range(2):
        rsums[0, r] += tot[8 + 3 * r]
        rsums[1, r] += tot[9 + 3 * r]
        rsums[3, r] += tot[10 + 3 * r]
    rsums[0, 2] += tot[14]
    rsums[1, 2] += tot[15]
    rsums[1, 3] += tot[16]
    rsums[3, 3] += tot[17]


def _exact_stats(stats, ddof, eps, shift, csums, rsums, ks_out):
    """:func:`_batch_stats_py` from exact batch statistics ``(m, mu, var, x_1 - mu)``
    (numpy; same sums, same rows of `ks_out`)."""
    _, mu, var, e1 = stats
    nb = mu.size
    half = nb // 2
    inv = 1.0 / np.sqrt(var + eps)
    z2 = e1 * inv
    z = z2.copy()
    z2 *= z2
    x1 = mu + e1
    y = (x1[half:2 * half] - mu[:half]) * inv[:half]
    d = var - shift
    for k in range(4):
        csums[k, 0] += np.sum(d ** (k + 1))
        csums[k, 1] += np.sum(mu ** (k + 1))
    for col, a in ((0, inv), (1, z2)):
        rsums[0, col] += np.sum(a)
        rsums[1, col] += np.sum(a * a)
        rsums[3, col] += np.sum((a * a) ** 2)
    a = mu * var
    rsums[0, 2] += np.sum(a)
    rsums[1, 2] += np.sum(a * a)
    y2 = y * y
    rsums[1, 3] += np.sum(y2)
    rsums[3, 3] += np.sum(y2 * y2)
    k = ks_out.shape[1]
    if k:
        ks_out[0], ks_out[1], ks_out[2] = mu[:k], var[:k], z[:k]
        ks_out[3, :min(k, half)] = y[:k]


@functools.cache
def _batch_stats():
    """:func:`_batch_stats_py` compiled by numba (imported here, on first use: the rest of
    the package does not pay for it). ``cache=True`` stores the machine code next to this
    module, so the compilation is paid once per machine, not per process; ``nogil=True``
    lets threads run it in parallel; ``error_model="numpy"`` makes 1/0 give inf like numpy
    (a batch with sigma_B = 0 and eps = 0), where Python semantics would raise."""
    import numba  # deferred: numba

    return numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")(
        _batch_stats_py)


def bn_kernel(seed_seq, size, *, m, law, ddof=0, eps=0.0, ks_fraction=0.0, bins=1 << 14,
              exact_laws=None):
    """Simulate `size` batches of size `m` from `law`; return their summaries.

    Parameters
    ----------
    seed_seq : SeedSequence
        The block's stream (from :func:`simulations.run_chunks`), drawn through
        :func:`_block_generator` (SFC64).
    size : int
        Batches in this block (processed in cache-sized sub-blocks).
    m : int
        Batch size (>= 2).
    law : InputLaw
        Standardised input law.
    ddof : int
        The batch variance divides by ``m - ddof``.
    eps : float
        BN's epsilon in population units.
    ks_fraction : float
        Fraction of the block's batches whose values go into the KS histograms: the first
        ``ceil(ks_fraction * size)`` batches of the block (the CDFs are evaluated once per
        block, so a small fraction costs almost nothing).
    bins : int
        Bins of the KS histograms.
    exact_laws : dict, optional
        Quantity name (``"xi_mu"``, ``"xi_sigma"``, ``"z_in"``, ``"y_out"``) -> object
        with a ``cdf`` method, for the KS histograms.

    Returns
    -------
    dict
        ``{"moments": Moments (xi_sigma, xi_mu), "sums": PowerSums (inv_scale, z_in2,
        xi_mu_xi_sigma, y_out), "ks_<name>": PitHistogram, ...}``.
    """
    rng = _block_generator(seed_seq)
    exact = m > RAW_MAX_M
    batch_stats = _exact_stats if exact else _batch_stats()
    sub = _EXACT_SUB if exact else _sub_size(m)
    flat = None if exact else _buffer(m * sub)
    # sigma_B^2 is summarised by its power sums around (m-1)/(m-ddof), close to its mean, so
    # that the conversion to central moments does not cancel ((mean/sd)^4 is amplified)
    shifts = ((m - 1) / (m - ddof), 0.0)
    csums = np.zeros((4, 2))        # central group: xi_sigma, xi_mu (power sums 1-4)
    rsums = np.zeros((4, 4))        # raw group: inv_scale, z_in2, xi_mu_xi_sigma, y_out
    ny = 0
    exact_laws = exact_laws or {}
    ks_left = math.ceil(ks_fraction * size) if exact_laws else 0
    ks_values = {name: [] for name in exact_laws}
    no_ks = np.empty((4, 0))
    for start in range(0, size, sub):
        nb = min(sub, size - start)
        if exact:
            xs = (m, *gaussian_batch_statistics(rng, m, nb, ddof))
        else:
            xs = flat[:m * nb].reshape(m, nb)
            law.sample(rng, xs)
        k = min(nb, ks_left)
        ks_out = np.full((4, k), np.nan) if k else no_ks   # rows: mu_B, sigma_B^2, z, y
        batch_stats(xs, int(ddof), float(eps), shifts[0], csums, rsums, ks_out)
        if k:
            ks_left -= k
            for name, v in ks_values.items():
                row = _KS_ROWS[name]
                v.append(ks_out[row, :min(k, nb // 2) if name == "y_out" else k])
        ny += nb // 2
    rsums[2, :] = np.nan                               # not tracked: S3, S4 of mu*var, S1 of y
    rsums[3, 2] = np.nan
    rsums[0, 3] = np.nan
    moments = Moments.from_power_sums(_CENTRAL, size, shifts, csums)
    sums = PowerSums(_RAW, np.array([size, size, size, ny], dtype=np.int64), rsums)
    hists = {f"ks_{name}": PitHistogram.from_pit(law_q.cdf(np.concatenate(ks_values[name])),
                                                 bins=bins)
             for name, law_q in exact_laws.items()}
    return {"moments": moments, "sums": sums, **hists}



def _simulate_bn_iv(m, samples, dist, df, ddof, eps, alpha, workers, ks_batches, bins):


    m = positive_int(m, "m", minimum=2)
    samples = count(samples, "samples", minimum=1, maximum=MAX_DRAWS)
    ddof = positive_int(ddof, "ddof", minimum=0)
    if ddof >= m:
        raise ParameterValueError(f"`ddof` must be an integer in [0, m); got ddof={ddof}, m={m}.")
    eps = float(real_array(eps, "eps", minimum=0.0))
    alpha = float(real_array(alpha, "alpha", minimum=0.0, maximum=1.0, min_open=True,
                             max_open=True))
    if workers is not None:
        workers = positive_int(workers, "workers", minimum=1)
    ks_batches = positive_int(ks_batches, "ks_batches", minimum=0)
    bins = positive_int(bins, "bins", minimum=2)
    if bins > MAX_BINS:
        raise ParameterValueError(f"`bins` must be an integer >= 2 and <= {MAX_BINS}; "
                                  f"got bins={bins}.")
    law = input_law(dist, df=df)
    if m > RAW_MAX_M and not law.is_normal:
        raise ParameterValueError(
            f"`m` must be <= {RAW_MAX_M} for dist={law.name!r}: its batches are drawn value "
            f"by value (only Gaussian input has an exact law of the batch statistics, used "
            f"above that size); got m={m}.")
    batches = -(-samples // m)
    per_batch = 3 if m > RAW_MAX_M else m
    check_draws(batches * per_batch, f"{batches} batch(es) x {per_batch} numbers",
                "lower `samples`")
    if law.name == "relu" and eps == 0.0:
        raise ParameterValueError(
            "`eps` must be > 0 for dist='relu': a ReLU batch is all zeros with probability "
            f"2^-m, where sigma_B = 0 and BN divides by zero; got eps={eps}.")
    return m, samples, law, ddof, eps, alpha, workers, ks_batches, bins


def simulate_bn(m, samples, *, dist="normal", df=None, ddof=0, eps=0.0, alpha=0.01,
                rng=None, workers=None, executor=None, chunk_size=None,
                ks_batches=1 << 16, bins=1 << 14, progress=None):
    r"""Simulate BN's noise at batch size `m` and compare it with ``noise_theory``.

    Parameters
    ----------
    m : int
        Batch size, >= 2.
    samples : int
        Input samples to draw, an integer (not a float) in ``[1, 10**11]``
        (``ceil(samples / m)`` batches).
    dist : str or scipy.stats frozen continuous law, optional
        Input law (see :func:`simulations._distributions.input_law`), standardised to mean
        0 and sd 1 where those exist. Exact laws and most theory values exist only for
        ``"normal"``; for the others mean/variance-noise moments come from
        ``noise_theory.batch_statistics_moments`` (skewness and kurtosis of the input).
    df : float, optional
        Degrees of freedom for ``dist="t"``.
    ddof : int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance).
    eps : float, optional
        BN's epsilon in population units (>= 0).
    alpha : float, optional
        Family-wise significance level of the verdicts (Bonferroni over all tests).
    rng : None, int, SeedSequence or Generator, optional
        Seed; the entropy used is returned, so the run can be replayed.
    workers, executor, chunk_size, progress
        Passed to :func:`simulations.run_chunks`; they never change the result.
    ks_batches : int, optional
        Batches (about; a fixed fraction of every block) whose values enter the KS tests;
        the CDFs are costly, so a bounded subsample keeps the run at generator speed.
        0 disables KS.
    bins : int, optional
        Bins of the KS histograms (2 to 16384); the KS statistic is known to within
        ``1 / bins``.

    Returns
    -------
    BNSimulation

    Raises
    ------
    ValueError, TypeError
        m < 2, samples < 1, ddof outside [0, m), negative eps, workers < 1, alpha outside
        (0, 1), an unknown `dist` (the message suggests the closest names), ``eps == 0``
        with ``dist="relu"``; `samples` not an integer or above 10**11, `bins` above
        16384, a non-Gaussian `dist` with ``m > 2**20``.

    Notes
    -----
    Theory used (Gaussian input, population units): :math:`\xi_\mu \sim N(0, 1/m)`,
    :math:`\xi_\sigma \sim \chi^2_{m-1}/(m-\mathrm{ddof})`,
    :math:`E[(\xi_\sigma+\epsilon)^{-p/2}]` from ``scale_moment``, the in-batch and
    out-of-batch output laws from ``bn_output`` (rescaled by
    :math:`\sqrt{(m-\mathrm{ddof})/m}` for ``ddof > 0``), and, because the out-of-batch
    numerator :math:`x' - \mu_B \sim N(0, 1 + 1/m)` is independent of
    :math:`\sigma_B^2`, :math:`E y^2 = (1 + 1/m) E[1/(\xi_\sigma + \epsilon)]`;
    :math:`E z^2 = \frac{m-\mathrm{ddof}}{m}(1 - \epsilon E[1/(\xi_\sigma + \epsilon)])`.
    z-scores use the estimate's standard error, except for the two variance rows with
    Gaussian input, which use the standard error implied by the exact law (the plug-in one
    is strongly correlated with the estimate for small samples, inflating false alarms).
    A moment whose theory value is infinite is reported as ``"diverges"`` with no z-score;
    one whose estimator has infinite variance in theory (e.g. :math:`E[\sigma^2/\sigma_B^2]`
    for m <= 5) as ``"no z"``.

    Cost: up to ``m = 2**20`` every batch is drawn value by value, about 8 ns per input
    sample on one core (``bn-noise bench``); time grows with `samples`, memory does not
    (a few MiB per thread). Above that, Gaussian batches are drawn from the exact law of
    their statistics (3 numbers per batch whatever m, no approximation), so
    ``m = 10**12`` costs what 1 batch does. Runs drawing more than 10**11 numbers (15 minutes
    to 3 hours on one core) are refused up front.

    Examples
    --------
    >>> from simulations import simulate_bn
    >>> sim = simulate_bn(8, 400_000, rng=1, workers=1)
    >>> sim.verdict, sim.batches, sim.entropy
    ('agree', 50000, 1)
    >>> row = sim.moments[6]
    >>> row.quantity, round(row.theory, 12), row.verdict
    ('E[sigma^2/sigma_B^2]', 1.6, 'agree')
    """

    m, samples, law, ddof, eps, alpha, workers, ks_batches, bins = _simulate_bn_iv(
        m, samples, dist, df, ddof, eps, alpha, workers, ks_batches, bins)
    batches = -(-samples // m)
    laws = _exact_laws(m, ddof, eps) if law.is_normal and ks_batches > 0 else {}
    kernel = functools.partial(bn_kernel, m=m, law=law, ddof=ddof, eps=eps,
                               ks_fraction=min(1.0, ks_batches / batches), bins=bins,
                               exact_laws=laws)
    block = bn_block_size(m)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        run = run_chunks(kernel, batches, block_size=block, chunk_size=chunk_size, rng=rng,
                         workers=workers, executor=executor, progress=progress,
                         desc=f"simulate bn m={m}")
    acc = run.accumulator
    rows = _moment_rows(acc["moments"], acc["sums"], m, law, ddof, eps)
    ks_results = [(name, _KS_LAW_NAMES[name], acc[f"ks_{name}"].ks(), acc[f"ks_{name}"].cvm())
                  for name in laws]
    moments, ks, level = _verdicts(rows, ks_results, alpha)
    bad = any(c.verdict == "disagree" for c in moments + ks)
    return BNSimulation(m, law.name, ddof, eps, batches, batches * m, moments, ks, alpha,
                        level, "disagree" if bad else "agree", run.entropy, block,
                        run.seconds, run.spawn_key)
