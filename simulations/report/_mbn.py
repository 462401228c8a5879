"""Report section: Momentum BN: the schedules, the noise trajectory, the stationary laws, drift."""

from __future__ import annotations

import numpy as np

from noise_theory import (
    drift_mse,
    effective_batch_size,
    ema_mean_noise,
    ema_variance_noise,
    ema_variance_noise_cdf,
    from_pytorch_momentum,
    inference_momentum,
    mean_noise,
    momentum_for_target_batch,
    momentum_schedule,
    noise_trajectory,
    optimal_drift_momentum,
    paper_momentum,
    to_pytorch_momentum,
    variance_noise,
)

from ..models._mbn import mbn_chains, simulate_drift_scan, simulate_mbn
from ._common import (
    BN_BATCH_SIZES,
    SectionSpec,
    bn_sims,
    call_sympy,
    ks_pvalue,
    md_rows,
    new_figure,
    sim_sd,
    sympy_function,
)
from ._model import Claim, row

# ------------------------------------------------------------------ momentum BN
MBN_EPOCHS = 200
MBN_M0 = 32
MBN_BATCH_SIZES = (2, 4, 8, 16, 32, 64)


def _mbn_schedule(ctx, section):

    sched = sympy_function("mbn_momentum", "schedule")
    end_ref = sympy_function("mbn_momentum", "end")
    tau_ref = sympy_function("mbn_momentum", "inference_momentum")
    end_var_ref = sympy_function("mbn_momentum", "end_mean_noise_variance")
    target_ref = sympy_function("mbn_momentum", "target_momentum")
    eff_ref = sympy_function("mbn_noise", "effective_batch_size")
    T, m0 = MBN_EPOCHS, MBN_M0
    rows_s, rows_e, rows_tau, rows_end, rows_eff, end_table = [], [], [], [], [], []
    for m in MBN_BATCH_SIZES:
        for t in (1, 50, 100, 150, 199, 200):
            rows_s.append(row({"m": m, "epoch": t}, paper_momentum(t, T, m, m0=m0),
                              reference=call_sympy(sched, epoch=t, epochs=T, m=m, m0=m0)))
        rows_e.append(row({"m": m, "end point": "lambda(1)"}, paper_momentum(1, T, m, m0=m0),
                          reference=0.0))
        if m < m0:
            rows_e.append(row({"m": m, "end point": "lambda(T)"},
                              paper_momentum(T, T, m, m0=m0), reference=call_sympy(end_ref, m=m, m0=m0)))
        for tau0 in (0.9, 0.85):
            rows_tau.append(row({"m": m, "tau0": tau0}, inference_momentum(m, m0=m0, tau0=tau0),
                                reference=call_sympy(tau_ref, m=m, m0=m0, tau0=tau0)))
        if m < m0:
            lam_end = float(paper_momentum(T, T, m, m0=m0))
            v_end = float(ema_mean_noise(m, lam_end).var())
            rows_end.append(row({"m": m, "lambda(T)": lam_end}, v_end,
                                reference=call_sympy(end_var_ref, m=m, m0=m0)))
            target = float(momentum_for_target_batch(m, m0))
            end_table.append([m, lam_end, v_end, 1.0 / (2 * m0 - m), 1.0 / m0, v_end * m0,
                              target, call_sympy(target_ref, m=m, m0=m0)])
        for lam in (0.5, 0.9, 0.99):
            rows_eff.append(row({"m": m, "momentum": lam}, effective_batch_size(m, lam),
                                reference=call_sympy(eff_ref, m=m, momentum=lam)))
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
        "the target 1/m0 = 0.03125:\n\n" + md_rows(
            ["m", "lambda(T)", "Var xi_mu", "1/(2m0-m)", "ratio to 1/m0",
             "momentum hitting 1/m0"],
            [[r[0], f"{r[1]:.4f}", f"{r[2]:.6f}", f"{r[3]:.6f}", f"{r[5]:.4f}", f"{r[6]:.4f}"]
             for r in end_table]))


MBN_ITERATIONS = 5          # steps per epoch in the simulated paper schedule
MBN_RECORD_EPOCHS = (1, 50, 100, 150, 175, 200)


def _mbn_trajectory_rows(label, m, momenta, sim, steps, rows, constant=None):
    """Theory (exact recursion) vs simulation at the recorded steps of one run; for a
    `constant` momentum also the sympy closed form of the finite-step EMA variance."""

    th = noise_trajectory(m, momenta)
    factor = sympy_function("mbn_noise", "finite_factor_batch_start")
    e_ref = sympy_function("mbn_noise", "variance_noise_mean")
    mse, e_var, v_var = sim.mean_noise_mse(), sim.variance_noise_mean(), sim.variance_noise_var()
    for k, t in enumerate(steps):
        p = {"schedule": label, "m": m, "step": int(t)}
        f = None if constant is None else call_sympy(factor, momentum=constant, steps=int(t))
        for q, theory, r, ref in (
                ("Var xi_mu", th.mean_noise_var[t - 1], mse[k], None if f is None else f / m),
                ("E xi_sigma", th.variance_noise_mean[t - 1], e_var[k],
                 None if f is None else call_sympy(e_ref, m=m)),
                ("Var xi_sigma", th.variance_noise_var[t - 1], v_var[k],
                 None if f is None else f * 2 * (m - 1) / m**2)):
            rows.append(row({**p, "quantity": q}, theory, reference=ref, estimate=r.estimate,
                            stderr=r.stderr, n=r.n))


def _mbn_drift(ctx):
    """Drift MSE at a grid of momenta around the theory's optimum, and a note on the optimum."""


    m, rate = 4, 0.01
    best = float(optimal_drift_momentum(m, drift="linear", rate=rate))
    grid = np.array([0.5, 0.8, best - 0.04, best, best + 0.04, 0.97])
    scan = simulate_drift_scan(m, grid, drift=f"linear:{rate}", steps=600,
                               chains=ctx.size(4_000, 100_000), rng=ctx.seed_sequence("mbn drift scan"),
                               workers=ctx.workers)
    rows = [row({"m": m, "drift rate": rate, "momentum": round(float(lam), 5)},
                drift_mse(m, lam, drift="linear", rate=rate), estimate=r.estimate,
                stderr=r.stderr, n=r.n) for lam, r in zip(grid, scan.mse)]
    note = (f"Theory optimum at m = {m}, r = {rate}: lambda* = {best:.4f}; the smallest "
            f"simulated MSE on the grid is at lambda = {scan.best:.4f}.")
    return rows, note


def _mbn_simulate(ctx, section):


    T, it = MBN_EPOCHS, MBN_ITERATIONS
    rows_traj, rows_end = [], []
    paper = momentum_schedule("paper", m=4, epochs=T, iterations_per_epoch=it, m0=MBN_M0)
    steps = [e * it for e in MBN_RECORD_EPOCHS]
    for fast, n, key in ((True, ctx.size(10_000, 400_000), "fast"),
                         (False, ctx.size(2_000, 80_000), "raw")):
        sim = simulate_mbn(4, paper, chains=n, record=steps, fast=fast,
                           rng=ctx.seed_sequence("mbn paper trajectory", key), workers=ctx.workers,
                           progress=False)
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
        sim = simulate_mbn(8, momenta, chains=ctx.size(10_000, 400_000), record=record,
                           fast=True, rng=ctx.seed_sequence("mbn schedule trajectory", label),
                           workers=ctx.workers,
                           progress=False)
        _mbn_trajectory_rows(label, 8, momenta, sim, record, rows_traj, constant=constant)
    sd_points = {"MBN mean": ([], [], []), "MBN variance": ([], [], [])}
    for m in (2, 4, 8, 16):
        lam = float(paper_momentum(T, T, m, m0=MBN_M0))
        n_steps = int(np.ceil(np.log(1e-9) / (2 * np.log(lam)))) + 1   # lambda^(2t) < 1e-9
        sim = simulate_mbn(m, np.full(n_steps, lam), chains=ctx.size(10_000, 400_000),
                           record=[n_steps], fast=True, rng=ctx.seed_sequence("mbn stationary", f"m={m}"),
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


    m, rows, gamma_rows = 4, [], []
    for k, lam in enumerate((0.5, 0.9, 0.99)):
        steps = int(np.ceil(np.log(1e-8) / np.log(lam))) + 1   # start weight < 1e-8
        n = ctx.size(20_000 if lam < 0.99 else 5_000, 400_000)
        _, _, var = mbn_chains(m, np.full(steps, lam), chains=n, record=[steps], fast=True,
                               rng=ctx.seed_sequence("mbn variance law", f"m={m}", f"momentum={lam!r}"))
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
        + md_rows(["m", "momentum", "n", "KS distance", "p-value"],
                   [[r[0], r[1], r[2], f"{r[3]:.4f}", f"{r[4]:.2g}"] for r in gamma_rows]))


def _mbn_schedule_figure(ctx, section):
    from ..plots import plot_schedule  # deferred: matplotlib

    a, b = new_figure(
        section, "schedule", f"The paper's schedule (T = {MBN_EPOCHS}, m0 = {MBN_M0}): "
        "training momentum lambda(t) with the inference momentum tau (dashed) and the "
        "effective batch size over epochs, for several batch sizes.", figsize=(12, 4.4),
        ncols=2)
    plot_schedule((2, 4, 8, 16), epochs=MBN_EPOCHS, m0=MBN_M0, ax=a)
    plot_schedule((2, 4, 8, 16), epochs=MBN_EPOCHS, m0=MBN_M0, quantity="effective_batch_size",
                  ax=b)


def _mbn_figures(ctx, section):
    from ..plots import (  # deferred: matplotlib
        plot_mbn_trajectory,
        plot_noise_vs_batch_size,
    )

    sims = dict(ctx.cache.get("mbn_sd", {}))
    # the simulated BN points: computed here when the BN section did not run (same named
    # streams, so the same numbers), so the figure depends only on its own data
    bn = bn_sims(ctx)
    for key, q in (("BN mean", "Var[xi_mu]"), ("BN variance", "Var[xi_sigma]")):
        pts = [(m, *sim_sd(bn[m], q)) for m in BN_BATCH_SIZES]
        sims[key] = tuple(list(v) for v in zip(*pts))
    ax = new_figure(
        section, "noise_vs_batch_size", "Standard deviation of the noises against batch size "
        "(log-log): plain BN (solid) and MBN at the end of the paper's schedule, lambda(T) = "
        "1 - m/m0 (dashed); simulated points with 95% confidence bars (BN: raw batches; MBN: "
        "stationary chains).", figsize=(8, 5.2))
    plot_noise_vs_batch_size(np.arange(2, 257), m0=MBN_M0, simulated=sims, ax=ax)
    paper, sim = ctx.cache["mbn_paper_m4"]
    it = MBN_ITERATIONS
    record = np.arange(it, paper.size + 1, 10 * it)
    dense = simulate_mbn_sd(sim.m, paper, record, ctx)
    _, path_mu, path_var = mbn_chains(sim.m, paper, chains=1, record=np.arange(1, paper.size + 1),
                                      fast=True, rng=ctx.seed_sequence("mbn one chain"))
    a, b = new_figure(
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

    sim = simulate_mbn(m, momenta, chains=ctx.size(4_000, 100_000), record=record, fast=True,
                       rng=ctx.seed_sequence("mbn sd band"), workers=ctx.workers, progress=False)
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
