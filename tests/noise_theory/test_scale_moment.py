"""scale_moment: closed form (eps = 0) and log-space quadrature (eps > 0) vs mpmath
reference values, scipy's Gamma moments, direct quadrature in sigma_B^2, Monte Carlo of BN
batches and the large-m asymptotics."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from noise_theory import scale_moment, variance_noise

# Reference values, 40 digits with mpmath (printed to 20):
#
#   import mpmath as mp
#   mp.mp.dps = 40
#   def ref(m, p, ddof, eps):
#       k = mp.mpf(m - 1) / 2; th = mp.mpf(2) / (m - ddof); p = mp.mpf(p); eps = mp.mpf(eps)
#       if eps == 0:
#           return th ** (-p / 2) * mp.gamma(k - p / 2) / mp.gamma(k)
#       mu = k * th; sd = mp.sqrt(k) * th
#       f = lambda x: mp.exp(-p / 2 * mp.log(x + eps) + (k - 1) * mp.log(x) - x / th
#                            - mp.loggamma(k) - k * mp.log(th))
#       pts = [0] + [x for x in (mu - 40 * sd, mu - 8 * sd, mu - sd, mu, mu + sd,
#                                mu + 8 * sd, mu + 40 * sd) if x > 0] + [mp.inf]
#       return mp.quad(f, pts)
#   for c in cases: print(c, mp.nstr(ref(*c), 20))
REFERENCE = [
    # (m, power, ddof, eps, value)
    (3, 1, 0, 0, 2.1708037636748029781),
    (4, 2, 0, 0, 4.0),
    (4, 2, 1, 0, 3.0),
    (10, 2.5, 0, 0, 1.638633644217138475),
    (2, -3, 1, 0, 1.5957691216057307118),
    (10**7, 1, 0, 0, 1.0000001250000228125),
    (10**7, 2, 1, 0, 1.00000020000006),
    (2, 2, 0, 1e-5, 558.50471332564765053),
    (2, 1, 0, 1e-3, 4.355935077284727065),
    (3, 2, 0, 1e-5, 15.795626470476480102),
    (5, 4.5, 1, 0.01, 18.505295514134819279),
    (8, -2, 0, 0.5, 1.375),
    (10**7, 2, 0, 1e-5, 0.99999030009208914513),
    (10**6, 1, 1, 0.001, 0.99950112281757291313),
    # tiny eps at small m (breakpoints at eps/mu0 added to the mpmath quadrature):
    (2, 1, 0, 1e-8, 10.849230024519605476),
    (2, 12, 0, 1e-12, 4.3618981487123086931e+65),
    (4, 5, 1, 1e-10, 13819765911.183145153),
    (7, 40, 0, 1e-3, 7.3696037850447075862e+48),
]


@pytest.mark.parametrize("m,power,ddof,eps,value", REFERENCE)
def test_matches_mpmath_reference(m, power, ddof, eps, value):
    assert scale_moment(m, power, ddof=ddof, eps=eps) == pytest.approx(value, rel=1e-12)


def test_vectorised_call_matches_reference_table():
    m, p, d, e, v = (np.array(c) for c in zip(*REFERENCE))
    np.testing.assert_allclose(scale_moment(m, p, ddof=d, eps=e), v, rtol=1e-12)


# ---------------------------------------------------------------- named closed forms
@pytest.mark.parametrize("m", [3, 4, 5, 8, 33, 1000])
def test_theory_md_closed_forms(m):
    # E[sigma/sigma_B] = sqrt(m/2) Gamma((m-2)/2)/Gamma((m-1)/2) (via scipy's gamma)
    c1 = math.sqrt(m / 2) * special.gamma((m - 2) / 2) / special.gamma((m - 1) / 2) \
        if m < 300 else math.sqrt(m / 2) * math.exp(math.lgamma((m - 2) / 2) - math.lgamma((m - 1) / 2))
    assert scale_moment(m, 1) == pytest.approx(c1, rel=1e-12)
    assert scale_moment(m, -2) == pytest.approx((m - 1) / m, rel=1e-13)
    assert scale_moment(m, -4) == pytest.approx(2 * (m - 1) / m**2 + ((m - 1) / m) ** 2, rel=1e-13)
    if m > 3:
        assert scale_moment(m, 2) == pytest.approx(m / (m - 3), rel=1e-13)
        assert scale_moment(m, 2, ddof=1) == pytest.approx((m - 1) / (m - 3), rel=1e-13)


def test_divergence_is_inf_exactly_when_eps_is_zero_and_power_reaches_m_minus_1():
    m = np.arange(2, 12)
    assert np.all(np.isinf(scale_moment(m, m - 1)))
    assert np.all(np.isinf(scale_moment(m, m - 1 + 0.5)))
    below = scale_moment(m, m - 1 - 1e-3)
    assert np.all(np.isfinite(below)) and np.all(below > 10)
    assert np.all(np.isfinite(scale_moment(m, m - 1, eps=1e-8)))
    assert scale_moment(2, 1) == np.inf and scale_moment(3, 2) == np.inf
    assert scale_moment(4, 2) == pytest.approx(4.0)


def test_eps_to_zero_is_continuous_and_monotone():
    eps = np.array([1e-1, 1e-2, 1e-4, 1e-7, 1e-10, 0.0])
    vals = scale_moment(16, 2, eps=eps)
    assert np.all(np.diff(vals) > 0)
    assert vals[-2] == pytest.approx(vals[-1], rel=1e-8)


# ---------------------------------------------------------------- independent routes
@given(m=st.integers(2, 3000), j=st.integers(1, 4), ddof=st.integers(0, 1))
def test_negative_even_powers_are_scipy_gamma_moments(m, j, ddof):
    # E[xi^j] from scipy's Gamma law (its own moment formula) vs power = -2j
    law = variance_noise(m, ddof=ddof)
    assert scale_moment(m, -2 * j, ddof=ddof) == pytest.approx(law.moment(j), rel=1e-12)


@given(m=st.integers(2, 10**7), power=st.floats(-20, 60), ddof=st.integers(0, 1))
def test_gamma_recursion(m, power, ddof):
    # Gamma(z + 1) = z Gamma(z):  M(p - 2) = theta (k - p/2) M(p)
    k, theta = (m - 1) / 2, 2 / (m - ddof)
    here = scale_moment(m, power, ddof=ddof)
    lower = scale_moment(m, power - 2, ddof=ddof)
    if power >= m - 1:
        assert here == np.inf
    else:
        assert np.isfinite(here) and here > 0
        assert lower == pytest.approx(theta * (k - power / 2) * here, rel=1e-11)


def _quad_in_sigma2(m, power, ddof, eps):
    """E[(xi + eps)^(-p/2)] by plain quadrature in xi of the Gamma((m-1)/2, 2/(m-ddof)) pdf."""
    law = variance_noise(m, ddof=ddof)
    k, theta = (m - 1) / 2, 2 / (m - ddof)
    log_norm = math.lgamma(k) + k * math.log(theta)

    def f(x):
        return math.exp(-power / 2 * math.log(x + eps) + (k - 1) * math.log(x) - x / theta - log_norm)

    pts = sorted({float(law.ppf(q)) for q in (1e-3, 0.5, 1 - 1e-4)}
                 | {eps * 10.0**j for j in (-2, -1, 0, 1, 2)})
    opts = dict(epsabs=0, epsrel=1e-11, limit=200)
    # [0, pts[0]] with x = y^(1/k): pdf(x) dx = pdf(x) x^(1-k)/k dy has no singularity at 0
    head = integrate.quad(lambda y: f(y ** (1 / k)) * y ** (1 / k - 1) / k, 0, pts[0] ** k, **opts)[0]
    pieces = list(zip(pts[:-1], pts[1:])) + [(pts[-1], np.inf)]
    return head + sum(integrate.quad(f, a, b, **opts)[0] for a, b in pieces)


@settings(max_examples=25)
@given(m=st.integers(2, 400), power=st.floats(-6, 12), ddof=st.integers(0, 1),
       log_eps=st.floats(-6, 0))
def test_eps_quadrature_matches_direct_quadrature_of_the_pdf(m, power, ddof, log_eps):
    eps = 10.0**log_eps
    got = scale_moment(m, power, ddof=ddof, eps=eps)
    assert got == pytest.approx(_quad_in_sigma2(m, power, ddof, eps), rel=1e-9)


@pytest.mark.parametrize("m,power,eps,seed", [
    (2, 1, 1e-3, 1), (3, 1, 0.0, 2), (5, 2, 0.0, 3), (4, 2, 1e-2, 4), (16, -1, 0.1, 5)])
def test_monte_carlo_of_bn_batches(m, power, eps, seed):
    rng = np.random.default_rng(seed)
    sigma = 1.7
    x = rng.normal(-2.0, sigma, size=(200_000, m))
    s = (sigma**2 / (x.var(axis=1) + eps * sigma**2)) ** (power / 2)
    se = s.std(ddof=1) / np.sqrt(s.size)
    assert abs(s.mean() - scale_moment(m, power, eps=eps)) < 5 * se


# ---------------------------------------------------------------- large m
@pytest.mark.parametrize("m", [10**5, 10**6, 10**7])
@pytest.mark.parametrize("power", [-4, -1, 1, 2, 3])
def test_large_m_matches_asymptotic_expansion(m, power):
    # xi = Q/m, Q ~ chi2(m-1): E xi^-s = (m/(m-1))^s Gamma(k-s)/(Gamma(k) k^-s)
    #   = 1 + s(s+2)/m + O(1/m^2)             (s = power/2)
    s = power / 2
    got = scale_moment(m, power)
    assert np.isfinite(got)
    assert abs(got - (1 + s * (s + 2) / m)) < 10 * (1 + s**4) / m**2
    # with eps: E (xi + eps)^-s ~ (mu + eps)^-s [1 + s(s+1)/2 var/(mu + eps)^2]
    eps = 1e-3
    mu, var = (m - 1) / m, 2 * (m - 1) / m**2
    approx = (mu + eps) ** -s * (1 + s * (s + 1) / 2 * var / (mu + eps) ** 2)
    got_eps = scale_moment(m, power, eps=eps)
    assert np.isfinite(got_eps)
    assert abs(got_eps - approx) < 10 * (1 + s**4) / m**2


def test_quadrature_is_quiet_over_a_wide_grid():
    # no IntegrationWarning / RuntimeWarning anywhere on a grid of hard cases
    m = np.array([2, 3, 4, 30, 10**4, 10**7])[:, None, None, None]
    p = np.array([-20, -1, 0.5, 1, 2, 12, 40])[None, :, None, None]
    d = np.array([0, 1])[None, None, :, None]
    e = np.array([1e-12, 1e-5, 1.0, 100.0])[None, None, None, :]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = scale_moment(m, p, ddof=d, eps=e)
    assert out.shape == (6, 7, 2, 4) and np.all(np.isfinite(out)) and np.all(out > 0)


def test_broadcasting_shape_and_scalar_type():
    out = scale_moment(np.array([[4], [8], [16]]), np.array([1, 2]), eps=np.array([[0.0], [0.0], [1e-3]]))
    assert out.shape == (3, 2)
    assert out[0, 1] == pytest.approx(4.0) and out[1, 1] == pytest.approx(1.6)
    assert isinstance(scale_moment(8, 1), float)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("args,kwargs,exc,msg", [
    ((1, 1), {}, ValueError, r"^`m` must be an integer >= 2; got m=1\.$"),
    ((4.5, 1), {}, ValueError, r"^`m` must be an integer >= 2; got m=4\.5\.$"),
    ((4, np.nan), {}, ValueError, r"^`power` must be a real number; got power=nan\.$"),
    ((4, "2"), {}, TypeError, r"^`power` must be a real number; got power='2'\.$"),
    ((4, 1), dict(eps=-1e-5), ValueError, r"^`eps` must be a real number >= 0\.0; got eps=-1e-05\.$"),
    ((4, 1), dict(eps=np.inf), ValueError, r"^`eps` must be a real number >= 0\.0; got eps=inf\.$"),
    ((4, 1), dict(ddof=4), ValueError, r"^`ddof` must be smaller than `m`; got ddof=4, m=4\.$"),
    (([2, 3], 1), dict(ddof=[1, 3]), ValueError,
     r"^`ddof` must be smaller than `m`; got ddof=\[1, 3\], m=\[2, 3\]\.$"),
])
def test_errors(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        scale_moment(*args, **kwargs)


def test_monte_carlo_check_can_fail():
    # the unbiased-variance moment is rejected for BN's biased variance at m = 5
    rng = np.random.default_rng(9)
    x = rng.normal(size=(200_000, 5))
    s = 1.0 / x.var(axis=1)
    se = s.std(ddof=1) / np.sqrt(s.size)
    assert abs(s.mean() - scale_moment(5, 2, ddof=1)) > 5 * se
    assert stats.norm.sf(abs(s.mean() - scale_moment(5, 2)) / se) > 1e-6


@pytest.mark.parametrize("m,eps,seed", [(2, 1e-5, 61), (3, 1e-3, 62), (8, 0.05, 63)])
def test_eps_shrinks_in_batch_variance_as_theory_says(m, eps, seed):
    # docs/theory.md (1.7): sum z_i^2 = m Q/(Q + c), c = m eps, Q ~ chi2(m-1), so
    # E z^2 = 1 - c E[1/(Q + c)] = 1 - eps * scale_moment(m, 2, eps=eps)
    rng = np.random.default_rng(seed)
    x = rng.normal(5.0, 3.0, size=(400_000, m)) / 3.0  # population units
    z = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    per_batch = (z**2).mean(axis=1)
    se = per_batch.std(ddof=1) / math.sqrt(per_batch.size)
    theory = 1 - eps * scale_moment(m, 2, eps=eps)
    assert abs(per_batch.mean() - theory) < 5 * se
    assert abs(per_batch.mean() - 1.0) > 5 * se  # the deficit is resolved
    if m == 2:
        assert 1 - theory == pytest.approx(0.0056, abs=5e-5)  # "~0.56% at m = 2, eps = 1e-5"



def test_values_beyond_float_range_are_inf_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert scale_moment(2, -2000) == np.inf          # E[xi^1000] ~ 10^2567
        assert scale_moment(2, 2000, eps=1e-12) == np.inf
        assert scale_moment(2, -2000, eps=1.0) == np.inf
        assert np.isfinite(scale_moment(2, -200))
