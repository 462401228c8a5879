"""Tests of noise_theory._mbn: MBN noise laws, checked by independent routes.

Routes: closed form vs mpmath series (reference values below, generating code in the
comment), vs Monte Carlo of EMA chains over raw Gaussian batches (fixed seeds,
k x standard error with k = 4.5), vs plain-BN identities (momentum 0).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from noise_theory import effective_batch_size, ema_mean_noise, ema_variance_noise

K = 4.5  # tolerance in standard errors for Monte Carlo checks

# Reference values: stationary EMA variances as mpmath series (30 digits).
#   import mpmath as mp; mp.mp.dps = 30
#   l = mp.mpf(lam); s2 = mp.nsum(lambda k: ((1-l)*l**k)**2, [0, mp.inf])
#   s3 = mp.nsum(lambda k: ((1-l)*l**k)**3, [0, mp.inf])
#   mean-noise var = s2/m; variance-noise var = s2*2(m-1)/m^2;
#   variance-noise 3rd cumulant = s3 * 8(m-1)/m^3  (chi2(m-1)/m has kappa_3 = 8(m-1)/m^3)
REFERENCE = [
    # m, lambda, Var xi_mu, Var xi_sigma, kappa3 xi_sigma
    (2, 0.5, 0.16666666666666666667, 0.16666666666666666667, 0.14285714285714285714),
    (4, 0.9, 0.013157894736842105263, 0.019736842105263157895, 0.0013837638376383763838),
    (16, 0.99, 0.00031407035175879396985, 0.00058888190954773869347, 9.8639355577253291135e-7),
    (3, 0.25, 0.2, 0.26666666666666666667, 0.25396825396825396825),
]


def stationary_ema_chains(m, momentum, chains, rng, steps=None):
    """Final running (mean, variance) of `chains` EMA chains over raw N(0,1) batches.

    The first batch initialises the statistics; `steps` defaults to enough steps for the
    start to be forgotten to double precision.
    """
    if steps is None:
        steps = 1 if momentum == 0 else int(np.ceil(40 / -np.log(momentum))) + 1
    mu = var = None
    for _ in range(steps):
        x = rng.standard_normal((chains, m))
        mb = x.mean(axis=1)
        vb = x.var(axis=1)
        if mu is None:
            mu, var = mb, vb
        else:
            mu = momentum * mu + (1 - momentum) * mb
            var = momentum * var + (1 - momentum) * vb
    return mu, var


@pytest.mark.parametrize("m, lam, var_mu, var_sigma, kappa3", REFERENCE)
def test_closed_forms_match_mpmath_series(m, lam, var_mu, var_sigma, kappa3):
    assert ema_mean_noise(m, lam).var() == pytest.approx(var_mu, rel=1e-13)
    assert ema_mean_noise(m, lam).mean() == 0.0
    noise = ema_variance_noise(m, lam)
    assert noise.mean == pytest.approx((m - 1) / m, rel=1e-15)
    assert noise.var == pytest.approx(var_sigma, rel=1e-13)
    # the Gamma law matches the first two moments exactly ...
    assert noise.approx_gamma.mean() == pytest.approx(noise.mean, rel=1e-13)
    assert noise.approx_gamma.var() == pytest.approx(var_sigma, rel=1e-13)
    # ... and its third cumulant is the exact one times (1+l+l^2)/(1+l)^2 (docstring claim)
    gamma_k3 = noise.approx_gamma.stats(moments="s") * noise.approx_gamma.std() ** 3
    assert gamma_k3 == pytest.approx(kappa3 * (1 + lam + lam**2) / (1 + lam) ** 2, rel=1e-12)
    # effective batch size: the plain-BN batch with the same mean-noise variance 1/m_eff
    assert 1 / effective_batch_size(m, lam) == pytest.approx(var_mu, rel=1e-13)


@given(m=st.integers(2, 10_000), lam=st.floats(0, 0.999))
def test_momentum_zero_is_bn_and_limits(m, lam):
    # momentum 0: plain BN laws N(0, 1/m) and chi2(m-1)/m = Gamma((m-1)/2, 2/m), exactly
    assert ema_mean_noise(m, 0.0).var() == pytest.approx(1 / m, rel=1e-14)
    bn = ema_variance_noise(m, 0.0)
    assert bn.approx_gamma.kwds["a"] == pytest.approx((m - 1) / 2, rel=1e-13)
    assert bn.approx_gamma.kwds["scale"] == pytest.approx(2 / m, rel=1e-13)
    assert effective_batch_size(m, 0.0) == pytest.approx(m, rel=1e-15)
    # the variance factor is the same for both noises, and decreases with momentum
    f = ema_mean_noise(m, lam).var() * m
    assert ema_variance_noise(m, lam).var / (2 * (m - 1) / m**2) == pytest.approx(f, rel=1e-12)
    assert 0 < f <= 1 + 1e-15
    assert ema_mean_noise(m, min(lam + 1e-3, 0.9999)).var() < ema_mean_noise(m, lam).var()


def test_broadcasting_shapes():
    m = np.array([2, 4, 8])[:, None]
    lam = np.array([0.0, 0.5, 0.9, 0.99])
    assert ema_mean_noise(m, lam).var().shape == (3, 4)
    noise = ema_variance_noise(m, lam)
    assert noise.mean.shape == noise.var.shape == (3, 4)
    assert noise.approx_gamma.cdf(0.5).shape == (3, 4)
    assert effective_batch_size(m, lam).shape == (3, 4)
    assert isinstance(effective_batch_size(4, 0.5), float)


@pytest.mark.parametrize("m, lam", [(2, 0.5), (4, 0.9), (8, 0.0)])
def test_stationary_laws_against_raw_batch_monte_carlo(m, lam):
    rng = np.random.default_rng(20260)
    n = 40_000
    mu, var = stationary_ema_chains(m, lam, n, rng)
    # mean noise: exact normal law -> mean, variance (stderr of the sample variance from
    # the fourth moment) and a KS test at alpha = 0.01
    law = ema_mean_noise(m, lam)
    assert abs(mu.mean()) < K * np.sqrt(law.var() / n)
    sq = mu**2
    assert abs(sq.mean() - law.var()) < K * sq.std(ddof=1) / np.sqrt(n)
    from scipy import stats

    assert stats.kstest(mu, law.cdf).pvalue > 0.01
    noise = ema_variance_noise(m, lam)
    assert abs(var.mean() - noise.mean) < K * var.std(ddof=1) / np.sqrt(n)
    dev2 = (var - noise.mean) ** 2
    assert abs(dev2.mean() - noise.var) < K * dev2.std(ddof=1) / np.sqrt(n)


def test_gamma_law_is_exact_at_momentum_zero_only():
    # At lambda = 0 the moment-matched Gamma law is the exact chi2(m-1)/m: KS passes.
    # At lambda = 0.5, m = 2 the exact law (weighted sum of chi2(1)) is visibly not Gamma
    # at n = 200k: the KS distance is well above the alpha = 0.01 critical value.
    from scipy import stats

    rng = np.random.default_rng(7)
    n = 200_000
    _, var0 = stationary_ema_chains(2, 0.0, n, rng)
    assert stats.kstest(var0, ema_variance_noise(2, 0.0).approx_gamma.cdf).pvalue > 0.01
    _, var5 = stationary_ema_chains(2, 0.5, n, rng)
    d = stats.kstest(var5, ema_variance_noise(2, 0.5).approx_gamma.cdf).statistic
    crit = stats.kstwo(n).ppf(0.99)
    assert d > 2 * crit


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: ema_mean_noise(1, 0.5), ValueError, r"`m` must be an integer >= 2; got m=1"),
        (lambda: ema_mean_noise(2.5, 0.5), ValueError, r"`m` must be an integer >= 2"),
        (lambda: ema_mean_noise(4, 1.0), ValueError,
         r"`momentum` must be a real number >= 0 and < 1; got momentum=1.0"),
        (lambda: ema_variance_noise(4, -0.1), ValueError, r"`momentum` must be .*-0.1"),
        (lambda: effective_batch_size(4, float("nan")), ValueError, r"`momentum`"),
        (lambda: effective_batch_size("4", 0.5), TypeError, r"`m` must be an integer"),
        (lambda: ema_mean_noise(True, 0.5), TypeError, r"`m` must be an integer"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---------------------------------------------------------------- noise_trajectory
from noise_theory import mbn_output_moments, momentum_schedule, noise_trajectory  # noqa: E402


@given(m=st.integers(2, 512), lam=st.floats(0, 0.995), steps=st.integers(1, 300))
def test_trajectory_constant_momentum_closed_forms(m, lam, steps):
    t = np.arange(1, steps + 1)
    f_stat = (1 - lam) / (1 + lam)
    # batch start (the default): f_t = f + (2 lam/(1+lam)) lam^(2(t-1))
    traj = noise_trajectory(m, np.full(steps, lam))
    f_batch = f_stat + 2 * lam / (1 + lam) * lam ** (2 * (t - 1))
    np.testing.assert_allclose(traj.mean_noise_var, f_batch / m, rtol=1e-10)
    np.testing.assert_allclose(traj.variance_noise_var, f_batch * 2 * (m - 1) / m**2, rtol=1e-10)
    np.testing.assert_allclose(traj.variance_noise_mean, (m - 1) / m, rtol=1e-14)
    assert traj.momenta[0] == 0.0 and np.all(traj.start_weight == 0)
    # fixed start (docs/theory.md (5.4): v (1-lam)/(1+lam) (1 - lam^(2t)))
    fixed = noise_trajectory(m, np.full(steps, lam), start="fixed")
    np.testing.assert_allclose(fixed.mean_noise_var, f_stat * (1 - lam ** (2 * t)) / m,
                               rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(fixed.start_weight, lam**t, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(fixed.variance_noise_mean, (1 - lam**t) * (m - 1) / m,
                               rtol=1e-9, atol=1e-300)


def test_trajectory_momentum_zero_is_bn_and_converges_to_stationary():
    traj = noise_trajectory([2, 4, 16], np.zeros(5))
    np.testing.assert_allclose(traj.mean_noise_var, np.broadcast_to([[1 / 2], [1 / 4], [1 / 16]], (3, 5)),
                               rtol=1e-14)
    lam = momentum_schedule("paper", m=4, epochs=20, iterations_per_epoch=500)
    end = noise_trajectory(4, lam)
    assert end.mean_noise_var.shape == (10_000,)
    assert end.mean_noise_var[-1] == pytest.approx(ema_mean_noise(4, lam[-1]).var(), rel=1e-12)
    assert end.variance_noise_var[-1] == pytest.approx(ema_variance_noise(4, lam[-1]).var, rel=1e-12)
    assert end.effective_batch_size[-1] == pytest.approx(effective_batch_size(4, lam[-1]), rel=1e-12)
    # ddof=1: per-batch variance 2(m-1)/(m-1)^2 and mean 1
    unb = noise_trajectory(4, np.zeros(2), ddof=1)
    np.testing.assert_allclose(unb.variance_noise_var, 2 / 3)
    np.testing.assert_allclose(unb.variance_noise_mean, 1.0)


def test_trajectory_against_explicit_weights():
    # Route 2: running stat = sum_k w_k s_k with explicit weights; Var = sum w_k^2 / m.
    rng = np.random.default_rng(3)
    lam = rng.uniform(0, 0.99, size=50)
    lam[0] = 0.0
    weights = np.zeros(50)
    for t in range(50):  # EMA on the weight vector itself
        weights = lam[t] * weights
        weights[t] += 1 - lam[t]
    assert weights.sum() == pytest.approx(1.0)
    assert noise_trajectory(8, lam).mean_noise_var[-1] == pytest.approx((weights**2).sum() / 8, rel=1e-12)


# ---------------------------------------------------------------- in-batch MBN output
def stationary_in_batch_z(m, lam, n, rng, eps=0.0):
    """z of the first sample of the current batch, normalised with the updated running stats."""
    mu, var = stationary_ema_chains(m, lam, n, rng)
    x = rng.standard_normal((n, m))
    mu = lam * mu + (1 - lam) * x.mean(axis=1)
    var = lam * var + (1 - lam) * x.var(axis=1)
    return (x[:, 0] - mu) / np.sqrt(var + eps)


@pytest.mark.parametrize("m, lam", [(2, 0.5), (3, 0.9), (4, 0.9), (8, 0.3)])
def test_output_moments_against_monte_carlo(m, lam):
    rng = np.random.default_rng(11 + m)
    z = stationary_in_batch_z(m, lam, 40_000, rng)
    out = mbn_output_moments(m, lam)
    assert out.mean == 0.0
    assert abs(z.mean()) < K * z.std() / np.sqrt(z.size)
    assert abs((z**2).mean() - out.var) < K * (z**2).std(ddof=1) / np.sqrt(z.size)


@given(m=st.integers(2, 200), eps=st.floats(0, 0.5))
def test_output_moments_limits(m, eps):
    # momentum 0: in-batch BN. E z^2 = 1 - c E[1/(Q+c)], Q ~ chi2(m-1), c = m eps
    import mpmath

    c = m * eps
    # E[1/(Q+c)] = int_0^inf e^(-ct) (1+2t)^(-s) dt = e^(c/2) (c/2)^(s-1) Gamma(1-s, c/2) / 2,
    # s = (m-1)/2, at 30 digits (a quadrature against the chi2 density is not a safe reference:
    # its pole at 0 gave a value above 1 at m = 2, c = 2.4e-7)
    with mpmath.workdps(30):
        cs, sh = mpmath.mpf(c), mpmath.mpf(m - 1) / 2
        inv = float(mpmath.e ** (cs / 2) * (cs / 2) ** (sh - 1) * mpmath.gammainc(1 - sh, cs / 2) / 2) \
            if c > 0 else 0.0
    ref = 1.0 - c * inv
    assert mbn_output_moments(m, 0.0, eps=eps).var == pytest.approx(ref, rel=1e-7)
    # momentum -> 1: the statistics freeze at (0, (m-1)/m): E z^2 -> m/(m-1) (eps=0)
    near_one = mbn_output_moments(m, 0.9995).var
    assert near_one == pytest.approx(m / (m - 1), rel=2e-3)
    assert 1 - 1e-12 <= mbn_output_moments(m, 0.5).var <= m / (m - 1)


def test_output_moments_shapes_and_errors():
    out = mbn_output_moments([[2], [4]], [0.0, 0.5, 0.9])
    assert out.var.shape == out.mean.shape == (2, 3)
    with pytest.raises(ValueError, match=r"`eps` must be a real number >= 0; got eps=-1"):
        mbn_output_moments(4, 0.5, eps=-1)
    with pytest.raises(ValueError, match=r"`momenta` must be a real number >= 0 and < 1"):
        noise_trajectory(4, [0.5, 1.0])
    with pytest.raises(ValueError, match=r"`momenta` must be a scalar or a 1-D array"):
        noise_trajectory(4, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"`start` must be one of 'batch', 'fixed'"):
        noise_trajectory(4, [0.5], start="zero")


def test_ddof_scales_the_variance_noise():
    biased, unbiased = ema_variance_noise(4, 0.9), ema_variance_noise(4, 0.9, ddof=1)
    assert unbiased.mean == pytest.approx(1.0) and biased.mean == pytest.approx(0.75)
    assert unbiased.var == pytest.approx(biased.var * (4 / 3) ** 2, rel=1e-13)
    with pytest.raises(ValueError, match=r"`ddof` must be smaller than `m`"):
        ema_variance_noise(4, 0.5, ddof=4)


# ---------------------------------------------------------------- exact law of the variance noise
from noise_theory import ema_variance_noise_cdf  # noqa: E402


@pytest.mark.parametrize("m, lam", [(4, 0.5), (4, 0.9), (3, 0.99), (16, 0.3), (2, 0.9)])
def test_exact_cdf_reproduces_the_exact_moments(m, lam):
    # E X = int (1 - F), E X^2 = int 2x (1 - F): an independent check of the inversion
    noise = ema_variance_noise(m, lam)
    x = np.linspace(0.0, noise.mean + 14 * np.sqrt(noise.var), 3001)
    survival = 1.0 - ema_variance_noise_cdf(x, m, lam)
    from scipy.integrate import simpson

    assert simpson(survival, x=x) == pytest.approx(noise.mean, abs=2e-5)
    second = simpson(2 * x * survival, x=x)
    assert second - noise.mean**2 == pytest.approx(noise.var, rel=2e-3)


def test_exact_cdf_limits_and_errors():
    x = np.array([-1.0, 0.0, 0.2, 0.75, 2.0])
    np.testing.assert_array_equal(ema_variance_noise_cdf(x, 4, 0.0),
                                  ema_variance_noise(4, 0.0).approx_gamma.cdf(x))
    f = ema_variance_noise_cdf(x, 4, 0.9)
    assert f[0] == f[1] == 0.0 and np.all(np.diff(f) >= 0) and f[-1] == pytest.approx(1.0)
    # m and momentum broadcast now (they were refused as non-scalars)
    both = ema_variance_noise_cdf(0.5, [2, 4], 0.5)
    assert both.shape == (2,)
    assert both[1] == ema_variance_noise_cdf(0.5, 4, 0.5)


@pytest.mark.parametrize("m, lam, n", [(4, 0.5, 100_000), (2, 0.9, 60_000)])
def test_exact_cdf_against_raw_monte_carlo_where_gamma_fails(m, lam, n):
    from scipy import stats

    rng = np.random.default_rng(4242 + m)
    _, var = stationary_ema_chains(m, lam, n, rng)
    # the exact CDF on a fine grid, interpolated linearly (error < 1e-6 << KS resolution)
    grid = np.linspace(0.0, var.max() * 1.01, 4001)
    cdf_grid = ema_variance_noise_cdf(grid, m, lam)
    exact = stats.kstest(var, lambda v: np.interp(v, grid, cdf_grid))
    assert exact.pvalue > 0.01
    if (m, lam) == (4, 0.5):  # exact sup|F - Gamma| = 0.0178 > KS critical 0.0052 here
        gamma = stats.kstest(var, ema_variance_noise(m, lam).approx_gamma.cdf)
        assert gamma.pvalue < 1e-6


# Exact reference values of the stationary MBN variance noise CDF at m = 3, where every
# batch term is exponential: chi2(2)/(m - ddof) = Exp(scale 2/(m - ddof)), so
# X = sum_k w_k xi_k is a sum of independent exponentials with scales b_k = b_0 lam^k,
# b_0 = 2(1 - lam)/(m - ddof), and (partial fractions of the Laplace transform)
# P(X > x) = sum_k [prod_{j != k} 1/(1 - lam^(j-k))] exp(-x/b_k)  - a route that shares
# nothing with the Fourier inversion. Generating code (converged to < 1e-25 at dps 40 vs 70):
#   import mpmath as mp; mp.mp.dps = 40
#   def sf(x, m, lam, ddof, K=200):
#       lam = mp.mpf(lam); b0 = (1 - lam) * 2 / mp.mpf(m - ddof); tot = mp.mpf(0)
#       for k in range(K):
#           c = mp.fprod(1 / (1 - lam**(j - k)) for j in range(K + 60) if j != k)
#           term = c * mp.exp(-mp.mpf(x) / (b0 * lam**k)); tot += term
#           if k > 5 and abs(term) < mp.mpf(10)**-35: break
#       return tot
#   cdf = 1 - sf(x, m, lam, ddof)
CDF_REFERENCE = [
    # m, lam, ddof, (x, P(X <= x)) ...
    (3, 0.5, 0, [(0.1, 0.0023450521866191509342), (0.3, 0.13312517612368203082),
                 (0.667, 0.59474665839231887235), (1.5, 0.96195967909438528999),
                 (3.0, 0.99957271585565184634)]),
    (3, 0.5, 1, [(0.1, 0.00029763312801298465398), (0.3, 0.039208786786979186225),
                 (0.667, 0.32256721435162439878), (1.5, 0.83617619609285900066),
                 (3.0, 0.99143798508676294012)]),
    (3, 0.8, 0, [(0.1, 1.2389128562368396622e-7), (0.3, 0.014581828701082734245),
                 (0.667, 0.55799620187549832741), (1.5, 0.99701731216839472126),
                 (3.0, 0.9999999504891442167)]),
]


@pytest.mark.parametrize("m, lam, ddof, points", CDF_REFERENCE)
def test_exact_cdf_against_mpmath_partial_fractions(m, lam, ddof, points):
    # the documented accuracy (about 1e-9) at m = 3, including the unbiased variance (ddof=1)
    x, ref = np.array(points).T
    np.testing.assert_allclose(ema_variance_noise_cdf(x, m, lam, ddof=ddof), ref,
                               rtol=0, atol=1e-9)


def test_exact_cdf_momentum_zero_ddof_and_nonpositive_x():
    from scipy import stats

    # momentum 0: one batch, (m - ddof) xi ~ chi2(m - 1) by definition
    x = np.array([0.2, 0.9, 1.7])
    for m, ddof in [(4, 0), (4, 1), (7, 1)]:
        np.testing.assert_allclose(ema_variance_noise_cdf(x, m, 0.0, ddof=ddof),
                                   stats.chi2(m - 1).cdf((m - ddof) * x), rtol=1e-13)
    # a positive variable: exactly 0 at x <= 0 (not inversion round-off)
    assert np.all(ema_variance_noise_cdf([-1.0, -1e-3, 0.0], 2, 0.9) == 0.0)


def test_exact_cdf_small_batch_small_momentum_is_computed():
    # the Fourier inversion refused m=2, momentum=0.1; the Laplace inversion does not.
    # Reference: mpmath.invertlaplace(method='talbot') at 50 digits (see
    # tests/test_mbn_extremes.py for the generating code and more points)
    assert ema_variance_noise_cdf(0.5, 2, 0.1) == pytest.approx(0.6793564767659134666907464,
                                                                rel=1e-12)
