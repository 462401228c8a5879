"""The one shared-internals module of bn-noise (like ``scipy._lib``).

``simulations`` and the command line may import these names from here and nothing else
private of ``noise_theory``: input validation with the project's message style, the error
types that mark a validated user error, and the PEP 562 lazy namespace helper. They are
internal: they may change without notice, so user code should not rely on them. Names load
lazily, so the command line's start-up (which needs only the error types) imports no numpy.
"""

from ._lazy import lazy_namespace

_LAZY = {
    "lazy_namespace": "noise_theory._lazy",
    "InvalidParameter": "noise_theory._errors",
    "ParameterTypeError": "noise_theory._errors",
    "ParameterValueError": "noise_theory._errors",
    "real_rule": "noise_theory._errors",
    "choice": "noise_theory._validation",
    "integer_array": "noise_theory._validation",
    "positive_int": "noise_theory._validation",
    "real_array": "noise_theory._validation",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_namespace("noise_theory._lib", _LAZY, globals())
