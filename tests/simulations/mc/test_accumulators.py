"""Tests of the mergeable accumulators: merge == one-shot, standard errors, KS bounds."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from simulations import KSResult, Moments, PitHistogram, SimulationResult
from simulations.mc._accumulators import merge


def _one_shot(x):
    """Central moment sums by direct (two-pass) numpy computation."""
    mu = x.mean()
    d = x - mu
    return x.size, mu, np.sum(d ** 2), np.sum(d ** 3), np.sum(d ** 4)


@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(0, 50), min_size=1, max_size=6),
       loc=st.floats(-1e3, 1e3), scale=st.floats(1e-3, 1e3))
def test_merge_equals_one_shot(seed, sizes, loc, scale):
    rng = np.random.default_rng(seed)
    parts = [loc + scale * rng.standard_exponential(k) for k in sizes]
    x = np.concatenate(parts)
    acc = Moments.empty(["x"])
    for p in parts:
        acc = acc.merge(Moments.from_data({"x": p}))
    n, mu, m2, m3, m4 = _one_shot(x) if x.size else (0, 0.0, 0.0, 0.0, 0.0)
    assert acc.n[0] == n
    if n == 0:
        return
    tol = 1e-9
    assert acc.mean[0] == pytest.approx(mu, rel=tol, abs=tol * scale)
    assert acc.m2[0] == pytest.approx(m2, rel=tol, abs=tol * scale**2)
    assert acc.m3[0] == pytest.approx(m3, rel=1e-7, abs=1e-7 * scale**3 * n)
    assert acc.m4[0] == pytest.approx(m4, rel=tol, abs=tol * scale**4)


@given(seed=st.integers(0, 2**32 - 1), split=st.integers(1, 99))
def test_merge_tree_shapes_agree(seed, split):
    """((a+b)+c) and (a+(b+c)) agree to rounding; several names are independent."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(100)
    y = rng.standard_normal(100) ** 3
    def acc(s):
        return Moments.from_data({"x": x[s], "y": y[s]})
    a, b, c = acc(slice(0, split)), acc(slice(split, 100)), acc(slice(100, 100))
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    full = acc(slice(0, 100))
    for f in ("mean", "m2", "m3", "m4"):
        np.testing.assert_allclose(getattr(left, f), getattr(full, f), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(getattr(right, f), getattr(full, f), rtol=1e-10, atol=1e-12)


def test_statistics_match_scipy():
    x = np.random.default_rng(3).gamma(2.0, size=5000)
    acc = Moments.from_data({"x": x[:1234]}).merge(Moments.from_data({"x": x[1234:]}))
    assert acc.count("x") == 5000
    assert acc.var("x") == pytest.approx(x.var(ddof=1), rel=1e-12)
    assert acc.var("x", ddof=0) == pytest.approx(x.var(), rel=1e-12)
    assert acc.skewness("x") == pytest.approx(stats.skew(x), rel=1e-10)
    assert acc.excess_kurtosis("x") == pytest.approx(stats.kurtosis(x), rel=1e-10)
    r = acc.mean_result("x")
    assert r == SimulationResult("E[x]", pytest.approx(x.mean()), pytest.approx(
        x.std(ddof=1) / math.sqrt(5000)), 5000)


def test_var_stderr_formula_matches_spread_of_replicates():
    """Standard error of s^2 from one sample vs the spread of s^2 over replicates
    (independent route: the empirical sd of 400 replicate variances)."""
    rng = np.random.default_rng(7)
    reps = rng.standard_t(8, size=(400, 2000))
    s2 = reps.var(axis=1, ddof=1)
    ses = [Moments.from_data({"x": r}).var_result("x").stderr for r in reps[:50]]
    # sd of s2 has relative sampling error ~ 1/sqrt(2*400) = 3.5%; the plug-in stderr
    # varies more (heavy-ish tails); compare medians within 15%.
    assert np.median(ses) == pytest.approx(s2.std(ddof=1), rel=0.15)
    # exact for a normal: Var(s^2) = 2 / (n - 1)
    z = Moments.from_data({"x": rng.standard_normal(200_000)}).var_result("x")
    assert z.stderr == pytest.approx(math.sqrt(2 / 199_999), rel=0.02)


def test_zscore():
    r = SimulationResult("q", 1.1, 0.05, 100)
    assert r.zscore(1.0) == pytest.approx(2.0)
    assert math.isnan(r.zscore(math.inf))
    assert math.isnan(SimulationResult("q", 1.0, math.inf, 1).zscore(1.0))


def test_small_counts_and_empty():
    e = Moments.empty(["a"])
    assert math.isnan(e.mean_result("a").estimate)
    one = Moments.from_data({"a": [2.0]})
    assert one.mean_result("a").stderr == math.inf
    assert one.var_result("a").stderr == math.inf
    assert e.merge(one).mean[0] == 2.0 and one.merge(e).mean[0] == 2.0


def test_errors():
    a = Moments.from_data({"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="different names"):
        a.merge(Moments.from_data({"b": [1.0]}))
    with pytest.raises(TypeError, match="can only merge Moments"):
        a.merge(3)
    with pytest.raises(KeyError, match="no quantity 'z'; have a"):
        a.mean_result("z")
    with pytest.raises(ValueError, match="same number of bins"):
        PitHistogram.empty(bins=8).merge(PitHistogram.empty(bins=16))
    with pytest.raises(ValueError, match="different keys"):
        merge({"a": a}, {"b": a})


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000),
       bins=st.sampled_from([16, 256, 4096]))
def test_ks_bounds_bracket_exact_statistic(seed, n, bins):
    """The exact KS statistic of the raw samples lies in [low, high] (scipy.stats.kstest)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_t(5, size=n)  # tested against the wrong law on purpose: D not tiny
    u = stats.norm.cdf(x)
    h = PitHistogram.from_pit(u[: n // 2], bins=bins).merge(
        PitHistogram.from_pit(u[n // 2:], bins=bins))
    res = h.ks()
    exact = stats.kstest(x, stats.norm.cdf)
    assert res.n == n
    assert res.statistic_low - 1e-12 <= exact.statistic <= res.statistic_high + 1e-12
    assert res.statistic_high - res.statistic_low <= 1 / bins + 1e-15
    assert res.pvalue_low <= exact.pvalue * (1 + 1e-9) + 1e-12
    assert exact.pvalue <= res.pvalue_high * (1 + 1e-9) + 1e-12


def test_ks_rejects_wrong_law_and_accepts_right_one():
    rng = np.random.default_rng(11)
    x = rng.standard_normal(100_000)
    good = PitHistogram.from_pit(stats.norm.cdf(x)).ks()
    bad = PitHistogram.from_pit(stats.norm(scale=1.02).cdf(x)).ks()
    assert isinstance(good, KSResult)
    assert good.pvalue_low > 0.01
    assert bad.pvalue_high < 0.01


def test_var_stderr_exact_small_sample():
    """Var(s^2) = mu4/n - sigma^4 (n-3)/(n(n-1)) (Cramer 1946, 27.4) evaluated with exact
    fractions for x = (0, 0, 1, 3): sample central moments mu4 = sum d^4 / n, s^2 unbiased."""
    from fractions import Fraction as F
    x = [F(0), F(0), F(1), F(3)]
    n = len(x)
    mean = sum(x) / n
    s2 = sum((v - mean) ** 2 for v in x) / (n - 1)
    mu4 = sum((v - mean) ** 4 for v in x) / n
    exact = mu4 / n - s2 * s2 * (n - 3) / (n * (n - 1))
    r = Moments.from_data({"x": np.array([0.0, 0.0, 1.0, 3.0])}).var_result("x")
    # 1e-12, not 1e-14: a few ulps of slack (summation order, FMA differ across builds)
    assert r.estimate == pytest.approx(float(s2), rel=1e-12)
    assert r.stderr == pytest.approx(math.sqrt(float(exact)), rel=1e-12)


def test_raw_moment_result():
    x = np.random.default_rng(5).standard_normal(10_000)
    acc = Moments.from_data({"x": x})
    r = acc.raw_moment_result("x", 2)
    assert r.estimate == pytest.approx(np.mean(x**2), rel=1e-12)
    assert r.stderr == pytest.approx(np.std(x**2, ddof=0) / math.sqrt(9_999), rel=1e-10)
    assert acc.raw_moment("x", 4) == pytest.approx(np.mean(x**4), rel=1e-12)
    with pytest.raises(ValueError, match=r"`power` must be 1 or 2; got power=3"):
        acc.raw_moment_result("x", 3)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), k=st.integers(1, 4))
def test_power_sums_equal_two_pass(seed, n, k):
    """The fast path (shifted power sums, split in two chunks) equals Moments.from_data."""
    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((k, n)) * rng.uniform(0.1, 10, (k, 1)) + rng.uniform(-3, 3, (k, 1))
    shifts = rows.mean(axis=1) + rng.uniform(-0.5, 0.5, k)   # near the means, not equal
    names = [f"q{j}" for j in range(k)]
    ref = Moments.from_data(dict(zip(names, rows)))
    half = n // 2
    sums = Moments.power_sums(rows[:, :half].copy(), shifts)
    Moments.power_sums(rows[:, half:].copy(), shifts, out=sums)
    got = Moments.from_power_sums(names, n, shifts, sums)
    np.testing.assert_allclose(got.mean, ref.mean, rtol=1e-10, atol=1e-10)
    for f, p in (("m2", 2), ("m3", 3), ("m4", 4)):
        scale = n * (np.abs(ref.mean) + np.sqrt(ref.m2 / n)) ** p
        err = np.abs(getattr(got, f) - getattr(ref, f))
        assert np.all(err <= 1e-8 * np.abs(getattr(ref, f)) + 1e-10 * scale), (f, err, scale)


def test_concat():
    a = Moments.from_data({"a": [1.0, 2.0]})
    b = Moments.from_data({"b": [3.0]})
    ab = a.concat(b)
    assert ab.names == ("a", "b") and ab.count("b") == 1
    with pytest.raises(ValueError, match="sharing names"):
        a.concat(a)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 2000),
       bins=st.sampled_from([8, 256, 4096]), df=st.sampled_from([3.0, 50.0]))
def test_cvm_bounds_bracket_exact_statistic(seed, n, bins, df):
    """scipy.stats.cramervonmises on the raw samples lies within the binned bounds."""
    x = np.random.default_rng(seed).standard_t(df, size=n)
    h = PitHistogram.from_pit(stats.norm.cdf(x), bins=bins)
    low, high = h.cvm()
    exact = stats.cramervonmises(x, stats.norm.cdf).statistic
    assert low - 1e-9 <= exact <= high + 1e-9
    assert low >= 0


def test_cvm_bounds_tighten_with_bins_and_detect_wrong_law():
    x = np.random.default_rng(4).standard_normal(50_000)
    lo, hi = PitHistogram.from_pit(stats.norm.cdf(x), bins=1 << 14).cvm()
    assert hi - lo < 0.02 and hi < 0.743                           # no rejection at 1%
    lo_bad, _ = PitHistogram.from_pit(stats.norm(scale=1.03).cdf(x), bins=1 << 14).cvm()
    assert lo_bad > 0.743                                          # rejected at 1%
    assert all(math.isnan(v) for v in PitHistogram.empty(bins=4).cvm())


def test_power_sums_accumulator():
    from simulations import PowerSums

    x = np.random.default_rng(8).exponential(size=3000)
    a = PowerSums.from_data({"x": x[:1000]}).merge(PowerSums.from_data({"x": x[1000:]}))
    assert a.count("x") == 3000
    r1, r2 = a.mean_result("x"), a.raw_moment_result("x", 2)
    assert r1.estimate == pytest.approx(x.mean(), rel=1e-12)
    assert r1.stderr == pytest.approx(x.std(ddof=0) / math.sqrt(2999), rel=1e-9)
    assert r2.estimate == pytest.approx(np.mean(x**2), rel=1e-12)
    assert r2.stderr == pytest.approx(np.std(x**2, ddof=0) / math.sqrt(2999), rel=1e-9)
    # agrees with the central-moment accumulator (independent arithmetic)
    m = Moments.from_data({"x": x}).raw_moment_result("x", 2)
    assert r2.stderr == pytest.approx(m.stderr, rel=1e-9)
    with pytest.raises(ValueError, match="same names"):
        a.merge(PowerSums.from_data({"y": x}))
    with pytest.raises(ValueError, match=r"`power` must be 1 or 2; got power=4"):
        a.raw_moment_result("x", 4)
    with pytest.raises(KeyError, match="no quantity 'y'"):
        a.mean_result("y")
    empty = PowerSums.from_data({"x": np.array([])})
    assert math.isnan(empty.mean_result("x").estimate)


def test_pit_histogram_refuses_nan():
    with pytest.raises(ValueError, match=r"got 1 NaN value"):
        PitHistogram.from_pit(np.array([0.1, np.nan, 0.9]), bins=8)
