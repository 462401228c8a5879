r"""Noise of Momentum BN (MBN): exponential moving averages of the batch statistics.

Momentum ``momentum`` (lambda) is the weight on *history* everywhere:
``s <- momentum * s + (1 - momentum) * s_B`` (PyTorch's ``momentum`` is ``1 - lambda``;
see :func:`noise_theory.from_pytorch_momentum`). Inputs are Gaussian and all quantities
are in population units (mu = 0, sigma = 1), so the per-batch noises are
``xi_mu ~ N(0, 1/m)`` and ``xi_sigma ~ chi2(m-1)/m`` (biased variance), independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validation import integer_array, real_array

__all__ = [
    "ema_mean_noise",
    "ema_variance_noise",
    "effective_batch_size",
    "EmaVarianceNoise",
]


# ---------------------------------------------------------------- validation
def _m_momentum_iv(m, momentum):
    m = integer_array(m, "m", minimum=2)
    momentum = real_array(momentum, "momentum", minimum=0, maximum=1, max_open=True)
    m, momentum = np.broadcast_arrays(m, momentum)
    return m, momentum


def _ema_factor(momentum):
    r"""Variance factor of a stationary EMA of iid terms: (1-lambda)/(1+lambda).

    ``sum_k ((1-lambda) lambda^k)^2 = (1-lambda)^2 / (1-lambda^2)``.
    """
    return (1.0 - momentum) / (1.0 + momentum)


def _batch_variance_moments(m):
    """Mean and variance of one batch's variance noise xi_sigma = chi2(m-1)/m."""
    m = np.asarray(m, dtype=float)
    return (m - 1.0) / m, 2.0 * (m - 1.0) / m**2


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


# ---------------------------------------------------------------- public API
def effective_batch_size(m, momentum):
    r"""Batch size whose plain-BN mean noise equals the stationary MBN mean noise.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momentum : float or array_like
        EMA weight on history (lambda), ``0 <= momentum < 1``.

    Returns
    -------
    float or ndarray
        ``m (1 + momentum) / (1 - momentum)``, broadcast over `m` and `momentum`.

    Notes
    -----
    The stationary EMA of the batch means has variance
    :math:`\frac{1-\lambda}{1+\lambda}\frac{1}{m}` (:func:`ema_mean_noise`), which is the
    variance :math:`1/m_\text{eff}` of plain BN at

    .. math:: m_\text{eff} = m \frac{1+\lambda}{1-\lambda}.

    This is exact for the mean noise; the variance noise of MBN has the same variance
    factor but keeps the mean ``(m-1)/m`` of batch size ``m``, so it is not the variance
    noise of plain BN at ``m_eff``. The cruder argument "effective batch
    ``m / (1 - lambda)``" undercounts by a factor ``1 + lambda``.

    Examples
    --------
    >>> from noise_theory import effective_batch_size
    >>> float(effective_batch_size(2, 0.9375))
    62.0
    """
    m, momentum = _m_momentum_iv(m, momentum)
    return _scalar_or_array(m / _ema_factor(momentum))


def ema_mean_noise(m, momentum):
    r"""Exact stationary law of the MBN mean noise.

    The running mean after many steps, in population units, is
    :math:`\sum_{k\ge0}(1-\lambda)\lambda^k \xi_{\mu,k}` with independent
    :math:`\xi_{\mu,k}\sim N(0, 1/m)`.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momentum : float or array_like
        EMA weight on history (lambda), ``0 <= momentum < 1``; ``0`` is plain BN.

    Returns
    -------
    scipy.stats frozen distribution
        ``norm(0, sqrt((1 - momentum) / ((1 + momentum) m)))``, broadcast over the
        arguments.

    Notes
    -----
    A weighted sum of independent normals is normal; its variance is
    :math:`\frac1m\sum_k(1-\lambda)^2\lambda^{2k} = \frac{1-\lambda}{(1+\lambda)m}`.
    Batches are assumed independent and the population stationary (no drift).

    Examples
    --------
    >>> from noise_theory import ema_mean_noise
    >>> law = ema_mean_noise(4, 0.9)
    >>> round(float(law.var()), 6)
    0.013158
    >>> law.rvs(size=2, random_state=0).shape
    (2,)
    """
    m, momentum = _m_momentum_iv(m, momentum)
    var = _ema_factor(momentum) / m
    return stats.norm(loc=0.0, scale=_scalar_or_array(np.sqrt(var)))


@dataclass(frozen=True, eq=False)
class EmaVarianceNoise:
    """Stationary MBN variance noise: exact moments and an approximate law.

    Attributes
    ----------
    mean : float or ndarray
        Exact ``E xi_sigma^MBN = (m - 1) / m``.
    var : float or ndarray
        Exact ``Var xi_sigma^MBN = (1 - lambda) / (1 + lambda) * 2 (m - 1) / m**2``.
    approx_gamma : scipy.stats frozen distribution
        **Approximation**: the Gamma law with the same mean and variance. The exact law
        is an infinite weighted sum of Gammas (a generalised chi-square); the Gamma law is
        exact only at ``momentum = 0``.
    """

    mean: float | np.ndarray
    var: float | np.ndarray
    approx_gamma: object


def ema_variance_noise(m, momentum):
    r"""Stationary MBN variance noise: exact mean and variance, approximate Gamma law.

    The running variance after many steps, relative to the population variance, is
    :math:`\xi_\sigma^{MBN}=\sum_{k\ge0}(1-\lambda)\lambda^k\xi_{\sigma,k}` with independent
    :math:`\xi_{\sigma,k}\sim\chi^2_{m-1}/m` (biased batch variance).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momentum : float or array_like
        EMA weight on history (lambda), ``0 <= momentum < 1``; ``0`` is plain BN.

    Returns
    -------
    EmaVarianceNoise
        ``mean`` and ``var`` (exact) and ``approx_gamma``, the moment-matched
        ``gamma(a=(1+lambda)(m-1)/(2(1-lambda)), scale=2(1-lambda)/((1+lambda)m))``
        (an approximation, exact only at ``momentum = 0``).

    Notes
    -----
    The weights sum to one, so the mean stays :math:`(m-1)/m`; the variance is the
    per-batch :math:`2(m-1)/m^2` times :math:`\sum_k(1-\lambda)^2\lambda^{2k}=
    \frac{1-\lambda}{1+\lambda}`. Matching a Gamma law's ``a*scale`` and
    ``a*scale**2`` to these gives the shape and scale above. The exact law has
    cumulants :math:`\kappa_n = \frac{(1-\lambda)^n}{1-\lambda^n}\kappa_n(\xi_\sigma)`,
    while the Gamma law's third cumulant is the exact one times
    ``(1+lambda+lambda^2) / (1+lambda)^2`` (< 1 for lambda > 0): the approximation is
    slightly less skewed than the truth.

    Examples
    --------
    >>> from noise_theory import ema_variance_noise
    >>> noise = ema_variance_noise(4, 0.9)
    >>> float(noise.mean), round(float(noise.var), 6)
    (0.75, 0.019737)
    >>> round(float(noise.approx_gamma.mean()), 6)
    0.75
    """
    m, momentum = _m_momentum_iv(m, momentum)
    mean_b, var_b = _batch_variance_moments(m)
    var = _ema_factor(momentum) * var_b
    shape = mean_b**2 / var
    scale = var / mean_b
    approx = stats.gamma(a=_scalar_or_array(shape), scale=_scalar_or_array(scale))
    return EmaVarianceNoise(mean=_scalar_or_array(mean_b), var=_scalar_or_array(var),
                            approx_gamma=approx)
