r"""Closed forms for the command line that need no frozen ``scipy.stats`` law (nor scipy).

``import scipy.stats`` costs about a second cold (several under load), more than everything
else ``bn-noise theory``, ``schedule`` and ``advise`` do. The public functions of
``noise_theory._bn`` and ``noise_theory._mbn`` return frozen ``scipy.stats`` laws, so their
modules import ``scipy.stats`` at load; the functions here give the same *numbers* from
numpy and the standard library only (no scipy at all, except the quadrature for
``eps > 0``, which is delegated). The tests compare every function here with the public
one it mirrors.

Conventions as everywhere in bn-noise: momentum (lambda) is the weight on history,
population units (sigma = 1), Gaussian input, BN's biased batch variance unless `ddof`.

Functions
---------
bn_noise_moments(m, *, ddof=0)             Var xi_mu, E xi_sigma, Var xi_sigma of plain BN
input_law_moments(m, *, skewness, excess_kurtosis, ddof=0)  Var xi_sigma, corr, any input law
inverse_scale_moments(m, *, ddof=0, eps=0.0)  E[sigma/sigma_B], E[sigma^2/sigma_B^2]
bn_output_moments(m)                        sqrt(m-1), E z^4 in-batch, Var z out-of-batch
ema_factor(momentum)                        (1 - lambda)/(1 + lambda)
stationary_mbn_noise(m, momentum, *, ddof=0)  the stationary MBN noises
epoch_end_factors(per_epoch, iterations_per_epoch)  exact noise factor after each epoch
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import ParameterValueError, integer_array, m_ddof, positive_int, real_array

__all__ = [
    "bn_noise_moments",
    "bn_output_moments",
    "ema_factor",
    "epoch_end_factors",
    "input_law_moments",
    "inverse_scale_moments",
    "stationary_mbn_noise",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Stirling series of log Gamma beyond (x - 1/2) log x - x + log sqrt(2 pi): B_2n/(2n(2n-1)),
# exact to double precision for x >= 10 (the same form as noise_theory._bn, which cannot
# be imported here without scipy.stats).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_STIRLING_MIN = 10.0


def _m_ddof_iv(m, ddof):
    return np.broadcast_arrays(*m_ddof(m, ddof))


def _out(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


# ------------------------------------------------------------------ plain BN
def bn_noise_moments(m, *, ddof=0):
    r"""Moments of plain BN's two noises for Gaussian input.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    ddof : int or array_like of int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance).

    Returns
    -------
    tuple of (float or ndarray)
        ``(var_mean, mean_var, var_var)``: :math:`\mathrm{Var}\,\xi_\mu = 1/m`,
        :math:`E\,\xi_\sigma = (m-1)/(m-\mathrm{ddof})`,
        :math:`\mathrm{Var}\,\xi_\sigma = 2(m-1)/(m-\mathrm{ddof})^2`.

    Raises
    ------
    ValueError, TypeError
        If `m` is not an integer >= 2 or `ddof` not an integer in ``[0, m)``.

    Notes
    -----
    The same numbers as ``mean_noise(m).var()`` and ``variance_noise(m, ddof=ddof)``'s
    mean and variance (:math:`\xi_\sigma \sim \chi^2_{m-1}/(m-\mathrm{ddof})`).

    Examples
    --------
    >>> from noise_theory._fast import bn_noise_moments
    >>> [float(v) for v in bn_noise_moments(4)]
    [0.25, 0.75, 0.375]
    """
    m, ddof = _m_ddof_iv(m, ddof)
    mf = m.astype(float)
    d = mf - ddof
    return _out(1.0 / mf), _out((mf - 1.0) / d), _out(2.0 * (mf - 1.0) / (d * d))


def input_law_moments(m, *, skewness=0.0, excess_kurtosis=0.0, ddof=0):
    r"""Variance of the variance noise and the noises' correlation for any input law.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    skewness, excess_kurtosis : float, optional
        Standardised third moment and fourth cumulant of the input law; Pearson's bound
        ``excess_kurtosis >= skewness**2 - 2`` must hold.
    ddof : int, optional
        The batch variance divides by ``m - ddof``.

    Returns
    -------
    tuple of (float or ndarray)
        ``(var_var, corr)``, the fields of ``batch_statistics_moments`` of the same name:
        :math:`c^2(\kappa/m + 2/(m-1))` with :math:`c = (m-1)/(m-\mathrm{ddof})`, and
        :math:`\gamma_1/\sqrt{\kappa + 2m/(m-1)}`.

    Raises
    ------
    ValueError, TypeError
        On an invalid `m` or `ddof`, non-finite moments, or moments breaking Pearson's bound.

    Examples
    --------
    >>> from noise_theory._fast import input_law_moments
    >>> float(input_law_moments(8, excess_kurtosis=3.0)[0])          # Laplace input
    0.505859375
    >>> round(float(input_law_moments(8, skewness=2.0, excess_kurtosis=6.0)[1]), 4)
    0.6948
    """
    m, ddof = _m_ddof_iv(m, ddof)
    g1 = real_array(skewness, "skewness")
    kap = real_array(excess_kurtosis, "excess_kurtosis", minimum=-2.0)
    if np.any(kap < g1 * g1 - 2.0):
        raise ParameterValueError(
            "`excess_kurtosis` must be >= skewness**2 - 2 (Pearson's bound: no law has "
            f"less); got excess_kurtosis={kap.tolist()!r} with skewness={g1.tolist()!r}.")
    mf = m.astype(float)
    c = (mf - 1.0) / (mf - ddof)
    var_var = c * c * (kap / mf + 2.0 / (mf - 1.0))
    corr = g1 / np.sqrt(kap + 2.0 * mf / (mf - 1.0))
    return _out(var_var), _out(corr)


def _stirling_correction(x):
    """log Gamma(x) - [(x - 1/2) log x - x + log sqrt(2 pi)] for x >= 10 (array)."""
    inv2 = 1.0 / (x * x)
    series = np.zeros_like(x)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    return series / x


def _log_gamma_ratio(a, d):
    """log[Gamma(a + d)/Gamma(a)] for a > 0, a + d > 0, without cancellation at large a.

    Below the Stirling range the plain difference of ``math.lgamma`` values (all O(10), so
    exact to about 1e-15) is used: no scipy import at all.
    """
    a, d = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(d, dtype=float))
    b = a + d
    big = (a >= _STIRLING_MIN) & (b >= _STIRLING_MIN)
    ab, bb = np.where(big, a, _STIRLING_MIN), np.where(big, b, _STIRLING_MIN)
    db = bb - ab
    stirling = ((ab - 0.5) * np.log1p(db / ab) + db * np.log(bb) - db
                + _stirling_correction(bb) - _stirling_correction(ab))
    lgamma = np.frompyfunc(math.lgamma, 1, 1)
    direct = (lgamma(np.where(big, 1.0, b)) - lgamma(np.where(big, 1.0, a))).astype(float)
    return np.where(big, stirling, direct)


def inverse_scale_moments(m, *, ddof=0, eps=0.0):
    r"""BN's scale moments :math:`E[\sigma/\sigma_B]` and :math:`E[\sigma^2/\sigma_B^2]`.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    ddof : int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance).
    eps : float, optional
        BN's epsilon in population units, >= 0.

    Returns
    -------
    tuple of (float or ndarray)
        ``(c1, c2)``, the values of ``scale_moment(m, 1, ddof=ddof, eps=eps)`` and
        ``scale_moment(m, 2, ...)``. With ``eps == 0``: ``c1`` is ``inf`` for m <= 2 and
        ``c2 = (m - ddof)/(m - 3)`` is ``inf`` for m <= 3 (the moments diverge).

    Raises
    ------
    ValueError, TypeError
        On an invalid `m`, `ddof` or a negative or non-finite `eps`.

    Notes
    -----
    With :math:`k = (m-1)/2`, :math:`c_1 = \sqrt{(m-\mathrm{ddof})/2}\,
    \Gamma(k-\tfrac12)/\Gamma(k)`, the gamma ratio in log space with the Stirling series
    of :mod:`noise_theory._bn` (relative error about 1e-15, also at m = 1e7). With
    ``eps > 0`` the moments are quadratures: this delegates to
    :func:`noise_theory.scale_moment`, which loads ``scipy.stats`` (about a second cold).

    Examples
    --------
    >>> from noise_theory._fast import inverse_scale_moments
    >>> c1, c2 = inverse_scale_moments([2, 3, 8])
    >>> c1.round(6).tolist(), c2.tolist()
    ([inf, 2.170804, 1.203604], [inf, inf, 1.6])
    """
    m, ddof = _m_ddof_iv(m, ddof)
    eps = real_array(eps, "eps", minimum=0.0)
    if np.any(eps > 0):
        from ._bn import scale_moment  # deferred: scipy.stats (quadrature for eps > 0)

        return (_out(scale_moment(m, 1, ddof=ddof, eps=eps)),
                _out(scale_moment(m, 2, ddof=ddof, eps=eps)))
    mf, d = m.astype(float), (m - ddof).astype(float)
    c1 = np.full(mf.shape, np.inf)
    ok1 = mf > 2
    k = (mf[ok1] - 1.0) / 2.0
    c1[ok1] = np.exp(_log_gamma_ratio(k, -0.5) + 0.5 * np.log(d[ok1] / 2.0))
    c2 = np.full(mf.shape, np.inf)
    ok2 = mf > 3
    c2[ok2] = d[ok2] / (mf[ok2] - 3.0)
    return _out(c1), _out(c2)


def bn_output_moments(m):
    r"""Moments of BN's output z for Gaussian input (biased batch variance).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.

    Returns
    -------
    tuple of (float or ndarray)
        ``(bound, fourth, oob_var)``: the in-batch output's bound :math:`\sqrt{m-1}`, its
        fourth moment :math:`3(m-1)/(m+1)`, and the out-of-batch output's variance
        :math:`(m+1)/(m-3)` (``inf`` for m <= 3, where it diverges), the values of
        ``bn_output(m)`` and ``bn_output(m, model="out_of_batch")``.

    Raises
    ------
    ValueError, TypeError
        If `m` is not an integer >= 2.

    Examples
    --------
    >>> from noise_theory._fast import bn_output_moments
    >>> [v.tolist() for v in bn_output_moments([3, 8])]
    [[1.4142135623730951, 2.6457513110645907], [1.5, 2.3333333333333335], [inf, 1.8]]
    """
    m = integer_array(m, "m", minimum=2).astype(float)
    oob = np.full(m.shape, np.inf)
    ok = m > 3
    oob[ok] = (m[ok] + 1.0) / (m[ok] - 3.0)
    return _out(np.sqrt(m - 1.0)), _out(3.0 * (m - 1.0) / (m + 1.0)), _out(oob)


# ------------------------------------------------------------------ MBN
def ema_factor(momentum):
    r"""Variance factor :math:`(1-\lambda)/(1+\lambda)` of a stationary EMA of iid terms.

    Parameters
    ----------
    momentum : float or array_like
        Weight on history, ``0 <= momentum < 1``.

    Returns
    -------
    float or ndarray
        :math:`\sum_k ((1-\lambda)\lambda^k)^2 = (1-\lambda)/(1+\lambda)`.

    Raises
    ------
    ValueError, TypeError
        If `momentum` is not a real in ``[0, 1)``.

    Examples
    --------
    >>> from noise_theory._fast import ema_factor
    >>> float(ema_factor(0.6))
    0.25
    """
    lam = real_array(momentum, "momentum", minimum=0, maximum=1, max_open=True)
    return _out((1.0 - lam) / (1.0 + lam))


def stationary_mbn_noise(m, momentum, *, ddof=0):
    r"""The stationary MBN noises at a constant momentum (no ``scipy.stats`` law).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    momentum : float or array_like
        Weight on history, ``0 <= momentum < 1`` (0 is plain BN).
    ddof : int, optional
        The batch variance divides by ``m - ddof``.

    Returns
    -------
    dict of (float or ndarray)
        ``mean_noise_var`` (:math:`f/m`, ``ema_mean_noise(m, momentum).var()``),
        ``variance_noise_mean`` (:math:`(m-1)/(m-\mathrm{ddof})`), ``variance_noise_var``
        (:math:`f\,2(m-1)/(m-\mathrm{ddof})^2`, ``ema_variance_noise(...).var``) and
        ``effective_batch_size`` (:math:`m/f`), with :math:`f` = :func:`ema_factor`.

    Raises
    ------
    ValueError, TypeError
        On an invalid `m`, `momentum` or `ddof`.

    Examples
    --------
    >>> from noise_theory._fast import stationary_mbn_noise
    >>> for key, value in stationary_mbn_noise(4, 0.9).items():
    ...     print(key, round(float(value), 6))
    mean_noise_var 0.013158
    variance_noise_mean 0.75
    variance_noise_var 0.019737
    effective_batch_size 76.0
    """
    f = ema_factor(momentum)
    var_mean, mean_var, var_var = bn_noise_moments(m, ddof=ddof)
    shape = np.broadcast_shapes(np.shape(f), np.shape(var_mean))
    return {"mean_noise_var": _out(f * var_mean),
            "variance_noise_mean": _out(np.broadcast_to(mean_var, shape)),
            "variance_noise_var": _out(f * var_var),
            "effective_batch_size": _out(1.0 / (f * var_mean))}


def epoch_end_factors(per_epoch, iterations_per_epoch):
    r"""Exact noise factor :math:`f` of MBN's running statistics after each epoch.

    Parameters
    ----------
    per_epoch : array_like, shape (epochs,)
        Momentum of each epoch (weight on history, in ``[0, 1)``), constant within it.
    iterations_per_epoch : int
        Steps per epoch, >= 1.

    Returns
    -------
    ndarray, shape (epochs,)
        :math:`f` after the last step of each epoch, the first batch initialising the
        statistics (``start="batch"``): the mean-noise variance is :math:`f/m` and the
        variance-noise variance :math:`f\,2(m-1)/(m-\mathrm{ddof})^2`, the values of
        ``noise_trajectory(m, np.repeat(per_epoch, N))`` at steps ``N-1, 2N-1, ...``.

    Raises
    ------
    ValueError, TypeError
        On momenta outside ``[0, 1)``, a non-1-D `per_epoch` or ``iterations_per_epoch < 1``.

    Notes
    -----
    Each step maps :math:`f \mapsto \lambda^2 f + (1-\lambda)^2`; N steps at a constant
    :math:`\lambda` compose to :math:`f \mapsto \lambda^{2N} f + s(1 - \lambda^{2N})`
    with the stationary :math:`s = (1-\lambda)/(1+\lambda)`, so the cost is one operation
    per epoch, not per step (``-expm1(2N log lambda)`` keeps :math:`1-\lambda^{2N}` exact
    for momenta near 1). The first step of training gives :math:`f = 1` whatever its
    momentum.

    Examples
    --------
    >>> import numpy as np
    >>> from noise_theory._fast import epoch_end_factors
    >>> (epoch_end_factors([0.0, 0.5], 2) / 4).round(4)        # m = 4
    array([0.25  , 0.0938])
    """
    lam = real_array(per_epoch, "per_epoch", minimum=0, maximum=1, max_open=True)
    if lam.ndim != 1 or lam.size == 0:
        raise ParameterValueError(f"`per_epoch` must be a non-empty 1-D array of momenta; "
                                  f"got shape {lam.shape}.")
    n = positive_int(iterations_per_epoch, "iterations_per_epoch")
    stat = (1.0 - lam) / (1.0 + lam)
    with np.errstate(divide="ignore"):
        log_lam = np.log(lam)  # -inf at lambda = 0: lambda^(2N) = 0 below
    out = np.empty(lam.shape)
    f = 1.0  # after the first step (the first batch initialises the statistics)
    for i in range(lam.size):
        steps = n - 1 if i == 0 else n
        keep = math.exp(2.0 * steps * log_lam[i]) if steps else 1.0
        f = keep * f + stat[i] * (-math.expm1(2.0 * steps * log_lam[i]) if steps else 0.0)
        out[i] = f
    return out
