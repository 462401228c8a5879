"""Running statistics of BN and inference statistics of MBN on a stationary Gaussian stream
have the variance noise_theory predicts (EMA with weight tau on history)."""

import numpy as np
import pytest

from noise_theory import ema_mean_noise, inference_momentum
from simulations import BatchNorm, MomentumBatchNorm

#: Monte Carlo agreement tests (fixed seeds, k x standard-error tolerances).
pytestmark = pytest.mark.statistical

K = 5.0  # tolerance in standard errors


def _stream_var(layer, attr, m, steps, burn, rng):
    """Sample variance over time and channels of `attr` after a burn-in, and its stderr
    (independent channels; the autocorrelation of the EMA is accounted for by thinning)."""
    vals = []
    for t in range(steps):
        layer.forward(rng.standard_normal((m, 400)))
        if t >= burn and (t - burn) % 40 == 0:
            vals.append(np.array(getattr(layer, attr)))
    v = np.concatenate(vals)
    n = v.size
    est = float(np.mean(v ** 2))  # population mean 0
    return est, float(np.std(v ** 2) / np.sqrt(n))


@pytest.mark.parametrize("m", [2, 8])
def test_bn_running_mean_variance(m):
    rng = np.random.default_rng(10 + m)
    bn = BatchNorm(400, momentum=0.9)
    est, se = _stream_var(bn, "running_mean", m, 1200, 200, rng)
    theory = float(ema_mean_noise(m, 0.9).var())
    assert abs(est - theory) < K * se, (est, theory, se)


@pytest.mark.parametrize("m", [4, 16])
def test_mbn_inference_mean_variance_uses_one_minus_tau_on_the_batch(m):
    rng = np.random.default_rng(20 + m)
    tau = float(inference_momentum(m, m0=32, tau0=0.5))  # small tau: short memory, fast test
    mbn = MomentumBatchNorm(400, momentum=0.5, inference_momentum=tau)
    est, se = _stream_var(mbn, "inference_mean", m, 1200, 200, rng)
    theory = float(ema_mean_noise(m, tau).var())
    assert abs(est - theory) < K * se, (est, theory, se)
    # the swapped convention (weight tau on the NEW batch) predicts a different variance,
    # which the measurement rejects
    swapped = float(ema_mean_noise(m, 1 - tau).var())
    assert abs(est - swapped) > K * se


def test_swapped_inference_convention_is_caught():
    """A layer that updates the inference mean with weight tau on the new batch (one
    published implementation) fails the check above."""

    class Swapped(MomentumBatchNorm):
        def forward(self, x, *, train=True):
            old = None if not self._started else self.inference_mean
            y = super().forward(x, train=train)
            if old is not None:
                tau = self.inference_momentum
                self.inference_mean = (1 - tau) * old + tau * self.last_batch_mean
            return y

    m = 4
    rng = np.random.default_rng(7)
    tau = float(inference_momentum(m, m0=32, tau0=0.5))
    est, se = _stream_var(Swapped(400, inference_momentum=tau), "inference_mean", m, 1200, 200, rng)
    assert abs(est - float(ema_mean_noise(m, tau).var())) > K * se


@pytest.mark.slow
def test_noise_probe_first_layer_matches_one_over_m_for_most_seeds():
    """The probe's first-layer Var xi_mu against 1/m (the report's claim) over 20 seeds:
    at least 19 within 4 standard errors, and no bias (the mean z-score near 0)."""
    from simulations import noise_probe
    from simulations.nn._data import digits
    from simulations.nn._train import TrainConfig

    data = digits()
    zs = []
    for seed in range(20):
        rows = noise_probe(TrainConfig(model="mlp", depth=2, norm="bn", batch_size=4, epochs=2),
                           data, seed=seed, batches=400)
        r = next(r for r in rows if r["layer"] == 1)
        zs.append((r["var_xi_mu"] - 0.25) / r["var_xi_mu_se"])
    assert sum(abs(z) <= 4 for z in zs) >= 19, zs
    assert abs(np.mean(zs)) < 1.0, zs   # the mean of 20 z-scores has sd about 0.22
