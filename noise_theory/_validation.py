"""Shared input validation for the public functions of bn-noise.

Every public function has one private ``_<name>_iv`` that calls these helpers and then
runs pure maths. Messages name the argument, show the value and state the rule, e.g.
``"`m` must be an integer >= 2; got m=1."``. Misuse raises :class:`ParameterValueError`
or :class:`ParameterTypeError`: subclasses of ``ValueError`` and ``TypeError`` (so callers
catch them as usual) that also derive from :class:`InvalidParameter`, which is how the
command line tells a validated user error (exit status 2) from a bug in our code (exit
status 1). Nothing here uses ``assert``.
"""

from __future__ import annotations

import difflib
import numbers
import operator

import numpy as np

from ._errors import InvalidParameter, ParameterTypeError, ParameterValueError, real_rule

__all__ = [
    "InvalidParameter",
    "ParameterValueError",
    "ParameterTypeError",
    "integer_array",
    "real_rule",
    "real_array",
    "positive_int",
    "choice",
    "m_ddof",
]


def _show(value):
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value.item() if hasattr(value, "item") else value)
    flat = arr.ravel()
    if flat.size > 6:
        return "array(" + ", ".join(map(str, flat[:6])) + ", ...)"
    return repr(flat.tolist() if arr.ndim == 1 else arr.tolist())


def integer_array(value, name, *, minimum=None, maximum=None):
    """Return `value` as an integer ndarray (0-d for scalars), or raise.

    Real numbers that are whole (``4.0``) are accepted; booleans, strings, NaN and
    fractional values are not.
    """
    rule = "an integer"
    if minimum is not None:
        rule += f" >= {minimum}"
    if maximum is not None:
        rule += f"{' and' if minimum is not None else ''} <= {maximum}"
    if isinstance(value, (bool, np.bool_)) or isinstance(value, str):
        raise ParameterTypeError(f"`{name}` must be {rule}; got {name}={value!r}.")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise ParameterTypeError(f"`{name}` must be {rule}; got {name}={value!r}.") from exc
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ParameterTypeError(f"`{name}` must be {rule}; got {name}={_show(value)}.")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ParameterValueError(f"`{name}` must be {rule}; got {name}={_show(value)}.")
    if arr.dtype.kind in "fu" and np.any(np.abs(arr) >= 2**62):
        # beyond int64 a cast would wrap around silently
        raise ParameterValueError(f"`{name}` must be {rule} (and below 2**62); got {name}={_show(value)}.")
    arr = arr.astype(np.int64, copy=False)
    if minimum is not None and np.any(arr < minimum):
        raise ParameterValueError(f"`{name}` must be {rule}; got {name}={_show(value)}.")
    if maximum is not None and np.any(arr > maximum):
        raise ParameterValueError(f"`{name}` must be {rule}; got {name}={_show(value)}.")
    return arr


def real_array(value, name, *, minimum=None, maximum=None, min_open=False,
               max_open=False, allow_inf=False):
    """Return `value` as a float ndarray (0-d for scalars), or raise.

    `minimum`/`maximum` bound the values; `min_open`/`max_open` make the bound strict.
    NaN is always refused; infinities only with ``allow_inf=True``.
    """
    rule = real_rule(minimum, maximum, min_open, max_open)
    if value is None or isinstance(value, str) or isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(f"`{name}` must be {rule}; got {name}={value!r}.")
    try:
        raw = np.asarray(value)
        if raw.dtype.kind in "bcUSVMm":  # bool, complex, text, dates: refuse, don't coerce
            raise TypeError
        arr = raw.astype(float)
    except (TypeError, ValueError) as exc:
        raise ParameterTypeError(f"`{name}` must be {rule}; got {name}={value!r}.") from exc
    bad = np.isnan(arr)
    if not allow_inf:
        bad |= np.isinf(arr)
    if minimum is not None:
        bad |= (arr <= minimum) if min_open else (arr < minimum)
    if maximum is not None:
        bad |= (arr >= maximum) if max_open else (arr > maximum)
    if np.any(bad):
        raise ParameterValueError(f"`{name}` must be {rule}; got {name}={_show(value)}.")
    return arr


def positive_int(value, name, *, minimum=1):
    """Return a Python int >= `minimum` (scalar only), or raise."""
    if isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(f"`{name}` must be an integer >= {minimum}; got {name}={value!r}.")
    try:
        out = operator.index(value)
    except TypeError:
        if isinstance(value, numbers.Real) and float(value).is_integer():
            out = int(value)
        else:
            raise ParameterTypeError(
                f"`{name}` must be an integer >= {minimum}; got {name}={value!r}."
            ) from None
    if out < minimum:
        raise ParameterValueError(f"`{name}` must be an integer >= {minimum}; got {name}={value!r}.")
    return out


def m_ddof(m, ddof):
    """Batch size `m` (integer >= 2) and `ddof` (integer in ``[0, m)``) as integer arrays."""
    m = integer_array(m, "m", minimum=2)
    ddof = integer_array(ddof, "ddof", minimum=0)
    if np.any(ddof >= m):
        raise ParameterValueError(f"`ddof` must be smaller than `m`; got ddof={ddof.tolist()!r}, "
                                  f"m={m.tolist()!r}.")
    return m, ddof


def choice(value, name, options):
    """Return `value` if it is one of `options`, else raise with the closest valid ones."""
    if value in options:
        return value

    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ParameterValueError(
        f"`{name}` must be one of {', '.join(repr(o) for o in options)}; got {name}={value!r}.{hint}"
    )
