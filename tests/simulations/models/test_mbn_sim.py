"""Tests of simulations.models._mbn: the MBN chain simulator against the exact theory.

Routes: exact recursion (noise_theory.noise_trajectory) vs simulated chains at every
recorded step within K standard errors, under the paper schedule and a constant momentum,
on the raw path and on the fast path; raw vs fast path (two-sample z and KS); momentum 0 vs
plain BN statistics of the very same draws (bit for bit); drift: drift_mse and its optimum
vs a simulated scan; std drift vs a hand derivation of the stale variance.
"""

import numpy as np
import pytest
from scipy import stats

from noise_theory import (
    drift_mse,
    ema_variance_noise,
    momentum_schedule,
    noise_trajectory,
    optimal_drift_momentum,
)
from simulations import mbn_chains, simulate_drift_scan, simulate_mbn

#: Monte Carlo agreement tests (fixed seeds, k x standard-error tolerances).
pytestmark = pytest.mark.statistical

K = 4.5


def assert_within(results, theory, k=K):
    theory = np.asarray(theory)
    z = np.array([(r.estimate - t) / r.stderr for r, t in zip(results, theory, strict=True)])
    assert np.all(np.abs(z) < k), f"max |z| = {np.max(np.abs(z)):.2f} at {np.argmax(np.abs(z))}"
    return z


@pytest.mark.parametrize("schedule, m, fast", [
    ("paper", 4, True), ("paper", 2, False), ("constant:0.9", 4, False),
    ("constant:0.9", 8, True), ("cosine", 2, True)])
def test_trajectory_theory_vs_simulation(schedule, m, fast):
    lam = momentum_schedule(schedule, m=m, epochs=8, iterations_per_epoch=25)
    sim = simulate_mbn(m, lam, chains=8192, rng=2024, fast=fast, workers=2)
    theory = noise_trajectory(m, lam)
    i = sim.steps - 1
    assert sim.steps[0] == 1 and sim.steps[-1] == lam.size and len(sim.steps) == 100
    assert_within(sim.mean_noise_mse(), theory.mean_noise_var[i])
    assert_within(sim.mean_noise_mean(), np.zeros(i.size))
    assert_within(sim.variance_noise_mean(), theory.variance_noise_mean[i])
    assert_within(sim.variance_noise_var(), theory.variance_noise_var[i])


def test_fixed_start_and_ddof():
    lam = np.full(60, 0.8)
    sim = simulate_mbn(3, lam, chains=8192, rng=5, start="fixed", ddof=1, workers=2)
    theory = noise_trajectory(3, lam, start="fixed", ddof=1)
    i = sim.steps - 1
    assert_within(sim.mean_noise_mse(), theory.mean_noise_var[i])
    # a fixed start at the population value 1 (ddof=1 batch variance is unbiased: mean 1)
    assert_within(sim.variance_noise_mean(),
                  theory.variance_noise_mean[i] + theory.start_weight[i] * 1.0)
    assert_within(sim.variance_noise_var(), theory.variance_noise_var[i])


def test_momentum_zero_is_bn_on_the_same_draws():
    steps, mu, var = mbn_chains(5, np.zeros(7), chains=300, record=np.arange(1, 8), rng=99)
    rng = np.random.default_rng(99)  # replay the documented draw order
    for t in range(7):
        x = rng.standard_normal((300, 5))
        np.testing.assert_array_equal(mu[t], x.mean(axis=1))
        np.testing.assert_array_equal(var[t], x.var(axis=1))
    # and the first batch initialises the statistics whatever momenta[0] is
    _, mu1, _ = mbn_chains(5, [0.7, 0.0], chains=300, record=[1], rng=99)
    np.testing.assert_array_equal(mu1[0], mu[0])


def test_fast_path_matches_raw_path():
    lam = momentum_schedule("paper", m=4, epochs=6, iterations_per_epoch=20)
    raw = simulate_mbn(4, lam, chains=8192, rng=1, workers=2)
    fast = simulate_mbn(4, lam, chains=8192, rng=2, fast=True, workers=2)
    for a, b in [(raw.mean_noise_mse(), fast.mean_noise_mse()),
                 (raw.variance_noise_mean(), fast.variance_noise_mean()),
                 (raw.variance_noise_var(), fast.variance_noise_var())]:
        z = [(x.estimate - y.estimate) / np.hypot(x.stderr, y.stderr) for x, y in zip(a, b)]
        assert np.max(np.abs(z)) < K
    # whole-law check at the last step: two-sample KS at alpha = 0.01
    record = [lam.size]
    _, mu_r, var_r = mbn_chains(4, lam, chains=20_000, record=record, rng=3)
    _, mu_f, var_f = mbn_chains(4, lam, chains=20_000, record=record, rng=4, fast=True)
    assert stats.ks_2samp(mu_r[0], mu_f[0]).pvalue > 0.01
    assert stats.ks_2samp(var_r[0], var_f[0]).pvalue > 0.01


def test_reproducible_and_independent_of_workers():
    lam = np.full(30, 0.9)
    a = simulate_mbn(4, lam, chains=3000, rng=7, fast=True, workers=1, block_size=500)
    b = simulate_mbn(4, lam, chains=3000, rng=7, fast=True, workers=2, block_size=500)
    np.testing.assert_array_equal(a.moments.mean, b.moments.mean)
    np.testing.assert_array_equal(a.moments.m2, b.moments.m2)
    assert a.entropy == 7 and a.n == 3000


def test_stationary_variance_noise_law_matches_gamma_moments():
    # after many steps at lambda = 0.9 the chain's variance statistic has the exact
    # stationary mean and variance of ema_variance_noise (fast path, 40k chains)
    _, _, var = mbn_chains(4, np.full(400, 0.9), chains=40_000, record=[400], rng=8, fast=True)
    noise = ema_variance_noise(4, 0.9)
    v = var[0]
    assert abs(v.mean() - noise.mean) < K * v.std() / np.sqrt(v.size)
    d2 = (v - noise.mean) ** 2
    assert abs(d2.mean() - noise.var) < K * d2.std() / np.sqrt(v.size)


# ---------------------------------------------------------------- drift
@pytest.mark.parametrize("drift, kind, rate, lam", [
    ("linear:0.02", "linear", 0.02, 0.8), ("walk:0.05", "walk", 0.05, 0.9)])
def test_drift_mse_theory_vs_simulation(drift, kind, rate, lam):
    steps = 300
    sim = simulate_mbn(4, np.full(steps, lam), chains=8192, rng=11, fast=True, drift=drift,
                       record=np.arange(200, 301, 20), workers=2)
    theory = drift_mse(4, lam, drift=kind, rate=rate)
    assert_within(sim.mean_noise_mse(), np.full(len(sim.steps), theory))
    if kind == "linear":  # the stale bias -lambda r/(1-lambda)
        assert_within(sim.mean_noise_mean(), np.full(len(sim.steps), -lam * rate / (1 - lam)))


@pytest.mark.slow
@pytest.mark.parametrize("drift, kind, rate", [("linear:0.01", "linear", 0.01),
                                               ("walk:0.05", "walk", 0.05)])
def test_drift_optimum_theory_vs_simulated_scan(drift, kind, rate):
    best = float(optimal_drift_momentum(4, drift=kind, rate=rate))
    grid = best + np.arange(-4, 5) * 0.02  # the theory optimum is the middle point
    scan = simulate_drift_scan(4, grid, drift=drift, steps=600, chains=2048, rng=13,
                               workers=2)
    theory = drift_mse(4, grid, drift=kind, rate=rate)
    assert_within(scan.mse, theory)
    # the simulated optimum is the theory's optimum or one of its grid neighbours
    assert abs(scan.best - best) <= 0.02 + 1e-12
    # the curve is convex around the optimum: both ends clearly worse than the middle
    est = np.array([r.estimate for r in scan.mse])
    assert est[0] > est[4] and est[-1] > est[4]


def test_std_drift_makes_the_variance_stale():
    # log sigma_t = r t: var_hat/sigma_t^2 -> (m-1)/m * (1-l)/(1 - l exp(-2r)) (derivation:
    # sum_k (1-l) l^k sigma_{t-k}^2/sigma_t^2 * E chi2(m-1)/m, sigma_{t-k}^2 = e^{-2rk} sigma_t^2)
    m, lam, r = 4, 0.9, 0.01
    sim = simulate_mbn(m, np.full(300, lam), chains=4096, rng=17, std_drift=f"linear:{r}",
                       record=[250, 300], workers=2)
    stale = (m - 1) / m * (1 - lam) / (1 - lam * np.exp(-2 * r))
    assert_within(sim.variance_noise_mean(), [stale, stale])
    assert stale < (m - 1) / m - 0.01  # the effect is visible


@pytest.mark.parametrize("call, exc, match", [
    (lambda: simulate_mbn(4, [0.5], chains=10, drift="lin:0.1"), ValueError,
     r"`drift` must be one of 'none', 'linear', 'walk'; got drift='lin'"),
    (lambda: simulate_mbn(4, [0.5], chains=10, drift="walk"), ValueError, r"needs a rate"),
    (lambda: simulate_mbn(4, [0.5], chains=10, drift="walk:x"), ValueError, r"real number"),
    (lambda: simulate_mbn(4, [0.5], chains=10, std_drift="walk:-1"), ValueError,
     r"`std_drift rate` must be a real number >= 0"),
    (lambda: simulate_mbn(4, [1.0], chains=10), ValueError, r"`momenta` must be"),
    (lambda: simulate_mbn(1, [0.5], chains=10), ValueError, r"`m` must be an integer >= 2"),
    (lambda: simulate_mbn(4, [0.5], chains=0), ValueError, r"`chains` must be"),
    (lambda: simulate_mbn(4, [0.5, 0.5], chains=10, record=[3]), ValueError,
     r"`record` must be an integer >= 1 and <= 2"),
    (lambda: simulate_drift_scan(4, [0.5], drift="none", steps=10, chains=10), ValueError,
     r"`drift` must be 'linear:RATE' or 'walk:SD'"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_vocabulary_chains_and_the_deprecated_spellings():
    import numpy as np

    from simulations import MBNSimulation, MbnSimulation, simulate_mbn

    lam = np.full(5, 0.5)
    new = simulate_mbn(4, lam, chains=64, fast=True, rng=1, workers=1)
    with pytest.warns(DeprecationWarning, match="`n_chains` is deprecated; use `chains`"):
        old = simulate_mbn(4, lam, n_chains=64, fast=True, rng=1, workers=1)
    assert isinstance(new, MBNSimulation) and MbnSimulation is MBNSimulation
    assert new.n == old.n == 64 and new.entropy == old.entropy
    with pytest.raises(TypeError, match="give `chains` only"):
        simulate_mbn(4, lam, chains=64, n_chains=64, fast=True)
    with pytest.raises(TypeError, match="`chains` .* is required"):
        simulate_mbn(4, lam, fast=True)
