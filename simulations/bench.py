"""Throughput benchmarks: the BN simulator against the raw generator and a naive baseline.

:func:`run_bench` measures in one run, all with the same bit generator (SFC64, the
simulator's: :func:`simulations.models._bn._block_generator`) and dtype (float64):

(a) the raw generator: ``Generator(SFC64).standard_normal(out=buf)`` into a reused float64
    buffer of 2^17 samples (the simulator's sub-block size);
(b) the BN simulator (:func:`simulations.run_chunks` with :func:`~simulations.models._bn.bn_kernel`,
    one worker, every moment of every quantity; the KS subsample, a fixed cost per run, is
    off) at m = 2, 8 and 64, in input samples per second;
(c) a naive numpy baseline at m = 8: ``x = rng.standard_normal((batches, m));
    x.mean(axis=1); x.var(axis=1)`` on fresh arrays of 2^20 samples;
(d) the simulator at m = 8 on one worker against all cores.

Other modules add their own benchmarks by appending a callable ``f(seconds) -> dict`` to
:data:`EXTRA_BENCHMARKS`; each dict is merged into the result (and shown in the table).
(a), (b) at m = 8, (c) and (d) are timed in turn, call after call, on equal sample counts
(:data:`_SAMPLES_PER_CALL` = 32 Mi samples per call, i.e. 32 random-stream blocks at
m = 8, 16 per worker; the naive baseline as arrays of 1 Mi), and each rate is the median over
the calls: a change of load on the machine hits all four alike, so
``ratio_to_rng``, ``speedup_vs_naive`` and ``parallel_speedup`` are meaningful even when
the absolute rates are not. The load average is reported with the numbers.

Calls are long enough (about 0.3 s on one worker) to measure sustained throughput: with
only 4 blocks per call the fixed cost of a run (starting the thread pool, the last block's
wait) capped the measured two-worker speedup at about 1.35 on an idle machine, against
about 1.8 on 16 or more blocks.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

from noise_theory._lib import ParameterValueError, positive_int, real_array

from .mc._engine import run_chunks
from .mc._progress import progress as make_bar
from .models import simulate_mbn  # deferred: numba and scipy
from .models._bn import _block_generator, bn_block_size, bn_kernel
from .models._laws import input_law
from .nn._bench import bench_training_step

__all__ = ["EXTRA_BENCHMARKS", "LABELS", "bench_fast_path", "label", "run_bench"]


def bench_fast_path(seconds, *, batch_sizes=(2, 8, 64, 512), chains=4096, steps=200):
    """Fast-path chain-steps per second at several batch sizes (one worker, median of
    interleaved runs).

    An entry of :data:`EXTRA_BENCHMARKS`: the fast path draws the batch
    statistics from their exact joint law, so its cost per step should not depend on m.
    Returns ``{"mbn_fast_chain_steps_per_s_m<M>": rate, ...,
    "mbn_fast_max_over_min_rate": ratio}``.
    """

    lam = np.full(steps, 0.9)
    runs = [functools.partial(simulate_mbn, m, lam, chains=chains, record=[steps],
                              fast=True, rng=1, workers=1, block_size=chains,
                              progress=False) for m in batch_sizes]
    # timed in turn (interleaved), so a load change hits every m alike
    rates = _rates(runs, [chains * steps] * len(runs), max(seconds / len(runs), 1e-3))
    out = {f"mbn_fast_chain_steps_per_s_m{m}": r for m, r in zip(batch_sizes, rates)}
    rates = list(out.values())
    out["mbn_fast_max_over_min_rate"] = max(rates) / min(rates)
    return out


#: Extra benchmarks: callables ``f(seconds) -> dict`` whose results are merged into the
#: output of :func:`run_bench` (keys should be unique, e.g. prefixed by the module).
EXTRA_BENCHMARKS: list = [
    bench_fast_path,  # MBN fast path: chain-steps/s at m = 2, 8, 64, 512
    bench_training_step,  # nn: fused vs plain-numpy SGD steps/s of the default MLP, m = 2, 64
]

#: result key -> the row name ``bn-noise bench`` shows (in words, with its unit).
LABELS = {
    "rng_samples_per_s": "raw generator, normal samples per second",
    "naive_samples_per_s": "naive numpy at m = 8, samples per second",
    "ratio_to_rng": "simulator / raw generator at m = 8",
    "speedup_vs_naive": "simulator / naive numpy at m = 8 (speed-up)",
    "parallel_speedup": "all workers / one worker at m = 8 (speed-up)",
    "mbn_fast_max_over_min_rate": "MBN fast path: fastest / slowest batch size",
}


def label(key, workers=None):
    """The row name of result `key` in words (keys not in :data:`LABELS` are spelled out).

    Examples
    --------
    >>> from simulations.bench import label
    >>> label("mbn_fast_chain_steps_per_s_m64")
    'MBN fast path at m = 64, chain-steps per second (1 worker)'
    >>> label("simulator_samples_per_s", 2)
    'BN simulator at m = 8, samples per second (2 workers)'
    """
    if key in LABELS:
        return LABELS[key]
    if key == "simulator_samples_per_s":
        return f"BN simulator at m = 8, samples per second ({workers} workers)"
    head, sep, m = key.rpartition("_per_s_m")
    if sep and head == "mbn_fast_chain_steps":
        return f"MBN fast path at m = {m}, chain-steps per second (1 worker)"
    if key.startswith("simulator_m"):
        return f"BN simulator at m = {key[len('simulator_m'):]}, samples per second (1 worker)"
    return key.replace("_per_s", " per second").replace("_", " ")


_BUF = 1 << 17

#: Input samples per timed call of (a), (b) at m = 8, (c) and (d).
_SAMPLES_PER_CALL = 32 << 20


def _time(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _rates(fns, units, seconds, *, min_repeats=3):
    """Median ``units[i]`` per second of each callable ``fns[i]``, timed in turn
    (interleaved) so that a load change on the machine affects all of them alike. Each
    call should take a fraction of `seconds`; calls are repeated until `seconds` per
    callable are used (at least `min_repeats` times). :data:`EXTRA_BENCHMARKS` entries
    use it too."""
    for fn in fns:
        fn()  # warm up (buffers, caches, imports)
    times = [[] for _ in fns]
    while True:
        for t, fn in zip(times, fns):
            t.append(_time(fn))
        spent = min(sum(t) for t in times)
        if len(times[0]) >= min_repeats and spent >= seconds:
            break
    return [float(u / np.median(t)) for u, t in zip(units, times)]


def _generator():
    """The simulator's generator (same bit generator) with a fixed seed."""

    return _block_generator(np.random.SeedSequence(12345))


def _rng_fn(samples):
    rng = _generator()
    buf = np.empty(_BUF)
    reps = max(1, samples // _BUF)

    def fill():
        for _ in range(reps):
            rng.standard_normal(out=buf)

    return fill, reps * _BUF


def _naive_fn(m, samples):
    """The naive baseline on about `samples` samples, as arrays of 2^20 samples."""
    rng = _generator()
    batches = (1 << 20) // m
    reps = max(1, round(samples / (batches * m)))

    def naive():
        for _ in range(reps):
            x = rng.standard_normal((batches, m))
            x.mean(axis=1)
            x.var(axis=1)

    return naive, reps * batches * m


def _simulator_fn(m, workers, batches):
    """One simulator run (run_chunks + bn_kernel, no KS) of `batches` batches of size m."""

    kernel = functools.partial(bn_kernel, m=m, law=input_law("normal"))
    return functools.partial(run_chunks, kernel, batches, block_size=bn_block_size(m), rng=1,
                             workers=workers, progress=False)


def _batches(m, samples, workers):
    """Whole blocks, at least two per worker, about `samples` input samples."""

    block = bn_block_size(m)
    return block * max(2 * workers, round(samples / (m * block)))


def run_bench(*, seconds=1.0, batch_sizes=(2, 8, 64), workers=None, progress=False):
    """Measure generator, simulator and naive throughputs (see the module docstring).

    Parameters
    ----------
    seconds : float
        Time spent on each interleaved measurement (> 0); about
        ``4 * seconds + (len(batch_sizes) - 1) * seconds / 2`` in total (at least three
        calls each), plus the extra benchmarks.
    batch_sizes : sequence of int
        Batch sizes for the simulator throughput (must include 8).
    workers : int, optional
        Cores for the parallel measurement (default ``os.cpu_count()``).
    progress : bool or None, optional
        Show a progress bar, one step per measurement (None: only when stderr is a
        terminal; default False).

    Returns
    -------
    dict
        ``rng_samples_per_s``, ``simulator_samples_per_s`` (by m, keys are strings),
        ``naive_samples_per_s`` (m = 8), ``ratio_to_rng`` and ``speedup_vs_naive`` (both at
        m = 8), ``parallel_samples_per_s`` and ``parallel_speedup`` (all workers / one,
        m = 8), ``workers``, ``load_average``, ``seconds`` and whatever
        :data:`EXTRA_BENCHMARKS` add.

    Examples
    --------
    >>> from simulations.bench import run_bench
    >>> res = run_bench(seconds=0.03, batch_sizes=(8,))
    >>> {"naive_samples_per_s", "rng_samples_per_s", "simulator_samples_per_s"} <= set(res)
    True
    """

    seconds = float(real_array(seconds, "seconds", minimum=0.0, min_open=True))
    batch_sizes = [positive_int(m, "batch_sizes", minimum=2) for m in batch_sizes]
    if 8 not in batch_sizes:
        raise ParameterValueError(f"`batch_sizes` must include 8; got batch_sizes={batch_sizes}.")
    workers = (os.cpu_count() or 1) if workers is None else positive_int(workers, "workers")
    start = time.perf_counter()
    bar = make_bar(total=len(batch_sizes) + len(EXTRA_BENCHMARKS), desc="bn-noise bench",
                   enabled=progress, unit="measurement")
    try:
        out = _measure(seconds, batch_sizes, workers, bar)
    finally:
        bar.close()
    out["seconds"] = time.perf_counter() - start
    return out


def _measure(seconds, batch_sizes, workers, bar):
    bar.set_postfix_str("generator, simulator, naive, all workers at m = 8", refresh=True)
    # (a), (b) at m = 8, (c) and (d): interleaved, equal sample counts per call
    b8 = _batches(8, _SAMPLES_PER_CALL, workers)
    rng_fill, rng_units = _rng_fn(8 * b8)
    naive_fn, naive_units = _naive_fn(8, 8 * b8)
    rng_rate, sim8, naive, parallel = _rates(
        [rng_fill, _simulator_fn(8, 1, b8), naive_fn, _simulator_fn(8, workers, b8)],
        [rng_units, 8 * b8, naive_units, 8 * b8], seconds)
    bar.update(1)
    sim = {}
    for m in batch_sizes:
        if m == 8:
            sim["8"] = sim8
            continue
        bar.set_postfix_str(f"simulator at m = {m}", refresh=True)
        bm = _batches(m, _SAMPLES_PER_CALL // 4, 1)
        sim[str(m)] = _rates([_simulator_fn(m, 1, bm)], [m * bm], seconds / 2)[0]
        bar.update(1)
    out = {
        "rng_samples_per_s": rng_rate,
        "simulator_samples_per_s": sim,
        "naive_samples_per_s": naive,
        "ratio_to_rng": sim8 / rng_rate,
        "speedup_vs_naive": sim8 / naive,
        "parallel_samples_per_s": parallel,
        "parallel_speedup": parallel / sim8,
        "workers": workers,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for bench in EXTRA_BENCHMARKS:
        bar.set_postfix_str(getattr(bench, "__name__", "extra"), refresh=True)
        out.update(bench(seconds))
        bar.update(1)
    return out
