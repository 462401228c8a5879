"""Models and the trainer: SGD with momentum 0.9, weight decay 1e-4, lr = base * m / 64,
step decay, a fixed epoch budget; one SeedSequence per run, bit-identical reruns."""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field

import numpy as np

from noise_theory import inference_momentum, momentum_schedule
from noise_theory._lib import ParameterValueError, choice, positive_int, real_array

from ..mc import named_seed
from ._fused import FusedMLP, fusable
from ._layers import AvgPool2d, Conv2d, Flatten, Linear, Network, ReLU
from ._norm import (
    BatchNorm,
    BatchRenorm,
    GroupNorm,
    MomentumBatchNorm,
    NoNorm,
    Normaliser,
)

__all__ = [
    "MODELS",
    "NORMS",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "evaluate",
    "lr_factor",
    "population_network",
    "train",
    "train_network",
]

NORMS = ("bn", "mbn", "brn", "gn", "none")
MODELS = ("mlp", "cnn")
#: hidden width of the MLP and channels of the CNN
MLP_WIDTH, CNN_CHANNELS = 128, 8


def _norm(norm, c, *, image, m, epochs, m0, tau0, schedule):
    if norm == "bn":
        return BatchNorm(c)
    if norm == "mbn":
        layer = MomentumBatchNorm(c, momentum=0.0,
                                  inference_momentum=float(inference_momentum(m, m0=m0, tau0=tau0)))
        per_epoch = momentum_schedule(schedule, m=m, epochs=epochs, m0=m0)
        layer.schedule = lambda epoch, epochs_, m_: float(per_epoch[epoch - 1])
        return layer
    if norm == "brn":
        return BatchRenorm(c)
    if norm == "gn":
        return GroupNorm(c, num_groups=2 if image else 8)
    return NoNorm(c)


def build_model(model, depth, norm, *, n_features, n_classes, image_shape=None, rng=None,
                m=32, epochs=10, m0=32, tau0=0.9, schedule="paper"):
    """An MLP (``n_features -> 128 x depth -> n_classes``) or a CNN (``depth`` 3x3 conv
    layers with 8 channels, 'same' padding, a 2x2 average pooling after the first, then a
    linear classifier), each hidden layer followed by the normaliser `norm` and ReLU."""
    model = choice(model, "model", MODELS)
    norm = choice(norm, "norm", NORMS)
    depth = positive_int(depth, "depth")
    rng = np.random.default_rng(rng)
    kw = {"m": m, "epochs": epochs, "m0": m0, "tau0": tau0, "schedule": schedule}
    layers = []
    if model == "mlp":
        d = n_features
        for _ in range(depth):
            layers += [Linear(d, MLP_WIDTH, rng=rng), _norm(norm, MLP_WIDTH, image=False, **kw), ReLU()]
            d = MLP_WIDTH
        layers.append(Linear(d, n_classes, rng=rng))
    else:
        if image_shape is None:
            raise ParameterValueError("`model`='cnn' needs image data (image_shape); got a flat data set.")
        c, h, w = image_shape
        for i in range(depth):
            layers += [Conv2d(c, CNN_CHANNELS, 3, rng=rng),
                       _norm(norm, CNN_CHANNELS, image=True, **kw), ReLU()]
            c = CNN_CHANNELS
            if i == 0 and h % 2 == 0 and w % 2 == 0 and h >= 8:
                layers.append(AvgPool2d(2))  # 8x8 -> 4x4 after the first block: 3x cheaper
                h, w = h // 2, w // 2
        layers += [Flatten(), Linear(c * h * w, n_classes, rng=rng)]
    return Network(layers)


def lr_factor(epoch, epochs):
    """Step decay: x0.1 after 50% and again after 75% of the epochs (epoch is 1-based)."""
    return 0.1 ** ((epoch > epochs // 2) + (epoch > (3 * epochs) // 4))


@dataclass(frozen=True)
class TrainConfig:
    """One training run."""

    model: str = "mlp"
    depth: int = 2
    norm: str = "bn"
    batch_size: int = 64
    epochs: int = 10
    base_lr: float = 0.1
    weight_decay: float = 1e-4
    sgd_momentum: float = 0.9
    m0: int = 32
    tau0: float = 0.9
    schedule: str = "paper"
    fused: bool = True

    def validate(self):
        choice(self.model, "model", MODELS)
        choice(self.norm, "norm", NORMS)
        positive_int(self.depth, "depth")
        positive_int(self.batch_size, "batch_size", minimum=2)
        positive_int(self.epochs, "epochs", minimum=2)
        real_array(self.base_lr, "base_lr", minimum=0.0, min_open=True)
        real_array(self.weight_decay, "weight_decay", minimum=0.0)
        positive_int(self.m0, "m0", minimum=2)
        real_array(self.tau0, "tau0", minimum=0.0, maximum=1.0, max_open=True)
        return self


@dataclass
class TrainResult:
    """What :func:`train` returns; accuracies are NaN for a diverged run."""

    config: TrainConfig
    test_accuracy: float            # eval mode, running / inference statistics
    test_accuracy_population: float  # eval mode, statistics recomputed on the training set
    train_loss: float               # mean training loss over the last epoch
    diverged: bool
    epoch_loss: list = field(default_factory=list)
    epoch_test_accuracy: list = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    network: object = None


def population_network(net, X):
    """A copy of `net` whose eval statistics are the population statistics of each
    normaliser's input over `X` at the current weights (layer by layer, earlier layers
    already using their population statistics)."""
    net = copy.deepcopy(net)
    h = X
    for layer in net.layers:
        if isinstance(layer, Normaliser) and layer.has_statistics:
            axes = layer._axes(h)
            mu = h.mean(axis=axes)
            var = ((h - layer._b(mu, h)) ** 2).mean(axis=axes)
            layer.set_population(mu, var)
        h = layer.forward(h, train=False)
    return net


def _as_input(net, X, image_shape):
    return X.reshape((len(X),) + tuple(image_shape)) if isinstance(net.layers[0], Conv2d) else X


def evaluate(net, X, y, *, batch=512):
    """Accuracy of `net` in eval mode."""
    correct = 0
    for i in range(0, len(X), batch):
        correct += int((net.forward(X[i:i + batch], train=False).argmax(axis=1) == y[i:i + batch]).sum())
    return correct / len(X)


def one_blas_thread():
    """A context in which BLAS uses one thread: the runs of a grid are the parallelism, and
    a multi-threaded BLAS on 64x128 matrices on a loaded machine is 100x slower."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401  deferred: load scipy's BLAS (numba's) so the limit covers it
        from threadpoolctl import (
            threadpool_limits,  # deferred: threadpoolctl (with scikit-learn)
        )
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(1)


def train(config, data, *, seed=0, keep_network=False, callback=None):
    """Train one network; see :func:`_train` (BLAS limited to one thread)."""
    with one_blas_thread():
        return _train(config, data, seed=seed, keep_network=keep_network, callback=callback)


def _train(config, data, *, seed=0, keep_network=False, callback=None):
    """Train one network (`config` on the :class:`~simulations.nn._data.Dataset` `data`).

    The SeedSequence `seed` gives two named streams, ``init`` and ``shuffle``;
    every epoch visits the training set in a fresh permutation in ``N // m`` full batches
    (the last partial batch is dropped, so every BN batch has exactly m samples). A
    non-finite loss stops the run and marks it ``diverged`` (no exception).
    `callback(net, epoch, step)` is called at each epoch's start (the noise probe).
    """
    cfg = config.validate()
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    s_init, s_shuffle = named_seed(seq, "init"), named_seed(seq, "shuffle")
    m, T = cfg.batch_size, cfg.epochs
    if m > len(data.X_train):
        raise ParameterValueError(
            f"`batch_size` must be <= the training set size {len(data.X_train)}; got {m}.")
    net = build_model(cfg.model, cfg.depth, cfg.norm, n_features=data.n_features,
                      n_classes=data.n_classes, image_shape=data.image_shape, rng=s_init,
                      m=m, epochs=T, m0=cfg.m0, tau0=cfg.tau0, schedule=cfg.schedule)
    Xtr = _as_input(net, data.X_train, data.image_shape)
    Xte = _as_input(net, data.X_test, data.image_shape)
    ytr = data.y_train
    fused = FusedMLP(net, weight_decay=cfg.weight_decay, sgd_momentum=cfg.sgd_momentum) \
        if cfg.fused and fusable(net) else None
    params = net.parameters()
    vel = [np.zeros_like(p) for *_, p, _ in params]
    norms = net.normalisers()
    rng = np.random.default_rng(s_shuffle)
    nb = len(Xtr) // m
    total = nb * T
    lr0 = cfg.base_lr * m / 64
    losses, accs, step, diverged, start = [], [], 0, False, time.perf_counter()
    with np.errstate(all="ignore"):
        for epoch in range(1, T + 1):
            for layer in norms:
                layer.set_epoch(epoch, T, m)
            if callback is not None:
                if fused is not None:
                    fused.sync()
                callback(net, epoch, step)
            lr = lr0 * lr_factor(epoch, T)
            order = rng.permutation(len(Xtr))
            run = 0.0
            for b in range(nb):
                idx = order[b * m:(b + 1) * m]
                if fused is not None:
                    loss = fused.step(Xtr[idx], ytr[idx], lr)
                else:
                    for layer in norms:
                        layer.set_progress(step / total)
                    loss = net.loss_and_grad(Xtr[idx], ytr[idx])
                    for v, (_, _, p, g) in zip(vel, params):
                        v *= cfg.sgd_momentum
                        v += g + cfg.weight_decay * p
                        p -= lr * v
                step += 1
                if not np.isfinite(loss):
                    diverged = True
                    break
                run += loss
            if diverged:
                break
            if fused is not None:
                fused.sync()
            losses.append(run / nb)
            accs.append(evaluate(net, Xte, data.y_test))
    if diverged:
        acc = acc_pop = float("nan")
    else:
        acc = accs[-1]
        acc_pop = evaluate(population_network(net, Xtr), Xte, data.y_test) \
            if any(n.has_statistics for n in norms) else acc
    return TrainResult(cfg, acc, acc_pop, losses[-1] if losses and not diverged else float("nan"),
                       diverged, losses, accs, step, time.perf_counter() - start,
                       net if keep_network else None)


#: public name (``simulations.train_network``)
train_network = train
