"""Monte Carlo engine, simulators, plots, report and the ``bn-noise`` command line.

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

from ._accumulators import KSResult, Moments, PitHistogram, PowerSums, SimulationResult
from ._bn_sim import BNSimulation, KSCheck, MomentCheck, simulate_bn
from ._distributions import InputLaw, input_law
from ._engine import RunResult, block_seed, run_chunks
from ._plots import (plot_kurtosis_effect, plot_mbn_trajectory, plot_noise_densities,
                     plot_noise_vs_batch_size, plot_output_laws, plot_regularizer_strength,
                     plot_schedule)
from ._report import ReportResult, build_report
from ._regularizer_sim import GLMLossSimulation, simulate_glm_loss
from ._gamma_decay import GammaDecayResult, GammaDecayRow, gamma_decay_experiment
from ._mbn_sim import DriftScan, MbnSimulation, mbn_chains, simulate_drift_scan, simulate_mbn

__all__ = [
    "KSResult", "Moments", "PitHistogram", "PowerSums", "RunResult", "SimulationResult",
    "block_seed",
    "run_chunks",
    "simulate_bn", "BNSimulation", "MomentCheck", "KSCheck", "input_law", "InputLaw",
    "build_report", "ReportResult",
    "plot_noise_densities", "plot_noise_vs_batch_size", "plot_output_laws",
    "plot_kurtosis_effect", "plot_schedule", "plot_mbn_trajectory", "plot_regularizer_strength",
    "simulate_glm_loss", "GLMLossSimulation",
    "gamma_decay_experiment", "GammaDecayResult", "GammaDecayRow",
    "simulate_mbn", "MbnSimulation", "mbn_chains", "simulate_drift_scan", "DriftScan",
]
