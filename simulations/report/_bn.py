"""Report section: BN with Gaussian input: the laws and moments of the batch statistics."""

from __future__ import annotations

import numpy as np

from noise_theory import mean_noise, scale_moment, variance_noise

from ..models._bn import simulate_bn
from ._common import (
    BN_BATCH_SIZES,
    SectionSpec,
    bn_samples,
    bn_sims,
    call_sympy,
    ks_row,
    mc_row,
    new_figure,
    sim_sd,
    sympy_function,
)
from ._model import Claim, row

# ------------------------------------------------------------------ BN, Gaussian input


def _bn_simulate(ctx, section):
    bn_sims(ctx)


def _bn_statistics(ctx, section):

    sims = bn_sims(ctx)
    var_mu = sympy_function("mean_noise", "variance")
    e_sig = sympy_function("variance_noise", "mean")
    var_sig = sympy_function("variance_noise", "variance")
    rows_vm, rows_em, rows_vs, rows_cov, rows_ks_mu, rows_ks_sig, sd = [], [], [], [], [], [], []
    for m in BN_BATCH_SIZES:
        sim, p = sims[m], {"m": m}
        mu_law, sig_law = mean_noise(m), variance_noise(m)
        rows_vm.append(mc_row(p, mu_law.var(), sim, "Var[xi_mu]", call_sympy(var_mu, m=m)))
        rows_em.append(mc_row(p, sig_law.mean(), sim, "E[xi_sigma]", call_sympy(e_sig, m=m)))
        rows_vs.append(mc_row(p, sig_law.var(), sim, "Var[xi_sigma]", call_sympy(var_sig, m=m)))
        rows_cov.append(mc_row(p, 0.0, sim, "Cov[xi_mu,xi_sigma]"))
        rows_ks_mu.append(ks_row(p, sim, "xi_mu"))
        rows_ks_sig.append(ks_row(p, sim, "xi_sigma"))
        sd.append([m, *sim_sd(sim, "Var[xi_mu]"), *sim_sd(sim, "Var[xi_sigma]"), sim.batches])
    routes = ("closed form `noise_theory.{f}` vs the sympy derivation `{d}` (lambdified) vs "
              "Monte Carlo (`simulate_bn`, raw Gaussian batches).")
    section.claims += [
        Claim("bn_var_xi_mu", "Mean noise: Var xi_mu = 1/m",
              "The additive noise xi_mu = (mu_B - mu)/sigma of a batch of m Gaussian samples "
              "has variance 1/m, whatever mu and sigma.",
              routes.format(f="mean_noise(m).var()", d="mean_noise"), tuple(rows_vm)),
        Claim("bn_mean_xi_sigma", "Variance noise: E xi_sigma = (m-1)/m",
              "The multiplicative noise xi_sigma = sigma_B^2/sigma^2 (biased batch variance) "
              "is biased low by the factor (m-1)/m.",
              routes.format(f="variance_noise(m).mean()", d="variance_noise"), tuple(rows_em)),
        Claim("bn_var_xi_sigma", "Variance noise: Var xi_sigma = 2(m-1)/m^2",
              "The spread of the multiplicative noise falls like 2/m.",
              routes.format(f="variance_noise(m).var()", d="variance_noise"), tuple(rows_vs)),
        Claim("bn_cov", "Independence: Cov(xi_mu, xi_sigma) = 0",
              "For Gaussian input the batch mean and batch variance are independent "
              "(Cochran's theorem), so the two noises are uncorrelated.",
              "theory 0 vs Monte Carlo (mean of centred products).", tuple(rows_cov)),
        Claim("bn_law_xi_mu", "Law of xi_mu: N(0, 1/m)",
              "The whole law, not only its moments: Kolmogorov-Smirnov test of the simulated "
              "xi_mu against the CDF of `mean_noise(m)`.",
              "closed-form CDF vs Monte Carlo (KS test on a subsample of batches; theory "
              "column: D = 0; D and p are the conservative ends of the binned bounds).",
              tuple(rows_ks_mu)),
        Claim("bn_law_xi_sigma", "Law of xi_sigma: chi2(m-1)/m",
              "Kolmogorov-Smirnov test of the simulated xi_sigma against the CDF of "
              "`variance_noise(m)` = Gamma((m-1)/2, scale 2/m).",
              "closed-form CDF vs Monte Carlo (KS test, as above).", tuple(rows_ks_sig)),
    ]
    section.data["bn_noise_sd"] = (
        ["m", "sd_xi_mu", "sd_xi_mu_stderr", "sd_xi_sigma", "sd_xi_sigma_stderr", "batches"], sd)


def _bn_scale_moments(ctx, section):

    sims = bn_sims(ctx)
    claims = []
    for power, quantity, key, title, formula in (
            (1, "E[sigma/sigma_B]", "bn_e_sigma_ratio", "E[sigma/sigma_B]",
             "sqrt(m/2) Gamma((m-2)/2)/Gamma((m-1)/2), finite only for m > 2"),
            (2, "E[sigma^2/sigma_B^2]", "bn_e_sigma2_ratio", "E[sigma^2/sigma_B^2]",
             "m/(m-3), finite only for m > 3")):
        ref = sympy_function("scale_moment")
        rows = []
        for m in BN_BATCH_SIZES:
            theory = scale_moment(m, power)
            reference = call_sympy(ref, m=m, power=power)
            # The CLT (and a trustworthy stderr) needs the 2nd and 4th moments of the
            # sample to be finite: E xi^(-2p) < inf, i.e. 4 p < m - 1.
            if np.isfinite(scale_moment(m, 4 * power)):
                rows.append(mc_row({"m": m}, theory, sims[m], quantity, reference))
            else:
                why = ("diverges: no Monte Carlo estimate" if not np.isfinite(theory) else
                       f"E xi^-{2 * power} = inf: sample mean has no trustworthy stderr; "
                       "not Monte Carlo tested")
                rows.append(row({"m": m}, theory, reference=reference, note=why))
        claims.append(Claim(
            key, f"Scale noise: {title} = {formula}",
            f"BN divides by sigma_B, so the output is inflated on average by {title}; the "
            "moment is infinite (not NaN) where it diverges, with the existence condition "
            "p < m - 1.",
            "closed form `noise_theory.scale_moment` (log-gamma) vs the sympy derivation "
            "`scale_moment` (integral against the Gamma density) vs Monte Carlo where the "
            "sample mean obeys the CLT with a finite fourth moment.", tuple(rows)))
    section.claims += claims


def _bn_unbiased(ctx, section):
    """ddof = 1 (the unbiased batch variance, e.g. PyTorch's running_var update)."""


    e_ref = sympy_function("variance_noise", "mean")
    s_ref = sympy_function("scale_moment", "moment")
    rows = []
    for m in (6, 8, 32):
        sim = simulate_bn(m, bn_samples(ctx, m), ddof=1, rng=ctx.seed_sequence("bn unbiased", f"m={m}"),
                          workers=ctx.workers, ks_batches=0, progress=False)
        p = {"m": m, "ddof": 1}
        rows.append(mc_row({**p, "quantity": "E xi_sigma = 1"},
                            variance_noise(m, ddof=1).mean(), sim, "E[xi_sigma]",
                            call_sympy(e_ref, m=m, ddof=1)))
        rows.append(mc_row({**p, "quantity": "E[sigma^2/s^2] = (m-1)/(m-3)"},
                            scale_moment(m, 2, ddof=1), sim, "E[sigma^2/sigma_B^2]",
                            call_sympy(s_ref, m=m, power=2, ddof=1)))
    section.claims.append(Claim(
        "bn_unbiased",
        "Unbiased variance (ddof = 1): E s^2 = sigma^2, E[sigma^2/s^2] = (m-1)/(m-3)",
        "Dividing by m - 1 removes the bias of the variance but not the noise of its inverse: "
        "E[sigma^2/s^2] = (m-1)/(m-3) (against m/(m-3) for BN's biased variance).",
        "closed forms `variance_noise(m, ddof=1)`, `scale_moment(m, 2, ddof=1)` vs the sympy "
        "derivations vs Monte Carlo (`simulate_bn(..., ddof=1)`).", tuple(rows)))


def _bn_figures(ctx, section):
    from ..plots import plot_noise_densities  # deferred: matplotlib

    a1, a2 = new_figure(
        section, "noise_densities", "Densities of the additive noise xi_mu (left) and the "
        "multiplicative noise xi_sigma (right) for batch sizes 2..64: both laws depend on m "
        "only.", figsize=(11, 4.2), ncols=2)
    plot_noise_densities((2, 4, 8, 16, 32, 64), which="mean", ax=a1)
    plot_noise_densities((2, 4, 8, 16, 32, 64), which="variance", ax=a2)


BN_SECTION = SectionSpec(
    "bn", "1. BN noise for Gaussian input",
    "For a batch of m iid N(mu, sigma^2) samples, BN(x) = (x~ - xi_mu)/sqrt(xi_sigma) with "
    "x~ the population-normalised input: BN is population normalisation plus an additive "
    "noise xi_mu and a multiplicative noise xi_sigma whose laws depend only on m. Batch sizes "
    f"{', '.join(map(str, BN_BATCH_SIZES))}.",
    (_bn_simulate, _bn_statistics, _bn_scale_moments, _bn_unbiased, _bn_figures))
