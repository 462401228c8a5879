r"""The explicit regulariser of BN and MBN for a GLM output layer.

Model (the paper's independent-noise model, one output unit, population units)::

    h_hat = (h - xi_mu) / sqrt(xi_sigma + eps),   eta = gamma * h_hat + beta,
    loss(eta, y) = A(eta) - y * eta,

with ``h`` the population-normalised pre-activation of a sample that is *not* in the
batch (so ``h`` is fixed while ``xi_mu``, ``xi_sigma`` are the independent BN noises of
batch size ``m``; for MBN the stationary EMA noises). Writing ``u = (xi_sigma+eps)^(-1/2)``
and ``c_p = E[u^p]``,

    E eta   = gamma c1 h + beta,
    Var eta = gamma^2 [ (h^2 + s^2) c2 - c1^2 h^2 ],    s^2 = Var xi_mu,

exactly (independence of the two noises). A second-order expansion of ``A`` gives
``E loss ~= loss(E eta, y) + R`` with ``R = A''(E eta) Var(eta) / 2``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from ._bn import _log_gamma_mode_density, _stirling_correction, scale_moment
from ._families import LOGISTIC, POISSON, SQUARED, GLMFamily, glm_family
from ._validation import ParameterTypeError, ParameterValueError, choice, integer_array, real_array

__all__ = [
    "GLMInputs",
    "GLMRegularizer",
    "NoiseLaw",
    "glm_divergence_reason",
    "noise_law",
    "validate_glm_inputs",
    "RegularizerStrength",
    "glm_regularizer",
    "regularizer_strength",
    "expected_glm_loss",
]


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


# ---------------------------------------------------------------- strength
@dataclass(frozen=True)
class RegularizerStrength:
    r"""The m-dependent coefficients of the BN/MBN regulariser.

    ``Var(eta) = gamma^2 (var_h2 * h^2 + var_const)``; see :func:`regularizer_strength`.

    Attributes
    ----------
    c1, c2 : float
        :math:`E[(\xi_\sigma+\epsilon)^{-1/2}]` and :math:`E[(\xi_\sigma+\epsilon)^{-1}]`
        (``inf`` where divergent).
    mean_noise_var : float
        :math:`\mathrm{Var}\,\xi_\mu` (1/m for BN).
    var_h2, var_const : float
        Exact coefficients ``c2 - c1**2`` and ``mean_noise_var * c2``.
    var_h2_series, var_const_series : tuple of float
        Coefficients (a1, a2) of the large-m expansion ``a1/m + a2/m**2`` (eps = 0).
    effective_batch_size : float
        ``m (1 + momentum)/(1 - momentum)``: the leading term is ``(1 + h^2/2)/that``.
    approximate : bool
        True when momentum > 0 (``c1``, ``c2`` use the moment-matched Gamma law).
    """

    c1: float
    c2: float
    mean_noise_var: float
    var_h2: float
    var_const: float
    var_h2_series: tuple
    var_const_series: tuple
    effective_batch_size: float
    approximate: bool


def regularizer_strength(m, *, momentum=0.0, eps=0.0):
    r"""Coefficients of the BN (or MBN) regulariser and their large-m expansion.

    Parameters
    ----------
    m : int
        Batch size, >= 2.
    momentum : float, optional
        MBN weight on history (lambda, TensorFlow convention), ``0 <= momentum < 1``;
        0 is plain BN.
    eps : float, optional
        BN epsilon in population units, >= 0.

    Returns
    -------
    RegularizerStrength
        ``Var(eta) = gamma^2 (var_h2 h^2 + var_const)``.

    Raises
    ------
    TypeError, ValueError
        On a bad `m`, `momentum` or `eps`.

    Notes
    -----
    With :math:`u = (\xi_\sigma+\epsilon)^{-1/2}`, :math:`c_p = E u^p` and
    :math:`s^2 = \mathrm{Var}\,\xi_\mu`,
    :math:`\mathrm{Var}\,\eta = \gamma^2[h^2 (c_2 - c_1^2) + s^2 c_2]`. For BN
    (eps = 0) :math:`c_1 = \sqrt{m/2}\,\Gamma((m-2)/2)/\Gamma((m-1)/2)` (finite for m > 2)
    and :math:`c_2 = m/(m-3)` (m > 3); where :math:`c_2 = \infty` both variance
    coefficients are ``inf``. With :math:`r = (1+\lambda)/(1-\lambda)` and the
    moment-matched Gamma law of the MBN variance noise, the large-m expansions are

    .. math::

        c_2 - c_1^2 = \frac{1}{2rm} + \Big(\frac1r + \frac{15}{8r^2}\Big)\frac1{m^2}
        + O(m^{-3}), \qquad
        s^2 c_2 = \frac{1}{rm} + \Big(\frac1r + \frac{2}{r^2}\Big)\frac{1}{m^2} + O(m^{-3}),

    so :math:`\mathrm{Var}\,\eta \approx \gamma^2 (1 + h^2/2)/(rm)`: a data-dependent
    penalty on :math:`\gamma^2` falling like 1/m ("gamma decay"). For BN (r = 1):
    :math:`1/(2m) + 23/(8m^2)` and :math:`1/m + 3/m^2`. With momentum > 0 the mean-noise
    variance is exact and :math:`c_1, c_2` are those of the moment-matched Gamma law (an
    approximation; the exact EMA law has all negative moments finite, so the ``inf`` the
    approximation gives at tiny m and small momentum is an artefact of it).

    **Numerics.** The Gamma shape k = r(m-1)/2 is huge near momentum 1 (6e16 at m = 8,
    momentum = 1 - 2**-53) or at huge m, and ``c2 - c1**2`` is a tiny difference of O(1)
    numbers there. For eps = 0: :math:`\log c_1` uses a Stirling form whose terms are all
    O(1/k), :math:`c_2 = k/((k-1)\,E\xi_\sigma)`, and
    :math:`c_2 - c_1^2 = -c_2\,\mathrm{expm1}(-D)` with
    :math:`D = \log\Gamma(k) - 2\log\Gamma(k-\frac12) + \log\Gamma(k-1)` summed as a
    trigamma-polygamma series (relative error about 1e-15 against mpmath, any accepted m
    and momentum). For eps > 0 and k > 25 the three come from one standardised quadrature
    of :math:`u - u_0`, :math:`u_0 = (E\xi_\sigma+\epsilon)^{-1/2}` (no cancellation;
    about 1e-13); for k <= 25 from ``scale_moment`` (BN) or the tanh-sinh rule (MBN).
    The cost is bounded (independent of m and momentum).

    Examples
    --------
    >>> from noise_theory import regularizer_strength
    >>> s = regularizer_strength(8)
    >>> round(s.c2, 12), round(s.var_const, 12)
    (1.6, 0.2)
    >>> s.var_h2_series
    (0.5, 2.875)
    >>> regularizer_strength(3).var_h2
    inf
    """
    m, momentum, eps = _scalars_iv(m, momentum, eps)
    return _strength(m, momentum, eps)


@functools.lru_cache(maxsize=256)
def _strength_full(m, momentum, eps):
    """(RegularizerStrength, c1 - 1): see :func:`regularizer_strength` for the methods."""
    law = _noise_law(m, momentum)
    k, mu = law.shape, law.mean
    if eps == 0.0:
        # closed forms of the Gamma law, in forms without cancellation at huge k
        if k <= 0.5:
            c1 = c1m1 = math.inf
        else:
            lc1 = _log_c1_bn_gamma(k, m)
            c1, c1m1 = math.exp(lc1), math.expm1(lc1)
        if k <= 1.0:
            c2 = var_h2 = math.inf
        else:
            c2 = k / ((k - 1.0) * mu)
            # c1^2/c2 = Gamma(k-1/2)^2/(Gamma(k) Gamma(k-1)) = exp(-D)
            var_h2 = -c2 * math.expm1(-_lgamma_second_difference(k))
    elif k <= _K_BIG:
        if momentum == 0.0:

            c1 = float(scale_moment(m, 1, eps=eps))
            c2 = float(scale_moment(m, 2, eps=eps))
        else:
            rule = _outer_rule(law)
            u = (rule.v + eps) ** -0.5
            c1, c2 = float(rule.weights @ u), float(rule.weights @ (u * u))
        var_h2 = max(c2 - c1 * c1, 0.0)   # Var u / c2 >= ~1/(4k) >= 1e-2 here
        c1m1 = c1 - 1.0
    else:
        # standardised rule; u = u0 + d with d computed from log(v/mu) (no cancellation)
        rule = _outer_rule(law)
        lu0 = -0.5 * math.log1p(eps - 1.0 / m)      # u0 = (mu + eps)^(-1/2)
        u0 = math.exp(lu0)
        d = u0 * np.expm1(-0.5 * np.log1p(mu / (mu + eps) * np.expm1(rule.t)))
        ed, ed2 = float(rule.weights @ d), float(rule.weights @ (d * d))
        c1, c1m1 = u0 + ed, math.expm1(lu0) + ed
        c2 = u0 * u0 + 2.0 * u0 * ed + ed2
        var_h2 = max(ed2 - ed * ed, 0.0)
    r = (1.0 + momentum) / (1.0 - momentum)
    st = RegularizerStrength(
        c1=c1, c2=c2, mean_noise_var=law.s2, var_h2=var_h2, var_const=law.s2 * c2,
        var_h2_series=(1 / (2 * r), 1 / r + 15 / (8 * r * r)),
        var_const_series=(1 / r, 1 / r + 2 / (r * r)),
        effective_batch_size=m * r, approximate=law.approximate)
    return st, c1m1


def _strength(m, momentum, eps):
    return _strength_full(m, momentum, eps)[0]


# ---------------------------------------------------------------- regulariser
@dataclass(frozen=True)
class GLMRegularizer:
    r"""Second-order decompositions of the expected GLM loss under BN noise.

    All arrays have the broadcast shape of ``(h, gamma, beta)``.

    Attributes
    ----------
    mean_eta, var_eta : ndarray
        Exact :math:`E\eta` and :math:`\mathrm{Var}\,\eta` (``inf`` where divergent).
    noise_free_eta : ndarray
        :math:`\eta_0 = \gamma h/\sqrt{1+\epsilon} + \beta`: the noise-free output
        (population statistics, i.e. inference mode); :math:`\gamma h + \beta` at eps = 0.
    penalty : ndarray
        :math:`R = A''(E\eta)\,\mathrm{Var}(\eta)/2`; decomposition around the mean:
        :math:`E\ell \approx \ell(E\eta, y) + R`.
    shift : ndarray
        :math:`\delta = E\eta - \eta_0 = \gamma h (c_1 - (1+\epsilon)^{-1/2})`: BN
        inflates the mean output (O(1/m)).
    bias : ndarray
        y-free part of the bias term around :math:`\eta_0`:
        :math:`A'(\eta_0)\delta + A''(\eta_0)\delta^2/2`.
    penalty_noise_free : ndarray
        :math:`R_0 = A''(\eta_0)\,\mathrm{Var}(\eta)/2`; decomposition around
        :math:`\eta_0`: :math:`E\ell \approx \ell(\eta_0, y) + (\mathrm{bias} - y\delta) + R_0`.
    family : GLMFamily
    strength : RegularizerStrength
    """

    mean_eta: np.ndarray
    var_eta: np.ndarray
    noise_free_eta: np.ndarray
    penalty: np.ndarray
    shift: np.ndarray
    bias: np.ndarray
    penalty_noise_free: np.ndarray
    family: GLMFamily
    strength: RegularizerStrength

    def approx_expected_loss(self, y, *, around="mean"):
        r"""Second-order approximation of :math:`E\,\ell(\eta, y)`.

        ``around="mean"``: :math:`\ell(E\eta, y) + R`; ``around="noise_free"``:
        :math:`\ell(\eta_0, y) + \mathrm{bias} - y\delta + R_0`.
        """

        choice(around, "around", ("mean", "noise_free"))
        fam = self.family
        y = _y_iv(y, fam)
        if around == "mean":
            e = self.mean_eta
            fin = np.isfinite(e)
            base = np.where(fin, _pointwise_loss(fam, np.where(fin, e, 0.0), y), np.inf)
            return _out(base + self.penalty)
        e0 = self.noise_free_eta
        with np.errstate(invalid="ignore", over="ignore"):
            tail = self.bias - y * np.where(np.isfinite(self.shift), self.shift, 0.0)
            tail = np.where(np.isfinite(self.shift), tail, np.inf)
            out = _pointwise_loss(fam, e0, y) + tail + self.penalty_noise_free
        return _out(np.where(np.isnan(out), np.inf, out))


def _pointwise_loss(fam, eta, y):
    """A(eta) - y eta, without cancellation for the built-in families (no NaN for finite y).

    logistic: (1-y) softplus(eta) + y softplus(-eta); squared: eta (eta - 2y)/2;
    Poisson: exp(eta) - y eta (exp dominates); user families: A(eta) - y eta.
    """
    eta, y = np.broadcast_arrays(np.asarray(eta, dtype=float), np.asarray(y, dtype=float))
    with np.errstate(over="ignore", invalid="ignore"):
        if fam is LOGISTIC:
            pos = np.where(y < 1.0, (1.0 - y) * np.logaddexp(0.0, eta), 0.0)
            neg = np.where(y > 0.0, y * np.logaddexp(0.0, -eta), 0.0)
            return pos + neg
        if fam is SQUARED:
            return 0.5 * eta * (eta - 2.0 * y)
        if fam is POISSON:
            ex = np.exp(eta)
            lin = np.where(y == 0.0, 0.0, y * eta)
            return np.where(np.isinf(ex), np.inf, ex - lin)
        return np.asarray(fam.A(eta), dtype=float) - y * eta


def _half_a2_times(a2, var):
    """A''/2 * Var with 0 * inf := 0 is *not* used: an infinite variance gives inf."""
    with np.errstate(invalid="ignore"):
        out = 0.5 * a2 * var
    out = np.where(var == 0.0, 0.0, out)
    return np.where(np.isinf(var), np.inf, out)


def glm_regularizer(h, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0):
    r"""Second-order explicit regulariser of BN (or MBN) for a GLM output unit.

    Parameters
    ----------
    h : array_like
        Population-normalised pre-activations :math:`\tilde h` (any shape).
    gamma, beta : array_like
        BN scale and shift; broadcast with `h`.
    m : int
        Batch size, >= 2.
    family : {'logistic', 'squared', 'poisson'} or GLMFamily, optional
        The GLM: ``A = log(1+e^eta)``, ``eta^2/2`` or ``e^eta``, or a user family.
    momentum : float, optional
        MBN weight on history (lambda), ``0 <= momentum < 1``; 0 is plain BN. With
        momentum > 0 the stationary MBN noises are used: the mean noise law is exact, the
        variance noise is the moment-matched Gamma law (**approximate**).
    eps : float, optional
        BN epsilon in population units, >= 0.

    Returns
    -------
    GLMRegularizer
        Frozen dataclass with :math:`E\eta`, :math:`\mathrm{Var}\eta`, the penalty
        :math:`R = A''(E\eta)\mathrm{Var}(\eta)/2` (around the mean) and the bias term and
        :math:`R_0` of the expansion around the noise-free :math:`\gamma h + \beta`.

    Raises
    ------
    TypeError, ValueError
        On bad inputs (non-finite `h`, `gamma`, `beta`; bad `m`, `momentum`, `eps`;
        unknown `family`).

    Notes
    -----
    With :math:`u = (\xi_\sigma+\epsilon)^{-1/2}` independent of :math:`\xi_\mu`,
    :math:`E\eta = \gamma c_1 h + \beta` and
    :math:`\mathrm{Var}\,\eta = \gamma^2[(h^2 + s^2)c_2 - c_1^2 h^2]` exactly
    (:func:`regularizer_strength`). Taylor expansion of :math:`A` to second order around
    :math:`E\eta` gives :math:`E\ell \approx \ell(E\eta,y) + R`; around
    :math:`\eta_0 = \gamma h+\beta` it gives
    :math:`\ell(\eta_0,y) + (A'(\eta_0)-y)\delta + A''(\eta_0)(\delta^2 + \mathrm{Var}\,\eta)/2`
    with :math:`\eta_0 = \gamma h/\sqrt{1+\epsilon} + \beta` (the inference-mode output)
    and :math:`\delta = \gamma h (c_1-(1+\epsilon)^{-1/2})`. Both are exact for the squared loss. For
    eps = 0 the variance is infinite for m <= 3 (BN) and :math:`E\eta` is infinite for
    m = 2 when :math:`\gamma h \ne 0`; the expansion then does not apply and ``R`` is
    reported as ``inf`` (never NaN) for :math:`\gamma \ne 0`.

    Examples
    --------
    >>> from noise_theory import glm_regularizer
    >>> reg = glm_regularizer([0.0, 1.0], gamma=2.0, beta=0.0, m=16)
    >>> reg.penalty.round(4).tolist()
    [0.0385, 0.0226]
    >>> round(float(glm_regularizer(1.0, gamma=2.0, beta=0.0, m=16, family="squared")
    ...             .approx_expected_loss(1.0)), 6)
    0.438804
    """
    h, gamma, beta, m, fam, momentum, eps = _glm_regularizer_iv(
        h, gamma, beta, m, family, momentum, eps)
    st, c1m1 = _strength_full(m, momentum, eps)
    with np.errstate(over="ignore"):
        gh = gamma * h
    inv_sd = 1.0 / math.sqrt(1.0 + eps)   # noise-free (inference) output: gamma h/sqrt(1+eps)
    # c1 - inv_sd = (c1 - 1) + (1 - (1+eps)^(-1/2)), both parts without cancellation
    dc = c1m1 - math.expm1(-0.5 * math.log1p(eps))
    with np.errstate(invalid="ignore", over="ignore"):   # 0 * inf where gamma h = 0, c1 = inf
        shift = np.where(gh == 0.0, 0.0, gh * dc)
    with np.errstate(over="ignore", invalid="ignore"):   # overflow is inf, never NaN
        eta0 = gh * inv_sd + beta
        mean = eta0 + shift
        if math.isinf(st.c2):
            var = np.where(gamma == 0.0, 0.0, np.inf)
        else:
            var = gh * gh * st.var_h2 + gamma * gamma * st.var_const   # (gamma h)^2: no 0*inf
        finite_mean = np.isfinite(mean)
        a2_mean = np.where(finite_mean, fam.A2(np.where(finite_mean, mean, 0.0)), 0.0)
        a2_0 = fam.A2(eta0)
        fin_shift = np.isfinite(shift)
        s0 = np.where(fin_shift, shift, 0.0)
        bias = np.where(fin_shift & (s0 != 0.0),
                        fam.A1(eta0) * s0 + 0.5 * a2_0 * s0 * s0, np.where(fin_shift, 0.0, np.inf))
        bias = np.where(np.isnan(bias), np.inf, bias)
    return GLMRegularizer(
        mean_eta=_out(mean), var_eta=_out(var), noise_free_eta=_out(eta0),
        penalty=_out(_half_a2_times(a2_mean, var)), shift=_out(shift), bias=_out(bias),
        penalty_noise_free=_out(_half_a2_times(a2_0, var)), family=fam, strength=st)


# ---------------------------------------------------------------- quadrature
#: Gauss-Hermite (probabilists') rule for E f(Z), Z ~ N(0, 1).
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(100)
_GH_W = _GH_W / math.sqrt(2.0 * math.pi)
#: Gauss-Laguerre rule and e^x log1p(e^-x) at its nodes (logistic, wide normals).
_LA_X, _LA_W = special.roots_laguerre(80)
_LA_G = np.exp(_LA_X) * np.log1p(np.exp(-_LA_X))
_WIDE = 2.5  # normal std above which the logistic inner integral uses the Laguerre route
#: tanh-sinh step and half-width (in the x variable) for the outer rule.
_TS_STEP, _TS_HALF = 1.0 / 16.0, 6.0


def _expected_softplus(a, b):
    """E log(1 + exp(a + b Z)), Z ~ N(0, 1), b >= 0, to ~1e-11 relative.

    Narrow normals (b <= 2.5): Gauss-Hermite on the analytic softplus. Wide ones:
    softplus = max(x, 0) + log1p(e^-|x|); the first term in closed form, the second by
    Gauss-Laguerre in |x| (the normal density is smooth on the scale of e^-|x|).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    fin = np.isfinite(a) & np.isfinite(b)
    if not np.all(fin):   # a = +inf or b = inf: inf; a = -inf with b finite: 0
        out = np.where((a == np.inf) | (b == np.inf), np.inf, 0.0)
        out[fin] = _expected_softplus(a[fin], b[fin])
        return out
    out = np.empty(a.shape)
    narrow = b <= _WIDE
    an, bn = a[narrow][..., None], b[narrow][..., None]
    with np.errstate(over="ignore"):
        out[narrow] = np.logaddexp(0.0, an + bn * _GH_X) @ _GH_W
    aw, bw = a[~narrow], b[~narrow]
    with np.errstate(over="ignore", under="ignore"):
        z = aw / bw
        pos = aw * special.ndtr(z) + bw * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        aw, bw = aw[..., None], bw[..., None]
        dens = (np.exp(-0.5 * ((_LA_X - aw) / bw) ** 2)
                + np.exp(-0.5 * ((_LA_X + aw) / bw) ** 2))
        dens /= bw * math.sqrt(2.0 * math.pi)
        out[~narrow] = pos + (dens * _LA_G) @ _LA_W
    return out


def _normal_expected_loss(fam, a, b, y):
    """E[A(eta) - y eta] for eta ~ N(a, b^2) (b >= 0), without cancellation or NaN.

    Squared: ((a - y)^2 + b^2)/2 - y^2/2 written as (a (a - 2y) + b^2)/2; logistic:
    (1-y) E softplus(eta) + y E softplus(-eta) (both >= 0); user families: 100-point
    Gauss-Hermite of A(eta) - y eta. (Poisson is handled in log space by the caller.)
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if fam is SQUARED:
            return 0.5 * (a * (a - 2.0 * y) + b * b)
        if fam is LOGISTIC:
            out = np.zeros(np.broadcast_shapes(a.shape, b.shape, y.shape))
            yb = np.broadcast_to(y, out.shape)
            ab, bb = np.broadcast_to(a, out.shape), np.broadcast_to(b, out.shape)
            lo, hi = yb < 1.0, yb > 0.0
            out[lo] += (1.0 - yb[lo]) * _expected_softplus(ab[lo], bb[lo])
            out[hi] += yb[hi] * _expected_softplus(-ab[hi], bb[hi])
            return out
        eta = a[..., None] + b[..., None] * _GH_X
        loss = np.asarray(fam.A(eta), dtype=float) - y[..., None] * eta
        return loss @ _GH_W


@dataclass(frozen=True)
class _OuterRule:
    """Nodes v (xi_sigma values), t = log(v/mean) and weights w: sum w g(v) ~= E g(xi_sigma)."""

    v: np.ndarray
    t: np.ndarray
    weights: np.ndarray
    log_weights: np.ndarray


def _tanh_sinh(lo, hi):
    """tanh-sinh nodes on [lo, hi], returned as (distance from lo, weight)."""
    x = np.arange(-_TS_HALF, _TS_HALF + _TS_STEP / 2, _TS_STEP)
    s = 0.5 * math.pi * np.sinh(x)
    left = special.expit(2.0 * s)     # (1 + tanh s)/2, accurate near 0
    right = special.expit(-2.0 * s)
    w = (hi - lo) * _TS_STEP * math.pi * np.cosh(x) * left * right
    return (hi - lo) * left, w


#: trapezoid rule of the standardised variable z (shape > _K_BIG): step, half-width.
_Z_STEP, _Z_HALF = 1.0 / 8.0, 14.0


@functools.lru_cache(maxsize=64)
def _outer_rule(law, t_min=1e-150):
    """Quadrature for E g(xi_sigma), xi_sigma ~ Gamma(shape k, scale theta).

    k <= 25: tanh-sinh in t = sqrt(xi_sigma). In t the density is
    ``2 t^(2k-1) exp(-t^2/scale) / (Gamma(k) scale^k)``; an integrand growing like
    ``v^(-p/2)`` near 0 becomes ``t^(2k-1-p)`` times a smooth function, which tanh-sinh
    integrates with double-exponential convergence. [0, inf) is split at the 1% and 99%
    quantiles and the 1 - 1e-30 quantile. Nodes below `t_min` are dropped so that
    ``u^p = t^-p`` stays finite (their share of a finite expectation is
    ~ t_min^(2k - p): negligible unless the expectation is barely finite).

    k > 25: trapezoid rule in the standardised log variable z = sqrt(k) log(v/mean),
    step 1/8 on [-14, 14], with the density of tau = log(v/mean),
    ``exp(k log k - k - lgamma(k) + k (tau - expm1 tau))``, evaluated without
    cancellation (Stirling form of the constant, series for tau - expm1 tau); the left
    tail below z = -14 (rare tiny variances, which dominate e.g. Poisson with small eps)
    by tanh-sinh in sqrt(v) with the same density. The integrand is entire in z within
    |Im z| < pi sqrt(k), so the bulk rule converges exponentially; nothing grows with k
    (huge k near momentum 1 or m ~ 1e18 costs at most 418 nodes, the tail's weights
    underflow and are dropped).
    """
    k, th = law.shape, law.scale
    mean = k * th
    if k > _K_BIG:

        # log density of tau = log(v/mean): k log k - k - lgamma(k) + k (tau - expm1 tau)
        lgm = float(_log_gamma_mode_density(k))
        rk = math.sqrt(k)
        z = np.arange(-_Z_HALF, _Z_HALF + _Z_STEP / 2, _Z_STEP)
        tau_b = z / rk
        logw_b = math.log(_Z_STEP / rk) + lgm - k * _expm1mx(tau_b)
        # left tail v < mean e^(-14/sqrt k) (rare small variances; matters for fast-growing
        # integrands such as Poisson): tanh-sinh in sqrt(v), same stable density
        s_lo = math.sqrt(mean) * math.exp(-0.5 * _Z_HALF / rk)
        d, w = _tanh_sinh(0.0, s_lo)
        keep = (d > t_min) & (w > 0) & (d < s_lo)
        d, w = d[keep], w[keep]
        tau_t = 2.0 * np.log(d / math.sqrt(mean))
        logw_t = np.log(2.0 * w / d) + lgm - k * _expm1mx(tau_t)
        tau, logw = np.concatenate([tau_t, tau_b]), np.concatenate([logw_t, logw_b])
        logw -= special.logsumexp(logw)   # sum w = 1 exactly (removes the O(eps log k) bias)
        w = np.exp(logw)
        keep = w > 0
        tau, w, logw = tau[keep], w[keep], logw[keep]
        return _OuterRule(v=mean * np.exp(tau), t=tau, weights=w, log_weights=logw)
    g = stats.gamma(k, scale=th)
    q = np.sqrt([0.0, g.ppf(0.01), g.ppf(0.99), g.isf(1e-30)])
    ts, ws = [], []
    for lo, hi in zip(q[:-1], q[1:]):
        d, w = _tanh_sinh(lo, hi)
        ts.append(lo + d)
        ws.append(w)
    t, w = np.concatenate(ts), np.concatenate(ws)
    keep = (t > t_min) & (w > 0)
    t, w = t[keep], w[keep]
    logw = (np.log(w) + math.log(2.0) + (2 * k - 1) * np.log(t) - t * t / th
            - special.gammaln(k) - k * math.log(th))
    w = np.exp(logw)
    keep = w > 0
    t, w, logw = t[keep], w[keep], logw[keep]
    return _OuterRule(v=t * t, t=2.0 * np.log(t) - math.log(mean), weights=w,
                      log_weights=logw)


def _divergent(fam, law, gamma, eps):
    """True where E loss = inf: eps == 0, gamma != 0 and E u^p = inf (p = growth)."""
    if eps > 0.0:
        return np.zeros(gamma.shape, dtype=bool)
    return (gamma != 0.0) & (law.shape <= fam.growth / 2.0)


def _divergence_reason(fam, law, eps):
    """Why E loss = inf for gamma != 0 (empty string when it is finite)."""
    if eps > 0.0 or law.shape > fam.growth / 2.0:
        return ""
    if math.isinf(fam.growth):
        return (f"{fam.name}: E exp(eta) includes E exp(c/xi_sigma) = inf for every m "
                "when eps = 0")
    p = fam.growth
    return (f"{fam.name} loss grows like |eta|^{p:g} and E[xi_sigma^(-{p:g}/2)] = inf "
            f"(Gamma shape {law.shape:g} <= {p / 2:g}; eps = 0)")


def glm_divergence_reason(m, *, family="logistic", momentum=0.0, eps=0.0):
    r"""Why the expected GLM loss is infinite at batch size `m`, or None when it is finite.

    Parameters
    ----------
    m : int
        Batch size, >= 2.
    family : {'logistic', 'squared', 'poisson'} or GLMFamily, optional
    momentum : float, optional
        MBN weight on history, ``0 <= momentum < 1``.
    eps : float, optional
        BN epsilon in population units, >= 0.

    Returns
    -------
    str or None
        None when :func:`expected_glm_loss` is finite for every ``gamma != 0``; else the
        reason (``gamma = 0`` is always finite: eta = beta carries no noise).

    Raises
    ------
    TypeError, ValueError
        On a bad `m`, `family`, `momentum` or `eps`.

    Notes
    -----
    With eps = 0 a loss growing like :math:`|\eta|^p` has a finite mean iff the Gamma
    shape k of :math:`\xi_\sigma` exceeds p/2 (see :func:`expected_glm_loss`); Poisson
    (exponential growth) is infinite for every m; any eps > 0 makes it finite.

    Examples
    --------
    >>> from noise_theory import glm_divergence_reason
    >>> glm_divergence_reason(8) is None
    True
    >>> glm_divergence_reason(3, family="squared")
    'squared loss grows like |eta|^2 and E[xi_sigma^(-2/2)] = inf (Gamma shape 1 <= 1; eps = 0)'
    """
    m, momentum, eps = _scalars_iv(m, momentum, eps)
    reason = _divergence_reason(glm_family(family), _noise_law(m, momentum), eps)
    return reason or None


def expected_glm_loss(h, y, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0):
    r"""Exact expectation of the GLM loss over the BN (or MBN) noise, by quadrature.

    Parameters
    ----------
    h : array_like
        Population-normalised pre-activations.
    y : array_like
        Targets (logistic: in [0, 1]; Poisson: >= 0); broadcast with `h`.
    gamma, beta : array_like
        BN scale and shift.
    m : int
        Batch size, >= 2.
    family : {'logistic', 'squared', 'poisson'} or GLMFamily, optional
    momentum : float, optional
        MBN weight on history (lambda), ``0 <= momentum < 1``. With momentum > 0 the
        variance noise is the moment-matched Gamma law (an approximation).
    eps : float, optional
        BN epsilon in population units, >= 0.

    Returns
    -------
    float or ndarray
        :math:`E[A(\eta) - y\eta]`, broadcast over ``(h, y, gamma, beta)``; ``inf`` where
        the expectation diverges (overflow beyond 1.8e308 is also ``inf``).

    Raises
    ------
    TypeError, ValueError
        On bad inputs.

    Notes
    -----
    Given :math:`\xi_\sigma = v`, :math:`\eta` is normal with mean
    :math:`\beta + \gamma h u` and standard deviation :math:`|\gamma| s u`,
    :math:`u = (v+\epsilon)^{-1/2}`. The inner expectation is closed-form for the squared
    (:math:`(a^2+b^2)/2`) and Poisson (:math:`e^{a+b^2/2}`) families; for the logistic
    family it is Gauss-Hermite (narrow normals) or a closed-form positive part plus
    Gauss-Laguerre (wide ones); user families use 100-point Gauss-Hermite (accurate for
    smooth A of moderate growth). The outer expectation over :math:`\xi_\sigma` uses
    tanh-sinh rules in :math:`t = \sqrt{\xi_\sigma}` for Gamma shape k <= 25 and, above
    (large m or momentum near 1), a trapezoid rule in the standardised variable
    :math:`\sqrt{k}\log(\xi_\sigma/E\xi_\sigma)` whose nodes shrink with the spread of
    the noise (see ``_outer_rule``): the cost is the same for every m and momentum, and
    as m grows the result tends monotonically to the noise-free loss. The integrand is
    evaluated as (1-y) softplus(eta) + y softplus(-eta) (logistic) or
    eta (eta - 2y)/2 (squared), so nothing cancels at huge |h|. Relative accuracy is
    about 1e-10 against mpmath references (m from 2 to 1e18, momentum up to 1 - 1e-12);
    it degrades when the kink of the logistic loss sits inside a very narrow noise
    spread (|beta + gamma h| << |gamma h| / sqrt(k)). Overflow (beyond 1.8e308) is
    ``inf``, never NaN.

    **When it is infinite** (eps = 0, :math:`\gamma \ne 0`): :math:`\eta` has the heavy
    tail of :math:`u = \xi_\sigma^{-1/2}` in both directions, and a loss growing like
    :math:`|\eta|^p` has finite mean iff :math:`E u^p < \infty`, i.e. iff the Gamma shape
    k of :math:`\xi_\sigma` exceeds p/2. BN (k = (m-1)/2): logistic (p = 1) needs m > 2,
    squared (p = 2) needs m > 3; Poisson (:math:`E e^\eta = E e^{a + b^2/2}` with
    :math:`b^2 \propto 1/\xi_\sigma`) diverges for every m. Any eps > 0 bounds u by
    :math:`\epsilon^{-1/2}` and makes every case finite; :math:`\gamma = 0` is finite.

    Examples
    --------
    >>> from noise_theory import expected_glm_loss
    >>> round(float(expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=16)), 8)
    0.12856061
    >>> float(expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=2))   # E|eta| = inf
    inf
    >>> float(expected_glm_loss(1.0, 1.0, gamma=1.0, beta=0.0, m=8, family="poisson"))
    inf
    """
    h, y, gamma, beta, m, fam, momentum, eps = validate_glm_inputs(
        h, y, gamma=gamma, beta=beta, m=m, family=family, momentum=momentum, eps=eps)
    law = _noise_law(m, momentum)
    bad = _divergent(fam, law, gamma, eps)
    # drop nodes where u^growth would overflow (Poisson works in log space: no limit)
    p = fam.growth
    rule = _outer_rule(law, 1e-150 if (p <= 2 or math.isinf(p)) else 10.0 ** (-300.0 / p))
    u = (rule.v + eps) ** -0.5
    s = math.sqrt(law.s2)
    with np.errstate(over="ignore", invalid="ignore"):   # overflow -> inf, never NaN
        gh = np.where(bad, 0.0, gamma * h)[..., None]
        a = beta[..., None] + gh * u
        b = np.abs(np.where(bad, 0.0, gamma))[..., None] * s * u
        if fam is POISSON:
            # E exp(eta) - y E eta; exp dominates any linear term when it overflows
            log_inner = a + 0.5 * b * b
            log_inner = np.where(np.isnan(log_inner), np.inf, log_inner)   # -inf + inf: overflow
            e_exp = np.exp(special.logsumexp(log_inner + rule.log_weights, axis=-1))
            e_lin = np.where(y == 0.0, 0.0, y * (a @ rule.weights))
            out = np.where(np.isinf(e_exp), np.inf, e_exp - e_lin)
        else:
            out = _normal_expected_loss(fam, a, b, y[..., None]) @ rule.weights
    return _out(np.where(bad, np.inf, out))
