r"""Laws of the normalised BN output :math:`(x - \mu_B)/\sigma_B` for Gaussian input.

Three different laws are called "the BN output" (docs/theory.md, section 2, (2.1)-(2.3)):

* in-batch (what training computes): :math:`z_i = (x_i - \mu_B)/\sigma_B` for a sample
  :math:`x_i` of the batch itself; bounded, :math:`|z_i| \le \sqrt{m-1}`;
* out-of-batch at a fixed population-normalised value :math:`\tilde x` (the paper's
  independent-noise model): a scaled noncentral t;
* out-of-batch for a random :math:`x \sim N(\mu, \sigma^2)`: a scaled t.
"""

from __future__ import annotations

import math
import warnings
from math import comb

import numpy as np
from scipy import special, stats

from ._bn import _log_gamma_mode_density, _log_gamma_ratio_rel, _log_unimodal_integral, _phi, _phi_step
from ._validation import ParameterValueError, choice, integer_array, real_array

__all__ = ["bn_output", "in_batch_output"]

_MODELS = ("in_batch", "out_of_batch")
_X_MAX = 1e100


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
        # log(1 - z^2/(m-1)) as log1p(-u) + log1p(u), u = |z|/sqrt(m-1) clipped to 1: at the
        # float end of the support z*z/(m-1) can round above 1 (log1p(< -1) = NaN); there
        # the density is 0 (m > 4), the constant 1/(2 sqrt 3) (m = 4) or +inf (m = 3)
        b = (m - 2.0) / 2.0
        u = np.minimum(np.abs(z) / np.sqrt(m - 1.0), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            shape = np.where(b == 1.0, 0.0, (b - 1.0) * (np.log1p(-u) + np.log1p(u)))
            return -0.5 * np.log(m - 1.0) - special.betaln(0.5, b) + shape

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
def _raw_moments_from_n(n, df, centre_moment):
    """Shared rule for t-type moments E T^n = df^(n/2) E[V^(-n/2)] * centre_moment.

    V ~ chi2(df): ``df^(n/2) E V^(-n/2) = Gamma(k - n/2) k^(n/2)/Gamma(k)``, k = df/2,
    finite iff n < df. For n >= df: ``inf`` for even n (E T^n diverges), ``NaN`` for odd n
    (E|T|^n = inf with both signs carrying infinite mass: the moment does not exist).
    """

    n = float(n)
    df, centre_moment = np.broadcast_arrays(np.asarray(df, float), np.asarray(centre_moment, float))
    k = df / 2.0
    ok = n < df
    out = np.where(n % 2 == 0, np.inf, np.nan)
    if np.any(ok):
        with np.errstate(over="ignore", invalid="ignore"):
            factor = np.exp(_log_gamma_ratio_rel(k[ok], -n / 2.0))
            out = out.astype(float)
            out[ok] = factor * centre_moment[ok]
    return out


def _normal_raw_moment(n, mean):
    """E (Z + mean)^n for Z ~ N(0, 1): sum over even j of C(n, j) mean^(n-j) (j-1)!!."""

    mean = np.asarray(mean, dtype=float)
    total = np.zeros_like(mean)
    dfact = 1.0
    for j in range(0, int(n) + 1, 2):
        if j:
            dfact *= j - 1
        total = total + comb(int(n), j) * dfact * mean ** (int(n) - j)
    return total


def _loc_zero_moment(dist, order, args, kwds, munp):
    """``moment`` for our laws (always loc = 0): scale^n E T^n from the exact `munp`."""
    if order != int(order) or order < 0:
        raise ParameterValueError("`order` of a moment must be a non-negative integer.")
    shapes, loc, scale = dist._parse_args(*args, **kwds)
    if np.any(np.asarray(loc) != 0):
        return None
    if order == 0:
        return np.ones(np.broadcast(*shapes, scale).shape)[()]
    with np.errstate(over="ignore", invalid="ignore"):
        return (np.asarray(scale, float) ** order * munp(int(order), *shapes))[()]


class _t_gen(type(stats.t)):
    """scipy's t with honest moments at small df: variance inf when df <= 2 (E T^2
    diverges), mean NaN when df <= 1 (E|T| diverges: the mean does not exist; scipy says
    inf); raw moments E T^n exact: finite for n < df, inf for even n >= df, NaN for odd
    n >= df (do not exist)."""

    def _stats(self, df):
        mu, mu2, g1, g2 = super()._stats(df)
        return np.where(df <= 1, np.nan, mu), np.where(df <= 2, np.inf, mu2), g1, g2

    def _pdf(self, x, df):
        with np.errstate(over="ignore"):   # x*x/df overflows far out: the density is 0
            return super()._pdf(x, df)

    def _logpdf(self, x, df):
        with np.errstate(over="ignore"):
            return super()._logpdf(x, df)

    def _munp(self, n, df):
        # E T^n = df^(n/2) E V^(-n/2) E Z^n, E Z^n = (n-1)!! for even n, 0 for odd
        return _raw_moments_from_n(n, df, _normal_raw_moment(n, np.zeros_like(df)))

    def moment(self, order, *args, **kwds):
        out = _loc_zero_moment(self, order, args, kwds, self._munp)
        return super().moment(order, *args, **kwds) if out is None else out


# Boost's nctdtr (scipy's nct cdf) agrees with the quadrature below to ~1e-14 absolute for
# df <= 3e6, |nc| <= 40 where both tails are >= 1e-4, but returns NaN or garbage
# (non-monotone, 0/1 instead of 1e-17) in the far tails, and drifts (1e-10 at df = 1e8;
# 1e-8..1e-6 at |nc| >= 1e3) outside that box. Outside the box (df <= 1e6, |nc| <= 40,
# tails >= 1e-4) the cdf/sf are computed by quadrature instead (relative accuracy ~1e-12).
_NCT_TAIL = 1e-4
_NCT_BOOST_DF = 1e6
_NCT_BOOST_NC = 40.0
_LOG_HALF = float(np.log(0.5))


def _nct_log_integral(t, df, nc, kind):
    """log of P(T <= t) ("cdf") or the density f_T(t) ("pdf"), T ~ nct(df, nc) (scalars).

    T = (Z + nc) sqrt(df/V), V ~ chi2(df) = Gamma(k = df/2, 2); with V = df e^u,

        P(T <= t) = E Phi(t e^(u/2) - nc),  f_T(t) = E[phi(t e^(u/2) - nc) e^(u/2)],

    against the Gamma law of u, ``exp(C - k phi(u)) du`` (see :func:`_bn._integrated`).
    Both integrands are log-concave in sqrt(V) (a chi density times log-concave factors),
    so unimodal in u: the mode is bracketed by doubling and found by brentq, and the
    integral is taken in log space by :func:`_bn._log_unimodal_integral`. Everything stays
    relative: far tails (1e-300) are as accurate as the bulk.
    """

    from scipy import optimize  # deferred: scipy


    k = df / 2.0
    half_log_2pi = 0.5 * math.log(2.0 * math.pi)

    def a_of(u):
        return t * math.exp(0.5 * u) - nc

    if kind == "cdf":
        def g(u):  # log of the factor besides the Gamma law
            return float(special.log_ndtr(a_of(u)))

        def dg(u):
            a = a_of(u)
            if not math.isfinite(a):  # only far out in u, where the sign is all that counts
                return 0.0 if a > 0 else -math.inf
            if a < -1e4:  # Mills ratio phi/Phi = -a - 1/a + O(a^-5): no inf - inf
                mills = -a - 1.0 / a
            else:
                mills = math.exp(-0.5 * a * a - half_log_2pi - float(special.log_ndtr(a)))
            return 0.5 * (a + nc) * mills
    else:
        def g(u):
            a = a_of(u)
            return -0.5 * a * a - half_log_2pi + 0.5 * u

        def dg(u):
            a = a_of(u)
            return 0.5 - 0.5 * a * (a + nc)

    def dF(u):
        if u > 700.0:
            return -math.inf
        return -k * math.expm1(u) + dg(u)

    lo, hi = -1.0, 1.0
    if dF(0.0) > 0:
        lo = 0.0
        while dF(hi) > 0 and hi < 1400.0:
            lo, hi = hi, 2.0 * hi
    else:
        hi = 0.0
        while dF(lo) <= 0 and lo > -1e6:
            hi, lo = lo, 2.0 * lo
    u0 = optimize.brentq(dF, lo, hi, xtol=1e-300, rtol=4 * 2.0**-52, maxiter=500)
    e_u0, em1_u0 = math.exp(u0), math.expm1(u0)
    g0 = g(u0)
    if g0 == -math.inf:
        return -math.inf

    def dh(tau):
        if u0 + tau > 700.0 or tau > 700.0:
            return -math.inf
        out = -k * _phi_step(e_u0, em1_u0, tau, math.expm1(tau)) + g(u0 + tau) - g0
        return -math.inf if out != out else out  # NaN only from -inf - (-inf) far out

    curv = k * e_u0
    h = min(1.0, 1.0 / math.sqrt(curv)) if curv > 1.0 else 1.0
    return float(_log_gamma_mode_density(k)) - k * _phi(u0) + g0 + _log_unimodal_integral(dh, h)


def _nct_quad_cdf(t, df, nc):
    """P(T <= t) by quadrature, from the smaller of the two tails (arrays, elementwise)."""
    t, df, nc = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, df, nc)))
    out = np.empty(t.shape)
    for i in np.ndindex(t.shape):
        ti, dfi, nci = float(t[i]), float(df[i]), float(nc[i])
        if np.isinf(ti):
            out[i] = 1.0 if ti > 0 else 0.0
            continue
        if ti == 0.0 or np.isinf(nci):
            out[i] = special.ndtr(-nci)
            continue
        lc = _nct_log_integral(ti, dfi, nci, "cdf")
        if lc < _LOG_HALF:
            out[i] = np.exp(lc)
        else:  # the upper tail is the small one: P(T > t) = P(-T < -t), -T ~ nct(df, -nc)
            out[i] = -np.expm1(_nct_log_integral(-ti, dfi, -nci, "cdf"))
    return out


def _nct_boost_unreliable(x, df, nc):
    with np.errstate(all="ignore"):
        c = special.nctdtr(df, nc, x)
        s = special.nctdtr(df, -nc, -x)
    bad = (~(np.isfinite(c) & np.isfinite(s)) | (np.minimum(c, s) < _NCT_TAIL)
           | (df > _NCT_BOOST_DF) | (np.abs(nc) > _NCT_BOOST_NC))
    return c, s, bad


class _nct_gen(type(stats.nct)):
    """scipy's noncentral t, with

    * variance inf (not NaN) when df <= 2, kurtosis inf when 2 < df <= 4 (as scipy's t);
    * exact raw moments (``moment``): finite for n < df, inf for even n >= df, NaN for odd
      n >= df (they do not exist), instead of NaN from 0 * NaN or noisy quadrature;
    * cdf/sf that stay right in the far tails: Boost's ``nctdtr`` where both tails are
      >= 1e-4 (its absolute error there is ~1e-13), log-space quadrature elsewhere
      (where Boost returns NaN or loses relative accuracy), relative error ~1e-12;
    * ppf/isf refined by root finding on those where Boost's inverse fails or is in a tail;
    * pdf by quadrature where Boost's is not finite.
    """

    def _stats(self, df, nc, moments="mv"):
        mu, mu2, g1, g2 = super()._stats(df, nc, moments)
        if mu2 is not None:
            mu2 = np.where(df <= 2, np.inf, mu2)
        if g2 is not None:
            g2 = np.where((df > 2) & (df <= 4), np.inf, g2)
        return mu, mu2, g1, g2

    def _munp(self, n, df, nc):
        return _raw_moments_from_n(n, df, _normal_raw_moment(n, nc))

    def moment(self, order, *args, **kwds):
        out = _loc_zero_moment(self, order, args, kwds, self._munp)
        return super().moment(order, *args, **kwds) if out is None else out

    def _pdf(self, x, df, nc):
        x, df, nc = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, df, nc)))
        out, warned = self._boost_pdf(x, df, nc)
        if warned:   # Boost's series did not converge somewhere: find where, point by point
            flat = [self._boost_pdf(*(v.reshape(1) for v in args))
                    for args in zip(x.ravel(), df.ravel(), nc.ravel())]
            warned = np.array([w for _, w in flat]).reshape(x.shape)
        bad = (~np.isfinite(out) | warned | (df > _NCT_BOOST_DF)
               | (np.abs(nc) > _NCT_BOOST_NC))
        for i in zip(*np.nonzero(bad)) if bad.ndim else ([()] if bad else []):
            a, b, c = float(x[i]), float(df[i]), float(nc[i])
            if np.isinf(a) or np.isinf(c):
                out[i] = 0.0
            else:
                out[i] = np.exp(_nct_log_integral(a, b, c, "pdf"))
        return out

    def _boost_pdf(self, x, df, nc):
        """scipy's (Boost's) nct pdf, and whether Boost warned that it did not converge."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with np.errstate(all="ignore"):
                    out = np.array(super()._pdf(x, df, nc), dtype=float).reshape(x.shape)
            except (OverflowError, ValueError):  # Boost raises on some extreme arguments
                out = np.full(x.shape, np.nan)
        return out, any(issubclass(w.category, RuntimeWarning) for w in caught)

    def _cdf(self, x, df, nc):
        c, _, bad = _nct_boost_unreliable(x, df, nc)
        if np.any(bad):
            x, df, nc = np.broadcast_arrays(x, df, nc)
            c = np.array(c, dtype=float)
            c[bad] = _nct_quad_cdf(x[bad], df[bad], nc[bad])
        return c

    def _sf(self, x, df, nc):
        _, s, bad = _nct_boost_unreliable(x, df, nc)
        if np.any(bad):
            x, df, nc = np.broadcast_arrays(x, df, nc)
            s = np.array(s, dtype=float)
            s[bad] = _nct_quad_cdf(-x[bad], df[bad], -nc[bad])
        return s

    def _ppf(self, q, df, nc):
        return self._invert(q, df, nc, upper=False)

    def _isf(self, q, df, nc):
        return self._invert(q, df, nc, upper=True)

    def _invert(self, q, df, nc, *, upper):
        """t with P(T <= t) = q (upper: P(T > t) = q); Boost where safe, else brentq."""
        from scipy import optimize  # deferred: scipy

        q, df, nc = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (q, df, nc)))
        with np.errstate(all="ignore"):
            guess = np.asarray(special.nctdtrit(df, -nc if upper else nc, q), dtype=float)
        if upper:
            guess = -guess
        out = guess.copy()
        bad = (~np.isfinite(guess) | (q < _NCT_TAIL) | (q > 1.0 - _NCT_TAIL)
               | (df > _NCT_BOOST_DF) | (np.abs(nc) > _NCT_BOOST_NC))
        for i in zip(*np.nonzero(bad)) if bad.ndim else ([()] if bad else []):
            qi, dfi, nci = float(q[i]), float(df[i]), float(nc[i])
            if qi <= 0.0 or qi >= 1.0:
                out[i] = (np.inf if upper else -np.inf) if qi <= 0.0 else (
                    -np.inf if upper else np.inf)
                continue
            sign = -1.0 if upper else 1.0  # solve in s = sign * t: P(sign*T <= s) = q
            ncs = sign * nci
            log_q = np.log(qi) if qi < 0.5 else None

            def resid(s_):
                if log_q is not None:
                    with np.errstate(divide="ignore"):
                        return float(np.log(_nct_quad_cdf(s_, dfi, ncs))) - log_q
                return float(-_nct_quad_cdf(-s_, dfi, -ncs)) - (qi - 1.0)

            g0 = float(sign * guess[i]) if np.isfinite(guess[i]) else ncs
            big = np.finfo(float).max
            step = 1.0 + abs(g0)
            lo, hi = max(g0 - step, -big), min(g0 + step, big)
            while resid(lo) > 0 and lo > -big:
                lo, step = max(lo - step, -big), 2.0 * step
            step = 1.0 + abs(g0)
            while resid(hi) < 0 and hi < big:
                hi, step = min(hi + step, big), 2.0 * step
            if resid(lo) > 0 or resid(hi) < 0:  # beyond the float range
                out[i] = sign * (-np.inf if resid(lo) > 0 else np.inf)
                continue
            out[i] = sign * optimize.brentq(resid, lo, hi, xtol=1e-300, rtol=1e-14)
        return out


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
            raise ParameterValueError(
                "`x` is only used with model='out_of_batch' (a fixed sample outside the "
                f"batch); the in-batch output has no fixed x; got x={x!r}.")
        if m.ndim > 0 and np.any(m == 2) and np.any(m != 2):
            raise ParameterValueError(
                "`m` = 2 gives a two-point law (every in-batch output is exactly +-1): "
                f"request it alone, not with other batch sizes; got m={m.tolist()!r}.")
    elif x is not None:
        # beyond 1e100 the noncentrality sqrt(m) x and the arguments it meets overflow the
        # squares in the normal tail; such a law is a point mass far out anyway
        x = real_array(x, "x", minimum=-_X_MAX, maximum=_X_MAX)
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

        For the t laws the raw moment ``moment(n)`` is exact (via the gamma ratio of
        :func:`scale_moment`) for n < m - 1; for n >= m - 1 it is ``inf`` for even n (it
        diverges) and NaN for odd n (E|output|^n = inf on both sides: the moment does not
        exist). Accordingly the variance is ``inf`` when m <= 3, the mean NaN at m = 2,
        the skewness NaN for m <= 4 and the excess kurtosis ``inf`` for m = 4, 5.

        The noncentral t's cdf/sf are Boost's (scipy) where that is reliable (df <= 1e6,
        |nc| <= 40, both tails >= 1e-4: ~1e-14 absolute) and otherwise a log-space
        quadrature (relative error ~1e-12 even at 1e-200; measured against mpmath);
        ppf/isf are refined on it in the tails; logcdf/logsf follow.

    Raises
    ------
    TypeError, ValueError
        On a non-integer `m` < 2, an unknown `model` (the message suggests the closest),
        `x` given with ``model="in_batch"``, a non-finite `x` or one with
        ``|x| > 1e100``, or an array `m` mixing 2
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
