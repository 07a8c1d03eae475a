"""The strip above the grid: how to sort it and how large its thumbnails are.

It only emits what the user chose; the window sorts (a new search in that order) and resizes
the grid, and the settings keep both.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QWidget

# (label, core.search order)
SORTS = (
    ("Newest first", "newest"),
    ("Oldest first", "oldest"),
    ("Path", "path"),
    ("Largest files first", "size"),
    ("Most confident first", "confidence"),
    ("Least confident first", "least_confident"),
)
THUMB_MIN, THUMB_MAX, THUMB_STEP = 64, 512, 16


class GridBar(QWidget):
    order_changed = Signal(str)
    thumbnail_size_changed = Signal(int)

    def __init__(self, order: str, thumb: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sort = QComboBox()
        for label, name in SORTS:
            self.sort.addItem(label, name)
        self.sort.setToolTip("Sort the grid")
        # Narrow when the window is: the longest label is elided rather than widening it.
        self.sort.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.sort.setMinimumContentsLength(7)
        self.show_order(order)
        self.sort.currentIndexChanged.connect(
            lambda i: self.order_changed.emit(self.sort.itemData(i)))
        self.thumb_size = QSlider(Qt.Orientation.Horizontal)
        self.thumb_size.setRange(THUMB_MIN, THUMB_MAX)
        self.thumb_size.setSingleStep(THUMB_STEP)
        self.thumb_size.setPageStep(4 * THUMB_STEP)
        self.thumb_size.setMinimumWidth(40)
        self.thumb_size.setMaximumWidth(160)
        self.thumb_size.setToolTip("Thumbnail size")
        self.show_thumbnail_size(thumb)
        self.thumb_size.valueChanged.connect(self._sized)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.sort)
        row.addStretch(1)
        row.addWidget(QLabel("Size"))
        row.addWidget(self.thumb_size, 1)

    def show_order(self, order: str) -> None:
        i = self.sort.findData(order)
        if i >= 0 and i != self.sort.currentIndex():
            self.sort.blockSignals(True)
            self.sort.setCurrentIndex(i)
            self.sort.blockSignals(False)

    def show_thumbnail_size(self, thumb: int) -> None:
        if thumb != self.thumb_size.value():
            self.thumb_size.blockSignals(True)
            self.thumb_size.setValue(thumb)
            self.thumb_size.blockSignals(False)

    def _sized(self, value: int) -> None:
        snapped = round(value / THUMB_STEP) * THUMB_STEP  # a drag lands between steps
        self.thumbnail_size_changed.emit(max(THUMB_MIN, min(THUMB_MAX, snapped)))
