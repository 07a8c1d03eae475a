"""Batch accept: "accept every prediction of character X above score S" (or of a tag).

The count and a strip of the lowest-scoring images it would accept follow the slider live
(read on the controller's read lane, where only the newest answer of each kind lands), so the
reviewer sees the doubtful end before confirming. Confirming pushes one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core import views
from animesion_desktop.core.review import BatchPreview
from animesion_desktop.ui.review.controller import GENERAL, ReviewController

STRIP_ICON = 96


class BatchDialog(QDialog):
    def __init__(self, controller: ReviewController, tag: str, score: float,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Accept every prediction above a score")
        self.controller = controller
        self.preview: BatchPreview | None = None
        self.tag = QLineEdit(tag)
        self.tag.setPlaceholderText("character:name or general:tag")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.score = QDoubleSpinBox()
        self.score.setRange(0.0, 1.0)
        self.score.setSingleStep(0.01)
        self.score.setDecimals(2)
        self.count = QLabel("Counting…")
        self.count.setStyleSheet("font-weight: bold;")
        self.strip = QListWidget()
        self.strip.setViewMode(QListView.ViewMode.IconMode)
        self.strip.setIconSize(QSize(STRIP_ICON, STRIP_ICON))
        self.strip.setFlow(QListView.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setFixedHeight(STRIP_ICON + 44)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._confirm)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Character or tag", self.tag)
        form.addRow("Score at least", self.score)
        form.addRow("", self.slider)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.count)
        layout.addWidget(QLabel("The lowest-scoring images it would accept:"))
        layout.addWidget(self.strip)
        layout.addWidget(self.buttons)
        self._debounce = QTimer(self, singleShot=True, interval=80)
        self._debounce.timeout.connect(self._ask)
        self.score.valueChanged.connect(self._score_changed)
        self.slider.valueChanged.connect(lambda v: self.score.setValue(v / 100))
        self.tag.textChanged.connect(lambda _t: self._debounce.start())
        controller.batch_previewed.connect(self._show)
        self.score.setValue(round(score, 2))
        self._debounce.stop()  # asked for right here, not a second time 80 ms later
        self._ask()

    def _score_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.slider.blockSignals(False)
        self._debounce.start()

    def _ask(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.controller.preview_batch(self.tag_text(), self.score.value())

    def tag_text(self) -> str:
        """The tag typed; a bare name is a character, or a general tag in that queue."""
        text = self.tag.text().strip()
        if text and ":" not in text and self.controller.queue == GENERAL:
            return f"general:{text}"
        return text

    def _show(self, preview: BatchPreview) -> None:
        self.preview = preview
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(f"Accept on {preview.count:,} images")
        ok.setEnabled(preview.count > 0)
        self.count.setText(f"{preview.count:,} undecided images score ≥ {preview.threshold:.2f} "
                           f"for {preview.tag}" if preview.tag else "Name a character")
        self.strip.clear()
        controller = self.controller
        lib = controller.lib
        ids = [i for i, _ in preview.lowest]
        scores = dict(preview.lowest)

        def load() -> list[tuple[int, QImage]]:
            rows = {r.image_id: r for r in views.grid_rows(lib, ids)}
            return [(i, QImage(views.thumbnail_file(lib, rows[i].hash)) if i in rows else QImage())
                    for i in ids]

        def loaded(images: list[tuple[int, QImage]]) -> None:
            if self.preview is not preview:
                return
            for image_id, image in images:
                pix = QPixmap.fromImage(image) if not image.isNull() else QPixmap(STRIP_ICON,
                                                                                  STRIP_ICON)
                item = QListWidgetItem(QIcon(pix), f"{scores[image_id]:.2f}")
                item.setData(Qt.ItemDataRole.UserRole, image_id)
                self.strip.addItem(item)

        controller.reads.run(f"batch-strip-{id(self):x}", load, loaded)

    def _confirm(self) -> None:
        if self.preview is None or self.preview.count == 0:
            return
        self.controller.apply_batch(self.preview.tag, self.preview.threshold)
        self.accept()
