"""The gamma-decay experiment: SGD under injected BN/MBN noise against the theory.

The model is unchanged under (w, gamma, xi_mu) -> (-w, -gamma, -xi_mu): only gamma*w is
identified, so every check here is sign-free (the experiment reports gamma = |mean gamma*w|).
The experiment is stochastic; its checks (``_failures``) are asserted on one fixed seed AND
shown to hold for >= 19 of 20 seeds (``test_checks_hold_for_19_of_20_seeds``), convergence
diagnostics first.
"""

import math

import numpy as np
import pytest

from simulations import gamma_decay_experiment
from simulations.models._gamma_decay import (
    VERDICT_RULE,
    min_epochs,
    second_order_verdict,
)

KW = dict(n_samples=1500, epochs=40)
REPLICATES = 3
# rows where the second-order prediction is expected to hold; at BN m = 2 it fails
AGREE = [("none", math.inf), ("BN", 64), ("BN", 8), ("MBN", 8), ("MBN", 2)]


@pytest.fixture(scope="module")
def result():
    return gamma_decay_experiment((2, 8, 64, math.inf), **KW, replicates=REPLICATES, rng=2026)


def _row(res, noise, m):
    return next(r for r in res.rows if r.noise == noise and r.m == m)


def _failures(res):
    """Every check of the experiment; returns the list of those that fail (empty: all hold).

    Order: convergence diagnostics, gauge, decay, theory. Rows absent from `res` are skipped.
    """
    rows = {(r.noise, r.m): r for r in res.rows}
    agree = [k for k in AGREE if k in rows]
    out = []
    # 1. convergence diagnostics, before anything else
    for k, r in rows.items():
        if not r.alignment >= 0.95:
            out.append(f"{k}: direction not learned, alignment={r.alignment:.3f}")
    for k in agree:
        r = rows[k]
        if not (r.window_spread <= 0.05 and abs(r.window_drift) <= 0.05):
            out.append(f"{k}: SGD not settled, window spread={r.window_spread:.3g}, "
                       f"drift={r.window_drift:.3g}")
    if ("BN", 2) in rows and not rows["BN", 2].window_spread >= 0.3:
        out.append(f"BN m=2: heavy-tailed walk not seen, spread={rows['BN', 2].window_spread}")
    # 2. gauge: gamma >= 0 by construction, and the prediction found the same branch
    for k, r in rows.items():
        if not (r.gamma > 0 and r.gamma_pred > 0):
            out.append(f"{k}: sign, gamma={r.gamma}, gamma_pred={r.gamma_pred}")
    # 3. gamma decay and the loss floor
    bn = [rows[k] for k in [("BN", 2), ("BN", 8), ("BN", 64), ("none", math.inf)] if k in rows]
    gammas = [r.gamma for r in bn]
    if not (gammas == sorted(gammas) and gammas[0] < 0.25 * gammas[-1]):
        out.append(f"gamma does not decay with m: {gammas}")
    if [r.clean_loss for r in bn] != sorted([r.clean_loss for r in bn], reverse=True):
        out.append("clean loss does not rise as m falls")
    if [r.train_loss for r in bn] != sorted([r.train_loss for r in bn], reverse=True):
        out.append("loss floor does not rise as m falls")
    for m in (2, 8):
        if ("MBN", m) in rows:
            b, mb = rows["BN", m], rows["MBN", m]
            if not (mb.gamma > b.gamma and mb.clean_loss < b.clean_loss):
                out.append(f"MBN not less noisy than BN at m={m}")
    # 4. the theory: the verdict rule, and the loss floor
    for k in agree:
        r = rows[k]
        if r.verdict != "holds":
            out.append(f"{k}: verdict {r.verdict}, rel_error={r.rel_error:.4f}")
        if not r.train_loss == pytest.approx(r.loss_pred, rel=0.05):
            out.append(f"{k}: floor {r.train_loss} vs {r.loss_pred}")
    if ("BN", 2) in rows:
        r = rows["BN", 2]   # the expansion breaks down: it predicts far more decay
        if not (r.verdict == "fails" and r.gamma_pred < 0.5 * r.gamma):
            out.append(f"BN m=2: verdict {r.verdict}, gamma={r.gamma}, pred={r.gamma_pred}")
    return out


def test_rows_and_momentum(result):
    assert [(r.noise, r.m) for r in result.rows] == [
        ("BN", 2), ("MBN", 2), ("BN", 8), ("MBN", 8), ("BN", 64), ("none", math.inf)]
    assert _row(result, "MBN", 2).momentum == 1 - 2 / 32
    assert _row(result, "MBN", 8).momentum == 0.75
    assert all(math.isnan(r.gamma_exact) for r in result.rows if r.noise != "none")
    assert all(r.replicates == REPLICATES for r in result.rows)


def test_diagnostics_first(result):
    fails = _failures(result)
    assert fails == []


def test_medians_agree_within_their_spread(result):
    """Unpaired: the medians of gamma and gamma_pred differ by at most SGD's own accuracy
    (8%) plus 3 standard errors of the medians (1.2533 x spread / sqrt(R))."""
    for k in AGREE:
        r = _row(result, *k)
        se = 1.2533 * math.hypot(r.gamma_spread, r.gamma_pred_spread) / math.sqrt(REPLICATES)
        assert abs(r.gamma - r.gamma_pred) <= 0.08 * r.gamma_pred + 3 * se, k
    r = _row(result, "BN", 2)
    se = 1.2533 * math.hypot(r.gamma_spread, r.gamma_pred_spread) / math.sqrt(REPLICATES)
    assert r.gamma - r.gamma_pred > 3 * se + 0.08 * r.gamma_pred


@pytest.mark.slow
def test_checks_hold_for_19_of_20_seeds():
    """The same checks over 20 seeds (one replicate each, no m = 64 row, to stay < 60 s):
    at least 19 must pass. Seeds are 0..19, not chosen."""
    failed = {}
    for seed in range(20):
        res = gamma_decay_experiment((2, 8, math.inf), **KW, rng=seed)
        fails = _failures(res)
        if fails:
            failed[seed] = fails
    assert len(failed) <= 1, failed


def test_mirror_teacher_gives_the_same_sign_free_answer():
    """teacher_gamma -> -teacher_gamma is the mirror problem: gamma (= |gamma w|) stays > 0
    and the alignment with the (signed) teacher stays ~1, for any seed (gamma = |mean gamma*w|
    by construction). Seed 0 is one where the old code (averaging w and gamma separately,
    sign set by the start) reported gamma ~ -2.2, -2.95, -3.14 for the mirror problem."""
    kw = dict(batch_sizes=(8, math.inf), n_samples=600, epochs=20, rng=0)
    a = gamma_decay_experiment(**kw)
    b = gamma_decay_experiment(**kw, teacher_gamma=-4.0)
    for ra, rb in zip(a.rows, b.rows):
        for r in (ra, rb):
            assert r.gamma > 0 and r.gamma_pred > 0 and r.alignment > 0.95, r
        assert rb.gamma == pytest.approx(ra.gamma, rel=0.25)


def test_noise_free_prediction_is_the_maximum_likelihood_fit(result):
    r = _row(result, "none", math.inf)
    assert r.gamma_exact == r.gamma_pred and r.loss_pred <= r.clean_loss + 1e-12


@pytest.mark.slow
def test_exact_minimiser_matches_sgd_where_formula_fails():
    res = gamma_decay_experiment((4,), **KW, exact=True, rng=2026)
    bn = res.rows[0]
    assert bn.alignment > 0.95 and bn.window_spread < 0.2
    assert bn.gamma == pytest.approx(bn.gamma_exact, rel=0.08)
    assert abs(bn.gamma - bn.gamma_pred) > abs(bn.gamma - bn.gamma_exact)
    assert bn.train_loss == pytest.approx(bn.loss_exact, rel=0.03)


def test_verdict_rule():
    assert second_order_verdict(0.07, 0.0, 0.99, 1) == "holds"
    assert second_order_verdict(-0.09, 0.0, 0.99, 1) == "fails"
    assert second_order_verdict(-0.09, 0.02, 0.99, 4) == "holds"   # 0.08 + 3 x 0.0125
    assert second_order_verdict(math.inf, math.inf, 0.99, 4) == "fails"
    assert second_order_verdict(0.0, 0.0, 0.89, 4) == "not converged"
    assert "alignment" in VERDICT_RULE and "0.08" in VERDICT_RULE


def test_reproducible():
    a = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=5)
    b = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=5)
    c = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=6)
    assert a == b and a.entropy == 5
    assert a.rows[0].gamma != c.rows[0].gamma
    r2 = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=5, replicates=2).rows[0]
    assert r2.replicates == 2 and r2.gamma_spread > 0


def test_tiny_runs_are_finite_or_refused():
    """100 samples, 1 epoch: 2 SGD steps, no averaging window -> refused (was NaN)."""
    assert min_epochs(100, 50) == 8
    with pytest.raises(ValueError, match=r"`epochs` must be >= 8 for n_samples=100, batch=50"):
        gamma_decay_experiment((2,), n_samples=100, epochs=1)
    res = gamma_decay_experiment((2, 4, math.inf), n_samples=100, epochs=8, rng=1)
    for r in res.rows:
        vals = [v for k, v in vars(r).items() if isinstance(v, float)
                and k not in ("gamma_exact", "loss_exact")]      # not computed: NaN
        assert all(not math.isnan(v) for v in vals), r


def test_zero_eps_at_m2_predicts_no_gamma():
    """eps = 0 at m = 2: Var(eta) = inf for gamma != 0, so the second-order minimiser is 0."""
    r = gamma_decay_experiment((2,), n_samples=300, epochs=8, eps=0.0, lr=0.05, rng=2).rows[0]
    assert r.gamma_pred == 0.0 and np.isfinite(r.loss_pred) and r.rel_error == math.inf
    assert r.verdict != "holds"


def test_divergence_is_refused():
    with pytest.raises(ValueError, match=r"SGD diverged .* `lr` must be smaller"):
        gamma_decay_experiment((2,), n_samples=300, epochs=8, eps=0.0, lr=1e300, rng=2)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(batch_sizes=(1,)), ValueError, r"`batch_sizes` must be an integer >= 2; got batch_sizes=1"),
    (dict(batch_sizes=(2.5,)), TypeError, r"`batch_sizes` must be an integer >= 2"),
    (dict(batch=5000), ValueError, r"`batch` must be <= n_samples=4000; got batch=5000"),
    (dict(lr=0.0), ValueError, r"`lr` must be a real number > 0.0"),
    (dict(eps=-1.0), ValueError, r"`eps` must be a real number >= 0.0"),
    (dict(replicates=0), ValueError, r"`replicates` must be an integer >= 1; got replicates=0"),
    (dict(teacher_gamma=0.0), ValueError, r"`teacher_gamma` must be nonzero"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gamma_decay_experiment(**kwargs)


def test_cli_refuses_a_run_without_an_averaging_window(capsys):
    """``simulate regularizer --samples 100 --epochs 1`` printed NaN and 9 warnings, exit 0."""
    from simulations.cli import main

    assert main(["simulate", "regularizer", "--samples", "100", "--epochs", "1"]) == 2
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err.count("\n") == 1 and "--epochs must be >= 8" in cap.err


def test_cli_table_has_no_nan_and_a_verdict(capsys):
    from simulations.cli import main

    assert main(["simulate", "regularizer", "-m", "2", "inf", "--samples", "100", "--epochs",
                 "8", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower() and "verdict" in out and "not computed (pass --exact)" in out
    assert "'not converged' if the median alignment" in out
