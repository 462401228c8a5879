"""``bn-noise simulate bn``: BN's noise by Monte Carlo, next to the closed forms."""

from __future__ import annotations

import math

from ..io import write_csv
from ._args import (
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
    output_file_type,
    print_json,
    resolve_seed,
)

__all__ = ["add_parser", "run"]

#: = simulations.mc._limits.MAX_DRAWS (not imported: numpy at CLI start-up; a test checks)
_MAX_SAMPLES = 10 ** 11

_DESCRIPTION = """\
Simulate batches of size m from an input law (standardised to mean 0, sd 1), compute the
BN noise (xi_mu, xi_sigma, sigma/sigma_B, the in-batch and out-of-batch outputs) and compare
each moment with noise_theory: estimate, standard error, z-score and a verdict at the stated
significance level (Bonferroni over all tests of one batch size). For Gaussian input the
exact laws are also checked with Kolmogorov-Smirnov tests. The seed entropy is printed:
--seed S replays the run bit for bit, with any --workers.
"""


def add_parser(subparsers, common):
    from ..models._laws import DISTRIBUTIONS  # deferred: numba and scipy

    p = subparsers.add_parser("bn", parents=[common],
                              help="simulate BN noise and compare with theory",
                              description=_DESCRIPTION)
    add_batch_size_argument(p, [2, 4, 8, 16])
    p.add_argument("--samples", "-n", type=int_type(1, "samples", maximum=_MAX_SAMPLES),
                   default=1_000_000, metavar="N",
                   help="input samples per batch size, at most 1e11 (default 1e6; about 8 ns "
                        "per sample on one core; batches above 2^20 are drawn from the exact "
                        "law of their statistics, Gaussian input only)")
    p.add_argument("--dist", default="normal", metavar="NAME",
                   help="input law: " + ", ".join(DISTRIBUTIONS) + " (default normal)")
    p.add_argument("--df", type=float_type(minimum=0, min_open=True, name="df"), default=None,
                   help="degrees of freedom for --dist t")
    p.add_argument("--ddof", type=int_type(0, "ddof"), default=0,
                   help="batch variance divides by m - ddof (default 0: BN's biased variance)")
    p.add_argument("--eps", type=float_type(minimum=0, name="eps"), default=0.0,
                   help="BN's epsilon in population units (default 0)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="worker threads (default: all cores); never changes the result")
    p.add_argument("--alpha", type=float_type(minimum=0, maximum=1, min_open=True,
                                              max_open=True, name="alpha"),
                   default=0.01, help="family-wise significance level (default 0.01)")
    p.add_argument("--out", metavar="FILE.csv", default=None, type=output_file_type,
                   help="also write the table to this CSV file (atomically)")
    p.set_defaults(func=run)
    return p


_HEADER = ["m", "dist", "kind", "quantity", "theory", "estimate", "stderr", "n", "z",
           "pvalue", "verdict"]


def _rows(sim):
    for c in sim.moments:
        r = c.result
        yield [sim.m, sim.dist, "moment", c.quantity, c.theory, r.estimate, r.stderr, r.n,
               c.z, c.pvalue, c.verdict]
    for k in sim.ks:
        # KS: estimate = statistic D (lower bound), pvalue = its lower bound
        yield [sim.m, sim.dist, "ks", f"KS {k.quantity} vs {k.law}", math.nan,
               k.statistic_low, k.statistic_high - k.statistic_low, k.n, math.nan,
               k.pvalue_low, k.verdict]


def run(args):
    import numpy as np  # deferred: numpy at CLI start-up

    from ..models._bn import _simulate_bn_iv, simulate_bn  # deferred: numba and scipy

    for m in dict.fromkeys(args.batch_size):   # every argument checked before any work
        _simulate_bn_iv(m, args.samples, args.dist, args.df, args.ddof, args.eps, args.alpha,
                        args.workers, 1 << 16, 1 << 14)
    _, entropy = resolve_seed(args.seed)
    sims = []
    for m in dict.fromkeys(args.batch_size):
        # stream keyed by m: a batch size gives the same result whatever else is listed
        seq = np.random.SeedSequence(entropy, spawn_key=(m,))
        sims.append(simulate_bn(m, args.samples, dist=args.dist, df=args.df, ddof=args.ddof,
                                eps=args.eps, alpha=args.alpha, rng=seq, workers=args.workers))
    rows = [row for sim in sims for row in _rows(sim)]
    if args.out:
        write_csv(args.out, _HEADER, rows)
    overall = "agree" if all(s.verdict == "agree" for s in sims) else "disagree"
    if args.json:
        print_json({"seed": entropy, "alpha": args.alpha, "verdict": overall,
                    "simulations": sims})
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy})")
    print(f"family-wise alpha = {args.alpha} per batch size, Bonferroni: "
          + ", ".join(f"m={s.m}: per-test level {s.level:.3g}" for s in sims))
    print(format_table(["m", "kind", "quantity", "theory", "estimate", "stderr", "n", "z",
                        "p", "verdict"], [[r[0], *r[2:]] for r in rows], floatfmt=".5g"))
    print("KS rows: estimate = KS statistic D (exact D within +stderr column: histogram "
          "bin width), p = lower bound of the p-value.")
    print(f"overall: {overall}")
    return 0
