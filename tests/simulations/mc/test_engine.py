"""Tests of the Monte Carlo engine: reproducibility across scheduling, seeding, errors."""

import concurrent.futures
import functools

import numpy as np
import pytest

from simulations import Moments, PitHistogram, RunResult, block_seed, run_chunks


def _kernel(seed_seq, size, *, power=1):
    """Module level, so process pools can pickle it."""
    x = np.random.default_rng(seed_seq).standard_normal(size) ** power
    return {"m": Moments.from_data({"x": x}),
            "h": PitHistogram.from_pit(np.abs(x) % 1.0, bins=64)}


def _fields(res):
    acc = res.accumulator
    m = acc["m"]
    return (m.n.tolist(), m.mean.tobytes(), m.m2.tobytes(), m.m3.tobytes(), m.m4.tobytes(),
            acc["h"].counts.tobytes())


N = 10_000
BS = 700  # last block is partial


@pytest.fixture(scope="module")
def reference():
    return run_chunks(_kernel, N, block_size=BS, rng=2024, workers=1)


@pytest.mark.parametrize("workers", [1, 2, 4])
@pytest.mark.parametrize("chunk_size", [None, 1, 700, 1500, 10**6])
def test_bit_identical_for_workers_and_chunk_sizes(reference, workers, chunk_size):
    res = run_chunks(_kernel, N, block_size=BS, rng=2024, workers=workers,
                     chunk_size=chunk_size)
    assert _fields(res) == _fields(reference)


def test_bit_identical_with_process_pool(reference):
    with concurrent.futures.ProcessPoolExecutor(2) as ex:
        res = run_chunks(_kernel, N, block_size=BS, rng=2024, executor=ex, chunk_size=1400)
    assert _fields(res) == _fields(reference)


def test_bit_identical_with_dask_local_cluster(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        res = run_chunks(_kernel, N, block_size=BS, rng=2024,
                         executor=client.get_executor(), chunk_size=2100)
    assert _fields(res) == _fields(reference)


def test_result_matches_direct_computation(reference):
    """Independent route: draw the same blocks by hand and merge in order."""
    root = np.random.SeedSequence(2024)
    xs = [np.random.default_rng(block_seed(root, i)).standard_normal(min(BS, N - i * BS))
          for i in range(-(-N // BS))]
    x = np.concatenate(xs)
    m = reference.accumulator["m"]
    assert m.n[0] == N
    assert m.mean[0] == pytest.approx(x.mean(), rel=1e-12)
    assert m.var("x") == pytest.approx(x.var(ddof=1), rel=1e-12)
    assert isinstance(reference, RunResult)
    assert (reference.entropy, reference.spawn_key, reference.blocks, reference.n) == \
        (2024, (), 15, N)


def test_block_seed_is_spawn_child():
    root = np.random.SeedSequence(5)
    kids = np.random.SeedSequence(5).spawn(3)
    for i, kid in enumerate(kids):
        assert np.array_equal(block_seed(root, i).generate_state(4), kid.generate_state(4))


def test_seed_forms_and_replay():
    a = run_chunks(functools.partial(_kernel, power=2), 3000, block_size=500, workers=2)
    assert a.entropy is not None
    replay = run_chunks(functools.partial(_kernel, power=2), 3000, block_size=500,
                        rng=np.random.SeedSequence(a.entropy, spawn_key=a.spawn_key))
    assert _fields(a) == _fields(replay)
    g1 = run_chunks(_kernel, 3000, block_size=500, rng=np.random.default_rng(9), workers=1)
    g2 = run_chunks(_kernel, 3000, block_size=500, rng=np.random.default_rng(9), workers=1)
    assert _fields(g1) == _fields(g2)
    other = run_chunks(_kernel, 3000, block_size=500, rng=10, workers=1)
    assert _fields(other) != _fields(g1)


def test_bounded_in_flight():
    """At most max_in_flight tasks are submitted and not yet merged."""
    live, peak = [0], [0]

    class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
        def submit(self, fn, *args):
            live[0] += 1
            peak[0] = max(peak[0], live[0])
            fut = super().submit(fn, *args)
            orig = fut.result

            def result(timeout=None):
                live[0] -= 1
                return orig(timeout)
            fut.result = result
            return fut

    with CountingExecutor(2) as ex:
        run_chunks(_kernel, 20_000, block_size=100, chunk_size=100, rng=1, executor=ex,
                   max_in_flight=3)
    assert peak[0] == 3


def test_progress_bar_runs(capsys):
    run_chunks(_kernel, 2000, block_size=500, rng=1, workers=1, progress=True, desc="test")
    assert "test" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, r"`n` must be an integer >= 1; got n=0"),
    ({"n": 10, "workers": 0}, r"`workers` must be an integer >= 1; got workers=0"),
    ({"n": 10, "block_size": 0}, r"`block_size` must be an integer >= 1; got block_size=0"),
    ({"n": 10, "chunk_size": -1}, r"`chunk_size` must be an integer >= 1; got chunk_size=-1"),
    ({"n": 10, "max_in_flight": 0}, r"`max_in_flight` must be an integer >= 1"),
])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_chunks(_kernel, **kwargs)


def test_type_errors():
    with pytest.raises(TypeError, match="`kernel` must be callable"):
        run_chunks(3, 10)
    with pytest.raises(TypeError, match="`n` must be an integer"):
        run_chunks(_kernel, 1.5)
    with pytest.raises(TypeError, match="`rng` must be"):
        run_chunks(_kernel, 10, rng="seed")


@pytest.mark.parametrize("module", ["simulations.mc._engine", "simulations.mc._accumulators",
                                    "simulations.models._bn", "simulations.models._laws"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
