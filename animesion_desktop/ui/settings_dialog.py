"""The settings dialog, and the window's side of settings: apply on start, save on close.

Settings live in the library's config directory (``core.settings``); reading and writing that
small file are the only I/O here and happen at start-up, on OK and when the window closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QSplitter,
    QToolBar,
    QWidget,
)

from animesion_desktop.core import settings as st

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow


class SettingsDialog(QDialog):
    def __init__(self, settings: st.Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        self.thumb = QSpinBox()
        self.thumb.setRange(64, 512)
        self.thumb.setSingleStep(16)
        self.thumb.setSuffix(" px")
        self.thumb.setValue(settings.thumbnail_size)
        self.device = QComboBox()
        self.device.addItems(st.DEVICES)
        self.device.setCurrentText(settings.device)
        self.precision = QComboBox()
        self.precision.addItems(st.PRECISIONS)
        self.precision.setCurrentText(settings.precision)
        self.precision.setToolTip("auto: a faster path (int8 on the CPU, fp16/bf16 autocast "
                                  "on CUDA) only where it agrees with fp32 on the pack's "
                                  "images; fp32, int8, bf16, fp16: as chosen (int8 needs the "
                                  "CPU, fp16 CUDA)")
        self.watching = QCheckBox("Follow changes in the library's folders while the app is open")
        self.watching.setChecked(settings.watching)
        self.rescan = QCheckBox("Rescan every folder when the app starts")
        self.rescan.setChecked(settings.rescan_on_start)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        form = QFormLayout(self)
        form.addRow("Thumbnail size", self.thumb)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("", self.watching)
        form.addRow("", self.rescan)
        form.addRow(buttons)

    def chosen(self) -> st.Settings:
        s = self.settings
        s.thumbnail_size = self.thumb.value()
        s.device = self.device.currentText()
        s.precision = self.precision.currentText()
        s.watching = self.watching.isChecked()
        s.rescan_on_start = self.rescan.isChecked()
        return s


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode("ascii")


def _unb64(text: str) -> QByteArray:
    return QByteArray.fromBase64(QByteArray(text.encode("ascii")))


class WindowSettings(QObject):
    """Loads the settings for a window, applies them, and saves them when it closes."""

    changed = Signal()  # the dialog's choice was applied and saved

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.config_dir = window.lib.location.config_dir
        self.settings, self.problems = st.load(self.config_dir)
        self.dialog: SettingsDialog | None = None
        self.apply(restore_layout=True)
        window.installEventFilter(self)
        if self.problems:
            window.statusBar().showMessage(self.problems[0], 15000)

    def splitters(self) -> dict[str, QSplitter]:
        return {s.objectName() or f"splitter{i}": s
                for i, s in enumerate(self.window.findChildren(QSplitter))}

    def apply(self, restore_layout: bool = False) -> None:
        s, w = self.settings, self.window
        w.grid.set_thumbnail_size(s.thumbnail_size)
        bar = getattr(w, "grid_bar", None)
        if bar is not None:
            bar.show_thumbnail_size(s.thumbnail_size)
        if restore_layout:
            if s.window_geometry:
                w.restoreGeometry(_unb64(s.window_geometry))
            if s.window_state:
                w.restoreState(_unb64(s.window_state))
            for name, splitter in self.splitters().items():
                if name in s.splitters:
                    splitter.restoreState(_unb64(s.splitters[name]))

    def open_dialog(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self.window)
        dialog.accepted.connect(lambda: self._chosen(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _chosen(self, dialog: SettingsDialog) -> None:
        was_watching = self.settings.watching
        self.settings = dialog.chosen()
        self.apply()
        if self.settings.watching != was_watching:
            if self.settings.watching:
                self.window.watch.sync()
            else:
                self.window.watch.stop()
        self.save()
        self.changed.emit()

    def save(self) -> None:
        s, w = self.settings, self.window
        for bar in w.findChildren(QToolBar):  # saveState() names toolbars by objectName
            if not bar.objectName():
                bar.setObjectName(bar.windowTitle() or "toolbar")
        s.window_geometry = _b64(w.saveGeometry())
        s.window_state = _b64(w.saveState())
        s.splitters = {name: _b64(sp.saveState()) for name, sp in self.splitters().items()}
        try:
            st.save(self.config_dir, s)
        except OSError as exc:
            w.statusBar().showMessage(f"{self.config_dir}: settings not saved: {exc}", 15000)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self.window and event.type() == QEvent.Type.Close:
            self.save()
        return False
