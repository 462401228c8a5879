"""The eps-corrected second moment of the in-batch BN output at m = 2, in closed form."""

from __future__ import annotations

import sympy as sp

from . import _symbols as S
from ._core import Derivation, Step, eq, get_derivation, register

__all__ = []


@register("eps_second_moment", "The eps-corrected E z^2 of the in-batch output at m = 2")
def _eps_second_moment():
    m, eps = S.m, S.eps
    c = sp.Symbol("c", positive=True)
    Q = sp.Symbol("Q", positive=True)
    xp = sp.Symbol("x", positive=True)
    E = sp.Function("E")
    z = sp.Symbol("z")
    steps = []

    steps.append(Step(eq(sp.Sum(sp.Symbol("z_i")**2, (sp.Symbol("i"), 1, m)), m * Q / (Q + c)),
                      "z_i = (x_i - mu_B)/sqrt(sigma_B^2 + eps): sum z_i^2 = "
                      "m sigma_B^2/(sigma_B^2 + eps) = m Q/(Q + c) with "
                      "Q = m sigma_B^2/sigma^2 and c = m eps/sigma^2."))
    steps.append(Step(eq(E(z**2), 1 - c * E(1 / (Q + c))),
                      "The z_i are exchangeable, so E z^2 = E[Q/(Q + c)] = 1 - c E[1/(Q + c)]."))

    vn = get_derivation("variance_noise")
    pdf_xi = vn["pdf"].subs({S.m: 2, S.ddof: 0}).args[0][0].subs(S.x, xp)
    steps.append(Step(eq(sp.Function("f_{xi_sigma}")(xp), pdf_xi),
                      "m = 2: xi_sigma = Q/2 ~ Gamma(1/2, scale 1) (variance_noise)."))
    integral = sp.Integral(pdf_xi / (2 * xp + c), (xp, 0, sp.oo))
    value = sp.simplify(integral.doit())
    steps.append(Step(eq(E(1 / (Q + c)), integral), "Integrate 1/(2 xi + c) against that density."))
    steps.append(Step(eq(E(1 / (Q + c)), value), "Evaluated."))
    second = sp.simplify(1 - c * value)
    steps.append(Step(eq(E(z**2), second), "So E z^2 in terms of c = 2 eps/sigma^2."))
    in_eps = second.subs(c, 2 * eps)
    steps.append(Step(eq(E(z**2), in_eps), "Population units sigma = 1: c = 2 eps."))
    series = sp.series(in_eps, eps, 0, 2)
    steps.append(Step(eq(E(z**2), series),
                      "Small eps: eps removes about sqrt(pi eps) of the output variance "
                      "(0.56% at eps = 1e-5)."))
    removed = sp.simplify(1 - in_eps)
    return Derivation(
        summary="sum z_i^2 = m Q/(Q + c) gives E z^2 = 1 - c E[1/(Q + c)]; at m = 2 the "
                "integral against the chi-square(1) density is closed form: "
                "E z^2 = 1 - sqrt(pi c/2) e^(c/2) erfc(sqrt(c/2)), c = 2 eps.",
        steps=tuple(steps),
        results=(("second_moment", in_eps), ("removed_fraction", removed),
                 ("second_moment_c", second), ("small_eps", series.removeO())),
        assumptions=("x_1, x_2 iid N(mu, sigma^2); eps in population units (eps/sigma^2)",
                     "BN's biased variance (ddof = 0)"),
        conditions=sp.Gt(eps, 0),
    )
