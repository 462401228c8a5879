"""Monte Carlo engine, simulators, plots, report and the ``bn-noise`` command line.

Names load lazily (PEP 562): ``import simulations`` (and so the CLI's ``--help``) stays
cheap; the first use of a name imports its module.

Rooms (sub-packages): ``mc`` (the Monte Carlo core: engine, seeds, accumulators, the one
agreement rule, progress), ``models`` (input laws, BN / MBN / GLM-loss simulators, the
gamma-decay experiment), ``nn`` (numpy layers, trainer, data, noise probe), ``report`` (the
main job), ``cli`` (the ``bn-noise`` command line); and the modules ``plots``, ``bench`` and
``io`` (atomic writes, JSON, CSV). Imports run one way: cli -> report -> models/nn -> mc ->
noise_theory.

Vocabulary (the same words in every function, flag and output)
---------------------------------------------------------------
m, ``--batch-size``
    The BN batch size: the number of values one batch statistic is computed from. Never
    the SGD minibatch of an experiment, which is ``sgd_batch`` (``--sgd-batch``).
samples, ``--samples``
    Input values drawn in total (``m`` per batch): ``simulate_bn(m, samples)``.
batches
    How many BN batches a simulation ran (``samples // m``).
examples
    The size of a training set (the gamma-decay and training experiments).
chains
    Independent MBN running-statistics chains simulated side by side.
n
    The number of independent units behind an estimate (batches, chains, draws): the
    ``n`` of every :class:`SimulationResult`.
momentum
    The weight on *history* (lambda for training, tau for inference), everywhere.
seed, entropy
    ``seed`` is what a user passes (``--seed``, ``rng=``); ``entropy`` is the root
    ``SeedSequence.entropy`` a result records so a run can be replayed with ``--seed``.

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
simulate_mbn(m, momenta, *, chains, record, fast, ddof, start, drift, std_drift, rng, workers)  MBN EMA chains (raw or exact fast path) per step
MBNSimulation     what simulate_mbn returns (per-step moments of mean/variance noise, seed entropy)
mbn_chains(m, momenta, *, chains, record, fast, ddof, start, drift, std_drift, rng)  MBN chains in memory (recorded arrays)
simulate_drift_scan(m, momenta, *, drift, steps, chains, window, fast, rng, workers)  simulated MSE of the running mean vs momentum under drift
DriftScan         what simulate_drift_scan returns (MSE per momentum, simulated best, seed entropy)
BatchNorm, MomentumBatchNorm  BN and MBN layers from scratch (numpy; forward/backward)
train_network(config, data, *, seed)  train one network (SGD, the paper's recipe); TrainConfig its settings
run_experiment(*, data, models, depths, norms, batch_sizes, seeds, epochs, ...)  the training grid on executors
noise_probe(config, data, *, seed, checkpoints, batches)  realised BN/MBN noise inside a network vs theory
"""

from noise_theory._lib import lazy_namespace

#: public name -> private module that defines it (PEP 562 lazy loading).
_LAZY = {
    "KSResult": "simulations.mc._accumulators",
    "Moments": "simulations.mc._accumulators",
    "PitHistogram": "simulations.mc._accumulators",
    "PowerSums": "simulations.mc._accumulators",
    "RunResult": "simulations.mc._engine",
    "SimulationResult": "simulations.mc._accumulators",
    "block_seed": "simulations.mc._engine",
    "run_chunks": "simulations.mc._engine",
    "simulate_bn": "simulations.models._bn",
    "BNSimulation": "simulations.models._bn_checks",
    "MomentCheck": "simulations.models._bn_checks",
    "KSCheck": "simulations.models._bn_checks",
    "input_law": "simulations.models._laws",
    "InputLaw": "simulations.models._laws",
    "build_report": "simulations.report._build",
    "ReportResult": "simulations.report._build",
    "plot_noise_densities": "simulations.plots",
    "plot_noise_vs_batch_size": "simulations.plots",
    "plot_output_laws": "simulations.plots",
    "plot_kurtosis_effect": "simulations.plots",
    "plot_schedule": "simulations.plots",
    "plot_mbn_trajectory": "simulations.plots",
    "plot_regularizer_strength": "simulations.plots",
    "simulate_glm_loss": "simulations.models._glm_loss",
    "GLMLossSimulation": "simulations.models._glm_loss",
    "gamma_decay_experiment": "simulations.models._gamma_decay",
    "GammaDecayResult": "simulations.models._gamma_decay",
    "GammaDecayRow": "simulations.models._gamma_decay",
    "simulate_mbn": "simulations.models._mbn",
    "MBNSimulation": "simulations.models._mbn",
    "MbnSimulation": "simulations.models._mbn",
    "mbn_chains": "simulations.models._mbn",
    "simulate_drift_scan": "simulations.models._mbn",
    "DriftScan": "simulations.models._mbn",
    "BatchNorm": "simulations.nn._norm",
    "MomentumBatchNorm": "simulations.nn._norm",
    "train_network": "simulations.nn._train",
    "TrainConfig": "simulations.nn._train",
    "run_experiment": "simulations.nn._experiment",
    "noise_probe": "simulations.nn._probe",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_namespace('simulations', _LAZY, globals())
