"""Monte Carlo engine, simulators, plots, report and the ``bn-noise`` command line.

API
---
run_chunks        Monte Carlo engine: seeded blocks, chunks on threads/processes/Dask, merged summaries
RunResult         what run_chunks returns (accumulator, n, seed entropy, blocks, seconds)
block_seed        the SeedSequence of one block (stream keyed by block index)
Moments           mergeable count/mean/central moments (order <= 4) of named quantities
PitHistogram      mergeable histogram of F(x) for Kolmogorov-Smirnov tests in bounded memory
KSResult          KS statistic and p-value bounds from a PitHistogram
SimulationResult  estimate, standard error and n (the result of every simulator)
"""

from ._accumulators import KSResult, Moments, PitHistogram, SimulationResult
from ._engine import RunResult, block_seed, run_chunks

__all__ = [
    "KSResult", "Moments", "PitHistogram", "RunResult", "SimulationResult", "block_seed",
    "run_chunks",
]
