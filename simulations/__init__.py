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
build_report      run every check (closed form vs sympy vs Monte Carlo), write report.md/.html
ReportResult      what build_report returns (folder, seed, checks, disagreements, threshold)
plot_noise_densities      densities of xi_mu or xi_sigma for several batch sizes
plot_noise_vs_batch_size  noise sd against m: BN and MBN theory, simulated points with CIs
plot_output_laws          in-batch against out-of-batch laws of the BN output at one m
plot_kurtosis_effect      variance noise against the input's excess kurtosis
"""

from ._accumulators import KSResult, Moments, PitHistogram, SimulationResult
from ._engine import RunResult, block_seed, run_chunks
from ._plots import (plot_kurtosis_effect, plot_noise_densities, plot_noise_vs_batch_size,
                     plot_output_laws)
from ._report import ReportResult, build_report

__all__ = [
    "KSResult", "Moments", "PitHistogram", "RunResult", "SimulationResult", "block_seed",
    "run_chunks",
    "build_report", "ReportResult",
    "plot_noise_densities", "plot_noise_vs_batch_size", "plot_output_laws",
    "plot_kurtosis_effect",
]
