"""Render the Export, Import and Train dialogs to docs/{export,import,train}_dialog.png, offscreen.

    .venv/bin/python scripts/screenshots_exchange.py [--work DIR] [--out docs]

A small synthetic collection ("toy characters", never real art: `animesion-train synthetic`)
is scanned and its folders imported as characters through the Import dialog; then the Export
dialog previews an `ours` export and the Train dialog runs a real, tiny training (a shallow
model at 32 px for a few epochs, so it takes seconds on a CPU) — each grabbed with its summary.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import shot_kit
from shot_kit import BIN

TINY = ("--model", "shallow", "--image-size", "32", "--resize-margin", "4", "--batch-size", "16",
        "--workers", "0", "--log-every", "0", "--epochs", "4", "--seed", "0")


def settle(app, until, seconds: float = 300) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while not until() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str] | None = None) -> int:
    args = shot_kit.arguments(__doc__, "where the small library is built (replaced)",
                              "animesion-exchange-shots", argv)
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    pictures = work / "pictures"
    shot_kit.run(str(BIN / "animesion-train"), "synthetic", "--out", str(pictures),
                 "--characters", "4", "--per-character", "10", "--size", "48")
    (pictures / "labels.csv").unlink(missing_ok=True)  # the folders are what is imported

    from PySide6.QtWidgets import QApplication

    from animesion_desktop.core.library import Library
    from animesion_desktop.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    with Library.open(work / "library.sqlite") as lib:
        window = MainWindow(lib)
        window.show()
        window.jobs.scan_folder(str(pictures))
        settle(app, window.lanes.idle)

        imp = window.menus.exchange.open_import()
        imp.format.setCurrentIndex(imp.format.findData("folders"))
        imp.src.setText(str(pictures / "images"))  # images/<character>/
        imp.start(dry_run=False)
        settle(app, lambda: not imp.running)
        imp.grab().save(str(args.out / "import_dialog.png"))
        imp.close()

        window.grid_controller.run_search("character:*")
        settle(app, window.lanes.idle)
        exp = window.menus.exchange.open_export()
        exp.format.setCurrentIndex(exp.format.findData("ours"))
        os.environ["HOME"] = "/home/you"  # a dry run only: the picture shows no real home
        exp.dest.setText("~/exports/my-characters")
        exp.min_per_class.setValue(3)
        exp.start(dry_run=True)
        settle(app, lambda: not exp.running)
        exp.grab().save(str(args.out / "export_dialog.png"))
        exp.close()

        train = window.menus.exchange.open_train()
        train.options_base.train_args = TINY
        train.minutes.setValue(1)
        train.retag.setChecked(False)
        train.start()
        settle(app, lambda: not train.running)
        train.grab().save(str(args.out / "train_dialog.png"))
        train.close()
        window.close()
        settle(app, window.lanes.idle, 30)
    for name in ("import_dialog.png", "export_dialog.png", "train_dialog.png"):
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
