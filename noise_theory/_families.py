r"""Generalised linear model (GLM) families for the explicit BN regulariser.

A family is given by its log-partition :math:`A` and two derivatives; the per-sample loss is
the negative log-likelihood up to terms free of :math:`\eta`,

.. math::

    \ell(\eta, y) = A(\eta) - y\,\eta .

``growth`` is the power p with which A grows at +-infinity (``A(eta) = O(|eta|^p)``;
``inf`` for exponential growth). It decides when the expectation of the loss over the BN
noise is finite (see :func:`noise_theory.expected_glm_loss`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from ._validation import ParameterTypeError, ParameterValueError, choice

__all__ = ["GLMFamily", "FAMILIES", "glm_family", "get_family"]


@dataclass(frozen=True)
class GLMFamily:
    """A GLM family: log-partition ``A`` with first and second derivatives.

    Attributes
    ----------
    name : str
        Short name, shown in tables.
    A, A1, A2 : callable
        Vectorised ufunc-like callables: the log-partition :math:`A(\\eta)`, its first
        derivative (the mean function) and its second derivative (the variance function,
        >= 0 for a convex A).
    growth : float
        p such that :math:`A(\\eta) = O(|\\eta|^p)` as :math:`|\\eta| \\to \\infty`
        (1 logistic, 2 squared, ``inf`` for exponential growth, e.g. Poisson).

    Examples
    --------
    >>> import numpy as np
    >>> from noise_theory import GLMFamily, glm_regularizer
    >>> quartic = GLMFamily("quartic", A=lambda e: e**4 / 12, A1=lambda e: e**3 / 3,
    ...                     A2=lambda e: e**2, growth=4.0)
    >>> float(quartic.A2(np.float64(2.0)))
    4.0
    """

    name: str
    A: Callable
    A1: Callable
    A2: Callable
    growth: float


def _logistic_a2(eta):
    s = special.expit(eta)
    return s * (1.0 - s)


def _softplus(eta):
    eta = np.asarray(eta, dtype=float)
    return np.logaddexp(0.0, eta)


SQUARED = GLMFamily("squared", A=lambda e: 0.5 * np.square(e), A1=lambda e: np.asarray(e, float),
                    A2=lambda e: np.ones_like(np.asarray(e, dtype=float)), growth=2.0)
LOGISTIC = GLMFamily("logistic", A=_softplus, A1=special.expit, A2=_logistic_a2, growth=1.0)
POISSON = GLMFamily("poisson", A=np.exp, A1=np.exp, A2=np.exp, growth=math.inf)

#: the built-in families by name.
FAMILIES = {f.name: f for f in (SQUARED, LOGISTIC, POISSON)}


def glm_family(family):
    """A GLM family by name, or a `GLMFamily` passed through after a check.

    Parameters
    ----------
    family : {'squared', 'logistic', 'poisson'} or GLMFamily
        A name in ``FAMILIES`` or a user family (its ``growth`` must be a real > 0 or
        ``inf``).

    Returns
    -------
    GLMFamily

    Raises
    ------
    ValueError
        Unknown name (with the closest valid ones), or a user family with a bad ``growth``.
    TypeError
        Neither a string nor a `GLMFamily`.

    Examples
    --------
    >>> from noise_theory import glm_family
    >>> fam = glm_family("logistic")
    >>> fam.name, fam.growth
    ('logistic', 1.0)
    >>> glm_family(fam) is fam
    True
    """
    if isinstance(family, GLMFamily):
        growth = family.growth
        if (isinstance(growth, (bool, np.bool_)) or not isinstance(growth, (int, float))
                or not growth > 0):
            raise ParameterValueError(f"`family.growth` must be a real number > 0 (inf allowed); "
                             f"got growth={growth!r}.")
        return family
    if isinstance(family, str):

        return FAMILIES[choice(family, "family", tuple(FAMILIES))]
    raise ParameterTypeError("`family` must be one of 'squared', 'logistic', 'poisson' or a "
                    f"GLMFamily; got family={family!r}.")


#: old name of :func:`glm_family`, kept as an alias.
get_family = glm_family
