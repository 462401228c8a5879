"""The one sympy -> numpy bridge (``lambdify``) of bn-noise.

`numeric_function` turns a derived expression into a numpy function called with the
project's keyword names (``m``, ``momentum``, ...). Products of gamma functions are first
rewritten as ``exp`` of a sum of ``loggamma`` so that ratios such as
``gamma((m-2)/2)/gamma((m-1)/2)`` do not overflow at large ``m``.
"""

from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from ._params import KEYWORD

__all__ = ["numeric_function", "log_gamma_form", "log_expand"]


def log_gamma_form(expr):
    """Rewrite every ``beta``/``gamma(a)`` as ``exp(loggamma(a))`` and merge the exponentials.

    Exact where the gamma arguments are positive, which is where the derived moments
    exist; the other branches of a ``Piecewise`` are discarded anyway.
    """
    expr = expr.replace(sp.beta, lambda a, b: sp.gamma(a) * sp.gamma(b) / sp.gamma(a + b))
    expr = expr.replace(sp.gamma, lambda a: sp.exp(sp.loggamma(a)))
    return sp.powsimp(expr, combine="exp", deep=True)


def log_expand(expr):
    """``log(expr)`` expanded into a sum of logs, with ``log(gamma(a))`` as ``loggamma(a)``.

    Assumes the factors of `expr` are positive (``expand_log(force=True)``).
    """
    lg = sp.expand_log(sp.log(expr), force=True)
    return lg.replace(lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.gamma),
                      lambda e: sp.loggamma(e.args[0].args[0]))


def _log_space(expr):
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(_log_space(e), c) for e, c in expr.args])
    if expr.is_Number:
        return expr
    return sp.exp(log_expand(expr))


def _keyword(sym):
    return KEYWORD.get(sym, sym.name)


class NumericFunction:
    """A lambdified result called with keyword arguments; broadcasts its inputs.

    With ``log_space=True`` a positive product (a density) is evaluated as
    ``exp(sum of logs)``, so large powers and gamma functions do not overflow.
    """

    def __init__(self, expr, log_space=False):
        self.expr = expr
        symbols = sorted(expr.free_symbols, key=_keyword)
        self.keywords = tuple(_keyword(s) for s in symbols)
        form = _log_space(expr) if log_space else log_gamma_form(expr)
        self._f = sp.lambdify(symbols, form, modules=["scipy", "numpy"], dummify=True)

    def __call__(self, **kwargs):
        missing = [k for k in self.keywords if k not in kwargs]
        extra = [k for k in kwargs if k not in self.keywords]
        if missing or extra:
            raise TypeError(
                f"this function takes the keywords {', '.join(self.keywords) or '(none)'}; "
                f"missing {missing}, unexpected {extra}.")
        values = [np.asarray(kwargs[k], dtype=float) for k in self.keywords]
        shape = np.broadcast_shapes(*(v.shape for v in values)) if values else ()
        # Piecewise branches are all evaluated by numpy.select: warnings from the
        # discarded branches are expected and silenced here.
        with np.errstate(all="ignore"):
            out = np.asarray(self._f(*values), dtype=float)
        return np.broadcast_to(out, shape).copy() if out.shape != shape else out

    def __repr__(self):
        return f"NumericFunction({sp.sstr(self.expr)}; keywords={self.keywords})"


@functools.cache
def numeric_function(expr, log_space=False):
    """The cached numeric function of a sympy expression (see :class:`NumericFunction`)."""
    return NumericFunction(expr, log_space)
