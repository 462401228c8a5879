"""The gamma-decay experiment: SGD under injected BN/MBN noise against the theory."""

import math

import pytest

from simulations import gamma_decay_experiment

KW = dict(n_samples=1500, epochs=40, rng=2026)


@pytest.fixture(scope="module")
def result():
    return gamma_decay_experiment((2, 8, 64, math.inf), **KW)


def _row(res, noise, m):
    return next(r for r in res.rows if r.noise == noise and r.m == m)


def test_rows_and_momentum(result):
    assert [(r.noise, r.m) for r in result.rows] == [
        ("BN", 2), ("MBN", 2), ("BN", 8), ("MBN", 8), ("BN", 64), ("none", math.inf)]
    assert _row(result, "MBN", 2).momentum == 1 - 2 / 32
    assert _row(result, "MBN", 8).momentum == 0.75
    assert all(math.isnan(r.gamma_exact) for r in result.rows if r.noise != "none")


def test_gamma_decays_and_loss_floor_rises_as_m_falls(result):
    bn = [_row(result, "BN", m) for m in (2, 8, 64)] + [_row(result, "none", math.inf)]
    gammas = [r.gamma for r in bn]
    assert gammas == sorted(gammas) and gammas[0] < 0.25 * gammas[-1]
    clean = [r.clean_loss for r in bn]
    assert clean == sorted(clean, reverse=True)
    floors = [r.train_loss for r in bn]
    assert floors == sorted(floors, reverse=True)
    # MBN's smaller noise: larger gamma and lower floor than BN at the same m
    for m in (2, 8):
        assert _row(result, "MBN", m).gamma > _row(result, "BN", m).gamma
        assert _row(result, "MBN", m).clean_loss < _row(result, "BN", m).clean_loss


def test_theory_predicts_learned_gamma_where_second_order_holds(result):
    # the m = inf row measures SGD's own bias (finite training, gradient noise): ~2%
    for noise, m in [("none", math.inf), ("BN", 64), ("BN", 8), ("MBN", 8), ("MBN", 2)]:
        r = _row(result, noise, m)
        assert r.gamma == pytest.approx(r.gamma_pred, rel=0.05), (noise, m)
        assert r.train_loss == pytest.approx(r.loss_pred, rel=0.05), (noise, m)
    # at m = 2 the expansion breaks down: it predicts far more decay than happens
    r = _row(result, "BN", 2)
    assert r.gamma_pred < 0.5 * r.gamma


def test_noise_free_prediction_is_the_maximum_likelihood_fit(result):
    r = _row(result, "none", math.inf)
    assert r.gamma_exact == r.gamma_pred and r.loss_pred <= r.clean_loss + 1e-12


@pytest.mark.slow
def test_exact_minimiser_matches_sgd_where_formula_fails():
    res = gamma_decay_experiment((4,), **KW, exact=True)
    bn = res.rows[0]
    assert bn.gamma == pytest.approx(bn.gamma_exact, rel=0.08)
    assert abs(bn.gamma - bn.gamma_pred) > abs(bn.gamma - bn.gamma_exact)
    assert bn.train_loss == pytest.approx(bn.loss_exact, rel=0.03)


def test_reproducible():
    a = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=5)
    b = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=5)
    c = gamma_decay_experiment((8,), n_samples=300, epochs=3, rng=6)
    assert a == b and a.entropy == 5
    assert a.rows[0].gamma != c.rows[0].gamma


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(batch_sizes=(1,)), ValueError, r"`batch_sizes` must be an integer >= 2; got batch_sizes=1"),
    (dict(batch_sizes=(2.5,)), TypeError, r"`batch_sizes` must be an integer >= 2"),
    (dict(batch=5000), ValueError, r"`batch` must be <= n_samples=4000; got batch=5000"),
    (dict(lr=0.0), ValueError, r"`lr` must be a real number > 0.0"),
    (dict(eps=-1.0), ValueError, r"`eps` must be a real number >= 0.0"),
])
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        gamma_decay_experiment(**kwargs)
