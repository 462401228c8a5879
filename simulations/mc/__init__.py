"""The Monte Carlo core: seeds, the chunked engine, mergeable accumulators, the verdict
rule, progress bars.

Vocabulary (used across ``simulations``)
----------------------------------------
m
    The BN batch size (the number of values one batch statistic is computed from).
unit, n
    What a simulation counts (a batch, a chain, a sample) and how many are simulated.
block, chunk
    ``block_size`` units drawn from one random stream; a chunk is a whole number of blocks
    sent to a worker as one task (a scheduling choice that never changes the result).
seed, entropy
    ``seed`` is what a user passes (an int, a ``SeedSequence``, ``None``); ``entropy`` is
    the root ``SeedSequence.entropy`` a result records so that a run can be replayed.

API
---
run_chunks(kernel, n, *, block_size, chunk_size, rng, workers, executor, progress)  the engine
RunResult          what run_chunks returns (accumulator, n, entropy, blocks, seconds)
block_seed(root, index)   the SeedSequence of one block (stream keyed by block index)
as_seed_sequence(rng)     a SeedSequence for None / int / SeedSequence / Generator
named_seed(root, *names)  a SeedSequence keyed by names (stable hash, not arithmetic)
Moments, PowerSums, PitHistogram, KSResult, SimulationResult, merge   accumulators
z_score, critical_z, verdict, AgreementRule   the one rule deciding "agrees"
progress(iterable=None, *, total, desc, enabled, unit)  tqdm bar, quiet off a terminal
signals_held(), die_with_parent(parent), terminate_pool(pool)   safe forks and workers
"""

from ._accumulators import (
                            KSResult,
                            Moments,
                            PitHistogram,
                            PowerSums,
                            SimulationResult,
                            merge,
)
from ._engine import DEFAULT_BLOCK_SIZE, RunResult, block_seed, run_chunks
from ._processes import die_with_parent, signals_held, terminate_pool
from ._progress import progress
from ._seeding import as_seed_sequence, named_seed
from ._verdict import (
                            DEFAULT_ALPHA,
                            AgreementRule,
                            Verdict,
                            critical_z,
                            verdict,
                            z_score,
)

__all__ = ["die_with_parent", "signals_held", "terminate_pool", "run_chunks", "RunResult", "block_seed", "DEFAULT_BLOCK_SIZE", "as_seed_sequence",
           "named_seed", "Moments", "PowerSums", "PitHistogram", "KSResult",
           "SimulationResult", "merge", "DEFAULT_ALPHA", "Verdict", "z_score", "critical_z", "verdict", "AgreementRule",
           "progress"]
