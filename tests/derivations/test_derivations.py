"""Every derivation against the matching noise_theory closed form (two independent routes).

Each test draws a seed with hypothesis, builds ``default_rng(seed)`` and compares the
lambdified final result of a derivation with the noise_theory function at many random
parameter points (vectorised); where sympy can, the result minus the closed form
simplifies to 0.
"""

import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import noise_theory as nt
from derivations import _symbols as S
from derivations import get_derivation

seeds = st.integers(0, 2**32 - 1)
RTOL = 1e-9


def close(actual, expected, rtol=RTOL, atol=0.0):
    """allclose that also demands matching infinities."""
    actual, expected = np.broadcast_arrays(np.asarray(actual, float), np.asarray(expected, float))
    np.testing.assert_array_equal(np.isinf(actual), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=atol)


def zero(expr):
    return sp.simplify(expr) == 0


def branch(piecewise):
    """The finite branch (first) of a derived Piecewise result."""
    return piecewise.args[0][0]


# ---------------------------------------------------------------- 1. mean noise
@given(seed=seeds)
def test_mean_noise_matches_noise_theory(seed):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 2000, size=40)
    x = rng.normal(scale=2 / np.sqrt(m))
    d = get_derivation("mean_noise")
    close(d.function("pdf")(m=m, x=x), nt.mean_noise(m).pdf(x))
    close(d.function("pdf", log_space=True)(m=m, x=x), nt.mean_noise(m).pdf(x))
    close(d.function("variance")(m=m), nt.mean_noise(m).var())


def test_mean_noise_symbolic():
    d = get_derivation("mean_noise")
    m, x = S.m, S.x
    assert zero(d["variance"] - 1 / m)
    assert zero(d["pdf"] - sp.sqrt(m / (2 * sp.pi)) * sp.exp(-m * x**2 / 2))


# ---------------------------------------------------------------- 2. variance noise
@given(seed=seeds, ddof=st.sampled_from([0, 1]))
def test_variance_noise_matches_noise_theory(seed, ddof):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 1500, size=40)
    law = nt.variance_noise(m, ddof=ddof)
    x = law.ppf(rng.uniform(0.001, 0.999, size=m.shape))
    d = get_derivation("variance_noise")
    close(d.function("pdf", log_space=True)(m=m, x=x, ddof=ddof), law.pdf(x), rtol=1e-8)
    close(d.function("mean")(m=m, ddof=ddof), law.mean())
    close(d.function("variance")(m=m, ddof=ddof), law.var())


def test_variance_noise_symbolic():
    d = get_derivation("variance_noise")
    m, ddof = S.m, S.ddof
    assert zero(d["shape"] - (m - 1) / 2)
    assert zero(d["scale"] - 2 / (m - ddof))
    assert zero(d["variance"].subs(ddof, 0) - 2 * (m - 1) / m**2)


# ---------------------------------------------------------------- 3. scale moments
@given(seed=seeds, ddof=st.sampled_from([0, 1]))
def test_scale_moment_matches_noise_theory(seed, ddof):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 400, size=60)
    power = rng.uniform(-6, 8, size=60)
    power[:5] = m[:5] - 1.0  # the divergence boundary p = m - 1 is infinite
    close(get_derivation("scale_moment").function("moment")(m=m, power=power, ddof=ddof),
          nt.scale_moment(m, power, ddof=ddof), rtol=1e-8)


def test_scale_moment_special_cases_and_conditions():
    d = get_derivation("scale_moment")
    m = S.m
    c1_closed = sp.sqrt(m / 2) * sp.gamma((m - 2) / 2) / sp.gamma((m - 1) / 2)
    assert zero(sp.gammasimp(branch(d["c1"]) - c1_closed))
    assert zero(branch(d["inverse"]) - m / (m - 3))
    # existence conditions kept symbolically: c1 finite iff m > 2, E 1/xi iff m > 3
    assert d["c1"].subs(m, 2) == sp.oo and d["inverse"].subs(m, 3) == sp.oo
    assert d["inverse"].subs(m, 4) == 4
    assert d["moment"].subs({S.p: 1, S.ddof: 0}).args[0][1] == (m > 2)
    mm = np.arange(2, 12)
    close(d.function("c1")(m=mm), nt.scale_moment(mm, 1))
    close(d.function("inverse")(m=mm), nt.scale_moment(mm, 2))


def test_large_m_does_not_overflow():
    # gamma ratios go through loggamma in the bridge: finite at m = 1e6
    f = get_derivation("scale_moment").function("c1")
    value = f(m=1e6)
    assert np.isfinite(value)
    close(value, nt.scale_moment(10**6, 1), rtol=1e-8)


# ---------------------------------------------------------------- 4. out-of-batch output
@given(seed=seeds)
@settings(max_examples=25)
def test_out_of_batch_output_matches_noise_theory(seed):
    rng = np.random.default_rng(seed)
    m = rng.integers(4, 300, size=20)
    x = rng.normal(scale=2.0, size=20)
    d = get_derivation("out_of_batch_output")
    law = nt.bn_output(m, x=x, model="out_of_batch")
    close(d.function("mean")(m=m, x=x), law.mean(), rtol=1e-7)
    close(d.function("variance")(m=m, x=x), law.var(), rtol=1e-6)
    close(d.function("random_variance")(m=m), nt.bn_output(m, model="out_of_batch").var())


def test_out_of_batch_output_symbolic_and_divergence():
    d = get_derivation("out_of_batch_output")
    m, x = S.m, S.x
    assert zero(branch(d["random_variance"]) - (m + 1) / (m - 3))
    assert zero(branch(d["second_moment"]) - (x**2 + 1 / m) * m / (m - 3))
    assert d["variance"].subs(m, 3) == sp.oo
    assert np.isinf(d.function("variance")(m=3, x=0.5))
    assert np.isinf(nt.bn_output(3, x=0.5, model="out_of_batch").var())
    # m = 2: E|z| = oo with both tails infinite, so the mean is undefined (nan) in both
    assert d["mean"].subs(m, 2) is sp.nan
    assert np.isnan(d.function("mean")(m=2, x=0.5))
    assert np.isnan(nt.bn_output(2, x=0.5, model="out_of_batch").mean())


# ---------------------------------------------------------------- 5. in-batch output
@given(seed=seeds)
@settings(max_examples=15)
def test_in_batch_output_matches_noise_theory(seed):
    rng = np.random.default_rng(seed)
    d = get_derivation("in_batch_output")
    for m in rng.integers(3, 200, size=3):
        law = nt.bn_output(int(m))
        z = rng.uniform(-1, 1, size=10) * np.sqrt(m - 1)
        close(d.function("pdf", log_space=True)(m=m, x=z), law.pdf(z), rtol=1e-8)
        close(d.function("fourth_moment")(m=m), law.moment(4))
        for k in (1, 2, 3):
            close(d.function("even_moment")(m=m, k=k), law.moment(2 * k), rtol=1e-8)
        close(d.function("excess_kurtosis")(m=m), law.stats(moments="k"))


def test_in_batch_output_symbolic():
    d = get_derivation("in_batch_output")
    m = S.m
    assert d["second_moment"] == 1
    assert zero(d["fourth_moment"] - 3 * (m - 1) / (m + 1))
    # the pdf integrates to 1 (m = 6: a polynomial density)
    z = sp.Symbol("z", real=True)
    pdf6 = d["pdf"].subs(m, 6).args[0][0].subs(S.x, z)
    total = sp.integrate(pdf6, (z, -sp.sqrt(5), sp.sqrt(5)))
    assert sp.simplify(total.rewrite(sp.gamma) - 1) == 0


# ---------------------------------------------------------------- 6. non-Gaussian input
@given(seed=seeds, ddof=st.sampled_from([0, 1]))
def test_nongaussian_statistics_match_noise_theory(seed, ddof):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 500, size=50)
    skew = rng.normal(scale=2.0, size=50)
    kurt = skew**2 - 2.0 + rng.exponential(5.0, size=50)   # admissible: kurt >= skew^2 - 2
    ref = nt.batch_statistics_moments(m, skewness=skew, excess_kurtosis=kurt, ddof=ddof)
    d = get_derivation("nongaussian_statistics")
    kw = dict(m=m, skewness=skew, excess_kurtosis=kurt, ddof=ddof)
    var_var = d.function("variance_of_variance")
    close(var_var(**{k: kw[k] for k in var_var.keywords}), ref.var_var, rtol=1e-8, atol=1e-14)
    close(d.function("covariance")(m=m, skewness=skew, ddof=ddof), ref.cov, atol=1e-14)
    close(d.function("variance_of_mean")(m=m), ref.var_mean)
    close(d.function("mean_of_variance")(m=m, ddof=ddof), ref.mean_var)


def test_nongaussian_statistics_symbolic():
    d = get_derivation("nongaussian_statistics")
    m, g1, g2 = S.m, S.skewness, S.excess_kurtosis
    mu4 = g2 + 3
    assert zero(d["variance_of_unbiased_variance"] - (mu4 / m - (m - 3) / (m * (m - 1))))
    assert zero(d["covariance"].subs(S.ddof, 1) - g1 / m)
    assert zero(d["variance_of_variance"].subs(S.ddof, 0)
                - ((m - 1) / m)**2 * (mu4 / m - (m - 3) / (m * (m - 1))))


def test_power_sum_algebra_matches_brute_force():
    """The partition rule vs a brute-force sum over index tuples at concrete m."""
    import itertools

    from derivations._nongaussian import expect_power_sums

    S1, S2 = sp.symbols("S_1 S_2")
    mom = {1: sp.Symbol("a1"), 2: sp.Symbol("a2"), 3: sp.Symbol("a3"), 4: sp.Symbol("a4")}
    expr = S1**2 * S2 - 3 * S1**4 + S2**2
    for m_val in (2, 3, 4):
        xs = sp.symbols(f"x0:{m_val}")
        poly = sp.expand(expr.subs({S1: sum(xs), S2: sum(v**2 for v in xs)}))
        brute = sp.S.Zero
        for term in sp.Add.make_args(poly):
            value = term
            for v in xs:
                power = sp.degree(term, v)
                if power:
                    value = value.subs(v, 1) * mom[power]
            brute += value
        got = expect_power_sums(expr, {1: S1, 2: S2}, sp.Integer(m_val), lambda r: mom[r])
        assert sp.expand(got - brute) == 0
    del itertools


# ---------------------------------------------------------------- 7. MBN noise
@given(seed=seeds)
def test_mbn_noise_matches_noise_theory(seed):
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 300, size=30)
    lam = rng.uniform(0, 0.99, size=30)
    d = get_derivation("mbn_noise")
    ev = nt.ema_variance_noise(m, lam)
    close(d.function("mean_noise_variance")(m=m, momentum=lam), nt.ema_mean_noise(m, lam).var())
    close(d.function("variance_noise_mean")(m=m), ev.mean)
    close(d.function("variance_noise_variance")(m=m, momentum=lam), ev.var)
    close(d.function("gamma_shape")(m=m, momentum=lam), ev.approx_gamma.kwds["a"])
    close(d.function("gamma_scale")(m=m, momentum=lam), ev.approx_gamma.kwds["scale"])
    close(d.function("effective_batch_size")(m=m, momentum=lam), nt.effective_batch_size(m, lam))


@given(seed=seeds)
@settings(max_examples=20)
def test_mbn_finite_step_matches_noise_trajectory(seed):
    rng = np.random.default_rng(seed)
    m, lam, steps = int(rng.integers(2, 64)), rng.uniform(0, 0.99), int(rng.integers(1, 60))
    d = get_derivation("mbn_noise")
    n = np.arange(1, steps + 1)
    for start, key in (("fixed", "finite_factor"), ("batch", "finite_factor_batch_start")):
        traj = nt.noise_trajectory(m, np.full(steps, lam), start=start)
        close(d.function(key)(momentum=lam, steps=n) / m, traj.mean_noise_var, rtol=1e-8)
        close(d.function("finite_variance")(momentum=lam, steps=n, v=2 * (m - 1) / m**2)
              if start == "fixed" else d.function(key)(momentum=lam, steps=n) * 2 * (m - 1) / m**2,
              traj.variance_noise_var, rtol=1e-8)


def test_mbn_noise_symbolic():
    d = get_derivation("mbn_noise")
    lam, m, n = S.momentum, S.m, S.n
    assert zero(d["stationary_factor"] - (1 - lam) / (1 + lam))
    assert zero(d["finite_factor"] - (1 - lam) / (1 + lam) * (1 - lam**(2 * n)))
    assert zero(d["effective_batch_size"] - m * (1 + lam) / (1 - lam))
    assert zero(d["gamma_shape"] - (1 + lam) * (m - 1) / (2 * (1 - lam)))
    assert zero(d["gamma_scale"] - 2 * (1 - lam) / ((1 + lam) * m))
    # momentum 0 is plain BN
    assert zero(d["variance_noise_variance"].subs(lam, 0)
                - get_derivation("variance_noise")["variance"].subs(S.ddof, 0))


# ---------------------------------------------------------------- 7b. schedules
@given(seed=seeds)
def test_mbn_momentum_matches_noise_theory(seed):
    rng = np.random.default_rng(seed)
    epochs = int(rng.integers(2, 300))
    epoch = rng.integers(1, epochs + 1, size=30)
    m = rng.integers(2, 100, size=30)
    m0 = rng.integers(2, 100, size=30)
    d = get_derivation("mbn_momentum")
    close(d.function("schedule")(epoch=epoch, epochs=epochs, m=m, m0=m0),
          nt.paper_momentum(epoch, epochs, m, m0=m0), atol=1e-12)
    close(d.function("end")(m=m, m0=m0), nt.paper_momentum(epochs, epochs, m, m0=m0), atol=1e-12)
    tau0 = rng.uniform(0, 0.999, size=30)
    close(d.function("inference_momentum")(m=m, m0=m0, tau0=tau0),
          nt.inference_momentum(m, m0=m0, tau0=tau0))
    small = m < m0
    close(d.function("target_momentum")(m=m[small], m0=m0[small]),
          nt.momentum_for_target_batch(m[small], m0[small]))
    end = nt.paper_momentum(epochs, epochs, m[small], m0=m0[small])
    close(d.function("end_mean_noise_variance")(m=m[small], m0=m0[small]),
          nt.ema_mean_noise(m[small], end).var())


def test_mbn_momentum_symbolic():
    d = get_derivation("mbn_momentum")
    m, m0 = S.m, S.m0
    assert d["start"] == 0
    assert zero(d["end"].subs(sp.Min(1, m / m0), m / m0) - (1 - m / m0))
    assert zero(d["end_mean_noise_variance"] - 1 / (2 * m0 - m))
    assert zero(d["inference_momentum"] - S.tau0**(m / m0))


# ---------------------------------------------------------------- 8. regulariser
@given(seed=seeds, family=st.sampled_from(["squared", "logistic", "poisson"]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]))
@settings(max_examples=30)
def test_glm_regularizer_matches_noise_theory(seed, family, momentum):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(2, 200))
    h, g, b = rng.normal(size=20), rng.normal(size=20), rng.normal(size=20)
    ref = nt.glm_regularizer(h, gamma=g, beta=b, m=m, family=family, momentum=momentum)
    d = get_derivation("glm_regularizer")
    kw = dict(h=h, gamma=g, beta=b, m=m, momentum=momentum)

    def f(key):
        fn = d.function(key)
        return fn(**{k: v for k, v in kw.items() if k in fn.keywords})

    if np.isinf(ref.var_eta).any():  # divergent (tiny m): both routes must say inf
        assert np.isinf(f("var_eta")).all() and np.isinf(f(f"penalty_{family}")).all()
        return
    close(f("var_eta"), ref.var_eta, rtol=1e-7, atol=1e-12)
    close(f("mean_eta"), ref.mean_eta, rtol=1e-8, atol=1e-12)
    close(f(f"penalty_{family}"), ref.penalty, rtol=1e-7, atol=1e-12)
    close(f(f"penalty_noise_free_{family}"), ref.penalty_noise_free, rtol=1e-7, atol=1e-12)
    close(f("shift"), ref.shift, rtol=1e-7, atol=1e-12)
    close(f(f"bias_{family}"), ref.bias, rtol=1e-6, atol=1e-12)


def test_glm_regularizer_divergent_mean_is_inf_not_nan():
    # m = 2, plain BN: c_1 = E xi_sigma^(-1/2) = inf. E eta = sign(gamma h) inf, and beta
    # (shift 0) at gamma h = 0 -- the same values as noise_theory, never nan.
    d = get_derivation("glm_regularizer")
    for key in ("mean_eta", "shift", "c1", "var_eta"):
        assert not d[key].has(sp.nan), key
    h = np.array([1.0, -2.0, 0.0, 1.5, 0.7])
    g = np.array([2.0, 1.0, 3.0, 0.0, -1.0])
    b = np.array([0.3, -0.1, 0.5, 0.2, 0.0])
    ref = nt.glm_regularizer(h, gamma=g, beta=b, m=2)
    kw = dict(h=h, gamma=g, beta=b, m=2, momentum=0.0)
    for key, want in (("mean_eta", [np.inf, -np.inf, 0.5, 0.2, -np.inf]),
                      ("shift", [np.inf, -np.inf, 0.0, 0.0, -np.inf])):
        fn = d.function(key)
        got = np.asarray(fn(**{k: v for k, v in kw.items() if k in fn.keywords}), float)
        assert np.array_equal(got, want), (key, got)
        assert np.array_equal(got, getattr(ref, key)), (key, got, getattr(ref, key))
    # m = 3: c_1 finite (mean finite), c_2 = inf (Var eta = inf): both routes agree
    ref3 = nt.glm_regularizer(h, gamma=g, beta=b, m=3)
    fn = d.function("mean_eta")
    close(fn(h=h, gamma=g, beta=b, m=3, momentum=0.0), ref3.mean_eta, rtol=1e-12)


@given(momentum=st.floats(0.0, 0.95))
def test_regularizer_strength_series(momentum):
    d = get_derivation("glm_regularizer")
    s = nt.regularizer_strength(50, momentum=momentum)
    for key, ref in (("var_h2_series", s.var_h2_series), ("var_const_series", s.var_const_series)):
        got = [float(d.function(f"{key}_{i}")(momentum=momentum)) for i in (1, 2)]
        close(got, ref, rtol=1e-12)
    # var_h2 = c2 - c1^2 cancels two O(1) numbers whose gamma ratios go through loggamma
    # of arguments up to ~1e3 (absolute error ~1e-12 each; mpmath at momentum 0.95 puts
    # both routes within 4e-9 and 9e-9 relative): an absolute tolerance of 1e-11.
    close(d.function("var_h2")(m=50, momentum=momentum), s.var_h2, rtol=1e-8, atol=1e-11)
    close(d.function("var_const")(m=50, momentum=momentum), s.var_const, rtol=1e-10)


def test_regularizer_symbolic_and_large_m():
    d = get_derivation("glm_regularizer")
    lam = S.momentum
    bn = {k: d[f"{k}"].subs(lam, 0) for k in
          ("var_h2_series_1", "var_h2_series_2", "var_const_series_1", "var_const_series_2")}
    assert bn == {"var_h2_series_1": sp.Rational(1, 2), "var_h2_series_2": sp.Rational(23, 8),
                  "var_const_series_1": 1, "var_const_series_2": 3}
    # the series really is the large-m behaviour: remainder falls like 1/m^3
    var_h2 = d.function("var_h2")
    for m in (1e3, 1e4):
        rem = var_h2(m=m, momentum=0.0) - (0.5 / m + 23 / 8 / m**2)
        assert abs(rem) * m**3 < 50
    # squared loss: R = Var(eta)/2 exactly
    assert zero(branch(d["penalty_squared"]) - branch(d["var_eta"]) / 2)
    # plain BN (momentum 0): docs/theory.md (4.2)'s closed form, with c1 from scale_moment
    m, h, g = S.m, S.h, S.gamma
    c1 = sp.sqrt(m / 2) * sp.gamma((m - 2) / 2) / sp.gamma((m - 1) / 2)
    var_theory = g**2 * ((h**2 + 1 / m) * m / (m - 3) - c1**2 * h**2)
    assert zero(sp.gammasimp(branch(d["var_eta"]).subs(lam, 0) - var_theory))
    assert branch(d["mean_eta"]).subs(lam, 0).equals(g * c1 * h + S.beta)


# ---------------------------------------------------------------- 9. eps at m = 2
@given(eps=st.floats(1e-10, 5.0))
def test_eps_second_moment_matches_noise_theory(eps):
    d = get_derivation("eps_second_moment")
    close(d.function("second_moment")(eps=eps), 1 - eps * nt.scale_moment(2, 2, eps=eps),
          rtol=1e-8)


def test_eps_second_moment_quadrature_and_paper_number():
    from scipy import integrate, stats

    d = get_derivation("eps_second_moment")
    for eps in (1e-5, 1e-2, 0.3):
        c = 2 * eps
        # E[Q/(Q+c)], Q ~ chi2(1), with q = u^2 to remove the endpoint singularity
        f = lambda u: 2 * u * stats.chi2(1).pdf(u * u) * u * u / (u * u + c)  # noqa: E731
        ref, _ = integrate.quad(f, 0, np.inf, epsabs=1e-13, epsrel=1e-12)
        close(d.function("second_moment")(eps=eps), ref, rtol=1e-8)
    eps = S.eps
    closed = 1 - sp.sqrt(sp.pi * eps) * sp.exp(eps) * sp.erfc(sp.sqrt(eps))
    assert zero(d["second_moment"] - closed)
    removed = float(d.function("removed_fraction")(eps=1e-5))
    assert round(100 * removed, 2) == 0.56
