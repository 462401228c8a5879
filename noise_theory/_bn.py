r"""Laws of the two BN noises for Gaussian input, and the moments of the scale noise.

For a batch of m iid :math:`N(\mu, \sigma^2)` samples the BN statistics are

.. math::

    \xi_\mu = (\mu_B - \mu)/\sigma \sim N(0, 1/m), \qquad
    \xi_\sigma = \sigma_B^2/\sigma^2 \sim \chi^2_{m-1}/(m - \mathrm{ddof}),

independent of each other (Cochran). Everything here is in population units
(:math:`\mu = 0`, :math:`\sigma = 1`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from ._validation import integer_array, real_array

__all__ = ["mean_noise", "variance_noise", "scale_moment"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Stirling series of log Gamma beyond (x - 1/2) log x - x + log sqrt(2 pi): B_2n/(2n(2n-1)).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_STIRLING_MIN = 10.0  # the 7 terms above are exact to double precision for x >= 10
_LOG_FLOAT_MAX = math.log(np.finfo(float).max)


# ------------------------------------------------------------------ log-gamma helpers
def _stirling_correction(x):
    """log Gamma(x) - [(x - 1/2) log x - x + log sqrt(2 pi)], accurate for all x > 0."""
    x = np.asarray(x, dtype=float)
    big = x >= _STIRLING_MIN
    xb = np.where(big, x, _STIRLING_MIN)
    inv2 = 1.0 / (xb * xb)
    series = np.zeros_like(xb)
    for c in reversed(_STIRLING):
        series = series * inv2 + c
    series = series / xb
    xs = np.where(big, 1.0, x)
    direct = special.gammaln(xs) - ((xs - 0.5) * np.log(xs) - xs + _HALF_LOG_2PI)
    return np.where(big, series, direct)


def _log_gamma_ratio(a, d):
    """log[Gamma(a + d) / Gamma(a)] for a > 0, a + d > 0, without cancellation at large a.

    For a, a + d >= 10 it uses the Stirling form
    ``(a - 1/2) log1p(d/a) + d log(a + d) - d + corr(a + d) - corr(a)``, whose terms are
    all O(d) instead of O(a log a); below that the plain ``gammaln`` difference is exact
    enough.
    """
    a, d = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(d, dtype=float))
    b = a + d
    big = (a >= _STIRLING_MIN) & (b >= _STIRLING_MIN)
    ab = np.where(big, a, _STIRLING_MIN)
    bb = np.where(big, b, _STIRLING_MIN)
    db = bb - ab
    stirling = ((ab - 0.5) * np.log1p(db / ab) + db * np.log(bb) - db
                + _stirling_correction(bb) - _stirling_correction(ab))
    a_s = np.where(big, 1.0, a)
    b_s = np.where(big, 1.0, b)
    direct = special.gammaln(b_s) - special.gammaln(a_s)
    return np.where(big, stirling, direct)


def _log_gamma_mode_density(k):
    """k log k - k - log Gamma(k): log of the Gamma(k, 1) density at x = k, times k."""
    return 0.5 * np.log(k) - _HALF_LOG_2PI - _stirling_correction(k)


# ------------------------------------------------------------------ input validation
def _m_ddof_iv(m, ddof):
    m = integer_array(m, "m", minimum=2)
    ddof = integer_array(ddof, "ddof", minimum=0)
    if np.any(ddof >= m):
        raise ValueError(f"`ddof` must be smaller than `m`; got ddof={ddof.tolist()!r}, "
                         f"m={m.tolist()!r}.")
    return m, ddof


def _mean_noise_iv(m):
    return integer_array(m, "m", minimum=1)


# ------------------------------------------------------------------ public laws
def mean_noise(m):
    r"""Law of the mean noise :math:`\xi_\mu = (\mu_B - \mu)/\sigma` for Gaussian input.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 1. Arrays give a frozen law with that shape.

    Returns
    -------
    scipy.stats frozen distribution
        ``norm(0, 1/sqrt(m))``.

    Raises
    ------
    TypeError, ValueError
        If `m` is not an integer >= 1.

    Notes
    -----
    :math:`\mu_B` is the mean of m iid :math:`N(\mu, \sigma^2)` draws, so
    :math:`\xi_\mu \sim N(0, 1/m)`; it is independent of :math:`\sigma_B^2` (Cochran).
    The sign of :math:`\xi_\mu` is a convention: the law is symmetric.

    Examples
    --------
    >>> from noise_theory import mean_noise
    >>> float(mean_noise(4).var())
    0.25
    >>> mean_noise([2, 8]).std().round(4).tolist()
    [0.7071, 0.3536]
    >>> float(mean_noise(16).rvs(random_state=0).round(4))
    0.441
    """
    m = _mean_noise_iv(m)
    return stats.norm(loc=0.0, scale=1.0 / np.sqrt(m))


def variance_noise(m, *, ddof=0):
    r"""Law of the variance noise :math:`\xi_\sigma = \sigma_B^2/\sigma^2` for Gaussian input.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    ddof : int or array_like of int, optional
        The batch variance divides by ``m - ddof``: 0 (default) is BN's biased variance,
        1 the unbiased one. Must be smaller than `m`.

    Returns
    -------
    scipy.stats frozen distribution
        ``gamma(a=(m - 1)/2, scale=2/(m - ddof))``, i.e. :math:`\chi^2_{m-1}/(m - ddof)`.

    Raises
    ------
    TypeError, ValueError
        If `m` is not an integer >= 2 or `ddof` not an integer in ``[0, m)``.

    Notes
    -----
    :math:`\sum_i (x_i - \mu_B)^2/\sigma^2 \sim \chi^2_{m-1}`, hence
    :math:`E\,\xi_\sigma = (m-1)/(m-\mathrm{ddof})` and
    :math:`\mathrm{Var}\,\xi_\sigma = 2(m-1)/(m-\mathrm{ddof})^2`.

    Examples
    --------
    >>> from noise_theory import variance_noise
    >>> law = variance_noise(4)
    >>> float(law.mean()), float(law.var())
    (0.75, 0.375)
    >>> float(variance_noise(4, ddof=1).mean())
    1.0
    """
    m, ddof = _m_ddof_iv(m, ddof)
    return stats.gamma(a=(m - 1) / 2.0, scale=2.0 / (m - ddof))


# ------------------------------------------------------------------ scale moments
def _scale_moment_iv(m, power, ddof, eps):
    m, ddof = _m_ddof_iv(m, ddof)
    power = real_array(power, "power")
    eps = real_array(eps, "eps", minimum=0.0)
    return np.broadcast_arrays(m, power, ddof, eps)


def _closed_form(m, power, ddof):
    """E[xi^(-power/2)] for eps = 0, power < m - 1 (log-space)."""
    k = (m - 1) / 2.0
    d = -power / 2.0
    # Gamma(k + d)/Gamma(k) * theta^d with theta = 2/(m - ddof); beyond float range -> inf
    with np.errstate(over="ignore"):
        return np.exp(_log_gamma_ratio(k, d) + d * np.log(2.0 / (m - ddof)))


def _integrated(m, power, ddof, eps):
    """E[(xi + eps)^(-power/2)] for eps > 0 by quadrature (scalar arguments).

    With xi = theta k e^t (theta = 2/(m - ddof), k = (m - 1)/2) the Gamma(k, theta) law
    becomes ``exp(C + k (t - expm1(t))) dt`` with ``C = k log k - k - log Gamma(k)``
    (computed without cancellation), and ``xi + eps = mu0 e^t + eps`` with
    ``mu0 = (m-1)/(m-ddof)``, so ``log(xi + eps) = log1p(mu0 expm1(t) + (ddof-1)/(m-ddof)
    + eps)``. All terms stay O(1) even for m = 1e7. The log-integrand has a single
    critical point (a quadratic in u = e^t), around which the quadrature is split on the
    scale of its curvature.
    """
    from scipy import integrate

    k = (m - 1) / 2.0
    half_p = power / 2.0
    mu0 = (m - 1) / (m - ddof)
    shift = (ddof - 1) / (m - ddof) + eps  # mu0 - 1 + eps

    log_mu0, log_eps = math.log(mu0), math.log(eps)

    def log_f(t):
        if t > 700.0:
            return -math.inf
        em1 = math.expm1(t)
        z = mu0 * em1 + shift  # xi + eps - 1
        if z > -0.5:
            log_xe = math.log1p(z)
        else:  # xi + eps small: log(mu0 e^t + eps) without cancellation
            a, b = log_mu0 + t, log_eps
            log_xe = max(a, b) + math.log1p(math.exp(-abs(a - b)))
        return k * (t - em1) - half_p * log_xe

    # mode: k (1 - u)(mu0 u + eps) = half_p mu0 u  <=>  A u^2 + B u - k eps = 0
    a_ = k * mu0
    b_ = -(k * mu0 - k * eps - half_p * mu0)
    disc = math.sqrt(b_ * b_ + 4.0 * a_ * k * eps)
    u = 2.0 * k * eps / (disc + b_) if b_ > 0 else (disc - b_) / (2.0 * a_)
    t0 = math.log(u)
    curv = k * u + half_p * mu0 * u * eps / (mu0 * u + eps) ** 2
    s = 1.0 / math.sqrt(curv) if curv > 0 else 1.0
    h0 = log_f(t0)

    def f(t):
        return math.exp(log_f(t) - h0)

    # The bulk [t0 - s, t0 + s] first (f(t0) = 1, so it is O(s)); every other piece is then
    # integrated to an absolute tolerance relative to it, else quad chases roundoff in
    # pieces that hold a negligible share of the mass. Breakpoints: the mode on its own
    # scale, and the kink of log(mu0 e^t + eps) at mu0 e^t = eps (tiny eps, small m).
    bulk = integrate.quad(f, t0 - s, t0 + s, epsabs=0.0, epsrel=1e-13, limit=200)[0]
    opts = dict(epsabs=1e-15 * bulk, epsrel=1e-13, limit=200)
    t_eps = log_eps - log_mu0
    left = sorted({t0 - j * s for j in (4, 12, 30)}
                  | {t_eps + j for j in (-20.0, -5.0, -1.0, 0.0, 1.0, 5.0) if t_eps + j < t0 - s})
    right = [t0 + j * s for j in (4, 12)]
    total = bulk + integrate.quad(f, -math.inf, left[0], **opts)[0]
    for lo, hi in zip(left, left[1:] + [t0 - s]):
        total += integrate.quad(f, lo, hi, **opts)[0]
    for lo, hi in zip([t0 + s] + right, right + [math.inf]):
        total += integrate.quad(f, lo, hi, **opts)[0]
    log_value = float(_log_gamma_mode_density(k)) + h0 + math.log(total)
    return math.exp(log_value) if log_value < _LOG_FLOAT_MAX else math.inf


def scale_moment(m, power, *, ddof=0, eps=0.0):
    r"""Moment of the multiplicative BN noise: :math:`E[(\sigma^2/(\sigma_B^2+\epsilon))^{p/2}]`.

    In population units (:math:`\sigma = 1`) this is
    :math:`E[(\xi_\sigma + \epsilon)^{-p/2}]` with :math:`\xi_\sigma` the variance noise of
    :func:`variance_noise`. ``power=1`` gives :math:`E[\sigma/\sigma_B]` (the factor by
    which BN inflates the output on average), ``power=2`` gives
    :math:`E[\sigma^2/\sigma_B^2]`; negative powers are positive moments of
    :math:`\sigma_B` (``power=-2`` is :math:`E[\sigma_B^2]/\sigma^2`).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2.
    power : float or array_like
        The exponent p (any real).
    ddof : int or array_like of int, optional
        Delta degrees of freedom of the batch variance (0: BN's biased variance).
    eps : float or array_like, optional
        BN's epsilon in population units (:math:`\epsilon/\sigma^2`), >= 0.

    Returns
    -------
    float or ndarray
        The moment, broadcast over `m`, `power`, `ddof`, `eps` (a float for scalar input).
        ``inf`` where it diverges: exactly when ``eps == 0`` and ``power >= m - 1``
        (also where a finite value exceeds the float range, ~1.8e308).

    Raises
    ------
    TypeError, ValueError
        On a non-integer `m` < 2, `ddof` outside ``[0, m)``, non-finite `power`, or
        negative or non-finite `eps`.

    Notes
    -----
    With :math:`k = (m-1)/2`, :math:`\theta = 2/(m-\mathrm{ddof})` and
    :math:`\epsilon = 0`,

    .. math::

        E[\xi_\sigma^{-p/2}] = \theta^{-p/2}\,\frac{\Gamma(k - p/2)}{\Gamma(k)},

    finite iff :math:`p < m - 1`; e.g. :math:`E[\sigma/\sigma_B] =
    \sqrt{m/2}\,\Gamma((m-2)/2)/\Gamma((m-1)/2)` (m > 2) and
    :math:`E[\sigma^2/\sigma_B^2] = m/(m-3)` (m > 3). The gamma ratio is evaluated in log
    space with a Stirling series, so m up to 1e7 neither overflows nor cancels. For
    :math:`\epsilon > 0` the moment is always finite and is computed by adaptive
    quadrature against the Gamma density in a standardised log variable centred at the
    integrand's mode (relative accuracy about 1e-12, also for m = 1e7).

    Examples
    --------
    >>> from noise_theory import scale_moment
    >>> round(float(scale_moment(8, 2)), 12)           # m/(m - 3)
    1.6
    >>> scale_moment([2, 3, 4], 2)                     # divergent for m <= 3
    array([inf, inf,  4.])
    >>> round(float(scale_moment(2, 2, eps=1e-5)), 1)  # eps makes it finite
    558.5
    """
    m, power, ddof, eps = _scale_moment_iv(m, power, ddof, eps)
    shape = m.shape
    m, power, ddof, eps = (a.ravel() for a in (m, power, ddof, eps))
    out = np.empty(m.shape, dtype=float)
    zero = eps == 0.0
    diverge = zero & (power >= m - 1)
    closed = zero & ~diverge
    out[diverge] = np.inf
    out[closed] = _closed_form(m[closed], power[closed], ddof[closed])
    for i in np.flatnonzero(~zero):
        out[i] = _integrated(float(m[i]), float(power[i]), float(ddof[i]), float(eps[i]))
    out = out.reshape(shape)
    return out[()] if out.ndim == 0 else out
