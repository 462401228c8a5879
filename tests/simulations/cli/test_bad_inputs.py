"""Table-driven bad inputs (the README's promise): every one is refused before any work with
ONE line on stderr naming the argument, exit status 2, and no file left behind; the same
for the Python API, with an InvalidParameter (ParameterValueError/ParameterTypeError)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from noise_theory._lib import InvalidParameter
from simulations.cli._main import main

# (argv, text the one-line message must contain). Paths: "{tmp}" is the test's folder.
CLI_CASES = [
    # simulate bn
    (["simulate", "bn", "-n", "1e30"], "--samples"),
    (["simulate", "bn", "-n", "1000000000000"], "--samples"),
    (["simulate", "bn", "-n", "0"], "--samples"),
    (["simulate", "bn", "-m", "1"], "--batch-size"),
    (["simulate", "bn", "-m", "2", "2000000", "--dist", "laplace", "-n", "10"], "`m` must be <= 1048576"),
    (["simulate", "bn", "--dist", "foo"], "`dist`"),
    (["simulate", "bn", "--dist", "t"], "`df`"),
    (["simulate", "bn", "--df", "3"], "`df`"),
    (["simulate", "bn", "--df", "0", "--dist", "t"], "--df"),
    (["simulate", "bn", "-m", "4", "--ddof", "4"], "`ddof`"),
    (["simulate", "bn", "--eps", "-1"], "--eps"),
    (["simulate", "bn", "--eps", "nan"], "--eps"),
    (["simulate", "bn", "--alpha", "1"], "--alpha"),
    (["simulate", "bn", "--workers", "0"], "--workers"),
    (["simulate", "bn", "--dist", "relu"], "`eps`"),
    (["simulate", "bn", "--out", "/proc/x.csv"], "--out"),
    (["simulate", "bn", "--out", "{tmp}/missing/x.csv"], "--out"),
    (["simulate", "bn", "--out", "{tmp}"], "--out"),
    (["simulate", "bn", "--seed", "-1"], "--seed"),
    # simulate mbn
    (["simulate", "mbn", "--schedule", "constant:1.5"], "--schedule"),
    (["simulate", "mbn", "--schedule", "foo"], "--schedule"),
    (["simulate", "mbn", "--schedule", "constant:x"], "--schedule"),
    (["simulate", "mbn", "-m", "1000000000000", "--epochs", "2"], "--batch-size"),
    (["simulate", "mbn", "--epochs", "100000000"], "--epochs"),
    (["simulate", "mbn", "--epochs", "1"], "--epochs"),
    (["simulate", "mbn", "--chains", "100000000000"], "--chains"),
    (["simulate", "mbn", "--chains", "1"], "--chains"),
    (["simulate", "mbn", "--record", "5000"], "--record"),
    (["simulate", "mbn", "--drift", "linear:x"], "--drift"),
    (["simulate", "mbn", "--drift", "foo:1"], "--drift"),
    (["simulate", "mbn", "--std-drift", "walk:-1"], "--std-drift"),
    (["simulate", "mbn", "--m0", "1"], "--ideal-batch-size"),
    (["simulate", "mbn", "--out", "/proc/x.csv"], "--out"),
    # regularizer
    (["regularizer", "-m", "1000000000000"], "--batch-size"),
    (["regularizer", "--momentum", "0.9999999999"], "--momentum"),
    (["regularizer", "--momentum", "1"], "--momentum"),
    (["regularizer", "--family", "foo"], "`family`"),
    (["regularizer", "--y", "5"], "`y`"),
    (["regularizer", "--h", "nan"], "--h"),
    (["regularizer", "--h", *["1"] * 1001], "--h"),
    (["regularizer", "--samples", "-1"], "--samples"),
    (["regularizer", "--eps", "-1"], "--eps"),
    # report
    (["report", "--out", "/proc/x"], "--out"),
    (["report", "--workers", "0"], "--workers"),
    (["report", "--out", "{tmp}/existing"], "--force"),
]


def _fill(argv, tmp):
    return [a.replace("{tmp}", str(tmp)) for a in argv]


@pytest.mark.parametrize("argv, named", CLI_CASES, ids=[" ".join(a)[:60] for a, _ in CLI_CASES])
def test_cli_bad_input(argv, named, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").mkdir()
    (tmp_path / "existing" / "keep").write_text("old")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    t0 = time.perf_counter()
    try:
        status = main(_fill(argv, tmp_path))
    except SystemExit as exc:   # argparse: at parse time
        status = exc.code
    seconds = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1, err
    assert named in err, err
    assert "internal error" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before      # nothing left
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert (tmp_path / "existing" / "keep").read_text() == "old"
    assert seconds < 60   # refused up front, not after the work


def _api_cases():
    from simulations.models._bn import simulate_bn
    from simulations.models._glm_loss import simulate_glm_loss
    from simulations.models._mbn import mbn_chains, simulate_drift_scan, simulate_mbn

    loss = dict(gamma=2.0, beta=0.0)
    lam = [0.9] * 10
    return [
        (lambda: simulate_bn(4, 1e30), TypeError, r"`samples` must be an integer"),
        (lambda: simulate_bn(4, 100.0), TypeError, r"`samples` must be an integer"),
        (lambda: simulate_bn(4, 10 ** 12), ValueError, r"`samples` must be an integer <= 1e\+11"),
        (lambda: simulate_bn(4, True), TypeError, r"`samples`"),
        (lambda: simulate_bn(1, 100), ValueError, r"`m` must be an integer >= 2"),
        (lambda: simulate_bn(4, 100, bins=10 ** 6), ValueError, r"`bins` must be an integer >= 2 and <= 16384"),  # noqa: E501
        (lambda: simulate_bn(2 * 10 ** 6, 100, dist="laplace"), ValueError, r"`m` must be <= 1048576"),
        (lambda: simulate_bn(4, 100, ddof=4), ValueError, r"`ddof`"),
        (lambda: simulate_bn(4, 100, dist="relu"), ValueError, r"`eps` must be > 0"),
        (lambda: simulate_mbn(4, [], chains=10), ValueError, r"`momenta` must have between 1"),
        (lambda: simulate_mbn(4, np.full(2 * 10 ** 6, 0.9), chains=10), ValueError,
         r"`momenta` must have between 1 and 1000000"),
        (lambda: simulate_mbn(10 ** 12, lam, chains=10), ValueError, r"`m` must be <= 1048576.*fast"),
        (lambda: simulate_mbn(4, lam, chains=10.5), TypeError, r"`chains` must be an integer"),
        (lambda: simulate_mbn(4, lam, chains=10 ** 11), ValueError, r"random numbers"),
        (lambda: simulate_mbn(4, [0.9] * 2000, chains=10, record=range(1, 2001)), ValueError,
         r"`record` must list at most 1000"),
        (lambda: simulate_mbn(4, lam, chains=10, block_size=10 ** 8), ValueError, r"`block_size`"),
        (lambda: mbn_chains(4, [], chains=10), ValueError, r"`momenta`"),
        (lambda: mbn_chains(4, lam, chains=10 ** 8), ValueError, r"`chains` x recorded steps"),
        (lambda: simulate_drift_scan(4, [0.5], drift="walk:0.1", steps=10 ** 7, chains=10),
         ValueError, r"`steps`"),
        (lambda: simulate_glm_loss(1.0, 1.0, m=10 ** 12, **loss), ValueError, r"lower `n`, `m`"),
        (lambda: simulate_glm_loss(1.0, 1.0, m=4, momentum=1 - 1e-12, **loss), ValueError,
         r"EMA batches at momentum=0\.9999"),
        (lambda: simulate_glm_loss(1.0, 1.0, m=4, n=1e30, **loss), TypeError, r"`n` must be an integer"),
        (lambda: simulate_glm_loss(np.zeros(2000), 1.0, m=4, **loss), ValueError, r"at most 1000"),
    ]


API_CASES = _api_cases()


@pytest.mark.parametrize("case", range(len(API_CASES)))
def test_api_bad_input(case):
    call, kind, match = API_CASES[case]
    t0 = time.perf_counter()
    with pytest.raises(kind, match=match) as info:
        call()
    assert isinstance(info.value, InvalidParameter)
    assert time.perf_counter() - t0 < 30


def test_report_api_unwritable_out_fails_before_any_work(monkeypatch):
    from simulations.report import _build

    def no_work(*a, **k):
        raise AssertionError("the checks ran before the output folder was checked")

    monkeypatch.setattr(_build, "_running", no_work)
    with pytest.raises(OSError):
        _build.build_report("/proc/bn-noise-x")


def test_number_of_bad_inputs():
    """The count quoted in the report of this work."""
    assert len(CLI_CASES) + len(API_CASES) + 1 == 69
