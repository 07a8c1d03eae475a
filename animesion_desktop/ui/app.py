"""Start the desktop app on a library."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from animesion_desktop.core.library import Library
from animesion_desktop.ui.main_window import MainWindow
from animesion_desktop.ui.sidebar import after_first_page


def steady_gc(window: MainWindow) -> None:
    """Once the first page is shown: full garbage collections only while the window is idle
    (ui/idle_gc.py), never in the middle of a scroll or a review."""
    from animesion_desktop.ui.idle_gc import IdleCollector

    activity = [window.grid.painted, window.grid.verticalScrollBar().valueChanged]
    reads = window.lanes.reads
    window.idle_gc = IdleCollector(  # type: ignore[attr-defined]
        activity, window, busy=lambda: reads.pending > 0)


def run(library_path: str | None, query: str = "") -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Animesion Desktop")
    lib = Library.open(library_path)
    try:
        window = MainWindow(lib)
        window.show()
        window.grid_controller.run_search(query)
        # benchmarks/bench_gui.py starts the window the same way
        after_first_page(window, lambda: steady_gc(window))
        if window.prefs.settings.watching:
            window.watch.sync()
        if window.prefs.settings.rescan_on_start:
            window.jobs.scan_all()
        return int(app.exec())
    finally:
        lib.close()
