"""The ``bn-noise`` entry point: the top-level parser and the error policy.

Each subcommand lives in its own module ``simulations/cli/_<name>.py`` exposing
``add_parser(subparsers, common)``; the module registers a parser (with ``common`` among
its parents, which gives ``--json`` and ``--seed``) and sets ``func=run`` where
``run(args) -> int``.

Exit status: 0 success; 1 a failed check or an internal error; 2 a user error; 130 an
interrupt (Ctrl-C or SIGTERM). A *user error* is a bad argument caught by the parser, a
:class:`~simulations.cli.UserError`, or an argument that a public function refused by its
documented rule (:class:`noise_theory._lib.InvalidParameter`): one line on stderr naming the
argument, no traceback. Anything else is a bug in bn-noise, not the user's fault: one line
saying so (exit 1); set ``BN_NOISE_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from importlib.metadata import PackageNotFoundError, version

from noise_theory._lib import InvalidParameter

from . import _advise, _bench, _derive, _regularizer, _report, _schedule, _simulate, _theory, _train
from ._args import CliParser, UserError, common_options

__all__ = ["main", "build_parser"]

#: every top-level subcommand, in the order ``--help`` lists them (the main job first).
COMMANDS = (_report, _theory, _derive, _simulate, _schedule, _advise, _regularizer, _train,
            _bench)


def build_parser():
    """The ``bn-noise`` argument parser with every subcommand registered."""
    parser = CliParser(
        prog="bn-noise",
        description="The noise batch normalisation injects, and Momentum BN: closed forms, "
                    "sympy derivations and Monte Carlo checks.",
    )
    try:
        ver = version("bn-noise")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ver = "unknown"
    parser.add_argument("--version", action="version", version=f"bn-noise {ver}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliParser)
    sub.required = True
    common = common_options()
    for module in COMMANDS:
        module.add_parser(sub, common)
    return parser


def _terminate(signum, frame):
    """SIGTERM is handled like Ctrl-C: unwind, so temporary outputs are removed."""
    raise KeyboardInterrupt


def _one_line(exc):
    return " ".join(str(exc).split())


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 user error, 130 interrupt)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = " ".join(["bn-noise", args.command]
                    + ([args.simulator] if getattr(args, "simulator", None) else []))
    debug = bool(os.environ.get("BN_NOISE_DEBUG"))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.func(args) or 0)
    except (UserError, InvalidParameter, FileExistsError) as exc:
        if debug:
            raise  # developers: see the traceback
        sys.stderr.write(f"{prog}: error: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; nothing was left half-written.\n")
        return 130
    except BrokenPipeError:  # e.g. `bn-noise theory | head`
        return 0
    except OSError as exc:  # e.g. an output folder that vanished or is read-only
        if debug:
            raise
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"{prog}: error: cannot write{where}: {exc.strerror or exc}\n")
        return 2
    except Exception as exc:  # a bug in bn-noise, not the user's error
        if debug:
            raise
        sys.stderr.write(f"{prog}: internal error ({type(exc).__name__}: {_one_line(exc)}); "
                         "this is a bug in bn-noise, please report it; set BN_NOISE_DEBUG=1 "
                         "to see the traceback.\n")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
