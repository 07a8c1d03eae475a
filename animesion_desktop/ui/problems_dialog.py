"""Unreadable and missing files, with the reason for each, and "Purge missing" with a question.

The list is what ``is:error`` and ``is:missing`` find (core/problems.py), read on the window's
read lane. Purging asks first with the counts of files, images and decisions it would drop, and
runs on the write lane; nothing is forgotten without that answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library
from animesion_desktop.core.problems import ProblemFile, Problems, PurgePlan, problems, purge_plan
from animesion_desktop.core.roots import plural
from animesion_desktop.core.scan import PurgeSummary, purge_missing
from animesion_desktop.core.search import count
from animesion_desktop.ui.lanes import OrderedLane, ReadLane
from animesion_desktop.ui.sidebar import after_first_page
from animesion_desktop.ui.tables import RowTable, row_table_view

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow


class ProblemsModel(RowTable[ProblemFile]):
    HEADERS = ("State", "File", "Reason")

    def cell(self, row: ProblemFile, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            state = "unreadable" if row.status == "error" else "missing"
            return (state, row.path, row.reason)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column > 0:
            return (row.path, row.reason)[column - 1]
        if role == Qt.ItemDataRole.UserRole:
            return row.image_id
        return None


def purge_question(plan: PurgePlan) -> str:
    text = (f"Forget {plural(plan.files, 'missing file')}? "
            f"{plural(plan.images, 'image')} shown only by them will leave the library, with "
            "their predictions and thumbnails.")
    if plan.labels:
        text += (f"\n\n{plural(plan.labels, 'decision')} (accepted or rejected tags) on "
                 f"{plural(plan.labelled, 'image')} would be lost with them. If "
                 "the files only moved, add or rescan their new folder instead: a moved file "
                 "keeps its labels.")
    return text + "\n\nThis cannot be undone."


class ProblemsDialog(QDialog):
    purged = Signal(str)  # a one-line summary

    def __init__(self, lib: Library, reads: ReadLane, writes: OrderedLane,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Unreadable and missing files")
        self.resize(900, 480)
        self.lib, self.reads, self.writes = lib, reads, writes
        self.model = ProblemsModel(self)
        self.table = row_table_view(self.model, stretch=1)
        self.summary = QLabel("Reading…")
        self.purge_button = QPushButton("Purge missing…")
        self.purge_button.setToolTip("Forget files that are no longer on disk")
        self.purge_button.setEnabled(False)
        self.purge_button.clicked.connect(self.ask_purge)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.question: QMessageBox | None = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.purge_button)
        buttons.addWidget(close)
        col = QVBoxLayout(self)
        col.addWidget(self.table, 1)
        col.addLayout(buttons)

    def reload(self) -> None:
        lib = self.lib
        self.reads.run("problems", lambda: problems(lib), self._show)

    def _show(self, found: Problems) -> None:
        self.model.set_rows(found.files)
        shown = "" if len(found.files) >= found.unreadable + found.missing else \
            f" (the first {len(found.files):,} shown)"
        self.summary.setText(f"{plural(found.unreadable, 'unreadable file')}, "
                             f"{plural(found.missing, 'missing image')}{shown}")
        self.purge_button.setEnabled(found.missing > 0)

    def ask_purge(self) -> None:
        lib = self.lib
        self.reads.run("purge-plan", lambda: purge_plan(lib), self._ask)

    def _ask(self, plan: PurgePlan) -> None:
        if plan.files == 0:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Purge missing files", purge_question(plan),
                          QMessageBox.StandardButton.Cancel, self)
        box.addButton("Forget them", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda b: self._purge() if box.buttonRole(b) == QMessageBox.ButtonRole.DestructiveRole
            else None)
        self.question = box
        box.open()

    def _purge(self) -> None:
        lib = self.lib

        def done(result: PurgeSummary) -> None:
            self.purged.emit(f"Purged {plural(result.files, 'missing file')}; "
                             f"{plural(result.images, 'image')} left the library")
            self.reload()

        self.writes.run(lambda: purge_missing(lib), done)


class ProblemsActions(QObject):
    """Library ▸ Unreadable and missing files…; a search for is:error opens the list too."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: ProblemsDialog | None = None
        self.action = window.menus.library.addAction("&Unreadable and missing files…")
        self.action.triggered.connect(lambda _checked=False: self.open())
        window.grid_controller.searched.connect(self._searched)
        # The count in the status bar, shown while there is something to count; a click opens
        # the list. Counted at start-up and after every job, the watcher and a purge.
        self.count_button = QPushButton()
        self.count_button.setFlat(True)
        self.count_button.setToolTip("Open the list of unreadable and missing files")
        self.count_button.clicked.connect(lambda _checked=False: self.open())
        self.count_button.hide()
        window.statusBar().addPermanentWidget(self.count_button)
        window.jobs.finished.connect(lambda *_a: self.recount())
        window.watch.changed.connect(lambda *_a: self.recount())
        after_first_page(window, self.recount)

    def recount(self) -> None:
        lib = self.window.lib

        def read() -> tuple[int, int]:
            return count(lib, "is:error"), count(lib, "is:missing")

        self.window.lanes.reads.run("problem-count", read, self._counted)

    def _counted(self, counts: tuple[int, int]) -> None:
        unreadable, missing = counts
        parts = [plural(unreadable, "unreadable file")] if unreadable else []
        parts += [plural(missing, "missing image")] if missing else []
        self.count_button.setText("⚠ " + " · ".join(parts))
        self.count_button.setVisible(bool(parts))

    def open(self) -> ProblemsDialog:
        w = self.window
        dialog = self.dialog
        if dialog is None:
            dialog = ProblemsDialog(w.lib, w.lanes.reads, w.lanes.writes, w)
            dialog.purged.connect(lambda line: w.statusBar().showMessage(line, 10000))
            dialog.purged.connect(lambda _line: w.grid_controller.refresh())
            dialog.purged.connect(lambda _line: w.sidebar.refresh())
            dialog.purged.connect(lambda _line: self.recount())
            self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.reload()
        return dialog

    def _searched(self, _query: str, _total: int, kind: str) -> None:
        if kind == "files":  # is:error finds files, which the grid cannot show
            self.open()


def install_problems(window: MainWindow) -> ProblemsActions:
    return ProblemsActions(window)
