"""What the screenshot scripts share: their command line, the library they build and wait on.

Imported by name (``import shot_kit``): a script run as ``python scripts/X.py`` has scripts/ on
its sys.path.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def arguments(doc: str, work_help: str, default_work: str,
              argv: list[str] | None = None) -> argparse.Namespace:
    """``--work DIR`` (default: ``default_work`` in the temp folder) and ``--out`` (docs/)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--work", type=Path, help=work_help)
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    args.work = args.work or Path(tempfile.gettempdir()) / default_work
    return args


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def build_library(work: Path, synthetic: Sequence[str],
                  then: Callable[[Path], None] | None = None) -> Path:
    """A library as ``make run`` builds one, in ``work`` (reused when it is already built):
    ``animesion-train synthetic`` pictures with these options (toy characters, never real
    art), the shipped demo pack, a scan and a tagging run; ``then(library path)`` last."""
    work.mkdir(parents=True, exist_ok=True)
    lib = work / "library.sqlite"
    if (work / ".ready").exists():
        return lib
    animesion = [str(BIN / "animesion"), "--library", str(lib)]
    run(str(BIN / "animesion-train"), "synthetic", "--out", str(work / "pictures"), *synthetic)
    run(*animesion, "packs", "install", str(REPO / "resources" / "packs" / "demo"), "--replace")
    run(*animesion, "scan", str(work / "pictures"))
    run(*animesion, "tag")
    if then is not None:
        then(lib)
    (work / ".ready").touch()
    return lib


def application():  # type: ignore[no-untyped-def]
    """The QApplication, named as the app names itself."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Animesion Desktop")
    return app


def default_settings(work: Path) -> None:
    """Settings of the screenshot library only: start from the defaults every time."""
    for f in (work / "library.d" / "config").glob("settings.json"):
        f.unlink()


def settle(app, until=lambda: True, rounds: int = 400) -> None:  # type: ignore[no-untyped-def]
    """Let workers answer and the widgets paint (bounded: a screenshot is not a test)."""
    import time

    for _ in range(rounds):
        app.processEvents()
        if until():
            break
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
