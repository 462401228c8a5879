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

from ._bn import mean_noise, variance_noise
from ._laplace_inversion import GeometricGammaSum
from ._validation import ParameterValueError, choice, integer_array, real_array

__all__ = [
    "ema_mean_noise",
    "ema_variance_noise",
    "effective_batch_size",
    "EmaVarianceNoise",
    "noise_trajectory",
    "NoiseTrajectory",
    "mbn_output_moments",
    "MbnOutputMoments",
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


def _batch_variance_moments(m, ddof=0):
    """Mean and variance of one batch's variance noise xi_sigma = chi2(m-1)/(m-ddof)."""
    law = variance_noise(m, ddof=ddof)
    return np.asarray(law.mean(), dtype=float), np.asarray(law.var(), dtype=float)


def _batch_mean_variance(m):
    """Variance of one batch's mean noise xi_mu (1/m)."""
    return np.asarray(mean_noise(m).var(), dtype=float)


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
    var = _ema_factor(momentum) * _batch_mean_variance(m)
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


def ema_variance_noise(m, momentum, *, ddof=0):
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
    ddof : int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance; 1 the unbiased
        one, e.g. PyTorch's running variance). Means scale by ``m/(m - ddof)``, variances by
        its square.

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
    mean_b, var_b = _batch_variance_moments(m, ddof)
    var = _ema_factor(momentum) * var_b
    shape = mean_b**2 / var
    scale = var / mean_b
    approx = stats.gamma(a=_scalar_or_array(shape), scale=_scalar_or_array(scale))
    return EmaVarianceNoise(mean=_scalar_or_array(mean_b), var=_scalar_or_array(var),
                            approx_gamma=approx)


# ---------------------------------------------------------------- trajectories
@dataclass(frozen=True, eq=False)
class NoiseTrajectory:
    """Exact per-step noise of MBN's running statistics (see :func:`noise_trajectory`).

    Attributes
    ----------
    momenta : ndarray, shape (steps,)
        The momentum used at each step (after :func:`noise_trajectory`'s start rule).
    mean_noise_var : ndarray, shape m.shape + (steps,)
        Variance of the running mean's noise after each step (population units).
    variance_noise_mean : ndarray, shape m.shape + (steps,)
        Mean of the running variance's noise from the batches' share
        (``(1 - start_weight) * E xi_sigma``; add ``start_weight * s0`` for a fixed start
        value ``s0``).
    variance_noise_var : ndarray, shape m.shape + (steps,)
        Variance of the running variance's noise after each step.
    start_weight : ndarray, shape (steps,)
        Weight still on the start value (product of the momenta so far); all zeros when the
        first batch initialises the statistics.
    """

    momenta: np.ndarray
    mean_noise_var: np.ndarray
    variance_noise_mean: np.ndarray
    variance_noise_var: np.ndarray
    start_weight: np.ndarray

    @property
    def effective_batch_size(self):
        """Plain-BN batch size with the same mean-noise variance at each step."""
        return 1.0 / self.mean_noise_var


def _noise_trajectory_iv(m, momenta, ddof, start):

    m = integer_array(m, "m", minimum=2)
    momenta = real_array(momenta, "momenta", minimum=0, maximum=1, max_open=True)
    if momenta.ndim > 1:
        raise ParameterValueError(f"`momenta` must be a scalar or a 1-D array of per-step momenta; "
                         f"got shape {momenta.shape}.")
    momenta = np.atleast_1d(momenta).copy()
    if momenta.size == 0:
        raise ParameterValueError("`momenta` must be a non-empty scalar or 1-D array of per-step "
                         "momenta; got an empty array.")
    start = choice(start, "start", ("batch", "fixed"))
    return m, momenta, ddof, start


def _ema_variance_factor_path(momenta, f0):
    """f_t = momenta_t^2 f_(t-1) + (1 - momenta_t)^2 from f_0 (exact, one pass)."""
    f = np.empty(momenta.shape)
    prev = float(f0)
    for t, lam in enumerate(momenta.tolist()):
        prev = lam * lam * prev + (1.0 - lam) * (1.0 - lam)
        f[t] = prev
    return f


def noise_trajectory(m, momenta, *, ddof=0, start="batch"):
    r"""Exact per-step variance of MBN's mean noise and variance noise, by recursion.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momenta : float or array_like, shape (steps,)
        Momentum (weight on history, ``0 <= momentum < 1``) used at each step, e.g. from
        :func:`momentum_schedule` (a per-epoch schedule expanded to iterations), a
        constant ``np.full(steps, 0.9)``, or any array.
    ddof : int, optional
        The batch variance divides by ``m - ddof`` (0: BN's biased variance).
    start : {"batch", "fixed"}, optional
        ``"batch"`` (default): the first batch's statistics initialise the running
        statistics, whatever ``momenta[0]`` is (the paper's :math:`\lambda(1) = 0`;
        ``momenta[0]`` is reported as 0). ``"fixed"``: the statistics start from a
        deterministic value (e.g. PyTorch's zeros and ones) that carries no noise and keeps
        weight ``prod(momenta[:t])`` (``start_weight``).

    Returns
    -------
    NoiseTrajectory
        ``mean_noise_var``, ``variance_noise_mean``, ``variance_noise_var`` with shape
        ``m.shape + (steps,)``, and the per-step ``momenta`` and ``start_weight``.

    Notes
    -----
    Batches are independent and the population stationary. A running statistic
    :math:`s_t = \lambda_t s_{t-1} + (1-\lambda_t) s_{B,t}` has

    .. math:: \mathrm{Var}\, s_t = \lambda_t^2\, \mathrm{Var}\, s_{t-1}
              + (1-\lambda_t)^2\, \mathrm{Var}\, s_B,

    with :math:`\mathrm{Var}\,\xi_\mu = 1/m`, :math:`\mathrm{Var}\,\xi_\sigma = 2(m-1)/
    (m-\mathrm{ddof})^2` per batch. Both noises share the factor
    :math:`f_t = \lambda_t^2 f_{t-1} + (1-\lambda_t)^2` (``f_1 = 1`` for a batch start,
    ``f_0 = 0`` for a fixed start). For a constant momentum and a fixed start
    :math:`f_t = \frac{1-\lambda}{1+\lambda}(1-\lambda^{2t})`; for a batch start
    :math:`f_t = \frac{1-\lambda}{1+\lambda} + \frac{2\lambda}{1+\lambda}\lambda^{2(t-1)}`.

    Examples
    --------
    >>> import numpy as np
    >>> from noise_theory import noise_trajectory, momentum_schedule
    >>> traj = noise_trajectory(4, np.full(3, 0.5))
    >>> traj.mean_noise_var.round(4)
    array([0.25  , 0.125 , 0.0938])
    >>> lam = momentum_schedule("paper", m=2, epochs=200, iterations_per_epoch=10)
    >>> round(float(noise_trajectory(2, lam).effective_batch_size[-1]), 1)  # < 62: 10 steps
    57.5
    """
    m, momenta, ddof, start = _noise_trajectory_iv(m, momenta, ddof, start)
    if start == "batch":
        momenta[0] = 0.0
        start_weight = np.zeros(momenta.shape)
    else:
        start_weight = np.cumprod(momenta)
    f = _ema_variance_factor_path(momenta, 0.0)
    mean_b, var_b = _batch_variance_moments(m, ddof)
    mean_b, var_b = mean_b[..., None], var_b[..., None]
    return NoiseTrajectory(
        momenta=momenta,
        mean_noise_var=f * _batch_mean_variance(m)[..., None],
        variance_noise_mean=(1.0 - start_weight) * mean_b,
        variance_noise_var=f * var_b,
        start_weight=start_weight,
    )


# ---------------------------------------------------------------- in-batch MBN output
@dataclass(frozen=True, eq=False)
class MbnOutputMoments:
    """Mean and variance of an in-batch MBN output (see :func:`mbn_output_moments`).

    Attributes
    ----------
    mean : float or ndarray
        ``E z`` (0 by symmetry).
    var : float or ndarray
        ``Var z = E z**2``.
    """

    mean: float | np.ndarray
    var: float | np.ndarray


def _output_second_moment(m, momentum, eps):
    """E z^2 = int_0^inf (a + B/(1 + c0 s)) e^(-s eps) L(s) ds (scalar arguments).

    L(s) = E exp(-s D^2) is evaluated by :class:`GeometricGammaSum` (cost independent of
    1/(1 - momentum)). With s = v / (E D^2 + eps) the integrand is O(e^-v) or slower; the
    integral over v in (0, inf) is the exp-sinh rule v = exp(pi/2 sinh t), step halved
    until two estimates agree to 1e-13 relative (vectorised: one evaluation per level).
    """
    law = _ema_law(m, momentum, 0)
    k, c0 = law.k, law.c0
    scale = law.mean + eps
    a = 2.0 * momentum**2 / ((1.0 + momentum) * m)
    b = (m - 1.0) / m

    def f(t):
        with np.errstate(over="ignore", under="ignore"):
            v = np.exp(0.5 * np.pi * np.sinh(t))
            dv = v * 0.5 * np.pi * np.cosh(t)
        v, dv = np.minimum(v, 1e300), np.minimum(dv, 1e300)
        z = c0 * v / scale
        logs, _, _, capped = law.sums(z, 1.0 + z, raw=True)  # sum_j log(1 + c_j s)
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            # log L(s) - s eps = -s eps - k sum_j log(1 + c_j s): all terms <= 0, no
            # cancellation at large s
            expo = -(v / scale) * eps - k * logs
            out = (a + b / (1.0 + z)) * np.exp(expo) * dv / scale
        # capped: L(s) <= (1 + 1/2)^(-k 2**16), nothing left to integrate
        return np.where(capped | (v >= 1e300), 0.0, out)

    t_max = 6.5  # v from exp(-pi/2 sinh 6.5) ~ 1e-227 to 1e+227
    h = 0.25
    t = np.arange(-t_max, t_max + h / 2, h)
    total = f(t).sum()
    est = total * h
    for _ in range(8):
        h /= 2.0
        t = np.arange(-t_max + h, t_max, 2 * h)
        total += f(t).sum()
        new = total * h
        if abs(new - est) <= 1e-13 * abs(new):
            return new
        est = new
    return est  # pragma: no cover - converges by level 4-6 over the domain


def mbn_output_moments(m, momentum, *, eps=0.0):
    r"""Mean and variance of an in-batch MBN output in the stationary regime.

    The training output of sample :math:`x_i` of the current batch is
    :math:`z_i = (x_i - \mu_t)/\sqrt{\sigma_t^2 + \epsilon}` with the *updated* running
    statistics :math:`\mu_t = \lambda\mu_{t-1} + (1-\lambda)\mu_B` (same for
    :math:`\sigma_t^2`): the batch that contains :math:`x_i` enters with weight
    :math:`1 - \lambda`.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momentum : float or array_like
        Weight on history (lambda), ``0 <= momentum < 1``.
    eps : float or array_like, optional
        The epsilon added to the variance (population units), ``>= 0``.

    Returns
    -------
    MbnOutputMoments
        ``mean`` (0) and ``var``, broadcast over the arguments.

    Notes
    -----
    Write :math:`x_i = \mu_B + r_i`. With a stationary history (independent of the current
    batch) :math:`x_i - \mu_t = r_i + \lambda(\mu_B - H_\mu)`, where
    :math:`\lambda(\mu_B - H_\mu) \sim N(0, a)`, :math:`a = \frac{2\lambda^2}{(1+\lambda)m}`,
    is independent of :math:`r` and of the variances. The denominator is
    :math:`D^2 = \sum_{k\ge0} w_k\xi_k + \epsilon`, :math:`w_k = (1-\lambda)\lambda^k`,
    :math:`\xi_k \sim \chi^2_{m-1}/m` independent, :math:`\xi_0 = \sigma_B^2`. The sign
    symmetry gives :math:`E z = 0`, and exchangeability of the :math:`r_j` gives
    :math:`E[r_i^2/D^2] = E[\xi_0/D^2]`, so

    .. math::

        E z^2 = a\,E\!\left[\frac1{D^2}\right] + E\!\left[\frac{\xi_0}{D^2}\right]
        = \int_0^\infty \Big(a + \frac{(m-1)/m}{1 + 2sw_0/m}\Big)
          e^{-s\epsilon}\prod_{k\ge0}\Big(1+\frac{2sw_k}{m}\Big)^{-\frac{m-1}2} ds,

    using :math:`1/D^2 = \int_0^\infty e^{-sD^2}ds` and the chi-square Laplace transform.
    The log-Laplace transform is evaluated as in :func:`ema_variance_noise_cdf` (leading
    terms directly, the rest by an exact power series; cost independent of
    :math:`1/(1-\lambda)` and `m`), and the integral by the exp-sinh rule
    (:math:`s = e^{\frac\pi2\sinh t}/(E D^2 + \epsilon)`, step halved until two estimates
    agree to ``1e-13``): a few ms per point, memory a few MB, for every accepted input.
    Measured against the previous truncated-product quadrature: relative differences below
    ``1e-9`` for m 2..1000 and momentum 0.01..0.999; near 1 it follows
    :math:`m/(m-1) - \delta(5/2 - 1/(m-1))/(m-1) + O(\delta^2)`, :math:`\delta = 1-\lambda`,
    down to :math:`\delta = 2^{-53}`.
    The integral is finite for every ``m >= 2`` when ``momentum > 0`` (the infinitely
    many history terms tame the small-batch divergence of plain BN's
    :math:`E\,\xi_\sigma^{-1}`). Limits: ``momentum = 0`` gives 1 (in-batch BN,
    :math:`\sum z_i^2 = m`) or :math:`1 - cE[1/(Q+c)]`, ``c = m eps``, with eps;
    ``momentum -> 1`` gives :math:`m/(m-1)` (normalising by the population mean and the
    expected biased variance).

    Examples
    --------
    >>> from noise_theory import mbn_output_moments
    >>> round(float(mbn_output_moments(4, 0.0).var), 10)
    1.0
    >>> round(float(mbn_output_moments(4, 0.9).var), 4)
    1.2648
    """
    m, momentum = _m_momentum_iv(m, momentum)
    eps = real_array(eps, "eps", minimum=0)
    m, momentum, eps = np.broadcast_arrays(m, momentum, eps)
    var = np.empty(m.shape)
    for idx in np.ndindex(m.shape):
        var[idx] = _output_second_moment(float(m[idx]), float(momentum[idx]), float(eps[idx]))
    return MbnOutputMoments(mean=_scalar_or_array(np.zeros(m.shape)),
                            var=_scalar_or_array(var))


def _ema_law(m, lam, ddof):
    """The stationary variance noise as a GeometricGammaSum (m, ddof integers, lam float)."""

    k, theta = 0.5 * (m - 1.0), 2.0 / (m - ddof)
    # E X = (m - 1)/(m - ddof) = 1 - (1 - ddof)/(m - ddof), the offset kept separately
    return GeometricGammaSum(k, (1.0 - lam) * theta, lam, (m - 1.0) / (m - ddof),
                             mean_minus_one=-(1.0 - ddof) / (m - ddof))
