"""Sympy derivations, from first principles, of every closed form in bn-noise.

This package never imports :mod:`noise_theory`: it is the independent route the tests
compare the closed forms with.
"""

__all__ = []
