"""The one shared-internals module of bn-noise (like ``scipy._lib``).

``simulations`` and the command line may import these names from here and nothing else
private of ``noise_theory``: input validation with the project's message style, the error
types that mark a validated user error, and the PEP 562 lazy namespace helper. They are
internal: they may change without notice, so user code should not rely on them.
"""

from ._lazy import lazy_namespace
from ._validation import (
                          InvalidParameter,
                          ParameterTypeError,
                          ParameterValueError,
                          choice,
                          integer_array,
                          positive_int,
                          real_array,
                          real_rule,
)

__all__ = ["lazy_namespace", "InvalidParameter", "ParameterTypeError", "ParameterValueError",
           "choice", "integer_array", "positive_int", "real_array", "real_rule"]
