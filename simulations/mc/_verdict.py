r"""The one rule that decides whether a Monte Carlo estimate agrees with the theory.

Every comparison in bn-noise - ``bn-noise simulate bn``/``mbn``, the report, the tests of
the simulators - goes through :func:`verdict`:

- ``z = (estimate - theory) / stderr``, where `stderr` is the standard error of the
  estimate *under the theory* when the simulator can compute it (for a sample variance,
  from the law's own fourth moment), else the plug-in one;
- a family of ``n_tests`` checks is run at family-wise level ``alpha`` (default 0.01) with
  Bonferroni's correction: a check agrees when ``|z| <= critical_z(n_tests, alpha)``, the
  two-sided normal quantile at ``alpha / n_tests`` (equivalently its p-value
  ``2 P(Z > |z|) >= alpha / n_tests``);
- a quantity that is constant up to rounding (``stderr <= 1e-12 max(1, |theory|)``) agrees
  when it equals the theory to 1e-10 relative;
- a divergent theory (``inf``) is *not tested* (a sample mean of a quantity with no finite
  mean means nothing), and so is a missing theory (NaN) or a non-finite estimate.

So a correct theory passes a whole family with probability >= 1 - alpha, at any seed.
"""

from __future__ import annotations

import dataclasses
import math
from statistics import NormalDist  # stdlib: no scipy.stats at import time

__all__ = ["DEFAULT_ALPHA", "AgreementRule", "Verdict", "critical_z", "z_score", "verdict"]

#: Family-wise significance level of every verdict unless a caller says otherwise.
DEFAULT_ALPHA = 0.01

#: relative tolerance for a quantity that is constant up to rounding.
_EXACT_RTOL = 1e-10


def critical_z(n_tests, alpha=DEFAULT_ALPHA):
    """Two-sided |z| threshold keeping the family-wise error rate of `n_tests` checks at `alpha`.

    >>> round(critical_z(1), 4), round(critical_z(100), 2)
    (2.5758, 3.89)
    """

    level = alpha / (2 * max(int(n_tests), 1))
    return -NormalDist().inv_cdf(level)


def z_score(estimate, theory, stderr):
    """``(estimate - theory) / stderr``; NaN when it is not defined (stderr not > 0)."""
    if not (stderr is not None and stderr > 0 and math.isfinite(stderr)):
        return math.nan
    return (estimate - theory) / stderr


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of one check: ``status`` is ``"agree"``, ``"disagree"`` or
    ``"not tested"`` (then ``reason`` says why); ``z`` and ``pvalue`` are NaN when no
    z-score is meaningful."""

    status: str
    z: float
    pvalue: float
    reason: str = ""

    @property
    def agrees(self):
        return self.status == "agree"

    @property
    def tested(self):
        return self.status != "not tested"


def _two_sided_p(z):
    return math.erfc(abs(z) / math.sqrt(2.0))


def verdict(estimate, theory, stderr, *, z_crit):
    """Decide one check by the rule above; `z_crit` comes from :func:`critical_z`.

    >>> verdict(1.02, 1.0, 0.01, z_crit=critical_z(1)).status
    'agree'
    >>> verdict(1.05, 1.0, 0.01, z_crit=critical_z(1)).status
    'disagree'
    >>> verdict(3.0, float("inf"), 0.1, z_crit=2.0).reason
    'the moment diverges'
    """
    nan = math.nan
    if theory is None or (isinstance(theory, float) and math.isnan(theory)):
        return Verdict("not tested", nan, nan, "no theory")
    if math.isinf(theory):
        return Verdict("not tested", nan, nan, "the moment diverges")
    if estimate is None or not math.isfinite(estimate) or stderr is None or stderr != stderr:
        return Verdict("not tested", nan, nan, "no finite estimate")
    if stderr <= 1e-12 * max(1.0, abs(theory)):
        close = abs(estimate - theory) <= _EXACT_RTOL * max(1.0, abs(theory))
        return Verdict("agree" if close else "disagree", nan, nan, "constant quantity")
    z = z_score(estimate, theory, stderr)
    if math.isnan(z):
        return Verdict("not tested", nan, nan, "no standard error")
    return Verdict("agree" if abs(z) <= z_crit else "disagree", z, _two_sided_p(z))


@dataclasses.dataclass(frozen=True)
class AgreementRule:
    """The rule for a family of `n_tests` checks at family-wise level `alpha`.

    >>> rule = AgreementRule(n_tests=10)
    >>> round(rule.z_crit, 3), rule(0.5, 0.4, 0.05).status
    (3.291, 'agree')
    """

    n_tests: int
    alpha: float = DEFAULT_ALPHA

    @property
    def z_crit(self):
        return critical_z(self.n_tests, self.alpha)

    @property
    def level(self):
        """The per-check level ``alpha / n_tests``."""
        return self.alpha / max(int(self.n_tests), 1)

    def __call__(self, estimate, theory, stderr):
        return verdict(estimate, theory, stderr, z_crit=self.z_crit)
