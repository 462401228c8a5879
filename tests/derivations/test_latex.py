"""LaTeX export: symbols and signs as a person writes them, existence conditions in words,
standalone documents that compile (pdflatex, when installed) and equations that matplotlib's
mathtext parses (always)."""

import shutil
import subprocess

import pytest
import sympy as sp
from matplotlib.mathtext import MathTextParser

from derivations import derive_all, get_derivation, list_derivations
from derivations._latex import math_segments, name_latex, prose_latex, result_latex, to_latex

NAMES = list(list_derivations())


@pytest.mark.parametrize("name, tex", [
    ("xi_mu", r"\xi_{\mu}"), ("xi_sigma", r"\xi_{\sigma}"), ("sigma_B", r"\sigma_{B}"),
    ("lambda", r"\lambda"), ("m_0", r"m_{0}"), ("tau_0", r"\tau_{0}"), ("ddof", r"\mathrm{ddof}"),
    ("f_{xi_sigma}", r"f_{\xi_{\sigma}}"), ("Gamma(k, theta)", r"\Gamma(k, \theta)"),
])
def test_symbol_names(name, tex):
    assert name_latex(name) == tex


def test_results_in_the_form_a_person_writes():
    end = get_derivation("mbn_momentum")["end_mean_noise_variance"]
    assert sp.simplify(end + 1 / (sp.Symbol("m", positive=True) - 2 * sp.Symbol("m_0", positive=True))) == 0
    assert to_latex(end) == r"\frac{1}{2 m_{0} - m}"
    mbn = get_derivation("mbn_noise")
    assert to_latex(mbn["effective_batch_size"]) == r"\frac{m \left(1 + \lambda\right)}{1 - \lambda}"
    assert to_latex(mbn["stationary_factor"]) == r"\frac{1 - \lambda}{1 + \lambda}"
    assert to_latex(get_derivation("variance_noise")["mean"]) == r"\frac{m - 1}{m - \mathrm{ddof}}"
    var = sp.Function("Var")(sp.Symbol("xi_mu"))
    assert to_latex(var) == r"\operatorname{Var}\left[\xi_{\mu}\right]"


def test_tidy_keeps_the_value():
    """Rewriting signs never changes a result: both forms agree at a generic point."""
    from derivations._latex import tidy

    point = {"m": 7.3, "lambda": 0.37, "m_0": 32, "T": 200, "t_e": 50, "tau_0": 0.9,
             "ddof": 1, "p": 0.7, "x": 0.4, "n": 5, "v": 0.3, "h": 0.8, "gamma": 1.5,
             "beta": 0.2, "epsilon": 1e-3, "g_1": 0.5, "g_2": 1.2, "k": 2}
    for d in derive_all():
        for key, expr in d.results:
            subs = {s: point.get(s.name, 0.31) for s in expr.free_symbols}
            a, b = complex(expr.subs(subs).evalf()), complex(tidy(expr).subs(subs).evalf())
            assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), (d.name, key, a, b)


def test_existence_conditions_in_words():
    value, text = result_latex(get_derivation("scale_moment")["inverse"])
    assert value == r"\frac{m}{m - 3}"
    assert text == r"finite for $m > 3$; $+\infty$ otherwise (the quantity diverges)"
    doc = get_derivation("scale_moment").latex(standalone=True)
    assert r"Finite for $m > 3$" in doc and r"\begin{cases}" not in doc


def test_prose_symbols_and_escaping():
    assert prose_latex("sigma_B^2 of 50% & m0") == r"$\sigma_B^{2}$ of 50\% \& $m_0$"
    assert prose_latex("x^(-p/2) near lambda") == r"$x^{-p/2}$ near $\lambda$"
    assert prose_latex("a_b {c}") == r"a\_b \{c\}"


_PARSER = MathTextParser("path")


@pytest.mark.parametrize("name", NAMES)
def test_every_equation_parses_with_mathtext(name):
    doc = get_derivation(name).latex(standalone=True)
    segments = math_segments(doc)
    assert len(segments) >= len(get_derivation(name).steps)
    for seg in segments:
        _PARSER.parse(f"${seg}$")     # raises ValueError on anything mathtext cannot read


def test_math_segments_finds_display_and_inline():
    found = math_segments(r"\usepackage{x} \begin{document} a $x$ b \[ y \] c \$5")
    assert sorted(found) == [" y ", "x"]


ENGINE = shutil.which("pdflatex") or shutil.which("latex")


@pytest.mark.skipif(ENGINE is None, reason="no LaTeX engine (pdflatex/latex) installed")
def test_every_standalone_document_compiles(tmp_path):
    """The exported documents compile with a plain LaTeX engine (checked with pdfTeX,
    TeX Live 2022). Only this test is skipped when no engine is installed."""
    from derivations._latex import standalone

    docs = {n: get_derivation(n).latex(standalone=True) for n in NAMES}
    docs["derivations"] = standalone("\n\\clearpage\n".join(d.latex() for d in derive_all()),
                                     title="bn-noise derivations")
    for name, text in docs.items():
        src = tmp_path / f"{name}.tex"
        src.write_text(text, encoding="utf-8")
        run = subprocess.run([ENGINE, "-interaction=nonstopmode", "-halt-on-error", src.name],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"{name}.tex does not compile:\n{run.stdout[-2000:]}"
