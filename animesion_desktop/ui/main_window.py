"""The main window: composes the search bar, grid, detail panel and status; holds no logic.

All threading goes through ``Lanes`` (reads, ordered writes, jobs); see ui/lanes.py.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library
from animesion_desktop.ui.detail_controller import DetailController
from animesion_desktop.ui.detail_panel import DetailPanel
from animesion_desktop.ui.grid_bar import GridBar
from animesion_desktop.ui.grid_controller import GridController
from animesion_desktop.ui.grid_view import GridView
from animesion_desktop.ui.image_model import PAGE, ImageListModel
from animesion_desktop.ui.job_status import JobStatus
from animesion_desktop.ui.jobs_controller import JobsController
from animesion_desktop.ui.label_controller import LabelController
from animesion_desktop.ui.lanes import Lanes
from animesion_desktop.ui.search_bar import SearchBar
from animesion_desktop.ui.watch_controller import WatchController
from animesion_desktop.ui.welcome import dropped_folders

THUMB = 160


class MainWindow(QMainWindow):
    def __init__(self, lib: Library, page_size: int = PAGE) -> None:
        super().__init__()
        self.lib = lib
        self.setWindowTitle(f"Animesion Desktop — {lib.location.db_path}")
        self.resize(1280, 800)
        self.setAcceptDrops(True)

        self.lanes = Lanes(self)
        self.model = ImageListModel(THUMB, self, page_size=page_size)
        self.grid_controller = GridController(lib, self.model, self.lanes.reads, self)
        self.labels = LabelController(lib, self.lanes.writes, self)
        self.jobs = JobsController(lib, self.lanes.jobs, self)
        self.watch = WatchController(lib, self.lanes.watch, self)

        self.search_bar = SearchBar()
        self.grid = GridView(self.model, THUMB)
        self.grid_bar = GridBar(self.grid_controller.order, THUMB)
        self.detail = DetailPanel()
        self.detail_controller = DetailController(lib, self.lanes.reads, self.detail, self._error,
                                                  self)
        self.job_status = JobStatus(self.lanes.jobs)
        self.count_label = QLabel()
        self._layout()
        self._actions()
        self._wire()
        self._part2()

    def _part2(self) -> None:
        # Issue 10's pages (review, welcome) and menus, composed around what is above.
        from animesion_desktop.ui.menus import install_menus
        from animesion_desktop.ui.modes import install_modes
        from animesion_desktop.ui.settings_dialog import WindowSettings
        from animesion_desktop.ui.sidebar import install_sidebar

        self.prefs = WindowSettings(self)
        self._grid_settings()
        self.sidebar = install_sidebar(self)
        self.prefs.apply(restore_layout=True)  # the splitter has the sidebar now
        self.modes = install_modes(self)
        self.menus = install_menus(self, self.modes)
        from animesion_desktop.ui.problems_dialog import install_problems

        self.problems = install_problems(self)

        from animesion_desktop.ui.similar_controller import install_similar  # issue 13

        self.similar = install_similar(self)

    # -- composition ------------------------------------------------------------------------
    def _layout(self) -> None:
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(self.search_bar)
        col.addWidget(self.grid_bar)
        col.addWidget(self.grid, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([860, 420])
        self.setCentralWidget(split)
        self.statusBar().addWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.job_status)

    def _actions(self) -> None:
        bar = QToolBar("Main")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.act_add = QAction("Add folder…", self)
        self.act_add.triggered.connect(self._add_folder)
        self.act_scan = QAction("Rescan", self)
        self.act_scan.triggered.connect(self.jobs.scan_all)
        self.act_tag = QAction("Tag new images", self)
        self.act_tag.triggered.connect(self.jobs.tag_new)
        stack = self.labels.stack
        self.act_undo = stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        focus = QAction("Search", self)
        focus.triggered.connect(self.search_bar.setFocus)
        focus.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(focus)
        for act in (self.act_add, self.act_scan, self.act_tag, self.act_undo, self.act_redo):
            bar.addAction(act)

    def _wire(self) -> None:
        self.search_bar.submitted.connect(self.grid_controller.run_search)
        self.search_bar.completions_wanted.connect(self._complete)
        self.grid_controller.searched.connect(self._on_searched)
        self.grid_controller.search_failed.connect(self._on_search_failed)
        self.grid_controller.refreshed.connect(self._show_selection)
        # A new query resets the grid, which clears the selection without selectionChanged:
        # the panel must not go on showing an image that is no longer selected.
        self.model.modelReset.connect(self._show_selection)
        self.grid.selectionModel().selectionChanged.connect(self._show_selection)
        self.grid.selectionModel().currentChanged.connect(self._show_selection)
        self.detail.label_requested.connect(
            lambda tags, state: self.labels.apply(self.selected_ids(), tags, state))
        self.labels.changed.connect(self._on_labels_changed)
        self.labels.failed.connect(self._error)
        self.jobs.finished.connect(self._on_job_finished)
        self.jobs.failed.connect(self._error)
        self.jobs.noted.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.watch.changed.connect(self._on_watch_changed)
        self.watch.new_images.connect(lambda _ids: self.jobs.tag_arrivals())
        self.watch.failed.connect(lambda m: self.statusBar().showMessage(m, 10000))

    def _grid_settings(self) -> None:
        # The sort and the thumbnail size are settings: restored here, saved with the rest.
        prefs = self.prefs
        self.grid_controller.set_order(prefs.settings.grid_order, search=False)
        self.grid_bar.show_order(prefs.settings.grid_order)

        def order(name: str) -> None:
            prefs.settings.grid_order = name
            self.grid_controller.set_order(name)

        def size(n: int) -> None:
            prefs.settings.thumbnail_size = n
            self.grid.set_thumbnail_size(n)

        self.grid_bar.order_changed.connect(order)
        self.grid_bar.thumbnail_size_changed.connect(size)

    # -- behaviour ---------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        return self.grid.selected_ids()

    def select_all(self) -> None:
        """Select every image of the result, loading the ids not scrolled to yet first."""
        def select() -> None:
            n = self.model.rowCount()
            self.grid.select_rows(0, n - 1)
            self.statusBar().showMessage(f"{n:,} images selected", 5000)

        self.grid_controller.load_rest(select)

    def _show_selection(self) -> None:
        self.detail_controller.show(self.selected_ids(), self.grid.current_id())

    def _complete(self, token: str) -> None:
        from animesion_desktop.core.search.autocomplete import tag_completions

        lib = self.lib
        self.lanes.reads.run("complete", lambda: tag_completions(lib, token, limit=15),
                             lambda items: self.search_bar.set_completions(token, items))

    def _on_searched(self, query: str, total: int, kind: str) -> None:
        self.search_bar.show_error(None)
        if kind == "files":
            self.count_label.setText(
                f"{total:,} unreadable files (listed in Library ▸ Unreadable and missing files)")
            return
        self.count_label.setText(f"{total:,} images" + (f" match {query}" if query else ""))

    def _on_search_failed(self, message: str) -> None:
        self.search_bar.show_error(message)
        self.count_label.setText(message.splitlines()[-1] if message else "search failed")

    def _on_labels_changed(self, image_ids: list[int], what: str) -> None:
        if what:
            self.statusBar().showMessage(what, 5000)
        self.model.invalidate_rows(image_ids)
        self._show_selection()

    def _on_job_finished(self, summary: str) -> None:
        self.statusBar().showMessage(summary, 10000)
        self.grid_controller.refresh()
        self.watch.sync()  # restarts only if the job changed the roots

    def _on_watch_changed(self, summary: str) -> None:
        self.statusBar().showMessage(summary, 10000)
        self.grid_controller.refresh()

    # A folder dropped anywhere on the window is added, as on the welcome page.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_folders(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for folder in dropped_folders(event):
            self.jobs.scan_folder(folder)
        event.acceptProposedAction()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.watch.stop()
        self.lanes.shut_down()
        super().closeEvent(event)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.jobs.scan_folder(folder)

    def _error(self, message: str) -> None:
        QMessageBox.warning(self, "Animesion Desktop", message)
