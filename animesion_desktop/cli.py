"""The ``animesion`` command: the app (default) and its command-line tools.

Each sub-command lives in ``animesion_desktop.commands.<name>`` and provides ``add_parser`` and
``run``. User errors (``core.errors.UserError``, raised by the core or a command) print one
clear line and exit 2; they never show a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from animesion_desktop.core.errors import UserError

# name -> module; a module missing here is a command that is not built yet.
COMMANDS = ("gui", "scan", "watch", "search", "tags", "label", "tag", "show", "packs",
            "export", "import_", "retrain", "similar", "duplicates", "clusters")

__all__ = ["COMMANDS", "UserError", "build_parser", "main"]  # UserError: for older imports


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="animesion",
        description="Index, recognize, tag and search a local anime art collection.",
    )
    parser.add_argument(
        "--library",
        metavar="PATH",
        help="library database to use (default: $ANIMESION_LIBRARY, else the user data folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"animesion_desktop.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"animesion_desktop.commands.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def _built() -> set[str]:
    return {
        name for name in COMMANDS
        if importlib.util.find_spec(f"animesion_desktop.commands.{name}") is not None
    }


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm() -> Any:
    """SIGTERM (a service manager, `kill`) stops a command the way Ctrl-C does: a scan or a
    tagging run commits what it has, `watch` stops watching. Not for the app: Qt's event loop
    would hold the signal back until some Python code runs; there the default (exit) is right.
    Returns the handler it replaced (None if it did not), for main() to put back."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # No command means the desktop app, once it exists; until then, the help.
        if "gui" not in _built():
            parser.print_help()
            return 0
        args = parser.parse_args([*(argv or sys.argv[1:]), "gui"])
    previous = _stop_on_sigterm() if args.command != "gui" else None
    try:
        return int(args.run(args) or 0)
    except UserError as exc:  # LibraryError, QueryError, TagError, ... from the core
        print(f"animesion: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("animesion: interrupted (what was done so far is saved)", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`animesion search ... | head`): stop quietly, as Unix tools
        # do, and keep Python from complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool its pipe closed on
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
