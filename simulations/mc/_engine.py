r"""The Monte Carlo engine: blocks, seeds, chunks, workers, bounded memory.

Vocabulary
----------
unit
    What a simulation counts (a batch, a chain, a sample). ``n`` units are simulated.
block
    ``block_size`` consecutive units simulated from one random stream. Block ``i`` draws
    from ``SeedSequence(entropy, spawn_key=root.spawn_key + (i,))`` - the stream depends
    only on the seed and the block index. A block is processed by one call of the
    *kernel* and summarised by one *accumulator*.
chunk
    ``chunk_size`` consecutive units (a whole number of blocks) sent to a worker as one
    task. Chunks are a scheduling choice only: they never change the result.
kernel
    A picklable callable ``kernel(seed_seq, size) -> accumulator`` (a module-level function
    or a ``functools.partial`` of one) that simulates `size` units from a generator seeded
    by `seed_seq` alone (``np.random.default_rng(seed_seq)``, or another bit generator:
    the BN kernel uses ``Generator(SFC64(seed_seq))``, the fastest for normals) and
    returns their summary: an object with a
    ``merge(other)`` method (:class:`~simulations.Moments`,
    :class:`~simulations.PitHistogram`, ...) or a dict / tuple of such objects.

The results are **bit-identical** for any chunk size, any number of workers and any
executor (serial, threads, processes, a Dask cluster), because the random numbers depend
only on (seed, block index, block size) and the per-block accumulators are always merged
in block-index order, left to right. Change `block_size` and you change the experiment
(like changing the seed).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from noise_theory._lib import ParameterTypeError, positive_int

from ._accumulators import merge as _merge_acc
from ._limits import MAX_THREADS
from ._progress import progress as _progress
from ._seeding import as_seed_sequence

__all__ = ["run_chunks", "RunResult", "block_seed", "DEFAULT_BLOCK_SIZE"]

#: Default number of units per block (per random stream).
DEFAULT_BLOCK_SIZE = 1 << 14

#: Target number of units per chunk (task) when `chunk_size` is not given; the engine also
#: makes enough chunks to keep every worker busy.
_TARGET_CHUNK_BLOCKS = 16


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What :func:`run_chunks` returns.

    Attributes
    ----------
    accumulator
        The merged summary of all blocks (same type as what the kernel returns).
    n : int
        Units simulated.
    entropy : int
        Entropy of the root ``SeedSequence``; ``run_chunks(..., rng=SeedSequence(entropy,
        spawn_key=spawn_key))`` with the same `block_size` replays the run bit for bit.
    spawn_key : tuple
        Spawn key of the root ``SeedSequence`` (``()`` for a plain integer seed).
    block_size : int
        Units per block (per random stream).
    blocks : int
        Number of blocks (random streams) used.
    seconds : float
        Wall-clock time of the run.
    """

    accumulator: object
    n: int
    entropy: int
    spawn_key: tuple
    block_size: int
    blocks: int
    seconds: float


def block_seed(root, index):
    """The ``SeedSequence`` of block `index` under `root`.

    Equal to the `index`-th child ``root.spawn(...)`` would give on a fresh `root`, but
    computed directly so it does not depend on spawn history or on scheduling.
    """
    return np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (int(index),),
                                  pool_size=root.pool_size)


def _run_task(kernel, entropy, spawn_key, pool_size, first_block, sizes):
    """Run the kernel on consecutive blocks; returns their accumulators (not merged, so
    the caller can merge in global block order)."""
    root = np.random.SeedSequence(entropy, spawn_key=spawn_key, pool_size=pool_size)
    return [kernel(block_seed(root, first_block + i), size) for i, size in enumerate(sizes)]


class _SerialExecutor:
    """Minimal in-thread executor: ``submit`` runs the call lazily on ``result()``."""

    class _Future:
        def __init__(self, fn, args):
            self._fn, self._args = fn, args

        def result(self):
            return self._fn(*self._args)

    def submit(self, fn, *args):
        return self._Future(fn, args)


def _run_chunks_iv(kernel, n, chunk_size, block_size, workers, max_in_flight):

    if not callable(kernel):
        raise ParameterTypeError(f"`kernel` must be callable; got kernel={kernel!r}.")
    n = positive_int(n, "n", minimum=1)
    block_size = positive_int(block_size, "block_size", minimum=1)
    if workers is not None:
        workers = positive_int(workers, "workers", minimum=1)
    if chunk_size is not None:
        chunk_size = positive_int(chunk_size, "chunk_size", minimum=1)
    if max_in_flight is not None:
        max_in_flight = positive_int(max_in_flight, "max_in_flight", minimum=1)
    return n, chunk_size, block_size, workers, max_in_flight


def run_chunks(kernel, n, *, block_size=DEFAULT_BLOCK_SIZE, chunk_size=None, rng=None,
               workers=None, executor=None, max_in_flight=None, progress=None, desc=None):
    """Simulate `n` units with `kernel`, block by block, and merge the summaries.

    Parameters
    ----------
    kernel : callable
        ``kernel(seed_seq, size) -> accumulator``; picklable when an `executor` with
        processes or a cluster is used. Must draw all its randomness from a generator
        seeded by `seed_seq` alone (e.g. ``np.random.default_rng(seed_seq)``).
    n : int
        Number of units (>= 1).
    block_size : int, optional
        Units per block (per random stream). Part of the experiment's definition: the
        result depends on (seed, n, block_size) and nothing else.
    chunk_size : int, optional
        Units per task, rounded up to whole blocks. Default: about 16 blocks, fewer if
        needed to give every worker at least 4 tasks. Does not change the result.
    rng : None, int, SeedSequence or Generator, optional
        The seed (see :func:`simulations.mc.as_seed_sequence`); the entropy used is in
        the returned :class:`RunResult`.
    workers : int, optional
        Threads of the default thread pool (numpy releases the GIL while generating, so
        threads scale). Default ``os.cpu_count()``; ``1`` runs serially in this thread.
        At most :data:`~simulations.mc._limits.MAX_THREADS` (16) threads are started
        (more only multiply the memory in flight; the result is the same).
        Ignored for the pool when `executor` is given (it then only sets how many tasks
        are kept in flight).
    executor : concurrent.futures.Executor, optional
        Any executor with ``submit``: ``ProcessPoolExecutor``,
        ``dask.distributed.Client(...).get_executor()``, ... The caller owns it.
    max_in_flight : int, optional
        Tasks submitted but not yet merged (bounds memory). Default ``2 * workers``.
    progress : bool, optional
        Show a tqdm bar (default: only when stderr is a terminal).
    desc : str, optional
        Label of the progress bar.

    Returns
    -------
    RunResult
        ``.accumulator`` is the merge of every block's accumulator in block order.

    Raises
    ------
    ValueError, TypeError
        For a non-callable kernel or a size/worker count that is not a positive integer.

    Notes
    -----
    Memory is bounded by ``max_in_flight`` tasks, each holding its blocks' accumulators,
    plus whatever one kernel call allocates - independent of `n`. Tasks are merged in
    submission order, so floating-point merges are reproducible.

    Examples
    --------
    >>> import functools, numpy as np
    >>> from simulations import Moments, run_chunks
    >>> def kernel(seed_seq, size):
    ...     x = np.random.default_rng(seed_seq).standard_normal(size)
    ...     return Moments.from_data({"x": x, "x2": x * x})
    >>> res = run_chunks(kernel, 100_000, block_size=10_000, rng=42, workers=2)
    >>> r = res.accumulator.mean_result("x2")
    >>> abs(r.estimate - 1) < 5 * r.stderr, res.blocks, res.entropy
    (True, 10, 42)
    >>> res1 = run_chunks(kernel, 100_000, block_size=10_000, rng=42, workers=1,
    ...                   chunk_size=30_000)
    >>> res1.accumulator.mean[0] == res.accumulator.mean[0]
    np.True_
    """
    n, chunk_size, block_size, workers, max_in_flight = _run_chunks_iv(
        kernel, n, chunk_size, block_size, workers, max_in_flight)
    root = as_seed_sequence(rng)
    if workers is None:
        workers = os.cpu_count() or 1
    workers = min(workers, MAX_THREADS)   # bounded memory; never changes the result
    n_blocks = -(-n // block_size)
    if chunk_size is None:
        per_task = max(1, min(_TARGET_CHUNK_BLOCKS, n_blocks // (4 * workers)))
    else:
        per_task = max(1, -(-chunk_size // block_size))
    if max_in_flight is None:
        max_in_flight = 2 * workers

    def tasks():
        for first in range(0, n_blocks, per_task):
            last = min(first + per_task, n_blocks)
            sizes = [min(block_size, n - b * block_size) for b in range(first, last)]
            yield first, sizes

    own_pool = None
    if executor is None:
        if workers == 1:
            executor = _SerialExecutor()
        else:

            executor = own_pool = ThreadPoolExecutor(max_workers=workers)
    submit = functools.partial(executor.submit, _run_task, kernel, root.entropy,
                               tuple(root.spawn_key), root.pool_size)

    start = time.perf_counter()
    total = None
    pending = collections.deque()
    try:
        with _progress(total=n, desc=desc, enabled=progress, unit="unit") as bar:
            it = tasks()
            for first, sizes in it:
                pending.append((submit(first, sizes), sum(sizes)))
                if len(pending) >= max_in_flight:
                    total = _drain_one(pending, total, bar)
            while pending:
                total = _drain_one(pending, total, bar)
    finally:
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    return RunResult(total, n, root.entropy, tuple(root.spawn_key), block_size, n_blocks,
                     time.perf_counter() - start)


def _drain_one(pending, total, bar):
    future, units = pending.popleft()
    for acc in future.result():
        total = acc if total is None else _merge_acc(total, acc)
    bar.update(units)
    return total
