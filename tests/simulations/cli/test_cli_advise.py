"""``bn-noise advise``: the practitioner's question answered in one command, every number
checked against the public ``noise_theory`` functions (which use scipy.stats laws; the CLI
does not)."""

import csv
import json

import numpy as np
import pytest

import noise_theory as nt
from simulations.cli import main


def _advise(capsys, *argv):
    assert main(["advise", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_question_of_the_issue(capsys):
    # "I train with batch size 4 for 90 epochs, my ideal batch is 32, I use PyTorch"
    a = _advise(capsys, "--batch-size", "4", "--ideal-batch-size", "32", "--epochs", "90")
    m, m0, T = 4, 32, 90
    lam = nt.paper_momentum(np.arange(1, T + 1), T, m, m0=m0)
    tr = a["training"]
    np.testing.assert_allclose(tr["momentum"], lam, rtol=0, atol=0)
    np.testing.assert_allclose(tr["keras_momentum"], lam, rtol=0, atol=0)
    # PyTorch's momentum is 1 - ours, for lambda and for tau
    np.testing.assert_allclose(tr["pytorch_momentum"], nt.to_pytorch_momentum(lam), rtol=1e-15)
    np.testing.assert_allclose(nt.from_pytorch_momentum(np.array(tr["pytorch_momentum"][1:])),
                               lam[1:], rtol=1e-14)
    tau = float(nt.inference_momentum(m, m0=m0, tau0=0.9))
    assert a["inference"]["momentum"] == pytest.approx(tau, rel=1e-15)
    assert a["inference"]["keras_momentum"] == a["inference"]["momentum"]
    assert a["inference"]["pytorch_momentum"] == pytest.approx(
        float(nt.to_pytorch_momentum(tau)), rel=1e-15)
    np.testing.assert_allclose(tr["effective_batch_size"], nt.effective_batch_size(m, lam),
                               rtol=1e-14)
    # end of training: both noises and the bias, beside BN at m0
    end = a["end_of_training"]
    lam_t = float(lam[-1])
    assert end["momentum"] == pytest.approx(1 - m / m0, rel=1e-15)
    st, bn = end["stationary"], end["bn_at_m0"]
    assert st["mean_noise_var"] == pytest.approx(float(nt.ema_mean_noise(m, lam_t).var()), rel=1e-13)
    v = nt.ema_variance_noise(m, lam_t)
    assert st["variance_noise_var"] == pytest.approx(float(v.var), rel=1e-13)
    assert st["variance_noise_mean"] == pytest.approx(float(v.mean), rel=1e-15) == (m - 1) / m
    assert bn["mean_noise_var"] == pytest.approx(float(nt.mean_noise(m0).var()), rel=1e-15)
    law = nt.variance_noise(m0)
    assert bn["variance_noise_var"] == pytest.approx(float(law.var()), rel=1e-14)
    assert bn["variance_noise_mean"] == pytest.approx(float(law.mean()), rel=1e-15)
    assert st["mean_noise_var"] == pytest.approx(1 / (2 * m0 - m), rel=1e-13)
    # the momentum that matches the target (default m0) exactly
    tg = a["target"]
    assert tg["batch_size"] == m0
    assert tg["momentum"] == pytest.approx(float(nt.momentum_for_target_batch(m, m0)), rel=1e-15)
    assert tg["pytorch_momentum"] == pytest.approx(1 - tg["momentum"], rel=1e-15)
    assert tg["mean_noise_var"] == pytest.approx(float(nt.ema_mean_noise(m, tg["momentum"]).var()),
                                                 rel=1e-13)
    assert tg["mean_noise_var"] == pytest.approx(1 / m0, rel=1e-13)
    assert tg["variance_noise_var"] == pytest.approx(
        float(nt.ema_variance_noise(m, tg["momentum"]).var), rel=1e-13)
    # the theory is weak at m = 4 < 8: warned
    assert any("second-order regulariser" in w for w in a["warnings"])
    assert "MomentumBatchNorm" in a["note"] and "inference" in a["note"]
    assert end["exact_last_step"] is None and "--iterations-per-epoch" in end["exact_reason"]


def test_text_answers_in_framework_terms(capsys):
    assert main(["advise", "-m", "4", "--m0", "32", "--epochs", "90"]) == 0
    out = capsys.readouterr().out
    for needle in ("PyTorch", "Keras", "inference momentum", "0.986916", "0.0130837",
                   "Var xi_mu", "Var xi_sigma", "E xi_sigma", "BN, m0=32", "0.777778",
                   "simulations.MomentumBatchNorm", "changes only the running statistics",
                   "second-order regulariser", "--all-epochs"):
        assert needle in out, needle
    assert "nan" not in out.lower().replace("normalis", "")


def test_exact_last_step_and_stationarity_warning(capsys):
    m, m0, T = 4, 32, 90
    short = _advise(capsys, "-m", "4", "--epochs", "90", "--iterations-per-epoch", "2")
    steps = nt.momentum_schedule("paper", m=m, epochs=T, iterations_per_epoch=2, m0=m0)
    traj = nt.noise_trajectory(m, steps)
    ex = short["end_of_training"]["exact_last_step"]
    assert ex["mean_noise_var"] == pytest.approx(float(traj.mean_noise_var[-1]), rel=1e-12)
    assert ex["variance_noise_var"] == pytest.approx(float(traj.variance_noise_var[-1]), rel=1e-12)
    np.testing.assert_allclose(short["training"]["epoch_end_mean_noise_var"],
                               traj.mean_noise_var[1::2], rtol=1e-12)
    assert any("too short to be stationary" in w for w in short["warnings"])
    assert short["stationarity"]["relative_excess"] > 0.05
    long = _advise(capsys, "-m", "4", "--epochs", "90", "--iterations-per-epoch", "1000")
    assert not any("stationary" in w for w in long["warnings"])
    assert abs(long["stationarity"]["relative_excess"]) < 1e-9


def test_no_regulariser_warning_from_m_8_and_plain_bn_above_m0(capsys):
    a = _advise(capsys, "-m", "8", "--epochs", "10")
    assert not any("regulariser" in w for w in a["warnings"])
    b = _advise(capsys, "-m", "64", "--epochs", "10")
    assert b["plain_bn"] and all(v == 0.0 for v in b["training"]["momentum"])
    assert b["target"]["batch_size"] == 64 and b["target"]["momentum"] == 0.0
    assert main(["advise", "-m", "64", "--epochs", "10"]) == 0
    assert "plain BN" in capsys.readouterr().out


def test_target_batch_size(capsys):
    a = _advise(capsys, "-m", "4", "--target-batch-size", "100")
    assert a["target"]["momentum"] == pytest.approx(96 / 104, rel=1e-15)
    assert a["target"]["mean_noise_var"] == pytest.approx(1 / 100, rel=1e-13)


def test_out_csv_has_every_epoch_and_no_nan(capsys, tmp_path):
    path = tmp_path / "advice.csv"
    assert main(["advise", "-m", "4", "--epochs", "90", "--out", str(path)]) == 0
    assert f"wrote every epoch to {path}" in capsys.readouterr().out
    rows = list(csv.DictReader(path.open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 91))
    assert "nan" not in path.read_text().lower()
    # not computed without --iterations-per-epoch: empty, with the reason
    assert rows[-1]["epoch_end_var_mean_noise"] == ""
    assert "needs --iterations-per-epoch" in rows[-1]["note"]
    assert float(rows[-1]["pytorch_momentum"]) == pytest.approx(0.125, rel=1e-14)
    assert main(["advise", "-m", "4", "--epochs", "9", "--iterations-per-epoch", "3",
                 "--out", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    assert float(rows[-1]["epoch_end_var_mean_noise"]) > 0 and rows[-1]["note"] == ""


def test_all_epochs(capsys):
    assert main(["advise", "-m", "4", "--epochs", "40", "--all-epochs"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("epoch")) + 2
    assert [int(line.split()[0]) for line in lines[start:start + 40]] == list(range(1, 41))
    assert "a sample of" not in out


@pytest.mark.parametrize("argv, needle", [
    (["-m", "8", "--target-batch-size", "4"], "--target-batch-size must be >= --batch-size"),
    ([], "--batch-size"),
    (["-m", "1"], "batch size must be an integer >= 2"),
    (["-m", "4", "--epochs", "1"], "epochs must be an integer >= 2"),
    (["-m", "4", "--iterations-per-epoch", "0"], "iterations per epoch must be an integer >= 1"),
    (["-m", "4", "--tau0", "1"], "tau0 must be a real number"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(["advise", *argv]))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["advise", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for needle in ("--ideal-batch-size M0, --m0 M0", "(default 32", "(default 200)",
                   "(default 0.9", "(default: m0", "(default: none", "required"):
        assert needle in out, needle
