"""``bn-noise derive``: the sympy derivations, step by step.

    bn-noise derive --list
    bn-noise derive NAME [--format text|latex|markdown] [--standalone]
    bn-noise derive --all --out DIR [--format markdown|latex] [--force]

``--format latex --standalone`` prints a complete document that compiles with a plain
``pdflatex``; ``--all --format latex`` writes one such ``NAME.tex`` per derivation and
``derivations.tex`` with all of them.

``--json`` prints name, title, steps (text and LaTeX) and results; ``--seed`` is accepted
and recorded (derivations draw nothing).
"""

from __future__ import annotations

import time

from ..io import atomic_directory, atomic_write
from ._args import UserError, format_table, output_dir_type, print_json

__all__ = ["add_parser", "run"]

FORMATS = ("text", "latex", "markdown")


def add_parser(subparsers, common):

    p = subparsers.add_parser(
        "derive", parents=[common],
        help="sympy derivations of every closed form, step by step",
        description="Print a symbolic derivation (steps, results, existence conditions), "
                    "list them, or write one Markdown file per derivation.")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="derivation to print (see --list)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="list the derivations")
    what.add_argument("--all", action="store_true",
                      help="build every derivation and write NAME.md files to --out")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (NAME: default text; --all: markdown or latex, "
                        "default markdown)")
    p.add_argument("--standalone", action="store_true",
                   help="with --format latex: a complete LaTeX document (compiles with "
                        "pdflatex), not a fragment")
    p.add_argument("--out", metavar="DIR", default=None, type=output_dir_type,
                   help="output folder for --all, required with it (built in a temporary "
                        "folder, then moved into place; default: none)")
    p.add_argument("--force", action="store_true", help="with --all: replace an existing DIR")
    p.set_defaults(func=run)
    return p


def _check_args(args):

    if args.list or args.all:
        if args.name is not None:
            raise UserError(f"NAME ({args.name!r}) cannot be combined with "
                            f"{'--list' if args.list else '--all'}.")
    elif args.name is None:
        raise UserError("give a derivation NAME, --list or --all (see --help).")
    if args.all and args.out is None:
        raise UserError("--all needs --out DIR.")
    if args.out is not None and not args.all:
        raise UserError("--out is only used with --all.")
    if args.force and not args.all:
        raise UserError("--force is only used with --all.")
    if args.list and args.format is not None:
        raise UserError("--format is not used with --list.")
    if args.all and args.format not in (None, "markdown", "latex"):
        raise UserError(f"--all writes markdown or latex files; got --format {args.format}.")
    if args.standalone and (args.format != "latex" or args.all):
        raise UserError("--standalone is only used with NAME --format latex "
                        "(--all --format latex always writes standalone documents).")


def run(args):
    _check_args(args)
    import derivations  # deferred: sympy

    if args.list:
        return _run_list(args, derivations)
    if args.all:
        return _run_all(args, derivations)
    if args.name not in derivations.list_derivations():
        try:
            derivations.get_derivation(args.name)  # raises ValueError naming the closest
        except ValueError as exc:
            raise UserError(f"NAME: {exc}") from None
    derivation = derivations.get_derivation(args.name)
    if args.json:

        print_json({**derivation.to_dict(), "seed": args.seed})
        return 0
    fmt = args.format or "text"
    if fmt == "latex":
        print(derivation.latex(standalone=args.standalone), end="")
    else:
        print({"text": derivation.text, "markdown": derivation.markdown}[fmt](), end="")
    return 0


def _run_list(args, derivations):

    pairs = derivations.list_derivations(titles=True)
    if args.json:
        print_json({"derivations": [{"name": n, "title": t} for n, t in pairs],
                    "seed": args.seed})
    else:
        print(format_table(["name", "title"], pairs))
    return 0


def _run_all(args, derivations):

    names = derivations.list_derivations()
    latex = args.format == "latex"
    rows, built = [], []
    with atomic_directory(args.out, force=args.force) as tmp:
        from ..mc import progress  # deferred: numpy at CLI start-up

        for name in progress(names, desc="deriving", unit="derivation"):
            start = time.perf_counter()
            derivation = derivations.get_derivation(name)
            elapsed = time.perf_counter() - start
            built.append(derivation)
            if latex:
                atomic_write(tmp / f"{name}.tex", derivation.latex(standalone=True))
                rows.append((name, f"{name}.tex", elapsed))
            else:
                atomic_write(tmp / f"{name}.md", derivation.markdown())
                rows.append((name, f"{name}.md", elapsed))
        if latex:
            from derivations import latex_document as standalone  # deferred: sympy

            body = "\n\\clearpage\n".join(d.latex() for d in built)
            index_name = "derivations.tex"
            atomic_write(tmp / index_name, standalone(body, title="bn-noise derivations"))
        else:
            index_name = "index.md"
            index = ["# bn-noise derivations", "",
                     f"Seed (recorded; derivations draw nothing): {args.seed}", ""]
            index += [f"- [{t}]({n}.md)" for n, t in derivations.list_derivations(titles=True)]
            atomic_write(tmp / index_name, "\n".join(index) + "\n")
    total = sum(r[2] for r in rows)
    if args.json:
        print_json({"out": str(args.out), "files": [r[1] for r in rows] + [index_name],
                    "build_seconds": {r[0]: r[2] for r in rows}, "total_seconds": total,
                    "seed": args.seed})
    else:
        print(format_table(["derivation", "file", "seconds"], rows, floatfmt=".2f"))
        print(f"\nwrote {len(rows) + 1} files to {args.out} in {total:.2f} s "
              f"(seed: {args.seed})")
    return 0
