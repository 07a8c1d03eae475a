"""Start the desktop app on a library."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from animesion_desktop.core.library import Library
from animesion_desktop.ui.main_window import MainWindow


def run(library_path: str | None, query: str = "") -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Animesion Desktop")
    lib = Library.open(library_path)
    try:
        window = MainWindow(lib)
        window.show()
        window.grid_controller.run_search(query)
        if window.prefs.settings.watching:
            window.watch.sync()
        if window.prefs.settings.rescan_on_start:
            window.jobs.scan_all()
        return int(app.exec())
    finally:
        lib.close()
