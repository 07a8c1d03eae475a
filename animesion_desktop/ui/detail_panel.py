"""The selected image: its files, its effective tags and what the models said, with review.

Each tag shows the model's best score and whether a decision was made. Accept / reject / reset
act on every selected image; the panel only emits requests, the label controller applies them.
A and R are shortcuts of the panel (not a key handler), so they fire while the tag list has the
focus, whose keyboard search would otherwise swallow letters. The add line takes several tags
at once (one undo step).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QImage, QKeySequence, QMouseEvent, QPixmap
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
from animesion_desktop.ui.similar_panel import SimilarPanel

_STATE_MARK = {"accepted": "✔ ", "rejected": "✘ ", None: ""}


class _Preview(QLabel):
    double_clicked = Signal()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self.double_clicked.emit()


class DetailPanel(QWidget):
    label_requested = Signal(list, str)  # tag texts, state: accepted | rejected | clear
    preview_activated = Signal()  # a double-click on the preview: the full-size viewer

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preview = _Preview()
        self._preview.setToolTip("Double-click (or Space in the grid): full size")
        self._preview.double_clicked.connect(self.preview_activated)
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
        self._tree.setObjectName("tags")
        self._tree.itemDoubleClicked.connect(lambda item: self._request(item, "toggle"))
        self._add = QLineEdit()
        self._add.setPlaceholderText(
            "Add tags (e.g. glasses character:shana) and press Enter")
        self._add.returnPressed.connect(self._add_tag)
        accept, reject, clear = (QPushButton(t) for t in ("Accept", "Reject", "Reset"))
        accept.setToolTip("Keep this tag on the selected images (A)")
        reject.setToolTip("Remove this tag from the selected images, whatever the models say (R)")
        clear.setToolTip("Forget the decision: back to what the models say")
        accept.clicked.connect(lambda: self._request(self._tree.currentItem(), "accepted"))
        reject.clicked.connect(lambda: self._request(self._tree.currentItem(), "rejected"))
        clear.clicked.connect(lambda: self._request(self._tree.currentItem(), "clear"))
        for key, state in (("A", "accepted"), ("R", "rejected")):
            act = QAction(self)
            act.setShortcut(QKeySequence(key))
            # Only while the focus is in the tag list: a letter typed in the add line is text.
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(
                lambda _=False, s=state: self._request(self._tree.currentItem(), s))
            self._tree.addAction(act)
        buttons = QHBoxLayout()
        for b in (accept, reject, clear):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addWidget(self._preview)
        layout.addWidget(self._title)
        layout.addWidget(self._tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(self._add)
        self.similar = SimilarPanel()  # suggestions and Find similar (ui/similar_controller.py)
        layout.addWidget(self.similar)
        self._selection_size = 0
        self.image_id: int | None = None

    def show_detail(self, detail: ImageDetail | None, selection_size: int = 1) -> None:
        self._selection_size = selection_size
        current = self._tree.currentItem()
        keep = current.data(0, Qt.ItemDataRole.UserRole) if current is not None else None
        same_image = detail is not None and detail.image_id == self.image_id
        self.image_id = detail.image_id if detail is not None else None
        self.similar.set_image(self.image_id)
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
        # Multimodal packs: which mode produced the guess ("vilt: conditioned on 4 tags").
        modes = "".join(f"\n{p.name}: {p.mode_text}" for p in detail.packs if p.mode_text)
        self._title.setText(f"{where}\n{size}{extra}{modes}")
        for line in detail.tags:
            item = self._item(line)
            self._tree.addTopLevelItem(item)
            if same_image and line.text == keep:
                # A refresh of the image shown keeps the tag the user is on.
                self._tree.setCurrentItem(item)

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
        self.label_requested.emit([tag], state)

    def _add_tag(self) -> None:
        tags = list(dict.fromkeys(self._add.text().split()))
        if tags:
            self.label_requested.emit(tags, "accepted")
            self._add.clear()

    @property
    def preview(self) -> QLabel:
        return self._preview

    @property
    def tree(self) -> QTreeWidget:
        return self._tree

    @property
    def add_line(self) -> QLineEdit:
        return self._add

    @property
    def title(self) -> QLabel:
        return self._title

    def tag_texts(self) -> list[str]:
        items = (self._tree.topLevelItem(i) for i in range(self._tree.topLevelItemCount()))
        return [i.data(0, Qt.ItemDataRole.UserRole) for i in items if i is not None]
