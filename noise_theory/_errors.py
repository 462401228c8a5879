"""The error types of a validated user error, and the rule text of a real range.

No numpy here: the command line imports this module at start-up to tell a user's error
(exit status 2) from a bug (exit status 1).
"""

__all__ = ["InvalidParameter", "ParameterValueError", "ParameterTypeError", "real_rule"]


class InvalidParameter(Exception):
    """Marker base of every error raised because an argument broke its documented rule."""


class ParameterValueError(InvalidParameter, ValueError):
    """An argument has the right type but a value outside its rule."""


class ParameterTypeError(InvalidParameter, TypeError):
    """An argument has the wrong type."""


def real_rule(minimum=None, maximum=None, min_open=False, max_open=False):
    """The rule text for a real in a range, e.g. ``"a real number >= 0 and < 1"``."""
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if min_open else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"{'<' if max_open else '<='} {maximum}")
    return "a real number" + (" " + " and ".join(parts) if parts else "")
