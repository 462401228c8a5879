"""Batch statistics of non-Gaussian input by symbolic moment algebra (symbolic m).

Expectations of products of power sums ``S_a = sum_i x_i^a`` of m iid variables are
sums over set partitions of the factors: indices tied together in one block contribute
one moment ``E x^(sum of their powers)``, and a partition with ``b`` blocks is realised by
``m (m-1) ... (m-b+1)`` index tuples. No expansion over m concrete random symbols.
"""

from __future__ import annotations

import sympy as sp
from sympy.utilities.iterables import multiset_partitions

from . import _symbols as S
from ._core import Derivation, Step, eq, get_derivation, register

__all__ = ["expect_power_sums"]


def _falling(m, b):
    return sp.Mul(*(m - i for i in range(b)))


def _expect_product(powers, m, moment):
    """E[prod_j S_{powers[j]}] for iid x_i; ``moment(r)`` is E x^r."""
    total = sp.S.Zero
    for partition in multiset_partitions(list(range(len(powers)))):
        term = _falling(m, len(partition))
        for block in partition:
            term *= moment(sum(powers[i] for i in block))
        total += term
    return total


def expect_power_sums(expr, sums, m, moment):
    """Expectation of a polynomial in power sums of m iid variables.

    Parameters
    ----------
    expr : sympy expression
        Polynomial in the symbols of `sums` (coefficients may depend on `m`).
    sums : dict
        ``{a: S_a}``: power -> sympy symbol standing for ``sum_i x_i^a``.
    m : sympy expression
        Number of variables (symbolic).
    moment : callable
        ``moment(r)`` -> sympy expression for ``E x^r`` (r >= 1).
    """
    powers = list(sums)
    poly = sp.Poly(sp.expand(expr), *(sums[a] for a in powers))
    total = sp.S.Zero
    for monom, coeff in poly.terms():
        factors = tuple(a for a, e in zip(powers, monom) for _ in range(e))
        total += coeff * _expect_product(factors, m, moment)
    return sp.factor(sp.simplify(total))


@register("nongaussian_statistics",
          "Variances and covariance of the batch statistics for non-Gaussian input")
def _nongaussian_statistics():
    m, ddof, sigma, mu3, mu4 = S.m, S.ddof, S.sigma, S.mu3, S.mu4
    E = sp.Function("E")
    S1, S2 = sp.symbols("S_1 S_2")
    sums = {1: S1, 2: S2}
    central = {1: sp.S.Zero, 2: sigma**2, 3: mu3, 4: mu4}

    def moment(r):
        return central[r]

    steps = [Step(sp.Tuple(*(eq(E(sp.Symbol("x")**r), central[r]) for r in central)),
                  "mu_B - mu and sigma_B^2 do not change when a constant is added to every x_i: "
                  "take mu = 0, so E x^r are the central moments.")]
    mu_b = S1 / m
    s2 = (S2 - S1**2 / m) / (m - 1)
    steps.append(Step(sp.Tuple(eq(sp.Symbol("mu_B"), mu_b), eq(sp.Symbol("s2"), s2)),
                      "Power sums S_a = sum_i x_i^a; s^2 is the unbiased variance."))
    example = _expect_product((1, 1, 2), m, moment)
    steps.append(Step(eq(E(S1**2 * S2), sp.factor(example)),
                      "Rule: E[S_a S_b ...] = sum over set partitions of the factors of "
                      "m(m-1)...(m-#blocks+1) prod_blocks E x^(sum of powers); e.g. S_1^2 S_2."))

    var_mu = expect_power_sums(mu_b**2, sums, m, moment)
    steps.append(Step(eq(sp.Symbol("Var mu_B"), var_mu), "E mu_B = 0, so Var mu_B = E[S_1^2]/m^2."))
    mean_s2 = expect_power_sums(s2, sums, m, moment)
    steps.append(Step(eq(E(sp.Symbol("s2")), mean_s2), "s^2 is unbiased."))
    es4 = expect_power_sums(s2**2, sums, m, moment)
    var_s2 = sp.simplify(es4 - mean_s2**2)
    steps.append(Step(eq(sp.Symbol("Var s2"), var_s2), "E[s^4] - (E s^2)^2."))
    cov = expect_power_sums(mu_b * s2, sums, m, moment)
    steps.append(Step(eq(sp.Symbol("Cov(mu_B, s2)"), cov),
                      "E[mu_B s^2] (E mu_B = 0): skewness couples the two noises."))
    kurt = sp.factor(sp.simplify(sp.expand(var_s2).coeff(mu4))) * mu4
    steps.append(Step(eq(sp.Symbol("Var s2"), sp.Add(kurt, sp.factor(sp.simplify(var_s2 - kurt)),
                                                    evaluate=False)),
                      "Same, split into the kurtosis term and the rest."))

    a = (m - 1) / (m - ddof)
    mean_v = sp.simplify(a * mean_s2)
    var_v = sp.factor(sp.simplify(a**2 * var_s2))
    cov_v = sp.factor(sp.simplify(a * cov))
    steps.append(Step(sp.Tuple(mean_v, var_v, cov_v),
                      "The batch variance with ddof, sum (x_i - mu_B)^2/(m - ddof) = "
                      "(m-1)/(m - ddof) s^2: mean, variance, covariance with mu_B "
                      "(ddof = 0: BN's biased sigma_B^2)."))

    g1, g2 = S.skewness, S.excess_kurtosis
    std = {sigma: 1, mu3: g1, mu4: g2 + 3}
    results = {
        "variance_of_variance": sp.factor(var_v.subs(std)),
        "covariance": sp.factor(cov_v.subs(std)),
        "variance_of_mean": var_mu.subs(std),
        "mean_of_variance": mean_v.subs(std),
        "variance_of_unbiased_variance": sp.factor(var_s2.subs(std)),
    }
    steps.append(Step(sp.Tuple(*(eq(sp.Symbol(k), v) for k, v in results.items())),
                      "Population units (sigma = 1): mu_3 = skewness g_1, mu_4 = g_2 + 3."))

    gauss = sp.simplify(results["variance_of_variance"].subs({g1: 0, g2: 0})
                        - get_derivation("variance_noise")["variance"])
    steps.append(Step(eq(sp.Symbol("Var xi_sigma(g1=g2=0) - Var xi_sigma(variance_noise)"), gauss),
                      "Gaussian input (g_1 = g_2 = 0) recovers the chi-square result of "
                      "variance_noise."))
    if gauss != 0:  # pragma: no cover
        raise RuntimeError("nongaussian_statistics: Gaussian limit disagrees with variance_noise")
    return Derivation(
        summary="Symbolic moment algebra over power sums with symbolic m: "
                "Var(s^2) = mu_4/m - (m-3) sigma^4/(m(m-1)), Cov(mu_B, s^2) = mu_3/m; the "
                "variance noise depends on the kurtosis and skewness couples the two noises.",
        steps=tuple(steps),
        results=tuple(results.items()),
        assumptions=("x_1..x_m iid with finite fourth moment (any law)",
                     "batch variance sum (x_i - mu_B)^2/(m - ddof)"),
        conditions=sp.Ge(m, 2) & sp.Lt(ddof, m),
    )
