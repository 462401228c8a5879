"""The BN / MBN noise law a GLM output unit sees, its special functions, and the GLM input checks."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special

from ._bn import _stirling_correction
from ._families import LOGISTIC, POISSON, GLMFamily, glm_family
from ._validation import ParameterTypeError, ParameterValueError, integer_array, real_array

__all__ = ["NoiseLaw", "noise_law", "GLMInputs", "validate_glm_inputs"]


# ---------------------------------------------------------------- noise laws
@dataclass(frozen=True)
class NoiseLaw:
    r"""The BN/MBN noise law used by the regulariser (see :func:`noise_law`).

    ``xi_mu ~ N(0, s2)`` and, independently, ``xi_sigma ~ Gamma(shape, scale)``.

    Attributes
    ----------
    s2 : float
        :math:`\mathrm{Var}\,\xi_\mu`: exactly ``(1 - momentum)/((1 + momentum) m)``
        (1/m for BN).
    shape, scale : float
        Gamma shape k and scale theta of :math:`\xi_\sigma`:
        ``k = r (m - 1)/2``, ``theta = 2/(r m)`` with ``r = (1+momentum)/(1-momentum)``.
        Exact for BN (``chi2(m-1)/m``); for momentum > 0 this is the **moment-matched**
        Gamma law (same mean ``(m-1)/m`` and variance as the exact stationary EMA law,
        exact at momentum 0; see :func:`noise_theory.ema_variance_noise`).
    approximate : bool
        True when momentum > 0 (the Gamma law is the moment-matched approximation).
    m : int
        Batch size.
    momentum : float
        MBN weight on history (0 for BN).
    """

    s2: float
    shape: float
    scale: float
    approximate: bool
    m: int = 0
    momentum: float = 0.0

    @property
    def mean(self):
        r""":math:`E\,\xi_\sigma = (m-1)/m` (= shape * scale)."""
        return (self.m - 1) / self.m


#: old private name, kept as an alias.
_NoiseLaw = NoiseLaw


def noise_law(m, *, momentum=0.0):
    r"""The BN (or stationary MBN) noise law of :func:`glm_regularizer` and friends.

    Parameters
    ----------
    m : int
        Batch size, >= 2.
    momentum : float, optional
        MBN weight on history (lambda), ``0 <= momentum < 1``; 0 is plain BN.

    Returns
    -------
    NoiseLaw
        ``s2`` (exact mean-noise variance), Gamma ``shape`` and ``scale`` of the variance
        noise (exact for BN, moment-matched for MBN) and ``approximate``.

    Raises
    ------
    TypeError, ValueError
        On a bad `m` or `momentum`.

    Notes
    -----
    With :math:`r = (1+\lambda)/(1-\lambda)`: :math:`\mathrm{Var}\,\xi_\mu = 1/(rm)` (exact:
    an EMA of independent normals is normal) and :math:`\xi_\sigma \approx
    \mathrm{Gamma}(r(m-1)/2,\ 2/(rm))`, the Gamma law with the exact stationary mean
    :math:`(m-1)/m` and variance :math:`2(m-1)/(rm^2)`; for :math:`\lambda = 0` it is the
    exact law :math:`\chi^2_{m-1}/m`. ``shape`` grows like :math:`1/(1-\lambda)`
    (about 6e16 at m = 8, momentum = 1 - 2**-53); the functions using it switch to
    standardised quadrature and log-gamma asymptotics there.

    Examples
    --------
    >>> from noise_theory import noise_law
    >>> law = noise_law(8)
    >>> law.s2, law.shape, law.scale, law.approximate
    (0.125, 3.5, 0.25, False)
    >>> mbn = noise_law(8, momentum=0.5)
    >>> round(mbn.shape, 12), round(mbn.s2, 12), mbn.approximate
    (10.5, 0.041666666667, True)
    """
    m, momentum, _ = _scalars_iv(m, momentum, 0.0)
    return _noise_law(m, momentum)


@functools.lru_cache(maxsize=256)
def _noise_law(m, momentum):
    """Cached :func:`noise_law` without validation (old private entry point)."""
    m = int(m)
    momentum = float(momentum)
    if momentum == 0.0:
        return NoiseLaw(s2=1.0 / m, shape=(m - 1) / 2.0, scale=2.0 / m, approximate=False,
                        m=m, momentum=0.0)
    r = (1.0 + momentum) / (1.0 - momentum)   # 1 - momentum is exact (Sterbenz)
    return NoiseLaw(s2=1.0 / (r * m), shape=r * (m - 1) / 2.0, scale=2.0 / (r * m),
                    approximate=True, m=m, momentum=momentum)


# ---------------------------------------------------------------- special functions
#: Gamma shape above which the standardised rules and asymptotic forms are used.
_K_BIG = 25.0


def _log1pmx(x):
    """log1p(x) - x without cancellation (x > -1)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 0.25
    xs = np.where(small, x, 0.0)
    acc = np.zeros_like(xs)
    for n in range(32, 1, -1):                 # sum_{n>=2} (-1)^(n+1) x^n / n
        acc = acc * xs + (-1.0) ** (n + 1) / n
    series = acc * xs * xs
    xl = np.where(small, 0.0, x)
    return np.where(small, series, np.log1p(xl) - xl)


def _expm1mx(t):
    """expm1(t) - t without cancellation."""
    t = np.asarray(t, dtype=float)
    small = np.abs(t) < 0.5
    ts = np.where(small, t, 0.0)
    acc = np.zeros_like(ts)
    for n in range(22, 1, -1):                 # sum_{n>=2} t^n / n!
        acc = acc * ts + 1.0 / math.factorial(n)
    series = acc * ts * ts
    with np.errstate(over="ignore"):
        tl = np.where(small, 0.0, t)
        direct = np.expm1(tl) - tl
    return np.where(small, series, direct)


def _log_c1_bn_gamma(k, m):
    r"""log E[xi^(-1/2)] for xi ~ Gamma(k, theta), k theta = (m-1)/m, k > 1/2.

    ``c1 = exp(E(k) - log(mu)/2)`` with ``mu = (m-1)/m`` and
    ``E(k) = lgamma(k - 1/2) - lgamma(k) + log(k)/2 = O(1/k)``; for k >= 10.5 the Stirling
    form ``E = k log1pmx(-1/(2k)) - log1p(-1/(2k)) + corr(k - 1/2) - corr(k)`` has only
    O(1/k) terms (no cancellation at k ~ 1e17).
    """

    if k - 0.5 >= 10.0:
        x = 0.5 / k
        e = (k * float(_log1pmx(-x)) - math.log1p(-x)
             + float(_stirling_correction(k - 0.5)) - float(_stirling_correction(k)))
    else:
        e = float(special.gammaln(k - 0.5) - special.gammaln(k)) + 0.5 * math.log(k)
    return e - 0.5 * math.log1p(-1.0 / m)


def _lgamma_second_difference(k):
    r"""D = lgamma(k) - 2 lgamma(k - 1/2) + lgamma(k - 1) > 0, for k > 1, to ~1e-15 relative.

    For c = k - 1/2 >= 2 the Taylor series of the central second difference,
    ``D = sum_j 2 (1/2)^(2j)/(2j)! psi^(2j-1)(c)``, converges like (1/(2c))^(2j) (the
    radius of convergence of lgamma around c is c); below that the direct gammaln sum.
    """
    c = k - 0.5
    if c < 2.0:
        return float(special.gammaln(k) - 2.0 * special.gammaln(c) + special.gammaln(k - 1.0))
    total = 0.0
    for j in range(1, 30):
        term = 2.0 * 0.25 ** j / math.factorial(2 * j) * float(special.polygamma(2 * j - 1, c))
        total += term
        if abs(term) <= 1e-18 * total:
            break
    return total


# ---------------------------------------------------------------- validation
def _scalars_iv(m, momentum, eps):
    m = int(integer_array(m, "m", minimum=2)[()]) if np.ndim(m) == 0 else None
    if m is None:
        raise ParameterTypeError("`m` must be a single integer >= 2 (one batch size per call).")
    momentum = real_array(momentum, "momentum", minimum=0.0, maximum=1.0, max_open=True)
    eps = real_array(eps, "eps", minimum=0.0)
    if momentum.ndim or eps.ndim:
        raise ParameterTypeError("`momentum` and `eps` must be scalars (one noise law per call).")
    return m, float(momentum), float(eps)


def _finite_iv(value, name):
    """Finite real array; NaN gets its own message (a NaN input is usually an upstream bug)."""
    try:
        return real_array(value, name)
    except ValueError:
        arr = np.asarray(value, dtype=float)
        n_nan = int(np.count_nonzero(np.isnan(arr)))
        if n_nan:
            raise ParameterValueError(
                f"`{name}` must be a real number (finite, not NaN); got NaN in {n_nan} of "
                f"{arr.size} value(s) of {name}.") from None
        raise


def _y_iv(y, family):
    """The targets `family` accepts: logistic y in [0, 1], Poisson y >= 0, else any real."""
    if family is LOGISTIC:
        return real_array(y, "y", minimum=0.0, maximum=1.0)
    if family is POISSON:
        return real_array(y, "y", minimum=0.0)
    return _finite_iv(y, "y")


def _glm_regularizer_iv(h, gamma, beta, m, family, momentum, eps):
    h = _finite_iv(h, "h")
    gamma = _finite_iv(gamma, "gamma")
    beta = _finite_iv(beta, "beta")
    m, momentum, eps = _scalars_iv(m, momentum, eps)
    family = glm_family(family)
    h, gamma, beta = np.broadcast_arrays(h, gamma, beta)
    return h, gamma, beta, m, family, momentum, eps


class GLMInputs(NamedTuple):
    """Validated inputs of the GLM-loss functions (see :func:`validate_glm_inputs`).

    A named tuple, so ``h, y, gamma, beta, m, family, momentum, eps = ...`` works.

    Attributes
    ----------
    h, y, gamma, beta : ndarray
        Float arrays broadcast to one common shape (0-d for scalars).
    m : int
    family : GLMFamily
    momentum, eps : float
    """

    h: np.ndarray
    y: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    m: int
    family: GLMFamily
    momentum: float
    eps: float


def validate_glm_inputs(h, y, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0):
    r"""Validate the inputs of :func:`expected_glm_loss` exactly as it does.

    One validator for every function of a GLM output unit under BN noise (the quadrature,
    the second-order formula's :meth:`GLMRegularizer.approx_expected_loss`, and Monte
    Carlo simulators that want the same rules and messages).

    Parameters
    ----------
    h, y, gamma, beta : array_like
        Finite reals, broadcast together. `y`: logistic in [0, 1], Poisson >= 0.
    m : int
        Batch size, a single integer >= 2.
    family : {'logistic', 'squared', 'poisson'} or GLMFamily, optional
    momentum : float, optional
        ``0 <= momentum < 1``.
    eps : float, optional
        ``>= 0``.

    Returns
    -------
    GLMInputs
        Named tuple ``(h, y, gamma, beta, m, family, momentum, eps)`` with float arrays of
        the broadcast shape, ``m`` an int, ``family`` a :class:`GLMFamily`.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, e.g. "`y` must be a real number >= 0.0 and <= 1.0; got
        y=5.0." or "`h` must be a real number (finite, not NaN); got NaN in 2 of 3 value(s) of h.".

    Examples
    --------
    >>> from noise_theory import validate_glm_inputs
    >>> v = validate_glm_inputs([0.0, 1.0], 1.0, gamma=2.0, beta=0.0, m=8)
    >>> v.h.shape, v.y.tolist(), v.m, v.family.name
    ((2,), [1.0, 1.0], 8, 'logistic')
    """
    h, gamma, beta, m, family, momentum, eps = _glm_regularizer_iv(
        h, gamma, beta, m, family, momentum, eps)
    y = _y_iv(y, family)
    h, y, gamma, beta = np.broadcast_arrays(h, y, gamma, beta)
    return GLMInputs(h, y, gamma, beta, m, family, momentum, eps)


def _expected_glm_loss_iv(h, y, gamma, beta, m, family, momentum, eps):
    """Old private name of :func:`validate_glm_inputs` (positional arguments)."""
    return validate_glm_inputs(h, y, gamma=gamma, beta=beta, m=m, family=family,
                               momentum=momentum, eps=eps)


def _out(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x
