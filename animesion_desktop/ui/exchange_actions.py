"""The window's Export, Import and Train actions: one dialog each, created on first use and
kept (so a running job's dialog can be brought back)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from animesion_desktop.ui.exchange_dialogs import ExportDialog, ImportDialog
from animesion_desktop.ui.train_dialog import TrainDialog

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow


class ExchangeActions(QObject):
    def __init__(self, window: MainWindow, tag_with: Callable[[str], None]) -> None:
        super().__init__(window)
        self.window, self._tag_with = window, tag_with
        self.export_dialog: ExportDialog | None = None
        self.import_dialog: ImportDialog | None = None
        self.train_dialog: TrainDialog | None = None

    def open_export(self) -> ExportDialog:
        w = self.window
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(w.lib, w.lanes.jobs, w.grid_controller.query, w)
        elif not self.export_dialog.running:
            self.export_dialog.query.setText(w.grid_controller.query)  # the current search
        return self._show(self.export_dialog)

    def open_import(self) -> ImportDialog:
        w = self.window
        if self.import_dialog is None:
            self.import_dialog = ImportDialog(w.lib, w.lanes.jobs, w)
        return self._show(self.import_dialog)

    def open_train(self) -> TrainDialog:
        w = self.window
        if self.train_dialog is None:
            self.train_dialog = TrainDialog(w.lib, w.lanes.jobs, w.lanes.reads, w)
            self.train_dialog.tag_requested.connect(self._tag_with)
        return self._show(self.train_dialog)

    @staticmethod
    def _show(dialog):  # type: ignore[no-untyped-def]
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog
