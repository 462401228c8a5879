"""Sympy derivations, from first principles, of every closed form in bn-noise.

This package never imports :mod:`noise_theory`: it is the independent route the tests
compare the closed forms with.
"""

from . import _bn, _mbn, _nongaussian, _regularizer  # noqa: F401  (register the derivations)
from ._core import Derivation, Step, derive_all, get_derivation, list_derivations

__all__ = ["Derivation", "Step", "derive_all", "get_derivation", "list_derivations"]
