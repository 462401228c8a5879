"""Closed forms for the noise of batch normalisation (BN) and Momentum BN (MBN).

Momentum is always the weight on *history* (lambda, tau); BN variance is the biased
(divide-by-m) one unless ``ddof=1``. All quantities are in population units (mu = 0,
sigma = 1). Imports numpy and scipy only, and lazily: ``import noise_theory`` is cheap,
the first use of a name loads its module.

API
---
(name -> what it gives; see each docstring)

mean_noise(m)                      law of xi_mu = (mu_B - mu)/sigma: frozen norm(0, 1/sqrt(m))
variance_noise(m, *, ddof=0)       law of xi_sigma = sigma_B^2/sigma^2: frozen Gamma
scale_moment(m, power, *, ddof=0, eps=0.0)  E[(sigma^2/(sigma_B^2+eps))^(power/2)], inf if divergent
bn_output(m, *, x=None, model="in_batch")  law of (x - mu_B)/sigma_B: in-batch (bounded) or out-of-batch (t)
in_batch_output                    rv_continuous (shape m) of the in-batch output z_i
batch_statistics_moments(m, *, skewness=0.0, excess_kurtosis=0.0, ddof=0)  exact moments of mu_B, sigma_B^2, any input law
BatchStatisticsMoments             result of batch_statistics_moments (frozen dataclass)
ema_mean_noise(m, momentum)        exact stationary law of the MBN mean noise (frozen normal)
ema_variance_noise(m, momentum, *, ddof=0)  MBN variance noise: exact mean/var, approx. Gamma law
effective_batch_size(m, momentum)  m (1+lambda)/(1-lambda): BN batch with MBN's mean noise
EmaVarianceNoise                   result of ema_variance_noise (frozen dataclass)
ema_variance_noise_cdf(x, m, momentum, *, ddof=0)  exact CDF of the MBN variance noise (Laplace inversion)
ema_variance_noise_sf(x, m, momentum, *, ddof=0)   its complement 1 - CDF, accurate in the upper tail
noise_trajectory(m, momenta, *, ddof=0, start="batch")  exact per-step MBN noise (recursion)
NoiseTrajectory                    result of noise_trajectory (frozen dataclass)
mbn_output_moments(m, momentum, *, eps=0.0)  mean/variance of an in-batch MBN output
MbnOutputMoments                   result of mbn_output_moments (frozen dataclass)
paper_momentum(epoch, epochs, m, *, m0=32)  the paper's dynamic momentum lambda(t)
inference_momentum(m, *, m0=32, tau0=0.9)   tau = tau0^(m/m0)
constant_momentum(epoch, momentum)  constant schedule
linear_momentum(epoch, epochs, *, start=0.0, end)  linear ramp
cosine_momentum(epoch, epochs, *, start=0.0, end)  half-cosine ramp
momentum_schedule(schedule, *, m, epochs, iterations_per_epoch=1, m0=32)  per-step momenta
momentum_for_target_batch(m, target)  lambda with effective batch size == target
from_pytorch_momentum(momentum)    PyTorch momentum (weight on new) -> lambda
to_pytorch_momentum(momentum)      lambda -> PyTorch momentum
drift_mse(m, momentum, *, drift, rate)  stationary MSE of the running mean under drift
optimal_drift_momentum(m, *, drift, rate)  momentum minimising drift_mse (closed form)
glm_regularizer(h, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0)  BN/MBN regulariser R = A''(E eta) Var(eta)/2, both decompositions
GLMRegularizer                     result of glm_regularizer (frozen dataclass)
expected_glm_loss(h, y, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0)  exact E loss by quadrature (inf where divergent)
regularizer_strength(m, *, momentum=0.0, eps=0.0)  c1, c2, Var(eta) coefficients and large-m series
RegularizerStrength                result of regularizer_strength (frozen dataclass)
GLMFamily(name, A, A1, A2, growth)  a GLM family (log-partition and derivatives)
glm_family(family)                 a GLMFamily by name ('squared', 'logistic', 'poisson') or pass-through
noise_law(m, *, momentum=0.0)      BN/MBN noise law of the regulariser (Gamma moment-matched for MBN)
NoiseLaw                           result of noise_law (frozen dataclass: s2, shape, scale, approximate, m, momentum)
glm_divergence_reason(m, *, family="logistic", momentum=0.0, eps=0.0)  None if E loss is finite, else why not
validate_glm_inputs(h, y, *, gamma, beta, m, family="logistic", momentum=0.0, eps=0.0)  the validator of expected_glm_loss
GLMInputs                          result of validate_glm_inputs (named tuple)
parse_momentum_schedule(schedule)  validate and split a schedule spec such as "constant:0.9"
MomentumScheduleSpec               result of parse_momentum_schedule (named tuple: kind, value)

Fast closed forms (numpy and the standard library only, no scipy: what the CLI prints)
bn_noise_moments(m, *, ddof=0)     Var xi_mu, E/Var xi_sigma as plain arrays
input_law_moments(m, *, skewness=0.0, excess_kurtosis=0.0, ddof=0)  Var xi_sigma, corr for any input law
inverse_scale_moments(m, *, ddof=0, eps=0.0)  E[sigma/sigma_B], E[sigma^2/sigma_B^2] (inf where divergent)
bn_output_moments(m)               in-batch bound and fourth moment, out-of-batch variance
ema_factor(momentum)               (1 - lambda)/(1 + lambda), the EMA's variance factor
stationary_mbn_noise(m, momentum, *, ddof=0)  stationary MBN noise variances and bias
epoch_end_factors(per_epoch, iterations_per_epoch)  exact EMA factors at each epoch's end
"""

from ._lazy import lazy_namespace

#: public name -> private module that defines it (PEP 562 lazy loading).
_LAZY = {
    "mean_noise": "noise_theory._bn",
    "variance_noise": "noise_theory._bn",
    "scale_moment": "noise_theory._bn",
    "bn_output": "noise_theory._output",
    "in_batch_output": "noise_theory._output",
    "batch_statistics_moments": "noise_theory._batch_moments",
    "BatchStatisticsMoments": "noise_theory._batch_moments",
    "ema_mean_noise": "noise_theory._mbn",
    "ema_variance_noise": "noise_theory._mbn",
    "effective_batch_size": "noise_theory._mbn",
    "EmaVarianceNoise": "noise_theory._mbn",
    "ema_variance_noise_cdf": "noise_theory._mbn_law",
    "ema_variance_noise_sf": "noise_theory._mbn_law",
    "noise_trajectory": "noise_theory._mbn",
    "NoiseTrajectory": "noise_theory._mbn",
    "mbn_output_moments": "noise_theory._mbn",
    "MbnOutputMoments": "noise_theory._mbn",
    "paper_momentum": "noise_theory._schedules",
    "inference_momentum": "noise_theory._schedules",
    "constant_momentum": "noise_theory._schedules",
    "linear_momentum": "noise_theory._schedules",
    "cosine_momentum": "noise_theory._schedules",
    "momentum_schedule": "noise_theory._schedules",
    "momentum_for_target_batch": "noise_theory._schedules",
    "from_pytorch_momentum": "noise_theory._schedules",
    "to_pytorch_momentum": "noise_theory._schedules",
    "drift_mse": "noise_theory._schedules",
    "optimal_drift_momentum": "noise_theory._schedules",
    "glm_regularizer": "noise_theory._regularizer",
    "GLMRegularizer": "noise_theory._regularizer",
    "expected_glm_loss": "noise_theory._glm_loss",
    "regularizer_strength": "noise_theory._regularizer",
    "RegularizerStrength": "noise_theory._regularizer",
    "GLMFamily": "noise_theory._families",
    "bn_noise_moments": "noise_theory._fast",
    "bn_output_moments": "noise_theory._fast",
    "ema_factor": "noise_theory._fast",
    "epoch_end_factors": "noise_theory._fast",
    "input_law_moments": "noise_theory._fast",
    "inverse_scale_moments": "noise_theory._fast",
    "stationary_mbn_noise": "noise_theory._fast",
    "glm_family": "noise_theory._families",
    "noise_law": "noise_theory._noise_law",
    "NoiseLaw": "noise_theory._noise_law",
    "glm_divergence_reason": "noise_theory._glm_loss",
    "validate_glm_inputs": "noise_theory._noise_law",
    "GLMInputs": "noise_theory._noise_law",
    "parse_momentum_schedule": "noise_theory._schedules",
    "MomentumScheduleSpec": "noise_theory._schedules",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_namespace('noise_theory', _LAZY, globals())
