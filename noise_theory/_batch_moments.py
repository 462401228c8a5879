r"""Exact first and second moments of the batch statistics for any input law.

For m iid draws from a law with mean 0, variance 1, skewness :math:`\mu_3` and excess
kurtosis :math:`\kappa` (so :math:`\mu_4 = \kappa + 3`), with :math:`s^2` the unbiased
batch variance (docs/theory.md, (3.1)):

.. math::

    \mathrm{Var}\,\mu_B = 1/m, \quad E s^2 = 1, \quad
    \mathrm{Var}\,s^2 = \frac{\mu_4}{m} - \frac{m-3}{m(m-1)}
                      = \frac{\kappa}{m} + \frac{2}{m-1}, \quad
    \mathrm{Cov}(\mu_B, s^2) = \frac{\mu_3}{m}.

The batch variance with ``ddof`` is :math:`\sigma_B^2 = c\,s^2` with
:math:`c = (m-1)/(m-\mathrm{ddof})`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._bn import _m_ddof_iv
from ._validation import ParameterValueError, real_array

__all__ = ["batch_statistics_moments", "BatchStatisticsMoments"]


@dataclass(frozen=True)
class BatchStatisticsMoments:
    """Exact moments of the batch mean and batch variance (population units, sigma = 1).

    Attributes
    ----------
    m, skewness, excess_kurtosis, ddof : numpy scalar or ndarray
        The inputs, broadcast against each other (every field has that shape).
    mean_mean : numpy scalar or ndarray
        :math:`E[\\mu_B - \\mu] = 0`.
    var_mean : ndarray
        :math:`\\mathrm{Var}\\,\\mu_B = 1/m` (the variance of the mean noise).
    mean_var : ndarray
        :math:`E\\,\\sigma_B^2 = (m-1)/(m-\\mathrm{ddof})`.
    var_var : ndarray
        :math:`\\mathrm{Var}\\,\\sigma_B^2` (the variance of the variance noise).
    cov : ndarray
        :math:`\\mathrm{Cov}(\\mu_B, \\sigma_B^2)`.
    corr : ndarray
        Their correlation, ``cov/sqrt(var_mean var_var)``; 0 for symmetric input.
    """

    m: np.ndarray
    skewness: np.ndarray
    excess_kurtosis: np.ndarray
    ddof: np.ndarray
    mean_mean: np.ndarray
    var_mean: np.ndarray
    mean_var: np.ndarray
    var_var: np.ndarray
    cov: np.ndarray
    corr: np.ndarray


def _batch_statistics_moments_iv(m, skewness, excess_kurtosis, ddof):
    m, ddof = _m_ddof_iv(m, ddof)
    skewness = real_array(skewness, "skewness")
    excess_kurtosis = real_array(excess_kurtosis, "excess_kurtosis", minimum=-2.0)
    m, skewness, excess_kurtosis, ddof = np.broadcast_arrays(m, skewness, excess_kurtosis, ddof)
    bad = excess_kurtosis < skewness**2 - 2.0
    if np.any(bad):
        k, s = excess_kurtosis[bad].ravel()[0].item(), skewness[bad].ravel()[0].item()
        raise ParameterValueError(
            "`excess_kurtosis` must be >= skewness**2 - 2 (Pearson's bound: no law has "
            f"less); got excess_kurtosis={k!r} with skewness={s!r}.")
    return m, skewness, excess_kurtosis, ddof


def batch_statistics_moments(m, *, skewness=0.0, excess_kurtosis=0.0, ddof=0):
    r"""Exact means, variances and covariance of :math:`\mu_B` and :math:`\sigma_B^2`.

    Valid for iid input from *any* law with finite fourth moment and the given
    standardised moments (not only Gaussian); population units (:math:`\mu = 0`,
    :math:`\sigma = 1`).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    skewness : float or array_like, optional
        :math:`\mu_3/\sigma^3` of the input law (0: symmetric, e.g. Gaussian).
    excess_kurtosis : float or array_like, optional
        :math:`\mu_4/\sigma^4 - 3` of the input law (0: Gaussian, 3: Laplace, -1.2:
        uniform). Must satisfy Pearson's bound ``excess_kurtosis >= skewness**2 - 2``.
    ddof : int or array_like of int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance).

    Returns
    -------
    BatchStatisticsMoments
        Frozen dataclass; every field has the broadcast shape of the inputs (numpy
        scalars for scalar input).

    Raises
    ------
    TypeError, ValueError
        On a non-integer `m` < 2, `ddof` outside ``[0, m)``, non-finite moments, or moments
        violating Pearson's bound.

    Notes
    -----
    With :math:`c = (m-1)/(m-\mathrm{ddof})`, :math:`\kappa` the excess kurtosis and
    :math:`\gamma_1` the skewness:

    .. math::

        E\sigma_B^2 = c, \quad
        \mathrm{Var}\,\sigma_B^2 = c^2\Big(\frac{\kappa}{m} + \frac{2}{m-1}\Big), \quad
        \mathrm{Cov}(\mu_B, \sigma_B^2) = c\,\frac{\gamma_1}{m}.

    For Gaussian input :math:`\mathrm{Var}\,\sigma_B^2 = 2(m-1)/(m-\mathrm{ddof})^2` and the
    covariance is 0; heavy tails (:math:`\kappa > 0`) add :math:`c^2\kappa/m` to the
    variance noise, and skewness couples the two noises: "the noise depends only on m"
    holds for Gaussian input only. The correlation,
    :math:`\gamma_1/\sqrt{\kappa + 2m/(m-1)}`, does not depend on ddof; at Pearson's bound
    (two-point laws) it is :math:`\gamma_1/\sqrt{\gamma_1^2 + 2/(m-1)}`, so
    :math:`|\mathrm{corr}| < 1` always.

    Examples
    --------
    >>> from noise_theory import batch_statistics_moments
    >>> r = batch_statistics_moments(8)                       # Gaussian input
    >>> float(r.var_mean), float(r.mean_var), float(r.var_var), float(r.cov)
    (0.125, 0.875, 0.21875, 0.0)
    >>> float(batch_statistics_moments(8, excess_kurtosis=3.0).var_var)  # Laplace input
    0.505859375
    >>> r = batch_statistics_moments(8, skewness=2.0, excess_kurtosis=6.0)  # exponential
    >>> round(float(r.corr), 4)
    0.6948
    """
    m, skewness, excess_kurtosis, ddof = _batch_statistics_moments_iv(
        m, skewness, excess_kurtosis, ddof)
    mf = m.astype(float)
    c = (mf - 1.0) / (mf - ddof)
    var_mean = 1.0 / mf
    var_var = c * c * (excess_kurtosis / mf + 2.0 / (mf - 1.0))
    cov = c * skewness / mf
    corr = cov / np.sqrt(var_mean * var_var)
    fields = dict(m=m, skewness=skewness, excess_kurtosis=excess_kurtosis, ddof=ddof,
                  mean_mean=np.zeros_like(mf), var_mean=var_mean, mean_var=c,
                  var_var=var_var, cov=cov, corr=corr)
    return BatchStatisticsMoments(**{k: v[()] for k, v in fields.items()})
