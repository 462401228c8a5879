"""Momentum BN: EMA noise (finite step and stationary), effective batch size, schedules.

Momentum lambda (and tau) is the weight on history: ``s <- lambda s + (1 - lambda) s_B``.
Batches are independent and the population stationary.
"""

from __future__ import annotations

import sympy as sp

from . import _symbols as S
from ._core import Derivation, Step, eq, get_derivation, register

__all__ = []


def _finite_value(piecewise):
    """The generic closed-form branch of a Piecewise and its condition.

    Skips special-case branches (``Eq(lambda**2, 1)``) and unevaluated sums (the
    divergent case).
    """
    if not isinstance(piecewise, sp.Piecewise):
        return piecewise, sp.true
    for expr, cond in piecewise.args:
        if not isinstance(cond, sp.Eq) and not expr.has(sp.Sum):
            return expr, cond
    raise RuntimeError(f"no closed-form branch in {piecewise}")  # pragma: no cover


def _series(term, j, upper):
    """sum_{j=0}^{upper} term, with the j-free factor taken out of the sum.

    Returns ``(value, condition)``: the convergent branch and where it holds.
    """
    coeff, rest = term.as_independent(j, as_Add=False)
    value, cond = _finite_value(sp.summation(rest, (j, 0, upper)))
    return coeff * value, cond


@register("mbn_noise", "Noise of Momentum BN: finite-step and stationary EMA variances")
def _mbn_noise():
    m, lam, n, v, t = S.m, S.momentum, S.n, S.v, S.t
    j = sp.Symbol("j", integer=True, nonnegative=True)
    f = sp.Function("f")
    E, Var = sp.Function("E"), sp.Function("Var")
    steps = []

    ema = lam * sp.Symbol("s_{n-1}") + (1 - lam) * sp.Symbol("b_n")
    steps.append(Step(eq(sp.Symbol("s_n"), ema),
                      "EMA of a batch statistic b_n (iid over steps, variance v): lambda is the "
                      "weight on history."))
    rec = f(n) - lam**2 * f(n - 1) - (1 - lam)**2
    fixed = sp.factor(sp.simplify(sp.rsolve(rec, f(n), {f(0): 0})))
    k = sp.Symbol("k", integer=True, nonnegative=True)     # k = n - 1 steps after the start
    batch = sp.rsolve(f(k) - lam**2 * f(k - 1) - (1 - lam)**2, f(k), {f(0): 1}).subs(k, n - 1)
    steps.append(Step(eq(f(n), lam**2 * f(n - 1) + (1 - lam)**2),
                      "Independence: Var s_n = f_n v with f_n = lambda^2 f_(n-1) + (1-lambda)^2 "
                      "(the same recursion, with lambda_n, holds for a time-varying momentum)."))
    steps.append(Step(eq(f(n), fixed),
                      "Solved (rsolve) from a fixed, noise-free start: f_0 = 0."))
    steps.append(Step(eq(f(n), batch),
                      "Solved from a batch start (the first batch initialises): f_1 = 1 "
                      "(solved in k = n - 1 with f(k=0) = 1)."))
    geo_value, _ = _series((1 - lam)**2 * lam**(2 * j), j, n - 1)
    agree = sp.simplify(geo_value - fixed)
    steps.append(Step(eq(sp.Sum((1 - lam)**2 * lam**(2 * j), (j, 0, n - 1)) - f(n), agree),
                      "Second route: unrolling s_n = lambda^n s_0 + (1-lambda) sum_j lambda^j "
                      "b_(n-j) gives the same f_n as a geometric sum."))
    if agree != 0:  # pragma: no cover
        raise RuntimeError("mbn_noise: recursion and unrolled sum disagree")
    stat_value, stat_cond = _series((1 - lam)**2 * lam**(2 * j), j, sp.oo)
    stationary = sp.factor(sp.simplify(stat_value))
    steps.append(Step(eq(f(sp.oo), sp.Piecewise((stationary, stat_cond), (sp.oo, True))),
                      "Stationary factor: the infinite geometric sum, convergent for "
                      "lambda^2 < 1."))

    mn = get_derivation("mean_noise")
    mgf1 = mn["mgf"]
    log_term = sp.powsimp(sp.expand_log(sp.log(mgf1.subs(t, (1 - lam) * lam**j * t)),
                                        force=True))
    log_value, _ = _series(log_term, j, sp.oo)
    log_value = sp.factor(sp.simplify(log_value))
    steps.append(Step(eq(sp.log(sp.Function("M_{xi_mu_MBN}")(t)), log_value),
                      "Mean noise: xi_mu_MBN = sum_j (1-lambda) lambda^j xi_mu,j with independent "
                      "xi_mu,j ~ N(0, 1/m); its log-MGF is the sum of the rescaled log-MGFs, "
                      "again quadratic in t: a normal law."))
    mean_var = sp.factor(sp.diff(log_value, t, 2))
    steps.append(Step(eq(Var(sp.Symbol("xi_mu_MBN")), mean_var),
                      "Exact variance (second derivative of the log-MGF)."))

    vn = get_derivation("variance_noise")
    e_b = vn["mean"].subs(S.ddof, 0)
    v_b = vn["variance"].subs(S.ddof, 0)
    weights = _series((1 - lam) * lam**j, j, sp.oo)[0]
    var_mean = sp.simplify(weights * e_b)
    var_var = sp.factor(stationary * v_b)
    steps.append(Step(sp.Tuple(eq(E(sp.Symbol("xi_sigma_MBN")), var_mean),
                               eq(Var(sp.Symbol("xi_sigma_MBN")), var_var)),
                      "Variance noise: the weights (1-lambda) lambda^j sum to 1, so the mean stays "
                      "(m-1)/m; the variance is the stationary factor times 2(m-1)/m^2."))
    k, theta = sp.symbols("k theta")
    sol = [s_ for s_ in sp.solve([k * theta - var_mean, k * theta**2 - var_var], [k, theta],
                                 dict=True) if s_[k] != 0][0]
    shape, scale = sp.factor(sol[k]), sp.factor(sol[theta])
    steps.append(Step(eq(sp.Tuple(k, theta), sp.Tuple(shape, scale)),
                      "Moment-matched Gamma(k, theta) (approximation: the exact law is a weighted "
                      "sum of Gammas); exact at lambda = 0."))
    m_eff = sp.Symbol("m_eff", positive=True)
    eff = sp.solve(sp.Eq(1 / m_eff, mean_var), m_eff)[0]
    steps.append(Step(eq(m_eff, eff),
                      "Effective batch size: plain BN with batch m_eff has the same mean-noise "
                      "variance 1/m_eff (exact for the mean noise)."))
    cond = sp.And(sp.Ge(m, 2), sp.Lt(lam, 1))
    return Derivation(
        summary="The EMA variance factor solves f_n = lambda^2 f_(n-1) + (1-lambda)^2: "
                "(1-lambda)/(1+lambda) (1 - lambda^(2n)) from a fixed start, "
                "(1-lambda)/(1+lambda) when stationary; the mean noise is exactly "
                "N(0, (1-lambda)/((1+lambda) m)), so m_eff = m (1+lambda)/(1-lambda).",
        steps=tuple(steps),
        results=(("stationary_factor", stationary), ("finite_factor", fixed),
                 ("finite_factor_batch_start", batch), ("finite_variance", fixed * v),
                 ("mean_noise_variance", mean_var), ("variance_noise_mean", var_mean),
                 ("variance_noise_variance", var_var), ("gamma_shape", shape),
                 ("gamma_scale", scale), ("effective_batch_size", eff)),
        assumptions=("batches independent, population stationary, Gaussian input",
                     "BN's biased batch variance (ddof = 0)"),
        conditions=cond,
    )


@register("mbn_momentum", "MBN momentum schedule end points and the inference momentum")
def _mbn_momentum():
    m, m0, T, te = S.m, S.m0, S.epochs, S.epoch
    tau0, N = S.tau0, S.N
    lam = sp.Function("lambda")
    steps = []

    r = sp.Min(m / m0, 1)
    rho = r**(1 / T)
    schedule = rho**(T / (T - 1) * sp.Max(T - te, 0)) - rho**T
    steps.append(Step(eq(lam(te), schedule),
                      "The paper's training momentum for epoch t_e = 1..T, "
                      "rho = min(m/m0, 1)^(1/T) (definition)."))
    start = sp.simplify(sp.powsimp(schedule.subs(te, 1), force=True))
    end = sp.simplify(sp.powsimp(schedule.subs(te, T), force=True))
    steps.append(Step(eq(lam(1), start),
                      "First epoch: the exponent is T, rho^T - rho^T = 0 (plain BN)."))
    steps.append(Step(eq(lam(T), end), "Last epoch: the exponent is 0, 1 - rho^T."))
    end_small = end.subs(sp.Min(m / m0, 1), m / m0)
    large = sp.simplify(sp.powsimp(schedule.subs(sp.Min(m / m0, 1), 1), force=True))
    steps.append(Step(eq(lam(te), large), "m >= m0: rho = 1 and lambda == 0 at every epoch."))

    mb = get_derivation("mbn_noise")
    end_var = sp.factor(sp.simplify(mb["mean_noise_variance"].subs(S.momentum, end_small)))
    steps.append(Step(eq(sp.Symbol("Var xi_mu_MBN(lambda(T))"), end_var),
                      "m < m0: stationary mean-noise variance at the end point 1 - m/m0: "
                      "1/(2 m0 - m), not 1/m0."))
    lam_s = sp.Symbol("lambda", positive=True)
    hit = sp.solve(sp.Eq(mb["effective_batch_size"].subs(S.momentum, lam_s), m0), lam_s)[0]
    steps.append(Step(eq(sp.Symbol("lambda_{m_eff = m0}"), hit),
                      "The momentum whose effective batch size is exactly m0."))

    tau = sp.Symbol("tau", positive=True)
    rule = sp.Eq(tau**(N / m), tau0**(N / m0))
    steps.append(Step(rule, "Inference momentum: an epoch of N samples has N/m updates; "
                            "forget at the same rate per epoch as with batch m0."))
    u = sp.Symbol("u", real=True)
    logs = sp.Eq(sp.expand_log(sp.log(rule.lhs), force=True),
                 sp.expand_log(sp.log(rule.rhs), force=True))
    steps.append(Step(logs, "Take logarithms (both sides positive)."))
    log_tau = sp.solve(logs.subs(sp.log(tau), u), u)[0]
    tau_sol = sp.simplify(sp.exp(log_tau))
    steps.append(Step(eq(tau, tau_sol), "Solve for log tau and exponentiate."))
    return Derivation(
        summary="lambda(1) = 0, lambda(T) = 1 - min(m/m0, 1) (so lambda == 0 for m >= m0); the "
                "end point gives mean-noise variance 1/(2 m0 - m); tau = tau0^(m/m0) from "
                "tau^(N/m) = tau0^(N/m0).",
        steps=tuple(steps),
        results=(("end", end), ("start", start), ("schedule", schedule),
                 ("end_mean_noise_variance", end_var), ("target_momentum", hit),
                 ("inference_momentum", tau_sol)),
        assumptions=("momentum is the weight on history",
                     "lambda is constant within an epoch; T >= 2 epochs"),
        conditions=sp.And(sp.Ge(T, 2), sp.Ge(m, 2), sp.Ge(m0, 2)),
    )
