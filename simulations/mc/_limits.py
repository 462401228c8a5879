"""Up-front limits that keep every accepted run within bounded time and memory.

The cost of a Monte Carlo run is, to within a constant, the number of random numbers it
draws; each simulator computes that number from its arguments *before* any work and
refuses, with a message naming the arguments, a run above :data:`MAX_DRAWS` (about
10^11 numbers: 15 minutes to 3 hours on one core at the 8 to 120 ns per number
measured, from the compiled BN kernel to the GLM loss Monte Carlo on a loaded machine;
half that on two). Memory does not grow with the number of draws (the engine keeps a bounded number of
blocks in flight, see :func:`simulations.run_chunks`).
"""

from __future__ import annotations

import numbers
import operator

from noise_theory._lib import ParameterTypeError, ParameterValueError

__all__ = ["MAX_DRAWS", "MAX_THREADS", "count", "check_draws"]

#: Most random numbers one simulator call may draw (15 minutes to 3 hours on one core).
MAX_DRAWS = 10 ** 11
#: Most threads the engine starts, whatever `workers` says (each thread has its own
#: buffers and tasks in flight, so memory stays bounded); never changes the result.
MAX_THREADS = 16


def count(value, name, *, minimum=1, maximum=None):
    """A count argument: a true integer (``int`` or a numpy integer, not a float such as
    ``1e30`` and not a bool) in ``[minimum, maximum]``; returns a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(f"`{name}` must be an integer >= {minimum}; got {name}="
                                 f"{value!r} (a {type(value).__name__}).")
    out = operator.index(value)
    if out < minimum:
        raise ParameterValueError(f"`{name}` must be an integer >= {minimum}; got {name}={value!r}.")
    if maximum is not None and out > maximum:
        raise ParameterValueError(f"`{name}` must be an integer <= {maximum:.6g} (bounded "
                                  f"time); got {name}={value!r}.")
    return out


def check_draws(draws, factors, advice):
    """Refuse a run that would draw more than :data:`MAX_DRAWS` random numbers.

    `factors` is the text of the product (e.g. ``"samples=1e13"``), `advice` what to
    lower; raises :class:`ParameterValueError`.
    """
    if draws > MAX_DRAWS:
        raise ParameterValueError(
            f"this run would draw about {float(draws):.3g} random numbers ({factors}); the "
            f"limit is {float(MAX_DRAWS):.0e} (15 minutes to 3 hours on one core): {advice}.")
