"""``bn-noise theory``: table and JSON against the closed forms of docs/theory.md; bad input."""

import json
import math
import subprocess
import sys

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noise_theory as _fast
import noise_theory as nt
from simulations.cli import main


def _json(capsys, *argv):
    assert main(["theory", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def _num(v):
    return float(v) if isinstance(v, str) else v  # strict JSON: "inf" strings


def test_default_table_lists_the_default_batch_sizes(capsys):
    assert main(["theory"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["m", "Var"])
    body = lines[header + 2: header + 10]
    assert [int(r.split()[0]) for r in body] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert body[0].split()[4:6] == ["inf", "inf"]  # E[s/s_B], E[s2/s_B2] at m = 2
    assert "Var xi_sigma (input)" not in out


@pytest.mark.parametrize("ddof", [0, 1])
def test_json_values_match_closed_forms(capsys, ddof):
    data = _json(capsys, "--batch-size", "2", "3", "4", "8", "1000", "--ddof", str(ddof))
    assert data["seed"] is None and data["ddof"] == ddof and data["eps"] == 0.0
    for row in data["rows"]:
        m = row["m"]
        assert row["var_mean_noise"] == pytest.approx(1 / m, rel=1e-14)
        assert row["mean_variance_noise"] == pytest.approx((m - 1) / (m - ddof), rel=1e-14)
        assert row["var_variance_noise"] == pytest.approx(2 * (m - 1) / (m - ddof) ** 2, rel=1e-13)
        c1 = math.sqrt((m - ddof) / 2) * math.exp(math.lgamma((m - 2) / 2) - math.lgamma((m - 1) / 2)) \
            if m > 2 else math.inf
        assert _num(row["e_sigma_over_sigma_b"]) == pytest.approx(c1, rel=1e-11)
        c2 = (m - ddof) / (m - 3) if m > 3 else math.inf
        assert _num(row["e_sigma2_over_sigma_b2"]) == pytest.approx(c2, rel=1e-13)
        assert row["in_batch_bound"] == pytest.approx(math.sqrt(m - 1), rel=1e-15)
        assert row["in_batch_fourth_moment"] == pytest.approx(3 * (m - 1) / (m + 1), rel=1e-12)
        oob = (m + 1) / (m - 3) if m > 3 else math.inf
        assert _num(row["out_of_batch_variance"]) == pytest.approx(oob, rel=1e-12)
    assert data["rows"][0]["e_sigma_over_sigma_b"] == "inf"


def test_eps_makes_divergent_moments_finite(capsys):
    data = _json(capsys, "-m", "2", "3", "--eps", "1e-5", "--seed", "7")
    assert data["seed"] == 7 and data["eps"] == 1e-5
    r2, r3 = data["rows"]
    # mpmath references of tests/noise_theory/test_scale_moment.py
    assert r2["e_sigma2_over_sigma_b2"] == pytest.approx(558.50471332564765053, rel=1e-10)
    assert r3["e_sigma2_over_sigma_b2"] == pytest.approx(15.795626470476480102, rel=1e-10)


def test_non_gaussian_columns(capsys):
    # exponential input: skewness 2, excess kurtosis 6
    data = _json(capsys, "-m", "2", "8", "--skewness", "2", "--excess-kurtosis", "6")
    for row in data["rows"]:
        m = row["m"]
        var_unbiased = (6 + 3) / m - (m - 3) / (m * (m - 1))  # docs/theory.md (3.1)
        assert row["var_variance_noise_input"] == pytest.approx(((m - 1) / m) ** 2 * var_unbiased, rel=1e-12)
        cov = (m - 1) / m * 2 / m
        assert row["corr_noises_input"] == pytest.approx(
            cov / math.sqrt(row["var_mean_noise"] * row["var_variance_noise_input"]), rel=1e-12)
    assert main(["theory", "-m", "4", "--excess-kurtosis", "3"]) == 0
    out = capsys.readouterr().out
    assert "Var xi_sigma (input)" in out and "excess kurtosis 3" in out


def test_duplicate_batch_sizes_are_listed_once(capsys):
    assert [r["m"] for r in _json(capsys, "-m", "4", "4", "2")["rows"]] == [4, 2]


@pytest.mark.parametrize("argv,needle", [
    (["--batch-size", "1"], "--batch-size"),
    (["--batch-size", "x"], "--batch-size"),
    (["--batch-size", "2.5"], "--batch-size"),
    (["--ddof", "2"], "--ddof"),
    (["--eps", "-1"], "--eps"),
    (["--eps", "nan"], "--eps"),
    (["--excess-kurtosis", "-3"], "--excess-kurtosis"),
    (["--skewness", "3"], "--excess-kurtosis"),
    (["--skewness", "2", "--excess-kurtosis", "1"], "--excess-kurtosis"),
    (["--seed", "-1"], "--seed"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        status = main(["theory", *argv])
        raise SystemExit(status)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["theory", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--batch-size", "--skewness", "--excess-kurtosis", "--ddof", "--eps", "--json", "--seed"):
        assert opt in out


def test_console_script_bad_batch_size_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "simulations", "theory", "--batch-size", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--batch-size" in proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------ noise_theory._fast (the CLI's route)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(2, 10**7), ddof=st.integers(0, 1))
def test_fast_bn_moments_match_the_public_laws(m, ddof):
    var_mean, mean_var, var_var = _fast.bn_noise_moments(m, ddof=ddof)
    law = nt.variance_noise(m, ddof=ddof)
    assert var_mean == pytest.approx(float(nt.mean_noise(m).var()), rel=1e-15)
    assert mean_var == pytest.approx(float(law.mean()), rel=1e-15)
    assert var_var == pytest.approx(float(law.var()), rel=1e-14)
    c1, c2 = _fast.inverse_scale_moments(m, ddof=ddof)
    for got, power in ((c1, 1), (c2, 2)):
        want = float(nt.scale_moment(m, power, ddof=ddof))
        assert got == want or got == pytest.approx(want, rel=2e-14)
    bound, fourth, oob = _fast.bn_output_moments(m)
    assert bound == pytest.approx(math.sqrt(m - 1), rel=1e-15)
    if m > 2:  # m = 2 is a two-point law: asked for alone
        assert fourth == pytest.approx(float(nt.bn_output(m).moment(4)), rel=1e-12)
    want_oob = float(nt.bn_output(m, model="out_of_batch").var())
    assert oob == want_oob or oob == pytest.approx(want_oob, rel=1e-13)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(2, 5000), s=st.floats(-3, 3), extra=st.floats(0, 20))
def test_fast_input_law_moments_match_batch_statistics_moments(m, s, extra):
    k = s * s - 2 + extra
    var_var, corr = _fast.input_law_moments(m, skewness=s, excess_kurtosis=k)
    ref = nt.batch_statistics_moments(m, skewness=s, excess_kurtosis=k)
    assert var_var == pytest.approx(float(ref.var_var), rel=1e-12, abs=1e-300)
    assert corr == pytest.approx(float(ref.corr), rel=1e-12, abs=1e-15)


def test_fast_c1_against_mpmath_up_to_m_1e7():
    # mpmath at 40 digits: sqrt(m/2) Gamma((m-2)/2) / Gamma((m-1)/2)
    mpmath.mp.dps = 40
    ms = [3, 4, 5, 9, 21, 22, 100, 12345, 10**6, 10**7]
    c1, _ = _fast.inverse_scale_moments(ms)
    worst = 0.0
    for m, got in zip(ms, c1):
        k = mpmath.mpf(m - 1) / 2
        want = mpmath.sqrt(mpmath.mpf(m) / 2) * mpmath.gamma(k - mpmath.mpf(1) / 2) / mpmath.gamma(k)
        worst = max(worst, abs(got - float(want)) / float(want))
    assert worst < 1e-14, worst


def test_fast_refuses_bad_input_with_named_messages():
    with pytest.raises(ValueError, match=r"`m` must be an integer >= 2; got m=1\."):
        _fast.bn_noise_moments(1)
    with pytest.raises(ValueError, match=r"`ddof` must be smaller than `m`"):
        _fast.inverse_scale_moments(2, ddof=2)
    with pytest.raises(ValueError, match=r"`eps` must be a real number >= 0"):
        _fast.inverse_scale_moments(4, eps=-1.0)
    with pytest.raises(ValueError, match=r"Pearson's bound"):
        _fast.input_law_moments(4, skewness=2.0, excess_kurtosis=1.0)
    with pytest.raises(ValueError, match=r"`momentum` must be a real number >= 0 and < 1"):
        _fast.ema_factor(1.0)


def test_eps_footnote_matches_what_is_printed(capsys):
    # eps > 0: E[s/s_B] and E[s2/s_B2] are finite, so the footnote must not call them inf
    assert main(["theory", "-m", "2", "3", "8", "--eps", "1e-3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    note = next(line for line in lines if line.startswith("inf =")).split(").")[0]
    assert "E[s/s_B]" not in note and "E[s2/s_B2]" not in note and "Var z out" in note
    assert "finite at every m" in out
    # no divergent cell at all: no inf footnote
    assert main(["theory", "-m", "8", "16"]) == 0
    assert "inf =" not in capsys.readouterr().out
    assert main(["theory", "-m", "3", "8"]) == 0  # E[s/s_B] finite at m = 3
    note = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("inf ="))
    assert "E[s/s_B]:" not in note and "E[s2/s_B2]" in note
