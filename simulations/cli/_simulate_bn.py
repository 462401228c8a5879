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
    from ..models._law_names import DISTRIBUTIONS  # deferred: read at parser build only

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
                   help="degrees of freedom for --dist t (default: none; required with "
                        "--dist t)")
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
                   help="also write the table to this CSV file (atomically; default: none)")
    p.set_defaults(func=run)
    return p


_HEADER = ["m", "dist", "kind", "quantity", "theory", "estimate", "stderr", "n", "z",
           "pvalue", "verdict", "reason"]

#: the model's verdicts that test nothing -> the reason shown (with the row's m and eps)
_NOT_TESTED = {
    "diverges": "the moment diverges (theory inf) at m={m}, eps={eps:g}: the sample mean "
                "estimates nothing",
    "no z": "the estimator's variance is infinite at m={m}, eps={eps:g}: no standard error",
    "no theory": "no closed form for this input law",
    "undefined": "the simulated value is not finite (a batch with sigma_B = 0 and eps = 0)",
}


def _finite(x):
    """`x` as a float, or None (an empty cell, JSON null) when it is not finite."""
    return float(x) if x is not None and math.isfinite(x) else None


def _moment_row(sim, c):
    """One moment check as plain cells: no NaN; untested rows read "not tested" with the
    reason, and a divergent moment shows no estimate (its sample mean means nothing)."""
    r = c.result
    theory = None if math.isnan(c.theory) else float(c.theory)   # inf stays inf
    if c.verdict in _NOT_TESTED:
        reason = _NOT_TESTED[c.verdict].format(m=sim.m, eps=sim.eps)
        estimate = None if c.verdict == "diverges" else _finite(r.estimate)
        return dict(quantity=c.quantity, theory=theory, estimate=estimate, stderr=None,
                    n=r.n, z=None, pvalue=None, verdict="not tested", reason=reason)
    z, p = _finite(c.z), _finite(c.pvalue)
    reason = ("" if z is not None else
              f"constant at m={sim.m}: the estimate equals the theory exactly, no z-score")
    return dict(quantity=c.quantity, theory=theory, estimate=_finite(r.estimate),
                stderr=_finite(r.stderr), n=r.n, z=z, pvalue=p, verdict=c.verdict,
                reason=reason)


def _ks_row(k):
    # KS: estimate = statistic D (lower bound), stderr = bin width, pvalue = its lower bound
    return dict(quantity=f"KS {k.quantity} vs {k.law}", theory=None,
                estimate=_finite(k.statistic_low),
                stderr=_finite(k.statistic_high - k.statistic_low), n=k.n, z=None,
                pvalue=_finite(k.pvalue_low), verdict=k.verdict,
                reason="KS test: no z-score; p is the lower bound of the p-value")


_ROW_KEYS = _HEADER[4:]


def _rows(sim):
    for c in sim.moments:
        row = _moment_row(sim, c)
        yield [sim.m, sim.dist, "moment", row["quantity"], *(row[k] for k in _ROW_KEYS)]
    for k in sim.ks:
        row = _ks_row(k)
        yield [sim.m, sim.dist, "ks", row["quantity"], *(row[k] for k in _ROW_KEYS)]


def _sim_json(sim):
    """A simulation as JSON-ready dict: null (with a "reason") where the model has NaN."""
    out = {f: getattr(sim, f) for f in ("m", "dist", "ddof", "eps", "batches", "samples",
                                         "alpha", "level", "verdict", "entropy",
                                         "block_size", "seconds", "spawn_key")}
    out["moments"] = [_moment_row(sim, c) for c in sim.moments]
    out["ks"] = [{**_ks_row(k), "quantity": k.quantity, "law": k.law,
                  "statistic_low": _finite(k.statistic_low),
                  "statistic_high": _finite(k.statistic_high),
                  "pvalue_low": _finite(k.pvalue_low), "pvalue_high": _finite(k.pvalue_high),
                  "cvm_low": _finite(k.cvm_low), "cvm_high": _finite(k.cvm_high)}
                 for k in sim.ks]
    return out


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
                    "simulations": [_sim_json(s) for s in sims]})
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy})")
    print(f"family-wise alpha = {args.alpha} per batch size, Bonferroni: "
          + ", ".join(f"m={s.m}: per-test level {s.level:.3g}" for s in sims))
    print(format_table(["m", "kind", "quantity", "theory", "estimate", "stderr", "n", "z",
                        "p", "verdict"], [[r[0], *r[2:-1]] for r in rows], floatfmt=".5g"))
    print("KS rows: estimate = KS statistic D (exact D within +stderr column: histogram "
          "bin width), p = lower bound of the p-value; no z-score.")
    notes = dict.fromkeys((r[3], r[-1]) for r in rows if r[2] == "moment" and r[-1])
    for quantity, reason in notes:
        print(f"{quantity}: " + ("" if reason.startswith("constant") else "not tested: ")
              + reason + ".")
    print(f"overall: {overall}")
    return 0
