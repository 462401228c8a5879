"""The trainer, the experiment grid and ``bn-noise train``."""

import json

import numpy as np
import pytest

from simulations.cli import main
from simulations.nn._data import digits, from_npz, synthetic
from simulations.nn._experiment import run_experiment
from simulations.nn._train import TrainConfig, train


@pytest.fixture(scope="module")
def data():
    return digits()


def test_digits_split_is_fixed_and_stratified(data):
    assert len(data.X_train) + len(data.X_test) == 1797
    assert np.array_equal(np.bincount(data.y_test) > 30, np.ones(10, bool))
    again = digits()
    assert np.array_equal(again.y_test, data.y_test)


def test_bn_mlp_at_m64_reaches_095(data):
    r = train(TrainConfig(norm="bn", batch_size=64, epochs=10), data, seed=1)
    assert r.test_accuracy >= 0.95 and not r.diverged


def test_reruns_are_bit_identical_and_fused_equals_layers(data):
    cfg = TrainConfig(norm="mbn", batch_size=16, epochs=3)
    a, b = train(cfg, data, seed=3), train(cfg, data, seed=3)
    assert a.epoch_loss == b.epoch_loss and a.test_accuracy == b.test_accuracy
    c = train(TrainConfig(norm="mbn", batch_size=16, epochs=3, fused=False), data, seed=3)
    np.testing.assert_allclose(c.epoch_loss, a.epoch_loss, rtol=1e-9)


def test_divergence_is_recorded_not_raised(data):
    r = train(TrainConfig(norm="none", depth=6, batch_size=64, epochs=2, base_lr=1e6), data, seed=0)
    assert r.diverged and np.isnan(r.test_accuracy)


def test_grid_is_the_same_whatever_the_workers():
    kw = {"data": "synthetic", "models": ("mlp", "cnn"), "depths": (1,), "norms": ("bn", "gn"),
              "batch_sizes": (32,), "seeds": 2, "epochs": 2, "rng": 5, "show_progress": False}
    one = run_experiment(workers=1, **kw)
    two = run_experiment(workers=2, **kw)
    def strip(rs):  # wall-clock time is the only field allowed to differ
        return [{k: v for k, v in r.items() if k != "seconds"} for r in rs]

    assert strip(one.runs) == strip(two.runs) and strip(one.rows) == strip(two.rows)


def test_synthetic_and_npz(tmp_path):
    s = synthetic()
    p = tmp_path / "d.npz"
    np.savez(p, X=np.concatenate([s.X_train, s.X_test]), y=np.concatenate([s.y_train, s.y_test]))
    d = from_npz(p)
    assert d.n_classes == s.n_classes and d.n_features == 64
    bad = tmp_path / "bad.npz"
    np.savez(bad, A=np.zeros(3))
    with pytest.raises(ValueError, match=r"must hold arrays 'X' and 'y'"):
        from_npz(bad)


def test_cli_json_rows(capsys, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--data", "synthetic", "--model", "mlp", "--depth", "1", "--norm", "bn",
                 "mbn", "--batch-size", "32", "--epochs", "2", "--seeds", "2", "--workers", "1",
                 "--seed", "1", "--json", "--out", str(out)])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert len(res["rows"]) == 2
    for r in res["rows"]:
        for k in ("model", "depth", "norm", "batch_size", "seeds", "test_accuracy_mean",
                  "test_accuracy_sd", "diverged"):
            assert k in r
    assert (out / "rows.csv").is_file() and (out / "accuracy_vs_batch_size.png").is_file()
    assert main(["train", "--data", "synthetic", "--out", str(out)]) == 2


def test_cli_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--data", "nope.npz"])
    assert e.value.code == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--norm", "xx"])


def test_digits_read_directly_equal_scikit_learns(monkeypatch):
    """The digits arrays read from scikit-learn's CSV are load_digits' own, to the bit; and
    without the file (another layout) load_digits itself is used."""
    from sklearn.datasets import load_digits

    from simulations.nn import _data

    X, y = _data._digits_arrays()
    d = load_digits()
    np.testing.assert_array_equal(X, d.data)
    np.testing.assert_array_equal(y, d.target)
    monkeypatch.setattr(_data.importlib.util, "find_spec", lambda name: None)
    X2, y2 = _data._digits_arrays()
    np.testing.assert_array_equal(X2, d.data)
    np.testing.assert_array_equal(y2, d.target)
