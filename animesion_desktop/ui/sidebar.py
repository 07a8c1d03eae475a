"""The left sidebar: folders (roots as trees with counts), tags by category, saved searches.

Clicking a folder searches ``path:`` under it; clicking a tag adds it to the query, Ctrl-click
adds it negated; a saved search replaces the query. The sidebar reads on the read lane and
only emits requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core import sidebar as core
from animesion_desktop.core.library import Library
from animesion_desktop.core.views import tag_text
from animesion_desktop.ui.lanes import ReadLane

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow

QUERY_ROLE = Qt.ItemDataRole.UserRole
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


class Sidebar(QWidget):
    query_requested = Signal(str)  # replace the query
    term_requested = Signal(str)  # add a term ("-tag" to exclude)
    add_folder_requested = Signal()
    rescan_requested = Signal(str)  # a root's path
    saved_changed = Signal(list)  # the saved searches, to persist

    def __init__(self, lib: Library, reads: ReadLane, saved: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lib, self.reads = lib, reads
        self.folders = QTreeWidget()
        self.folders.setHeaderLabels(["Folders", "Images"])
        self._columns(self.folders)
        self.folders.itemClicked.connect(self._folder_clicked)
        self.tags = QTreeWidget()
        self.tags.setHeaderLabels(["Tags", "Images"])
        self._columns(self.tags)
        self.tags.itemClicked.connect(self._tag_clicked)
        self.saved = QListWidget()
        self.saved.itemClicked.connect(lambda item: self.query_requested.emit(item.text()))
        for q in saved:
            self.saved.addItem(q)
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self.add_folder_requested)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("Rescan the selected folder's root")
        self.rescan_button.clicked.connect(self._rescan)
        self.save_button = QPushButton("Save current search")
        self.forget_button = QPushButton("Forget")
        self.forget_button.clicked.connect(self._forget)
        self.current_query = ""
        self.save_button.clicked.connect(lambda: self.save_search(self.current_query))
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("sidebar")
        split.addWidget(self._with(self.folders, self.add_button, self.rescan_button))
        split.addWidget(self.tags)
        split.addWidget(self._with(self.saved, self.save_button, self.forget_button))
        split.setSizes([220, 360, 140])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 0, 4)
        layout.addWidget(split)

    @staticmethod
    def _columns(tree: QTreeWidget) -> None:
        header = tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)

    @staticmethod
    def _with(view: QWidget, *buttons: QPushButton) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(view, 1)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        col.addLayout(row)
        return box

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        lib = self.lib

        def read() -> tuple[list[core.FolderNode], dict[str, list[tuple[str, int]]]]:
            return core.folder_trees(lib), core.tags_by_category(lib)

        self.reads.run("sidebar", read, self._show)

    def _show(self, result: tuple[list[core.FolderNode], dict[str, list[tuple[str, int]]]]
              ) -> None:
        trees, tags = result
        self.folders.clear()
        for tree in trees:
            item = self._folder_item(tree)
            self.folders.addTopLevelItem(item)
            item.setExpanded(True)
        self.tags.clear()
        for category, rows in tags.items():
            top = QTreeWidgetItem([category, ""])
            top.setFlags(top.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            for name, n in rows:
                child = QTreeWidgetItem([name, f"{n:,}"])
                child.setData(0, QUERY_ROLE, tag_text(category, name))
                child.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                top.addChild(child)
            self.tags.addTopLevelItem(top)
            top.setExpanded(category in ("character", "general"))

    def _folder_item(self, node: core.FolderNode) -> QTreeWidgetItem:
        item = QTreeWidgetItem([node.name, f"{node.count:,}"])
        item.setData(0, QUERY_ROLE, node.query())
        item.setData(0, PATH_ROLE, node.path)
        item.setToolTip(0, node.path)
        item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
        for name in sorted(node.children, key=str.lower):
            item.addChild(self._folder_item(node.children[name]))
        return item

    # -- requests -----------------------------------------------------------------------------
    def _folder_clicked(self, item: QTreeWidgetItem) -> None:
        self.query_requested.emit(item.data(0, QUERY_ROLE))

    def _tag_clicked(self, item: QTreeWidgetItem) -> None:
        term = item.data(0, QUERY_ROLE)
        if not term:
            return
        ctrl = QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier
        self.term_requested.emit(f"-{term}" if ctrl else term)

    def _rescan(self) -> None:
        item = self.folders.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        if item is not None:
            self.rescan_requested.emit(item.data(0, PATH_ROLE))

    def save_search(self, query: str) -> None:
        query = query.strip()
        existing = [self.saved.item(i).text() for i in range(self.saved.count())]
        if query and query not in existing:
            self.saved.addItem(QListWidgetItem(query))
            self.saved_changed.emit(existing + [query])

    def _forget(self) -> None:
        row = self.saved.currentRow()
        if row >= 0:
            self.saved.takeItem(row)
            self.saved_changed.emit([self.saved.item(i).text() for i in range(self.saved.count())])


def install_sidebar(window: MainWindow) -> Sidebar:
    """Put the sidebar left of the grid and wire its requests to the search and the jobs."""
    prefs = window.prefs
    bar = Sidebar(window.lib, window.lanes.reads, list(prefs.settings.saved_searches))
    split = window.centralWidget()
    assert isinstance(split, QSplitter), "the grid page is a splitter"
    split.insertWidget(0, bar)
    split.setStretchFactor(0, 0)
    split.setSizes([240, 780, 360])

    def search(query: str) -> None:
        window.search_bar.setText(query)
        window.grid_controller.run_search(query)

    def add_term(term: str) -> None:
        search(f"{window.search_bar.text().strip()} {term}".strip())

    def saved(queries: list[str]) -> None:
        prefs.settings.saved_searches = queries
        prefs.save()

    def searched(query: str, _total: int, _kind: str) -> None:
        bar.current_query = query

    bar.query_requested.connect(search)
    bar.term_requested.connect(add_term)
    bar.add_folder_requested.connect(window._add_folder)
    bar.rescan_requested.connect(window.jobs.scan_folder)
    bar.saved_changed.connect(saved)
    window.grid_controller.searched.connect(searched)
    # Counts follow labels, jobs and the watcher, at most once a second.
    later = QTimer(bar, singleShot=True, interval=1000)
    later.timeout.connect(bar.refresh)
    window.labels.changed.connect(lambda *_a: later.start())
    window.jobs.finished.connect(lambda *_a: bar.refresh())
    window.watch.changed.connect(lambda *_a: later.start())
    bar.refresh()
    return bar
