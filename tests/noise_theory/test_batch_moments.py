"""batch_statistics_moments: exact enumeration over all batches of discrete laws (any
skewness/kurtosis, Pearson's bound included), Monte Carlo for continuous laws, and the
Gaussian special case against the scipy laws of mean_noise / variance_noise."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from noise_theory import BatchStatisticsMoments, batch_statistics_moments, mean_noise, variance_noise

K_SE = 5.0


def _enumerate(values, probs, m, ddof):
    """Exact moments of (mu_B, sigma_B^2) over all len(values)^m batches (sigma = 1 units)."""
    values = np.asarray(values, float)
    probs = np.asarray(probs, float)
    mu = probs @ values
    sd = math.sqrt(probs @ (values - mu) ** 2)
    v = (values - mu) / sd
    idx = np.array(list(itertools.product(range(len(v)), repeat=m)))
    x = v[idx]
    w = np.prod(probs[idx], axis=1)
    mean_b = x.mean(axis=1)
    var_b = x.var(axis=1, ddof=ddof)
    e = lambda a: w @ a  # noqa: E731
    em, ev = e(mean_b), e(var_b)
    return dict(mean_mean=em, var_mean=e((mean_b - em) ** 2), mean_var=ev,
                var_var=e((var_b - ev) ** 2), cov=e((mean_b - em) * (var_b - ev)),
                skewness=probs @ v**3, excess_kurtosis=probs @ v**4 - 3)


def _check(got, exact, rtol=1e-9, atol=1e-12):
    for name in ("mean_mean", "var_mean", "mean_var", "var_var", "cov"):
        assert getattr(got, name) == pytest.approx(exact[name], rel=rtol, abs=atol), name


@settings(max_examples=40)
@given(m=st.integers(2, 5), ddof=st.integers(0, 1),
       points=st.lists(st.integers(-6, 6), min_size=2, max_size=4, unique=True),
       data=st.data())
def test_exact_enumeration_of_discrete_laws(m, ddof, points, data):
    weights = data.draw(st.lists(st.integers(1, 9), min_size=len(points), max_size=len(points)))
    probs = np.array(weights, float) / sum(weights)
    exact = _enumerate(points, probs, m, ddof)
    # Pearson's bound can be hit exactly by two-point laws: nudge up for rounding only
    kurt = max(exact["excess_kurtosis"], exact["skewness"] ** 2 - 2)
    got = batch_statistics_moments(m, skewness=exact["skewness"], excess_kurtosis=kurt, ddof=ddof)
    _check(got, exact, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("p", [0.5, 0.2, 0.05])
@pytest.mark.parametrize("m", [2, 3, 6])
def test_two_point_laws_sit_on_pearsons_bound(p, m):
    exact = _enumerate([0, 1], [1 - p, p], m, 0)
    s = (1 - 2 * p) / math.sqrt(p * (1 - p))
    k = (1 - 6 * p * (1 - p)) / (p * (1 - p))
    assert k == pytest.approx(s * s - 2)
    got = batch_statistics_moments(m, skewness=s, excess_kurtosis=max(k, s * s - 2))
    _check(got, exact)
    assert abs(got.corr) < 1
    if m == 2 and p == 0.5:  # standardised values -1, 1: sigma_B^2 is 0 or 1, each w.p. 1/2
        assert got.var_var == pytest.approx(0.25)


@pytest.mark.parametrize("m", [2, 3, 8, 1000, 10**7])
@pytest.mark.parametrize("ddof", [0, 1])
def test_gaussian_case_matches_the_scipy_laws(m, ddof):
    got = batch_statistics_moments(m, ddof=ddof)
    # 1e-12, not 1e-14: scipy computes the law its own way; last bits differ by version
    assert got.var_mean == pytest.approx(mean_noise(m).var(), rel=1e-12)
    law = variance_noise(m, ddof=ddof)
    assert got.mean_var == pytest.approx(law.mean(), rel=1e-12)
    assert got.var_var == pytest.approx(law.var(), rel=1e-12)
    assert got.cov == 0.0 and got.corr == 0.0 and got.mean_mean == 0.0


# Continuous laws with known standardised moments: (name, sampler, skewness, excess kurtosis)
LAWS = [
    ("laplace", lambda r, s: r.laplace(size=s), 0.0, 3.0),
    ("exponential", lambda r, s: r.exponential(size=s), 2.0, 6.0),
    ("uniform", lambda r, s: r.uniform(size=s), 0.0, -1.2),
    ("student_t10", lambda r, s: r.standard_t(10, size=s), 0.0, 1.0),
    ("relu_gauss", lambda r, s: np.maximum(r.standard_normal(s), 0.0), None, None),
]


def _relu_moments():
    # max(Z, 0): raw moments E X^k = E[Z^k; Z > 0] = (1/2, 1/sqrt(2 pi), 1/2, sqrt(2/pi), 3/2)
    r1, r2, r3, r4 = 1 / math.sqrt(2 * math.pi), 0.5, math.sqrt(2 / math.pi), 1.5
    var = r2 - r1**2
    m3 = r3 - 3 * r1 * r2 + 2 * r1**3
    m4 = r4 - 4 * r1 * r3 + 6 * r1**2 * r2 - 3 * r1**4
    return m3 / var**1.5, m4 / var**2 - 3


@pytest.mark.parametrize("m", [3, 8])
@pytest.mark.parametrize("seed,name,sampler,skew,kurt", [(i,) + law for i, law in enumerate(LAWS)],
                         ids=[law[0] for law in LAWS])
def test_monte_carlo_continuous_laws(seed, name, sampler, skew, kurt, m):
    if skew is None:
        skew, kurt = _relu_moments()
    rng = np.random.default_rng([seed, m])
    n = 100_000
    x = sampler(rng, (n, m))
    # population units from the known law, not from the sample
    if name == "laplace":
        mu, sd = 0.0, math.sqrt(2)
    elif name == "exponential":
        mu, sd = 1.0, 1.0
    elif name == "uniform":
        mu, sd = 0.5, math.sqrt(1 / 12)
    elif name == "student_t10":
        mu, sd = 0.0, math.sqrt(10 / 8)
    else:
        r1 = 1 / math.sqrt(2 * math.pi)
        mu, sd = r1, math.sqrt(0.5 - r1**2)
    x = (x - mu) / sd
    mb, vb = x.mean(axis=1), x.var(axis=1)
    th = batch_statistics_moments(m, skewness=skew, excess_kurtosis=kurt)
    dv = vb - th.mean_var
    dm = mb  # population mean is 0
    checks = [
        (vb, th.mean_var),                      # E sigma_B^2
        (dv**2, th.var_var),                    # Var sigma_B^2 (mean known exactly)
        (dm * dv, th.cov),                      # Cov
        (dm**2, th.var_mean),                   # Var mu_B
    ]
    for sample, target in checks:
        se = sample.std(ddof=1) / math.sqrt(n)
        assert abs(sample.mean() - target) < K_SE * se, (name, target)


def test_monte_carlo_detects_gaussian_formula_on_laplace_input():
    # Gaussian theory (kurtosis 0) is rejected for Laplace input: the test can fail
    rng = np.random.default_rng(5)
    x = rng.laplace(size=(100_000, 4)) / math.sqrt(2)
    vb = x.var(axis=1)
    dv2 = (vb - 0.75) ** 2
    se = dv2.std(ddof=1) / math.sqrt(dv2.size)
    assert abs(dv2.mean() - batch_statistics_moments(4).var_var) > 10 * se


@given(m=st.integers(2, 10**6), skew=st.floats(-5, 5), extra=st.floats(0, 50),
       ddof=st.integers(0, 1))
def test_properties(m, skew, extra, ddof):
    kurt = skew * skew - 2 + extra
    r = batch_statistics_moments(m, skewness=skew, excess_kurtosis=kurt, ddof=ddof)
    assert r.var_var > 0
    assert abs(r.corr) < 1
    c = (m - 1) / (m - ddof)
    # ddof only rescales sigma_B^2 = c s^2 (s^2 unbiased): corr is ddof-free
    r1 = batch_statistics_moments(m, skewness=skew, excess_kurtosis=kurt, ddof=1)
    assert r.corr == pytest.approx(r1.corr, rel=1e-12, abs=1e-300)
    assert r.var_var == pytest.approx(c * c * r1.var_var, rel=1e-12)
    assert r.cov == pytest.approx(c * r1.cov, rel=1e-12, abs=1e-300)
    # docs/theory.md (3.1) form: Var s^2 = mu4/m - (m-3)/(m(m-1)), Cov = mu3/m
    assert r1.var_var == pytest.approx((kurt + 3) / m - (m - 3) / (m * (m - 1)), rel=1e-9, abs=1e-15)
    assert r1.cov == pytest.approx(skew / m, rel=1e-12, abs=1e-300)
    assert r.corr == pytest.approx(skew / math.sqrt(kurt + 2 * m / (m - 1)), rel=1e-10, abs=1e-300)


def test_result_is_frozen_and_broadcasts():
    r = batch_statistics_moments(np.array([[2], [4], [8]]), skewness=np.array([0.0, 1.0]),
                                 excess_kurtosis=3.0)
    assert isinstance(r, BatchStatisticsMoments)
    assert r.var_var.shape == (3, 2) and r.m.shape == (3, 2)
    with pytest.raises(AttributeError):
        r.var_var = 0.0
    s = batch_statistics_moments(4)
    assert np.ndim(s.var_var) == 0 and float(s.var_var) == pytest.approx(2 * 3 / 16)


@pytest.mark.parametrize("args,kwargs,exc,msg", [
    ((1,), {}, ValueError, r"^`m` must be an integer >= 2; got m=1\.$"),
    ((4,), dict(ddof=4), ValueError, r"^`ddof` must be smaller than `m`; got ddof=4, m=4\.$"),
    ((4,), dict(skewness=np.inf), ValueError, r"^`skewness` must be a real number; got skewness=inf\.$"),
    ((4,), dict(skewness="0"), TypeError, r"^`skewness` must be a real number; got skewness='0'\.$"),
    ((4,), dict(excess_kurtosis=-2.5), ValueError,
     r"^`excess_kurtosis` must be a real number >= -2\.0; got excess_kurtosis=-2\.5\.$"),
    ((4,), dict(skewness=2.0, excess_kurtosis=1.0), ValueError,
     r"^`excess_kurtosis` must be >= skewness\*\*2 - 2 \(Pearson's bound: no law has less\); "
     r"got excess_kurtosis=1\.0 with skewness=2\.0\.$"),
])
def test_errors(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        batch_statistics_moments(*args, **kwargs)
