"""Layers from scratch: finite-difference gradient checks (train and eval), MBN(0) == BN bit
for bit, the fused MLP step == the layer path, validation messages."""

import copy

import numpy as np
import pytest

from simulations import BatchNorm, MomentumBatchNorm
from simulations.nn import (
    AvgPool2d,
    BatchRenorm,
    Conv2d,
    Flatten,
    GroupNorm,
    Linear,
    Network,
    NoNorm,
    ReLU,
)
from simulations.nn._fused import FusedMLP
from simulations.nn._train import build_model

H = 1e-6


def _fd_check(layer, x, *, train, rng):
    """Max relative error of backward (input and parameters) against central differences
    of the scalar sum(w * forward(x)), each evaluation on a fresh copy of the layer."""
    w = rng.normal(size=copy.deepcopy(layer).forward(x.copy(), train=train).shape)

    def f(xx, lay):
        return float((lay.forward(xx, train=train) * w).sum())

    work = copy.deepcopy(layer)
    f(x, work)
    dx = work.backward(w)
    errs = []
    num = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[i] += H
        xm.flat[i] -= H
        num.flat[i] = (f(xp, copy.deepcopy(layer)) - f(xm, copy.deepcopy(layer))) / (2 * H)
    errs.append(np.abs(num - dx).max() / np.abs(num).max())
    for k, p in layer.params.items():
        nump = np.zeros_like(p)
        for i in range(p.size):
            lp, lm = copy.deepcopy(layer), copy.deepcopy(layer)
            lp.params[k].flat[i] += H
            lm.params[k].flat[i] -= H
            nump.flat[i] = (f(x, lp) - f(x, lm)) / (2 * H)
        errs.append(np.abs(nump - work.grads[k]).max() / np.abs(nump).max())
    return max(errs)


def _warm(layer, shape, rng):
    layer.forward(rng.normal(size=shape))  # history / running statistics
    return layer


CASES = [
    ("linear", lambda r: Linear(5, 4, rng=1), (3, 5)),
    ("conv", lambda r: Conv2d(2, 3, 3, rng=1), (2, 2, 4, 4)),
    ("relu", lambda r: ReLU(), (3, 5)),
    ("flatten", lambda r: Flatten(), (2, 2, 2, 2)),
    ("pool", lambda r: AvgPool2d(2), (2, 2, 4, 4)),
    ("bn", lambda r: BatchNorm(4), (3, 4)),
    ("bn_img", lambda r: BatchNorm(3), (2, 3, 2, 2)),
    ("mbn", lambda r: _warm(MomentumBatchNorm(4, momentum=0.7), (3, 4), r), (3, 4)),
    ("mbn_img", lambda r: _warm(MomentumBatchNorm(3, momentum=0.6), (2, 3, 2, 2), r), (2, 3, 2, 2)),
    # Batch Renorm: r, d are constants in backward; exact gradients where the clipping binds
    # (r_max = 1, d_max = 0 at the start of the warm-up)
    ("brn", lambda r: _warm(BatchRenorm(4), (3, 4), r), (3, 4)),
    ("gn", lambda r: GroupNorm(8, num_groups=2), (3, 8)),
    ("gn_img", lambda r: GroupNorm(4, num_groups=2), (2, 4, 2, 2)),
    ("none", lambda r: NoNorm(4), (3, 4)),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name,make,shape", CASES, ids=[c[0] for c in CASES])
def test_gradient_check(name, make, shape, train):
    rng = np.random.default_rng(0)
    layer = make(rng)
    x = rng.normal(size=shape) * 2 + 0.5
    if name == "relu":
        x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep away from the kink
    assert _fd_check(layer, x, train=train, rng=rng) < 1e-7


def test_gradient_check_whole_network_train_and_eval():
    rng = np.random.default_rng(1)
    net = Network([Conv2d(1, 2, 3, rng=2), BatchNorm(2), ReLU(), AvgPool2d(2), Flatten(),
                   Linear(8, 6, rng=3), MomentumBatchNorm(6, momentum=0.5), ReLU(),
                   Linear(6, 6, rng=4), GroupNorm(6, num_groups=2), ReLU(), Linear(6, 3, rng=5)])
    net.forward(rng.normal(size=(4, 1, 4, 4)))
    x, y = rng.normal(size=(4, 1, 4, 4)), np.array([0, 1, 2, 1])
    for train in (True, False):
        work = copy.deepcopy(net)
        work.loss_and_grad(x.copy(), y, train=train)
        # relative to the largest gradient of the network (a bias before BN has gradient 0)
        scale = max(np.abs(g).max() for *_, g in work.parameters())
        for li, k, p, g in work.parameters():
            num = np.zeros_like(p)
            for i in range(p.size):
                a, b = copy.deepcopy(net), copy.deepcopy(net)
                a.layers[li].params[k].flat[i] += H
                b.layers[li].params[k].flat[i] -= H
                num.flat[i] = (a.loss(x, y, train=train) - b.loss(x, y, train=train)) / (2 * H)
            assert np.abs(num - g).max() / scale < 1e-7, (train, li, k)


def test_batch_renorm_backward_treats_r_d_as_constants():
    """With the bounds open (r_max = 3, d_max = 5) r, d depend on x but are constants in
    backward, so backward differs from the full derivative: the design is visible."""
    rng = np.random.default_rng(0)
    layer = _warm(BatchRenorm(4), (3, 4), rng)
    layer.set_progress(1.0)
    assert _fd_check(layer, rng.normal(size=(3, 4)) * 2, train=True, rng=rng) > 1e-3


@pytest.mark.parametrize("shape", [(2, 5), (7, 5), (3, 5, 2, 2)])
def test_mbn_with_momentum_zero_equals_bn_bit_for_bit(shape):
    rng = np.random.default_rng(3)
    bn, mbn = BatchNorm(5), MomentumBatchNorm(5, momentum=0.0)
    for _ in range(4):
        x = rng.normal(size=shape) * 3 + 1
        g = rng.normal(size=shape)
        assert np.array_equal(bn.forward(x), mbn.forward(x))
        assert np.array_equal(bn.backward(g), mbn.backward(g))
        assert all(np.array_equal(bn.grads[k], mbn.grads[k]) for k in bn.grads)


def test_mbn_normalises_with_the_updated_moving_statistics():
    rng = np.random.default_rng(4)
    mbn = MomentumBatchNorm(3, momentum=0.8, eps=0.0)
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3)) + 2
    mbn.forward(x1)  # first step: moving stats = the batch's
    np.testing.assert_array_equal(mbn.moving_mean, x1.mean(0))
    y = mbn.forward(x2)
    mu = 0.8 * x1.mean(0) + 0.2 * x2.mean(0)
    var = 0.8 * x1.var(0) + 0.2 * x2.var(0)
    np.testing.assert_allclose(y, (x2 - mu) / np.sqrt(var), rtol=1e-13)


@pytest.mark.parametrize("norm", ["bn", "mbn", "none"])
@pytest.mark.parametrize("m", [2, 9])
def test_fused_step_equals_layer_path(norm, m):
    """Each fused step (forward + backward + SGD) equals the layer path's to 1e-12 from the
    same state; the states are re-synchronised after each step because training at m = 2 is
    chaotic (a 1e-16 difference grows about 10x per step)."""
    rng = np.random.default_rng(5)
    a = build_model("mlp", 3, norm, n_features=6, n_classes=4, rng=7, m=m, epochs=4)
    b = copy.deepcopy(a)
    fused = FusedMLP(a)
    params = b.parameters()
    vel = [np.zeros_like(p) for *_, p, _ in params]
    for step in range(20):
        if step % 5 == 0:
            for n in b.normalisers() + a.normalisers():
                n.set_epoch(step // 5 + 1, 4, m)
        x, y = rng.normal(size=(m, 6)), rng.integers(0, 4, m)
        la = fused.step(x, y, 0.05)
        lb = b.loss_and_grad(x, y)
        for v, (_, _, p, g) in zip(vel, params):
            v *= 0.9
            v += g + 1e-4 * p
            p -= 0.05 * v
        assert abs(la - lb) <= 1e-12 * max(1, abs(lb))
        fused.sync()
        pos = 0
        for (_, _, p, _), (_, _, q, _), v in zip(a.parameters(), params, vel):
            np.testing.assert_allclose(q, p, rtol=1e-12, atol=1e-12)
            q[...] = p
            v[...] = fused.V[pos:pos + p.size].reshape(p.shape)
            pos += p.size
        for na, nb in zip(a.normalisers(), b.normalisers()):
            if norm != "none":
                for sa, sb in zip(na.eval_statistics(), nb.eval_statistics()):
                    np.testing.assert_allclose(sb, sa, rtol=1e-12, atol=1e-12)
                nb.set_population(*na.eval_statistics())
                if norm == "mbn":
                    np.testing.assert_allclose(nb.moving_mean, na.moving_mean, rtol=1e-12, atol=1e-12)
                    nb.moving_mean, nb.moving_var = na.moving_mean.copy(), na.moving_var.copy()
    xt = rng.normal(size=(5, 6))
    np.testing.assert_allclose(a.forward(xt, train=False), b.forward(xt, train=False),
                               rtol=1e-12, atol=1e-12)


def test_bn_unbiased_running_var_option():
    x = np.random.default_rng(0).normal(size=(4, 2))
    a, b = BatchNorm(2, momentum=0.0), BatchNorm(2, momentum=0.0, unbiased_running_var=True)
    a.forward(x)
    b.forward(x)
    np.testing.assert_allclose(a.running_var, x.var(0))
    np.testing.assert_allclose(b.running_var, x.var(0, ddof=1))


def test_validation_messages():
    with pytest.raises(ValueError, match=r"`momentum` must be .*got momentum=1"):
        BatchNorm(3, momentum=1.0)
    with pytest.raises(ValueError, match=r"`inference_momentum` must be"):
        MomentumBatchNorm(3, inference_momentum=-0.1)
    with pytest.raises(ValueError, match=r"`num_features` must be an integer >= 1"):
        BatchNorm(0)
    with pytest.raises(ValueError, match=r"`x` must have shape \(N, 3\)"):
        BatchNorm(3).forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"`num_groups` must divide num_features=6"):
        GroupNorm(6, num_groups=4)
    with pytest.raises(ValueError, match=r"`kernel_size` must be an odd integer"):
        Conv2d(1, 1, 2)
    with pytest.raises(ValueError, match=r"needs >= 2 values per channel"):
        BatchNorm(2).forward(np.zeros((1, 2)))
