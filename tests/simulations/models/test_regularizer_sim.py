"""Monte Carlo of the expected GLM loss (raw Gaussian batches) against the quadrature."""

import math

import numpy as np
import pytest

from noise_theory import expected_glm_loss
from simulations import simulate_glm_loss

#: Monte Carlo agreement tests (fixed seeds, k x standard-error tolerances).
pytestmark = pytest.mark.statistical

H = np.array([0.0, 1.2, -2.0])
Y = np.array([1.0, 0.0, 0.7])

# The MC standard error is only meaningful where the loss has a finite variance:
# logistic needs E u^2 < inf (m > 3), squared E u^4 < inf (m > 5).
CASES = [
    ("logistic", 4, 0.0), ("logistic", 8, 0.0), ("logistic", 32, 0.0),
    ("logistic", 2, 1e-2), ("squared", 6, 0.0), ("squared", 16, 0.0),
    ("poisson", 16, 0.1),
]


@pytest.mark.slow
@pytest.mark.parametrize("family, m, eps", CASES)
def test_monte_carlo_agrees_with_quadrature(family, m, eps):
    kw = dict(gamma=1.8, beta=0.3, m=m, family=family, eps=eps)
    y = np.minimum(Y, 1.0)
    sim = simulate_glm_loss(H, y, n=200_000, rng=[6, m], **kw)
    exact = expected_glm_loss(H, y, **kw)
    z = np.array([r.zscore(e) for r, e in zip(sim.results, exact)])
    assert np.all(np.abs(z) < 4.5), z


def test_monte_carlo_detects_a_wrong_formula():
    """The comparison has power: a 2% error in the expectation is seen at n = 200k."""
    kw = dict(gamma=1.8, beta=0.3, m=8, family="logistic")
    sim = simulate_glm_loss(1.2, 0.0, n=200_000, rng=11, **kw)
    exact = float(expected_glm_loss(1.2, 0.0, **kw))
    assert abs(sim.results[0].zscore(exact)) < 4.5
    assert abs(sim.results[0].zscore(1.02 * exact)) > 4.5


def test_reproducible_and_schedule_free():
    kw = dict(gamma=1.0, beta=0.0, m=4, n=20_000)
    a = simulate_glm_loss(H, 1.0, rng=5, **kw)
    b = simulate_glm_loss(H, 1.0, rng=5, workers=2, **kw)
    assert [r.estimate for r in a.results] == [r.estimate for r in b.results]
    assert a.entropy == 5
    c = simulate_glm_loss(H, 1.0, rng=6, **kw)
    assert a.results[0].estimate != c.results[0].estimate


def test_mbn_exact_ema_close_to_gamma_approximation():
    """MBN: the simulator samples the exact EMA law; the quadrature uses the moment-matched
    Gamma law. At the paper's end-of-schedule momentum they agree to well under 1%."""
    m, lam = 8, 0.75          # lambda(T) = 1 - m/m0 with m0 = 32
    kw = dict(gamma=1.8, beta=0.3, m=m, momentum=lam)
    sim = simulate_glm_loss(H, Y, n=30_000, rng=3, **kw)
    exact = expected_glm_loss(H, Y, **kw)
    for r, e in zip(sim.results, exact):
        assert abs(r.estimate - e) < 4.5 * r.stderr + 5e-3 * e


def test_errors():
    with pytest.raises(ValueError, match=r"`m` must be an integer >= 2; got m=1"):
        simulate_glm_loss(1.0, 1.0, gamma=1.0, beta=0.0, m=1)
    with pytest.raises(ValueError, match=r"`n` must be an integer >= 1; got n=0"):
        simulate_glm_loss(1.0, 1.0, gamma=1.0, beta=0.0, m=4, n=0)
    with pytest.raises(ValueError, match=r"`y` must be a real number >= 0.0 and <= 1.0"):
        simulate_glm_loss(1.0, 3.0, gamma=1.0, beta=0.0, m=4)
    assert math.isfinite(simulate_glm_loss(1.0, 1.0, gamma=1.0, beta=0.0, m=4, n=100,
                                           rng=1).results[0].estimate)
