"""The BN simulator: kernel vs a naive re-implementation, reproducibility across every
scheduler, statistical agreement with noise_theory (fixed seeds), and rejection of plausible
wrong theory values."""

import concurrent.futures
import functools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import stats

import noise_theory as nt
from simulations import Moments, run_chunks, simulate_bn
from simulations.models import _bn as _bn_sim
from simulations.models._bn import bn_block_size, bn_kernel
from simulations.models._laws import input_law

#: Monte Carlo agreement tests (fixed seeds, k x standard-error tolerances).
pytestmark = pytest.mark.statistical

K = 4.5  # z threshold for "agrees" in single-quantity checks (fixed seeds)


def _row(sim, quantity):
    (row,) = [c for c in sim.moments if c.quantity == quantity]
    return row


def _fingerprint(sim):
    return [(c.quantity, c.result.estimate, c.result.stderr) for c in sim.moments] + \
        [(k.quantity, k.statistic_low, k.n) for k in sim.ks]


# --------------------------------------------------------------------------- kernel
def _naive_parts(seq, size, m, law, ddof, eps, sub=64):
    """Independent route: regenerate the kernel's numbers (same stream, same (m, nb)
    sub-blocks of `sub` batches) and compute every per-batch quantity with plain numpy
    (np.mean, np.var with ddof, explicit formulas). Returns name -> list of per-sub-block
    arrays, with "z_in" (unsquared) besides the kernel's quantities."""
    rng = _bn_sim._block_generator(seq)        # the same numbers, from the same stream
    parts = {name: [] for name in (*_bn_sim.QUANTITIES, "z_in")}
    for start in range(0, size, sub):
        nb = min(sub, size - start)
        x = law.sample(rng, np.empty((m, nb)))
        mu = x.mean(axis=0)
        var = x.var(axis=0, ddof=ddof)
        scale = np.sqrt(var + eps)
        half = nb // 2
        parts["xi_mu"].append(mu)
        parts["xi_sigma"].append(var)
        parts["xi_mu_xi_sigma"].append(mu * var)
        parts["inv_scale"].append(1 / scale)
        parts["z_in"].append((x[0] - mu) / scale)
        parts["z_in2"].append(((x[0] - mu) / scale) ** 2)
        parts["y_out"].append((x[0, half:2 * half] - mu[:half]) / scale[:half])
    return parts


def _check_kernel_against_naive(m, ddof, eps, law, seq, size, sub):
    """Run the kernel with sub-blocks of `sub` batches and compare every summary with
    :func:`_naive_parts` on the same numbers."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_bn_sim, "_SUB_SAMPLES", sub * m)
        out = bn_kernel(seq, size, m=m, law=law, ddof=ddof, eps=eps)
    got, sums = out["moments"], out["sums"]
    parts = _naive_parts(seq, size, m, law, ddof, eps, sub=sub)
    del parts["z_in"]
    data = {k: np.concatenate(v) for k, v in parts.items()}
    ref = Moments.from_data(data)
    shifts = {"xi_sigma": (m - 1) / (m - ddof), "xi_mu": 0.0}
    for name in _bn_sim._CENTRAL:      # central moments, two-pass reference
        j, i = got.names.index(name), ref.names.index(name)
        n = ref.n[i]
        assert got.n[j] == n
        # magnitude of the summed values: the kernel sums powers of (q - shift), so
        # rounding is relative to |mean - shift| + sd, not to the quantity alone
        r = abs(ref.mean[i] - shifts[name]) + math.sqrt(ref.m2[i] / n)
        assert got.mean[j] == pytest.approx(ref.mean[i], rel=1e-10, abs=1e-12 * r)
        for k in (2, 3, 4):   # rounding of power sums is relative to n r^k
            a, b = getattr(got, f"m{k}")[j], getattr(ref, f"m{k}")[i]
            assert a == pytest.approx(b, rel=1e-8, abs=1e-10 * n * r**k), (name, k)
    tracked = {"inv_scale": (1, 2, 4), "z_in2": (1, 2, 4), "xi_mu_xi_sigma": (1, 2),
               "y_out": (2, 4)}
    for name, powers in tracked.items():   # raw power sums, direct reference
        j = sums.names.index(name)
        assert sums.n[j] == data[name].size
        for p in (1, 2, 3, 4):
            want = np.sum(data[name] ** p)
            if p in powers:
                assert sums.sums[p - 1, j] == pytest.approx(want, rel=1e-10), (name, p)
            else:
                assert math.isnan(sums.sums[p - 1, j])


# sub = 64 < _LANES: one partial tile per sub-block; sub = 300: tiles of 128, 128, 44 and
# the y pairing (half = 150) crossing a tile
@pytest.mark.parametrize("m, ddof, eps, dist, sub", [
    (2, 0, 0.0, "normal", 64), (5, 1, 0.0, "normal", 64), (8, 0, 1e-2, "laplace", 64),
    (3, 0, 1e-3, "relu", 64), (64, 0, 0.0, "normal", 64), (6, 1, 0.5, "exponential", 64),
    (2, 0, 0.0, "normal", 300), (8, 1, 1e-3, "normal", 300), (64, 0, 0.0, "uniform", 300)])
def test_kernel_matches_naive_reimplementation(m, ddof, eps, dist, sub):
    """Independent route: regenerate the same numbers and compute every quantity with
    plain numpy (two-pass var, explicit formulas), summarised by Moments.from_data;
    several sub-blocks, the last one partial."""
    seq = np.random.SeedSequence(99, spawn_key=(4,))
    _check_kernel_against_naive(m, ddof, eps, input_law(dist), seq, 3 * sub + 17, sub)


@given(m=st.integers(2, 70), ddof=st.integers(0, 2), eps=st.sampled_from([0.0, 1e-3, 0.7]),
       dist=st.sampled_from(["normal", "laplace", "exponential"]), seed=st.integers(0, 2**32),
       size=st.integers(1, 700), sub=st.integers(2, 400))
def test_kernel_matches_naive_property(m, ddof, eps, dist, seed, size, sub):
    """The same comparison over drawn batch sizes, ddof, eps, seeds, block and sub-block
    sizes (tiles full, partial, or a single batch)."""
    assume(ddof < m)
    _check_kernel_against_naive(m, ddof, eps, input_law(dist), np.random.SeedSequence(seed),
                                size, sub)


class _Recorder:
    """A stand-in exact law whose cdf records the values the kernel hands it."""

    def __init__(self):
        self.seen = []

    def cdf(self, v):
        self.seen.append(np.array(v))
        return np.full(np.shape(v), 0.5)


@pytest.mark.parametrize("m, ddof, eps, ks_fraction, sub", [
    (2, 0, 0.0, 0.5, 64), (8, 1, 1e-2, 0.3, 64), (5, 0, 0.0, 1.0, 64),
    (4, 0, 0.0, 0.6, 300), (3, 1, 0.0, 1.0, 300)])       # 300: several tiles per sub-block
def test_kernel_ks_values_match_naive_reimplementation(monkeypatch, m, ddof, eps, ks_fraction,
                                                       sub):
    """The per-batch values sent to the KS histograms are those of the first
    ceil(ks_fraction * size) batches (y: of the first half of each sub-block among them)."""
    monkeypatch.setattr(_bn_sim, "_SUB_SAMPLES", sub * m)
    law, size = input_law("normal"), sub * 3 + 17
    seq = np.random.SeedSequence(7, spawn_key=(2,))
    rec = {name: _Recorder() for name in _bn_sim._KS_ROWS}
    out = bn_kernel(seq, size, m=m, law=law, ddof=ddof, eps=eps, ks_fraction=ks_fraction,
                    bins=16, exact_laws=rec)
    parts = _naive_parts(seq, size, m, law, ddof, eps, sub=sub)
    k = math.ceil(ks_fraction * size)
    want = {"xi_mu": [], "xi_sigma": [], "z_in": [], "y_out": []}
    for j, start in enumerate(range(0, size, sub)):
        kj = max(0, min(sub, k - start))
        for name in ("xi_mu", "xi_sigma", "z_in"):
            want[name].append(parts[name][j][:kj])
        want["y_out"].append(parts["y_out"][j][:kj])     # length nb // 2 already
    for name, r in rec.items():
        (seen,) = r.seen
        np.testing.assert_allclose(seen, np.concatenate(want[name]), rtol=1e-12, atol=1e-15)
        assert out[f"ks_{name}"].n == seen.size and out[f"ks_{name}"].bins == 16


def test_block_size_fixed_by_m():
    assert bn_block_size(8) == _bn_sim._SUBS_PER_BLOCK * _bn_sim._SUB_SAMPLES // 8
    assert bn_block_size(1 << 20) == 2 * 8


class _ConstantLaw:
    """Every sample equal: sigma_B = 0 in every batch."""

    def sample(self, rng, out):
        out[...] = 0.25
        return out


def test_kernel_zero_variance_gives_inf_not_an_error():
    """1/sqrt(0) is inf as in numpy (the compiled loop must not raise ZeroDivisionError);
    z = 0 * inf is nan; with eps > 0 everything is finite again."""
    out = bn_kernel(np.random.SeedSequence(1), 100, m=4, law=_ConstantLaw())
    s = out["sums"]
    assert s.sums[0, s.names.index("inv_scale")] == math.inf
    assert math.isnan(s.sums[0, s.names.index("z_in2")])
    assert out["moments"].mean[out["moments"].names.index("xi_mu")] == pytest.approx(0.25)
    out = bn_kernel(np.random.SeedSequence(1), 100, m=4, law=_ConstantLaw(), eps=0.25)
    s = out["sums"]
    assert s.sums[0, s.names.index("inv_scale")] == pytest.approx(100 * 2.0)
    assert s.sums[0, s.names.index("z_in2")] == 0.0


def test_numba_is_imported_lazily():
    """`import simulations` (and noise_theory) must not pay for numba; the first kernel
    call does."""
    import subprocess
    import sys

    code = ("import sys, noise_theory, simulations; a = 'numba' in sys.modules; "
            "from simulations.models._bn import _batch_stats; _batch_stats(); "
            "print(a, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.split() == ["False", "True"]


# --------------------------------------------------------------------------- reproducibility
@pytest.fixture(scope="module")
def ref_sim():
    return simulate_bn(4, 300_000, rng=77, workers=1, ks_batches=5000)


@pytest.mark.parametrize("kwargs", [{"workers": 2}, {"workers": 4},
                                    {"workers": 2, "chunk_size": 1}, {"workers": 3,
                                                                      "chunk_size": 10**6}])
def test_same_seed_same_result_threads(ref_sim, kwargs):
    assert _fingerprint(simulate_bn(4, 300_000, rng=77, ks_batches=5000, **kwargs)) == \
        _fingerprint(ref_sim)


def test_same_seed_same_result_process_pool(ref_sim):
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        sim = simulate_bn(4, 300_000, rng=77, ks_batches=5000, executor=ex)
    assert _fingerprint(sim) == _fingerprint(ref_sim)


def test_same_seed_same_result_dask(ref_sim):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        sim = simulate_bn(4, 300_000, rng=77, ks_batches=5000, executor=client.get_executor())
    assert _fingerprint(sim) == _fingerprint(ref_sim)


def test_entropy_replays(ref_sim):
    sim = simulate_bn(4, 300_000, workers=2, ks_batches=5000)
    replay = simulate_bn(4, 300_000, rng=sim.entropy, workers=1, ks_batches=5000)
    assert _fingerprint(sim) == _fingerprint(replay)
    assert ref_sim.entropy == 77 and _fingerprint(sim) != _fingerprint(ref_sim)


# --------------------------------------------------------------------------- agreement
@pytest.fixture(scope="module")
def sims():
    """Gaussian input, fixed seeds, 2e6 samples per batch size (8e6 at m = 32)."""
    return {m: simulate_bn(m, 8_000_000 if m == 32 else 2_000_000, rng=1000 + m, workers=2)
            for m in (2, 3, 4, 6, 8, 32)}


def test_gaussian_agrees_everywhere(sims):
    for m, sim in sims.items():
        assert sim.verdict == "agree", (m, [(c.quantity, c.z) for c in sim.moments])
        assert all(k.verdict == "agree" for k in sim.ks)
        assert all(0 <= k.cvm_low <= k.cvm_high < 0.743 for k in sim.ks)   # CvM: no 1% reject
        assert {k.quantity for k in sim.ks} == ({"xi_mu", "xi_sigma", "y_out"} if m == 2
                                                 else {"xi_mu", "xi_sigma", "z_in", "y_out"})


def test_divergent_moments_are_reported_not_tested(sims):
    assert _row(sims[2], "E[sigma/sigma_B]").verdict == "diverges"
    assert _row(sims[3], "E[sigma^2/sigma_B^2]").verdict == "diverges"
    assert _row(sims[3], "E[sigma/sigma_B]").verdict == "no z"        # E inv^2 infinite
    assert _row(sims[4], "E[sigma^2/sigma_B^2]").verdict == "no z"    # E inv^4 infinite
    assert _row(sims[4], "E[y_out^2]").verdict == "no z"
    assert _row(sims[6], "E[sigma^2/sigma_B^2]").verdict == "agree"   # m > 5: tested
    for m in (2, 3):
        r = _row(sims[m], "E[sigma^2/sigma_B^2]")
        assert r.theory == math.inf and math.isnan(r.z)


def test_in_batch_output_is_exactly_pm1_at_m2(sims):
    r2, r4 = _row(sims[2], "E[z_in^2]"), _row(sims[2], "E[z_in^4]")
    assert r2.result.estimate == pytest.approx(1.0, abs=1e-12)
    assert r4.result.estimate == pytest.approx(1.0, abs=1e-12)
    assert r2.verdict == r4.verdict == "agree"


WRONG = [
    # (m, quantity, plausible wrong value)
    (8, "E[sigma^2/sigma_B^2]", lambda m: (m - 1) / (m - 3)),   # unbiased-variance formula
    (32, "E[sigma^2/sigma_B^2]", lambda m: (m - 1) / (m - 3)),
    (8, "Var[xi_mu]", lambda m: 1 / (m - 1)),
    (32, "Var[xi_mu]", lambda m: 1 / (m - 1)),
    (8, "E[xi_sigma]", lambda m: 1.0),                         # forgetting the bias
    (8, "Var[xi_sigma]", lambda m: 2 / (m - 1)),               # unbiased chi2 variance
    (8, "E[sigma/sigma_B]", lambda m: math.sqrt(m / (m - 1))),  # Jensen-naive
    (8, "E[z_in^4]", lambda m: 3.0),                            # Gaussian kurtosis
    (32, "E[z_in^4]", lambda m: 3.0),
    (8, "E[y_out^2]", lambda m: (m - 1) / (m - 3)),             # t variance, no (m+1)/m
    (32, "E[y_out^2]", lambda m: (m - 1) / (m - 3)),
]


@pytest.mark.parametrize("m, quantity, wrong", WRONG)
def test_wrong_theory_values_are_rejected(sims, m, quantity, wrong):
    row = _row(sims[m], quantity)
    assert row.verdict == "agree" and abs(row.z) < K
    assert abs(row.result.zscore(wrong(m))) > 2 * K, (quantity, row.result, wrong(m))


def test_wrong_theory_gives_disagree_verdict(monkeypatch):
    """End to end: plant the unbiased formula (m-1)/(m-3) for E[sigma^2/sigma_B^2] in
    noise_theory and the simulator's verdict must flip to 'disagree'."""
    real = nt.scale_moment

    def planted(m, power, *, ddof=0, eps=0.0):
        if power == 2 and eps == 0:
            return (m - 1) / (m - 3)
        return real(m, power, ddof=ddof, eps=eps)

    monkeypatch.setattr(nt, "scale_moment", planted)
    sim = simulate_bn(8, 1_000_000, rng=5, workers=2, ks_batches=0)
    assert _row(sim, "E[sigma^2/sigma_B^2]").verdict == "disagree"
    assert sim.verdict == "disagree"


def _ks_against(m, quantity, law, *, n_batches=60_000, seed=3, ddof=0):
    kernel = functools.partial(bn_kernel, m=m, law=input_law("normal"), ddof=ddof,
                               ks_fraction=1.0, exact_laws={quantity: law})
    return run_chunks(kernel, n_batches, block_size=bn_block_size(m), rng=seed,
                      workers=2).accumulator[f"ks_{quantity}"]


@pytest.mark.parametrize("m, quantity, right, wrong", [
    (8, "xi_sigma", lambda m: nt.variance_noise(m), lambda m: nt.variance_noise(m, ddof=1)),
    (8, "xi_mu", lambda m: nt.mean_noise(m), lambda m: stats.norm(scale=1 / math.sqrt(m - 1))),
    # the paper's independent-noise model (t, no (m+1)/(m-1) factor) vs the true law
    (8, "y_out", lambda m: nt.bn_output(m, model="out_of_batch"), lambda m: stats.t(m - 1)),
    # in-batch outputs do not follow the out-of-batch law
    (4, "z_in", lambda m: nt.bn_output(m, model="in_batch"),
     lambda m: nt.bn_output(m, model="out_of_batch")),
])
def test_ks_accepts_exact_law_and_rejects_wrong_one(m, quantity, right, wrong):
    good = _ks_against(m, quantity, right(m))
    bad = _ks_against(m, quantity, wrong(m))
    assert good.ks().pvalue_low > 1e-3
    assert bad.ks().pvalue_high < 1e-6
    assert good.cvm()[1] < 0.743 < bad.cvm()[0]     # Cramer-von Mises agrees (1% level)


def test_ddof_and_eps_agree():
    sim = simulate_bn(5, 1_000_000, ddof=1, rng=11, workers=2)
    assert sim.verdict == "agree"
    assert _row(sim, "E[xi_sigma]").theory == pytest.approx(1.0)
    # eps: at m = 2 the in-batch output loses E z^2 = 1 - eps E[1/(xi + eps)]
    sim = simulate_bn(2, 1_000_000, eps=0.01, rng=12, workers=2)
    assert sim.verdict == "agree"
    row = _row(sim, "E[z_in^2]")
    assert row.theory < 0.9 and abs(row.result.zscore(1.0)) > 3 * K  # eps is not negligible
    assert _row(sim, "E[sigma^2/sigma_B^2]").verdict == "agree"     # finite again with eps


@pytest.mark.parametrize("dist, df", [("laplace", None), ("uniform", None), ("t", 12.0),
                                      ("exponential", None), ("lognormal", None)])
def test_non_gaussian_batch_statistics(dist, df):
    """Var(sigma_B^2) depends on the kurtosis and Cov(mu_B, sigma_B^2) on the skewness:
    the simulator agrees with batch_statistics_moments and rejects the Gaussian values."""
    m = 8
    sim = simulate_bn(m, 1_600_000, dist=dist, df=df, rng=21, workers=2)
    assert sim.verdict == "agree", [(c.quantity, c.z, c.verdict) for c in sim.moments]
    assert sim.ks == ()
    row = _row(sim, "Var[xi_sigma]")
    if dist == "lognormal":   # 8th moment finite but huge: estimator far from normal
        return
    gaussian_value = 2 * (m - 1) / m**2
    if dist != "t":
        assert abs(row.result.zscore(gaussian_value)) > 3 * K
    if dist in ("exponential", "lognormal"):
        assert abs(_row(sim, "Cov[xi_mu,xi_sigma]").result.zscore(0.0)) > 3 * K


def test_relu_needs_eps_and_agrees_with_it():
    with pytest.raises(ValueError, match=r"`eps` must be > 0 for dist='relu'"):
        simulate_bn(4, 1000, dist="relu", rng=1)
    sim = simulate_bn(4, 1_000_000, dist="relu", eps=1e-3, rng=2, workers=2)
    assert sim.verdict == "agree"
    assert _row(sim, "Cov[xi_mu,xi_sigma]").verdict == "agree"


def test_heavy_tails_without_variance():
    """t(2): no variance, so not standardised; moments needing it are not z-tested."""
    sim = simulate_bn(8, 100_000, dist="t", df=2.0, rng=3, workers=1)
    assert sim.dist == "t"
    assert all(c.verdict in ("no theory", "no z") for c in sim.moments)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((1, 100), {}, ValueError, r"`m` must be an integer >= 2; got m=1"),
    ((8, 0), {}, ValueError, r"`samples` must be an integer >= 1; got samples=0"),
    ((8, 100), {"dist": "gausian"}, ValueError,
     r"`dist` must be one of .*got dist='gausian'\. Did you mean 'gaussian'"),
    ((8, 100), {"dist": "laplse"}, ValueError, r"Did you mean 'laplace'"),
    ((8, 100), {"eps": -1e-5}, ValueError, r"`eps` must be a real number >= 0.0; got eps=-1e-05"),
    ((8, 100), {"workers": 0}, ValueError, r"`workers` must be an integer >= 1; got workers=0"),
    ((8, 100), {"ddof": 8}, ValueError, r"`ddof` must be an integer in \[0, m\); got ddof=8, m=8"),
    ((8, 100), {"alpha": 1.5}, ValueError, r"`alpha` must be a real number > 0.0 and < 1.0"),
    ((8, 100), {"dist": "t"}, ValueError, r"`df` is required for dist='t'"),
    ((8, 100), {"df": 3}, ValueError, r"`df` is only used with dist='t'"),
    ((8, 100), {"dist": "t", "df": -1}, ValueError, r"`df` must be a real number > 0.0; got df=-1"),
    ((8, 100), {"dist": 3}, TypeError, r"`dist` must be a name"),
    ((8, 100), {"ks_batches": -1}, ValueError, r"`ks_batches` must be an integer >= 0"),
    ((2.5, 100), {}, TypeError, r"`m` must be an integer >= 2; got m=2.5"),
])
def test_errors(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        simulate_bn(*args, **kwargs)


def test_verdict_rules():
    from simulations import SimulationResult
    from simulations.models._bn_checks import _verdicts

    R = SimulationResult
    rows = [(R("a", 1.0, 0.1, 100), math.nan, True),          # no theory
            (R("b", 5.0, 1.0, 100), math.inf, True),          # diverges
            (R("c", 1.0, 0.1, 100), 1.0, False),              # no z
            (R("d", math.nan, 0.1, 100), 1.0, True),          # undefined
            (R("e", 1.0, 0.0, 100), 1.0, True),               # constant, equal: agree
            (R("f", 1.1, 0.0, 100), 1.0, True),               # constant, unequal: disagree
            (R("g", 1.0, 0.1, 100), 1.05, True),              # z = -0.5: agree
            (R("h", 2.0, 0.1, 100), 1.0, True, 0.2)]          # null stderr 0.2: z = 5
    moments, ks, level = _verdicts(rows, [], 0.01)
    assert [c.verdict for c in moments] == ["no theory", "diverges", "no z", "undefined",
                                            "agree", "disagree", "agree", "disagree"]
    assert level == pytest.approx(0.01 / 5)      # Bonferroni: rows d-h (finite theory, ok)
    assert moments[6].z == pytest.approx(-0.5) and moments[7].z == pytest.approx(5.0)


def test_replay_from_entropy_and_spawn_key():
    """A Generator or a spawned SeedSequence as rng: entropy + spawn_key replay the run."""
    for rng in (np.random.default_rng(5), np.random.SeedSequence(9, spawn_key=(8,))):
        sim = simulate_bn(4, 100_000, rng=rng, workers=2, ks_batches=1000)
        assert sim.spawn_key != ()
        again = simulate_bn(4, 100_000, workers=1, ks_batches=1000,
                            rng=np.random.SeedSequence(sim.entropy, spawn_key=sim.spawn_key))
        assert _fingerprint(again) == _fingerprint(sim)


def test_heavy_tails_without_finite_moments_are_reported_not_raised():
    """t(3): no finite fourth moment (Var xi_sigma diverges) and no finite skewness (no
    theory for the covariance); the mean rows still have theory."""
    sim = simulate_bn(8, 80_000, dist="t", df=3, rng=5, workers=1)
    rows = {c.quantity: c for c in sim.moments}
    assert rows["Var[xi_sigma]"].theory == math.inf
    assert rows["Var[xi_sigma]"].verdict == "diverges"
    assert math.isnan(rows["Cov[xi_mu,xi_sigma]"].theory)
    assert rows["Cov[xi_mu,xi_sigma]"].verdict == "no theory"
    assert rows["Var[xi_mu]"].theory == pytest.approx(1 / 8)
    assert rows["E[xi_sigma]"].theory == pytest.approx(7 / 8)
