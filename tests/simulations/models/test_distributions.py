"""Input laws: standardisation, skewness/kurtosis, sampling, errors."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from simulations import input_law
from simulations.models._laws import DISTRIBUTIONS

NAMED = [("normal", None), ("laplace", None), ("uniform", None), ("t", 7.5),
         ("exponential", None), ("lognormal", None), ("relu", None)]


@pytest.mark.parametrize("name, df", NAMED)
def test_standardised_by_monte_carlo(name, df):
    """Mean 0 and variance 1 (k x standard error, fixed seed), and skewness/kurtosis from
    the sample agree with the law's values."""
    law = input_law(name, df=df)
    assert law.standardised
    x = law.sample(np.random.default_rng(2024), np.empty(2_000_000))
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n)
    se_var = math.sqrt((law.excess_kurtosis + 2) / n)
    assert abs(x.var() - 1) < 5 * se_var
    if name not in ("lognormal", "t"):   # heavy tails: sample kurtosis converges too slowly
        # standard errors from the spread over 100 sub-samples (batch means)
        groups = x.reshape(100, -1)
        for stat, value in ((stats.skew, law.skewness), (stats.kurtosis, law.excess_kurtosis)):
            per = stat(groups, axis=1)
            assert abs(stat(x) - value) < 5 * per.std(ddof=1) / 10 + 1e-3


def test_relu_moments_by_quadrature():
    """Independent route for the ReLU closed forms: integrate max(0, z)^k phi(z)."""
    law = input_law("relu")
    raw = [integrate.quad(lambda z: z**k * stats.norm.pdf(z), 0, np.inf)[0] for k in range(5)]
    mean = raw[1]
    var = raw[2] - mean**2
    mu3 = raw[3] - 3 * mean * raw[2] + 2 * mean**3
    mu4 = raw[4] - 4 * mean * raw[3] + 6 * mean**2 * raw[2] - 3 * mean**4
    assert law.loc == pytest.approx(mean, rel=1e-12)
    assert law.scale == pytest.approx(math.sqrt(var), rel=1e-12)
    assert law.skewness == pytest.approx(mu3 / var**1.5, rel=1e-10)
    assert law.excess_kurtosis == pytest.approx(mu4 / var**2 - 3, rel=1e-10)


def test_named_laws_match_scipy_moments():
    assert input_law("t", df=5).excess_kurtosis == pytest.approx(6.0)
    assert input_law("uniform").excess_kurtosis == pytest.approx(-1.2)
    assert input_law("laplace").excess_kurtosis == pytest.approx(3.0)
    assert input_law("exponential").skewness == pytest.approx(2.0)
    e = math.e
    assert input_law("lognormal").skewness == pytest.approx((e + 2) * math.sqrt(e - 1))
    assert input_law("gaussian").name == "normal"


def test_generic_scipy_law():
    law = input_law(stats.gamma(3.0, loc=2.0, scale=0.5))
    assert law.name == "scipy:gamma" and law.standardised
    assert law.skewness == pytest.approx(2 / math.sqrt(3))
    x = law.sample(np.random.default_rng(1), np.empty((4, 100_000)))
    assert abs(x.mean()) < 5 / math.sqrt(x.size)


@pytest.mark.parametrize("df, standardised, loc_is_median", [(2.0, False, False),
                                                             (1.0, False, True),
                                                             (0.5, False, True),
                                                             (2.5, True, False)])
def test_heavy_tails_are_centred_not_scaled(df, standardised, loc_is_median):
    law = input_law("t", df=df)
    assert law.standardised is standardised
    if not standardised:
        assert law.scale == 1.0 and law.loc == 0.0
        assert math.isinf(law.excess_kurtosis) or math.isnan(law.excess_kurtosis)


@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from([n for n, _ in NAMED]))
def test_sampling_is_seeded(seed, name):
    df = 7.5 if name == "t" else None
    law = input_law(name, df=df)
    a = law.sample(np.random.default_rng(seed), np.empty(50))
    b = law.sample(np.random.default_rng(seed), np.empty(50))
    assert np.array_equal(a, b) and np.all(np.isfinite(a))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"dist": "gausian"}, ValueError, r"Did you mean 'gaussian'\?"),
    ({"dist": "expon"}, ValueError, r"Did you mean 'exponential'\?"),
    ({"dist": "nope"}, ValueError, r"`dist` must be one of 'normal', .*got dist='nope'\.$"),
    ({"dist": "t"}, ValueError, r"`df` is required for dist='t'; got df=None"),
    ({"dist": "t", "df": 0}, ValueError, r"`df` must be a real number > 0.0; got df=0"),
    ({"dist": "normal", "df": 3}, ValueError, r"`df` is only used with dist='t'"),
    ({"dist": stats.norm(), "df": 3}, ValueError, r"`df` is only used with dist='t'; got df=3"),
    ({"dist": stats.poisson(3)}, TypeError, r"`dist` must be a name .* or a frozen scipy"),
    ({"dist": 1.0}, TypeError, r"`dist` must be a name"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        input_law(**kwargs)


def test_every_listed_name_builds():
    for name in DISTRIBUTIONS:
        input_law(name, df=4.0 if name == "t" else None)
