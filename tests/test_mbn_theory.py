"""Tests of noise_theory._mbn: MBN noise laws, checked by independent routes.

Routes: closed form vs mpmath series (reference values below, generating code in the
comment), vs Monte Carlo of EMA chains over raw Gaussian batches (fixed seeds,
k x standard error with k = 4.5), vs plain-BN identities (momentum 0).
"""

import numpy as np
import pytest
from hypothesis import given, settings
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


def stationary_ema_chains(m, momentum, n_chains, rng, steps=None):
    """Final running (mean, variance) of `n_chains` EMA chains over raw N(0,1) batches.

    The first batch initialises the statistics; `steps` defaults to enough steps for the
    start to be forgotten to double precision.
    """
    if steps is None:
        steps = 1 if momentum == 0 else int(np.ceil(40 / -np.log(momentum))) + 1
    mu = var = None
    for _ in range(steps):
        x = rng.standard_normal((n_chains, m))
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
