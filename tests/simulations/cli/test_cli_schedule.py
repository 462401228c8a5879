"""``bn-noise schedule``: every epoch on request, the CSV, tau in both conventions, and the
O(epochs) exact per-epoch noise against ``noise_trajectory``'s per-step recursion."""

import csv
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import noise_theory as nt
from noise_theory._fast import epoch_end_factors
from simulations.cli import main


def _body(text, n_head=1):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["m", "epoch"]) + 2
    out = []
    for line in lines[start:]:
        if not line.strip() or not line.split()[0].isdigit():
            break
        out.append(line.split())
    return out


def test_default_table_is_a_sample_and_says_so(capsys):
    assert main(["schedule", "-m", "4", "--epochs", "90"]) == 0
    out = capsys.readouterr().out
    epochs = [int(r[1]) for r in _body(out)]
    assert epochs[:2] == [1, 2] and epochs[-2:] == [89, 90] and len(epochs) < 90
    assert "--all-epochs prints every one" in out


def test_all_epochs_prints_every_epoch(capsys):
    assert main(["schedule", "-m", "2", "4", "--epochs", "30", "--all-epochs"]) == 0
    out = capsys.readouterr().out
    rows = _body(out)
    assert [(int(r[0]), int(r[1])) for r in rows] == [(m, t) for m in (2, 4) for t in range(1, 31)]
    assert "a sample of" not in out


def test_tau_in_both_conventions(capsys):
    assert main(["schedule", "-m", "4", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)["schedules"][0]
    tau = float(nt.inference_momentum(4, m0=32, tau0=0.9))
    assert s["tau"] == pytest.approx(tau, rel=1e-15)
    assert s["tau_pytorch"] == pytest.approx(float(nt.to_pytorch_momentum(tau)), rel=1e-15)
    assert s["exact_reason"] == "not computed: needs --iterations-per-epoch"
    assert main(["schedule", "-m", "4"]) == 0
    out = capsys.readouterr().out
    assert "tau pytorch" in out and f"{1 - tau:.6g}" in out


def test_out_csv(capsys, tmp_path):
    path = tmp_path / "s.csv"
    assert main(["schedule", "-m", "2", "8", "--epochs", "50", "--iterations-per-epoch", "7",
                 "--out", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 100 and "nan" not in path.read_text().lower()
    for m in (2, 8):
        mine = [r for r in rows if int(r["m"]) == m]
        lam = nt.paper_momentum(np.arange(1, 51), 50, m)
        np.testing.assert_allclose([float(r["lambda"]) for r in mine], lam, rtol=0, atol=0)
        np.testing.assert_allclose([float(r["pytorch_momentum"]) for r in mine], 1 - lam)
        steps = nt.momentum_schedule("paper", m=m, epochs=50, iterations_per_epoch=7)
        traj = nt.noise_trajectory(m, steps)
        np.testing.assert_allclose([float(r["epoch_end_var_mean_noise"]) for r in mine],
                                   traj.mean_noise_var[6::7], rtol=1e-12)
        np.testing.assert_allclose([float(r["epoch_end_var_variance_noise"]) for r in mine],
                                   traj.variance_noise_var[6::7], rtol=1e-12)
        np.testing.assert_allclose([float(r["stationary_var_variance_noise"]) for r in mine],
                                   nt.ema_variance_noise(m, lam).var, rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), epochs=st.integers(1, 30), n=st.integers(1, 40),
       near_one=st.booleans())
def test_epoch_end_factors_match_the_per_step_recursion(seed, epochs, n, near_one):
    rng = np.random.default_rng(seed)
    lam = 1 - 10.0 ** rng.uniform(-6, 0, epochs) if near_one else rng.uniform(0, 1, epochs)
    lam = np.clip(lam, 0.0, 1 - 1e-12)
    traj = nt.noise_trajectory(4, np.repeat(lam, n))
    np.testing.assert_allclose(epoch_end_factors(lam, n) / 4, traj.mean_noise_var[n - 1::n],
                               rtol=1e-11)


def test_epoch_end_factors_long_epochs_are_bounded_and_stationary():
    # 1e9 steps per epoch cost one operation per epoch; the end is the stationary value
    f = epoch_end_factors([0.0, 0.5, 0.999999], 10**9)
    np.testing.assert_allclose(f, [1.0, 1 / 3, 1e-6 / 1.999999], rtol=1e-9)


def test_epoch_end_factors_refuse_bad_input():
    with pytest.raises(ValueError, match=r"`per_epoch` must be a real number >= 0 and < 1"):
        epoch_end_factors([0.5, 1.0], 3)
    with pytest.raises(ValueError, match=r"`per_epoch` must be a non-empty 1-D array"):
        epoch_end_factors([[0.5]], 3)
    with pytest.raises(ValueError, match=r"`iterations_per_epoch` must be an integer >= 1"):
        epoch_end_factors([0.5], 0)


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["schedule", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for needle in ("--ideal-batch-size M0, --m0 M0", "(default 32", "(default 200)",
                   "(default 0.9", "default 2 4 8 16", "(default: none"):
        assert needle in out, needle


@pytest.mark.parametrize("command", [["schedule", "-m", "2"], ["advise", "--batch-size", "2"]])
def test_epochs_above_the_table_limit_are_refused_up_front(command, capsys):
    """1e6 epochs of a per-epoch table took 1.0 GB (--json): the limit is 1e5, said in one line."""
    with pytest.raises(SystemExit) as exc:
        main([*command, "--epochs", "1000000"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--epochs" in err[0] and "<= 100000" in err[0]
