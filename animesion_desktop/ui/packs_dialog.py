"""The packs dialog: installed packs, their details and thresholds; install, activate, remove.

Installing accepts whatever ``animesion packs install`` accepts (a pack folder or .zip, an
Animesion checkpoint, a WD tagger folder, a Hugging Face folder), from the file dialogs or
dropped on the dialog; it runs on a worker. Removing asks first and says what is dropped (the
pack's predictions; labels are never touched).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library
from animesion_desktop.core.pack_stats import prediction_counts
from animesion_desktop.core.tagging import packs_registry as registry
from animesion_desktop.ui.review.writes import OrderedWrites, WriteLane
from animesion_desktop.ui.tables import RowTable, row_table_view
from animesion_desktop.ui.thresholds import ThresholdsPanel
from animesion_desktop.ui.workers import TaskRunner


def folder_size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                continue
    return total


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class PacksModel(RowTable[registry.PackSummary]):
    HEADERS = ("Name", "Version", "Backend", "Active", "Images", "Heads", "Size")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sizes: dict[str, int] = {}

    @property
    def packs(self) -> list[registry.PackSummary]:
        return self.rows

    def set_packs(self, packs: list[registry.PackSummary], sizes: dict[str, int]) -> None:
        self.sizes = sizes
        self.set_rows(packs)

    def cell(self, p: registry.PackSummary, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            heads = ", ".join(f"{name} {n}" for name, n in p.heads) or "–"
            size = self.sizes.get(p.name)
            return (p.name, p.version, p.backend, "yes" if p.active else "no", f"{p.images:,}",
                    heads, "–" if size is None else human_size(size))[column]
        if role == Qt.ItemDataRole.UserRole:
            return p.name
        return None


def describe(info: dict[str, Any], size: int | None) -> str:
    """The details pane: what pack.json says, in a few lines."""
    lines = [f"<b>{info['name']}</b> {info['version']} · {info.get('backend', '?')} · "
             f"{'active' if info['active'] else 'inactive'}"]
    arch = info.get("architecture") or {}
    if arch:
        lines.append(f"Model: {arch.get('name')} at {arch.get('image_size')} px"
                     + (" with IFA" if arch.get("ifa") else ""))
    spec = info.get("input") or {}
    if spec:
        lines.append(f"Input: {spec.get('size')} px, {spec.get('resize')}, "
                     f"{spec.get('channel_order')} {spec.get('layout')}")
    heads = info.get("heads") or []
    if heads:
        lines.append("Heads: " + ", ".join(f"{h['name']} ({h['activation']}, {h['labels']})"
                                           for h in heads))
    by_cat = ", ".join(f"{c} {n}" for c, n in info.get("vocabulary_by_category", {}).items())
    lines.append(f"Vocabulary: {info.get('vocabulary', 0):,} tags ({by_cat})")
    lines.append(f"Images: {info.get('images_run', 0):,} run, "
                 f"{info.get('images_failed', 0):,} failed")
    if info.get("metrics"):
        lines.append("Metrics: " + ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {json.dumps(v)}"
            for k, v in info["metrics"].items()))
    if size is not None:
        lines.append(f"Size: {human_size(size)} · {info['path']}")
    return "<br>".join(lines)


class PacksDialog(QDialog):
    changed = Signal(str)  # packs or thresholds changed: the grid should refresh
    tag_requested = Signal(str)  # "tag the library with this pack"
    failed = Signal(str)

    def __init__(self, lib: Library, lane: WriteLane | None = None,
                 undo_stack: QUndoStack | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model packs")
        self.resize(1000, 720)
        self.setAcceptDrops(True)
        self.lib = lib
        self.lane: WriteLane = lane or OrderedWrites(self)
        self.undo_stack = undo_stack or QUndoStack(self)
        self._reads = TaskRunner(parent=self)
        self._installs = TaskRunner(parent=self)
        self.installing = 0
        self.model = PacksModel(self)
        self.table = row_table_view(self.model, stretch=5)
        header = self.table.horizontalHeader()
        for column in range(len(PacksModel.HEADERS)):
            if column != 5:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(lambda _c, _p: self._selected())
        self.details = QLabel("Install a pack to tag your images: drop a pack folder, a .zip, "
                              "an Animesion checkpoint, a WD tagger or a Hugging Face folder "
                              "here.")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.device = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.thresholds = ThresholdsPanel(lib, self.lane, self.undo_stack)
        self.thresholds.changed.connect(self._thresholds_changed)
        self.thresholds.failed.connect(self._fail)

        b = self._button
        self.install_folder_button = b("Install folder…", self.install_folder)
        self.install_file_button = b("Install file…", self.install_file)
        self.active_button = b("Deactivate", self.toggle_active)
        self.remove_button = b("Remove…", self.ask_remove)
        self.tag_button = b("Tag the library with this pack", self._tag)
        self.device_button = b("Check device and precision", self.check_device)
        self.confirm_box: QMessageBox | None = None
        undo = self.undo_stack.createUndoAction(self, "Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.addAction(undo)
        self._layout()
        self.reload()

    @staticmethod
    def _button(text: str, slot) -> QPushButton:  # type: ignore[no-untyped-def]
        button = QPushButton(text)
        # No default button: Enter in a threshold box must apply it, not open a file dialog.
        button.setAutoDefault(False)
        button.clicked.connect(slot)
        return button

    def _layout(self) -> None:
        buttons = QHBoxLayout()
        for w in (self.install_folder_button, self.install_file_button):
            buttons.addWidget(w)
        buttons.addStretch(1)
        for w in (self.active_button, self.remove_button, self.tag_button):
            buttons.addWidget(w)
        info = QWidget()
        col = QVBoxLayout(info)
        col.addWidget(self.details, 1)
        row = QHBoxLayout()
        row.addWidget(self.device_button)
        row.addWidget(self.device, 1)
        col.addLayout(row)
        tabs = QTabWidget()
        tabs.addTab(info, "Details")
        tabs.addTab(self.thresholds, "Thresholds")
        self.tabs = tabs
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(tabs)
        split.setSizes([110, 610])
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

    # -- reading ------------------------------------------------------------------------------
    def current_pack(self) -> str | None:
        index = self.table.currentIndex()
        return index.data(Qt.ItemDataRole.UserRole) if index.isValid() else None

    def reload(self, select: str | None = None) -> None:
        lib = self.lib
        keep = select or self.current_pack()

        def read() -> tuple[list[registry.PackSummary], dict[str, int]]:
            packs = registry.list_packs(lib)
            sizes = {p.name: folder_size(registry.resolve_pack_path(lib, p.name, p.path))
                     for p in packs}
            return packs, sizes

        def done(result: tuple[list[registry.PackSummary], dict[str, int]]) -> None:
            self.model.set_packs(*result)
            names = [p.name for p in result[0]]
            row = names.index(keep) if keep in names else (0 if names else -1)
            if row >= 0:
                self.table.setCurrentIndex(self.model.index(row, 0))
            self._selected()

        self._reads.run(read, done, self._fail)

    def _selected(self) -> None:
        name = self.current_pack()
        for w in (self.active_button, self.remove_button, self.tag_button, self.device_button):
            w.setEnabled(name is not None)
        self.device.clear()
        self.thresholds.show_pack(name)
        if name is None:
            return
        active = next((p.active for p in self.model.packs if p.name == name), True)
        self.active_button.setText("Deactivate" if active else "Activate")
        lib, size = self.lib, self.model.sizes.get(name)

        def shown(info: dict[str, Any]) -> None:
            if self.current_pack() == name:
                self.details.setText(describe(info, size))

        self._reads.run(lambda: registry.pack_details(lib, name), shown, self._fail)

    def check_device(self) -> None:
        """Open the pack's predictor on a worker, as a tagging run would, and show its device
        and precision (an int8 or fp16 path is only used where it agrees with fp32)."""
        name = self.current_pack()
        if name is None:
            return
        lib = self.lib
        self.device.setText("Opening the pack…")

        def probe() -> str:
            from models.backends import open_predictor
            from models.pack import load_pack

            summary = registry.get_summary(lib, name)
            path = registry.resolve_pack_path(lib, name, summary.path)
            predictor = open_predictor(load_pack(path), device=None,
                                       cache_dir=path.parent / ".cache")
            return str(predictor.device_description)

        self._reads.run(probe, self.device.setText,
                        lambda m: self.device.setText(f"Cannot open: {m.splitlines()[-1]}"))

    # -- installing ---------------------------------------------------------------------------
    def install_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Install a pack, WD tagger or Hugging Face folder")
        if folder:
            self.install(folder)

    def install_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Install a pack .zip or an Animesion checkpoint", "",
            "Packs and checkpoints (*.zip *.ckpt *.pth *.pt);;All files (*)")
        if path:
            self.install(path)

    def install(self, path: str) -> None:
        lib = self.lib
        self.installing += 1
        self.status.setText(f"Installing {Path(path).name}…")

        def done(summary: registry.PackSummary) -> None:
            self.installing -= 1
            self.status.setText(f"Installed {summary.name} {summary.version}. Use “Tag the "
                                "library with this pack” to run it.")
            self.reload(select=summary.name)
            self.changed.emit(f"Installed {summary.name}")

        def failed(message: str) -> None:
            self.installing -= 1
            self._fail(message)

        self._installs.run(lambda: registry.install(lib, path), done, failed)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for url in event.mimeData().urls():
            self.install(url.toLocalFile())
        event.acceptProposedAction()

    # -- activate, remove, tag ----------------------------------------------------------------
    def toggle_active(self) -> None:
        name = self.current_pack()
        if name is None:
            return
        active = next((p.active for p in self.model.packs if p.name == name), True)
        lib = self.lib

        def done(_r: object) -> None:
            self.reload(select=name)
            self.changed.emit(f"{name} is {'inactive' if active else 'active'}")

        self.lane.run(lambda: registry.set_active(lib, name, not active), done, self._fail)

    def ask_remove(self) -> None:
        name = self.current_pack()
        if name is None:
            return
        lib = self.lib

        def counted(n: tuple[int, int]) -> None:
            predictions, images = n
            box = QMessageBox(QMessageBox.Icon.Warning, "Remove pack",
                              f"Remove {name}? Its {predictions:,} predictions on {images:,} "
                              "images are dropped. Your decisions (labels) are kept.",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                              self)
            box.button(QMessageBox.StandardButton.Yes).setText("Remove")
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.finished.connect(lambda r: self._remove(name) if r == QMessageBox.StandardButton.Yes
                                 else None)
            self.confirm_box = box
            box.open()

        self._reads.run(lambda: prediction_counts(lib, name), counted, self._fail)

    def _remove(self, name: str) -> None:
        lib = self.lib

        def done(_r: object) -> None:
            self.status.setText(f"Removed {name}.")
            self.reload()
            self.changed.emit(f"Removed {name}")

        self.lane.run(lambda: registry.remove(lib, name), done, self._fail)

    def _tag(self) -> None:
        name = self.current_pack()
        if name is not None:
            self.tag_requested.emit(name)
            self.status.setText(f"Tagging the library with {name}: see the status bar.")

    def _thresholds_changed(self, what: str) -> None:
        self.status.setText(what)
        self.changed.emit(what)

    def _fail(self, message: str) -> None:
        self.status.setText(message)
        self.failed.emit(message)

