r"""Momentum schedules for Momentum BN, inference momentum and momentum converters.

Momentum is the weight on *history* everywhere (lambda, tau):
``s <- momentum * s + (1 - momentum) * s_B``. PyTorch's ``momentum`` argument is the
weight on the *new* value; convert with :func:`from_pytorch_momentum` and
:func:`to_pytorch_momentum`. Epochs count from 1 to ``epochs``; the momentum is fixed
within an epoch.
"""

from __future__ import annotations

import numpy as np

from ._validation import integer_array, positive_int, real_array

__all__ = [
    "paper_momentum",
    "inference_momentum",
    "constant_momentum",
    "linear_momentum",
    "cosine_momentum",
    "momentum_schedule",
    "momentum_for_target_batch",
    "from_pytorch_momentum",
    "to_pytorch_momentum",
    "drift_mse",
    "optimal_drift_momentum",
]


def _out(x):
    x = np.asarray(x, dtype=float)
    return x[()] if x.ndim == 0 else x


def _epoch_iv(epoch, epochs):
    epochs = positive_int(epochs, "epochs", minimum=2)
    epoch = integer_array(epoch, "epoch", minimum=1)
    return epoch, epochs


def _momentum_iv(momentum, name="momentum"):
    return real_array(momentum, name, minimum=0, maximum=1, max_open=True)


# ---------------------------------------------------------------- the paper's schedule
def paper_momentum(epoch, epochs, m, *, m0=32):
    r"""The MBN paper's dynamic training momentum lambda(t) (weight on history).

    Parameters
    ----------
    epoch : int or array_like of int
        Epoch ``t >= 1`` (epochs past `epochs` keep the final value).
    epochs : int
        Number of training epochs ``T >= 2``.
    m : int or array_like of int
        Batch size, ``m >= 2``.
    m0 : int or array_like of int, optional
        Ideal batch size (32 in the paper), ``m0 >= 2``.

    Returns
    -------
    float or ndarray
        ``lambda(t)``, broadcast over `epoch`, `m` and `m0`.

    Notes
    -----
    With :math:`\rho = \min(m/m_0, 1)^{1/T}`,

    .. math:: \lambda(t) = \rho^{\frac{T}{T-1}\max(T-t, 0)} - \rho^T,

    so :math:`\lambda(1) = 0` (plain BN at the start), :math:`\lambda(T) = 1 - m/m_0` and
    :math:`\lambda \equiv 0` when :math:`m \ge m_0`. The end point gives the stationary
    mean-noise variance :math:`\frac{1-\lambda}{(1+\lambda)m} = \frac{1}{2m_0 - m}`, not
    :math:`1/m_0`; :func:`momentum_for_target_batch` gives the momentum that reaches
    :math:`1/m_0` exactly.

    References
    ----------
    Yong, Huang, Meng, Hua, Zhang, "Momentum Batch Normalization for Deep Learning with
    Small Batch Size", ECCV 2020.

    Examples
    --------
    >>> from noise_theory import paper_momentum
    >>> paper_momentum([1, 100, 200], 200, 2).round(4)
    array([0.    , 0.1858, 0.9375])
    """
    epoch, epochs = _epoch_iv(epoch, epochs)
    m = integer_array(m, "m", minimum=2)
    m0 = integer_array(m0, "m0", minimum=2)
    # rho^(T/(T-1) max(T-t, 0)) = r^(max(T-t, 0)/(T-1)) with r = rho^T = min(m/m0, 1):
    # this form makes lambda(1) = r - r = 0 and lambda(T) = 1 - r exact in floating point.
    r = np.minimum(m / m0, 1.0)
    return _out(r ** (np.maximum(epochs - epoch, 0) / (epochs - 1.0)) - r)


def inference_momentum(m, *, m0=32, tau0=0.9):
    r"""Inference momentum tau for batch size `m` (weight on history).

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    m0 : int or array_like of int, optional
        Ideal batch size (default 32).
    tau0 : float or array_like, optional
        Inference momentum at batch size `m0`, ``0 <= tau0 < 1``. The paper's value is
        transcribed as 0.9 in one source and 0.85 in two codebases; default 0.9.

    Returns
    -------
    float or ndarray
        ``tau = tau0 ** (m / m0)``.

    Notes
    -----
    An epoch over N samples has N/m updates; :math:`\tau^{N/m} = \tau_0^{N/m_0}` makes the
    inference statistics forget at the same rate per epoch as with batch :math:`m_0`.

    Examples
    --------
    >>> from noise_theory import inference_momentum
    >>> round(float(inference_momentum(2)), 6)
    0.993437
    """
    m = integer_array(m, "m", minimum=2)
    m0 = integer_array(m0, "m0", minimum=2)
    tau0 = _momentum_iv(tau0, "tau0")
    return _out(tau0 ** (m / m0))


# ---------------------------------------------------------------- simple ramps
def constant_momentum(epoch, momentum):
    """Constant schedule: `momentum` at every epoch (broadcast to the shape of `epoch`).

    Examples
    --------
    >>> from noise_theory import constant_momentum
    >>> constant_momentum([1, 2, 3], 0.9)
    array([0.9, 0.9, 0.9])
    """
    epoch = integer_array(epoch, "epoch", minimum=1)
    momentum = _momentum_iv(momentum)
    return _out(np.broadcast_to(momentum, np.broadcast_shapes(epoch.shape, momentum.shape)))


def _ramp_iv(epoch, epochs, start, end):
    epoch, epochs = _epoch_iv(epoch, epochs)
    start = _momentum_iv(start, "start")
    end = _momentum_iv(end, "end")
    frac = np.minimum((epoch - 1) / (epochs - 1.0), 1.0)
    return frac, start, end


def linear_momentum(epoch, epochs, *, start=0.0, end):
    """Linear ramp from `start` at epoch 1 to `end` at epoch `epochs` (then constant).

    Examples
    --------
    >>> from noise_theory import linear_momentum
    >>> linear_momentum([1, 2, 3], 3, end=0.9)
    array([0.  , 0.45, 0.9 ])
    """
    frac, start, end = _ramp_iv(epoch, epochs, start, end)
    return _out(start + (end - start) * frac)


def cosine_momentum(epoch, epochs, *, start=0.0, end):
    """Half-cosine ramp from `start` at epoch 1 to `end` at epoch `epochs` (then constant).

    ``start + (end - start) * (1 - cos(pi (t - 1) / (T - 1))) / 2``.

    Examples
    --------
    >>> from noise_theory import cosine_momentum
    >>> cosine_momentum([1, 2, 3], 3, end=0.9)
    array([0.  , 0.45, 0.9 ])
    """
    frac, start, end = _ramp_iv(epoch, epochs, start, end)
    return _out(start + (end - start) * 0.5 * (1.0 - np.cos(np.pi * frac)))


# ---------------------------------------------------------------- spec -> per-step array
SCHEDULES = ("paper", "constant", "linear", "cosine")


def _parse_spec(spec):
    """Split ``"constant:0.9"`` / ``"linear:0.5"`` into (kind, value or None)."""
    kind, _, arg = str(spec).partition(":")
    if kind not in SCHEDULES:
        from ._validation import choice

        choice(kind, "schedule", SCHEDULES)
    value = None
    if arg:
        try:
            value = float(arg)
        except ValueError:
            raise ValueError(f"`schedule` value after ':' must be a real number; "
                             f"got schedule={spec!r}.") from None
    if kind == "paper" and value is not None:
        raise ValueError(f"`schedule` 'paper' takes no value; got schedule={spec!r}.")
    if kind == "constant" and value is None:
        raise ValueError(f"`schedule` 'constant' needs a momentum, e.g. 'constant:0.9'; "
                         f"got schedule={spec!r}.")
    return kind, value


def momentum_schedule(schedule, *, m, epochs, iterations_per_epoch=1, m0=32):
    r"""Per-iteration momenta of a schedule, ready for :func:`noise_trajectory`.

    Parameters
    ----------
    schedule : str or array_like
        ``"paper"`` (:func:`paper_momentum`), ``"constant:L"`` (momentum L),
        ``"linear"`` / ``"cosine"`` (ramp from 0 at epoch 1 to the paper's end point
        ``1 - m/m0``) or ``"linear:L"`` / ``"cosine:L"`` (ramp from 0 to L); or an array of
        per-epoch momenta of length `epochs`.
    m : int
        Batch size, ``m >= 2``.
    epochs : int
        Number of epochs, ``>= 2``.
    iterations_per_epoch : int, optional
        Steps per epoch (momentum constant within an epoch), ``>= 1``.
    m0 : int, optional
        Ideal batch size of the paper's schedule (default 32).

    Returns
    -------
    ndarray, shape (epochs * iterations_per_epoch,)
        The momentum used at each step, epoch by epoch.

    Examples
    --------
    >>> from noise_theory import momentum_schedule
    >>> momentum_schedule("linear", m=16, epochs=3, iterations_per_epoch=2)
    array([0.  , 0.  , 0.25, 0.25, 0.5 , 0.5 ])
    """
    m = positive_int(m, "m", minimum=2)
    epochs = positive_int(epochs, "epochs", minimum=2)
    iterations_per_epoch = positive_int(iterations_per_epoch, "iterations_per_epoch")
    m0 = positive_int(m0, "m0", minimum=2)
    t = np.arange(1, epochs + 1)
    if isinstance(schedule, str):
        kind, value = _parse_spec(schedule)
        end = value if value is not None else max(1.0 - m / m0, 0.0)
        if kind == "paper":
            per_epoch = paper_momentum(t, epochs, m, m0=m0)
        elif kind == "constant":
            per_epoch = constant_momentum(t, value)
        elif kind == "linear":
            per_epoch = linear_momentum(t, epochs, end=end)
        else:
            per_epoch = cosine_momentum(t, epochs, end=end)
    else:
        per_epoch = _momentum_iv(schedule, "schedule")
        if per_epoch.shape != (epochs,):
            raise ValueError(f"`schedule` array must have shape (epochs,) = ({epochs},); "
                             f"got shape {per_epoch.shape}.")
    return np.repeat(np.asarray(per_epoch, dtype=float), iterations_per_epoch)


# ---------------------------------------------------------------- targets and converters
def momentum_for_target_batch(m, target):
    r"""The momentum whose stationary MBN mean noise equals plain BN's at batch `target`.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    target : float or array_like
        Target batch size, ``target >= m``.

    Returns
    -------
    float or ndarray
        ``(target - m) / (target + m)``.

    Notes
    -----
    Solves :math:`\frac{1-\lambda}{(1+\lambda)m} = \frac{1}{m_t}`, i.e.
    ``effective_batch_size(m, lambda) == target``. The paper's end point
    ``1 - m/target`` overshoots the noise target (its variance is
    ``1/(2 target - m)``).

    Examples
    --------
    >>> from noise_theory import momentum_for_target_batch
    >>> round(float(momentum_for_target_batch(2, 32)), 6)
    0.882353
    """
    m = integer_array(m, "m", minimum=2)
    target = real_array(target, "target", allow_inf=False)
    if np.any(target < m):
        raise ValueError(f"`target` must be >= m (a momentum >= 0 only lowers the noise); "
                         f"got target={target.tolist()!r} with m={m.tolist()!r}.")
    return _out((target - m) / (target + m))


def from_pytorch_momentum(momentum):
    """Convert PyTorch's ``momentum`` (weight on the new value) to lambda (weight on history).

    Examples
    --------
    >>> from noise_theory import from_pytorch_momentum
    >>> float(from_pytorch_momentum(0.1))
    0.9
    """
    momentum = real_array(momentum, "momentum", minimum=0, maximum=1, min_open=True)
    return _out(1.0 - momentum)


def to_pytorch_momentum(momentum):
    """Convert lambda (weight on history) to PyTorch's ``momentum`` (weight on the new value).

    Examples
    --------
    >>> from noise_theory import to_pytorch_momentum
    >>> round(float(to_pytorch_momentum(0.9)), 12)
    0.1
    """
    momentum = _momentum_iv(momentum)
    return _out(1.0 - momentum)


# ---------------------------------------------------------------- drift: noise vs staleness
DRIFTS = ("linear", "walk")


def _drift_iv(m, momentum, drift, rate):
    from ._validation import choice

    drift = choice(drift, "drift", DRIFTS)
    m = integer_array(m, "m", minimum=2)
    rate = real_array(rate, "rate", minimum=0)
    if momentum is not None:
        momentum = _momentum_iv(momentum)
    return m, momentum, drift, rate


def drift_mse(m, momentum, *, drift, rate):
    r"""Stationary mean squared error of MBN's running mean under a drifting population.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    momentum : float or array_like
        Weight on history (lambda), ``0 <= momentum < 1``.
    drift : {"linear", "walk"}
        ``"linear"``: the population mean moves by `rate` population standard deviations
        per step. ``"walk"``: it takes independent ``N(0, rate**2)`` steps.
    rate : float or array_like
        Drift per step (population-sd units), ``>= 0``.

    Returns
    -------
    float or ndarray
        :math:`E(\hat\mu_t - \mu_t)^2` after many steps, for the running mean
        :math:`\hat\mu_t` right after its update at step t (the one training normalises
        with), in population-variance units.

    Notes
    -----
    The error :math:`e_t = \hat\mu_t - \mu_t` obeys
    :math:`e_t = \lambda(e_{t-1} - \delta_t) + (1-\lambda)\xi_{\mu,t}` with
    :math:`\delta_t = \mu_t - \mu_{t-1}` and :math:`\xi_\mu \sim N(0, 1/m)`. For linear drift
    (:math:`\delta_t = r`) the stationary error has mean :math:`-\lambda r/(1-\lambda)`
    (staleness) and variance :math:`\frac{1-\lambda}{(1+\lambda)m}` (noise):

    .. math:: \mathrm{MSE} = \frac{\lambda^2 r^2}{(1-\lambda)^2} + \frac{1-\lambda}{(1+\lambda)m}.

    For a random walk (:math:`\delta_t \sim N(0, q^2)`) the stationary variance solves
    :math:`V = \lambda^2 (V + q^2) + (1-\lambda)^2/m`:

    .. math:: \mathrm{MSE} = \frac{\lambda^2 q^2 + (1-\lambda)^2/m}{1-\lambda^2}.

    Examples
    --------
    >>> from noise_theory import drift_mse
    >>> round(float(drift_mse(4, 0.9, drift="linear", rate=0.001)), 6)
    0.013239
    """
    m, momentum, drift, rate = _drift_iv(m, momentum, drift, rate)
    lam = momentum
    if drift == "linear":
        return _out((lam * rate / (1.0 - lam)) ** 2 + (1.0 - lam) / ((1.0 + lam) * m))
    return _out((lam**2 * rate**2 + (1.0 - lam) ** 2 / m) / (1.0 - lam**2))


def _linear_drift_root(c):
    """Root in (0, 1) of (c+1) l^3 + (2c-3) l^2 + (c+3) l - 1, c = r^2 m (> 0)."""
    roots = np.roots([c + 1.0, 2.0 * c - 3.0, c + 3.0, -1.0])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.abs(roots)].real
    return float(real[(real > 0.0) & (real < 1.0)][0])


def optimal_drift_momentum(m, *, drift, rate):
    r"""The momentum minimising :func:`drift_mse`: the noise/staleness trade-off optimum.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    drift : {"linear", "walk"}
        Drift model, see :func:`drift_mse`.
    rate : float or array_like
        Drift per step (population-sd units), ``>= 0``.

    Returns
    -------
    float or ndarray
        The minimising momentum in ``(0, 1)``; ``1.0`` when ``rate == 0`` (no drift: the
        error decreases all the way to momentum 1, where the statistics would freeze).

    Notes
    -----
    Linear drift: :math:`\frac{d}{d\lambda}\mathrm{MSE} = \frac{2\lambda r^2}{(1-\lambda)^3}
    - \frac{2}{(1+\lambda)^2 m}` vanishes where :math:`r^2 m\lambda(1+\lambda)^2 =
    (1-\lambda)^3`, i.e. at the root of the cubic
    :math:`(c+1)\lambda^3 + (2c-3)\lambda^2 + (c+3)\lambda - 1`, :math:`c = r^2 m`; its left
    side minus right side increases from -1 to 4c on [0, 1], so the root is unique and is
    the minimum. Random walk: the running mean is the steady-state Kalman filter of the
    local-level model (state noise :math:`q^2`, observation noise :math:`1/m`), the best
    linear filter, so the optimum is :math:`\lambda^* = 1 - K` with prior variance
    :math:`P = (q^2 + \sqrt{q^4 + 4q^2/m})/2` and gain :math:`K = P/(P + 1/m)`.

    Examples
    --------
    >>> from noise_theory import optimal_drift_momentum
    >>> round(float(optimal_drift_momentum(4, drift="linear", rate=0.001)), 4)
    0.9752
    >>> round(float(optimal_drift_momentum(4, drift="walk", rate=0.01)), 4)
    0.9802
    """
    m, _, drift, rate = _drift_iv(m, None, drift, rate)
    m, rate = np.broadcast_arrays(m, rate)
    out = np.ones(m.shape)
    pos = rate > 0
    if drift == "linear":
        c = rate[pos] ** 2 * m[pos]
        out[pos] = [_linear_drift_root(ci) for ci in c.ravel()]
    else:
        q2, s2 = rate[pos] ** 2, 1.0 / m[pos]
        prior = 0.5 * (q2 + np.sqrt(q2 * q2 + 4.0 * q2 * s2))
        out[pos] = s2 / (prior + s2)
    return _out(out)
