"""``bn-noise simulate mbn``: MBN's running statistics by Monte Carlo, next to the theory."""

from __future__ import annotations

import argparse
import math

from ..io import write_csv
from ._args import (
    UserError,
    add_batch_size_argument,
    format_table,
    int_type,
    output_file_type,
    print_json,
    resolve_seed,
)

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
Simulate independent EMA chains of MBN's running mean and variance (momentum = weight on
history) over raw Gaussian batches (or, with --fast, over the exact joint law of the batch
mean and variance: O(1) per step whatever m) under a momentum schedule, and compare the
per-step mean-noise variance E[mu^2], the mean and the variance of the variance noise with
the exact recursion of noise_theory.noise_trajectory (z-scores; verdict at family-wise
alpha = 0.01, Bonferroni over all checks of one batch size). The first batch initialises
the statistics (lambda(1) = 0). With --drift the population mean moves (per step, in
population-sd units) and E[mu^2] becomes the mean squared error of the running mean:
noise plus staleness; for a constant schedule the stationary theory and the optimal
momentum are printed. The seed entropy is printed: --seed S replays the run bit for bit.
"""


def _schedule_type(text):
    """argparse type: a schedule spec, checked by noise_theory's own parser
    (``momentum_schedule`` on a small example) so a bad one names --schedule, exit 2,
    before any work."""
    from noise_theory import momentum_schedule  # deferred: scipy at CLI start-up

    try:
        momentum_schedule(text, m=2, epochs=2, iterations_per_epoch=1, m0=32)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(" ".join(str(exc).split())) from None
    return text


def _drift_type(name):
    def parse(text):

        from ..models._mbn import parse_drift  # deferred: numba and scipy

        try:
            parse_drift(text, name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    parse.__name__ = name
    return parse


def add_parser(subparsers, common):
    p = subparsers.add_parser("mbn", parents=[common],
                              help="simulate MBN's running statistics and compare with theory",
                              description=_DESCRIPTION)
    add_batch_size_argument(p, [2, 4, 8])
    p.add_argument("--schedule", type=_schedule_type, default="paper", metavar="S",
                   help="paper | constant:L | linear[:L] | cosine[:L] (ramps from 0 to L, "
                        "default L = 1 - m/m0); default paper")
    p.add_argument("--ideal-batch-size", "--m0", dest="m0", type=int_type(2, "ideal batch size"),
                   default=32, metavar="M0", help="m0 of the paper's schedule (default 32)")
    p.add_argument("--epochs", "-T", type=int_type(2, "epochs"), default=10, metavar="T",
                   help="training epochs T of the schedule, as in 'schedule' and 'advise' "
                        "(default 10, not their 200: every step is simulated, chains x "
                        "steps)")
    p.add_argument("--iterations-per-epoch", type=int_type(1, "iterations per epoch"),
                   default=50, metavar="N", help="steps per epoch (default 50)")
    p.add_argument("--drift", type=_drift_type("drift"), default="none", metavar="D",
                   help="population-mean drift: none | linear:RATE | walk:SD (default none)")
    p.add_argument("--std-drift", type=_drift_type("std drift"), default="none", metavar="D",
                   help="drift of the log population sd: none | linear:RATE | walk:SD "
                        "(default none; no theory covers it: rows are not tested)")
    p.add_argument("--fast", action="store_true",
                   help="draw (mu_B, sigma_B^2) from their exact joint law (O(1) per step)")
    p.add_argument("--chains", "-n", type=int_type(2, "chains"), default=10_000, metavar="N",
                   help="independent chains (default 10000); chains x steps x (m raw, 2 "
                        "with --fast) must be <= 1e11 random numbers (15 minutes to 3 hours on one "
                        "core); raw batches need m <= 2^20")
    p.add_argument("--record", type=int_type(2, "record", maximum=1000), default=100,
                   metavar="K", help="number of evenly spaced steps checked, at most 1000 "
                                     "(default 100)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="worker threads (default: all cores); never changes the result")
    p.add_argument("--out", metavar="FILE.csv", default=None, type=output_file_type,
                   help="also write the per-step table to this CSV file (atomically; "
                        "default: none)")
    p.set_defaults(func=run)
    return p


_HEADER = ["m", "step", "epoch", "momentum", "quantity", "theory", "estimate", "stderr", "z"]
_NO_SD_THEORY = "no theory for a drifting population sd (--std-drift)"


def drift_mse_trajectory(m, momenta, drift):
    """Per-step ``E(mu_hat_t - mu_t)^2`` of MBN's running mean under a mean drift.

    Parameters
    ----------
    m : int
        Batch size.
    momenta : array_like
        Weight on history at each step; the first batch initialises (its weight is unused).
    drift : tuple
        ``("linear", r)``: the population mean moves by r per step; ``("walk", q)``:
        independent N(0, q^2) steps (population-sd units).

    Returns
    -------
    ndarray
        MSE after each step's update.

    Notes
    -----
    The error ``e_t = mu_hat_t - mu_t`` obeys ``e_1 = xi_1`` and
    ``e_t = lambda_t (e_{t-1} - delta_t) + (1 - lambda_t) xi_t`` with xi ~ N(0, 1/m),
    independent of the drift steps delta_t. So its mean is ``a_t = lambda_t (a_{t-1} - r)``
    (linear; 0 for a walk: staleness) and its variance ``v_t = lambda_t^2 (v_{t-1} +
    Var delta) + (1 - lambda_t)^2/m`` (noise): MSE = a_t^2 + v_t, exact for any schedule.
    For a constant schedule it tends to :func:`noise_theory.drift_mse` (a test checks);
    without drift it is ``noise_trajectory(m, momenta).mean_noise_var``. Cost O(steps).
    """
    import numpy as np  # deferred: numpy at CLI start-up

    kind, rate = drift
    shift, var_step = (rate, 0.0) if kind == "linear" else (0.0, rate * rate)
    lam = [float(x) for x in np.asarray(momenta, dtype=float)]
    out = np.empty(len(lam))
    a, v = 0.0, 1.0 / m
    out[0] = v
    for t in range(1, len(lam)):
        lt = lam[t]
        a = lt * (a - shift)
        v = lt * lt * (v + var_step) + (1.0 - lt) ** 2 / m
        out[t] = a * a + v
    return out


def _simulate_one(m, args, seq):
    import numpy as np  # deferred: numpy at CLI start-up

    from noise_theory import (  # deferred: scipy at CLI start-up
        momentum_schedule,
        noise_trajectory,
    )

    from ..models._mbn import parse_drift, simulate_mbn  # deferred: numba and scipy

    lam = momentum_schedule(args.schedule, m=m, epochs=args.epochs,
                            iterations_per_epoch=args.iterations_per_epoch, m0=args.m0)
    steps = lam.size
    record = np.unique(np.round(np.linspace(1, steps, min(args.record, steps))).astype(int))
    sim = simulate_mbn(m, lam, chains=args.chains, record=record, fast=args.fast,
                       drift=args.drift, std_drift=args.std_drift, rng=seq,
                       workers=args.workers)
    theory = noise_trajectory(m, lam)
    i = sim.steps - 1
    drift = parse_drift(args.drift)
    mu2 = theory.mean_noise_var if drift is None else drift_mse_trajectory(m, lam, drift)
    checks = [("E[mu^2]", mu2[i], sim.mean_noise_mse()),
              ("E[var]", theory.variance_noise_mean[i], sim.variance_noise_mean()),
              ("Var[var]", theory.variance_noise_var[i], sim.variance_noise_var())]
    rows = []
    for name, th, results in checks:
        for t, th_t, r in zip(sim.steps, th, results):
            if args.std_drift != "none":    # no theory for a drifting population sd
                th_t = z = None
            else:
                th_t = float(th_t)
                z = r.zscore(th_t)
                z = float(z) if math.isfinite(z) else None
            rows.append([m, int(t), int((t - 1) // args.iterations_per_epoch) + 1,
                         float(sim.momenta[t - 1]), name, th_t, r.estimate, r.stderr, z])
    return sim, rows


def _drift_lines(m, args, sim):
    """Stationary drift theory for a constant schedule (None otherwise)."""
    from noise_theory import (  # deferred: scipy at CLI start-up
        drift_mse,
        optimal_drift_momentum,
    )

    from ..models._mbn import parse_drift  # deferred: numba and scipy

    drift = parse_drift(args.drift)
    if drift is None or not args.schedule.startswith("constant:"):
        return None
    kind, rate = drift
    lam = float(args.schedule.partition(":")[2])
    last = sim.mean_noise_mse()[-1]
    return {"m": m, "drift": args.drift, "momentum": lam,
            "theory_mse": float(drift_mse(m, lam, drift=kind, rate=rate)),
            "simulated_mse_last_step": last,
            "optimal_momentum": float(optimal_drift_momentum(m, drift=kind, rate=rate)),
            "optimal_mse": float(drift_mse(m, optimal_drift_momentum(m, drift=kind, rate=rate),
                                           drift=kind, rate=rate))}


def _check_up_front(args):
    """Every limit of simulate_mbn, checked before any work with the CLI's names."""
    from noise_theory import momentum_schedule  # deferred: scipy at CLI start-up

    from ..mc._limits import MAX_DRAWS  # deferred: numpy at CLI start-up
    from ..models._mbn import MAX_STEPS, RAW_MAX_M  # deferred: numba and scipy

    steps = args.epochs * args.iterations_per_epoch
    if steps > MAX_STEPS:
        raise UserError(f"--epochs x --iterations-per-epoch must be <= {MAX_STEPS} steps; got "
                        f"{args.epochs} x {args.iterations_per_epoch} = {steps}.")
    per_step = (2 if args.fast else 0) + (args.drift != "none") + (args.std_drift != "none")
    for m in dict.fromkeys(args.batch_size):
        if not args.fast and m > RAW_MAX_M:
            raise UserError(f"--batch-size {m}: raw batches need m <= {RAW_MAX_M} (m numbers "
                            "per chain and step); add --fast (the exact joint law, O(1) per "
                            "step).")
        draws = args.chains * steps * (per_step + (0 if args.fast else m))
        if draws > MAX_DRAWS:
            raise UserError(f"--chains {args.chains} x {steps} steps at --batch-size {m} would "
                            f"draw {draws:.3g} random numbers; the limit is {MAX_DRAWS:.0e} (15 "
                            "minutes to 3 hours on one core): lower --chains, --epochs or "
                            "--iterations-per-epoch" + ("" if args.fast else ", or add --fast")
                            + ".")
        try:
            momentum_schedule(args.schedule, m=m, epochs=args.epochs,
                              iterations_per_epoch=args.iterations_per_epoch, m0=args.m0)
        except (ValueError, TypeError) as exc:
            raise UserError(f"--schedule {args.schedule} at --batch-size {m}, --m0 {args.m0}: "
                            + " ".join(str(exc).split())) from None


def run(args):
    import numpy as np  # deferred: numpy at CLI start-up

    from ..mc import DEFAULT_ALPHA, AgreementRule, named_seed  # deferred: numpy at CLI start-up

    _check_up_front(args)
    sd_drift = args.std_drift != "none"
    _, entropy = resolve_seed(args.seed)
    alpha = DEFAULT_ALPHA
    results = []
    all_rows = []
    for m in dict.fromkeys(args.batch_size):
        seq = named_seed(np.random.SeedSequence(entropy), "simulate mbn", f"m={m}")
        sim, rows = _simulate_one(m, args, seq)
        zs = np.array([abs(r[-1]) for r in rows if r[-1] is not None])
        if zs.size == 0 and not sd_drift:
            raise UserError("no finite z-score: use more --chains.")
        # one rule for every check (simulations.mc.verdict): Bonferroni over the rows
        crit = AgreementRule(n_tests=zs.size, alpha=alpha).z_crit if zs.size else None
        verdict = (None if sd_drift else
                   "agree" if zs.max() <= crit else "disagree")
        results.append({"m": m, "steps": int(sim.momenta.size), "chains": sim.n,
                        "fast": sim.fast, "checks": int(zs.size),
                        "max_abs_z": float(zs.max()) if zs.size else None,
                        "z_critical": crit, "verdict": verdict,
                        "reason": _NO_SD_THEORY if sd_drift else "",
                        "seconds": sim.seconds,
                        "chain_steps_per_second": sim.chain_steps_per_second,
                        "drift": _drift_lines(m, args, sim)})
        all_rows += rows
    if args.out:
        write_csv(args.out, _HEADER, all_rows)
    if args.json:
        print_json({"command": "simulate mbn", "seed": entropy, "schedule": args.schedule,
                    "epochs": args.epochs, "iterations_per_epoch": args.iterations_per_epoch,
                    "drift": args.drift, "std_drift": args.std_drift, "fast": args.fast,
                    "alpha": alpha, "results": results,
                    "rows": [dict(zip(_HEADER, r)) for r in all_rows]})
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy})")
    print(f"schedule {args.schedule}, {args.epochs} epochs x {args.iterations_per_epoch} "
          f"steps, {'fast (exact joint law)' if args.fast else 'raw batches'}, drift "
          f"{args.drift}, std drift {args.std_drift}")
    shown = []
    for res in results:
        m_rows = [r for r in all_rows if r[0] == res["m"]]
        steps = sorted({r[1] for r in m_rows})
        pick = set(steps[:: max(1, len(steps) // 8)] + [steps[-1]])
        shown += [r for r in m_rows if r[1] in pick]
    print(format_table(_HEADER, shown, floatfmt=".5g"))
    if args.drift != "none" and not sd_drift:
        print("drift on: E[mu^2] is the mean squared error of the running mean, noise plus "
              "staleness; its 'theory' and z are the drift-aware recursion (exact for any "
              "schedule); E[var], Var[var] do not feel a mean drift.")
    if sd_drift:
        print(f"empty theory and z: {_NO_SD_THEORY} (not tested).")
    for res in results:
        if res["verdict"] is None:
            line = f"m={res['m']}: not tested"
        else:
            line = (f"m={res['m']}: max |z| = {res['max_abs_z']:.2f} over {res['checks']} "
                    f"checks (critical {res['z_critical']:.2f}) -> {res['verdict']}")
        print(line + f"; {res['chain_steps_per_second']:.3g} chain-steps/s")
        d = res["drift"]
        if d:
            print(f"  drift {d['drift']}: stationary MSE at momentum {d['momentum']:g}: theory "
                  f"{d['theory_mse']:.5g}, simulated (last step) "
                  f"{d['simulated_mse_last_step'].estimate:.5g} +- "
                  f"{d['simulated_mse_last_step'].stderr:.2g}; optimal momentum "
                  f"{d['optimal_momentum']:.4f} (MSE {d['optimal_mse']:.5g})")
    return 0
