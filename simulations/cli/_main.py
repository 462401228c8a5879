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


#: Ctrl-C / SIGTERM received and not yet handled by :func:`main`
_PENDING = []
_RETRY = 0.25   # seconds


def _on_signal(signum, frame):
    """Ctrl-C and SIGTERM: unwind (so temporary outputs are removed) with KeyboardInterrupt."""
    _PENDING.append(signum)
    _arm_retry()
    raise KeyboardInterrupt


def _arm_retry():
    if hasattr(signal, "SIGALRM") and signal.getsignal(signal.SIGALRM) is _retry:
        signal.setitimer(signal.ITIMER_REAL, _RETRY)


def _disarm_retry():
    if hasattr(signal, "SIGALRM") and signal.getsignal(signal.SIGALRM) is _retry:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _retry(signum, frame):
    """SIGALRM after an interrupt: raise it again if it was lost.

    The interpreter prints and drops an exception raised inside a callback (a weakref
    callback of the import machinery, an at-fork hook): an interrupt that lands there
    would be ignored and the run would go on. Until :func:`main` has handled it, raise it
    again every quarter second, unless it is unwinding right now (then cleanup runs).
    """
    if not _PENDING:
        return
    _arm_retry()
    exc = sys.exc_info()[1]
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return
        exc = exc.__context__
    raise KeyboardInterrupt


def _forget_unhandled_interrupt():
    """Let the interpreter exit with our status after an interrupt we handled.

    An interrupt that lands in the middle of an extension module's import can escape a
    C-level ``PyRun`` call; CPython then remembers it as unhandled and ends the process
    by SIGINT instead of with status 130. The flag is reset by the next such call, so
    run an empty one.
    """
    try:
        import ctypes  # deferred: only after an interrupt

        ctypes.pythonapi.PyRun_SimpleString(b"")
    except Exception:  # pragma: no cover - not CPython
        pass


def _one_line(exc):
    return " ".join(str(exc).split())


def main(argv=None):
    """Run the CLI; returns the exit status (0 ok, 1 failure, 2 user error, 130 interrupt)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = " ".join(["bn-noise", args.command]
                    + ([args.simulator] if getattr(args, "simulator", None) else []))
    debug = bool(os.environ.get("BN_NOISE_DEBUG"))
    handlers = _install_handlers()
    try:
        return int(args.func(args) or 0)
    except (UserError, InvalidParameter, FileExistsError) as exc:
        if debug:
            raise  # developers: see the traceback
        sys.stderr.write(f"{prog}: error: {_one_line(exc)}\n")
        return 2
    except KeyboardInterrupt:
        return _interrupted(prog)
    except BrokenPipeError:  # e.g. `bn-noise theory | head`
        return 0
    except OSError as exc:  # e.g. an output folder that vanished or is read-only
        if debug:
            raise
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"{prog}: error: cannot write{where}: {exc.strerror or exc}\n")
        return 2
    except Exception as exc:  # a bug in bn-noise, not the user's error
        if _PENDING:   # e.g. ImportError "initialization failed": an import interrupted
            return _interrupted(prog)
        if debug:
            raise
        sys.stderr.write(f"{prog}: internal error ({type(exc).__name__}: {_one_line(exc)}); "
                         "this is a bug in bn-noise, please report it; set BN_NOISE_DEBUG=1 "
                         "to see the traceback.\n")
        return 1
    finally:
        _restore_handlers(handlers)


def _install_handlers():
    """Our handlers for SIGTERM, and for Ctrl-C and SIGALRM where they are the defaults
    (a host program's own handlers are left alone); returns what to restore."""
    old = {signal.SIGTERM: signal.signal(signal.SIGTERM, _on_signal)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        old[signal.SIGINT] = signal.signal(signal.SIGINT, _on_signal)
    if hasattr(signal, "SIGALRM") and signal.getsignal(signal.SIGALRM) == signal.SIG_DFL:
        old[signal.SIGALRM] = signal.signal(signal.SIGALRM, _retry)
    return old


def _restore_handlers(old):
    _disarm_retry()
    for sig, handler in old.items():
        signal.signal(sig, handler)


def _interrupted(prog):
    _PENDING.clear()
    _disarm_retry()
    sys.stderr.write(f"{prog}: interrupted; nothing was left half-written.\n")
    _forget_unhandled_interrupt()
    return 130
