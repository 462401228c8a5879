"""No ``nan`` in any command's output: a divergent quantity is ``inf`` with its condition,
a value that was not computed is an empty cell with the reason.

Each command's default run (a fixed ``--seed``; ``advise`` with the issue's question, which
has no default batch size) is scanned as a table and as JSON.
"""

import json
import re

import pytest

from simulations import bench as _bench
from simulations.cli import main

#: a nan value (format_value and the JSON spell it "nan"); the prose "NaN" is allowed
NAN = re.compile(r"\bnan\b")


def _nan_free(text):
    hits = [line for line in text.splitlines() if NAN.search(line)]
    assert not hits, "nan in the output:\n" + "\n".join(hits[:10])


COMMANDS = [
    ["theory"],
    ["theory", "--eps", "1e-3"],
    ["theory", "--skewness", "1", "--excess-kurtosis", "2"],
    ["schedule"],
    ["schedule", "--iterations-per-epoch", "10"],
    ["advise", "--batch-size", "4", "--ideal-batch-size", "32", "--epochs", "90"],
    ["advise", "--batch-size", "4", "--epochs", "90", "--iterations-per-epoch", "10"],
    ["derive", "--list"],
    ["derive", "scale_moment"],
    ["derive", "glm_regularizer"],
    ["simulate", "bn"],
    ["simulate", "mbn"],
    ["simulate", "regularizer"],
    ["regularizer"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a))
def test_no_nan_in_table_or_json(capsys, argv):
    status = main([*argv, "--seed", "1"])
    text = capsys.readouterr().out
    assert status in (0, 1), status  # 1: a Monte Carlo check disagreed, still printed
    _nan_free(text)
    status = main([*argv, "--seed", "1", "--json"])
    out = capsys.readouterr().out
    assert status in (0, 1), status
    json.loads(out)  # strict JSON
    _nan_free(out)


def test_no_nan_in_bench(capsys, monkeypatch):
    # bench times things: its default run takes about 10 s; short calls, same rows
    monkeypatch.setattr(_bench, "_SAMPLES_PER_CALL", 1 << 20)
    monkeypatch.setattr(_bench, "EXTRA_BENCHMARKS", [])
    for extra in ([], ["--json"]):
        assert main(["bench", "--seconds", "0.01", *extra]) == 0
        _nan_free(capsys.readouterr().out)


@pytest.mark.slow
def test_no_nan_in_the_default_report(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # cold derivation cache
    out = tmp_path / "rep"
    assert main(["report", "--out", str(out), "--json"]) == 0
    _nan_free(capsys.readouterr().out)
    for name in ("report.md", "report.json"):
        _nan_free((out / name).read_text())
    for csv_file in sorted((out / "data").glob("*.csv")):
        _nan_free(csv_file.read_text())
