"""``bn-noise simulate``: Monte Carlo simulators, one sub-subcommand each."""

from __future__ import annotations

import importlib

#: modules of the ``simulate`` subcommands; each exposes ``add_parser(subparsers, common)``.
SIMULATE_COMMANDS = [
    "simulations._cli_simulate_bn",
    "simulations._cli_simulate_mbn",
    "simulations._cli_simulate_regularizer",
]


def add_parser(subparsers, common):
    from ._cli import CliParser

    parser = subparsers.add_parser(
        "simulate", help="Monte Carlo simulators (bn, mbn, regularizer)",
        description="Monte Carlo simulators compared with the closed forms.")
    sub = parser.add_subparsers(dest="simulator", metavar="SIMULATOR", parser_class=CliParser)
    sub.required = True
    for name in SIMULATE_COMMANDS:
        importlib.import_module(name).add_parser(sub, common)
    return parser
