"""Report section: the explicit regulariser, second-order formula against exact quadrature
and Monte Carlo."""

from __future__ import annotations

import numpy as np

from noise_theory import expected_glm_loss, glm_regularizer, regularizer_strength

from ..models._glm_loss import simulate_glm_loss
from ._common import SectionSpec, call_sympy, md_rows, new_figure, sympy_function
from ._model import Claim, row

# ------------------------------------------------------------------ the regulariser
REG_H = (-1.0, 0.5, 2.0)        # population-normalised pre-activations
REG_GAMMA, REG_BETA = 1.5, 0.2
#: batch sizes with a Monte Carlo check: the loss needs a finite fourth moment for a
#: trustworthy stderr (logistic: E xi^-2 < inf, m > 5; squared: E xi^-4 < inf, m > 9).
REG_MC = {"logistic": (6, 8, 16, 64), "squared": (12, 16, 64)}
REG_ERROR_M = (4, 6, 8, 16, 32, 64, 128, 256)


def _regularizer(ctx, section):


    var_ref = sympy_function("glm_regularizer", "var_eta")
    pen_ref = sympy_function("glm_regularizer", "penalty_logistic")
    h2_ref = sympy_function("glm_regularizer", "var_h2")
    const_ref = sympy_function("glm_regularizer", "var_const")
    g, b = REG_GAMMA, REG_BETA
    rows_var, rows_pen, rows_coef, rows_loss = [], [], [], []
    for m in (4, 8, 16, 64, 256):
        st = regularizer_strength(m)
        rows_coef.append(row({"m": m, "coefficient": "c2 - c1^2"}, st.var_h2,
                             reference=call_sympy(h2_ref, m=m, momentum=0.0)))
        rows_coef.append(row({"m": m, "coefficient": "c2/m"}, st.var_const,
                             reference=call_sympy(const_ref, m=m, momentum=0.0)))
        for h in REG_H:
            reg = glm_regularizer(h, gamma=g, beta=b, m=m, family="logistic")
            p = {"m": m, "h": h}
            rows_var.append(row(p, reg.var_eta, reference=call_sympy(var_ref, h=h, gamma=g, m=m,
                                                                momentum=0.0)))
            rows_pen.append(row(p, reg.penalty, reference=call_sympy(pen_ref, h=h, gamma=g, beta=b,
                                                                m=m, momentum=0.0)))
    n = ctx.size(100_000, 4_000_000)
    for fam, ms in REG_MC.items():
        for m in ms:
            sim = simulate_glm_loss(np.array(REG_H), 1.0, gamma=g, beta=b, m=m, family=fam,
                                    n=n, rng=ctx.seed_sequence("regularizer", fam, f"m={m}"),
                                    workers=ctx.workers, progress=False)
            exact = expected_glm_loss(np.array(REG_H), 1.0, gamma=g, beta=b, m=m, family=fam)
            approx = glm_regularizer(np.array(REG_H), gamma=g, beta=b, m=m,
                                     family=fam).approx_expected_loss(1.0)
            for h, r, ex, ap in zip(REG_H, sim.results, np.atleast_1d(exact),
                                    np.atleast_1d(approx)):
                # squared loss: the second-order formula is exact, so it is the reference
                rows_loss.append(row({"family": fam, "m": m, "h": h}, ex,
                                     reference=ap if fam == "squared" else None,
                                     estimate=r.estimate, stderr=r.stderr, n=r.n))
    errors = []
    for m in REG_ERROR_M:
        for h in REG_H:
            ex = float(expected_glm_loss(h, 1.0, gamma=g, beta=b, m=m, family="logistic"))
            ap = float(glm_regularizer(h, gamma=g, beta=b, m=m,
                                       family="logistic").approx_expected_loss(1.0))
            errors.append([m, h, ex, ap, ap / ex - 1.0])
    section.data["regularizer_second_order_error"] = (
        ["m", "h", "exact_quadrature", "second_order", "relative_error"], errors)
    at = (f"gamma = {g}, beta = {b}, logistic loss (y-free parts), h in {list(REG_H)}")
    section.claims += [
        Claim("reg_var_eta", "Var eta = gamma^2 [(h^2 + 1/m) m/(m-3) - c1^2 h^2]",
              f"The variance of the BN'd GLM output eta = gamma (h - xi_mu)/sqrt(xi_sigma) + "
              f"beta; {at}.",
              "closed form `glm_regularizer(...).var_eta` vs the sympy derivation "
              "`glm_regularizer` (lambdified).", tuple(rows_var)),
        Claim("reg_penalty", "Regulariser R = A''(E eta) Var(eta)/2 (logistic)",
              f"The second-order penalty around E eta = gamma c1 h + beta; {at}.",
              "closed form `glm_regularizer(...).penalty` vs the sympy derivation.",
              tuple(rows_pen)),
        Claim("reg_strength", "Strength coefficients: c2 - c1^2 ~ 1/(2m), c2/m ~ 1/m",
              "Var eta = gamma^2 (a h^2 + b) with a = c2 - c1^2 and b = c2/m: a data-dependent "
              "penalty on gamma^2 falling like 1/m ('gamma decay').",
              "closed form `regularizer_strength(m)` vs the sympy derivation.",
              tuple(rows_coef)),
        Claim("reg_expected_loss", "Exact expected loss: quadrature vs Monte Carlo",
              "E[A(eta) - y eta] over the BN noise (y = 1), by deterministic quadrature "
              "(`expected_glm_loss`) and by Monte Carlo from raw batches "
              "(`simulate_glm_loss`). For squared loss the second-order formula is exact, so "
              "it must match the quadrature too (reference column).",
              "quadrature vs Monte Carlo (and, squared loss, vs the second-order formula; "
              "rtol 1e-7).", tuple(rows_loss), reference_name="second order", rtol=1e-7),
    ]
    worst = {m: max(abs(e[4]) for e in errors if e[0] == m) for m in REG_ERROR_M}
    section.notes.append(
        "**Where the second-order formula breaks down** (logistic, y = 1, "
        f"gamma = {g}, beta = {b}; largest |relative error| over h in {list(REG_H)}; "
        "data: `data/regularizer_second_order_error.csv`):\n\n" + md_rows(
            ["m", "max relative error"], [[m, f"{v:.2e}"] for m, v in worst.items()]))


def _regularizer_figure(ctx, section):
    from ..plots import plot_regularizer_strength  # deferred: matplotlib

    a, b = new_figure(
        section, "regularizer", "Left: the exact coefficients of Var(eta)/gamma^2 against batch "
        "size, with their large-m series. Right: relative error of the second-order expected "
        "logistic loss against exact quadrature.", figsize=(12, 4.4), ncols=2)
    plot_regularizer_strength(ax=a)
    plot_regularizer_strength(quantity="error", h=REG_H[1:] + (-1.0,), gamma=REG_GAMMA,
                              beta=REG_BETA, ax=b)


REG_SECTION = SectionSpec(
    "regularizer", "4. The explicit regulariser",
    "A GLM on a BN'd pre-activation: the noise adds, to second order, a penalty "
    "R = A''(E eta) Var(eta)/2 whose strength falls like 1/m (docs/theory.md, (4.1)-(4.3)).",
    (_regularizer, _regularizer_figure))
