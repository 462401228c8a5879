r"""The gamma-decay experiment: logistic regression with a BN output layer under BN noise.

A synthetic data set (``n_samples`` points, ``dim`` standard normal features, labels from a
logistic teacher with slope ``teacher_gamma`` on a unit direction) is fitted by plain numpy
SGD with the model

.. math::

    \tilde h = \frac{w^\top x - \overline{w^\top x}}{\mathrm{sd}(w^\top x)},\qquad
    \eta = \gamma\,\frac{\tilde h - \xi_\mu}{\sqrt{\xi_\sigma + \epsilon}} + \beta,

where the population statistics are those of the whole data set and the noises are drawn
independently per sample and per step from the laws of batch size m (the paper's
independent-noise model): BN, or MBN at the end-of-schedule momentum
:math:`\lambda(T) = 1 - m/m_0` (``m0 = 32``; MBN = BN for m >= m0) with the exact mean-noise
law and the moment-matched Gamma law of the variance noise. m = inf is noise-free training.
Gradients flow through the population normalisation (w's direction) but not through the
noise. Iterates of the last quarter of training are averaged (Polyak-Ruppert), which
estimates the minimiser of the expected training loss.

The theory's prediction is the minimiser over (gamma, beta) of
:math:`\frac1N\sum_i [\ell(E\eta_i, y_i) + R_i]` (:func:`noise_theory.glm_regularizer`) at
the learned direction; optionally also of the exact expected loss
(:func:`noise_theory.expected_glm_loss`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import interpolate, optimize, special

from noise_theory import expected_glm_loss, glm_regularizer
from noise_theory._lib import ParameterValueError
from noise_theory._regularizer import _noise_law
from noise_theory._validation import positive_int, real_array

from ..mc._progress import progress as _progress
from ..mc._seeding import as_seed_sequence

__all__ = ["gamma_decay_experiment", "GammaDecayResult", "GammaDecayRow"]

_DECAY = 16.0  # learning rate lr / (1 + epoch / _DECAY)


@dataclasses.dataclass(frozen=True)
class GammaDecayRow:
    """One training run and the theory's prediction for it.

    Attributes
    ----------
    noise : str
        ``"BN"``, ``"MBN"`` or ``"none"`` (m = inf).
    m : float
        Batch size of the injected noise (``inf`` for none).
    momentum : float
        MBN weight on history (0 for BN).
    gamma, beta : float
        Learned (iterate-averaged) scale and shift.
    train_loss : float
        Training-loss floor: mean noisy loss over the last quarter of training.
    clean_loss : float
        Loss of the learned parameters without noise (inference-mode fit).
    gamma_pred, beta_pred, loss_pred : float
        Minimiser and minimum of ``mean(loss(E eta) + R)`` at the learned direction.
    gamma_exact, loss_exact : float
        Minimiser and minimum of the exact expected loss (``nan`` unless requested).
    """

    noise: str
    m: float
    momentum: float
    gamma: float
    beta: float
    train_loss: float
    clean_loss: float
    gamma_pred: float
    beta_pred: float
    loss_pred: float
    gamma_exact: float
    loss_exact: float


@dataclasses.dataclass(frozen=True)
class GammaDecayResult:
    """Rows of :func:`gamma_decay_experiment` and its settings (seed ``entropy``)."""

    rows: tuple
    entropy: int
    settings: dict


def _make_data(rng, n, dim, teacher_gamma, teacher_beta):
    x = rng.standard_normal((n, dim))
    w = rng.standard_normal(dim)
    w /= np.linalg.norm(w)
    p = special.expit(teacher_gamma * (x @ w) + teacher_beta)
    y = (rng.random(n) < p).astype(float)
    return x, y


def _draw_noise(rng, size, m, momentum):
    """xi_mu, xi_sigma for `size` samples (zeros / ones when m is inf)."""
    if math.isinf(m):
        return np.zeros(size), np.ones(size)

    law = _noise_law(int(m), momentum)
    xi_mu = math.sqrt(law.s2) * rng.standard_normal(size)
    xi_s = law.scale * rng.standard_gamma(law.shape, size)
    return xi_mu, xi_s


def _logistic_loss(eta, y):
    return np.logaddexp(0.0, eta) - y * eta


def _train(x, y, m, momentum, *, rng, epochs, batch, lr, eps):
    n, dim = x.shape
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / n
    w = np.zeros(dim)
    w[0] = 1.0
    gamma, beta = 1.0, 0.0
    steps_per_epoch = n // batch
    total = epochs * steps_per_epoch
    avg_from = total - total // 4
    acc = np.zeros(dim + 2)
    losses = []
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for j in range(steps_per_epoch):
            idx = order[j * batch:(j + 1) * batch]
            sd = math.sqrt(w @ cov @ w)
            h = xc[idx] @ w / sd
            xi_mu, xi_s = _draw_noise(rng, idx.size, m, momentum)
            u = 1.0 / np.sqrt(xi_s + eps)
            hh = (h - xi_mu) * u
            eta = gamma * hh + beta
            g = special.expit(eta) - y[idx]                 # dloss/deta
            # d h / d w through the population normalisation of w^T x
            dh = g * gamma * u
            gw = (xc[idx].T @ dh) / sd - (dh @ h) * (cov @ w) / sd ** 2
            rate = lr / (1.0 + step / steps_per_epoch / _DECAY)
            w -= rate * gw / idx.size
            gamma -= rate * float(g @ hh) / idx.size
            beta -= rate * float(g.sum()) / idx.size
            w /= np.linalg.norm(w)           # the scale of w is irrelevant (normalised)
            if step >= avg_from:
                acc += np.r_[w, gamma, beta]
                losses.append(float(_logistic_loss(eta, y[idx]).mean()))
            step += 1
    acc /= total - avg_from
    w = acc[:dim] / np.linalg.norm(acc[:dim])
    return w, float(acc[dim]), float(acc[dim + 1]), float(np.mean(losses))


def _predict(h, y, m, momentum, eps, start, *, exact):
    """Minimisers of mean(loss(E eta) + R) and (optionally) of the exact E loss."""

    if math.isinf(m):
        def objective(p):
            return float(_logistic_loss(p[0] * h + p[1], y).mean())
        res = optimize.minimize(objective, start, method="Nelder-Mead",
                                options=dict(xatol=1e-6, fatol=1e-10, maxiter=4000))
        return (*res.x, res.fun), (res.x[0], res.fun)

    def formula(p):
        reg = glm_regularizer(h, gamma=p[0], beta=p[1], m=int(m), momentum=momentum, eps=eps)
        return float(np.mean(reg.approx_expected_loss(y)))

    res = optimize.minimize(formula, start, method="Nelder-Mead",
                            options=dict(xatol=1e-6, fatol=1e-10, maxiter=4000))
    pred = (*res.x, res.fun)
    if not exact:
        return pred, (math.nan, math.nan)
    # E A(eta) depends on h only: evaluate it on a grid of h, cubic spline in h (smooth).
    grid = np.linspace(h.min(), h.max(), 61)

    def exact_obj(p):
        ea = expected_glm_loss(grid, 0.0, gamma=p[0], beta=p[1], m=int(m),
                               momentum=momentum, eps=eps)
        reg = glm_regularizer(h, gamma=p[0], beta=p[1], m=int(m), momentum=momentum, eps=eps)
        return float(np.mean(interpolate.CubicSpline(grid, ea)(h) - y * reg.mean_eta))

    res2 = optimize.minimize(exact_obj, res.x, method="L-BFGS-B")
    return pred, (res2.x[0], res2.fun)


def gamma_decay_experiment(batch_sizes=(2, 4, 8, 16, 32, 64, math.inf), *, m0=32,
                           n_samples=4000, dim=5, teacher_gamma=4.0, teacher_beta=0.5,
                           epochs=80, batch=50, lr=0.5, eps=1e-5, exact=False, rng=None,
                           progress=None):
    r"""Train BN-output logistic regression under BN and MBN noise; compare with theory.

    Parameters
    ----------
    batch_sizes : sequence of int or inf, optional
        Batch sizes m of the injected noise (``inf``: no noise).
    m0 : int, optional
        The paper's ideal batch size: MBN uses ``momentum = 1 - m/m0`` for m < m0 and is
        plain BN for m >= m0 (then only a BN row is produced).
    n_samples, dim : int, optional
        Data set size and number of features.
    teacher_gamma, teacher_beta : float, optional
        Slope (on a unit direction) and offset of the logistic teacher.
    epochs, batch : int, optional
        SGD epochs and SGD minibatch size (independent of the noise's m).
    lr : float, optional
        Initial learning rate, decayed as ``lr / (1 + epoch/16)``.
    eps : float, optional
        BN epsilon in population units (1e-5: the noise has finite variance at m = 2, 3).
    exact : bool, optional
        Also minimise the exact expected loss (quadrature; slower).
    rng : None, int, SeedSequence or Generator, optional
    progress : bool, optional
        Progress bar over runs (default: only on a terminal).

    Returns
    -------
    GammaDecayResult
        One :class:`GammaDecayRow` per (noise, m), the seed entropy and the settings.

    Examples
    --------
    >>> from simulations import gamma_decay_experiment
    >>> res = gamma_decay_experiment((4, float("inf")), epochs=4, n_samples=500, rng=0)
    >>> [(r.noise, r.m) for r in res.rows]
    [('BN', 4), ('MBN', 4), ('none', inf)]
    >>> res.rows[0].gamma < res.rows[-1].gamma
    True
    """


    ms = []
    for m in batch_sizes:
        if isinstance(m, float) and math.isinf(m) and m > 0:
            ms.append(math.inf)
        else:
            ms.append(positive_int(m, "batch_sizes", minimum=2))
    m0 = positive_int(m0, "m0", minimum=2)
    n_samples = positive_int(n_samples, "n_samples", minimum=10)
    dim = positive_int(dim, "dim", minimum=1)
    epochs = positive_int(epochs, "epochs", minimum=1)
    batch = positive_int(batch, "batch", minimum=1)
    if batch > n_samples:
        raise ParameterValueError(f"`batch` must be <= n_samples={n_samples}; got batch={batch}.")
    lr = float(real_array(lr, "lr", minimum=0.0, min_open=True))
    eps = float(real_array(eps, "eps", minimum=0.0))
    teacher_gamma = float(real_array(teacher_gamma, "teacher_gamma"))
    teacher_beta = float(real_array(teacher_beta, "teacher_beta"))

    root = as_seed_sequence(rng)

    def child(*key):
        return np.random.default_rng(np.random.SeedSequence(
            root.entropy, spawn_key=tuple(root.spawn_key) + key))

    x, y = _make_data(child(0), n_samples, dim, teacher_gamma, teacher_beta)
    runs = []
    for m in ms:
        runs.append(("BN" if not math.isinf(m) else "none", m, 0.0))
        if not math.isinf(m) and m < m0:
            runs.append(("MBN", m, 1.0 - m / m0))
    rows = []
    for noise, m, lam in _progress(runs, desc="gamma decay", enabled=progress, unit="run"):
        key = (1, 0 if math.isinf(m) else int(m), 1 if noise == "MBN" else 0)
        w, gamma, beta, floor = _train(x, y, m, lam, rng=child(*key), epochs=epochs,
                                       batch=batch, lr=lr, eps=eps)
        xc = x - x.mean(axis=0)
        z = xc @ w
        h = z / z.std()
        clean = float(_logistic_loss(gamma * h + beta, y).mean())
        (gp, bp, lp), (ge, le) = _predict(h, y, m, lam, eps, np.array([gamma, beta]),
                                         exact=exact)
        rows.append(GammaDecayRow(noise=noise, m=m, momentum=lam, gamma=gamma, beta=beta,
                                  train_loss=floor, clean_loss=clean, gamma_pred=float(gp),
                                  beta_pred=float(bp), loss_pred=float(lp),
                                  gamma_exact=float(ge), loss_exact=float(le)))
    settings = dict(m0=m0, n_samples=n_samples, dim=dim, teacher_gamma=teacher_gamma,
                    teacher_beta=teacher_beta, epochs=epochs, batch=batch, lr=lr, eps=eps)
    return GammaDecayResult(rows=tuple(rows), entropy=root.entropy, settings=settings)
