"""Render the app's screenshots to docs/*.png, offscreen (no display needed).

    .venv/bin/python scripts/screenshots.py [--work DIR] [--out docs]

Builds a demo library the way ``make run`` does (synthetic "toy character" pictures — never
real art — the shipped demo pack, a scan and a tagging run) in DIR (default: a temp folder;
reused when it is already built), then shows the real widgets on it and grabs them:
main window (grid, sidebar, inspector), review mode, the packs dialog on its thresholds tab,
the sidebar alone, and the welcome page of an empty library.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import shot_kit
from shot_kit import REPO, settle


def decide_some(lib) -> None:  # type: ignore[no-untyped-def]
    """Decisions on a third of the pictures (their folder names the character), so the
    thresholds panel has decisions to draw precision and recall against."""
    from sqlalchemy import text

    from animesion_desktop.core.review import build_queue, review_item

    with lib.read() as s:
        if s.execute(text("SELECT count(*) FROM labels")).scalar_one():
            return  # made on an earlier run
    for image_id in build_queue(lib)[::3]:
        item = review_item(lib, image_id)
        truth = "character:" + item.path.rsplit("/", 2)[-2]
        lib.set_label([image_id], truth, "accepted")
        for c in item.candidates:
            if c.tag != truth:
                lib.set_label([image_id], c.tag, "rejected")


def main(argv: list[str] | None = None) -> int:
    args = shot_kit.arguments(__doc__, "where the demo library is built (kept)",
                              "animesion-screenshots", argv)
    lib_path = shot_kit.build_library(args.work, ("--characters", "20", "--per-character", "8",
                                                  "--size", "192", "--image-seed", "2026"))

    from animesion_desktop.core.library import Library
    from animesion_desktop.ui.main_window import MainWindow

    app = shot_kit.application()
    args.out.mkdir(parents=True, exist_ok=True)
    saved = []

    def grab(widget, name: str) -> None:  # type: ignore[no-untyped-def]
        path = args.out / name
        widget.grab().save(str(path))
        saved.append(path)

    shot_kit.default_settings(args.work)
    with Library.open(lib_path) as lib:
        decide_some(lib)
        window = MainWindow(lib)
        window.resize(1400, 860)
        window.show()
        window.grid_controller.run_search("")
        settle(app, lambda: window.lanes.idle() and window.model.rowCount() > 0)
        window.grid.setCurrentIndex(window.model.index(2))
        window.grid.selectionModel().select(window.model.index(2),
                                            window.grid.selectionModel().SelectionFlag.Select)
        settle(app, lambda: window.lanes.idle() and len(window.model._thumbs) >= 20)
        settle(app, lambda: window.lanes.idle())
        grab(window, "screenshot.png")
        grab(window.sidebar, "sidebar.png")

        window.modes.show_review("")
        page = window.modes.review
        settle(app, lambda: page.controller.current is not None
               and page.canvas._pixmap is not None)
        grab(window, "review.png")
        page.set_queue("general")  # the second queue: general tags
        settle(app, lambda: page.controller.current is not None
               and page.canvas._pixmap is not None and window.lanes.idle())
        grab(window, "review_tags.png")
        page.set_queue("character")
        window.modes.show_grid()

        window.menus.open_packs()
        dialog = window.menus.packs_dialog
        assert dialog is not None
        dialog.resize(1000, 760)
        settle(app, lambda: dialog.model.rowCount() > 0 and dialog.thresholds.model.rowCount() > 0)
        dialog.tabs.setCurrentIndex(1)
        panel = dialog.thresholds
        panel.search.setText("")
        best = max(range(panel.model.rowCount()), key=lambda r: panel.model.rows[r].category
                   == "character" and panel.model.rows[r].images)
        panel.table.setCurrentIndex(panel.proxy.mapFromSource(panel.model.index(best, 0)))
        panel.table.scrollTo(panel.table.currentIndex())
        settle(app, lambda: dialog.thresholds._reads.pending == 0 and window.lanes.idle())
        grab(dialog, "packs.png")
        dialog.close()
        window.close()
        settle(app, lambda: window.lanes.idle())

    with tempfile.TemporaryDirectory() as empty, Library.open(Path(empty) / "lib.sqlite") as lib:
        window = MainWindow(lib)
        window.resize(1100, 700)
        window.show()
        settle(app, lambda: window.modes.mode == 2 and window.lanes.idle())
        grab(window, "welcome.png")
        window.close()
        settle(app, lambda: window.lanes.idle())

    for path in saved:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
