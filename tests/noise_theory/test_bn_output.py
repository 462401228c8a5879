"""bn_output: the in-batch law vs mpmath references (through the Student-t route),
quadrature of its pdf, real BN batches (invariants and Monte Carlo), and the out-of-batch
t / noncentral t laws vs Monte Carlo and vs scale_moment."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from noise_theory import bn_output, in_batch_output, scale_moment

K_SE = 5.0

# In-batch pdf and cdf, 40 digits with mpmath, through an independent route: with
# T ~ t(m-2) (externally studentised residual) the in-batch output is
# z = sqrt(m-1) T / sqrt(T^2 + m - 2), i.e. T = z sqrt((m-2)/(m-1-z^2)):
#
#   import mpmath as mp
#   mp.mp.dps = 40
#   def t_pdf(T, nu):
#       return (mp.gamma((nu + 1) / 2) / (mp.sqrt(nu * mp.pi) * mp.gamma(nu / 2))
#               * (1 + T**2 / nu) ** (-(nu + 1) / 2))
#   def z_pdf(z, m):
#       m = mp.mpf(m); z = mp.mpf(z); nu = m - 2
#       T = z * mp.sqrt(nu / (m - 1 - z**2))
#       dT = mp.diff(lambda u: u * mp.sqrt(nu / (m - 1 - u**2)), z)
#       return t_pdf(T, nu) * dT
#   def z_cdf(z, m):
#       return mp.mpf(1) / 2 + mp.quad(lambda u: z_pdf(u, m), [0, z])
#   def z_sf(z, m):
#       return mp.quad(lambda u: z_pdf(u, m), [z, mp.sqrt(m - 1)])
REF_PDF_CDF = [  # (m, z, pdf, cdf)
    (3, 0.5, 0.24061965677016707991, 0.61502672808130794261),
    (3, -1.4, 1.5915494309189533577, 0.045167235300866548351),
    (4, 1.2, 0.28867513459481288225, 0.84641016151377545871),
    (10, -2.5, 0.010400814829103795153, 0.0013731933370484682213),
    (50, 3.0, 0.0036901227883821995825, 0.99904907802105265746),
    (1000, 1.0, 0.24209188151459055796, 0.84122354862340770282),
]
REF_SF = [  # (m, z, sf): far tails
    (50, 6.9, 4.28225630826022395e-39),
    (10, 2.9, 2.5940857910379515318e-6),
    (5, 1.99, 0.00021204736472562189861),
]


def _bn_batches(m, n, seed):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 2, size=(n, 1))
    sigma = rng.uniform(0.5, 2, size=(n, 1))
    x = mu + sigma * rng.standard_normal((n, m))
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True), rng


# ---------------------------------------------------------------- in-batch: references
@pytest.mark.parametrize("m,z,pdf,cdf", REF_PDF_CDF)
def test_in_batch_matches_mpmath(m, z, pdf, cdf):
    law = bn_output(m)
    assert law.pdf(z) == pytest.approx(pdf, rel=1e-12)
    assert law.cdf(z) == pytest.approx(cdf, rel=1e-12)
    assert law.sf(-z) == pytest.approx(cdf, rel=1e-12)


@pytest.mark.parametrize("m,z,sf", REF_SF)
def test_in_batch_tails_match_mpmath(m, z, sf):
    law = bn_output(m)
    assert law.sf(z) == pytest.approx(sf, rel=1e-10)
    assert law.cdf(-z) == pytest.approx(sf, rel=1e-10)
    assert law.isf(sf) == pytest.approx(z, rel=1e-10)


@given(m=st.integers(3, 10**6), z=st.floats(-0.999, 0.999))
def test_in_batch_cdf_is_student_t_cdf_after_transform(m, z):
    # independent route: scipy's t(m-2) cdf at T(z)
    r = math.sqrt(m - 1)
    zz = z * min(r, 40.0)
    T = zz * math.sqrt((m - 2) / (m - 1 - zz * zz))
    law = bn_output(m)
    assert law.cdf(zz) == pytest.approx(stats.t(m - 2).cdf(T), rel=1e-9, abs=1e-300)


# ---------------------------------------------------------------- in-batch: identities
@pytest.mark.parametrize("m", [3, 4, 5, 8, 30, 200])
def test_in_batch_pdf_integrates_to_one_and_moments_by_quadrature(m):
    law = bn_output(m)
    r = math.sqrt(m - 1)
    # z = r sin(theta) removes the (1 - z^2/r^2)^((m-4)/2) end-point singularity (m = 3)
    def moment(n):
        f = lambda th: (r * math.sin(th)) ** n * law.pdf(r * math.sin(th)) * r * math.cos(th)  # noqa: E731
        return integrate.quad(f, -math.pi / 2, math.pi / 2, epsabs=1e-14, epsrel=1e-11, limit=200)[0]

    assert moment(0) == pytest.approx(1.0, rel=1e-10)
    assert abs(moment(1)) < 1e-12
    assert moment(2) == pytest.approx(1.0, rel=1e-10)
    assert moment(4) == pytest.approx(3 * (m - 1) / (m + 1), rel=1e-10)
    assert moment(6) == pytest.approx(law.moment(6), rel=1e-10)
    # orders >= 5 come from _munp (not _stats): odd ones vanish by symmetry
    assert law.moment(5) == 0.0 and law.moment(7) == 0.0
    assert law.moment(4) == pytest.approx(3 * (m - 1) / (m + 1), rel=1e-13)
    mean, var, skew, kurt = law.stats("mvsk")
    assert (mean, var, skew) == (0.0, 1.0, 0.0)
    assert kurt == pytest.approx(3 * (m - 1) / (m + 1) - 3, rel=1e-13)
    assert law.support() == pytest.approx((-r, r))


@given(m=st.integers(3, 10**7), p=st.floats(1e-12, 1 - 1e-12))
def test_in_batch_cdf_ppf_roundtrip(m, p):
    law = bn_output(m)
    z = law.ppf(p)
    assert abs(z) <= math.sqrt(m - 1)
    # near the bound at small m one ulp of z can hold more probability than 1e-8 p
    ulp_mass = law.cdf(np.nextafter(z, np.inf)) - law.cdf(np.nextafter(z, -np.inf))
    assert abs(law.cdf(z) - p) <= 1e-8 * p + ulp_mass
    assert abs(law.sf(z) - (1 - p)) <= 1e-8 * (1 - p) + ulp_mass
    assert law.isf(p) == -z


def test_in_batch_large_m_is_finite_and_matches_edgeworth():
    # m = 1e7: pdf ~ phi(z) (1 + k4/24 He4(z)), k4 = -6/(m+1); error O(1/m^2)
    m = 10**7
    law = bn_output(m)
    z = np.linspace(-6, 6, 25)
    k4 = -6 / (m + 1)
    he4 = z**4 - 6 * z**2 + 3
    edgeworth = stats.norm.pdf(z) * (1 + k4 / 24 * he4)
    got = law.pdf(z)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, edgeworth, rtol=0, atol=1e-11)
    assert np.max(np.abs(got - stats.norm.pdf(z))) > 1e-8  # the 1/m term is resolved
    np.testing.assert_allclose(law.cdf(z), stats.norm.cdf(z), rtol=0, atol=1e-7)
    assert np.isfinite(law.ppf(1e-10)) and law.ppf(0.5) == 0.0


def test_in_batch_broadcasts_over_m():
    m = np.array([3, 5, 17])
    law = bn_output(m)
    assert law.var().shape == (3,)
    np.testing.assert_allclose(law.stats("k"), -6 / (m + 1))
    np.testing.assert_allclose(law.support()[1], np.sqrt(m - 1))
    assert in_batch_output.pdf(0.3, 6) == pytest.approx(bn_output(6).pdf(0.3))


# ---------------------------------------------------------------- in-batch: real BN
@pytest.mark.parametrize("m", [2, 3, 4, 9, 64])
def test_in_batch_invariants_on_real_batches(m):
    z, _ = _bn_batches(m, 5_000, seed=100 + m)
    np.testing.assert_allclose(z.sum(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose((z**2).sum(axis=1), m, rtol=1e-12)
    assert np.all(np.abs(z) <= math.sqrt(m - 1) * (1 + 1e-9))
    assert np.max(np.abs(z)) > 0.5 * math.sqrt(m - 1)  # the bound is approached
    if m == 2:
        np.testing.assert_allclose(np.abs(z), 1.0, rtol=1e-9)


@pytest.mark.parametrize("m,seed", [(3, 1), (4, 2), (6, 3), (20, 4)])
def test_in_batch_law_matches_monte_carlo(m, seed):
    z, _ = _bn_batches(m, 30_000, seed)
    law = bn_output(m)
    sample = z[:, 0]  # one output per batch: independent draws
    assert stats.kstest(sample, law.cdf).pvalue > 1e-3
    z4 = sample**4
    assert abs(z4.mean() - 3 * (m - 1) / (m + 1)) < K_SE * z4.std(ddof=1) / math.sqrt(z4.size)
    # the out-of-batch t law is NOT the in-batch law (small m): the test can fail
    assert stats.kstest(sample, bn_output(m, model="out_of_batch").cdf).pvalue < 1e-6


@pytest.mark.parametrize("m,seed", [(3, 5), (7, 6), (40, 7)])
def test_in_batch_rvs_match_law(m, seed):
    law = bn_output(m)
    draws = law.rvs(size=20_000, random_state=np.random.default_rng(seed))
    assert np.all(np.abs(draws) <= math.sqrt(m - 1))
    assert stats.kstest(draws, law.cdf).pvalue > 1e-3
    z, _ = _bn_batches(m, 20_000, seed)
    assert stats.ks_2samp(draws, z[:, 0]).pvalue > 1e-3


def test_m_equal_2_is_a_two_point_law():
    law = bn_output(2)
    assert law.pmf(-1) == 0.5 and law.pmf(1) == 0.5 and law.pmf(0) == 0.0
    assert law.mean() == 0.0 and law.var() == 1.0
    assert law.cdf(-1) == 0.5 and law.cdf(0.99) == 0.5 and law.cdf(1) == 1.0
    draws = law.rvs(size=1000, random_state=np.random.default_rng(3))
    assert set(np.unique(draws)) == {-1, 1}
    assert bn_output([2, 2]).pmf(1) == 0.5 and bn_output(2) is not law  # no shared state


# ---------------------------------------------------------------- out of batch
def _out_of_batch_sample(m, n, seed, x=None):
    rng = np.random.default_rng(seed)
    batch = rng.standard_normal((n, m))
    xs = rng.standard_normal(n) if x is None else np.full(n, x)
    return (xs - batch.mean(axis=1)) / batch.std(axis=1)


@pytest.mark.parametrize("m,x,seed", [(3, None, 1), (5, None, 2), (30, None, 3),
                                      (3, 0.0, 4), (4, 1.5, 5), (10, -2.0, 6)])
def test_out_of_batch_law_matches_monte_carlo(m, x, seed):
    sample = _out_of_batch_sample(m, 30_000, seed, x)
    law = bn_output(m, x=x, model="out_of_batch")
    assert stats.kstest(sample, law.cdf).pvalue > 1e-3


@given(m=st.integers(4, 10**6), x=st.floats(-5, 5))
def test_out_of_batch_moments_match_scale_moments(m, x):
    # E out = x E[sigma/sigma_B];  E out^2 = (x^2 + 1/m) E[sigma^2/sigma_B^2]  (independence)
    law = bn_output(m, x=x, model="out_of_batch")
    c1, c2 = scale_moment(m, 1), scale_moment(m, 2)
    assert law.mean() == pytest.approx(x * c1, rel=1e-9, abs=1e-12)
    assert law.var() == pytest.approx((x * x + 1 / m) * c2 - (x * c1) ** 2, rel=1e-7)
    assert bn_output(m, model="out_of_batch").var() == pytest.approx((m + 1) / (m - 3), rel=1e-12)


def test_out_of_batch_divergent_variance_is_inf():
    for m in (2, 3):
        assert bn_output(m, model="out_of_batch").var() == np.inf
        assert bn_output(m, x=0.7, model="out_of_batch").var() == np.inf
    assert np.isnan(bn_output(2, model="out_of_batch").mean())  # Cauchy: no mean
    assert np.isnan(bn_output(2, x=1.0, model="out_of_batch").mean())
    assert bn_output(3, model="out_of_batch").mean() == 0.0
    np.testing.assert_allclose(bn_output(np.array([2, 3, 5]), model="out_of_batch").var(),
                               [np.inf, np.inf, 3.0], rtol=1e-14)


def test_out_of_batch_broadcasts_over_m_and_x():
    law = bn_output(np.array([[4], [8]]), x=np.array([0.0, 1.0, 2.0]), model="out_of_batch")
    assert law.mean().shape == (2, 3)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("args,kwargs,exc,msg", [
    ((1,), {}, ValueError, r"^`m` must be an integer >= 2; got m=1\.$"),
    ((3.5,), {}, ValueError, r"^`m` must be an integer >= 2; got m=3\.5\.$"),
    ((4,), dict(model="in-batch"), ValueError,
     r"^`model` must be one of 'in_batch', 'out_of_batch'; got model='in-batch'\. "
     r"Did you mean 'in_batch', 'out_of_batch'\?$"),
    ((4,), dict(model="gaussian"), ValueError,
     r"^`model` must be one of 'in_batch', 'out_of_batch'; got model='gaussian'\.$"),
    ((4,), dict(x=1.0), ValueError,
     r"^`x` is only used with model='out_of_batch' .*; got x=1\.0\.$"),
    ((4,), dict(x=np.nan, model="out_of_batch"), ValueError,
     r"^`x` must be a real number >= -1e\+100 and <= 1e\+100; got x=nan\.$"),
    ((4,), dict(x="a", model="out_of_batch"), TypeError,
     r"^`x` must be a real number >= -1e\+100 and <= 1e\+100; got x='a'\.$"),
    (([2, 4],), {}, ValueError, r"^`m` = 2 gives a two-point law .*; got m=\[2, 4\]\.$"),
])
def test_errors(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        bn_output(*args, **kwargs)
