"""Closed forms for the noise of batch normalisation (BN) and Momentum BN (MBN).

Momentum is always the weight on *history* (lambda, tau); BN variance is the biased
(divide-by-m) one unless ``ddof=1``. All quantities are in population units (mu = 0,
sigma = 1). Imports numpy and scipy only, and lazily: ``import noise_theory`` is cheap,
the first use of a name loads its module.

API
---
(name -> what it gives; see each docstring)

"""

import importlib

#: public name -> private module that defines it (PEP 562 lazy loading).
_LAZY = {
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
