"""The checks of ``bn-noise report``: one section per part of the theory.

Each section is a :class:`SectionSpec` whose ``tasks`` run in order on a shared
:class:`~simulations._report.Section`; a task adds claims (closed form vs a second
deterministic route vs Monte Carlo), figures and data. Each task draws from its own random
stream (``ctx.rng(key)`` with a fixed key), so a section's numbers do not depend on which
other sections run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._report import Claim, Figure, row

__all__ = ["SECTIONS", "SectionSpec"]


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    intro: str
    tasks: tuple


# ------------------------------------------------------------------ estimators
def ks_pvalue(sample, cdf):
    """Kolmogorov-Smirnov statistic and p-value of `sample` against `cdf`."""
    from scipy.stats import kstest

    res = kstest(np.asarray(sample, dtype=float), cdf)
    return float(res.statistic), float(res.pvalue)


# ------------------------------------------------------------------ figures
def _figure(section, name, caption, *, figsize, ncols=1):
    """Add a matplotlib figure (no pyplot, so no global state) to `section`; return its axes."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=figsize, layout="constrained")
    section.figures.append(Figure(name, caption, fig))
    return fig.subplots(1, ncols) if ncols > 1 else fig.subplots()


# ------------------------------------------------------------------ sympy route
def _sympy(name, key=None):
    """Numeric (lambdified) function of the result `key` of the sympy derivation `name`."""
    from derivations import get_derivation

    return get_derivation(name).function(key)


#: values of the sympy functions' keywords a check does not vary (BN defaults).
_SYMPY_DEFAULTS = {"ddof": 0, "eps": 0.0}


def _call(fn, **kwargs):
    """Evaluate a lambdified derivation with the keywords it takes (BN defaults for the rest)."""
    if fn is None:
        return None
    args = {k: kwargs[k] if k in kwargs else _SYMPY_DEFAULTS[k] for k in fn.keywords}
    return float(np.asarray(fn(**args), dtype=float))


# ------------------------------------------------------------------ BN, Gaussian input
BN_BATCH_SIZES = (2, 3, 4, 5, 6, 8, 16, 32, 64, 128, 256)


def _bn_sims(ctx):
    """``simulate_bn`` at every batch size (Gaussian input), run once per report."""
    from ._bn_sim import simulate_bn

    if "bn" not in ctx.cache:
        ctx.cache["bn"] = {
            m: simulate_bn(m, _bn_samples(ctx, m), rng=ctx.seed_sequence(1000 + m),
                           workers=ctx.workers, ks_batches=ctx.size(1 << 16, 1 << 20),
                           progress=False)
            for m in BN_BATCH_SIZES}
    return ctx.cache["bn"]


def _bn_samples(ctx, m):
    """Input samples at batch size m: 1e5 batches (4e6 with --full), at most 1e7 (4e8) draws."""
    return int(min(ctx.size(100_000, 4_000_000) * m, ctx.size(10_000_000, 400_000_000)))


def _moment(sim, quantity):
    """``(estimate, stderr, n)`` of one simulated moment of a ``simulate_bn`` result."""
    for check in sim.moments:
        if check.quantity == quantity:
            r = check.result
            return r.estimate, r.stderr, r.n
    raise KeyError(f"simulate_bn gave no {quantity!r}")


def _ks(sim, quantity):
    """``(D, p-value, n)`` of a KS check, conservatively: the binned statistic's upper bound
    and the p-value's lower bound, so binning can only over-report a disagreement."""
    for k in sim.ks:
        if k.quantity == quantity:
            return k.statistic_high, k.pvalue_low, k.n
    raise KeyError(f"simulate_bn gave no KS check of {quantity!r}")


def _ks_row(params, sim, quantity):
    d, pv, n = _ks(sim, quantity)
    return row(params, 0.0, estimate=d, pvalue=pv, n=n)


def _mc_row(params, theory, sim, quantity, reference=None):
    est, se, n = _moment(sim, quantity)
    return row(params, theory, reference=reference, estimate=est, stderr=se, n=n)


def _bn_simulate(ctx, section):
    _bn_sims(ctx)


def _bn_statistics(ctx, section):
    from noise_theory import mean_noise, variance_noise

    sims = _bn_sims(ctx)
    var_mu = _sympy("mean_noise", "variance")
    e_sig = _sympy("variance_noise", "mean")
    var_sig = _sympy("variance_noise", "variance")
    rows_vm, rows_em, rows_vs, rows_cov, rows_ks_mu, rows_ks_sig, sd = [], [], [], [], [], [], []
    for m in BN_BATCH_SIZES:
        sim, p = sims[m], {"m": m}
        mu_law, sig_law = mean_noise(m), variance_noise(m)
        rows_vm.append(_mc_row(p, mu_law.var(), sim, "Var[xi_mu]", _call(var_mu, m=m)))
        rows_em.append(_mc_row(p, sig_law.mean(), sim, "E[xi_sigma]", _call(e_sig, m=m)))
        rows_vs.append(_mc_row(p, sig_law.var(), sim, "Var[xi_sigma]", _call(var_sig, m=m)))
        rows_cov.append(_mc_row(p, 0.0, sim, "Cov[xi_mu,xi_sigma]"))
        rows_ks_mu.append(_ks_row(p, sim, "xi_mu"))
        rows_ks_sig.append(_ks_row(p, sim, "xi_sigma"))
        sd.append([m, *_sd(sim, "Var[xi_mu]"), *_sd(sim, "Var[xi_sigma]"), sim.batches])
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


def _sd(sim, quantity):
    """Standard deviation and its delta-method standard error from a simulated variance."""
    v, se, _ = _moment(sim, quantity)
    return float(np.sqrt(v)), float(se / (2 * np.sqrt(v)))


def _bn_scale_moments(ctx, section):
    from noise_theory import scale_moment

    sims = _bn_sims(ctx)
    claims = []
    for power, quantity, key, title, formula in (
            (1, "E[sigma/sigma_B]", "bn_e_sigma_ratio", "E[sigma/sigma_B]",
             "sqrt(m/2) Gamma((m-2)/2)/Gamma((m-1)/2), finite only for m > 2"),
            (2, "E[sigma^2/sigma_B^2]", "bn_e_sigma2_ratio", "E[sigma^2/sigma_B^2]",
             "m/(m-3), finite only for m > 3")):
        ref = _sympy("scale_moment")
        rows = []
        for m in BN_BATCH_SIZES:
            theory = scale_moment(m, power)
            reference = _call(ref, m=m, power=power)
            # The CLT (and a trustworthy stderr) needs the 2nd and 4th moments of the
            # sample to be finite: E xi^(-2p) < inf, i.e. 4 p < m - 1.
            if np.isfinite(scale_moment(m, 4 * power)):
                rows.append(_mc_row({"m": m}, theory, sims[m], quantity, reference))
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
    from noise_theory import scale_moment, variance_noise

    from ._bn_sim import simulate_bn

    e_ref = _sympy("variance_noise", "mean")
    s_ref = _sympy("scale_moment", "moment")
    rows = []
    for m in (6, 8, 32):
        sim = simulate_bn(m, _bn_samples(ctx, m), ddof=1, rng=ctx.seed_sequence(1500 + m),
                          workers=ctx.workers, ks_batches=0, progress=False)
        p = {"m": m, "ddof": 1}
        rows.append(_mc_row({**p, "quantity": "E xi_sigma = 1"},
                            variance_noise(m, ddof=1).mean(), sim, "E[xi_sigma]",
                            _call(e_ref, m=m, ddof=1)))
        rows.append(_mc_row({**p, "quantity": "E[sigma^2/s^2] = (m-1)/(m-3)"},
                            scale_moment(m, 2, ddof=1), sim, "E[sigma^2/sigma_B^2]",
                            _call(s_ref, m=m, power=2, ddof=1)))
    section.claims.append(Claim(
        "bn_unbiased",
        "Unbiased variance (ddof = 1): E s^2 = sigma^2, E[sigma^2/s^2] = (m-1)/(m-3)",
        "Dividing by m - 1 removes the bias of the variance but not the noise of its inverse: "
        "E[sigma^2/s^2] = (m-1)/(m-3) (against m/(m-3) for BN's biased variance).",
        "closed forms `variance_noise(m, ddof=1)`, `scale_moment(m, 2, ddof=1)` vs the sympy "
        "derivations vs Monte Carlo (`simulate_bn(..., ddof=1)`).", tuple(rows)))


def _bn_figures(ctx, section):
    from ._plots import plot_noise_densities

    a1, a2 = _figure(
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


# ------------------------------------------------------------------ BN output laws
OUTPUT_BATCH_SIZES = (2, 3, 4, 6, 8, 16, 64)
OUTPUT_X = 1.5  # fixed population-normalised input of the paper's independent-noise model
EPS_CHECK = 1e-5


def _output_laws(ctx, section):
    from noise_theory import bn_output, scale_moment

    sims = _bn_sims(ctx)
    z4_ref = _sympy("in_batch_output", "fourth_moment")
    oob_ref = _sympy("out_of_batch_output", "random_variance")
    z4, ks_in, oob_var, ks_oob = [], [], [], []
    for m in OUTPUT_BATCH_SIZES:
        sim, p = sims[m], {"m": m}
        if m > 2:  # at m = 2 z = +-1 exactly (see the invariants)
            z4.append(_mc_row(p, bn_output(m, model="in_batch").moment(4), sim, "E[z_in^4]",
                              _call(z4_ref, m=m)))
            ks_in.append(_ks_row(p, sim, "z_in"))
        outside = bn_output(m, model="out_of_batch")
        if np.isfinite(scale_moment(m, 4)):  # E y^4 = 3 (1 + 1/m)^2 E[xi_sigma^-2]
            oob_var.append(_mc_row(p, outside.var(), sim, "E[y_out^2]", _call(oob_ref, m=m)))
        else:
            oob_var.append(row(p, outside.var(), reference=_call(oob_ref, m=m),
                               note="E y^4 = inf for m <= 5: no trustworthy stderr, not "
                                    "Monte Carlo tested"))
        ks_oob.append(_ks_row(p, sim, "y_out"))
    section.claims += [
        Claim("out_in_batch_z4", "In-batch output: E z^4 = 3(m-1)/(m+1)",
              "The in-batch output is lighter-tailed than a Gaussian (E z^4 < 3): z^2/(m-1) ~ "
              "Beta(1/2, (m-2)/2).",
              "closed form `bn_output(m, model='in_batch').moment(4)` vs the sympy derivation "
              "`in_batch_output` (Beta moments) vs Monte Carlo (`simulate_bn`).", tuple(z4)),
        Claim("out_in_batch_law", "In-batch output law (internally studentised residual)",
              "KS test of one in-batch output per simulated batch against the CDF of "
              "`bn_output(m, model='in_batch')`.",
              "closed-form CDF vs Monte Carlo (KS).", tuple(ks_in)),
        Claim("out_oob_var", "Out-of-batch random sample: Var = (m+1)/(m-3)",
              "A fresh sample x ~ N(mu, sigma^2) normalised with another batch's statistics "
              "follows sqrt((m+1)/(m-1)) t(m-1): heavier-tailed than the in-batch output, "
              "with infinite variance for m <= 3.",
              "closed form `bn_output(m, model='out_of_batch').var()` vs the sympy derivation "
              "`out_of_batch_output` vs Monte Carlo.", tuple(oob_var)),
        Claim("out_oob_law", "Out-of-batch random sample: scaled t(m-1) law",
              "KS test of the simulated out-of-batch outputs.",
              "closed-form CDF vs Monte Carlo (KS).", tuple(ks_oob)),
    ]


def _output_invariants(ctx, section):
    """The exact in-batch constraints, checked on fresh batches (an identity, not a law)."""
    rng = ctx.rng(3000)
    rows = []
    for m in OUTPUT_BATCH_SIZES:
        x = rng.standard_normal((20_000, m)) * 3.0 + 1.0   # any mu, sigma
        z = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
        checks = [("max |sum z_i|", np.abs(z.sum(axis=1)).max()),
                  ("max |sum z_i^2 - m|", np.abs((z * z).sum(axis=1) - m).max()),
                  ("max(|z_i| - sqrt(m-1), 0)", max(np.abs(z).max() - np.sqrt(m - 1.0), 0.0))]
        if m == 2:
            checks.append(("max ||z_i| - 1|", np.abs(np.abs(z) - 1.0).max()))
        rows += [row({"m": m, "invariant": name}, 0.0, reference=value, n=x.shape[0])
                 for name, value in checks]
    section.claims.insert(0, Claim(
        "out_invariants", "In-batch invariants: sum z = 0, sum z^2 = m, |z| <= sqrt(m-1)",
        "The in-batch outputs z_i = (x_i - mu_B)/sigma_B of every batch satisfy exact "
        "constraints; at m = 2 every output is +-1 whatever the input.",
        "exact identity (theory 0) vs the largest violation over 20,000 fresh batches per m "
        "(floating-point rounding only; tolerance atol = 1e-9).", tuple(rows),
        reference_name="largest violation", atol=1e-9))


def _output_fixed_x(ctx, section):
    """The paper's noise model: compose the exact noise laws, compare with the noncentral t."""
    from noise_theory import bn_output, mean_noise, variance_noise

    rows = []
    for m in OUTPUT_BATCH_SIZES:
        rng = ctx.rng(4000 + m)
        n = ctx.size(50_000, 1_000_000)
        xi_mu = mean_noise(m).rvs(size=n, random_state=rng)
        xi_sigma = variance_noise(m).rvs(size=n, random_state=rng)
        d, pv = ks_pvalue((OUTPUT_X - xi_mu) / np.sqrt(xi_sigma),
                          bn_output(m, x=OUTPUT_X, model="out_of_batch").cdf)
        rows.append(row({"m": m, "x": OUTPUT_X}, 0.0, estimate=d, pvalue=pv, n=n))
    section.claims.append(Claim(
        "out_fixed_x_law", f"Out-of-batch output at a fixed x~ = {OUTPUT_X}: noncentral t "
        "(the paper's independent-noise model)",
        "(x~ - xi_mu)/sqrt(xi_sigma) = T/sqrt(m-1) with T ~ noncentral t(m-1, sqrt(m) x~).",
        "closed-form CDF `bn_output(m, x=x, model='out_of_batch')` vs the composition of the "
        "exact noise laws `mean_noise(m)` and `variance_noise(m)` sampled independently (KS).",
        tuple(rows)))


def _output_eps(ctx, section):
    from noise_theory import scale_moment

    from ._bn_sim import simulate_bn

    ref = _sympy("eps_second_moment")
    rows = []
    for m in (2, 3):
        sim = simulate_bn(m, ctx.size(200_000, 10_000_000) * m, eps=EPS_CHECK,
                          rng=ctx.seed_sequence(2000 + m), workers=ctx.workers,
                          ks_batches=0, progress=False)
        theory = 1.0 - EPS_CHECK * scale_moment(m, 2, eps=EPS_CHECK)
        rows.append(_mc_row({"m": m, "eps": EPS_CHECK}, theory, sim, "E[z_in^2]",
                            _call(ref, m=m, eps=EPS_CHECK) if m == 2 else None))
    section.claims.append(Claim(
        "out_eps", "eps removes variance: E z^2 = 1 - eps E[1/(xi_sigma + eps)]",
        "With eps > 0 the in-batch outputs satisfy (1/m) sum z_i^2 = xi_sigma/(xi_sigma + eps), "
        "so E z^2 = 1 - eps * scale_moment(m, 2, eps=eps); at m = 2, eps = 1e-5 this removes "
        "about 0.56% of the output variance.",
        "closed form via `scale_moment(m, 2, eps=eps)` (quadrature) vs the sympy closed form at "
        "m = 2 vs Monte Carlo (`simulate_bn(..., eps=eps)`).", tuple(rows)))


def _output_figure(ctx, section):
    from ._plots import plot_output_laws

    axes = _figure(
        section, "output_laws", "In-batch (what training computes, bounded by sqrt(m-1)) "
        "against out-of-batch (scaled t) laws of the normalised output at small batch sizes; "
        "the gap closes as m grows.", figsize=(14, 3.8), ncols=4)
    for ax, m in zip(axes, (2, 3, 4, 8)):
        plot_output_laws(m, ax=ax)


OUTPUT_SECTION = SectionSpec(
    "outputs", "2. Three laws of the BN output",
    "The same normalisation gives different laws depending on whether the normalised sample "
    "belongs to the batch (training), is a fresh random sample, or is a fixed value (the "
    "paper's independent-noise model).",
    (_output_invariants, _output_laws, _output_fixed_x, _output_eps, _output_figure))


# ------------------------------------------------------------------ momentum BN
MBN_EPOCHS = 200
MBN_M0 = 32
MBN_BATCH_SIZES = (2, 4, 8, 16, 32, 64)


def _mbn_schedule(ctx, section):
    from noise_theory import (effective_batch_size, ema_mean_noise, from_pytorch_momentum,
                              inference_momentum, momentum_for_target_batch, paper_momentum,
                              to_pytorch_momentum)

    sched = _sympy("mbn_momentum", "schedule")
    end_ref = _sympy("mbn_momentum", "end")
    tau_ref = _sympy("mbn_momentum", "inference_momentum")
    end_var_ref = _sympy("mbn_momentum", "end_mean_noise_variance")
    target_ref = _sympy("mbn_momentum", "target_momentum")
    eff_ref = _sympy("mbn_noise", "effective_batch_size")
    T, m0 = MBN_EPOCHS, MBN_M0
    rows_s, rows_e, rows_tau, rows_end, rows_eff, end_table = [], [], [], [], [], []
    for m in MBN_BATCH_SIZES:
        for t in (1, 50, 100, 150, 199, 200):
            rows_s.append(row({"m": m, "epoch": t}, paper_momentum(t, T, m, m0=m0),
                              reference=_call(sched, epoch=t, epochs=T, m=m, m0=m0)))
        rows_e.append(row({"m": m, "end point": "lambda(1)"}, paper_momentum(1, T, m, m0=m0),
                          reference=0.0))
        if m < m0:
            rows_e.append(row({"m": m, "end point": "lambda(T)"},
                              paper_momentum(T, T, m, m0=m0), reference=_call(end_ref, m=m, m0=m0)))
        for tau0 in (0.9, 0.85):
            rows_tau.append(row({"m": m, "tau0": tau0}, inference_momentum(m, m0=m0, tau0=tau0),
                                reference=_call(tau_ref, m=m, m0=m0, tau0=tau0)))
        if m < m0:
            lam_end = float(paper_momentum(T, T, m, m0=m0))
            v_end = float(ema_mean_noise(m, lam_end).var())
            rows_end.append(row({"m": m, "lambda(T)": lam_end}, v_end,
                                reference=_call(end_var_ref, m=m, m0=m0)))
            target = float(momentum_for_target_batch(m, m0))
            end_table.append([m, lam_end, v_end, 1.0 / (2 * m0 - m), 1.0 / m0, v_end * m0,
                              target, _call(target_ref, m=m, m0=m0)])
        for lam in (0.5, 0.9, 0.99):
            rows_eff.append(row({"m": m, "momentum": lam}, effective_batch_size(m, lam),
                                reference=_call(eff_ref, m=m, momentum=lam)))
    rows_pt = [row({"PyTorch momentum": p_mom, "direction": "from_pytorch"},
                   from_pytorch_momentum(p_mom), reference=1.0 - p_mom)
               for p_mom in (0.1, 0.01, 0.5)]
    rows_pt += [row({"PyTorch momentum": p_mom, "direction": "round trip"},
                    to_pytorch_momentum(from_pytorch_momentum(p_mom)), reference=p_mom)
                for p_mom in (0.1, 0.01, 0.5)]
    section.claims.append(Claim(
        "mbn_pytorch", "Momentum conventions: PyTorch momentum p is lambda = 1 - p",
        "The toolkit's momentum is the weight on history; PyTorch's is the weight on the new "
        "value (PyTorch 0.1 == lambda 0.9).",
        "converters `from_pytorch_momentum`/`to_pytorch_momentum` vs the definition.",
        tuple(rows_pt), reference_name="definition", rtol=1e-12))
    sym = "the sympy derivation `mbn_momentum` (lambdified)"
    section.claims += [
        Claim("mbn_schedule", "Dynamic momentum lambda(t) = rho^(T/(T-1) max(T-t,0)) - rho^T",
              f"The paper's training momentum over T = {T} epochs with m0 = {m0}, "
              "rho = min(m/m0, 1)^(1/T).",
              f"closed form `paper_momentum(epoch, epochs, m, m0=m0)` vs {sym}.", tuple(rows_s)),
        Claim("mbn_end_points", "Schedule end points: lambda(1) = 0, lambda(T) = 1 - m/m0",
              "MBN starts as plain BN and ends with momentum 1 - m/m0 (0 when m >= m0).",
              f"closed form vs the exact value 0 (start) and {sym} `end` result.",
              tuple(rows_e), reference_name="derived end point"),
        Claim("mbn_tau", "Inference momentum tau = tau0^(m/m0)",
              "tau^(N/m) = tau0^(N/m0): the inference statistics forget at the same rate per "
              "epoch as with batch m0 (tau0 = 0.9 by default; 0.85 in two codebases).",
              f"closed form `inference_momentum(m, m0=m0, tau0=tau0)` vs {sym}.",
              tuple(rows_tau)),
        Claim("mbn_effective_batch", "Effective batch size m (1 + lambda)/(1 - lambda)",
              "The plain-BN batch size with the same stationary mean-noise variance.",
              "closed form `effective_batch_size(m, momentum)` vs the sympy derivation "
              "`mbn_noise`.", tuple(rows_eff)),
        Claim("mbn_end_noise", "End of training: stationary Var xi_mu = 1/(2 m0 - m), not 1/m0",
              "At the schedule's end point lambda(T) = 1 - m/m0 the stationary mean noise has "
              "variance (1-lambda)/((1+lambda) m) = 1/(2 m0 - m): MBN overshoots its target "
              "1/m0 (less noise than BN at m0). The momentum (m0 - m)/(m0 + m) would hit "
              "1/m0 exactly (see the data table `mbn_end_of_training`).",
              "closed form `ema_mean_noise(m, paper_momentum(T, T, m)).var()` vs the sympy "
              "result `end_mean_noise_variance`.", tuple(rows_end)),
    ]
    section.data["mbn_end_of_training"] = (
        ["m", "lambda_T", "var_xi_mu_at_lambda_T", "one_over_2m0_minus_m", "one_over_m0",
         "ratio_to_target", "momentum_for_target_m0", "momentum_for_target_m0_sympy"],
        end_table)
    section.notes.append(
        "**End of training, in numbers** (m0 = 32): stationary Var xi_mu at lambda(T) against "
        "the target 1/m0 = 0.03125:\n\n" + _md_rows(
            ["m", "lambda(T)", "Var xi_mu", "1/(2m0-m)", "ratio to 1/m0",
             "momentum hitting 1/m0"],
            [[r[0], f"{r[1]:.4f}", f"{r[2]:.6f}", f"{r[3]:.6f}", f"{r[5]:.4f}", f"{r[6]:.4f}"]
             for r in end_table]))


def _md_rows(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


MBN_ITERATIONS = 5          # steps per epoch in the simulated paper schedule
MBN_RECORD_EPOCHS = (1, 50, 100, 150, 175, 200)


def _mbn_trajectory_rows(label, m, momenta, sim, steps, rows, constant=None):
    """Theory (exact recursion) vs simulation at the recorded steps of one run; for a
    `constant` momentum also the sympy closed form of the finite-step EMA variance."""
    from noise_theory import noise_trajectory

    th = noise_trajectory(m, momenta)
    factor = _sympy("mbn_noise", "finite_factor_batch_start")
    e_ref = _sympy("mbn_noise", "variance_noise_mean")
    mse, e_var, v_var = sim.mean_noise_mse(), sim.variance_noise_mean(), sim.variance_noise_var()
    for k, t in enumerate(steps):
        p = {"schedule": label, "m": m, "step": int(t)}
        f = None if constant is None else _call(factor, momentum=constant, steps=int(t))
        for q, theory, r, ref in (
                ("Var xi_mu", th.mean_noise_var[t - 1], mse[k], None if f is None else f / m),
                ("E xi_sigma", th.variance_noise_mean[t - 1], e_var[k],
                 None if f is None else _call(e_ref, m=m)),
                ("Var xi_sigma", th.variance_noise_var[t - 1], v_var[k],
                 None if f is None else f * 2 * (m - 1) / m**2)):
            rows.append(row({**p, "quantity": q}, theory, reference=ref, estimate=r.estimate,
                            stderr=r.stderr, n=r.n))


def _mbn_drift(ctx):
    """Drift MSE at a grid of momenta around the theory's optimum, and a note on the optimum."""
    from noise_theory import drift_mse, optimal_drift_momentum

    from ._mbn_sim import simulate_drift_scan

    m, rate = 4, 0.01
    best = float(optimal_drift_momentum(m, drift="linear", rate=rate))
    grid = np.array([0.5, 0.8, best - 0.04, best, best + 0.04, 0.97])
    scan = simulate_drift_scan(m, grid, drift=f"linear:{rate}", steps=600,
                               n_chains=ctx.size(4_000, 100_000), rng=ctx.seed_sequence(7400),
                               workers=ctx.workers)
    rows = [row({"m": m, "drift rate": rate, "momentum": round(float(lam), 5)},
                drift_mse(m, lam, drift="linear", rate=rate), estimate=r.estimate,
                stderr=r.stderr, n=r.n) for lam, r in zip(grid, scan.mse)]
    note = (f"Theory optimum at m = {m}, r = {rate}: lambda* = {best:.4f}; the smallest "
            f"simulated MSE on the grid is at lambda = {scan.best:.4f}.")
    return rows, note


def _mbn_simulate(ctx, section):
    from noise_theory import (ema_mean_noise, ema_variance_noise, mean_noise,
                              momentum_schedule, noise_trajectory, paper_momentum,
                              variance_noise)

    from ._mbn_sim import simulate_mbn

    T, it = MBN_EPOCHS, MBN_ITERATIONS
    rows_traj, rows_end = [], []
    paper = momentum_schedule("paper", m=4, epochs=T, iterations_per_epoch=it, m0=MBN_M0)
    steps = [e * it for e in MBN_RECORD_EPOCHS]
    for fast, n, key in ((True, ctx.size(10_000, 400_000), 7001),
                         (False, ctx.size(2_000, 80_000), 7002)):
        sim = simulate_mbn(4, paper, n_chains=n, record=steps, fast=fast,
                           rng=ctx.seed_sequence(key), workers=ctx.workers, progress=False)
        _mbn_trajectory_rows(f"paper ({'exact joint law' if fast else 'raw batches'})", 4,
                             paper, sim, steps, rows_traj)
        if fast:
            ctx.cache["mbn_paper_m4"] = (paper, sim)
    record = [1, 2, 5, 10, 50, 200]
    for key, (label, momenta, constant) in enumerate((
            ("constant 0.9", np.full(200, 0.9), 0.9),
            ("linear ramp", momentum_schedule("linear", m=8, epochs=40, iterations_per_epoch=5,
                                              m0=MBN_M0), None),
            ("cosine ramp", momentum_schedule("cosine", m=8, epochs=40, iterations_per_epoch=5,
                                              m0=MBN_M0), None))):
        sim = simulate_mbn(8, momenta, n_chains=ctx.size(10_000, 400_000), record=record,
                           fast=True, rng=ctx.seed_sequence(7003 + key), workers=ctx.workers,
                           progress=False)
        _mbn_trajectory_rows(label, 8, momenta, sim, record, rows_traj, constant=constant)
    sd_points = {"MBN mean": ([], [], []), "MBN variance": ([], [], [])}
    for m in (2, 4, 8, 16):
        lam = float(paper_momentum(T, T, m, m0=MBN_M0))
        n_steps = int(np.ceil(np.log(1e-9) / (2 * np.log(lam)))) + 1   # lambda^(2t) < 1e-9
        sim = simulate_mbn(m, np.full(n_steps, lam), n_chains=ctx.size(10_000, 400_000),
                           record=[n_steps], fast=True, rng=ctx.seed_sequence(7100 + m),
                           workers=ctx.workers, progress=False)
        (r_mu,), (r_var,) = sim.mean_noise_mse(), sim.variance_noise_var()
        p = {"m": m, "lambda(T)": lam, "steps": n_steps}
        rows_end.append(row({**p, "quantity": "Var xi_mu"}, ema_mean_noise(m, lam).var(),
                            estimate=r_mu.estimate, stderr=r_mu.stderr, n=r_mu.n))
        rows_end.append(row({**p, "quantity": "Var xi_sigma"}, ema_variance_noise(m, lam).var,
                            estimate=r_var.estimate, stderr=r_var.stderr, n=r_var.n))
        for key, r in (("MBN mean", r_mu), ("MBN variance", r_var)):
            sd = np.sqrt(r.estimate)
            for lst, v in zip(sd_points[key], (m, sd, r.stderr / (2 * sd))):
                lst.append(v)
    ctx.cache["mbn_sd"] = sd_points
    rows_zero = []
    for m in (2, 4, 16, 256):
        traj = noise_trajectory(m, np.zeros(50))
        rows_zero.append(row({"m": m, "quantity": "Var xi_mu, every step"},
                             float(np.max(np.abs(traj.mean_noise_var - mean_noise(m).var()))),
                             reference=0.0))
        rows_zero.append(row({"m": m, "quantity": "Var xi_sigma, every step"},
                             float(np.max(np.abs(traj.variance_noise_var
                                                 - variance_noise(m).var()))), reference=0.0))
    rows_drift, drift_note = _mbn_drift(ctx)
    section.claims += [
        Claim("mbn_momentum_zero", "Momentum 0 is plain BN",
              "With lambda = 0 at every step the running statistics are the batch statistics: "
              "the MBN noise trajectory equals BN's noise at every step.",
              "largest |noise_trajectory(m, zeros) - BN law| over 50 steps (theory column) vs 0 "
              "(atol 1e-15).", tuple(rows_zero), reference_name="exact", atol=1e-15),
        Claim("mbn_drift", "Noise against staleness: MSE = lambda^2 r^2/(1-lambda)^2 + "
              "(1-lambda)/((1+lambda) m)",
              "With a population mean drifting by r population sds per step (linear drift), the "
              "running mean's mean squared error is staleness^2 + noise; "
              "`optimal_drift_momentum` minimises it. " + drift_note,
              "closed form `drift_mse(m, momentum, drift='linear', rate=r)` vs Monte Carlo "
              "(`simulate_drift_scan`: time-averaged squared error over the second half of each "
              "chain; common random numbers across momenta).", tuple(rows_drift)),
    ]
    section.claims += [
        Claim("mbn_trajectory", "MBN noise over training, exact by recursion",
              f"Variance of the running mean's noise and mean/variance of the running variance's "
              f"noise at chosen steps: the paper's schedule at m = 4 (T = {T} epochs of {it} "
              "steps; recorded at the end of epochs "
              f"{', '.join(map(str, MBN_RECORD_EPOCHS))}), simulated both from raw batches and "
              "from the exact joint law of (mu_B, sigma_B^2); and at m = 8 a constant momentum "
              "0.9 and linear and cosine ramps from 0 to 1 - m/m0 over 40 epochs of 5 steps, "
              "from the first batch on.",
              "exact recursion `noise_trajectory(m, momenta)` vs, for the constant momentum, "
              "the sympy closed form of the finite-step EMA variance (`mbn_noise`, "
              "`finite_factor_batch_start`) vs Monte Carlo chains (`simulate_mbn`, raw and "
              "fast paths).", tuple(rows_traj)),
        Claim("mbn_stationary_end", "Stationary MBN noise at the end point lambda(T) = 1 - m/m0",
              "Var xi_mu^MBN = (1-lambda)/((1+lambda) m) = 1/(2 m0 - m) and Var xi_sigma^MBN = "
              "(1-lambda)/(1+lambda) 2(m-1)/m^2, run until lambda^(2t) < 1e-9.",
              "closed forms `ema_mean_noise`, `ema_variance_noise` vs Monte Carlo chains.",
              tuple(rows_end)),
    ]


def _mbn_variance_law(ctx, section):
    """Stationary MBN variance noise: KS against the exact CDF; the Gamma approximation's
    distance as data (it is an approximation, so it is measured, not tested)."""
    from noise_theory import ema_variance_noise, ema_variance_noise_cdf

    from ._mbn_sim import mbn_chains

    m, rows, gamma_rows = 4, [], []
    for k, lam in enumerate((0.5, 0.9, 0.99)):
        steps = int(np.ceil(np.log(1e-8) / np.log(lam))) + 1   # start weight < 1e-8
        n = ctx.size(20_000 if lam < 0.99 else 5_000, 400_000)
        _, _, var = mbn_chains(m, np.full(steps, lam), n_chains=n, record=[steps], fast=True,
                               rng=ctx.seed_sequence(7500 + k))
        sample = var[0]
        d, pv = ks_pvalue(sample, lambda v, lam=lam: ema_variance_noise_cdf(v, m, lam))
        rows.append(row({"m": m, "momentum": lam, "steps": steps}, 0.0, estimate=d,
                        pvalue=pv, n=n))
        dg, pg = ks_pvalue(sample, ema_variance_noise(m, lam).approx_gamma.cdf)
        gamma_rows.append([m, lam, n, dg, pg])
    section.claims.append(Claim(
        "mbn_variance_law", "Stationary MBN variance noise: exact law (weighted sum of Gammas)",
        "xi_sigma^MBN = sum_k (1-lambda) lambda^k xi_k with xi_k ~ chi2(m-1)/m independent; its "
        "exact CDF is obtained by Fourier inversion of the characteristic function.",
        "exact CDF `ema_variance_noise_cdf` vs simulated stationary chains (`mbn_chains`, "
        "exact joint law; KS).", tuple(rows)))
    section.data["mbn_gamma_approximation"] = (
        ["m", "momentum", "n", "ks_distance_gamma", "ks_pvalue_gamma"], gamma_rows)
    section.notes.append(
        "**The moment-matched Gamma law of the MBN variance noise is an approximation**: KS "
        "distance of the same simulated stationary chains from `ema_variance_noise(m, "
        "momentum).approx_gamma` (exact mean and variance; not a pass/fail check):\n\n"
        + _md_rows(["m", "momentum", "n", "KS distance", "p-value"],
                   [[r[0], r[1], r[2], f"{r[3]:.4f}", f"{r[4]:.2g}"] for r in gamma_rows]))


def _mbn_schedule_figure(ctx, section):
    from ._plots import plot_schedule

    a, b = _figure(
        section, "schedule", f"The paper's schedule (T = {MBN_EPOCHS}, m0 = {MBN_M0}): "
        "training momentum lambda(t) with the inference momentum tau (dashed) and the "
        "effective batch size over epochs, for several batch sizes.", figsize=(12, 4.4),
        ncols=2)
    plot_schedule((2, 4, 8, 16), epochs=MBN_EPOCHS, m0=MBN_M0, ax=a)
    plot_schedule((2, 4, 8, 16), epochs=MBN_EPOCHS, m0=MBN_M0, quantity="effective_batch_size",
                  ax=b)


def _mbn_figures(ctx, section):
    from ._mbn_sim import mbn_chains
    from ._plots import plot_mbn_trajectory, plot_noise_vs_batch_size

    sims = dict(ctx.cache.get("mbn_sd", {}))
    if "bn" in ctx.cache:   # simulated BN points, when the BN section ran
        bn = ctx.cache["bn"]
        for key, q in (("BN mean", "Var[xi_mu]"), ("BN variance", "Var[xi_sigma]")):
            pts = [(m, *_sd(bn[m], q)) for m in BN_BATCH_SIZES]
            sims[key] = tuple(list(v) for v in zip(*pts))
    ax = _figure(
        section, "noise_vs_batch_size", "Standard deviation of the noises against batch size "
        "(log-log): plain BN (solid) and MBN at the end of the paper's schedule, lambda(T) = "
        "1 - m/m0 (dashed); simulated points with 95% confidence bars (BN: raw batches; MBN: "
        "stationary chains).", figsize=(8, 5.2))
    plot_noise_vs_batch_size(np.arange(2, 257), m0=MBN_M0, simulated=sims, ax=ax)
    paper, sim = ctx.cache["mbn_paper_m4"]
    it = MBN_ITERATIONS
    record = np.arange(it, paper.size + 1, 10 * it)
    dense = simulate_mbn_sd(sim.m, paper, record, ctx)
    _, path_mu, path_var = mbn_chains(sim.m, paper, n_chains=1, record=np.arange(1, paper.size + 1),
                                      fast=True, rng=ctx.seed_sequence(7300))
    a, b = _figure(
        section, "mbn_trajectory", f"MBN noise over training at m = {sim.m} under the paper's "
        f"schedule (T = {MBN_EPOCHS} epochs of {it} steps): exact 95% band (mean noise) and "
        "moment-matched Gamma band (variance noise), one simulated chain, and simulated "
        "standard deviations with 95% bars.", figsize=(12, 4.4), ncols=2)
    for ax, which, path, (sd, se) in ((a, "mean", path_mu[:, 0], dense[0]),
                                      (b, "variance", path_var[:, 0], dense[1])):
        plot_mbn_trajectory(sim.m, paper, which=which, iterations_per_epoch=it, ax=ax,
                            simulated={"steps": record - 1, "sd": sd, "sd_stderr": se,
                                       "path": path})


def simulate_mbn_sd(m, momenta, record, ctx):
    """Simulated sd of the mean and variance noises (with stderrs) at the recorded steps."""
    from ._mbn_sim import simulate_mbn

    sim = simulate_mbn(m, momenta, n_chains=ctx.size(4_000, 100_000), record=record, fast=True,
                       rng=ctx.seed_sequence(7200), workers=ctx.workers, progress=False)
    out = []
    for res in (sim.mean_noise_mse(), sim.variance_noise_var()):
        sd = np.sqrt([r.estimate for r in res])
        out.append((sd, np.array([r.stderr for r in res]) / (2 * sd)))
    return out


MBN_SECTION = SectionSpec(
    "mbn", "3. Momentum BN: schedules and noise",
    "MBN normalises with exponential moving averages of the batch statistics, "
    "s <- lambda s + (1 - lambda) s_B (lambda: weight on history). Its mean noise is exactly "
    "N(0, (1-lambda)/((1+lambda) m)); the paper's dynamic lambda(t) ramps from 0 to "
    "1 - m/m0 over training.",
    (_mbn_schedule, _mbn_simulate, _mbn_variance_law, _mbn_schedule_figure, _mbn_figures))


# ------------------------------------------------------------------ the regulariser
REG_H = (-1.0, 0.5, 2.0)        # population-normalised pre-activations
REG_GAMMA, REG_BETA = 1.5, 0.2
#: batch sizes with a Monte Carlo check: the loss needs a finite fourth moment for a
#: trustworthy stderr (logistic: E xi^-2 < inf, m > 5; squared: E xi^-4 < inf, m > 9).
REG_MC = {"logistic": (6, 8, 16, 64), "squared": (12, 16, 64)}
REG_ERROR_M = (4, 6, 8, 16, 32, 64, 128, 256)


def _regularizer(ctx, section):
    from noise_theory import expected_glm_loss, glm_regularizer, regularizer_strength

    from ._regularizer_sim import simulate_glm_loss

    var_ref = _sympy("glm_regularizer", "var_eta")
    pen_ref = _sympy("glm_regularizer", "penalty_logistic")
    h2_ref = _sympy("glm_regularizer", "var_h2")
    const_ref = _sympy("glm_regularizer", "var_const")
    g, b = REG_GAMMA, REG_BETA
    rows_var, rows_pen, rows_coef, rows_loss = [], [], [], []
    for m in (4, 8, 16, 64, 256):
        st = regularizer_strength(m)
        rows_coef.append(row({"m": m, "coefficient": "c2 - c1^2"}, st.var_h2,
                             reference=_call(h2_ref, m=m, momentum=0.0)))
        rows_coef.append(row({"m": m, "coefficient": "c2/m"}, st.var_const,
                             reference=_call(const_ref, m=m, momentum=0.0)))
        for h in REG_H:
            reg = glm_regularizer(h, gamma=g, beta=b, m=m, family="logistic")
            p = {"m": m, "h": h}
            rows_var.append(row(p, reg.var_eta, reference=_call(var_ref, h=h, gamma=g, m=m,
                                                                momentum=0.0)))
            rows_pen.append(row(p, reg.penalty, reference=_call(pen_ref, h=h, gamma=g, beta=b,
                                                                m=m, momentum=0.0)))
    n = ctx.size(100_000, 4_000_000)
    for fam, ms in REG_MC.items():
        for m in ms:
            sim = simulate_glm_loss(np.array(REG_H), 1.0, gamma=g, beta=b, m=m, family=fam,
                                    n=n, rng=ctx.seed_sequence(6000 + 100 * len(fam) + m),
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
        "data: `data/regularizer_second_order_error.csv`):\n\n" + _md_rows(
            ["m", "max relative error"], [[m, f"{v:.2e}"] for m, v in worst.items()]))


def _regularizer_figure(ctx, section):
    from ._plots import plot_regularizer_strength

    a, b = _figure(
        section, "regularizer", "Left: the exact coefficients of Var(eta)/gamma^2 against batch "
        "size, with their large-m series. Right: relative error of the second-order expected "
        "logistic loss against exact quadrature.", figsize=(12, 4.4), ncols=2)
    plot_regularizer_strength(ax=a)
    plot_regularizer_strength(quantity="error", h=REG_H[1:] + (-1.0,), gamma=REG_GAMMA,
                              beta=REG_BETA, ax=b)


REG_SECTION = SectionSpec(
    "regularizer", "4. The explicit regulariser",
    "A GLM on a BN'd pre-activation: the noise adds, to second order, a penalty "
    "R = A''(E eta) Var(eta)/2 whose strength falls like 1/m (THEORY.md section 4).",
    (_regularizer, _regularizer_figure))


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
    from noise_theory import batch_statistics_moments

    from ._bn_sim import simulate_bn
    from ._distributions import input_law

    var_ref = _sympy("nongaussian_statistics", "variance_of_variance")
    cov_ref = _sympy("nongaussian_statistics", "covariance")
    rows_var, rows_cov, points = [], [], []
    for k, (label, dist, df) in enumerate(NONGAUSSIAN_LAWS):
        law = input_law(dist, df=df)
        for m in NONGAUSSIAN_BATCH_SIZES:
            sim = simulate_bn(m, _bn_samples(ctx, m) // 2, dist=dist, df=df,
                              eps=RELU_EPS if dist == "relu" else 0.0,
                              rng=ctx.seed_sequence(5000 + 100 * k + m), workers=ctx.workers,
                              ks_batches=0, progress=False)
            th = batch_statistics_moments(m, skewness=law.skewness,
                                          excess_kurtosis=law.excess_kurtosis)
            p = {"input": label, "skewness": round(law.skewness, 4),
                 "excess kurtosis": round(law.excess_kurtosis, 4), "m": m}
            rows_var.append(_mc_row(p, th.var_var, sim, "Var[xi_sigma]", _call(
                var_ref, m=m, excess_kurtosis=law.excess_kurtosis)))
            rows_cov.append(_mc_row(p, th.cov, sim, "Cov[xi_mu,xi_sigma]", _call(
                cov_ref, m=m, skewness=law.skewness)))
            est, se, _ = _moment(sim, "Var[xi_sigma]")
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
    from ._plots import plot_kurtosis_effect

    pts = section.data["nongaussian_variance_ratio"][1]
    sims = {}
    for label, m, k, _, ratio, se in pts:
        sims.setdefault(f"simulated: {label}", ([], [], [], []))
        for lst, v in zip(sims[f"simulated: {label}"], (m, k, ratio, se)):
            lst.append(v)
    ax = _figure(
        section, "kurtosis_effect", "Variance of the variance noise relative to Gaussian input, "
        "against the input's excess kurtosis (lines: theory per batch size; points: simulated "
        "input laws with 95% bars, coloured by batch size).", figsize=(8, 5))
    plot_kurtosis_effect(NONGAUSSIAN_BATCH_SIZES, simulated=sims, ax=ax)


NONGAUSSIAN_SECTION = SectionSpec(
    "nongaussian", "5. Non-Gaussian inputs: beyond 'depends only on m'",
    "For any input law with finite moments, the batch mean keeps Var = 1/m but the variance "
    "noise depends on the fourth moment, and skewness correlates the two noises (THEORY.md "
    "section 3). Input laws with a finite eighth moment, so that the simulated variance of "
    "the batch variance has a trustworthy standard error; the ReLU input is simulated with "
    f"eps = {RELU_EPS:g} (an all-zero batch has probability 2^-m), which does not change the "
    "batch statistics.",
    (_nongaussian, _nongaussian_figure))


SECTIONS = (BN_SECTION, OUTPUT_SECTION, MBN_SECTION, REG_SECTION, NONGAUSSIAN_SECTION)
