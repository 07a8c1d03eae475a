"""The window's pages: the grid, review mode and (for an empty library) the welcome page.

``install_modes(window)`` wraps the window's central widget in a stack, shares the window's
write lane and undo stack with review mode, and shows the welcome page while the library has
no images (counted on the read lane after start-up and after every job).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QStackedWidget

from animesion_desktop.ui.review.controller import ReviewController
from animesion_desktop.ui.review.page import ReviewPage
from animesion_desktop.ui.welcome import WelcomePage

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow

GRID, REVIEW, WELCOME = 0, 1, 2


class Modes(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.stack = QStackedWidget()
        grid_page = window.takeCentralWidget()
        assert grid_page is not None, "install_modes runs after the window laid itself out"
        controller = ReviewController(window.lib, window.lanes.writes, window.labels.stack,
                                      parent=window, reads=window.lanes.reads)
        self.review = ReviewPage(window.lib, controller, own_undo_shortcut=False)
        self.welcome = WelcomePage()
        for page in (grid_page, self.review, self.welcome):
            self.stack.addWidget(page)
        window.setCentralWidget(self.stack)
        self.review.closed.connect(self.show_grid)
        controller.written.connect(lambda what: window.statusBar().showMessage(what, 3000))
        # The grid is hidden while reviewing: it catches up once, when it is shown again.
        self._grid_stale = False
        controller.written.connect(self._mark_stale)
        self.welcome.add_folder_requested.connect(window._add_folder)
        self.welcome.folder_dropped.connect(window.jobs.scan_folder)
        self.welcome.demo_requested.connect(open_library_window)
        window.jobs.finished.connect(lambda _s: self.check_empty())
        from animesion_desktop.ui.viewer import install_viewer

        # The full-size viewer, opened from the grid and the inspector (Space, double-click).
        self.viewer = install_viewer(window)

    @property
    def mode(self) -> int:
        return self.stack.currentIndex()

    def _mark_stale(self, _what: str) -> None:
        self._grid_stale = True

    def show_grid(self) -> None:
        if self._grid_stale:
            self._grid_stale = False
            self.window.grid_controller.refresh()
        self.stack.setCurrentIndex(GRID)
        self.window.grid.setFocus()

    def show_review(self, query: str | None = None, queue: str | None = None) -> None:
        """Review mode on the grid's current query (or ``query``), in ``queue`` (character or
        general; None keeps the one last shown)."""
        if query is None:
            query = self.window.grid_controller.query
        self.review.filter.setText(query)
        if queue is not None:
            tabs = self.review.queues
            tabs.blockSignals(True)  # one reopen, below
            self.review.set_queue(queue)
            tabs.blockSignals(False)
        self.stack.setCurrentIndex(REVIEW)
        self.review.reopen()

    def check_empty(self) -> None:
        lib = self.window.lib

        def counted(n: int) -> None:
            if n == 0:
                self.stack.setCurrentIndex(WELCOME)
            elif self.mode == WELCOME:
                self.show_grid()

        self.window.lanes.reads.run("image-count", lib.image_count, counted)


def open_library_window(path: str) -> bool:
    """The app on another library, in a process of its own (one library per window)."""
    import sys

    from PySide6.QtCore import QProcess

    ok, _pid = QProcess.startDetached(sys.executable, ["-m", "animesion_desktop", "--library",
                                                       path, "gui"])
    return bool(ok)


def install_modes(window: MainWindow) -> Modes:
    modes = Modes(window)
    modes.check_empty()
    return modes
