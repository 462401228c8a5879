"""The symbols of the derivations and the numeric keyword each one stands for."""

from __future__ import annotations

import sympy as sp

__all__ = ["KEYWORD", "param"]

#: sympy symbol -> the keyword the numeric function of a result takes for it (the
#: project-wide parameter names: ``m``, ``momentum``, ``m0``, ``tau0``, ``eps``, ...).
KEYWORD: dict[sp.Symbol, str] = {}


def param(name, keyword=None, **assumptions):
    """A sympy symbol shown as `name` and passed to numeric functions as `keyword`."""
    sym = sp.Symbol(name, **assumptions)
    KEYWORD[sym] = keyword or name
    return sym
