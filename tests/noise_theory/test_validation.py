"""noise_theory._validation: every helper, every rule, every message."""

import fractions

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from noise_theory._validation import choice, integer_array, positive_int, real_array


# ---------------------------------------------------------------- integer_array
@pytest.mark.parametrize("value,expected", [
    (3, 3), (np.int64(3), 3), (4.0, 4), (np.uint8(7), 7), ([2, 3], [2, 3]),
    (np.array([[2], [3]]), [[2], [3]]), (2**62 - 1, 2**62 - 1),
])
def test_integer_array_accepts(value, expected):
    out = integer_array(value, "m", minimum=2)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    assert out.shape == np.shape(value)


@pytest.mark.parametrize("value,exc,msg", [
    (1, ValueError, r"^`m` must be an integer >= 2; got m=1\.$"),
    (2.5, ValueError, r"^`m` must be an integer >= 2; got m=2\.5\.$"),
    (np.nan, ValueError, r"^`m` must be an integer >= 2; got m=nan\.$"),
    (np.inf, ValueError, r"^`m` must be an integer >= 2; got m=inf\.$"),
    ("a", TypeError, r"^`m` must be an integer >= 2; got m='a'\.$"),
    (True, TypeError, r"^`m` must be an integer >= 2; got m=True\.$"),
    (np.bool_(True), TypeError, r"^`m` must be an integer >= 2; got m=np\.True_\.$"),
    (np.array([True]), TypeError, r"^`m` must be an integer >= 2; got m=\[True\]\.$"),
    (None, TypeError, r"^`m` must be an integer >= 2; got m=None\.$"),
    (3 + 0j, TypeError, r"^`m` must be an integer >= 2; got m=\(3\+0j\)\.$"),
    ([4, 1], ValueError, r"^`m` must be an integer >= 2; got m=\[4, 1\]\.$"),
    (np.arange(10), ValueError, r"^`m` must be an integer >= 2; got m=array\(0, 1, 2, 3, 4, 5, \.\.\.\)\.$"),
    (1e20, ValueError, r"^`m` must be an integer >= 2 \(and below 2\*\*62\); got m=1e\+20\.$"),
    (np.array([2**63], dtype=np.uint64), ValueError, r"below 2\*\*62\); got m=\[9223372036854775808\]\.$"),
])
def test_integer_array_rejects(value, exc, msg):
    with pytest.raises(exc, match=msg):
        integer_array(value, "m", minimum=2)


def test_integer_array_maximum_and_no_bounds():
    with pytest.raises(ValueError, match=r"^`k` must be an integer >= 0 and <= 3; got k=4\.$"):
        integer_array(4, "k", minimum=0, maximum=3)
    with pytest.raises(ValueError, match=r"^`k` must be an integer <= 3; got k=\[1, 5\]\.$"):
        integer_array([1, 5], "k", maximum=3)
    assert integer_array(-7, "k") == -7


@given(st.integers(-(2**61), 2**61))
def test_integer_array_roundtrips_integers(n):
    assert integer_array(n, "n") == n
    assert integer_array(float(n), "n") == int(float(n))


# ---------------------------------------------------------------- real_array
@pytest.mark.parametrize("value", [0.5, 0, np.float32(0.25), [1, 2.5], [[0.1, 0.2]],
                                   np.array([1, 2], dtype=object), [1, fractions.Fraction(1, 2)]])
def test_real_array_accepts(value):
    out = real_array(value, "x")
    assert out.dtype == float and out.shape == np.shape(np.asarray(value))
    np.testing.assert_allclose(out, np.asarray(value, dtype=float))


@pytest.mark.parametrize("value,kwargs,exc,msg", [
    (np.nan, {}, ValueError, r"^`x` must be a real number; got x=nan\.$"),
    (np.inf, {}, ValueError, r"^`x` must be a real number; got x=inf\.$"),
    (np.nan, dict(allow_inf=True), ValueError, r"^`x` must be a real number; got x=nan\.$"),
    ("x", {}, TypeError, r"^`x` must be a real number; got x='x'\.$"),
    (["0.5"], {}, TypeError, r"^`x` must be a real number; got x=\['0\.5'\]\.$"),
    ([0.1, "a"], {}, TypeError, r"^`x` must be a real number; got x=\[0\.1, 'a'\]\.$"),
    (True, {}, TypeError, r"^`x` must be a real number; got x=True\.$"),
    (np.array([True]), {}, TypeError, r"^`x` must be a real number; got x=array\(\[ True\]\)\.$"),
    (None, {}, TypeError, r"^`x` must be a real number; got x=None\.$"),
    (1 + 1j, {}, TypeError, r"^`x` must be a real number; got x=\(1\+1j\)\.$"),
    (np.array([1 + 0j]), {}, TypeError, r"^`x` must be a real number; got x=array\(\[1\.\+0\.j\]\)\.$"),
    (-1e-5, dict(minimum=0.0), ValueError, r"^`x` must be a real number >= 0\.0; got x=-1e-05\.$"),
    (0, dict(minimum=0, min_open=True), ValueError, r"^`x` must be a real number > 0; got x=0\.$"),
    (1, dict(minimum=0, maximum=1, max_open=True), ValueError,
     r"^`x` must be a real number >= 0 and < 1; got x=1\.$"),
    (1.5, dict(maximum=1), ValueError, r"^`x` must be a real number <= 1; got x=1\.5\.$"),
    ([0.5, 2.0], dict(maximum=1), ValueError, r"^`x` must be a real number <= 1; got x=\[0\.5, 2\.0\]\.$"),
])
def test_real_array_rejects(value, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        real_array(value, "x", **kwargs)


def test_real_array_bounds_and_infinities():
    assert real_array(0, "x", minimum=0) == 0
    assert real_array(1, "x", maximum=1) == 1
    np.testing.assert_array_equal(real_array([np.inf, -np.inf], "x", allow_inf=True), [np.inf, -np.inf])
    with pytest.raises(ValueError, match=r">= 0; got x=-inf"):
        real_array(-np.inf, "x", minimum=0, allow_inf=True)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_real_array_keeps_finite_floats(x):
    assert real_array(x, "x") == x


# ---------------------------------------------------------------- positive_int
@pytest.mark.parametrize("value,expected", [(3, 3), (np.int64(3), 3), (4.0, 4), (np.float64(5.0), 5)])
def test_positive_int_accepts(value, expected):
    out = positive_int(value, "n")
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value,kwargs,exc,msg", [
    (0, {}, ValueError, r"^`n` must be an integer >= 1; got n=0\.$"),
    (1, dict(minimum=2), ValueError, r"^`n` must be an integer >= 2; got n=1\.$"),
    (2.5, {}, TypeError, r"^`n` must be an integer >= 1; got n=2\.5\.$"),
    (float("nan"), {}, TypeError, r"^`n` must be an integer >= 1; got n=nan\.$"),
    (True, {}, TypeError, r"^`n` must be an integer >= 1; got n=True\.$"),
    ("3", {}, TypeError, r"^`n` must be an integer >= 1; got n='3'\.$"),
    (None, {}, TypeError, r"^`n` must be an integer >= 1; got n=None\.$"),
    ([3], {}, TypeError, r"^`n` must be an integer >= 1; got n=\[3\]\.$"),
])
def test_positive_int_rejects(value, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        positive_int(value, "n", **kwargs)


# ---------------------------------------------------------------- choice
def test_choice():
    options = ("in_batch", "out_of_batch")
    assert choice("in_batch", "model", options) == "in_batch"
    with pytest.raises(ValueError, match=r"^`model` must be one of 'in_batch', 'out_of_batch'; "
                                         r"got model='inbatch'\. Did you mean 'in_batch'"):
        choice("inbatch", "model", options)
    with pytest.raises(ValueError, match=r"^`model` must be one of 'in_batch', 'out_of_batch'; "
                                         r"got model='zzz'\.$"):
        choice("zzz", "model", options)
    with pytest.raises(ValueError, match=r"got model=None\.$"):
        choice(None, "model", options)
