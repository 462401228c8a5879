"""``bn-noise report``: run the verification suite and write the report folder."""

from __future__ import annotations

import sys

from ._args import (
    common_options,
    format_table,
    int_type,
    output_dir_type,
    print_json,
    resolve_seed,
)

DEFAULT_OUT = "bn-noise-report"
#: The report's default seed: `bn-noise report` is reproducible byte for byte (the docs'
#: figures are drawn at this seed too).
DEFAULT_SEED = 0


def add_parser(subparsers, common):
    p = subparsers.add_parser(
        "report", parents=[common_options(default_seed=DEFAULT_SEED)],
        help="check every claim of the theory (closed form vs sympy vs Monte Carlo) and "
             "write report.md/report.html with figures and data",
        description="Run the verification suite (BN over batch sizes 2..256, MBN over "
                    "schedules, the regulariser, non-Gaussian inputs) and write "
                    "DIR/report.md, a self-contained DIR/report.html, the figures (PNG and "
                    "SVG) and the data (CSV and JSON). The folder is built in a temporary "
                    "place and moved into DIR at the end. The default seed is fixed "
                    f"({DEFAULT_SEED}), so the report is reproducible; a correct theory "
                    "passes every Monte Carlo check with probability >= 0.99 at any seed. "
                    "Exit status 0 when every claim agrees, 1 otherwise.")
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", type=output_dir_type,
                   help=f"report folder to create (default: {DEFAULT_OUT})")
    p.add_argument("--full", action="store_true",
                   help="many more Monte Carlo samples: resolves smaller effects (minutes)")
    p.add_argument("--workers", type=int_type(1, "workers"), default=None, metavar="W",
                   help="threads for the simulators and, when more than 1, processes for the "
                        "derivations, the training runs and the figures (default: all cores; "
                        "never changes the report)")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")
    p.add_argument("--figures-only", default=None, metavar="FIGDIR", type=output_dir_type,
                   help="write only the figures (PNG) into FIGDIR, replacing files of the same "
                        "name (this is how docs/figures is regenerated: "
                        "`bn-noise report --seed 0 --figures-only docs/figures`; default: none, "
                        "the whole report)")
    p.set_defaults(func=run)
    return p


def run(args):
    from ..report._build import (  # deferred: matplotlib, sympy and scipy
        build_report,
        export_figures,
    )

    seq, entropy = resolve_seed(args.seed)
    if args.figures_only is not None:
        names = export_figures(args.figures_only, full=args.full, rng=seq,
                               workers=args.workers)
        if args.json:
            print_json({"seed": entropy, "figures_dir": args.figures_only, "figures": names})
        else:
            print(f"seed: {entropy}\nwrote {len(names)} figure(s) to {args.figures_only}: "
                  + ", ".join(names))
        return 0
    res = build_report(args.out, full=args.full, rng=seq, workers=args.workers,
                       force=args.force)
    if args.json:
        print_json({"seed": entropy, "out": str(res.out), "all_agree": res.all_agree,
                    "n_claims": res.n_claims, "n_checks": res.n_rows,
                    "n_mc_tests": res.n_mc_tests, "n_disagree": res.n_disagree,
                    "z_crit": res.z_crit, "alpha": res.alpha, "seconds": res.seconds,
                    "full": res.full})
    else:
        print(format_table(
            ["seed", "claims", "checks", "MC tests", "|z| limit", "disagree", "seconds"],
            [[entropy, res.n_claims, res.n_rows, res.n_mc_tests, round(res.z_crit, 2),
              res.n_disagree, round(res.seconds, 1)]]))
        verdict = ("every claim agrees" if res.all_agree
                   else f"{res.n_disagree} check(s) DISAGREE: see the report")
        print(f"{verdict}; wrote {res.out / 'report.md'} and {res.out / 'report.html'}")
        sys.stdout.flush()
    return 0 if res.all_agree else 1
