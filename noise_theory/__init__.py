"""Closed forms for the noise of batch normalisation (BN) and Momentum BN (MBN).

Momentum is always the weight on *history* (lambda, tau); BN variance is the biased
(divide-by-m) one unless ``ddof=1``. All quantities are in population units (mu = 0,
sigma = 1). Imports numpy and scipy only, and lazily: ``import noise_theory`` is cheap,
the first use of a name loads its module.

API
---
(name -> what it gives; see each docstring)

mean_noise(m)                      law of xi_mu = (mu_B - mu)/sigma: frozen norm(0, 1/sqrt(m))
variance_noise(m, *, ddof=0)       law of xi_sigma = sigma_B^2/sigma^2: frozen Gamma
scale_moment(m, power, *, ddof=0, eps=0.0)  E[(sigma^2/(sigma_B^2+eps))^(power/2)], inf if divergent
ema_mean_noise(m, momentum)        exact stationary law of the MBN mean noise (frozen normal)
ema_variance_noise(m, momentum)    MBN variance noise: exact mean/var, approximate Gamma law
effective_batch_size(m, momentum)  m (1+lambda)/(1-lambda): BN batch with MBN's mean noise
EmaVarianceNoise                   result of ema_variance_noise (frozen dataclass)

"""

import importlib

#: public name -> private module that defines it (PEP 562 lazy loading).
_LAZY = {
    "mean_noise": "noise_theory._bn",
    "variance_noise": "noise_theory._bn",
    "scale_moment": "noise_theory._bn",
    "ema_mean_noise": "noise_theory._mbn",
    "ema_variance_noise": "noise_theory._mbn",
    "effective_batch_size": "noise_theory._mbn",
    "EmaVarianceNoise": "noise_theory._mbn",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'noise_theory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
