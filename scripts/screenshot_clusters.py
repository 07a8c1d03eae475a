"""Render docs/clusters.png: the Clusters view, opened from the window, offscreen.

    .venv/bin/python scripts/screenshot_clusters.py [--work DIR] [--out docs]

Synthetic "toy characters" the demo pack never saw (another character seed; never real art),
the shipped demo pack, a scan, a tagging run and the pack's (wrong) guesses rejected, in DIR (default: a temp folder; reused when it
is already built). Then the window opens View ▸ Clusters, finds the clusters (the view's own
button, a job) and names two images of the first one, as a user would.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def build(work: Path) -> Path:
    lib = work / "library.sqlite"
    if (work / ".ready").exists():
        return lib
    animesion = [str(BIN / "animesion"), "--library", str(lib)]
    run(str(BIN / "animesion-train"), "synthetic", "--out", str(work / "pictures"),
        "--characters", "6", "--per-character", "7", "--size", "192", "--seed", "13",
        "--image-seed", "2026")
    run(*animesion, "packs", "install", str(REPO / "resources" / "packs" / "demo"), "--replace")
    run(*animesion, "scan", str(work / "pictures"))
    run(*animesion, "tag")
    none_of_these(lib)
    (work / ".ready").touch()
    return lib


def none_of_these(path: Path) -> None:
    """The pack was never shown these characters but guesses one anyway: reject its guesses,
    as "None of these" (N) in review does, so they count as unknown."""
    from animesion_desktop.core.library import Library

    with Library.open(path) as lib:
        for image_id in range(1, lib.image_count() + 1):
            for category, name in lib.effective_tags(image_id):
                if category == "character":
                    lib.set_label([image_id], f"character:{name}", "rejected")


def settle(app, until=lambda: True, rounds: int = 1000) -> None:  # type: ignore[no-untyped-def]
    import time

    for _ in range(rounds):
        app.processEvents()
        if until():
            break
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="where the library is built (kept)")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.gettempdir()) / "animesion-clusters-shot"
    work.mkdir(parents=True, exist_ok=True)
    lib_path = build(work)

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from animesion_desktop.core.library import Library
    from animesion_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Animesion Desktop")
    for f in (work / "library.d" / "config").glob("settings.json"):
        f.unlink()
    with Library.open(lib_path) as lib:
        window = MainWindow(lib)
        window.resize(1400, 860)
        window.show()
        window.grid_controller.run_search("")
        settle(app, window.lanes.idle)
        window.similar.act_clusters.trigger()
        view = window.similar.clusters_view
        assert view is not None
        view.resize(1000, 640)
        view.recluster_button.click()
        settle(app, lambda: window.lanes.idle() and bool(view.rows))
        first = view.rows[0]
        for i in range(min(2, first.thumbs.count())):
            first.thumbs.item(i).setSelected(True)
        first.name_edit.setText("hikari_oc")
        first.name_button.click()
        settle(app, lambda: window.lanes.idle() and "named" in first.title.text())
        first.thumbs.clearSelection()
        view.rows[1].name_edit.setText("ren")
        view.rows[1].name_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        settle(app)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "clusters.png"
        view.grab().save(str(path))
        print(path)
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
