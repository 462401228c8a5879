"""bench runs and reports the documented keys (no timed assertions: the machine is shared)."""

import json

import pytest

from simulations import bench as _bench
from simulations.cli import main

KEYS = {"rng_samples_per_s", "simulator_samples_per_s", "naive_samples_per_s",
        "ratio_to_rng", "speedup_vs_naive", "parallel_speedup"}


@pytest.fixture(autouse=True)
def _short_calls(monkeypatch):
    """Tests check keys and plumbing, not speed: 1 Mi samples per timed call."""
    monkeypatch.setattr(_bench, "_SAMPLES_PER_CALL", 1 << 20)


def test_run_bench_keys_and_consistency(monkeypatch):
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [])
    res = _bench.run_bench(seconds=0.02, batch_sizes=(2, 8, 64), workers=2)
    assert KEYS <= res.keys()
    assert set(res["simulator_samples_per_s"]) == {"2", "8", "64"}
    for v in (res["rng_samples_per_s"], res["naive_samples_per_s"],
              *res["simulator_samples_per_s"].values()):
        assert v > 0
    # the ratios are what they say they are
    sim8 = res["simulator_samples_per_s"]["8"]
    assert res["ratio_to_rng"] == pytest.approx(sim8 / res["rng_samples_per_s"])
    assert res["speedup_vs_naive"] == pytest.approx(sim8 / res["naive_samples_per_s"])
    assert res["parallel_speedup"] == pytest.approx(res["parallel_samples_per_s"] / sim8)


def test_extra_benchmarks_are_merged(monkeypatch):
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [lambda seconds: {"extra_steps_per_s": 42.0}])
    res = _bench.run_bench(seconds=0.01, batch_sizes=(8,), workers=1)
    assert res["extra_steps_per_s"] == 42.0


def test_cli_json(capsys, monkeypatch):
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [lambda seconds: {"extra_steps_per_s": 1.5}])
    assert main(["bench", "--json", "--seconds", "0.01"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert KEYS <= res.keys() and res["extra_steps_per_s"] == 1.5


def test_cli_table_names_rows_in_words(capsys, monkeypatch):
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [lambda seconds: {
        "mbn_fast_chain_steps_per_s_m512": 1.0, "mbn_fast_max_over_min_rate": 1.1}])
    assert main(["bench", "--seconds", "0.01", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    body = lines[2:lines.index(next(x for x in lines if x.startswith(("load", "total"))))]
    names = [line.rsplit(None, 1)[0].strip() for line in body]
    assert "simulator / raw generator at m = 8" in names
    assert "BN simulator at m = 8, samples per second (2 workers)" in names
    assert "MBN fast path at m = 512, chain-steps per second (1 worker)" in names
    assert all("_" not in n for n in names), names  # words, not result keys


def test_workers_is_honoured(monkeypatch):
    # the old `os.cpu_count() or 1 if workers is None else ...` ignored `workers`
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [])
    monkeypatch.setattr(_bench.os, "cpu_count", lambda: 4)
    assert _bench.run_bench(seconds=0.01, batch_sizes=(8,), workers=1)["workers"] == 1


def test_progress_bar_on_request(capsys, monkeypatch):
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [lambda seconds: {"x_per_s": 1.0}])
    _bench.run_bench(seconds=0.01, batch_sizes=(2, 8), workers=1, progress=True)
    err = capsys.readouterr().err
    assert "bn-noise bench" in err and "measurement" in err
    _bench.run_bench(seconds=0.01, batch_sizes=(8,), workers=1, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv, match", [
    (["bench", "--seconds", "0"], "seconds must be a real number > 0; got '0'"),
    (["bench", "--seconds", "x"], "seconds must be a real number > 0; got 'x'"),
])
def test_cli_errors(capsys, argv, match):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def test_interleaved_rates_helper():
    calls = []
    rates = _bench._rates([lambda: calls.append("a"), lambda: calls.append("b")],
                          [1000, 10], 0.0)
    assert len(rates) == 2 and all(r > 0 for r in rates)
    # warm-up of each, then at least three rounds timed in turn (a, b, a, b, ...)
    assert calls[:2] == ["a", "b"] and calls[2:8] == ["a", "b"] * 3


def test_api_errors():
    with pytest.raises(ValueError, match=r"`batch_sizes` must include 8"):
        _bench.run_bench(seconds=0.01, batch_sizes=(2,))
    with pytest.raises(ValueError, match=r"`seconds` must be a real number > 0"):
        _bench.run_bench(seconds=0)
