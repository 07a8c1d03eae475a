"""``animesion gui``: the desktop app (also what ``animesion`` alone starts)."""

from __future__ import annotations

import argparse

from animesion_desktop.commands.qt_check import xcb_problem
from animesion_desktop.core.errors import UserError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="start the desktop app (the default)")
    p.add_argument("query", nargs="?", default="", help="search to show first")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    problem = xcb_problem()
    if problem is not None:  # before Qt aborts with a message that names no fix
        raise UserError(problem)
    from animesion_desktop.ui.app import run as run_app  # Qt only loads for the GUI

    return run_app(args.library, args.query)
