"""Tests of the explicit BN/MBN regulariser (noise_theory._regularizer).

Routes compared: closed forms (log-gamma moments, the exact squared-loss expectation),
the tanh-sinh/Gauss-Hermite quadrature of ``expected_glm_loss``, mpmath references
(generating code below), sympy series, and Monte Carlo from raw Gaussian batches.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from noise_theory import GLMFamily, expected_glm_loss, glm_regularizer, regularizer_strength
from noise_theory._glm_loss import _expected_softplus, _outer_rule
from noise_theory._noise_law import _noise_law

# ---------------------------------------------------------------- mpmath references
# Generated with mpmath 1.3 (dps = 20) by:
#
#   import mpmath as mp
#   def ref_softplus(a, b, dps):            # E log(1 + e^(a + b Z)), Z ~ N(0, 1)
#       with mp.workdps(dps):
#           a, b = mp.mpf(a), mp.mpf(b)
#           if b == 0: return mp.log1p(mp.exp(a))
#           f = lambda e: mp.log1p(mp.exp(e)) * mp.npdf(e, a, b)
#           pts = [a - 14*b, a - 3*b, a, a + 3*b, a + 14*b]
#           if pts[0] < 0 < pts[-1]: pts = sorted(pts + [mp.mpf(0), mp.mpf(-1), mp.mpf(1)])
#           return mp.quad(f, pts, maxdegree=10)
#   def ref_loss(h, y, gamma, beta, k, th, s2, eps=0, fam="logistic", dps=20):
#       mp.mp.dps = dps
#       k, th, s, eps = mp.mpf(k), mp.mpf(th), mp.sqrt(mp.mpf(s2)), mp.mpf(eps)
#       dens = lambda v: v**(k-1) * mp.exp(-v/th) / (mp.gamma(k) * th**k)
#       def g(v):
#           u = 1/mp.sqrt(v + eps); a = beta + gamma*h*u; b = abs(gamma)*s*u
#           inner = ref_softplus(a, b, dps) if fam == "logistic" else mp.exp(a + b*b/2)
#           return (inner - y*a) * dens(v)
#       mu = k*th; pts = [0, mu/4, mu, 4*mu, mp.inf]
#       if eps: pts = sorted(pts + [eps, 10*eps])
#       return mp.quad(g, pts)
#   # r = (1 + lam)/(1 - lam); k = r (m - 1)/2; th = 2/(r m); s2 = 1/(r m)
#   # (BN at lam = 0; MBN with the moment-matched Gamma law otherwise)
REFERENCES = [
    # (h, y, gamma, beta, m, momentum, eps, family), value
    ((1.0, 1.0, 2.0, 0.5, 8, 0.0, 0.0, "logistic"), 0.083272823199298047),
    ((-0.7, 0.0, 1.5, -0.3, 3, 0.0, 0.0, "logistic"), 0.27673388908414568),
    ((2.0, 1.0, 3.0, 0.0, 4, 0.0, 0.0, "logistic"), 0.0060192247306199875),
    ((0.3, 0.25, -1.0, 1.0, 64, 0.0, 0.0, "logistic"), 0.92757463524265155),
    ((1.5, 1.0, 4.0, 0.2, 2, 0.0, 0.001, "logistic"), 0.088877536424962432),
    ((1.0, 1.0, 2.0, 0.0, 2, 0.9375, 0.0, "logistic"), 0.060412652178328713),
    # gamma < 0 with wide normals (|gamma| s u > 2.5: the Gauss-Laguerre branch)
    ((0.5, 1.0, -6.0, 0.2, 5, 0.0, 0.0, "logistic"), 4.3974053529958755),
    ((0.5, 2.0, 1.0, 0.1, 4, 0.0, 0.01, "poisson"), 2870.3540388377781),
    ((-1.0, 0.0, 0.8, 0.0, 16, 0.5, 0.001, "poisson"), 0.43669705379144054),
]


@pytest.mark.parametrize("case, ref", REFERENCES)
def test_expected_loss_matches_mpmath(case, ref):
    h, y, gamma, beta, m, momentum, eps, family = case
    got = expected_glm_loss(h, y, gamma=gamma, beta=beta, m=m, family=family,
                            momentum=momentum, eps=eps)
    assert got == pytest.approx(ref, rel=1e-11)   # measured: <= 4e-13


@pytest.mark.parametrize("a, b, ref", [
    # ref_softplus(a, b, 30) from the comment above
    (-5.0, 2.9, 0.1110608805311882),
    (-1.0, 2.9, 0.9182389905028777),
    (0.0, 2.9, 1.3597692772328458),
    (2.0, 2.9, 2.5886518544402226),
    (0.3, 2.9, 1.5150668613001501),
])
def test_expected_softplus_matches_mpmath(a, b, ref):
    assert _expected_softplus(a, b) == pytest.approx(ref, rel=1e-11)


def test_expected_softplus_both_routes_agree_at_the_switch():
    # Gauss-Hermite (narrow) and positive part + Gauss-Laguerre (wide) are independent
    # routes; just below and above the switch they must agree.
    a = np.linspace(-20, 20, 81)
    lo = _expected_softplus(a, np.full_like(a, 2.5))
    hi = _expected_softplus(a, np.full_like(a, np.nextafter(2.5, 3)))
    np.testing.assert_allclose(lo, hi, rtol=1e-10, atol=1e-300)


# ---------------------------------------------------------------- strength
@pytest.mark.parametrize("m", [3, 4, 5, 8, 33, 256, 4000])
def test_outer_rule_integrates_gamma_inverse_moments(m):
    law = _noise_law(m, 0.0)
    rule = _outer_rule(law)
    assert rule.weights.sum() == pytest.approx(1.0, rel=1e-11)
    s = regularizer_strength(m)
    assert rule.weights @ rule.v ** -0.5 == pytest.approx(s.c1, rel=1e-10)
    if m > 3:
        assert rule.weights @ (1 / rule.v) == pytest.approx(m / (m - 3), rel=1e-10)
        assert s.c2 == pytest.approx(m / (m - 3), rel=1e-13)


@pytest.mark.parametrize("m, momentum, eps", [(2, 0.0, 1e-3), (8, 0.0, 1e-2), (4, 0.875, 0.0),
                                              (2, 0.9375, 1e-3), (16, 0.5, 0.0)])
def test_strength_moments_two_routes(m, momentum, eps):
    """c1, c2: closed form / H1 quadrature against this module's tanh-sinh rule."""
    s = regularizer_strength(m, momentum=momentum, eps=eps)
    law = _noise_law(m, momentum)
    rule = _outer_rule(law)
    u = (rule.v + eps) ** -0.5
    assert s.c1 == pytest.approx(rule.weights @ u, rel=1e-9)
    assert s.c2 == pytest.approx(rule.weights @ u ** 2, rel=1e-9)
    assert s.approximate == (momentum > 0)


def test_strength_matches_theory_closed_forms():
    m = 10
    s = regularizer_strength(m)
    c1 = math.sqrt(m / 2) * math.gamma((m - 2) / 2) / math.gamma((m - 1) / 2)
    assert s.c1 == pytest.approx(c1, rel=1e-13)
    assert s.var_h2 == pytest.approx(m / (m - 3) - c1 ** 2, rel=1e-12)
    assert s.var_const == pytest.approx(1 / (m - 3), rel=1e-13)
    # MBN: mean-noise variance exact, effective batch m (1+lam)/(1-lam)
    t = regularizer_strength(m, momentum=0.5)
    assert t.mean_noise_var == pytest.approx(1 / (3 * m), rel=1e-14)
    assert t.effective_batch_size == pytest.approx(3 * m)


def test_strength_divergent_is_inf_not_nan():
    assert regularizer_strength(2).c1 == math.inf
    for m in (2, 3):
        s = regularizer_strength(m)
        assert s.c2 == math.inf and s.var_h2 == math.inf and s.var_const == math.inf
    assert math.isfinite(regularizer_strength(2, eps=1e-5).var_h2)
    # Gamma approximation: shape (1+lam)(m-1)/(2(1-lam)) <= 1 -> E 1/xi = inf
    assert regularizer_strength(2, momentum=0.2).c2 == math.inf
    assert math.isfinite(regularizer_strength(2, momentum=0.5).c2)


def _sympy_series(r_value):
    """Large-m series of c2 - c1^2 and s^2 c2 for Gamma(r(m-1)/2, 2/(rm)), from Stirling."""
    import sympy as sp

    r, x = sp.Rational(r_value), sp.symbols("x", positive=True)

    def lgam(z):  # Stirling series of log Gamma without the constant (it cancels)
        return (z - sp.Rational(1, 2)) * sp.log(z) - z + 1 / (12 * z) - 1 / (360 * z ** 3)

    k = r * (1 - x) / (2 * x)                  # x = 1/m
    logc1 = sp.expand_log(lgam(k - sp.Rational(1, 2)) - lgam(k) + sp.log(r / (2 * x)) / 2,
                          force=True)
    c1 = sp.series(sp.exp(sp.series(logc1, x, 0, 4).removeO()), x, 0, 3).removeO()
    c2 = sp.series(r / (r * (1 - x) - 2 * x), x, 0, 3).removeO()   # 1/(theta (k - 1))
    vh = sp.expand(sp.series(c2 - c1 ** 2, x, 0, 3).removeO())
    vc = sp.expand(sp.series(x / r * c2, x, 0, 3).removeO())
    return ((float(vh.coeff(x, 1)), float(vh.coeff(x, 2))),
            (float(vc.coeff(x, 1)), float(vc.coeff(x, 2))))


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.875])
def test_large_m_series_matches_sympy(momentum):
    r = (1 + momentum) / (1 - momentum)
    vh, vc = _sympy_series(r if momentum else 1)
    s = regularizer_strength(64, momentum=momentum)
    assert s.var_h2_series == pytest.approx(vh, rel=1e-12)
    assert s.var_const_series == pytest.approx(vc, rel=1e-12)


@pytest.mark.parametrize("momentum", [0.0, 0.75])
def test_large_m_series_residual_is_third_order(momentum):
    """m^3 (exact - two-term series) stays bounded: the series is right to O(1/m^2)."""
    res = []
    for m in (200, 400, 800):
        s = regularizer_strength(m, momentum=momentum)
        a1, a2 = s.var_h2_series
        b1, b2 = s.var_const_series
        res.append((m ** 3 * (s.var_h2 - a1 / m - a2 / m ** 2),
                    m ** 3 * (s.var_const - b1 / m - b2 / m ** 2)))
    res = np.array(res)
    assert np.all(np.abs(res) < 40)
    np.testing.assert_allclose(res[1], res[2], rtol=0.05)   # converging to the m^-3 coeff
    # leading term: Var eta ~ gamma^2 (1 + h^2/2) / (r m)
    assert regularizer_strength(10_000).var_h2 * 10_000 == pytest.approx(0.5, rel=1e-2)


# ---------------------------------------------------------------- regulariser
def test_squared_loss_expansion_is_exact():
    """For A = eta^2/2 both decompositions are exact: closed form == quadrature."""
    h = np.linspace(-3, 3, 13)
    y = np.cos(h)
    for m, momentum, eps in [(4, 0.0, 0.0), (9, 0.0, 1e-3), (64, 0.0, 0.0), (4, 0.8, 0.0)]:
        reg = glm_regularizer(h, gamma=1.7, beta=-0.4, m=m, family="squared",
                              momentum=momentum, eps=eps)
        exact = expected_glm_loss(h, y, gamma=1.7, beta=-0.4, m=m, family="squared",
                                  momentum=momentum, eps=eps)
        np.testing.assert_allclose(reg.approx_expected_loss(y), exact, rtol=1e-11)
        np.testing.assert_allclose(reg.approx_expected_loss(y, around="noise_free"), exact,
                                   rtol=1e-11)
        np.testing.assert_allclose(reg.penalty, 0.5 * reg.var_eta, rtol=1e-15)


def _raw_batches(m, n, rng):
    x = rng.standard_normal((n, m))
    mu = x.mean(axis=1)
    return mu, x.var(axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("m, eps", [(5, 0.0), (16, 0.0), (3, 0.1)])
def test_mean_and_variance_of_eta_by_monte_carlo(m, eps):
    rng = np.random.default_rng(20261126 + m)
    n = 400_000
    mu, var = _raw_batches(m, n, rng)
    h, gamma, beta = 1.3, 1.5, -0.2
    eta = gamma * (h - mu) / np.sqrt(var + eps) + beta
    reg = glm_regularizer(h, gamma=gamma, beta=beta, m=m, eps=eps)
    se_mean = eta.std() / math.sqrt(n)
    assert abs(eta.mean() - reg.mean_eta) < 4.5 * se_mean
    d = (eta - eta.mean()) ** 2
    assert abs(d.mean() - reg.var_eta) < 4.5 * d.std() / math.sqrt(n)


def test_decomposition_fields_consistent():
    h = np.array([-2.0, 0.0, 0.5, 3.0])
    reg = glm_regularizer(h, gamma=2.0, beta=0.3, m=32)
    s = reg.strength
    np.testing.assert_allclose(reg.mean_eta, 2.0 * s.c1 * h + 0.3, rtol=1e-14)
    np.testing.assert_allclose(reg.shift, reg.mean_eta - reg.noise_free_eta, atol=1e-14)
    np.testing.assert_allclose(reg.noise_free_eta, 2.0 * h + 0.3, rtol=1e-15)
    with_eps = glm_regularizer(h, gamma=2.0, beta=0.3, m=32, eps=0.21)
    np.testing.assert_allclose(with_eps.noise_free_eta, 2.0 * h / 1.1 + 0.3, rtol=1e-14)
    sig = special.expit(reg.mean_eta)
    np.testing.assert_allclose(reg.penalty, 0.5 * sig * (1 - sig) * reg.var_eta, rtol=1e-14)
    # the two second-order decompositions differ by O(1/m^2): 4x m -> ~16x smaller gap
    gaps = []
    for m in (32, 128):
        r = glm_regularizer(h, gamma=2.0, beta=0.3, m=m)
        gaps.append(np.abs(r.approx_expected_loss(1.0)
                           - r.approx_expected_loss(1.0, around="noise_free")))
    assert np.all(gaps[1][h != 0] * 10 < gaps[0][h != 0])
    assert np.all(gaps[0][h == 0] == 0)


@pytest.mark.parametrize("family", ["logistic", "poisson"])
def test_second_order_error_falls_like_m_squared(family):
    """The neglected terms are O(E(eta - E eta)^3, ^4) = O(1/m^2)."""
    eps = 0.1 if family == "poisson" else 0.0   # small eps: see test_poisson_breakdown
    for around in ("mean", "noise_free"):   # eta0 = gamma h/sqrt(1+eps) + beta
        errs = []
        for m in (64, 128, 256):
            reg = glm_regularizer(1.0, gamma=1.5, beta=0.2, m=m, family=family, eps=eps)
            ex = expected_glm_loss(1.0, 1.0, gamma=1.5, beta=0.2, m=m, family=family, eps=eps)
            errs.append(abs(reg.approx_expected_loss(1.0, around=around) - ex))
        assert 3.0 < errs[0] / errs[1] < 5.0 and 3.0 < errs[1] / errs[2] < 5.0, around


@settings(max_examples=40)
@given(h=st.floats(-4, 4), y=st.floats(0, 1), gamma=st.floats(-5, 5), beta=st.floats(-3, 3),
       m=st.integers(2, 300), eps=st.sampled_from([0.0, 1e-5, 1e-2]))
def test_logistic_jensen_and_no_nan(h, y, gamma, beta, m, eps):
    """Jensen: E A(eta) >= A(E eta) (A convex); nothing is ever NaN."""
    ex = float(expected_glm_loss(h, y, gamma=gamma, beta=beta, m=m, eps=eps))
    reg = glm_regularizer(h, gamma=gamma, beta=beta, m=m, eps=eps)
    for v in (ex, reg.penalty, reg.var_eta, reg.mean_eta, reg.bias, reg.penalty_noise_free,
              reg.approx_expected_loss(y), reg.approx_expected_loss(y, around="noise_free")):
        assert not np.isnan(v)
    assert reg.penalty >= 0
    if math.isfinite(ex) and math.isfinite(reg.mean_eta):
        e = float(reg.mean_eta)
        plain = float(np.logaddexp(0, e) - y * e)
        assert ex >= plain - 1e-9 * max(1.0, abs(plain))


# ---------------------------------------------------------------- divergence
def test_divergence_conditions():
    kw = dict(gamma=1.0, beta=0.0)
    assert expected_glm_loss(0.5, 1.0, m=2, **kw) == math.inf                 # E|eta| = inf
    assert math.isfinite(expected_glm_loss(0.5, 1.0, m=3, **kw))
    assert expected_glm_loss(0.5, 1.0, m=3, family="squared", **kw) == math.inf
    assert math.isfinite(expected_glm_loss(0.5, 1.0, m=4, family="squared", **kw))
    for m in (2, 8, 1000):
        assert expected_glm_loss(0.5, 1.0, m=m, family="poisson", **kw) == math.inf
        assert math.isfinite(expected_glm_loss(0.5, 1.0, m=m, family="poisson", eps=1e-2, **kw))
    assert math.isfinite(expected_glm_loss(0.5, 1.0, m=2, eps=1e-5, **kw))
    # gamma = 0: eta = beta exactly, finite for every family and m
    for fam in ("logistic", "squared", "poisson"):
        assert expected_glm_loss(0.5, 1.0, gamma=0.0, beta=0.3, m=2, family=fam) == \
            pytest.approx(float(_family_loss(fam, 0.3, 1.0)), rel=1e-13)
    # mixed arrays: elementwise
    out = expected_glm_loss(0.5, 1.0, gamma=[0.0, 1.0], beta=0.0, m=2)
    assert np.isfinite(out[0]) and out[1] == math.inf
    # formula: infinite variance -> R = inf, never NaN (also when E eta = +-inf)
    reg = glm_regularizer([0.0, 1.0], gamma=[1.0, 1.0], beta=0.0, m=2)
    assert np.all(reg.penalty == np.inf) and reg.mean_eta[0] == 0.0
    assert reg.mean_eta[1] == math.inf
    assert glm_regularizer(1.0, gamma=0.0, beta=0.0, m=2).penalty == 0.0


def _family_loss(fam, eta, y):
    return {"logistic": np.logaddexp(0, eta), "squared": eta * eta / 2,
            "poisson": np.exp(eta)}[fam] - y * eta


def test_momentum_zero_is_bn_and_momentum_is_continuous():
    a = expected_glm_loss(0.7, 1.0, gamma=2.0, beta=0.1, m=8, momentum=0.0)
    b = expected_glm_loss(0.7, 1.0, gamma=2.0, beta=0.1, m=8, momentum=1e-9)
    assert a == pytest.approx(b, rel=1e-7)
    # more momentum -> less noise -> smaller penalty
    pens = [glm_regularizer(0.7, gamma=2.0, beta=0.1, m=8, momentum=lam).penalty
            for lam in (0.0, 0.5, 0.75)]
    assert pens[0] > pens[1] > pens[2]


@pytest.mark.slow
def test_mbn_quadrature_against_gamma_law_monte_carlo():
    """With momentum the quadrature uses N(0, s2) x moment-matched Gamma: sample that."""
    m, lam = 4, 0.75
    from noise_theory import ema_mean_noise, ema_variance_noise

    rng = np.random.default_rng(7)
    n = 400_000
    xi_mu = ema_mean_noise(m, lam).rvs(size=n, random_state=rng)
    xi_s = ema_variance_noise(m, lam).approx_gamma.rvs(size=n, random_state=rng)
    h, y, g, b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 0.0, 0.3]), 2.5, -0.5
    eta = g * (h[:, None] - xi_mu) / np.sqrt(xi_s) + b
    loss = np.logaddexp(0, eta) - y[:, None] * eta
    ex = expected_glm_loss(h, y, gamma=g, beta=b, m=m, momentum=lam)
    z = (loss.mean(axis=1) - ex) / (loss.std(axis=1) / math.sqrt(n))
    assert np.all(np.abs(z) < 4.5), z


# ---------------------------------------------------------------- user families
def test_user_family_routes():
    """A user family goes through Gauss-Hermite: exact for polynomials, and equal to the
    built-in logistic path where the inner normal is narrow (large m)."""
    quad = GLMFamily("sq", A=lambda e: 0.5 * e * e, A1=lambda e: e,
                     A2=lambda e: np.ones_like(e), growth=2.0)
    h = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(
        expected_glm_loss(h, 0.3, gamma=1.2, beta=0.1, m=6, family=quad),
        expected_glm_loss(h, 0.3, gamma=1.2, beta=0.1, m=6, family="squared"), rtol=1e-11)
    logi = GLMFamily("logi", A=lambda e: np.logaddexp(0, e), A1=special.expit,
                     A2=lambda e: special.expit(e) * special.expit(-e), growth=1.0)
    np.testing.assert_allclose(
        expected_glm_loss(h, 1.0, gamma=1.2, beta=0.1, m=64, family=logi),
        expected_glm_loss(h, 1.0, gamma=1.2, beta=0.1, m=64), rtol=1e-9)
    reg_u = glm_regularizer(h, gamma=1.2, beta=0.1, m=64, family=logi)
    reg_b = glm_regularizer(h, gamma=1.2, beta=0.1, m=64)
    np.testing.assert_allclose(reg_u.penalty, reg_b.penalty, rtol=1e-14)
    # growth decides divergence: quartic needs E xi^-2 < inf, i.e. m > 5
    quartic = GLMFamily("quartic", A=lambda e: e ** 4 / 12, A1=lambda e: e ** 3 / 3,
                        A2=lambda e: e * e, growth=4.0)
    assert expected_glm_loss(1.0, 0.0, gamma=1.0, beta=0.0, m=5, family=quartic) == math.inf
    assert math.isfinite(expected_glm_loss(1.0, 0.0, gamma=1.0, beta=0.0, m=6, family=quartic))


def test_quartic_user_family_against_moments():
    """E eta^4/12 from independent moments: E(h - xi_mu)^4 E u^4 etc. (beta = 0)."""
    quartic = GLMFamily("quartic", A=lambda e: e ** 4 / 12, A1=lambda e: e ** 3 / 3,
                        A2=lambda e: e * e, growth=4.0)
    m, h, g = 9, 0.8, 1.3
    s2 = 1 / m
    e_num4 = h ** 4 + 6 * h * h * s2 + 3 * s2 * s2          # E (h - xi_mu)^4
    law = stats.gamma((m - 1) / 2, scale=2 / m)
    e_u4 = law.expect(lambda v: v ** -2.0)                   # E xi^-2 (scipy quad)
    exact = g ** 4 * e_num4 * e_u4 / 12
    assert expected_glm_loss(h, 0.0, gamma=g, beta=0.0, m=m, family=quartic) == \
        pytest.approx(exact, rel=1e-8)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(m=1), ValueError, r"`m` must be an integer >= 2; got m=1"),
    (dict(m=[4, 8]), TypeError, r"`m` must be a single integer"),
    (dict(momentum=1.0), ValueError, r"`momentum` must be a real number >= 0.0 and < 1.0"),
    (dict(eps=-1.0), ValueError, r"`eps` must be a real number >= 0.0"),
    (dict(family="logit"), ValueError, r"`family` must be one of .*Did you mean 'logistic'"),
    (dict(family=3), TypeError, r"`family` must be one of"),
    (dict(gamma=np.nan), ValueError, r"`gamma` must be a real number"),
    (dict(h="a"), TypeError, r"`h` must be a real number"),
])
def test_errors(kwargs, exc, match):
    args = dict(h=1.0, gamma=1.0, beta=0.0, m=8)
    args.update(kwargs)
    h = args.pop("h")
    with pytest.raises(exc, match=match):
        glm_regularizer(h, **args)
    with pytest.raises(exc, match=match):
        expected_glm_loss(h, 1.0, **args)


def test_errors_y_and_family_growth():
    with pytest.raises(ValueError, match=r"`y` must be a real number >= 0.0 and <= 1.0; got y=2.0"):
        expected_glm_loss(1.0, 2.0, gamma=1.0, beta=0.0, m=8)
    with pytest.raises(ValueError, match=r"`y` must be a real number >= 0.0; got y=-1.0"):
        expected_glm_loss(1.0, -1.0, gamma=1.0, beta=0.0, m=8, family="poisson", eps=0.1)
    bad = GLMFamily("bad", A=np.exp, A1=np.exp, A2=np.exp, growth=-1.0)
    with pytest.raises(ValueError, match=r"`family.growth` must be a real number > 0"):
        glm_regularizer(1.0, gamma=1.0, beta=0.0, m=8, family=bad)
    with pytest.raises(ValueError, match=r"`around` must be one of 'mean', 'noise_free'"):
        glm_regularizer(1.0, gamma=1.0, beta=0.0, m=8).approx_expected_loss(1.0, around="x")


def test_poisson_breakdown_with_small_eps():
    """Poisson: E e^eta is dominated by rare batches with tiny variance (u^2 in the
    exponent), so for small eps the exact expectation dwarfs the second-order formula
    even at large m - while for moderate eps the formula is good."""
    kw = dict(gamma=1.5, beta=0.2, family="poisson")
    ok = expected_glm_loss(1.0, 1.0, m=256, eps=1e-5, **kw)
    approx = glm_regularizer(1.0, m=256, eps=1e-5, **kw).approx_expected_loss(1.0)
    assert abs(approx - ok) < 1e-3 * ok
    assert expected_glm_loss(1.0, 1.0, m=128, eps=1e-5, **kw) > 1e100
    assert expected_glm_loss(1.0, 1.0, m=16, eps=1e-5, **kw) == math.inf   # > 1.8e308
