"""The `Derivation`/`Step` records, the shared symbols and the registry.

A derivation is an ordered list of steps (a sympy expression and a one-line explanation
each) ending in one or more named results. Results that exist only under a condition
carry it as a sympy ``Piecewise`` whose fallback branch is ``oo`` (a divergent moment is
infinite, never NaN). Builders are registered by name with :func:`register` and built
once (``functools.cache``), so the CLI and the tests never rebuild them.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
from dataclasses import dataclass

import sympy as sp

__all__ = [
    "Step",
    "Derivation",
    "register",
    "list_derivations",
    "get_derivation",
    "derive_all",
    "eq",
    "param",
    "KEYWORD",
]

#: sympy symbol -> the keyword the numeric function of a result takes for it (the
#: project-wide parameter names: ``m``, ``momentum``, ``m0``, ``tau0``, ``eps``, ...).
KEYWORD: dict[sp.Symbol, str] = {}


def param(name, keyword=None, **assumptions):
    """A sympy symbol shown as `name` and passed to numeric functions as `keyword`."""
    sym = sp.Symbol(name, **assumptions)
    KEYWORD[sym] = keyword or name
    return sym


def eq(lhs, rhs):
    """An unevaluated equation ``lhs = rhs`` for display in a step."""
    return sp.Eq(lhs, rhs, evaluate=False)


@dataclass(frozen=True)
class Step:
    """One step of a derivation: a sympy expression and what it says."""

    expr: sp.Basic
    explanation: str


def _one_line(text):
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Derivation:
    """A symbolic derivation from first principles.

    Attributes
    ----------
    summary : str
        One-paragraph description.
    steps : tuple of Step
        The ordered steps.
    results : tuple of (str, sympy expression)
        Named final results; the first is the main one (:attr:`result`). Existence
        conditions are kept inside the expressions as ``Piecewise((value, cond), (oo,
        True))``.
    assumptions : tuple of str
        Modelling hypotheses in words.
    conditions : sympy Boolean
        Hypotheses on the parameters (e.g. ``m >= 2``) as a sympy condition.
    name, title : str
        Registry name and heading (filled in by the registry).

    Examples
    --------
    >>> from derivations import get_derivation
    >>> d = get_derivation("scale_moment")
    >>> d["inverse"]
    Piecewise((m/(m - 3), m > 3), (oo, True))
    >>> f = d.function("inverse")
    >>> f.keywords, float(f(m=8)), float(f(m=3))
    (('m',), 1.6, inf)
    >>> print(d.steps[0].explanation)
    Integrate x^(-p/2) against the Gamma(k, theta) density of xi_sigma.
    """

    summary: str
    steps: tuple
    results: tuple
    assumptions: tuple = ()
    conditions: sp.Basic = sp.true
    name: str = ""
    title: str = ""

    # ------------------------------------------------------------------ access
    @property
    def result(self):
        """The main final result (first entry of :attr:`results`)."""
        return self.results[0][1]

    @property
    def result_names(self):
        return tuple(key for key, _ in self.results)

    def __getitem__(self, key):
        for k, expr in self.results:
            if k == key:
                return expr
        raise KeyError(f"derivation {self.name!r} has no result {key!r}; "
                       f"results: {', '.join(self.result_names)}")

    def function(self, key=None, *, log_space=False):
        """Numeric (numpy) function of a result, called with keyword arguments.

        The keywords are the project's parameter names (see :data:`KEYWORD`); the
        function broadcasts its arguments. Gamma ratios are evaluated through loggamma;
        ``log_space=True`` evaluates a positive product (a density) as exp(sum of logs)
        so that it does not overflow at large m. Built once per result.
        """
        from ._bridge import numeric_function

        return numeric_function(self.result if key is None else self[key], log_space)

    # ------------------------------------------------------------------ rendering
    def text(self):
        """Plain-text rendering (sympy pretty printing)."""
        out = [self.title, "=" * len(self.title), "", _one_line(self.summary), ""]
        if self.assumptions or self.conditions is not sp.true:
            out.append("Assumptions:")
            out += [f"  - {a}" for a in self.assumptions]
            if self.conditions is not sp.true:
                out.append(f"  - {sp.sstr(self.conditions)}")
            out.append("")
        out.append("Steps:")
        for i, step in enumerate(self.steps, 1):
            out.append(f"{i}. {_one_line(step.explanation)}")
            out += ["     " + line for line in _pretty(step.expr).splitlines()]
        out += ["", "Results:"]
        for key, expr in self.results:
            out.append(f"  {key}:")
            out += ["     " + line for line in _pretty(expr).splitlines()]
        return "\n".join(out) + "\n"

    def latex(self, *, standalone=False):
        r"""LaTeX: a ``\section*`` with the steps as an ``enumerate`` of displayed equations.

        Symbols are set as a person writes them (``\xi_\mu``, ``\sigma_B``, ``m_0``,
        ``\operatorname{Var}``), results with the fewest minus signs (``1/(2 m_0 - m)``),
        existence conditions in words. ``standalone=True`` gives a complete document that
        compiles with a plain ``pdflatex``. Every equation is also valid matplotlib
        mathtext. See :mod:`derivations._latex`.
        """
        from . import _latex as L

        out = [rf"\section*{{{L.prose_latex(self.title)}}}", "", L.prose_latex(self.summary), ""]
        if self.assumptions or self.conditions is not sp.true:
            out.append(r"\paragraph{Assumptions}")
            out.append(r"\begin{itemize}")
            out += [rf"  \item {L.prose_latex(a)}" for a in self.assumptions]
            if self.conditions is not sp.true:
                out.append(rf"  \item Parameters: ${L.to_latex(self.conditions)}$")
            out += [r"\end{itemize}", ""]
        out += [r"\paragraph{Steps}", r"\begin{enumerate}"]
        for step in self.steps:
            out.append(rf"  \item {L.prose_latex(step.explanation)}")
            out.append(rf"  \[ {L.to_latex(step.expr)} \]")
        out += [r"\end{enumerate}", "", r"\paragraph{Results}", r"\begin{itemize}"]
        for key, expr in self.results:
            value, condition = L.result_latex(expr)
            tt = key.replace("_", r"\_")
            out.append(rf"  \item \texttt{{{tt}}}:")
            out.append(rf"  \[ {value} \]")
            if condition:
                out.append(f"  {condition[0].upper()}{condition[1:]}.")
        out.append(r"\end{itemize}")
        body = "\n".join(out) + "\n"
        return L.standalone(body, title=self.title) if standalone else body

    def markdown(self):
        """Markdown with ``$$ ... $$`` display maths (one document per derivation)."""
        from . import _latex as L

        out = [f"# {self.title}", "", f"`{self.name}`: {_one_line(self.summary)}", ""]
        if self.assumptions or self.conditions is not sp.true:
            out.append("## Assumptions")
            out.append("")
            out += [f"- {a}" for a in self.assumptions]
            if self.conditions is not sp.true:
                out.append(f"- ${L.to_latex(self.conditions)}$")
            out.append("")
        out += ["## Steps", ""]
        for i, step in enumerate(self.steps, 1):
            out += [f"{i}. {_one_line(step.explanation)}", "",
                    f"   $$ {L.to_latex(step.expr)} $$", ""]
        out += ["## Results", ""]
        for key, expr in self.results:
            value, condition = L.result_latex(expr)
            out += [f"- `{key}`:", "", f"  $$ {value} $$", ""]
            if condition:
                out += [f"  {condition[0].upper()}{condition[1:]}.", ""]
        return "\n".join(out)

    def to_dict(self):
        """JSON-ready summary: name, title, steps (text + LaTeX) and results."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": _one_line(self.summary),
            "assumptions": list(self.assumptions),
            "conditions": sp.sstr(self.conditions),
            "steps": [{"explanation": _one_line(s.explanation), "expr": sp.sstr(s.expr),
                       "latex": _latex_of(s.expr)} for s in self.steps],
            "results": [{"name": k, "expr": sp.sstr(e), "latex": _latex_of(e)}
                        for k, e in self.results],
        }


def _latex_of(expr):
    from ._latex import to_latex

    return to_latex(expr)


def _pretty(expr):
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


# ---------------------------------------------------------------------- registry
_BUILDERS: dict = {}
_TITLES: dict = {}


def register(name, title):
    """Decorator: register a zero-argument builder returning a :class:`Derivation`.

    `title` is known before the (possibly slow) build, for listings.
    """
    def deco(builder):
        if name in _BUILDERS:
            raise RuntimeError(f"derivation {name!r} registered twice")
        @functools.cache
        def build():
            return dataclasses.replace(builder(), name=name, title=title)

        _BUILDERS[name] = build
        _TITLES[name] = title
        return builder
    return deco


def list_derivations(*, titles=False):
    """Names of all registered derivations, in registration order (nothing is built).

    With ``titles=True``, ``(name, title)`` pairs instead.

    Examples
    --------
    >>> from derivations import list_derivations
    >>> list_derivations()[:3]
    ('mean_noise', 'variance_noise', 'scale_moment')
    """
    if titles:
        return tuple(_TITLES.items())
    return tuple(_BUILDERS)


def get_derivation(name):
    """The derivation called `name` (built on first use, then cached).

    Raises
    ------
    ValueError
        If `name` is not registered; the message lists the closest names.

    Examples
    --------
    >>> from derivations import get_derivation
    >>> get_derivation("mean_noise")["variance"]
    1/m
    >>> get_derivation("in_batch_output")["fourth_moment"]
    3*(m - 1)/(m + 1)
    """
    builder = _BUILDERS.get(name)
    if builder is None:
        close = difflib.get_close_matches(str(name), list(_BUILDERS), n=3, cutoff=0.4)
        hint = (f" Did you mean {', '.join(repr(c) for c in close)}?" if close
                else f" Known: {', '.join(_BUILDERS)}.")
        raise ValueError(f"`name` must be a registered derivation; got name={name!r}.{hint}")
    return builder()


def derive_all():
    """Build (or fetch from the cache) every registered derivation, as a tuple.

    Examples
    --------
    >>> from derivations import derive_all
    >>> [d.name for d in derive_all()][-1]
    'eps_second_moment'
    """
    return tuple(get_derivation(name) for name in _BUILDERS)
