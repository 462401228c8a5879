r"""Momentum schedules for Momentum BN, inference momentum and momentum converters.

Momentum is the weight on *history* everywhere (lambda, tau):
``s <- momentum * s + (1 - momentum) * s_B``. PyTorch's ``momentum`` argument is the
weight on the *new* value; convert with :func:`from_pytorch_momentum` and
:func:`to_pytorch_momentum`. Epochs count from 1 to ``epochs``; the momentum is fixed
within an epoch.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

import numpy as np

from ._validation import (
    ParameterTypeError,
    ParameterValueError,
    choice,
    integer_array,
    positive_int,
    real_array,
)

__all__ = [
    "paper_momentum",
    "inference_momentum",
    "constant_momentum",
    "linear_momentum",
    "cosine_momentum",
    "momentum_schedule",
    "parse_momentum_schedule",
    "MomentumScheduleSpec",
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


def _ratio_iv(m, m0):
    if np.any(m0 > m * 2.0 ** 52):
        raise ParameterValueError(f"`m0` must be <= m * 2**52 (beyond it the end momentum 1 - m/m0 "
                         f"rounds to 1 in floating point); got m0={m0.tolist()!r} with "
                         f"m={m.tolist()!r}.")


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
        Ideal batch size (32 in the paper), ``2 <= m0 <= m * 2**52`` (beyond, the final
        momentum ``1 - m/m0`` rounds to 1).

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
    _ratio_iv(m, m0)
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
        ``tau = tau0 ** (m / m0)``; refused (ValueError naming `m0`) where it would round
        to 1, i.e. ``(m/m0) * |log(tau0)| < 2**-53``.

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
    tau = tau0 ** (m / m0)
    if np.any(tau >= 1.0):
        raise ParameterValueError(f"`m0` too large for `m` and `tau0`: tau = tau0**(m/m0) rounds to 1 "
                         f"(needs (m/m0) * |log(tau0)| >= 2**-53); got m={m.tolist()!r}, "
                         f"m0={m0.tolist()!r}, tau0={tau0.tolist()!r}.")
    return _out(tau)


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


class MomentumScheduleSpec(NamedTuple):
    """A parsed schedule spec (see :func:`parse_momentum_schedule`).

    Attributes
    ----------
    kind : str
        One of ``SCHEDULES``: ``"paper"``, ``"constant"``, ``"linear"``, ``"cosine"``.
    value : float or None
        The momentum after ``':'`` (``0 <= value < 1``): the constant momentum, or the end
        point of a ramp; None for ``"paper"`` and for a ramp to the paper's end point.
    """

    kind: str
    value: float | None


def parse_momentum_schedule(schedule):
    r"""Parse and fully validate a momentum-schedule spec such as ``"constant:0.9"``.

    Parameters
    ----------
    schedule : str
        ``"paper"``; ``"constant:L"``; ``"linear"``, ``"cosine"`` (ramp from 0 to the
        paper's end point ``1 - m/m0``); ``"linear:L"``, ``"cosine:L"`` (ramp from 0 to L).
        L is a momentum (weight on history), ``0 <= L < 1``.

    Returns
    -------
    MomentumScheduleSpec
        Named tuple ``(kind, value)``; ``value`` is None where no momentum was given.

    Raises
    ------
    TypeError
        If `schedule` is not a string.
    ValueError
        Naming `schedule` and the spec: an unknown kind, ``"paper"`` with a value,
        ``"constant"`` without one, an empty or non-numeric value after ``':'``, or a
        momentum outside [0, 1).

    Examples
    --------
    >>> from noise_theory import parse_momentum_schedule
    >>> parse_momentum_schedule("constant:0.9")
    MomentumScheduleSpec(kind='constant', value=0.9)
    >>> parse_momentum_schedule("linear")
    MomentumScheduleSpec(kind='linear', value=None)
    """
    if not isinstance(schedule, str):
        raise ParameterTypeError(f"`schedule` must be a string such as 'constant:0.9'; "
                        f"got schedule={schedule!r}.")
    kind, colon, arg = schedule.partition(":")
    if kind not in SCHEDULES:

        close = difflib.get_close_matches(kind, SCHEDULES, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ParameterValueError(f"`schedule` {schedule!r}: the kind before ':' must be one of "
                         f"{', '.join(repr(s) for s in SCHEDULES)}; got {kind!r}.{hint}")
    value = None
    if colon:
        if kind == "paper":
            raise ParameterValueError(f"`schedule` {schedule!r}: 'paper' takes no value; use "
                             f"schedule='paper'.")
        if not arg.strip():
            raise ParameterValueError(f"`schedule` {schedule!r}: a momentum must follow ':', e.g. "
                             f"'{kind}:0.9'.")
        try:
            value = float(arg) + 0.0   # -0.0 -> 0.0
        except ValueError:
            raise ParameterValueError(f"`schedule` {schedule!r}: the value after ':' must be a real "
                             f"number; got {arg!r}.") from None
        if not 0.0 <= value < 1.0:     # also refuses nan and inf
            raise ParameterValueError(f"`schedule` {schedule!r}: momentum must be in [0, 1); "
                             f"got {arg.strip()}.")
    elif kind == "constant":
        raise ParameterValueError(f"`schedule` {schedule!r}: 'constant' needs a momentum, e.g. "
                         f"'constant:0.9'.")
    return MomentumScheduleSpec(kind, value)


#: old private name of :func:`parse_momentum_schedule`.
_parse_spec = parse_momentum_schedule


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
            raise ParameterValueError(f"`schedule` array must have shape (epochs,) = ({epochs},); "
                             f"got shape {per_epoch.shape}.")
    return np.repeat(np.asarray(per_epoch, dtype=float), iterations_per_epoch)


# ---------------------------------------------------------------- targets and converters
#: largest target/m (and m0/m) ratio: 1 - momentum stays >= ~2**-51.
_TARGET_RATIO_MAX = 2.0 ** 52
#: smallest PyTorch momentum (weight on new): 1 - it must stay < 1.
_PYTORCH_MIN = 2.0 ** -53
def momentum_for_target_batch(m, target):
    r"""The momentum whose stationary MBN mean noise equals plain BN's at batch `target`.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    target : float or array_like
        Target batch size, ``m <= target <= m * 2**52``.

    Returns
    -------
    float or ndarray
        ``(target - m) / (target + m)``.

    Notes
    -----
    `target` is limited to ``m * 2**52``: there ``1 - lambda = 2m/(target + m)`` is
    about 2**-51, and beyond ``m * 2**53`` lambda would round to 1.

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
        raise ParameterValueError(f"`target` must be >= m (a momentum >= 0 only lowers the noise); "
                         f"got target={target.tolist()!r} with m={m.tolist()!r}.")
    if np.any(target > m * _TARGET_RATIO_MAX):
        raise ParameterValueError(f"`target` must be <= m * 2**52 (beyond it the momentum "
                         f"(target - m)/(target + m) rounds to 1 in floating point); got "
                         f"target={target.tolist()!r} with m={m.tolist()!r}.")
    return _out((target - m) / (target + m))


def from_pytorch_momentum(momentum):
    """Convert PyTorch's ``momentum`` (weight on the new value) to lambda (weight on history).

    `momentum` must be in ``[2**-53, 1]``: below 2**-53, ``1 - momentum`` rounds to 1, a
    momentum no other function accepts.

    Examples
    --------
    >>> from noise_theory import from_pytorch_momentum
    >>> float(from_pytorch_momentum(0.1))
    0.9
    """
    momentum = real_array(momentum, "momentum", minimum=0, maximum=1, min_open=True)
    if np.any(momentum < _PYTORCH_MIN):
        raise ParameterValueError(f"`momentum` (PyTorch, weight on the new value) must be >= 2**-53 "
                         f"(below it lambda = 1 - momentum rounds to 1); got "
                         f"momentum={momentum.tolist()!r}.")
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
        with np.errstate(over="ignore"):   # huge staleness overflows to inf
            return _out((lam * rate / (1.0 - lam)) ** 2 + (1.0 - lam) / ((1.0 + lam) * m))
    with np.errstate(over="ignore"):
        return _out((lam**2 * rate**2 + (1.0 - lam) ** 2 / m) / ((1.0 - lam) * (1.0 + lam)))


def _linear_drift_root(c):
    """Root in (0, 1) of c l (1+l)^2 = (1-l)^3 (c = r^2 m > 0), to full relative precision.

    For c > 1/9 the root is below 1/2 and is solved for in lambda; otherwise in
    e = 1 - lambda (the root of e^3 = c (1-e)(2-e)^2, e ~ (4c)^(1/3)), so that a momentum
    close to 1 keeps its distance from 1 exactly. Both sides are monotone (one root).
    """
    from scipy import optimize  # deferred: scipy

    if c > 1e30:   # lambda = 1/(c + 3) + O(c^-2): below 1e-30, exact to double precision
        return 1.0 / c
    if c > 1.0 / 9.0:
        def f(lam):
            return c * lam * (1.0 + lam) ** 2 - (1.0 - lam) ** 3
        lam = optimize.brentq(f, 0.0, 0.5, xtol=1e-300, rtol=1e-15, maxiter=400)
        d = c * ((1.0 + lam) ** 2 + 2.0 * lam * (1.0 + lam)) + 3.0 * (1.0 - lam) ** 2
        return lam - f(lam) / d          # one Newton step: the last bits

    def g(e):
        return e ** 3 - c * (1.0 - e) * (2.0 - e) ** 2
    e = optimize.brentq(g, 0.0, 0.5, xtol=1e-300, rtol=1e-15, maxiter=400)
    d = 3.0 * e * e + c * ((2.0 - e) ** 2 + 2.0 * (1.0 - e) * (2.0 - e))
    return 1.0 - (e - g(e) / d)


def optimal_drift_momentum(m, *, drift, rate):
    r"""The momentum minimising :func:`drift_mse`: the noise/staleness trade-off optimum.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, ``m >= 2``.
    drift : {"linear", "walk"}
        Drift model, see :func:`drift_mse`.
    rate : float or array_like
        Drift per step (population-sd units), ``> 0`` (without drift the error decreases
        all the way to momentum 1, where the statistics would freeze: no optimum).

    Returns
    -------
    float or ndarray
        The minimising momentum in ``[0, 1)``.

    Raises
    ------
    ValueError
        On ``rate <= 0``, or a rate so small that the optimum rounds to 1
        (``rate**2 m`` below about 3e-49 for linear drift, 1e-32 for a walk); on bad `m`
        or `drift`.

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
    if np.any(rate <= 0):
        raise ParameterValueError(f"`rate` must be a real number > 0 (without drift the error falls "
                         f"all the way to momentum 1, which freezes the statistics: there is "
                         f"no optimum below 1); got rate={rate.tolist()!r}.")
    m, rate = np.broadcast_arrays(m, rate)
    with np.errstate(over="ignore", under="ignore"):
        if drift == "linear":
            c = rate.astype(float) ** 2 * m
            out = np.array([_linear_drift_root(float(ci)) for ci in c.ravel()],
                           dtype=float).reshape(m.shape)
        else:
            # lambda = s2/(P + s2), P = (q2 + sqrt(q2^2 + 4 q2 s2))/2; in q = rate sqrt(m)
            # units: lambda = 1/(1 + P m), P m = (x + sqrt(x^2 + 4x))/2 with x = q^2 m
            x = rate.astype(float) ** 2 * m
            pm = np.where(x > 1e150, x, 0.5 * (x + np.sqrt(x * x + 4.0 * x)))
            out = 1.0 / (1.0 + pm)
    if np.any(out >= 1.0):
        raise ParameterValueError(f"`rate` too small for `m`: the optimal momentum rounds to 1 in "
                         f"floating point (needs about rate**2 * m >= 3e-49 for linear "
                         f"drift, >= 1e-32 for a walk); got rate={rate.tolist()!r} with "
                         f"m={m.tolist()!r}.")
    return _out(out)
