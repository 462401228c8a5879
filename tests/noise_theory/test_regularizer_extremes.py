"""Extremes of the BN/MBN regulariser: momentum up to 1 - 2**-53, m up to 1e18, huge
|h|, |gamma|, |beta|, NaN inputs, and the public helpers (noise_law, glm_family, ...).

Every test here failed on the code before the fix it guards (see the branch report).
"""

import math
import time

import numpy as np
import pytest

import noise_theory as nt
from noise_theory import (
    expected_glm_loss,
    glm_divergence_reason,
    glm_family,
    glm_regularizer,
    noise_law,
    regularizer_strength,
    validate_glm_inputs,
)

# ---------------------------------------------------------------- mpmath references
# Generated with mpmath 1.3 at dps = 60 by
#
#   import mpmath as mp
#   mp.mp.dps = 60
#   def ref_strength(m, lam):                    # eps = 0, the Gamma law of noise_law
#       lam = mp.mpf(lam); r = (1 + lam)/(1 - lam)    # lam: the float passed in
#       k, th = r*(m - 1)/2, 2/(r*m)
#       c1 = mp.exp(mp.loggamma(k - mp.mpf(1)/2) - mp.loggamma(k))/mp.sqrt(th)
#       c2 = 1/(th*(k - 1))
#       return c1, c2, c2 - c1**2
STRENGTH_REFS = [
    ((8, 0.0), (1.2036044449018800788, 1.6, 0.15133634021243712153)),
    ((8, 0.9), (1.0751210075516247852, 1.1603053435114503775, 0.0044201626326295391015)),
    ((8, 0.999999), (1.0690450249199965608, 1.1428573061225539406, 4.0816357872917116614e-8)),
    ((8, 1 - 1e-12), (1.0690449676497548077, 1.1428571428573061188, 4.0815423603291686495e-14)),
    ((8, 1 - 2**-40), (1.0690449676497496257, 1.1428571428572913461, 3.7122232725451567121e-14)),
    ((8, 1 - 2**-53), (1.0690449676496975451, 1.1428571428571428753, 4.5315225494904352452e-18)),
    ((2, 1 - 2**-53), (1.4142135623730951077, 2.000000000000000222, 5.5511151231257841658e-17)),
    ((3, 0.5), (1.4099784044799377826, 2.25, 0.26196089890020896629)),
    ((64, 0.0), (1.0201058867497951041, 1.049180327868852459, 0.0085643076872666644662)),
    ((10**12, 0.0), (1.00000000000125, 1.000000000003, 5.00000000002875e-13)),
    ((2**62 - 1, 0.0), (1.0000000000000000003, 1.0000000000000000007,
                        1.0842021724855044356e-19)),
]


@pytest.mark.parametrize("case, ref", STRENGTH_REFS)
def test_strength_matches_mpmath_up_to_momentum_one(case, ref):
    m, momentum = case
    s = regularizer_strength(m, momentum=momentum)
    # measured: <= 4.4e-16; the old gammaln difference was off by 1e-2 .. 1e8
    assert s.c1 == pytest.approx(ref[0], rel=1e-13)
    assert s.c2 == pytest.approx(ref[1], rel=1e-13)
    assert s.var_h2 == pytest.approx(ref[2], rel=1e-12)


@pytest.mark.parametrize("m", [2, 3, 8, 64, 10**6])
def test_strength_monotone_in_momentum_up_to_the_last_float(m):
    # 1 - momentum halves at each step: var_h2 and var_const must halve (asymptotically)
    mom = [1.0 - 2.0 ** -j for j in range(1, 54)]
    s = [regularizer_strength(m, momentum=x) for x in mom]
    vh = np.array([x.var_h2 for x in s])
    vc = np.array([x.var_const for x in s])
    assert np.all(np.isfinite(vh)) and np.all(vh > 0)
    assert np.all(np.diff(vh) < 0) and np.all(np.diff(vc) < 0)
    ratio = vh[20:] / vh[19:-1]        # (1 - lam) halves: r ~ 2/(1 - lam) doubles
    np.testing.assert_allclose(ratio, 0.5, rtol=1e-5)
    c1 = np.array([x.c1 for x in s])
    assert np.all(np.diff(c1) <= 0) and c1[-1] == pytest.approx(math.sqrt(m / (m - 1)), rel=1e-14)


def test_strength_eps_positive_near_momentum_one_is_consistent():
    # eps > 0, k > 25: standardised quadrature; must approach the eps = 0 closed form as
    # eps -> 0 and stay monotone in momentum (old code: 0.0 or non-monotone values)
    for m in (8, 64):
        mom = [1.0 - 10.0 ** -j for j in range(2, 16)]
        vh = np.array([regularizer_strength(m, momentum=x, eps=1e-3).var_h2 for x in mom])
        assert np.all(vh > 0) and np.all(np.diff(vh) < 0)
        a = regularizer_strength(m, momentum=1 - 1e-9, eps=1e-300)
        b = regularizer_strength(m, momentum=1 - 1e-9)
        assert a.c1 == pytest.approx(b.c1, rel=1e-13)
        assert a.var_h2 == pytest.approx(b.var_h2, rel=1e-10)


def test_strength_eps_positive_two_routes_at_large_shape():
    # k = (m-1)/2 > 25 with eps > 0: c1, c2 by the standardised rule against scale_moment
    # (adaptive quadrature in _bn), and var_h2 against their difference where it is safe
    for m in (60, 1000, 10**5):
        s = regularizer_strength(m, eps=1e-3)
        assert s.c1 == pytest.approx(float(nt.scale_moment(m, 1, eps=1e-3)), rel=1e-12)
        assert s.c2 == pytest.approx(float(nt.scale_moment(m, 2, eps=1e-3)), rel=1e-12)
        if m == 60:
            assert s.var_h2 == pytest.approx(s.c2 - s.c1 ** 2, rel=1e-9)


def test_strength_and_loss_bounded_time_at_the_extremes():
    t0 = time.perf_counter()
    for mom in (1 - 2**-53, 0.999999):
        for eps in (0.0, 1e-5):
            regularizer_strength(8, momentum=mom, eps=eps)
            expected_glm_loss([-1.0, 1.0], 1.0, gamma=2.0, beta=0.0, m=8, momentum=mom, eps=eps)
    expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=2**62 - 1)
    assert time.perf_counter() - t0 < 5.0        # measured ~0.1 s


# ---------------------------------------------------------------- large m
@pytest.mark.parametrize("family, y, eps", [("logistic", 1.0, 0.0), ("logistic", 0.3, 0.0),
                                            ("squared", 0.5, 0.0), ("poisson", 2.0, 1e-3)])
@pytest.mark.parametrize("m", [10**6, 10**9, 10**12, 10**15, 10**18])
def test_expected_loss_at_huge_m_matches_the_expansion(family, y, eps, m):
    # Independent route: the second-order expansion around the noise-free output is exact
    # up to O(1/m^2) (1e-12 relative at m = 1e6), computed from the closed-form c1, c2.
    # The old tanh-sinh rule was off by 1e-3 at m = 1e12 and 56 (absolute) at 1e18.
    kw = dict(gamma=2.0, beta=-0.3, m=m, family=family, eps=eps)
    got = expected_glm_loss(0.8, y, **kw)
    ref = glm_regularizer(0.8, **kw).approx_expected_loss(y, around="noise_free")
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-300)


def test_squared_loss_at_huge_m_and_momentum_near_one_matches_closed_form():
    # squared loss: E loss = (E eta^2)/2 - y E eta exactly, from c1, c2 (mpmath-checked)
    h, y, g, b = 0.7, 0.4, 1.5, 0.2
    for m, mom in [(10**6, 0.0), (10**12, 0.0), (10**18, 0.0), (8, 1 - 1e-12), (8, 1 - 2**-53)]:
        s = regularizer_strength(m, momentum=mom)
        e1 = b + g * h * s.c1
        e2 = b * b + 2 * b * g * h * s.c1 + g * g * ((h * h + s.mean_noise_var) * s.c2)
        got = expected_glm_loss(h, y, gamma=g, beta=b, m=m, family="squared", momentum=mom)
        assert got == pytest.approx(0.5 * e2 - y * e1, rel=1e-12)


def test_expected_loss_converges_monotonically_to_the_noise_free_loss():
    ms = [10**j for j in range(2, 13)]
    free = float(np.logaddexp(0.0, -2.0))          # h = 1, gamma = 2, beta = 0, y = 1
    excess = np.array([expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=m) for m in ms]) - free
    assert np.all(excess > 0) and np.all(np.diff(excess) < 0)
    scaled = excess[:-2] * np.array(ms[:-2], dtype=float)   # O(1/m): m * excess -> constant
    np.testing.assert_allclose(scaled[2:], scaled[-1], rtol=1e-3)
    for m in (10**15, 10**18):
        assert expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=m) == pytest.approx(free, rel=1e-14)


def test_expected_loss_near_momentum_one_tends_to_noise_free():
    free = float(np.logaddexp(0.0, -2.0))
    mom = [1.0 - 10.0 ** -j for j in range(1, 16)] + [1 - 2**-53]
    vals = np.array([expected_glm_loss(1.0, 1.0, gamma=2.0, beta=0.0, m=8, momentum=x)
                     for x in mom])
    # the limit is loss(gamma h sqrt(m/(m-1))) (xi_sigma -> its mean (m-1)/m, no noise)
    lim = float(np.logaddexp(0.0, -2.0 * math.sqrt(8 / 7)))
    assert np.all(np.diff(vals - lim) < 1e-16) and vals[-1] == pytest.approx(lim, rel=1e-13)
    assert lim < free


# ---------------------------------------------------------------- no NaN
def test_huge_h_is_a_number_not_nan():
    # eta ~ 2e200 > 0: the logistic loss with y = 1 is softplus(-eta) = 0 (old: NaN)
    assert expected_glm_loss(1e200, 1, gamma=2, beta=0, m=8) == 0.0
    # catastrophic cancellation E A(eta) - y E eta at h = 1e10 (old: ~1e-6 rounding noise)
    assert 0.0 <= expected_glm_loss(1e10, 1, gamma=2, beta=0, m=8) < 1e-300
    assert expected_glm_loss(1e200, 0, gamma=2, beta=0, m=8) == pytest.approx(
        2e200 * regularizer_strength(8).c1, rel=1e-10)


@pytest.mark.parametrize("family", ["squared", "logistic", "poisson"])
def test_extreme_sweep_never_nan(family):
    vals = [0.0, 1e-300, 1.0, 1e10, 1e200, 1e308]
    hs = np.array(vals + [-v for v in vals[1:]])
    gammas = np.array([0.0, 1e-300, 2.0, -2.0, 1e200, -1e308])[:, None, None]
    betas = np.array([0.0, 1e300, -1.7e308])[:, None, None, None]
    y = {"squared": 1.5, "logistic": 0.5, "poisson": 2.0}[family]
    for m, eps, mom in [(2, 0.0, 0.0), (3, 1e-5, 0.0), (8, 0.0, 0.9), (10**6, 1e-5, 0.0)]:
        if True:
            if True:
                kw = dict(gamma=gammas, beta=betas, m=m, family=family, eps=eps, momentum=mom)
                e = expected_glm_loss(hs, y, **kw)
                assert not np.any(np.isnan(e)), (m, eps, mom)
                reg = glm_regularizer(hs, **kw)
                for f in ("mean_eta", "var_eta", "penalty", "shift", "bias",
                          "penalty_noise_free"):
                    assert not np.any(np.isnan(getattr(reg, f))), (f, m, eps, mom)
                for around in ("mean", "noise_free"):
                    assert not np.any(np.isnan(reg.approx_expected_loss(y, around=around)))
                if glm_divergence_reason(m, family=family, momentum=mom, eps=eps):
                    assert np.all(np.isinf(e[:, 1:])) or family == "poisson"


def test_divergence_reason_public():
    assert glm_divergence_reason(8) is None
    assert glm_divergence_reason(2) == ("logistic loss grows like |eta|^1 and "
                                        "E[xi_sigma^(-1/2)] = inf (Gamma shape 0.5 <= 0.5; eps = 0)")
    assert "for every m" in glm_divergence_reason(10**6, family="poisson")
    assert glm_divergence_reason(10**6, family="poisson", eps=1e-9) is None
    assert glm_divergence_reason(3, family="squared", momentum=0.5) is None
    with pytest.raises(ValueError, match=r"`momentum` must be a real number >= 0.0 and < 1.0"):
        glm_divergence_reason(3, momentum=1.0)


# ---------------------------------------------------------------- validation
def test_approx_expected_loss_validates_y_like_expected_glm_loss():
    reg = glm_regularizer(1.0, gamma=2.0, beta=0.0, m=8)
    msg = r"`y` must be a real number >= 0.0 and <= 1.0; got y=5.0\."
    with pytest.raises(ValueError, match=msg):
        reg.approx_expected_loss(5.0)          # old: returned -12.54
    with pytest.raises(ValueError, match=msg):
        expected_glm_loss(1.0, 5.0, gamma=2.0, beta=0.0, m=8)
    pois = glm_regularizer(1.0, gamma=1.0, beta=0.0, m=8, family="poisson", eps=1e-3)
    with pytest.raises(ValueError, match=r"`y` must be a real number >= 0.0; got y=-1.0"):
        pois.approx_expected_loss(-1.0)


def test_nan_h_is_refused_with_one_clear_message():
    h = np.array([np.nan, 1.0, np.nan])
    msg = r"`h` must be a real number \(finite, not NaN\); got NaN in 2 of 3 value\(s\) of h\."
    with pytest.raises(ValueError, match=msg):
        expected_glm_loss(h, 1.0, gamma=1.0, beta=0.0, m=8)
    with pytest.raises(ValueError, match=msg):
        glm_regularizer(h, gamma=1.0, beta=0.0, m=8)
    with pytest.raises(ValueError, match=msg):
        validate_glm_inputs(h, 1.0, gamma=1.0, beta=0.0, m=8)
    with pytest.raises(ValueError, match=r"`h` must be a real number; got h=inf"):
        glm_regularizer(np.inf, gamma=1.0, beta=0.0, m=8)


# ---------------------------------------------------------------- public helpers
def test_validate_glm_inputs_is_the_shared_validator():
    v = validate_glm_inputs([0.0, 1.0], [[0.0], [1.0]], gamma=2, beta=0, m=8.0,
                            family="squared", momentum=0.5, eps=0)
    h, y, gamma, _beta, m, fam, momentum, eps = v
    assert h.shape == y.shape == gamma.shape == (2, 2) and m == 8 and type(m) is int
    assert fam is glm_family("squared") and momentum == 0.5 and eps == 0.0
    assert v.family is fam and isinstance(v, nt.GLMInputs)
    from noise_theory._noise_law import _expected_glm_loss_iv

    old = _expected_glm_loss_iv(1.0, 1.0, 2.0, 0.0, 8, "logistic", 0.0, 0.0)
    assert old.m == 8 and old.family.name == "logistic"
    with pytest.raises(TypeError, match=r"`m` must be a single integer"):
        validate_glm_inputs(1.0, 1.0, gamma=1, beta=0, m=[4, 8])


def test_glm_family_and_alias():
    from noise_theory._families import FAMILIES, get_family

    for name, fam in FAMILIES.items():
        assert glm_family(name) is fam and get_family(name) is fam and glm_family(fam) is fam
    with pytest.raises(ValueError, match=r"`family` must be one of .*Did you mean 'poisson'"):
        glm_family("poison")
    with pytest.raises(TypeError, match=r"`family` must be one of"):
        glm_family(None)
    bad = nt.GLMFamily("b", A=np.exp, A1=np.exp, A2=np.exp, growth=True)
    with pytest.raises(ValueError, match=r"`family.growth` must be a real number > 0"):
        glm_family(bad)


def test_noise_law_public_and_exact_moments():
    from noise_theory._noise_law import _noise_law, _NoiseLaw

    for m, mom in [(2, 0.0), (8, 0.0), (8, 0.9), (5, 1 - 2**-53)]:
        law = noise_law(m, momentum=mom)
        assert law == _noise_law(m, mom) and isinstance(law, _NoiseLaw)
        r = (1 + mom) / (1 - mom)
        assert law.shape * law.scale == pytest.approx((m - 1) / m, rel=1e-15)
        assert law.s2 == pytest.approx(1 / (r * m), rel=1e-15)
        assert law.approximate == (mom > 0) and law.mean == (m - 1) / m
        if mom:  # the same moment-matched law as ema_variance_noise
            g = nt.ema_variance_noise(m, mom).approx_gamma
            assert law.shape == pytest.approx(g.kwds["a"], rel=1e-14)
            assert law.scale == pytest.approx(g.kwds["scale"], rel=1e-14)
    with pytest.raises(ValueError, match=r"`m` must be an integer >= 2; got m=1"):
        noise_law(1)
    with pytest.raises(TypeError):
        noise_law(8, 0.5)                                  # momentum is keyword-only
