"""The ``bn-noise`` command line: a thin layer over the public functions.

Modules: ``_args`` (the parser class, :class:`UserError`, shared argument types and output
helpers), ``_main`` (the top-level parser and the exit-status policy), and one module per
command: ``_report``, ``_theory``, ``_derive``, ``_simulate`` (with ``_simulate_bn``,
``_simulate_mbn``, ``_simulate_regularizer``), ``_schedule``, ``_regularizer``, ``_bench``.

API
---
main(argv=None)   run ``bn-noise``; returns the exit status
build_parser()    the argparse parser of every command
UserError         an error in what the user asked for (one line, exit status 2)
"""

from ._args import UserError
from ._main import build_parser, main

__all__ = ["main", "build_parser", "UserError"]
