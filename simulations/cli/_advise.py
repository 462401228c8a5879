"""``bn-noise advise``: which MBN momenta to use, in your framework's terms, and the noise left.

One command answers "I train with batch size m for T epochs, my ideal batch is m0: which
training momentum per epoch, which inference momentum, in PyTorch's and Keras's
conventions, and how much noise is left at the end?". The numbers are those of
``bn-noise schedule`` (:func:`~simulations.cli._schedule.schedule_summary`, closed forms
without ``scipy.stats``); this module adds the framework conventions, the momentum that
matches a target batch size, and warnings where the theory it relies on is weak.
"""

from __future__ import annotations

import math

from ._args import (
    UserError,
    batch_size_type,
    format_table,
    int_type,
    output_file_type,
    print_json,
)
from ._schedule import (
    add_schedule_arguments,
    per_epoch_csv,
    schedule_summary,
    table_epochs,
)

__all__ = ["add_parser", "advice", "run"]

#: below this batch size the second-order (small-noise) regulariser is not accurate.
REGULARIZER_MIN_M = 8
#: the last epoch counts as stationary when its exact noise is within this of the
#: stationary value at lambda(T).
STATIONARY_RTOL = 0.05

_DESCRIPTION = """\
The Momentum BN (MBN) settings for your run, in our convention (momentum = weight on
history, lambda; Keras's BatchNormalization momentum is the same) and in PyTorch's
(momentum = weight on the new batch = 1 - lambda): the paper's training momentum
lambda(t) per epoch, the inference momentum tau = tau0^(m/m0), the noise left at the end
of training (variance of the mean noise, variance and mean of the variance noise), each
beside plain BN at the ideal batch size m0, and the momentum that would match a target
batch size exactly. Warnings say where the theory is weak. Note that a framework's
BatchNorm `momentum` only sets how its running (inference) statistics are averaged:
training still normalises with the current batch, so MBN needs its own layer (reference:
simulations.MomentumBatchNorm). Deterministic: --seed is recorded only.
"""

FRAMEWORK_NOTE = (
    "A framework's BatchNorm `momentum` (torch.nn.BatchNorm2d(momentum=...), "
    "keras.layers.BatchNormalization(momentum=...)) changes only the running statistics "
    "used at inference; in training both normalise with the current batch's mean and "
    "variance whatever the momentum. So the training momentum lambda(t) needs a layer that "
    "normalises with the moving averages during training: simulations.MomentumBatchNorm is "
    "the reference implementation. Set the framework's own `momentum` to the inference "
    "momentum tau, in its convention (PyTorch: 1 - tau; Keras: tau).")


def add_parser(subparsers, common):
    p = subparsers.add_parser(
        "advise", parents=[common], description=_DESCRIPTION,
        help="MBN momenta for your batch size, in PyTorch's and Keras's terms, and the "
             "noise left at the end of training")
    p.add_argument("--batch-size", "-m", type=batch_size_type, default=None, metavar="M",
                   help="your training batch size (an integer >= 2; required: no default)")
    add_schedule_arguments(p)
    p.add_argument("--target-batch-size", type=int_type(2, "target batch size"), default=None,
                   metavar="MT", help="batch size whose mean noise the constant momentum "
                                      "(MT - m)/(MT + m) matches exactly (default: m0, or m if m > m0)")
    p.add_argument("--all-epochs", action="store_true",
                   help="print every epoch (default: epochs 1, 2, T-1, T and 9 between)")
    p.add_argument("--out", type=output_file_type, default=None, metavar="FILE.csv",
                   help="also write the full per-epoch table as CSV (default: none)")
    p.set_defaults(func=run)
    return p


def _stationary_steps(lam, excess):
    """Steps N at momentum `lam` for lam^(2N) * excess <= STATIONARY_RTOL (0 if none needed)."""
    if lam == 0.0 or excess <= STATIONARY_RTOL:
        return 0
    return math.ceil(math.log(STATIONARY_RTOL / excess) / (2.0 * math.log(lam)))


def advice(m, *, m0=32, epochs=200, tau0=0.9, iterations_per_epoch=None,
           target_batch_size=None):
    """Everything ``bn-noise advise`` prints, as a plain dict (also its ``--json``)."""
    target = max(m0, m) if target_batch_size is None else target_batch_size
    if target < m:
        raise UserError(f"--target-batch-size must be >= --batch-size (a momentum >= 0 only "
                        f"lowers the noise); got {target} with --batch-size {m}")
    s = schedule_summary(m, m0=m0, epochs=epochs, tau0=tau0,
                         iterations_per_epoch=iterations_per_epoch)
    lam_t = (target - m) / (target + m)
    f_t = (1.0 - lam_t) / (1.0 + lam_t)  # = m / target
    bn = {"mean_noise_var": s["bn_mean_noise_var_at_m0"],
          "variance_noise_var": s["bn_variance_noise_var_at_m0"],
          "variance_noise_mean": s["bn_variance_noise_mean_at_m0"]}
    end = {"mean_noise_var": s["final_mean_noise_var"],
           "variance_noise_var": s["final_variance_noise_var"],
           "variance_noise_mean": s["variance_noise_mean"]}
    warnings = []
    if m < REGULARIZER_MIN_M:
        warnings.append(
            f"m = {m} < {REGULARIZER_MIN_M}: the second-order regulariser of BN/MBN noise "
            "(R = A''(E eta) Var(eta)/2) is inaccurate at such small batches; check with "
            "`bn-noise simulate regularizer`.")
    stationary = {"checked": iterations_per_epoch is not None}
    lam_end, lam_prev = s["final_momentum"], float(s["momentum"][-2])
    if iterations_per_epoch is not None:
        rel = s["last_step_mean_noise_var"] / s["final_mean_noise_var"] - 1.0
        stationary["relative_excess"] = rel
        if rel > STATIONARY_RTOL:
            warnings.append(
                f"the last epoch ({iterations_per_epoch} steps at lambda(T) = {lam_end:.6g}) "
                f"is too short to be stationary: the exact noise after the last step is "
                f"{100 * rel:.3g}% above the stationary value; the end-of-training numbers "
                "below are the stationary ones, the exact ones are beside them.")
    else:
        # leftover of the epoch before, assumed stationary at lambda(T-1)
        f_prev = (1.0 - lam_prev) / (1.0 + lam_prev)
        f_end = (1.0 - lam_end) / (1.0 + lam_end)
        stationary["steps_needed"] = _stationary_steps(lam_end, f_prev / f_end - 1.0)
    return {
        "command": "advise",
        "m": m, "m0": m0, "epochs": epochs, "tau0": tau0,
        "iterations_per_epoch": iterations_per_epoch,
        "convention": "momentum = weight on history (lambda; Keras's momentum); "
                      "PyTorch's momentum = 1 - lambda",
        "plain_bn": m >= m0,
        "training": {"epoch": s["epoch"], "momentum": s["momentum"],
                     "pytorch_momentum": s["pytorch_momentum"], "keras_momentum": s["momentum"],
                     "effective_batch_size": s["effective_batch_size"],
                     "epoch_end_mean_noise_var": s["epoch_end_mean_noise_var"]},
        "inference": {"momentum": s["tau"], "pytorch_momentum": s["tau_pytorch"],
                      "keras_momentum": s["tau"]},
        "end_of_training": {"momentum": lam_end, "pytorch_momentum": 1.0 - lam_end,
                            "stationary": end, "bn_at_m0": bn,
                            "exact_last_step": None if iterations_per_epoch is None else {
                                "mean_noise_var": s["last_step_mean_noise_var"],
                                "variance_noise_var": s["last_step_variance_noise_var"],
                                "variance_noise_mean": s["variance_noise_mean"]},
                            "exact_reason": s.get("exact_reason")},
        "target": {"batch_size": target, "momentum": lam_t, "pytorch_momentum": 1.0 - lam_t,
                   "keras_momentum": lam_t, "mean_noise_var": f_t / m,
                   "variance_noise_var": f_t * 2.0 * (m - 1) / m**2,
                   "variance_noise_mean": (m - 1) / m,
                   "bn_mean_noise_var": 1.0 / target,
                   "bn_variance_noise_var": 2.0 * (target - 1) / target**2,
                   "bn_variance_noise_mean": (target - 1) / target},
        "stationarity": stationary,
        "warnings": warnings,
        "note": FRAMEWORK_NOTE,
        "_summary": s,
    }


def _ratio(a, b):
    return a / b if b else math.inf


def run(args):
    if args.batch_size is None:
        raise UserError("--batch-size is required: give your training batch size, "
                        "e.g. --batch-size 4")
    a = advice(args.batch_size, m0=args.m0, epochs=args.epochs, tau0=args.tau0,
               iterations_per_epoch=args.iterations_per_epoch,
               target_batch_size=args.target_batch_size)
    summary = a.pop("_summary")
    if args.out is not None:
        per_epoch_csv(args.out, [summary])
    if args.json:
        print_json({**a, "seed": args.seed, "out": args.out})
        return 0
    m, m0, T = a["m"], a["m0"], a["epochs"]
    tr, inf, end, tg = a["training"], a["inference"], a["end_of_training"], a["target"]
    print(f"MBN for batch size m = {m}, ideal batch size m0 = {m0}, T = {T} epochs "
          "(the paper's schedule)")
    print("conventions: lambda = weight on history = Keras's momentum; "
          "PyTorch's momentum = 1 - lambda")
    if a["plain_bn"]:
        print("m >= m0: the paper's schedule is plain BN (lambda = 0 at every epoch).")
    print()
    exact = args.iterations_per_epoch is not None
    head = ["epoch", "lambda (ours, Keras)", "PyTorch momentum", "m_eff"]
    if exact:
        head.append("Var xi_mu epoch end")
    rows = []
    for t in table_epochs(T, args.all_epochs):
        r = [t, float(tr["momentum"][t - 1]), float(tr["pytorch_momentum"][t - 1]),
             float(tr["effective_batch_size"][t - 1])]
        if exact:
            r.append(float(tr["epoch_end_mean_noise_var"][t - 1]))
        rows.append(r)
    print("training momentum per epoch (MBN's normalisation statistics):")
    print(format_table(head, rows, floatfmt=".6g"))
    if not args.all_epochs and T > len(rows):
        print(f"(a sample of the {T} epochs: --all-epochs prints every one, --out FILE.csv "
              "writes them all)")
    print()
    print(f"inference momentum (running statistics for test time): tau = tau0^(m/m0) = "
          f"{a['tau0']:g}^({m}/{m0}) = {inf['momentum']:.6g}; PyTorch momentum = "
          f"{inf['pytorch_momentum']:.6g}; Keras momentum = {inf['keras_momentum']:.6g}")
    print()
    print(f"end of training: lambda(T) = {end['momentum']:.6g} (PyTorch "
          f"{end['pytorch_momentum']:.6g}), stationary noise vs plain BN at m0 = {m0}:")
    st, bn, ex = end["stationary"], end["bn_at_m0"], end["exact_last_step"]
    keys = [("Var xi_mu (mean noise)", "mean_noise_var"),
            ("Var xi_sigma (variance noise)", "variance_noise_var"),
            ("E xi_sigma = (m-1)/m (bias)", "variance_noise_mean")]
    head = ["quantity", f"MBN, m={m}", f"BN, m0={m0}", "ratio"]
    if exact:
        head.append("MBN exact, last step")
    rows = []
    for label, key in keys:
        r = [label, st[key], bn[key], _ratio(st[key], bn[key])]
        if exact:
            r.append(ex[key])
        rows.append(r)
    print(format_table(head, rows, floatfmt=".6g"))
    if not exact:
        need = a["stationarity"]["steps_needed"]
        print(f"(stationary values: within {100 * STATIONARY_RTOL:g}% of the exact ones if the "
              f"last epoch has at least about {need} steps; --iterations-per-epoch N gives "
              "the exact last-step values and checks it)")
    print()
    print(f"to match BN at batch size {tg['batch_size']} exactly (mean noise): constant "
          f"lambda = (MT - m)/(MT + m) = {tg['momentum']:.6g} (PyTorch "
          f"{tg['pytorch_momentum']:.6g}, Keras {tg['keras_momentum']:.6g}); then Var xi_mu "
          f"= {tg['mean_noise_var']:.6g} = 1/{tg['batch_size']}, Var xi_sigma = "
          f"{tg['variance_noise_var']:.6g} (BN: {tg['bn_variance_noise_var']:.6g}), "
          f"E xi_sigma stays {tg['variance_noise_mean']:.6g} (BN: "
          f"{tg['bn_variance_noise_mean']:.6g}): momentum averages noise away, not the bias.")
    if a["warnings"]:
        print()
        print("warnings:")
        for w in a["warnings"]:
            print(f"  - {w}")
    print()
    print(f"note: {FRAMEWORK_NOTE}")
    print("assumed: Gaussian input, independent batches, a population that does not drift "
          "(see `bn-noise simulate mbn --drift`).")
    if args.out is not None:
        print(f"wrote every epoch to {args.out}")
    if args.seed is not None:
        print(f"seed {args.seed} recorded (not used: deterministic)")
    return 0
