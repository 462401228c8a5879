"""``bn-noise regularizer`` and ``bn-noise simulate regularizer``, run in-process."""

import json
import math

import pytest

from simulations.cli import main


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_regularizer_table(capsys):
    assert main(["regularizer", "-m", "2", "4", "64", "--h", "0", "1.5", "--samples", "2000",
                 "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "seed entropy: 3" in out and "relerr_formula" in out and "quadrature" in out
    assert "quadrature = inf: logistic loss grows like |eta|^1" in out
    assert "m=2: E_eta = inf: E[xi_sigma^(-1/2)] = inf (Gamma shape 0.5 <= 1/2" in out
    assert "nan" not in out
    assert len([ln for ln in out.splitlines() if ln.split()[:1] == ["64"]]) == 2


@pytest.mark.parametrize("argv", [["regularizer", "--help"], ["simulate", "regularizer", "--help"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--json" in out and "--seed" in out and "--batch-size" in out
    if argv[0] == "regularizer":
        assert "--workers W worker threads for the Monte Carlo (default: all cores)" in out
    else:
        assert "--ideal-batch-size M0, --m0 M0" in out and "--epochs T, -T T" in out


def _leaf_commands():
    """Every (sub)command's parser, by its path: ("simulate", "bn"), ("train",), ..."""
    import argparse

    from simulations.cli._main import build_parser

    out, todo = {}, [((), build_parser())]
    while todo:
        path, parser = todo.pop()
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out[path] = parser
        for sub in subs:
            todo += [(path + (name,), p) for name, p in sub.choices.items()]
    return out


_LEAVES = _leaf_commands()


def test_the_walk_finds_every_command():
    assert {("train",), ("report",), ("advise",), ("simulate", "bn"), ("bench",)} <= set(_LEAVES)


@pytest.mark.parametrize("path", sorted(_LEAVES), ids=" ".join)
def test_every_option_help_shows_its_default(path):
    import argparse

    parser = _LEAVES[path]
    missing = [a.option_strings for a in parser._actions
               if a.option_strings and a.nargs != 0 and "--seed" not in a.option_strings
               and not isinstance(a, argparse._HelpAction) and "default" not in (a.help or "")]
    assert not missing, missing


def test_regularizer_json_matches_api(capsys):
    from noise_theory import expected_glm_loss, glm_regularizer

    data = _json(capsys, ["regularizer", "-m", "3", "16", "--h", "1", "--gamma", "1.5",
                          "--beta", "0.2", "--y", "0", "--samples", "20000", "--seed", "4",
                          "--json"])
    assert data["seed"] == 4 and data["family"] == "logistic"
    r3, r16 = data["rows"]
    assert r3["R"] == "inf" and r3["divergence"] == ""
    # m = 3: the formula diverges (E 1/xi_sigma = inf) where the exact loss is finite
    assert r3["relerr_formula"] == "inf" and math.isfinite(r3["quadrature"])
    assert "E[1/xi_sigma] = inf (Gamma shape 1 <= 1, eps = 0)" in r3["reason"]
    ex = float(expected_glm_loss(1.0, 0.0, gamma=1.5, beta=0.2, m=16))
    assert r16["quadrature"] == pytest.approx(ex, rel=1e-14)
    ap = float(glm_regularizer(1.0, gamma=1.5, beta=0.2, m=16).approx_expected_loss(0.0))
    assert r16["relerr_formula"] == pytest.approx(ap / ex - 1, rel=1e-9)
    # m = 3: Var(loss) = inf: the estimate stands, its stderr and z are null with the reason
    assert abs(r16["z"]) < 4.5 and r16["reason"] == ""
    assert r3["z"] is r3["mc_stderr"] is None and math.isfinite(r3["mc"])
    assert "mc_stderr, z empty: Var(loss) = inf" in r3["reason"]


def test_regularizer_divergent_row_has_no_estimate(capsys):
    d = _json(capsys, ["regularizer", "-m", "2", "--samples", "2000", "--seed", "1",
                       "--json"])
    (r2,) = d["rows"]
    assert r2["quadrature"] == r2["E_eta"] == r2["formula"] == "inf"
    assert r2["mc"] is r2["mc_stderr"] is r2["z"] is r2["relerr_formula"] is None
    assert "no Monte Carlo estimate: the mean it would estimate is inf" in r2["reason"]
    assert "relerr empty: the quadrature is inf" in r2["reason"]


def test_regularizer_results_do_not_depend_on_workers(capsys):
    argv = ["regularizer", "-m", "4", "--samples", "30000", "--seed", "7", "--json"]
    default = _json(capsys, argv)              # default: all cores
    assert default == _json(capsys, [*argv, "--workers", "1"])


def test_regularizer_replay_and_families(capsys):
    argv = ["regularizer", "-m", "8", "--family", "squared", "--samples", "5000", "--seed",
            "9", "--json"]
    a, b = _json(capsys, argv), _json(capsys, argv)
    assert a == b
    row = a["rows"][0]
    assert abs(row["relerr_formula"]) < 1e-12           # squared: the formula is exact
    p = _json(capsys, ["regularizer", "-m", "8", "--family", "poisson", "--samples", "0",
                       "--json"])
    assert p["rows"][0]["quadrature"] == "inf" and "every m" in p["rows"][0]["divergence"]
    assert p["rows"][0]["mc"] is None and "--samples 0" in p["rows"][0]["reason"]
    mbn = _json(capsys, ["regularizer", "-m", "4", "--momentum", "0.875", "--samples", "0",
                         "--json"])
    assert "moment-matched Gamma" in mbn["note"]


@pytest.mark.parametrize("argv, match", [
    (["regularizer", "-m", "1"], "batch size must be an integer >= 2"),
    (["regularizer", "--momentum", "1"], "momentum must be a real number >= 0 and < 1"),
    (["regularizer", "--family", "logit", "--samples", "0"], "Did you mean 'logistic'"),
    (["regularizer", "--y", "2", "--samples", "0"], "`y` must be a real number >= 0.0 and <= 1.0"),
    (["regularizer", "--h", "nan"], "h must be a real number"),
    (["simulate", "regularizer", "-m", "1"], "batch size must be an integer >= 2 or 'inf'"),
    (["simulate", "regularizer", "--sgd-batch", "9999"], "`batch` must be <= n_samples=4000"),
])
def test_bad_input_one_line_exit_2(capsys, argv, match):
    try:
        status = main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_simulate_regularizer(capsys, tmp_path):
    out = tmp_path / "gd.csv"
    data = _json(capsys, ["simulate", "regularizer", "-m", "4", "inf", "--samples", "400",
                          "--epochs", "3", "--seed", "1", "--json", "--out", str(out)])
    assert data["seed"] == 1 and data["settings"]["epochs"] == 3
    assert [(r["noise"], r["m"]) for r in data["rows"]] == [("BN", 4), ("MBN", 4),
                                                           ("none", "inf")]
    assert out.read_text().splitlines()[0].startswith("noise,m,momentum,gamma,gamma_pred")
    assert main(["simulate", "regularizer", "-m", "4", "--samples", "400", "--epochs", "3",
                 "--seed", "1"]) == 0
    text = capsys.readouterr().out
    assert "seed entropy: 1" in text and "gamma_pred" in text
    row = data["rows"][0]
    # not computed without --exact: null with the reason (never "nan"), empty in the CSV
    assert math.isfinite(row["gamma"]) and row["gamma_exact"] is row["loss_exact"] is None
    assert row["reason"] == "gamma_exact, loss_exact: not computed (pass --exact)"
    assert "nan" not in out.read_text() and "nan" not in text
    assert "empty gamma_exact, loss_exact: not computed (pass --exact)." in text


def test_simulate_regularizer_flag_vocabulary(capsys):
    # --ideal-batch-size is the primary name, --m0 its alias; -T is --epochs (as in schedule)
    runs = [_json(capsys, ["simulate", "regularizer", "-m", "4", "--samples", "400", *flags,
                           "--seed", "2", "--json"])
            for flags in (["--ideal-batch-size", "16", "-T", "3"],
                          ["--m0", "16", "--epochs", "3"])]
    assert runs[0] == runs[1]
    assert runs[0]["settings"]["m0"] == 16 and runs[0]["settings"]["epochs"] == 3
    assert runs[0]["rows"][1]["momentum"] == pytest.approx(1 - 4 / 16)
