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

from noise_theory import expected_glm_loss, glm_regularizer, noise_law
from noise_theory._lib import ParameterValueError, positive_int, real_array

from ..mc._progress import progress as _progress
from ..mc._seeding import as_seed_sequence, named_seed

__all__ = [
    "VERDICT_RULE",
    "GammaDecayResult",
    "GammaDecayRow",
    "gamma_decay_experiment",
    "min_epochs",
    "second_order_verdict",
]

_DECAY = 16.0  # learning rate lr / (1 + epoch / _DECAY)
_MIN_WINDOW = 4  # fewest SGD steps in the averaging window
_MIN_ALIGNMENT = 0.9  # below: the direction is not learned, no comparison is meaningful
_REL_TOL = 0.08  # SGD's own accuracy: noise-free rows at 1500 x 40 epochs lie at -3.5..-5.6%
_Z = 3.0

#: How the ``verdict`` column is decided (also printed by ``bn-noise simulate regularizer``).
VERDICT_RULE = (
    f"verdict: 'not converged' if the median alignment of gamma*w with the teacher is "
    f"< {_MIN_ALIGNMENT}; else 'holds' if |median(gamma/gamma_pred - 1)| <= {_REL_TOL} "
    f"(SGD's own accuracy, measured on the noise-free rows) + {_Z:g} x its standard error "
    f"(1.2533 x spread / sqrt(replicates)); else 'fails'.")


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
        Minimiser and minimum of the exact expected loss (``nan``: not computed, unless
        ``exact=True``).
    replicates : int
        Independent replicates (fresh data set and SGD noise each). Every value above is
        the median over the replicates.
    gamma_spread, gamma_pred_spread : float
        Spread over the replicates of gamma and gamma_pred: the scaled median absolute
        deviation ``1.4826 median|x - median x|`` (0 for one replicate).
    rel_error, rel_error_spread : float
        Median and spread over the replicates of ``gamma / gamma_pred - 1`` (paired within
        a replicate; ``inf`` where gamma_pred = 0).
    alignment : float
        Convergence diagnostic: median cosine between the gauge-invariant learned weight
        ``gamma w`` and the teacher's ``teacher_gamma w_teacher`` (1 = direction learned).
    window_spread : float
        Convergence diagnostic: median over replicates of the standard deviation of the
        per-step gamma over the averaging window, relative to gamma (~1e-2 where SGD has
        settled; O(1) at BN m = 2, where SGD is a heavy-tailed random walk).
    window_drift : float
        Convergence diagnostic: median of (mean gamma over the window's second half minus
        over its first half) / gamma; > 0 while gamma is still growing.
    verdict : str
        Where the second-order prediction holds: ``"holds"``, ``"fails"`` or ``"not
        converged"``, by the rule in the module docstring (:data:`VERDICT_RULE`).
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
    replicates: int = 1
    gamma_spread: float = 0.0
    gamma_pred_spread: float = 0.0
    rel_error: float = 0.0
    rel_error_spread: float = 0.0
    alignment: float = 1.0
    window_spread: float = 0.0
    window_drift: float = 0.0
    verdict: str = ""


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
    return x, y, teacher_gamma * w


def _noise_sampler(m, momentum):
    """A function ``(rng, size) -> (xi_mu, xi_sigma)`` (zeros / ones when m is inf); the
    law's parameters are computed once, not per step."""
    if math.isinf(m):
        return lambda rng, size: (np.zeros(size), np.ones(size))

    law = noise_law(int(m), momentum=momentum)
    sd_mu, scale, shape = math.sqrt(law.s2), law.scale, law.shape

    def draw(rng, size):
        return sd_mu * rng.standard_normal(size), scale * rng.standard_gamma(shape, size)
    return draw


def _logistic_loss(eta, y):
    return np.logaddexp(0.0, eta) - y * eta


def _train(x, y, m, momentum, *, rng, epochs, batch, lr, eps, v_teacher):
    """SGD on one data set; the gauge-invariant iterate average and its diagnostics.

    The model is unchanged under ``(w, gamma, xi_mu) -> (-w, -gamma, -xi_mu)`` and xi_mu is
    symmetric, so only ``v = gamma w`` (with ``|w| = 1``) and beta are identified. The
    iterates ``v_t`` are averaged (not w and gamma separately, which mixes the two mirror
    solutions); the reported ``gamma = |v_bar| >= 0`` and ``w = v_bar / |v_bar|`` fix the
    gauge. Over the window, ``gamma_t = v_t . w`` is the per-step gamma in that gauge.
    """
    n, dim = x.shape
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / n
    w = np.zeros(dim)
    w[0] = 1.0
    gamma, beta = 1.0, 0.0
    steps_per_epoch = n // batch
    total = epochs * steps_per_epoch
    window = total // 4
    avg_from = total - window
    half = avg_from + window // 2
    sum_v = np.zeros(dim)
    sum_vv = np.zeros((dim, dim))
    sum_v_late = np.zeros(dim)          # second half of the window (the drift diagnostic)
    sum_beta = 0.0
    sum_loss = 0.0
    step = 0
    draw_noise = _noise_sampler(m, momentum)
    with np.errstate(all="ignore"):     # divergence is detected below and refused
        for _ in range(epochs):
            order = rng.permutation(n)
            for j in range(steps_per_epoch):
                idx = order[j * batch:(j + 1) * batch]
                sd = math.sqrt(w @ cov @ w)
                h = xc[idx] @ w / sd
                xi_mu, xi_s = draw_noise(rng, idx.size)
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
                w /= np.linalg.norm(w)       # the scale of w is irrelevant (normalised)
                if step >= avg_from:
                    v = gamma * w
                    sum_v += v
                    sum_vv += np.outer(v, v)
                    if step >= half:
                        sum_v_late += v
                    sum_beta += beta
                    sum_loss += float(_logistic_loss(eta, y[idx]).mean())
                step += 1
        v_bar = sum_v / window
        g_bar = float(np.linalg.norm(v_bar))
        if not (np.isfinite(sum_vv).all() and math.isfinite(sum_loss) and g_bar > 0):
            raise ParameterValueError(
                f"SGD diverged (non-finite parameters) at m={m} with lr={lr:g}, eps={eps:g}: "
                "`lr` must be smaller (or `eps` larger) for this noise.")
        w_bar = v_bar / g_bar
        # spread of gamma_t = v_t . w_bar over the window, and its drift (late - early half)
        var = float(w_bar @ (sum_vv / window) @ w_bar) - g_bar ** 2
        n_late = total - half
        late = float(sum_v_late @ w_bar) / n_late
        early = float((sum_v - sum_v_late) @ w_bar) / (window - n_late)
    return dict(w=w_bar, gamma=g_bar, beta=sum_beta / window, floor=sum_loss / window,
                window_spread=math.sqrt(max(var, 0.0)) / g_bar,
                window_drift=(late - early) / g_bar,
                alignment=float(v_bar @ v_teacher) / (g_bar * float(np.linalg.norm(v_teacher))))


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

    if not math.isfinite(formula(start)):
        # Var(eta) = inf for every gamma != 0 (eps = 0 at m = 2, 3): the second-order
        # penalty is infinite, so its minimiser is gamma = 0 (then only beta is fitted).
        res1 = optimize.minimize_scalar(lambda b: formula((0.0, b)), bracket=(-1.0, 1.0))
        pred = (0.0, float(res1.x), float(res1.fun))
        res = optimize.OptimizeResult(x=np.array([max(start[0], 1e-3), res1.x]))
    else:
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


def _spread(values):
    """Scaled median absolute deviation (0 for one value, inf if a value is infinite)."""
    a = np.asarray(values, dtype=float)
    if not np.isfinite(a).all():
        return math.inf
    return float(1.4826 * np.median(np.abs(a - np.median(a))))


def _median(values):
    return float(np.median(np.asarray(values, dtype=float)))


def min_epochs(n_samples, batch):
    """Fewest epochs whose averaging window (the last quarter of the SGD steps) holds
    ``_MIN_WINDOW`` steps, for `n_samples` points in minibatches of `batch`.

    >>> min_epochs(100, 50), min_epochs(4000, 50)
    (8, 1)
    """
    steps = int(n_samples) // int(batch)
    return max(1, -(-4 * _MIN_WINDOW // steps))


def second_order_verdict(rel_error, rel_error_spread, alignment, replicates):
    """The rule of :data:`VERDICT_RULE` for one row: ``"holds"``, ``"fails"`` or
    ``"not converged"``.

    >>> second_order_verdict(0.01, 0.01, 0.999, 5), second_order_verdict(20.0, 3.0, 0.99, 5)
    ('holds', 'fails')
    >>> second_order_verdict(0.0, 0.0, 0.5, 5)
    'not converged'
    """
    if not alignment >= _MIN_ALIGNMENT:
        return "not converged"
    if not (math.isfinite(rel_error) and math.isfinite(rel_error_spread)):
        return "fails"       # gamma_pred = 0 (an infinite penalty) in some replicate
    se = 1.2533 * rel_error_spread / math.sqrt(replicates) if replicates > 1 else 0.0
    return "holds" if abs(rel_error) <= _REL_TOL + _Z * se else "fails"


def gamma_decay_experiment(batch_sizes=(2, 4, 8, 16, 32, 64, math.inf), *, m0=32,
                           n_samples=4000, dim=5, teacher_gamma=4.0, teacher_beta=0.5,
                           epochs=80, batch=50, lr=0.5, eps=1e-5, exact=False, rng=None,
                           progress=None, replicates=1):
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
        Slope (on a unit direction; nonzero, it defines the alignment diagnostic) and
        offset of the logistic teacher.
    epochs, batch : int, optional
        SGD epochs and SGD minibatch size (independent of the noise's m). The averaging
        window (the last quarter of ``epochs * (n_samples // batch)`` steps) must hold at
        least 4 steps: ``epochs >= min_epochs(n_samples, batch)``.
    lr : float, optional
        Initial learning rate, decayed as ``lr / (1 + epoch/16)``.
    eps : float, optional
        BN epsilon in population units (1e-5: the noise has finite variance at m = 2, 3).
    exact : bool, optional
        Also minimise the exact expected loss (quadrature; slower).
    rng : None, int, SeedSequence or Generator, optional
    progress : bool, optional
        Progress bar over runs (default: only on a terminal).
    replicates : int, optional
        Independent replicates per row (fresh data set and SGD noise, named streams
        ``("data", r)`` and ``("sgd", r, noise, m)``); rows hold medians and spreads.

    Returns
    -------
    GammaDecayResult
        One :class:`GammaDecayRow` per (noise, m), the seed entropy and the settings.

    Raises
    ------
    ParameterValueError, ParameterTypeError
        Invalid arguments, too few SGD steps for the averaging window, or SGD diverging
        (non-finite parameters: lower `lr`).

    Notes
    -----
    Cost: ``replicates * len(rows) * epochs * (n_samples // batch)`` SGD steps of
    ~0.1 ms each, plus one Nelder-Mead fit per run; memory O(n_samples * dim).

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
    replicates = positive_int(replicates, "replicates", minimum=1)
    if batch > n_samples:
        raise ParameterValueError(f"`batch` must be <= n_samples={n_samples}; got batch={batch}.")
    need = min_epochs(n_samples, batch)
    if epochs < need:
        raise ParameterValueError(
            f"`epochs` must be >= {need} for n_samples={n_samples}, batch={batch} (the "
            f"averaging window, the last quarter of the SGD steps, needs >= {_MIN_WINDOW} "
            f"steps); got epochs={epochs}.")
    lr = float(real_array(lr, "lr", minimum=0.0, min_open=True))
    eps = float(real_array(eps, "eps", minimum=0.0))
    teacher_gamma = float(real_array(teacher_gamma, "teacher_gamma"))
    if teacher_gamma == 0.0:
        raise ParameterValueError(
            "`teacher_gamma` must be nonzero (its direction defines the alignment "
            "diagnostic); got teacher_gamma=0.0.")
    teacher_beta = float(real_array(teacher_beta, "teacher_beta"))

    root = as_seed_sequence(rng)
    runs = []
    for m in ms:
        runs.append(("BN" if not math.isinf(m) else "none", m, 0.0))
        if not math.isinf(m) and m < m0:
            runs.append(("MBN", m, 1.0 - m / m0))
    data = [_make_data(np.random.default_rng(named_seed(root, "data", r)), n_samples, dim,
                       teacher_gamma, teacher_beta) for r in range(replicates)]
    jobs = [(run, r) for run in runs for r in range(replicates)]
    per_run = {}
    for (noise, m, lam), r in _progress(jobs, desc="gamma decay", enabled=progress,
                                         unit="run"):
        x, y, v_teacher = data[r]
        stream = np.random.default_rng(named_seed(root, "sgd", r, noise, m))
        fit = _train(x, y, m, lam, rng=stream, epochs=epochs, batch=batch, lr=lr, eps=eps,
                     v_teacher=v_teacher)
        xc = x - x.mean(axis=0)
        z = xc @ fit["w"]
        h = z / z.std()
        clean = float(_logistic_loss(fit["gamma"] * h + fit["beta"], y).mean())
        (gp, bp, lp), (ge, le) = _predict(h, y, m, lam, eps,
                                         np.array([fit["gamma"], fit["beta"]]), exact=exact)
        gp = float(gp)
        rel = fit["gamma"] / gp - 1.0 if gp != 0.0 else math.inf
        per_run.setdefault((noise, m, lam), []).append(dict(
            gamma=fit["gamma"], beta=fit["beta"], train_loss=fit["floor"], clean_loss=clean,
            gamma_pred=gp, beta_pred=float(bp), loss_pred=float(lp), gamma_exact=float(ge),
            loss_exact=float(le), rel_error=rel, alignment=fit["alignment"],
            window_spread=fit["window_spread"], window_drift=fit["window_drift"]))
    rows = []
    for (noise, m, lam), reps in per_run.items():
        med = {k: _median([d[k] for d in reps]) for k in reps[0]}
        for k in ("gamma_exact", "loss_exact"):
            if math.isnan(med[k]):
                med[k] = math.nan       # not computed (the one NaN object: rows compare equal)
        rel_spread = _spread([d["rel_error"] for d in reps])
        rows.append(GammaDecayRow(
            noise=noise, m=m, momentum=lam, **med, replicates=replicates,
            gamma_spread=_spread([d["gamma"] for d in reps]),
            gamma_pred_spread=_spread([d["gamma_pred"] for d in reps]),
            rel_error_spread=rel_spread,
            verdict=second_order_verdict(med["rel_error"], rel_spread, med["alignment"],
                                         replicates)))
    settings = dict(m0=m0, n_samples=n_samples, dim=dim, teacher_gamma=teacher_gamma,
                    teacher_beta=teacher_beta, epochs=epochs, batch=batch, lr=lr, eps=eps,
                    replicates=replicates)
    return GammaDecayResult(rows=tuple(rows), entropy=root.entropy, settings=settings)
