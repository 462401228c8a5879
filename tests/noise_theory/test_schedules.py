"""Tests of noise_theory._schedules: momentum schedules, converters, targets, drift optimum.

Routes: the paper's formula evaluated literally (rho, T/(T-1)) with mpmath vs the
implementation's simplified form; identities (end points, forgetting per epoch, round
trips); the drift optimum's closed forms vs numerical minimisation of the exact MSE and vs
sympy's derivative; the stationary MSE vs iterating the exact error-moment recursion.
"""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from noise_theory import (
    constant_momentum,
    cosine_momentum,
    drift_mse,
    effective_batch_size,
    ema_mean_noise,
    from_pytorch_momentum,
    inference_momentum,
    linear_momentum,
    momentum_for_target_batch,
    momentum_schedule,
    optimal_drift_momentum,
    paper_momentum,
    to_pytorch_momentum,
)


def paper_formula_mpmath(t, T, m, m0):
    """docs/theory.md (5.5) literally, at 40 digits: rho^(T/(T-1) max(T-t,0)) - rho^T."""
    with mp.workdps(40):
        rho = mp.power(min(mp.mpf(m) / m0, 1), mp.mpf(1) / T)
        return float(mp.power(rho, mp.mpf(T) / (T - 1) * max(T - t, 0)) - mp.power(rho, T))


@given(T=st.integers(2, 400), m=st.integers(2, 64), m0=st.integers(2, 64), data=st.data())
def test_paper_momentum_matches_literal_formula(T, m, m0, data):
    t = data.draw(st.integers(1, T + 5))
    assert paper_momentum(t, T, m, m0=m0) == pytest.approx(
        paper_formula_mpmath(t, T, m, m0), rel=1e-12, abs=1e-15)


@given(T=st.integers(2, 400), m=st.integers(2, 200), m0=st.integers(2, 200))
def test_paper_momentum_end_points_and_monotone(T, m, m0):
    lam = paper_momentum(np.arange(1, T + 3), T, m, m0=m0)
    assert lam[0] == 0.0  # plain BN in the first epoch, exactly
    assert lam[T - 1] == pytest.approx(max(1 - m / m0, 0.0), rel=1e-15, abs=1e-16)
    assert np.all(lam[T - 1:] == lam[T - 1])  # constant after the end
    assert np.all(np.diff(lam) >= -1e-16)
    if m >= m0:
        assert np.all(lam == 0.0)


def test_paper_momentum_broadcasts():
    lam = paper_momentum(np.arange(1, 201), 200, np.array([2, 4, 8, 16, 32])[:, None])
    assert lam.shape == (5, 200)
    np.testing.assert_allclose(lam[:, -1], [1 - 2 / 32, 1 - 4 / 32, 1 - 8 / 32, 0.5, 0.0])


# The end-of-training question (docs/theory.md (5.7)): at lambda(T) = 1 - m/m0 the
# stationary mean-noise variance is 1/(2 m0 - m), not 1/m0; (m0-m)/(m0+m) reaches 1/m0.
END_OF_TRAINING = [
    # m, Var at lambda(T) = 1/(2*32 - m), ratio to 1/m0 = 32/(64 - m)
    (2, 1 / 62, 32 / 62),
    (4, 1 / 60, 32 / 60),
    (8, 1 / 56, 32 / 56),
    (16, 1 / 48, 32 / 48),
]


@pytest.mark.parametrize("m, var, ratio", END_OF_TRAINING)
def test_end_of_training_noise(m, var, ratio):
    lam_T = paper_momentum(200, 200, m, m0=32)
    assert ema_mean_noise(m, lam_T).var() == pytest.approx(var, rel=1e-13)
    assert ema_mean_noise(m, lam_T).var() * 32 == pytest.approx(ratio, rel=1e-13)
    lam_star = momentum_for_target_batch(m, 32)
    assert ema_mean_noise(m, lam_star).var() == pytest.approx(1 / 32, rel=1e-13)
    assert lam_star < lam_T


@given(m=st.integers(2, 1000), extra=st.floats(0, 1e5))
def test_momentum_for_target_batch_inverts_effective_batch_size(m, extra):
    target = m + extra
    lam = momentum_for_target_batch(m, target)
    assert 0 <= lam < 1
    assert effective_batch_size(m, lam) == pytest.approx(target, rel=1e-9)
    assert momentum_for_target_batch(m, m) == 0.0


@given(m=st.integers(2, 512), m0=st.integers(2, 512), tau0=st.floats(0.01, 0.999),
       n_train=st.integers(1, 10**6))
def test_inference_momentum_forgets_at_the_same_rate_per_epoch(m, m0, tau0, n_train):
    tau = inference_momentum(m, m0=m0, tau0=tau0)
    # per epoch of n_train samples: (n_train/m) updates at tau == (n_train/m0) at tau0
    assert (n_train / m) * np.log(tau) == pytest.approx((n_train / m0) * np.log(tau0), rel=1e-12)
    assert inference_momentum(m0, m0=m0, tau0=tau0) == pytest.approx(tau0, rel=1e-15)


def test_inference_momentum_defaults():
    assert inference_momentum(32) == pytest.approx(0.9)
    assert inference_momentum(2) == pytest.approx(0.9 ** (1 / 16), rel=1e-15)
    assert inference_momentum(2, tau0=0.85) == pytest.approx(0.85 ** (1 / 16), rel=1e-15)


@given(lam=st.floats(0, 1, exclude_max=True))
def test_pytorch_converters_round_trip(lam):
    p = to_pytorch_momentum(lam)
    assert 0 < p <= 1
    assert from_pytorch_momentum(p) == pytest.approx(lam, abs=1e-15)


def test_pytorch_convention():
    assert from_pytorch_momentum(0.1) == pytest.approx(0.9)  # PyTorch default == lambda 0.9
    assert to_pytorch_momentum(0.0) == 1.0  # plain BN: only the new batch
    np.testing.assert_allclose(from_pytorch_momentum([0.1, 0.5, 1.0]), [0.9, 0.5, 0.0])


def test_ramps():
    t = np.arange(1, 11)
    lin = linear_momentum(t, 10, end=0.9)
    cos = cosine_momentum(t, 10, end=0.9)
    for ramp in (lin, cos):
        assert ramp[0] == 0.0 and ramp[-1] == pytest.approx(0.9)
        assert np.all(np.diff(ramp) > 0)
    np.testing.assert_allclose(np.diff(lin), 0.1)
    # a half cosine is point-symmetric about the midpoint: cos(t) + cos(T+1-t) = start + end
    np.testing.assert_allclose(cos + cos[::-1], 0.9)
    assert linear_momentum(20, 10, start=0.2, end=0.6) == pytest.approx(0.6)
    # a nonzero start: epoch 1 gives start, the (T+1)/2 midpoint the average, by hand
    # (T = 5: frac = (t-1)/4; cos ramp 0.3 + 0.4 (1 - cos(pi frac))/2 = 0.3 + 0.2 (1 - 1/sqrt2) at t=2)
    t5 = np.arange(1, 6)
    np.testing.assert_allclose(linear_momentum(t5, 5, start=0.3, end=0.7),
                               [0.3, 0.4, 0.5, 0.6, 0.7], rtol=1e-14)
    np.testing.assert_allclose(cosine_momentum(t5, 5, start=0.3, end=0.7),
                               [0.3, 0.5 - 0.2 / np.sqrt(2), 0.5, 0.5 + 0.2 / np.sqrt(2), 0.7],
                               rtol=1e-14)
    np.testing.assert_array_equal(constant_momentum(t, 0.5), np.full(10, 0.5))


def test_momentum_schedule_specs():
    s = momentum_schedule("paper", m=4, epochs=5, iterations_per_epoch=3)
    np.testing.assert_array_equal(s, np.repeat(paper_momentum(np.arange(1, 6), 5, 4), 3))
    np.testing.assert_array_equal(momentum_schedule("constant:0.9", m=4, epochs=2), [0.9, 0.9])
    np.testing.assert_allclose(momentum_schedule("linear", m=4, epochs=3), [0, 0.4375, 0.875])
    np.testing.assert_allclose(momentum_schedule("cosine:0.5", m=4, epochs=3), [0, 0.25, 0.5])
    np.testing.assert_array_equal(
        momentum_schedule([0.0, 0.5], m=4, epochs=2, iterations_per_epoch=2), [0, 0, 0.5, 0.5])
    # m >= m0: the paper's schedule and the default ramps stay at 0 (plain BN)
    assert np.all(momentum_schedule("linear", m=64, epochs=3) == 0)
    # m0 reaches every spec; by hand (m/m0 = 1/4, T = 3): lambda(t) = (1/4)^((3-t)/2) - 1/4
    np.testing.assert_allclose(momentum_schedule("paper", m=4, epochs=3, m0=16),
                               [0.0, 0.25, 0.75], rtol=1e-14)
    np.testing.assert_allclose(momentum_schedule("linear", m=4, epochs=3, m0=16),
                               [0.0, 0.375, 0.75], rtol=1e-14)


# ---------------------------------------------------------------- drift
def error_moment_recursion(m, lam, drift, rate, steps=200_000):
    """Iterate the exact first two moments of e_t = lam (e_{t-1} - d_t) + (1-lam) xi_t."""
    mean, var = 0.0, 1.0 / m  # first batch initialises the statistics
    for _ in range(steps):
        if drift == "linear":
            mean = lam * (mean - rate)
            var = lam**2 * var + (1 - lam) ** 2 / m
        else:
            var = lam**2 * (var + rate**2) + (1 - lam) ** 2 / m
    return mean**2 + var


@pytest.mark.parametrize("drift, rate, lam", [("linear", 0.01, 0.8), ("linear", 0.001, 0.97),
                                              ("walk", 0.05, 0.9), ("walk", 0.5, 0.3)])
def test_drift_mse_is_the_stationary_limit_of_the_recursion(drift, rate, lam):
    steps = int(60 / -np.log(lam))
    assert drift_mse(4, lam, drift=drift, rate=rate) == pytest.approx(
        error_moment_recursion(4, lam, drift, rate, steps), rel=1e-10)


@given(m=st.integers(2, 256), rate=st.floats(1e-5, 2.0), drift=st.sampled_from(["linear", "walk"]))
def test_optimal_drift_momentum_minimises_the_mse(m, rate, drift):
    best = optimal_drift_momentum(m, drift=drift, rate=rate)
    res = minimize_scalar(lambda x: drift_mse(m, x, drift=drift, rate=rate),
                          bounds=(0.0, 1 - 1e-12), method="bounded",
                          options={"xatol": 1e-13, "maxiter": 2000})
    assert drift_mse(m, best, drift=drift, rate=rate) <= res.fun * (1 + 1e-9)
    assert best == pytest.approx(res.x, abs=1e-5)


def test_linear_drift_cubic_from_sympy_derivative():
    sp = pytest.importorskip("sympy")
    lam, r, m = sp.symbols("lambda r m", positive=True)
    mse = lam**2 * r**2 / (1 - lam) ** 2 + (1 - lam) / ((1 + lam) * m)
    num = sp.numer(sp.together(sp.diff(mse, lam)))
    c = sp.symbols("c", positive=True)
    cubic = (c + 1) * lam**3 + (2 * c - 3) * lam**2 + (c + 3) * lam - 1
    # the derivative's numerator is a constant multiple of the cubic with c = r^2 m (the
    # denominator (1-l)^3 (1+l)^2 m is positive on [0, 1))
    assert sp.simplify(num / cubic.subs(c, r**2 * m)) == 2


def test_no_drift_has_no_optimum_below_one():
    # rate = 0: the error falls all the way to momentum 1 (frozen statistics), a momentum
    # every other function refuses; so it is refused here too
    for drift in ("walk", "linear"):
        with pytest.raises(ValueError, match=r"`rate` must be a real number > 0 .*got rate=0.0"):
            optimal_drift_momentum(4, drift=drift, rate=0.0)
    out = optimal_drift_momentum([2, 8], drift="linear", rate=[[0.001], [0.01]])
    assert out.shape == (2, 2) and np.all(out < 1.0)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: paper_momentum(0, 10, 4), ValueError, r"`epoch` must be an integer >= 1; got epoch=0"),
        (lambda: paper_momentum(1, 1, 4), ValueError, r"`epochs` must be an integer >= 2; got epochs=1"),
        (lambda: paper_momentum(1, 10, 4, m0=1), ValueError, r"`m0` must be an integer >= 2"),
        (lambda: inference_momentum(4, tau0=1.0), ValueError, r"`tau0` must be a real number >= 0 and < 1"),
        (lambda: linear_momentum(1, 10, end=1.5), ValueError, r"`end` must be"),
        (lambda: momentum_schedule("papr", m=4, epochs=10), ValueError,
         r"`schedule` 'papr': the kind before ':' must be one of .*Did you mean 'paper'"),
        (lambda: momentum_schedule("constant", m=4, epochs=10), ValueError, r"needs a momentum"),
        (lambda: momentum_schedule("constant:x", m=4, epochs=10), ValueError, r"real number"),
        (lambda: momentum_schedule("constant:1.2", m=4, epochs=10), ValueError,
             r"`schedule` 'constant:1.2': momentum must be in \[0, 1\); got 1.2"),
        (lambda: momentum_schedule("paper:0.5", m=4, epochs=10), ValueError, r"takes no value"),
        (lambda: momentum_schedule([0.1, 0.2], m=4, epochs=3), ValueError, r"shape \(epochs,\)"),
        (lambda: momentum_for_target_batch(8, 4), ValueError, r"`target` must be >= m .*got target=4.0 with m=8"),  # noqa: E501
        (lambda: from_pytorch_momentum(0.0), ValueError, r"`momentum` must be a real number > 0"),
        (lambda: to_pytorch_momentum(1.0), ValueError, r"`momentum` must be .* < 1"),
        (lambda: drift_mse(4, 0.5, drift="drift", rate=0.1), ValueError, r"`drift` must be one of"),
        (lambda: optimal_drift_momentum(4, drift="walk", rate=-1), ValueError, r"`rate` must be"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
