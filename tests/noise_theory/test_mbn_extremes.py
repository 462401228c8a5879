"""Extremes of noise_theory._mbn: the exact variance-noise law on its whole domain, tails,
bounded cost for momentum near 1 and huge m, and input holes.

Independent routes: mpmath Talbot inversion (50 digits), the exact partial-fraction sum at
m = 3 (mpmath, 40 digits), scipy's Gamma law at momentum 0, a Cornish-Fisher/Edgeworth
expansion with the exact cumulants near momentum 1 and at huge m, the previous truncated
product quadrature for mbn_output_moments, and its first-order expansion near momentum 1.
"""

import time
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from noise_theory import (
    effective_batch_size,
    ema_mean_noise,
    ema_variance_noise,
    ema_variance_noise_cdf,
    ema_variance_noise_sf,
    mbn_output_moments,
    noise_trajectory,
)

# Reference CDF values by mpmath Talbot inversion of L(s)/s at 50 digits:
#   import mpmath as mp; mp.mp.dps = 50
#   def cdf(x, m, lam, ddof=0):
#       k = mp.mpf(m - 1) / 2; th = mp.mpf(2) / (m - ddof); lam = mp.mpf(lam); c0 = (1 - lam) * th
#       def F(s):
#           tot = mp.mpf(0); c = c0
#           while abs(c * s) > mp.mpf(10) ** -30:
#               tot += mp.log(1 + c * s); c *= lam
#           tot += c * s / (1 - lam)  # remaining terms to first order (error < |cs|^2/(1-lam^2))
#           return mp.exp(-k * tot) / s
#       return mp.invertlaplace(F, mp.mpf(x), method='talbot')
#   sf = 1 - cdf (50 digits, so 1 - cdf keeps > 35 digits at these sizes)
TALBOT = [
    # m, lam, ddof, x, cdf, sf
    (4, 0.9, 0, 0.1875, 2.59613813972465611963811e-12, 0.9999999999974038618602753),
    (4, 0.9, 0, 0.5, 0.02044534375037892965376849, 0.9795546562496210703462315),
    (4, 0.9, 0, 0.75, 0.5328828628754100250145197, 0.4671171371245899749854803),
    (4, 0.9, 0, 1.2, 0.9962836799490906241818141, 0.003716320050909375818185905),
    (4, 0.9, 0, 2.0, 0.9999999945755486782931372, 5.424451321706862828618177e-9),
    (2, 0.1, 0, 0.0001, 0.00000297313681858690622062728, 0.9999970268631814130937794),
    (2, 0.1, 0, 0.05, 0.1384870807567599036470935, 0.8615129192432400963529065),
    (2, 0.1, 0, 0.5, 0.6793564767659134666907464, 0.3206435232340865333092536),
    (2, 0.1, 0, 2.0, 0.9624767383137752835916414, 0.03752326168622471640835855),
    (2, 0.1, 0, 6.0, 0.999722484573564893083628, 0.0002775154264351069163719532),
    (2, 0.5, 1, 0.01, 0.000001596255526384536293314001, 0.9999984037444736154637067),
    (2, 0.5, 1, 0.3, 0.1329471050683957057570312, 0.8670528949316042942429688),
    (2, 0.5, 1, 1.0, 0.6282589204672198776539343, 0.3717410795327801223460657),
    (2, 0.5, 1, 4.0, 0.9902521598614971578178868, 0.009747840138502842182113244),
]

# m = 3: exact partial fractions (generating code in tests/test_mbn_theory.py, dps 40;
# the last point re-checked at dps 60 with 300 terms): far tails, both sides
PARTIAL_FRACTIONS = [
    # m, lam, ddof, x, cdf, sf
    (3, 0.5, 0, 5.0, 0.9999989407380978296164, 0.000001059261902170383631902),
    (3, 0.5, 0, 10.0, 0.999999999999675969227, 3.240307730148333851035e-13),
    (3, 0.8, 1, 4.0, 0.9999994044569685757866, 5.955430314242133844913e-7),
    (3, 0.8, 0, 0.05, 1.774714908577884048395e-12, 0.9999999999982252850914),
]


@pytest.mark.parametrize("m, lam, ddof, x, cdf, sf", TALBOT + PARTIAL_FRACTIONS)
def test_cdf_and_sf_have_relative_accuracy_in_both_tails(m, lam, ddof, x, cdf, sf):
    # item 1 (m=2, momentum=0.1 was refused), item 2 (the far lower tail at m=4,
    # lambda=0.9, x = mean/4, p=2.6e-12, was 6e-5 off), and the upper tail via sf
    assert ema_variance_noise_cdf(x, m, lam, ddof=ddof) == pytest.approx(cdf, rel=1e-11, abs=0)
    assert ema_variance_noise_sf(x, m, lam, ddof=ddof) == pytest.approx(sf, rel=1e-11, abs=0)


def test_cdf_broadcasts_over_x_m_momentum_and_ddof():
    x = np.array([0.3, 0.75, 1.5])
    m = np.array([[2], [4]])
    lam = np.array([0.0, 0.5, 0.9])[:, None, None]
    out = ema_variance_noise_cdf(x, m, lam)
    assert out.shape == (3, 2, 3)
    for i, j, k in np.ndindex(out.shape):
        assert out[i, j, k] == ema_variance_noise_cdf(x[k], m[j, 0], lam[i, 0, 0])
    assert isinstance(ema_variance_noise_cdf(0.5, 4, 0.9), float)
    assert ema_variance_noise_cdf([], 4, 0.9).shape == (0,)
    unb = ema_variance_noise_cdf(1.0, 4, 0.9, ddof=[0, 1])
    assert unb[1] == ema_variance_noise_cdf(1.0, 4, 0.9, ddof=1) and unb[0] > unb[1]


@pytest.mark.parametrize("m", [2, 3, 4, 17, 1000, 10**5])
@pytest.mark.parametrize("ddof", [0, 1])
def test_momentum_zero_is_the_gamma_law(m, ddof):
    law = stats.gamma((m - 1) / 2, scale=2 / (m - ddof))
    x = law.ppf([1e-10, 0.01, 0.5, 0.99]).tolist() + [law.isf(1e-10)]
    np.testing.assert_allclose(ema_variance_noise_cdf(x, m, 0.0, ddof=ddof), law.cdf(x),
                               rtol=1e-12)
    np.testing.assert_allclose(ema_variance_noise_sf(x, m, 0.0, ddof=ddof), law.sf(x),
                               rtol=1e-12)
    # continuity: a tiny momentum moves the body of the law by O(momentum * mean / x)
    # (the far lower tail moves much more: every term must then be small, e.g. at m = 2
    # P(X <= x) ~ P(xi_0 <= x) P(lambda xi_1 <= x))
    np.testing.assert_allclose(ema_variance_noise_cdf(x[2:], m, 1e-9, ddof=ddof),
                               law.cdf(x[2:]), rtol=1e-7)


def test_special_points_and_errors():
    x = [-np.inf, -1.0, 0.0, np.inf]
    np.testing.assert_array_equal(ema_variance_noise_cdf(x, 2, 0.1), [0, 0, 0, 1])
    np.testing.assert_array_equal(ema_variance_noise_sf(x, 2, 0.1), [1, 1, 1, 0])
    with pytest.raises(ValueError, match=r"`x` must be a real number; got x=nan"):
        ema_variance_noise_cdf(np.nan, 4, 0.5)
    with pytest.raises(ValueError, match=r"`momentum` must be a real number >= 0 and < 1; "
                                         r"got momentum=1.0"):
        ema_variance_noise_cdf(0.5, 4, 1.0)
    with pytest.raises(ValueError, match=r"`momentum` must be .*nan"):
        ema_variance_noise_sf(0.5, 4, float("nan"))
    with pytest.raises(ValueError, match=r"`m` must be an integer >= 2; got m=1"):
        ema_variance_noise_cdf(0.5, 1, 0.5)
    with pytest.raises(ValueError, match=r"`ddof` must be smaller than `m`"):
        ema_variance_noise_cdf(0.5, 4, 0.5, ddof=4)
    with pytest.raises(TypeError, match=r"`x` must be a real number"):
        ema_variance_noise_cdf("0.5", 4, 0.5)
    # tiny x: 0 exactly when the Chernoff bound is below the float range ...
    assert ema_variance_noise_cdf(5e-324, 4, 0.9) == 0.0
    assert ema_variance_noise_cdf(1e-300, 4, 1 - 1e-12) == 0.0
    # ... and refused only where the saddle point would overflow and the tail is not
    # negligible (tiny momentum, x below ~ c0 1e-300)
    with pytest.raises(ValueError, match=r"`x` is too small to evaluate the lower tail"):
        ema_variance_noise_cdf(1e-300, 2, 1e-300)


@given(m=st.integers(2, 10**6), lam=st.floats(0, 1 - 1e-9),
       t=st.lists(st.floats(-30, 30), min_size=2, max_size=5), ddof=st.integers(0, 1))
def test_cdf_properties(m, lam, t, ddof):
    # 0 <= F <= 1, F + sf = 1, F non-decreasing, over mean + t sd (and the support edge)
    noise = ema_variance_noise(m, lam, ddof=ddof)
    x = np.sort(noise.mean + np.array(t) * np.sqrt(noise.var))
    f = ema_variance_noise_cdf(x, m, lam, ddof=ddof)
    sf = ema_variance_noise_sf(x, m, lam, ddof=ddof)
    assert np.all((f >= 0) & (f <= 1))
    np.testing.assert_allclose(f + sf, 1.0, rtol=0, atol=4e-16)
    assert np.all(np.diff(f) >= -1e-15)


def _cornish_edgeworth(x, m, lam, ddof):
    """Edgeworth expansion of the CDF with the exact cumulants (to kappa_4 and kappa_3^2).

    kappa_n(X) = (1-lam)^n / (1-lam^n) * kappa_n(xi), kappa_n(xi) = k (n-1)! theta^n,
    k = (m-1)/2, theta = 2/(m-ddof); the error is O(kappa_5-order), i.e.
    O(((1-lam)/k)^(3/2)).
    """
    k, th = (m - 1) / 2, 2 / (m - ddof)
    d = 1 - lam
    def share(n):  # (1-lam)^n / (1-lam^n)
        return 1.0 if lam == 0 else d**n / -np.expm1(n * np.log1p(-d))

    kap = {n: share(n) * k * special.factorial(n - 1) * th**n for n in (2, 3, 4)}
    sd = np.sqrt(kap[2])
    # x - mean without losing digits when the mean rounds to 1
    z = ((x - 1.0) + (1 - ddof) / (m - ddof)) / sd
    g1, g2 = kap[3] / sd**3, kap[4] / sd**4
    he2, he3, he5 = z**2 - 1, z**3 - 3 * z, z**5 - 10 * z**3 + 15 * z
    return stats.norm.cdf(z) - stats.norm.pdf(z) * (g1 / 6 * he2 + g2 / 24 * he3
                                                    + g1**2 / 72 * he5)


@pytest.mark.parametrize("m, lam", [(4, 0.99999), (2, 1 - 1e-9), (4, 1 - 1e-12),
                                    (2, 1 - 2**-53), (10**18, 0.5), (2**62 - 1, 0.0),
                                    (10**12, 1 - 1e-6), (10**18, 1 - 2**-53)])
@pytest.mark.parametrize("ddof", [0, 1])
def test_near_normal_regimes_match_edgeworth(m, lam, ddof):
    # item 3: ema_variance_noise_cdf(0.75, 4, 0.99999) was a 45.7 GiB MemoryError; now
    # the law near momentum 1 and at huge m is computed in bounded time and matches the
    # Edgeworth expansion to its own error O(((1-lam)/k)^(3/2))
    noise = ema_variance_noise(m, lam, ddof=ddof)
    x = noise.mean + np.array([-6.0, -2.0, -0.5, 0.0, 0.5, 2.0, 6.0]) * np.sqrt(noise.var)
    t0 = time.perf_counter()
    f = ema_variance_noise_cdf(x, m, lam, ddof=ddof)
    elapsed = time.perf_counter() - t0
    ref = _cornish_edgeworth(x, m, lam, ddof)
    tol = 50 * ((1 - lam) / ((m - 1) / 2)) ** 1.5 + 1e-13
    np.testing.assert_allclose(f, ref, rtol=0, atol=tol)
    assert elapsed < 20  # ~0.1 s here; generous for loaded CI machines


def test_worst_inputs_bounded_memory_and_time():
    # item 3: peak memory of the worst accepted inputs (numpy allocations are traced)
    cases = [
        lambda: ema_variance_noise_cdf(0.75, 4, 0.99999),
        lambda: ema_variance_noise_cdf(0.75, 4, 1 - 1e-12),
        lambda: ema_variance_noise_cdf(np.linspace(0.5, 1.0, 200), 2, 0.999),
        lambda: ema_variance_noise_sf(3.0, 2, 0.99),
        lambda: ema_variance_noise_cdf(1e-10, 2, 0.1),
        lambda: mbn_output_moments(4, 0.999999),
        lambda: mbn_output_moments(4, 1 - 1e-12),
        lambda: mbn_output_moments(2, 1 - 2**-53),
    ]
    for call in cases:
        tracemalloc.start()
        t0 = time.perf_counter()
        call()
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 200 * 2**20
        assert elapsed < 30


# ---------------------------------------------------------------- mbn_output_moments
def _old_output_second_moment(m, lam, eps):
    """The previous method (weights truncated at 1e-13, tail to first order, scipy quad):
    an independent route at moderate momentum (its cost grows like 1/(1 - lam))."""
    nu = 0.5 * (m - 1.0)
    if lam == 0.0:
        w, tail = np.array([1.0]), 0.0
    else:
        n = int(np.ceil(np.log(1e-13) / np.log(lam))) + 1
        w = (1.0 - lam) * lam ** np.arange(n)
        tail = lam**n
    c = 2.0 / m

    def log_laplace(s):
        return -nu * (np.log1p(c * s * w).sum() + c * s * tail) - s * eps

    opts = {"limit": 400, "epsabs": 0.0, "epsrel": 1e-11}
    own = integrate.quad(lambda s: (m - 1.0) / m * np.exp(log_laplace(s)
                                                          - np.log1p(c * s * w[0])),
                         0.0, np.inf, **opts)[0]
    a = 2.0 * lam**2 / ((1.0 + lam) * m)
    hist = integrate.quad(lambda s: np.exp(log_laplace(s)), 0.0, np.inf, **opts)[0]
    return a * hist + own


@pytest.mark.parametrize("m", [2, 3, 4, 8, 32, 1000])
@pytest.mark.parametrize("lam", [0.01, 0.3, 0.7, 0.9, 0.99, 0.999])
@pytest.mark.parametrize("eps", [0.0, 1e-3, 0.5])
def test_output_moments_match_the_old_quadrature(m, lam, eps):
    ref = _old_output_second_moment(m, lam, eps)
    assert mbn_output_moments(m, lam, eps=eps).var == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize("m", [2, 4, 16, 10**6])
def test_output_moments_near_momentum_one(m):
    # item 3: mbn_output_moments(4, 0.999999) took minutes, 1 - 1e-12 a MemoryError.
    # As lambda -> 1 the running statistics freeze at (0, (m-1)/m):
    #   E z^2 = m/(m-1) - delta (5/2 - 1/(m-1)) / (m-1) + O(delta^2),  delta = 1 - lambda
    # (delta method on E[a/D^2 + xi_0/D^2], a = 2 lambda^2/((1+lambda) m),
    #  Var D^2 = delta/(1+lambda) 2(m-1)/m^2, Cov(xi_0, D^2) = delta 2(m-1)/m^2)
    for delta in [1e-3, 1e-4, 1e-6, 1e-9, 1e-12, 2.0**-53]:
        v = mbn_output_moments(m, 1 - delta).var
        asym = m / (m - 1) - delta * (2.5 - 1 / (m - 1)) / (m - 1)
        assert abs(v - asym) <= 3.0 * delta**2 + 4e-16


# ---------------------------------------------------------------- holes in the other functions
def test_noise_trajectory_refuses_empty_momenta():
    # item 4: was an IndexError
    with pytest.raises(ValueError, match=r"`momenta` must be a non-empty"):
        noise_trajectory(4, [])
    with pytest.raises(ValueError, match=r"`momenta` must be a non-empty"):
        noise_trajectory(4, np.zeros(0), start="fixed")
    with pytest.raises(ValueError, match=r"`momenta` must be a real number >= 0 and < 1"):
        noise_trajectory(4, [0.5, float("nan")])


@pytest.mark.parametrize("m", [2, 10**18, 2**62 - 1])
@pytest.mark.parametrize("lam", [0.0, 0.5, 1 - 2**-53])
def test_closed_forms_at_extremes(m, lam):
    # exact expressions stay finite and right at huge m and momentum = 1 - 2**-53
    f = (1 - lam) / (1 + lam)
    assert effective_batch_size(m, lam) == pytest.approx(m / f, rel=1e-15)
    assert ema_mean_noise(m, lam).var() == pytest.approx(f / m, rel=1e-14)
    noise = ema_variance_noise(m, lam)
    assert noise.mean == pytest.approx((m - 1) / m, rel=1e-15)
    assert noise.var == pytest.approx(f * 2 * (m - 1) / m**2, rel=1e-14)
    assert np.isfinite(noise.approx_gamma.kwds["a"])
    out = mbn_output_moments(m, lam)
    assert np.isfinite(out.var) and 1 - 1e-12 <= out.var <= m / (m - 1) + 1e-12


@pytest.mark.parametrize("call", [
    lambda: effective_batch_size(4, 1.0),
    lambda: ema_mean_noise(4, float("nan")),
    lambda: ema_variance_noise(4, float("nan")),
    lambda: mbn_output_moments(4, 1.0),
    lambda: mbn_output_moments(4, float("nan")),
    lambda: noise_trajectory(4, [1.0]),
])
def test_momentum_one_and_nan_are_refused(call):
    with pytest.raises(ValueError, match=r"`moment(um|a)` must be a real number >= 0 and < 1"):
        call()
