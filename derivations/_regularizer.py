"""The second-order explicit regulariser of BN (and MBN) for a GLM output unit.

Model (independent-noise model, population units): ``h_hat = (h - xi_mu)/sqrt(xi_sigma)``,
``eta = gamma h_hat + beta``, ``loss = A(eta) - y eta`` with a symbolic log-partition A.
The noise laws come from the ``mbn_noise`` derivation: xi_mu ~ N(0, 1/(r m)) and xi_sigma
~ Gamma(r (m-1)/2, 2/(r m)) with r = (1 + lambda)/(1 - lambda) (exact for BN, lambda = 0;
moment matched for MBN).
"""

from __future__ import annotations

import sympy as sp

from . import _symbols as S
from ._bn import gamma_power_moment, gamma_simplify
from ._bridge import log_expand
from ._core import Derivation, Step, eq, get_derivation, register

__all__ = []

#: log-partition functions A(eta) of the supported families.
FAMILIES = {
    "squared": lambda e: e**2 / 2,
    "logistic": lambda e: sp.log(1 + sp.exp(e)),
    "poisson": lambda e: sp.exp(e),
}


_u = sp.Symbol("u", positive=True)   # u = 1/m


def _tidy(expr):
    """Factor the arguments of gamma functions (display only; same value)."""
    return expr.replace(sp.gamma, lambda a: sp.gamma(sp.factor(a)))


def _in_u(expr, m, order, *, log=False):
    """Series of `expr` at m -> oo in u = 1/m, up to u^order (exclusive of the O term).

    With ``log=True`` the series of ``log(expr)`` is taken first (gamma ratios: the
    Stirling series of loggamma) and exponentiated.
    """
    if log:
        lg = log_expand(expr)
        ser = sp.series(lg.subs(m, 1 / _u), _u, 0, order + 1).removeO()
        ser = sp.expand(sp.expand_log(ser, force=True))
        return sp.expand(sp.series(sp.exp(ser), _u, 0, order + 1).removeO())
    return sp.expand(sp.series(expr.subs(m, 1 / _u), _u, 0, order + 1).removeO())


def _coefficients(series_u, order):
    """(a_1, ..., a_order) of a series in u whose constant term vanishes."""
    series_u = sp.expand(sp.series(series_u, _u, 0, order + 1).removeO())
    const = sp.simplify(series_u.coeff(_u, 0))
    if const != 0:  # pragma: no cover
        raise RuntimeError(f"expected a vanishing limit, got {const}")
    return tuple(sp.factor(sp.simplify(series_u.coeff(_u, i))) for i in range(1, order + 1))


@register("glm_regularizer", "The explicit second-order regulariser of BN/MBN for a GLM")
def _glm_regularizer():
    m, lam, h, g, b, y, t = S.m, S.momentum, S.h, S.gamma, S.beta, S.y, S.t
    A = sp.Function("A")
    e, d = sp.symbols("eta delta", real=True)
    E, Var = sp.Function("E"), sp.Function("Var")
    r = sp.Symbol("r", positive=True)
    xi_mu, xi_s = sp.symbols("xi_mu xi_sigma")
    steps = []

    mb = get_derivation("mbn_noise")
    r_of_lam = (1 + lam) / (1 - lam)
    to_r = {lam: (r - 1) / (r + 1)}
    s2 = sp.simplify(mb["mean_noise_variance"].subs(to_r))
    k = sp.simplify(mb["gamma_shape"].subs(to_r))
    theta = sp.simplify(mb["gamma_scale"].subs(to_r))
    steps.append(Step(sp.Tuple(eq(Var(xi_mu), s2), eq(sp.Symbol("k"), k),
                               eq(sp.Symbol("theta"), theta)),
                      "Noise laws from mbn_noise with r = (1+lambda)/(1-lambda): xi_mu normal, "
                      "xi_sigma ~ Gamma(k, theta) (exact at r = 1, i.e. plain BN)."))

    eta = g * (h - xi_mu) / sp.sqrt(xi_s) + b
    steps.append(Step(eq(e, eta), "GLM output on the BN'd pre-activation; loss A(eta) - y eta."))
    p = sp.Symbol("p", real=True)
    kk, tt = sp.symbols("k theta", positive=True)
    _, c_p, cond_p = gamma_power_moment(kk, tt, p)
    law = {kk: k, tt: theta}
    c1 = _tidy(sp.powsimp(c_p.subs(p, 1).subs(law), force=True))
    c2 = gamma_simplify(c_p.subs(p, 2).subs(law))
    cond1 = sp.simplify(cond_p.subs(p, 1).subs(law))
    cond2 = sp.simplify(cond_p.subs(p, 2).subs(law))
    steps.append(Step(sp.Tuple(eq(sp.Symbol("c_1"), c1), eq(sp.Symbol("c_2"), c2)),
                      f"c_p = E xi_sigma^(-p/2) by integration against the Gamma density "
                      f"(c_1 finite iff {cond1}, c_2 iff {cond2})."))
    mgf = sp.exp(s2 * t**2 / 2)
    raw1, raw2 = (sp.diff(mgf, t, i).subs(t, 0) for i in (1, 2))
    mean_eta = g * (h - raw1) * c1 + b
    second_h = sp.expand(h**2 - 2 * h * raw1 + raw2)
    var_raw = sp.expand(g**2 * (second_h * c2 - (h - raw1)**2 * c1**2))
    var_h2 = sp.expand(var_raw / g**2).coeff(h, 2)
    var_const = sp.expand(var_raw / g**2).coeff(h, 0)
    var_eta = g**2 * (h**2 * (c2 - c1**2) + var_const)
    if sp.simplify(sp.expand(var_eta - var_raw)) != 0 or sp.simplify(var_h2 - (c2 - c1**2)) != 0:
        raise RuntimeError("glm_regularizer: Var eta decomposition failed")  # pragma: no cover
    var_h2 = c2 - c1**2
    steps.append(Step(sp.Tuple(eq(E(e), mean_eta), eq(Var(e), var_eta)),
                      "Independence of xi_mu and xi_sigma: E eta = gamma c_1 h + beta, "
                      "Var eta = gamma^2 [(h^2 + Var xi_mu) c_2 - c_1^2 h^2] (exact). Where "
                      "c_1 = inf, E eta = sign(gamma h) inf (beta at gamma h = 0, the "
                      "symmetric principal value); where c_2 = inf, Var eta = inf."))

    taylor = A(e + d).series(d, 0, 3).removeO().doit()
    steps.append(Step(eq(A(e + d), taylor + sp.Order(d**3)),
                      "Second-order Taylor expansion of A around eta = E eta "
                      "(delta = eta - E eta)."))
    expected = sp.expand(taylor).subs(d**2, sp.Symbol("V")).subs(d, 0)
    steps.append(Step(eq(E(A(e + d)), expected),
                      "Take expectations: E delta = 0, E delta^2 = V = Var eta."))
    a2 = sp.Derivative(A(e), (e, 2))
    V = sp.Symbol("V")
    # the penalty is read off the expansion: what E A(eta) adds to A(E eta), per unit V
    r_generic = sp.expand(expected - A(e))
    if sp.simplify(r_generic - a2 * V / 2) != 0:  # pragma: no cover
        raise RuntimeError("glm_regularizer: penalty")
    steps.append(Step(eq(sp.Symbol("R"), r_generic.subs(V, sp.Symbol("Var eta"))),
                      "So E loss ~= A(E eta) - y E eta + R: loss at the mean output plus the "
                      "penalty R (the -y eta term is linear and averages exactly)."))

    eta0 = g * h + b
    shift = g * h * (c1 - 1)
    if sp.simplify(mean_eta - eta0 - shift) != 0:  # pragma: no cover
        raise RuntimeError("glm_regularizer: shift")
    steps.append(Step(eq(sp.Symbol("delta_0"), shift),
                      "Around the noise-free output eta_0 = gamma h + beta the mean is shifted by "
                      "delta_0 = gamma h (c_1 - 1): BN inflates the mean output."))
    var_sym = sp.Symbol("Var eta")
    # the same Taylor polynomial, now around eta_0: E delta = delta_0, E delta^2 = Var + delta_0^2
    around0_a = sp.expand(taylor).subs(d**2, var_sym + shift**2).subs(d, shift).subs(e, eta0)
    around0 = around0_a - y * (eta0 + shift)
    # the y-free bias: everything but A(eta_0) and the penalty A''(eta_0) Var / 2
    bias_generic = sp.expand(around0_a - A(eta0) - r_generic.subs(V, var_sym).subs(e, eta0))
    steps.append(Step(eq(E(sp.Symbol("loss")), around0),
                      "Expansion around eta_0: E(eta - eta_0) = delta_0, "
                      "E(eta - eta_0)^2 = Var eta + delta_0^2."))

    c1_u = _in_u(c1, m, 2, log=True)
    c2_u = _in_u(c2, m, 2)
    steps.append(Step(sp.Tuple(eq(sp.Symbol("c_1"), (c1_u + sp.Order(_u**3)).subs(_u, 1 / m)),
                               eq(sp.Symbol("c_2"), (c2_u + sp.Order(_u**3)).subs(_u, 1 / m))),
                      "Large m: log c_1 from the Stirling series of loggamma, exponentiated; "
                      "c_2 is rational."))
    h2_series = _coefficients(c2_u - c1_u**2, 2)
    const_series = _coefficients(_in_u(s2, m, 2) * c2_u, 2)
    lead = sp.factor((h**2 * h2_series[0] + const_series[0]) / m)
    steps.append(Step(sp.Tuple(eq(sp.Symbol("Var eta/gamma2 [h2]"),
                                  sum(a / m**(i + 1) for i, a in enumerate(h2_series))
                                  + sp.Order(m**-3, (m, sp.oo))),
                               eq(sp.Symbol("Var eta/gamma2 [1]"),
                                  sum(a / m**(i + 1) for i, a in enumerate(const_series))
                                  + sp.Order(m**-3, (m, sp.oo)))),
                      "Large-m expansion of the two coefficients of Var eta/gamma^2: "
                      "c_2 - c_1^2 and Var(xi_mu) c_2."))
    steps.append(Step(eq(Var(e), g**2 * lead + sp.Order(m**-2, (m, sp.oo))),
                      "Leading order: gamma^2 (1 + h^2/2)/(r m), a data-dependent penalty on "
                      "gamma^2 falling like 1/m."))

    results = {}
    back = {r: r_of_lam}

    def in_lambda(expr):
        return _tidy(expr.subs(back))

    fin2 = sp.simplify(cond2.subs(back))
    fin1 = sp.simplify(cond1.subs(back))
    results["var_eta"] = sp.Piecewise((in_lambda(var_eta), fin2), (sp.oo, True))
    # c_1 = inf (E xi_sigma^(-1/2) diverges): E eta = +-inf with the sign of gamma h; at
    # gamma h = 0 eta - beta = -gamma xi_mu/sqrt(xi_sigma) is symmetric, its mean taken as 0
    # (the principal value; noise_theory's convention), so E eta = beta and delta_0 = 0.
    gh = g * h
    div_sign = (sp.sign(gh) * sp.oo, sp.Ne(gh, 0))
    results["mean_eta"] = sp.Piecewise((in_lambda(mean_eta), fin1), div_sign, (b, True))
    for name, fam in FAMILIES.items():
        as_fam = sp.Lambda(e, fam(e))
        r_fam = sp.simplify(r_generic.subs(A, as_fam).doit())     # A''(e) V / 2 for this A
        steps.append(Step(eq(sp.Symbol(f"R_{name}"), r_fam.subs(V, sp.Symbol("Var eta"))),
                          f"{name}: A = {sp.sstr(fam(e))}; R = A''(E eta) Var eta / 2."))
        pen = r_fam.subs(V, var_eta).subs(e, mean_eta)
        results[f"penalty_{name}"] = sp.Piecewise((in_lambda(pen), fin2), (sp.oo, True))
        pen0 = r_fam.subs(V, var_eta).subs(e, eta0)
        results[f"penalty_noise_free_{name}"] = sp.Piecewise((in_lambda(pen0), fin2), (sp.oo, True))
        bias = bias_generic.subs(A, as_fam).doit()
        results[f"bias_{name}"] = sp.Piecewise((in_lambda(bias), fin1), (sp.oo, True))
    results["shift"] = sp.Piecewise((in_lambda(shift), fin1), div_sign, (0, True))
    results["var_h2"] = sp.Piecewise((in_lambda(var_h2), fin2), (sp.oo, True))
    results["var_const"] = sp.Piecewise((in_lambda(var_const), fin2), (sp.oo, True))
    for i in range(2):
        results[f"var_h2_series_{i + 1}"] = sp.factor(in_lambda(h2_series[i]))
        results[f"var_const_series_{i + 1}"] = sp.factor(in_lambda(const_series[i]))
    results["c1"] = sp.Piecewise((in_lambda(c1), fin1), (sp.oo, True))
    results["c2"] = sp.Piecewise((in_lambda(c2), fin2), (sp.oo, True))
    ordered = ("penalty_logistic",) + tuple(k_ for k_ in results if k_ != "penalty_logistic")
    return Derivation(
        summary="E loss ~= loss(E eta, y) + R with R = A''(E eta) Var(eta)/2, "
                "E eta = gamma c_1 h + beta, Var eta = gamma^2 [(h^2 + Var xi_mu) c_2 - "
                "c_1^2 h^2]; for large m, Var eta ~= gamma^2 (1 + h^2/2)(1-lambda)/((1+lambda) m); "
                "specialised to the squared, logistic and Poisson families.",
        steps=tuple(steps),
        results=tuple((k_, results[k_]) for k_ in ordered),
        assumptions=("h: population-normalised pre-activation of a sample not in the batch",
                     "xi_mu, xi_sigma independent; eps = 0",
                     "momentum > 0: moment-matched Gamma law of the EMA variance noise "
                     "(an approximation)",
                     "second-order expansion of A (exact for the squared loss)"),
        conditions=sp.And(sp.Ge(m, 2), sp.Ge(lam, 0), sp.Lt(lam, 1)),
    )
