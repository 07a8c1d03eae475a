"""The selected image: its files, its effective tags and what the models said, with review.

Each tag shows the model's best score and whether a decision was made. Accept / reject / reset
act on every selected image; the panel only emits requests, the label controller applies them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.views import ImageDetail, TagLine

_STATE_MARK = {"accepted": "✔ ", "rejected": "✘ ", None: ""}


class DetailPanel(QWidget):
    label_requested = Signal(str, str)  # tag text, state: accepted | rejected | clear

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preview = QLabel()
        self._preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._preview.setMinimumHeight(200)
        self._title = QLabel("No image selected")
        self._title.setWordWrap(True)
        self._title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._tree = QTreeWidget()
        self._tree.setHeaderLabels(["Tag", "Score", "Decision"])
        self._tree.setRootIsDecorated(False)
        header = self._tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._tree.itemDoubleClicked.connect(lambda item: self._request(item, "toggle"))
        self._add = QLineEdit()
        self._add.setPlaceholderText("Add a tag (e.g. glasses or character:shana) and press Enter")
        self._add.returnPressed.connect(self._add_tag)
        accept, reject, clear = (QPushButton(t) for t in ("Accept", "Reject", "Reset"))
        accept.setToolTip("Keep this tag on the selected images (A)")
        reject.setToolTip("Remove this tag from the selected images, whatever the models say (R)")
        clear.setToolTip("Forget the decision: back to what the models say")
        accept.clicked.connect(lambda: self._request(self._tree.currentItem(), "accepted"))
        reject.clicked.connect(lambda: self._request(self._tree.currentItem(), "rejected"))
        clear.clicked.connect(lambda: self._request(self._tree.currentItem(), "clear"))
        buttons = QHBoxLayout()
        for b in (accept, reject, clear):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self._preview)
        layout.addWidget(self._title)
        layout.addWidget(self._tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self._add)
        self._selection_size = 0

    def show_detail(self, detail: ImageDetail | None, selection_size: int = 1) -> None:
        self._selection_size = selection_size
        self._tree.clear()
        if detail is None:
            self._title.setText("No image selected")
            self._preview.clear()
            return
        where = "\n".join(
            p + ("" if status == "ok" else f"  [{status}{': ' + err if err else ''}]")
            for p, status, err in detail.paths
        )
        size = f"{detail.width}×{detail.height} {detail.format or ''}".strip()
        extra = f"\n{selection_size} images selected: changes apply to all" if selection_size > 1 else ""
        self._title.setText(f"{where}\n{size}{extra}")
        for line in detail.tags:
            self._tree.addTopLevelItem(self._item(line))

    def show_preview(self, image: QImage) -> None:
        """The image's thumbnail, loaded by a worker (never decoded here)."""
        if image.isNull():
            self._preview.clear()
            return
        self._preview.setPixmap(QPixmap.fromImage(image))

    @staticmethod
    def _item(line: TagLine) -> QTreeWidgetItem:
        score = "" if line.score is None else f"{line.score:.2f}"
        decision = _STATE_MARK[line.label] + (line.label_source or "")
        item = QTreeWidgetItem([line.text, score, decision])
        item.setData(0, Qt.ItemDataRole.UserRole, line.text)
        item.setData(1, Qt.ItemDataRole.UserRole, line.effective)
        if not line.effective:
            item.setForeground(0, QBrush(QColor("#888888")))
        if line.category == "character":
            item.setForeground(0, QBrush(QColor("#2a9d8f" if line.effective else "#7fb8b0")))
        return item

    def _request(self, item: QTreeWidgetItem | None, state: str) -> None:
        if item is None:
            return
        tag = item.data(0, Qt.ItemDataRole.UserRole)
        if state == "toggle":
            state = "rejected" if item.data(1, Qt.ItemDataRole.UserRole) else "accepted"
        self.label_requested.emit(tag, state)

    def _add_tag(self) -> None:
        tag = self._add.text().strip()
        if tag:
            self.label_requested.emit(tag, "accepted")
            self._add.clear()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        keys = {Qt.Key.Key_A: "accepted", Qt.Key.Key_R: "rejected"}
        if event.key() in keys and self._tree.hasFocus():
            self._request(self._tree.currentItem(), keys[event.key()])
            return
        super().keyPressEvent(event)
