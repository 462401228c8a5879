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

import numpy as np

from ._bn import scale_moment
from ._families import LOGISTIC, POISSON, SQUARED, GLMFamily
from ._glm_loss import _divergence_reason, _outer_rule, expected_glm_loss, glm_divergence_reason  # noqa: F401
from ._noise_law import (
    _K_BIG,
    GLMInputs,
    NoiseLaw,
    _glm_regularizer_iv,
    _lgamma_second_difference,
    _log_c1_bn_gamma,
    _noise_law,
    _out,
    _scalars_iv,
    _y_iv,
    noise_law,
    validate_glm_inputs,
)
from ._validation import choice

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


