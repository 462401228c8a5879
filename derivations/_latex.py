r"""LaTeX for people: symbols, signs, existence conditions in words, standalone documents.

sympy's own :func:`sympy.latex` prints what sympy stores: ``-1/(m - 2 m_0)``,
``m(-\lambda - 1)/(\lambda - 1)``, ``ddof`` in italics, ``\int\limits`` and ``cases``
environments. This module prints the same expressions the way a person writes them and in a
subset of LaTeX that both a plain LaTeX engine (``amsmath``) and matplotlib's *mathtext*
parse:

- :func:`tidy` rewrites signs (fewest minus signs: ``1/(2 m_0 - m)``,
  ``m (1 + \lambda)/(1 - \lambda)``) and simplifies the arguments of Gamma functions;
- :func:`to_latex` uses :class:`PersonPrinter`: ``xi_mu`` as ``\xi_{\mu}``, ``sigma_B`` as
  ``\sigma_{B}``, ``m_0`` as ``m_{0}``, multi-letter names upright (``\mathrm{ddof}``),
  expectation-like functions as ``\operatorname{E}``, ``\operatorname{Var}``; positive terms
  first, ``1 \pm \lambda`` with the constant first;
- :func:`result_latex` splits a result ``Piecewise((value, cond), (oo, True))`` into the
  value and its existence condition in words ("finite for m > 3; +infinity otherwise");
- :func:`prose_latex` turns our plain-text explanations into LaTeX text with the symbols
  they name (``sigma_B^2``, ``lambda``, ``m0``) set as mathematics;
- :func:`standalone` wraps fragments into a document that compiles with ``pdflatex``.
"""

from __future__ import annotations

import itertools
import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["tidy", "to_latex", "result_latex", "prose_latex", "standalone", "PREAMBLE",
           "math_segments"]

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi",
          "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma",
          "Phi", "Psi", "Omega"}
#: function names printed as operators (\operatorname{...}) with square brackets.
_OPERATORS = {"E", "Var", "Cov", "Corr"}
#: symbols whose Add terms read "1 + lambda" (a constant first) rather than "lambda + 1".
_CONSTANT_FIRST = {"lambda", "tau", "tau_0", "rho"}


# ---------------------------------------------------------------------- names
def _word(w):
    if w in _GREEK:
        return "\\" + w
    if len(w) > 1 and w.isalpha():
        return rf"\mathrm{{{w}}}"
    return w


def name_latex(name):
    r"""``xi_mu`` -> ``\xi_{\mu}``, ``m_0`` -> ``m_{0}``, ``ddof`` -> ``\mathrm{ddof}``,
    ``f_{xi_sigma}`` -> ``f_{\xi_{\sigma}}``, ``Gamma(k, theta)`` -> ``\Gamma(k, \theta)``."""
    name = name.replace("{", "").replace("}", "")
    if re.search(r"[(), ]", name):
        return re.sub(r"[A-Za-z]\w*", lambda mt: name_latex(mt.group(0)), name)
    head, _, rest = name.partition("_")
    tex = _word(head)
    if rest:
        tex += "_{" + name_latex(rest) + "}"
    return tex


# ---------------------------------------------------------------------- signs
def _minus_count(expr):
    return sum(1 for t in sp.Add.make_args(expr) if t.could_extract_minus_sign())


def _unnatural(add):
    """1 if `add` is written against habit: ``1 - m`` (want ``m - 1``) or ``lambda - 1``
    (want ``1 - lambda``: momenta are below 1)."""
    const = [t for t in add.args if t.is_Number]
    if not const:   # no constant: the batch size m is written with a plus sign
        return int(any(t.could_extract_minus_sign() and t.has(sp.Symbol("m", positive=True))
                       for t in add.args))
    small = {s.name for s in add.free_symbols} & _CONSTANT_FIRST
    return int(bool(const[0].is_negative) == bool(small))


def _tidy_mul(expr):
    coeff, factors = expr.as_coeff_mul()
    flippable = [i for i, f in enumerate(factors)
                 if (f.is_Pow and f.base.is_Add and f.exp.is_Integer) or f.is_Add]
    if not flippable or len(flippable) > 6:
        return expr
    best, best_score = None, None
    for flips in itertools.product((False, True), repeat=len(flippable)):
        sign = coeff
        new = list(factors)
        for i, flip in zip(flippable, flips):
            if flip:
                f = factors[i]
                base, e = (f.base, f.exp) if f.is_Pow else (f, sp.Integer(1))
                new[i] = sp.Pow(sp.expand(-base), e, evaluate=False) if e != 1 else sp.expand(-base)
                if e % 2 != 0:
                    sign = -sign
        adds = [new[i].base if new[i].is_Pow else new[i] for i in flippable]
        score = (int(bool(sign < 0)) + sum(_minus_count(a) for a in adds),
                 sum(_unnatural(a) for a in adds if a.is_Add), sum(flips))
        if best_score is None or score < best_score:
            best, best_score = (sign, new), score
    sign, new = best
    args = ([sign] if sign != 1 else []) + new
    return sp.Mul(*args, evaluate=False) if len(args) > 1 else args[0]


def tidy(expr):
    """The same expression written as a person would: fewest minus signs, simple Gamma args.

    Examples
    --------
    >>> import sympy as sp
    >>> from derivations._latex import tidy, to_latex
    >>> m, m0 = sp.symbols("m m_0", positive=True)
    >>> to_latex(tidy(-1 / (m - 2 * m0)))
    '\\\\frac{1}{2 m_{0} - m}'
    """
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(tidy(e), tidy(c)) for e, c in expr.args], evaluate=False)
    if isinstance(expr, sp.gamma):
        return sp.gamma(tidy(sp.together(expr.args[0])))
    args = [tidy(a) for a in expr.args]
    if expr.is_Mul:
        return _tidy_mul(sp.Mul(*args))
    if isinstance(expr, sp.core.relational.Relational):
        return expr.func(*args, evaluate=False)
    try:
        return expr.func(*args, evaluate=False) if (expr.is_Add or expr.is_Pow) else expr.func(*args)
    except TypeError:
        return expr.func(*args)


# ---------------------------------------------------------------------- printer
class PersonPrinter(LatexPrinter):
    """sympy's LaTeX printer with the project's symbols and a mathtext-safe subset."""

    def _print_Symbol(self, expr, style="plain"):
        return name_latex(expr.name)

    def _print_Function(self, expr, exp=None):
        name = type(expr).__name__
        if not isinstance(expr, sp.core.function.AppliedUndef):
            return super()._print_Function(expr, exp)
        args = ", ".join(self._print(a) for a in expr.args)
        if name in _OPERATORS:
            tex = rf"\operatorname{{{name}}}\left[{args}\right]"
        else:
            tex = rf"{name_latex(name)}\left({args}\right)"
        return tex if exp is None else rf"{tex}^{{{exp}}}"

    def _print_Add(self, expr, order=None):
        terms = list(self._as_ordered_terms(expr, order=order))
        names = {s.name for s in expr.free_symbols}
        const = [t for t in terms if t.is_Number]
        if const and names & _CONSTANT_FIRST and len(terms) == 2:
            terms = const + [t for t in terms if not t.is_Number]
        terms.sort(key=lambda t: t.could_extract_minus_sign())   # stable: positive first
        tex = ""
        for i, term in enumerate(terms):
            if i == 0:
                if term.could_extract_minus_sign():
                    tex, term = "- ", -term
            elif term.could_extract_minus_sign():
                tex += " - "
                term = -term
            else:
                tex += " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = rf"\left({term_tex}\right)"
            tex += term_tex
        return tex

    def _print_Piecewise(self, expr):
        parts = []
        for value, cond in expr.args:
            v = self._print(value)
            parts.append(rf"{v} \ \text{{otherwise}}" if cond is sp.true
                         else rf"{v} \ \text{{for}}\ {self._print(cond)}")
        return r"\left\{" + r", \quad ".join(parts) + r"\right."

    def _print_NaN(self, expr):
        return r"\text{undefined}"

    def _print_Or(self, expr):
        return r" \ \text{or}\ ".join(self._print(a) for a in expr.args)

    def _print_And(self, expr):
        return r" \ \text{and}\ ".join(self._print(a) for a in expr.args)


def to_latex(expr):
    """LaTeX of `expr` (already :func:`tidy`-ed or not) in the mathtext-safe subset."""
    tex = PersonPrinter().doprint(tidy(expr))
    return tex.replace(r"\limits", "").replace(r"\:", r"\ ")


def result_latex(expr):
    """``(value_tex, condition_text)``: a result and its existence condition in words.

    ``Piecewise((v, c), (oo, True))`` gives the value ``v`` and the text
    "finite for $c$; $+\\infty$ otherwise" (the moment diverges); ``(v, c), (0, True)`` "for
    $c$; 0 otherwise" (a density's support). Anything else: ``(to_latex(expr), "")``.
    """
    if isinstance(expr, sp.Piecewise) and len(expr.args) == 2 and expr.args[1][1] is sp.true:
        (value, cond), (other, _) = expr.args
        cond_tex = to_latex(cond)
        if other is sp.oo:
            text = rf"finite for ${cond_tex}$; $+\infty$ otherwise (the quantity diverges)"
        elif other is sp.nan:
            text = rf"exists for ${cond_tex}$; undefined otherwise"
        else:
            text = rf"for ${cond_tex}$; ${to_latex(other)}$ otherwise"
        return to_latex(value), text
    return to_latex(expr), ""


# ---------------------------------------------------------------------- prose
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
            "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$"}
_TOKENS = {
    "xi_mu": r"\xi_\mu", "xi_sigma": r"\xi_\sigma", "sigma_B": r"\sigma_B", "mu_B": r"\mu_B",
    "m0": r"m_0", "m_0": r"m_0", "tau0": r"\tau_0", "tau_0": r"\tau_0", "lambda": r"\lambda",
    "tau": r"\tau", "eps": r"\epsilon", "epsilon": r"\epsilon", "gamma": r"\gamma",
    "beta": r"\beta", "eta": r"\eta", "theta": r"\theta", "rho": r"\rho", "sigma": r"\sigma",
    "mu": r"\mu", "pi": r"\pi", "c_1": r"c_1", "c_2": r"c_2", "c1": r"c_1", "c2": r"c_2",
    "z_i": r"z_i", "x_i": r"x_i", "mu3": r"\mu_3", "mu4": r"\mu_4", "chi2": r"\chi^2",
}
_TOKEN = re.compile(r"(?<![\w\\])(" + "|".join(sorted(map(re.escape, _TOKENS), key=len,
                                                      reverse=True))
                    + r"|[A-Za-z])(\^(?:\([^()\s]*\)|[0-9A-Za-z]+))?(?![\w(])")


def _escape(text):
    return "".join(_SPECIAL.get(c, c) for c in text)


def prose_latex(text):
    """Plain-text explanation -> LaTeX text; named symbols become inline mathematics.

    Examples
    --------
    >>> from derivations._latex import prose_latex
    >>> prose_latex("sigma_B^2 and m0, 50% of lambda")
    '$\\\\sigma_B^{2}$ and $m_0$, 50\\\\% of $\\\\lambda$'
    """
    text = " ".join(str(text).split())
    out, pos = [], 0
    for mt in _TOKEN.finditer(text):
        token, power = mt.group(1), mt.group(2)
        if len(token) == 1 and not power and token not in "xmpz":
            continue                    # a single letter without a power: ordinary text
        out.append(_escape(text[pos:mt.start()]))
        tex = _TOKENS.get(token, token)
        if power:
            tex += "^{" + power[1:].strip("()") + "}"
        out.append(f"${tex}$")
        pos = mt.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


# ---------------------------------------------------------------------- documents
PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage{amsmath}
\usepackage{amssymb}
\usepackage[margin=2.5cm]{geometry}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\allowdisplaybreaks
"""


def standalone(body, *, title):
    """A complete document (compiles with a plain ``pdflatex``) around LaTeX `body`."""
    return (PREAMBLE + rf"\title{{{_escape(title)}}}" + "\n\\date{}\n\\begin{document}\n"
            "\\maketitle\n\n" + body.rstrip("\n") + "\n\n\\end{document}\n")


_MATH = re.compile(r"\\\[(.+?)\\\]|(?<!\\)\$(.+?)(?<!\\)\$", re.S)


def math_segments(tex):
    """Every ``\\[ ... \\]`` and ``$ ... $`` segment of a LaTeX text (for parse tests)."""
    body = tex.split(r"\begin{document}", 1)[-1]
    return [a or b for a, b in _MATH.findall(body)]
