"""``bn-noise theory``: the closed-form BN noise, one row per batch size."""

from __future__ import annotations

import math

from ._args import (
    UserError,
    add_batch_size_argument,
    float_type,
    format_table,
    print_json,
)

__all__ = ["add_parser", "run"]

DEFAULT_BATCH_SIZES = [2, 4, 8, 16, 32, 64, 128, 256]

_DESCRIPTION = """\
Closed forms of the noise batch normalisation injects, per batch size m (population units,
sigma = 1; Gaussian input unless --skewness/--excess-kurtosis are given): the variance of the
mean noise xi_mu, the mean and variance of the variance noise xi_sigma = sigma_B^2/sigma^2,
E[sigma/sigma_B] and E[sigma^2/sigma_B^2] with BN's eps (inf where they diverge: eps = 0 and
m <= 2, resp. m <= 3), the bound sqrt(m-1) of the in-batch output, its fourth moment
3(m-1)/(m+1), and the variance (m+1)/(m-3) of the out-of-batch output (the paper's
independent-noise model). With --skewness/--excess-kurtosis it adds the exact variance of
xi_sigma and corr(xi_mu, xi_sigma) for any input law with those moments. Deterministic:
--seed is accepted and recorded only.
"""

# (json key, table header)
_COLUMNS = [
    ("m", "m"),
    ("var_mean_noise", "Var xi_mu"),
    ("mean_variance_noise", "E xi_sigma"),
    ("var_variance_noise", "Var xi_sigma"),
    ("e_sigma_over_sigma_b", "E[s/s_B]"),
    ("e_sigma2_over_sigma_b2", "E[s2/s_B2]"),
    ("in_batch_bound", "sqrt(m-1)"),
    ("in_batch_fourth_moment", "E z^4 in"),
    ("out_of_batch_variance", "Var z out"),
]
_NON_GAUSSIAN_COLUMNS = [
    ("var_variance_noise_input", "Var xi_sigma (input)"),
    ("corr_noises_input", "corr (input)"),
]


def add_parser(subparsers, common):
    p = subparsers.add_parser(
        "theory", parents=[common], help="closed-form BN noise per batch size (table or JSON)",
        description=_DESCRIPTION)
    add_batch_size_argument(p, DEFAULT_BATCH_SIZES)
    p.add_argument("--skewness", type=float_type(name="skewness"), default=None, metavar="S",
                   help="skewness of a non-Gaussian input law (adds its variance noise; default: none, "
                        "Gaussian input only)")
    p.add_argument("--excess-kurtosis", type=float_type(minimum=-2, name="excess kurtosis"),
                   default=None, metavar="K",
                   help="excess kurtosis of a non-Gaussian input law, >= S^2 - 2 (Pearson); "
                        "e.g. 3 for Laplace, -1.2 for uniform (default: none; 0 when only --skewness "
                        "is given)")
    p.add_argument("--ddof", type=int, choices=[0, 1], default=0,
                   help="batch variance divides by m - ddof (default 0: BN's biased variance)")
    p.add_argument("--eps", type=float_type(minimum=0, name="eps"), default=0.0, metavar="E",
                   help="BN's epsilon in population units, used by E[s/s_B] and E[s2/s_B2] "
                        "(default 0)")
    p.set_defaults(func=run)
    return p


def theory_rows(batch_sizes, *, ddof=0, eps=0.0, skewness=None, excess_kurtosis=None):
    """One dict per batch size with the quantities of ``bn-noise theory``.

    The numbers come from :mod:`noise_theory._fast` (numpy and the standard library; the
    tests compare them with the public ``noise_theory`` functions), so a cold
    ``bn-noise theory`` does not import ``scipy.stats``; with ``eps > 0`` the scale moments
    are quadratures and do.
    """
    import numpy as np  # deferred: numpy at CLI start-up

    import noise_theory as nt  # deferred: numpy at CLI start-up

    m = np.array(list(dict.fromkeys(batch_sizes)), dtype=np.int64)
    var_mean, mean_var, var_var = (np.atleast_1d(v) for v in nt.bn_noise_moments(m, ddof=ddof))
    c1, c2 = (np.atleast_1d(v) for v in nt.inverse_scale_moments(m, ddof=ddof, eps=eps))
    bound, fourth, oob = (np.atleast_1d(v) for v in nt.bn_output_moments(m))
    non_gaussian = skewness is not None or excess_kurtosis is not None
    if non_gaussian:
        other_var, other_corr = (np.atleast_1d(v) for v in nt.input_law_moments(
            m, skewness=skewness or 0.0, excess_kurtosis=excess_kurtosis or 0.0, ddof=ddof))
    rows = []
    for i, mi in enumerate(m.tolist()):
        row = {
            "m": mi,
            "var_mean_noise": float(var_mean[i]),
            "mean_variance_noise": float(mean_var[i]),
            "var_variance_noise": float(var_var[i]),
            "e_sigma_over_sigma_b": float(c1[i]),
            "e_sigma2_over_sigma_b2": float(c2[i]),
            "in_batch_bound": float(bound[i]),
            "in_batch_fourth_moment": float(fourth[i]),
            "out_of_batch_variance": float(oob[i]),
        }
        if non_gaussian:
            row["var_variance_noise_input"] = float(other_var[i])
            row["corr_noises_input"] = float(other_corr[i])
        rows.append(row)
    return rows


#: json key -> (table header, when it is inf): the footnote names only what is printed.
_DIVERGENCE = {
    "e_sigma_over_sigma_b": ("E[s/s_B]", "m <= 2 with eps = 0"),
    "e_sigma2_over_sigma_b2": ("E[s2/s_B2]", "m <= 3 with eps = 0"),
    "out_of_batch_variance": ("Var z out", "m <= 3 (the out-of-batch model has no eps)"),
}


def divergence_note(rows, eps):
    """The footnote for the inf cells actually in `rows` (None when there are none)."""
    parts = [f"{head}: {cond}" for key, (head, cond) in _DIVERGENCE.items()
             if any(math.isinf(r[key]) for r in rows)]
    note = ("inf = the moment diverges (" + "; ".join(parts) + ").") if parts else None
    if eps > 0:
        tail = (f"eps = {eps:g} > 0 makes E[s/s_B] and E[s2/s_B2] finite at every m "
                "(quadrature).")
        note = f"{note} {tail}" if note else tail
    return note


def run(args):
    s, k = args.skewness, args.excess_kurtosis
    if s is not None and (k if k is not None else 0.0) < s * s - 2:
        raise UserError(
            f"--excess-kurtosis must be >= skewness^2 - 2 = {s * s - 2:g} (Pearson's bound); "
            f"got {k if k is not None else 0.0:g} with --skewness {s:g}")
    rows = theory_rows(args.batch_size, ddof=args.ddof, eps=args.eps, skewness=s,
                       excess_kurtosis=k)
    columns = _COLUMNS + (_NON_GAUSSIAN_COLUMNS if "corr_noises_input" in rows[0] else [])
    if args.json:
        print_json({"command": "theory", "seed": args.seed, "ddof": args.ddof,
                    "eps": args.eps, "skewness": s, "excess_kurtosis": k, "rows": rows,
                    "divergence": {key: cond for key, (_, cond) in _DIVERGENCE.items()}})
        return 0
    print(f"BN noise for Gaussian input, population units (sigma = 1); ddof={args.ddof}, "
          f"eps={args.eps:g}" + (f"; seed {args.seed} recorded (not used)"
                                 if args.seed is not None else ""))
    print(format_table([h for _, h in columns], [[r[key] for key, _ in columns] for r in rows]))
    if len(columns) > len(_COLUMNS):
        print(f"(input) columns: input law with skewness {s or 0.0:g}, excess kurtosis "
              f"{k or 0.0:g}: exact Var xi_sigma and corr(xi_mu, xi_sigma).")
    note = divergence_note(rows, args.eps)
    if note:
        print(note)
    return 0
