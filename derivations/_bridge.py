"""The one sympy -> numpy bridge (``lambdify``) of bn-noise.

`numeric_function` turns a derived expression into a numpy function called with the
project's keyword names (``m``, ``momentum``, ...). Products of gamma functions are first
rewritten as ``exp`` of a sum of ``loggamma`` so that ratios such as
``gamma((m-2)/2)/gamma((m-1)/2)`` do not overflow at large ``m``.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import inspect
import re
import types
from pathlib import Path

import numpy as np
import sympy as sp

from ._cachefile import write_cache_file
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

    def __init__(self, expr, log_space=False, code_path=None):
        self.expr = expr
        symbols = sorted(expr.free_symbols, key=_keyword)
        self.keywords = tuple(_keyword(s) for s in symbols)
        code = _read_code(code_path)
        if code is not None:
            self._f = _from_code(code)
        else:
            form = _log_space(expr) if log_space else log_gamma_form(expr)
            self._f = sp.lambdify(symbols, form, modules=_MODULES, dummify=True)
            imports = _extra_imports(self._f)
            if imports is not None:
                _write_code(code_path, "".join(imports) + inspect.getsource(self._f))

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
def numeric_function(expr, log_space=False, code_path=None):
    """The cached numeric function of a sympy expression (see :class:`NumericFunction`).

    With `code_path` (a file name, see :meth:`Derivation.function`) the Python source that
    ``lambdify`` prints is kept there, and the next process runs that source instead of
    rewriting and printing the expression again (the costly part of ``lambdify``). The
    path must identify the expression: the derivation cache's folder is keyed by the
    source of this package, so a derivation's result name does.
    """
    return NumericFunction(expr, log_space, code_path)


_MODULES = ["scipy", "numpy"]


@functools.cache
def _namespace():
    """The names lambdify's generated code refers to (numpy and scipy translations)."""
    return sp.lambdify([], sp.Integer(0), modules=_MODULES).__globals__


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _extra_imports(f):
    """Import lines for the globals of `f` that lambdify added beyond :func:`_namespace`
    (``reduce`` for Max/Min, ...), or None when one cannot be imported by name."""
    base = _namespace()
    lines = []
    for name in sorted(_global_names(f.__code__)):
        if name in base or hasattr(builtins, name) or name not in f.__globals__:
            continue
        obj = f.__globals__[name]
        module, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
        if not module or not qual.isidentifier():
            return None
        try:
            if getattr(importlib.import_module(module), qual) is not obj:
                return None
        except (ImportError, AttributeError):
            return None
        lines.append(f"from {module} import {qual} as {name}\n")
    return lines


def _from_code(code):
    namespace = dict(_namespace())
    exec(compile(code, "<lambdified>", "exec"), namespace)  # noqa: S102  our own cached code
    return namespace[_DEF.search(code).group(1)]


_DEF = re.compile(r"^def (\w+)\(", re.MULTILINE)


def _read_code(path):
    if path is None:
        return None
    try:
        code = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    return code if _DEF.search(code) else None


def _write_code(path, code):
    if path is not None:
        write_cache_file(path, code.encode("utf-8"))
