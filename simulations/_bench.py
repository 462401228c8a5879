"""Throughput benchmarks: the BN simulator against the raw generator and a naive baseline.

:func:`run_bench` measures in one run

(a) the raw generator: ``Generator(PCG64).standard_normal(out=buf)`` into a reused float64
    buffer of 2^17 samples (the same bit generator, dtype and buffer size as the simulator);
(b) the BN simulator (:func:`simulations.run_chunks` with :func:`~simulations._bn_sim.bn_kernel`,
    one worker, every moment of every quantity; the KS subsample, a fixed cost per run, is
    off) at m = 2, 8 and 64, in input samples per second;
(c) a naive numpy baseline: ``x = rng.standard_normal((batches, m)); x.mean(axis=1);
    x.var(axis=1)`` on arrays of 2^20 samples;
(d) the simulator at m = 8 on one worker against all cores.

Other modules add their own benchmarks by appending a callable ``f(seconds) -> dict`` to
:data:`EXTRA_BENCHMARKS`; each dict is merged into the result (and shown in the table).
Timings are medians of repeated runs of about `seconds` each, so brief interference from
other processes is damped but not removed: the machine's load average is reported.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np

__all__ = ["run_bench", "EXTRA_BENCHMARKS"]


def _mbn_fast_path(seconds):
    from ._mbn_sim import bench_fast_path

    return bench_fast_path(seconds)


#: Extra benchmarks: callables ``f(seconds) -> dict`` whose results are merged into the
#: output of :func:`run_bench` (keys should be unique, e.g. prefixed by the module).
EXTRA_BENCHMARKS: list = [
    _mbn_fast_path,  # MBN fast path: chain-steps/s at m = 2, 8, 64, 512
]

_BUF = 1 << 17


def _rate(fn, units, seconds, repeats=3):
    """Median units per second of `fn` over `repeats` timed runs of >= `seconds` / repeats."""
    fn()  # warm up (buffers, caches, imports)
    rates = []
    budget = seconds / repeats
    for _ in range(repeats):
        count = 0
        start = time.perf_counter()
        while True:
            fn()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= budget:
                break
        rates.append(count * units / elapsed)
    return float(np.median(rates))


def _rng_rate(seconds):
    rng = np.random.Generator(np.random.PCG64(12345))
    buf = np.empty(_BUF)
    return _rate(functools.partial(rng.standard_normal, out=buf), _BUF, seconds)


def _naive_rate(seconds, m):
    rng = np.random.Generator(np.random.PCG64(12345))
    batches = (1 << 20) // m

    def naive():
        x = rng.standard_normal((batches, m))
        x.mean(axis=1)
        x.var(axis=1)

    return _rate(naive, batches * m, seconds)


def _simulator_rate(seconds, m, workers, rng_rate):
    """Samples per second of the simulator at batch size m (run_chunks, no KS)."""
    from ._bn_sim import bn_block_size, bn_kernel
    from ._distributions import input_law
    from ._engine import run_chunks

    kernel = functools.partial(bn_kernel, m=m, law=input_law("normal"))
    block = bn_block_size(m)
    # about seconds/3 of generator time per run, at least one block per worker
    batches = max(workers * block, int(rng_rate * seconds / 3 / m))
    run = functools.partial(run_chunks, kernel, batches, block_size=block, rng=1,
                            workers=workers, progress=False)
    return _rate(run, batches * m, seconds)


def run_bench(*, seconds=1.0, batch_sizes=(2, 8, 64), workers=None):
    """Measure generator, simulator and naive throughputs (see the module docstring).

    Parameters
    ----------
    seconds : float
        Time spent on each measurement (> 0); about ``(len(batch_sizes) + 4) * seconds`` in
        total, plus the extra benchmarks.
    batch_sizes : sequence of int
        Batch sizes for the simulator throughput (must include 8).
    workers : int, optional
        Cores for the parallel measurement (default ``os.cpu_count()``).

    Returns
    -------
    dict
        ``rng_samples_per_s``, ``simulator_samples_per_s`` (by m, as strings), ``naive_samples_per_s``
        (m = 8), ``ratio_to_rng`` and ``speedup_vs_naive`` (both at m = 8),
        ``parallel_speedup`` (all workers / one, m = 8), ``workers``, ``load_average``,
        ``seconds`` and whatever :data:`EXTRA_BENCHMARKS` add.

    Examples
    --------
    >>> from simulations._bench import run_bench
    >>> res = run_bench(seconds=0.03, batch_sizes=(8,))
    >>> sorted(k for k in res if k.endswith("_per_s"))
    ['naive_samples_per_s', 'rng_samples_per_s', 'simulator_samples_per_s']
    """
    from noise_theory._validation import positive_int, real_array

    seconds = float(real_array(seconds, "seconds", minimum=0.0, min_open=True))
    batch_sizes = [positive_int(m, "batch_sizes", minimum=2) for m in batch_sizes]
    if 8 not in batch_sizes:
        raise ValueError(f"`batch_sizes` must include 8; got batch_sizes={batch_sizes}.")
    workers = os.cpu_count() or 1 if workers is None else positive_int(workers, "workers")
    start = time.perf_counter()
    rng_rate = _rng_rate(seconds)
    sim = {str(m): _simulator_rate(seconds, m, 1, rng_rate) for m in batch_sizes}
    naive = _naive_rate(seconds, 8)
    parallel = _simulator_rate(seconds, 8, workers, rng_rate)
    rng_rate_after = _rng_rate(seconds)  # bracket the simulator runs: load may change
    rng_mean = 0.5 * (rng_rate + rng_rate_after)
    out = {
        "rng_samples_per_s": rng_mean,
        "simulator_samples_per_s": sim,
        "naive_samples_per_s": naive,
        "ratio_to_rng": sim["8"] / rng_mean,
        "speedup_vs_naive": sim["8"] / naive,
        "parallel_samples_per_s": parallel,
        "parallel_speedup": parallel / sim["8"],
        "workers": workers,
        "rng_samples_per_s_before_after": [rng_rate, rng_rate_after],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    for bench in EXTRA_BENCHMARKS:
        out.update(bench(seconds))
    out["seconds"] = time.perf_counter() - start
    return out
