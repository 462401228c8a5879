"""mean_noise and variance_noise: closed forms vs Monte Carlo of real BN batches vs
numerical integration of the pdf, plus every error message."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from noise_theory import mean_noise, variance_noise

K_SE = 5.0  # Monte Carlo tolerance in standard errors


def _batches(m, n, seed, mu=3.0, sigma=2.0):
    rng = np.random.default_rng(seed)
    return rng.normal(mu, sigma, size=(n, m)), mu, sigma


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("m", [1, 2, 3, 7, 64, 10**7])
def test_mean_noise_is_normal_with_variance_1_over_m(m):
    law = mean_noise(m)
    assert law.dist.name == "norm"
    assert law.mean() == 0.0
    assert law.var() == pytest.approx(1.0 / m, rel=1e-14)


@pytest.mark.parametrize("m,ddof", [(2, 0), (2, 1), (3, 0), (5, 1), (32, 0), (10**7, 0), (10**7, 1)])
def test_variance_noise_moments(m, ddof):
    law = variance_noise(m, ddof=ddof)
    assert law.mean() == pytest.approx((m - 1) / (m - ddof), rel=1e-14)
    assert law.var() == pytest.approx(2 * (m - 1) / (m - ddof) ** 2, rel=1e-13)
    # the same law written as a scaled chi-square (docs/theory.md (1.3))
    chi2 = stats.chi2(m - 1, scale=1.0 / (m - ddof))
    for q in (0.01, 0.3, 0.5, 0.9, 0.999):
        assert law.ppf(q) == pytest.approx(chi2.ppf(q), rel=1e-10)


@pytest.mark.parametrize("m,ddof", [(2, 0), (3, 1), (6, 0), (40, 1)])
def test_variance_noise_pdf_integrates_to_one_and_gives_the_moments(m, ddof):
    law = variance_noise(m, ddof=ddof)
    opts = dict(epsabs=0, epsrel=1e-11, limit=200)
    edges = [law.ppf(1e-3), law.median(), law.ppf(1 - 1e-9), np.inf]
    a = (m - 1) / 2

    def integral(g):
        # [0, edges[0]]: algebraic weight x^(a-1) removes the singularity of the pdf at 0
        smooth = law.pdf(edges[0]) / edges[0] ** (a - 1) * np.exp(edges[0] * (m - ddof) / 2)
        head = integrate.quad(lambda x: g(x) * smooth * np.exp(-x * (m - ddof) / 2), 0, edges[0],
                              weight="alg", wvar=(a - 1, 0), **opts)[0]
        return head + sum(integrate.quad(lambda x: g(x) * law.pdf(x), lo, hi, **opts)[0]
                          for lo, hi in zip(edges[:-1], edges[1:]))

    total = integral(lambda x: 1.0)
    first = integral(lambda x: x)
    second = integral(lambda x: x * x)
    assert total == pytest.approx(1.0, rel=1e-9)
    assert first == pytest.approx((m - 1) / (m - ddof), rel=1e-9)
    assert second - first**2 == pytest.approx(2 * (m - 1) / (m - ddof) ** 2, rel=1e-8)


@given(m=st.integers(2, 10**6), data=st.data())
def test_variance_noise_cdf_ppf_roundtrip(m, data):
    ddof = data.draw(st.integers(0, min(m - 1, 3)))
    p = data.draw(st.floats(1e-6, 1 - 1e-6))
    law = variance_noise(m, ddof=ddof)
    assert law.cdf(law.ppf(p)) == pytest.approx(p, rel=1e-8, abs=1e-12)


def test_broadcasting_shapes():
    m = np.array([[2], [4], [8]])
    assert mean_noise(m).var().shape == (3, 1)
    law = variance_noise(m, ddof=np.array([0, 1]))
    np.testing.assert_allclose(law.mean(), (m - 1) / (m - np.array([0, 1])), rtol=1e-14)


# ---------------------------------------------------------------- Monte Carlo of BN
@pytest.mark.parametrize("m,seed", [(2, 11), (5, 12), (32, 13)])
def test_mean_noise_matches_monte_carlo_batches(m, seed):
    x, mu, sigma = _batches(m, 40_000, seed)
    xi = (x.mean(axis=1) - mu) / sigma
    law = mean_noise(m)
    n = xi.size
    se_var = law.var() * np.sqrt(2.0 / (n - 1))
    assert abs(xi.var(ddof=1) - law.var()) < K_SE * se_var
    assert abs(xi.mean()) < K_SE * law.std() / np.sqrt(n)
    assert stats.kstest(xi, law.cdf).pvalue > 1e-3


@pytest.mark.parametrize("m,ddof,seed", [(2, 0, 21), (3, 0, 22), (4, 1, 23), (16, 0, 24)])
def test_variance_noise_matches_monte_carlo_batches(m, ddof, seed):
    x, mu, sigma = _batches(m, 40_000, seed)
    xi = x.var(axis=1, ddof=ddof) / sigma**2
    law = variance_noise(m, ddof=ddof)
    n = xi.size
    assert abs(xi.mean() - law.mean()) < K_SE * law.std() / np.sqrt(n)
    # SE of the sample variance: sqrt((mu4 - var^2)/n) with the Gamma fourth central moment
    a = (m - 1) / 2
    mu4 = law.var() ** 2 * (3 + 6 / a)
    assert abs(xi.var(ddof=1) - law.var()) < K_SE * np.sqrt((mu4 - law.var() ** 2) / n)
    assert stats.kstest(xi, law.cdf).pvalue > 1e-3


def test_mean_and_variance_noise_are_independent_in_monte_carlo():
    # Cochran: zero correlation between xi_mu and xi_sigma, and between xi_mu^2 and xi_sigma
    x, mu, sigma = _batches(4, 100_000, 31)
    xi_mu = (x.mean(axis=1) - mu) / sigma
    xi_s = x.var(axis=1) / sigma**2
    n = xi_mu.size
    for a in (xi_mu, xi_mu**2):
        r = np.corrcoef(a, xi_s)[0, 1]
        assert abs(r) < K_SE / np.sqrt(n)


def test_monte_carlo_check_detects_a_wrong_law():
    # the unbiased (ddof=1) law must be rejected for BN's biased variance at small m
    x, mu, sigma = _batches(3, 40_000, 41)
    xi = x.var(axis=1) / sigma**2
    assert stats.kstest(xi, variance_noise(3, ddof=1).cdf).pvalue < 1e-6


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("bad,exc,msg", [
    (0, ValueError, r"^`m` must be an integer >= 1; got m=0\.$"),
    (2.5, ValueError, r"^`m` must be an integer >= 1; got m=2\.5\.$"),
    ("4", TypeError, r"^`m` must be an integer >= 1; got m='4'\.$"),
    (True, TypeError, r"^`m` must be an integer >= 1; got m=True\.$"),
    ([4, -1], ValueError, r"^`m` must be an integer >= 1; got m=\[4, -1\]\.$"),
])
def test_mean_noise_errors(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        mean_noise(bad)


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(m=1), ValueError, r"^`m` must be an integer >= 2; got m=1\.$"),
    (dict(m=np.nan), ValueError, r"^`m` must be an integer >= 2; got m=nan\.$"),
    (dict(m=4, ddof=-1), ValueError, r"^`ddof` must be an integer >= 0; got ddof=-1\.$"),
    (dict(m=4, ddof=0.5), ValueError, r"^`ddof` must be an integer >= 0; got ddof=0\.5\.$"),
    (dict(m=3, ddof=3), ValueError, r"^`ddof` must be smaller than `m`; got ddof=3, m=3\.$"),
])
def test_variance_noise_errors(kwargs, exc, msg):
    m = kwargs.pop("m")
    with pytest.raises(exc, match=msg):
        variance_noise(m, **kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        variance_noise(4, 1)


@pytest.mark.parametrize("module", ["noise_theory._bn", "noise_theory._output",
                                    "noise_theory._batch_moments"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
