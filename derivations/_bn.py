"""Laws of the BN noise for Gaussian input, derived from MGFs and integrals.

Derivations: ``mean_noise`` (law of xi_mu), ``variance_noise`` (law of xi_sigma),
``scale_moment`` (E xi_sigma^(-p/2)), ``out_of_batch_output`` and ``in_batch_output``.
"""

from __future__ import annotations

import sympy as sp

from . import _symbols as S
from ._core import Derivation, Step, eq, get_derivation, register

__all__ = ["gamma_power_moment", "gamma_simplify"]

_oo = sp.oo


def _std_normal_pdf(z):
    return sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)


def _gamma_pdf(x, k, theta):
    return x**(k - 1) * sp.exp(-x / theta) / (sp.gamma(k) * theta**k)


def gamma_simplify(expr):
    """Simplify gamma ratios whose arguments differ by integers (expand_func first)."""
    out = sp.simplify(sp.expand_func(expr))
    return out if not out.has(sp.gamma) else sp.powsimp(expr)


def _cumulant(mgf, t, order):
    """order-th cumulant: derivative of log MGF at t = 0."""
    return sp.simplify(sp.diff(sp.log(mgf), t, order).subs(t, 0))


@register("mean_noise", "Law of the additive BN noise xi_mu = (mu_B - mu)/sigma")
def _mean_noise():
    t, m, x = S.t, S.m, S.x
    z = sp.Symbol("z", real=True)
    mu = sp.Symbol("mu", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    M = sp.Function("M")
    steps = []

    integral = sp.Integral(sp.exp(t * z) * _std_normal_pdf(z), (z, -_oo, _oo))
    mz = sp.simplify(integral.doit())
    steps.append(Step(eq(M(t), integral), "MGF of Z ~ N(0, 1) as an integral against its density."))
    steps.append(Step(eq(M(t), mz), "Evaluated (finite for every real t)."))

    mx = sp.exp(mu * t) * mz.subs(t, sigma * t)
    steps.append(Step(eq(sp.Function("M_x")(t), mx),
                      "x = mu + sigma Z: E e^{tx} = e^{mu t} M_Z(sigma t)."))

    mb = sp.powsimp(sp.expand_power_base(mx.subs(t, t / m)**m, force=True), force=True)
    mb = sp.simplify(mb)
    steps.append(Step(eq(sp.Function("M_{mu_B}")(t), mb),
                      "mu_B = (1/m) sum x_i with iid x_i: M_{mu_B}(t) = M_x(t/m)^m."))

    mxi = sp.simplify(sp.exp(-mu * t / sigma) * mb.subs(t, t / sigma))
    steps.append(Step(eq(sp.Function("M_{xi_mu}")(t), mxi),
                      "xi_mu = (mu_B - mu)/sigma: multiply by e^{-mu t/sigma}, "
                      "rescale t -> t/sigma."))

    kappas = [_cumulant(mxi, t, r) for r in (1, 2, 3, 4)]
    steps.append(Step(sp.Tuple(*kappas),
                      "Cumulants kappa_1..kappa_4 (derivatives of log M at 0): only kappa_2 is "
                      "non-zero, and log M is exactly quadratic in t, the signature of a "
                      "normal law."))

    a, b = sp.symbols("a b", real=True)
    normal_mgf = sp.exp(a * t) * mz.subs(t, sp.sqrt(b) * t)
    sol = sp.solve([_cumulant(normal_mgf, t, 1) - kappas[0],
                    _cumulant(normal_mgf, t, 2) - kappas[1]], [a, b], dict=True)[0]
    check = sp.simplify(normal_mgf.subs(sol) - mxi)
    steps.append(Step(eq(sp.Tuple(a, b), sp.Tuple(sol[a], sol[b])),
                      "Match with the MGF of N(a, b), e^{at} M_Z(sqrt(b) t): mean and variance."))
    steps.append(Step(eq(normal_mgf.subs(sol) - mxi, check),
                      "The two MGFs agree for every t, so by uniqueness xi_mu ~ N(a, b)."))
    if check != 0:  # pragma: no cover - the derivation itself is wrong
        raise RuntimeError("mean_noise: MGF identification failed")

    pdf = sp.exp(-(x - sol[a])**2 / (2 * sol[b])) / sp.sqrt(2 * sp.pi * sol[b])
    return Derivation(
        summary="From the moment generating function of a mean of m iid normals: "
                "xi_mu ~ N(0, 1/m), whatever mu and sigma.",
        steps=tuple(steps),
        results=(("variance", sol[b]), ("mean", sol[a]), ("pdf", pdf), ("mgf", mxi)),
        assumptions=("x_1..x_m iid N(mu, sigma^2)",),
        conditions=sp.Ge(m, 1),
    )


@register("variance_noise", "Law of the multiplicative BN noise xi_sigma = sigma_B^2/sigma^2")
def _variance_noise():
    t, m, ddof, x = S.t, S.m, S.ddof, S.x
    i, j, k_ = sp.symbols("i j k", integer=True, positive=True)
    w = sp.Symbol("w", real=True)
    a = sp.Symbol("a", positive=True)          # a = 1 - 2t > 0
    delta = sp.KroneckerDelta
    M = sp.Function("M")
    steps = []

    c_ij = delta(i, j) - 1 / m
    steps.append(Step(eq(sp.Symbol("C_{ij}"), c_ij),
                      "With z_i = (x_i - mu)/sigma iid N(0,1), m sigma_B^2/sigma^2 = "
                      "sum (z_i - zbar)^2 = z^T C z with the centring matrix C = I - 11^T/m."))
    csq = sp.Sum(c_ij.subs(j, k_) * c_ij.subs(i, k_), (k_, 1, m)).doit()
    csq = sp.simplify(sp.refine(csq, sp.Q.le(i, m) & sp.Q.le(j, m)))
    if sp.simplify(csq - c_ij) != 0:  # pragma: no cover
        raise RuntimeError("variance_noise: C is not idempotent")
    steps.append(Step(eq(sp.Symbol("(CC)_{ij}"), csq),
                      "C^2 = C (sum over k for 1 <= i, j <= m): C is a symmetric projection, "
                      "its eigenvalues are 0 or 1."))
    trace = sp.simplify(sp.Sum(c_ij.subs(j, i), (i, 1, m)).doit())
    steps.append(Step(eq(sp.Symbol("tr C"), trace),
                      "Its trace counts the unit eigenvalues: m - 1 of them (1 spans the kernel)."))

    chi1 = sp.Integral(sp.exp(-a * w**2 / 2) / sp.sqrt(2 * sp.pi), (w, -_oo, _oo))
    chi1_val = sp.simplify(chi1.doit())
    steps.append(Step(eq(M(t), chi1.subs(a, 1 - 2 * t)),
                      "Rotating z by C's eigenvectors, z^T C z = sum_{j<m} w_j^2, w_j iid N(0,1); "
                      "MGF of w^2 = E e^{t w^2}, finite only for t < 1/2."))
    mgf_w2 = chi1_val.subs(a, 1 - 2 * t)
    steps.append(Step(eq(M(t), mgf_w2), "Evaluated with a = 1 - 2t > 0."))
    mgf_q = sp.powsimp(mgf_w2**trace, force=True)
    steps.append(Step(eq(sp.Function("M_Q")(t), sp.Piecewise((mgf_q, t < sp.S.Half), (_oo, True))),
                      "Product of the m - 1 independent factors: "
                      "Q = m sigma_B^2/sigma^2 ~ chi^2(m-1)."))

    df = m - ddof
    mgf_xi = mgf_q.subs(t, t / df)
    steps.append(Step(eq(sp.Function("M_{xi_sigma}")(t), mgf_xi),
                      "xi_sigma = sigma_B^2/sigma^2 = Q/(m - ddof) "
                      "(ddof = 0: BN's biased variance)."))

    k, theta = sp.symbols("k theta", positive=True)
    s = sp.Symbol("s", positive=True)          # s = 1/theta - t > 0
    g_int = sp.Integral(sp.exp(t * x) * _gamma_pdf(x, k, theta), (x, 0, _oo))
    xp = sp.Symbol("x", positive=True)
    g_val = sp.simplify(sp.integrate(xp**(k - 1) * sp.exp(-s * xp), (xp, 0, _oo))
                        / (sp.gamma(k) * theta**k))
    gamma_mgf = sp.powsimp(g_val.subs(s, (1 - theta * t) / theta), force=True)
    steps.append(Step(eq(sp.Function("M_{Gamma(k, theta)}")(t), g_int),
                      "MGF of Gamma(shape k, scale theta) by integration against its density."))
    steps.append(Step(eq(sp.Function("M_{Gamma(k, theta)}")(t), gamma_mgf),
                      "Evaluated for t < 1/theta (s = 1/theta - t > 0)."))

    sol = sp.solve([_cumulant(gamma_mgf, t, 1) - _cumulant(mgf_xi, t, 1),
                    _cumulant(gamma_mgf, t, 2) - _cumulant(mgf_xi, t, 2)], [k, theta], dict=True)
    sol = [s_ for s_ in sol if s_[k] != 0][0]
    u = sp.Symbol("u", positive=True)      # t = (1 - u)(m - ddof)/2 < (m - ddof)/2
    ratio = gamma_mgf.subs(sol) / mgf_xi
    check = sp.simplify(ratio.subs(t, (1 - u) * df / 2))
    steps.append(Step(eq(sp.Tuple(k, theta), sp.Tuple(sol[k], sol[theta])),
                      "Match the first two cumulants (derivatives of log M at 0)."))
    steps.append(Step(eq(ratio, check),
                      "The MGFs then agree for every t < (m - ddof)/2 (checked with "
                      "t = (1 - u)(m - ddof)/2, u > 0): by uniqueness xi_sigma ~ Gamma(k, theta)."))
    if check != 1:  # pragma: no cover
        raise RuntimeError("variance_noise: Gamma identification failed")

    shape, scale = sol[k], sol[theta]
    mean = sp.simplify(shape * scale)
    var = sp.simplify(shape * scale**2)
    steps.append(Step(sp.Tuple(mean, var), "Mean k theta and variance k theta^2."))
    pdf = sp.Piecewise((_gamma_pdf(x, shape, scale), x > 0), (0, True))
    return Derivation(
        summary="Via the MGF of the Gaussian quadratic form z^T C z with the centring "
                "projection C (symbolic m): m sigma_B^2/sigma^2 ~ chi^2(m-1), so "
                "xi_sigma ~ Gamma((m-1)/2, scale 2/(m - ddof)).",
        steps=tuple(steps),
        results=(("shape", shape), ("scale", scale), ("mean", mean), ("variance", var),
                 ("pdf", pdf), ("mgf", sp.Piecewise((mgf_xi, t < df / 2), (_oo, True)))),
        assumptions=("x_1..x_m iid N(mu, sigma^2)",
                     "sigma_B^2 = sum (x_i - mu_B)^2 / (m - ddof)"),
        conditions=sp.Ge(m, 2) & sp.Lt(ddof, m),
    )


def gamma_power_moment(k, theta, p):
    """E[X^(-p/2)] for X ~ Gamma(k, theta) by integration against the density.

    Returns ``(integral, value, condition)``: the unevaluated integral, its closed form and
    the sympy condition under which it converges (otherwise the moment is +oo).
    """
    xp = sp.Symbol("x", positive=True)
    integrand = xp**(-p / 2) * _gamma_pdf(xp, k, theta)
    value = sp.integrate(integrand, (xp, 0, _oo), conds="piecewise")
    if not isinstance(value, sp.Piecewise):  # pragma: no cover
        raise RuntimeError("gamma_power_moment: expected a conditional integral")
    closed, cond = value.args[0]
    return (sp.Integral(integrand, (xp, 0, _oo)), sp.powsimp(sp.simplify(closed), force=True),
            cond)


@register("scale_moment", "Moments E[xi_sigma^(-p/2)] of the multiplicative noise")
def _scale_moment():
    m, p, ddof = S.m, S.p, S.ddof
    vn = get_derivation("variance_noise")
    shape, scale = vn["shape"], vn["scale"]
    k, theta = sp.symbols("k theta", positive=True)
    xp = sp.Symbol("x", positive=True)
    E = sp.Function("E")
    steps = []

    integral, closed, cond = gamma_power_moment(k, theta, p)
    steps.append(Step(eq(E(xp**(-p / 2)), integral),
                      "Integrate x^(-p/2) against the Gamma(k, theta) density of xi_sigma."))
    generic = sp.Piecewise((closed, cond), (_oo, True))
    steps.append(Step(eq(E(xp**(-p / 2)), generic),
                      "Convergent at 0 only under the condition shown; otherwise the integrand "
                      "behaves like x^(k - p/2 - 1) near 0 and the moment is +infinity."))

    cond_m = sp.simplify(cond.subs({k: shape, theta: scale}))
    closed_m = closed.subs({k: shape, theta: scale})
    result = sp.Piecewise((closed_m, cond_m), (_oo, True))
    steps.append(Step(eq(E(sp.Symbol("xi_sigma")**(-p / 2)), result),
                      "Substitute k = (m-1)/2, theta = 2/(m - ddof) from variance_noise."))

    special = {}
    for power, key in ((1, "c1"), (2, "inverse")):
        value = gamma_simplify(closed_m.subs({p: power, ddof: 0}))
        cond_p = cond_m.subs({p: power, ddof: 0})
        special[key] = sp.Piecewise((value, cond_p), (_oo, True))
        steps.append(Step(eq(E(sp.Symbol("xi_sigma")**sp.Rational(-power, 2)), special[key]),
                          f"p = {power}, ddof = 0" + (": the mean inflation c_1." if power == 1
                                                      else ".")))
    return Derivation(
        summary="Integration against the Gamma density with symbolic m and p; the existence "
                "condition p < m - 1 is kept as a sympy condition (divergent moments are oo).",
        steps=tuple(steps),
        results=(("moment", result), ("c1", special["c1"]), ("inverse", special["inverse"])),
        assumptions=("xi_sigma ~ Gamma((m-1)/2, scale 2/(m - ddof)) (derivation variance_noise)",),
        conditions=sp.Ge(m, 2) & sp.Lt(ddof, m),
    )


@register("out_of_batch_output",
          "Mean and variance of the BN output under the out-of-batch (independent noise) model")
def _out_of_batch_output():
    m, x = S.m, S.x
    xi_mu, xi_s = sp.symbols("xi_mu xi_sigma")
    E = sp.Function("E")
    steps = []
    mn = get_derivation("mean_noise")
    sm = get_derivation("scale_moment")
    mgf, t = mn["mgf"], S.t
    raw = [sp.simplify(sp.diff(mgf, t, r).subs(t, 0)) for r in (1, 2)]
    steps.append(Step(eq(sp.Tuple(E(xi_mu), E(xi_mu**2)), sp.Tuple(*raw)),
                      "Raw moments of xi_mu ~ N(0, 1/m) from its MGF (derivatives at 0)."))
    (c1, c1_cond), (inv, inv_cond) = sm["c1"].args[0], sm["inverse"].args[0]
    steps.append(Step(eq(sp.Tuple(E(xi_s**sp.Rational(-1, 2)), E(1 / xi_s)), sp.Tuple(c1, inv)),
                      f"Negative moments of xi_sigma from scale_moment ({c1_cond}, {inv_cond})."))

    zed = (x - xi_mu) / sp.sqrt(xi_s)
    steps.append(Step(eq(sp.Symbol("z"), zed),
                      "Out-of-batch output at a fixed population-normalised input x: "
                      "(x - mu_B)/sigma_B; xi_mu and xi_sigma independent (Cochran)."))
    # E over xi_mu (a polynomial in xi_mu: use its raw moments), then over xi_sigma.
    def e_xi_mu(poly):
        poly = sp.expand(poly)
        return poly.coeff(xi_mu, 0) + sum(poly.coeff(xi_mu, r) * raw[r - 1] for r in (1, 2))

    num1, num2 = e_xi_mu(x - xi_mu), e_xi_mu((x - xi_mu)**2)
    ez, ez2 = num1 * c1, num2 * inv
    steps.append(Step(eq(sp.Tuple(E(sp.Symbol("z")), E(sp.Symbol("z")**2)), sp.Tuple(ez, ez2)),
                      "Independence: E z = E[x - xi_mu] E[xi_sigma^(-1/2)], "
                      "E z^2 = E[(x - xi_mu)^2] E[1/xi_sigma]."))
    var = ez2 - ez**2
    steps.append(Step(eq(sp.Symbol("Var z"), var),
                      f"Variance E z^2 - (E z)^2, finite iff {inv_cond}."))

    zx = sp.Symbol("x", real=True)
    phi = _std_normal_pdf(zx)
    first = sp.integrate(num1.subs(x, zx) * phi, (zx, -_oo, _oo))
    second = sp.integrate(num2.subs(x, zx) * phi, (zx, -_oo, _oo))
    rand_var = sp.factor(gamma_simplify(second * inv - (first * c1)**2))
    steps.append(Step(eq(sp.Symbol("Var z_random"), rand_var),
                      "Random input x ~ N(0, 1) independent of the batch: average E[x - xi_mu] and "
                      "E[(x - xi_mu)^2] over the normal density (the mean is then 0)."))
    # E z is undefined (not infinite) when E|z| = oo: both tails diverge.
    mean = sp.Piecewise((ez, c1_cond), (sp.nan, True))
    var = sp.Piecewise((var, inv_cond), (_oo, True))
    ez2 = sp.Piecewise((ez2, inv_cond), (_oo, True))
    rand_var = sp.Piecewise((rand_var, inv_cond), (_oo, True))
    return Derivation(
        summary="z = (x - xi_mu)/sqrt(xi_sigma) with independent xi_mu ~ N(0, 1/m) and "
                "xi_sigma ~ Gamma((m-1)/2, 2/m): mean x c_1 (m > 2), variance "
                "(x^2 + 1/m) m/(m-3) - c_1^2 x^2 (m > 3); for a random x ~ N(0,1) the variance "
                "is (m+1)/(m-3).",
        steps=tuple(steps),
        results=(("mean", mean), ("variance", var), ("second_moment", ez2),
                 ("random_variance", rand_var)),
        assumptions=("batch x_1..x_m iid N(mu, sigma^2); the normalised sample is not in the batch",
                     "BN's biased variance (ddof = 0), eps = 0"),
        conditions=sp.Ge(m, 2),
    )


@register("in_batch_output", "Moments of the in-batch BN output from its Beta law")
def _in_batch_output():
    m, x = S.m, S.x
    k = S.k
    b = sp.Symbol("b", positive=True)
    s_ = sp.Symbol("s")
    alpha, beta_ = sp.symbols("alpha beta", positive=True)
    E = sp.Function("E")
    zs = sp.Symbol("z")
    steps = []

    law = {alpha: sp.S.Half, beta_: (m - 2) / 2}
    beta_pdf = b**(alpha - 1) * (1 - b)**(beta_ - 1) / sp.beta(alpha, beta_)
    steps.append(Step(eq(sp.Function("f_B")(b), beta_pdf.subs(law)),
                      "In-batch output z_i = (x_i - mu_B)/sigma_B: B = z_i^2/(m-1) ~ "
                      "Beta(1/2, (m-2)/2) (internally studentised residual; needs m > 2)."))
    mellin, _strip, _cond = sp.mellin_transform(
        (1 - b)**(beta_ - 1) * sp.Heaviside(1 - b), b, s_)
    ebk = sp.simplify(mellin.subs(s_, k + alpha) / sp.beta(alpha, beta_).rewrite(sp.gamma))
    steps.append(Step(eq(E(b**k), sp.Integral(b**k * beta_pdf, (b, 0, 1))),
                      "Moment of order k by integration against the Beta density..."))
    steps.append(Step(eq(E(b**k), ebk),
                      "... evaluated as the Mellin transform of (1-b)^(beta-1) on (0, 1) at "
                      "s = k + alpha (converges for k + alpha > 0)."))
    ez2k = (m - 1)**k * ebk.subs(law)
    steps.append(Step(eq(E(zs**(2 * k)), ez2k), "E z^(2k) = (m-1)^k E[B^k]."))
    second = gamma_simplify(ez2k.subs(k, 1))
    fourth = sp.factor(gamma_simplify(ez2k.subs(k, 2)))
    steps.append(Step(eq(E(zs**2), second),
                      "k = 1: E z^2 = 1, consistent with the exact identity sum z_i^2 = m "
                      "(exchangeable z_i)."))
    if sp.simplify(second - 1) != 0:  # pragma: no cover
        raise RuntimeError("in_batch_output: E z^2 != 1")
    steps.append(Step(eq(E(zs**4), fourth), "k = 2: the fourth moment."))
    excess = sp.factor(sp.simplify(fourth / second**2 - 3))
    steps.append(Step(eq(sp.Symbol("excess kurtosis"), excess),
                      "Negative excess kurtosis: the in-batch output is bounded, "
                      "|z| <= sqrt(m-1)."))
    pdf_z = sp.Piecewise((sp.Abs(x) / (m - 1) * beta_pdf.subs(law).subs(b, x**2 / (m - 1)),
                          x**2 < m - 1), (0, True))
    steps.append(Step(eq(sp.Function("f_z")(x), pdf_z),
                      "Density of z by change of variables b = z^2/(m-1) "
                      "(symmetric, two branches)."))
    return Derivation(
        summary="z_i^2/(m-1) ~ Beta(1/2, (m-2)/2): E z^(2k) by integration against the Beta "
                "density gives E z^2 = 1 and E z^4 = 3(m-1)/(m+1).",
        steps=tuple(steps),
        results=(("fourth_moment", fourth), ("second_moment", second), ("variance", second),
                 ("even_moment", ez2k), ("pdf", pdf_z), ("excess_kurtosis", excess)),
        assumptions=("x_1..x_m iid N(mu, sigma^2); z_i is one of the batch's own outputs",
                     "BN's biased variance (ddof = 0), eps = 0"),
        conditions=sp.Gt(m, 2),
    )
