"""The simulated models: input laws, the BN and MBN simulators, the GLM-loss Monte Carlo
and the gamma-decay experiment. Names load lazily (numba and scipy are imported on first
use).

API
---
input_law(dist, *, df)     standardised input law (normal, laplace, uniform, t, ...)
InputLaw                   what input_law returns (sampler, skewness, excess kurtosis)
DISTRIBUTIONS              the names input_law accepts
simulate_bn(m, samples, *, dist, df, ddof, eps, alpha, rng, workers, ...)  BN noise vs theory
BNSimulation, MomentCheck, KSCheck   its result and rows
simulate_mbn(m, momenta, *, chains, record, fast, ddof, start, drift, std_drift, rng, workers)
MBNSimulation              per-step moments of MBN's mean/variance noise
mbn_chains(...)            MBN chains in memory (recorded arrays)
simulate_drift_scan(...)   simulated MSE of the running mean vs momentum under drift
DriftScan                  its result
parse_drift(spec)          a drift spec ("linear:RATE", "walk:RATE") as (kind, rate)
simulate_glm_loss(h, y, *, gamma, beta, m, family, momentum, eps, n, rng)  Monte Carlo E loss
GLMLossSimulation          its result
gamma_decay_experiment(batch_sizes, ...)  SGD under BN/MBN noise: learned gamma vs theory
GammaDecayResult, GammaDecayRow  its result and rows
"""

from noise_theory._lib import lazy_namespace

_LAZY = {
    "input_law": "simulations.models._laws",
    "InputLaw": "simulations.models._laws",
    "DISTRIBUTIONS": "simulations.models._laws",
    "simulate_bn": "simulations.models._bn",
    "BNSimulation": "simulations.models._bn_checks",
    "MomentCheck": "simulations.models._bn_checks",
    "KSCheck": "simulations.models._bn_checks",
    "simulate_mbn": "simulations.models._mbn",
    "MBNSimulation": "simulations.models._mbn",
    "MbnSimulation": "simulations.models._mbn",
    "mbn_chains": "simulations.models._mbn",
    "simulate_drift_scan": "simulations.models._mbn",
    "DriftScan": "simulations.models._mbn",
    "parse_drift": "simulations.models._mbn",
    "simulate_glm_loss": "simulations.models._glm_loss",
    "GLMLossSimulation": "simulations.models._glm_loss",
    "gamma_decay_experiment": "simulations.models._gamma_decay",
    "GammaDecayResult": "simulations.models._gamma_decay",
    "GammaDecayRow": "simulations.models._gamma_decay",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_namespace("simulations.models", _LAZY, globals())
