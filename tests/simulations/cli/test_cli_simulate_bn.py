"""``bn-noise simulate bn`` in-process: table, JSON, CSV, replay, and one-line errors."""

import csv
import json

import pytest

from simulations.cli import main


def test_table_prints_seed_and_verdicts(capsys):
    assert main(["simulate", "bn", "-m", "4", "8", "-n", "200000", "--seed", "12",
                 "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "seed entropy: 12" in out and "--seed 12" in out
    assert "Bonferroni" in out and "E[sigma^2/sigma_B^2]" in out
    assert "KS z_in vs bn_output(in_batch)" in out
    assert out.rstrip().endswith("overall: agree")


def test_json_is_strict_and_replayable(capsys):
    assert main(["simulate", "bn", "-m", "2", "8", "-n", "50000", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    seed = first["seed"]
    assert isinstance(seed, int)
    sims = first["simulations"]
    assert [s["m"] for s in sims] == [2, 8]
    row = next(r for r in sims[0]["moments"] if r["quantity"] == "E[sigma/sigma_B]")
    assert row["theory"] == "inf" and row["verdict"] == "not tested"   # strict JSON: "inf"
    # a divergent moment: no estimate, no z, null (never NaN) and the reason
    assert row["estimate"] is row["stderr"] is row["z"] is row["pvalue"] is None
    assert "diverges" in row["reason"] and "m=2" in row["reason"]
    # replay: same seed, other worker count, batch sizes listed alone -> identical numbers
    assert main(["simulate", "bn", "-m", "8", "-n", "50000", "--json", "--seed", str(seed),
                 "--workers", "1"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["simulations"][0]["moments"] == sims[1]["moments"]


def test_untested_rows_never_read_agree(capsys, tmp_path):
    # m=4: E[sigma^2/sigma_B^2] is finite (4) but its estimator has infinite variance
    out = tmp_path / "bn.csv"
    assert main(["simulate", "bn", "-m", "2", "4", "-n", "20000", "--seed", "5",
                 "--out", str(out)]) == 0
    table = capsys.readouterr().out
    rows = {(r["m"], r["quantity"]): r for r in csv.DictReader(out.open())}
    div = rows["2", "E[sigma/sigma_B]"]
    assert (div["theory"], div["estimate"], div["z"], div["verdict"]) == (
        "inf", "", "", "not tested")
    noz = rows["4", "E[sigma^2/sigma_B^2]"]
    assert noz["verdict"] == "not tested" and noz["z"] == noz["stderr"] == ""
    assert float(noz["estimate"]) > 0 and "variance is infinite" in noz["reason"]
    line = next(ln for ln in table.splitlines() if " E[sigma/sigma_B] " in ln)
    assert line.split()[-2:] == ["not", "tested"] and "inf" in line
    assert "not tested: the moment diverges (theory inf) at m=2" in table
    assert "nan" not in table and "nan" not in out.read_text()


def test_options_reach_the_simulator(capsys):
    assert main(["simulate", "bn", "-m", "6", "-n", "60000", "--dist", "t", "--df", "9",
                 "--ddof", "1", "--eps", "1e-3", "--alpha", "0.05", "--json", "--seed", "1"]) == 0
    sim = json.loads(capsys.readouterr().out)["simulations"][0]
    assert (sim["dist"], sim["ddof"], sim["eps"], sim["alpha"]) == ("t", 1, 1e-3, 0.05)
    assert sim["ks"] == []


def test_csv_output(tmp_path, capsys):
    out = tmp_path / "bn.csv"
    assert main(["simulate", "bn", "-m", "4", "-n", "20000", "--seed", "3",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(out.open()))
    assert rows[0]["m"] == "4" and rows[0]["quantity"] == "E[xi_mu]"
    assert {r["kind"] for r in rows} == {"moment", "ks"}
    assert not list(tmp_path.glob(".*tmp"))   # atomic write left no temp file


@pytest.mark.parametrize("argv, needle", [
    (["-m", "1"], "batch size must be an integer >= 2; got '1'"),
    (["--samples", "0"], "samples must be an integer >= 1; got '0'"),
    (["--dist", "gausian"], "`dist` must be one of"),
    (["--dist", "laplce"], "Did you mean 'laplace'?"),
    (["--eps=-1e-5"], "eps must be a real number >= 0; got '-1e-5'"),
    (["--eps", "-0.5"], "eps must be a real number >= 0; got '-0.5'"),
    (["--workers", "0"], "workers must be an integer >= 1; got '0'"),
    (["--dist", "t"], "`df` is required for dist='t'"),
    (["-m", "4", "--ddof", "4"], "`ddof` must be an integer in [0, m); got ddof=4, m=4"),
    (["--alpha", "1"], "alpha must be a real number > 0 and < 1; got '1'"),
    (["--dist", "relu"], "`eps` must be > 0 for dist='relu'"),
])
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    argv = ["simulate", "bn", "-n", "100", *argv]
    try:
        status = main(argv)
    except SystemExit as exc:   # argparse-level errors
        status = exc.code
    assert status == 2
    cap = capsys.readouterr()
    assert needle in cap.err
    assert cap.err.count("\n") == 1 and "Traceback" not in cap.err
    assert cap.out == ""


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "bn", "--help"])
    assert exc.value.code == 0
    assert "--batch-size" in capsys.readouterr().out


def test_exact_batch_statistics_path_agrees_with_theory(monkeypatch):
    """Above RAW_MAX_M Gaussian batches come from the exact law of (mu_B, sigma_B^2,
    x_1 - mu_B); forced here at small m, every moment and KS test must agree with the
    closed forms (an independent check of that law)."""
    import simulations.models._bn as bn

    monkeypatch.setattr(bn, "RAW_MAX_M", 4)
    for m, ddof, eps in [(8, 0, 0.0), (5, 1, 0.5)]:
        sim = bn.simulate_bn(m, 400_000 * m, ddof=ddof, eps=eps, rng=7, workers=1)
        assert sim.block_size == 1 << 16                      # the exact path ran
        assert sim.verdict == "agree", [(c.quantity, c.z) for c in sim.moments]


def test_huge_batch_size_runs_in_bounded_memory(capsys):
    """`simulate bn -m 1e12 -n 2000`: one batch from the exact law (old code: MemoryError,
    14.6 TiB)."""
    assert main(["simulate", "bn", "-m", "1000000000000", "-n", "2000", "--seed", "1",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["simulations"][0]["batches"] == 1
