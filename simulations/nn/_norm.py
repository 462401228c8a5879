"""Normalisers from scratch: BatchNorm, MomentumBatchNorm, Batch Renormalization, GroupNorm.

Input ``(N, C)`` (statistics over N) or ``(N, C, H, W)`` (statistics over N, H, W); one
mean and one biased variance per channel. Momentum is always the weight on HISTORY:
``s <- momentum * s + (1 - momentum) * s_B`` (PyTorch's ``momentum=0.1`` is our 0.9; convert
with :func:`noise_theory.from_pytorch_momentum`).

Every batch normaliser records, at each training forward, ``last_batch_mean`` and
``last_batch_var`` (the batch statistics mu_B, sigma_B^2) and ``last_mean``/``last_var``
(the statistics it normalised with); the noise probe reads them.
"""

from __future__ import annotations

import numpy as np

from noise_theory._lib import ParameterValueError, positive_int, real_array

__all__ = [
    "BatchNorm",
    "BatchRenorm",
    "GroupNorm",
    "MomentumBatchNorm",
    "NoNorm",
    "Normaliser",
]


def _momentum(value, name):
    return float(real_array(value, name, minimum=0.0, maximum=1.0, max_open=True))


class Normaliser:
    """Base of the normalisers: per-channel affine ``gamma``, ``beta``."""

    #: whether the layer has population-replaceable statistics (see ``set_population``).
    has_statistics = True

    def __init__(self, num_features, *, eps=1e-5):
        self.num_features = positive_int(num_features, "num_features")
        self.eps = float(real_array(eps, "eps", minimum=0.0))
        self.params = {"gamma": np.ones(num_features), "beta": np.zeros(num_features)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def _check(self, x):
        if x.ndim not in (2, 4) or x.shape[1] != self.num_features:
            raise ParameterValueError(
                f"`x` must have shape (N, {self.num_features}) or (N, {self.num_features}, H, W); "
                f"got x.shape={x.shape}.")

    @staticmethod
    def _axes(x):
        return (0,) if x.ndim == 2 else (0, 2, 3)

    @staticmethod
    def _b(v, x):
        """Per-channel vector `v` broadcast against `x`."""
        return v if x.ndim == 2 else v[None, :, None, None]

    @staticmethod
    def values_per_channel(x):
        return x.size // x.shape[1]

    def _batch_stats(self, x):
        axes = self._axes(x)
        mu = x.mean(axis=axes)
        var = ((x - self._b(mu, x)) ** 2).mean(axis=axes)
        self.last_batch_mean, self.last_batch_var = mu, var
        return mu, var

    # BN's arithmetic, shared by MomentumBatchNorm at momentum 0 (bit for bit)
    def _bn_forward(self, x, mu, var):
        s = np.sqrt(var + self.eps)
        xhat = (x - self._b(mu, x)) / self._b(s, x)
        self._cache = (x.ndim, xhat, s, self.values_per_channel(x))
        self.last_mean, self.last_var = mu, var
        return self._b(self.params["gamma"], xhat) * xhat + self._b(self.params["beta"], xhat)

    def _bn_backward(self, dy):
        _, xhat, s, m = self._cache
        axes = self._axes(dy)
        sg = dy.sum(axis=axes)
        sgx = (dy * xhat).sum(axis=axes)
        self.grads["gamma"][...] = sgx
        self.grads["beta"][...] = sg
        g = self.params["gamma"] / s
        # dx_i = gamma/(m s) (m g_i - sum g - xhat_i sum g xhat)
        return self._b(g, dy) * (dy - (self._b(sg, dy) + xhat * self._b(sgx, dy)) / m)

    def _eval(self, x, mu, var):
        s = np.sqrt(var + self.eps)
        self._cache = ("eval", s)
        xhat = (x - self._b(mu, x)) / self._b(s, x)
        self._xhat_eval = xhat
        return self._b(self.params["gamma"], x) * xhat + self._b(self.params["beta"], x)

    def _eval_backward(self, dy):
        _, s = self._cache
        xhat, axes = self._xhat_eval, self._axes(dy)
        self.grads["gamma"][...] = (dy * xhat).sum(axis=axes)
        self.grads["beta"][...] = dy.sum(axis=axes)
        return dy * self._b(self.params["gamma"] / s, dy)

    def backward(self, dy):
        if self._cache[0] == "eval":
            return self._eval_backward(dy)
        return self._train_backward(dy)

    def _train_backward(self, dy):
        return self._bn_backward(dy)

    #: the attributes holding the (mean, var) used in eval mode (if ``has_statistics``)
    _EVAL_STATISTICS = ("running_mean", "running_var")

    def eval_statistics(self):
        """``(mean, var)`` used in eval mode (None for a normaliser without them)."""
        if not self.has_statistics:
            return None
        return tuple(getattr(self, name) for name in self._EVAL_STATISTICS)

    def set_population(self, mean, var):
        """Replace the eval statistics by population ones (recomputed on the training set)."""
        if self.has_statistics:
            for name, value in zip(self._EVAL_STATISTICS, (mean, var)):
                setattr(self, name, np.array(value, float))

    def set_epoch(self, epoch, epochs, m):
        """Hook called by the trainer at the start of each epoch (default: nothing)."""

    def set_progress(self, fraction):
        """Hook called by the trainer before each step with the fraction of training done."""


class BatchNorm(Normaliser):
    """Batch normalisation (Ioffe & Szegedy 2015).

    Parameters
    ----------
    num_features : int
        Channels C.
    eps : float, optional
        Added to the variance (default 1e-5).
    momentum : float, optional
        Weight on history of the running statistics (default 0.9 = PyTorch's 0.1).
    unbiased_running_var : bool, optional
        Store ``m/(m-1) sigma_B^2`` in the running variance, as PyTorch does (default False:
        the biased batch variance, the one training normalises with).

    Notes
    -----
    Training: ``y = gamma (x - mu_B)/sqrt(sigma_B^2 + eps) + beta`` with the batch mean and
    the biased batch variance; eval: the running statistics (start 0 and 1).

    Examples
    --------
    >>> import numpy as np
    >>> from simulations import BatchNorm
    >>> bn = BatchNorm(3)
    >>> y = bn.forward(np.random.default_rng(0).normal(5, 2, (8, 3)))
    >>> bool(np.allclose(y.mean(axis=0), 0) and np.allclose(y.var(axis=0), 1, atol=1e-4))
    True
    """

    def __init__(self, num_features, *, eps=1e-5, momentum=0.9, unbiased_running_var=False):
        super().__init__(num_features, eps=eps)
        self.momentum = _momentum(momentum, "momentum")
        self.unbiased_running_var = bool(unbiased_running_var)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)

    def forward(self, x, *, train=True):
        self._check(x)
        if not train:
            return self._eval(x, self.running_mean, self.running_var)
        mu, var = self._batch_stats(x)
        m = self.values_per_channel(x)
        if m < 2:
            raise ParameterValueError(f"BatchNorm needs >= 2 values per channel in training; got {m}.")
        lam = self.momentum
        v = var * (m / (m - 1)) if self.unbiased_running_var else var
        self.running_mean = lam * self.running_mean + (1 - lam) * mu
        self.running_var = lam * self.running_var + (1 - lam) * v
        return self._bn_forward(x, mu, var)

    def __repr__(self):
        return f"BatchNorm({self.num_features}, momentum={self.momentum})"


class MomentumBatchNorm(Normaliser):
    """Momentum Batch Normalization: normalise with the moving statistics, updated first.

    Parameters
    ----------
    num_features : int
        Channels C.
    eps : float, optional
        Added to the variance (default 1e-5).
    momentum : float, optional
        Training momentum lambda (weight on history, ``0 <= lambda < 1``); the trainer sets
        it per epoch from a ``noise_theory`` schedule. 0 is BatchNorm, bit for bit.
    inference_momentum : float, optional
        tau of the inference statistics (weight on history; the trainer sets
        ``noise_theory.inference_momentum(m)``).

    Notes
    -----
    Training step with batch statistics ``mu_B``, ``sigma_B^2``::

        mu    <- lambda mu_old    + (1 - lambda) mu_B
        sigma2 <- lambda sigma2_old + (1 - lambda) sigma_B^2
        y = gamma (x - mu)/sqrt(sigma2 + eps) + beta

    with ``mu_old``, ``sigma2_old`` detached, so the gradient flows only through the
    current batch's 1 - lambda share: d mu/d x_i = (1-lambda)/m,
    d sigma2/d x_i = (1-lambda) 2 (x_i - mu_B)/m. The first step (no history) initialises
    the moving statistics with the batch's. The inference statistics are a separate EMA
    ``mu_inf <- tau mu_inf + (1 - tau) mu_B`` (same for the variance; initialised with the
    first batch's) and eval mode uses them. At ``momentum == 0`` the layer runs BatchNorm's
    arithmetic, so its output and gradients equal BatchNorm's bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from simulations import BatchNorm, MomentumBatchNorm
    >>> x = np.random.default_rng(0).normal(size=(4, 3))
    >>> bool(np.array_equal(MomentumBatchNorm(3).forward(x), BatchNorm(3).forward(x)))
    True
    """

    _EVAL_STATISTICS = ("inference_mean", "inference_var")

    def __init__(self, num_features, *, eps=1e-5, momentum=0.0, inference_momentum=0.9):
        super().__init__(num_features, eps=eps)
        self.momentum = _momentum(momentum, "momentum")
        self.inference_momentum = _momentum(inference_momentum, "inference_momentum")
        self.moving_mean = self.moving_var = None
        self.inference_mean = np.zeros(num_features)
        self.inference_var = np.ones(num_features)
        self._started = False
        #: the training schedule: callable ``(epoch, epochs, m) -> lambda`` (set by the trainer)
        self.schedule = None

    def forward(self, x, *, train=True):
        self._check(x)
        if not train:
            return self._eval(x, self.inference_mean, self.inference_var)
        mu_b, var_b = self._batch_stats(x)
        lam, tau = self.momentum, self.inference_momentum
        if not self._started:
            self.inference_mean, self.inference_var = mu_b, var_b
        else:
            self.inference_mean = tau * self.inference_mean + (1 - tau) * mu_b
            self.inference_var = tau * self.inference_var + (1 - tau) * var_b
        if lam == 0.0 or not self._started:
            self._started = True
            self.moving_mean, self.moving_var = mu_b, var_b
            self._c = None
            return self._bn_forward(x, mu_b, var_b)  # BN's arithmetic path
        mu = lam * self.moving_mean + (1 - lam) * mu_b
        var = lam * self.moving_var + (1 - lam) * var_b
        self.moving_mean, self.moving_var = mu, var
        out = self._bn_forward(x, mu, var)
        s = self._cache[2]
        self._c = (1 - lam, (x - self._b(mu_b, x)) / self._b(s, x))
        return out

    def _train_backward(self, dy):
        if self._c is None:
            return self._bn_backward(dy)
        c, xb = self._c
        _, xhat, s, m = self._cache
        axes = self._axes(dy)
        sg = dy.sum(axis=axes)
        sgx = (dy * xhat).sum(axis=axes)
        self.grads["gamma"][...] = sgx
        self.grads["beta"][...] = sg
        g = self.params["gamma"] / s
        # dx_i = gamma/s (g_i - (1-lam)/m [sum g + (x_i - mu_B)/s sum g xhat])
        return self._b(g, dy) * (dy - c * (self._b(sg, dy) + xb * self._b(sgx, dy)) / m)

    def set_epoch(self, epoch, epochs, m):
        if self.schedule is not None:
            self.momentum = _momentum(self.schedule(epoch, epochs, m), "momentum")

    def __repr__(self):
        return (f"MomentumBatchNorm({self.num_features}, momentum={self.momentum}, "
                f"inference_momentum={self.inference_momentum})")


class BatchRenorm(Normaliser):
    """Batch Renormalization (Ioffe 2017): ``y = gamma ((x - mu_B)/sigma_B r + d) + beta``.

    ``r = clip(sigma_B/sigma, 1/r_max, r_max)``, ``d = clip((mu_B - mu)/sigma, -d_max,
    d_max)`` with the moving ``mu``, ``sigma`` (EMA, weight `momentum` on history); r and d
    are constants in the backward pass. ``r_max``, ``d_max`` ramp linearly from 1 and 0 to
    `r_max_final`, `d_max_final` over the first `warmup` fraction of training
    (:meth:`set_progress`). Eval uses the moving statistics.
    """

    def __init__(self, num_features, *, eps=1e-5, momentum=0.99, r_max_final=3.0,
                 d_max_final=5.0, warmup=0.5):
        super().__init__(num_features, eps=eps)
        self.momentum = _momentum(momentum, "momentum")
        self.r_max_final = float(real_array(r_max_final, "r_max_final", minimum=1.0))
        self.d_max_final = float(real_array(d_max_final, "d_max_final", minimum=0.0))
        self.warmup = float(real_array(warmup, "warmup", minimum=0.0, maximum=1.0, min_open=True))
        self.r_max, self.d_max = 1.0, 0.0
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self._started = False

    def set_progress(self, fraction):
        f = min(max(float(fraction) / self.warmup, 0.0), 1.0)
        self.r_max = 1.0 + (self.r_max_final - 1.0) * f
        self.d_max = self.d_max_final * f

    def forward(self, x, *, train=True):
        self._check(x)
        if not train:
            return self._eval(x, self.running_mean, self.running_var)
        mu_b, var_b = self._batch_stats(x)
        if not self._started:  # no history yet: start the moving statistics at the batch's
            self.running_mean, self.running_var, self._started = mu_b, var_b, True
        s_b = np.sqrt(var_b + self.eps)
        s = np.sqrt(self.running_var + self.eps)
        r = np.clip(s_b / s, 1.0 / self.r_max, self.r_max)
        d = np.clip((mu_b - self.running_mean) / s, -self.d_max, self.d_max)
        lam = self.momentum
        self.running_mean = lam * self.running_mean + (1 - lam) * mu_b
        self.running_var = lam * self.running_var + (1 - lam) * var_b
        xhat = (x - self._b(mu_b, x)) / self._b(s_b, x)
        self.last_mean, self.last_var = mu_b, var_b
        self._cache = (x.ndim, xhat, s_b, self.values_per_channel(x), r, d)
        return self._b(self.params["gamma"], x) * (xhat * self._b(r, x) + self._b(d, x)) \
            + self._b(self.params["beta"], x)

    def _train_backward(self, dy):
        _, xhat, s, m, r, d = self._cache
        axes = self._axes(dy)
        sg = dy.sum(axis=axes)
        sgx = (dy * xhat).sum(axis=axes)
        self.grads["gamma"][...] = sgx * r + sg * d
        self.grads["beta"][...] = sg
        g = self.params["gamma"] * r / s
        return self._b(g, dy) * (dy - (self._b(sg, dy) + xhat * self._b(sgx, dy)) / m)

    def __repr__(self):
        return f"BatchRenorm({self.num_features}, momentum={self.momentum})"


class GroupNorm(Normaliser):
    """Group normalisation (Wu & He 2018): per-sample statistics over groups of channels
    (and H, W for images); the same computation in train and eval mode."""

    has_statistics = False

    def __init__(self, num_features, *, num_groups=None, eps=1e-5):
        super().__init__(num_features, eps=eps)
        if num_groups is None:
            num_groups = max(g for g in (1, 2, 4, 8) if num_features % g == 0)
        self.num_groups = positive_int(num_groups, "num_groups")
        if num_features % self.num_groups:
            raise ParameterValueError(
                f"`num_groups` must divide num_features={num_features}; got num_groups={num_groups}.")

    def forward(self, x, *, train=True):
        self._check(x)
        n, g = x.shape[0], self.num_groups
        xg = x.reshape(n, g, -1)
        mu = xg.mean(axis=2, keepdims=True)
        var = ((xg - mu) ** 2).mean(axis=2, keepdims=True)
        s = np.sqrt(var + self.eps)
        xhat = ((xg - mu) / s).reshape(x.shape)
        self._cache = ("train", xhat, s)
        return self._b(self.params["gamma"], x) * xhat + self._b(self.params["beta"], x)

    def backward(self, dy):
        _, xhat, s = self._cache
        axes = self._axes(dy)
        self.grads["gamma"][...] = (dy * xhat).sum(axis=axes)
        self.grads["beta"][...] = dy.sum(axis=axes)
        n, g = dy.shape[0], self.num_groups
        gx = (dy * self._b(self.params["gamma"], dy)).reshape(n, g, -1)
        xh = xhat.reshape(n, g, -1)
        dx = (gx - gx.mean(axis=2, keepdims=True)
              - xh * (gx * xh).mean(axis=2, keepdims=True)) / s
        return dx.reshape(dy.shape)

    def __repr__(self):
        return f"GroupNorm({self.num_features}, num_groups={self.num_groups})"


class NoNorm(Normaliser):
    """No normalisation (identity, no parameters): the 'none' baseline."""

    has_statistics = False

    def __init__(self, num_features, *, eps=1e-5):
        self.num_features = positive_int(num_features, "num_features")
        self.eps = float(real_array(eps, "eps", minimum=0.0))
        self.params, self.grads = {}, {}

    def forward(self, x, *, train=True):
        return x

    def backward(self, dy):
        return dy

    def __repr__(self):
        return "NoNorm()"
