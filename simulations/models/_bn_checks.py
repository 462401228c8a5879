"""The BN simulator's comparison with the theory: result rows, the exact laws, the verdicts."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

import noise_theory as nt

from ..mc import AgreementRule

__all__ = ["MomentCheck", "KSCheck", "BNSimulation"]


# ------------------------------------------------------------------------ comparison
@dataclasses.dataclass(frozen=True)
class MomentCheck:
    """One simulated moment next to its theoretical value.

    Attributes
    ----------
    quantity : str
        E.g. ``"Var[xi_mu]"``.
    theory : float
        Value from ``noise_theory`` (``inf`` if it diverges, ``nan`` if no theory covers
        this case).
    result : SimulationResult
        Simulated estimate, standard error and n.
    z : float
        ``(estimate - theory) / stderr``; ``nan`` when no z-score is meaningful.
    pvalue : float
        Two-sided normal p-value of `z` (``nan`` with it).
    verdict : str
        ``"agree"``, ``"disagree"`` (p < level), ``"diverges"`` (theory infinite),
        ``"no z"`` (the estimator's own variance is infinite in theory, so its standard
        error means nothing), ``"no theory"`` or ``"undefined"`` (the simulated value is
        not finite, e.g. a batch with sigma_B = 0 exactly and eps = 0).
    """

    quantity: str
    theory: float
    result: object
    z: float
    pvalue: float
    verdict: str


@dataclasses.dataclass(frozen=True)
class KSCheck:
    """Kolmogorov-Smirnov comparison of a simulated quantity with its exact law.

    ``statistic_low <= D <= statistic_high`` (histogram binning, see
    :meth:`PitHistogram.ks`); verdict ``"agree"`` if even the upper statistic is not
    significant at `level`, ``"disagree"`` if even the lower one is, else
    ``"inconclusive"``. ``cvm_low <= T <= cvm_high`` bound the Cramer-von Mises statistic
    of the same values (:meth:`PitHistogram.cvm`; asymptotic 1% critical value 0.743),
    reported alongside, not part of the verdict.
    """

    quantity: str
    law: str
    n: int
    statistic_low: float
    statistic_high: float
    pvalue_low: float
    pvalue_high: float
    verdict: str
    cvm_low: float = math.nan
    cvm_high: float = math.nan


@dataclasses.dataclass(frozen=True)
class BNSimulation:
    """Result of :func:`simulate_bn`.

    Attributes
    ----------
    m, dist, ddof, eps : as passed (``dist`` the law's name).
    batches : int
        Batches simulated (``ceil(samples / m)``).
    samples : int
        Input samples drawn for the moment and KS checks (``batches * m``).
    moments : tuple of MomentCheck
    ks : tuple of KSCheck
        Empty unless the input is Gaussian (the only case with exact laws).
    alpha : float
        Family-wise significance level.
    level : float
        Per-test level ``alpha / (number of tests with a p-value)`` (Bonferroni).
    verdict : str
        ``"agree"`` if no test disagrees, else ``"disagree"``.
    entropy : int
        Seed entropy. ``simulate_bn(..., rng=np.random.SeedSequence(entropy,
        spawn_key=spawn_key))`` replays the run bit for bit (just ``rng=entropy`` when
        `spawn_key` is empty, e.g. after ``rng=<int>``).
    block_size : int
        Batches per random stream (fixed by m).
    seconds : float
        Wall-clock time.
    spawn_key : tuple
        Spawn key of the seed sequence used (see `entropy`).
    """

    m: int
    dist: str
    ddof: int
    eps: float
    batches: int
    samples: int
    moments: tuple
    ks: tuple
    alpha: float
    level: float
    verdict: str
    entropy: int
    block_size: int
    seconds: float
    spawn_key: tuple = ()


class _ScaledLaw:
    """CDF of ``c * V`` where V has the frozen law `law` (picklable)."""

    def __init__(self, law, factor):
        self.law, self.factor = law, factor

    def cdf(self, v):
        return self.law.cdf(np.asarray(v) / self.factor)


def _exact_laws(m, ddof, eps):
    """Exact laws of the KS quantities for Gaussian input (eps = 0 for the outputs)."""

    laws = {"xi_mu": nt.mean_noise(m), "xi_sigma": nt.variance_noise(m, ddof=ddof)}
    if eps == 0.0:
        # z and y divide by sigma_B with ddof; the laws are for ddof = 0
        factor = math.sqrt((m - ddof) / m)
        if m >= 3:  # at m = 2 the in-batch output is +-1: not a continuous law
            laws["z_in"] = _ScaledLaw(nt.bn_output(m, model="in_batch"), factor)
        laws["y_out"] = _ScaledLaw(nt.bn_output(m, model="out_of_batch"), factor)
    return laws


def _moment_rows(acc, sums, m, law, ddof, eps):
    """(quantity, result, theory, estimator-variance-finite) for every checked moment."""

    gauss = law.is_normal
    rows = []
    r = acc.mean_result("xi_mu", label="E[xi_mu]")
    rows.append((r, 0.0 if law.standardised else math.nan, law.standardised))
    var_theory = math.nan
    cov = math.nan
    if gauss:
        var_mu = float(nt.mean_noise(m).var())
        e_xi = float(nt.variance_noise(m, ddof=ddof).mean())
        var_theory = float(nt.variance_noise(m, ddof=ddof).var())
        cov = 0.0
        kurt_finite = True
    elif law.standardised:
        # Heavy tails (e.g. t with df <= 4): Var xi_sigma is infinite without a finite fourth
        # moment and Cov(xi_mu, xi_sigma) has no theory without a finite third; the mean
        # rows need only sigma = 1, so they are computed with placeholder moments.
        skew_finite = math.isfinite(law.skewness)
        kurt_finite = math.isfinite(law.excess_kurtosis)
        bs = nt.batch_statistics_moments(
            m, skewness=law.skewness if skew_finite else 0.0,
            excess_kurtosis=law.excess_kurtosis if kurt_finite else 0.0, ddof=ddof)
        var_mu = float(bs.var_mean)
        e_xi = float(bs.mean_var)
        var_theory = float(bs.var_var) if kurt_finite else math.inf
        cov = float(bs.cov) if skew_finite else math.nan
    else:
        var_mu = e_xi = math.nan
        kurt_finite = False
    rows.append((acc.var_result("xi_mu", label="Var[xi_mu]"), var_mu, kurt_finite,
                 _null_var_stderr(nt.mean_noise(m), acc.count("xi_mu")) if gauss else math.nan))
    rows.append((acc.mean_result("xi_sigma", label="E[xi_sigma]"), e_xi, kurt_finite))
    # Var of s^2 needs the 8th moment of x for its own standard error
    rows.append((acc.var_result("xi_sigma", label="Var[xi_sigma]"), var_theory,
                 gauss or _finite_moment(law, 8),
                 _null_var_stderr(nt.variance_noise(m, ddof=ddof), acc.count("xi_sigma"))
                 if gauss else math.nan))
    rows.append((sums.mean_result("xi_mu_xi_sigma", label="Cov[xi_mu,xi_sigma]"), cov,
                 gauss or _finite_moment(law, 6)))
    if gauss:
        s1 = float(nt.scale_moment(m, 1, ddof=ddof, eps=eps))
        s2 = float(nt.scale_moment(m, 2, ddof=ddof, eps=eps))
        s4 = float(nt.scale_moment(m, 4, ddof=ddof, eps=eps))
        c = (m - ddof) / m
        # E z^2 = E[(Q/m) / (Q/(m-ddof) + eps)] = c (1 - eps E[1/(xi + eps)]),
        # xi = Q/(m-ddof); for eps = 0 the in-batch law gives the moments directly.
        if eps == 0.0:
            zlaw = nt.bn_output(m, model="in_batch")
            ez2, ez4 = c * float(zlaw.moment(2)), c * c * float(zlaw.moment(4))
        else:
            ez2, ez4 = c * (1.0 - eps * s2), math.nan
        # y = d / sqrt(xi + eps), d ~ N(0, 1 + 1/m) independent of xi (Cochran)
        ey2 = (1.0 + 1.0 / m) * s2
    else:
        s1 = s2 = s4 = ez2 = ez4 = ey2 = math.nan
    rows.append((sums.mean_result("inv_scale", label="E[sigma/sigma_B]"), s1,
                 math.isfinite(s2) or not gauss))
    rows.append((sums.raw_moment_result("inv_scale", 2, label="E[sigma^2/sigma_B^2]"), s2,
                 math.isfinite(s4) or not gauss))
    rows.append((sums.mean_result("z_in2", label="E[z_in^2]"), ez2, True))
    rows.append((sums.raw_moment_result("z_in2", 2, label="E[z_in^4]"), ez4, True))
    rows.append((sums.raw_moment_result("y_out", 2, label="E[y_out^2]"), ey2,
                 math.isfinite(s4) or not gauss))
    return rows


def _null_var_stderr(dist, n):
    """Standard error of the sample variance of n draws from the frozen law `dist`:
    ``sqrt((mu4 - sigma^4 (n-3)/(n-1)) / n)`` with the law's own fourth moment. Used for the
    z-score of variance rows: the plug-in standard error is badly skewed for small n."""
    v, k = (float(x) for x in dist.stats(moments="vk"))
    if n < 4:
        return math.inf
    return math.sqrt(((k + 3.0) * v * v - v * v * (n - 3) / (n - 1)) / n)


def _finite_moment(law, order):
    """Whether E|X|^order is finite - and usable: for the log-normal E X^8 = e^32 is finite
    but no feasible sample makes the variance estimator's z-score normal, so order >= 8 is
    treated as infinite there."""
    if law.dist is None or law.name in ("normal", "laplace", "uniform", "exponential"):
        return True                     # relu and the light-tailed named laws
    if law.name == "lognormal":
        return order < 8
    if law.name == "t":
        return float(law.dist.args[0]) > order

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return bool(np.isfinite(law.dist.moment(order)))
    except Exception:  # noqa: BLE001 - scipy raises various errors for undefined moments
        return False


def _verdicts(rows, ks_results, alpha):
    """Verdicts of every row by the one agreement rule (:func:`simulations.mc.verdict`),
    Bonferroni over all moment rows with a theory and all KS tests."""
    rows = [row if len(row) == 4 else (*row, math.nan) for row in rows]
    n_tests = sum(1 for r, th, ok, _ in rows if math.isfinite(th) and ok) + len(ks_results)
    rule = AgreementRule(n_tests=n_tests, alpha=alpha)
    checks = []
    for res, theory, ok, null_se in rows:
        if math.isnan(theory):
            z, p, label = math.nan, math.nan, "no theory"
        elif math.isinf(theory):
            z, p, label = math.nan, math.nan, "diverges"
        elif not ok:
            z, p, label = math.nan, math.nan, "no z"
        else:
            se = null_se if null_se > 0 else res.stderr
            v = rule(res.estimate, theory, se)
            # "undefined": e.g. a batch with sigma_B = 0 exactly and eps = 0
            label = v.status if v.tested else "undefined"
            z, p = v.z, v.pvalue
        checks.append(MomentCheck(res.name, theory, res, z, p, label))
    ks_checks = []
    for name, law_name, k, cvm in ks_results:
        verdict = ("agree" if k.pvalue_low >= rule.level else
                   "disagree" if k.pvalue_high < rule.level else "inconclusive")
        ks_checks.append(KSCheck(name, law_name, k.n, k.statistic_low, k.statistic_high,
                                 k.pvalue_low, k.pvalue_high, verdict, *cvm))
    return tuple(checks), tuple(ks_checks), rule.level


_KS_LAW_NAMES = {"xi_mu": "mean_noise", "xi_sigma": "variance_noise",
                 "z_in": "bn_output(in_batch)", "y_out": "bn_output(out_of_batch)"}
