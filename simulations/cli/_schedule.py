"""``bn-noise schedule``: the MBN paper's momentum schedule and the noise left at the end."""

from __future__ import annotations

from ..io import write_csv
from ._args import (
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
    output_file_type,
    print_json,
)

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
The paper's dynamic training momentum lambda(t) (weight on history; PyTorch's momentum is
1 - lambda) for each batch size: per epoch lambda, the effective batch size
m (1+lambda)/(1-lambda) of the stationary mean noise, and the inference momentum
tau = tau0^(m/m0). Then the end-of-training question: at lambda(T) = 1 - m/m0 the
stationary mean-noise variance is 1/(2 m0 - m), not BN's 1/m0 at the ideal batch size;
the momentum (m0 - m)/(m0 + m) would match 1/m0 exactly. With --iterations-per-epoch the
exact (non-stationary) noise after the last step is shown too. Deterministic: --seed is
recorded only.
"""


def add_parser(subparsers, common):
    p = subparsers.add_parser("schedule", parents=[common],
                              help="MBN momentum schedule and the noise left at the end",
                              description=_DESCRIPTION)
    add_batch_size_argument(p, [2, 4, 8, 16])
    add_schedule_arguments(p)
    p.add_argument("--all-epochs", action="store_true",
                   help="print every epoch (default: epochs 1, 2, T-1, T and 9 between)")
    p.add_argument("--out", type=output_file_type, default=None, metavar="FILE.csv",
                   help="also write the full per-epoch table (every batch size, every "
                        "epoch) as CSV (default: none)")
    p.set_defaults(func=run)
    return p


def add_schedule_arguments(p):
    """``--ideal-batch-size/--m0``, ``--epochs/-T``, ``--tau0``, ``--iterations-per-epoch``:
    the same flags, defaults and help for ``schedule`` and ``advise``."""
    p.add_argument("--ideal-batch-size", "--m0", dest="m0", type=int_type(2, "ideal batch size"),
                   default=DEFAULT_M0, metavar="M0",
                   help=f"ideal batch size m0 (default {DEFAULT_M0}, the paper's)")
    # a per-epoch table: 1e5 epochs keep every output (JSON, CSV) well under 1 GB of memory
    p.add_argument("--epochs", "-T", type=int_type(2, "epochs", maximum=MAX_EPOCHS),
                   default=DEFAULT_EPOCHS, metavar="T",
                   help=f"training epochs T, 2..{MAX_EPOCHS} (default {DEFAULT_EPOCHS})")
    p.add_argument("--tau0", type=float_type(minimum=0, maximum=1, max_open=True, name="tau0"),
                   default=DEFAULT_TAU0, help=f"inference momentum at batch size m0, weight on "
                   f"history (default {DEFAULT_TAU0}; two codebases use 0.85)")
    p.add_argument("--iterations-per-epoch", type=int_type(1, "iterations per epoch"),
                   default=None, metavar="N",
                   help="steps per epoch: adds the exact (non-stationary) noise at the end of "
                        "each epoch (default: none, stationary values only)")


DEFAULT_M0 = 32
#: most epochs a per-epoch table holds (1e6 epochs took 1.0 GB for --json).
MAX_EPOCHS = 100_000
DEFAULT_EPOCHS = 200
DEFAULT_TAU0 = 0.9
#: why a column is empty (never nan): the reason goes beside it in the JSON.
NO_ITERATIONS = "not computed: needs --iterations-per-epoch"


def table_epochs(T, all_epochs=False):
    """The epochs a table shows: all, or 1, 2, T-1, T and 9 evenly spaced between."""
    if all_epochs:
        return list(range(1, T + 1))
    picks = {1, 2, T - 1, T} | {round(1 + (T - 1) * i / 10) for i in range(11)}
    return sorted(p for p in picks if 1 <= p <= T)


def schedule_summary(m, *, m0, epochs, tau0, iterations_per_epoch=None):
    """The numbers `bn-noise schedule` and `bn-noise advise` print for one batch size.

    Momentum is the weight on history (lambda, Keras's convention); PyTorch's ``momentum``
    is ``1 - lambda``. Per epoch: lambda, PyTorch's momentum, the effective batch size and
    the stationary noises at that epoch's momentum; with `iterations_per_epoch` also the
    exact noises after the epoch's last step. Closed forms from :mod:`noise_theory._fast`
    and the numpy-only schedules (no ``scipy.stats``; the tests compare them with
    ``ema_mean_noise``, ``ema_variance_noise`` and ``noise_trajectory``).
    """
    import numpy as np  # deferred: numpy at CLI start-up

    from noise_theory import (  # deferred: numpy at CLI start-up
        bn_noise_moments,
        epoch_end_factors,
        inference_momentum,
        momentum_for_target_batch,
        paper_momentum,
        stationary_mbn_noise,
    )

    t = np.arange(1, epochs + 1)
    lam = np.asarray(paper_momentum(t, epochs, m, m0=m0), dtype=float)
    lam_end = float(lam[-1])
    stat = stationary_mbn_noise(m, lam)
    var_mean_b, mean_var_b, var_var_b = bn_noise_moments(m)
    tau = float(inference_momentum(m, m0=m0, tau0=tau0))
    out = {
        "m": m,
        "m0": m0,
        "epochs": epochs,
        "tau0": tau0,
        "tau": tau,
        "tau_pytorch": 1.0 - tau,
        "epoch": t,
        "momentum": lam,
        "pytorch_momentum": 1.0 - lam,
        "effective_batch_size": stat["effective_batch_size"],
        "mean_noise_var": stat["mean_noise_var"],
        "variance_noise_var": stat["variance_noise_var"],
        "variance_noise_mean": float(mean_var_b),
        "final_momentum": lam_end,
        "final_mean_noise_var": float(stat["mean_noise_var"][-1]),
        "final_variance_noise_var": float(stat["variance_noise_var"][-1]),
        "bn_mean_noise_var_at_m0": 1.0 / m0,
        "bn_variance_noise_var_at_m0": float(bn_noise_moments(m0)[2]),
        "bn_variance_noise_mean_at_m0": float(bn_noise_moments(m0)[1]),
        "final_effective_batch_size": float(stat["effective_batch_size"][-1]),
        "momentum_for_m0": float(momentum_for_target_batch(m, max(m0, m))),
        "iterations_per_epoch": iterations_per_epoch,
        "epoch_end_mean_noise_var": None,
        "epoch_end_variance_noise_var": None,
        "last_step_mean_noise_var": None,
        "last_step_variance_noise_var": None,
    }
    if iterations_per_epoch is None:
        out["exact_reason"] = NO_ITERATIONS
    else:
        f = epoch_end_factors(lam, iterations_per_epoch)
        out["epoch_end_mean_noise_var"] = f * float(var_mean_b)
        out["epoch_end_variance_noise_var"] = f * float(var_var_b)
        out["last_step_mean_noise_var"] = float(out["epoch_end_mean_noise_var"][-1])
        out["last_step_variance_noise_var"] = float(out["epoch_end_variance_noise_var"][-1])
    return out


#: (header, summary key) of the per-epoch CSV (arrays indexed by epoch).
CSV_COLUMNS = [
    ("epoch", "epoch"), ("lambda", "momentum"), ("pytorch_momentum", "pytorch_momentum"),
    ("keras_momentum", "momentum"), ("effective_batch_size", "effective_batch_size"),
    ("stationary_var_mean_noise", "mean_noise_var"),
    ("stationary_var_variance_noise", "variance_noise_var"),
    ("epoch_end_var_mean_noise", "epoch_end_mean_noise_var"),
    ("epoch_end_var_variance_noise", "epoch_end_variance_noise_var"),
]


def per_epoch_csv(path, summaries):
    """Write every epoch of every summary as CSV; exact columns empty without N (with why)."""

    header = ["m", "m0", "tau", "tau_pytorch"] + [h for h, _ in CSV_COLUMNS] + ["note"]
    rows = []
    for s in summaries:
        for i in range(s["epochs"]):
            cells = [None if s[key] is None else s[key][i] for _, key in CSV_COLUMNS]
            note = s.get("exact_reason", "")
            rows.append([s["m"], s["m0"], s["tau"], s["tau_pytorch"], *cells, note])
    write_csv(path, header, rows)


def run(args):
    summaries = [schedule_summary(m, m0=args.m0, epochs=args.epochs, tau0=args.tau0,
                                  iterations_per_epoch=args.iterations_per_epoch)
                 for m in dict.fromkeys(args.batch_size)]
    if args.out is not None:
        per_epoch_csv(args.out, summaries)
    if args.json:
        print_json({"command": "schedule", "seed": args.seed, "convention":
                    "momentum = weight on history (lambda, also Keras's momentum); "
                    "pytorch_momentum = 1 - lambda", "out": args.out,
                    "schedules": summaries})
        return 0
    rows = []
    exact = args.iterations_per_epoch is not None
    for s in summaries:
        for t in table_epochs(args.epochs, args.all_epochs):
            row = [s["m"], int(t), float(s["momentum"][t - 1]),
                   float(s["pytorch_momentum"][t - 1]),
                   float(s["effective_batch_size"][t - 1])]
            if exact:
                row.append(float(s["epoch_end_mean_noise_var"][t - 1]))
            rows.append(row)
    print(f"paper schedule, m0={args.m0}, T={args.epochs} epochs (lambda = weight on "
          f"history, also Keras's momentum; PyTorch's momentum = 1 - lambda)")
    head = ["m", "epoch", "lambda", "pytorch", "m_eff"] + (["Var xi_mu epoch end"] if exact else [])
    print(format_table(head, rows, floatfmt=".6g"))
    if not args.all_epochs and args.epochs > len(table_epochs(args.epochs)):
        print(f"(a sample of the {args.epochs} epochs: --all-epochs prints every one, "
              "--out FILE.csv writes them all)")
    print()
    head = ["m", "tau", "tau pytorch", "lambda(T)", "Var xi_mu end", "1/(2m0-m)", "1/m0",
            "ratio", "m_eff end", "lambda for m0"]
    if exact:
        head.append("Var last step")
    end_rows = []
    for s in summaries:
        row = [s["m"], s["tau"], s["tau_pytorch"], s["final_momentum"],
               s["final_mean_noise_var"],
               1.0 / (2 * args.m0 - s["m"]) if s["m"] < args.m0 else 1.0 / s["m"],
               s["bn_mean_noise_var_at_m0"],
               s["final_mean_noise_var"] / s["bn_mean_noise_var_at_m0"],
               s["final_effective_batch_size"], s["momentum_for_m0"]]
        if exact:
            row.append(s["last_step_mean_noise_var"])
        end_rows.append(row)
    print("end of training (stationary at lambda(T)): mean-noise variance vs BN at m0; "
          "tau = inference momentum")
    print(format_table(head, end_rows, floatfmt=".6g"))
    if not exact:
        print("exact end-of-training noise: give --iterations-per-epoch N")
    if args.out is not None:
        print(f"wrote every epoch to {args.out}")
    if args.seed is not None:
        print(f"seed {args.seed} recorded (not used: deterministic)")
    return 0
