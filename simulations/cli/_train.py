"""``bn-noise train``: BN, MBN and baselines trained from scratch on digits (the grid)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._args import (
    UserError,
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
    output_dir_type,
    print_json,
    resolve_seed,
)

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Train small networks from scratch (numpy) with BN, MBN (the paper's dynamic momentum,
tau = inference_momentum(m)), Batch Renormalization, GroupNorm or no normalisation, for
every (model, depth, normaliser, batch size, seed) of the grid: SGD with momentum 0.9,
weight decay 1e-4, lr = base * m / 64, step decay x0.1 after 50% and 75% of the epochs, a
fixed epoch budget. Test accuracy is reported with the running/inference statistics and
with population statistics recomputed on the training set at the final weights. Runs are
independent and seeded by name: the numbers do not depend on --workers.
"""

_NORMS = ("bn", "mbn", "brn", "gn", "none")


def _data_type(text):
    if text in ("digits", "synthetic"):
        return text
    if not text.endswith(".npz"):
        raise argparse.ArgumentTypeError(f"--data must be digits, synthetic or FILE.npz; got {text!r}")
    if not Path(text).is_file():
        raise argparse.ArgumentTypeError(f"--data file {text!r} does not exist")
    return text


def add_parser(subparsers, common):
    p = subparsers.add_parser("train", parents=[common], help="train MLP/CNN with BN, MBN and baselines",
                              description=_DESCRIPTION)
    p.add_argument("--data", type=_data_type, default="digits", metavar="digits|synthetic|FILE.npz",
                   help="data set (default digits: scikit-learn's 8x8 images, offline)")
    p.add_argument("--model", nargs="+", choices=("mlp", "cnn"), default=["mlp", "cnn"],
                   help="network families (default mlp cnn)")
    p.add_argument("--depth", nargs="+", type=int_type(1, "depth"), default=[2, 6],
                   help="normalised layers (default 2 6)")
    p.add_argument("--norm", nargs="+", choices=_NORMS, default=list(_NORMS),
                   help="normalisers (default all: " + " ".join(_NORMS) + ")")
    add_batch_size_argument(p, [2, 4, 8, 16, 32, 64])
    p.add_argument("--epochs", type=int_type(2, "epochs"), default=8, metavar="E",
                   help="epochs per run, the same for every m (default 8)")
    p.add_argument("--seeds", type=int_type(1, "seeds"), default=3, metavar="N",
                   help="runs per cell (default 3)")
    p.add_argument("--base-lr", type=float_type(minimum=0, min_open=True, name="base-lr"),
                   default=0.1, help="learning rate at m = 64 (lr = base * m / 64; default 0.1)")
    p.add_argument("--ideal-batch-size", type=int_type(2, "ideal batch size"), default=32,
                   metavar="M0", help="MBN's m0 (default 32)")
    p.add_argument("--tau0", type=float_type(minimum=0, maximum=1, max_open=True, name="tau0"),
                   default=0.9, help="MBN's inference momentum at m0 (default 0.9)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="processes (default all cores); never changes the result")
    p.add_argument("--out", type=output_dir_type, default=None, metavar="DIR",
                   help="write runs.csv, rows.csv, train.json and figures to DIR (atomically; "
                        "default: none, the table only)")
    p.add_argument("--force", action="store_true", help="replace an existing --out DIR")
    p.set_defaults(func=run)
    return p


_TABLE = ["model", "depth", "norm", "batch_size", "seeds", "test_accuracy_mean",
          "test_accuracy_sd", "test_accuracy_population_mean", "train_loss_mean", "diverged"]


def write_outputs(out, res, *, force=False):
    """CSV, JSON and figures of an :class:`ExperimentResult` into `out`, atomically."""
    from ..io import atomic_directory, dumps_json, write_csv
    from ..nn._experiment import ROW_FIELDS
    from ..nn._figures import (  # deferred: matplotlib
        accuracy_figure,
        curves_figure,
        depth_figure,
    )

    with atomic_directory(out, force=force) as tmp:
        write_csv(tmp / "rows.csv", ROW_FIELDS, [[r[k] for k in ROW_FIELDS] for r in res.rows])
        keys = ["model", "depth", "norm", "batch_size", "seed_index", "test_accuracy",
                "test_accuracy_population", "train_loss", "diverged", "steps", "seconds"]
        write_csv(tmp / "runs.csv", keys, [[r[k] for k in keys] for r in res.runs])
        (tmp / "train.json").write_text(dumps_json(_json(res)) + "\n", encoding="utf-8")
        for name, fig in (("accuracy_vs_batch_size", accuracy_figure(res.rows)),
                          ("accuracy_population_vs_batch_size", accuracy_figure(res.rows, population=True)),
                          ("curves", curves_figure(res.rows)), ("shallow_vs_deep", depth_figure(res.rows))):
            fig.savefig(tmp / f"{name}.png", dpi=110)


def _json(res):
    return {"data": res.data, "seed": res.entropy, "epochs": res.epochs, "rows": res.rows,
            "runs": res.runs}


def run(args):
    from ..nn._experiment import run_experiment  # deferred: numpy, numba

    if args.out is not None and Path(args.out).exists() and not args.force:
        raise UserError(f"--out {str(args.out)!r} exists; pass --force to replace it")
    _, entropy = resolve_seed(args.seed)
    res = run_experiment(data=args.data, models=args.model, depths=args.depth, norms=args.norm,
                         batch_sizes=list(dict.fromkeys(args.batch_size)), seeds=args.seeds,
                         epochs=args.epochs, base_lr=args.base_lr, m0=args.ideal_batch_size,
                         tau0=args.tau0, rng=entropy, workers=args.workers,
                         show_progress=None if not args.json else False)
    if args.out is not None:
        write_outputs(args.out, res, force=args.force)
    if args.json:
        print_json(_json(res))
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy}); epochs: {res.epochs}")
    print(format_table(_TABLE, [[r[k] for k in _TABLE] for r in res.rows], floatfmt=".4g"))
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0
