"""The review page: the image large, the top-5 guesses as buttons with bars, one key each.

Two queues, switched by the tabs above the image: characters (who is this?) and general tags
(does the image show this tag?). Keys: Enter or A accept the top guess (the tag), R reject it,
1–5 pick a candidate (accepting it and rejecting the top guess), N none of these (characters
only), arrows or J/K move, Ctrl+Z undo. Buttons and tabs never take the focus, so every key
reaches the page.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QAction, QImage, QKeyEvent, QKeySequence, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library
from animesion_desktop.core.review import TOP_K, Decision
from animesion_desktop.ui.review import controller as session
from animesion_desktop.ui.review.controller import ReviewController
from animesion_desktop.ui.suggestion_list import SuggestionStrip

ORDER_NAMES = {"confidence": "Least confident first", "character": "Grouped by character"}
CHARACTER, GENERAL, QUEUES = session.CHARACTER, session.GENERAL, session.QUEUES
QUEUE_NAMES = {CHARACTER: "Characters", GENERAL: "General tags"}
TITLES = {CHARACTER: "Who is this?", GENERAL: "Does it show this tag?"}
KEYS = {CHARACTER: "1–5 pick · ←/→ or J/K move · Ctrl+Z undo · Esc back to the grid",
        GENERAL: "←/→ or J/K move · Ctrl+Z undo · Esc back to the grid"}
NOTHING = {CHARACTER: "no undecided character guesses", GENERAL: "no undecided general tags"}


class ImageCanvas(QWidget):
    """Paints one image scaled to fit; says which image it painted (for the benchmark)."""

    painted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._pixmap: QPixmap | None = None
        self._image_id = -1
        self._text = ""

    @property
    def image_id(self) -> int:
        return self._image_id

    def show_image(self, image_id: int, image: QImage | None, text: str = "") -> None:
        if image_id == self._image_id and image is None and self._pixmap is not None:
            return
        self._image_id = image_id
        self._pixmap = None if image is None or image.isNull() else QPixmap.fromImage(image)
        self._text = text if self._pixmap is None else ""
        if self._pixmap is not None and self.isVisible():
            self.repaint()  # now, not at the next turn of the event loop: the key's answer
        else:
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if self._pixmap is not None:
            # Fit the canvas; a small image is enlarged too (faces must be recognisable).
            size = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(self.rect().center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, self._pixmap)
        elif self._text:
            painter.setPen(Qt.GlobalColor.lightGray)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._text)
        painter.end()
        self.painted.emit(self._image_id)


class CandidateRow(QWidget):
    """``[3  carol]  ███████░░ 62 %`` — click or press the number to pick it."""

    picked = Signal(int)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.button = QPushButton()
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setMinimumWidth(170)
        self.button.setStyleSheet("text-align: left; padding: 4px 8px;")
        self.button.clicked.connect(lambda: self.picked.emit(self.index))
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        # The figure beside the bar, not on it: text across the fill's edge is hard to read.
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(84, 12)
        self.percent = QLabel()
        self.percent.setFixedWidth(40)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button, 1)
        row.addWidget(self.bar)
        row.addWidget(self.percent)

    def show_candidate(self, name: str | None, score: float = 0.0) -> None:
        self.setVisible(name is not None)
        if name is not None:
            self.button.setText(f"{self.index + 1}   {name}")
            self.bar.setValue(round(score * 100))
            self.percent.setText(f"{score * 100:.0f} %" if score >= 0.005 else "< 1 %")


class QueryEdit(QLineEdit):
    """A line edit that keeps its Enter: QLineEdit passes it on to the parent after
    returnPressed, where it would accept the current image."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class ReviewPage(QWidget):
    closed = Signal()  # the reviewer asked to go back to the grid (Esc)

    def __init__(self, lib: Library, controller: ReviewController | None = None,
                 parent: QWidget | None = None, own_undo_shortcut: bool = True) -> None:
        super().__init__(parent)
        self.lib = lib
        self.controller = controller or ReviewController(lib, parent=self)
        c = self.controller
        self.queues = QTabBar()
        for key in QUEUES:
            self.queues.addTab(QUEUE_NAMES[key])
        self.queues.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.queues.setDrawBase(False)
        self.queues.currentChanged.connect(lambda _i: self.reopen())
        self.order = QComboBox()
        for key, name in ORDER_NAMES.items():
            self.order.addItem(name, key)
        self.order.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.filter = QueryEdit()
        self.filter.setPlaceholderText("Only images matching a search (e.g. path:fanart/* blue_hair)")
        self.filter.returnPressed.connect(self.reopen)
        self.order.currentIndexChanged.connect(lambda _i: self.reopen())
        self.progress = QLabel()
        self.canvas = ImageCanvas()
        self.where = QLabel()
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.setWordWrap(True)
        self.rows = [CandidateRow(i) for i in range(TOP_K)]
        for row in self.rows:
            row.picked.connect(lambda i: self.controller.decide(Decision.PICK, i))
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.title = QLabel(TITLES[CHARACTER])
        self.title.setStyleSheet("font-weight: bold; font-size: 14pt;")
        self.accept_button = self._button("Accept  (A / Enter)", lambda: c.decide(Decision.ACCEPT))
        self.reject_button = self._button("Reject  (R)", lambda: c.decide(Decision.REJECT))
        self.none_button = self._button("None of these  (N)", lambda: c.decide(Decision.NONE))
        self.batch_button = self._button("Accept all above a score…", self.open_batch)
        self.suggested = SuggestionStrip(lib)  # few-shot / propagation names (issue 13)
        self._layout()
        if own_undo_shortcut:
            undo = c.undo_stack.createUndoAction(self, "Undo")
            undo.setShortcut(QKeySequence.StandardKey.Undo)
            undo.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(undo)
            self.undo_action: QAction = undo
        c.current_changed.connect(self._refresh)
        c.image_ready.connect(self._image_arrived)
        c.progress_changed.connect(self.progress.setText)
        c.failed.connect(self._failed)

    @staticmethod
    def _button(text: str, slot) -> QPushButton:  # type: ignore[no-untyped-def]
        b = QPushButton(text)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(slot)
        return b

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.queues)
        top.addWidget(self.order)
        top.addWidget(self.filter, 1)
        top.addWidget(self.progress)
        side = QVBoxLayout()
        side.addWidget(self.title)
        for row in self.rows:
            side.addWidget(row)
        side.addSpacing(8)
        side.addWidget(self.accept_button)
        side.addWidget(self.reject_button)
        side.addWidget(self.none_button)
        side.addSpacing(8)
        side.addWidget(self.batch_button)
        side.addWidget(self.state)
        side.addWidget(self.suggested)
        side.addStretch(1)
        keys = QLabel("1–5 pick · ←/→ or J/K move · Ctrl+Z undo · Esc back to the grid")
        keys.setWordWrap(True)
        keys.setStyleSheet("color: gray;")
        side.addWidget(keys)
        self.keys = keys  # the queue's keys: set in reopen
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(320)
        body = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addWidget(self.where)
        body.addLayout(left, 1)
        body.addWidget(panel)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addLayout(body, 1)

    # -- behaviour ----------------------------------------------------------------------------
    @property
    def queue(self) -> str:
        return QUEUES[max(0, self.queues.currentIndex())]

    def set_queue(self, queue: str) -> None:
        """Switch to ``queue`` (reopens it when it changes, like a click on its tab)."""
        self.queues.setCurrentIndex(QUEUES.index(queue))

    def reopen(self) -> None:
        queue = self.queue
        general = queue == GENERAL
        # The general queue has one order; grouping is by character.
        self.order.setEnabled(not general)
        self.none_button.setVisible(not general)
        self.title.setText(TITLES[queue])
        self.keys.setText(KEYS[queue])
        order = "confidence" if general else self.order.currentData()
        self.controller.open(self.filter.text().strip(), order, queue)
        self.canvas.setFocus()

    def _refresh(self) -> None:
        c = self.controller
        image_id = c.current_id
        if image_id is None:
            if c.more_coming:
                text = "Loading the next entries…"
            elif c.keys:
                text = "All done: everything in this queue has a decision."
            else:
                text = f"Nothing to review: {NOTHING[c.queue]}" + (
                    " match this search." if c.query else ".")
            self.canvas.show_image(-1, None, text)
            self.where.clear()
            self.state.clear()
            for row in self.rows:
                row.show_candidate(None)
            self.suggested.show_for(None)
            return
        self.suggested.show_for(image_id)
        item = c.current
        self.canvas.show_image(image_id, c.images.get(image_id), "Loading…")
        if item is None:
            # Not the previous image's guesses while this one's are on their way.
            for row in self.rows:
                row.show_candidate(None)
            self.where.setText(f"{c.pos + 1:,} / {c.total:,}")
            return
        self.where.setText(f"{c.pos + 1:,} / {c.total:,}   {item.path}")
        for i, row in enumerate(self.rows):
            cand = item.candidates[i] if i < len(item.candidates) else None
            row.show_candidate(None if cand is None else cand.name,
                               0.0 if cand is None else cand.score)
        self.state.setText("✔ decided (a new decision replaces it)"
                           if c.current_key in c.decided else "")

    def _image_arrived(self, image_id: int) -> None:
        if image_id == self.controller.current_id:
            self.canvas.show_image(image_id, self.controller.images.get(image_id),
                                   "This image cannot be read.")

    def _failed(self, message: str) -> None:
        self.state.setText(message)
        self.filter.setToolTip(message)

    def open_batch(self) -> None:
        from animesion_desktop.ui.review.batch_dialog import BatchDialog

        item = self.controller.current
        top = item.top if item is not None else None
        dialog = BatchDialog(self.controller, top.tag if top else "",
                             top.score if top else 0.9, self)
        dialog.open()
        self.batch_dialog = dialog

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        c, key = self.controller, event.key()
        if event.matches(QKeySequence.StandardKey.Undo):
            # Normally the undo action's shortcut takes it first; this covers a page whose
            # window is not the active one (just after a dialog closed, for instance).
            c.undo()
            return
        if event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier):
            super().keyPressEvent(event)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_A):
            c.decide(Decision.ACCEPT)
        elif key == Qt.Key.Key_R:
            c.decide(Decision.REJECT)
        elif key == Qt.Key.Key_N:
            c.decide(Decision.NONE)
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_5:
            c.decide(Decision.PICK, key - Qt.Key.Key_1)
        elif key in (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_J):
            c.move(1)
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_K):
            c.move(-1)
        elif key == Qt.Key.Key_Escape:
            self.closed.emit()
        else:
            super().keyPressEvent(event)
