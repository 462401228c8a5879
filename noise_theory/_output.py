r"""Laws of the normalised BN output :math:`(x - \mu_B)/\sigma_B` for Gaussian input.

Three different laws are called "the BN output" (docs/theory.md, section 2, (2.1)-(2.3)):

* in-batch (what training computes): :math:`z_i = (x_i - \mu_B)/\sigma_B` for a sample
  :math:`x_i` of the batch itself; bounded, :math:`|z_i| \le \sqrt{m-1}`;
* out-of-batch at a fixed population-normalised value :math:`\tilde x` (the paper's
  independent-noise model): a scaled noncentral t;
* out-of-batch for a random :math:`x \sim N(\mu, \sigma^2)`: a scaled t.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ._validation import choice, integer_array, real_array

__all__ = ["bn_output", "in_batch_output"]

_MODELS = ("in_batch", "out_of_batch")


# ------------------------------------------------------------------ in-batch law
class in_batch_output_gen(stats.rv_continuous):
    r"""Law of the in-batch BN output :math:`z_i = (x_i - \mu_B)/\sigma_B` (shape `m` > 2).

    With :math:`b = (m-2)/2`, :math:`z^2/(m-1) \sim \mathrm{Beta}(1/2, b)` and the law is
    symmetric, so

    .. math::

        f(z; m) = \frac{(1 - z^2/(m-1))^{(m-4)/2}}{\sqrt{m-1}\,B(1/2, b)},
        \qquad |z| < \sqrt{m-1},

    equivalently :math:`z = \sqrt{m-1}\,(2W - 1)` with :math:`W \sim \mathrm{Beta}(b, b)`.
    Mean 0, variance 1, skewness 0, excess kurtosis :math:`-6/(m+1)`
    (:math:`E z^4 = 3(m-1)/(m+1)`); it tends to N(0, 1) as m grows. Shape `m` may be any
    real > 2 here; :func:`bn_output` only passes integers.
    """

    def _argcheck(self, m):
        return (m > 2) & np.isfinite(m)

    def _get_support(self, m):
        r = np.sqrt(m - 1.0)
        return -r, r

    def _logpdf(self, z, m):
        b = (m - 2.0) / 2.0
        with np.errstate(divide="ignore"):
            return (-0.5 * np.log(m - 1.0) - special.betaln(0.5, b)
                    + (b - 1.0) * np.log1p(-z * z / (m - 1.0)))

    def _pdf(self, z, m):
        return np.exp(self._logpdf(z, m))

    def _tail(self, z, m):
        """P(Z >= |z|) = P(|Z| >= |z|)/2."""
        return 0.5 * special.betaincc(0.5, (m - 2.0) / 2.0, np.minimum(z * z / (m - 1.0), 1.0))

    def _cdf(self, z, m):
        tail = self._tail(z, m)
        return np.where(z < 0, tail, 1.0 - tail)

    def _sf(self, z, m):
        tail = self._tail(z, m)
        return np.where(z > 0, tail, 1.0 - tail)

    def _ppf(self, q, m):
        # P(Z > r) = betaincc(1/2, b, r^2/(m-1))/2 for r >= 0, inverted in the smaller tail
        small = np.minimum(q, 1.0 - q)
        r = np.sqrt((m - 1.0) * special.betainccinv(0.5, (m - 2.0) / 2.0, 2.0 * small))
        return np.where(q < 0.5, -r, r)

    def _isf(self, q, m):
        return -self._ppf(q, m)

    def _stats(self, m):
        return 0.0, 1.0, 0.0, -6.0 / (m + 1.0)

    def _munp(self, n, m):
        # E z^n = 0 for odd n; (m-1)^(n/2) B((n+1)/2, b)/B(1/2, b) for even n
        b = (m - 2.0) / 2.0
        even = (m - 1.0) ** (n / 2.0) * np.exp(special.betaln((n + 1.0) / 2.0, b)
                                                - special.betaln(0.5, b))
        return np.where(np.asarray(n) % 2 == 1, 0.0, even)

    def _rvs(self, m, size=None, random_state=None):
        b = (m - 2.0) / 2.0
        w = random_state.beta(b, b, size=size)
        return np.sqrt(m - 1.0) * (2.0 * w - 1.0)


in_batch_output = in_batch_output_gen(name="in_batch_output", shapes="m")


# ------------------------------------------------------------------ out-of-batch laws
class _t_gen(type(stats.t)):
    """scipy's t with honest moments at small df: variance inf when df <= 2 (E T^2
    diverges), mean NaN when df <= 1 (E|T| diverges: the mean does not exist; scipy says
    inf)."""

    def _stats(self, df):
        mu, mu2, g1, g2 = super()._stats(df)
        return np.where(df <= 1, np.nan, mu), np.where(df <= 2, np.inf, mu2), g1, g2


class _nct_gen(type(stats.nct)):
    """scipy's noncentral t, with variance inf (not NaN) when df <= 2."""

    def _stats(self, df, nc, moments="mv"):
        mu, mu2, g1, g2 = super()._stats(df, nc, moments)
        if mu2 is not None:
            mu2 = np.where(df <= 2, np.inf, mu2)
        return mu, mu2, g1, g2


_oob_t = _t_gen(name="t")
_oob_nct = _nct_gen(name="nct")

def _two_point():
    """m = 2: every in-batch output is exactly -1 or +1, each with probability 1/2.

    A fresh instance per call: scipy distributions carry a mutable ``random_state``.
    """
    return stats.rv_discrete(name="in_batch_output_m2", values=([-1, 1], [0.5, 0.5]))


# ------------------------------------------------------------------ public function
def _bn_output_iv(m, x, model):
    model = choice(model, "model", _MODELS)
    m = integer_array(m, "m", minimum=2)
    if model == "in_batch":
        if x is not None:
            raise ValueError(
                "`x` is only used with model='out_of_batch' (a fixed sample outside the "
                f"batch); the in-batch output has no fixed x; got x={x!r}.")
        if m.ndim > 0 and np.any(m == 2) and np.any(m != 2):
            raise ValueError(
                "`m` = 2 gives a two-point law (every in-batch output is exactly +-1): "
                f"request it alone, not with other batch sizes; got m={m.tolist()!r}.")
    elif x is not None:
        x = real_array(x, "x")
    return m, x, model


def bn_output(m, *, x=None, model="in_batch"):
    r"""Law of the normalised BN output :math:`(x - \mu_B)/\sigma_B` for Gaussian input.

    Parameters
    ----------
    m : int or array_like of int
        Batch size, >= 2. The batch variance is BN's biased one (divide by m); no eps.
    x : float or array_like, optional
        Only for ``model="out_of_batch"``: a fixed population-normalised input
        :math:`\tilde x = (x - \mu)/\sigma`. ``None`` (default) means a random
        :math:`x \sim N(\mu, \sigma^2)` independent of the batch.
    model : {"in_batch", "out_of_batch"}
        ``"in_batch"``: the output of a sample that is in the batch (what BN computes in
        training). ``"out_of_batch"``: a sample normalised with the statistics of a batch
        it is not part of (the paper's independent-noise model).

    Returns
    -------
    frozen distribution
        * ``"in_batch"``, m > 2: a frozen :data:`in_batch_output` (an ``rv_continuous``
          with shape m: pdf, cdf, sf, ppf, moments, rvs); bounded by
          :math:`\sqrt{m-1}`. Broadcasts over array `m`.
        * ``"in_batch"``, m = 2: the output is exactly -1 or +1 (each with probability
          1/2) whatever the input, a two-point law; returned as ``scipy.stats.rv_discrete``
          on {-1, 1} (pmf instead of pdf). m = 2 must then be asked for alone.
        * ``"out_of_batch"`` with `x`: ``nct(df=m-1, nc=sqrt(m) x, scale=1/sqrt(m-1))``.
        * ``"out_of_batch"`` without `x`: ``t(df=m-1, scale=sqrt((m+1)/(m-1)))``, variance
          :math:`(m+1)/(m-3)`.

        For the t laws the variance is ``inf`` when m <= 3 (the second moment diverges,
        as for :func:`scale_moment` with power 2); the mean is NaN at m = 2, where it does
        not exist (Cauchy-type tails, E|output| = inf).

    Raises
    ------
    TypeError, ValueError
        On a non-integer `m` < 2, an unknown `model` (the message suggests the closest),
        `x` given with ``model="in_batch"``, a non-finite `x`, or an array `m` mixing 2
        with other sizes for the in-batch law.

    Notes
    -----
    In-batch: the internally studentised residual. With
    :math:`z_i = (x_i - \mu_B)/\sigma_B`, :math:`\sum_i z_i = 0` and
    :math:`\sum_i z_i^2 = m` exactly, so :math:`|z_i| \le \sqrt{m-1}`; for Gaussian input
    :math:`z_i^2/(m-1) \sim \mathrm{Beta}(1/2, (m-2)/2)` and the law is symmetric
    (see :class:`in_batch_output_gen`).

    Out-of-batch: :math:`(x - \mu_B)/\sigma_B = (\tilde x - \xi_\mu)/\sqrt{\xi_\sigma}`,
    where :math:`\sqrt m(\tilde x - \xi_\mu) \sim N(\sqrt m\,\tilde x, 1)` is independent
    of :math:`m\xi_\sigma \sim \chi^2_{m-1}`; hence
    :math:`\sqrt{m-1}\,(x-\mu_B)/\sigma_B` is noncentral t with m - 1 degrees of freedom
    and noncentrality :math:`\sqrt m\,\tilde x`. For a random x,
    :math:`x - \mu_B \sim N(0, (m+1)/m)` and the output is
    :math:`\sqrt{(m+1)/(m-1)}\,t_{m-1}`.

    Examples
    --------
    >>> from noise_theory import bn_output
    >>> law = bn_output(5)
    >>> float(law.support()[1])          # sqrt(m - 1)
    2.0
    >>> float(law.var()), round(float(law.moment(4)), 12)   # 1 and 3(m-1)/(m+1)
    (1.0, 2.0)
    >>> bn_output(2).rvs(size=4, random_state=0).tolist()   # m = 2: always +-1
    [1, 1, 1, 1]
    >>> round(float(bn_output(8, model="out_of_batch").var()), 12)   # (m+1)/(m-3)
    1.8
    >>> round(float(bn_output(8, x=1.0, model="out_of_batch").mean()), 4)  # x E[sigma/sigma_B]
    1.2036
    """
    m, x, model = _bn_output_iv(m, x, model)
    if model == "in_batch":
        if np.all(m == 2):
            return _two_point()
        return in_batch_output(m.astype(float))
    df = (m - 1).astype(float)
    if x is None:
        return _oob_t(df, scale=np.sqrt((m + 1.0) / (m - 1.0)))
    return _oob_nct(df, np.sqrt(m) * x, scale=1.0 / np.sqrt(df))
