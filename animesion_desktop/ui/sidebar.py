"""The left sidebar: folders (roots as trees with counts), tags by category, saved searches.

Clicking a folder searches ``path:`` under it; clicking a tag adds it to the query, Ctrl-click
adds it negated; a saved search replaces the query. The sidebar reads on the read lane and
emits requests; the one write it makes itself, removing a root, asks first with what the removal
drops (core/roots.py) and runs on the ordered write lane.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core import sidebar as core
from animesion_desktop.core.library import Library
from animesion_desktop.core.roots import RootRemoval, plural, removal_plan, remove_root
from animesion_desktop.core.views import tag_text
from animesion_desktop.ui.lanes import OrderedLane, ReadLane

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow

QUERY_ROLE = Qt.ItemDataRole.UserRole
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
ROOT_ROLE = Qt.ItemDataRole.UserRole + 2


def removal_question(plan: RootRemoval) -> str:
    text = (f"Remove {plan.path} from the library?\n\nIts {plural(plan.files, 'file')} are "
            "forgotten; nothing on disk is touched. "
            f"{plural(plan.images, 'image')} shown only by this folder leave the library with "
            "their predictions.")
    if plan.labelled:
        verb = "carries" if plan.labelled == 1 else "carry"
        text += (f"\n\n{plan.labelled:,} of them {verb} decisions ({plural(plan.labels, 'label')}"
                 ", yours or imported). Those images are kept with their labels, so adding the "
                 "folder again brings them back, unless you tick the box below.")
    return text


class Sidebar(QWidget):
    query_requested = Signal(str)  # replace the query
    term_requested = Signal(str)  # add a term ("-tag" to exclude)
    add_folder_requested = Signal()
    rescan_requested = Signal(str)  # a root's path
    saved_changed = Signal(list)  # the saved searches, to persist
    root_removed = Signal(str)  # a one-line summary of what went

    def __init__(self, lib: Library, reads: ReadLane, saved: list[str],
                 parent: QWidget | None = None, writes: OrderedLane | None = None) -> None:
        super().__init__(parent)
        self.lib, self.reads, self.writes = lib, reads, writes
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
        self.add_button = self._tool_button("Add…")
        self.add_button.clicked.connect(self.add_folder_requested)
        self.rescan_button = self._tool_button("Rescan")
        self.rescan_button.setToolTip("Rescan the selected folder's root")
        self.rescan_button.clicked.connect(self._rescan)
        self.remove_button = self._tool_button("Remove…")
        self.remove_button.setToolTip("Remove the selected folder's root from the library "
                                      "(asks first; nothing on disk is touched)")
        self.remove_button.clicked.connect(self.ask_remove)
        self.remove_button.setEnabled(writes is not None)
        self.question: QMessageBox | None = None
        self.drop_labelled: QCheckBox | None = None
        self.save_button = QPushButton("Save current search")
        self.forget_button = QPushButton("Forget")
        self.forget_button.clicked.connect(self._forget)
        self.current_query = ""
        self.save_button.clicked.connect(lambda: self.save_search(self.current_query))
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("sidebar")
        split.addWidget(self._with(self.folders, self.add_button, self.rescan_button,
                                 self.remove_button))
        split.addWidget(self.tags)
        title = QLabel("Saved searches")
        title.setStyleSheet("font-weight: bold;")
        saved_box = self._with(self.saved, self.save_button, self.forget_button, title=title)
        self.saved.setToolTip("Click one to run it; “Save current search” adds the query shown")
        split.addWidget(saved_box)
        split.setSizes([170, 400, 150])
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
    def _tool_button(text: str) -> QToolButton:
        # Tool buttons are narrower than push buttons: three fit a narrow sidebar.
        button = QToolButton()
        button.setText(text)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return button

    @staticmethod
    def _with(view: QWidget, *buttons: QAbstractButton, title: QLabel | None = None) -> QWidget:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        if title is not None:
            col.addWidget(title)
        col.addWidget(view, 1)
        row = QHBoxLayout()
        for b in buttons:
            row.addWidget(b)
        col.addLayout(row)
        return box

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Folders and tags (after scans, jobs, the watcher, a root's removal)."""
        lib = self.lib
        self.reads.run("sidebar-folders", lambda: core.folder_trees(lib), self._show_folders)
        self.refresh_tags()

    def refresh_tags(self) -> None:
        """Tag counts only: what a label decision can change (folder counts cannot)."""
        lib = self.lib
        self.reads.run("sidebar-tags", lambda: core.tags_by_category(lib), self._show_tags)

    def _show_folders(self, trees: list[core.FolderNode]) -> None:
        self.folders.clear()
        for tree in trees:
            item = self._folder_item(tree)
            self.folders.addTopLevelItem(item)
            item.setExpanded(True)

    def _show_tags(self, tags: dict[str, list[tuple[str, int]]]) -> None:
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
        item.setData(0, ROOT_ROLE, node.root_id)
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

    def _current_root(self) -> QTreeWidgetItem | None:
        item = self.folders.currentItem()
        while item is not None and item.parent() is not None:
            item = item.parent()
        return item

    def _rescan(self) -> None:
        item = self._current_root()
        if item is not None:
            self.rescan_requested.emit(item.data(0, PATH_ROLE))

    def ask_remove(self) -> None:
        """Count what removing the selected root drops, then ask (see removal_question)."""
        item = self._current_root()
        if item is None or self.writes is None:
            return
        lib, root_id = self.lib, int(item.data(0, ROOT_ROLE))
        self.reads.run("root-plan", lambda: removal_plan(lib, root_id),
                       lambda plan: self._ask(root_id, plan))

    def _ask(self, root_id: int, plan: RootRemoval) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Remove a folder", removal_question(plan),
                          QMessageBox.StandardButton.Cancel, self)
        remove = box.addButton("Remove", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        # Held here: the binding does not hand the check box's ownership to the box.
        self.drop_labelled = QCheckBox(f"Also drop those {plural(plan.labels, 'decision')}",
                                       box) if plan.labelled else None
        if self.drop_labelled is not None:
            box.setCheckBox(self.drop_labelled)

        def answered(button: object) -> None:
            if button is remove:
                drop = self.drop_labelled is not None and self.drop_labelled.isChecked()
                self._remove(root_id, keep_labelled=not drop)

        box.buttonClicked.connect(answered)
        self.question = box
        box.open()

    def _remove(self, root_id: int, keep_labelled: bool) -> None:
        assert self.writes is not None
        lib = self.lib
        self.writes.run(lambda: remove_root(lib, root_id, keep_labelled),
                        lambda done: self.root_removed.emit(done.line(keep_labelled)))

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
    bar = Sidebar(window.lib, window.lanes.reads, list(prefs.settings.saved_searches),
                  writes=window.lanes.writes)
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

    def removed(line: str) -> None:
        window.statusBar().showMessage(line, 15000)
        bar.refresh()
        window.grid_controller.refresh()
        window.watch.sync()  # restarts only if the roots changed
        modes = getattr(window, "modes", None)  # installed after the sidebar
        if modes is not None:
            modes.check_empty()

    bar.root_removed.connect(removed)
    window.grid_controller.searched.connect(searched)
    # Counts follow jobs and the watcher (folders and tags) and labels (tags), at most once a
    # second.
    later = QTimer(bar, singleShot=True, interval=1000)
    later.timeout.connect(bar.refresh)
    later_tags = QTimer(bar, singleShot=True, interval=1000)
    later_tags.timeout.connect(bar.refresh_tags)
    window.labels.changed.connect(lambda *_a: later_tags.start())
    window.jobs.finished.connect(lambda *_a: bar.refresh())
    window.watch.changed.connect(lambda *_a: later.start())
    after_first_page(window, bar.refresh)
    return bar


def after_first_page(window: MainWindow, fn: Callable[[], None], wait_ms: int = 1500) -> None:
    """Call ``fn`` once the grid's first answer landed (or after ``wait_ms`` if no search
    runs): start-up reads that walk the whole library in Python (the folder trees, the problem
    counts) would otherwise hold the GIL while the first page is being painted."""
    done = False

    def once(*_args: object) -> None:
        nonlocal done
        if not done:
            done = True
            window.grid_controller.searched.disconnect(once)
            fn()

    window.grid_controller.searched.connect(once)
    QTimer.singleShot(wait_ms, window, once)
