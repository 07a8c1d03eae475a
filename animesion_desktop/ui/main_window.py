"""The main window: composes the search bar, grid, detail panel and status; holds no logic."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QListView,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.ui.detail_panel import DetailPanel
from animesion_desktop.ui.grid_controller import GridController
from animesion_desktop.ui.image_model import IMAGE_ID_ROLE, ImageListModel
from animesion_desktop.ui.job_status import JobStatus
from animesion_desktop.ui.jobs_controller import JobsController
from animesion_desktop.ui.label_controller import LabelController
from animesion_desktop.ui.search_bar import SearchBar
from animesion_desktop.ui.watch_controller import WatchController
from animesion_desktop.ui.workers import TaskRunner

THUMB = 160


class MainWindow(QMainWindow):
    def __init__(self, lib: Library) -> None:
        super().__init__()
        self.lib = lib
        self.setWindowTitle(f"Animesion Desktop — {lib.location.db_path}")
        self.resize(1280, 800)

        self.model = ImageListModel(THUMB, self)
        self.grid_controller = GridController(lib, self.model, self)
        self.labels = LabelController(lib, self)
        self.jobs = JobsController(lib, self)
        self.watch = WatchController(lib, self)
        self._reads = TaskRunner(parent=self)

        self.search_bar = SearchBar()
        self.grid = self._make_grid()
        self.detail = DetailPanel()
        self.job_status = JobStatus(self.jobs.runner)
        self.count_label = QLabel()
        self._layout()
        self._actions()
        self._wire()

    # -- composition ------------------------------------------------------------------------
    def _make_grid(self) -> QListView:
        grid = QListView()
        grid.setViewMode(QListView.ViewMode.IconMode)
        grid.setIconSize(QSize(THUMB, THUMB))
        grid.setGridSize(QSize(THUMB + 24, THUMB + 36))
        grid.setResizeMode(QListView.ResizeMode.Adjust)
        grid.setUniformItemSizes(True)
        grid.setLayoutMode(QListView.LayoutMode.Batched)
        grid.setMovement(QListView.Movement.Static)
        grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        grid.setModel(self.model)
        return grid

    def _layout(self) -> None:
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(4, 4, 4, 4)
        col.addWidget(self.search_bar)
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
        self.act_undo = QAction("Undo", self, enabled=False)
        self.act_undo.triggered.connect(self.labels.undo)
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        focus = QAction("Search", self)
        focus.triggered.connect(self.search_bar.setFocus)
        focus.setShortcut(QKeySequence.StandardKey.Find)
        self.addAction(focus)
        for act in (self.act_add, self.act_scan, self.act_tag, self.act_undo):
            bar.addAction(act)

    def _wire(self) -> None:
        self.search_bar.submitted.connect(self.grid_controller.run_search)
        self.search_bar.completions_wanted.connect(self._complete)
        self.grid_controller.searched.connect(self._on_searched)
        self.grid_controller.search_failed.connect(self._on_search_failed)
        self.grid.selectionModel().selectionChanged.connect(self._show_selection)
        self.detail.label_requested.connect(
            lambda tag, state: self.labels.apply(self.selected_ids(), tag, state))
        self.labels.changed.connect(self._on_labels_changed)
        self.labels.failed.connect(self._error)
        self.labels.can_undo_changed.connect(self.act_undo.setEnabled)
        self.jobs.finished.connect(self._on_job_finished)
        self.jobs.failed.connect(self._error)
        self.jobs.noted.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.watch.changed.connect(self._on_watch_changed)
        self.watch.new_images.connect(lambda _ids: self.jobs.tag_arrivals())
        self.watch.failed.connect(lambda m: self.statusBar().showMessage(m, 10000))
        self.jobs.runner.busy_changed.connect(self._on_busy_changed)

    # -- behaviour ---------------------------------------------------------------------------
    def _on_busy_changed(self, busy: bool) -> None:
        for act in (self.act_scan, self.act_tag):
            act.setEnabled(not busy)

    def selected_ids(self) -> list[int]:
        return [i.data(IMAGE_ID_ROLE) for i in self.grid.selectionModel().selectedIndexes()]

    def _show_selection(self) -> None:
        ids = self.selected_ids()
        current = self.grid.currentIndex()
        focus = current.data(IMAGE_ID_ROLE) if current.isValid() else (ids[0] if ids else None)
        if focus is None:
            self.detail.show_detail(None, 0)
            return
        lib, n = self.lib, len(ids)

        def shown(detail: views.ImageDetail | None) -> None:
            self.detail.show_detail(detail, n)
            if detail is not None:
                path = views.thumbnail_file(lib, detail.hash)
                self._reads.run(lambda: QImage(path), self.detail.show_preview)

        self._reads.run(lambda: views.image_detail(lib, focus), shown, self._error)

    def _complete(self, token: str) -> None:
        from animesion_desktop.core.search.autocomplete import tag_completions

        lib = self.lib
        self._reads.run(lambda: tag_completions(lib, token, limit=15),
                        lambda items: self.search_bar.set_completions(token, items))

    def _on_searched(self, query: str, total: int, kind: str) -> None:
        self.search_bar.show_error(None)
        if kind == "files":
            self.count_label.setText(
                f"{total:,} unreadable files (run `animesion search \"{query}\"` to list them)")
            return
        self.count_label.setText(f"{total:,} images" + (f" match {query}" if query else ""))

    def _on_search_failed(self, message: str) -> None:
        self.search_bar.show_error(message)
        self.count_label.setText(message.splitlines()[-1] if message else "search failed")

    def _on_labels_changed(self, image_ids: list[int], what: str) -> None:
        self.statusBar().showMessage(what, 5000)
        self.model.forget_rows(image_ids)
        self._show_selection()

    def _on_job_finished(self, summary: str) -> None:
        self.statusBar().showMessage(summary, 10000)
        self.grid_controller.refresh()
        self.watch.restart()  # a scan may have added a root

    def _on_watch_changed(self, summary: str) -> None:
        self.statusBar().showMessage(summary, 10000)
        self.grid_controller.refresh()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.jobs.runner.cancel()
        self.watch.stop()
        super().closeEvent(event)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library")
        if folder:
            self.jobs.scan_folder(folder)

    def _error(self, message: str) -> None:
        QMessageBox.warning(self, "Animesion Desktop", message)
