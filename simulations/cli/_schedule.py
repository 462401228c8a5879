"""``bn-noise schedule``: the MBN paper's momentum schedule and the noise left at the end."""

from __future__ import annotations

from ._args import (
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
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
    p.add_argument("--ideal-batch-size", "--m0", dest="m0", type=int_type(2, "ideal batch size"),
                   default=32, metavar="M0", help="ideal batch size m0 (default 32)")
    p.add_argument("--epochs", "-T", type=int_type(2, "epochs"), default=200, metavar="T",
                   help="training epochs T (default 200)")
    p.add_argument("--tau0", type=float_type(minimum=0, maximum=1, max_open=True, name="tau0"),
                   default=0.9, help="inference momentum at batch size m0 (default 0.9; two "
                                     "codebases use 0.85)")
    p.add_argument("--iterations-per-epoch", type=int_type(1, "iterations per epoch"),
                   default=None, metavar="N",
                   help="also give the exact noise after the last of T*N steps")
    p.set_defaults(func=run)
    return p


def _table_epochs(T):
    import numpy as np  # deferred: numpy at CLI start-up

    return np.unique(np.concatenate([[1, 2], np.round(np.linspace(1, T, 11)), [T - 1, T]])
                     ).astype(int)


def schedule_summary(m, *, m0, epochs, tau0, iterations_per_epoch=None):
    """The numbers `bn-noise schedule` prints for one batch size (a plain dict)."""
    import numpy as np  # deferred: numpy at CLI start-up

    from noise_theory import (  # deferred: scipy at CLI start-up
        effective_batch_size,
        ema_mean_noise,
        inference_momentum,
        momentum_for_target_batch,
        momentum_schedule,
        noise_trajectory,
        paper_momentum,
    )

    t = np.arange(1, epochs + 1)
    lam = paper_momentum(t, epochs, m, m0=m0)
    lam_end = float(lam[-1])
    out = {
        "m": m,
        "m0": m0,
        "epochs": epochs,
        "tau0": tau0,
        "tau": float(inference_momentum(m, m0=m0, tau0=tau0)),
        "epoch": t,
        "momentum": lam,
        "pytorch_momentum": 1.0 - lam,
        "effective_batch_size": effective_batch_size(m, lam),
        "final_momentum": lam_end,
        "final_mean_noise_var": float(ema_mean_noise(m, lam_end).var()),
        "bn_mean_noise_var_at_m0": 1.0 / m0,
        "final_effective_batch_size": float(effective_batch_size(m, lam_end)),
        "momentum_for_m0": float(momentum_for_target_batch(m, max(m0, m))),
        "iterations_per_epoch": iterations_per_epoch,
        "last_step_mean_noise_var": None,
    }
    if iterations_per_epoch is not None:
        steps = momentum_schedule("paper", m=m, epochs=epochs,
                                  iterations_per_epoch=iterations_per_epoch, m0=m0)
        out["last_step_mean_noise_var"] = float(noise_trajectory(m, steps).mean_noise_var[-1])
    return out


def run(args):
    summaries = [schedule_summary(m, m0=args.m0, epochs=args.epochs, tau0=args.tau0,
                                  iterations_per_epoch=args.iterations_per_epoch)
                 for m in dict.fromkeys(args.batch_size)]
    if args.json:
        print_json({"command": "schedule", "seed": args.seed, "convention":
                    "momentum = weight on history (lambda); pytorch_momentum = 1 - lambda",
                    "schedules": summaries})
        return 0
    rows = []
    for s in summaries:
        for t in _table_epochs(args.epochs):
            rows.append([s["m"], int(t), float(s["momentum"][t - 1]),
                         float(s["pytorch_momentum"][t - 1]),
                         float(s["effective_batch_size"][t - 1])])
    print(f"paper schedule, m0={args.m0}, T={args.epochs} epochs (momentum = weight on "
          f"history; PyTorch momentum = 1 - lambda)")
    print(format_table(["m", "epoch", "lambda", "pytorch", "m_eff"], rows, floatfmt=".6g"))
    print()
    head = ["m", "tau", "lambda(T)", "Var xi_mu end", "1/(2m0-m)", "1/m0", "ratio",
            "m_eff end", "lambda for m0"]
    if args.iterations_per_epoch is not None:
        head.append("Var last step")
    end_rows = []
    for s in summaries:
        row = [s["m"], s["tau"], s["final_momentum"], s["final_mean_noise_var"],
               1.0 / (2 * args.m0 - s["m"]) if s["m"] < args.m0 else 1.0 / s["m"],
               s["bn_mean_noise_var_at_m0"],
               s["final_mean_noise_var"] / s["bn_mean_noise_var_at_m0"],
               s["final_effective_batch_size"], s["momentum_for_m0"]]
        if args.iterations_per_epoch is not None:
            row.append(s["last_step_mean_noise_var"])
        end_rows.append(row)
    print("end of training (stationary at lambda(T)): mean-noise variance vs BN at m0")
    print(format_table(head, end_rows, floatfmt=".6g"))
    if args.seed is not None:
        print(f"seed {args.seed} recorded (not used: deterministic)")
    return 0
