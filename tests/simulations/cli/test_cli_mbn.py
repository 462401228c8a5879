"""CLI tests for `bn-noise schedule` and `bn-noise simulate mbn` (in-process, fast)."""

import json

import numpy as np
import pytest

from simulations.cli import main


def run_json(capsys, argv):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_schedule_json_answers_the_end_of_training_question(capsys):
    out = run_json(capsys, ["schedule", "--batch-size", "2", "4", "8", "16",
                            "--ideal-batch-size", "32", "--epochs", "200"])
    assert out["seed"] is None
    for s, m in zip(out["schedules"], [2, 4, 8, 16]):
        assert s["m"] == m and len(s["momentum"]) == 200 and len(s["epoch"]) == 200
        assert s["momentum"][0] == 0.0
        assert s["final_momentum"] == pytest.approx(1 - m / 32)
        assert s["final_mean_noise_var"] == pytest.approx(1 / (64 - m), rel=1e-12)
        assert s["bn_mean_noise_var_at_m0"] == pytest.approx(1 / 32)
        assert s["momentum_for_m0"] == pytest.approx((32 - m) / (32 + m))
        assert s["tau"] == pytest.approx(0.9 ** (m / 32))
        np.testing.assert_allclose(np.array(s["pytorch_momentum"]) + s["momentum"], 1.0)


def test_schedule_table_and_iterations(capsys):
    assert main(["schedule", "-m", "2", "--epochs", "20", "--tau0", "0.85",
                 "--iterations-per-epoch", "5", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "0.0161290" in text or "0.016129" in text  # 1/62
    assert "Var last step" in text and "seed 3 recorded" in text
    out = run_json(capsys, ["schedule", "-m", "2", "--epochs", "20", "--tau0", "0.85",
                            "--iterations-per-epoch", "5"])
    s = out["schedules"][0]
    assert s["tau"] == pytest.approx(0.85 ** (2 / 32))
    # 5 steps at the last momentum 0.9375 do not reach stationarity: more noise than 1/62
    assert s["last_step_mean_noise_var"] > s["final_mean_noise_var"]


def test_schedule_large_batch_is_plain_bn(capsys):
    s = run_json(capsys, ["schedule", "-m", "64", "--epochs", "5"])["schedules"][0]
    assert all(v == 0.0 for v in s["momentum"]) and s["momentum_for_m0"] == 0.0
    assert s["final_mean_noise_var"] == pytest.approx(1 / 64)


@pytest.mark.parametrize("argv, match", [
    (["schedule", "-m", "1"], "batch size must be an integer >= 2"),
    (["schedule", "--epochs", "1"], "epochs must be an integer >= 2"),
    (["schedule", "--tau0", "1.5"], "tau0 must be a real number"),
    (["simulate", "mbn", "--schedule", "papr"], "Did you mean 'paper'"),
    (["simulate", "mbn", "--schedule", "constant:1.5", "--chains", "10"],
     "argument --schedule: `schedule` 'constant:1.5': momentum must be in [0, 1); got 1.5."),
    (["simulate", "mbn", "--drift", "walk"], "needs a rate"),
    (["simulate", "mbn", "--drift", "wobble:1"], "one of 'none', 'linear', 'walk'"),
    (["simulate", "mbn", "--chains", "1"], "chains must be an integer >= 2"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, match):
    with pytest.raises(SystemExit) as exc_info:
        status = main(argv)
        raise SystemExit(status)
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and "Traceback" not in err


def test_simulate_mbn_json_agrees_and_replays(capsys):
    argv = ["simulate", "mbn", "-m", "2", "4", "--epochs", "4", "--iterations-per-epoch", "10",
            "--chains", "4000", "--seed", "5", "--workers", "2"]
    out = run_json(capsys, argv)
    assert out["seed"] == 5
    assert [r["verdict"] for r in out["results"]] == ["agree", "agree"]
    assert len(out["rows"]) == 2 * 3 * 40
    again = run_json(capsys, argv[:-2] + ["--workers", "1"])
    assert again["rows"] == out["rows"]


def test_simulate_mbn_fast_drift_table_and_csv(capsys, tmp_path):
    path = tmp_path / "mbn.csv"
    assert main(["simulate", "mbn", "-m", "4", "--schedule", "constant:0.9", "--fast",
                 "--drift", "linear:0.01", "--epochs", "3", "--iterations-per-epoch", "40",
                 "--chains", "2000", "--seed", "9", "--out", str(path)]) == 0
    text = capsys.readouterr().out
    assert "seed entropy: 9" in text and "optimal momentum 0.8915" in text
    assert "staleness" in text
    lines = path.read_text().splitlines()
    assert lines[0].startswith("m,step,epoch,momentum,quantity")
    assert len(lines) == 1 + 3 * 100


def test_simulate_mbn_prints_fresh_seed(capsys):
    assert main(["simulate", "mbn", "-m", "2", "--epochs", "2", "--iterations-per-epoch", "3",
                 "--chains", "50", "--fast"]) == 0
    text = capsys.readouterr().out
    entropy = int(text.split("seed entropy: ")[1].split()[0])
    assert entropy > 0


def test_bench_entry_reports_fast_path_rates():
    from simulations.bench import EXTRA_BENCHMARKS, bench_fast_path

    res = bench_fast_path(0.02, batch_sizes=(2, 64), chains=256, steps=20)
    assert set(res) == {"mbn_fast_chain_steps_per_s_m2", "mbn_fast_chain_steps_per_s_m64",
                        "mbn_fast_max_over_min_rate"}
    assert all(v > 0 for v in res.values()) and res["mbn_fast_max_over_min_rate"] >= 1
    assert any(getattr(f, "__name__", "") == "bench_fast_path" for f in EXTRA_BENCHMARKS)


def test_raw_chains_drawn_in_groups_give_the_same_numbers(monkeypatch):
    """The raw path draws chains in groups of <= _RAW_GROUP values (bounded memory for any
    m and n); the numbers, hence the results, are those of one (n, m) draw."""
    import numpy as np

    import simulations.models._mbn as mbn

    lam = np.full(6, 0.8)
    one = mbn.mbn_chains(16, lam, chains=50, rng=3, drift="walk:0.1")
    monkeypatch.setattr(mbn, "_RAW_GROUP", 40)     # groups of 2 chains
    grouped = mbn.mbn_chains(16, lam, chains=50, rng=3, drift="walk:0.1")
    for a, b in zip(one, grouped):
        np.testing.assert_array_equal(a, b)


def test_drift_mse_trajectory_limits():
    import numpy as np

    import noise_theory as nt
    from simulations.cli._simulate_mbn import drift_mse_trajectory

    lam = np.r_[0.0, np.full(3000, 0.9)]
    for kind, rate in (("linear", 0.01), ("walk", 0.05)):
        got = drift_mse_trajectory(4, lam, (kind, rate))
        want = float(nt.drift_mse(4, 0.9, drift=kind, rate=rate))
        assert abs(got[-1] / want - 1) < 1e-12, (kind, got[-1], want)
    # no drift: the noise-only recursion, for a ramping schedule too
    ramp = nt.momentum_schedule("paper", m=4, epochs=3, iterations_per_epoch=20, m0=32)
    np.testing.assert_allclose(drift_mse_trajectory(4, ramp, ("walk", 0.0)),
                               nt.noise_trajectory(4, ramp).mean_noise_var, rtol=1e-12)


@pytest.mark.parametrize("drift", ["linear:0.01", "walk:0.05"])
def test_drift_table_z_against_drift_aware_theory(capsys, drift):
    # the table's E[mu^2] theory and z are the drift-aware MSE (noise + staleness), and
    # the run gets a verdict; the noise-only theory would be far off at the last step
    out = run_json(capsys, ["simulate", "mbn", "-m", "4", "--schedule", "constant:0.9",
                            "--fast", "--drift", drift, "-T", "3",
                            "--iterations-per-epoch", "40", "--chains", "20000",
                            "--seed", "9"])
    rows = [r for r in out["rows"] if r["quantity"] == "E[mu^2]"]
    assert all(isinstance(r["z"], float) for r in out["rows"])
    import noise_theory as nt

    kind, rate = drift.split(":")
    stationary = float(nt.drift_mse(4, 0.9, drift=kind, rate=float(rate)))
    # 120 steps: within 0.9^120 ~ 3e-6 (relative) of stationarity
    assert rows[-1]["theory"] == pytest.approx(stationary, rel=1e-4)
    assert abs(rows[-1]["z"]) < 4.5
    assert out["results"][0]["verdict"] == "agree"
    noise_only = float(nt.noise_trajectory(4, [0.0] + [0.9] * 119).mean_noise_var[-1])
    assert abs(rows[-1]["estimate"] - noise_only) > 10 * rows[-1]["stderr"]
    assert main(["simulate", "mbn", "-m", "4", "--schedule", "constant:0.9", "--fast",
                 "--drift", drift, "-T", "2", "--iterations-per-epoch", "20", "--chains",
                 "4000", "--seed", "9"]) == 0
    text = capsys.readouterr().out
    assert "drift-aware" in text and "-> agree" in text and "nan" not in text


def test_std_drift_rows_not_tested(capsys):
    out = run_json(capsys, ["simulate", "mbn", "-m", "4", "--std-drift", "walk:0.05",
                            "-T", "2", "--iterations-per-epoch", "10", "--chains", "2000",
                            "--seed", "3"])
    assert all(r["theory"] is None and r["z"] is None for r in out["rows"])
    res = out["results"][0]
    assert res["verdict"] is None and "--std-drift" in res["reason"]
