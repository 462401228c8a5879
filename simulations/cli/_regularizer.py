"""``bn-noise regularizer``: the second-order regulariser against exact quadrature and
Monte Carlo, per batch size."""

from __future__ import annotations

import math

from ._args import (
    UserError,
    add_batch_size_argument,
    float_type,
    format_table,
    int_type,
    print_json,
    resolve_seed,
)

__all__ = ["add_parser", "run"]

_DESCRIPTION = """\
The expected GLM loss of a BN (or MBN) output unit eta = gamma (h - xi_mu)/sqrt(xi_sigma +
eps) + beta, for an out-of-batch sample with population-normalised pre-activation h, three
ways: the second-order formula loss(E eta, y) + R with R = A''(E eta) Var(eta)/2 (and the
expansion around the noise-free gamma h + beta), the exact expectation by quadrature, and
Monte Carlo from raw Gaussian batches (MBN: the exact EMA of batch statistics). Relative
errors are against the quadrature. Divergent expectations are printed as inf with the
reason. Momentum is the weight on history (lambda; PyTorch momentum 0.1 = lambda 0.9).
"""

_HEADER = ["m", "h", "E_eta", "Var_eta", "R", "formula", "formula_noise_free",
           "quadrature", "relerr_formula", "relerr_noise_free", "mc", "mc_stderr", "z"]


def add_parser(subparsers, common):
    p = subparsers.add_parser(
        "regularizer", parents=[common],
        help="second-order BN regulariser vs exact quadrature vs Monte Carlo",
        description=_DESCRIPTION)
    add_batch_size_argument(p, [2, 3, 4, 8, 16, 32, 64, 128, 256])
    p.add_argument("--family", default="logistic", metavar="NAME",
                   help="GLM family: logistic, squared or poisson (default logistic)")
    p.add_argument("--h", type=float_type(name="h"), nargs="+", default=[1.0], metavar="H",
                   help="population-normalised pre-activations, at most 1000 (default 1)")
    p.add_argument("--gamma", type=float_type(name="gamma"), default=2.0,
                   help="BN scale gamma (default 2)")
    p.add_argument("--beta", type=float_type(name="beta"), default=0.0,
                   help="BN shift beta (default 0)")
    p.add_argument("--y", type=float_type(name="y"), default=1.0,
                   help="target (logistic: in [0, 1]; poisson: >= 0; default 1)")
    p.add_argument("--momentum", type=float_type(minimum=0, maximum=1, max_open=True,
                                                 name="momentum"), default=0.0,
                   help="MBN weight on history lambda in [0, 1) (default 0: plain BN)")
    p.add_argument("--eps", type=float_type(minimum=0, name="eps"), default=0.0,
                   help="BN epsilon in population units (default 0)")
    p.add_argument("--samples", "-n", type=int_type(0, "samples"), default=100_000,
                   metavar="N", help="Monte Carlo noise draws per batch size (0: skip; "
                                     "default 1e5); samples x m x the EMA burn-in (about "
                                     "23/(1 - momentum) batches) must be <= 1e11 random "
                                     "numbers (15 minutes to 3 hours on one core)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="worker threads for the Monte Carlo (default: all cores); never "
                        "changes the result")
    p.set_defaults(func=run)
    return p


def _relerr(approx, exact):
    """(approx - exact)/|exact|: ``inf`` where only the formula diverges, None (an empty
    cell, JSON null) where the exact value is infinite or 0 (the ratio is undefined)."""
    if not math.isfinite(exact) or exact == 0:
        return None
    if not math.isfinite(approx):
        return math.inf
    return (approx - exact) / abs(exact)


def _inf_reasons(row, law, eps):
    """The conditions under which this row's closed forms are inf (numpy-free strings)."""
    out = []
    k = law.shape
    if math.isinf(row["E_eta"]):
        out.append(f"E_eta = inf: E[xi_sigma^(-1/2)] = inf (Gamma shape {k:g} <= 1/2, "
                   f"eps = {eps:g})")
    if math.isinf(row["Var_eta"]):
        out.append(f"Var_eta, R, formula = inf: E[1/xi_sigma] = inf (Gamma shape {k:g} <= 1, "
                   f"eps = {eps:g})")
    if math.isinf(row["relerr_formula"] or 0.0):
        out.append("relerr = inf: the formula diverges where the exact loss is finite")
    if row["relerr_formula"] is None:
        out.append("relerr empty: the quadrature is " + (
            "0" if row["quadrature"] == 0 else "inf") + ", the ratio is undefined")
    return out


def compare(m, args, seq):
    """Rows (dicts) of formula / quadrature / Monte Carlo at batch size `m`.

    No value is NaN: a divergent one is ``inf`` and ``reason`` states the condition; one
    not computed or meaningless (the Monte Carlo of a divergent mean, the standard error
    and z of a loss with infinite variance, relerr against an infinite quadrature) is
    None with the reason.
    """
    import numpy as np  # deferred: numpy at CLI start-up

    from noise_theory import (  # deferred: scipy at CLI start-up
        expected_glm_loss,
        glm_divergence_reason,
        glm_family,
        glm_regularizer,
        noise_law,
    )

    from ..models._glm_loss import simulate_glm_loss  # deferred: numba and scipy

    kw = dict(gamma=args.gamma, beta=args.beta, m=m, family=args.family,
              momentum=args.momentum, eps=args.eps)
    h = np.asarray(args.h, dtype=float)
    reg = glm_regularizer(h, **kw)
    exact = np.atleast_1d(expected_glm_loss(h, args.y, **kw))
    f_mean = np.atleast_1d(reg.approx_expected_loss(args.y))
    f_free = np.atleast_1d(reg.approx_expected_loss(args.y, around="noise_free"))
    fam, law = glm_family(args.family), noise_law(m, momentum=args.momentum)
    reason = "" if args.gamma == 0 else (glm_divergence_reason(
        m, family=args.family, momentum=args.momentum, eps=args.eps) or "")
    # the MC standard error needs a finite loss variance: E u^(2 growth) < inf
    se_ok = args.gamma == 0 or args.eps > 0 or law.shape > fam.growth
    sims = (simulate_glm_loss(h, args.y, n=args.samples, rng=seq, workers=args.workers,
                              **kw).results if args.samples else [None] * h.size)
    rows = []
    for i, hi in enumerate(h):
        r = sims[i]
        row = dict(
            m=m, h=float(hi), E_eta=float(np.atleast_1d(reg.mean_eta)[i]),
            Var_eta=float(np.atleast_1d(reg.var_eta)[i]),
            R=float(np.atleast_1d(reg.penalty)[i]), formula=float(f_mean[i]),
            formula_noise_free=float(f_free[i]), quadrature=float(exact[i]),
            relerr_formula=_relerr(f_mean[i], exact[i]),
            relerr_noise_free=_relerr(f_free[i], exact[i]), mc=None, mc_stderr=None, z=None,
            divergence=reason)
        why = _inf_reasons(row, law, args.eps)
        if reason:
            why.append(f"quadrature = inf: {reason}")
        if r is None:
            why.append("no Monte Carlo (--samples 0)")
        elif reason:
            why.append("no Monte Carlo estimate: the mean it would estimate is inf")
        elif not se_ok:
            row["mc"] = float(r.estimate)
            why.append(f"mc_stderr, z empty: Var(loss) = inf (Gamma shape {law.shape:g} <= "
                       f"{fam.growth:g}, eps = {args.eps:g}), the standard error is "
                       "meaningless")
        else:
            row.update(mc=float(r.estimate), mc_stderr=float(r.stderr),
                       z=float(r.zscore(exact[i])))
        for key, v in row.items():    # anything still undefined: empty, and say so
            if isinstance(v, float) and math.isnan(v):
                row[key] = None
                why.append(f"{key} undefined")
        row["reason"] = "; ".join(why)
        rows.append(row)
    return rows


def _check_up_front(args):
    """The Monte Carlo's limits, checked before any work with the CLI's names."""
    from noise_theory import glm_family  # deferred: scipy at CLI start-up

    from ..mc._limits import MAX_DRAWS  # deferred: numpy at CLI start-up
    from ..models._glm_loss import (  # deferred: numba and scipy
        MAX_POINTS,
        _burn_in,
        glm_loss_draws,
    )

    glm_family(args.family)
    if len(args.h) > MAX_POINTS:
        raise UserError(f"--h takes at most {MAX_POINTS} values; got {len(args.h)}.")
    if not args.samples:
        return
    for m in dict.fromkeys(args.batch_size):
        draws = glm_loss_draws(args.samples, m, args.momentum)
        if draws > MAX_DRAWS:
            raise UserError(
                f"the Monte Carlo at --batch-size {m} would draw {draws:.3g} random numbers "
                f"(--samples {args.samples} x m x {_burn_in(args.momentum)} EMA batches at "
                f"--momentum {args.momentum!r}); the limit is {MAX_DRAWS:.0e} (15 minutes "
                "to 3 hours on one core): lower --samples (0 skips the Monte Carlo), "
                "--batch-size or --momentum.")


def run(args):
    import numpy as np  # deferred: numpy at CLI start-up

    _check_up_front(args)
    _, entropy = resolve_seed(args.seed)
    rows = []
    for m in dict.fromkeys(args.batch_size):
        seq = np.random.SeedSequence(entropy, spawn_key=(m,))   # same stream per m
        rows += compare(m, args, seq)
    approx_note = ("momentum > 0: formula and quadrature use the moment-matched Gamma law of "
                   "the MBN variance noise; Monte Carlo samples the exact EMA law."
                   if args.momentum else "")
    if args.json:
        print_json({"seed": entropy, "family": args.family, "gamma": args.gamma,
                    "beta": args.beta, "y": args.y, "momentum": args.momentum,
                    "eps": args.eps, "samples": args.samples, "note": approx_note,
                    "rows": rows})
        return 0
    print(f"seed entropy: {entropy}  (replay with --seed {entropy})")
    print(f"family={args.family}  gamma={args.gamma:g}  beta={args.beta:g}  y={args.y:g}  "
          f"momentum={args.momentum:g}  eps={args.eps:g}  Monte Carlo draws={args.samples}")
    print(format_table(_HEADER, [[r[k] for k in _HEADER] for r in rows], floatfmt=".6g"))
    print("formula = loss(E eta, y) + R; formula_noise_free = expansion around gamma h/sqrt(1+eps) + beta; "
          "relerr_* = (formula - quadrature)/|quadrature|; z = (mc - quadrature)/mc_stderr.")
    reasons = dict.fromkeys(f"m={r['m']}: {r['reason']}" for r in rows if r["reason"])
    for line in reasons:
        print(line + ".")
    if approx_note:
        print(approx_note)
    return 0
