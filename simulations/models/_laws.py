r"""Input laws for the BN simulator, standardised to mean 0 and standard deviation 1.

BN's noise is studied in population units, so every input law is shifted and scaled to
mean 0 and variance 1 *where those exist*:

- finite mean and variance: ``(X - mean) / sd``;
- finite mean, infinite variance (Student t with 1 < df <= 2, any such scipy law): only
  centred, ``X - mean`` (no scale exists; the noise moments that need sigma diverge);
- no mean (Student t with df <= 1, Cauchy-like laws): centred at the median instead.

``InputLaw.standardised`` says whether both steps were possible; ``loc`` and ``scale`` are
what was applied (``Y = (X - loc) / scale``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from noise_theory._lib import ParameterTypeError, ParameterValueError, choice, real_array

from ._law_names import DISTRIBUTIONS

__all__ = ["InputLaw", "input_law", "DISTRIBUTIONS", "gaussian_batch_statistics"]

#: Named laws: name -> (description, needs df).


@dataclasses.dataclass(frozen=True)
class InputLaw:
    """A standardised input law ``Y = (X - loc) / scale`` with ``X ~ dist``.

    Attributes
    ----------
    name : str
        ``"normal"``, ``"laplace"``, ... or ``"scipy:<name>"`` for a user's law.
    dist : scipy.stats frozen distribution or None
        The raw law of X (None for ``"relu"``: max(0, Z) has a point mass at 0, no scipy
        continuous law; it is sampled by clipping a standard normal).
    loc, scale : float
        The standardisation applied.
    standardised : bool
        True when Y has mean 0 and variance 1 (both exist).
    skewness, excess_kurtosis : float
        Of Y (``nan`` where undefined, ``inf`` where infinite).
    """

    name: str
    dist: object
    loc: float
    scale: float
    standardised: bool
    skewness: float
    excess_kurtosis: float

    @property
    def is_normal(self) -> bool:
        """True for the Gaussian input, the case with exact closed-form laws."""
        return self.name == "normal"

    def sample(self, rng, out):
        """Fill the float64 array `out` with standardised draws from `rng` (a Generator)."""
        if self.is_normal:
            rng.standard_normal(out=out)
            return out
        if self.name == "exponential":
            rng.standard_exponential(out=out)
        elif self.name == "uniform":
            rng.random(out=out)
        else:
            out[...] = self.dist.rvs(size=out.shape, random_state=rng)
        out -= self.loc
        if self.scale != 1.0:
            out *= 1.0 / self.scale
        return out


def input_law(dist="normal", *, df=None) -> InputLaw:
    """Build a standardised :class:`InputLaw`.

    Parameters
    ----------
    dist : str or scipy.stats frozen continuous distribution
        One of :data:`DISTRIBUTIONS` or any frozen ``scipy.stats`` continuous law.
    df : float, optional
        Degrees of freedom, required for ``"t"`` (> 0) and refused otherwise.

    Returns
    -------
    InputLaw

    Raises
    ------
    ValueError
        Unknown name (the message suggests the closest valid ones), missing or invalid `df`.
    TypeError
        `dist` neither a name nor a frozen continuous scipy law.

    Examples
    --------
    >>> law = input_law("t", df=5)
    >>> law.standardised, round(law.excess_kurtosis, 6)
    (True, 6.0)
    >>> import numpy as np
    >>> x = law.sample(np.random.default_rng(0), np.empty(100_000))
    >>> bool(abs(x.mean()) < 0.02), bool(abs(x.var() - 1) < 0.05)
    (True, True)
    """
    from scipy import stats  # deferred: scipy (the CLI lists DISTRIBUTIONS without it)


    if isinstance(dist, str):
        name = choice(dist, "dist", list(DISTRIBUTIONS))
        name = "normal" if name == "gaussian" else name
        if name == "t":
            if df is None:
                raise ParameterValueError("`df` is required for dist='t'; got df=None.")
            df = float(real_array(df, "df", minimum=0.0, min_open=True, allow_inf=False))
            frozen = stats.t(df)
        else:
            if df is not None:
                raise ParameterValueError(f"`df` is only used with dist='t'; got dist={name!r}, df={df!r}.")
            frozen = {
                "normal": stats.norm(),
                "laplace": stats.laplace(),
                "uniform": stats.uniform(),
                "exponential": stats.expon(),
                "lognormal": stats.lognorm(1.0),
            }.get(name)
            if name == "relu":
                return _relu()
    else:
        if not (hasattr(dist, "dist") and isinstance(getattr(dist, "dist"), stats.rv_continuous)):
            raise ParameterTypeError(
                f"`dist` must be a name ({', '.join(DISTRIBUTIONS)}) or a frozen scipy.stats "
                f"continuous distribution; got dist={dist!r}.")
        if df is not None:
            raise ParameterValueError(f"`df` is only used with dist='t'; got df={df!r}.")
        frozen = dist
        name = f"scipy:{dist.dist.name}"
    return _standardise(name, frozen)


def _standardise(name, frozen):
    mean, var, skew, kurt = (float(v) for v in frozen.stats(moments="mvsk"))
    if math.isfinite(mean) and math.isfinite(var) and var > 0:
        return InputLaw(name, frozen, mean, math.sqrt(var), True,
                        skew if math.isfinite(skew) else math.inf,
                        kurt if math.isfinite(kurt) else math.inf)
    if math.isfinite(mean):
        return InputLaw(name, frozen, mean, 1.0, False, math.nan, math.inf)
    return InputLaw(name, frozen, float(frozen.median()), 1.0, False, math.nan, math.nan)


@dataclasses.dataclass(frozen=True)
class _ReluLaw(InputLaw):
    def sample(self, rng, out):
        rng.standard_normal(out=out)
        np.maximum(out, 0.0, out=out)
        out -= self.loc
        out *= 1.0 / self.scale
        return out


def _relu():
    # Raw moments of R = max(0, Z): E R^k = int_0^inf z^k phi(z) dz, i.e. half the Gaussian
    # moment for even k (E R^2 = 1/2, E R^4 = 3/2) and (k-1)!!/sqrt(2 pi) for odd k
    # (E R = 1/sqrt(2 pi), E R^3 = 2/sqrt(2 pi) = sqrt(2/pi)).
    r1 = 1.0 / math.sqrt(2.0 * math.pi)
    r2, r3, r4 = 0.5, math.sqrt(2.0 / math.pi), 1.5
    var = r2 - r1 * r1
    mu3 = r3 - 3 * r1 * r2 + 2 * r1 ** 3
    mu4 = r4 - 4 * r1 * r3 + 6 * r1 * r1 * r2 - 3 * r1 ** 4
    return _ReluLaw("relu", None, r1, math.sqrt(var), True,
                    mu3 / var ** 1.5, mu4 / var ** 2 - 3.0)


def gaussian_batch_statistics(rng, m, n, ddof=0):
    r"""Exact joint draw, for Gaussian N(0, 1) input, of what BN uses from `n` batches of
    size `m`: ``(mu_B, sigma_B^2, x_1 - mu_B)`` with x_1 the batch's first value, from
    3 random numbers per batch whatever m (for huge batches, where drawing m values is
    impossible).

    Exact (Cochran): the residual vector ``x - mu_B 1`` is an isotropic Gaussian in the
    (m-1)-dimensional complement of ``1``, independent of ``mu_B ~ N(0, 1/m)``. Take an
    orthonormal basis of that complement whose first vector is the normalised projection
    of ``e_1`` (length ``sqrt((m-1)/m)``): then ``x_1 - mu_B = sqrt((m-1)/m) Z_1`` and the
    centred sum of squares is ``Z_1^2 + R`` with ``Z_1 ~ N(0, 1)`` independent of
    ``R ~ chi2(m-2)`` (``R = 0`` at m = 2). Draw order: ``standard_normal(n)`` (mu_B),
    ``standard_normal(n)`` (Z_1), ``standard_gamma((m-2)/2, n)`` (R/2, m > 2).

    Returns
    -------
    mu, var, e1 : ndarray, shape (n,)
        mu_B, sigma_B^2 = SS/(m - ddof), x_1 - mu_B.
    """
    mu = rng.standard_normal(n)
    mu *= 1.0 / math.sqrt(m)
    z1 = rng.standard_normal(n)
    ss = z1 * z1
    if m > 2:
        ss += 2.0 * rng.standard_gamma((m - 2) / 2.0, n)
    z1 *= math.sqrt((m - 1) / m)
    return mu, ss / (m - ddof), z1
