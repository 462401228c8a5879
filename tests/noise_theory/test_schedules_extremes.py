"""Extremes of the momentum schedules: nothing returns momentum 1.0 (a value every other
function refuses), NaN, or raises IndexError/ZeroDivisionError on accepted input."""

import math

import numpy as np
import pytest

from noise_theory import (
    drift_mse,
    from_pytorch_momentum,
    inference_momentum,
    momentum_for_target_batch,
    momentum_schedule,
    optimal_drift_momentum,
    paper_momentum,
    parse_momentum_schedule,
)
from noise_theory._schedules import MomentumScheduleSpec, _parse_spec


def test_target_so_large_that_momentum_rounds_to_one_is_refused():
    with pytest.raises(ValueError, match=r"`target` must be <= m \* 2\*\*52 .*got target=1e\+17"):
        momentum_for_target_batch(2, 1e17)            # old: returned 1.0
    lam = momentum_for_target_batch(2, 2.0 * 2**52)   # the limit itself is fine
    assert lam < 1.0 and 1.0 - lam == pytest.approx(2.0 / (2**53 + 1), rel=1e-3)
    assert momentum_for_target_batch(np.array([], dtype=int), 4.0).shape == (0,)


def test_rounding_to_one_refused_in_converters_and_paper_schedule():
    with pytest.raises(ValueError, match=r"`momentum` \(PyTorch, weight on the new value\) must "
                                         r"be >= 2\*\*-53 .*got momentum=1e-300"):
        from_pytorch_momentum(1e-300)                 # old: 1.0
    assert from_pytorch_momentum(2.0**-53) < 1.0
    with pytest.raises(ValueError, match=r"`m0` must be <= m \* 2\*\*52 .*got m0=2305843009213693952"):
        paper_momentum(10, 10, 2, m0=2**61)           # old: 1.0 at the last epoch
    with pytest.raises(ValueError, match=r"`m0` too large for `m` and `tau0`: tau = tau0\*\*\(m/m0\) "
                                         r"rounds to 1"):
        inference_momentum(2, m0=2**60, tau0=0.9)     # old: 1.0
    assert inference_momentum(2, m0=2**40, tau0=0.9) < 1.0


@pytest.mark.parametrize("drift", ["linear", "walk"])
def test_optimal_drift_momentum_rate_zero_refused(drift):
    with pytest.raises(ValueError, match=r"`rate` must be a real number > 0 .*got rate=0.0"):
        optimal_drift_momentum(4, drift=drift, rate=0)   # old: 1.0
    with pytest.raises(ValueError, match=r"`rate` too small for `m`: the optimal momentum rounds to 1"):
        optimal_drift_momentum(4, drift=drift, rate=1e-30)


def test_optimal_linear_drift_momentum_near_one_and_near_zero():
    # e = 1 - lambda solves e^3 = c (1-e)(2-e)^2, c = r^2 m: e ~ (4c)^(1/3) as c -> 0;
    # lambda ~ 1/(c + 3) as c -> inf. The old np.roots route lost e entirely near 1.
    for rate in (1e-24, 1e-20, 1e-12):
        c = rate**2 * 4
        lam = optimal_drift_momentum(4, drift="linear", rate=rate)
        e = 1.0 - lam
        assert e == pytest.approx((4 * c) ** (1 / 3), rel=1e-4)
    for rate in (1e3, 1e10, 1e100):
        c = rate**2 * 4
        assert optimal_drift_momentum(4, drift="linear", rate=rate) == pytest.approx(1 / (c + 3), rel=1e-6)
    # the optimum is the minimum of drift_mse
    lam = optimal_drift_momentum(4, drift="linear", rate=1e-3)
    d = 1e-6
    f = [drift_mse(4, x, drift="linear", rate=1e-3) for x in (lam - d, lam, lam + d)]
    assert f[1] < f[0] and f[1] < f[2]


def test_optimal_drift_momentum_empty_and_broadcast():
    e = np.array([], dtype=int)
    for drift in ("linear", "walk"):
        assert optimal_drift_momentum(e, drift=drift, rate=0.1).shape == (0,)
        out = optimal_drift_momentum([2, 8], drift=drift, rate=[[1e-3], [1.0]])
        assert out.shape == (2, 2) and np.all((out >= 0) & (out < 1))
    assert drift_mse(e, 0.5, drift="walk", rate=0.1).shape == (0,)


def test_drift_mse_near_momentum_one_finite_or_inf_never_nan():
    lam = 1 - 2**-53
    walk = drift_mse(4, lam, drift="walk", rate=0.0)     # (1-l)^2/m/((1-l)(1+l))
    assert walk == pytest.approx(2**-53 / (4 * 2), rel=1e-12)
    assert drift_mse(4, lam, drift="linear", rate=1e300) == math.inf


@pytest.mark.parametrize("spec, match", [
    ("constant:1.5", r"^`schedule` 'constant:1.5': momentum must be in \[0, 1\); got 1.5\.$"),
    ("linear:", r"^`schedule` 'linear:': a momentum must follow ':', e.g. 'linear:0.9'\.$"),
    ("cosine: ", r"a momentum must follow ':'"),
    ("paper:", r"^`schedule` 'paper:': 'paper' takes no value"),
    ("paper:0.5", r"'paper' takes no value"),
    ("constant", r"^`schedule` 'constant': 'constant' needs a momentum"),
    ("constant:nan", r"momentum must be in \[0, 1\); got nan"),
    ("linear:-0.1", r"momentum must be in \[0, 1\); got -0.1"),
    ("constant:0.9:1", r"the value after ':' must be a real number; got '0.9:1'"),
    ("lin:0.5", r"^`schedule` 'lin:0.5': the kind before ':' must be one of .*Did you mean 'linear'"),
])
def test_schedule_spec_fully_validated(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_momentum_schedule(spec)
    with pytest.raises(ValueError, match=match):
        momentum_schedule(spec, m=4, epochs=3)


def test_parse_momentum_schedule_results():
    assert parse_momentum_schedule("constant:0.9") == MomentumScheduleSpec("constant", 0.9)
    kind, value = parse_momentum_schedule("linear")
    assert (kind, value) == ("linear", None)
    assert parse_momentum_schedule("cosine:0").value == 0.0
    assert _parse_spec is parse_momentum_schedule
    with pytest.raises(TypeError, match=r"`schedule` must be a string"):
        parse_momentum_schedule(0.9)
