"""Shared pieces of the ``bn-noise`` command line: the parser class, the user-error type,
the common options (``--json``, ``--seed``), argument types and output helpers.

Every command module (``simulations/cli/_<command>.py``) imports from here; nothing here
imports a command module.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

from noise_theory._lib import real_rule

from ..io import dumps_json, format_value

__all__ = ["CliParser", "UserError", "common_options", "int_type", "float_type",
           "output_file_type", "output_dir_type", "batch_size_type", "add_batch_size_argument",
           "seed_type", "resolve_seed", "format_table", "print_json"]


class UserError(Exception):
    """An error in what the user asked for: one line on stderr, exit status 2."""


class CliParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit status 2."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(2, f"{self.prog}: error: {message}\n")


def common_options(*, default_seed=None):
    """The parent parser every subcommand includes: ``--json`` and ``--seed``.

    With `default_seed` (the report's fixed default) the command is reproducible without
    ``--seed``; otherwise a fresh seed is drawn and printed.
    """
    common = CliParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print machine-readable JSON on stdout instead of a table")
    if default_seed is None:
        seed_help = ("seed (integer >= 0) for every random draw; without it a fresh one is "
                     "drawn and printed so the run can be replayed (deterministic commands "
                     "record it and draw nothing)")
    else:
        seed_help = (f"seed (integer >= 0) for every random draw (default {default_seed}: "
                     "the same command gives the same numbers; pass another seed to "
                     "re-draw every Monte Carlo sample)")
    common.add_argument("--seed", type=seed_type, default=default_seed, metavar="S",
                        help=seed_help)
    return common


# ---------------------------------------------------------------- argument types
def _int_type(name, minimum, maximum=None):
    rule = f"an integer >= {minimum}"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {rule}; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be {rule}; got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{name} must be an integer <= {maximum:g}; "
                                             f"got {text!r}")
        return value
    parse.__name__ = name
    return parse


def int_type(minimum, name="value", maximum=None):
    """argparse type: an integer in ``[minimum, maximum]`` (one-line error otherwise)."""
    return _int_type(name, minimum, maximum)


def float_type(*, minimum=None, maximum=None, min_open=False, max_open=False, name="value"):
    """argparse type: a finite real in the given range (one-line error otherwise)."""
    rule = real_rule(minimum, maximum, min_open, max_open)

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {rule}; got {text!r}") from None
        ok = math.isfinite(value)
        if ok and minimum is not None:
            ok = value > minimum if min_open else value >= minimum
        if ok and maximum is not None:
            ok = value < maximum if max_open else value <= maximum
        if not ok:
            raise argparse.ArgumentTypeError(f"{name} must be {rule}; got {text!r}")
        return value
    parse.__name__ = name
    return parse


def _probe_writable(folder, text):
    """Create and remove a temporary file in `folder`: the only sure test that it is
    writable (``os.access`` says yes for root in ``/proc``)."""

    try:
        fd, name = tempfile.mkstemp(prefix=".bn-noise-probe.", dir=folder)
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: folder {str(folder)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(name)


def output_file_type(text):
    """argparse type: a file path whose folder exists and is writable (checked by writing
    there, before any long work)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {str(parent)!r} does not exist")
    _probe_writable(parent, text)
    return path


def output_dir_type(text):
    """argparse type: a folder to create (its nearest existing ancestor must be a folder we
    can write in: checked by writing there, before any long work)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot create {text!r}: {str(ancestor)!r} is not a folder")
    _probe_writable(ancestor, text)
    return path


batch_size_type = _int_type("batch size", 2)


def add_batch_size_argument(parser, default, *, type=batch_size_type,
                            rule="integers >= 2", what="batch sizes"):
    """Add ``--batch-size/-m M [M ...]``; the help states `rule` and the `default` list, so
    ``--help`` cannot drift from the code."""
    shown = " ".join("inf" if m == float("inf") else str(m) for m in default)
    parser.add_argument("--batch-size", "-m", type=type, nargs="+", default=list(default),
                        metavar="M", help=f"{what} ({rule}; default {shown})")
seed_type = _int_type("seed", 0)


def resolve_seed(seed):
    """Return ``(SeedSequence, entropy)``; a fresh entropy is drawn when `seed` is None."""
    import numpy as np  # deferred: numpy at CLI start-up

    seq = np.random.SeedSequence(seed)
    return seq, seq.entropy


# ---------------------------------------------------------------- output helpers
def format_table(headers, rows, *, floatfmt=".6g"):
    """Plain-text table with right-aligned columns."""
    cells = [[format_value(v, floatfmt) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h))
              for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def print_json(obj):
    sys.stdout.write(dumps_json(obj) + "\n")
