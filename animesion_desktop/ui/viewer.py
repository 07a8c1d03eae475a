"""The full-size viewer: one image of the current result at full size, zoom, next / previous.

Opened by Space or a double-click on a grid image, or a double-click on the inspector's
preview. The image is decoded on the read lane (kind ``viewer``: when the user steps on before
a decode lands, only the newest image is shown). Keys: ← → (or Page Up / Page Down) previous /
next image of the result (the grid's current image follows), F fit the window, 1 100 %, + / −
or Ctrl+wheel zoom, a drag or the wheel pans, Esc or Space close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from animesion_desktop.core import views
from animesion_desktop.core.library import Library
from animesion_desktop.ui.lanes import ReadLane
from animesion_desktop.ui.review.images import FULL_SIDE, decode

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow

STEP = 1.25  # one zoom step (a key, a button, a wheel notch)
MIN_SCALE, MAX_SCALE = 0.02, 32.0


class ZoomView(QWidget):
    """Paints a QImage at a scale, panned; "fit" follows the widget's size (never enlarging)."""

    zoomed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys belong to the viewer
        self.setMinimumSize(200, 150)
        self._image = QImage()
        self._scale = 1.0
        self._fit = True
        self._center = QPointF()  # the image point shown at the widget's centre
        self._drag: QPointF | None = None

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def fitting(self) -> bool:
        return self._fit

    @property
    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._center = QPointF(image.width() / 2, image.height() / 2)
        if self._fit:
            self.fit()
        else:
            self._set_scale(self._scale)

    def fit_scale(self) -> float:
        if self._image.isNull():
            return 1.0
        return min(1.0, self.width() / self._image.width(), self.height() / self._image.height())

    def fit(self) -> None:
        self._fit = True
        self._center = QPointF(self._image.width() / 2, self._image.height() / 2)
        self._set_scale(self.fit_scale())

    def actual_size(self) -> None:
        self._fit = False
        self._set_scale(1.0)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (default: the centre) in place."""
        self._fit = False
        mid = QPointF(self.width() / 2, self.height() / 2)
        at = anchor if anchor is not None else mid
        under = self._center + (at - mid) / self._scale
        new = max(MIN_SCALE, min(MAX_SCALE, self._scale * factor))
        self._center = under - (at - mid) / new
        self._set_scale(new)

    def _set_scale(self, scale: float) -> None:
        self._scale = scale
        self._clamp()
        self.update()
        self.zoomed.emit(scale)

    def _clamp(self) -> None:
        """Centre an image smaller than the widget; keep a larger one covering it."""
        w, h = self._image.width(), self._image.height()
        half_w, half_h = self.width() / (2 * self._scale), self.height() / (2 * self._scale)
        x = w / 2 if 2 * half_w >= w else min(max(self._center.x(), half_w), w - half_w)
        y = h / 2 if 2 * half_h >= h else min(max(self._center.y(), half_h), h - half_h)
        self._center = QPointF(x, y)

    def target(self) -> QRectF:
        """Where the whole image lands in widget coordinates."""
        s = self._scale
        mid = QPointF(self.width() / 2, self.height() / 2)
        top_left = mid - self._center * s
        return QRectF(top_left.x(), top_left.y(), self._image.width() * s,
                      self._image.height() * s)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        if not self._image.isNull():
            target = self.target()
            visible = target.intersected(QRectF(self.rect()))
            if not visible.isEmpty():
                s = self._scale
                source = QRectF((visible.x() - target.x()) / s, (visible.y() - target.y()) / s,
                                visible.width() / s, visible.height() / s)
                # Smooth when shrinking or mildly enlarging; sharp pixels when peering in.
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 3)
                painter.drawImage(visible, self._image, source)
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fit:
            self._set_scale(self.fit_scale())
        else:
            self._clamp()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        notches = event.angleDelta().y() / 120
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if notches:
                self.zoom_by(STEP ** notches, event.position())
        else:
            delta = QPointF(event.angleDelta().x(), event.angleDelta().y())
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                delta = QPointF(delta.y(), delta.x())
            self._pan(delta)
        event.accept()

    def _pan(self, delta: QPointF) -> None:
        self._center -= delta / self._scale
        self._clamp()
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._drag is not None:
            self._pan(event.position() - self._drag)
            self._drag = event.position()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        self._drag = None


class Result(Protocol):
    """The images the viewer steps through (the grid's current result)."""

    def neighbour(self, image_id: int, delta: int) -> int | None: ...

    def position(self, image_id: int) -> tuple[int, int] | None: ...  # (index, total)

    def shown(self, image_id: int) -> None: ...  # the viewer moved to it


def read_full(lib: Library, image_id: int) -> tuple[int, str, QImage]:
    """On a worker: where the image is, and its pixels at full size (or its thumbnail)."""
    rows = views.grid_rows(lib, [image_id])
    if not rows:
        return image_id, "", QImage()
    row = rows[0]
    image = decode((row.path, views.thumbnail_file(lib, row.hash)), FULL_SIDE)
    if not image.isNull():
        # Converted here, not on the GUI thread: the format painting needs.
        image = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied
                                      if image.hasAlphaChannel() else QImage.Format.Format_RGB32)
    return image_id, row.path, image


class Viewer(QDialog):
    image_shown = Signal(int)  # the image decoded and on screen

    def __init__(self, lib: Library, reads: ReadLane, result: Result,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.Window)
        self.setWindowTitle("Viewer")
        self.lib, self.reads, self.source = lib, reads, result
        self.image_id: int | None = None  # the image asked for (shown once it lands)
        self.view = ZoomView()
        self.info = QLabel()
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.zoom_label = QLabel()
        self.zoom_label.setMinimumWidth(56)
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for name, text, tip, slot in (
            ("previous", "‹", "Previous image (←)", lambda: self.step(-1)),
            ("next", "›", "Next image (→)", lambda: self.step(1)),
            ("fit", "Fit", "Fit the window (F)", self.view.fit),
            ("actual", "100 %", "Actual size (1)", self.view.actual_size),
            ("out", "−", "Zoom out (− or Ctrl+wheel)", lambda: self.view.zoom_by(1 / STEP)),
            ("in", "+", "Zoom in (+ or Ctrl+wheel)", lambda: self.view.zoom_by(STEP)),
        ):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # every key reaches the viewer
            button.clicked.connect(lambda _c=False, s=slot: s())
            bar.addWidget(button)
            self.buttons[name] = button
        bar.addWidget(self.zoom_label)
        bar.addWidget(self.info, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.view.zoomed.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f} %"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def show_image(self, image_id: int) -> None:
        """Ask for ``image_id``; it replaces what is shown when its decode lands."""
        self.image_id = image_id
        self.info.setText("Loading…")
        lib = self.lib
        self.reads.run("viewer", lambda: read_full(lib, image_id), self._landed)
        self.source.shown(image_id)

    def _landed(self, answer: tuple[int, str, QImage]) -> None:
        image_id, path, image = answer
        self.view.set_image(image)
        where = self.source.position(image_id)
        counter = f"{where[0] + 1:,} / {where[1]:,}   " if where else ""
        size = "cannot be read" if image.isNull() else f"{image.width()}×{image.height()}"
        self.info.setText(f"{counter}{path}   {size}")
        self.setWindowTitle(f"{path.rsplit('/', 1)[-1] or 'Image'} — Viewer")
        self.image_shown.emit(image_id)

    def step(self, delta: int) -> None:
        if self.image_id is None:
            return
        other = self.source.neighbour(self.image_id, delta)
        if other is not None:
            self.show_image(other)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        actions: dict[int, Callable[[], object]] = {
            Qt.Key.Key_Right: lambda: self.step(1), Qt.Key.Key_PageDown: lambda: self.step(1),
            Qt.Key.Key_Left: lambda: self.step(-1), Qt.Key.Key_PageUp: lambda: self.step(-1),
            Qt.Key.Key_F: self.view.fit, Qt.Key.Key_1: self.view.actual_size,
            Qt.Key.Key_Plus: lambda: self.view.zoom_by(STEP),
            Qt.Key.Key_Equal: lambda: self.view.zoom_by(STEP),
            Qt.Key.Key_Minus: lambda: self.view.zoom_by(1 / STEP),
            Qt.Key.Key_Space: self.close, Qt.Key.Key_Escape: self.close,
        }
        # "+" needs Shift on many layouts; anything with Ctrl/Alt is not ours.
        plain = not mods & ~Qt.KeyboardModifier.ShiftModifier
        action = actions.get(key) if plain else None
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()


class GridResult:
    """The grid's loaded result, in its order; the grid's current image follows the viewer."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def neighbour(self, image_id: int, delta: int) -> int | None:
        model = self.window.model
        row = model.row_for(image_id)
        if row is None:
            return None
        target = row + delta
        if target >= model.rowCount() and model.canFetchMore():
            model.fetchMore()  # the next page is on its way: the next press reaches it
        if not 0 <= target < model.rowCount():
            return None
        return model.image_id(target)

    def position(self, image_id: int) -> tuple[int, int] | None:
        row = self.window.model.row_for(image_id)
        return None if row is None else (row, self.window.model.total)

    def shown(self, image_id: int) -> None:
        from PySide6.QtCore import QItemSelectionModel

        grid, model = self.window.grid, self.window.model
        row = model.row_for(image_id)
        if row is None or grid.current_id() == image_id:
            return
        index = model.index(row)
        grid.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        grid.scrollTo(index)


class ViewerLauncher(QObject):
    """Opens the viewer from the grid (Space, double-click) and the inspector's preview."""

    shown = Signal(int)  # the viewer has an image decoded and on screen

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.viewer: Viewer | None = None
        window.grid.doubleClicked.connect(self._from_index)
        window.grid.installEventFilter(self)
        window.detail.preview_activated.connect(self._from_preview)

    def _from_index(self, index) -> None:  # type: ignore[no-untyped-def]
        from animesion_desktop.ui.image_model import IMAGE_ID_ROLE

        image_id = index.data(IMAGE_ID_ROLE) if index.isValid() else None
        if image_id is not None:
            self.open(int(image_id))

    def _from_preview(self) -> None:
        if self.window.detail.image_id is not None:
            self.open(self.window.detail.image_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Space
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            image_id = self.window.grid.current_id()
            if image_id is not None:
                self.open(image_id)
                return True
        return super().eventFilter(watched, event)

    def open(self, image_id: int) -> Viewer:
        w = self.window
        if self.viewer is None:
            self.viewer = Viewer(w.lib, w.lanes.reads, GridResult(w), w)
            self.viewer.image_shown.connect(self.shown)
            self.viewer.resize(max(640, w.width() - 80), max(480, w.height() - 80))
        viewer = self.viewer
        viewer.show_image(image_id)
        viewer.show()
        viewer.raise_()
        viewer.activateWindow()
        viewer.setFocus()
        return viewer


def install_viewer(window: MainWindow) -> ViewerLauncher:
    return ViewerLauncher(window)
