"""``bn-noise simulate regularizer``: the gamma-decay experiment (SGD under BN/MBN noise)."""

from __future__ import annotations

import argparse
import dataclasses
import math

from ..io import write_csv
from ._args import (
    UserError,
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
    output_file_type,
    print_json,
    resolve_seed,
)

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Train logistic regression with a BN output layer by numpy SGD on a synthetic data set while
injecting the noise of BN with batch size m (and of MBN at the paper's end-of-schedule
momentum lambda(T) = 1 - m/m0), and compare the learned gamma and the training-loss floor
with the theory: the minimiser of mean(loss(E eta) + R) (second-order regulariser) and,
with --exact, of the exact expected loss (quadrature). Small m shrinks gamma ("gamma
decay") and raises the loss floor (under-fitting). Seeded and reproducible.
"""

_HEADER = ["noise", "m", "momentum", "gamma", "gamma_pred", "gamma_exact", "beta",
           "train_loss", "loss_pred", "loss_exact", "clean_loss", "rel_error", "alignment",
           "window_spread", "gamma_spread", "verdict"]
_NOT_COMPUTED = ("gamma_exact", "loss_exact")   # NaN in the rows: not computed
_NOT_COMPUTED_REASON = "gamma_exact, loss_exact: not computed (pass --exact)"


def _batch_size(text):
    if text.strip().lower() in ("inf", "infinity"):
        return math.inf
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"batch size must be an integer >= 2 or 'inf'; got {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"batch size must be an integer >= 2 or 'inf'; got {text!r}")
    return value


def add_parser(subparsers, common):
    p = subparsers.add_parser("regularizer", parents=[common],
                              help="gamma-decay experiment: SGD under BN/MBN noise vs theory",
                              description=_DESCRIPTION)
    add_batch_size_argument(p, [2, 4, 8, 16, 32, 64, math.inf], type=_batch_size,
                            rule="integers >= 2 or inf", what="noise batch sizes")
    p.add_argument("--ideal-batch-size", "--m0", dest="m0",
                   type=int_type(2, "ideal batch size"), default=32, metavar="M0",
                   help="ideal batch size m0 of the MBN schedule: MBN rows use momentum "
                        "1 - m/m0 (default 32)")
    p.add_argument("--examples", "--samples", "-n", dest="examples",
                   type=int_type(10, "examples"), default=4000, metavar="N",
                   help="training-set size (default 4000; --samples is its deprecated alias: "
                        "elsewhere --samples counts Monte Carlo draws)")
    p.add_argument("--dim", type=int_type(1, "dim"), default=5, help="features (default 5)")
    p.add_argument("--epochs", "-T", type=int_type(1, "epochs"), default=80, metavar="T",
                   help="SGD epochs over the data set (default 80; not the schedule's "
                        "epochs of 'simulate mbn', whose default is 10)")
    p.add_argument("--sgd-batch", type=int_type(1, "sgd-batch"), default=50,
                   help="SGD minibatch size (default 50; independent of the noise's m)")
    p.add_argument("--lr", type=float_type(minimum=0, min_open=True, name="lr"), default=0.5,
                   help="initial learning rate (default 0.5)")
    p.add_argument("--eps", type=float_type(minimum=0, name="eps"), default=1e-5,
                   help="BN epsilon in population units (default 1e-5)")
    p.add_argument("--teacher-gamma", type=float_type(name="teacher-gamma"), default=4.0,
                   help="slope of the logistic teacher (default 4)")
    p.add_argument("--exact", action="store_true",
                   help="also minimise the exact expected loss (quadrature; ~30 s)")
    p.add_argument("--replicates", type=int_type(1, "replicates"), default=1,
                   help="independent replicates (fresh data and SGD noise) per row; the "
                        "table shows medians and spreads (default 1)")
    p.add_argument("--out", metavar="FILE.csv", default=None, type=output_file_type,
                   help="also write the table to this CSV file (atomically; default: none)")
    p.set_defaults(func=run)
    return p


def _cell(r, k):
    """A value of row `r`, None (empty cell, JSON null) where it was not computed."""
    v = getattr(r, k)
    return None if isinstance(v, float) and math.isnan(v) else v


def _reason(r):
    """Why some values of row `r` are empty ("" when none is)."""
    reasons = [_NOT_COMPUTED_REASON] if any(_cell(r, k) is None for k in _NOT_COMPUTED) else []
    reasons += [f"{f.name}: undefined (not a number)" for f in dataclasses.fields(r)
                if f.name not in _NOT_COMPUTED and _cell(r, f.name) is None]
    return "; ".join(reasons)


def _row_json(r):
    """Row `r` as a dict: null (never NaN) where a value was not computed, with "reason"."""
    out = {f.name: _cell(r, f.name) for f in dataclasses.fields(r)}
    out["reason"] = _reason(r)
    return out


def run(args):
    from ..models._gamma_decay import (  # deferred: scipy
        VERDICT_RULE,
        gamma_decay_experiment,
        min_epochs,
    )

    need = min_epochs(args.examples, min(args.sgd_batch, args.examples))
    if args.epochs < need:
        raise UserError(
            f"--epochs must be >= {need} for --examples {args.examples} and --sgd-batch "
            f"{args.sgd_batch} (the averaging window, the last quarter of the SGD steps, "
            f"needs >= 4 steps); got --epochs {args.epochs}.")
    seq, entropy = resolve_seed(args.seed)
    res = gamma_decay_experiment(args.batch_size, m0=args.m0, n_samples=args.examples,
                                 dim=args.dim, teacher_gamma=args.teacher_gamma,
                                 epochs=args.epochs, batch=args.sgd_batch, lr=args.lr,
                                 eps=args.eps, exact=args.exact, rng=seq,
                                 replicates=args.replicates)

    rows = [[_cell(r, k) for k in _HEADER] for r in res.rows]
    if args.out:
        write_csv(args.out, [*_HEADER, "reason"], [[*row, _reason(r)]
                                                   for row, r in zip(rows, res.rows)])
    if args.json:
        print_json({"seed": entropy, "settings": res.settings,
                    "rows": [_row_json(r) for r in res.rows], "verdict_rule": VERDICT_RULE})
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy})")
    print("settings: " + ", ".join(f"{k}={v}" for k, v in res.settings.items()))
    print(format_table(_HEADER, rows, floatfmt=".4g"))
    if any(c is None for row in rows for c in row):
        print("empty " + _NOT_COMPUTED_REASON + ".")
    print("gamma, beta: SGD (iterates of gamma*w over the last quarter averaged; gamma = "
          "|mean gamma*w| >= 0: the sign of gamma is not identified); gamma_pred, loss_pred: "
          "minimiser/minimum of mean(loss(E eta) + R); gamma_exact, loss_exact: of the exact "
          "expected loss (--exact); train_loss: mean noisy loss at the end (the floor); "
          "clean_loss: noise-free loss of the learned parameters; rel_error: "
          "gamma/gamma_pred - 1; alignment: cosine of gamma*w with the teacher; "
          "window_spread: sd of gamma over the averaging window / gamma; gamma_spread: "
          "spread over replicates (scaled MAD). With --replicates > 1 every value is the "
          "median. MBN: momentum 1 - m/m0, variance noise from the moment-matched Gamma law.")
    print(VERDICT_RULE)
    return 0
