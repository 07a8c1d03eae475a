"""The inspector's similar-images part: suggestions for the image, and "Find similar".

A widget only: it says which image it shows (``info_wanted``) and what the user asked for
(``find_requested``, ``suggestion_decided``); ui/similar_controller.py reads on the read lane
and writes through the label controller. "Find similar" is disabled, with the reason shown,
when the image has no embedding of the pack images are compared with.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.similar.live import SimilarInfo
from animesion_desktop.ui.suggestion_list import SuggestionList

IMAGE_ROLE = Qt.ItemDataRole.UserRole


class SimilarPanel(QWidget):
    info_wanted = Signal(object)  # image id or None: the panel shows another image
    find_requested = Signal(int)  # image id
    suggestion_decided = Signal(int, str, str)  # image id, tag, accepted | rejected
    neighbour_picked = Signal(int)  # image id double-clicked in the neighbours list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image_id: int | None = None
        self.info: SimilarInfo | None = None
        self.suggestions = SuggestionList()
        self.accept_button = QPushButton("Accept suggestion")
        self.reject_button = QPushButton("Reject")
        self.accept_button.setToolTip("Make the selected suggestion your decision (a label)")
        self.reject_button.setToolTip("Say no to the selected suggestion (a rejected label)")
        self.accept_button.clicked.connect(lambda: self._decide("accepted"))
        self.reject_button.clicked.connect(lambda: self._decide("rejected"))
        self.suggestions.itemDoubleClicked.connect(lambda _item: self._decide("accepted"))
        self.find_button = QPushButton("Find similar")
        self.find_button.setToolTip("Show the nearest images by the pack's embedding in the grid")
        self.find_button.clicked.connect(self._find)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: gray;")
        self.neighbours = QTreeWidget()
        self.neighbours.setObjectName("neighbours")
        self.neighbours.setHeaderLabels(["Nearest images", "Score"])
        self.neighbours.setRootIsDecorated(False)
        header = self.neighbours.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.neighbours.setMaximumHeight(150)
        self.neighbours.itemDoubleClicked.connect(
            lambda item: self.neighbour_picked.emit(int(item.data(0, IMAGE_ROLE))))

        self._suggestion_box = QWidget()
        box = QVBoxLayout(self._suggestion_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.suggestions)
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        box.addLayout(row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._suggestion_box)
        find_row = QHBoxLayout()
        find_row.addWidget(self.find_button)
        find_row.addWidget(self.reason, 1)
        layout.addLayout(find_row)
        layout.addWidget(self.neighbours)
        self._suggestion_box.setVisible(False)
        self.neighbours.setVisible(False)
        self._set_comparable(None)

    # -- fed by the controller ------------------------------------------------------------------
    def set_image(self, image_id: int | None) -> None:
        """The inspector shows this image now (or the same one again, refreshed)."""
        if image_id != self.image_id:
            self.neighbours.clear()
            self.neighbours.setVisible(False)
            self.info = None
            self.suggestions.clear()
            self._suggestion_box.setVisible(False)
            self._set_comparable(None)
        self.image_id = image_id
        self.info_wanted.emit(image_id)

    def show_info(self, info: SimilarInfo) -> None:
        if info.image_id != self.image_id:
            return
        self.info = info
        keep = self.suggestions.current_tag()
        self.suggestions.show_suggestions(info.suggestions)
        for i in range(self.suggestions.topLevelItemCount()):
            item = self.suggestions.topLevelItem(i)
            if item is not None and item.text(0) == keep:
                self.suggestions.setCurrentItem(item)
                break
        self._suggestion_box.setVisible(bool(info.suggestions))
        self._set_comparable(info)

    def show_neighbours(self, image_id: int, rows: Sequence[tuple[int, str, float]]) -> None:
        """(image id, file name, cosine) of the nearest images to ``image_id``."""
        if image_id != self.image_id:
            return
        self.neighbours.clear()
        for other, name, score in rows:
            item = QTreeWidgetItem([name, f"{score:.3f}"])
            item.setData(0, IMAGE_ROLE, other)
            self.neighbours.addTopLevelItem(item)
        self.neighbours.setVisible(True)

    def neighbour_rows(self) -> list[tuple[str, float]]:
        out = []
        for i in range(self.neighbours.topLevelItemCount()):
            item = self.neighbours.topLevelItem(i)
            if item is not None:
                out.append((item.text(0), float(item.text(1))))
        return out

    # -- internals ------------------------------------------------------------------------------
    def _set_comparable(self, info: SimilarInfo | None) -> None:
        if info is None:
            self.find_button.setEnabled(False)
            self.reason.setText("")
            return
        self.find_button.setEnabled(info.comparable)
        self.reason.setText(info.reason or f"by {info.pack}'s embedding")
        self.find_button.setToolTip(info.reason or "Show the nearest images in the grid, "
                                                   "nearest first")

    def _find(self) -> None:
        if self.image_id is not None and self.info is not None and self.info.comparable:
            self.find_requested.emit(self.image_id)

    def _decide(self, state: str) -> None:
        tag = self.suggestions.current_tag()
        if self.image_id is not None and tag is not None:
            self.suggestion_decided.emit(self.image_id, tag, state)
