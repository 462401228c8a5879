"""The `Derivation`/`Step` records, the shared symbols and the registry.

A derivation is an ordered list of steps (a sympy expression and a one-line explanation
each) ending in one or more named results. Results that exist only under a condition
carry it as a sympy ``Piecewise`` whose fallback branch is ``oo`` (a divergent moment is
infinite, never NaN). Builders are registered by name with :func:`register` and built
once per process (kept in memory), so the CLI and the tests never rebuild them.

A built derivation is also kept on disk, because building all of them takes sympy tens of
seconds and the result is deterministic: one pickle per derivation in
``$XDG_CACHE_HOME/bn-noise/derivations/<key>/`` (``~/.cache/bn-noise/...`` without
``XDG_CACHE_HOME``), where ``<key>`` hashes the source of every module of this package,
the sympy version and the Python version, so any change to a derivation (or to sympy)
gives a fresh folder. Files are written atomically (a temporary file then
``os.replace``), so concurrent runs are safe; an unreadable or corrupt file is ignored and
rebuilt. ``BN_NOISE_NO_CACHE=1`` turns the disk cache off. :func:`prefetch` builds
derivations in worker processes (the report uses it).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import io
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.core.logic import fuzzy_and
from sympy.core.operations import AssocOp, LatticeOp
from sympy.functions.elementary.piecewise import ExprCondPair

from . import _latex as L
from ._bridge import numeric_function
from ._cachefile import write_cache_file
from ._latex import to_latex
from ._params import KEYWORD, param

__all__ = [
    "KEYWORD",
    "Derivation",
    "Step",
    "cache_dir",
    "derive_all",
    "eq",
    "get_derivation",
    "list_derivations",
    "param",
    "prefetch",
    "register",
]

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

        key = self.result_names[0] if key is None else key
        folder = cache_dir() if self.name else None
        path = (None if folder is None
                else str(folder / f"{self.name}.{key}{'.log' if log_space else ''}.fn.py"))
        return numeric_function(self[key], log_space, path)

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

    return to_latex(expr)


def _pretty(expr):
    return sp.pretty(expr, use_unicode=True, wrap_line=False)


# ---------------------------------------------------------------------- registry
_BUILDERS: dict = {}
_TITLES: dict = {}
#: name -> built Derivation (this process).
_BUILT: dict = {}
#: name -> concurrent.futures.Future of a build in a worker process (see prefetch).
_PENDING: dict = {}


def register(name, title):
    """Decorator: register a zero-argument builder returning a :class:`Derivation`.

    `title` is known before the (possibly slow) build, for listings.
    """
    def deco(builder):
        if name in _BUILDERS:
            raise RuntimeError(f"derivation {name!r} registered twice")
        _BUILDERS[name] = builder
        _TITLES[name] = title
        return builder
    return deco


# ---------------------------------------------------------------------- the disk cache
_KEY = None


def _source_key():
    """Hash of this package's source files, the sympy and the Python version (hex, 16)."""
    global _KEY
    if _KEY is None:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).parent.glob("*.py")):
            h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        h.update(f"sympy {sp.__version__}; python {sys.version_info[:2]}".encode())
        _KEY = h.hexdigest()[:16]
    return _KEY


def cache_dir():
    """The folder of this source's cached derivations, or None when the cache is off."""
    if os.environ.get("BN_NOISE_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bn-noise" / "derivations" / _source_key()


def _rebuild(cls, args):
    """A sympy node from its class and already-built args, without re-evaluating it."""
    if issubclass(cls, AssocOp):
        return cls._from_args(args)
    obj = sp.Basic.__new__(cls, *args)
    try:
        obj.is_commutative  # noqa: B018  (Pow sets it in __new__, which is bypassed)
    except AttributeError:
        obj.is_commutative = fuzzy_and(getattr(a, "is_commutative", True) for a in args)
    return obj


#: node types rebuilt verbatim (plain pickling calls their constructors, which re-evaluate:
#: ``Mul(1/2, m - 1)`` would come back as ``m/2 - 1/2`` and an unevaluated ``Eq(0, 0)`` as
#: ``True``). Other nodes (``Order``, ``Subs``, ``Min``, undefined functions, ...) keep
#: sympy's own pickling; the tests check that every derivation round-trips exactly.
_VERBATIM = (sp.Add, sp.Mul, sp.Pow, sp.core.relational.Relational, sp.Function,
             sp.Piecewise, ExprCondPair, sp.Tuple, sp.Integral)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, _VERBATIM) and not isinstance(obj, (AppliedUndef, LatticeOp)):
            return _rebuild, (type(obj), obj.args)
        return NotImplemented


def dumps(d):
    """Bytes of a derivation that :func:`pickle.loads` turns back into the same trees."""

    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(d)
    return buf.getvalue()


def _cache_load(name):
    folder = cache_dir()
    if folder is None:
        return None
    try:
        with open(folder / f"{name}.pickle", "rb") as fh:
            d = pickle.loads(fh.read())
    except Exception:  # noqa: BLE001  missing, unreadable or corrupt: rebuild
        return None
    return d if isinstance(d, Derivation) and d.name == name else None


def _cache_store(d):
    folder = cache_dir()
    if folder is not None:
        write_cache_file(folder / f"{d.name}.pickle", dumps(d))


def _build(name):
    d = _cache_load(name)
    if d is None:
        d = dataclasses.replace(_BUILDERS[name](), name=name, title=_TITLES[name])
        _cache_store(d)
    return d


def _build_in_worker(name):
    """Worker-process entry of :func:`prefetch`: registers the package, builds `name`,
    returns its :func:`dumps` bytes (the executor's own pickling would re-evaluate)."""
    return dumps(get_derivation(name))


def prefetch(executor, names=None):
    """Build the derivations `names` (default: all) not yet cached in `executor`'s processes.

    Returns at once; :func:`get_derivation` then waits for a pending build instead of
    starting its own. Derivations already in memory or in the disk cache are not sent.
    `executor` is a ``concurrent.futures`` executor (a ProcessPoolExecutor: sympy holds
    the GIL). Returns the names sent.
    """
    sent = []
    for name in (list(_BUILDERS) if names is None else names):
        if name in _BUILT or name in _PENDING:
            continue
        d = _cache_load(name)
        if d is not None:
            _BUILT[name] = d
            continue
        _PENDING[name] = executor.submit(_build_in_worker, name)
        sent.append(name)
    return sent


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
    """The derivation called `name` (built on first use, then cached in memory and on disk).

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
    d = _BUILT.get(name)
    if d is not None:
        return d
    if name not in _BUILDERS:
        close = difflib.get_close_matches(str(name), list(_BUILDERS), n=3, cutoff=0.4)
        hint = (f" Did you mean {', '.join(repr(c) for c in close)}?" if close
                else f" Known: {', '.join(_BUILDERS)}.")
        raise ValueError(f"`name` must be a registered derivation; got name={name!r}.{hint}")
    future = _PENDING.pop(name, None)
    d = None
    if future is not None:
        try:
            d = pickle.loads(future.result())
        except Exception:  # noqa: BLE001  a lost worker: build here instead
            d = None
    if d is None:
        d = _build(name)
    _BUILT[name] = d
    return d


def derive_all():
    """Build (or fetch from the cache) every registered derivation, as a tuple.

    Examples
    --------
    >>> from derivations import derive_all
    >>> [d.name for d in derive_all()][-1]
    'eps_second_moment'
    """
    return tuple(get_derivation(name) for name in _BUILDERS)
