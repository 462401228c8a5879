"""Monte Carlo engine, simulators, plots, report and the ``bn-noise`` command line.

Names load lazily (PEP 562): ``import simulations`` (and so the CLI's ``--help``) stays
cheap; the first use of a name imports its module.

API
---
run_chunks        Monte Carlo engine: seeded blocks, chunks on threads/processes/Dask, merged summaries
RunResult         what run_chunks returns (accumulator, n, seed entropy, blocks, seconds)
block_seed        the SeedSequence of one block (stream keyed by block index)
Moments           mergeable count/mean/central moments (order <= 4) of named quantities
PowerSums         mergeable raw power sums (E[x], E[x^2] with standard errors), cheapest summary
PitHistogram      mergeable histogram of F(x): KS test and Cramer-von Mises bounds in bounded memory
KSResult          KS statistic and p-value bounds from a PitHistogram
SimulationResult  estimate, standard error and n (the result of every simulator)
simulate_bn(m, samples, *, dist, df, ddof, eps, alpha, rng, workers, ...)  BN noise by Monte Carlo vs noise_theory
BNSimulation      what simulate_bn returns (MomentCheck and KSCheck rows, verdict, seed entropy)
MomentCheck       one simulated moment vs theory (estimate, stderr, z, p, verdict)
KSCheck           Kolmogorov-Smirnov check of a simulated quantity against its exact law
input_law(dist, *, df)  standardised input law (normal, laplace, uniform, t, exponential, lognormal, relu, scipy)
InputLaw          what input_law returns (sampler, skewness, excess kurtosis)
build_report      run every check (closed form vs sympy vs Monte Carlo), write report.md/.html
ReportResult      what build_report returns (folder, seed, checks, disagreements, threshold)
plot_noise_densities      densities of xi_mu or xi_sigma for several batch sizes
plot_noise_vs_batch_size  noise sd against m: BN and MBN theory, simulated points with CIs
plot_output_laws          in-batch against out-of-batch laws of the BN output at one m
plot_kurtosis_effect      variance noise against the input's excess kurtosis
plot_schedule             the paper's lambda(t), tau and effective batch size over epochs
plot_mbn_trajectory       MBN noise over training: exact theory band and simulated points
plot_regularizer_strength regulariser coefficients against m, or the second-order error
simulate_glm_loss(h, y, *, gamma, beta, m, family, momentum, eps, n, rng)  Monte Carlo E loss from raw BN/MBN batches
GLMLossSimulation what simulate_glm_loss returns (results per point, seed entropy)
gamma_decay_experiment(batch_sizes, *, m0=32, ..., exact=False, rng=None)  SGD under BN/MBN noise: learned gamma vs theory
GammaDecayResult, GammaDecayRow  what gamma_decay_experiment returns
simulate_mbn(m, momenta, *, n_chains, record, fast, ddof, start, drift, std_drift, rng, workers)  MBN EMA chains (raw or exact fast path) per step
MbnSimulation     what simulate_mbn returns (per-step moments of mean/variance noise, seed entropy)
mbn_chains(m, momenta, *, n_chains, record, fast, ddof, start, drift, std_drift, rng)  MBN chains in memory (recorded arrays)
simulate_drift_scan(m, momenta, *, drift, steps, n_chains, window, fast, rng, workers)  simulated MSE of the running mean vs momentum under drift
DriftScan         what simulate_drift_scan returns (MSE per momentum, simulated best, seed entropy)
"""

from noise_theory._lazy import lazy_namespace

#: public name -> private module that defines it (PEP 562 lazy loading).
_LAZY = {
    "KSResult": "simulations._accumulators",
    "Moments": "simulations._accumulators",
    "PitHistogram": "simulations._accumulators",
    "PowerSums": "simulations._accumulators",
    "RunResult": "simulations._engine",
    "SimulationResult": "simulations._accumulators",
    "block_seed": "simulations._engine",
    "run_chunks": "simulations._engine",
    "simulate_bn": "simulations._bn_sim",
    "BNSimulation": "simulations._bn_sim",
    "MomentCheck": "simulations._bn_sim",
    "KSCheck": "simulations._bn_sim",
    "input_law": "simulations._distributions",
    "InputLaw": "simulations._distributions",
    "build_report": "simulations._report",
    "ReportResult": "simulations._report",
    "plot_noise_densities": "simulations._plots",
    "plot_noise_vs_batch_size": "simulations._plots",
    "plot_output_laws": "simulations._plots",
    "plot_kurtosis_effect": "simulations._plots",
    "plot_schedule": "simulations._plots",
    "plot_mbn_trajectory": "simulations._plots",
    "plot_regularizer_strength": "simulations._plots",
    "simulate_glm_loss": "simulations._regularizer_sim",
    "GLMLossSimulation": "simulations._regularizer_sim",
    "gamma_decay_experiment": "simulations._gamma_decay",
    "GammaDecayResult": "simulations._gamma_decay",
    "GammaDecayRow": "simulations._gamma_decay",
    "simulate_mbn": "simulations._mbn_sim",
    "MbnSimulation": "simulations._mbn_sim",
    "mbn_chains": "simulations._mbn_sim",
    "simulate_drift_scan": "simulations._mbn_sim",
    "DriftScan": "simulations._mbn_sim",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_namespace('simulations', _LAZY, globals())
