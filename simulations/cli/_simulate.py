"""``bn-noise simulate``: Monte Carlo simulators, one sub-subcommand each."""

from __future__ import annotations

from . import _simulate_bn, _simulate_mbn, _simulate_regularizer
from ._args import CliParser

__all__ = ["add_parser"]

#: the ``simulate`` subcommands; each exposes ``add_parser(subparsers, common)``.
SIMULATE_COMMANDS = (_simulate_bn, _simulate_mbn, _simulate_regularizer)


def add_parser(subparsers, common):
    parser = subparsers.add_parser(
        "simulate", help="Monte Carlo simulators (bn, mbn, regularizer)",
        description="Monte Carlo simulators compared with the closed forms.")
    sub = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", parser_class=CliParser)
    sub.required = True
    for module in SIMULATE_COMMANDS:
        module.add_parser(sub, common)
    return parser
