"""Extremes of the BN output laws: no NaN where a value exists (moments, pdf at the ends of
the in-batch support, the noncentral-t cdf where Boost fails) and far tails to 1e-10
relative against mpmath."""

import math
import warnings

import numpy as np
import pytest

from noise_theory import bn_output, scale_moment

# P(Y <= y) and P(Y > y) for the out-of-batch output Y at a fixed x (population units):
# Y = (x - xi_mu)/sqrt(xi_sigma), so P(Y <= y) = E Phi(y R - sqrt(m) x), R ~ chi_{m-1}.
# mpmath at 50 digits, quadrature of the chi density times the normal cdf, split on the
# scale of the (log-concave) integrand around its mode:
#
#   import mpmath as mp
#   mp.mp.dps = 50
#   def oob_cdf(m, x, y):
#       df = mp.mpf(m - 1); y = mp.mpf(y); d = mp.sqrt(m) * mp.mpf(x)
#       c = -mp.loggamma(df / 2) - (df / 2 - 1) * mp.log(2)
#       logf = lambda r: c + (df - 1) * mp.log(r) - r * r / 2 + mp.log(mp.ncdf(y * r - d))
#       lo, hi = mp.mpf("1e-30"), mp.sqrt(df) + 10 + abs(d)
#       for _ in range(200):  # bisection for the mode
#           mid = (lo + hi) / 2
#           if mp.diff(logf, mid) > 0: lo = mid
#           else: hi = mid
#       r0 = (lo + hi) / 2; w = 1 / mp.sqrt(-mp.diff(logf, r0, 2))
#       pts = sorted(set([mp.mpf(0)] + [r0 + j * w / 2 for j in range(-80, 81) if r0 + j * w / 2 > 0]))
#       return mp.quad(lambda r: mp.exp(logf(r)), pts + [mp.inf])
#   for m, x, y in CASES:
#       print(m, x, y, mp.nstr(oob_cdf(m, x, y), 22), mp.nstr(oob_cdf(m, -x, -y), 22))
#
# The old code (scipy's Boost nctdtr) gave NaN for (16, -1.5, 2.0), (64, 1.0, 3.5), ...,
# and was 5e-8 off in relative terms at (16, 0.7, -1.0).
TAILS = [
    # (m, x, y, P(Y <= y), P(Y > y))
    (16, 0.7, -1.0, 1.107105399674562835422e-8, 0.9999999889289460032544),
    (16, -1.5, 2.0, 0.9999999999999999999985, 1.455023315542746017926e-21),
    (64, 3.0, -4.0, 8.213196042908254664267e-211, 1.0),
    (3, -3.0, 4.0, 0.999999999800235473279, 1.997645267209813008598e-10),
    (4, 1.0, -3.0, 0.00005084515504489864982563, 0.9999491548449551013502),
    (2, 1.0, -2.0, 0.01369943961474648155397, 0.986300560385253518446),
    (2, -3.0, 4.0, 0.9999995279911807639575, 4.72008819236042542484e-7),
    (8, 0.5, 1.0, 0.8250483903374515173792, 0.1749516096625484826208),
    (64, -2.0, -1.5, 0.997486682037284763925, 0.002513317962715236074986),
    (33, 1.5, -0.5, 8.535308000337673547741e-28, 1.0),
    (11, -2.5, 3.5, 1.0, 5.278395265971991190881e-29),
    (5, 2.0, -4.0, 6.456144420099873546606e-11, 0.999999999935438555799),
    (40, 0.0, 3.0, 0.9999999999999999999979, 2.110101582344420300924e-21),
    (40, 0.0, -4.0, 6.627427149085072207143e-26, 1.0),
    (25, 3.0, 0.5, 3.671638534021099664956e-32, 1.0),
    (6, -0.5, 4.0, 0.9999943721311253659461, 0.000005627868874634053905929),
    (64, 1.0, 3.5, 0.9999999999999999646813, 3.53187488988486357124e-17),
    (12, 3.0, -1.0, 9.014015139433361552039e-34, 1.0),
]


def _close(got, want, rel=1e-10):
    if want < 1e-300:
        return 0.0 <= got < 1e-290
    if want > 0.5:  # near 1 only the absolute error is meaningful
        return abs(got - want) <= 2e-16
    return abs(got - want) <= rel * want


@pytest.mark.parametrize("m,x,y,cdf,sf", TAILS)
def test_out_of_batch_tails_match_mpmath(m, x, y, cdf, sf):
    law = bn_output(m, x=x, model="out_of_batch")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got_c, got_s = float(law.cdf(y)), float(law.sf(y))
    assert _close(got_c, cdf), (got_c, cdf)
    assert _close(got_s, sf), (got_s, sf)
    small = min(cdf, sf)
    if 1e-300 < small < 1e-4:  # the log-space routes as well
        got = float(law.logcdf(y) if cdf < sf else law.logsf(y))
        assert got == pytest.approx(math.log(small), rel=1e-11)


def test_out_of_batch_cdf_grid_has_no_nan_and_is_consistent():
    # the grid (m = 3..64, |x| <= 3, |y| <= 4; here every 4th m): 299 NaN before
    m = np.array([3, 4, 7, 11, 16, 24, 33, 48, 64])[:, None, None]
    x = np.linspace(-3, 3, 13)[None, :, None]
    y = np.linspace(-4, 4, 17)[None, None, :]
    law = bn_output(m, x=x, model="out_of_batch")
    c, s, p = law.cdf(y), law.sf(y), law.pdf(y)
    assert not np.isnan(c).any() and not np.isnan(s).any() and not np.isnan(p).any()
    assert np.abs(c + s - 1).max() < 1e-14
    assert np.all(np.diff(c, axis=2) >= 0) and np.all(np.diff(s, axis=2) <= 0)
    assert np.all((c >= 0) & (c <= 1) & (p >= 0))


@pytest.mark.parametrize("m,x", [(16, 0.7), (4, -2.0), (64, 3.0), (2, 1.0)])
def test_out_of_batch_ppf_and_isf_invert_the_far_tails(m, x):
    law = bn_output(m, x=x, model="out_of_batch")
    for q in (1e-30, 1e-12, 1e-6, 0.3):
        assert float(law.cdf(law.ppf(q))) == pytest.approx(q, rel=1e-9)
        assert float(law.sf(law.isf(q))) == pytest.approx(q, rel=1e-9)


# ---------------------------------------------------------------- moments
def _double_factorial(n):
    return math.prod(range(n - 1, 0, -2)) if n > 0 else 1


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 9, 12])
def test_out_of_batch_moments_are_exact_inf_or_nan_by_existence(m):
    # E Y^n = E[(x - xi_mu)^n] E[xi_sigma^(-n/2)] (independence): the second factor is
    # scale_moment(m, n), inf iff n >= m - 1. Odd n >= m - 1: E|Y|^n = inf on both sides,
    # the moment does not exist -> NaN (as the mean at m = 2 and the skewness for m <= 4).
    # The old code: moment(4) NaN at m = 4 (0 * NaN), moments >= 5 noisy quadrature.
    for x in (None, 0.0, 1.0, -2.5):
        law = bn_output(m, x=x, model="out_of_batch")
        for n in range(1, 9):
            got = float(law.moment(n))
            if x is None:  # x - xi_mu ~ N(0, (m+1)/m)
                centre = ((m + 1) / m) ** (n / 2) * _double_factorial(n) * (n % 2 == 0)
            else:  # x - xi_mu ~ N(x, 1/m)
                centre = sum(math.comb(n, j) * x ** (n - j) * m ** (-j / 2) * _double_factorial(j)
                             for j in range(0, n + 1, 2))
            if n >= m - 1:
                if n % 2 == 0:
                    assert got == np.inf, (m, x, n, got)
                else:
                    assert np.isnan(got), (m, x, n, got)
            else:
                assert got == pytest.approx(centre * float(scale_moment(m, n)), rel=1e-12,
                                            abs=1e-300), (m, x, n)


def test_out_of_batch_stats_agree_with_moments():
    for m in (4, 5):  # fourth moment diverges: kurtosis inf, with and without x
        for x in (None, 1.0):
            law = bn_output(m, x=x, model="out_of_batch")
            assert float(law.moment(4)) == np.inf
            assert float(law.stats("k")) == np.inf
    law = bn_output(4, x=1.0, model="out_of_batch")
    assert np.isnan(law.stats("s")) and np.isnan(law.moment(3))  # third moment: none


# ---------------------------------------------------------------- in-batch support ends
@pytest.mark.parametrize("m,end", [(3, np.inf), (4, 1 / (2 * math.sqrt(3))), (6, 0.0),
                                   (8, 0.0), (11, 0.0), (64, 0.0)])
def test_in_batch_pdf_at_the_float_end_of_the_support(m, end):
    # z*z/(m-1) rounds above 1 at z = sqrt(m-1) for m = 3, 6, 8, 11: log1p(< -1) = NaN before
    law = bn_output(m)
    lo, hi = law.support()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        vals = law.pdf(np.array([lo, hi]))
        inner = law.pdf(np.nextafter(np.array([lo, hi]), 0.0))
    if np.isinf(end):
        assert np.all(vals == np.inf)
    else:
        np.testing.assert_allclose(vals, end, rtol=1e-14, atol=0)
    assert np.all(np.isfinite(inner) & (inner >= 0))


# ---------------------------------------------------------------- sweep
ARGS = [-np.inf, -1e300, -1e10, -50.0, -1.0, 0.0, 0.5, 50.0, 1e10, 1e300, np.inf]
QS = [0.0, 1e-300, 0.5, 1 - 1e-12, 1.0]  # (each tail ppf is a root search: ~0.3 s)


@pytest.mark.parametrize("m", [2, 3, 4, 16])
def test_no_nan_anywhere_a_value_exists(m):
    laws = {"t": bn_output(m, model="out_of_batch")}
    for x in (-1e100, 0.0, 0.7):
        laws[x] = bn_output(m, x=x, model="out_of_batch")
    ends = []
    if m > 2:
        laws["in"] = bn_output(m)
        r = math.sqrt(m - 1)
        ends = [-r, r, np.nextafter(r, 0)]
    bad = []
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=RuntimeWarning, module="noise_theory")
        for name, law in laws.items():
            for a in ARGS + ends:
                for meth in ("pdf", "cdf", "sf", "logcdf", "logsf"):
                    if np.isnan(getattr(law, meth)(a)):
                        bad.append((name, meth, a))
            for q in QS:
                for meth in ("ppf", "isf"):
                    if np.isnan(getattr(law, meth)(q)):
                        bad.append((name, meth, q))
            for n in range(1, 7):
                v = law.moment(n)
                exists = name == "in" or n < m - 1 or n % 2 == 0
                if exists and np.isnan(v):
                    bad.append((name, "moment", n))
    assert not bad


def test_x_beyond_1e100_is_refused():
    with pytest.raises(ValueError, match=r"^`x` must be a real number >= -1e\+100 and <= 1e\+100; "
                                         r"got x=1e\+300\.$"):
        bn_output(4, x=1e300, model="out_of_batch")
