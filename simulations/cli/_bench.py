"""``bn-noise bench``: simulator throughput against the raw generator and a naive baseline."""

from __future__ import annotations

from ._args import float_type, format_table, int_type, print_json

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Measure in one run, all with the simulator's bit generator (SFC64) and dtype (float64):
(a) the raw generator's normal samples per second, (b) the BN simulator's input samples
per second at m = 2, 8, 64 on one worker, (c) a naive numpy baseline (x.mean(axis=1),
x.var(axis=1) on a (batches, m) array), (d) the simulator on all cores against one. Ratios
are at m = 8; (a), (b) at m = 8, (c) and (d) are timed in turn, call after call, so a load
change hits them alike. Timings are medians; the load average is shown because other
processes on the machine slow every number down.
"""


def add_parser(subparsers, common):
    p = subparsers.add_parser("bench", parents=[common], help="throughput benchmarks",
                              description=_DESCRIPTION)
    p.add_argument("--seconds", type=float_type(minimum=0, min_open=True, name="seconds"),
                   default=1.0, metavar="T", help="seconds per measurement (default 1)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="workers for the parallel measurement (default: all cores)")
    p.set_defaults(func=run)
    return p


def run(args):
    from .. import bench  # deferred: numba

    res = bench.run_bench(seconds=args.seconds, workers=args.workers, progress=None)
    if args.json:
        print_json(res)
        return 0
    w = res["workers"]
    rows = [[bench.label("rng_samples_per_s"), res["rng_samples_per_s"]]]
    rows += [[bench.label(f"simulator_m{m}"), v] for m, v in res["simulator_samples_per_s"].items()]
    rows += [[bench.label("naive_samples_per_s"), res["naive_samples_per_s"]],
             [bench.label("simulator_samples_per_s", w), res["parallel_samples_per_s"]]]
    rows += [[bench.label(k), res[k]] for k in ("ratio_to_rng", "speedup_vs_naive",
                                                "parallel_speedup")]
    skip = {"rng_samples_per_s", "simulator_samples_per_s", "naive_samples_per_s",
            "ratio_to_rng", "speedup_vs_naive", "parallel_samples_per_s", "parallel_speedup",
            "workers", "load_average", "seconds"}
    rows += [[bench.label(k), v] for k, v in res.items() if k not in skip]
    print(format_table(["measurement", "value"], rows, floatfmt=".4g"))
    load = res["load_average"]
    if load:
        print(f"load average (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"total time: {res['seconds']:.1f} s")
    return 0
