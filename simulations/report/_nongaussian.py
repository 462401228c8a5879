"""Report section: Non-Gaussian inputs: kurtosis and skewness in the batch-statistics noise."""

from __future__ import annotations

from noise_theory import batch_statistics_moments

from ..models._bn import simulate_bn
from ..models._laws import input_law
from ._common import (
    SectionSpec,
    bn_samples,
    call_sympy,
    mc_row,
    new_figure,
    sim_moment,
    sympy_function,
)
from ._model import Claim

# ------------------------------------------------------------------ non-Gaussian input
#: (label, dist, df): input laws with a finite 8th moment, so that the simulated variance of
#: the batch variance has a trustworthy standard error.
NONGAUSSIAN_LAWS = (("uniform", "uniform", None), ("laplace", "laplace", None),
                    ("t(10)", "t", 10.0), ("exponential", "exponential", None),
                    ("ReLU(N(0,1))", "relu", None))
#: BN's eps for the ReLU input (a ReLU batch is all zeros with probability 2^-m); eps does not
#: enter the batch statistics, only the normalised outputs.
RELU_EPS = 1e-5
NONGAUSSIAN_BATCH_SIZES = (4, 16, 64)


def _nongaussian(ctx, section):


    var_ref = sympy_function("nongaussian_statistics", "variance_of_variance")
    cov_ref = sympy_function("nongaussian_statistics", "covariance")
    rows_var, rows_cov, points = [], [], []
    for k, (label, dist, df) in enumerate(NONGAUSSIAN_LAWS):
        law = input_law(dist, df=df)
        for m in NONGAUSSIAN_BATCH_SIZES:
            sim = simulate_bn(m, bn_samples(ctx, m) // 2, dist=dist, df=df,
                              eps=RELU_EPS if dist == "relu" else 0.0,
                              rng=ctx.seed_sequence("nongaussian", dist, f"df={df}", f"m={m}"),
                              workers=ctx.workers,
                              ks_batches=0, progress=False)
            th = batch_statistics_moments(m, skewness=law.skewness,
                                          excess_kurtosis=law.excess_kurtosis)
            p = {"input": label, "skewness": round(law.skewness, 4),
                 "excess kurtosis": round(law.excess_kurtosis, 4), "m": m}
            rows_var.append(mc_row(p, th.var_var, sim, "Var[xi_sigma]", call_sympy(
                var_ref, m=m, excess_kurtosis=law.excess_kurtosis)))
            rows_cov.append(mc_row(p, th.cov, sim, "Cov[xi_mu,xi_sigma]", call_sympy(
                cov_ref, m=m, skewness=law.skewness)))
            est, se, _ = sim_moment(sim, "Var[xi_sigma]")
            gauss = float(batch_statistics_moments(m).var_var)
            points.append([label, m, law.excess_kurtosis, float(th.var_var) / gauss,
                           est / gauss, se / gauss])
    section.claims += [
        Claim("ng_var_xi_sigma", "Variance noise for any input: "
              "Var xi_sigma = ((m-1)/m)^2 [mu4/m - (m-3)/(m(m-1))]",
              "With heavy tails the variance noise is larger than for Gaussian input (and "
              "smaller for light tails): it depends on the kurtosis, not only on m.",
              "closed form `batch_statistics_moments(m, skewness, excess_kurtosis).var_var` "
              "vs the sympy derivation `nongaussian_statistics` (power-sum moment algebra) "
              "vs Monte Carlo (`simulate_bn(..., dist=...)`).", tuple(rows_var)),
        Claim("ng_cov", "Skewness couples the noises: Cov(xi_mu, xi_sigma) = mu3 (m-1)/m^2",
              "For skewed input (exponential, ReLU outputs) the mean and variance noises are "
              "correlated; for symmetric input they are not.",
              "closed form `batch_statistics_moments(...).cov` vs the sympy derivation vs "
              "Monte Carlo.", tuple(rows_cov)),
    ]
    section.data["nongaussian_variance_ratio"] = (
        ["input", "m", "excess_kurtosis", "theory_ratio", "simulated_ratio", "stderr"], points)


def _nongaussian_figure(ctx, section):
    from ..plots import plot_kurtosis_effect  # deferred: matplotlib

    pts = section.data["nongaussian_variance_ratio"][1]
    sims = {}
    for label, m, k, _, ratio, se in pts:
        sims.setdefault(f"simulated: {label}", ([], [], [], []))
        for lst, v in zip(sims[f"simulated: {label}"], (m, k, ratio, se)):
            lst.append(v)
    ax = new_figure(
        section, "kurtosis_effect", "Variance of the variance noise relative to Gaussian input, "
        "against the input's excess kurtosis (lines: theory per batch size; points: simulated "
        "input laws with 95% bars, coloured by batch size).", figsize=(8, 5))
    plot_kurtosis_effect(NONGAUSSIAN_BATCH_SIZES, simulated=sims, ax=ax)


NONGAUSSIAN_SECTION = SectionSpec(
    "nongaussian", "5. Non-Gaussian inputs: beyond 'depends only on m'",
    "For any input law with finite moments, the batch mean keeps Var = 1/m but the variance "
    "noise depends on the fourth moment, and skewness correlates the two noises (docs/theory.md, "
    "(3.1)). Input laws with a finite eighth moment, so that the simulated variance of "
    "the batch variance has a trustworthy standard error; the ReLU input is simulated with "
    f"eps = {RELU_EPS:g} (an all-zero batch has probability 2^-m), which does not change the "
    "batch statistics.",
    (_nongaussian, _nongaussian_figure))
